//! Models of the thread pools, one generic body per scenario instantiated for every pool
//! ([`pool_suite!`]), plus the zoo: the seed's two pools, each bug observed failing.
//!
//! Under loom a scenario has at most 3 threads including main (2 workers, or 1 worker and a
//! second client thread) and a few tasks. Under shuttle the larger scenario runs too (3
//! workers, 2 submitters, 20 tasks). In the plain build everything runs as a stress loop, and
//! the conformance checks (errors, handing tasks back, capacity) run on real threads.

// `BuildError` is used only by the plain-build tests.
#[cfg_attr(any(synclab_loom, synclab_shuttle), allow(unused_imports))]
use synclab::pool::{
    panic_message, BuildError, FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool,
    ThreadPool, TrySubmitError, WaitError, WorkStealingPool,
};
use synclab::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};
use synclab::sync::{futex, thread, Arc};
use synclab_verification::{zoo_test, Expect, Failure, Model, SharedCell};
use synclab_zoo::pool::{SeedCppPool, SeedPythonPool};

/// The panic message of tasks that panic on purpose; the panic hook stays quiet about them.
const ON_PURPOSE: &str = "synclab-test: this task panics on purpose";

/// A panic payload whose own `Drop` panics: `std::panic::panic_any(Bomb)` (issue 13, point 1).
/// Whoever drops the payload that `catch_unwind` returned unwinds a second time.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("{}", ON_PURPOSE);
    }
}

/// A payload whose `Drop` panics with another `ChainBomb`, `n` times over: a pool must not
/// loop (or die) dropping payloads.
struct ChainBomb(u32);

impl Drop for ChainBomb {
    fn drop(&mut self) {
        if self.0 > 0 {
            std::panic::panic_any(ChainBomb(self.0 - 1));
        }
    }
}

/// Installs (once) a panic hook that prints nothing for [`ON_PURPOSE`] panics (and the bombs'
/// payloads) and defers to the default hook for everything else (assertions, checker
/// failures).
fn quiet_on_purpose_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            let bomb = info.payload().is::<Bomb>() || info.payload().is::<ChainBomb>();
            if message != Some(ON_PURPOSE) && !bomb {
                default(info);
            }
        }));
    });
}

/// A gate tasks can block on until the model opens it (a futex, so nobody spins).
#[derive(Debug)]
struct Gate(AtomicU32);

impl Gate {
    fn new() -> Arc<Self> {
        Arc::new(Gate(AtomicU32::new(0)))
    }
    fn pass(&self) {
        // Acquire: pairs with the Release store in `open`.
        while self.0.load(Acquire) == 0 {
            futex::wait(&self.0, 0);
        }
    }
    fn open(&self) {
        // Release: pairs with the Acquire load in `pass`.
        self.0.store(1, Release);
        futex::wake_all(&self.0);
    }
}

fn build<P: ThreadPool>(workers: usize, capacity: usize) -> P {
    P::build(PoolConfig::new(workers).capacity(capacity)).expect("a valid configuration")
}

// ---------------------------------------------------------------------------------------------
// Scenarios, generic over the pool
// ---------------------------------------------------------------------------------------------

/// 2 workers, 2 tasks, `wait` from main: when `wait` returns both tasks have finished, and
/// their writes are visible (a plain cell each: a missing happens-before edge is a race).
fn two_workers_two_tasks<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!("{pool}: 2 workers, 2 tasks, wait from main"))
        .threads(3)
        .ops("main: submit x2, wait, read both results, shutdown; 2 workers run them")
        .preemption_bound(bound)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(2, 2);
            let cells: Vec<_> = (0..2).map(|_| Arc::new(SharedCell::new(0u32))).collect();
            for cell in &cells {
                let cell = Arc::clone(cell);
                pool.execute(move || cell.set(1)).unwrap();
            }
            assert_eq!(pool.wait().unwrap().panicked, 0);
            for cell in &cells {
                assert_eq!(cell.get(), 1, "wait returned before a task finished");
            }
            assert_eq!(pool.shutdown().workers_joined, 2);
        });
}

/// 1 worker, capacity 1: the second and third `submit` wait while the queue is full, and
/// `try_submit` hands its task back; nothing is lost.
fn submit_while_full<P: ThreadPool + 'static>(pool: &str) {
    Model::new(format!("{pool}: submit and try_submit while full"))
        .threads(2)
        .ops("main: submit gated task, submit (waits while full), try_submit (full), open gate, submit, wait; 1 worker, capacity 1")
        .preemption_bound(2)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(1, 1);
            let ran = Arc::new(AtomicUsize::new(0));
            let gate = Gate::new();
            let task = |ran: &Arc<AtomicUsize>| {
                let ran = Arc::clone(ran);
                move || {
                    ran.fetch_add(1, Relaxed);
                }
            };
            {
                let (gate, ran) = (Arc::clone(&gate), Arc::clone(&ran));
                pool.execute(move || {
                    gate.pass();
                    ran.fetch_add(1, Relaxed);
                })
                .unwrap();
            }
            // Capacity 1: this submit waits until the worker has taken the gated task off
            // the queue. The worker then blocks at the gate, so the queue stays full.
            pool.execute(task(&ran)).unwrap();
            match pool.try_submit(Box::new(task(&ran))) {
                Err(TrySubmitError::Full(back)) => drop(back),
                Err(TrySubmitError::Closed(_)) => panic!("try_submit said closed on an open pool"),
                Err(other) => panic!("try_submit failed in a new way: {other:?}"),
                Ok(()) => panic!("try_submit accepted a task beyond the capacity"),
            }
            gate.open();
            pool.execute(task(&ran)).unwrap();
            let _report = pool.wait().expect("not called from one of the pool's workers");
            // gated + submitted + last; the handed-back task never ran
            assert_eq!(ran.load(Relaxed), 3, "a task was lost or run twice");
            drop(pool);
        });
}

/// `close` then `shutdown` with tasks still queued: every queued task runs, submits after
/// `close` hand their task back, every worker is joined.
fn shutdown_runs_queued_tasks<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!("{pool}: shutdown with queued tasks"))
        .threads(3)
        .ops("main: submit x2, close, submit+try_submit (handed back), shutdown; 2 workers")
        .preemption_bound(bound)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(2, 2);
            let ran = Arc::new(AtomicUsize::new(0));
            for _ in 0..2 {
                let ran = Arc::clone(&ran);
                pool.execute(move || {
                    ran.fetch_add(1, Relaxed);
                })
                .unwrap();
            }
            pool.close();
            assert!(pool.execute(|| ()).is_err(), "submit accepted after close");
            assert!(
                matches!(
                    pool.try_submit(Box::new(|| ())),
                    Err(TrySubmitError::Closed(_))
                ),
                "try_submit after close must say closed"
            );
            let report = pool.shutdown();
            assert_eq!(report.workers_joined, 2);
            assert_eq!(ran.load(Relaxed), 2, "shutdown lost a queued task");
        });
}

