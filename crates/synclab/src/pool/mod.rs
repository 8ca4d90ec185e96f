//! Thread pools: the seed's second scenario, several designs behind one trait.
//!
//! The seed document (`seed/shared-memory-ipc.txt`, "Thread Pool in Python" and "Thread Pool
//! in C++") builds a pool of worker threads that run submitted tasks, and a `wait` that should
//! return once the tasks are done. Both seed pools are broken (their faithful ports are in
//! the bug zoo, `synclab_zoo::pool`); the designs here keep the seed's shape and fix every bug:
//!
//! | design | queue | workers sleep on | `wait` sleeps on | progress |
//! |---|---|---|---|---|
//! | [`CondvarPool<F>`] | `VecDeque` under the family's mutex | condvar "not empty" | condvar "idle" | blocking |
//! | [`LockFreePool`] | lock-free bounded array queue | an event count (futex) | an event count (futex) | blocking only to sleep; submit/pop lock-free in the queue's sense |
//! | [`WorkStealingPool`] | a Chase–Lev deque per worker (+ a LIFO slot) and a bounded injector (the array queue) | an event count (futex) | an event count (futex) | blocking only to sleep; a worker's push wait-free, steal lock-free |
//!
//! [`CondvarPool<F>`] is instantiated with each lock family: [`StdCondvarPool`] (std's
//! `Mutex` + `Condvar`) and [`FutexCondvarPool`] (synclab's futex mutex and condvar).
//!
//! # The contract every pool keeps ([`ThreadPool`])
//!
//! * **Bounded queue.** A pool is built with a worker count (≥ 1) and a queue capacity (≥ 1,
//!   default [`DEFAULT_CAPACITY`]; the CLI demo passes the seed's bound), like the seed's
//!   `Queue(num_threads)`. [`ThreadPool::submit`] waits while the queue is full (except on one
//!   of the pool's own workers: see below); [`ThreadPool::try_submit`] hands the task back
//!   instead.
//! * **`wait` means finished.** [`ThreadPool::wait`] returns only when every task submitted
//!   before the call has *finished running*: a pending count is incremented when a task is
//!   accepted and decremented after the task *returns* — not when it is dequeued (the seed's
//!   C++ bug). Every thread waiting at that moment is woken (the seed woke one). It reports how
//!   many tasks panicked since the last `wait`.
//! * **Panics are caught.** A panicking task is caught on its worker (`catch_unwind`); the
//!   worker lives on and the panic is counted (the seed's Python pool lost the worker and hung).
//!   The panic's payload is kept, not dropped on the worker — its own `Drop` may panic
//!   (`panic_any(Bomb)`), which would kill the worker — and handed to whoever
//!   takes it ([`JoinHandle::join`], or the report of the next `wait` or `shutdown`), as
//!   `std::thread::JoinHandle::join` hands it to the joiner. The payloads the pool drops
//!   itself (left in a pool dropped without `shutdown`, the ones a scope does not re-raise)
//!   are dropped under a guard, and one that panics again is leaked, so a chain of them
//!   cannot loop. A worker that died anyway (a bug) is reported in
//!   [`ShutdownReport::workers_lost`].
//! * **Shutdown drains.** [`ThreadPool::close`] stops accepting; [`ThreadPool::shutdown`] and
//!   `Drop` close, run every task already queued, and join the workers.
//! * **Called from inside one of its own tasks.** A pool knows its workers (by thread id),
//!   and a task running on one of them is treated as *part of the pool*, never as an outside
//!   client that may be made to wait for the pool:
//!   - [`ThreadPool::submit`] (and `execute`) from one of the pool's own workers **never waits
//!     for room**: when the queue is full, the task is accepted *beyond* the capacity, into an
//!     overflow the workers take from before the queue. A worker that waited for room would be
//!     waiting for itself — when every worker does it, nobody drains the queue and the pool
//!     deadlocks. The capacity bounds what threads *outside* the pool can queue (the
//!     backpressure a producer needs); the work that tasks create is bounded by the tasks
//!     themselves, as in rayon and Java's `ForkJoinPool`, whose workers push to their own
//!     unbounded deques. The overflow is finite all the same: a worker's submit that finds the
//!     pool holding [`queue::MAX_CAPACITY`](crate::queue::MAX_CAPACITY) tasks (queued,
//!     overflowed or running), or cannot allocate room for one more, gets the task
//!     back with [`SubmitErrorKind::Overflow`] — never a panic, an abort or a hang.
//!     [`ThreadPool::try_submit`] keeps the bound from everywhere (it never waits, so it cannot
//!     deadlock): from a worker it still says `Full`.
//!   - [`ThreadPool::wait`] from one of the pool's own workers returns
//!     `Err(`[`WaitError::InsideTask`]`)` at once: the calling task is itself pending, so a wait
//!     for every pending task would never end. Whatever is built on `wait` (`scope`, joining a
//!     task's handle) inherits the rule: a blocking call a task makes on its own pool must not
//!     wait for work only the pool's workers can do — it refuses, or helps by running queued
//!     tasks itself.
//!
//!   Why these outcomes, and not the other two a pool library could choose. *Running the
//!   task inline* on the submitting worker (Java's `CallerRunsPolicy`) nests one stack frame
//!   per full-queue submit, and a task that submits from inside an inline task nests again:
//!   a fan-out tree on a small queue could overflow the stack, which is an abort. *A typed
//!   error for submit* would fail work that another worker is about to make room for, and
//!   push every user of nested tasks into writing a retry-or-run-inline fallback of their own.
//!   For `wait` no outcome but refusal is honest: there is no non-blocking answer to "have the
//!   tasks submitted before me finished?" when the asker is one of them.
//! * **Dropped from inside its own task.** When the last handle to a pool is dropped (or
//!   `shutdown` is called) on one of its own workers — a task that owned the pool — the pool
//!   closes and *detaches* its workers instead of joining them: a thread cannot join itself,
//!   and the other workers cannot finish while the calling task is still pending. They run
//!   every queued task and exit on their own; the report says `workers_joined: 0`.
//!
//! Workers are spawned with [`crate::sync::thread::spawn`], so the pools run unchanged under
//! a model checker.
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use std::sync::Arc;
//! use synclab::pool::{StdCondvarPool, ThreadPool};
//!
//! let pool = StdCondvarPool::with_workers(4).unwrap();
//! let done = Arc::new(AtomicUsize::new(0));
//! for _ in 0..20 {
//!     let done = Arc::clone(&done);
//!     pool.execute(move || {
//!         done.fetch_add(1, Ordering::Relaxed);
//!     })
//!     .unwrap();
//! }
//! let report = pool.wait().expect("not called from inside a task");
//! assert_eq!(done.load(Ordering::Relaxed), 20); // every task has finished
//! assert_eq!(report.panicked, 0);
//! pool.shutdown();
//! ```

