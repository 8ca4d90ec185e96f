//! The work-stealing pool's shared state and each worker's own, as rayon-core's
//! `registry.rs` holds its `Registry` and `WorkerThread`: [`Shared`] (the injector, the
//! bookkeeping, every worker's stealer and LIFO slot), [`Local`] (a worker's deque, overflow
//! list and credit, reached through the thread-local `CURRENT`), the worker loop, and the
//! search for work — the worker's own first, then the injector, then stealing. The
//! algorithm (where a task goes, the LIFO slot, credit) is described on
//! [`WorkStealingPool`](super::WorkStealingPool); the orderings are argued at each site.

use core::cell::{Cell, RefCell};
use core::ptr;

use super::job::Job;
use super::Refused;
use crate::pool::injector::Injector;
use crate::pool::panics::run_task;
use crate::pool::state::{PoolState, Slept};
use crate::queue::deque::{OwnedPointer, Owner, Steal, Stealer};
use crate::queue::EventCount;
use crate::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;

/// Slots of each worker's deque. Depth-first execution keeps a divide-and-conquer tree's
/// deque at about depth × (fan-out − 1) tasks; more goes to the injector or its overflow.
///
/// Under a model checker it is 4: a model has a few tasks, and every slot is an atomic the
/// checker tracks in every execution — loom's fences visit every atomic object — so 256 per
/// worker would make each execution several times slower and explore nothing more (every
/// pool model counts the same executions with either capacity). A model with more nested
/// tasks than 4 can reach the full-deque path.
pub(crate) const DEQUE_CAPACITY: usize = match crate::sync::WORLD {
    crate::sync::World::Plain => 256,
    _ => 4, // under either model checker
};

/// A thief takes at most this many tasks from one victim at a time: one to run, the rest into
/// its own deque (where other thieves can take them in turn).
pub(crate) const STEAL_BATCH: usize = 4;

/// Pending-count units a worker reserves at once for the tasks its tasks submit (see
/// "Credit" on [`WorkStealingPool`](super::WorkStealingPool)).
pub(crate) const CREDIT_BATCH: u64 = 16;

/// The pool's shared state (rayon's `Registry`): what every worker and submitter reaches.
pub(super) struct Shared {
    pub(super) injector: Injector<Job>,
    pub(super) state: PoolState,
    /// The thieves' end of every worker's deque, by worker index.
    pub(super) stealers: Box<[Stealer<Job>]>,
    /// Every worker's LIFO slot, by worker index: null, or a `Job` pointer.
    pub(super) lifo: Box<[CachePadded<AtomicPtr<()>>]>,
    /// Every worker's park, by worker index: the event count only that worker sleeps on, while
    /// a `join` of its waits for a stolen half (`latch.rs`).
    pub(super) parks: Box<[CachePadded<EventCount>]>,
    /// Workers asleep (or on their way to sleep) in their parks: a publication that sees one
    /// notifies a park, so that new work wakes them too (`latch.rs`).
    pub(super) parked: CachePadded<AtomicUsize>,
}

/// What a worker keeps for itself, on its own stack while it runs (rayon's `WorkerThread`).
pub(super) struct Local {
    /// The pool it belongs to (compared with a submitting pool's address).
    pub(super) shared: *const Shared,
    pub(super) index: usize,
    /// The owner's end of this worker's deque.
    pub(super) deque: Owner<Job>,
    /// Tasks submitted by this worker's tasks while its deque and the injector were full.
    pub(super) overflow: RefCell<Vec<Job>>,
    /// Pending-count units this worker holds without a task ("Credit" on the pool's type).
    pub(super) credit: Cell<u64>,
    /// xorshift state for choosing the first victim.
    pub(super) rng: Cell<u64>,
}

crate::sync::thread::thread_local! {
    /// The `Local` of the pool worker running on this thread, or null.
    #[allow(clippy::missing_const_for_thread_local, reason = "the checkers' thread_local! have no const form")]
    static CURRENT: Cell<*const Local> = Cell::new(ptr::null());
}

/// Runs `f` with the `Local` of the pool worker running on this thread (of any
/// `WorkStealingPool`), if any, and that worker's pool.
#[inline]
pub(super) fn with_current<R>(f: impl FnOnce(Option<(&Shared, &Local)>) -> R) -> R {
    CURRENT.with(|current| {
        // SAFETY: a non-null `CURRENT` points to the `Local` of the worker loop running on
        // this thread, alive for the whole loop, which we are inside (see `with_local`); its
        // `shared` points to the pool's shared state, which that loop holds an `Arc` of.
        let pair =
            unsafe { current.get().as_ref() }.map(|local| (unsafe { &*local.shared }, local));
        f(pair)
    })
}

