//! The blocking layer (`BlockingQueue<T, Q>`) and the channel (`bounded_with::<T, Q>`) over
//! each queue of the [`MpmcQueue`](synclab::queue::MpmcQueue) suite.

use std::collections::HashSet;
use std::time::Duration;

use synclab::queue::{bounded_with, BlockingQueue, Closed, PopError, RecvError, SendError};
use synclab::sync::{thread, Arc};

use super::{check_exactly_once_and_fifo, model, HeapQueue, PER_PRODUCER, PRODUCERS};
use crate::suites::{fits_loom, run, Tune};
use crate::{reached_if_asleep, yield_until_asleep};

type Blocking<Q> = BlockingQueue<u32, Q>;

/// The producer's second push waits while the single slot is taken, the consumer's pops wait
/// while it is empty: both are woken.
pub fn blocking_push_pop_across_full_and_empty<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: push/pop across full and empty, capacity 1",
        2,
        "producer: push 2 (2nd waits while full); main: pop 2 (waits while empty)",
    )
    .exhaustive();
    run("blocking_push_pop_across_full_and_empty", m, tune, || {
        let q = Arc::new(Blocking::<Q>::with_capacity(1).unwrap());
        let producer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                q.push(1).unwrap();
                q.push(2).unwrap(); // sleeps while the single slot is taken
            })
        };
        assert_eq!(q.pop(), Ok(1)); // may sleep while empty
        assert_eq!(q.pop(), Ok(2));
        producer.join().unwrap();
    });
}

/// Two blocked poppers, one pusher of two items: each push must wake a different sleeper.
pub fn blocking_two_poppers<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: 2 blocked poppers, 1 pusher, capacity 1",
        3,
        "2 poppers: pop 1 (wait while empty); main: push 2 (wait while full)",
    )
    .preemption_bound(1);
    run("blocking_two_poppers", m, tune, || {
        let q = Arc::new(Blocking::<Q>::with_capacity(1).unwrap());
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let q = Arc::clone(&q);
                thread::spawn(move || q.pop().unwrap())
            })
            .collect();
        q.push(1).unwrap();
        q.push(2).unwrap(); // may wait while the single slot is taken
        let mut got: Vec<u32> = poppers.into_iter().map(|p| p.join().unwrap()).collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2], "every item popped exactly once");
    });
}

/// The path [`blocking_two_poppers_asleep_at_close`] expects.
pub const CLOSE_FINDS_TWO_SLEEPERS: &str = "close while both poppers sleep";

/// Two sleepers when `close` runs: both poppers are asleep on the empty queue; `close` must
/// wake both, and both return `Closed` (a close that wakes one leaves the other asleep).
pub fn blocking_two_poppers_asleep_at_close<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: close while two poppers sleep",
        3,
        "2 poppers: pop (wait while empty); main: yield until both sleep, close",
    )
    .preemption_bound(2)
    .expect_reached(CLOSE_FINDS_TWO_SLEEPERS);
    run("blocking_two_poppers_asleep_at_close", m, tune, || {
        let q = Arc::new(Blocking::<Q>::with_capacity(1).unwrap());
        let poppers: Vec<_> = (0..2)
            .map(|_| {
                let q = Arc::clone(&q);
                thread::spawn(move || q.pop())
            })
            .collect();
        yield_until_asleep(2);
        reached_if_asleep(CLOSE_FINDS_TWO_SLEEPERS, 2);
        assert!(q.close());
        for p in poppers {
            assert_eq!(
                p.join().unwrap(),
                Err(Closed(())),
                "a popper of an empty queue got an item"
            );
        }
    });
}

/// A producer pushes one item and closes; the consumer pops until the queue reports closed.
/// It must get the item: a popper that sees "closed" also sees every push that preceded the
/// close and drains it first.
pub fn pushed_before_close_is_drained<Q: HeapQueue<u32>>() {
    let q = Arc::new(Blocking::<Q>::with_capacity(1).unwrap());
    let producer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            q.push(7).unwrap();
            q.close();
        })
    };
    let mut got = Vec::new();
    while let Ok(v) = q.pop() {
        got.push(v);
    }
    producer.join().unwrap();
    assert_eq!(got, vec![7], "an item pushed before close was lost");
}

/// [`pushed_before_close_is_drained`].
pub fn blocking_drains_before_closed<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: an item pushed before close is drained",
        2,
        "producer: push, close; consumer: pop until closed",
    );
    run(
        "blocking_drains_before_closed",
        m,
        tune,
        pushed_before_close_is_drained::<Q>,
    );
}

