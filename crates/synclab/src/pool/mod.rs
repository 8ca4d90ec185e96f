//! (filled in by the pool issue)
