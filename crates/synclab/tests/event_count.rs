//! `EventCount` misuse is harmless (issue 13, point 5): a key finishes on the event count that
//! made it, a dropped key cancels, and registration cannot carry into the signal count. Each
//! test runs under a watchdog, so that a lost wakeup fails it instead of hanging.

use std::sync::atomic::{AtomicBool, Ordering::*};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use synclab::queue::EventCount;

/// Runs `f` on a thread of its own and fails (instead of hanging) if it has not returned in
/// 30 s.
fn within_deadline(what: &str, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    });
    match finished.recv_timeout(Duration::from_secs(30)) {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("HANG: {what} did not finish within 30 s"),
    }
}

/// One waiter and one notifier on `ec`, through the documented protocol: the waiter returns.
fn round_trip(ec: &Arc<EventCount>) {
    let flag = Arc::new(AtomicBool::new(false));
    let waiter = {
        let (ec, flag) = (Arc::clone(ec), Arc::clone(&flag));
        std::thread::spawn(move || loop {
            // Acquire: pairs with the Release store below.
            if flag.load(Acquire) {
                return;
            }
            let key = ec.prepare_wait();
            if flag.load(Acquire) {
                ec.cancel_wait(key);
                return;
            }
            ec.wait(key);
        })
    };
    std::thread::sleep(Duration::from_millis(5));
    // Release: pairs with the waiter's Acquire loads.
    flag.store(true, Release);
    ec.notify_one();
    waiter.join().unwrap();
}

/// A key cancelled on the wrong event count: on main this underflowed the other count's
/// waiters (debug: "attempt to subtract with overflow"; release: a wrapped word whose next
/// waiter was never woken). Now the key cancels where it registered, and both still work.
#[test]
fn a_key_cancelled_on_another_event_count_is_harmless() {
    within_deadline("cancel on another event count", || {
        let a = Arc::new(EventCount::new());
        let b = Arc::new(EventCount::new());
        let key = a.prepare_wait();
        b.cancel_wait(key);
        round_trip(&b);
        round_trip(&a);
    });
}

/// A key waited on at the wrong event count sleeps where it registered, so the notifier of
/// *that* event count wakes it. (On main it slept on the other word and was never woken.)
#[test]
fn a_key_waited_on_another_event_count_is_woken_by_its_own() {
    within_deadline("wait on another event count", || {
        let a = Arc::new(EventCount::new());
        let b = Arc::new(EventCount::new());
        let notifier = {
            let a = Arc::clone(&a);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                a.notify_all();
            })
        };
        let key = a.prepare_wait();
        b.wait(key); // returns once `a` is notified (or spuriously)
        notifier.join().unwrap();
        round_trip(&a);
        round_trip(&b);
    });
}

/// Keys dropped without `wait` or `cancel_wait` unregister themselves. On main each one left a
/// waiter counted; the 65 536th tripped a debug assertion (release: carried into the signals).
#[test]
fn dropped_keys_cancel() {
    within_deadline("70 000 dropped keys", || {
        let ec = Arc::new(EventCount::new());
        for _ in 0..70_000 {
            let _key = ec.prepare_wait();
        }
        round_trip(&ec);
    });
}

/// Keys leaked with `mem::forget` (safe code) fill the waiter half (65 535 keys); registration
/// is checked, so the next key is unregistered — its `wait` returns at once, a spurious wakeup
/// — and the word never carries into the signal half. The protocol still works. (Whether a
/// key registered is a test probe: the `fault-injection` feature.)
#[cfg(feature = "fault-injection")]
#[test]
fn forgotten_keys_saturate_instead_of_carrying() {
    use synclab::fault::Probe;
    within_deadline("65 536 forgotten keys", || {
        let ec = Arc::new(EventCount::new());
        for _ in 0..u16::MAX {
            let key = ec.prepare_wait();
            assert!(key.probe(), "fewer than 65 535 keys registered");
            std::mem::forget(key);
        }
        let key = ec.prepare_wait();
        assert!(!key.probe(), "a key registered past the waiter half");
        ec.wait(key); // returns at once
        ec.notify_all(); // signals every (leaked) waiter: at most 65 535
        assert!(!ec.prepare_wait().probe());
        round_trip(&ec);
    });
}
