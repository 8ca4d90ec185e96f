//! `RawFutexMutex` (std's three-state futex mutex): the suite, timed scenarios included, and
//! the zoo's two broken futex mutexes.

use synclab::lock::RawFutexMutex;
use synclab::sync::{thread, Arc};
use synclab_verification::suites::bounds;
use synclab_verification::{raw_lock_suite, zoo_test, Expect, Failure, Model, SharedCell};
use synclab_zoo::locks::{RelaxedUnlockMutex, SwapTryLockMutex, TwoStateFutexMutex};

raw_lock_suite!(
    suite,
    RawFutexMutex,
    timed,
    tune = |scenario, model| {
        // 3 threads: bound 4 takes ~20 s, 3 ~2.5 s (release, one core); exhaustive is out of reach.
        Some(bounds(
            scenario,
            model,
            &[("mutual_exclusion_three_threads", Some(4))],
        ))
    }
);

zoo_test! {
    /// `unlock` with a Relaxed swap: the next holder's increment is not ordered after the
    /// previous one — a data race under loom. shuttle treats every atomic as SeqCst and is
    /// blind to it (asserted to pass).
    fn relaxed_unlock_races() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: futex mutex with a Relaxed unlock")
            .threads(2)
            .ops("each: lock; counter += 1 via SharedCell; unlock (Relaxed)")
            .exhaustive()
            .check(|| {
                let lock = Arc::new(RelaxedUnlockMutex::new());
                let counter = Arc::new(SharedCell::new(0u32));
                let other = {
                    let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
                    thread::spawn(move || {
                        lock.lock();
                        counter.set(counter.get() + 1);
                        lock.unlock();
                    })
                };
                lock.lock();
                counter.set(counter.get() + 1);
                lock.unlock();
                other.join().unwrap();
            });
    }
}

zoo_test! {
    /// A two-state futex mutex whose unlock never wakes: a thread that went to sleep in `lock`
    /// is never woken — deadlock.
    fn two_state_mutex_loses_wakeup() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: two-state futex mutex that never records waiters")
            .threads(2)
            .ops("each: lock; unlock")
            .exhaustive()
            .check(|| {
                let lock = Arc::new(TwoStateFutexMutex::new());
                let other = {
                    let lock = Arc::clone(&lock);
                    thread::spawn(move || {
                        lock.lock();
                        lock.unlock();
                    })
                };
                lock.lock();
                lock.unlock();
                other.join().unwrap();
            });
    }
}

zoo_test! {
    /// Carrying on after a lost race: a `try_lock` that swaps `LOCKED` in instead of
    /// compare-exchanging, so when it loses it overwrites `CONTENDED` and erases the mark of a
    /// thread asleep in `lock`. The suite's `lock_after_lost_try_lock` kills it: the retrier's
    /// `lock` then takes the lock without a wake owed, and the sleeper is never woken. Every
    /// other scenario of the suite passes with it (nobody loses a `try_lock` beside a sleeper).
    fn swap_try_lock_strands_a_sleeper() expect Expect::both(Failure::Deadlock) => {
        synclab_verification::suites::raw_lock::lock_after_lost_try_lock::<SwapTryLockMutex>(
            "zoo: SwapTryLockMutex",
            synclab_verification::suites::as_written,
        );
    }
}
