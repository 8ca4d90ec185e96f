//! Scoped tasks, written once for every pool: [`Scope`] (its docs say what a scope does:
//! helping, direct spawns); here, why borrowing is sound and how the owner waits.
//!
//! # How borrowing is made sound
//!
//! The pools run `'static` [`Task`]s, and the jobs are kept in `'static` shared data, so a
//! job's lifetime is erased when it is queued. That is sound because the scope does not end
//! while any erased job exists:
//!
//! * every job owns a `Running` token, counted in `running` before the job is built and
//!   uncounted by the token's `Drop` — which runs only once the job's closure, its captures
//!   and (if its handle is gone) its result have been dropped: the job drops its closure
//!   before its token;
//! * a job is in the queue, or being run, until it is dropped, so `running == 0` means the
//!   queue is empty: the trampolines, which may outlive the scope in the pool's queue, hold
//!   only an `Arc` of the (then empty) shared data — nothing that borrows;
//! * `scope` waits for `running == 0` after the closure returns **and** after it panics (the
//!   closure runs under `catch_unwind`), so it can neither return nor unwind past its frame
//!   while a job could still touch a borrow;
//! * no frame that runs a job holds its borrows *as an argument* past the decrement: the
//!   closure is kept in a `MaybeUninit` (std's `MaybeDangling` trick), so Stacked Borrows
//!   does not protect the borrowed data for the lifetime of those frames (Miri's Stacked
//!   Borrows checks it).
//!
//! A [`ScopedJoinHandle`] cannot outlive the scope (it borrows `'scope`); if one is leaked
//! with `mem::forget`, its result is leaked with it, and nothing waits for it: the count is
//! the jobs', not the handles'.
//!
//! # Waiting, and its orderings
//!
//! `running` is decremented with Release after a job has finished; `scope` loads it with
//! Acquire. Every change is an RMW, so each decrement heads a release sequence that the later
//! ones continue, and the load that reads 0 synchronizes with all of them: every job's
//! writes are visible when `scope` returns. The queue is a mutex-protected `VecDeque`; the
//! owner sleeps on an [`EventCount`] that the last decrement notifies, and so does every
//! spawn (a job spawned by another job while the owner sleeps must be run by someone: the
//! owner wakes to help). The event count's fences order the owner's registration against
//! those notifications (the owner re-checks the count and the queue after `prepare_wait`).
//! The token holds an `Arc` of the shared data, so the notify after the final decrement
//! touches live memory even if `scope` has returned by then.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};

use super::handle::{self, ScopedJoinHandle};
use super::hooks::erase_lifetime;
use super::panics::PanicRecord;
use super::{Task, ThreadPool};
use crate::queue::EventCount;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::{Arc, StdMutex};
use std::collections::VecDeque;

