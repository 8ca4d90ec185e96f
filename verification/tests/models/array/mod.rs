//! The shared arrays: one file per design (its suite line, its own models, its zoo).

mod condvar;
mod laned;
mod lock_free;
mod polling;
