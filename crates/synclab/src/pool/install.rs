//! [`ThreadPool::install`] for pools that override it: run a borrowing closure on one of the
//! pool's workers and block the caller until it has returned (rayon's `install`, its
//! registry's `in_worker_cold`).
//!
//! **Why.** A pool whose workers push the tasks they submit onto their own deque
//! ([`WorkStealingPool`](super::WorkStealingPool)) serves a caller outside the pool through
//! its shared injector: every submit is a push on the shared queue and a wake-up check. A
//! [`scope`](super::ThreadPool::scope) whose body runs *on* a worker instead spawns with local
//! pushes, and the worker runs the scope's tasks itself while it waits for them — what
//! rayon's `ThreadPool::scope` does (`install` → `in_worker` → `in_worker_cold`: the outside
//! caller injects a job and blocks on a latch). The outside caller sleeps meanwhile, so the
//! machine runs one thread per worker, not one more.
//!
//! **The hand-off** is a spawned task's packet (`handle.rs`), unchanged: the closure is
//! packaged with [`handle::package`] (its value or its panic payload goes into the packet,
//! then `DONE` is set with Release), the package is submitted as an ordinary task (so it is
//! counted, drained at shutdown, and runs on whichever worker takes it), and the caller
//! blocks in [`JoinHandle::join`](super::JoinHandle::join) — `DONE`/`JOINING` in one word,
//! every change an RMW, the caller re-checking after every futex return (the packet's module
//! docs give the no-lost-wakeup argument). A panic of the closure comes back as the packet's
//! payload and is resumed on the caller.
//!
//! **Errors.** A pool that refuses the package (it is closed) hands it back at once; it is
//! dropped on the caller, unrun, and `install` says [`InstallError::Closed`]. A package that a
//! pool accepted and then dropped unrun (no synclab pool does: shutdown drains) completes its
//! packet with [`TaskDropped`], which is reported the same way. Never a hang: an accepted task
//! runs before the pool's workers exit.
//!
//! **Lifetime erasure.** Pools run `'static` tasks, and the closure borrows the caller's
//! stack, so the package's lifetime is erased. That is sound because the caller does not
//! return (or unwind) before the package is gone:
//!
//! * `join` returns only after `DONE`, which the package sets after the closure has been
//!   consumed and its captures dropped — inside `catch_unwind`, so a panic too, and a package
//!   dropped unrun drops the closure before its `Completion` sets `DONE` (`handle::Packaged`'s
//!   `Drop`, before the fields' drop glue); after `DONE` the worker touches only the packet,
//!   which is shared through an `Arc`;
//! * a refused package comes back synchronously and is dropped before `install` returns;
//! * the closure is held in `MaybeUninit` wrappers (std's `MaybeDangling`) — the package's
//!   own (`handle::Packaged`) and [`ScopedTask`]'s — so no frame on the worker holds the
//!   borrows as a protected argument after `DONE`, when the caller may use the borrowed data
//!   again (the reason given in [`scope`](super::scope)'s docs; Miri's Stacked Borrows checks
//!   it).
//!
//! **Called from a worker of the same pool**, the closure runs inline (the pool decides, in its
//! override): blocking a worker on a task queued behind it could deadlock the pool.

use super::handle::{self, TaskDropped};
use super::scope::ScopedTask;
use super::{InstallError, ThreadPool};
use crate::sync::Arc;

/// Runs `f` as a task of `pool` and blocks until it has returned; resumes its panic. The
/// caller must not be one of `pool`'s workers (the override checks; see the module docs).
pub(crate) fn install_on<P, F, R>(pool: &P, f: F) -> Result<R, InstallError>
where
    P: ThreadPool,
    F: FnOnce() -> R + Send,
    R: Send,
{
    // The payload goes to the handle (we join it), never to the record.
    let (task, handle) = handle::package(f, Arc::clone(pool.panics()));
    let wrapped = ScopedTask::new(task, ());
    // SAFETY: the task is not used past this call: `join` below returns only after the
    // package set `DONE`, after its closure was consumed or dropped, and a refused task is
    // dropped here before we return (module docs, "Lifetime erasure"). Through
    // `submit_borrowed`, a pool that stores closures in blocks of its own skips the box.
    if let Err(refused) = unsafe { pool.submit_borrowed(move || wrapped.run()) } {
        drop(refused);
        return Err(InstallError::Closed);
    }
    match handle.join() {
        Ok(value) => Ok(value),
        Err(payload) if payload.is::<TaskDropped>() => Err(InstallError::Closed),
        Err(payload) => std::panic::resume_unwind(payload),
    }
}