/// Two threads wait at once: both return, and both see the task finished.
fn two_waiters<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!("{pool}: two threads wait at once"))
        .threads(3)
        .ops("main: submit, wait, read; helper: wait, read; 1 worker")
        .preemption_bound(bound)
        .stress_iterations(50)
        .check(|| {
            let pool = Arc::new(build::<P>(1, 1));
            let cell = Arc::new(SharedCell::new(0u32));
            {
                let cell = Arc::clone(&cell);
                pool.execute(move || cell.set(1)).unwrap();
            }
            let helper = {
                let (pool, cell) = (Arc::clone(&pool), Arc::clone(&cell));
                thread::spawn(move || {
                    let _report = pool
                        .wait()
                        .expect("not called from one of the pool's workers");
                    assert_eq!(
                        cell.get(),
                        1,
                        "the second waiter returned before the task finished"
                    );
                })
            };
            let _report = pool
                .wait()
                .expect("not called from one of the pool's workers");
            assert_eq!(
                cell.get(),
                1,
                "the first waiter returned before the task finished"
            );
            helper.join().unwrap();
        });
}

/// A panicking task is caught and counted; the same (single) worker then runs the next task.
fn panicking_task<P: ThreadPool + 'static>(pool: &str) {
    quiet_on_purpose_panics();
    Model::new(format!("{pool}: a panicking task"))
        .threads(2)
        .ops("main: submit panicking task, submit task, wait (panicked=1), shutdown; 1 worker")
        .preemption_bound(2)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(1, 2);
            let ran = Arc::new(AtomicBool::new(false));
            pool.execute(|| panic!("{}", ON_PURPOSE)).unwrap();
            {
                let ran = Arc::clone(&ran);
                pool.execute(move || ran.store(true, Relaxed)).unwrap();
            }
            assert_eq!(
                pool.wait().unwrap().panicked,
                1,
                "the panic was not reported by wait"
            );
            assert!(ran.load(Relaxed), "the worker died with the panicking task");
            let report = pool.shutdown();
            assert_eq!((report.panicked, report.workers_joined), (0, 1));
        });
}

/// A task panics with a payload whose `Drop` panics too (`panic_any(Bomb)`), another with a
/// chain of them: the pool catches both, counts each task once, keeps every worker, runs the
/// task behind them, hands both payloads to `wait`'s caller, and `wait` and `shutdown`
/// return. (Issue 13, point 1: the payload was dropped on the worker outside the guard, so
/// the worker unwound and died; `wait` then hung.)
fn panic_payload_panics_on_drop<P: ThreadPool + 'static>(pool: &str, workers: usize, bound: usize) {
    quiet_on_purpose_panics();
    Model::new(format!(
        "{pool}: panic payloads that panic on drop, {workers} worker(s)"
    ))
    .threads(workers + 1)
    .ops("main: submit panic_any(Bomb), panic_any(ChainBomb(2)), a task; wait (panicked=2), shutdown (all joined)")
    .preemption_bound(bound)
    .stress_iterations(200)
    .deadline(std::time::Duration::from_secs(60))
    .check(move || {
        let pool: P = build(workers, 4);
        let ran = Arc::new(AtomicBool::new(false));
        pool.execute(|| std::panic::panic_any(Bomb)).unwrap();
        pool.execute(|| std::panic::panic_any(ChainBomb(2))).unwrap();
        {
            let ran = Arc::clone(&ran);
            pool.execute(move || ran.store(true, Relaxed)).unwrap();
        }
        let report = pool.wait().unwrap();
        assert_eq!(report.panicked, 2, "each panicking task is counted once");
        assert!(report.payloads[0].is::<Bomb>() || report.payloads[1].is::<Bomb>());
        // The payloads come back to the caller, as `std::thread::JoinHandle::join` hands
        // them to the joiner; these two panic when dropped, so the test leaks them.
        report.payloads.into_iter().for_each(std::mem::forget);
        assert!(ran.load(Relaxed), "a worker died with a panicking task");
        let report = pool.shutdown();
        assert_eq!(
            (report.workers_joined, report.workers_lost),
            (workers, 0),
            "a worker died with a panicking task"
        );
    });
}

/// Every worker runs a task that submits more tasks than the queue holds, while no worker is
/// free to drain it (the parents meet at a rendezvous first). The pool's contract: a submit
/// from one of its own workers never waits for room — it is accepted beyond the bound — so
/// every child runs and `wait` returns. (Issue 13, point 4: every worker slept in `submit`
/// on a queue only workers could drain: a deadlock.)
fn submit_from_every_worker_into_a_full_queue<P: ThreadPool + 'static>(
    pool: &str,
    workers: usize,
    bound: usize,
) {
    Model::new(format!(
        "{pool}: {workers} worker(s) each submit 2 tasks into a full queue (capacity 1)"
    ))
    .threads(workers + 1)
    .ops("main: submit one parent per worker, wait; each parent: meet the others, submit 2 children; capacity 1")
    .preemption_bound(bound)
    .stress_iterations(200)
    .deadline(std::time::Duration::from_secs(60))
    .check(move || {
        let pool = Arc::new(build::<P>(workers, 1));
        let started = Arc::new(AtomicU32::new(0));
        let children = Arc::new(AtomicUsize::new(0));
        for _ in 0..workers {
            let (handle, started, children) =
                (Arc::clone(&pool), Arc::clone(&started), Arc::clone(&children));
            pool.execute(move || {
                // Every worker holds a parent before any child is submitted.
                // AcqRel/Acquire: only the count matters; the futex carries the sleep.
                let mut seen = started.fetch_add(1, AcqRel) + 1;
                if seen == workers as u32 {
                    futex::wake_all(&started);
                }
                while seen < workers as u32 {
                    futex::wait(&started, seen);
                    seen = started.load(Acquire);
                }
                for _ in 0..2 {
                    let children = Arc::clone(&children);
                    handle
                        .execute(move || {
                            children.fetch_add(1, Relaxed);
                        })
                        .expect("the pool is open");
                }
            })
            .unwrap();
        }
        let _report = pool.wait().expect("not called from one of the pool's workers");
        assert_eq!(children.load(Relaxed), 2 * workers, "a child task was lost");
    });
}

/// A task calls `wait` on its own pool: it would wait for itself. The pool's contract: `wait`
/// on one of the pool's own workers returns `Err(WaitError::InsideTask)` at once (issue 13,
/// point 4: it hung).
fn wait_inside_a_task<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!("{pool}: a task calls wait on its own pool"))
        .threads(2)
        .ops("main: submit a task that calls wait on the pool, wait; 1 worker")
        .preemption_bound(bound)
        .stress_iterations(200)
        .deadline(std::time::Duration::from_secs(60))
        .check(|| {
            let pool = Arc::new(build::<P>(1, 2));
            let returned = Arc::new(AtomicBool::new(false));
            {
                let (handle, returned) = (Arc::clone(&pool), Arc::clone(&returned));
                pool.execute(move || {
                    assert_eq!(
                        handle.wait().err(),
                        Some(WaitError::InsideTask),
                        "wait inside a task must refuse"
                    );
                    returned.store(true, Relaxed);
                })
                .unwrap();
            }
            let _report = pool
                .wait()
                .expect("not called from one of the pool's workers");
            assert!(returned.load(Relaxed), "wait inside a task did not return");
        });
}

