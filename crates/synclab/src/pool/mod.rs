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
//! * **Bounded queue.** A pool is built with a worker count (≥ 1) and a queue capacity
//!   (≥ 1, default [`DEFAULT_CAPACITY`]; the CLI demo passes the seed's bound), like the seed's `Queue(num_threads)`.
//!   [`ThreadPool::submit`] waits while the queue is full (except on one of the pool's own
//!   workers: see below); [`ThreadPool::try_submit`] hands the task back instead.
//! * **`wait` means finished.** [`ThreadPool::wait`] returns only when every task submitted
//!   before the call has *finished running*: a pending count is incremented when a task is
//!   accepted and decremented after the task *returns* — not when it is dequeued (the seed's
//!   C++ bug). Every thread waiting at that moment is woken (the seed woke one). It reports how
//!   many tasks panicked since the last `wait`.
//! * **Panics are caught.** A panicking task is caught on its worker (`catch_unwind`); the
//!   worker lives on and the panic is counted (the seed's Python pool lost the worker and hung).
//!   The panic's payload is kept, not dropped on the worker — its own `Drop` may panic
//!   (`panic_any(Bomb)`), which killed the worker before issue 13 — and handed to whoever
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
//!     pool holding [`MAX_PENDING`] tasks, or cannot allocate room for one more, gets the task
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

use core::fmt;
use core::time::Duration;

/// What the pools on `PoolState` (`LockFreePool`, `WorkStealingPool`) share word for word, in
/// one place: the `ThreadPool` methods that only delegate (`trait_methods`), and `stop` plus
/// the `Drop` that runs it and `Debug` (`stop_and_drop`). A pool using them has the fields
/// `shared` (with a `state: PoolState`), `handles` and `workers`, and a `wait_until` of its own
/// (how a pool recognises a call from one of its tasks differs).
macro_rules! state_pool_common {
    (trait_methods) => {
        fn wait(&self) -> Result<WaitReport, WaitError> {
            self.wait_until(None)
        }

        fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitError> {
            self.wait_until(Instant::now().checked_add(timeout))
        }

        fn shutdown(mut self) -> ShutdownReport {
            self.stop()
        }

        fn workers(&self) -> usize {
            self.workers
        }

        fn panics(&self) -> &Arc<PanicRecord> {
            self.shared.state.panics()
        }
    };
    (stop_and_drop $pool:ty) => {
        impl $pool {
            fn stop(&mut self) -> ShutdownReport {
                self.close();
                let workers = join_workers(std::mem::take(&mut self.handles));
                // The joins above ordered every worker's records before this (when detached,
                // the payloads recorded later go to nobody's report: the pool is gone).
                ShutdownReport::of(self.shared.state.take_payloads(), workers)
            }
        }

        impl Drop for $pool {
            fn drop(&mut self) {
                if !self.handles.is_empty() {
                    // Nobody takes this report: its payloads are dropped under a guard, since
                    // a payload's own `Drop` may panic (and this thread may already be
                    // unwinding).
                    let report = self.stop();
                    report.payloads.into_iter().for_each(super::drop_payload);
                }
            }
        }

        impl core::fmt::Debug for $pool {
            /// Shows the configuration only: the state is under concurrent mutation.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($pool))
                    .field("workers", &self.workers)
                    .field("capacity", &ThreadPool::capacity(self))
                    .finish_non_exhaustive()
            }
        }
    };
}

pub mod condvar_pool;
mod injector;
pub mod install;
pub mod join;
pub mod lock_free;
pub mod panics;
pub mod scope;
mod state;
pub mod work_stealing;

