//! The [`RawLock`] suite: what every lock owes the generic [`Mutex`], checked the same way for
//! every lock. Instantiate it with [`raw_lock_suite!`](crate::raw_lock_suite).
//!
//! Mutual exclusion is judged by the checker itself: the counter the holders increment is a
//! [`SharedCell`] *outside* the mutex, so under loom an increment that is not ordered after the
//! previous holder's is a "Causality violation", whatever value it reads.
//!
//! | scenario | threads | what it checks |
//! |---|---|---|
//! | `guard_api` | 1 | `lock`/`try_lock` while held, `get_mut`, `into_inner`, `Debug` without reading locked data, `MutexGuard::unlocked` (also when `f` panics) |
//! | `unwinding_holder_unlocks` | 1 | a holder that panics unlocks; the next holder sees its partial update (no poisoning) |
//! | `mutual_exclusion_two_threads` | 2 | 2 × (lock; counter += 1; unlock) each |
//! | `mutual_exclusion_three_threads` | 3 | 1 × each; expects an unlock to find a sleeper |
//! | `try_lock_never_succeeds_while_held` | 2 | a holder, and 2 × `try_lock` beside it |
//! | `lock_after_lost_try_lock` | 3 | main holds; one thread sleeps in `lock`; another loses `try_lock` and then locks: nobody is left asleep; expects the lost `try_lock` to happen while the other sleeps |
//! | `timed_waiter_leaves_the_lock_free` (timed) | 2 | a `try_lock_for` that may time out leaves the word consistent |
//! | `timed_waiter_loses_no_wakeup` (timed) | 3 | a timed-out waiter takes nobody's wake-up |

use std::time::Duration;

use synclab::lock::{Mutex, MutexGuard, RawLock, RawLockTimed};
use synclab::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use synclab::sync::{thread, Arc};

use super::{run, type_label, Tune, ON_PURPOSE};
use crate::{reached_if_asleep, Model, SharedCell};

/// Declares a module of tests that runs the [`RawLock`] suite on one lock.
///
/// ```ignore
/// raw_lock_suite!(my_lock, MyRawLock);                   // the untimed scenarios
/// raw_lock_suite!(my_lock, MyRawLock, timed);            // MyRawLock: RawLockTimed too
/// raw_lock_suite!(my_lock, MyRawLock, tune = my_tune);   // see suites::Tune
/// raw_lock_suite!(my_lock, MyRawLock, timed, tune = my_tune);
/// ```
///
/// The module holds one `#[test]` per scenario of [`suites::raw_lock`](crate::suites::raw_lock).
#[macro_export]
macro_rules! raw_lock_suite {
    ($module:ident, $raw:ty $(,)?) => {
        $crate::raw_lock_suite!(@module $module, $raw, $crate::suites::as_written, {});
    };
    ($module:ident, $raw:ty, tune = $tune:expr $(,)?) => {
        $crate::raw_lock_suite!(@module $module, $raw, $tune, {});
    };
    ($module:ident, $raw:ty, timed $(,)?) => {
        $crate::raw_lock_suite!(@module $module, $raw, $crate::suites::as_written, { timed });
    };
    ($module:ident, $raw:ty, timed, tune = $tune:expr $(,)?) => {
        $crate::raw_lock_suite!(@module $module, $raw, $tune, { timed });
    };
    (@module $module:ident, $raw:ty, $tune:expr, { $($timed:ident)? }) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::suites::raw_lock as suite;
            const TUNE: $crate::suites::Tune = $tune;
            const LABEL: &str = stringify!($raw);

            #[test]
            fn guard_api() {
                suite::guard_api::<$raw>(LABEL, TUNE);
            }

            #[test]
            fn unwinding_holder_unlocks() {
                suite::unwinding_holder_unlocks::<$raw>(LABEL, TUNE);
            }

            #[test]
            fn mutual_exclusion_two_threads() {
                suite::mutual_exclusion_two_threads::<$raw>(LABEL, TUNE);
            }

            #[test]
            fn mutual_exclusion_three_threads() {
                suite::mutual_exclusion_three_threads::<$raw>(LABEL, TUNE);
            }

            #[test]
            fn try_lock_never_succeeds_while_held() {
                suite::try_lock_never_succeeds_while_held::<$raw>(LABEL, TUNE);
            }

            #[test]
            fn lock_after_lost_try_lock() {
                suite::lock_after_lost_try_lock::<$raw>(LABEL, TUNE);
            }

            $( $crate::raw_lock_suite!(@$timed $raw); )?
        }
    };
    (@timed $raw:ty) => {
        #[test]
        fn timed_waiter_leaves_the_lock_free() {
            suite::timed_waiter_leaves_the_lock_free::<$raw>(LABEL, TUNE);
        }

        #[test]
        fn timed_waiter_loses_no_wakeup() {
            suite::timed_waiter_loses_no_wakeup::<$raw>(LABEL, TUNE);
        }
    };
}

