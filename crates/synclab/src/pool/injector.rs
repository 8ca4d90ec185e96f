//! `Injector`: the bounded queue through which tasks from outside a lock-free pool arrive,
//! with backpressure — a submitter facing a full queue sleeps on an event count until workers
//! have drained it to the low watermark.
//!
//! The queue is an [`ArrayQueue`]. [`LockFreePool`](super::LockFreePool) takes every task
//! from it; [`WorkStealingPool`](super::WorkStealingPool) takes from it what its workers do not
//! find in their own deques.
//!
//! **Staying out of the kernel.** A worker pays a fence and a load per pop
//! ([`Injector::taken`]) and wakes blocked submitters only at the low watermark (half the
//! capacity), so a submitter facing a full queue sleeps once per half-queue rather than once
//! per task. Measured on `LockFreePool`: without this rule the pool made about one futex call
//! per task (strace) and ran at a tenth of the anchors' rate.
//!
//! **No lost wake-up.** The Dekker pair is a worker's pop, then the fence in `taken`, then its
//! load of `blocked`; against the submitter's increment of `blocked`, then the fence in its
//! `prepare_wait`, then its retried push. Either the retry sees the pop, or the worker sees the
//! submitter counted; and workers keep taking while the queue is non-empty, so one of them
//! brings it to the watermark.

use super::state::PoolState;
use super::BuildError;
use crate::queue::{ArrayQueue, CapacityError, EventCount};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};

/// A bounded task queue with sleeping submitters; see the [module docs](self).
pub(crate) struct Injector<T> {
    queue: ArrayQueue<T>,
    /// Submitters sleeping on a full queue (see `wait_for_space`).
    blocked: AtomicUsize,
    /// Blocked submitters are woken once the queue holds at most this many tasks.
    low_watermark: usize,
    /// Submitters facing a full queue sleep here.
    space: EventCount,
}

impl<T> Injector<T> {
    /// An empty injector of `capacity` tasks.
    pub(crate) fn new(capacity: usize) -> Result<Self, BuildError> {
        let queue = ArrayQueue::new(capacity).map_err(|e| match e {
            CapacityError::Zero => BuildError::ZeroCapacity,
            CapacityError::TooLarge { requested, max } => {
                BuildError::CapacityTooLarge { requested, max }
            }
        })?;
        Ok(Self {
            queue,
            blocked: AtomicUsize::new(0),
            low_watermark: capacity / 2,
            space: EventCount::new(),
        })
    }

    /// The capacity.
    pub(crate) fn capacity(&self) -> usize {
        self.queue.capacity()
    }

    /// Pushes a counted task, sleeping while the queue is full; tells `state`'s workers.
    /// Hands the task back (already counted out) if the pool closes meanwhile.
    #[inline]
    pub(crate) fn push_blocking(&self, state: &PoolState, mut task: T) -> Result<(), T> {
        loop {
            task = match self.queue.push(task) {
                Ok(()) => {
                    state.published();
                    return Ok(());
                }
                Err(back) => back,
            };
            task = match self.wait_for_space(state, task)? {
                None => return Ok(()),
                Some(retry) => retry,
            };
        }
    }

    /// Pushes a counted task if there is room now (and tells `state`'s workers), or hands it
    /// back, still counted in.
    #[inline]
    pub(crate) fn try_push(&self, state: &PoolState, task: T) -> Result<(), T> {
        self.queue.push(task)?;
        state.published();
        Ok(())
    }

    /// The queue was full: counts itself in `blocked`, registers on `space`, re-checks
    /// "closed" and the queue, and sleeps once. `Ok(None)`: pushed after all;
    /// `Ok(Some(task))`: retry; `Err(task)`: closed, the task is handed back (counted out).
    #[cold]
    fn wait_for_space(&self, state: &PoolState, task: T) -> Result<Option<T>, T> {
        // Relaxed: the fence in `prepare_wait` orders it before our retry (see `taken`).
        self.blocked.fetch_add(1, Ordering::Relaxed);
        let key = self.space.prepare_wait();
        // (The fence in `prepare_wait` above and the one in `close`'s notify decide whether
        // we see the flag or get woken.)
        let result = if state.is_closed() {
            self.space.cancel_wait(key);
            state.finish_one();
            Err(task)
        } else {
            match self.queue.push(task) {
                Ok(()) => {
                    self.space.cancel_wait(key);
                    state.published();
                    Ok(None)
                }
                Err(back) => {
                    self.space.wait(key);
                    Ok(Some(back))
                }
            }
        };
        // Relaxed: only a hint for workers from now on.
        self.blocked.fetch_sub(1, Ordering::Relaxed);
        result
    }

    /// Takes the oldest task, if any, telling blocked submitters (see [`taken`](Self::taken)).
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        let task = self.queue.pop()?;
        self.taken();
        Some(task)
    }

    /// Whether the queue looks empty: one SeqCst snapshot (see `ArrayQueue::is_empty`).
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Whether `tail == head` in two Relaxed loads, for a caller that orders the look with its
    /// own `fence(SeqCst)` (see `ArrayQueue::looks_empty`).
    #[inline]
    pub(crate) fn looks_empty(&self) -> bool {
        self.queue.looks_empty()
    }

    /// Tells blocked submitters a task was taken off the queue — once it has drained to the
    /// low watermark (half the capacity), so that a woken submitter can push a batch instead
    /// of sleeping again after every task. See "No lost wake-up" in the module docs.
    #[inline]
    fn taken(&self) {
        // SeqCst fence: our pop comes before the load of `blocked` in the total order; pairs
        // with the fence in the submitter's `prepare_wait` (in `wait_for_space`).
        fence(Ordering::SeqCst);
        if self.blocked.load(Ordering::Relaxed) != 0 {
            self.wake_submitters();
        }
    }

    #[cold]
    fn wake_submitters(&self) {
        if self.queue.len() <= self.low_watermark {
            self.space.notify_all();
        }
    }

    /// Wakes every blocked submitter (the pool closed: they hand their tasks back).
    pub(crate) fn close(&self) {
        self.space.notify_all();
    }
}