pub use condvar_pool::CondvarPool;
pub use install::InstallError;
pub use join::{JoinHandle, ScopedJoinHandle, TaskDropped};
pub use lock_free::LockFreePool;
pub use panics::{panic_message, PanicPayload, PanicRecord};
pub use scope::Scope;
pub(crate) use state::{IDLE_SPINS, IDLE_YIELDS, MAX_SEARCHERS};
pub use work_stealing::WorkStealingPool;

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
#[non_exhaustive]
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

    /// Checks the configuration: `(workers, capacity)` or the reason it is invalid. Every
    /// pool applies the same limits: at least 1 worker, a capacity from 1 to
    /// [`MAX_CAPACITY`](crate::queue::MAX_CAPACITY).
    pub fn validate(&self) -> Result<(usize, usize), BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        let capacity = self.capacity.unwrap_or(DEFAULT_CAPACITY);
        crate::queue::CapacityError::check(capacity).map_err(BuildError::from)?;
        Ok((self.workers, capacity))
    }
}

/// Why a pool could not be built.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// `workers` was 0: a pool with no worker would never run a task.
    ZeroWorkers,
    /// `capacity` was 0: no task could ever be queued.
    ZeroCapacity,
    /// `capacity` is more than [`MAX_CAPACITY`](crate::queue::MAX_CAPACITY).
    CapacityTooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity supported.
        max: usize,
    },
    /// The queue for `capacity` tasks could not be allocated.
    AllocationFailed {
        /// The capacity asked for.
        requested: usize,
        /// The bytes the queue needs (saturated at `usize::MAX`).
        bytes: usize,
    },
}

impl From<crate::queue::CapacityError> for BuildError {
    fn from(e: crate::queue::CapacityError) -> Self {
        use crate::queue::CapacityError;
        match e {
            CapacityError::Zero => BuildError::ZeroCapacity,
            CapacityError::TooLarge { requested, max } => {
                BuildError::CapacityTooLarge { requested, max }
            }
            CapacityError::AllocationFailed { requested, bytes } => {
                BuildError::AllocationFailed { requested, bytes }
            }
        }
    }
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
            BuildError::AllocationFailed { requested, bytes } => write!(
                f,
                "a thread pool's queue of capacity = {requested} needs {bytes} bytes, which \
                 could not be allocated"
            ),
        }
    }
}

impl std::error::Error for BuildError {}

/// The most tasks a pool holds at once — queued, in the overflow of tasks submitted by its own
/// workers (see "Called from inside one of its own tasks" in the module docs), or running. A
/// submit from a worker that would go past it is refused with [`SubmitErrorKind::Overflow`].
/// (Submitters outside the pool never reach it: they wait while the queue is full.)
pub const MAX_PENDING: usize = crate::queue::MAX_CAPACITY;

/// A task a pool did not accept, handed back unrun.
///
/// `Send + Sync` although a [`Task`] (a boxed `FnOnce() + Send`) is not `Sync`: nothing can
/// reach the task through a shared reference — the only way to it is
/// [`into_task`](Self::into_task), which takes `self` — so a `&RejectedTask` shared between
/// threads shares nothing (the argument of `std::sync::Exclusive` and the `sync_wrapper`
/// crate). That is what lets the pool's error types be `Sync`, as `?` into
/// `Box<dyn Error + Send + Sync>` requires.
pub struct RejectedTask(Task);

// SAFETY: see the type docs — no method takes `&self` and touches the task (Debug prints a
// placeholder), so `&RejectedTask` gives no access to the `Task`, and sending the task itself
// is allowed (`Task: Send`). Sharing a reference therefore cannot share the non-`Sync` task.
unsafe impl Sync for RejectedTask {}

impl RejectedTask {
    /// The task, to run elsewhere or drop.
    pub fn into_task(self) -> Task {
        self.0
    }
}

impl fmt::Debug for RejectedTask {
    /// Prints a placeholder: the task is opaque (and is not touched through `&self`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<task>")
    }
}

/// Why [`ThreadPool::submit`] did not accept a task.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitErrorKind {
    /// The pool is closed.
    Closed,
    /// A task submitted from one of the pool's own workers found the queue full and could not
    /// be kept beyond it: the pool already holds [`MAX_PENDING`] tasks, or memory for one more
    /// could not be allocated.
    Overflow,
}

/// [`ThreadPool::submit`] failed (see [`kind`](Self::kind)). The task is handed back, not run.
#[derive(Debug)]
pub struct SubmitError {
    kind: SubmitErrorKind,
    task: RejectedTask,
}

