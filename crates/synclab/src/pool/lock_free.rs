//! `LockFreePool`: the lock-free array queue, one state word, and three event counts.
//!
//! **What.** Tasks travel through an [`ArrayQueue`] (Vyukov's bounded MPMC queue); the pool's
//! bookkeeping is one 64-bit word (pending count, closed flag, idle generation); threads that
//! have nothing to do sleep on [`EventCount`]s — futex words — and are woken only when someone
//! registered:
//!
//! | event count | who sleeps | condition re-checked after `prepare_wait` | notified by |
//! |---|---|---|---|
//! | `work` | idle workers (after one bounded search) | a task can be popped, or closed with nothing pending | `submit` after a push if no worker is searching; the last searcher that finds work while more is queued; the last task of a closed pool |
//! | `space` | submitters facing a full queue (counted in `blocked`) | a push succeeds, or closed | a worker whose pop leaves the queue at most half full while someone is blocked; `close` |
//! | `idle` | `wait` callers | pending is 0, or the idle generation moved | the task that brings pending to 0 |
//!
//! **Staying out of the kernel.** A submitter pays a fence and a load per task and makes a
//! syscall only when no worker is *searching* (see `search`: at most `MAX_SEARCHERS` idle
//! workers poll the queue for `IDLE_SPINS` spins and `IDLE_YIELDS` yields before they
//! sleep). A worker pays a fence and a load per pop and wakes blocked submitters only at the
//! low watermark (half the capacity), so a submitter facing a full queue sleeps once per
//! half-queue rather than once per task. Both rules were measured: without them the pool made
//! about one futex call per task (strace) and ran at a tenth of the anchors' rate.
//!
//! **Source.** The event-count protocol is Vyukov's ("Eventcounts", 1024cores.net) as folly
//! and Eigen's `NonBlockingThreadPool` use it to park workers; the queue is
//! `crate::queue::ArrayQueue`; spinning briefly before parking is what rayon's sleep module
//! and Go's scheduler do to keep a busy pool out of the kernel.
//!
//! **The state word** (`state: AtomicU64`):
//!
//! | bits | field | changed by |
//! |---|---|---|
//! | 0..32 | pending: accepted tasks not yet finished (+ submitters between their increment and their push or undo) | `submit` (+1 before the push), a worker (−1 after the task *returns*), a refused submit (−1) |
//! | 32 | `CLOSED` | `close` (set once) |
//! | 33..64 | idle generation (wrapping) | a CAS from "pending 0, generation g" to "pending 0, g+1" by whoever brought pending to 0 |
//!
//! Counting a task *before* it is pushed means pending can never be 0 while a task is in the
//! queue or in a submitter's hands, so "closed and pending 0" is a safe exit condition for
//! workers, and `wait` never returns before a task submitted earlier has run. The generation
//! is bumped with a CAS that succeeds only while pending is still 0, so a changed generation
//! proves pending was 0 at some moment after the waiter's first read: every task counted
//! then had finished. That lets `wait` return even if new tasks arrive before it wakes.
//!
//! **Orderings.** Every change of the state word is a read-modify-write, so a `wait` whose
//! Acquire load reads pending 0 (or a moved generation) synchronizes with every worker's
//! Release decrement before it (each decrement heads a release sequence that every later RMW
//! continues): the tasks' effects are visible when `wait` returns. That is the only data the
//! word carries; every other access to it (admitting, closing, the generation bump, the
//! "closed?" checks of submitters and sleeping workers) is Relaxed. Sleeping uses the event
//! counts' own Dekker fences.
//!
//! **Tasks submitted by tasks.** A submit from one of the pool's own workers never waits for
//! room (the contract in [`crate::pool`]): when the queue is full, the (already counted) task
//! goes to `overflow`, a `VecDeque` under a mutex, and `overflowed` mirrors its length for the
//! workers, which take from the overflow before the queue. Pushing there ends with the same
//! `task_pushed` as a queue push, and every place a worker looks for work (`take`, `search`'s
//! polls, the look of the last searcher, the look before sleeping) looks at `overflowed` too,
//! after the same fences — so the Dekker arguments below hold with the overflow store in the
//! place of the queue's stamp store. Only a full queue and a submitting task reach this path.
//!
//! **Progress.** `submit` and a worker's pop are lock-free in the queue's sense (see
//! `ArrayQueue`: a thread stalled between its CAS and its stamp store can hold up its slot);
//! sleeping is blocking by design. An idle worker searches at most `IDLE_SPINS` +
//! `IDLE_YIELDS` rounds (each a few loads) and then sleeps on a futex; it never spins
//! without bound.