// The files, for a reader of the source: `config.rs` and `error.rs` (how a pool is built, what
// it reports); one file per pool (`condvar_pool.rs`, `lock_free.rs`, and the work-stealing
// pool's folder, laid out as rayon-core's `registry.rs`, `job.rs`, `latch.rs` and
// `join/mod.rs`); and what the pools share — `state.rs` (the lock-free pools' state word and
// parking), `injector.rs` (their bounded queue with sleeping submitters), `workers.rs`
// (starting, recognising and joining workers; the idle search), `panics.rs` (where payloads
// go), `handle.rs` (a spawned task's result), `scope.rs`, `install.rs`, `join.rs` (fork-join
// for the pools without a deque, and the free `join`), `parallel.rs` (the data-parallel
// helpers), and `hooks.rs` (what each pool provides to the code written once for all).

use core::time::Duration;

// First: it defines `state_pool_common!`, which the lock-free pools below use.
#[macro_use]
mod state;

mod condvar_pool;
mod config;
mod error;
mod handle;
mod hooks;
mod injector;
mod install;
mod join;
mod lock_free;
mod panics;
mod parallel;
mod scope;
mod work_stealing;
mod workers;

pub use self::{
    condvar_pool::{CondvarPool, FutexCondvarPool, StdCondvarPool},
    config::{PoolConfig, DEFAULT_CAPACITY},
    error::{
        BuildError, InstallError, RejectedTask, ShutdownReport, SubmitError, SubmitErrorKind,
        TrySubmitError, WaitError, WaitReport,
    },
    handle::{JoinHandle, ScopedJoinHandle, TaskDropped},
    join::join,
    lock_free::LockFreePool,
    panics::{panic_message, PanicPayload},
    parallel::{for_each, map_reduce, Splittable},
    scope::Scope,
    work_stealing::WorkStealingPool,
};

