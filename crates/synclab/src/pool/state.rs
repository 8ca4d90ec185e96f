//! `PoolState`: the bookkeeping the lock-free pools share — one state word that counts
//! pending tasks and carries the closed flag and an idle generation; the event counts that
//! idle workers and `wait` callers sleep on; and the count of workers *searching* for work,
//! which lets a submitter skip the wake-up while one is.
//!
//! [`LockFreePool`](super::LockFreePool) and [`WorkStealingPool`](super::WorkStealingPool)
//! differ in where tasks wait (one shared queue, or a deque per worker plus an injector) and
//! keep this part identical, so it is written once.
//!
//! **The state word** (`state: AtomicU64`):
//!
//! | bits | field | changed by |
//! |---|---|---|
//! | 0..32 | pending: accepted tasks not yet finished (+ submitters between their increment and their push or undo) | [`admit`](PoolState::admit) (+1 before the push), [`finish_one`](PoolState::finish_one) (−1 after the task *returns*, or for a refused submit) |
//! | 32 | `CLOSED` | [`close`](PoolState::close) (set once) |
//! | 33..64 | idle generation (wrapping) | a CAS from "pending 0, generation g" to "pending 0, g+1" by whoever brought pending to 0 |
//!
//! Counting a task *before* it is pushed means pending can never be 0 while a task is queued
//! or in a submitter's hands, so "closed and pending 0" is a safe exit condition for workers,
//! and `wait` never returns before a task submitted earlier has run. The generation is bumped
//! with a CAS that succeeds only while pending is still 0, so a changed generation proves
//! pending was 0 at some moment after the waiter's first read: every task counted then had
//! finished. That lets `wait` return even if new tasks arrive before it wakes.
//!
//! **Orderings.** Every change of the state word is a read-modify-write, so a `wait` whose
//! Acquire load reads pending 0 (or a moved generation) synchronizes with every worker's
//! Release decrement before it (each decrement heads a release sequence that every later RMW
//! continues): the tasks' effects are visible when `wait` returns. That is the only data the
//! word carries; every other access to it is Relaxed. Sleeping uses the event counts' own
//! Dekker fences; the searcher hand-off has its own pair of fences (see
//! [`published`](PoolState::published)). The panic payloads are in a [`PanicRecord`]: a worker
//! records a payload before its decrement, and `wait` takes them after its Acquire load, so
//! every payload recorded before a decrement it synchronized with is there.
//!
//! **Idle search.** An idle worker first *searches*: counted in `searching` (at most
//! `MAX_SEARCHERS` at once), it looks for work for `IDLE_SPINS` spins and `IDLE_YIELDS`
//! yields, then sleeps on the `work` event count. While one searches, a submitter pays a fence
//! and a load and makes no syscall; rayon's sleep module and Go's scheduler spin the same way
//! before they park.

use super::panics::{PanicPayload, PanicRecord};
use super::workers::search_idle;
use super::{WaitError, WaitReport};
use crate::queue::EventCount;
use crate::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use crate::sync::time::Instant;
use crate::sync::Arc;
use crossbeam_utils::CachePadded;

/// What the pools on `PoolState` (`LockFreePool`, `WorkStealingPool`) share word for word, in
/// one place: the `ThreadPool` methods that only delegate (`trait_methods`), and `stop` plus
/// the `Drop` that runs it and `Debug` (`stop_and_drop`). A pool using them has the fields
/// `shared` (with a `state: PoolState`), `handles` and `workers`, and a `wait_until` of its own
/// (how a pool recognises a call from one of its tasks differs); `trait_methods` expands where
/// `Duration`, `Instant`, `WaitReport`, `WaitError` and `ShutdownReport` are in scope.
macro_rules! state_pool_common {
    (trait_methods) => {
        fn wait(&self) -> Result<WaitReport, WaitError> {
            self.wait_until(None)
        }

        fn wait_timeout(&self, timeout: Duration) -> Result<WaitReport, WaitError> {
            self.wait_until(Instant::now().checked_add(timeout))
        }

        fn shutdown(mut self) -> ShutdownReport {
            self.stop()
        }

        fn workers(&self) -> usize {
            self.workers
        }
    };
    (stop_and_drop $pool:ty) => {
        impl $pool {
            fn stop(&mut self) -> $crate::pool::ShutdownReport {
                self.close();
                let workers =
                    $crate::pool::workers::join_workers(std::mem::take(&mut self.handles));
                // The joins above ordered every worker's records before this (when detached,
                // the payloads recorded later go to nobody's report: the pool is gone).
                $crate::pool::ShutdownReport::of(self.shared.state.take_payloads(), workers)
            }
        }

        impl Drop for $pool {
            fn drop(&mut self) {
                if !self.handles.is_empty() {
                    // Nobody takes this report: its payloads are dropped under a guard, since
                    // a payload's own `Drop` may panic (and this thread may already be
                    // unwinding).
                    let report = self.stop();
                    report
                        .payloads
                        .into_iter()
                        .for_each($crate::pool::panics::drop_payload);
                }
            }
        }

        impl core::fmt::Debug for $pool {
            /// Shows the configuration only: the state is under concurrent mutation.
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($pool))
                    .field("workers", &self.workers)
                    .field("capacity", &$crate::pool::ThreadPool::capacity(self))
                    .finish_non_exhaustive()
            }
        }
    };
}