/// One producer pushes, another thread closes, main pops until `Closed`: a push that returned
/// `Ok` was popped, one that returned `Closed` got its own value back and was not popped, and
/// the queue is closed-and-empty at the end.
pub fn blocking_close_racing_push<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: close racing push, pop until closed",
        3,
        "producer: push; closer: close; main: pop until Closed, then try_pop; capacity 2",
    )
    .stress_iterations(500)
    .deadline(Duration::from_secs(60));
    run("blocking_close_racing_push", m, tune, || {
        let q = Arc::new(Blocking::<Q>::with_capacity(2).unwrap());
        let producer = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.push(7))
        };
        let closer = {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                q.close();
            })
        };
        let mut got = Vec::new();
        while let Ok(v) = q.pop() {
            got.push(v);
        }
        let pushed = producer.join().unwrap();
        closer.join().unwrap();
        match pushed {
            Ok(()) => assert_eq!(
                got,
                vec![7],
                "a push that returned Ok was stranded by close"
            ),
            Err(Closed(v)) => {
                assert_eq!(v, 7, "a push that lost to close got another value back");
                assert!(
                    got.is_empty(),
                    "a push that lost to close was also delivered"
                );
            }
        }
        assert_eq!(
            q.try_pop(),
            Err(PopError::Closed),
            "an item was left behind"
        );
    });
}

/// A timed pop (which the futex model may time out at any moment) and an untimed pop compete
/// for two pushes: every item is popped at most once, and the untimed pop always returns — a
/// timeout never swallows the wake-up meant for it.
pub fn blocking_timed_pop_beside_untimed_pop<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: pop_timeout beside pop, 2 pushes",
        3,
        "A: pop_timeout (may time out); B: pop; main: push 1, join A, push 2, join B",
    )
    .preemption_bound(1);
    run("blocking_timed_pop_beside_untimed_pop", m, tune, || {
        let q = Arc::new(Blocking::<Q>::with_capacity(2).unwrap());
        let timed = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.pop_timeout(Duration::from_secs(1)).ok())
        };
        let untimed = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.pop().unwrap())
        };
        q.push(1).unwrap();
        let timed = timed.join().unwrap();
        q.push(2).unwrap();
        let untimed = untimed.join().unwrap();
        let left = q.try_pop().ok();
        let mut all: Vec<u32> = [timed, Some(untimed), left].into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            [1, 2],
            "timed {timed:?}, untimed {untimed}, left {left:?}"
        );
    });
}

/// shuttle and stress: three producers (24 on real threads, oversubscribing the machine) push
/// 10 items each while consumer 0 closes the queue after its fourth pop; two consumers pop
/// until `Closed`. Every value is popped (its push returned `Ok`) or handed back, once.
pub fn blocking_close_while_producing<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(label, "blocking: close while 3 producers push, 2 consumers pop until closed", 6,
        "3 producers (24 in the stress loop) x 10 pushes; consumer 0 closes after 4 pops; 2 consumers; capacity 2")
        .shuttle_iterations(1000)
        .stress_iterations(500)
        .deadline(Duration::from_secs(120));
    if !fits_loom(&m.name, 6) {
        return;
    }
    run("blocking_close_while_producing", m, tune, || {
        let producers_count: u32 = if synclab::sync::WORLD == synclab::sync::World::Plain {
            24
        } else {
            3
        };
        let q = Arc::new(Blocking::<Q>::with_capacity(2).unwrap());
        let producers: Vec<_> = (0..producers_count)
            .map(|p| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    let mut accepted = Vec::new();
                    for i in 0..10 {
                        match q.push(p * 100 + i) {
                            Ok(()) => accepted.push(p * 100 + i),
                            Err(Closed(back)) => {
                                assert_eq!(back, p * 100 + i, "close handed back another value");
                                return accepted;
                            }
                        }
                    }
                    accepted
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|c| {
                let q = Arc::clone(&q);
                thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Ok(v) = q.pop() {
                        got.push(v);
                        if c == 0 && got.len() == 4 {
                            q.close();
                        }
                    }
                    got
                })
            })
            .collect();
        let mut accepted = HashSet::new();
        for p in producers {
            accepted.extend(p.join().unwrap());
        }
        q.close(); // in case every item fit before consumer 0 reached its fourth pop
        let mut popped = HashSet::new();
        for c in consumers {
            for v in c.join().unwrap() {
                assert!(popped.insert(v), "{v} was popped twice");
            }
        }
        let stranded: Vec<_> = accepted.difference(&popped).collect();
        assert!(
            stranded.is_empty(),
            "pushes returned Ok but nobody popped {stranded:?}"
        );
        assert!(
            popped.is_subset(&accepted),
            "popped a value whose push was refused"
        );
        assert_eq!(
            q.try_pop(),
            Err(PopError::Closed),
            "an item was left behind"
        );
    });
}

