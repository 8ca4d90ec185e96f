//! `join`, the free `join` and the data-parallel helpers (`for_each`, `map_reduce`), on every
//! pool: values, borrows, recursion, panics in either half, calls from inside and outside the
//! pool, a closed pool, and empty inputs. Each case runs on its own thread and is given 60 s,
//! so a hang fails the test instead of hanging the suite.
//!
//! The models (loom, shuttle) of the stack-job path are in `verification/tests/models/pool/work_stealing.rs`; the
//! Miri programs in `tests/miri.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use synclab::pool::{
    panic_message, FutexCondvarPool, LockFreePool, StdCondvarPool, ThreadPool, WorkStealingPool,
};

const ON_PURPOSE: &str = "synclab-test: a half panics on purpose";

fn within_60_s<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{what}: no result within 60 s (hung, or a panic)"))
}

/// Prints nothing for the panics these tests cause on purpose.
fn quiet() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            if message != Some(ON_PURPOSE) {
                default(info);
            }
        }));
    });
}

fn fib<P: ThreadPool>(pool: &P, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
    a + b
}

fn fib_free(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = synclab::pool::join(|| fib_free(n - 1), || fib_free(n - 2));
    a + b
}

/// Values come back, the halves may borrow (and mutate disjoint parts of) the caller's stack,
/// and recursion from outside and from inside a task gives the right answer.
fn values_borrows_and_recursion<P: ThreadPool + 'static>() {
    for workers in [1, 2, 3] {
        let pool = Arc::new(P::with_workers(workers).unwrap());
        let mut v = vec![5, 1, 4, 2, 3, 0];
        let (left, right) = v.split_at_mut(3);
        let (x, y) = pool.join(
            || {
                left.sort();
                1
            },
            || {
                right.sort();
                "two"
            },
        );
        assert_eq!((x, y), (1, "two"));
        assert_eq!(v, [1, 4, 5, 0, 2, 3]);
        assert_eq!(fib(&*pool, 18), 2584);
        // From inside one of the pool's own tasks.
        let inner = Arc::clone(&pool);
        let handle = pool.spawn(move || fib(&*inner, 16)).unwrap();
        assert_eq!(handle.join().unwrap(), 987);
        // `join` inside `join`, with both levels' halves borrowing.
        let cells: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        pool.join(
            || {
                pool.join(
                    || cells[0].store(1, Ordering::Relaxed),
                    || cells[1].store(2, Ordering::Relaxed),
                )
            },
            || {
                pool.join(
                    || cells[2].store(3, Ordering::Relaxed),
                    || cells[3].store(4, Ordering::Relaxed),
                )
            },
        );
        let seen: Vec<usize> = cells.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        assert_eq!(seen, [1, 2, 3, 4]);
        assert_eq!(
            pool.wait().unwrap().panicked,
            0,
            "join reported a panic to wait"
        );
    }
}

/// A panic in either half is resumed, after the other half has finished; the first half's
/// when both panic; the pool keeps working, and `wait` reports nothing (the payload went to
/// the caller).
fn panics_are_resumed_after_both_finished<P: ThreadPool + 'static>() {
    quiet();
    let pool = P::with_workers(2).unwrap();
    for round in 0..20 {
        let other_done = AtomicUsize::new(0);
        let slow = || {
            std::thread::sleep(Duration::from_micros(200));
            other_done.store(1, Ordering::Relaxed);
        };
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            if round % 2 == 0 {
                pool.join(|| -> () { panic!("{}", ON_PURPOSE) }, slow);
            } else {
                pool.join(slow, || -> () { panic!("{}", ON_PURPOSE) });
            }
        }));
        let payload = caught.expect_err("join swallowed a panic");
        assert_eq!(panic_message(&payload), Some(ON_PURPOSE));
        assert_eq!(
            other_done.load(Ordering::Relaxed),
            1,
            "join unwound before the other half finished"
        );
        // Both panic: the first half's payload wins.
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.join(
                || -> () { std::panic::panic_any(ON_PURPOSE) },
                || -> () { std::panic::panic_any(String::from("the second half's")) },
            );
        }));
        let payload = caught.expect_err("join swallowed both panics");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&ON_PURPOSE));
    }
    assert_eq!(fib(&pool, 12), 144, "the pool works after the panics");
    assert_eq!(
        pool.wait().unwrap().panicked,
        0,
        "a join's payload reached wait"
    );
    assert_eq!(pool.shutdown().workers_joined, 2);
}

/// A closed pool still joins: both halves run (on the caller, or the pool's draining
/// workers), nothing is lost.
fn closed_pool_still_joins<P: ThreadPool + 'static>() {
    let pool = P::with_workers(2).unwrap();
    pool.close();
    assert_eq!(fib(&pool, 10), 55);
    let mut v = vec![3u32; 100];
    pool.for_each(&mut v[..], |x| *x += 1);
    assert!(v.iter().all(|&x| x == 4));
}

