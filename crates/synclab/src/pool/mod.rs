//! Thread pools: the seed's second scenario, several designs behind one trait.
//!
//! The seed document (`seed/shared-memory-ipc.txt`, "Thread Pool in Python" and "Thread Pool
//! in C++") builds a pool of worker threads that run submitted tasks, and a `wait` that should
//! return once the tasks are done. Both seed pools are broken (their faithful ports are in
//! [`crate::zoo::pool`]); the designs here keep the seed's shape and fix every bug:
//!
//! | design | queue | workers sleep on | `wait` sleeps on | progress |
//! |---|---|---|---|---|
//! | [`CondvarPool<F>`] | `VecDeque` under the family's mutex | condvar "not empty" | condvar "idle" | blocking |
//! | [`LockFreePool`] | lock-free bounded array queue | an event count (futex) | an event count (futex) | blocking only to sleep; submit/pop lock-free in the queue's sense |
//!
//! [`CondvarPool<F>`] is instantiated with each lock family: [`StdCondvarPool`] (std's
//! `Mutex` + `Condvar`) and [`FutexCondvarPool`] (synclab's futex mutex and condvar).
//!
//! # The contract every pool keeps ([`ThreadPool`])
//!
//! * **Bounded queue.** A pool is built with a worker count (≥ 1) and a queue capacity
//!   (≥ 1, default [`DEFAULT_CAPACITY`]; the CLI demo passes the seed's bound), like the seed's `Queue(num_threads)`.
//!   [`ThreadPool::submit`] waits while the queue is full; [`ThreadPool::try_submit`] hands the
//!   task back instead.
//! * **`wait` means finished.** [`ThreadPool::wait`] returns only when every task submitted
//!   before the call has *finished running*: a pending count is incremented when a task is
//!   accepted and decremented after the task *returns* — not when it is dequeued (the seed's
//!   C++ bug). Every thread waiting at that moment is woken (the seed woke one). It reports how
//!   many tasks panicked since the last `wait`.
//! * **Panics are caught.** A panicking task is caught on its worker (`catch_unwind`); the
//!   worker lives on and the panic is counted (the seed's Python pool lost the worker and hung).
//! * **Shutdown drains.** [`ThreadPool::close`] stops accepting; [`ThreadPool::shutdown`] and
//!   `Drop` close, run every task already queued, and join the workers.
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
//! let report = pool.wait();
//! assert_eq!(done.load(Ordering::Relaxed), 20); // every task has finished
//! assert_eq!(report.panicked, 0);
//! pool.shutdown();
//! ```

use core::fmt;
use core::time::Duration;

pub mod condvar_pool;
pub mod join;
pub mod lock_free;
pub mod panics;
pub mod scope;

pub use condvar_pool::CondvarPool;
pub use join::{JoinHandle, ScopedJoinHandle, TaskDropped};
pub use lock_free::{LockFreePool, IDLE_SPINS, IDLE_YIELDS, MAX_SEARCHERS};
pub use panics::{panic_message, PanicPayload, PanicRecord};
pub use scope::Scope;

/// A unit of work: any closure that can be sent to a worker.
pub type Task = Box<dyn FnOnce() + Send + 'static>;

/// [`CondvarPool`] over std's `Mutex` + `Condvar`.
pub type StdCondvarPool = CondvarPool<crate::lock::StdFamily>;

/// [`CondvarPool`] over synclab's futex mutex and condvar.
pub type FutexCondvarPool = CondvarPool<crate::lock::FutexFamily>;

/// The queue capacity when [`PoolConfig::capacity`] is not set: 1024 tasks.
///
/// The seed bounds its queue by the worker count (`Queue(num_threads)`), which makes a fast
/// submitter sleep after every few tasks; 1024 boxed tasks (16 KiB of pointers) let a
/// submitter run well ahead of the workers while still bounding memory. Pass
/// [`PoolConfig::capacity`] to reproduce the seed's bound.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How to build a pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads (≥ 1).
    pub workers: usize,
    /// Queue capacity in tasks (≥ 1); `None` means [`DEFAULT_CAPACITY`].
    pub capacity: Option<usize>,
}

