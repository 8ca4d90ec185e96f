//! [`WorkStealingPool`]: the type and its submit paths (the design is described on the
//! type); the shared and per-worker state with the worker loop are in `registry.rs`, the
//! one-pointer tasks in `job.rs`.

mod job;
mod join;
mod latch;
mod registry;

use core::cell::{Cell, RefCell};
use core::ptr;
use core::time::Duration;

use self::job::Job;
use self::join::both_here;
use self::registry::{with_current, Local, Shared, DEQUE_CAPACITY};
use super::hooks::Hooks;
use super::injector::Injector;
use super::install::install_on;
use super::panics::PanicRecord;
use super::state::PoolState;
use super::workers::spawn_workers;
use super::{
    BuildError, InstallError, PoolConfig, ShutdownReport, SubmitError, SubmitErrorKind, Task,
    ThreadPool, TrySubmitError, WaitError, WaitReport,
};
use crate::queue::{deque, EventCount};
use crate::sync::atomic::{AtomicPtr, AtomicUsize};
use crate::sync::time::Instant;
use crate::sync::{thread, Arc};
use crossbeam_utils::CachePadded;

/// A work-stealing thread pool: a Chase–Lev deque per worker, a LIFO slot for the newest
/// task, a bounded injector for tasks from outside, and the lock-free pools' parking.
///
/// **Where a task goes.**
///
/// | submitted from | goes to | taken by |
/// |---|---|---|
/// | a thread outside the pool | the injector (bounded: `submit` sleeps while it is full) | any worker, oldest first |
/// | one of the pool's own workers (a task submitting a task) | that worker's LIFO slot; the task that was there moves to the bottom of the worker's deque | the owner next (newest first), or a thief |
/// | … with the deque full (and the slot taken) | the injector if it has room, else the injector's overflow (a worker's `submit` never waits for room, so tasks that submit tasks cannot deadlock the pool — the pools' contract; `SubmitErrorKind::Overflow` only when the pool holds `queue::MAX_CAPACITY` tasks; its `try_submit` says `Full` instead) | any worker, before the injector's queue |
///
/// **Finding work.** A worker looks, in order: its LIFO slot, its deque (newest first), its
/// overflow list, the injector, then the other workers — starting at a random victim, the top
/// (oldest) of each deque, then each LIFO slot — and takes up to `STEAL_BATCH` − 1 (3) more
/// items from a victim whose deque it stole from into its own deque (a `join`'s second half
/// is stolen alone: its owner waits for it, see [`ThreadPool::join`]). From the injector it
/// takes one task at a time, so that a task from outside is always either in the injector or
/// running: the injector's capacity is the pool's bound for outside submitters, as in the
/// other pools (a batch moved from the injector into a deque would let `try_submit` accept a
/// task beyond the capacity). A worker's task that is stolen is the oldest, which in a
/// divide-and-conquer tree is the biggest piece of work left.
///
/// **The LIFO slot** is one `AtomicPtr` per worker. The owner puts a new task in with a Release
/// store when the slot is empty and a Release swap when it is not (a thief that swaps it out
/// with Acquire sees the task's contents) and swaps it out itself (Relaxed: only the owner
/// stores a task there, so it reads its own write). Thieves may take
/// it — only when no deque has work — so a task that submits a task and then blocks on it does
/// not strand it.
///
/// **Parking** is [`LockFreePool`](crate::pool::LockFreePool)'s, shared through `PoolState`:
/// every publication (injector push, LIFO slot or deque push) is followed by a fence and a look at
/// the searcher count, and a wake-up only when nobody searches; an idle worker searches for a
/// bounded number of rounds and then sleeps on the `work` event count after one more look at
/// every source. A woken worker that finds more work than it takes wakes the next one.
///
/// **Bookkeeping** (pending count, `wait`, close, panics) is `PoolState`'s: a task is counted
/// before it is published anywhere and counted out after it returns, so `wait` means finished
/// and shutdown drains every deque and the injector.
///
/// **Credit.** Counting every task in and out is two read-modify-writes on one shared word per
/// task — the line every worker then fights over. A worker instead keeps a private *credit*:
/// units of the pending count that it holds without a task. A task that finishes on it adds its
/// unit to the credit instead of counting out; a task its tasks submit takes a unit from the
/// credit instead of counting in (and when the credit is empty the worker reserves
/// `CREDIT_BATCH` (16) units with one RMW). The worker returns its whole credit with one RMW as
/// soon as it has no work of its own left — before it looks anywhere else, searches or
/// sleeps. So the shared count is always the true number of pending tasks plus the credits,
/// never less: `wait` still never returns before a task submitted before it has finished, and
/// it returns as soon as the last worker runs dry. A worker running a divide-and-conquer tree
/// of its own touches the shared word once per `CREDIT_BATCH` spawns, where rayon's scope
/// counts every spawn and every completion.
///
/// **Tasks are one pointer.** A deque slot must be read atomically (see
/// [`queue::deque`](crate::queue::deque)), so a task travels as a thin pointer to a heap block
/// holding its closure and a function pointer that knows the closure's type. `execute` builds
/// that block directly from the closure (one allocation, as rayon's `HeapJob`); `submit`, which
/// receives an already boxed [`Task`], wraps it (a second allocation).
///
/// **Progress.** Submitting is lock-free in the injector's sense (see
/// [`ArrayQueue`](crate::queue::ArrayQueue)) or wait-free (a worker's own deque); stealing is
/// lock-free; sleeping is blocking by design.
///
/// **The source**, laid out as rayon-core's: `pool/work_stealing/registry.rs` holds the
/// pool's shared state (rayon's `Registry`) and each worker's own (its `WorkerThread`), the
/// worker loop and the search for work; `job.rs` the one-pointer tasks (rayon's `HeapJob`);
/// `mod.rs` this type and its submit paths.
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
            // The injector's push ends with `PoolState::published`; parked workers are ours.
            if block {
                shared
                    .injector
                    .push_blocking(&shared.state, job)
                    .map(|()| shared.unpark_one())
                    .map_err(|job| (job, Refused::Closed))
            } else {
                shared
                    .injector
                    .try_push(&shared.state, job)
                    .map(|()| shared.unpark_one())
                    .map_err(|job| {
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

/// `join_context` on the pool of the calling thread if it is a `WorkStealingPool` worker;
/// the closures back otherwise (the free `join` then uses the global pool).
pub(crate) fn join_on_current<A, B, RA, RB>(a: A, b: B) -> Result<(RA, RB), (A, B)>
where
    A: FnOnce(bool) -> RA + Send,
    B: FnOnce(bool) -> RB + Send,
    RA: Send,
    RB: Send,
{
    with_current(move |current| match current {
        Some((shared, local)) => Ok(shared.join_on(local, a, b)),
        None => Err((a, b)),
    })
}

/// The worker count of the pool of the calling thread, if it is a `WorkStealingPool` worker.
pub(crate) fn current_workers() -> Option<usize> {
    with_current(|current| current.map(|(shared, _)| shared.stealers.len()))
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
            parks: (0..workers)
                .map(|_| CachePadded::new(EventCount::new()))
                .collect(),
            parked: CachePadded::new(AtomicUsize::new(0)),
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
        let handles = spawn_workers(&shared, locals, Shared::worker_loop);
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

    #[inline]
    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError> {
        self.queue(Job::new(task), false)
            .map_err(|(job, why)| match why {
                Refused::Closed => TrySubmitError::closed(into_task(job)),
                Refused::Full | Refused::Overflow => TrySubmitError::full(into_task(job)),
            })
    }

    /// On one of this pool's workers, `f` runs inline; from outside, it is queued like any
    /// task (through the injector) and the caller blocks until it has run (the hand-off is
    /// `pool/install.rs`).
    fn install<F, R>(&self, f: F) -> Result<R, InstallError>
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        if self.shared.with_local(|local| local.is_some()) {
            return Ok(f());
        }
        install_on(self, f)
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

impl Hooks for WorkStealingPool {
    /// The closure goes into the task block directly: one allocation, as `execute`'s.
    #[inline]
    unsafe fn submit_borrowed<'a, F: FnOnce() + Send + 'a>(&self, f: F) -> Result<(), SubmitError> {
        // SAFETY: the caller keeps what `f` borrows valid until it has run or been dropped
        // (the trait method's contract), which is `new_borrowed`'s.
        let job = unsafe { Job::new_borrowed(f) };
        self.queue(job, true)
            .map_err(|(job, why)| submit_error(job, why))
    }

    /// On one of this pool's workers, the stack-job path (`work_stealing/join.rs`). From
    /// outside, the pair is first installed on a worker (as `rayon::join` from outside a
    /// pool does), where the second half is pushed onto that worker's deque; on a closed pool,
    /// which refuses the install, both halves run here.
    fn join_context<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let shared = &*self.shared;
        let halves = shared.with_local(move |local| match local {
            Some(local) => Ok(shared.join_on(local, a, b)),
            None => Err((a, b)),
        });
        let mut halves = match halves {
            Ok(pair) => return pair,
            Err(halves) => Some(halves),
        };
        let slot = &mut halves;
        let installed = self.install(move || {
            let (a, b) = slot.take().expect("the installed closure runs once");
            shared.with_local(move |local| match local {
                Some(local) => shared.join_on(local, a, b),
                // `install` runs its closure on one of our workers; never reached.
                None => both_here(a, b),
            })
        });
        match installed {
            Ok(pair) => pair,
            Err(_) => {
                let (a, b) = halves
                    .take()
                    .expect("a refused install did not run the pair");
                both_here(a, b)
            }
        }
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

    fn panics(&self) -> &Arc<PanicRecord> {
        self.shared.state.panics()
    }
}

state_pool_common!(stop_and_drop WorkStealingPool);