use std::collections::VecDeque;

use super::{
    join_workers, on_own_worker, run_task, search_idle, BuildError, PanicRecord, PoolConfig,
    ShutdownReport, SubmitError, SubmitErrorKind, Task, ThreadPool, TrySubmitError, WaitError,
    WaitReport, MAX_PENDING,
};
use crate::queue::{ArrayQueue, EventCount};
use crate::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use crate::sync::time::Instant;
use crate::sync::{thread, Arc, StdMutex};
use core::time::Duration;
use crossbeam_utils::CachePadded;

/// One pending task in the state word.
const PENDING_ONE: u64 = 1;
/// Mask of the pending count.
const PENDING_MASK: u64 = (1 << 32) - 1;
/// Set once the pool is closed.
const CLOSED: u64 = 1 << 32;
/// One step of the idle generation.
const GENERATION_ONE: u64 = 1 << 33;

/// How many times an idle worker re-checks the queue before it sleeps (plain build; a single
/// check under a checker). About a microsecond of polling: long enough to catch a submitter
/// that is producing a burst, short enough that an idle pool costs nothing.
pub(crate) const IDLE_SPINS: u32 = 64;

/// After `IDLE_SPINS`, how many times an idle worker yields the CPU and re-checks before it
/// sleeps (plain build; a single time under a checker). On a loaded machine a yield lets the
/// submitter run, which is what the idle worker is waiting for.
pub(crate) const IDLE_YIELDS: u32 = 16;

/// At most this many idle workers spin at once; more would only take CPU from submitters
/// and busy workers, since one searcher already picks up a new task at once.
pub(crate) const MAX_SEARCHERS: usize = 1;

/// Locks the overflow, ignoring poison (nothing panics while holding it: `VecDeque` pushes
/// after `try_reserve` and pops do not).
fn lock<T>(mutex: &StdMutex<T>) -> crate::sync::StdMutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[inline]
fn pending(state: u64) -> u64 {
    state & PENDING_MASK
}

#[inline]
fn is_closed(state: u64) -> bool {
    state & CLOSED != 0
}

#[inline]
fn generation(state: u64) -> u64 {
    state >> 33
}

struct Shared {
    queue: ArrayQueue<Task>,
    /// Tasks submitted by the pool's own workers while the queue was full (they may not wait
    /// for room: module docs of [`crate::pool`]). Workers take from here before the queue.
    /// A mutex: this path is cold (only a full queue and a submitting task reach it).
    overflow: StdMutex<VecDeque<Task>>,
    /// `overflow`'s length, mirrored under its lock, for workers to check without the lock.
    overflowed: AtomicUsize,
    /// pending | CLOSED | idle generation; see the table in the module docs.
    state: CachePadded<AtomicU64>,
    /// Workers searching an empty queue (see `search`), at most `MAX_SEARCHERS`: while one
    /// does, submitters wake nobody.
    searching: CachePadded<AtomicUsize>,
    /// Submitters sleeping on a full queue (see `wait_for_space`).
    blocked: AtomicUsize,
    /// Blocked submitters are woken once the queue holds at most this many tasks.
    low_watermark: usize,
    /// Payloads of tasks that panicked since the last `wait` (and of unjoined spawned ones).
    panics: Arc<PanicRecord>,
    work: EventCount,
    space: EventCount,
    idle: EventCount,
}