/// How many times an idle worker re-checks for work before it sleeps (plain build; under a
/// checker the whole search is one yield and one check: `search_idle`). About a microsecond of
/// polling: long enough to catch a submitter that is producing a burst, short enough that an
/// idle pool costs nothing.
pub(crate) const IDLE_SPINS: u32 = 64;

/// After `IDLE_SPINS`, how many times an idle worker yields the CPU and re-checks before it
/// sleeps (plain build). On a loaded machine a yield lets the
/// submitter run, which is what the idle worker is waiting for.
pub(crate) const IDLE_YIELDS: u32 = 16;

/// At most this many idle workers search at once; more would only take CPU from submitters
/// and busy workers, since one searcher already picks up a new task at once.
pub(crate) const MAX_SEARCHERS: usize = 1;

/// One pending task in the state word.
const PENDING_ONE: u64 = 1;
/// Mask of the pending count.
const PENDING_MASK: u64 = (1 << 32) - 1;
/// Set once the pool is closed.
const CLOSED: u64 = 1 << 32;
/// One step of the idle generation.
const GENERATION_ONE: u64 = 1 << 33;

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

/// The shared bookkeeping of a lock-free pool; see the [module docs](self).
pub(crate) struct PoolState {
    /// pending | CLOSED | idle generation; see the table in the module docs.
    state: CachePadded<AtomicU64>,
    /// Workers searching for work (see [`PoolState::search`]), at most `MAX_SEARCHERS`:
    /// while one does, submitters wake nobody.
    searching: CachePadded<AtomicUsize>,
    /// A copy of the CLOSED bit on a line of its own, written once: `is_closed` reads it, so
    /// a check that runs on every submit (a work-stealing worker's, which uses its credit
    /// instead of an RMW on `state`) does not miss the cache on the state word, which every
    /// worker writes.
    closed: CachePadded<AtomicBool>,
    /// Payloads of tasks that panicked since the last `wait` (and of unjoined spawned ones).
    panics: Arc<PanicRecord>,
    /// Idle workers sleep here.
    work: EventCount,
    /// `wait` callers sleep here.
    idle: EventCount,
}

/// How a worker's attempt to sleep ended.
pub(crate) enum Slept<T> {
    /// Work turned up before it slept.
    Found(T),
    /// It slept and was woken (or woke spuriously): look again.
    Woken,
    /// The pool is closed and nothing is pending: the worker exits.
    Exit,
}

impl PoolState {
    pub(crate) fn new() -> Self {
        Self {
            state: CachePadded::new(AtomicU64::new(0)),
            searching: CachePadded::new(AtomicUsize::new(0)),
            closed: CachePadded::new(AtomicBool::new(false)),
            panics: Arc::new(PanicRecord::new()),
            work: EventCount::new(),
            idle: EventCount::new(),
        }
    }

    /// Counts one task in, unless the pool is closed.
    #[inline]
    pub(crate) fn admit(&self) -> bool {
        // Relaxed: the count only has to be in place before the push, which follows in
        // program order and publishes the task itself (the queue's own Release).
        let previous = self.state.fetch_add(PENDING_ONE, Ordering::Relaxed);
        if is_closed(previous) {
            self.finish_one();
            return false;
        }
        true
    }

    /// Counts `n` units in at once, unless the pool is closed: a work-stealing worker's
    /// *credit* for tasks its tasks will submit (see `WorkStealingPool`).
    #[inline]
    pub(crate) fn reserve(&self, n: u64) -> bool {
        // Relaxed: as in `admit`.
        let previous = self.state.fetch_add(n * PENDING_ONE, Ordering::Relaxed);
        if is_closed(previous) {
            self.release(n);
            return false;
        }
        true
    }

