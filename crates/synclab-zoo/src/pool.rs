//! Zoo entries for the thread pools: faithful ports of the seed's two pools, bugs included.
//!
//! Source: `seed/shared-memory-ipc.txt`, "Thread Pool in C++" ([`SeedCppPool`]) and "Thread
//! Pool in Python" ([`SeedPythonPool`]). Each port keeps the seed's structure line by line (the
//! seed's names are given beside each field) so that the checkers judge the seed's design, not
//! a reinterpretation. The repaired designs are [`synclab::pool::CondvarPool`] and
//! [`synclab::pool::LockFreePool`]; `docs/designs.md` ("pool") maps each bug to what every
//! pool does instead, and `docs/zoo.md` shows how each one is caught.
//!
//! | entry | bug | how a checker sees it |
//! |---|---|---|
//! | [`SeedCppPool::wait`] | reads `m_Tasks` under `m_WaitMtx` while workers change it under `m_queueMtx` | data race (an unsynchronised `UnsafeCell` read) |
//! | [`SeedCppPool::wait`] | the `notify_one` can fall between `Wait()`'s check and its sleep | deadlock: the waiter sleeps forever |
//! | [`SeedCppPool::wait`] | returns when the queue is *empty*, not when tasks have *finished* | a task still running when `wait` returned |
//! | [`SeedCppPool::wait`] | `notify_one` wakes one of several waiters | deadlock with two waiters |
//! | [`SeedPythonPool`] workers | poll `tasks.empty()` in a loop without sleeping | livelock: branch / step limit |
//! | [`SeedPythonPool::wait`] | a task that raises kills its worker before `task_done()` | `join()` never returns: deadlock / step limit |
//! | [`install_waiting_once`] | the install hand-off's caller waits with `if`, not `while` | a spurious futex return: the caller comes back before the closure ran (`None`) |
//! | [`join_latch_set_when_taken`] | a fork-join whose latch says "taken" where the owner reads "finished" | the owner returns while the stolen half still runs: no result (`None`) |
//!
//! **Progress.** None is claimed: these are the seed's designs, kept because they are wrong.
//!
//! **Do not use.** The C++ port's `wait` performs a data race (undefined behaviour in Rust as
//! in C++). Under [the zoo's rule](super#the-rule-safe-code-cannot-reach-undefined-behaviour)
//! the faithful port is therefore built only by the `unsafe` [`SeedCppPool::new`], for the
//! checkers. [`SeedCppPool::with_guarded_read`] is the same port with the one change that
//! makes it sound — `Wait()` takes `m_queueMtx` for its read of `m_Tasks` — and keeps the
//! other three bugs; it is what `synclab demo pool --impl seed-cpp` runs on real threads (the
//! demo says so), and the exhaustive checker sees its lost wakeup and premature return, which the race hides in
//! the faithful port. The Python port has no data race (CPython's `queue.Queue` locks
//! everything): it is safe to build.

use std::collections::VecDeque;

use synclab::pool::Task;
use synclab::sync::atomic::{AtomicBool, Ordering::SeqCst};
use synclab::sync::{thread, Arc, StdCondvar, StdMutex, StdMutexGuard, UnsafeCell};

/// Locks a std (or checker) mutex, ignoring poison as every synclab family does.
fn lock<T>(mutex: &StdMutex<T>) -> StdMutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Waits on a std (or checker) condvar, ignoring poison.
fn wait<'a, T>(condvar: &StdCondvar, guard: StdMutexGuard<'a, T>) -> StdMutexGuard<'a, T> {
    condvar
        .wait(guard)
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The C++ pool
// ---------------------------------------------------------------------------------------------

struct CppShared {
    /// `m_Tasks`: guarded by `queue_mtx` — except in `Wait()`, which reads it unguarded.
    /// An `UnsafeCell` (not a `Mutex<VecDeque>`) so the checker sees that unguarded read.
    tasks: UnsafeCell<VecDeque<Task>>,
    /// `m_queueMtx`.
    queue_mtx: StdMutex<()>,
    /// `m_CV`: workers wait here for "stop or a task".
    cv: StdCondvar,
    /// `m_WaitMtx`: the second mutex, guarding nothing `Wait()` reads.
    wait_mtx: StdMutex<()>,
    /// `m_CVWait`.
    cv_wait: StdCondvar,
    /// `mb_Stop` (`std::atomic<bool>`, hence SeqCst).
    stop: AtomicBool,
    /// `false`: `Wait()` reads `m_Tasks` unguarded, as the seed does (built only by the
    /// `unsafe` `SeedCppPool::new`); `true`: under `queue_mtx` (`with_guarded_read`).
    guarded_read: bool,
}

