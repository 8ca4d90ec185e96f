//! The thread pools: one file per design (its suite line, its own models, its zoo), and the
//! seed's two pools (the zoo).

mod condvar_pool;
mod lock_free;
mod seed;
mod work_stealing;
