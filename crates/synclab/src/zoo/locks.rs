//! Zoo entries for the locks issue.
