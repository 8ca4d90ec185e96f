//! `WorkStealingPool`: a Chase–Lev deque per worker, a LIFO slot for the newest task, a
//! bounded injector for tasks from outside, and the lock-free pools' parking.
//!
//! **Where a task goes.**
//!
//! | submitted from | goes to | taken by |
//! |---|---|---|
//! | a thread outside the pool | the injector (bounded: `submit` sleeps while it is full) | any worker, oldest first |
//! | one of the pool's own workers (a task submitting a task) | that worker's LIFO slot; the task that was there moves to the bottom of the worker's deque | the owner next (newest first), or a thief |
//! | … with the deque full (and the slot taken) | the injector if it has room, else the injector's overflow (a worker's `submit` never waits for room, so tasks that submit tasks cannot deadlock the pool — the pools' contract; `SubmitErrorKind::Overflow` only at `MAX_PENDING`; its `try_submit` says `Full` instead) | any worker, before the injector's queue |
//!
//! **Finding work.** A worker looks, in order: its LIFO slot, its deque (newest first), its
//! overflow list, the injector, then the other workers — starting at a random victim, the top
//! (oldest) of each deque, then each LIFO slot — and takes up to [`STEAL_BATCH`] − 1 more items
//! from a victim whose deque it stole from into its own deque. From the injector it takes one
//! task at a time, so that a task from outside is always either in the injector or running:
//! the injector's capacity is the pool's bound for outside submitters, as in the other pools
//! (a batch moved from the injector into a deque let `try_submit` accept a task beyond the
//! capacity — the randomized checker found it in the conformance model). A worker's task that is stolen
//! is the oldest, which in a divide-and-conquer tree is the biggest piece of work left.
//!
//! **The LIFO slot** is one `AtomicPtr` per worker. The owner puts a new task in with a Release
//! store when the slot is empty and a Release swap when it is not (a thief that swaps it out
//! with Acquire sees the task's contents) and swaps it out itself
//! (Relaxed: only the owner stores a task there, so it reads its own write). Thieves may take
//! it — only when no deque has work — so a task that submits a task and then blocks on it does
//! not strand it.
//!
//! **Parking** is [`LockFreePool`](super::LockFreePool)'s, shared through `PoolState`: every
//! publication (injector push, LIFO slot or deque push) is followed by a fence and a look at
//! the searcher count, and a wake-up only when nobody searches; an idle worker searches for a
//! bounded number of rounds and then sleeps on the `work` event count after one more look at
//! every source. A woken worker that finds more work than it takes wakes the next one.
//!
//! **Bookkeeping** (pending count, `wait`, close, panics) is `PoolState`'s: a task is counted
//! before it is published anywhere and counted out after it returns, so `wait` means finished
//! and shutdown drains every deque and the injector.
//!
//! **Credit.** Counting every task in and out is two read-modify-writes on one shared word per
//! task — the line every worker then fights over. A worker instead keeps a private *credit*:
//! units of the pending count that it holds without a task. A task that finishes on it adds its
//! unit to the credit instead of counting out; a task its tasks submit takes a unit from the
//! credit instead of counting in (and when the credit is empty the worker reserves
//! [`CREDIT_BATCH`] units with one RMW). The worker returns its whole credit with one RMW as
//! soon as it has no work of its own left — before it looks anywhere else, searches or
//! sleeps. So the shared count is always the true number of pending tasks plus the credits,
//! never less: `wait` still never returns before a task submitted before it has finished, and
//! it returns as soon as the last worker runs dry. A worker running a divide-and-conquer tree
//! of its own touches the shared word once per [`CREDIT_BATCH`] spawns, where rayon's scope
//! counts every spawn and every completion.
//!
//! **Tasks are one pointer.** A deque slot must be read atomically (see
//! [`queue::deque`](crate::queue::deque)), so a task travels as a thin pointer to a heap block
//! holding its closure and a function pointer that knows the closure's type. `execute` builds
//! that block directly from the closure (one allocation, as rayon's `HeapJob`); `submit`, which
//! receives an already boxed [`Task`], wraps it (a second allocation).
//!
//! **Progress.** Submitting is lock-free in the injector's sense (see `ArrayQueue`) or
//! wait-free (a worker's own deque); stealing is lock-free; sleeping is blocking by design.

