//! [`CondvarPool<F>`]: one queue under a lock family's mutex, three condition variables (the
//! design is described on the type), and its two instances.

use std::collections::VecDeque;
use std::marker::PhantomData;

use super::config::MAX_PENDING;
use super::hooks::Hooks;
use super::panics::{drop_payload, run_task, PanicRecord};
use super::state::MAX_SEARCHERS;
use super::workers::{join_workers, on_own_worker, search_idle, spawn_workers};
use super::{
    BuildError, PoolConfig, ShutdownReport, SubmitError, SubmitErrorKind, Task, ThreadPool,
    TrySubmitError, WaitError, WaitReport,
};
use crate::lock::LockFamily;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::time::Instant;
use crate::sync::{thread, Arc};
use core::time::Duration;

/// How many threads sleep on one condvar, and how many of those were already chosen to wake.
///
/// A notifier calls [`Sleepers::pick_one`] / [`Sleepers::pick_all`] under the mutex and
/// notifies only if it returns `true`; a sleeper calls [`Sleepers::begin`] before its condvar
/// wait and [`Sleepers::end`] after it, both under the mutex. `end` consumes one
/// notification if any is outstanding, else (a spurious wakeup) it leaves the `asleep` count
/// itself. The counts stay exact whichever thread consumes which notification.
#[derive(Debug, Default)]
struct Sleepers {
    /// Sleeping and not yet chosen to wake.
    asleep: usize,
    /// Chosen to wake but not yet back under the lock.
    notified: usize,
}

impl Sleepers {
    #[inline]
    fn begin(&mut self) {
        self.asleep += 1;
    }

    #[inline]
    fn end(&mut self) {
        if self.notified > 0 {
            self.notified -= 1;
        } else {
            self.asleep -= 1;
        }
    }

    /// Chooses one sleeper; `true` if the caller must `notify_one`.
    #[inline]
    fn pick_one(&mut self) -> bool {
        if self.asleep == 0 {
            return false;
        }
        self.asleep -= 1;
        self.notified += 1;
        true
    }

    /// Chooses every sleeper; `true` if the caller must `notify_all`.
    #[inline]
    fn pick_all(&mut self) -> bool {
        if self.asleep == 0 {
            return false;
        }
        self.notified += self.asleep;
        self.asleep = 0;
        true
    }
}

/// Everything under the mutex; see the state table on `CondvarPool`.
struct State {
    queue: VecDeque<Task>,
    pending: usize,
    idle_generation: u64,
    closed: bool,
    /// Workers spinning without the lock for a task to appear (at most `MAX_SEARCHERS`).
    searching: usize,
    workers: Sleepers,
    submitters: Sleepers,
    waiters: Sleepers,
}

struct Shared<F: LockFamily> {
    state: F::Mutex<State>,
    not_empty: F::Condvar,
    not_full: F::Condvar,
    idle: F::Condvar,
    capacity: usize,
    /// Blocked submitters are woken when the queue holds at most this many tasks.
    low_watermark: usize,
    /// The queue length, mirrored under the lock for searching workers to poll without it.
    queued_hint: AtomicUsize,
    /// Payloads of tasks that panicked since the last `wait` (and of unjoined spawned ones).
    panics: Arc<PanicRecord>,
}