/// shuttle / stress: 3 workers, 2 submitting threads × 10 tasks, each submitter waits after
/// some of its tasks. Every task runs exactly once, and every wait returns only after the
/// tasks its caller submitted before it have finished.
fn many_tasks_two_submitters<P: ThreadPool + 'static>(pool: &str) {
    const PER_SUBMITTER: usize = 10;
    Model::new(format!(
        "{pool}: 3 workers, 2 submitters x 10 tasks, waits between"
    ))
    .threads(6)
    .ops("2 submitters: 10 tasks each, wait after tasks 3/7 (A) and 5/10 (B); main: wait; 3 workers")
    .shuttle_iterations(2000)
    .stress_iterations(20)
    .check(|| {
        let pool = Arc::new(build::<P>(3, 4));
        let runs: Arc<Vec<AtomicU32>> =
            Arc::new((0..2 * PER_SUBMITTER).map(|_| AtomicU32::new(0)).collect());
        let submitters: Vec<_> = [[3usize, 7], [5, 10]]
            .into_iter()
            .enumerate()
            .map(|(s, wait_after)| {
                let (pool, runs) = (Arc::clone(&pool), Arc::clone(&runs));
                thread::spawn(move || {
                    for i in 0..PER_SUBMITTER {
                        let index = s * PER_SUBMITTER + i;
                        let task_runs = Arc::clone(&runs);
                        // Release: pairs with the Acquire loads after `wait` below.
                        pool.execute(move || {
                            task_runs[index].fetch_add(1, Release);
                        })
                        .unwrap();
                        if wait_after.contains(&(i + 1)) {
                            let _report = pool.wait().expect("not called from one of the pool's workers");
                            for j in 0..=i {
                                let mine = s * PER_SUBMITTER + j;
                                assert_eq!(
                                    runs[mine].load(Acquire),
                                    1,
                                    "wait returned before task {mine} (submitted before it) finished"
                                );
                            }
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        let _report = pool.wait().expect("not called from one of the pool's workers");
        for (index, count) in runs.iter().enumerate() {
            assert_eq!(count.load(Acquire), 1, "task {index} ran {} times", count.load(Acquire));
        }
    });
}

/// shuttle / stress: 3 workers and a burst of 3 tasks that wait for each other (each task
/// counts itself in and sleeps until all 3 have started). It finishes only if the pool runs
/// all 3 at once — a pool that leaves a queued task waiting while a worker sleeps deadlocks.
fn burst_runs_in_parallel<P: ThreadPool + 'static>(pool: &str) {
    const N: u32 = 3;
    Model::new(format!("{pool}: burst of 3 rendezvous tasks on 3 workers"))
        .threads(4)
        .ops("main: submit 3 tasks that each wait until all 3 started, wait; 3 workers")
        // 20 000: LockFreePool's lost wake-up after a fruitless search (issue 13) first showed
        // at 20 000 schedules per scheduler on main; about a second per pool.
        .shuttle_iterations(20_000)
        .stress_iterations(20)
        .check(|| {
            let pool: P = build(3, 3);
            let started = Arc::new(AtomicU32::new(0));
            for _ in 0..N {
                let started = Arc::clone(&started);
                pool.execute(move || {
                    // Release/Acquire: only the count matters; the futex carries the sleep.
                    let mut seen = started.fetch_add(1, AcqRel) + 1;
                    if seen == N {
                        futex::wake_all(&started);
                    }
                    while seen < N {
                        futex::wait(&started, seen);
                        seen = started.load(Acquire);
                    }
                })
                .unwrap();
            }
            let _report = pool
                .wait()
                .expect("not called from one of the pool's workers");
            assert_eq!(started.load(Acquire), N);
        });
}

/// 2 workers and 2 tasks where the first blocks until the second has run: it finishes only
/// if the second task reaches the idle worker while the first one's worker is blocked. For
/// `LockFreePool` this is the searcher hand-off: a submitter skips the wake-up while a worker
/// is searching, so the last searcher that finds a task must look at the queue again (after a
/// SeqCst fence) and wake a sleeper for what is left; without that look — or with the look
/// reading a stale `tail` — the second task waits behind the first forever (loom: deadlock).
fn dependent_tasks<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!(
        "{pool}: 2 workers, task 1 blocks until task 2 has run"
    ))
    .threads(3)
    .ops("main: submit 2 tasks, wait; task 1 waits on a gate task 2 opens")
    .preemption_bound(bound)
    .check(|| {
        let pool: P = build(2, 2);
        let gate = Gate::new();
        let first = Arc::clone(&gate);
        // The yields are free switch points: they let the workers start (one searching, one
        // asleep) and run between the submissions without spending the preemption bound,
        // which is then left to stop the searcher between its pop and its look.
        thread::yield_now();
        pool.execute(move || first.pass()).unwrap();
        thread::yield_now();
        pool.execute(move || gate.open()).unwrap();
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
    });
}

// ---------------------------------------------------------------------------------------------
// Task results and scopes (written once on the trait; checked on every pool)
// ---------------------------------------------------------------------------------------------

/// `spawn` + `join`: the value comes back with the task's writes visible (a plain cell: a
/// missing happens-before edge from the task's `DONE` to `join` is a race), and a panic's
/// payload comes back to `join` and not to `wait`.
fn spawn_join_value_and_panic<P: ThreadPool + 'static>(pool: &str) {
    quiet_on_purpose_panics();
    Model::new(format!("{pool}: spawn/join a value and a panic"))
        // shuttle prints a "failing schedule" for every panic, caught or not: few schedules.
        .shuttle_iterations(200)
        .threads(2)
        .ops("main: spawn (writes a cell, returns 7), spawn (panics), join both, read the cell, wait; 1 worker")
        .preemption_bound(2)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(1, 2);
            let cell = Arc::new(SharedCell::new(0u32));
            let task_cell = Arc::clone(&cell);
            let value = pool
                .spawn(move || {
                    task_cell.set(7);
                    7u32
                })
                .unwrap();
            let failed = pool.spawn(|| -> u32 { panic!("{}", ON_PURPOSE) }).unwrap();
            assert_eq!(value.join().unwrap(), 7, "join returned the wrong value");
            assert_eq!(cell.get(), 7, "join returned before the task's write");
            let payload = failed.join().expect_err("join of a panicked task returned Ok");
            assert_eq!(panic_message(&payload), Some(ON_PURPOSE));
            assert_eq!(pool.wait().unwrap().panicked, 0, "a joined payload was reported by wait too");
        });
}

/// A spawned task panics while (or after) its handle is dropped: whichever side comes
/// second hands the payload to the pool, and `wait` reports it exactly once.
fn spawn_detached_panic_reaches_wait<P: ThreadPool + 'static>(pool: &str) {
    quiet_on_purpose_panics();
    Model::new(format!("{pool}: a detached task's panic reaches wait"))
        // shuttle prints a "failing schedule" for every panic, caught or not: few schedules.
        .shuttle_iterations(200)
        .threads(2)
        .ops("main: spawn (panics), drop the handle (races the task), wait: 1 payload; 1 worker")
        .preemption_bound(3)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(1, 1);
            drop(pool.spawn(|| panic!("{}", ON_PURPOSE)).unwrap());
            let report = pool.wait().unwrap();
            assert_eq!(report.panicked, 1, "the detached task's panic was lost");
            assert_eq!(panic_message(&report.payloads[0]), Some(ON_PURPOSE));
            assert_eq!(
                pool.shutdown().panicked,
                0,
                "the payload was reported twice"
            );
        });
}

/// `scope` with two tasks writing cells on main's stack: when `scope` returns both writes
/// are done and visible (loom reports the read as a race if `scope` returned early).
fn scope_writes_visible<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!(
        "{pool}: scope borrows the stack, returns after its tasks"
    ))
    .threads(3)
    .ops("main: scope { spawn x2, each writes a cell on main's stack }, read both; 2 workers")
    .preemption_bound(bound)
    .stress_iterations(50)
    .check(|| {
        let pool: P = build(2, 2);
        let cells = [SharedCell::new(0u32), SharedCell::new(0u32)];
        pool.scope(|s| {
            for (i, cell) in cells.iter().enumerate() {
                s.spawn(move || cell.set(i as u32 + 1));
            }
        });
        assert_eq!(
            (cells[0].get(), cells[1].get()),
            (1, 2),
            "scope returned before its tasks finished"
        );
    });
}