    /// The record the workers' caught panics go to (`ThreadPool::panics`).
    #[inline]
    pub(crate) fn panics(&self) -> &Arc<PanicRecord> {
        &self.panics
    }

    /// Counts one task out: it finished (or was refused).
    #[inline]
    pub(crate) fn finish_one(&self) {
        self.release(1);
    }

    /// Counts `n` units out: finished tasks (or refused ones, or unused credit). Wakes `wait`
    /// callers if they were the last ones, and idle workers too if the pool is closed (they
    /// may exit).
    #[inline]
    pub(crate) fn release(&self, n: u64) {
        // Release: publishes the finished tasks' effects to a `wait` that Acquire-loads a
        // later value of this word (every change is an RMW, so each decrement heads a release
        // sequence that the later RMWs continue). Not AcqRel: this thread reads nothing that
        // another task wrote; the wake-ups below publish nothing.
        let previous = self.state.fetch_sub(n * PENDING_ONE, Ordering::Release);
        if pending(previous) == n {
            self.became_idle(previous - n * PENDING_ONE);
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

    /// Whether the pool is closed. Relaxed: a caller that sees CLOSED only hands its task back
    /// or exits; `close` publishes nothing. A `close` that happens before the call is seen
    /// (coherence); the flag is stored before the state word's bit and before `close`'s
    /// notify fences, so a sleeper's re-check after its `prepare_wait` fence sees it or is
    /// woken.
    #[inline]
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    /// The pending count (with credits), in a Relaxed load: a bound to check against
    /// [`MAX_PENDING`](super::config::MAX_PENDING), not a synchronization.
    #[inline]
    pub(crate) fn pending_hint(&self) -> usize {
        pending(self.state.load(Ordering::Relaxed)) as usize
    }

    /// Closes the pool; returns whether this call did it. Wakes every idle worker.
    pub(crate) fn close(&self) -> bool {
        // Relaxed: closing publishes nothing (submitters that see CLOSED hand their task back,
        // workers that see it exit); as an RMW it still continues the decrements' release
        // sequences for `wait`. The notify's fence orders it before the waiters' checks.
        // Relaxed: as `is_closed` says; stored before the notify fences below.
        self.closed.store(true, Ordering::Relaxed);
        let previous = self.state.fetch_or(CLOSED, Ordering::Relaxed);
        if is_closed(previous) {
            return false;
        }
        self.work.notify_all();
        true
    }

    /// Returns once every task counted before the call has finished (or an idle moment has
    /// passed), giving up at `deadline` (if any); reports and takes the panic payloads.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> Result<WaitReport, WaitError> {
        // Acquire: pairs with the Release decrements (see "Orderings" in the module docs).
        let start = self.state.load(Ordering::Acquire);
        let idle_since_start = |now: u64| pending(now) == 0 || generation(now) != generation(start);
        if pending(start) != 0 {
            loop {
                let key = self.idle.prepare_wait();
                // Acquire: as above.
                if idle_since_start(self.state.load(Ordering::Acquire)) {
                    self.idle.cancel_wait(key);
                    break;
                }
                if self.idle.wait_until(key, deadline).timed_out() {
                    // Unregistered; one last look (Acquire: as above) before giving up.
                    if idle_since_start(self.state.load(Ordering::Acquire)) {
                        break;
                    }
                    return Err(WaitError::TimedOut);
                }
            }
        }
        // The payloads were recorded before the decrements we synchronized with.
        Ok(WaitReport::of(self.take_payloads()))
    }

    /// The panic payloads not yet reported, taken out of the record. A caller that needs them
    /// complete has synchronized with the workers first (`wait_until`, or joining them).
    pub(crate) fn take_payloads(&self) -> Vec<PanicPayload> {
        self.panics.take()
    }

    /// Tells the workers a task was made available: wakes a sleeping worker unless one is
    /// searching.
    ///
    /// A searching worker looks for work again after it stops searching — before it sleeps,
    /// or (if it found a task and was the last searcher) before it decides whether to wake a
    /// peer — so while one is counted, the task is not stranded. The Dekker pair: the caller's
    /// publication, then this fence, then the load of `searching`; against the searcher's
    /// decrement of `searching`, then a SeqCst fence, then its look. Whichever fence is second
    /// sees the other side's store.
    #[inline]
    pub(crate) fn published(&self) {
        // SeqCst fence: the caller's publication (a queue's Release store) comes before the
        // load of `searching` in the total order. Pairs with the fence a searcher runs after
        // its decrement (in `prepare_wait` on the way to sleep, or in `search` on success).
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::Relaxed) == 0 {
            // The fence above is also the event count's notifier fence.
            let _ = self.work.notify_one_after_fence();
        }
    }

