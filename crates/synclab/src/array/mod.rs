//! (filled in by the array issue)
