//! The lock conformance suite: one generic body per property, instantiated (one line each, in
//! `conformance!` below) for every lock and every family:
//!
//! * `std_family` — std's `Mutex` + `Condvar` through [`StdFamily`];
//! * `futex_family` — [`FutexFamily`] (`FutexMutex` + the futex `Condvar`);
//! * `futex_mutex`, `counting_mutex`, `spin_mutex` — the generic `Mutex<T, R>` over each raw
//!   lock, paired with the futex `Condvar` (which works with any raw lock) through
//!   [`CondvarFamily`];
//! * the timed API (`try_lock_for`, `try_lock_until`, `Condvar::wait_timeout(_while)`) for
//!   every lock that can sleep.
//!
//! Plain threads only. The `RawLock` conformance (the guard API, unwinding, mutual exclusion,
//! `try_lock`, timed waits) is the suite in `synclab_verification::suites::raw_lock`, one line
//! per lock in `verification/tests/models/lock/`, which also model-checks the condvar.
// Real threads only: under a checker the library's atomics need the checker's runtime.
#![cfg(not(any(synclab_loom, synclab_shuttle)))]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use synclab::lock::{
    Condvar, CondvarFamily, FutexFamily, LockFamily, Mutex, RawCountingMutex, RawFutexMutex,
    RawLock, RawLockTimed, RawSpinLock, StdFamily,
};

/// How long a blocking property may take before the test calls it a hang.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `counter` reaches `n`, failing the test after [`PATIENCE`].
fn await_count(counter: &AtomicUsize, n: usize, what: &str) {
    let deadline = Instant::now() + PATIENCE;
    while counter.load(Ordering::Acquire) < n {
        assert!(
            Instant::now() < deadline,
            "{what}: only {} of {n} after {PATIENCE:?}",
            counter.load(Ordering::Acquire)
        );
        thread::sleep(Duration::from_millis(1));
    }
}

fn smoke<F: LockFamily>() {
    let m = F::mutex(1u32);
    *F::lock(&m) += 1;
    assert_eq!(*F::lock(&m), 2);
    let cv = F::condvar();
    F::notify_one(&cv); // nobody waits: must not block or panic
    F::notify_all(&cv);
}

fn try_lock_while_held<F: LockFamily>() {
    let m = F::mutex(0u32);
    let guard = F::lock(&m);
    thread::scope(|s| {
        s.spawn(|| assert!(F::try_lock(&m).is_none(), "try_lock succeeded while held"));
    });
    drop(guard);
}

fn guard_drop_unlocks<F: LockFamily>() {
    let m = F::mutex(0u32);
    *F::lock(&m) = 7;
    thread::scope(|s| {
        s.spawn(|| {
            let guard = F::try_lock(&m).expect("the dropped guard left the lock held");
            assert_eq!(*guard, 7);
        });
    });
}

fn many_threads_increment<F: LockFamily>() {
    const THREADS: usize = 4;
    const EACH: u64 = 20_000;
    // A plain (non-atomic) read-modify-write: lost updates if exclusion fails.
    let m = F::mutex(0u64);
    thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for _ in 0..EACH {
                    let mut g = F::lock(&m);
                    let v = *g;
                    *g = v + 1;
                }
            });
        }
    });
    assert_eq!(*F::lock(&m), THREADS as u64 * EACH);
}

fn condvar_handoff<F: LockFamily>() {
    const ROUNDS: u32 = 2_000;
    // `turn` odd: the peer's move; even: ours.
    let state = Arc::new((F::mutex(0u32), F::condvar()));
    let peer = {
        let state = Arc::clone(&state);
        thread::spawn(move || {
            let (m, cv) = &*state;
            for i in 0..ROUNDS {
                let mut turn = F::wait_while(cv, F::lock(m), |t| *t != 2 * i + 1);
                *turn += 1;
                drop(turn);
                F::notify_one(cv);
            }
        })
    };
    let (m, cv) = &*state;
    for i in 0..ROUNDS {
        *F::lock(m) = 2 * i + 1;
        F::notify_one(cv);
        let turn = F::wait_while(cv, F::lock(m), |t| *t != 2 * i + 2);
        assert_eq!(*turn, 2 * i + 2);
    }
    peer.join().unwrap();
}

fn notify_all_wakes_every_waiter<F: LockFamily>() {
    const WAITERS: usize = 4;
    // (waiting, go)
    let state = Arc::new((F::mutex((0usize, false)), F::condvar()));
    let done = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (state, done) = (Arc::clone(&state), Arc::clone(&done));
            thread::spawn(move || {
                let (m, cv) = &*state;
                let mut g = F::lock(m);
                g.0 += 1;
                let g = F::wait_while(cv, g, |s| !s.1);
                drop(g);
                done.fetch_add(1, Ordering::Release);
            })
        })
        .collect();
    let (m, cv) = &*state;
    let deadline = Instant::now() + PATIENCE;
    // Every waiter registered (and released the lock inside `wait`) before the single notify.
    while F::lock(m).0 < WAITERS {
        assert!(Instant::now() < deadline, "waiters never started");
        thread::sleep(Duration::from_millis(1));
    }
    F::lock(m).1 = true;
    F::notify_all(cv);
    await_count(&done, WAITERS, "waiters woken by one notify_all");
    for h in handles {
        h.join().unwrap();
    }
}