/// A scope to spawn borrowing tasks in ([`ThreadPool::scope`]): tasks that borrow from the
/// caller's stack, all finished when `scope` returns.
///
/// `'scope` is the lifetime of the scope itself (tasks may not outlive it), `'env` that of
/// what they may borrow (anything that outlives the `scope` call), as in
/// [`std::thread::Scope`].
///
/// The shape is `std::thread::scope`'s (and `rayon::scope`'s): `pool.scope(|s| { s.spawn(|| …);
/// … })` runs the closure, then waits until every task spawned in the scope has finished, and
/// only then returns (or unwinds). Tasks may borrow anything that outlives the `scope` call.
/// A panic in a task whose [`ScopedJoinHandle`] was not joined is re-raised by `scope` after
/// every task has finished (the first such payload, as rayon does; std raises a panic of its
/// own that says "a scoped thread panicked"). A panic in the closure itself is re-raised too,
/// also only after every task has finished.
///
/// Written once on top of [`ThreadPool::submit`] (and [`ThreadPool::install`], plus two
/// hooks each pool provides internally: helping while it waits, and a borrowing submit), so
/// every pool has it.
///
/// # Helping: the scope runs its own tasks too
///
/// A scoped task is not submitted to the pool directly. It goes into the scope's own queue
/// of *jobs*, and what the pool gets is a *trampoline*: a `'static` task that takes the
/// oldest job from that queue, if any, and runs it. When the closure has returned, the
/// scope's owner does the same while it waits: it takes jobs from the queue and runs them
/// itself, and sleeps only once the queue is empty and some job is still running elsewhere.
/// Two things follow:
///
/// * **A scope inside a pool task cannot deadlock the pool.** The contract for calls from
///   inside a pool's own task (see [the pool docs](crate::pool)) asks that a blocking call a task
///   makes on its own pool never waits for work only the pool's workers can do: a scope
///   whose owner is a worker runs the jobs nobody has started, so with every worker inside a
///   scope, the scopes still finish. (A job already running elsewhere finishes on its own.)
/// * **Nothing is refused.** A trampoline the pool refuses (the pool is closed) is dropped —
///   it owns nothing of the scope's — and its job stays queued for another trampoline or for
///   the owner, so [`Scope::spawn`] cannot fail: every spawned task runs before `scope`
///   returns.
///
/// Jobs are taken oldest first, by whoever comes: a trampoline does not run "its" job.
///
/// # Direct spawns: a scope on a worker
///
/// [`ThreadPool::scope`] runs the closure through [`ThreadPool::install`]: on one of the pool's
/// workers for a pool that overrides it ([`WorkStealingPool`](crate::pool::WorkStealingPool),
/// as rayon's `ThreadPool::scope` does), on the caller otherwise (the default, and when a
/// closed pool refuses the install). When the owner's thread can help the pool — the pool says
/// so, asked once when the scope opens — a spawn skips the scope's queue and the trampoline:
/// the job goes to the pool itself through a borrowing submit (on a worker, a push onto that
/// worker's own LIFO slot and deque), and the owner, once the closure has returned, runs the
/// *pool's* tasks (its own jobs among them) until its jobs are done or it finds nothing to run,
/// and only then sleeps. Nothing is stranded by that sleep: a job spawned directly is
/// in some worker's deque, the injector or running, and the worker that holds it looks at its
/// own deque before it sleeps. A direct spawn the pool refuses comes back and takes the queued
/// path, so `spawn` still cannot fail.
///
/// Why borrowing is sound — every job, direct or queued, owns a token the scope waits for, and
/// no frame holds a job's borrows past it — is argued in the source, `pool/scope.rs`.
pub struct Scope<'scope, 'env: 'scope, P: ThreadPool> {
    pool: &'env P,
    data: Arc<ScopeData>,
    /// Payloads of tasks whose handle was not joined; the first is re-raised.
    record: Arc<PanicRecord>,
    /// Whether the scope's owner is one of the pool's workers that helps the pool while it
    /// waits ([`Hooks::help_while`](super::hooks::Hooks::help_while)): then a spawn goes to the
    /// pool directly, with no trampoline (see "Direct spawns" on the type).
    direct: bool,
    /// Invariant in `'scope` and `'env`, as std's `Scope` is.
    scope: PhantomData<&'scope mut &'scope ()>,
    env: PhantomData<&'env mut &'env ()>,
}

/// A queued scoped task, its lifetime erased (see "How borrowing is made sound").
type Job = Task;

/// What the scope's jobs, trampolines and owner share.
struct ScopeData {
    /// Jobs that exist: queued, running, or not yet dropped.
    running: AtomicUsize,
    /// Jobs spawned and not yet started, oldest first.
    jobs: StdMutex<VecDeque<Job>>,
    /// The owner sleeps here until `running` is 0 or a job is queued.
    done: EventCount,
}

impl ScopeData {
    /// Takes the oldest job nobody has started.
    fn take_job(&self) -> Option<Job> {
        self.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()
    }

    /// What a trampoline does: runs the oldest job, if any is left.
    fn run_one(&self) {
        if let Some(job) = self.take_job() {
            job();
        }
    }