use hooks::Hooks;

/// A unit of work: any closure that can be sent to a worker.
pub type Task = Box<dyn FnOnce() + Send + 'static>;

/// A pool of worker threads running submitted [`Task`]s from a bounded queue.
///
/// See [the module docs](self) for the contract. Every implementation is `Send + Sync`, so
/// several threads may submit and wait at once (share it by reference or in an `Arc`).
///
/// The trait is sealed: synclab's pools implement it, other crates cannot. What is written
/// once for every pool ([`spawn`](Self::spawn), [`scope`](Self::scope), `install`'s hand-off)
/// needs a few hooks from each pool (its panic record, a borrowing submit, helping while a
/// scope waits) that are not part of the API; they live in a crate-private supertrait.
#[allow(
    private_bounds,
    reason = "sealed: `Hooks` is crate-private on purpose, so only synclab's pools implement this"
)]
pub trait ThreadPool: Hooks + Send + Sync + Sized {
    /// Starts `config.workers` workers with a queue of `config.capacity` tasks.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] or [`BuildError::ZeroCapacity`]. (Like `std::thread::spawn`,
    /// it panics if the operating system cannot start a thread.)
    fn build(config: PoolConfig) -> Result<Self, BuildError>;

    /// Starts `workers` workers with the [`DEFAULT_CAPACITY`].
    ///
    /// # Errors
    ///
    /// As [`ThreadPool::build`].
    fn with_workers(workers: usize) -> Result<Self, BuildError> {
        Self::build(PoolConfig::new(workers))
    }

    /// Queues `task`, waiting while the queue is full — unless called from one of the pool's
    /// own workers, which never waits: the task is then accepted beyond the capacity (see
    /// "Called from inside one of its own tasks" in the module docs).
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (with the task): [`SubmitErrorKind::Closed`] if the pool was closed
    /// before the task was queued; [`SubmitErrorKind::Overflow`] if a worker's submit found the
    /// queue full and the pool could not keep the task beyond it.
    fn submit(&self, task: Task) -> Result<(), SubmitError>;

    /// Queues `task` if there is room now; never waits.
    ///
    /// # Errors
    ///
    /// [`TrySubmitError::Full`] or [`TrySubmitError::Closed`], with the task.
    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError>;

    /// Boxes `f` and [`submit`](ThreadPool::submit)s it.
    ///
    /// # Errors
    ///
    /// As [`ThreadPool::submit`].
    fn execute<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<(), SubmitError> {
        self.submit(Box::new(f))
    }