/// A thread pool whose queue and bookkeeping sit under one mutex of the lock family `F`, with
/// condition variables "not empty", "not full" and "idle".
///
/// **What.** The seed's C++ pool, repaired: a `VecDeque` of tasks, the pending count, the
/// closed flag and the idle generation all live under *one* mutex (the seed kept the wait
/// predicate under a second mutex and raced on the queue), and three condition variables
/// carry the three kinds of sleep:
///
/// | condvar | who sleeps | predicate slept on | who notifies |
/// |---|---|---|---|
/// | `not_empty` | idle workers | queue empty and not closed | `submit` (one worker per task), `close` (all) |
/// | `not_full` | blocked submitters | queue full and not closed | a worker that brings the queue to the low watermark, `close` (all) |
/// | `idle` | `wait` callers | pending > 0 and the idle generation unchanged | the worker that brings pending to 0 (all) |
///
/// **Source.** The seed (`seed/shared-memory-ipc.txt`, "Thread Pool in C++"); the
/// wake-accounting is tokio's blocking pool (`tokio/src/runtime/blocking/pool.rs`, `num_notify`),
/// the "notify all on empty" rule threadpool's `join` (`threadpool` 1.8, `src/lib.rs`).
///
/// **State (all under the mutex).**
///
/// | field | meaning |
/// |---|---|
/// | `queue` | accepted tasks not yet started: at most `capacity` from submitters outside the pool; tasks submitted by the pool's own workers may go beyond it (module docs of [`crate::pool`]) |
/// | `pending` | accepted tasks not yet *finished* (queued + running); decremented after the task returns |
/// | `idle_generation` | bumped each time `pending` falls to 0, so a `wait` that began before returns even if new tasks arrive before it runs again |
/// | `closed` | set once by `close`; no task is accepted afterwards |
/// | `workers`, `submitters`, `waiters` | `Sleepers`: how many sleep on each condvar and how many were chosen to wake |
/// | `searching` | workers polling for a task without the lock (see below) |
///
/// Panic payloads go to the pool's panic record (its own mutex), recorded before the
/// task's `pending` decrement, so a `wait` that sees the decrement finds the payload.
///
/// **Why every wakeup is delivered.** Each sleeper checks its predicate and enters the condvar
/// wait under the mutex; each notifier changes the state under the same mutex and reads the
/// sleeper counts there. So a notifier either sees the sleeper counted (and notifies it, even
/// after unlocking: the sleeper is already inside the condvar wait) or the sleeper sees the new
/// state and does not sleep. A notify that hits no thread (the chosen sleeper woke spuriously
/// first) is harmless: every counted sleeper re-checks the state under the lock after waking.
///
/// **Avoiding syscalls.** std's condvar makes a `futex` syscall on every `notify_*`, waiter or
/// not, so notifiers notify only when a sleeper is counted and not already chosen: a submitter
/// facing busy workers makes no syscall at all. A worker that finds the queue empty first
/// *searches* once: it leaves the lock, polls `queued_hint` (a Relaxed mirror of the queue
/// length) for a bounded number of spins and yields, and re-checks under the lock; while one
/// worker searches (at most `MAX_SEARCHERS`), submitters wake nobody, and a worker that pops
/// while more tasks wait and nobody searches wakes a peer. Blocked submitters are woken only
/// once the queue has drained to half its capacity (the low watermark), so a fast submitter
/// refills it in one go instead of sleeping after every task.
///
/// **Progress.** Blocking: every operation takes the mutex. The search is bounded
/// (`IDLE_SPINS` spins and `IDLE_YIELDS`
/// yields), then the worker sleeps.
///
/// ```
/// use synclab::pool::{CondvarPool, ThreadPool};
/// use synclab::lock::StdFamily;
///
/// let pool = CondvarPool::<StdFamily>::with_workers(2).unwrap();
/// pool.execute(|| println!("hello from a worker")).unwrap();
/// assert_eq!(pool.wait().unwrap().panicked, 0);
/// ```
pub struct CondvarPool<F: LockFamily> {
    shared: Arc<Shared<F>>,
    handles: Vec<thread::JoinHandle<()>>,
    workers: usize,
    _family: PhantomData<F>,
}

impl<F: LockFamily> CondvarPool<F> {
    /// `wait`, giving up at `deadline` (if any).
    fn wait_until(&self, deadline: Option<Instant>) -> Result<WaitReport, WaitError> {
        // A task of this pool would wait for itself (module docs of `crate::pool`).
        if on_own_worker(&self.handles) {
            return Err(WaitError::InsideTask);
        }
        let mut state = F::lock(&self.shared.state);
        let generation = state.idle_generation;
        while state.pending > 0 && state.idle_generation == generation {
            state.waiters.begin();
            let (guard, timed_out) = F::wait_until(&self.shared.idle, state, deadline);
            state = guard;
            // A timed-out sleeper (or one whose deadline had passed, which never slept) leaves
            // like a spurious one: `Sleepers` keeps its counts exact either way.
            state.waiters.end();
            if timed_out && state.pending > 0 && state.idle_generation == generation {
                return Err(WaitError::TimedOut);
            }
        }
        drop(state);
        // The payloads were recorded before the decrements that the lock ordered before us.
        Ok(WaitReport::of(self.shared.panics.take()))
    }

