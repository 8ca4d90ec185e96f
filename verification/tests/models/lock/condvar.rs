//! The futex `Condvar`, through `FutexFamily` (so a design written over `LockFamily` is what is
//! checked): hand-off, spurious returns, `notify_all` to two sleepers, a producer/consumer pair,
//! timed waits; then the condvar zoo. The producer/consumer pair runs over `StdFamily` too: its
//! `wait_while` is `LockFamily`'s own re-check loop, which no design calls.

use std::time::Duration;

use synclab::lock::{Condvar, FutexFamily, FutexMutex, LockFamily, StdFamily};
use synclab::sync::{thread, Arc};
use synclab_verification::{reached, reached_if_asleep, zoo_test, Expect, Failure, Model};
use synclab_zoo::locks::{wait_without_recheck, CountFirstCondvar};

/// The path [`absorbs_spurious_returns`] is for: a wait that returned with the flag false.
const EARLY_RETURN: &str = "a wait returned with the flag still false";

/// Waits while `flag` is false, with an explicit predicate loop, marking early returns.
fn wait_for_flag<F: LockFamily>(lock: &F::Mutex<bool>, cv: &F::Condvar) {
    let mut guard = F::lock(lock);
    while !*guard {
        guard = F::wait(cv, guard);
        if !*guard {
            reached(EARLY_RETURN);
        }
    }
}

/// One waiter, one notifier; the notifier sets the flag under the lock and notifies either
/// after unlocking or while holding the lock.
fn handoff<F: LockFamily>(notify_under_lock: bool) {
    let state = Arc::new((F::mutex(false), F::condvar()));
    let waiter = {
        let state = Arc::clone(&state);
        thread::spawn(move || wait_for_flag::<F>(&state.0, &state.1))
    };
    let (lock, cv) = &*state;
    let mut guard = F::lock(lock);
    *guard = true;
    if notify_under_lock {
        F::notify_one(cv);
        drop(guard);
    } else {
        drop(guard);
        F::notify_one(cv);
    }
    waiter.join().unwrap();
}

/// Under a checker, spurious futex returns are injected (loom: the second pass; shuttle: a
/// coin per wait), so some execution must take the re-check path — the model says so.
#[test]
fn absorbs_spurious_returns() {
    Model::new("FutexFamily: condvar handoff, notify after unlock; early returns absorbed")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("waiter: lock; while !flag wait; notifier: lock; flag=true; unlock; notify_one")
        .exhaustive()
        .expect_reached(EARLY_RETURN)
        .check(|| handoff::<FutexFamily>(false));
}

#[test]
fn handoff_notify_under_lock() {
    Model::new("FutexFamily: condvar handoff, notify under the lock")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("waiter: lock; while !flag wait; notifier: lock; flag=true; notify_one; unlock")
        // Exhaustive: 911,552 executions, 121 s (one core): the waiter's sleep on the *mutex*
        // while the notifier holds it is explored too. Bound 8: 62,303 executions, 4 s.
        .preemption_bound(8)
        .check(|| handoff::<FutexFamily>(true));
}

/// The path [`notify_all_wakes_two_waiters`] expects.
const NOTIFY_ALL_FINDS_TWO: &str = "notify_all while both waiters sleep";

/// Two waiters, one `notify_all`: both must return.
#[test]
fn notify_all_wakes_two_waiters() {
    type F = FutexFamily;
    Model::new("FutexFamily: notify_all wakes two waiters")
        .threads(3)
        .shuttle_iterations(10_000)
        .ops("2 waiters: wait_while !flag; main: lock; flag=true; unlock; notify_all")
        .preemption_bound(3)
        .expect_reached(NOTIFY_ALL_FINDS_TWO)
        .check(|| {
            let state = Arc::new((F::mutex(false), F::condvar()));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let state = Arc::clone(&state);
                    thread::spawn(move || drop(F::wait_while(&state.1, F::lock(&state.0), |f| !*f)))
                })
                .collect();
            let (lock, cv) = &*state;
            *F::lock(lock) = true;
            reached_if_asleep(NOTIFY_ALL_FINDS_TWO, 2);
            F::notify_all(cv);
            for w in waiters {
                w.join().unwrap();
            }
        });
}

/// A one-slot buffer with `not_empty` and `not_full` condvars: the producer sends `items`
/// values, the consumer receives them in order.
fn producer_consumer<F: LockFamily>(items: u32) {
    struct Channel<F: LockFamily> {
        slot: F::Mutex<Option<u32>>,
        not_empty: F::Condvar,
        not_full: F::Condvar,
    }
    let ch = Arc::new(Channel::<F> {
        slot: F::mutex(None),
        not_empty: F::condvar(),
        not_full: F::condvar(),
    });
    let consumer = {
        let ch = Arc::clone(&ch);
        thread::spawn(move || {
            for expected in 0..items {
                let mut slot = F::wait_while(&ch.not_empty, F::lock(&ch.slot), |s| s.is_none());
                assert_eq!(slot.take(), Some(expected), "received out of order");
                drop(slot);
                F::notify_one(&ch.not_full);
            }
        })
    };
    for value in 0..items {
        let mut slot = F::wait_while(&ch.not_full, F::lock(&ch.slot), |s| s.is_some());
        *slot = Some(value);
        drop(slot);
        F::notify_one(&ch.not_empty);
    }
    consumer.join().unwrap();
    assert!(F::lock(&ch.slot).is_none());
}