    /// Submits `f` and returns a [`JoinHandle`] for its result: its value, or the payload of
    /// its panic. Dropping the handle detaches the task; a payload no handle takes is
    /// reported by the next [`wait`](ThreadPool::wait).
    ///
    /// ```
    /// use synclab::pool::{StdCondvarPool, ThreadPool};
    ///
    /// let pool = StdCondvarPool::with_workers(2)?;
    /// let handles: Vec<_> = (1..=4u64).map(|i| pool.spawn(move || i * i).unwrap()).collect();
    /// let sum: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(sum, 30);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`ThreadPool::submit`]: the [`SubmitError`] holds the packaged task (running it
    /// runs `f`, whose result is then dropped).
    fn spawn<F, T>(&self, f: F) -> Result<JoinHandle<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (task, handle) = handle::package(f, crate::sync::Arc::clone(self.panics()));
        self.submit(Box::new(task))?;
        Ok(handle)
    }

    /// Runs `f` with a [`Scope`] whose tasks may borrow from the caller's stack, and returns
    /// once every task spawned in it has finished; a panic of a task not joined is re-raised
    /// then (see [`Scope`] for the details and the soundness argument).
    ///
    /// ```
    /// use synclab::pool::{LockFreePool, ThreadPool};
    ///
    /// let pool = LockFreePool::with_workers(2)?;
    /// let mut halves = vec![vec![1, 2, 3], vec![4, 5, 6]];
    /// pool.scope(|s| {
    ///     for half in halves.iter_mut() {
    ///         s.spawn(move || half.iter_mut().for_each(|x| *x *= 10));
    ///     }
    /// });
    /// assert_eq!(halves, [[10, 20, 30], [40, 50, 60]]); // every task has finished
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    ///
    /// The closure runs where [`install`](ThreadPool::install) runs it: on one of the
    /// pool's workers for a pool that overrides `install` ([`WorkStealingPool`]: its spawns
    /// are then pushes onto that worker's own deque, and the worker runs the pool's tasks
    /// while it waits), on the caller otherwise. Hence `Send` on the closure and its result,
    /// as in `rayon::ThreadPool::scope`.
    fn scope<'env, F, R>(&'env self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, Self>) -> R + Send,
        R: Send,
    {
        scope::scope(self, f)
    }

    /// Runs `f` on one of the pool's workers and blocks until it has returned, with its
    /// value; a panic of `f` is resumed on the caller. `f` may borrow from the caller's stack.
    /// Called from one of the pool's own workers, `f` runs inline.
    ///
    /// The default runs `f` inline on the caller: for a pool with one shared queue, nothing is
    /// gained by moving the caller's work onto a worker. [`WorkStealingPool`] overrides it, as
    /// rayon's `ThreadPool::install` does: the closure is queued like any task, and the caller
    /// sleeps until a worker has run it (the hand-off and its soundness argument are in the
    /// source, `pool/install.rs`).
    ///
    /// ```
    /// use synclab::pool::{ThreadPool, WorkStealingPool};
    ///
    /// let pool = WorkStealingPool::with_workers(2)?;
    /// let mut total = 0;
    /// let here = std::thread::current().id();
    /// let ran_on = pool.install(|| {
    ///     total += 42; // borrows the caller's stack
    ///     std::thread::current().id()
    /// });
    /// assert_ne!(ran_on.unwrap(), here); // it ran on a worker
    /// assert_eq!(total, 42);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`InstallError::Closed`] if the pool is closed (`f` was dropped unrun). The default
    /// never fails.
    fn install<F, R>(&self, f: F) -> Result<R, InstallError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        Ok(f())
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results: fork-join, as
    /// `rayon::join`. `b` is offered to the pool while `a` runs on the calling thread; if no
    /// worker has taken `b` when `a` returns, the caller runs it too. A panic in either is
    /// resumed once both have finished (`a`'s if both panicked). The closures may borrow from
    /// the caller's stack.
    ///
    /// [`WorkStealingPool`] pushes `b` onto the calling worker's deque as a job in the
    /// caller's own stack frame — no allocation — and takes it back if nobody stole it (called
    /// from outside the pool, it first [`install`](ThreadPool::install)s itself on a worker).
    /// The other pools go through a [`scope`](ThreadPool::scope). Either way `a` and `b` may
    /// run one after the other on one thread: `a` must not wait for something only `b` does.
    /// The free function [`join`](crate::pool::join()) needs no pool at hand.
    ///
    /// ```
    /// use synclab::pool::{ThreadPool, WorkStealingPool};
    ///
    /// fn sum(pool: &WorkStealingPool, v: &[u64]) -> u64 {
    ///     if v.len() <= 1024 {
    ///         return v.iter().sum();
    ///     }
    ///     let (left, right) = v.split_at(v.len() / 2);
    ///     let (a, b) = pool.join(|| sum(pool, left), || sum(pool, right));
    ///     a + b
    /// }
    /// let pool = WorkStealingPool::with_workers(2)?;
    /// let v: Vec<u64> = (0..100_000).collect();
    /// assert_eq!(sum(&pool, &v), 99_999 * 100_000 / 2);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.join_context(move |_| a(), move |_| b())
    }

    /// Calls `f` on every item of `input` — an index range or a slice ([`Splittable`]) — in
    /// parallel on this pool, splitting the input with [`join`](ThreadPool::join) while
    /// workers are idle (rayon's adaptive splitting; see `pool/parallel.rs`); returns when
    /// every call has returned. A panic in `f` is resumed once every piece has finished.
    ///
    /// ```
    /// use synclab::pool::{LockFreePool, ThreadPool};
    ///
    /// let pool = LockFreePool::with_workers(2)?;
    /// let mut v = vec![1u32, 2, 3, 4, 5, 6, 7, 8];
    /// pool.for_each(&mut v[..], |x| *x *= 10);
    /// assert_eq!(v, [10, 20, 30, 40, 50, 60, 70, 80]);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    fn for_each<I, F>(&self, input: I, f: F)
    where
        I: Splittable,
        F: Fn(I::Item) + Sync,
    {
        parallel::for_each_on(self, input, &f);
    }

    /// Maps every item of `input` — an index range or a slice ([`Splittable`]) — with `map`
    /// and combines the values with `reduce`, in parallel on this pool (split as
    /// [`for_each`](ThreadPool::for_each) splits); `identity()` is the value of an empty
    /// piece. `reduce` must be associative with `identity()` neutral: the pieces are combined
    /// in order, but where the input is cut depends on the schedule.
    ///
    /// ```
    /// use synclab::pool::{ThreadPool, WorkStealingPool};
    ///
    /// let pool = WorkStealingPool::with_workers(2)?;
    /// let v: Vec<u64> = (1..=1000).collect();
    /// let sum = pool.map_reduce(&v[..], || 0, |&x| x, |a, b| a + b);
    /// assert_eq!(sum, 500_500);
    /// let evens = pool.map_reduce(0..1000usize, || 0, |i| usize::from(i % 2 == 0), |a, b| a + b);
    /// assert_eq!(evens, 500);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    fn map_reduce<I, T, ID, M, R>(&self, input: I, identity: ID, map: M, reduce: R) -> T
    where
        I: Splittable,
        T: Send,
        ID: Fn() -> T + Sync,
        M: Fn(I::Item) -> T + Sync,
        R: Fn(T, T) -> T + Sync,
    {
        parallel::map_reduce_on(self, input, &identity, &map, &reduce)
    }

    /// Returns once every task submitted before this call has finished running.
    ///
    /// Precisely: it returns at the first moment after the call when no task is pending (queued
    /// or running), or at once if none is. Every thread waiting at that moment returns.
    ///
    /// # Errors
    ///
    /// [`WaitError::InsideTask`], at once, when called from inside one of the pool's own
    /// tasks: that task is pending itself, so the wait could never end.
    fn wait(&self) -> Result<WaitReport, WaitError>;

    /// As [`wait`](ThreadPool::wait), but gives up once `timeout` has passed. The panics not
    /// yet reported stay for the next `wait`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::pool::{LockFreePool, ThreadPool};
    ///
    /// let pool = LockFreePool::with_workers(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// pool.execute(move || rx.recv().unwrap()).unwrap();
    /// assert!(pool.wait_timeout(Duration::from_millis(1)).is_err()); // the task is blocked
    /// tx.send(()).unwrap();
    /// assert_eq!(pool.wait_timeout(Duration::from_secs(10)).unwrap().panicked, 0);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`WaitError::TimedOut`] if some task submitted before the call was still pending when
    /// the timeout passed; [`WaitError::InsideTask`], at once, as for `wait`.
    fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitError>;

    /// Stops accepting tasks: later `submit`/`try_submit` calls hand their task back, and
    /// submitters blocked on a full queue return with their task. Tasks already queued still
    /// run. Idempotent.
    fn close(&self);

    /// Closes the pool, runs every queued task, joins the workers. `Drop` does the same.
    fn shutdown(self) -> ShutdownReport;

    /// The number of workers.
    fn workers(&self) -> usize;

    /// The queue capacity.
    fn capacity(&self) -> usize;
}
