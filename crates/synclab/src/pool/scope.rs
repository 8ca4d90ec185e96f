//! Scoped tasks: [`ThreadPool::scope`] — tasks that borrow from the
//! caller's stack, all finished when `scope` returns.
//!
//! The shape is `std::thread::scope`'s (and `rayon::scope`'s): `pool.scope(|s| { s.spawn(|| …);
//! … })` runs the closure, then waits until every task spawned in the scope has finished, and
//! only then returns (or unwinds). Tasks may borrow anything that outlives the `scope` call.
//! A panic in a task whose [`ScopedJoinHandle`] was not joined is re-raised by `scope` after
//! every task has finished (the first such payload, as rayon does; std raises a panic of its
//! own that says "a scoped thread panicked"). A panic in the closure itself is re-raised too,
//! also only after every task has finished.
//!
//! Written once on top of [`ThreadPool::submit`], so every pool
//! has it.
//!
//! # How borrowing is made sound
//!
//! The pools run `'static` [`Task`]s, so a scoped task's lifetime is erased when it is
//! submitted. That is sound because the scope does not end while any erased task exists:
//!
//! * every scoped task owns a `Running` token, counted in `running` before the task is
//!   built and uncounted by the token's `Drop` — which runs only once the task's closure, its
//!   captures and (if its handle is gone) its result have been dropped: the task drops its
//!   closure before its token, whether it ran or not;
//! * no frame that runs the task holds its borrows *as an argument* past the decrement: the
//!   closure is kept in a `MaybeUninit` (std's `MaybeDangling` trick), so Stacked Borrows
//!   does not protect the borrowed data for the lifetime of those frames (Miri found the
//!   protector violation before this was done);
//! * `scope` waits for `running == 0` after the closure returns **and** after it panics
//!   (the closure runs under `catch_unwind`), so it can neither return nor unwind past its
//!   frame while a task could still touch a borrow;
//! * a task the pool refuses (closed) comes back in the [`SubmitError`](super::SubmitError)
//!   and is dropped inside [`Scope::spawn`] before it returns: the erased box never reaches
//!   the caller, who gets a [`ScopeSpawnError`] without it;
//! * a pool that loses a task without dropping it (a leak) makes `scope` wait forever — a
//!   hang, never a use of a dead borrow. synclab's pools run every task they accept, also
//!   after `close` (queued tasks still run), and the pool cannot be dropped or shut down
//!   while the scope borrows it.
//!
//! A [`ScopedJoinHandle`] cannot outlive the scope (it borrows `'scope`); if one is leaked
//! with `mem::forget`, its result is leaked with it, and nothing waits for it: the count is
//! the tasks', not the handles'.
//!
//! # Waiting, and its orderings
//!
//! `running` is decremented with Release after a task has finished; `scope` loads it with
//! Acquire. Every change is an RMW, so each decrement heads a release sequence that the later
//! ones continue, and the load that reads 0 synchronizes with all of them: every task's
//! writes are visible when `scope` returns. The owner sleeps on an [`EventCount`] that the
//! last decrement notifies (its fences carry the no-lost-wakeup argument); the token holds an
//! `Arc` of the shared data, so the notify after the final decrement touches live memory even
//! if `scope` has returned by then.
//!
//! # Calling it from a task
//!
//! `scope` blocks its caller until the scope's tasks have run. Called from inside one of the
//! pool's own tasks, it holds that worker; if every worker does so, no worker is left to run
//! the scoped tasks. Don't nest scopes deeper than the pool has workers.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};

use super::join::{self, ScopedJoinHandle};
use super::panics::PanicRecord;
use super::{Task, ThreadPool};
use crate::queue::EventCount;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Arc;

/// A scope to spawn borrowing tasks in; see [`ThreadPool::scope`] and [the module docs](self).
///
/// `'scope` is the lifetime of the scope itself (tasks may not outlive it), `'env` that of
/// what they may borrow (anything that outlives the `scope` call), as in
/// [`std::thread::Scope`].
pub struct Scope<'scope, 'env: 'scope, P: ThreadPool> {
    pool: &'env P,
    data: Arc<ScopeData>,
    /// Payloads of tasks whose handle was not joined; the first is re-raised.
    record: Arc<PanicRecord>,
    /// Invariant in `'scope` and `'env`, as std's `Scope` is.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// What the scope's tasks share with its owner.
struct ScopeData {
    /// Scoped tasks that exist (queued, running, or not yet dropped).
    running: AtomicUsize,
    /// The owner sleeps here until `running` is 0.
    done: EventCount,
}

/// One scoped task's place in `running`; see the module docs.
struct Running(Arc<ScopeData>);

impl Drop for Running {
    fn drop(&mut self) {
        // Release: the task's writes (and the drops of its captures) happen before the
        // owner's Acquire load that reads 0 (module docs, "Waiting").
        if self.0.running.fetch_sub(1, Ordering::Release) == 1 {
            self.0.done.notify_all();
        }
    }
}