impl SubmitError {
    pub(crate) fn new(kind: SubmitErrorKind, task: Task) -> Self {
        Self {
            kind,
            task: RejectedTask(task),
        }
    }

    pub(crate) fn closed(task: Task) -> Self {
        Self::new(SubmitErrorKind::Closed, task)
    }

    /// Why the task was not accepted.
    pub fn kind(&self) -> SubmitErrorKind {
        self.kind
    }

    /// Whether the pool was closed.
    pub fn is_closed(&self) -> bool {
        self.kind == SubmitErrorKind::Closed
    }

    /// The task that was not accepted.
    pub fn into_task(self) -> Task {
        self.task.into_task()
    }
}

impl fmt::Display for SubmitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            SubmitErrorKind::Closed => {
                f.write_str("the pool is shut down: the task was handed back, not run")
            }
            SubmitErrorKind::Overflow => write!(
                f,
                "a task submitted from one of the pool's workers found the queue full and the \
                 pool could not keep it beyond the queue (at most {MAX_PENDING} tasks, or out \
                 of memory): the task was handed back, not run"
            ),
        }
    }
}

impl std::error::Error for SubmitError {}

/// [`ThreadPool::try_submit`] failed. The task is handed back, not run.
#[non_exhaustive]
#[derive(Debug)]
pub enum TrySubmitError {
    /// The queue was full (holding `capacity` tasks).
    Full(RejectedTask),
    /// The pool is closed.
    Closed(RejectedTask),
}

impl TrySubmitError {
    /// The task that was not accepted.
    pub fn into_task(self) -> Task {
        match self {
            TrySubmitError::Full(task) | TrySubmitError::Closed(task) => task.into_task(),
        }
    }

    /// Whether the pool was closed (rather than full).
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySubmitError::Closed(_))
    }

    pub(crate) fn full(task: Task) -> Self {
        TrySubmitError::Full(RejectedTask(task))
    }

    pub(crate) fn closed(task: Task) -> Self {
        TrySubmitError::Closed(RejectedTask(task))
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

/// Why [`ThreadPool::wait`] did not wait.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitError {
    /// `wait` was called from inside one of the pool's own tasks. That task is itself pending,
    /// so waiting until nothing is pending would wait for itself forever (see "Called from
    /// inside one of its own tasks" in the module docs).
    InsideTask,
    /// [`ThreadPool::wait_timeout`] gave up: a task submitted before the call had not
    /// finished when the timeout passed. The panics not yet reported stay for the next `wait`.
    TimedOut,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::InsideTask => f.write_str(
                "wait was called from inside one of the pool's own tasks, which would wait \
                 for itself: refused",
            ),
            WaitError::TimedOut => f.write_str("timed out waiting for the pool's tasks to finish"),
        }
    }
}

impl std::error::Error for WaitError {}

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

/// What [`ThreadPool::shutdown`] observed.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Tasks that panicked and were not yet reported by a `wait` (`payloads.len()`).
    pub panicked: usize,
    /// Their panic payloads, oldest first.
    pub payloads: Vec<PanicPayload>,
    /// Workers joined (0 when the pool was shut down from inside its own task: the workers
    /// are detached then, see the module docs).
    pub workers_joined: usize,
    /// Workers that had died — ended by unwinding instead of returning. Always 0 unless
    /// synclab has a bug: a task's panic is caught on the worker, and its payload is kept,
    /// not dropped there. Reported so that such a bug shows instead of hiding behind a smaller
    /// `workers_joined`.
    pub workers_lost: usize,
}

impl ShutdownReport {
    /// The report of `payloads` and of joining the workers.
    pub(crate) fn of(payloads: Vec<PanicPayload>, workers: Joined) -> Self {
        Self {
            panicked: payloads.len(),
            payloads,
            workers_joined: workers.joined,
            workers_lost: workers.lost,
        }
    }
}

