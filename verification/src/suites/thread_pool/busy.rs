//! The suite's busy-pool scenarios: panicking tasks and payloads, submits from workers into a
//! full queue, `wait` from inside a task, and the shuttle-sized bursts.

use super::*;

/// A panicking task is caught and counted; the same (single) worker then runs the next task.
pub fn panicking_task<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    crate::suites::quiet_on_purpose_panics();
    let m = model(
        label,
        "a panicking task",
        2,
        "main: submit panicking task, submit task, wait (panicked=1), shutdown; 1 worker",
    );
    run("panicking_task", m, tune, || {
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

/// A task panics with a payload whose `Drop` panics too, another with a chain of them: the
/// pool catches both, counts each task once, keeps every worker, runs the task behind them,
/// hands both payloads to `wait`'s caller, and `wait` and `shutdown` return.
fn panic_payload_panics_on_drop<P: ThreadPool + 'static>(label: &str, tune: Tune, workers: usize) {
    crate::suites::quiet_on_purpose_panics();
    let scenario = if workers == 1 {
        "panic_payload_panics_on_drop_one_worker"
    } else {
        "panic_payload_panics_on_drop_two_workers"
    };
    let m = model(label, &format!("panic payloads that panic on drop, {workers} worker(s)"),
        workers + 1,
        "main: submit panic_any(Bomb), panic_any(ChainBomb(2)), a task; wait (panicked=2), shutdown (all joined)")
        .stress_iterations(200)
        .deadline(Duration::from_secs(60));
    run(scenario, m, tune, move || {
        let pool: P = build(workers, 4);
        let ran = Arc::new(AtomicBool::new(false));
        pool.execute(|| std::panic::panic_any(Bomb)).unwrap();
        pool.execute(|| std::panic::panic_any(ChainBomb(2)))
            .unwrap();
        {
            let ran = Arc::clone(&ran);
            pool.execute(move || ran.store(true, Relaxed)).unwrap();
        }
        let report = pool.wait().unwrap();
        assert_eq!(report.panicked, 2, "each panicking task is counted once");
        assert!(report.payloads[0].is::<Bomb>() || report.payloads[1].is::<Bomb>());
        // The payloads come back to the caller, as `std::thread::JoinHandle::join` hands them
        // to the joiner; these two panic when dropped, so the test leaks them.
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

/// `panic_payload_panics_on_drop` with one worker.
pub fn panic_payload_panics_on_drop_one_worker<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    panic_payload_panics_on_drop::<P>(label, tune, 1);
}

/// `panic_payload_panics_on_drop` with two workers.
pub fn panic_payload_panics_on_drop_two_workers<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    panic_payload_panics_on_drop::<P>(label, tune, 2);
}

/// Every worker runs a task that submits more tasks than the queue holds, while no worker is
/// free to drain it (the parents meet at a rendezvous first). A submit from one of the pool's
/// own workers never waits for room — it is accepted beyond the bound — so every child runs and
/// `wait` returns.
fn submit_from_workers_into_a_full_queue<P: ThreadPool + 'static>(
    label: &str,
    tune: Tune,
    workers: usize,
) {
    let scenario = if workers == 1 {
        "submit_from_the_only_worker_into_a_full_queue"
    } else {
        "submit_from_every_worker_into_a_full_queue"
    };
    let m = model(label,
        &format!("{workers} worker(s) each submit 2 tasks into a full queue (capacity 1)"),
        workers + 1,
        "main: submit one parent per worker, wait; each parent: meet the others, submit 2 children; capacity 1")
        .stress_iterations(200)
        .deadline(Duration::from_secs(60));
    run(scenario, m, tune, move || {
        let pool = Arc::new(build::<P>(workers, 1));
        let started = Arc::new(AtomicU32::new(0));
        let children = Arc::new(AtomicUsize::new(0));
        for _ in 0..workers {
            let (handle, started, children) = (
                Arc::clone(&pool),
                Arc::clone(&started),
                Arc::clone(&children),
            );
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
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
        assert_eq!(children.load(Relaxed), 2 * workers, "a child task was lost");
    });
}

/// `submit_from_workers_into_a_full_queue` with one worker.
pub fn submit_from_the_only_worker_into_a_full_queue<P: ThreadPool + 'static>(
    label: &str,
    tune: Tune,
) {
    submit_from_workers_into_a_full_queue::<P>(label, tune, 1);
}

/// `submit_from_workers_into_a_full_queue` with two workers: a rendezvous and an overflow
/// mutex on 3 threads, over loom's budget even at bound 1, so the suite skips it under loom.
pub fn submit_from_every_worker_into_a_full_queue<P: ThreadPool + 'static>(
    label: &str,
    tune: Tune,
) {
    if crate::suites::under_loom() {
        eprintln!(
            "[loom] {}: 2 workers submitting into a full queue: over loom's budget at \
                   bound 1 (> 9 min); shuttle and stress run it",
            type_label(label)
        );
        return;
    }
    submit_from_workers_into_a_full_queue::<P>(label, tune, 2);
}