/// `lock`/`try_lock` while held, `get_mut`, `into_inner`, `Default`, a `Debug` that does not
/// read locked data, and `MutexGuard::unlocked` (which re-locks, also when `f` panics).
pub fn guard_api<R: RawLock + 'static>(label: &str, tune: Tune) {
    super::quiet_on_purpose_panics();
    let model = Model::new(format!(
        "{}: the guard API on one thread",
        type_label(label)
    ))
    .threads(1)
    .ops("lock, try_lock while held, get_mut, Debug, unlocked (also panicking), into_inner");
    run("guard_api", model, tune, || {
        let mut m: Mutex<Vec<u8>, R> = Mutex::new(vec![1]);
        m.get_mut().push(2);
        assert_eq!(
            format!("{m:?}"),
            format!("Mutex {{ raw: {:?}, data: [1, 2] }}", R::NAME)
        );
        {
            let mut guard = m.lock();
            assert!(m.try_lock().is_none(), "try_lock succeeded while held");
            assert_eq!(
                format!("{m:?}"),
                format!("Mutex {{ raw: {:?}, data: <locked> }}", R::NAME),
                "Debug must not read the data while it is locked"
            );
            assert!(std::ptr::eq(MutexGuard::mutex(&guard), &m));
            let free_inside = MutexGuard::unlocked(&mut guard, || m.try_lock().is_some());
            assert!(
                free_inside,
                "MutexGuard::unlocked must release the lock while f runs"
            );
            assert!(
                m.try_lock().is_none(),
                "MutexGuard::unlocked must re-lock afterwards"
            );
            guard.push(3);
        }
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut guard = m.lock();
            MutexGuard::unlocked(&mut guard, || panic!("{}", ON_PURPOSE));
        }));
        assert!(panicked.is_err());
        assert!(
            m.try_lock().is_some(),
            "lock left held after a panic inside unlocked"
        );
        assert_eq!(m.into_inner(), [1, 2, 3]);
        assert_eq!(*Mutex::<u32, R>::default().lock(), 0);
    });
}

/// A holder that panics unlocks (the guard's `Drop` runs while unwinding), and the next holder
/// sees its partial update: synclab's mutexes do not poison.
pub fn unwinding_holder_unlocks<R: RawLock + 'static>(label: &str, tune: Tune) {
    super::quiet_on_purpose_panics();
    let model = Model::new(format!(
        "{}: a holder that panics unlocks",
        type_label(label)
    ))
    .threads(1)
    .ops("lock, push, panic (caught); try_lock sees the push");
    run("unwinding_holder_unlocks", model, tune, || {
        let m: Mutex<Vec<u32>, R> = Mutex::new(Vec::new());
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut guard = m.lock();
            guard.push(1);
            panic!("{}", ON_PURPOSE);
        }));
        assert!(caught.is_err());
        let guard = m
            .try_lock()
            .expect("the panicking holder left the lock held");
        assert_eq!(*guard, [1], "the next holder sees the partial update");
    });
}

/// `spawned` threads plus main each take the lock `rounds` times and increment a counter that
/// lives outside the mutex (in a [`SharedCell`]), with a plain read then write. Before each
/// unlock, marks [`UNLOCK_FINDS_A_SLEEPER`] if a thread sleeps on the lock.
fn mutual_exclusion<R: RawLock + 'static>(spawned: usize, rounds: usize) {
    let lock = Arc::new(Mutex::<(), R>::new(()));
    let counter = Arc::new(SharedCell::new(0usize));
    let bump = move |lock: &Mutex<(), R>, counter: &SharedCell<usize>| {
        for _ in 0..rounds {
            let guard = lock.lock();
            let seen = counter.get();
            counter.set(seen + 1);
            reached_if_asleep(UNLOCK_FINDS_A_SLEEPER, 1);
            drop(guard);
        }
    };
    let handles: Vec<_> = (0..spawned)
        .map(|_| {
            let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
            thread::spawn(move || bump(&lock, &counter))
        })
        .collect();
    bump(&lock, &counter);
    for h in handles {
        h.join().unwrap();
    }
    let _guard = lock.lock();
    assert_eq!(
        counter.get(),
        (spawned + 1) * rounds,
        "an increment was lost"
    );
}

