//! The part of the futex model that loom and shuttle share: a FIFO of waiters per word.
//!
//! A real futex keeps its waiters in a kernel hash bucket guarded by a spinlock; `FUTEX_WAIT`
//! takes that lock, reads the word, compares it and enqueues itself before it sleeps, and
//! `FUTEX_WAKE` takes the same lock to dequeue. That lock is what makes the compare-and-block
//! atomic with respect to wakes.
//!
//! The model gets the same atomicity from the checkers. Both loom and shuttle run model
//! threads as coroutines on one OS thread and switch only at their own operations, so plain
//! code between two checker operations runs without interruption. The queue below is plain
//! `std` code, invisible to the checker; each world file reads the word through the checker
//! (under loom inside a checker mutex that stands for the bucket lock, see
//! `loom_world.rs`), then touches the queue before its next checker operation.
#![allow(dead_code)] // each world uses the part it needs

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::atomic::AtomicU32;
use super::trace::recorder::{self, Op, Step};
use super::world::ThreadKey;

/// A futex wait's step in the trace: `expected`, and the word's value where it compared.
pub(crate) fn wait_step(word: &AtomicU32, op: Op, expected: u32, found: u32) -> Step {
    word.step(op)
        .values(u64::from(expected), u64::from(found), 0)
}

/// A futex wake's step in the trace: how many it woke, and the first of them.
pub(crate) fn wake_step(
    word: &AtomicU32,
    cross_process: bool,
    all: bool,
    woke: usize,
    first: Option<ThreadKey>,
) -> Step {
    let first = match first {
        Some(key) if recorder::on() => recorder::thread_index(key) as u64 + 1,
        _ => 0,
    };
    word.step(Op::FutexWake { cross_process, all })
        .values(woke as u64, first, 0)
}

thread_local! {
    /// How many waits on each word, per loom execution, return spuriously at once.
    ///
    /// loom has no public nondeterministic choice (loom#84), and its only spurious primitive
    /// (`Notify`) yields before returning, which lets every other thread run first — so a waiter
    /// could never return spuriously *before* the condition changed, which is the case that
    /// catches a missing re-check. The model therefore makes the choice outside loom: the
    /// verification harness runs every loom model twice, once with budget 0 (every wait compares
    /// and may sleep) and once with budget 1 (the first wait on each word returns at once), and
    /// loom explores all interleavings in both.
    ///
    /// Thread-local: loom runs a model's threads as coroutines on the OS thread that called
    /// `check`, and tests run in parallel, so a global would change under a running model and
    /// break loom's requirement that every replay of a path be deterministic.
    static LOOM_SPURIOUS_BUDGET: Cell<u32> = const { Cell::new(0) };

    /// How many model threads are queued in a futex wait right now, on any word: a wake due
    /// now would reach them. Thread-local for the reason above (a model's threads all run on
    /// the OS thread that called `check`); a passing execution ends with it back at 0.
    static QUEUED: Cell<usize> = const { Cell::new(0) };
}

/// How many model threads are queued in a futex wait right now (see `QUEUED`).
pub(crate) fn queued_waiters() -> usize {
    QUEUED.with(Cell::get)
}

fn count_queued(added: usize, removed: usize) {
    QUEUED.with(|q| q.set((q.get() + added).saturating_sub(removed)));
}

/// Sets the per-word spurious-return budget for words created from now on (loom only).
pub(crate) fn set_loom_spurious_budget(budget: u32) {
    LOOM_SPURIOUS_BUDGET.with(|b| b.set(budget));
}

pub(crate) fn loom_spurious_budget() -> u32 {
    LOOM_SPURIOUS_BUDGET.with(|b| b.get())
}

/// The waiters of one futex word, oldest first, each tagged with its scope (`shared`).
///
/// A wake dequeues only waiters of its own scope: a private wake never reaches a shared wait
/// and vice versa, as with the kernel's two kinds of futex key.
pub(crate) struct WaitQueue<W> {
    inner: Mutex<Inner<W>>,
}

struct Inner<W> {
    waiters: VecDeque<(bool, Arc<W>)>,
    spurious_left: u32,
}

impl<W> WaitQueue<W> {
    pub(crate) fn new(spurious_budget: u32) -> Self {
        Self {
            inner: Mutex::new(Inner {
                waiters: VecDeque::new(),
                spurious_left: spurious_budget,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<W>> {
        // Never contended (one OS thread) and never poisoned in a passing model.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Spends one unit of the spurious-return budget, if any is left.
    pub(crate) fn take_spurious(&self) -> bool {
        let mut inner = self.lock();
        if inner.spurious_left > 0 {
            inner.spurious_left -= 1;
            true
        } else {
            false
        }
    }

    /// Queues `waiter`, waiting in the shared scope if `shared`.
    pub(crate) fn push(&self, shared: bool, waiter: Arc<W>) {
        self.lock().waiters.push_back((shared, waiter));
        count_queued(1, 0);
    }

    /// Removes `waiter` if it is still queued; `false` if a wake already dequeued it.
    pub(crate) fn remove(&self, waiter: &Arc<W>) -> bool {
        let mut inner = self.lock();
        let before = inner.waiters.len();
        inner.waiters.retain(|(_, w)| !Arc::ptr_eq(w, waiter));
        count_queued(0, before - inner.waiters.len());
        inner.waiters.len() != before
    }

    /// Dequeues the oldest waiter of the given scope.
    pub(crate) fn pop_one(&self, shared: bool) -> Option<Arc<W>> {
        let mut inner = self.lock();
        let index = inner.waiters.iter().position(|(s, _)| *s == shared)?;
        count_queued(0, 1);
        inner.waiters.remove(index).map(|(_, w)| w)
    }

    /// Dequeues every waiter of the given scope, oldest first.
    pub(crate) fn drain(&self, shared: bool) -> Vec<Arc<W>> {
        let mut inner = self.lock();
        let (woken, kept): (VecDeque<_>, VecDeque<_>) =
            inner.waiters.drain(..).partition(|(s, _)| *s == shared);
        inner.waiters = kept;
        count_queued(0, woken.len());
        woken.into_iter().map(|(_, w)| w).collect()
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().waiters.len()
    }
}
