//! The [`ThreadPool`] suite: every pool's contract — `wait` means *finished*, `close` refuses,
//! `shutdown` runs what is queued and joins, panics are caught and counted, task results and
//! scopes — checked the same way for every pool. Instantiate it with
//! [`thread_pool_suite!`](crate::thread_pool_suite).
//!
//! Under loom a scenario has at most 3 threads including main (2 workers, or 1 worker and a
//! second client thread) and a few tasks; the bigger ones (a burst on 3 workers, 2 submitters
//! × 10 tasks) run under shuttle and as stress. Task writes go to [`SharedCell`]s, so a `wait`
//! that returns before a task's write is ordered before it is a data race under loom.
//!
//! | scenario | threads | what it checks |
//! |---|---|---|
//! | `errors_and_limits` | real | zero workers, zero capacity, a capacity past the limit: typed errors; `workers`, `capacity` |
//! | `drop_runs_queued_tasks`, `dropped_inside_its_own_task`, `dropped_with_an_unreported_payload_that_panics_on_drop` | real | dropping the pool (also from its own task) runs what is queued and never panics |
//! | `two_workers_two_tasks` | 3 | `wait` returns after both tasks, their writes visible |
//! | `task_effects_visible_after_wait` | 2 | the same with one worker, at a deeper bound |
//! | `submit_while_full` | 2 | `submit` waits for room, `try_submit` hands its task back |
//! | `shutdown_runs_queued_tasks` | 3 | after `close`, submits are refused; `shutdown` runs the queue and joins |
//! | `shutdown_wakes_two_sleeping_workers` | 3 | `shutdown` while both idle workers sleep joins both; expects both asleep |
//! | `outside_submit_racing_close` | 3 | a submit from outside racing `close`: accepted ⇒ run once, refused ⇒ never run |
//! | `two_waiters` | 3 | two threads in `wait` both return after the task |
//! | `dependent_tasks` | 3 | task 1 blocks until task 2 has run: task 2 reaches the idle worker; expects both workers asleep at the submit |
//! | `panicking_task`, `panic_payload_panics_on_drop_*` | 2, 3 | panics are caught, counted once, payloads handed to `wait`; workers survive |
//! | `submit_from_the_only_worker_into_a_full_queue`, `…_every_worker_…` | 2, 3 | a submit from a worker never waits for room |
//! | `try_submit_from_a_worker_until_full` | 2 | a task's `try_submit`s into its own pool are refused `Full` within a bound; accepted ones run once |
//! | `wait_inside_a_task` | 2 | `wait` from a task refuses at once |
//! | `burst_runs_in_parallel`, `many_tasks_two_submitters` | 4, 6 | shuttle and stress |
//! | `spawn_*`, `scope_*`, `timed_waits_then_wait` | 2, 3 | task results: `spawn`/`join`, detached panics, `scope` (also on a closed pool), timed waits |

use std::time::Duration;

use synclab::pool::{
    BuildError, PoolConfig, ThreadPool, TrySubmitError, WaitError, DEFAULT_CAPACITY,
};
use synclab::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::*};
use synclab::sync::{futex, thread, Arc};

use super::{fits_loom, real_threads_only, run, type_label, Tune, ON_PURPOSE};
use crate::{reached_if_asleep, yield_until_asleep, Model, SharedCell};

mod busy;
mod tasks;
pub use busy::{
    burst_runs_in_parallel, many_tasks_two_submitters, panic_payload_panics_on_drop_one_worker,
    panic_payload_panics_on_drop_two_workers, panicking_task,
    submit_from_every_worker_into_a_full_queue, submit_from_the_only_worker_into_a_full_queue,
    try_submit_from_a_worker_until_full, wait_inside_a_task,
};
pub use tasks::{
    scope_inside_the_only_workers_task, scope_on_a_closed_pool, scope_reraises_after_all_finished,
    scope_writes_visible, spawn_detached_panic_reaches_wait, spawn_join_value_and_panic,
    timed_waits_then_wait,
};