/// Sets `CURRENT` for the life of a worker loop, and clears it however the loop ends.
struct CurrentGuard;

impl CurrentGuard {
    fn enter(local: &Local) -> Self {
        CURRENT.with(|current| current.set(local));
        CurrentGuard
    }
}

impl Drop for CurrentGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(ptr::null()));
    }
}

impl Local {
    /// The next random victim index below `n`.
    fn next_victim(&self, n: usize) -> usize {
        let mut x = self.rng.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.set(x);
        (x % n as u64) as usize
    }
}

impl Shared {
    /// A task submitted by one of this worker's tasks: into the LIFO slot; the task there
    /// before moves to the deque. With the slot taken and the deque full, the new task goes to
    /// the injector or its overflow instead.
    pub(super) fn push_local(&self, local: &Local, job: Job) -> Result<(), (Job, Refused)> {
        // Count the task in: from the credit, or by reserving more ("Credit" on the type).
        match local.credit.get() {
            0 if self.state.reserve(CREDIT_BATCH) => local.credit.set(CREDIT_BATCH - 1),
            0 => return Err((job, Refused::Closed)),
            // The credit does not see CLOSED, so look. Relaxed, as in `admit`: a `close` that
            // happens before this submit is seen (coherence); a concurrent one may go either way.
            _ if self.state.is_closed() => return Err((job, Refused::Closed)),
            credit => local.credit.set(credit - 1),
        }
        let slot = &self.lifo[local.index];
        // Relaxed: a look at our own slot (see below) and our own deque's size (exact or an
        // overestimate: a stale `top` is smaller).
        if !slot.load(Ordering::Relaxed).is_null() && local.deque.len() >= local.deque.capacity() {
            // No room of our own: the injector, or beyond it (never waiting; the pools'
            // contract for a task's submit). At `MAX_PENDING` the job comes back, its unit
            // counted out.
            return self
                .injector
                .push_from_worker(&self.state, job)
                .map(|()| self.unpark_one())
                .map_err(|(job, _)| (job, Refused::Overflow));
        }
        let job = job.into_raw();
        // Relaxed: only this worker stores tasks in its slot; thieves only empty it. So a null
        // seen here stays null until our store, which needs no read-modify-write.
        if slot.load(Ordering::Relaxed).is_null() {
            // Release: pairs with the Acquire swap of a thief in `steal_lifo`, so a thief that
            // takes this job sees its contents.
            slot.store(job, Ordering::Release);
            self.published();
            return Ok(());
        }
        // Release: as above. The old value is this worker's own earlier store (or null, if a
        // thief took it meanwhile), so nothing needs acquiring.
        let old = slot.swap(job, Ordering::Release);
        if !old.is_null() {
            // SAFETY: a non-null LIFO value is a `Job::into_raw` pointer, and the swap took it
            // out of the slot: we own it now.
            let old = unsafe { Job::from_raw(old) };
            if let Err(old) = local.deque.push(old) {
                self.overflow(local, old);
            }
        }
        self.published();
        Ok(())
    }

    /// Tells the workers a task was made available: `PoolState::published` (its fence, and a
    /// wake-up on `work` unless a worker searches), then a parked worker's park if any is
    /// parked.
    #[inline]
    pub(super) fn published(&self) {
        self.state.published();
        self.unpark_one();
    }

    /// A job its owner takes back itself if nobody steals it (`join`'s second half): the same
    /// wake-ups as [`published`](Self::published) from Relaxed loads with no fence, a hint
    /// (see `PoolState::offered`).
    #[inline]
    pub(super) fn offered(&self) {
        self.state.offered();
        self.unpark_one();
    }

    /// Notifies one parked worker's park, if a worker is parked. Relaxed: called after a
    /// publication's `fence(SeqCst)` (or as a hint); the Dekker partner is the parking
    /// worker's increment of `parked`, then the fence of its park's `prepare_wait`, then its
    /// last look for work (`join.rs`, `wait_for`).
    #[inline]
    pub(super) fn unpark_one(&self) {
        if self.parked.load(Ordering::Relaxed) != 0 {
            self.unpark_one_cold();
        }
    }

    #[cold]
    fn unpark_one_cold(&self) {
        // The parks' words are read Relaxed, after the caller's fence (as above).
        for park in self.parks.iter() {
            if park.notify_one_after_fence() {
                return;
            }
        }
    }

    /// Takes one unit of this worker's credit for a job it offers (`join`'s second half),
    /// reserving more when it has none; `false` if the pool is closed and it has none.
    #[inline]
    pub(super) fn take_credit(&self, local: &Local) -> bool {
        match local.credit.get() {
            0 if self.state.reserve(CREDIT_BATCH) => local.credit.set(CREDIT_BATCH - 1),
            0 => return false,
            credit => local.credit.set(credit - 1),
        }
        true
    }

