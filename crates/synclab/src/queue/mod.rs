//! (filled in by the queue issue)