// SAFETY: `tasks` holds `Send` tasks and is accessed only under `queue_mtx` — except by the
// seed's `Wait()` in the faithful port (`guarded_read == false`), which reads it unguarded on
// purpose: that port is built only by the `unsafe` `SeedCppPool::new`, whose contract
// confines it to a model checker's threads (the exhaustive checker reports the race before it happens; the randomized checker
// never overlaps two accesses).
unsafe impl Sync for CppShared {}

impl CppShared {
    /// `m_Tasks.empty()` — the caller must hold `queue_mtx`, or the read is a data race.
    fn tasks_empty(&self) -> bool {
        // SAFETY: sound with `queue_mtx` held, as every caller but `wait_predicate` does; that
        // one calls it without only in the faithful port (see `wait_predicate`).
        self.tasks.with(|tasks| unsafe { (*tasks).is_empty() })
    }

    /// `Wait()`'s predicate, `m_Tasks.empty()`, read under `m_WaitMtx` only (the seed) or,
    /// in the guarded port, with `m_queueMtx` held for the read.
    fn wait_predicate(&self) -> bool {
        if self.guarded_read {
            let _queue = lock(&self.queue_mtx);
            self.tasks_empty()
        } else {
            // The seed's unguarded read: a data race with the workers' pops. Reached only
            // through the `unsafe` `SeedCppPool::new` (see `CppShared`'s `Sync`).
            self.tasks_empty()
        }
    }

    /// `ThreadPool::workerThread()`, line by line.
    fn worker_thread(&self) {
        loop {
            let task;
            {
                let mut lock_ = lock(&self.queue_mtx);
                // m_CV.wait(lock, [this] { return mb_Stop || !m_Tasks.empty(); });
                #[allow(clippy::nonminimal_bool, reason = "kept in the seed's own form")]
                while !(self.stop.load(SeqCst) || !self.tasks_empty()) {
                    lock_ = wait(&self.cv, lock_);
                }
                if self.stop.load(SeqCst) && self.tasks_empty() {
                    return;
                }
                // SAFETY: `queue_mtx` is held (`lock_`), so no other access runs — except the
                // seed's unguarded read in `Wait()`, the race this entry shows.
                task = self
                    .tasks
                    .with_mut(|tasks| unsafe { (*tasks).pop_front() })
                    .expect("the predicate saw a task");
                // if (m_Tasks.empty()) m_CVWait.notify_one();  — under m_queueMtx, not
                // m_WaitMtx: the waiter may be between its check and its sleep.
                if self.tasks_empty() {
                    self.cv_wait.notify_one();
                }
                drop(lock_);
            }
            // task(); — the task runs after it left the queue, so "queue empty" ≠ "done".
            task();
        }
    }
}

/// A faithful port of the seed's C++ `ThreadPool`, with its four `Wait()` bugs (see the module
/// table) — built by the `unsafe` [`new`](Self::new) — or with three of them, built safely by
/// [`with_guarded_read`](Self::with_guarded_read). Do not use.
pub struct SeedCppPool {
    shared: Arc<CppShared>,
    /// `m_Workers`.
    workers: Vec<thread::JoinHandle<()>>,
}

impl SeedCppPool {
    /// `ThreadPool(size_t numThreads)`: starts `num_threads` workers — the faithful port, whose
    /// `wait` reads the queue without its mutex.
    ///
    /// ```compile_fail,E0133
    /// let pool = synclab_zoo::pool::SeedCppPool::new(2); // `new` is unsafe
    /// ```
    ///
    /// # Safety
    ///
    /// [`wait`](Self::wait) races with the workers on purpose (the seed's bug). The pool — which
    /// starts threads of its own through `synclab::sync::thread` — may be used only in a model
    /// checker's build, from the checker's threads: under the exhaustive checker (`--cfg synclab_loom`), which
    /// checks every access to the queue's cell and stops the execution at the first one not
    /// ordered by happens-before ("Causality violation") before it happens, or under the randomized checker
    /// (`--cfg synclab_shuttle`), which runs one thread at a time on one OS thread. On real
    /// threads `wait` is undefined behaviour; use [`with_guarded_read`](Self::with_guarded_read)
    /// there.
    pub unsafe fn new(num_threads: usize) -> Self {
        Self::start(num_threads, false)
    }