/// A task's `try_submit`s into its own pool until one is refused: the refusal says `Full`
/// (never `Closed` on an open pool) and comes within a bound — a pool holds a worker's
/// `try_submit`s in a bounded queue (its shared queue, or the worker's own deque), never
/// beyond it as `submit` may. Every accepted child runs once; the refused one is handed back.
/// The bound is 16 tries under the checkers (a worker's deque is small there) and 1 024 in a
/// plain build.
pub fn try_submit_from_a_worker_until_full<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "a task try_submits until refused",
        2,
        "main: submit parent, wait; parent: try_submit children until refused (Full); 1 worker, capacity 1",
    );
    run("try_submit_from_a_worker_until_full", m, tune, || {
        let limit = if synclab::sync::WORLD == synclab::sync::World::Plain {
            1024
        } else {
            16
        };
        let pool = Arc::new(build::<P>(1, 1));
        let ran = Arc::new(AtomicUsize::new(0));
        // What the parent saw: children accepted, and how the first refusal came (0: none
        // within the bound, 1: Full, 2: anything else).
        let accepted = Arc::new(AtomicUsize::new(0));
        let refusal = Arc::new(AtomicUsize::new(0));
        {
            let (handle, ran, accepted, refusal) = (
                Arc::clone(&pool),
                Arc::clone(&ran),
                Arc::clone(&accepted),
                Arc::clone(&refusal),
            );
            pool.execute(move || {
                for _ in 0..limit {
                    let ran = Arc::clone(&ran);
                    match handle.try_submit(Box::new(move || {
                        ran.fetch_add(1, Relaxed);
                    })) {
                        Ok(()) => {
                            accepted.fetch_add(1, Relaxed);
                        }
                        Err(TrySubmitError::Full(back)) => {
                            drop(back);
                            refusal.store(1, Relaxed);
                            return;
                        }
                        Err(other) => {
                            drop(other.into_task());
                            refusal.store(2, Relaxed);
                            return;
                        }
                    }
                }
            })
            .unwrap();
        }
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
        let accepted = accepted.load(Relaxed);
        match refusal.load(Relaxed) {
            1 => {}
            2 => panic!("a worker's try_submit was refused, but not as Full, on an open pool"),
            _ => panic!("a worker's try_submit accepted {accepted} tasks, never Full"),
        }
        assert_eq!(
            ran.load(Relaxed),
            accepted,
            "an accepted child was lost or run twice, or the refused one ran"
        );
    });
}

/// A task calls `wait` on its own pool: it would wait for itself. `wait` on one of the pool's
/// own workers returns `Err(WaitError::InsideTask)` at once.
pub fn wait_inside_a_task<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "a task calls wait on its own pool",
        2,
        "main: submit a task that calls wait on the pool, wait; 1 worker",
    )
    .stress_iterations(200)
    .deadline(Duration::from_secs(60));
    run("wait_inside_a_task", m, tune, || {
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

/// shuttle / stress: 3 workers and a burst of 3 tasks that wait for each other. It finishes only
/// if the pool runs all 3 at once — a pool that leaves a queued task waiting while a worker
/// sleeps deadlocks.
pub fn burst_runs_in_parallel<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    const N: u32 = 3;
    let m = model(
        label,
        "burst of 3 rendezvous tasks on 3 workers",
        4,
        "main: submit 3 tasks that each wait until all 3 started, wait; 3 workers",
    )
    // 20 000: a lost wake-up after a fruitless search first showed at 20 000 schedules
    // per scheduler; about a second per pool.
    .shuttle_iterations(20_000)
    .stress_iterations(20);
    if !fits_loom(&m.name, 4) {
        return;
    }
    run("burst_runs_in_parallel", m, tune, || {
        let pool: P = build(3, 3);
        let started = Arc::new(AtomicU32::new(0));
        for _ in 0..N {
            let started = Arc::clone(&started);
            pool.execute(move || {
                // AcqRel/Acquire: only the count matters; the futex carries the sleep.
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

/// shuttle / stress: 3 workers, 2 submitting threads × 10 tasks, each submitter waits after
/// some of its tasks. Every task runs exactly once, and every wait returns only after the tasks
/// its caller submitted before it have finished.
pub fn many_tasks_two_submitters<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    const PER_SUBMITTER: usize = 10;
    let m = model(
        label,
        "3 workers, 2 submitters x 10 tasks, waits between",
        6,
        "2 submitters: 10 tasks each, wait after tasks 3/7 (A) and 5/10 (B); main: wait; 3 workers",
    )
    .shuttle_iterations(2000)
    .stress_iterations(20);
    if !fits_loom(&m.name, 6) {
        return;
    }
    run("many_tasks_two_submitters", m, tune, || {
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
                            let _ = pool.wait().expect("not called from one of the pool's workers");
                            for j in 0..=i {
                                let mine = s * PER_SUBMITTER + j;
                                assert_eq!(runs[mine].load(Acquire), 1,
                                    "wait returned before task {mine} (submitted before it) finished");
                            }
                        }
                    }
                })
            })
            .collect();
        for s in submitters {
            s.join().unwrap();
        }
        let _report = pool
            .wait()
            .expect("not called from one of the pool's workers");
        for (index, count) in runs.iter().enumerate() {
            assert_eq!(
                count.load(Acquire),
                1,
                "task {index} ran {} times",
                count.load(Acquire)
            );
        }
    });
}
