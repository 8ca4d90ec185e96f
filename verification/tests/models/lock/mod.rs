//! The locks: one file per `RawLock` (its suite line, its own models, its zoo), and the
//! condition variable, which every lock family shares.

mod condvar;
mod counting_mutex;
mod futex_mutex;
mod robust_mutex;
mod spin_mutex;
