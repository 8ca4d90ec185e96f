//! `EventCount` (the futex word the blocking layer and the lock-free pool sleep on): a waiter
//! and a notifier, keys finished on another event count, two waiters and two notifications;
//! then the zoo's event count without its fences and a waiter without its re-check.

use synclab::fault::Probe;
use synclab::queue::{ArrayQueue, EventCount, MpmcQueue};
use synclab::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use synclab::sync::{thread, Arc};
use synclab_verification::{zoo_test, Expect, Failure, Model};
use synclab_zoo::queue as zoo;

#[test]
fn never_loses_a_wakeup() {
    Model::new("EventCount: flag + notify_one vs prepare/re-check/wait")
        .threads(2)
        .ops("waiter: loop {check; prepare_wait; re-check; wait}; notifier: set flag, notify_one")
        .exhaustive()
        .check(|| {
            let ec = Arc::new(EventCount::new());
            let flag = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (ec, flag) = (Arc::clone(&ec), Arc::clone(&flag));
                thread::spawn(move || loop {
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
            // Release: pairs with the waiter's Acquire loads.
            flag.store(true, Release);
            ec.notify_one();
            waiter.join().unwrap();
        });
}

/// Keys are guards bound to their event count (issue 13, point 5): the waiter first drops a
/// key instead of cancelling it, and hands another key of `ec` to a *different* event count's
/// `cancel_wait` — both must unregister on `ec` itself — and only then waits for the flag in
/// the usual loop, ending with a key passed to the other event count's `wait` (which sleeps
/// on `ec`, where the notifier looks). Under every interleaving with the notifier the waiter
/// returns — no wakeup is lost to a key finished in the wrong place — and both event counts
/// still take a registration afterwards. (The misuse's old failures — an underflow panic in
/// debug builds, a hang in release — are the plain tests in `crates/synclab/tests/event_count.rs`.)
#[test]
fn keys_are_bound_to_their_event_count() {
    Model::new("EventCount: keys dropped, cancelled and waited through another event count")
        .threads(2)
        .ops("waiter: drop a key, cancel one on another EC, then loop {check; prepare; re-check; wait via the other EC}; notifier: set flag, notify_one")
        .preemption_bound(3)
        .check(|| {
            let ec = Arc::new(EventCount::new());
            let other = Arc::new(EventCount::new());
            let flag = Arc::new(AtomicBool::new(false));
            let waiter = {
                let (ec, other, flag) = (Arc::clone(&ec), Arc::clone(&other), Arc::clone(&flag));
                thread::spawn(move || {
                    drop(ec.prepare_wait());
                    other.cancel_wait(ec.prepare_wait());
                    loop {
                        // Acquire: pairs with the Release store below.
                        if flag.load(Acquire) {
                            return;
                        }
                        let key = ec.prepare_wait();
                        if flag.load(Acquire) {
                            drop(key);
                            return;
                        }
                        other.wait(key); // sleeps on `ec`, where its notifier looks
                    }
                })
            };
            // Release: pairs with the waiter's Acquire loads.
            flag.store(true, Release);
            ec.notify_one();
            waiter.join().unwrap();
            // Both still take a registration.
            let key = ec.prepare_wait();
            assert!(key.probe());
            ec.cancel_wait(key);
            assert!(other.prepare_wait().probe());
        });
}

/// Takes one token if there is one.
fn take_token(tokens: &AtomicUsize) -> bool {
    // Acquire: pairs with the Release `fetch_add` of the token's producer.
    tokens
        .fetch_update(Acquire, Acquire, |t| t.checked_sub(1))
        .is_ok()
}

#[test]
fn two_waiters_two_notifies() {
    Model::new("EventCount: two waiters, two tokens, one notify_one each")
        .threads(3)
        .ops("2 waiters: loop {take token; prepare_wait; re-take; wait}; main: add token + notify_one, twice")
        .preemption_bound(3)
        .check(|| {
            let ec = Arc::new(EventCount::new());
            let tokens = Arc::new(AtomicUsize::new(0));
            let waiters: Vec<_> = (0..2)
                .map(|_| {
                    let (ec, tokens) = (Arc::clone(&ec), Arc::clone(&tokens));
                    thread::spawn(move || loop {
                        if take_token(&tokens) {
                            return;
                        }
                        let key = ec.prepare_wait();
                        if take_token(&tokens) {
                            ec.cancel_wait(key);
                            return;
                        }
                        ec.wait(key);
                    })
                })
                .collect();
            for _ in 0..2 {
                // Release: pairs with the Acquire in `take_token`.
                tokens.fetch_add(1, Release);
                ec.notify_one();
            }
            // Both waiters wait for the same kind of event (as a queue's poppers do), so
            // any waiter may consume any signal; each notification must leave one more
            // waiter able to finish.
            for w in waiters {
                w.join().unwrap();
            }
        });
}

zoo_test! {
    /// An event count without its two `fence(SeqCst)`s: the consumer registers and re-checks
    /// the queue, the producer pushes and checks for waiters, and under the C11 model both
    /// loads may read the old values — the consumer sleeps through the only notification
    /// (loom: deadlock). shuttle runs every access as SeqCst, under which one of the two loads
    /// must see the other side's store: the lost wakeup needs weak memory, so shuttle is blind.
    fn zoo_event_count_without_fence() expect Expect::per_checker(Failure::Deadlock, Failure::Blind) => {
        Model::new("zoo: event count without the Dekker fences")
            .threads(2)
            .preemption_bound(3)
            .check(|| {
                let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
                let ec = Arc::new(zoo::FencelessEventCount::new());
                let producer = {
                    let (q, ec) = (Arc::clone(&q), Arc::clone(&ec));
                    thread::spawn(move || {
                        q.try_push(1).unwrap();
                        ec.notify_one();
                    })
                };
                let got = loop {
                    if let Some(v) = q.try_pop() {
                        break v;
                    }
                    let key = ec.prepare_wait();
                    if let Some(v) = q.try_pop() {
                        ec.cancel_wait(key);
                        break v;
                    }
                    ec.wait(key);
                };
                assert_eq!(got, 1);
                producer.join().unwrap();
            });
    }
}

zoo_test! {
    /// A popper that sleeps right after `prepare_wait` without trying the queue again: the
    /// push and its notify can both land between the popper's failed `try_pop` and its
    /// registration; the notify sees no waiter, and the popper sleeps forever.
    fn zoo_waiter_without_recheck() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: event-count waiter without the re-check")
            .threads(2)
            .exhaustive()
            .check(|| {
                let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
                let ec = Arc::new(EventCount::new());
                let producer = {
                    let (q, ec) = (Arc::clone(&q), Arc::clone(&ec));
                    thread::spawn(move || {
                        q.try_push(1).unwrap();
                        ec.notify_one();
                    })
                };
                assert_eq!(zoo::pop_without_recheck(&*q, &ec), 1);
                producer.join().unwrap();
            });
    }
}
