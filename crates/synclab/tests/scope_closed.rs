//! A scope on a closed pool: the pool refuses every task, so the scope runs its tasks itself —
//! and a body that joins one of its tasks before it returns must get the result, not wait
//! forever for a task that nobody would run until the body returned (before the handle helped
//! the scope's queue, every pool hung here).
//!
//! Each case runs on its own thread and is given 10 s: a hang fails the test instead of
//! hanging the suite.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use synclab::pool::{FutexCondvarPool, LockFreePool, StdCondvarPool, ThreadPool, WorkStealingPool};

fn within_10_s<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what}: no result within 10 s (hung)"))
}

fn joins_inside_the_body_of_a_closed_pools_scope<P: ThreadPool + 'static>(name: &str) {
    for workers in [1, 2] {
        let what = format!("{name} with {workers} worker(s)");
        let (sum, late) = within_10_s(&what, move || {
            let pool = P::with_workers(workers).expect("a valid pool");
            pool.close();
            let local = [1u64, 2, 3, 4];
            let late = AtomicU64::new(0);
            let sum = pool.scope(|s| {
                let a = s.spawn(|| local.iter().sum::<u64>());
                let b = s.spawn(|| local.len() as u64);
                // Joined inside the body, in the opposite order of spawning.
                let len = b.join().expect("no panic");
                let sum = a.join().expect("no panic");
                // And one left for the scope's own wait.
                s.execute(|| late.store(99, Ordering::Relaxed));
                sum * 10 + len
            });
            pool.shutdown();
            (sum, late.into_inner())
        });
        assert_eq!(sum, 104, "{what}");
        assert_eq!(late, 99, "{what}");
    }
}

#[test]
fn std_condvar_pool() {
    joins_inside_the_body_of_a_closed_pools_scope::<StdCondvarPool>("StdCondvarPool");
}

#[test]
fn futex_condvar_pool() {
    joins_inside_the_body_of_a_closed_pools_scope::<FutexCondvarPool>("FutexCondvarPool");
}

#[test]
fn lock_free_pool() {
    joins_inside_the_body_of_a_closed_pools_scope::<LockFreePool>("LockFreePool");
}

#[test]
fn work_stealing_pool() {
    joins_inside_the_body_of_a_closed_pools_scope::<WorkStealingPool>("WorkStealingPool");
}