/// `for_each` over a range, a slice and a mutable slice; `map_reduce` sums; empty inputs and
/// single items; reversed ranges are empty.
fn helpers<P: ThreadPool + 'static>() {
    for workers in [1, 2, 4] {
        let pool = P::with_workers(workers).unwrap();
        for n in [0usize, 1, 2, 3, 17, 1000, 10_007] {
            let hits: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
            pool.for_each(0..n, |i| {
                hits[i].fetch_add(1, Ordering::Relaxed);
            });
            assert!(
                hits.iter().all(|h| h.load(Ordering::Relaxed) == 1),
                "n = {n}: an index ran twice or never"
            );
            let v: Vec<u64> = (0..n as u64).collect();
            let sum = pool.map_reduce(&v[..], || 0, |&x| x, |a, b| a + b);
            assert_eq!(
                sum,
                (n as u64) * (n as u64).saturating_sub(1) / 2,
                "n = {n}"
            );
            let mut w = v.clone();
            pool.for_each(&mut w[..], |x| *x *= 3);
            assert!(w.iter().zip(&v).all(|(a, b)| *a == 3 * b));
            let seen = AtomicUsize::new(0);
            pool.for_each(&v[..], |_| {
                seen.fetch_add(1, Ordering::Relaxed);
            });
            assert_eq!(seen.into_inner(), n);
        }
        // The pieces are combined in order: a non-commutative (associative) reduction.
        let words: Vec<String> = (0..300).map(|i| format!("{i},")).collect();
        let joined = pool.map_reduce(&words[..], String::new, |w| w.clone(), |a, b| a + &b);
        assert_eq!(joined, words.concat());
        #[allow(
            clippy::reversed_empty_ranges,
            reason = "a reversed range is empty: tested"
        )]
        let reversed = pool.map_reduce(10..3, || 0usize, |_| 1, |a, b| a + b);
        assert_eq!(reversed, 0);
    }
}

/// A panic in `for_each`'s closure comes back to the caller once every piece has finished.
fn helper_panic<P: ThreadPool + 'static>() {
    quiet();
    let pool = P::with_workers(2).unwrap();
    let ran = AtomicUsize::new(0);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.for_each(0..64, |i| {
            if i == 13 {
                panic!("{}", ON_PURPOSE);
            }
            ran.fetch_add(1, Ordering::Relaxed);
        });
    }));
    assert_eq!(
        panic_message(&caught.expect_err("the panic was swallowed")),
        Some(ON_PURPOSE)
    );
    // Every other item's piece finished before the panic came back (the pieces that share
    // item 13's piece stop at it).
    assert!(ran.load(Ordering::Relaxed) >= 32);
    assert_eq!(pool.wait().unwrap().panicked, 0);
}

macro_rules! every_pool {
    ($($module:ident => $pool:ty;)*) => {$(
        mod $module {
            use super::*;
            const NAME: &str = stringify!($module);

            #[test]
            fn values_borrows_and_recursion() {
                within_60_s(NAME, super::values_borrows_and_recursion::<$pool>);
            }

            #[test]
            fn panics_are_resumed_after_both_finished() {
                within_60_s(NAME, super::panics_are_resumed_after_both_finished::<$pool>);
            }

            #[test]
            fn closed_pool_still_joins() {
                within_60_s(NAME, super::closed_pool_still_joins::<$pool>);
            }

            #[test]
            fn helpers() {
                within_60_s(NAME, super::helpers::<$pool>);
            }

            #[test]
            fn helper_panic() {
                within_60_s(NAME, super::helper_panic::<$pool>);
            }
        }
    )*};
}

every_pool! {
    std_condvar => StdCondvarPool;
    futex_condvar => FutexCondvarPool;
    lock_free => LockFreePool;
    work_stealing => WorkStealingPool;
}

/// The free functions: outside every pool (the global pool), and inside a task of a
/// `WorkStealingPool` (that pool: the recursion runs on its workers, not on the global pool's).
#[test]
fn free_functions_outside_and_inside_a_pool() {
    within_60_s("free functions", || {
        assert_eq!(fib_free(20), 6765);
        let v: Vec<u64> = (0..10_000).collect();
        assert_eq!(
            synclab::pool::map_reduce(&v[..], || 0, |&x| x, |a, b| a + b),
            49_995_000
        );
        let pool = WorkStealingPool::with_workers(2).unwrap();
        let threads = std::sync::Mutex::new(std::collections::HashSet::new());
        let workers = pool
            .install(|| {
                synclab::pool::for_each(0..2000, |_| {
                    threads.lock().unwrap().insert(std::thread::current().id());
                });
                fib_free(15)
            })
            .unwrap();
        assert_eq!(workers, 610);
        // Only this pool's two workers ran the items.
        assert!(threads.into_inner().unwrap().len() <= 2);
    });
}

/// Deep recursion that nests far more joins than a deque has slots: the deque fills, and the
/// halves then run inline; nothing is lost.
#[test]
fn deeper_than_the_deque() {
    within_60_s("deep recursion", || {
        fn depth(pool: &WorkStealingPool, n: u32) -> u32 {
            if n == 0 {
                return 0;
            }
            let (a, b) = pool.join(|| depth(pool, n - 1), || 1);
            a + b
        }
        let pool = WorkStealingPool::with_workers(2).unwrap();
        assert_eq!(pool.install(|| depth(&pool, 400)).unwrap(), 400);
    });
}