/// A scoped task: the packaged closure, then its token. The closure is dropped (or run) before
/// the token, so the token is uncounted only after the closure and everything it captured are
/// gone — on both paths: `run`, and `Drop` (a task dropped unrun), which drops the closure
/// before the fields' own drop glue drops the token.
///
/// The closure sits in a `MaybeUninit` (always initialised until `run` or `Drop` takes it)
/// for the reason std's scoped threads wrap theirs in `MaybeDangling`: a `ScopedTask` is
/// passed by value into the frames that run it, and a reference it holds by value would be
/// *protected* for as long as such a frame lives (Stacked Borrows retags the fields of
/// arguments) — including the moment after the token's decrement, when the scope's owner may
/// already use the borrowed data again. Miri reported exactly that without the wrapper. A
/// union is not retagged, so the borrows inside are not protected by those frames.
struct ScopedTask<G> {
    task: MaybeUninit<G>,
    running: Running,
}

impl<G: FnOnce()> ScopedTask<G> {
    fn new(task: G, running: Running) -> Self {
        Self {
            task: MaybeUninit::new(task),
            running,
        }
    }

    fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `task` is initialised (by `new`) and read exactly once: `this` is never
        // dropped, so neither `Drop` nor a second `run` can touch it again.
        let task = unsafe { this.task.assume_init_read() };
        // SAFETY: `running` is read exactly once, out of a `ManuallyDrop` that is never dropped.
        let running = unsafe { core::ptr::read(&this.running) };
        task();
        drop(running);
    }
}

impl<G> Drop for ScopedTask<G> {
    /// Dropped unrun (the pool refused or discarded it): the closure goes first; the token
    /// follows in the fields' drop glue.
    fn drop(&mut self) {
        // SAFETY: `task` is initialised (by `new`); `run` never lets a `ScopedTask` it took
        // from be dropped, so this is the only drop of it.
        unsafe { self.task.assume_init_drop() }
    }
}

/// [`Scope::spawn`] failed: the pool is closed. The task was dropped, not run.
///
/// (It cannot be handed back as [`SubmitError`](super::SubmitError) does: its lifetime was
/// erased to submit it, and a `'static` box that borrows the caller's stack must never reach
/// the caller.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScopeSpawnError;

impl fmt::Display for ScopeSpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down: the scoped task was dropped, not run")
    }
}

impl std::error::Error for ScopeSpawnError {}

impl<'scope, 'env, P: ThreadPool> Scope<'scope, 'env, P> {
    /// Submits `f` to the pool; it may borrow anything that outlives the scope. The scope
    /// waits for it before it returns. Waits while the pool's queue is full, as
    /// [`ThreadPool::submit`] does.
    ///
    /// # Errors
    ///
    /// [`ScopeSpawnError`] if the pool is closed; `f` is dropped without running.
    pub fn spawn<F, T>(&'scope self, f: F) -> Result<ScopedJoinHandle<'scope, T>, ScopeSpawnError>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        // Relaxed: the owner reads the count only after the closure returned (program order
        // on its own thread) or after tasks' Release decrements; an increment made by a task
        // spawning a sibling happens before that task's own decrement.
        self.data.running.fetch_add(1, Ordering::Relaxed);
        let running = Running(Arc::clone(&self.data));
        let (task, handle) = join::package(f, Arc::clone(&self.record));
        let scoped = ScopedTask::new(task, running);
        let boxed: Box<dyn FnOnce() + Send + 'scope> = Box::new(move || scoped.run());
        // SAFETY: only the lifetime changes (`'scope` to `'static`); the layout of the box is
        // the same. The box is not used past `'scope`: it owns the task's `Running` token,
        // dropped only after the closure and its captures, and `scope` does not return or
        // unwind before every token is dropped (module docs, "How borrowing is made sound").
        // If the pool refuses it, it is dropped below, inside `'scope`.
        let task: Task =
            unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + 'scope>, Task>(boxed) };
        match self.pool.submit(task) {
            Ok(()) => Ok(ScopedJoinHandle::new(handle)),
            Err(refused) => {
                // Dropped here, inside the scope: the erased box must not escape. This
                // completes its packet (as "dropped unrun") and uncounts its token.
                drop(refused);
                drop(handle);
                Err(ScopeSpawnError)
            }
        }
    }

    /// The pool the scope's tasks run on.
    pub fn pool(&self) -> &'env P {
        self.pool
    }

    /// Blocks until every scoped task has been dropped (run or not).
    fn wait_all(&self) {
        let data = &*self.data;
        loop {
            // Acquire: pairs with the Release decrements in `Running::drop`.
            if data.running.load(Ordering::Acquire) == 0 {
                return;
            }
            let key = data.done.prepare_wait();
            // Acquire: as above; the re-check after registering (see `EventCount`).
            if data.running.load(Ordering::Acquire) == 0 {
                data.done.cancel_wait(key);
                return;
            }
            data.done.wait(key);
        }
    }
}

impl<P: ThreadPool> fmt::Debug for Scope<'_, '_, P> {
    /// Reads nothing: the counts are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// Runs `f` with a new scope on `pool`, waits for every scoped task, re-raises a panic.
pub(crate) fn scope<'env, P, F, R>(pool: &'env P, f: F) -> R
where
    P: ThreadPool,
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, P>) -> R,
{
    let scope = Scope {
        pool,
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            done: EventCount::new(),
        }),
        record: Arc::new(PanicRecord::new()),
        scope: PhantomData,
        env: PhantomData,
    };
    // The closure may panic; the scope must still wait for its tasks before unwinding.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&scope)));
    scope.wait_all();
    match result {
        Err(payload) => std::panic::resume_unwind(payload),
        Ok(value) => {
            if let Some(payload) = scope.record.take_first() {
                std::panic::resume_unwind(payload);
            }
            value
        }
    }
}