    /// A job this worker ran (or took back) adds its unit to the credit.
    #[inline]
    pub(super) fn give_credit(&self, local: &Local) {
        local.credit.set(local.credit.get() + 1);
    }

    /// Returns this worker's credit to the shared count (it has no work of its own left).
    #[inline]
    pub(super) fn return_credit(&self, local: &Local) {
        let credit = local.credit.replace(0);
        if credit != 0 {
            self.state.release(credit);
        }
    }

    /// A task already accepted (displaced from the LIFO slot, or stolen) finds the worker's
    /// deque full — which `push_local`'s check and a thief's empty deque make all but
    /// impossible: the injector takes it if it has room, else the worker keeps it in its
    /// private overflow list. Never refuses, never blocks.
    #[cold]
    fn overflow(&self, local: &Local, job: Job) {
        match self.injector.try_push(&self.state, job) {
            Ok(()) => self.unpark_one(),
            Err(job) => local.overflow.borrow_mut().push(job),
        }
    }

    /// This worker's own work: its LIFO slot, its deque, its overflow list.
    #[inline]
    pub(super) fn find_local(&self, local: &Local) -> Option<Job> {
        let slot = &self.lifo[local.index];
        // Relaxed: only this worker stores tasks in its slot, so it reads its own write.
        if !slot.load(Ordering::Relaxed).is_null() {
            let ptr = slot.swap(ptr::null_mut(), Ordering::Relaxed);
            if !ptr.is_null() {
                // SAFETY: a non-null LIFO value is a `Job::into_raw` pointer; the swap took it.
                return Some(unsafe { Job::from_raw(ptr) });
            }
        }
        if let Some(job) = local.deque.pop() {
            return Some(job);
        }
        self.refill_from_overflow(local)
    }

    /// Moves overflowed tasks back into the (empty) deque, where thieves can reach them, and
    /// returns one to run.
    #[cold]
    fn refill_from_overflow(&self, local: &Local) -> Option<Job> {
        let mut overflow = local.overflow.borrow_mut();
        let job = overflow.pop()?;
        while let Some(more) = overflow.pop() {
            if let Err(more) = local.deque.push(more) {
                overflow.push(more);
                break;
            }
        }
        Some(job)
    }

    /// Work from elsewhere: the injector, then the other workers' deques (from a random one),
    /// then their LIFO slots.
    pub(super) fn find_global(&self, local: &Local) -> Option<Job> {
        // One task at a time: a task from outside is either in the injector or running, so
        // the injector's capacity bounds what the pool holds for outside submitters (a batch
        // moved into a deque would let `try_submit` accept more than the capacity).
        if let Some(job) = self.injector.pop() {
            return Some(job);
        }
        let n = self.stealers.len();
        if n == 1 {
            return None;
        }
        let start = local.next_victim(n);
        for k in 0..n {
            let victim = (start + k) % n;
            if victim != local.index {
                if let Some(job) = self.steal_from(local, victim) {
                    return Some(job);
                }
            }
        }
        for k in 0..n {
            let victim = (start + k) % n;
            if victim != local.index {
                if let Some(job) = self.steal_lifo(victim) {
                    return Some(job);
                }
            }
        }
        None
    }

    /// Steals from `victim`'s deque: one task to run and up to [`STEAL_BATCH`] − 1 more into
    /// our own deque. Retries a lost race a few times, then gives up on this victim.
    ///
    /// A `join`'s second half is stolen alone, and ends a batch: its owner takes it back from
    /// its own deque or waits for it, so moving more of the owner's halves into our deque
    /// would only leave the owner waiting for work we have not started (the oldest half, the
    /// biggest piece of a divide-and-conquer tree, is the one to take — rayon steals one job
    /// at a time).
    fn steal_from(&self, local: &Local, victim: usize) -> Option<Job> {
        let stealer = &self.stealers[victim];
        let mut first = None;
        let mut retries = 0;
        while first.is_none() {
            match stealer.steal() {
                Steal::Success(job) => first = Some(job),
                Steal::Empty => return None,
                Steal::Retry if retries < 4 => {
                    retries += 1;
                    crate::sync::hint::spin_loop();
                }
                Steal::Retry => return None,
            }
        }
        if first.as_ref().is_some_and(Job::is_join_half) {
            return first;
        }
        for _ in 1..STEAL_BATCH {
            match stealer.steal() {
                Steal::Success(job) => {
                    let join_half = job.is_join_half();
                    if let Err(job) = local.deque.push(job) {
                        self.overflow(local, job);
                        break;
                    }
                    if join_half {
                        break;
                    }
                }
                Steal::Empty | Steal::Retry => break,
            }
        }
        if !local.deque.is_empty() {
            // We now hold stealable work that others may be asleep for.
            self.published();
        }
        first
    }

