//! Zoo entries for the array issue.