/// A scoped task panics (its handle unjoined): `scope` re-raises the payload, and only after
/// the other task has finished.
fn scope_reraises_after_all_finished<P: ThreadPool + 'static>(pool: &str) {
    quiet_on_purpose_panics();
    Model::new(format!("{pool}: scope re-raises a task's panic after all finished"))
        // shuttle prints a "failing schedule" for every panic, caught or not: few schedules.
        .shuttle_iterations(200)
        .threads(2)
        .ops("main: scope { spawn (panics), spawn (writes a cell) } under catch_unwind, read the cell; 1 worker")
        .preemption_bound(2)
        .stress_iterations(50)
        .check(|| {
            let pool: P = build(1, 2);
            let cell = SharedCell::new(0u32);
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.scope(|s| {
                    s.spawn(|| panic!("{}", ON_PURPOSE));
                    s.spawn(|| cell.set(1));
                })
            }));
            let payload = result.expect_err("scope swallowed its task's panic");
            assert_eq!(panic_message(&payload), Some(ON_PURPOSE));
            assert_eq!(cell.get(), 1, "scope unwound before its other task finished");
            assert_eq!(pool.wait().unwrap().panicked, 0, "the scope's payload was reported by wait too");
        });
}

/// A scope opened inside the task of a 1-worker pool: the only worker is the scope's owner,
/// so nobody else can run the scoped tasks — it runs them itself ("Helping" in
/// `pool/scope.rs`). Without that the model deadlocks.
fn scope_inside_the_only_workers_task<P: ThreadPool + 'static>(pool: &str) {
    Model::new(format!("{pool}: a scope inside the only worker's task (it helps)"))
        .threads(2)
        .ops("main: spawn a task that opens a scope of 2 tasks writing cells on its stack, join; 1 worker")
        .preemption_bound(2)
        .stress_iterations(50)
        .check(|| {
            let pool = Arc::new(build::<P>(1, 4));
            let inner = Arc::clone(&pool);
            let handle = pool
                .spawn(move || {
                    let cells = [SharedCell::new(0u32), SharedCell::new(0u32)];
                    inner.scope(|s| {
                        for (i, cell) in cells.iter().enumerate() {
                            s.spawn(move || cell.set(i as u32 + 1));
                        }
                    });
                    (cells[0].get(), cells[1].get())
                })
                .unwrap();
            assert_eq!(handle.join().unwrap(), (1, 2), "the nested scope returned early");
        });
}

/// `wait_timeout` (which the models may time out at any moment) on a task still running,
/// then `join`'s `wait_timeout`, then `wait`: a timed-out wait leaves the pool consistent —
/// the untimed `wait` still returns, after the task, with its write visible.
fn timed_waits_then_wait<P: ThreadPool + 'static>(pool: &str) {
    Model::new(format!(
        "{pool}: wait_timeout and JoinHandle::wait_timeout, then wait"
    ))
    .threads(2)
    .ops(
        "main: spawn (writes a cell), pool.wait_timeout, handle.wait_timeout, wait, read; 1 worker",
    )
    .preemption_bound(2)
    .stress_iterations(50)
    .check(|| {
        let pool: P = build(1, 1);
        let cell = Arc::new(SharedCell::new(0u32));
        let task_cell = Arc::clone(&cell);
        let handle = pool.spawn(move || task_cell.set(1)).unwrap();
        if pool.wait_timeout(std::time::Duration::from_secs(1)).is_ok() {
            assert_eq!(
                cell.get(),
                1,
                "wait_timeout returned Ok before the task finished"
            );
        }
        if handle.wait_timeout(std::time::Duration::from_secs(1)) {
            // "Finished" publishes the task's writes (also on the timed-out path, which ends
            // with one more look at the word).
            assert!(handle.is_finished());
            assert_eq!(
                cell.get(),
                1,
                "wait_timeout said finished before the task's write"
            );
        }
        assert_eq!(pool.wait().unwrap().panicked, 0);
        assert_eq!(cell.get(), 1, "wait after a timed-out wait returned early");
        handle.join().unwrap();
    });
}

/// Instantiates the task-result and scope scenarios for each pool.
macro_rules! tasks_suite {
    ($($module:ident => $pool:ty, loom bound for 3 threads: $bound3:expr;)*) => {$(
        mod $module {
            use super::*;
            type P = $pool;
            const NAME: &str = concat!("pool/", stringify!($module));

            #[test]
            fn spawn_join_value_and_panic() {
                super::spawn_join_value_and_panic::<P>(NAME);
            }

            #[test]
            fn spawn_detached_panic_reaches_wait() {
                super::spawn_detached_panic_reaches_wait::<P>(NAME);
            }

            #[test]
            fn scope_writes_visible() {
                super::scope_writes_visible::<P>(NAME, $bound3);
            }

            #[test]
            fn scope_reraises_after_all_finished() {
                super::scope_reraises_after_all_finished::<P>(NAME);
            }

            #[test]
            fn scope_inside_the_only_workers_task() {
                super::scope_inside_the_only_workers_task::<P>(NAME);
            }

            #[test]
            fn timed_waits_then_wait() {
                super::timed_waits_then_wait::<P>(NAME);
            }
        }
    )*};
}

mod tasks {
    use super::*;
    tasks_suite! {
        std_condvar => StdCondvarPool, loom bound for 3 threads: 2;
        futex_condvar => FutexCondvarPool, loom bound for 3 threads: 1;
        lock_free => LockFreePool, loom bound for 3 threads: 1;
        work_stealing => WorkStealingPool, loom bound for 3 threads: 1;
    }
}

