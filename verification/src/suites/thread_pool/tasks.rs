//! Task results and scopes, written once on the [`ThreadPool`] trait and checked on every
//! pool: `spawn`/`join`, a detached task's panic, `scope` (its writes, its re-raised panic, a
//! scope inside the only worker's task, a scope on a closed pool), and timed waits.

use std::time::Duration;

use synclab::pool::{panic_message, ThreadPool};
use synclab::sync::Arc;

use super::{build, model, run, Tune, ON_PURPOSE};
use crate::SharedCell;

/// `spawn` + `join`: the value comes back with the task's writes visible (a plain cell: a
/// missing happens-before edge from the task's finish to `join` is a race), and a panic's
/// payload comes back to `join` and not to `wait`.
pub fn spawn_join_value_and_panic<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    crate::suites::quiet_on_purpose_panics();
    let m = model(label, "spawn/join a value and a panic", 2,
        "main: spawn (writes a cell, returns 7), spawn (panics), join both, read the cell, wait; 1 worker")
        // shuttle prints a "failing schedule" for every panic, caught or not: few schedules.
        .shuttle_iterations(200);
    run("spawn_join_value_and_panic", m, tune, || {
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
        let payload = failed
            .join()
            .expect_err("join of a panicked task returned Ok");
        assert_eq!(panic_message(&payload), Some(ON_PURPOSE));
        assert_eq!(
            pool.wait().unwrap().panicked,
            0,
            "a joined payload was reported by wait too"
        );
    });
}

/// A spawned task panics while (or after) its handle is dropped: whichever side comes second
/// hands the payload to the pool, and `wait` reports it exactly once.
pub fn spawn_detached_panic_reaches_wait<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    crate::suites::quiet_on_purpose_panics();
    let m = model(
        label,
        "a detached task's panic reaches wait",
        2,
        "main: spawn (panics), drop the handle (races the task), wait: 1 payload; 1 worker",
    )
    .preemption_bound(3)
    .shuttle_iterations(200);
    run("spawn_detached_panic_reaches_wait", m, tune, || {
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

/// `scope` with two tasks writing cells on main's stack: when `scope` returns both writes are
/// done and visible (loom reports the read as a race if `scope` returned early).
pub fn scope_writes_visible<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "scope borrows the stack, returns after its tasks",
        3,
        "main: scope { spawn x2, each writes a cell on main's stack }, read both; 2 workers",
    );
    run("scope_writes_visible", m, tune, || {
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
pub fn scope_reraises_after_all_finished<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    crate::suites::quiet_on_purpose_panics();
    let m = model(label, "scope re-raises a task's panic after all finished", 2,
        "main: scope { spawn (panics), spawn (writes a cell) } under catch_unwind, read the cell; 1 worker")
        .shuttle_iterations(200);
    run("scope_reraises_after_all_finished", m, tune, || {
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
        assert_eq!(
            cell.get(),
            1,
            "scope unwound before its other task finished"
        );
        assert_eq!(
            pool.wait().unwrap().panicked,
            0,
            "the scope's payload was reported by wait too"
        );
    });
}

/// A scope opened inside the task of a 1-worker pool: the only worker is the scope's owner, so
/// nobody else can run the scoped tasks — it runs them itself. Without that the model
/// deadlocks.
pub fn scope_inside_the_only_workers_task<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(label, "a scope inside the only worker's task (it helps)", 2,
        "main: spawn a task that opens a scope of 2 tasks writing cells on its stack, join; 1 worker");
    run("scope_inside_the_only_workers_task", m, tune, || {
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
        assert_eq!(
            handle.join().unwrap(),
            (1, 2),
            "the nested scope returned early"
        );
    });
}

/// A scope on a closed pool: the pool refuses every task, so the scope runs its tasks itself —
/// and a body that joins its tasks before it returns gets their results, not a wait for tasks
/// nobody would run until the body returned.
pub fn scope_on_a_closed_pool<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(label, "a scope on a closed pool joins inside its body", 2,
        "main: close; scope { spawn 2, join both (reverse order), execute 1 }, read; shutdown; 1 worker");
    run("scope_on_a_closed_pool", m, tune, || {
        let pool: P = build(1, 1);
        pool.close();
        let local = [1u64, 2, 3, 4];
        let late = SharedCell::new(0u64);
        let sum = pool.scope(|s| {
            let a = s.spawn(|| local.iter().sum::<u64>());
            let b = s.spawn(|| local.len() as u64);
            let len = b.join().expect("no panic");
            let sum = a.join().expect("no panic");
            // And one left for the scope's own wait.
            s.execute(|| late.set(99));
            sum * 10 + len
        });
        assert_eq!((sum, late.get()), (104, 99));
        assert_eq!(pool.shutdown().workers_joined, 1);
    });
}

/// `wait_timeout` (which the models may time out at any moment) on a task still running, then
/// `join`'s `wait_timeout`, then `wait`: a timed-out wait leaves the pool consistent — the
/// untimed `wait` still returns, after the task, with its write visible.
pub fn timed_waits_then_wait<P: ThreadPool + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "wait_timeout and JoinHandle::wait_timeout, then wait",
        2,
        "main: spawn (writes a cell), pool.wait_timeout, handle.wait_timeout, wait, read; 1 worker",
    );
    run("timed_waits_then_wait", m, tune, || {
        let pool: P = build(1, 1);
        let cell = Arc::new(SharedCell::new(0u32));
        let task_cell = Arc::clone(&cell);
        let handle = pool.spawn(move || task_cell.set(1)).unwrap();
        if pool.wait_timeout(Duration::from_secs(1)).is_ok() {
            assert_eq!(
                cell.get(),
                1,
                "wait_timeout returned Ok before the task finished"
            );
        }
        if handle.wait_timeout(Duration::from_secs(1)) {
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