#[test]
fn producer_consumer_one_slot() {
    Model::new("FutexFamily: producer/consumer, one slot, two condvars")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("producer: 2 items (wait not_full, put, notify not_empty); consumer: 2 items")
        // Exhaustive runs past 100 s; bound 5 takes ~26 s, 4 ~6 s (release, one core).
        .preemption_bound(4)
        .check(|| producer_consumer::<FutexFamily>(2));
}

/// The same pair over `StdFamily`, whose `wait_while` is the trait's default loop.
#[test]
fn producer_consumer_one_slot_std_family() {
    Model::new("StdFamily: producer/consumer, one slot, two condvars")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("producer: 2 items (wait not_full, put, notify not_empty); consumer: 2 items")
        .preemption_bound(3)
        .check(|| producer_consumer::<StdFamily>(2));
}

/// A timeout long enough never to pass by itself (the models' clock is frozen).
const LONG: Duration = Duration::from_secs(3600);

/// Timed and untimed waiters; main sets the flag and notifies once per waiter. The untimed
/// waiter must return (a timed-out waiter swallowed no notification), and a timed waiter that
/// says it did not time out must see the flag.
fn timed_and_untimed(timed_waiters: usize, untimed_waiters: usize) {
    let state = Arc::new((FutexMutex::new(false), Condvar::new()));
    let handles: Vec<_> = (0..timed_waiters + untimed_waiters)
        .map(|i| {
            let state = Arc::clone(&state);
            thread::spawn(move || {
                let (lock, cv) = &*state;
                if i < timed_waiters {
                    let (guard, result) = cv.wait_timeout_while(lock.lock(), LONG, |f| !*f);
                    assert!(
                        result.timed_out() || *guard,
                        "returned untimed with the flag false"
                    );
                } else {
                    drop(cv.wait_while(lock.lock(), |f| !*f));
                }
            })
        })
        .collect();
    let (lock, cv) = &*state;
    *lock.lock() = true;
    for _ in 0..timed_waiters + untimed_waiters {
        cv.notify_one();
    }
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
fn wait_timeout_returns() {
    Model::new("Condvar: wait_timeout_while times out or sees the flag")
        .threads(2)
        .shuttle_iterations(10_000)
        .ops("waiter: wait_timeout_while !flag; main: lock; flag=true; unlock; notify_one")
        .preemption_bound(3)
        .check(|| timed_and_untimed(1, 0));
}

#[test]
fn timed_waiter_loses_no_wakeup() {
    Model::new("Condvar: a timed-out waiter swallows no notification")
        .threads(3)
        .shuttle_iterations(10_000)
        .ops("one: wait_timeout_while !flag; one: wait_while !flag; main: flag=true; 2x notify_one")
        .preemption_bound(2)
        .check(|| timed_and_untimed(1, 1));
}

zoo_test! {
    /// `if` instead of `while` around `Condvar::wait`: a spurious return (the harness injects
    /// them: loom's second pass, shuttle's coin) runs on with the flag still false.
    fn wait_without_recheck_returns_early() expect Expect::both(Failure::Assertion("woke before the flag was set")) => {
        Model::new("zoo: condvar wait without re-checking the predicate")
            .threads(2)
            .ops("waiter: lock; if !flag wait; assert flag; notifier: lock; flag=true; unlock; notify_one")
            .exhaustive()
            .check(|| {
                let state = Arc::new((FutexMutex::new(false), Condvar::new()));
                let waiter = {
                    let state = Arc::clone(&state);
                    thread::spawn(move || {
                        let guard = wait_without_recheck(&state.0, &state.1);
                        assert!(*guard, "woke before the flag was set");
                    })
                };
                *state.0.lock() = true;
                state.1.notify_one();
                waiter.join().unwrap();
            });
    }
}

zoo_test! {
    /// A condvar whose notify reads the waiter count before bumping the sequence (and whose
    /// waiters register after unlocking): the waiter registers and sleeps in between — lost
    /// wakeup, deadlock.
    fn notify_reads_count_first() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: notify reads the waiter count before changing the sequence")
            .threads(2)
            .ops("waiter: lock; while !flag wait; notifier: lock; flag=true; unlock; notify_one")
            .exhaustive()
            .check(|| {
                let state = Arc::new((FutexMutex::new(false), CountFirstCondvar::new()));
                let waiter = {
                    let state = Arc::clone(&state);
                    thread::spawn(move || {
                        let mut guard = state.0.lock();
                        while !*guard {
                            guard = state.1.wait(guard);
                        }
                    })
                };
                *state.0.lock() = true;
                state.1.notify_one();
                waiter.join().unwrap();
            });
    }
}