/// No poisoning: the next lock succeeds and sees the state the panicking holder left.
fn panic_while_holding<F: LockFamily>() {
    let m = Arc::new(F::mutex(Vec::<u32>::new()));
    let cv = Arc::new(F::condvar());
    let holder = {
        let m = Arc::clone(&m);
        thread::spawn(move || {
            let mut g = F::lock(&m);
            g.push(1); // a partial update...
            panic!("holder panics with the lock held"); // ...that never completes
        })
    };
    assert!(holder.join().is_err(), "the holder should have panicked");
    {
        let mut g = F::try_lock(&m).expect("the panicking holder left the lock held");
        assert_eq!(*g, [1], "the next holder sees the partial state");
        g.push(2);
    }
    assert_eq!(*F::lock(&m), [1, 2]);
    // The condvar still works with the once-panicked mutex.
    let waiter = {
        let (m, cv) = (Arc::clone(&m), Arc::clone(&cv));
        thread::spawn(move || drop(F::wait_while(&cv, F::lock(&m), |v| v.len() < 3)))
    };
    F::lock(&m).push(3);
    F::notify_one(&cv);
    waiter.join().unwrap();
    // A panic in the holder's own thread, caught there, unlocks as well.
    let caught = catch_unwind(AssertUnwindSafe(|| {
        let mut g = F::lock(&m);
        g.clear();
        panic!("caught in place");
    }));
    assert!(caught.is_err());
    assert!(F::lock(&m).is_empty());
}

macro_rules! conformance {
    ($($module:ident => $family:ty;)*) => {$(
        mod $module {
            use super::*;
            #[test] fn smoke() { super::smoke::<$family>() }
            #[test] fn try_lock_while_held() { super::try_lock_while_held::<$family>() }
            #[test] fn guard_drop_unlocks() { super::guard_drop_unlocks::<$family>() }
            #[test] fn many_threads_increment() { super::many_threads_increment::<$family>() }
            #[test] fn condvar_handoff() { super::condvar_handoff::<$family>() }
            #[test] fn notify_all_wakes_every_waiter() { super::notify_all_wakes_every_waiter::<$family>() }
            #[test] fn panic_while_holding() { super::panic_while_holding::<$family>() }
        }
    )*};
}

conformance! {
    std_family => StdFamily;
    futex_family => FutexFamily;
    futex_mutex => CondvarFamily<RawFutexMutex>;
    counting_mutex => CondvarFamily<RawCountingMutex>;
    spin_mutex => CondvarFamily<RawSpinLock>;
}

/// The timed API of a lock that can sleep: it times out while the lock is held (and not
/// before the timeout), succeeds once the holder lets go mid-wait, and a zero timeout is a
/// `try_lock`.
fn timed_api<R: RawLockTimed + 'static>() {
    let m = Arc::new(Mutex::<u32, R>::new(0));
    let held = m.lock();
    let start = Instant::now();
    assert!(m.try_lock_for(Duration::from_millis(20)).is_none());
    assert!(
        start.elapsed() >= Duration::from_millis(20),
        "gave up early"
    );
    assert!(m.try_lock_for(Duration::ZERO).is_none());
    assert!(m.try_lock_until(Instant::now()).is_none());
    let waiter = {
        let m = Arc::clone(&m);
        thread::spawn(move || m.try_lock_for(PATIENCE).map(|mut g| *g += 1).is_some())
    };
    thread::sleep(Duration::from_millis(10));
    drop(held);
    assert!(
        waiter.join().unwrap(),
        "the waiter timed out although the lock came free"
    );
    assert_eq!(*m.try_lock_for(Duration::ZERO).expect("free"), 1);
    // Many timed waiters giving up while others hold the lock: nothing is lost or stuck.
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let m = Arc::clone(&m);
            thread::spawn(move || {
                for _ in 0..200 {
                    if i % 2 == 0 {
                        *m.lock() += 1;
                    } else if let Some(mut g) = m.try_lock_for(Duration::from_micros(5)) {
                        *g += 1;
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(*m.try_lock_for(PATIENCE).expect("free at the end") > 4 * 200);
}

#[test]
fn futex_mutex_timed() {
    timed_api::<RawFutexMutex>();
}

#[test]
fn counting_mutex_timed() {
    timed_api::<RawCountingMutex>();
}

/// `Condvar::wait_timeout` times out when nobody notifies, `wait_timeout_while` returns as
/// soon as the condition is false and reports a timeout only with the condition still true.
fn condvar_timed<R: RawLock + 'static>() {
    let state = Arc::new((Mutex::<bool, R>::new(false), Condvar::new()));
    let (lock, cv) = &*state;
    let start = Instant::now();
    let (guard, result) = cv.wait_timeout(lock.lock(), Duration::from_millis(10));
    assert!(result.timed_out() || start.elapsed() < Duration::from_millis(10));
    drop(guard);
    let (guard, result) = cv.wait_timeout_while(lock.lock(), Duration::from_millis(10), |f| !*f);
    assert!(result.timed_out() && !*guard);
    assert!(start.elapsed() >= Duration::from_millis(10));
    drop(guard);
    let notifier = {
        let state = Arc::clone(&state);
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(5));
            *state.0.lock() = true;
            state.1.notify_all();
        })
    };
    let (guard, result) = cv.wait_timeout_while(lock.lock(), PATIENCE, |f| !*f);
    assert!(*guard && !result.timed_out());
    drop(guard);
    notifier.join().unwrap();
}

#[test]
fn condvar_timed_with_futex_mutex() {
    condvar_timed::<RawFutexMutex>();
}

#[test]
fn condvar_timed_with_counting_mutex() {
    condvar_timed::<RawCountingMutex>();
}
