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
//! per task.
//!
//! **Tasks submitted by tasks.** A submit from one of the pool's own workers never waits for
//! room (the contract in [`crate::pool`]): when the queue is full, the (already counted) task
//! goes to `overflow`, a `VecDeque` under a mutex, and `overflowed` mirrors its length for the
//! workers, which take from the overflow before the queue ([`Injector::pop`]). Pushing there
//! ends with the same `published` as a queue push, and every look for work (`pop`,
//! `is_empty`, `looks_empty`) looks at `overflowed` too, after the same fences — so the Dekker
//! arguments hold with the overflow store in the place of the queue's stamp store. Only a full
//! queue and a submitting task reach this path.
//!
//! **No lost wake-up.** The Dekker pair is a worker's pop, then the fence in `taken`, then its
//! load of `blocked`; against the submitter's increment of `blocked`, then the fence in its
//! `prepare_wait`, then its retried push. Either the retry sees the pop, or the worker sees the
//! submitter counted; and workers keep taking while the queue is non-empty, so one of them
//! brings it to the watermark.

use std::collections::VecDeque;

use super::config::MAX_PENDING;
use super::state::PoolState;
use super::{BuildError, SubmitErrorKind};
use crate::queue::{ArrayQueue, EventCount};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::{StdMutex, StdMutexGuard};

/// Locks the overflow, ignoring poison (nothing panics while holding it: `VecDeque` pushes
/// after `try_reserve` and pops do not).
fn lock<T>(mutex: &StdMutex<T>) -> StdMutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A bounded task queue with sleeping submitters; see the [module docs](self).
pub(crate) struct Injector<T> {
    queue: ArrayQueue<T>,
    /// Tasks submitted by the pool's own workers while the queue was full (they may not wait
    /// for room: module docs of [`crate::pool`]). Taken before the queue. A mutex: this path
    /// is cold (only a full queue and a submitting task reach it).
    overflow: StdMutex<VecDeque<T>>,
    /// `overflow`'s length, mirrored under its lock, for workers to check without the lock.
    overflowed: AtomicUsize,
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
        let queue = ArrayQueue::new_in(capacity).map_err(BuildError::from)?;
        Ok(Self {
            queue,
            overflow: StdMutex::new(VecDeque::new()),
            overflowed: AtomicUsize::new(0),
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

    /// A counted task from one of the pool's own workers, with the queue full: into the
    /// overflow (never waiting), unless the pool holds [`MAX_PENDING`] tasks or the overflow
    /// cannot grow; then the task is handed back, counted out.
    #[cold]
    pub(crate) fn push_overflow(
        &self,
        state: &PoolState,
        task: T,
    ) -> Result<(), (T, SubmitErrorKind)> {
        let at_limit = state.pending_hint() > MAX_PENDING;
        let mut overflow = lock(&self.overflow);
        if at_limit || overflow.try_reserve(1).is_err() {
            drop(overflow);
            state.finish_one();
            return Err((task, SubmitErrorKind::Overflow));
        }
        overflow.push_back(task);
        // Relaxed: a hint for workers, ordered by the fence in `published` (a worker about to
        // sleep reads it after the fence in `prepare_wait`: the Dekker pair of `published`,
        // with this store in the place of the queue's stamp store).
        self.overflowed.store(overflow.len(), Ordering::Relaxed);
        drop(overflow);
        state.published();
        Ok(())
    }

    /// Pushes a counted task from one of the pool's own workers: into the queue if it has
    /// room, else into the overflow ([`push_overflow`](Self::push_overflow)); never waits.
    #[inline]
    pub(crate) fn push_from_worker(
        &self,
        state: &PoolState,
        task: T,
    ) -> Result<(), (T, SubmitErrorKind)> {
        match self.queue.push(task) {
            Ok(()) => {
                state.published();
                Ok(())
            }
            Err(task) => self.push_overflow(state, task),
        }
    }

    /// Takes the next task, if any: from the overflow first (tasks that running tasks
    /// submitted: finishing work in progress is what bounds the overflow), else the oldest in
    /// the queue, telling blocked submitters (see [`taken`](Self::taken)).
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        // Relaxed: a hint (see `push_overflow`); the overflow itself is read under its lock.
        if self.overflowed.load(Ordering::Relaxed) != 0 {
            if let Some(task) = self.take_overflow() {
                return Some(task);
            }
        }
        let task = self.queue.pop()?;
        self.taken();
        Some(task)
    }

    #[cold]
    fn take_overflow(&self) -> Option<T> {
        let mut overflow = lock(&self.overflow);
        let task = overflow.pop_front();
        // Relaxed: as in `push_overflow`.
        self.overflowed.store(overflow.len(), Ordering::Relaxed);
        task
    }

    /// Whether the queue and the overflow looked empty: the queue's one SeqCst snapshot (see
    /// `ArrayQueue::is_empty`) and a Relaxed look at the overflow's length.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        // Relaxed: as in `pop`.
        self.overflowed.load(Ordering::Relaxed) == 0 && self.queue.is_empty()
    }

    /// Whether the queue and the overflow look empty in Relaxed loads, for a caller that
    /// orders the look with its own `fence(SeqCst)` (see `ArrayQueue::looks_empty`).
    #[inline]
    pub(crate) fn looks_empty(&self) -> bool {
        // Relaxed: the caller's fence orders it, as the queue's look.
        self.overflowed.load(Ordering::Relaxed) == 0 && self.queue.looks_empty()
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