/// The path [`mutual_exclusion_three_threads`] expects: a holder about to unlock while another
/// thread sleeps on the lock (so the unlock's wake is due).
pub const UNLOCK_FINDS_A_SLEEPER: &str = "a holder unlocks while a waiter sleeps";

/// Two threads, two rounds each.
pub fn mutual_exclusion_two_threads<R: RawLock + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!(
        "{}: mutual exclusion, 2 threads",
        type_label(label)
    ))
    .threads(2)
    .ops("each: 2x (lock; counter += 1 via SharedCell; unlock)")
    .shuttle_iterations(10_000)
    .stress_iterations(50)
    .exhaustive();
    run("mutual_exclusion_two_threads", model, tune, || {
        mutual_exclusion::<R>(1, 2)
    });
}

/// Three threads, one round each; some execution must unlock while a waiter sleeps.
pub fn mutual_exclusion_three_threads<R: RawLock + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!(
        "{}: mutual exclusion, 3 threads",
        type_label(label)
    ))
    .threads(3)
    .ops("each: lock; counter += 1 via SharedCell; unlock")
    .shuttle_iterations(10_000)
    .stress_iterations(50)
    .preemption_bound(3)
    .expect_reached(UNLOCK_FINDS_A_SLEEPER);
    run("mutual_exclusion_three_threads", model, tune, || {
        mutual_exclusion::<R>(2, 1)
    });
}

/// One thread holds the lock for a while (marking itself inside); main tries `try_lock` twice
/// and, if it succeeds, must find nobody inside.
pub fn try_lock_never_succeeds_while_held<R: RawLock + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!(
        "{}: try_lock never succeeds while held",
        type_label(label)
    ))
    .threads(2)
    .ops("holder: lock, write, unlock; main: 2x try_lock, write if acquired")
    .shuttle_iterations(10_000)
    .stress_iterations(50)
    .exhaustive();
    run("try_lock_never_succeeds_while_held", model, tune, || {
        let lock = Arc::new(Mutex::<(), R>::new(()));
        // How many threads are inside. Relaxed RMWs: the counter's own modification order is
        // all the assertion needs, and a stronger ordering would add happens-before edges that
        // hide a missing Acquire in `try_lock`.
        let inside = Arc::new(AtomicUsize::new(0));
        let data = Arc::new(SharedCell::new(0u32));
        let holder = {
            let (lock, inside, data) = (Arc::clone(&lock), Arc::clone(&inside), Arc::clone(&data));
            thread::spawn(move || {
                let guard = lock.lock();
                assert_eq!(inside.fetch_add(1, Relaxed), 0, "lock succeeded while held");
                data.set(data.get() + 1);
                inside.fetch_sub(1, Relaxed);
                drop(guard);
            })
        };
        for _ in 0..2 {
            if let Some(guard) = lock.try_lock() {
                assert_eq!(
                    inside.fetch_add(1, Relaxed),
                    0,
                    "try_lock succeeded while held"
                );
                data.set(data.get() + 10);
                inside.fetch_sub(1, Relaxed);
                drop(guard);
            }
        }
        holder.join().unwrap();
        let total = data.get();
        assert!(
            total % 10 == 1,
            "the holder's increment is missing: {total}"
        );
    });
}

/// The path [`lock_after_lost_try_lock`] expects: `try_lock` lost while another thread sleeps
/// in `lock`.
pub const LOST_TRY_LOCK_BESIDE_A_SLEEPER: &str = "try_lock lost while a waiter sleeps";