    fn stop(&mut self) -> ShutdownReport {
        self.close();
        let workers = join_workers(std::mem::take(&mut self.handles));
        ShutdownReport::of(self.shared.panics.take(), workers)
    }
}

impl<F: LockFamily> Shared<F> {
    /// Queues `task` under the lock if there is room; hands it back otherwise.
    #[inline]
    fn push_locked(&self, state: F::Guard<'_, State>, task: Task) -> Result<(), Task> {
        if state.queue.len() >= self.capacity {
            return Err(task);
        }
        self.enqueue(state, task);
        Ok(())
    }

    /// A task from one of the pool's own workers, with the queue full: queued beyond the
    /// capacity (a worker that waited for room would wait for itself), unless the pool holds
    /// `MAX_PENDING` tasks or the queue cannot grow.
    #[cold]
    fn push_beyond_capacity(
        &self,
        mut state: F::Guard<'_, State>,
        task: Task,
    ) -> Result<(), SubmitError> {
        if state.pending >= MAX_PENDING || state.queue.try_reserve(1).is_err() {
            return Err(SubmitError::new(SubmitErrorKind::Overflow, task));
        }
        self.enqueue(state, task);
        Ok(())
    }

    /// Appends `task` (room is known to be there) and wakes a worker if one must be.
    #[inline]
    fn enqueue(&self, mut state: F::Guard<'_, State>, task: Task) {
        state.queue.push_back(task);
        state.pending += 1;
        self.publish_len(&state);
        // A searching worker re-checks the queue under the lock when it stops spinning, so
        // it will find this task: wake a sleeper only if nobody searches.
        let wake = state.searching == 0 && state.workers.pick_one();
        drop(state);
        if wake {
            F::notify_one(&self.not_empty);
        }
    }

    /// Mirrors the queue length into `queued_hint` for searching workers. Called under the
    /// lock after every change of the queue.
    #[inline]
    fn publish_len(&self, state: &State) {
        // Relaxed: a hint that only ends a spin early; the searcher re-checks under the lock.
        self.queued_hint.store(state.queue.len(), Ordering::Relaxed);
    }

    fn worker_loop(&self, _: ()) {
        let mut state = F::lock(&self.state);
        // Whether this worker has searched since it last ran a task: it searches once, then
        // sleeps.
        let mut searched = false;
        loop {
            if let Some(task) = state.queue.pop_front() {
                searched = false;
                self.publish_len(&state);
                let wake_submitter =
                    state.queue.len() <= self.low_watermark && state.submitters.pick_one();
                // More tasks queued and nobody searching: wake a peer (submitters skipped
                // their wake-ups while this worker was searching).
                let wake_peer =
                    !state.queue.is_empty() && state.searching == 0 && state.workers.pick_one();
                drop(state);
                if wake_submitter {
                    F::notify_one(&self.not_full);
                }
                if wake_peer {
                    F::notify_one(&self.not_empty);
                }
                run_task(task, &self.panics);
                state = F::lock(&self.state);
                // Decremented only now, after the task returned: `wait` means finished.
                state.pending -= 1;
                if state.pending == 0 {
                    state.idle_generation = state.idle_generation.wrapping_add(1);
                    if state.waiters.pick_all() {
                        F::notify_all(&self.idle);
                    }
                }
                continue;
            }
            if state.closed {
                return; // closed and drained
            }
            if !searched && state.searching < MAX_SEARCHERS {
                searched = true;
                state.searching += 1;
                drop(state);
                self.search();
                state = F::lock(&self.state);
                state.searching -= 1;
                continue; // re-check under the lock
            }
            state.workers.begin();
            state = F::wait(&self.not_empty, state);
            state.workers.end();
            searched = false;
        }
    }

    /// Spins (then yields) without the lock until `queued_hint` shows a task, a bounded
    /// number of times; the caller re-checks under the lock.
    fn search(&self) {
        // Relaxed: see `publish_len`.
        search_idle(|| (self.queued_hint.load(Ordering::Relaxed) != 0).then_some(()));
    }
}