/// Instantiates every scenario for each pool: adding a pool is one line.
macro_rules! pool_suite {
    ($($module:ident => $pool:ty, loom bound for 3 threads: $bound3:expr;)*) => {$(
        mod $module {
            use super::*;
            type P = $pool;
            const NAME: &str = concat!("pool/", stringify!($module));
            /// loom's preemption bound for the 3-thread scenarios of this pool (stated in the
            /// report of every run).
            const BOUND3: usize = $bound3;

            #[test]
            fn two_workers_two_tasks() {
                super::two_workers_two_tasks::<P>(NAME, BOUND3);
            }

            #[test]
            fn submit_while_full() {
                super::submit_while_full::<P>(NAME);
            }

            #[test]
            fn shutdown_runs_queued_tasks() {
                super::shutdown_runs_queued_tasks::<P>(NAME, BOUND3);
            }

            #[test]
            fn two_waiters() {
                super::two_waiters::<P>(NAME, BOUND3);
            }

            #[test]
            fn dependent_tasks() {
                super::dependent_tasks::<P>(NAME, BOUND3);
            }

            #[test]
            fn panicking_task() {
                super::panicking_task::<P>(NAME);
            }

            #[test]
            fn panic_payload_panics_on_drop_one_worker() {
                super::panic_payload_panics_on_drop::<P>(NAME, 1, 2);
            }

            #[test]
            fn panic_payload_panics_on_drop_two_workers() {
                super::panic_payload_panics_on_drop::<P>(NAME, 2, BOUND3);
            }

            #[test]
            fn submit_from_the_only_worker_into_a_full_queue() {
                super::submit_from_every_worker_into_a_full_queue::<P>(NAME, 1, 2);
            }

            #[test]
            #[cfg_attr(
                synclab_loom,
                ignore = "3 threads with a rendezvous and an overflow mutex: over loom's budget at bound 1 (> 9 min); run under shuttle and as stress"
            )]
            fn submit_from_every_worker_into_a_full_queue() {
                super::submit_from_every_worker_into_a_full_queue::<P>(NAME, 2, BOUND3);
            }

            #[test]
            fn wait_inside_a_task() {
                super::wait_inside_a_task::<P>(NAME, 2);
            }

            #[test]
            #[cfg_attr(synclab_loom, ignore = "4 threads: beyond loom; run under shuttle and as stress")]
            fn burst_runs_in_parallel() {
                super::burst_runs_in_parallel::<P>(NAME);
            }

            #[test]
            #[cfg_attr(synclab_loom, ignore = "6 threads: beyond loom; run under shuttle and as stress")]
            fn many_tasks_two_submitters() {
                super::many_tasks_two_submitters::<P>(NAME);
            }

            /// Typed errors, checked on real threads (no concurrency to explore).
            #[test]
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            fn rejects_zero_workers_and_zero_capacity() {
                assert_eq!(P::build(PoolConfig::new(0)).err(), Some(BuildError::ZeroWorkers));
                assert_eq!(
                    P::build(PoolConfig::new(2).capacity(0)).err(),
                    Some(BuildError::ZeroCapacity)
                );
                let pool = P::build(PoolConfig::new(3).capacity(5)).unwrap();
                assert_eq!((pool.workers(), pool.capacity()), (3, 5));
                assert_eq!(
                    P::with_workers(1).unwrap().capacity(),
                    synclab::pool::DEFAULT_CAPACITY
                );
            }

            /// The last handle dropped inside one of the pool's own tasks: no panic (a thread
            /// cannot join itself) and no hang (the other workers cannot exit while that task
            /// is pending); the workers are detached and still run every queued task.
            #[test]
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            fn dropped_inside_its_own_task() {
                use std::sync::mpsc;
                use std::time::Duration;
                let pool = std::sync::Arc::new(build::<P>(2, 8));
                let (go, wait_go) = mpsc::channel::<()>();
                let (done, dropped) = mpsc::channel::<()>();
                let (ran, runs) = mpsc::channel::<u32>();
                let last = std::sync::Arc::clone(&pool);
                pool.execute(move || {
                    wait_go.recv().unwrap();
                    assert_eq!(std::sync::Arc::strong_count(&last), 1, "the task holds the last handle");
                    drop(last); // runs Drop on this worker
                    done.send(()).unwrap();
                })
                .unwrap();
                for i in 0..4 {
                    let ran = ran.clone();
                    pool.execute(move || ran.send(i).unwrap()).unwrap();
                }
                drop(ran);
                drop(pool);
                go.send(()).unwrap();
                dropped
                    .recv_timeout(Duration::from_secs(10))
                    .expect("dropping the pool inside its own task returned");
                let mut got: Vec<u32> = runs.iter().collect();
                got.sort_unstable();
                assert_eq!(got, vec![0, 1, 2, 3], "every queued task still ran");
            }

            /// A pool dropped without `wait` or `shutdown` still holds the payloads nobody
            /// took; it drops them under a guard, so a payload whose `Drop` panics
            /// (`panic_any(Bomb)`) neither panics in the dropping thread nor aborts it.
            #[test]
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            fn dropped_with_an_unreported_payload_that_panics_on_drop() {
                quiet_on_purpose_panics();
                let pool: P = build(1, 4);
                pool.execute(|| std::panic::panic_any(Bomb)).unwrap();
                pool.execute(|| std::panic::panic_any(ChainBomb(3))).unwrap();
                let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(pool)));
                assert!(dropped.is_ok(), "dropping the pool panicked on a payload's Drop");
            }

            /// Drop (not shutdown) also runs every queued task and joins the workers.
            #[test]
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            fn drop_runs_queued_tasks() {
                let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
                {
                    let pool: P = build(2, 8);
                    for _ in 0..100 {
                        let ran = std::sync::Arc::clone(&ran);
                        pool.execute(move || {
                            ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        })
                        .unwrap();
                    }
                }
                assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 100);
            }
        }
    )*};
}

pool_suite! {
    std_condvar => StdCondvarPool, loom bound for 3 threads: 2;
    futex_condvar => FutexCondvarPool, loom bound for 3 threads: 1;
    lock_free => LockFreePool, loom bound for 3 threads: 1;
    work_stealing => WorkStealingPool, loom bound for 3 threads: 1;
}

// ---------------------------------------------------------------------------------------------
// The zoo: the seed's pools
// ---------------------------------------------------------------------------------------------

/// The faithful seed C++ port (one worker), for the zoo models below.
fn faithful_seed_cpp_pool() -> SeedCppPool {
    // SAFETY: called only from zoo_test! bodies, which run only under loom or shuttle, whose
    // threads run the pool (it spawns its workers through `synclab::sync::thread`).
    unsafe { SeedCppPool::new(1) }
}

/// One task, then `Wait()`: must return (the lost-wakeup scenario).
fn seed_cpp_one_task_then_wait(pool: SeedCppPool) {
    pool.submit(|| ());
    pool.wait();
}

/// One task, then `Wait()`: the task must have finished when it returns.
fn seed_cpp_wait_means_finished(pool: SeedCppPool) {
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = Arc::clone(&done);
        pool.submit(move || done.store(true, SeqCst));
    }
    pool.wait();
    assert!(
        done.load(SeqCst),
        "a task was still running when wait returned"
    );
}

zoo_test! {
    /// Seed C++ `Wait()` reads `m_Tasks` under `m_WaitMtx` while the worker pops under
    /// `m_queueMtx`. Witness without any sleeping: main learns that the task ran through a
    /// Relaxed flag (no happens-before) and then calls `Wait()`, whose read of the queue is
    /// unordered with the worker's pop. loom reports the race; shuttle, which checks no memory
    /// model, sees a model that passes (a documented blind spot).
    fn seed_cpp_wait_data_race() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: seed C++ Wait() reads the queue under the wrong mutex")
            .threads(2)
            .exhaustive()
            .check(|| {
                // SAFETY: a zoo_test! body runs only under loom or shuttle, whose threads run
                // the pool (it spawns its workers through `synclab::sync::thread`).
                let pool = unsafe { SeedCppPool::new(1) };
                let ran = Arc::new(AtomicBool::new(false));
                {
                    let ran = Arc::clone(&ran);
                    pool.submit(move || ran.store(true, Relaxed));
                }
                while !ran.load(Relaxed) {
                    thread::yield_now();
                }
                pool.wait(); // the queue is empty by now: returns at once, after a racy read
            });
    }
}

zoo_test! {
    /// Seed C++ `Wait()`: the worker's `m_CVWait.notify_one()` is sent under `m_queueMtx`, so
    /// it can fall between `Wait()`'s check ("not empty") and its sleep; nobody notifies
    /// again and `Wait()` sleeps forever. shuttle shows the deadlock; loom stops earlier, at the
    /// data race on the same read (the first bug every such execution hits).
    fn seed_cpp_wait_lost_wakeup() expect Expect::per_checker(Failure::DataRace, Failure::Deadlock) => {
        Model::new("zoo: seed C++ Wait() lost wakeup")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_one_task_then_wait(faithful_seed_cpp_pool()));
    }
}