use core::cell::{Cell, RefCell};
use core::ptr::{self, NonNull};

use super::injector::Injector;
use super::state::{PoolState, Slept};
use super::{
    join_workers, run_task, BuildError, InstallError, PanicRecord, PoolConfig, ShutdownReport,
    SubmitError, SubmitErrorKind, Task, ThreadPool, TrySubmitError, WaitError, WaitReport,
};
use crate::queue::deque::{self, OwnedPointer, Owner, Steal, Stealer};
use crate::sync::atomic::{AtomicPtr, Ordering};
use crate::sync::time::Instant;
use crate::sync::{thread, Arc};
use core::time::Duration;
use crossbeam_utils::CachePadded;

/// Slots of each worker's deque. Depth-first execution keeps a divide-and-conquer tree's
/// deque at about depth × (fan-out − 1) tasks; more goes to the injector or its overflow.
///
/// Under a model checker it is 4: a model has a few tasks, and every slot is an atomic the
/// checker tracks in every execution — the exhaustive checker's fences visit every atomic object — so 256 per
/// worker made each execution several times slower and explored nothing more (every pool
/// model counted the same executions with either capacity). A model with more nested tasks
/// than 4 can reach the full-deque path.
pub const DEQUE_CAPACITY: usize = match crate::sync::WORLD {
    crate::sync::World::Plain => 256,
    _ => 4, // under either model checker
};

/// A thief takes at most this many tasks from one victim at a time: one to run, the rest into
/// its own deque (where other thieves can take them in turn).
pub const STEAL_BATCH: usize = 4;

/// Pending-count units a worker reserves at once for the tasks its tasks submit (see
/// "Credit" in the module docs).
pub const CREDIT_BATCH: u64 = 16;

// ---------------------------------------------------------------------------------------------
// Thin tasks
// ---------------------------------------------------------------------------------------------

/// The first field of every task block: how to run or drop the closure that follows it.
#[repr(C)]
struct Header {
    /// Runs (`true`) or drops (`false`) the block's closure and frees the block.
    ///
    /// # Safety
    ///
    /// The pointer is a block made by [`Job::new`] for this very function, not yet consumed.
    call: unsafe fn(NonNull<Header>, bool),
}

/// A heap block: the header, then the closure. `repr(C)` puts the header at offset 0, so a
/// pointer to the block is a pointer to its header.
#[repr(C)]
struct Block<F> {
    header: Header,
    f: F,
}

/// A task as one owning pointer to a [`Block`].
struct Job(NonNull<Header>);

// SAFETY: a `Job` is built only from `F: Send` closures (`Job::new`), so running or dropping
// it on another thread is sound.
unsafe impl Send for Job {}

impl Job {
    fn new<F: FnOnce() + Send + 'static>(f: F) -> Self {
        // SAFETY: `F: 'static` borrows nothing that could go away.
        unsafe { Self::new_borrowed(f) }
    }

    /// A job of a closure that may borrow.
    ///
    /// # Safety
    ///
    /// Everything `f` borrows stays valid until the job has been run or dropped (the contract
    /// of [`ThreadPool::submit_borrowed`]).
    unsafe fn new_borrowed<'a, F: FnOnce() + Send + 'a>(f: F) -> Self {
        /// # Safety
        ///
        /// `header` points to a `Block<F>` made by `Job::new::<F>` and not yet consumed.
        unsafe fn call<F: FnOnce()>(header: NonNull<Header>, run: bool) {
            // SAFETY: by the contract, the block is a live `Block<F>` from `Box::into_raw`
            // (the header is its first field, at offset 0), consumed exactly once here.
            let block = unsafe { Box::from_raw(header.cast::<Block<F>>().as_ptr()) };
            // Move the closure out and free the block first, so a panicking closure leaks
            // nothing.
            let Block { f, .. } = *block;
            if run {
                f();
            }
        }
        let block = Box::new(Block {
            header: Header { call: call::<F> },
            f,
        });
        // SAFETY: `Box::into_raw` is never null.
        Job(unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast())
    }

    /// Runs the task (consuming it).
    fn run(self) {
        let header = self.0;
        core::mem::forget(self);
        // SAFETY: `header` is a live block made by `Job::new` (we owned it), and forgetting
        // `self` hands its ownership to `call`, which consumes it once.
        unsafe { ((*header.as_ptr()).call)(header, true) }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: as in `run`: we own the live block; `Drop` consumes it once.
        unsafe { ((*self.0.as_ptr()).call)(self.0, false) }
    }
}