impl<F: LockFamily> ThreadPool for CondvarPool<F> {
    fn build(config: PoolConfig) -> Result<Self, BuildError> {
        let (workers, capacity) = config.validate()?;
        // The whole queue is reserved now, fallibly: a submit within the capacity never
        // allocates (only tasks submitted by tasks beyond it do, with `try_reserve`).
        let mut queue = VecDeque::new();
        queue
            .try_reserve_exact(capacity)
            .map_err(|_| BuildError::AllocationFailed {
                requested: capacity,
                bytes: capacity.saturating_mul(core::mem::size_of::<Task>()),
            })?;
        let shared = Arc::new(Shared::<F> {
            state: F::mutex(State {
                queue,
                pending: 0,
                idle_generation: 0,
                closed: false,
                searching: 0,
                workers: Sleepers::default(),
                submitters: Sleepers::default(),
                waiters: Sleepers::default(),
            }),
            not_empty: F::condvar(),
            not_full: F::condvar(),
            idle: F::condvar(),
            capacity,
            low_watermark: capacity / 2,
            queued_hint: AtomicUsize::new(0),
            panics: Arc::new(PanicRecord::new()),
        });
        let handles = spawn_workers(&shared, vec![(); workers], Shared::<F>::worker_loop);
        Ok(Self {
            shared,
            handles,
            workers,
            _family: PhantomData,
        })
    }

    fn submit(&self, task: Task) -> Result<(), SubmitError> {
        let shared = &*self.shared;
        let mut state = F::lock(&shared.state);
        loop {
            if state.closed {
                return Err(SubmitError::closed(task));
            }
            if state.queue.len() < shared.capacity {
                shared.enqueue(state, task);
                return Ok(());
            }
            if on_own_worker(&self.handles) {
                return shared.push_beyond_capacity(state, task);
            }
            state.submitters.begin();
            state = F::wait(&shared.not_full, state);
            state.submitters.end();
            // Loop: re-check closed and room (another submitter may have taken the slot).
        }
    }

    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError> {
        let state = F::lock(&self.shared.state);
        if state.closed {
            return Err(TrySubmitError::closed(task));
        }
        self.shared
            .push_locked(state, task)
            .map_err(TrySubmitError::full)
    }

    fn wait(&self) -> Result<WaitReport, WaitError> {
        self.wait_until(None)
    }

    fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitError> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    fn close(&self) {
        let mut state = F::lock(&self.shared.state);
        if state.closed {
            return;
        }
        state.closed = true;
        let wake_workers = state.workers.pick_all();
        let wake_submitters = state.submitters.pick_all();
        drop(state);
        if wake_workers {
            F::notify_all(&self.shared.not_empty);
        }
        if wake_submitters {
            F::notify_all(&self.shared.not_full);
        }
    }

    fn shutdown(mut self) -> ShutdownReport {
        self.stop()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn capacity(&self) -> usize {
        self.shared.capacity
    }
}

impl<F: LockFamily> Hooks for CondvarPool<F> {
    fn panics(&self) -> &Arc<PanicRecord> {
        &self.shared.panics
    }
}

impl<F: LockFamily> Drop for CondvarPool<F> {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            // Nobody takes this report: its payloads are dropped under a guard, since a
            // payload's own `Drop` may panic (and this thread may already be unwinding).
            let report = self.stop();
            report.payloads.into_iter().for_each(drop_payload);
        }
    }
}

impl<F: LockFamily> core::fmt::Debug for CondvarPool<F> {
    /// Shows the configuration only: the state is behind the mutex.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CondvarPool")
            .field("family", &F::NAME)
            .field("workers", &self.workers)
            .field("capacity", &self.shared.capacity)
            .finish_non_exhaustive()
    }
}

/// [`CondvarPool`] over std's `Mutex` + `Condvar`.
pub type StdCondvarPool = CondvarPool<crate::lock::StdFamily>;

/// [`CondvarPool`] over synclab's futex mutex and condvar.
pub type FutexCondvarPool = CondvarPool<crate::lock::FutexFamily>;