impl PoolConfig {
    /// `workers` workers and the default capacity.
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            capacity: None,
        }
    }

    /// Sets the queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Checks the configuration: `(workers, capacity)` or the reason it is invalid.
    pub fn validate(&self) -> Result<(usize, usize), BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        let capacity = self.capacity.unwrap_or(DEFAULT_CAPACITY);
        if capacity == 0 {
            return Err(BuildError::ZeroCapacity);
        }
        Ok((self.workers, capacity))
    }
}

/// Why a pool could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// `workers` was 0: a pool with no worker would never run a task.
    ZeroWorkers,
    /// `capacity` was 0: no task could ever be queued.
    ZeroCapacity,
    /// `capacity` is more than the queue can index.
    CapacityTooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity supported.
        max: usize,
    },
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => {
                write!(f, "a thread pool needs at least 1 worker, got workers = 0")
            }
            BuildError::ZeroCapacity => write!(
                f,
                "a thread pool's queue needs a capacity of at least 1, got capacity = 0"
            ),
            BuildError::CapacityTooLarge { requested, max } => write!(
                f,
                "a thread pool's queue holds at most {max} tasks, got capacity = {requested}"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// [`ThreadPool::submit`] failed: the pool is closed. The task is handed back, not run.
pub struct SubmitError(pub Task);

impl SubmitError {
    /// The task that was not accepted.
    pub fn into_task(self) -> Task {
        self.0
    }
}

impl fmt::Debug for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubmitError(<task>)")
    }
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the pool is shut down: the task was handed back, not run")
    }
}

impl std::error::Error for SubmitError {}

/// [`ThreadPool::try_submit`] failed. The task is handed back, not run.
pub enum TrySubmitError {
    /// The queue was full (holding `capacity` tasks).
    Full(Task),
    /// The pool is closed.
    Closed(Task),
}

impl TrySubmitError {
    /// The task that was not accepted.
    pub fn into_task(self) -> Task {
        match self {
            TrySubmitError::Full(task) | TrySubmitError::Closed(task) => task,
        }
    }

    /// Whether the pool was closed (rather than full).
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySubmitError::Closed(_))
    }
}

impl fmt::Debug for TrySubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => f.write_str("Full(<task>)"),
            TrySubmitError::Closed(_) => f.write_str("Closed(<task>)"),
        }
    }
}

impl fmt::Display for TrySubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySubmitError::Full(_) => {
                f.write_str("the pool's queue is full: the task was handed back, not run")
            }
            TrySubmitError::Closed(_) => {
                f.write_str("the pool is shut down: the task was handed back, not run")
            }
        }
    }
}

impl std::error::Error for TrySubmitError {}

/// What [`ThreadPool::wait`] observed.
#[derive(Debug, Default)]
#[non_exhaustive]
#[must_use = "the report says whether any task panicked"]
pub struct WaitReport {
    /// Tasks that panicked since the previous `wait` returned and whose payload no
    /// [`JoinHandle`] took (`payloads.len()`). With several threads waiting at once, each
    /// panic is reported to exactly one of them.
    pub panicked: usize,
    /// Their panic payloads, oldest first (see [`panic_message`] for the text).
    pub payloads: Vec<PanicPayload>,
}

impl WaitReport {
    /// The report of `payloads`.
    pub(crate) fn of(payloads: Vec<PanicPayload>) -> Self {
        Self {
            panicked: payloads.len(),
            payloads,
        }
    }
}

/// [`ThreadPool::wait_timeout`] gave up: a task submitted before the call had not finished
/// when the timeout passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitTimeout;

impl fmt::Display for WaitTimeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("timed out waiting for the pool's tasks to finish")
    }
}

impl std::error::Error for WaitTimeout {}

/// What [`ThreadPool::shutdown`] observed.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Tasks that panicked and were not yet reported by a `wait` (`payloads.len()`).
    pub panicked: usize,
    /// Their panic payloads, oldest first.
    pub payloads: Vec<PanicPayload>,
    /// Workers joined.
    pub workers_joined: usize,
}

impl ShutdownReport {
    /// The report of `payloads` and `workers_joined`.
    pub(crate) fn of(payloads: Vec<PanicPayload>, workers_joined: usize) -> Self {
        Self {
            panicked: payloads.len(),
            payloads,
            workers_joined,
        }
    }
}