    /// The same port with `Wait()`'s read of `m_Tasks` made under `m_queueMtx` — the one change
    /// that makes it sound. The other three bugs stay: the lost wakeup (the worker's
    /// `notify_one` is still not ordered against `Wait()`'s check and sleep by `m_WaitMtx`), the
    /// premature return (empty ≠ finished) and `notify_one` for several waiters.
    pub fn with_guarded_read(num_threads: usize) -> Self {
        Self::start(num_threads, true)
    }

    fn start(num_threads: usize, guarded_read: bool) -> Self {
        let shared = Arc::new(CppShared {
            tasks: UnsafeCell::new(VecDeque::new()),
            queue_mtx: StdMutex::new(()),
            cv: StdCondvar::new(),
            wait_mtx: StdMutex::new(()),
            cv_wait: StdCondvar::new(),
            stop: AtomicBool::new(false),
            guarded_read,
        });
        let workers = (0..num_threads)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || shared.worker_thread())
            })
            .collect();
        Self { shared, workers }
    }

    /// `Submit(func)`: push under `m_queueMtx`, then `m_CV.notify_one()`.
    pub fn submit(&self, task: impl FnOnce() + Send + 'static) {
        {
            let _lk = lock(&self.shared.queue_mtx);
            // SAFETY: `queue_mtx` is held (except for the seed's racy read in `wait`).
            self.shared
                .tasks
                .with_mut(|tasks| unsafe { (*tasks).push_back(Box::new(task)) });
        }
        self.shared.cv.notify_one();
    }

    /// `Wait()`: `m_CVWait.wait(lk, [this] { return m_Tasks.empty(); })` under `m_WaitMtx`.
    ///
    /// Broken four ways (three in the [`with_guarded_read`](Self::with_guarded_read) port):
    /// the predicate reads `m_Tasks` without `m_queueMtx` (a data race); the
    /// worker's `notify_one` is not ordered against this check by any shared mutex (a lost
    /// wakeup: it can fall between the check and the sleep); "queue empty" is true while the
    /// last tasks still run (a premature return); and `notify_one` wakes one of several
    /// waiters.
    pub fn wait(&self) {
        let mut lk = lock(&self.shared.wait_mtx);
        while !self.shared.wait_predicate() {
            lk = wait(&self.shared.cv_wait, lk);
        }
        drop(lk);
    }
}

impl Drop for SeedCppPool {
    /// `~ThreadPool()`: set `mb_Stop` under `m_queueMtx`, `notify_all`, join every worker.
    /// (This part of the seed is right: workers drain the queue before they see stop.)
    fn drop(&mut self) {
        {
            let _lock = lock(&self.shared.queue_mtx);
            self.shared.stop.store(true, SeqCst);
        }
        self.shared.cv.notify_all();
        for worker in self.workers.drain(..) {
            // A task that panicked ended its worker (C++ would have called std::terminate).
            let _ = worker.join();
        }
    }
}

impl core::fmt::Debug for SeedCppPool {
    /// Reads nothing shared.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SeedCppPool")
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

// ---------------------------------------------------------------------------------------------
// The Python pool
// ---------------------------------------------------------------------------------------------

/// The state of Python's `queue.Queue` (CPython `Lib/queue.py`), all under `self.mutex`.
struct PyState {
    /// `self.queue` (a deque).
    queue: VecDeque<Task>,
    /// `self.unfinished_tasks`: incremented by `put`, decremented by `task_done`.
    unfinished_tasks: usize,
}

/// A port of CPython's `queue.Queue`: one mutex and three condvars over it. This part is
/// correct; the seed's bugs are in how its workers use it.
struct PyQueue {
    /// `self.mutex`.
    mutex: StdMutex<PyState>,
    /// `self.not_empty`.
    not_empty: StdCondvar,
    /// `self.not_full`.
    not_full: StdCondvar,
    /// `self.all_tasks_done`.
    all_tasks_done: StdCondvar,
    /// `self.maxsize`.
    maxsize: usize,
}

impl PyQueue {
    /// `Queue.empty()`: `with self.mutex: return not self._qsize()`.
    fn empty(&self) -> bool {
        lock(&self.mutex).queue.is_empty()
    }