zoo_test! {
    /// Seed C++ `Wait()` returns when the queue is empty, not when the tasks have finished:
    /// the worker pops the last task (queue empty, notify) and is still running it when
    /// `Wait()` returns. shuttle shows the assertion; loom stops at the data race first.
    fn seed_cpp_wait_premature_return() expect Expect::per_checker(
        Failure::DataRace,
        Failure::Assertion("a task was still running when wait returned"),
    ) => {
        Model::new("zoo: seed C++ Wait() returns while a task runs")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_wait_means_finished(faithful_seed_cpp_pool()));
    }
}

zoo_test! {
    /// The guarded port (`Wait()` reads `m_Tasks` under `m_queueMtx`: no data race) keeps the
    /// seed's lost wakeup: the worker's `notify_one` is sent under `m_queueMtx`, not
    /// `m_WaitMtx`, so it can fall between `Wait()`'s check and its sleep. With the race gone,
    /// loom reaches the deadlock too.
    fn seed_cpp_guarded_wait_lost_wakeup() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: seed C++ Wait() lost wakeup (read under m_queueMtx)")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_one_task_then_wait(SeedCppPool::with_guarded_read(1)));
    }
}

zoo_test! {
    /// The guarded port keeps the premature return: "queue empty" is true while the popped
    /// task still runs. With the race gone, loom reaches the assertion too.
    fn seed_cpp_guarded_wait_premature_return() expect Expect::both(
        Failure::Assertion("a task was still running when wait returned"),
    ) => {
        Model::new("zoo: seed C++ Wait() returns while a task runs (read under m_queueMtx)")
            .threads(2)
            .exhaustive()
            .check(|| seed_cpp_wait_means_finished(SeedCppPool::with_guarded_read(1)));
    }
}

zoo_test! {
    /// Seed Python workers poll `tasks.empty()` in a loop without ever sleeping. With one
    /// worker, one task and `join()`, the checker finds a schedule where the worker polls
    /// forever: loom exceeds its branch limit, shuttle (PCT) its step limit.
    fn seed_python_busy_wait() expect Expect::both(Failure::StepLimit) => {
        Model::new("zoo: seed Python busy-waiting workers")
            .threads(2)
            .shuttle_iterations(100)
            .shuttle_max_steps(20_000)
            .check(|| {
                let pool = SeedPythonPool::new(1);
                pool.submit(|| ());
                pool.wait();
            });
    }
}

zoo_test! {
    /// Seed Python: a task that raises ends its worker before `task_done()`, so
    /// `unfinished_tasks` never reaches 0 and `join()` never returns.
    fn seed_python_panic_hangs_wait() expect Expect::both(Failure::Deadlock) => {
        quiet_on_purpose_panics();
        Model::new("zoo: seed Python join() after a panicking task")
            .threads(2)
            .shuttle_iterations(100)
            .shuttle_max_steps(20_000)
            .check(|| {
                let pool = SeedPythonPool::new(1);
                pool.submit(|| panic!("{}", ON_PURPOSE));
                pool.wait();
            });
    }
}

// ---------------------------------------------------------------------------------------------
// Visibility through `wait`, with two threads and a deeper bound
// ---------------------------------------------------------------------------------------------

/// 1 worker, 1 task that writes a plain cell, `wait` from main, then main reads the cell:
/// `wait` must order the task's write before its return (the task's finish is a Release, the
/// waiter's check an Acquire). Two threads only, so loom can go deeper than in the 3-thread
/// scenarios — the ordering-mutation audit showed the bounded 3-thread models could not tell
/// a Release from a Relaxed there.
fn task_effects_visible_after_wait<P: ThreadPool + 'static>(pool: &str) {
    Model::new(format!(
        "{pool}: a task's write is visible after wait (1 worker)"
    ))
    .threads(2)
    .ops("main: submit 1 task (writes a cell), wait, read the cell, shutdown; 1 worker")
    .preemption_bound(3)
    .stress_iterations(50)
    .check(|| {
        let pool: P = build(1, 1);
        let cell = Arc::new(SharedCell::new(0u32));
        let task_cell = Arc::clone(&cell);
        pool.execute(move || task_cell.set(1)).unwrap();
        assert_eq!(pool.wait().unwrap().panicked, 0);
        assert_eq!(cell.get(), 1, "wait returned before the task finished");
        assert_eq!(pool.shutdown().workers_joined, 1);
    });
}

#[test]
fn std_condvar_task_effects_visible_after_wait() {
    task_effects_visible_after_wait::<StdCondvarPool>("pool/std_condvar");
}

#[test]
fn futex_condvar_task_effects_visible_after_wait() {
    task_effects_visible_after_wait::<FutexCondvarPool>("pool/futex_condvar");
}

#[test]
fn lock_free_task_effects_visible_after_wait() {
    task_effects_visible_after_wait::<LockFreePool>("pool/lock_free");
}

#[test]
fn work_stealing_task_effects_visible_after_wait() {
    task_effects_visible_after_wait::<WorkStealingPool>("pool/work_stealing");
}

// ---------------------------------------------------------------------------------------------
// Tasks that submit tasks (the work-stealing pool's own path: a worker's LIFO slot and deque)
// ---------------------------------------------------------------------------------------------

/// A task writes a cell, then submits two tasks (from a worker: into its LIFO slot and deque)
/// that read it — a child another worker steals must see what its parent wrote before
/// submitting it — and each write a cell of its own; `wait` from main returns only after both
/// children finished, and their writes are visible.
fn nested_submission<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!("{pool}: a task submits 2 tasks, wait from main"))
        .threads(3)
        .ops("main: submit A, wait, read 2 cells; A: write a cell, submit B and C (each reads A's cell, writes its own); 2 workers")
        .preemption_bound(bound)
        .stress_iterations(50)
        .check(|| {
            let pool = Arc::new(build::<P>(2, 2));
            let cells: Arc<[SharedCell<u32>; 3]> =
                Arc::new([SharedCell::new(0), SharedCell::new(0), SharedCell::new(0)]);
            let (inner, c) = (Arc::clone(&pool), Arc::clone(&cells));
            pool.execute(move || {
                c[2].set(7);
                for i in 0..2 {
                    let c = Arc::clone(&c);
                    inner
                        .execute(move || {
                            assert_eq!(c[2].get(), 7, "a submitted task missed its parent's write");
                            c[i].set(1);
                        })
                        .unwrap();
                }
            })
            .unwrap();
            assert_eq!(pool.wait().unwrap().panicked, 0);
            for cell in &cells[..2] {
                assert_eq!(cell.get(), 1, "wait returned before a nested task finished");
            }
        });
}

/// A chain: A submits B, B submits C, while main waits; `wait` returns after C finished.
fn wait_while_tasks_spawn_tasks<P: ThreadPool + 'static>(pool: &str) {
    Model::new(format!(
        "{pool}: wait while a chain of tasks spawns tasks (1 worker)"
    ))
    .threads(2)
    .ops("main: submit A, wait, read C's cell; A submits B, B submits C (writes a cell); 1 worker")
    .preemption_bound(3)
    .stress_iterations(50)
    .check(|| {
        let pool = Arc::new(build::<P>(1, 1));
        let cell = Arc::new(SharedCell::new(0u32));
        let (p, c) = (Arc::clone(&pool), Arc::clone(&cell));
        pool.execute(move || {
            let (p2, c2) = (Arc::clone(&p), c);
            p.execute(move || {
                p2.execute(move || c2.set(1)).unwrap();
            })
            .unwrap();
        })
        .unwrap();
        assert_eq!(pool.wait().unwrap().panicked, 0);
        assert_eq!(
            cell.get(),
            1,
            "wait returned before the last task of the chain"
        );
    });
}

