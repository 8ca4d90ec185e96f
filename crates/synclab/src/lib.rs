//! synclab — shared-memory synchronization, side by side, model-checked and measured.
//!
//! The crate is built in layers (bottom up):
//!
//! 1. [`sync`] — the only module that knows which world it runs in (real threads or a model
//!    checker). Every other module imports its atomics, cells, threads and futex from here.
//! 2. [`shm`] — where a design's state lives (the heap, or a segment shared by processes),
//!    its futex scope, and how survivors learn that a peer died mid-operation.
//! 3. [`lock`] — a raw lock protocol, one generic `Mutex<T, R>`, the futex mutex and condvar,
//!    a spin lock, and lock families (a mutex + condvar pair chosen together).
//! 4. [`queue`] — bounded MPMC queues (lock-free and locked), an event count, and a blocking
//!    layer that never loses a wakeup.
//! 5. [`array`](mod@array) — the seed's shared array: write-once slots, four designs behind one trait.
//! 6. [`pool`] — the seed's thread pool: condvar-based and lock-free designs behind one trait.
//! 7. [`zoo`] — deliberately broken designs that the checkers must be seen catching.
//!
//! See `docs/` in the repository for the designs, what was verified within which bounds, and
//! the measured results.

pub mod array;
pub mod lock;
pub mod pool;
pub mod queue;
pub mod shm;
pub mod sync;
pub mod zoo;