/// A borrowing closure as a `'static` [`Task`]: only its lifetime changes. The one place the
/// pools' borrowing paths ([`ThreadPool::submit_borrowed`], a scope's queued jobs,
/// [`install`]) erase a lifetime.
///
/// # Safety
///
/// Everything the closure borrows must stay valid until it has been run or dropped.
pub(crate) unsafe fn erase_lifetime<'a>(task: Box<dyn FnOnce() + Send + 'a>) -> Task {
    // SAFETY: the box's layout does not depend on the lifetime; the caller keeps the borrows
    // valid for as long as the task exists (this fn's contract).
    unsafe { core::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Task>(task) }
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
    /// gained by moving the caller's work onto a worker. [`WorkStealingPool`] overrides it
    /// (see [`install`](install) for the hand-off and its soundness argument), as rayon's
    /// `ThreadPool::install` does.
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

    /// Submits `f`, which may borrow: the lifetime-erased form of
    /// [`submit`](ThreadPool::submit) that [`Scope::spawn`] uses for its direct spawns. The
    /// default boxes `f`, erases the box's lifetime and submits it; a pool that stores
    /// closures in task blocks of its own ([`WorkStealingPool`]) overrides it to skip the box.
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
    #[doc(hidden)]
    unsafe fn submit_borrowed<'a, F: FnOnce() + Send + 'a>(&self, f: F) -> Result<(), SubmitError> {
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
    /// pool directly and runs the pool's tasks while it waits (see [`Scope`]).
    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool {
        let _ = busy;
        false
    }

    /// The record of panic payloads that no [`JoinHandle`] took, which
    /// [`wait`](ThreadPool::wait) and [`shutdown`](ThreadPool::shutdown) report. Every pool
    /// keeps one and records into it every payload its workers catch; the handles of
    /// [`spawn`](ThreadPool::spawn) report to it when dropped unjoined.
    fn panics(&self) -> &crate::sync::Arc<PanicRecord>;

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

/// Runs `task`, catching a panic; a panic's payload goes to `panics`.
///
/// The task is consumed (and so dropped) inside the guard, so a panicking destructor of a
/// captured value is caught too. The payload is kept, not dropped here — it goes to whoever
/// takes it (a `JoinHandle`, a `wait`, a `shutdown`), as `std::thread::JoinHandle::join`
/// hands it to the joiner — so a payload whose own `Drop` panics (`panic_any(Bomb)`) cannot
/// unwind the worker (before issue 13 the pool dropped it here, outside the guard, and the
/// worker died). The payloads the pool drops itself go through [`drop_payload`].
#[inline]
pub(crate) fn run_task(task: impl FnOnce(), panics: &PanicRecord) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task)) {
        panics.record(payload);
    }
}

/// Drops a panic payload under a guard, for the payloads the pool drops itself (those left
/// in a pool that is dropped without `shutdown`, the ones a scope does not re-raise). If its
/// `Drop` panics, the *second* payload is forgotten (leaked) rather than dropped: it may panic
/// again, and a chain of payloads that each panic with another one (`ChainBomb` in the tests)
/// would otherwise never end. std's own threads abort the process here; a pool must not.
#[cold]
pub(crate) fn drop_payload(payload: PanicPayload) {
    if let Err(again) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        drop(payload);
    })) {
        core::mem::forget(again);
    }
}

/// What joining the workers found: how many were joined, and how many had ended by
/// unwinding instead of returning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Joined {
    pub(crate) joined: usize,
    pub(crate) lost: usize,
}

/// Joins the pool's workers, or — when called on one of them (the pool dropped or shut down
/// from inside its own task) — detaches them all and returns 0: joining itself would fail, and
/// joining the others would wait forever, since they exit only once nothing is pending and the
/// calling task still is.
///
/// A worker never unwinds on its own account (tasks and their payloads run under
/// `catch_unwind`, see [`run_task`]); one that did anyway — a bug in synclab — is counted in
/// `lost`, so that [`ShutdownReport::workers_lost`] shows it rather than hiding it.
pub(crate) fn join_workers(handles: Vec<crate::sync::thread::JoinHandle<()>>) -> Joined {
    if on_own_worker(&handles) {
        // Detached: each worker drains the queue and exits when it finds the pool closed and
        // idle; the shared state lives on in their `Arc`s.
        drop(handles);
        return Joined::default();
    }
    let mut outcome = Joined::default();
    for handle in handles {
        match handle.join() {
            Ok(()) => outcome.joined += 1,
            Err(payload) => {
                outcome.lost += 1;
                drop_payload(payload);
            }
        }
    }
    outcome
}