/// shuttle and stress: 3 producers and 3 consumers over the blocking queue; main closes it
/// when the producers are done, and consumers pop until `Closed`.
pub fn blocking_three_producers_three_consumers<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "blocking: 3P/3C, 51 items, close, exactly once + FIFO",
        7,
        "3 producers x 17 items; 3 consumers until closed; capacity 2, 3 and 4",
    )
    .stress_iterations(30);
    if !fits_loom(&m.name, 7) {
        return;
    }
    run("blocking_three_producers_three_consumers", m, tune, || {
        for capacity in 2..=4 {
            let q = Arc::new(Blocking::<Q>::with_capacity(capacity).unwrap());
            let producers: Vec<_> = (0..PRODUCERS)
                .map(|p| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || {
                        for i in 0..PER_PRODUCER {
                            q.push(p * 1000 + i).unwrap();
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..3)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        while let Ok(v) = q.pop() {
                            got.push(v);
                        }
                        got
                    })
                })
                .collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            q.close();
            let popped: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
            check_exactly_once_and_fifo(&popped);
        }
    });
}

/// Two senders (main and a clone on another thread) send one item each and drop their end;
/// the receiver, asleep on the empty channel, drains both and then sees `Disconnected`.
pub fn channel_last_sender_dropped_while_receiver_sleeps<Q: HeapQueue<u32>>(
    label: &str,
    tune: Tune,
) {
    let m = model(
        label,
        "channel: last sender dropped while the receiver sleeps",
        3,
        "receiver: iter() until disconnected; 2 senders: send 1 item each, drop",
    )
    .preemption_bound(2);
    run(
        "channel_last_sender_dropped_while_receiver_sleeps",
        m,
        tune,
        || {
            let (tx, rx) = bounded_with::<u32, Q>(2).unwrap();
            let receiver = thread::spawn(move || {
                let mut got: Vec<u32> = rx.iter().collect();
                got.sort_unstable();
                assert_eq!(got, [1, 2], "an item was lost before Disconnected");
                assert_eq!(rx.recv(), Err(RecvError), "recv after disconnection");
            });
            let other = tx.clone();
            let sender = thread::spawn(move || other.send(2).unwrap());
            tx.send(1).unwrap();
            drop(tx);
            sender.join().unwrap();
            receiver.join().unwrap();
        },
    );
}

/// Capacity 1: the sender's second `send` sleeps on the full channel until the receiver's
/// thread drops the only receiver; it then gets its value back.
pub fn channel_last_receiver_dropped_while_sender_sleeps<Q: HeapQueue<u32>>(
    label: &str,
    tune: Tune,
) {
    let m = model(
        label,
        "channel: last receiver dropped while a sender sleeps",
        2,
        "main: send 2 into capacity 1 (2nd waits); other: drop the receiver",
    );
    run(
        "channel_last_receiver_dropped_while_sender_sleeps",
        m,
        tune,
        || {
            let (tx, rx) = bounded_with::<u32, Q>(1).unwrap();
            tx.send(1).unwrap();
            let receiver = thread::spawn(move || drop(rx));
            assert_eq!(
                tx.send(2),
                Err(SendError(2)),
                "send after the receivers were gone"
            );
            assert!(tx.is_disconnected());
            receiver.join().unwrap();
        },
    );
}

/// The path [`channel_two_receivers_asleep_when_the_last_sender_leaves`] expects.
pub const DISCONNECT_FINDS_TWO_SLEEPERS: &str = "the last sender leaves while both receivers sleep";

/// Two sleepers at the disconnect: two receivers sleep on the empty channel; main drops the
/// only sender, and both must see `Disconnected`.
pub fn channel_two_receivers_asleep_when_the_last_sender_leaves<Q: HeapQueue<u32>>(
    label: &str,
    tune: Tune,
) {
    let m = model(
        label,
        "channel: the last sender leaves while two receivers sleep",
        3,
        "2 receivers: recv (wait while empty); main: yield until both sleep, drop the sender",
    )
    .preemption_bound(2)
    .expect_reached(DISCONNECT_FINDS_TWO_SLEEPERS);
    run(
        "channel_two_receivers_asleep_when_the_last_sender_leaves",
        m,
        tune,
        || {
            let (tx, rx) = bounded_with::<u32, Q>(1).unwrap();
            let receivers: Vec<_> = (0..2)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.recv())
                })
                .collect();
            drop(rx);
            yield_until_asleep(2);
            reached_if_asleep(DISCONNECT_FINDS_TWO_SLEEPERS, 2);
            drop(tx);
            for r in receivers {
                assert_eq!(r.join().unwrap(), Err(RecvError), "a receiver was not told");
            }
        },
    );
}