/// Main submits A, which submits B; main shuts the pool down at once: the other worker may be
/// stealing B while the pool closes. Every task runs exactly once, both workers are joined.
fn submit_steal_shutdown<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!(
        "{pool}: a nested submit races a steal and shutdown"
    ))
    .threads(3)
    .ops("main: submit A, shutdown; A: submit B; 2 workers (one may steal B)")
    .preemption_bound(bound)
    .stress_iterations(50)
    .check(|| {
        let pool = Arc::new(build::<P>(2, 2));
        let ran = Arc::new(AtomicUsize::new(0));
        let (p, r) = (Arc::clone(&pool), Arc::clone(&ran));
        pool.execute(move || {
            r.fetch_add(1, Relaxed);
            let r2 = Arc::clone(&r);
            // The pool may close first: then B is handed back, never run.
            if p.execute(move || {
                r2.fetch_add(1, Relaxed);
            })
            .is_err()
            {
                r.fetch_add(1, Relaxed);
            }
        })
        .unwrap();
        pool.close();
        let _ = pool.wait();
        assert_eq!(ran.load(Relaxed), 2, "a task was lost or run twice");
        // The last handle: dropping it joins the workers (A's clone is gone after wait).
        drop(pool);
    });
}

/// Task A submits B and then blocks until B has run: on 2 workers, B must reach the other one
/// (for `WorkStealingPool`, B sits in A's worker's LIFO slot: the other worker must be woken
/// and steal it from there).
fn nested_dependent<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!(
        "{pool}: a task blocks until the task it submitted has run"
    ))
    .threads(3)
    .ops("main: submit A, wait; A: write a cell, submit B, wait on a gate B opens; B: read the cell, open; 2 workers")
    .preemption_bound(bound)
    .check(|| {
        let pool = Arc::new(build::<P>(2, 2));
        let gate = Gate::new();
        let cell = Arc::new(SharedCell::new(0u32));
        let p = Arc::clone(&pool);
        pool.execute(move || {
            let opener = Arc::clone(&gate);
            // B runs on the other worker (this one blocks below), so it sees this write only
            // through the publication of B itself (for WorkStealingPool: the LIFO slot's
            // Release store and a thief's Acquire swap).
            cell.set(1);
            p.execute(move || {
                assert_eq!(cell.get(), 1, "a stolen task missed its parent's write");
                opener.open();
            })
            .unwrap();
            gate.pass();
        })
        .unwrap();
        let _ = pool.wait();
    });
}

/// A worker that is awake — it has just run a task of its own — steals tasks another worker's
/// task submitted, with no sleep and no wake-up between: the publication through the LIFO slot
/// is then all that orders the parent's writes before the children's reads. Main submits X
/// (yields once) and A; A writes cell 0, submits B0 (into its worker's LIFO slot), writes cell
/// 1, submits B1 (B1 swaps B0 out of the slot and B0 goes to the deque); each Bi reads cell i.
/// With the slot's Release swap (B1 replacing B0) or the thief's Acquire swap weakened to
/// Relaxed, the thief that ran X takes B1 straight from the slot and reads its cell unordered
/// (loom, bound 1: causality violation); in the other models the thief reached the slot only
/// after a futex wake-up or a SeqCst fence that ordered the write anyway. The Release *store*
/// into an empty slot (B0) it does not catch: the thief would have to take B0 between that
/// store and the SeqCst fence in `published` right after it, which loom did not reach at bound
/// 1; at bound 2 this model exceeds loom's branch limit.
fn busy_worker_steals_from_the_lifo_slot<P: ThreadPool + 'static>(pool: &str, bound: usize) {
    Model::new(format!(
        "{pool}: an awake worker steals the tasks another task submitted"
    ))
    .threads(3)
    .ops("main: submit X (yields), A, wait; A: write cell 0, submit B0, write cell 1, submit B1; Bi reads cell i; 2 workers")
    .preemption_bound(bound)
    .stress_iterations(50)
    .check(|| {
        let pool = Arc::new(build::<P>(2, 2));
        let cells: Arc<[SharedCell<u32>; 2]> = Arc::new([SharedCell::new(0), SharedCell::new(0)]);
        pool.execute(thread::yield_now).unwrap();
        let (p, c) = (Arc::clone(&pool), Arc::clone(&cells));
        pool.execute(move || {
            for i in 0..2 {
                c[i].set(1);
                let c = Arc::clone(&c);
                p.execute(move || {
                    assert_eq!(c[i].get(), 1, "a stolen task missed its parent's write");
                })
                .unwrap();
            }
        })
        .unwrap();
        assert_eq!(pool.wait().unwrap().panicked, 0);
    });
}

#[test]
fn work_stealing_busy_worker_steals_from_the_lifo_slot() {
    busy_worker_steals_from_the_lifo_slot::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn work_stealing_nested_submission() {
    nested_submission::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn work_stealing_wait_while_tasks_spawn_tasks() {
    wait_while_tasks_spawn_tasks::<WorkStealingPool>("pool/work_stealing");
}

#[test]
fn work_stealing_submit_steal_shutdown() {
    submit_steal_shutdown::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn work_stealing_nested_dependent() {
    nested_dependent::<WorkStealingPool>("pool/work_stealing", 1);
}

/// The same scenario for `LockFreePool` (nested tasks go through its one queue): under loom it
/// took 97 989 executions and 35 s at bound 1, over the per-model budget, so it runs under
/// shuttle and as stress.
#[test]
#[cfg_attr(
    synclab_loom,
    ignore = "35 s under loom at bound 1: run under shuttle and as stress"
)]
fn lock_free_nested_submission() {
    nested_submission::<LockFreePool>("pool/lock_free", 1);
}

// ---------------------------------------------------------------------------------------------
// `install`: the caller's hand-off to a worker (WorkStealingPool overrides it)
// ---------------------------------------------------------------------------------------------

/// `install` from outside: the closure (which writes a cell on main's stack) runs on the
/// worker, and `install` returns only after it has — its value back, its write visible (loom
/// reports the read as a race if the caller came back early) — and the blocked caller is
/// always woken (a lost wakeup is a deadlock here).
#[test]
fn work_stealing_install_hands_back() {
    Model::new("pool/work_stealing: install runs the closure on a worker, caller returns after it")
        .threads(2)
        .ops("main: install (writes a cell on main's stack, returns 7), read the cell, shutdown; 1 worker")
        // Exhaustive took 58 s (938 592 executions), bound 6 71 633 executions: bound 4
        // (10 456) pays for the two `join` models below, which run the hand-off too (their
        // pair is installed from main) with two workers.
        .preemption_bound(4)
        .shuttle_iterations(10_000)
        .stress_iterations(50)
        .check(|| {
            let pool: WorkStealingPool = build(1, 1);
            let cell = SharedCell::new(0u32);
            let caller = thread::current().id();
            let (value, ran_on) = pool
                .install(|| {
                    cell.set(1);
                    (7u32, thread::current().id())
                })
                .expect("the pool is open");
            assert_eq!(value, 7);
            assert_ne!(ran_on, caller, "install ran the closure on the caller");
            assert_eq!(cell.get(), 1, "install returned before the closure had run");
            assert_eq!(pool.shutdown().workers_joined, 1);
        });
}

/// `install` racing `close`: either the closure ran (and its write is visible) or `install`
/// says `Closed` and the closure never ran — never a hang, never a lost closure. A panic of
/// the closure comes back to the caller.
#[test]
fn work_stealing_install_racing_close() {
    quiet_on_purpose_panics();
    Model::new("pool/work_stealing: install racing close; a panicking install")
        .threads(3)
        .shuttle_iterations(200)
        .ops("main: install (writes a cell) while a second thread closes, then install (panics) or Closed; 1 worker")
        .preemption_bound(1)
        .stress_iterations(50)
        .check(|| {
            let pool = Arc::new(build::<WorkStealingPool>(1, 1));
            let closer = {
                let pool = Arc::clone(&pool);
                thread::spawn(move || pool.close())
            };
            let cell = SharedCell::new(0u32);
            match pool.install(|| cell.set(1)) {
                Ok(()) => assert_eq!(cell.get(), 1, "install returned before the closure ran"),
                Err(_) => assert_eq!(cell.get(), 0, "a refused install ran its closure"),
            }
            closer.join().unwrap();
            let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| -> () { panic!("{}", ON_PURPOSE) })
            }));
            // The pool is closed now: `Closed`, never the closure's panic.
            assert!(matches!(panicked, Ok(Err(_))), "install on a closed pool ran its closure");
        });
}