    fn has_jobs(&self) -> bool {
        !self
            .jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
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
/// already use the borrowed data again (Miri's Stacked Borrows checks it). A
/// union is not retagged, so the borrows inside are not protected by those frames.
///
/// Generic over the token `K` dropped after the closure: a scope's `Running`, or `()` for
/// [`install`](super::install), which needs only the wrapper.
pub(crate) struct ScopedTask<G, K> {
    task: MaybeUninit<G>,
    running: K,
}

impl<G: FnOnce(), K> ScopedTask<G, K> {
    pub(crate) fn new(task: G, running: K) -> Self {
        Self {
            task: MaybeUninit::new(task),
            running,
        }
    }

    pub(crate) fn run(self) {
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

impl<G, K> Drop for ScopedTask<G, K> {
    /// Dropped unrun (the pool refused or discarded it): the closure goes first; the token
    /// follows in the fields' drop glue.
    fn drop(&mut self) {
        // SAFETY: `task` is initialised (by `new`); `run` never lets a `ScopedTask` it took
        // from be dropped, so this is the only drop of it.
        unsafe { self.task.assume_init_drop() }
    }
}

impl<'scope, 'env, P: ThreadPool> Scope<'scope, 'env, P> {
    /// Spawns `f` on the pool; it may borrow anything that outlives the scope. The scope
    /// waits for it (and runs it itself if no worker has started it by then) before it
    /// returns. Waits while the pool's queue is full, as [`ThreadPool::submit`] does.
    ///
    /// Never fails: if the pool is closed, the task still runs — on the scope's own thread,
    /// when the closure has returned (see "Helping" on [`Scope`]).
    pub fn spawn<F, T>(&'scope self, f: F) -> ScopedJoinHandle<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        let data = &*self.data;
        // Relaxed: the owner reads the count only after the closure returned (program order
        // on its own thread) or after jobs' Release decrements; an increment made by a job
        // spawning a sibling happens before that job's own decrement.
        data.running.fetch_add(1, Ordering::Relaxed);
        let running = Running(Arc::clone(&self.data));
        let (task, handle) = handle::package(f, Arc::clone(&self.record));
        self.queue(ScopedTask::new(task, running));
        ScopedJoinHandle::new(handle, self)
    }

    /// Spawns `f` without a handle — the shape of `rayon::Scope::spawn`, as
    /// [`ThreadPool::execute`] is [`ThreadPool::spawn`] without one: the scope waits for it
    /// like any scoped task, and if it panics, the scope re-raises the payload (the first one)
    /// after every task has finished. Cheaper than [`spawn`](Self::spawn): no result packet to
    /// allocate and hand over.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use synclab::pool::{ThreadPool, WorkStealingPool};
    ///
    /// let pool = WorkStealingPool::with_workers(2)?;
    /// let sum = AtomicU32::new(0);
    /// pool.scope(|s| {
    ///     for i in 1..=4 {
    ///         let sum = &sum;
    ///         s.execute(move || { sum.fetch_add(i, Ordering::Relaxed); });
    ///     }
    /// });
    /// assert_eq!(sum.into_inner(), 10);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    pub fn execute<F>(&'scope self, f: F)
    where
        F: FnOnce() + Send + 'scope,
    {
        // Relaxed: as in `spawn`.
        self.data.running.fetch_add(1, Ordering::Relaxed);
        let running = Running(Arc::clone(&self.data));
        // The record outlives every job: it lives in the scope, which waits for them all.
        let record: &'scope PanicRecord = &self.record;
        let task = move || {
            if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
                record.record(payload);
            }
        };
        self.queue(ScopedTask::new(task, running));
    }

    /// Queues a scoped job: straight into the pool when the owner helps it, else into the
    /// scope's queue with a trampoline for the pool.
    fn queue<G: FnOnce() + Send + 'scope>(&'scope self, scoped: ScopedTask<G, Running>) {
        let data = &*self.data;
        let job: Job = if self.direct {
            // The owner helps the pool while it waits, so the pool may run the job itself: no
            // trampoline, no scope queue, and no box of our own (the pool stores the closure
            // in its task block). A refused job (closed pool, or no room beyond the queue)
            // comes back, erased, and takes the queued path, which never refuses.
            // SAFETY: the job is not used past `'scope`: it owns its `Running` token, dropped
            // only after the closure and its captures, and `scope` does not return or unwind
            // before every token is dropped (module docs, "How borrowing is made sound").
            match unsafe { self.pool.submit_borrowed(move || scoped.run()) } {
                Ok(()) => return,
                Err(refused) => refused.into_task(),
            }
        } else {
            // SAFETY: the job is not used past `'scope`, as above.
            unsafe { erase_lifetime(Box::new(move || scoped.run())) }
        };
        data.jobs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(job);
        // The owner may be asleep waiting for running jobs while this one (spawned by a job)
        // needs someone to run it.
        data.done.notify_all();
        let trampoline = Arc::clone(&self.data);
        // A refused trampoline is dropped (it owns only an `Arc`); the job stays queued.
        let _ = self.pool.submit(Box::new(move || trampoline.run_one()));
    }

    /// Runs queued jobs, and sleeps while others run elsewhere, until every job is gone.
    fn wait_all(&self) {
        let data = &*self.data;
        loop {
            // Help: run what nobody has started ("Helping" on `Scope`).
            while let Some(job) = data.take_job() {
                job();
            }
            if self.direct {
                // Run the pool's tasks (our direct jobs among them) while ours are unfinished;
                // it returns when it finds nothing to run, and we sleep below.
                // Relaxed: only a hint; the Acquire load below decides.
                self.pool
                    .help_while(&|| data.running.load(Ordering::Relaxed) != 0);
            }
            // One check, after registering (see `EventCount`): a scope ends once, so the
            // registration it costs when everything is done already is not worth a second
            // check site. Acquire: pairs with the Release decrements in `Running::drop`.
            let key = data.done.prepare_wait();
            if data.running.load(Ordering::Acquire) == 0 {
                data.done.cancel_wait(key);
                return;
            }
            if data.has_jobs() {
                data.done.cancel_wait(key);
                continue;
            }
            data.done.wait(key);
        }
    }
}

/// What a [`ScopedJoinHandle::join`] does while its task is unfinished: in a scope that spawns
/// directly, run the pool's tasks; then run the scope's own queued jobs, oldest first — the
/// task may be one of them, with nobody else to run it (a closed pool refuses every
/// trampoline, and a body that joins before it returns would otherwise wait for a job that
/// only the owner's final wait would run). It returns when the task is finished or there is
/// nothing left to run here: the task is then running somewhere, and the handle sleeps.
impl<P: ThreadPool> handle::Help for Scope<'_, '_, P> {
    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool {
        loop {
            if self.direct {
                self.pool.help_while(busy);
            }
            if !busy() {
                return true;
            }
            match self.data.take_job() {
                Some(job) => job(),
                None => return true,
            }
        }
    }
}

impl<P: ThreadPool> fmt::Debug for Scope<'_, '_, P> {
    /// Reads nothing: the counts are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope").finish_non_exhaustive()
    }
}

/// Runs `f` with a new scope on `pool` — on one of its workers if the pool
/// [`install`](ThreadPool::install)s there, else on the caller — waits for every scoped task,
/// re-raises a panic.
pub(crate) fn scope<'env, P, F, R>(pool: &'env P, f: F) -> R
where
    P: ThreadPool,
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, P>) -> R + Send,
    R: Send,
{
    let mut body = Some(f);
    let slot = &mut body;
    match pool.install(move || run_scope(pool, slot.take().expect("the body runs once"))) {
        Ok(value) => value,
        // The pool is closed and dropped the closure unrun: the body is still here, and a
        // scope never fails, so it runs on the caller (its tasks then take the queued path).
        Err(_) => run_scope(
            pool,
            body.take().expect("a refused install did not run the body"),
        ),
    }
}

/// The scope itself, on whichever thread `scope` chose.
fn run_scope<'env, P, F, R>(pool: &'env P, f: F) -> R
where
    P: ThreadPool,
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, P>) -> R,
{
    let scope = Scope {
        pool,
        data: Arc::new(ScopeData {
            running: AtomicUsize::new(0),
            jobs: StdMutex::new(VecDeque::new()),
            done: EventCount::new(),
        }),
        record: Arc::new(PanicRecord::new()),
        // A probe: `help_while` with a condition that is false at once runs nothing and says
        // whether this thread can help.
        direct: pool.help_while(&|| false),
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