/// Declares a module of tests that runs the [`ThreadPool`] suite on one pool.
///
/// ```ignore
/// thread_pool_suite!(my_pool, MyPool);
/// thread_pool_suite!(my_pool, MyPool, tune = my_tune); // see suites::Tune
/// ```
#[macro_export]
macro_rules! thread_pool_suite {
    ($module:ident, $pool:ty $(,)?) => {
        $crate::thread_pool_suite!($module, $pool, tune = $crate::suites::as_written);
    };
    ($module:ident, $pool:ty, tune = $tune:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::suites::thread_pool as suite;
            const TUNE: $crate::suites::Tune = $tune;
            const LABEL: &str = stringify!($pool);

            $crate::thread_pool_suite!(@tests $pool;
                errors_and_limits, drop_runs_queued_tasks, dropped_inside_its_own_task,
                dropped_with_an_unreported_payload_that_panics_on_drop, two_workers_two_tasks,
                task_effects_visible_after_wait, submit_while_full, shutdown_runs_queued_tasks,
                shutdown_wakes_two_sleeping_workers, outside_submit_racing_close, two_waiters,
                dependent_tasks, panicking_task, panic_payload_panics_on_drop_one_worker,
                panic_payload_panics_on_drop_two_workers,
                submit_from_the_only_worker_into_a_full_queue,
                submit_from_every_worker_into_a_full_queue,
                try_submit_from_a_worker_until_full, wait_inside_a_task,
                burst_runs_in_parallel, many_tasks_two_submitters,
                spawn_join_value_and_panic, spawn_detached_panic_reaches_wait,
                scope_writes_visible, scope_reraises_after_all_finished,
                scope_inside_the_only_workers_task, scope_on_a_closed_pool,
                timed_waits_then_wait);
        }
    };
    (@tests $pool:ty; $($scenario:ident),* $(,)?) => {$(
        #[test]
        fn $scenario() {
            suite::$scenario::<$pool>(LABEL, TUNE);
        }
    )*};
}

/// A gate tasks can block on until the model opens it (a futex, so nobody spins).
#[derive(Debug)]
pub struct Gate(AtomicU32);

impl Gate {
    /// A closed gate, shared.
    pub fn new() -> Arc<Self> {
        Arc::new(Gate(AtomicU32::new(0)))
    }

    /// Blocks until the gate is open.
    pub fn pass(&self) {
        // Acquire: pairs with the Release store in `open`.
        while self.0.load(Acquire) == 0 {
            futex::wait(&self.0, 0);
        }
    }

    /// Opens the gate and wakes everyone at it.
    pub fn open(&self) {
        // Release: pairs with the Acquire load in `pass`.
        self.0.store(1, Release);
        futex::wake_all(&self.0);
    }
}

/// A panic payload whose own `Drop` panics: `std::panic::panic_any(Bomb)`. Whoever drops the
/// payload that `catch_unwind` returned unwinds a second time.
#[derive(Debug)]
pub struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("{}", ON_PURPOSE);
    }
}

/// A payload whose `Drop` panics with another `ChainBomb`, `n` times over: a pool must not
/// loop (or die) dropping payloads.
#[derive(Debug)]
pub struct ChainBomb(pub u32);

impl Drop for ChainBomb {
    fn drop(&mut self) {
        if self.0 > 0 {
            std::panic::panic_any(ChainBomb(self.0 - 1));
        }
    }
}

/// A pool of `workers` workers and `capacity` queued tasks (a valid configuration).
pub fn build<P: ThreadPool>(workers: usize, capacity: usize) -> P {
    P::build(PoolConfig::new(workers).capacity(capacity)).expect("a valid configuration")
}

/// A model of pool `label` doing `what`, on `threads` threads (main and the workers).
pub(crate) fn model(label: &str, what: &str, threads: usize, ops: &str) -> Model {
    Model::new(format!("{}: {what}", type_label(label)))
        .threads(threads)
        .ops(ops)
        .preemption_bound(if threads > 2 { 1 } else { 2 })
        .stress_iterations(50)
}

/// Typed errors for a configuration no pool can run, and the configuration given back.
pub fn errors_and_limits<P: ThreadPool + 'static>(label: &str, _tune: Tune) {
    if !real_threads_only(&format!("{}: errors_and_limits", type_label(label))) {
        return;
    }
    assert_eq!(
        P::build(PoolConfig::new(0)).err(),
        Some(BuildError::ZeroWorkers)
    );
    assert_eq!(
        P::build(PoolConfig::new(2).capacity(0)).err(),
        Some(BuildError::ZeroCapacity)
    );
    for requested in [synclab::queue::MAX_CAPACITY + 1, usize::MAX] {
        match P::build(PoolConfig::new(1).capacity(requested)) {
            Err(BuildError::CapacityTooLarge { requested: r, max }) => {
                assert_eq!((r, max), (requested, synclab::queue::MAX_CAPACITY))
            }
            other => panic!("capacity {requested}: {:?}", other.map(|_| ())),
        }
    }
    let pool = P::build(PoolConfig::new(3).capacity(5)).unwrap();
    assert_eq!((pool.workers(), pool.capacity()), (3, 5));
    assert_eq!(P::with_workers(1).unwrap().capacity(), DEFAULT_CAPACITY);
}

/// Drop (not shutdown) also runs every queued task and joins the workers.
pub fn drop_runs_queued_tasks<P: ThreadPool + 'static>(label: &str, _tune: Tune) {
    if !real_threads_only(&format!("{}: drop_runs_queued_tasks", type_label(label))) {
        return;
    }
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