/// Carrying on after a lost race: main holds the lock; one thread sleeps in `lock`; another
/// loses `try_lock` and then takes the lock with `lock`. Everyone gets in once and nobody is
/// left asleep: a `try_lock` that, losing, rewrote the lock's word (say a swap where a
/// compare-exchange belongs) erases the sleeper's mark, and the sleeper is never woken.
pub fn lock_after_lost_try_lock<R: RawLock + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!("{}: lock after a lost try_lock", type_label(label)))
        .threads(3)
        .ops("main: lock, write, unlock; one: lock, write; one: try_lock (lost: lock), write")
        .shuttle_iterations(10_000)
        .stress_iterations(50)
        .preemption_bound(2)
        .expect_reached(LOST_TRY_LOCK_BESIDE_A_SLEEPER);
    run("lock_after_lost_try_lock", model, tune, || {
        let lock = Arc::new(Mutex::<(), R>::new(()));
        let counter = Arc::new(SharedCell::new(0u32));
        let guard = lock.lock();
        let sleeper = {
            let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
            thread::spawn(move || {
                let guard = lock.lock();
                counter.set(counter.get() + 1);
                drop(guard);
            })
        };
        let retrier = {
            let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
            thread::spawn(move || {
                let asleep_before = crate::asleep().unwrap_or(0);
                let guard = match lock.try_lock() {
                    Some(guard) => guard,
                    None => {
                        if asleep_before >= 1 {
                            crate::reached(LOST_TRY_LOCK_BESIDE_A_SLEEPER);
                        }
                        lock.lock()
                    }
                };
                counter.set(counter.get() + 1);
                drop(guard);
            })
        };
        counter.set(counter.get() + 1);
        drop(guard);
        sleeper.join().unwrap();
        retrier.join().unwrap();
        assert_eq!(counter.get(), 3, "an increment was lost");
        assert!(
            lock.try_lock().is_some(),
            "the lock is held by nobody after all left"
        );
    });
}

/// A timeout long enough never to pass by itself (the models' clock is frozen anyway; a
/// timeout happens where the futex model explores one).
const LONG: Duration = Duration::from_secs(3600);

/// Main holds the lock; `timed` threads call `try_lock_for` (and write the counter only if it
/// succeeded), `untimed` threads call `lock`; main writes, unlocks and joins everyone. An
/// untimed thread that is never woken is a deadlock; at the end the lock must be free.
fn timed_waiters<R: RawLockTimed + 'static>(timed: usize, untimed: usize) {
    let lock = Arc::new(Mutex::<(), R>::new(()));
    let counter = Arc::new(SharedCell::new(0usize));
    let guard = lock.lock();
    let handles: Vec<_> = (0..timed + untimed)
        .map(|i| {
            let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
            thread::spawn(move || {
                let guard = if i < timed {
                    lock.try_lock_for(LONG)
                } else {
                    Some(lock.lock())
                };
                if let Some(guard) = guard {
                    counter.set(counter.get() + 1);
                    drop(guard);
                }
            })
        })
        .collect();
    counter.set(counter.get() + 1);
    drop(guard);
    for h in handles {
        h.join().unwrap();
    }
    assert!(
        lock.try_lock().is_some(),
        "the lock is not free after everyone left"
    );
    assert!(
        lock.try_lock_for(Duration::ZERO).is_some(),
        "a zero timeout on a free lock must take it"
    );
}

/// A waiter that may time out leaves the lock's word consistent: the lock is free after all.
pub fn timed_waiter_leaves_the_lock_free<R: RawLockTimed + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!(
        "{}: a timed-out waiter leaves the word consistent",
        type_label(label)
    ))
    .threads(2)
    .ops("main: lock, write, unlock; other: try_lock_for (write if acquired)")
    .shuttle_iterations(10_000)
    .stress_iterations(50)
    .exhaustive();
    run("timed_waiter_leaves_the_lock_free", model, tune, || {
        timed_waiters::<R>(1, 0)
    });
}

/// A waiter that times out takes nobody else's wake-up: the untimed waiter still gets in.
pub fn timed_waiter_loses_no_wakeup<R: RawLockTimed + 'static>(label: &str, tune: Tune) {
    let model = Model::new(format!(
        "{}: a timed-out waiter loses no one else's wake-up",
        type_label(label)
    ))
    .threads(3)
    .ops("main: lock, write, unlock; one: try_lock_for; one: lock (write if acquired)")
    .shuttle_iterations(10_000)
    .stress_iterations(50)
    .preemption_bound(3);
    run("timed_waiter_loses_no_wakeup", model, tune, || {
        timed_waiters::<R>(1, 1)
    });
}