    /// Searches with `look` (loads only, until it sees work) for `IDLE_SPINS` spins and
    /// `IDLE_YIELDS` yields, counted in `searching` so that submitters need not wake anyone
    /// meanwhile. At most `MAX_SEARCHERS` workers search at once; the others go straight
    /// to sleep. The last searcher that finds work wakes a peer if `more` says more is
    /// available (see [`published`](Self::published)).
    #[inline]
    pub(crate) fn search<T>(
        &self,
        look: impl FnMut() -> Option<T>,
        more: impl FnOnce() -> bool,
    ) -> Option<T> {
        // Relaxed: a hint for submitters; the fences named in `published` carry the
        // correctness argument.
        if self.searching.load(Ordering::Relaxed) >= MAX_SEARCHERS {
            return None;
        }
        self.searching.fetch_add(1, Ordering::Relaxed);
        let found = search_idle(look);
        // Relaxed: on success, see below; on failure, the fence in `prepare_wait` (in
        // `sleep`) orders it before our last look.
        if self.searching.fetch_sub(1, Ordering::Relaxed) == 1 && found.is_some() {
            self.last_searcher_found_work(more);
        }
        found
    }

    /// A task its publisher will take back itself if nobody steals it (`join`'s second half)
    /// was made available: wakes a sleeping worker if, by two Relaxed loads, nobody searches
    /// and somebody sleeps. No fence, unlike [`published`](Self::published): a wake-up missed
    /// here costs parallelism — the publisher runs the task itself — never the task.
    #[inline]
    pub(crate) fn offered(&self) {
        // Relaxed: a hint (see above).
        if self.searching.load(Ordering::Relaxed) == 0 {
            // Without the fence `notify_one_after_fence` normally follows: a hint too.
            let _ = self.work.notify_one_after_fence();
        }
    }

    /// The last searcher found work and is about to run it: if more is available, a submitter
    /// may have skipped its wake-up because we were searching, so wake a peer.
    #[cold]
    fn last_searcher_found_work(&self, more: impl FnOnce() -> bool) {
        // SeqCst fence: our decrement of `searching` comes before our (Relaxed) look in the
        // total order; pairs with the fence in `published`.
        fence(Ordering::SeqCst);
        if more() {
            self.work.notify_one();
        }
    }

    /// A woken worker found work: if more is available, wake another sleeper. (Submitters
    /// that published while a worker searched woke nobody; without this a burst of long tasks
    /// would run one at a time.)
    #[cold]
    pub(crate) fn pass_wake_on(&self) {
        self.work.notify_one();
    }

    /// Registers on `work`, tries `look` once more, checks whether the pool is closed with
    /// nothing pending, and sleeps.
    ///
    /// Found on the way to sleep, after a search that saw nothing, the worker answers for
    /// every task published during that search — their publishers skipped the wake-up while
    /// it was counted as searching — not only the one it found: if `more` sees more work, it
    /// wakes a peer. (Without it a burst pushed during a fruitless search runs one task at a
    /// time, and a burst of tasks that wait for each other deadlocks: the pool model
    /// `burst_runs_in_parallel` checks it.) Every such task is visible to `more`: the
    /// publisher's load of `searching` read the count from before our decrement, so
    /// (fence–fence, as in [`published`](Self::published)) its publication precedes the fence
    /// in our `prepare_wait`, and `more` looks after that fence.
    #[cold]
    pub(crate) fn sleep<T>(
        &self,
        look: impl FnOnce() -> Option<T>,
        more: impl FnOnce() -> bool,
    ) -> Slept<T> {
        let key = self.work.prepare_wait();
        if let Some(found) = look() {
            self.work.cancel_wait(key);
            if more() {
                self.pass_wake_on();
            }
            return Slept::Found(found);
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

    /// An idle worker's way to sleep, as both lock-free pools take it: [`search`](Self::search)
    /// with `look`, and if that finds nothing, [`sleep`](Self::sleep) with `last_look`; `more`
    /// (Relaxed loads, ordered by the fence each of the two runs first) is what both ask when
    /// they find work.
    #[inline]
    pub(crate) fn search_then_sleep<T>(
        &self,
        look: impl FnMut() -> Option<T>,
        last_look: impl FnOnce() -> Option<T>,
        more: impl Fn() -> bool,
    ) -> Slept<T> {
        match self.search(look, &more) {
            Some(found) => Slept::Found(found),
            None => self.sleep(last_look, more),
        }
    }
}