/// The last handle dropped inside one of the pool's own tasks: no panic (a thread cannot join
/// itself) and no hang (the other workers cannot exit while that task is pending); the workers
/// are detached and still run every queued task.
pub fn dropped_inside_its_own_task<P: ThreadPool + 'static>(label: &str, _tune: Tune) {
    if !real_threads_only(&format!(
        "{}: dropped_inside_its_own_task",
        type_label(label)
    )) {
        return;
    }
    use std::sync::mpsc;
    let pool = std::sync::Arc::new(build::<P>(2, 8));
    let (go, wait_go) = mpsc::channel::<()>();
    let (done, dropped) = mpsc::channel::<()>();
    let (ran, runs) = mpsc::channel::<u32>();
    let last = std::sync::Arc::clone(&pool);
    pool.execute(move || {
        wait_go.recv().unwrap();
        assert_eq!(
            std::sync::Arc::strong_count(&last),
            1,
            "the task holds the last handle"
        );
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

/// A pool dropped without `wait` or `shutdown` still holds the payloads nobody took; it drops
/// them under a guard, so a payload whose `Drop` panics neither panics in the dropping thread
/// nor aborts it.
pub fn dropped_with_an_unreported_payload_that_panics_on_drop<P: ThreadPool + 'static>(
    label: &str,
    _tune: Tune,
) {
    let name = format!(
        "{}: dropped with payloads that panic on drop",
        type_label(label)
    );
    if !real_threads_only(&name) {
        return;
    }
    super::quiet_on_purpose_panics();
    let pool: P = build(1, 4);
    pool.execute(|| std::panic::panic_any(Bomb)).unwrap();
    pool.execute(|| std::panic::panic_any(ChainBomb(3)))
        .unwrap();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(pool)));
    assert!(
        dropped.is_ok(),
        "dropping the pool panicked on a payload's Drop"
    );
}

/// 2 workers, 2 tasks, `wait` from main: when `wait` returns both tasks have finished, and
/// their writes are visible (a plain cell each: a missing happens-before edge is a race).
pub fn two_workers_two_tasks<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "2 workers, 2 tasks, wait from main",
        3,
        "main: submit x2, wait, read both results, shutdown; 2 workers run them",
    );
    run("two_workers_two_tasks", m, tune, || {
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

/// 1 worker, 1 task that writes a plain cell, `wait` from main, then main reads the cell: two
/// threads only, so loom can go deeper than in the 3-thread scenarios (which could not tell a
/// Release from a Relaxed on the task's finish).
pub fn task_effects_visible_after_wait<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "a task's write is visible after wait (1 worker)",
        2,
        "main: submit 1 task (writes a cell), wait, read the cell, shutdown; 1 worker",
    )
    .preemption_bound(3);
    run("task_effects_visible_after_wait", m, tune, || {
        let pool: P = build(1, 1);
        let cell = Arc::new(SharedCell::new(0u32));
        let task_cell = Arc::clone(&cell);
        pool.execute(move || task_cell.set(1)).unwrap();
        assert_eq!(pool.wait().unwrap().panicked, 0);
        assert_eq!(cell.get(), 1, "wait returned before the task finished");
        assert_eq!(pool.shutdown().workers_joined, 1);
    });
}

/// 1 worker, capacity 1: the second `submit` waits while the queue is full, and `try_submit`
/// hands its task back; nothing is lost.
pub fn submit_while_full<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(label, "submit and try_submit while full", 2,
        "main: submit gated task, submit (waits while full), try_submit (full), open gate, submit, wait; 1 worker, capacity 1");
    run("submit_while_full", m, tune, || {
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
        // Capacity 1: this submit waits until the worker has taken the gated task off the
        // queue. The worker then blocks at the gate, so the queue stays full.
        pool.execute(task(&ran)).unwrap();
        match pool.try_submit(Box::new(task(&ran))) {
            Err(TrySubmitError::Full(back)) => drop(back),
            Err(TrySubmitError::Closed(_)) => panic!("try_submit said closed on an open pool"),
            Err(other) => panic!("try_submit failed in a new way: {other:?}"),
            Ok(()) => panic!("try_submit accepted a task beyond the capacity"),
        }
        gate.open();
        pool.execute(task(&ran)).unwrap();
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
        assert_eq!(ran.load(Relaxed), 3, "a task was lost or run twice");
    });
}