    /// `Queue.put(item)` (block=True): wait while full, append, count it unfinished.
    fn put(&self, item: Task) {
        let mut state = lock(&self.mutex);
        while self.maxsize > 0 && state.queue.len() >= self.maxsize {
            state = wait(&self.not_full, state);
        }
        state.queue.push_back(item);
        state.unfinished_tasks += 1;
        self.not_empty.notify_one();
    }

    /// `Queue.get()` (block=True): wait while empty, pop, `not_full.notify()`.
    fn get(&self) -> Task {
        let mut state = lock(&self.mutex);
        loop {
            if let Some(item) = state.queue.pop_front() {
                self.not_full.notify_one();
                return item;
            }
            state = wait(&self.not_empty, state);
        }
    }

    /// `Queue.task_done()`: the last one wakes every `join()`.
    fn task_done(&self) {
        let mut state = lock(&self.mutex);
        state.unfinished_tasks = state
            .unfinished_tasks
            .checked_sub(1)
            .expect("task_done() called too many times");
        if state.unfinished_tasks == 0 {
            self.all_tasks_done.notify_all();
        }
    }

    /// `Queue.join()`: `while self.unfinished_tasks: self.all_tasks_done.wait()`.
    fn join(&self) {
        let mut state = lock(&self.mutex);
        while state.unfinished_tasks > 0 {
            state = wait(&self.all_tasks_done, state);
        }
    }
}

struct PyShared {
    tasks: PyQueue,
    /// Stands for the interpreter killing daemon threads at exit (`setDaemon(True)`): set by
    /// `Drop`, polled by the busy loop. Not part of the seed's code.
    interpreter_exiting: AtomicBool,
}

impl PyShared {
    /// `Worker.run()`, line by line.
    fn run(&self) {
        // while True:
        while !self.interpreter_exiting.load(SeqCst) {
            // if not self.tasks.empty():  — polled without sleeping: a busy-wait.
            if !self.tasks.empty() {
                // func, args, kwargs = self.tasks.get()
                let func = self.tasks.get();
                // func(*args, **kwargs) — an exception propagates out of run() and ends the
                // thread (Python prints the traceback); task_done() below is skipped.
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(func)).is_err() {
                    return;
                }
                // self.tasks.task_done()
                self.tasks.task_done();
            }
        }
    }
}

/// A faithful port of the seed's Python `ThreadPool`: daemon workers that busy-wait on
/// `tasks.empty()`, and a `wait` (`tasks.join()`) that never returns once a task has panicked.
/// Do not use.
pub struct SeedPythonPool {
    shared: Arc<PyShared>,
    num_threads: usize,
}

impl SeedPythonPool {
    /// `ThreadPool(num_threads)`: a `Queue(num_threads)` and `num_threads` daemon workers.
    pub fn new(num_threads: usize) -> Self {
        let shared = Arc::new(PyShared {
            tasks: PyQueue {
                mutex: StdMutex::new(PyState {
                    queue: VecDeque::new(),
                    unfinished_tasks: 0,
                }),
                not_empty: StdCondvar::new(),
                not_full: StdCondvar::new(),
                all_tasks_done: StdCondvar::new(),
                maxsize: num_threads,
            },
            interpreter_exiting: AtomicBool::new(false),
        });
        for _ in 0..num_threads {
            let shared = Arc::clone(&shared);
            // worker.setDaemon(True); worker.start() — never joined.
            drop(thread::spawn(move || shared.run()));
        }
        Self {
            shared,
            num_threads,
        }
    }

    /// `submit(func)`: `self.tasks.put(...)`, blocking while the queue holds `num_threads`.
    pub fn submit(&self, task: impl FnOnce() + Send + 'static) {
        self.shared.tasks.put(Box::new(task));
    }

    /// `wait()`: `self.tasks.join()`. Never returns if a task panicked (its `task_done` was
    /// skipped).
    pub fn wait(&self) {
        self.shared.tasks.join();
    }
}

impl Drop for SeedPythonPool {
    /// Daemon threads are not joined; this only tells them the "interpreter" is exiting.
    fn drop(&mut self) {
        self.shared.interpreter_exiting.store(true, SeqCst);
    }
}

impl core::fmt::Debug for SeedPythonPool {
    /// Reads nothing shared.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SeedPythonPool")
            .field("num_threads", &self.num_threads)
            .finish_non_exhaustive()
    }
}

