#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![cfg_attr(docsrs, doc(auto_cfg(hide(synclab_plain))))]
//!
//! # API stability
//!
//! * **Errors and configuration may grow.** Every public error enum (`BuildError`,
//!   `CapacityError`, `TrySubmitError`, `SubmitErrorKind`, `WaitError`, `PushError`,
//!   `PopError`, `PublishError`, the channel errors, `OpenError`) and every struct with public
//!   fields (`PoolConfig`, `WaitReport`, `ShutdownReport`, `IndexError`, `ForcePushError`) is
//!   `#[non_exhaustive]`: match with a `_` arm, build configurations through their
//!   constructors. The exceptions are the plain wrappers that exist to hand a value back —
//!   [`queue::Closed<T>`]`(pub T)` and [`queue::SendError<T>`]`(pub T)`, like std's
//!   `SendError<T>(pub T)` — and the unit marker [`queue::RecvError`], like std's.
//!
//!   ```compile_fail,E0639
//!   // Not a struct literal: `PoolConfig::new(2).capacity(8)`.
//!   let config = synclab::pool::PoolConfig { workers: 2, capacity: None };
//!   ```
//!
//!   ```compile_fail,E0004
//!   fn describe(e: synclab::pool::BuildError) -> &'static str {
//!       use synclab::pool::BuildError::*;
//!       match e { ZeroWorkers => "workers", ZeroCapacity | CapacityTooLarge { .. } | AllocationFailed { .. } => "capacity" } // needs `_ =>`
//!   }
//!   ```
//! * **Errors are `Send + Sync + 'static`**, so `?` works into `Box<dyn Error + Send + Sync>`
//!   (`anyhow`, too). The pools hand a refused task back inside [`pool::RejectedTask`], which is
//!   `Sync` because nothing reaches the task through a shared reference.
//! * **Tuning constants are internal.** Spin and yield counts, futex states and searcher limits
//!   differ per world (one round under a checker) and change with measurements; they are
//!   crate-private, documented where they are defined. The [`sync`] module is the world switch
//!   and is public; its checker-only items (the futex models' knobs) exist only in checker
//!   builds.
//! * **Fault injection is not API.** The cargo feature `fault-injection` adds a hidden module
//!   that stops an operation for good after a chosen step, as a killed process would; the
//!   verification crate, the kill tests and the process demo use it. It may change in any
//!   release; leave it off.

pub mod array;
mod cleanup;
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod fault;
pub mod lock;
pub mod pool;
pub mod queue;
pub mod shm;
pub mod sync;