/// The idle search every pool runs before a worker sleeps, on the one spin schedule,
/// [`Backoff`](crate::sync::hint::Backoff): `IDLE_SPINS` rounds of one spin hint, then
/// `IDLE_YIELDS` rounds of yielding the CPU, calling `look` after every round. Returns the
/// first `Some` it gives, or `None`.
///
/// Under a checker a bounded schedule has no rounds, and the one `snooze` made before the
/// first look is a yield: the search is one yield and one look. The yield is a free switch
/// point the pool models rely on — a submitter can run while a worker is counted as
/// searching without spending the preemption bound, which is how `dependent_tasks` reaches
/// the searcher hand-off race at bound 1 — and the single look keeps the state space small
/// (before `Backoff`, the search made two rounds there).
#[inline]
pub(crate) fn search_idle<R>(mut look: impl FnMut() -> Option<R>) -> Option<R> {
    let mut backoff = crate::sync::hint::Backoff::new(IDLE_SPINS, IDLE_YIELDS).with_max_shift(0);
    loop {
        backoff.snooze();
        if let Some(found) = look() {
            return Some(found);
        }
        if backoff.is_completed() {
            return None;
        }
    }
}

/// Whether the calling thread is one of `handles`' workers: a task of this very pool.
///
/// O(workers), so the pools ask only on slow paths (a full queue, a `wait`).
pub(crate) fn on_own_worker(handles: &[crate::sync::thread::JoinHandle<()>]) -> bool {
    let me = crate::sync::thread::current().id();
    handles.iter().any(|h| h.thread().id() == me)
}

/// Starts one thread per item of `locals`, each running `worker_loop` on the pool's shared
/// state and its own item (a worker's private state, such as its end of a deque).
pub(crate) fn spawn_workers<S: Send + Sync + 'static, L: Send + 'static>(
    shared: &crate::sync::Arc<S>,
    locals: Vec<L>,
    worker_loop: fn(&S, L),
) -> Vec<crate::sync::thread::JoinHandle<()>> {
    locals
        .into_iter()
        .map(|local| {
            let shared = crate::sync::Arc::clone(shared);
            crate::sync::thread::spawn(move || worker_loop(&shared, local))
        })
        .collect()
}

#[cfg(all(test, synclab_plain))]
mod tests {
    use super::*;

    /// `join_workers` counts a worker that ended by unwinding as lost, not joined — even one
    /// whose payload panics when dropped.
    #[test]
    fn join_workers_counts_a_worker_that_died() {
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("synclab-test: a payload that panics on drop");
            }
        }
        let handles = vec![
            std::thread::spawn(|| ()),
            std::thread::spawn(|| std::panic::panic_any(Bomb)),
            std::thread::spawn(|| panic!("synclab-test: a worker that dies")),
        ];
        assert_eq!(join_workers(handles), Joined { joined: 1, lost: 2 });
    }

    /// `drop_payload` survives a payload whose drop panics, and a chain of them; `run_task`
    /// keeps the payload instead of dropping it.
    #[test]
    fn payloads_that_panic_on_drop_are_kept_or_dropped_under_a_guard() {
        struct ChainBomb(u32);
        impl Drop for ChainBomb {
            fn drop(&mut self) {
                if self.0 > 0 {
                    std::panic::panic_any(ChainBomb(self.0 - 1));
                }
            }
        }
        let record = PanicRecord::new();
        run_task(Box::new(|| std::panic::panic_any(ChainBomb(5))), &record);
        run_task(Box::new(|| ()), &record);
        let payloads = record.take();
        assert_eq!(payloads.len(), 1);
        for payload in payloads {
            drop_payload(payload);
        }
    }
}
