//! The pools' side of the code written once for every pool — [`ThreadPool::spawn`],
//! [`ThreadPool::scope`], `install`'s hand-off, [`ThreadPool::join`] and the data-parallel
//! helpers: what each pool provides beyond the public methods. [`Hooks`] is a crate-private supertrait of [`ThreadPool`], so [`ThreadPool`] is
//! sealed (only synclab's pools implement it) and no other crate can call these methods.

use super::panics::PanicRecord;
use super::{SubmitError, Task, ThreadPool};
use crate::sync::Arc;

/// What the shared pool code needs from each pool; see the [module docs](self).
pub(crate) trait Hooks {
    /// Submits `f`, which may borrow: the lifetime-erased form of
    /// [`submit`](ThreadPool::submit) that [`Scope::spawn`](super::Scope::spawn) uses for its
    /// direct spawns (and [`install`](ThreadPool::install)'s hand-off). The
    /// default boxes `f`, erases the box's lifetime and submits it; a pool that stores
    /// closures in task blocks of its own ([`WorkStealingPool`](super::WorkStealingPool))
    /// overrides it to skip the box.
    ///
    /// # Safety
    ///
    /// Everything `f` borrows must stay valid until `f` has been run or dropped — the caller
    /// waits for that before the borrowed data goes away (a scope waits for its tasks' tokens).
    /// A refused `f` comes back in the error as a `'static` [`Task`]: the same holds for it.
    ///
    /// # Errors
    ///
    /// As [`submit`](ThreadPool::submit).
    unsafe fn submit_borrowed<'a, F: FnOnce() + Send + 'a>(&self, f: F) -> Result<(), SubmitError>
    where
        Self: ThreadPool,
    {
        // SAFETY: the caller keeps everything `f` borrows valid until it has run or been
        // dropped (this fn's contract), which is `erase_lifetime`'s.
        self.submit(unsafe { erase_lifetime(Box::new(f)) })
    }

    /// If the calling thread is one of the pool's workers, runs the pool's queued tasks while
    /// `busy()` holds, until it finds none to run, and returns `true`; otherwise returns
    /// `false` at once, running nothing (the default). `busy` is checked before each task, so
    /// `help_while(&|| false)` only asks whether this thread can help.
    ///
    /// [`scope`](ThreadPool::scope) uses it: an owner that can help sends its spawns to the
    /// pool directly and runs the pool's tasks while it waits (see [`Scope`](super::Scope)).
    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool {
        let _ = busy;
        false
    }

    /// `join` with the closures told whether they run on another thread than the caller
    /// (the data-parallel helpers split further when a half was stolen): what
    /// [`ThreadPool::join`] and the helpers call. The default goes through a
    /// [`scope`](ThreadPool::scope) and reports no migration (`pool/join.rs`); a pool with a
    /// deque ([`WorkStealingPool`](super::WorkStealingPool)) overrides it with its stack-job
    /// path.
    fn join_context<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        Self: ThreadPool,
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        super::join::join_by_scope(self, a, b)
    }

    /// The record of panic payloads that no [`JoinHandle`](super::JoinHandle) took, which
    /// [`wait`](ThreadPool::wait) and [`shutdown`](ThreadPool::shutdown) report. Every pool
    /// keeps one and records into it every payload its workers catch; the handles of
    /// [`spawn`](ThreadPool::spawn) report to it when dropped unjoined.
    fn panics(&self) -> &Arc<PanicRecord>;
}

/// A borrowing closure as a `'static` [`Task`]: only its lifetime changes. The one place the
/// pools' borrowing paths ([`Hooks::submit_borrowed`], a scope's queued jobs, `install`'s
/// hand-off) erase a lifetime.
///
/// # Safety
///
/// Everything the closure borrows must stay valid until it has been run or dropped.
pub(crate) unsafe fn erase_lifetime<'a>(task: Box<dyn FnOnce() + Send + 'a>) -> Task {
    // SAFETY: the box's layout does not depend on the lifetime; the caller keeps the borrows
    // valid for as long as the task exists (this fn's contract).
    unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Task>(task) }
}
