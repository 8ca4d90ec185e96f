//! Zoo entries for the pool issue.