    /// Takes the task in `victim`'s LIFO slot, if any.
    fn steal_lifo(&self, victim: usize) -> Option<Job> {
        let slot = &self.lifo[victim];
        // Relaxed: only a look; the swap below acquires.
        if slot.load(Ordering::Relaxed).is_null() {
            return None;
        }
        // Acquire: pairs with the owner's Release swap in `push_local`: the job's contents
        // are visible.
        let ptr = slot.swap(ptr::null_mut(), Ordering::Acquire);
        // SAFETY: a non-null LIFO value is a `Job::into_raw` pointer; the swap took it.
        (!ptr.is_null()).then(|| unsafe { Job::from_raw(ptr) })
    }

    /// Whether any work is visible anywhere, in Relaxed loads: for callers that order the
    /// look with their own `fence(SeqCst)` (the searcher hand-off), or use it as a hint.
    pub(super) fn work_visible(&self) -> bool {
        !self.injector.looks_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            // Relaxed: as above.
            || self.lifo.iter().any(|slot| !slot.load(Ordering::Relaxed).is_null())
    }

    pub(super) fn worker_loop(&self, local: Local) {
        let _current = CurrentGuard::enter(&local);
        let state = &self.state;
        // Whether this worker has just been woken: if it finds work at once and sees more, it
        // passes the wake-up on, so a burst spreads over the sleepers.
        let mut woken = false;
        loop {
            let job = match self.find_local(&local) {
                Some(job) => job,
                None => {
                    // No work of our own: the credit goes back before we look elsewhere (a
                    // `wait` may be waiting for exactly this).
                    self.return_credit(&local);
                    match self.find_global(&local) {
                        Some(job) => {
                            if woken && self.work_visible() {
                                state.pass_wake_on();
                            }
                            job
                        }
                        None => match state.search_then_sleep(
                            || self.find_global(&local),
                            || self.find_global(&local),
                            // Relaxed loads: after `search`'s fence, or `prepare_wait`'s.
                            || self.work_visible(),
                        ) {
                            Slept::Found(job) => job,
                            Slept::Woken => {
                                woken = true;
                                continue;
                            }
                            Slept::Exit => return,
                        },
                    }
                }
            };
            woken = false;
            run_task(|| job.run(), state.panics());
            // The task's unit joins the credit; it is counted out when we run dry.
            local.credit.set(local.credit.get() + 1);
        }
    }

    /// Runs this worker's tasks (its own, then from elsewhere) while `busy()` holds, until it
    /// finds none: `Hooks::help_while` on a worker, which a scope's owner calls while it
    /// waits. The same steps as `worker_loop`, without the search and the sleep: the caller
    /// sleeps on its own condition instead.
    pub(super) fn help(&self, local: &Local, busy: &dyn Fn() -> bool) {
        while busy() {
            let job = match self.find_local(local) {
                Some(job) => job,
                None => {
                    // As in `worker_loop`: the credit goes back before we look elsewhere, and
                    // before the caller sleeps.
                    self.return_credit(local);
                    match self.find_global(local) {
                        Some(job) => job,
                        None => return,
                    }
                }
            };
            run_task(|| job.run(), self.state.panics());
            local.credit.set(local.credit.get() + 1);
        }
    }

    /// Runs `f` with this thread's `Local` if it is one of *this* pool's workers.
    #[inline]
    pub(super) fn with_local<R>(&self, f: impl FnOnce(Option<&Local>) -> R) -> R {
        CURRENT.with(|current| {
            let local = current.get();
            // SAFETY: a non-null `CURRENT` points to the `Local` of the worker loop running on
            // this thread (set by `CurrentGuard::enter`, cleared when the loop ends, however it
            // ends), which lives on that loop's stack for the whole time; we are inside it
            // (in one of its tasks). Only shared references to it are ever made.
            let local = unsafe { local.as_ref() };
            f(local.filter(|l| ptr::eq(l.shared, self)))
        })
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        for slot in self.lifo.iter() {
            // Relaxed: `&mut self`, every worker is gone.
            let ptr = slot.swap(ptr::null_mut(), Ordering::Relaxed);
            if !ptr.is_null() {
                // SAFETY: a non-null LIFO value is a `Job::into_raw` pointer; we took it.
                drop(unsafe { Job::from_raw(ptr) });
            }
        }
    }
}

// SAFETY: `Local` is never shared between threads: it is moved into its worker thread before
// the worker starts (it holds a `*const Shared` only to compare addresses, and an `Owner`
// whose owner thread is the worker).
unsafe impl Send for Local {}