// SAFETY: `into_raw` gives the non-null block pointer and forgets the `Job`; `from_raw`
// rebuilds the same `Job`. `Job: Send`.
unsafe impl OwnedPointer for Job {
    fn into_raw(self) -> *mut () {
        let ptr = self.0.as_ptr().cast();
        core::mem::forget(self);
        ptr
    }
    unsafe fn from_raw(ptr: *mut ()) -> Self {
        // SAFETY: by the caller's contract `ptr` came from `into_raw`, hence is non-null.
        Job(unsafe { NonNull::new_unchecked(ptr.cast()) })
    }
}

// ---------------------------------------------------------------------------------------------
// Shared and per-worker state
// ---------------------------------------------------------------------------------------------

struct Shared {
    injector: Injector<Job>,
    state: PoolState,
    /// The thieves' end of every worker's deque, by worker index.
    stealers: Box<[Stealer<Job>]>,
    /// Every worker's LIFO slot, by worker index: null, or a `Job` pointer.
    lifo: Box<[CachePadded<AtomicPtr<()>>]>,
}

/// What a worker keeps for itself, on its own stack while it runs.
struct Local {
    /// The pool it belongs to (compared with a submitting pool's address).
    shared: *const Shared,
    index: usize,
    /// The owner's end of this worker's deque.
    deque: Owner<Job>,
    /// Tasks submitted by this worker's tasks while its deque and the injector were full.
    overflow: RefCell<Vec<Job>>,
    /// Pending-count units this worker holds without a task (module docs, "Credit").
    credit: Cell<u64>,
    /// xorshift state for choosing the first victim.
    rng: Cell<u64>,
}

