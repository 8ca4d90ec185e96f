//! `WorkStealingPool` (per-worker deques and LIFO slots, an injector, rayon-style sleep): the
//! suite, the models of tasks that submit tasks (its own path: a worker's LIFO slot and
//! deque), `install`, and the zoo's broken install hand-off.

use synclab::pool::{ThreadPool, WorkStealingPool};
use synclab::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use synclab::sync::{thread, Arc};
use synclab_verification::suites::thread_pool::{build, Gate};
use synclab_verification::suites::{quiet_on_purpose_panics, ON_PURPOSE};
use synclab_verification::{
    reached_if_asleep, thread_pool_suite, yield_until_asleep, zoo_test, Expect, Failure, Model,
    SharedCell,
};

thread_pool_suite!(suite, WorkStealingPool);

/// children finished, and their writes are visible.
pub(super) fn nested_submission<P: ThreadPool + 'static>(pool: &str, bound: usize) {
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
fn busy_worker_steals_from_the_lifo_slot_model() {
    busy_worker_steals_from_the_lifo_slot::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn nested_submission_model() {
    nested_submission::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn wait_while_tasks_spawn_tasks_model() {
    wait_while_tasks_spawn_tasks::<WorkStealingPool>("pool/work_stealing");
}

#[test]
fn submit_steal_shutdown_model() {
    submit_steal_shutdown::<WorkStealingPool>("pool/work_stealing", 1);
}

#[test]
fn nested_dependent_model() {
    nested_dependent::<WorkStealingPool>("pool/work_stealing", 1);
}

// ---------------------------------------------------------------------------------------------
// `install`: the caller's hand-off to a worker (WorkStealingPool overrides it)
// ---------------------------------------------------------------------------------------------

/// `install` from outside: the closure (which writes a cell on main's stack) runs on the
/// worker, and `install` returns only after it has — its value back, its write visible (loom
/// reports the read as a race if the caller came back early) — and the blocked caller is
/// always woken (a lost wakeup is a deadlock here).
#[test]
fn install_hands_back() {
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
fn install_racing_close() {
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
fn join_inside_an_installed_scope() {
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
fn join_inside_join() {
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
fn join_panic_after_both_finished() {
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

/// A joiner parked with its second half stolen is woken by a publication, not by its thief,
/// and must go on waiting. On 2 workers a task T runs `join(a, b)`; the other worker steals
/// `b`, which writes a cell on T's stack, opens a gate for main and blocks on a second gate;
/// the joiner, finding nothing to run, parks. Main passes the first gate, yields until both
/// workers sleep and submits the task that opens the second: the submit notifies a parked
/// worker's park — the joiner's, the only one parked. The joiner must run that task and sleep
/// again until the thief sets the latch; one that stopped after one park would take `b`'s
/// result before the thief wrote it (loom reports the race) or run `b` a second time (it then
/// blocks on the closed gate: a deadlock). In the other models a parked joiner is woken only
/// by its thief. (When `b` is not stolen, the joiner runs it and blocks on the gate itself,
/// and the other worker runs the opener.)
#[test]
fn join_parked_joiner_woken_by_a_publication() {
    const WOKEN: &str = "the joiner parked, b stolen and asleep, when the opener is submitted";
    Model::new("pool/work_stealing: a parked joiner woken by a submit keeps waiting for the thief")
        .threads(3)
        .ops("main: submit T, pass gate 1, yield until both workers sleep, submit the opener of gate 2, wait; T: join(no-op, b), read b's cell; b: write the cell, open gate 1, pass gate 2; 2 workers")
        .preemption_bound(1)
        .expect_reached(WOKEN)
        .stress_iterations(50)
        .check(|| {
            let pool = Arc::new(build::<WorkStealingPool>(2, 2));
            let (started, gate) = (Gate::new(), Gate::new());
            let stolen = Arc::new(AtomicBool::new(false));
            let (p, st, g, s) = (
                Arc::clone(&pool),
                Arc::clone(&started),
                Arc::clone(&gate),
                Arc::clone(&stolen),
            );
            pool.execute(move || {
                let joiner = thread::current().id();
                let cell = SharedCell::new(0u32);
                p.join(
                    || (),
                    || {
                        cell.set(1);
                        // Relaxed: main reads it after passing the gate opened below.
                        s.store(thread::current().id() != joiner, Relaxed);
                        st.open();
                        g.pass();
                    },
                );
                assert_eq!(cell.get(), 1, "join returned before the stolen half finished");
            })
            .unwrap();
            started.pass();
            if stolen.load(Relaxed) {
                yield_until_asleep(2);
                reached_if_asleep(WOKEN, 2);
            }
            pool.execute(move || gate.open()).unwrap();
            assert_eq!(pool.wait().unwrap().panicked, 0);
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
