//! What the pools report: why a pool could not be built, why a task or a closure was not
//! accepted, why `wait` did not wait — and what `wait` and `shutdown` observed.

use core::fmt;

use super::config::MAX_PENDING;
use super::panics::PanicPayload;
use super::workers::Joined;
use super::Task;
#[cfg(doc)]
use super::{panic_message, JoinHandle, ThreadPool};

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
    /// be kept beyond it: the pool already holds
    /// [`MAX_CAPACITY`](crate::queue::MAX_CAPACITY) tasks, or memory for one more could not be
    /// allocated.
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
    /// inside one of its own tasks" in [`crate::pool`]).
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

/// Why [`ThreadPool::install`] did not run its closure. The closure was dropped unrun.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// The pool is closed: it refused the closure (or, having accepted it, dropped it unrun).
    Closed,
}

impl fmt::Display for InstallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstallError::Closed => {
                f.write_str("the pool is shut down: the closure was dropped, not run")
            }
        }
    }
}

impl std::error::Error for InstallError {}

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
    /// are detached then, see [`crate::pool`]).
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