crate::sync::thread::thread_local! {
    /// The `Local` of the pool worker running on this thread, or null.
    #[allow(clippy::missing_const_for_thread_local, reason = "the checkers' thread_local! have no const form")]
    static CURRENT: Cell<*const Local> = Cell::new(ptr::null());
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
    fn push_local(&self, local: &Local, job: Job) -> Result<(), (Job, Refused)> {
        // Count the task in: from the credit, or by reserving more (module docs, "Credit").
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
                .map_err(|(job, _)| (job, Refused::Overflow));
        }
        let job = job.into_raw();
        // Relaxed: only this worker stores tasks in its slot; thieves only empty it. So a null
        // seen here stays null until our store, which needs no read-modify-write.
        if slot.load(Ordering::Relaxed).is_null() {
            // Release: pairs with the Acquire swap of a thief in `steal_lifo`, so a thief that
            // takes this job sees its contents.
            slot.store(job, Ordering::Release);
            self.state.published();
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
        self.state.published();
        Ok(())
    }

    /// Returns this worker's credit to the shared count (it has no work of its own left).
    #[inline]
    fn return_credit(&self, local: &Local) {
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
        if let Err(job) = self.injector.try_push(&self.state, job) {
            local.overflow.borrow_mut().push(job);
        }
    }

    /// This worker's own work: its LIFO slot, its deque, its overflow list.
    #[inline]
    fn find_local(&self, local: &Local) -> Option<Job> {
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
    fn find_global(&self, local: &Local) -> Option<Job> {
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
        for _ in 1..STEAL_BATCH {
            match stealer.steal() {
                Steal::Success(job) => {
                    if let Err(job) = local.deque.push(job) {
                        self.overflow(local, job);
                        break;
                    }
                }
                Steal::Empty | Steal::Retry => break,
            }
        }
        if !local.deque.is_empty() {
            // We now hold stealable work that others may be asleep for.
            self.state.published();
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
    fn work_visible(&self) -> bool {
        !self.injector.looks_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            // Relaxed: as above.
            || self.lifo.iter().any(|slot| !slot.load(Ordering::Relaxed).is_null())
    }

    fn worker_loop(&self, local: Local) {
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
    /// finds none: [`ThreadPool::help_while`] on a worker, which a scope's owner calls while it
    /// waits. The same steps as `worker_loop`, without the search and the sleep: the caller
    /// sleeps on its own condition instead.
    fn help(&self, local: &Local, busy: &dyn Fn() -> bool) {
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
    fn with_local<R>(&self, f: impl FnOnce(Option<&Local>) -> R) -> R {
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

/// A work-stealing thread pool. See [the module docs](self).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// use std::sync::Arc;
/// use synclab::pool::{ThreadPool, WorkStealingPool};
///
/// let pool = Arc::new(WorkStealingPool::with_workers(2).unwrap());
/// let leaves = Arc::new(AtomicUsize::new(0));
/// // A task that submits two tasks that each submit two more: they go to the worker's deque.
/// fn split(pool: Arc<WorkStealingPool>, leaves: Arc<AtomicUsize>, depth: u32) {
///     if depth == 0 {
///         leaves.fetch_add(1, Ordering::Relaxed);
///         return;
///     }
///     for _ in 0..2 {
///         let (p, l) = (Arc::clone(&pool), Arc::clone(&leaves));
///         pool.execute(move || split(p, l, depth - 1)).unwrap();
///     }
/// }
/// let (p, l) = (Arc::clone(&pool), Arc::clone(&leaves));
/// pool.execute(move || split(p, l, 3)).unwrap();
/// assert_eq!(pool.wait().unwrap().panicked, 0);
/// assert_eq!(leaves.load(Ordering::Relaxed), 8);
/// ```
pub struct WorkStealingPool {
    shared: Arc<Shared>,
    handles: Vec<thread::JoinHandle<()>>,
    workers: usize,
}

impl WorkStealingPool {
    /// Queues `job`: on this pool's worker, into its LIFO slot (never waiting for room); from
    /// outside, into the injector (sleeping while it is full when `block`). Hands the job back
    /// with the reason it was refused.
    #[inline]
    fn queue(&self, job: Job, block: bool) -> Result<(), (Job, Refused)> {
        let shared = &*self.shared;
        shared.with_local(|local| {
            if let Some(local) = local {
                // `try_submit` from a worker keeps a bound: the worker's own deque (the pools'
                // contract: it never waits, so it cannot deadlock, and says Full).
                if !block && local.deque.len() >= local.deque.capacity() {
                    return Err((job, Refused::Full));
                }
                return shared.push_local(local, job);
            }
            if !shared.state.admit() {
                return Err((job, Refused::Closed));
            }
            if block {
                shared
                    .injector
                    .push_blocking(&shared.state, job)
                    .map_err(|job| (job, Refused::Closed))
            } else {
                shared.injector.try_push(&shared.state, job).map_err(|job| {
                    shared.state.finish_one();
                    (job, Refused::Full)
                })
            }
        })
    }

    /// `wait`, giving up at `deadline` (if any).
    fn wait_until(&self, deadline: Option<Instant>) -> Result<WaitReport, WaitError> {
        // From one of our own tasks, a wait for every pending task would wait for itself.
        if self.shared.with_local(|local| local.is_some()) {
            return Err(WaitError::InsideTask);
        }
        self.shared.state.wait_until(deadline)
    }
}

/// Why a job was handed back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// The pool is closed.
    Closed,
    /// No room now (`try_submit`).
    Full,
    /// A worker's submit found no room and the pool at `MAX_PENDING` (or out of memory).
    Overflow,
}

/// A handed-back job, as the boxed [`Task`] the trait's errors carry.
fn into_task(job: Job) -> Task {
    Box::new(move || job.run())
}

/// The error `submit` and `execute` report for a refused job.
fn submit_error(job: Job, why: Refused) -> SubmitError {
    let kind = match why {
        Refused::Overflow => SubmitErrorKind::Overflow,
        // `submit` waits or goes beyond the bound, so only closing refuses it otherwise.
        Refused::Closed | Refused::Full => SubmitErrorKind::Closed,
    };
    SubmitError::new(kind, into_task(job))
}

impl ThreadPool for WorkStealingPool {
    fn build(config: PoolConfig) -> Result<Self, BuildError> {
        let (workers, capacity) = config.validate()?;
        let injector = Injector::new(capacity)?;
        let mut owners = Vec::with_capacity(workers);
        let mut stealers = Vec::with_capacity(workers);
        for _ in 0..workers {
            // Only an allocation failure can refuse DEQUE_CAPACITY.
            let (owner, stealer) = deque::new(DEQUE_CAPACITY).map_err(BuildError::from)?;
            owners.push(owner);
            stealers.push(stealer);
        }
        let shared = Arc::new(Shared {
            injector,
            state: PoolState::new(),
            stealers: stealers.into_boxed_slice(),
            lifo: (0..workers)
                .map(|_| CachePadded::new(AtomicPtr::new(ptr::null_mut())))
                .collect(),
        });
        let locals: Vec<Local> = owners
            .into_iter()
            .enumerate()
            .map(|(index, deque)| Local {
                shared: Arc::as_ptr(&shared),
                index,
                deque,
                overflow: RefCell::new(Vec::new()),
                credit: Cell::new(0),
                rng: Cell::new(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1)),
            })
            .collect();
        let handles = super::spawn_workers(&shared, locals, Shared::worker_loop);
        Ok(Self {
            shared,
            handles,
            workers,
        })
    }

    #[inline]
    fn submit(&self, task: Task) -> Result<(), SubmitError> {
        self.queue(Job::new(task), true)
            .map_err(|(job, why)| submit_error(job, why))
    }

    #[inline]
    fn execute<F: FnOnce() + Send + 'static>(&self, f: F) -> Result<(), SubmitError> {
        self.queue(Job::new(f), true)
            .map_err(|(job, why)| submit_error(job, why))
    }

    /// The closure goes into the task block directly: one allocation, as `execute`'s.
    #[inline]
    unsafe fn submit_borrowed<'a, F: FnOnce() + Send + 'a>(&self, f: F) -> Result<(), SubmitError> {
        // SAFETY: the caller keeps what `f` borrows valid until it has run or been dropped
        // (the trait method's contract), which is `new_borrowed`'s.
        let job = unsafe { Job::new_borrowed(f) };
        self.queue(job, true)
            .map_err(|(job, why)| submit_error(job, why))
    }

    #[inline]
    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError> {
        self.queue(Job::new(task), false)
            .map_err(|(job, why)| match why {
                Refused::Closed => TrySubmitError::closed(into_task(job)),
                Refused::Full | Refused::Overflow => TrySubmitError::full(into_task(job)),
            })
    }

    /// On one of this pool's workers, `f` runs inline; from outside, it is queued like any
    /// task (through the injector) and the caller blocks until it has run (see
    /// [`install`](super::install)).
    fn install<F, R>(&self, f: F) -> Result<R, InstallError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        if self.shared.with_local(|local| local.is_some()) {
            return Ok(f());
        }
        super::install::install_on(self, f)
    }

    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool {
        let shared = &*self.shared;
        shared.with_local(|local| match local {
            Some(local) => {
                shared.help(local, busy);
                true
            }
            None => false,
        })
    }

    fn close(&self) {
        if self.shared.state.close() {
            self.shared.injector.close();
        }
    }

    fn capacity(&self) -> usize {
        self.shared.injector.capacity()
    }

    state_pool_common!(trait_methods);
}

state_pool_common!(stop_and_drop WorkStealingPool);

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