/// A pool of worker threads running submitted [`Task`]s from a bounded queue.
///
/// See [the module docs](self) for the contract. Every implementation is `Send + Sync`, so
/// several threads may submit and wait at once (share it by reference or in an `Arc`).
pub trait ThreadPool: Send + Sync + Sized {
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

    /// Queues `task`, waiting while the queue is full.
    ///
    /// # Errors
    ///
    /// [`SubmitError`] (with the task) if the pool was closed before the task was queued.
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
        let (task, handle) = join::package(f, crate::sync::Arc::clone(self.panics()));
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
    fn scope<'env, F, R>(&'env self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env, Self>) -> R,
    {
        scope::scope(self, f)
    }

    /// The record of panic payloads that no [`JoinHandle`] took, which
    /// [`wait`](ThreadPool::wait) and [`shutdown`](ThreadPool::shutdown) report. Every pool
    /// keeps one and records into it every payload its workers catch; the handles of
    /// [`spawn`](ThreadPool::spawn) report to it when dropped unjoined.
    fn panics(&self) -> &crate::sync::Arc<PanicRecord>;

    /// Returns once every task submitted before this call has finished running.
    ///
    /// Precisely: it returns at the first moment after the call when no task is pending (queued
    /// or running), or at once if none is. Every thread waiting at that moment returns. Calling
    /// it from inside one of the pool's own tasks would wait for that task itself: don't.
    fn wait(&self) -> WaitReport;

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
    /// [`WaitTimeout`] if some task submitted before the call was still pending when the
    /// timeout passed.
    fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitTimeout>;

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

/// Runs `task`, catching a panic; a panic's payload goes to `panics`.
///
/// The task is consumed (and so dropped) inside the guard, so a panicking destructor of a
/// captured value is caught too. The payload is kept, not dropped here, so a payload whose
/// own destructor panics cannot unwind the worker.
#[inline]
pub(crate) fn run_task(task: Task, panics: &PanicRecord) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task)) {
        panics.record(payload);
    }
}

/// Joins the pool's workers, or — when called on one of them (the pool dropped or shut down
/// from inside its own task) — detaches them all and returns 0: joining itself would fail, and
/// joining the others would wait forever, since they exit only once nothing is pending and the
/// calling task still is. Returns the number of workers joined.
pub(crate) fn join_workers(handles: Vec<crate::sync::thread::JoinHandle<()>>) -> usize {
    let me = crate::sync::thread::current().id();
    if handles.iter().any(|h| h.thread().id() == me) {
        // Detached: each worker drains the queue and exits when it finds the pool closed and
        // idle; the shared state lives on in their `Arc`s.
        drop(handles);
        return 0;
    }
    let mut joined = 0;
    for handle in handles {
        // A worker never panics: tasks run under `catch_unwind`.
        if handle.join().is_ok() {
            joined += 1;
        }
    }
    joined
}

/// The idle search both pools run before a worker sleeps: [`IDLE_SPINS`] rounds of a spin
/// hint, then [`IDLE_YIELDS`] rounds of yielding the CPU (one of each under a checker),
/// calling `look` after every round. Returns the first `Some` it gives, or `None`.
#[inline]
pub(crate) fn search_idle<R>(mut look: impl FnMut() -> Option<R>) -> Option<R> {
    let spins = crate::sync::hint::spin_limit(IDLE_SPINS);
    let rounds = spins + crate::sync::hint::spin_limit(IDLE_YIELDS);
    for round in 0..rounds {
        if round < spins {
            crate::sync::hint::spin_loop();
        } else {
            crate::sync::thread::yield_now();
        }
        if let Some(found) = look() {
            return Some(found);
        }
    }
    None
}

/// Starts `workers` threads, each running `worker_loop` on the pool's shared state.
pub(crate) fn spawn_workers<S: Send + Sync + 'static>(
    shared: &crate::sync::Arc<S>,
    workers: usize,
    worker_loop: fn(&S),
) -> Vec<crate::sync::thread::JoinHandle<()>> {
    (0..workers)
        .map(|_| {
            let shared = crate::sync::Arc::clone(shared);
            crate::sync::thread::spawn(move || worker_loop(&shared))
        })
        .collect()
}