/// A scope opened from outside a 1-worker `WorkStealingPool` runs its body on the only worker,
/// and the body joins a task it spawned: the task sits in that worker's own LIFO slot, so the
/// join must run it (it helps) — a join that only slept would deadlock.
#[test]
fn work_stealing_join_inside_an_installed_scope() {
    Model::new("pool/work_stealing: join inside a scope installed on the only worker")
        .threads(2)
        .ops("main: scope { spawn (returns 5), join it in the body }, then read; 1 worker")
        .preemption_bound(3)
        .stress_iterations(50)
        .check(|| {
            let pool: WorkStealingPool = build(1, 1);
            let value = pool.scope(|s| s.spawn(|| 5u32).join().expect("no panic"));
            assert_eq!(value, 5);
            assert_eq!(pool.shutdown().workers_joined, 1);
        });
}

// ---------------------------------------------------------------------------------------------
// `join` (WorkStealingPool's stack-job path; the other pools' `join` is a scope, which the scope
// models above cover)
// ---------------------------------------------------------------------------------------------

/// `join` inside `join` on 2 workers, from main (so the pair is installed on a worker first):
/// the inner pair and the outer second half are offered on the worker's deque, where the other
/// worker may steal either. Each half runs exactly once (a count), and the outer `join`
/// returns only after every half has finished, stolen or not — each half writes a plain cell
/// on main's stack that main reads afterwards (loom reports a race if `join` returned before a
/// stolen half's write, or if the latch's Release/Acquire did not order it).
#[test]
fn work_stealing_join_inside_join() {
    Model::new("pool/work_stealing: join inside join, every half once and finished")
        .threads(3)
        .ops("main: join(join(a, b), c), each half writes a cell on main's stack and counts itself; read the cells; 2 workers")
        .preemption_bound(1)
        .stress_iterations(200)
        .check(|| {
            let pool: WorkStealingPool = build(2, 2);
            let cells = [SharedCell::new(0u32), SharedCell::new(0u32), SharedCell::new(0u32)];
            let runs = AtomicUsize::new(0);
            let half = |i: usize| {
                cells[i].set(1);
                runs.fetch_add(1, Relaxed);
                i
            };
            let ((a, b), c) = pool.join(|| pool.join(|| half(0), || half(1)), || half(2));
            assert_eq!((a, b, c), (0, 1, 2));
            assert_eq!(runs.load(Relaxed), 3, "a half ran twice or not at all");
            for cell in &cells {
                assert_eq!(cell.get(), 1, "join returned before a half finished");
            }
        });
}

/// A panic in either half comes back to the caller only after the other half has finished:
/// on a worker, `join(a, b)` where `a` panics and `b` writes a cell and then panics too, under
/// `catch_unwind`. The payload is `a`'s (the first half's wins), and `b`'s cell is written
/// when it arrives — loom reports a race if the payload came back while a stolen `b` still
/// ran; `b`'s own panic is caught where it runs (on a thief, into the job) and dropped. 2
/// workers, so `b` can be stolen. (A panic of `b` alone, resumed, is the plain tests'.)
#[test]
fn work_stealing_join_panic_after_both_finished() {
    quiet_on_purpose_panics();
    Model::new("pool/work_stealing: a panic in either half is resumed after both finished")
        .threads(3)
        // shuttle prints a "failing schedule" for every panic, caught or not: few schedules.
        .shuttle_iterations(200)
        .ops("main: install { join(panic, write a cell then panic) under catch_unwind }, read the cell; 2 workers")
        .preemption_bound(1)
        .stress_iterations(200)
        .check(|| {
            let pool: WorkStealingPool = build(2, 2);
            let cell = SharedCell::new(0u32);
            let payload = pool
                .install(|| {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        pool.join(
                            || -> () { std::panic::panic_any(ON_PURPOSE) },
                            || -> () {
                                cell.set(1);
                                panic!("{}", ON_PURPOSE)
                            },
                        )
                    }))
                })
                .expect("the pool is open")
                .expect_err("join swallowed the panics");
            assert_eq!(payload.downcast_ref::<&str>(), Some(&ON_PURPOSE), "not the first half's payload");
            assert_eq!(cell.get(), 1, "the panic came back before the second half finished");
        });
}

zoo_test! {
    /// The install hand-off with `if` instead of `while` around the caller's futex wait
    /// (`zoo::pool::install_waiting_once`): the checkers explore a spurious futex return, and
    /// the caller comes back before the worker has run the closure.
    fn install_waiting_once_returns_early() expect Expect::both(
        Failure::Assertion("install returned before the closure had run"),
    ) => {
        Model::new("zoo: install's caller waits once (if, not while)")
            .threads(2)
            .preemption_bound(1)
            .check(|| {
                let pool: WorkStealingPool = build(1, 1);
                let value = synclab_zoo::pool::install_waiting_once(&pool, || 7u32);
                assert!(value == Some(7), "install returned before the closure had run");
            });
    }
}

zoo_test! {
    /// A fork-join whose latch is set when the thief *takes* the second half
    /// (`zoo::pool::join_latch_set_when_taken`): the owner, finding it set, reads a result the
    /// thief has not written yet. Both checkers reach the schedule: the worker takes the half
    /// while main runs the first one.
    fn join_latch_set_when_taken_returns_early() expect Expect::both(
        Failure::Assertion("join returned before the stolen half finished"),
    ) => {
        Model::new("zoo: a join latch set when the half is taken, not finished")
            .threads(2)
            .preemption_bound(2)
            .check(|| {
                let pool: WorkStealingPool = build(1, 1);
                let (a, b) = synclab_zoo::pool::join_latch_set_when_taken(&pool, || 1u32, || 7u32);
                assert_eq!(a, 1);
                assert!(b == Some(7), "join returned before the stolen half finished");
            });
    }
}
