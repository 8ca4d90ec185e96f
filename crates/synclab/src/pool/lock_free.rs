//! [`LockFreePool`]: the lock-free array queue, one state word, and three event counts (the
//! design is described on the type).

use super::hooks::Hooks;
use super::injector::Injector;
use super::panics::{run_task, PanicRecord};
use super::state::{PoolState, Slept};
use super::workers::{on_own_worker, spawn_workers};
use super::{
    BuildError, PoolConfig, ShutdownReport, SubmitError, Task, ThreadPool, TrySubmitError,
    WaitError, WaitReport,
};
use crate::sync::time::Instant;
use crate::sync::{thread, Arc};
use core::time::Duration;

struct Shared {
    queue: Injector<Task>,
    state: PoolState,
}

/// A thread pool over the lock-free [`ArrayQueue`](crate::queue::ArrayQueue), parking idle
/// threads on event counts.
///
/// **What.** Tasks travel through an [`ArrayQueue`](crate::queue::ArrayQueue) (Vyukov's bounded
/// MPMC queue); the pool's bookkeeping is one 64-bit word (pending count, closed flag, idle
/// generation); threads that have nothing to do sleep on
/// [`EventCount`](crate::queue::EventCount)s — futex words — and are woken only when someone
/// registered:
///
/// | event count | who sleeps | condition re-checked after `prepare_wait` | notified by |
/// |---|---|---|---|
/// | `work` | idle workers (after one bounded search) | a task can be popped, or closed with nothing pending | `submit` after a push if no worker is searching; the last searcher that finds work while more is queued; the last task of a closed pool |
/// | `space` | submitters facing a full queue (counted in `blocked`) | a push succeeds, or closed | a worker whose pop leaves the queue at most half full while someone is blocked; `close` |
/// | `idle` | `wait` callers | pending is 0, or the idle generation moved | the task that brings pending to 0 |
///
/// **Staying out of the kernel.** A submitter pays a fence and a load per task and makes a
/// syscall only when no worker is *searching* (see `search`: at most `MAX_SEARCHERS` idle
/// workers poll the queue for `IDLE_SPINS` spins and `IDLE_YIELDS` yields before they
/// sleep). A worker pays a fence and a load per pop and wakes blocked submitters only at the
/// low watermark (half the capacity), so a submitter facing a full queue sleeps once per
/// half-queue rather than once per task.
///
/// **Source.** The event-count protocol is Vyukov's ("Eventcounts", 1024cores.net) as folly and
/// Eigen's `NonBlockingThreadPool` use it to park workers; the queue is
/// [`ArrayQueue`](crate::queue::ArrayQueue); spinning briefly before parking is what rayon's
/// sleep module and Go's scheduler do to keep a busy pool out of the kernel.
///
/// **Bookkeeping.** The pending count, the closed flag, `wait`'s idle generation, the
/// `work`/`idle` event counts and the searcher hand-off are `PoolState`'s (`pool/state.rs`,
/// shared with [`WorkStealingPool`](crate::pool::WorkStealingPool)), and the queue with its
/// sleeping submitters is `Injector`'s (`pool/injector.rs`); each file documents its state
/// word, orderings and partners — including the overflow where a task's submit goes when the
/// queue is full (a worker never waits for room: the contract in [`crate::pool`]).
/// `pool/lock_free.rs` is the worker loop and the trait.
///
/// **Progress.** `submit` and a worker's pop are lock-free in the queue's sense (see
/// `ArrayQueue`: a thread stalled between its CAS and its stamp store can hold up its slot);
/// sleeping is blocking by design. An idle worker searches at most `IDLE_SPINS` +
/// `IDLE_YIELDS` rounds (each a few loads) and then sleeps on a futex; it never spins
/// without bound.
///
/// ```
/// use synclab::pool::{LockFreePool, ThreadPool};
///
/// let pool = LockFreePool::with_workers(2).unwrap();
/// for i in 0..10 {
///     pool.execute(move || assert!(i < 10)).unwrap();
/// }
/// assert_eq!(pool.wait().unwrap().panicked, 0);
/// ```
pub struct LockFreePool {
    shared: Arc<Shared>,
    handles: Vec<thread::JoinHandle<()>>,
    workers: usize,
}

impl Shared {
    fn worker_loop(&self, _: ()) {
        let state = &self.state;
        // Whether this worker has just been woken: if it finds work at once, it passes the
        // wake-up on while more is queued, so a burst of tasks spreads over the sleepers.
        let mut woken = false;
        loop {
            let task = match self.queue.pop() {
                Some(task) => {
                    if woken && !self.queue.is_empty() {
                        state.pass_wake_on();
                    }
                    task
                }
                None => match state.search_then_sleep(
                    || {
                        if self.queue.is_empty() {
                            None
                        } else {
                            self.queue.pop()
                        }
                    },
                    || self.queue.pop(),
                    // Relaxed loads: after `search`'s fence, or `prepare_wait`'s.
                    || !self.queue.looks_empty(),
                ) {
                    Slept::Found(task) => task,
                    Slept::Woken => {
                        woken = true;
                        continue;
                    }
                    Slept::Exit => return,
                },
            };
            woken = false;
            run_task(task, state.panics());
            state.finish_one();
        }
    }
}

impl ThreadPool for LockFreePool {
    fn build(config: PoolConfig) -> Result<Self, BuildError> {
        let (workers, capacity) = config.validate()?;
        let shared = Arc::new(Shared {
            queue: Injector::new(capacity)?,
            state: PoolState::new(),
        });
        let handles = spawn_workers(&shared, vec![(); workers], Shared::worker_loop);
        Ok(Self {
            shared,
            handles,
            workers,
        })
    }

    #[inline]
    fn submit(&self, task: Task) -> Result<(), SubmitError> {
        let shared = &*self.shared;
        if !shared.state.admit() {
            return Err(SubmitError::closed(task));
        }
        match shared.queue.try_push(&shared.state, task) {
            Ok(()) => Ok(()),
            // A task of this pool may not wait for room (it would wait for itself). Asked only
            // on this slow path: `on_own_worker` is O(workers).
            Err(task) if on_own_worker(&self.handles) => shared
                .queue
                .push_overflow(&shared.state, task)
                .map_err(|(task, kind)| SubmitError::new(kind, task)),
            Err(task) => shared
                .queue
                .push_blocking(&shared.state, task)
                .map_err(SubmitError::closed),
        }
    }

    #[inline]
    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError> {
        let shared = &*self.shared;
        if !shared.state.admit() {
            return Err(TrySubmitError::closed(task));
        }
        shared.queue.try_push(&shared.state, task).map_err(|task| {
            shared.state.finish_one();
            TrySubmitError::full(task)
        })
    }

    fn close(&self) {
        if self.shared.state.close() {
            self.shared.queue.close();
        }
    }

    fn capacity(&self) -> usize {
        self.shared.queue.capacity()
    }

    state_pool_common!(trait_methods);
}

impl Hooks for LockFreePool {
    fn panics(&self) -> &Arc<PanicRecord> {
        self.shared.state.panics()
    }
}

impl LockFreePool {
    /// `wait`, giving up at `deadline` (if any).
    fn wait_until(&self, deadline: Option<Instant>) -> Result<WaitReport, WaitError> {
        // A task of this pool would wait for itself (module docs of `crate::pool`).
        if on_own_worker(&self.handles) {
            return Err(WaitError::InsideTask);
        }
        self.shared.state.wait_until(deadline)
    }
}

state_pool_common!(stop_and_drop LockFreePool);