/// A thread pool over the lock-free [`ArrayQueue`], parking idle threads on event counts.
/// See [the module docs](self).
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
    /// Counts one task in, unless the pool is closed.
    #[inline]
    fn admit(&self) -> bool {
        // Relaxed: the count only has to be in place before the push, which follows in
        // program order and publishes the task itself (the queue's Release stamp store).
        let previous = self.state.fetch_add(PENDING_ONE, Ordering::Relaxed);
        if is_closed(previous) {
            self.finish_one();
            return false;
        }
        true
    }

    /// Counts one task out: it finished (or was refused). Wakes `wait` callers if it was the
    /// last one, and idle workers too if the pool is closed (they may exit).
    #[inline]
    fn finish_one(&self) {
        // Release: publishes the finished task's effects to a `wait` that Acquire-loads a
        // later value of this word (every change is an RMW, so each decrement heads a release
        // sequence that the later RMWs continue). Not AcqRel: this thread reads nothing that
        // another task wrote; the wake-ups below publish nothing (the audit showed the
        // Acquire half this once had was stronger than needed).
        let previous = self.state.fetch_sub(PENDING_ONE, Ordering::Release);
        if pending(previous) == 1 {
            self.became_idle(previous - PENDING_ONE);
        }
    }

    #[cold]
    fn became_idle(&self, now: u64) {
        // Only while pending is still 0: a moved generation then proves an idle moment.
        // Relaxed: an RMW continues the release sequences of every decrement before it, so a
        // `wait` that Acquire-loads the moved generation synchronizes with all of them
        // without this CAS releasing anything itself. A failed CAS means a new task arrived,
        // and the next idle moment will do this again.
        let _ = self.state.compare_exchange(
            now,
            now.wrapping_add(GENERATION_ONE),
            Ordering::Relaxed,
            Ordering::Relaxed,
        );
        self.idle.notify_all();
        if is_closed(now) {
            self.work.notify_all();
        }
    }

    /// A counted task from one of the pool's own workers, with the queue full: into the
    /// overflow, unless the pool holds `MAX_PENDING` tasks or the overflow cannot grow; then
    /// the task is handed back, counted out.
    #[cold]
    fn push_overflow(&self, task: Task) -> Result<(), SubmitError> {
        // Relaxed: a bound, not a synchronization; admitting already counted this task.
        let at_limit = pending(self.state.load(Ordering::Relaxed)) as usize > MAX_PENDING;
        let mut overflow = lock(&self.overflow);
        if at_limit || overflow.try_reserve(1).is_err() {
            drop(overflow);
            self.finish_one();
            return Err(SubmitError::new(SubmitErrorKind::Overflow, task));
        }
        overflow.push_back(task);
        // Relaxed: a hint for workers, ordered by the fence in `task_pushed` (a worker about
        // to sleep reads it after the fence in `prepare_wait`: the Dekker pair of
        // `task_pushed`, with this store in the place of the queue's stamp store).
        self.overflowed.store(overflow.len(), Ordering::Relaxed);
        drop(overflow);
        self.task_pushed();
        Ok(())
    }

    /// The next task: from the overflow first (tasks that running tasks submitted: finishing
    /// work in progress is what bounds the overflow), else from the queue.
    #[inline]
    fn take(&self) -> Option<Task> {
        // Relaxed: a hint (see `push_overflow`); the overflow itself is read under its lock.
        if self.overflowed.load(Ordering::Relaxed) != 0 {
            if let Some(task) = self.take_overflow() {
                return Some(task);
            }
        }
        self.queue.pop()
    }

    #[cold]
    fn take_overflow(&self) -> Option<Task> {
        let mut overflow = lock(&self.overflow);
        let task = overflow.pop_front();
        // Relaxed: as in `push_overflow`.
        self.overflowed.store(overflow.len(), Ordering::Relaxed);
        task
    }

    /// Whether a task looked available (overflow or queue) at some moment of the call.
    #[inline]
    fn has_work(&self) -> bool {
        // Relaxed: as in `take`.
        self.overflowed.load(Ordering::Relaxed) != 0 || !self.queue.is_empty()
    }

    /// Pushes a counted task, sleeping on `space` while the queue is full. Hands the task
    /// back (already counted out) if the pool closes meanwhile.
    #[inline]
    fn push_blocking(&self, mut task: Task) -> Result<(), Task> {
        loop {
            task = match self.queue.push(task) {
                Ok(()) => {
                    self.task_pushed();
                    return Ok(());
                }
                Err(back) => back,
            };
            task = match self.wait_for_space(task)? {
                None => return Ok(()),
                Some(retry) => retry,
            };
        }
    }

    /// The queue was full: counts itself in `blocked`, registers on `space`, re-checks
    /// "closed" and the queue, and sleeps once. `Ok(None)`: pushed after all;
    /// `Ok(Some(task))`: retry; `Err(task)`: closed, the task is handed back (counted out).
    #[cold]
    fn wait_for_space(&self, task: Task) -> Result<Option<Task>, Task> {
        // Relaxed: the fence in `prepare_wait` orders it before our retry (see `task_taken`).
        self.blocked.fetch_add(1, Ordering::Relaxed);
        let key = self.space.prepare_wait();
        // Relaxed: `close` publishes nothing; a submitter that sees CLOSED only hands its
        // task back. (The fence in `prepare_wait` above and the ones in `close`'s notifies
        // decide whether we see the flag or get woken.)
        let result = if is_closed(self.state.load(Ordering::Relaxed)) {
            self.space.cancel_wait(key);
            self.finish_one();
            Err(task)
        } else {
            match self.queue.push(task) {
                Ok(()) => {
                    self.space.cancel_wait(key);
                    self.task_pushed();
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

    /// Tells blocked submitters a task was taken off the queue — once it has drained to the
    /// low watermark (half the capacity), so that a woken submitter can push a batch instead
    /// of sleeping again after every task.
    ///
    /// No wake-up is lost: the Dekker pair is our pop, then this fence, then the load of
    /// `blocked`; against the submitter's increment of `blocked`, then the fence in its
    /// `prepare_wait`, then its retried push. Either its retry sees our pop, or we see it
    /// counted; and workers keep popping while the queue is non-empty, so one of them brings
    /// it to the watermark.
    #[inline]
    fn task_taken(&self) {
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

    /// Tells the workers a task was pushed: wakes a sleeping worker unless one is searching.
    ///
    /// A searching worker looks at the queue again after it stops searching — before it
    /// sleeps, or (if it found a task and was the last searcher) before it decides whether to
    /// wake a peer — so while one is counted, the task is not stranded. The Dekker pair: our
    /// push, then this fence, then the load of `searching`; against the searcher's decrement
    /// of `searching`, then a SeqCst fence, then its look at the queue. Whichever fence is
    /// second sees the other side's store.
    #[inline]
    fn task_pushed(&self) {
        // SeqCst fence: our push (the queue's Release stamp store) comes before the load of
        // `searching` in the total order. Pairs with the fence a searcher runs after its
        // decrement (in `prepare_wait` on the way to sleep, or in `search` on success).
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::Relaxed) == 0 {
            self.work.notify_one();
        }
    }

    fn worker_loop(&self) {
        // Whether this worker has just been woken: if it finds work at once, it passes the
        // wake-up on while more is queued, so a burst of tasks spreads over the sleepers.
        let mut woken = false;
        loop {
            let task = match self.take() {
                Some(task) => {
                    if woken {
                        self.pass_wake_on();
                    }
                    task
                }
                None => match self.search() {
                    Some(task) => task,
                    None => match self.sleep() {
                        // Found on the way to sleep, after a search that saw nothing: the
                        // submitters that pushed during that search skipped their wake-ups
                        // (we were counted as searching), so we answer for every task they
                        // pushed, not only this one — wake a peer if more is queued. (Without
                        // it a burst pushed during a fruitless search ran one task at a time:
                        // shuttle's `burst_runs_in_parallel` deadlocked, issue 13.)
                        Slept::Found(task) => {
                            self.pass_wake_on();
                            task
                        }
                        Slept::Woken => {
                            woken = true;
                            continue;
                        }
                        Slept::Exit => return,
                    },
                },
            };
            woken = false;
            self.task_taken();
            run_task(task, &self.panics);
            self.finish_one();
        }
    }

    /// Re-checks an empty queue (loads only until it sees a task) up to `IDLE_SPINS` times,
    /// then up to `IDLE_YIELDS` times yielding the CPU in between, counted in `searching`
    /// so that submitters need not wake anyone meanwhile. At most `MAX_SEARCHERS` workers
    /// search at once; the others go straight to sleep.
    #[inline]
    fn search(&self) -> Option<Task> {
        // Relaxed: a hint for submitters; the fences named in `task_pushed` carry the
        // correctness argument.
        if self.searching.load(Ordering::Relaxed) >= MAX_SEARCHERS {
            return None;
        }
        self.searching.fetch_add(1, Ordering::Relaxed);
        let found = search_idle(|| if self.has_work() { self.take() } else { None });
        // Relaxed: on success, see above; on failure, the fence in `prepare_wait` (in
        // `sleep`) orders it before our last look.
        if self.searching.fetch_sub(1, Ordering::Relaxed) == 1 && found.is_some() {
            self.last_searcher_found_work();
        }
        found
    }

    /// The last searcher found a task and is about to run it: if more tasks are queued, a
    /// submitter may have skipped its wake-up because we were searching, so wake a peer.
    #[cold]
    fn last_searcher_found_work(&self) {
        // SeqCst fence: our decrement of `searching` comes before our (Relaxed) look at the
        // queue in the total order; pairs with the fence in `task_pushed`.
        fence(Ordering::SeqCst);
        // Relaxed: the fence above orders it, as the queue's look.
        if !self.queue.looks_empty() || self.overflowed.load(Ordering::Relaxed) != 0 {
            self.work.notify_one();
        }
    }

    /// A woken worker — or one that found a task on its way to sleep — has a task: if more are
    /// queued, wake another sleeper. (Submitters that pushed them while a worker searched
    /// woke nobody; without this a burst of long tasks would run one at a time — the demo
    /// showed it: 1.5 s instead of 1.2 s — and a burst of tasks that wait for each other
    /// would deadlock.)
    ///
    /// Every task whose submitter skipped its wake is visible here: the submitter's load of
    /// `searching` read the count from before our decrement, so (fence–fence, as in
    /// `task_pushed`) its push precedes the fence in our `prepare_wait`, and our look below
    /// comes after that fence.
    #[cold]
    fn pass_wake_on(&self) {
        if self.has_work() {
            self.work.notify_one();
        }
    }

    /// Registers on `work`, looks at the queue and the state once more, and sleeps.
    #[cold]
    fn sleep(&self) -> Slept {
        let key = self.work.prepare_wait();
        if let Some(task) = self.take() {
            self.work.cancel_wait(key);
            return Slept::Found(task);
        }
        // Relaxed: the worker reads nothing the tasks wrote before it exits; whoever needs
        // their effects gets them from `wait` (Acquire) or from joining the workers.
        let state = self.state.load(Ordering::Relaxed);
        if is_closed(state) && pending(state) == 0 {
            self.work.cancel_wait(key);
            return Slept::Exit;
        }
        self.work.wait(key);
        Slept::Woken
    }
}

/// How a worker's attempt to sleep ended.
enum Slept {
    /// A task arrived before it slept.
    Found(Task),
    /// It slept and was woken (or woke spuriously): look again.
    Woken,
    /// The pool is closed and nothing is pending: the worker exits.
    Exit,
}

impl ThreadPool for LockFreePool {
    fn build(config: PoolConfig) -> Result<Self, BuildError> {
        let (workers, capacity) = config.validate()?;
        let queue = ArrayQueue::new(capacity).map_err(BuildError::from)?;
        let shared = Arc::new(Shared {
            queue,
            overflow: StdMutex::new(VecDeque::new()),
            overflowed: AtomicUsize::new(0),
            state: CachePadded::new(AtomicU64::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
            blocked: AtomicUsize::new(0),
            low_watermark: capacity / 2,
            panics: Arc::new(PanicRecord::new()),
            work: EventCount::new(),
            space: EventCount::new(),
            idle: EventCount::new(),
        });
        let handles = super::spawn_workers(&shared, workers, Shared::worker_loop);
        Ok(Self {
            shared,
            handles,
            workers,
        })
    }

    #[inline]
    fn submit(&self, task: Task) -> Result<(), SubmitError> {
        let shared = &*self.shared;
        if !shared.admit() {
            return Err(SubmitError::closed(task));
        }
        match shared.queue.push(task) {
            Ok(()) => {
                shared.task_pushed();
                Ok(())
            }
            // A task of this pool may not wait for room (it would wait for itself).
            Err(task) if on_own_worker(&self.handles) => shared.push_overflow(task),
            Err(task) => shared.push_blocking(task).map_err(SubmitError::closed),
        }
    }

    #[inline]
    fn try_submit(&self, task: Task) -> Result<(), TrySubmitError> {
        let shared = &*self.shared;
        if !shared.admit() {
            return Err(TrySubmitError::closed(task));
        }
        match shared.queue.push(task) {
            Ok(()) => {
                shared.task_pushed();
                Ok(())
            }
            Err(task) => {
                shared.finish_one();
                Err(TrySubmitError::full(task))
            }
        }
    }

    fn wait(&self) -> Result<WaitReport, WaitError> {
        self.wait_until(None)
    }

    fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitError> {
        self.wait_until(Instant::now().checked_add(timeout))
    }

    fn close(&self) {
        let shared = &*self.shared;
        // Relaxed: closing publishes nothing (submitters that see CLOSED hand their task back,
        // workers that see it exit); as an RMW it still continues the decrements' release
        // sequences for `wait`. The notifies' fences order it before their waiter checks.
        let previous = shared.state.fetch_or(CLOSED, Ordering::Relaxed);
        if !is_closed(previous) {
            shared.work.notify_all();
            shared.space.notify_all();
        }
    }

    fn shutdown(mut self) -> ShutdownReport {
        self.stop()
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn capacity(&self) -> usize {
        self.shared.queue.capacity()
    }

    fn panics(&self) -> &Arc<PanicRecord> {
        &self.shared.panics
    }
}

impl LockFreePool {
    /// `wait`, giving up at `deadline` (if any).
    fn wait_until(&self, deadline: Option<Instant>) -> Result<WaitReport, WaitError> {
        // A task of this pool would wait for itself (module docs of `crate::pool`).
        if on_own_worker(&self.handles) {
            return Err(WaitError::InsideTask);
        }
        let shared = &*self.shared;
        // Acquire: pairs with the Release decrements (see "Orderings" in the module docs).
        let start = shared.state.load(Ordering::Acquire);
        let idle_since_start = |now: u64| pending(now) == 0 || generation(now) != generation(start);
        if pending(start) != 0 {
            loop {
                let key = shared.idle.prepare_wait();
                // Acquire: as above.
                if idle_since_start(shared.state.load(Ordering::Acquire)) {
                    shared.idle.cancel_wait(key);
                    break;
                }
                if shared.idle.wait_until(key, deadline).timed_out() {
                    // Unregistered; one last look (Acquire: as above) before giving up.
                    if idle_since_start(shared.state.load(Ordering::Acquire)) {
                        break;
                    }
                    return Err(WaitError::TimedOut);
                }
            }
        }
        // The payloads were recorded before the decrements we synchronized with.
        Ok(WaitReport::of(shared.panics.take()))
    }

    fn stop(&mut self) -> ShutdownReport {
        self.close();
        let workers = join_workers(std::mem::take(&mut self.handles));
        // The joins above ordered every worker's records before this (when detached, the
        // payloads recorded later go to nobody's report: the pool is gone).
        ShutdownReport::of(self.shared.panics.take(), workers)
    }
}

impl Drop for LockFreePool {
    fn drop(&mut self) {
        if !self.handles.is_empty() {
            // Nobody takes this report: its payloads are dropped under a guard, since a
            // payload's own `Drop` may panic (and this thread may already be unwinding).
            let report = self.stop();
            report.payloads.into_iter().for_each(super::drop_payload);
        }
    }
}

impl core::fmt::Debug for LockFreePool {
    /// Shows the configuration only: the state is under concurrent mutation.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LockFreePool")
            .field("workers", &self.workers)
            .field("capacity", &self.shared.queue.capacity())
            .finish_non_exhaustive()
    }
}