/// `close` then `shutdown` with tasks still queued: every queued task runs, submits after
/// `close` hand their task back, every worker is joined.
pub fn shutdown_runs_queued_tasks<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "shutdown with queued tasks",
        3,
        "main: submit x2, close, submit+try_submit (handed back), shutdown; 2 workers",
    );
    run("shutdown_runs_queued_tasks", m, tune, || {
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

/// The path [`shutdown_wakes_two_sleeping_workers`] expects: both workers asleep when
/// `shutdown` begins, so its wake must reach two.
pub const SHUTDOWN_FINDS_TWO_SLEEPERS: &str = "shutdown while both workers sleep";

/// Two sleepers at `close`: both workers go idle; `shutdown` then must wake and join both (a
/// close that wakes one sleeper joins one worker and hangs on the other).
pub fn shutdown_wakes_two_sleeping_workers<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "shutdown while both workers sleep",
        3,
        "main: yield until both workers sleep, shutdown (joins both); 2 workers, no task",
    )
    .expect_reached(SHUTDOWN_FINDS_TWO_SLEEPERS);
    run("shutdown_wakes_two_sleeping_workers", m, tune, || {
        let pool: P = build(2, 2);
        // Let both workers' searches run out, so that they sleep when `shutdown` begins.
        yield_until_asleep(2);
        reached_if_asleep(SHUTDOWN_FINDS_TWO_SLEEPERS, 2);
        let report = pool.shutdown();
        assert_eq!((report.workers_joined, report.workers_lost), (2, 0));
    });
}

/// An outside submit racing `close`: a second client thread submits while main closes. The
/// submit is either accepted — and then its task runs exactly once before `shutdown` returns —
/// or refused with the task handed back, never run; never lost, never a hang.
pub fn outside_submit_racing_close<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "an outside submit races close",
        3,
        "client: submit (writes a cell); main: close, join client, shutdown, read; 1 worker",
    )
    .preemption_bound(2);
    run("outside_submit_racing_close", m, tune, || {
        let pool = Arc::new(build::<P>(1, 1));
        let cell = Arc::new(SharedCell::new(0u32));
        let ran = Arc::new(AtomicUsize::new(0));
        let client = {
            let (pool, cell, ran) = (Arc::clone(&pool), Arc::clone(&cell), Arc::clone(&ran));
            thread::spawn(move || {
                let accepted = pool.execute(move || {
                    cell.set(1);
                    ran.fetch_add(1, Relaxed);
                });
                match accepted {
                    Ok(()) => true,
                    Err(refused) => {
                        drop(refused.into_task()); // handed back, never run
                        false
                    }
                }
            })
        };
        pool.close();
        let accepted = client.join().unwrap();
        let pool = Arc::try_unwrap(pool)
            .ok()
            .expect("the client's handle is gone");
        let report = pool.shutdown();
        assert_eq!(report.workers_joined, 1);
        if accepted {
            assert_eq!(
                ran.load(Relaxed),
                1,
                "an accepted task did not run exactly once"
            );
            assert_eq!(
                cell.get(),
                1,
                "shutdown returned before the accepted task's write"
            );
        } else {
            assert_eq!(ran.load(Relaxed), 0, "a refused task ran");
        }
    });
}

/// Two threads wait at once: both return, and both see the task finished.
pub fn two_waiters<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "two threads wait at once",
        3,
        "main: submit, wait, read; helper: wait, read; 1 worker",
    );
    run("two_waiters", m, tune, || {
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

/// The path [`dependent_tasks`] expects: both workers asleep (one at the gate, one idle) when
/// the second task is submitted, so its wake is due to the idle one.
pub const SUBMIT_FINDS_BOTH_ASLEEP: &str = "second submit while both workers sleep";

/// 2 workers and 2 tasks where the first blocks until the second has run: it finishes only if
/// the second task reaches the idle worker while the first one's worker is blocked. (For
/// `LockFreePool` this is the searcher hand-off: a submitter skips the wake-up while a worker
/// is searching, so the last searcher that finds a task must look at the queue again and wake
/// a sleeper for what is left.)
pub fn dependent_tasks<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "2 workers, task 1 blocks until task 2 has run",
        3,
        "main: submit 2 tasks, wait; task 1 waits on a gate task 2 opens",
    )
    .expect_reached(SUBMIT_FINDS_BOTH_ASLEEP);
    run("dependent_tasks", m, tune, || {
        let pool: P = build(2, 2);
        let gate = Gate::new();
        let first = Arc::clone(&gate);
        // The yields are free switch points: they let the workers start (one searching, one
        // asleep) and run between the submissions without spending the preemption bound,
        // which is then left to stop the searcher between its pop and its look.
        thread::yield_now();
        pool.execute(move || first.pass()).unwrap();
        thread::yield_now();
        reached_if_asleep(SUBMIT_FINDS_BOTH_ASLEEP, 2);
        pool.execute(move || gate.open()).unwrap();
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
    });
}