/// [`ThreadPool::install`](synclab::pool::ThreadPool::install)'s hand-off with its caller's
/// wait written with `if` instead of `while`: THE BUG is that one futex return is taken as
/// "the closure has run". A futex wait may return spuriously (and a checker explores that
/// return), so the caller can come back while the closure has not run yet, and find no
/// result: `None` here, where the real hand-off (the packet's `wait_done` loop in
/// `synclab/src/pool/handle.rs`) waits again until `DONE`.
///
/// Source: the classic `if`-around-a-wait mistake, in the hand-off rayon's `in_worker_cold`
/// performs through a latch (its `LockLatch` re-checks under a mutex; synclab's packet
/// re-checks its word). A logic bug — the closure is `'static` and its result travels
/// through a mutex — so the API is safe: a wrong `None`, never undefined behaviour.
pub fn install_waiting_once<P, F, R>(pool: &P, f: F) -> Option<R>
where
    P: synclab::pool::ThreadPool,
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    use synclab::sync::atomic::{AtomicU32, Ordering};
    /// The result is in the cell.
    const DONE: u32 = 1;
    let latch = Arc::new((AtomicU32::new(0), StdMutex::new(None)));
    let setter = Arc::clone(&latch);
    pool.execute(move || {
        let value = f();
        *setter.1.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        // Release: pairs with the caller's Acquire load.
        setter.0.store(DONE, Ordering::Release);
        synclab::sync::futex::wake_one(&setter.0);
    })
    .ok()?;
    // Acquire: pairs with the setter's Release store.
    if latch.0.load(Ordering::Acquire) != DONE {
        // THE BUG: `if`, not `while` — a spurious return falls through.
        synclab::sync::futex::wait(&latch.0, 0);
    }
    let value = latch.1.lock().unwrap_or_else(|e| e.into_inner()).take();
    value
}

/// A fork-join (the shape of [`ThreadPool::join`](synclab::pool::ThreadPool::join)) whose
/// latch is set when a thief *takes* the second half instead of when the half has *finished*:
/// THE BUG is that the owner, finding the latch set after running the first half, concludes
/// that the second is done and reads its result — which the thief may not have written yet
/// (`None` here). synclab's `join` keeps the two apart: the owner learns "taken" from its own
/// deque (popping the half back fails), and "finished" only from the latch, which the thief
/// sets after it has written the result (`pool/work_stealing/latch.rs`); rayon-core's
/// `join_context` does the same with its `SpinLatch`.
///
/// Source: the classic conflation of "claimed" with "completed" in a work-stealing join.
/// A logic bug — the second half is `'static` and its result travels through a mutex — so
/// the API is safe: a wrong `None`, never undefined behaviour. (The real `join` lets both
/// halves borrow the caller's stack, where the same bug would be a use after return.)
pub fn join_latch_set_when_taken<P, A, B, RA, RB>(pool: &P, a: A, b: B) -> (RA, Option<RB>)
where
    P: synclab::pool::ThreadPool,
    A: FnOnce() -> RA,
    B: FnOnce() -> RB + Send + 'static,
    RB: Send + 'static,
{
    use synclab::sync::atomic::{AtomicU32, Ordering};
    /// Nobody has taken the second half yet.
    const UNTAKEN: u32 = 0;
    /// Someone took the second half — read by the owner as "finished" (THE BUG).
    const TAKEN: u32 = 1;
    struct Half<B, R> {
        latch: AtomicU32,
        func: StdMutex<Option<B>>,
        result: StdMutex<Option<R>>,
    }
    let half = Arc::new(Half {
        latch: AtomicU32::new(UNTAKEN),
        func: StdMutex::new(Some(b)),
        result: StdMutex::new(None),
    });
    let thief = Arc::clone(&half);
    let offered = pool.execute(move || {
        // AcqRel: claims the half against the owner's CAS below.
        if thief
            .latch
            .compare_exchange(UNTAKEN, TAKEN, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            if let Some(f) = lock(&thief.func).take() {
                let value = f();
                *lock(&thief.result) = Some(value);
            }
        }
    });
    let value_a = a();
    // A closed pool refused the task: the half is untaken, and the owner runs it below.
    drop(offered);
    // AcqRel: as above — the owner takes the half back unless a thief took it.
    if half
        .latch
        .compare_exchange(UNTAKEN, TAKEN, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        let f = lock(&half.func).take();
        return (value_a, f.map(|f| f()));
    }
    // THE BUG: "taken" is not "finished" — the thief may still be running the half. The
    // correct latch has a state set after the result is written, and the owner helps or
    // sleeps until it sees it.
    let value_b = lock(&half.result).take();
    (value_a, value_b)
}
