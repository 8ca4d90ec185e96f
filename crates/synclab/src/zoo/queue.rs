//! Zoo entries for the queue issue.
