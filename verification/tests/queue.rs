//! Models of the queues: the lock-free `ArrayQueue`, the `EventCount`, and the blocking layer
//! over both queue kinds; proptest against a `VecDeque`; drop-counting stress; the queue zoo.
//!
//! * loom-sized models (≤ 3 threads including main, a few operations) run in every world;
//! * shuttle-sized models (3 producers / 3 consumers, 50+ items) are skipped under loom;
//! * proptest and the drop stress run in the plain build only.

use std::collections::HashSet;

use synclab::lock::{FutexFamily, StdFamily};
use synclab::shm::Heap;
// Some of these are used only by the plain-build proptests.
#[cfg_attr(any(synclab_loom, synclab_shuttle), allow(unused_imports))]
use synclab::queue::{
    bounded_with, ArrayQueue, BlockingQueue, CapacityError, Closed, EventCount, LockedQueue,
    MpmcQueue, PopError, PushError, RecvError, RecvTimeoutError, SendError, TryRecvError,
};
use synclab::sync::atomic::{AtomicBool, AtomicUsize, Ordering::*};
use synclab::sync::{thread, Arc};
use synclab_verification::{zoo_test, Expect, Failure, Model, SharedCell};
use synclab_zoo::queue as zoo;

type Blocking<Q> = BlockingQueue<u32, Q>;

/// Pushes `value`, spinning (a scheduling point under a checker) while the queue is full.
fn push_spin<Q: MpmcQueue<u32>>(q: &Q, mut value: u32) {
    while let Err(back) = q.try_push(value) {
        value = back;
        thread::yield_now();
    }
}

/// Pops one item, spinning while the queue is empty.
fn pop_spin<Q: MpmcQueue<u32>>(q: &Q) -> u32 {
    loop {
        if let Some(v) = q.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

/// Two producers push one item each; the main thread pops both.
fn two_producers_one_consumer<Q: MpmcQueue<u32> + 'static>(capacity: usize) {
    let q = Arc::new(Q::with_capacity(capacity).unwrap());
    let producers: Vec<_> = (0..2u32)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || push_spin(&*q, 10 + p))
        })
        .collect();
    let mut got = [pop_spin(&*q), pop_spin(&*q)];
    got.sort_unstable();
    assert_eq!(got, [10, 11], "every item popped exactly once");
    assert_eq!(q.try_pop(), None, "nothing left over");
    for p in producers {
        p.join().unwrap();
    }
}

/// Capacity 1 is checked at preemption bound 1: with two preemptions loom can stop one
/// thread between its CAS and its stamp store and then alternate the other two, both
/// spin-waiting on that slot, forever — the progress caveat of `ArrayQueue` ("a thread stalled
/// between its CAS and its stamp store blocks that slot"), which loom reports as an unbounded
/// path ("Model exceeded maximum number of branches") rather than a bug.
#[test]
fn array_queue_2p1c_capacity_1() {
    Model::new("ArrayQueue: 2 producers / 1 consumer, capacity 1")
        .threads(3)
        .ops("2 producers: try_push 1 item (spin while full); main: pop 2")
        .preemption_bound(1)
        .check(|| two_producers_one_consumer::<ArrayQueue<u32>>(1));
}

#[test]
fn array_queue_2p1c_capacity_2() {
    Model::new("ArrayQueue: 2 producers / 1 consumer, capacity 2")
        .threads(3)
        .ops("2 producers: try_push 1 item; main: pop 2")
        .preemption_bound(3)
        .check(|| two_producers_one_consumer::<ArrayQueue<u32>>(2));
}

/// Preemption bound 1 for the reason given at [`array_queue_2p1c_capacity_1`].
#[test]
fn array_queue_1p2c_capacity_1() {
    Model::new("ArrayQueue: 1 producer / 2 consumers, capacity 1")
        .threads(3)
        .ops("main: push 2 items (spin while full); 2 consumers: pop 1 each")
        .preemption_bound(1)
        .check(|| {
            let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let q = Arc::clone(&q);
                    thread::spawn(move || pop_spin(&*q))
                })
                .collect();
            push_spin(&*q, 1);
            push_spin(&*q, 2);
            let mut got: Vec<u32> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
            got.sort_unstable();
            assert_eq!(got, [1, 2], "every item popped exactly once");
        });
}

#[test]
fn array_queue_spsc_fifo_across_laps() {
    Model::new("ArrayQueue: SPSC FIFO over two laps of a 2-slot ring")
        .threads(2)
        .ops("producer: push 1..=4; main: pop 4, in order")
        .preemption_bound(3)
        .check(|| {
            let q = Arc::new(ArrayQueue::<u32>::with_capacity(2).unwrap());
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || (1..=4).for_each(|v| push_spin(&*q, v)))
            };
            for want in 1..=4 {
                assert_eq!(pop_spin(&*q), want, "FIFO for one producer");
            }
            producer.join().unwrap();
        });
}

/// Exhaustive takes 774k executions and over 80 s here; bound 5 explores 10.8k in about 1 s.
#[test]
fn array_queue_spsc_capacity_1_three_laps() {
    Model::new("ArrayQueue: SPSC FIFO, capacity 1, three laps")
        .threads(2)
        .ops("producer: push 1..=3 (spin while full); main: pop 3, in order")
        .preemption_bound(5)
        .check(|| {
            let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
            let producer = {
                let q = Arc::clone(&q);
                thread::spawn(move || (1..=3).for_each(|v| push_spin(&*q, v)))
            };
            for want in 1..=3 {
                assert_eq!(pop_spin(&*q), want, "FIFO for one producer");
            }
            producer.join().unwrap();
        });
}

#[test]
fn array_queue_drops_remaining_items_once() {
    Model::new("ArrayQueue: Drop drops what is left, exactly once")
        .threads(2)
        .ops("producer: push 2 drop-counted items; main: pop 1, drop the queue")
        .exhaustive()
        .check(|| {
            let drops = Arc::new(AtomicUsize::new(0));
            let q = Arc::new(ArrayQueue::<DropCounter>::with_capacity(2).unwrap());
            let producer = {
                let (q, drops) = (Arc::clone(&q), Arc::clone(&drops));
                thread::spawn(move || {
                    for _ in 0..2 {
                        let mut item = DropCounter(Arc::clone(&drops));
                        while let Err(back) = q.try_push(item) {
                            item = back;
                            thread::yield_now();
                        }
                    }
                })
            };
            let first = loop {
                if let Some(item) = q.try_pop() {
                    break item;
                }
                thread::yield_now();
            };
            drop(first);
            producer.join().unwrap();
            drop(q);
            assert_eq!(drops.load(Relaxed), 2, "each item dropped exactly once");
        });
}

/// Counts its drops in a shared counter.
#[derive(Debug)]
struct DropCounter(Arc<AtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[test]
fn event_count_never_loses_a_wakeup() {
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
fn event_count_keys_are_bound_to_their_event_count() {
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
            assert!(key.is_registered());
            ec.cancel_wait(key);
            assert!(other.prepare_wait().is_registered());
        });
}

fn blocking_push_pop_across_full_and_empty<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
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
}

#[test]
fn blocking_array_queue_no_lost_wakeup() {
    Model::new("BlockingQueue<ArrayQueue>: push/pop across full and empty, capacity 1")
        .threads(2)
        .ops("producer: push 2 (2nd waits while full); main: pop 2 (waits while empty)")
        .exhaustive()
        .check(blocking_push_pop_across_full_and_empty::<ArrayQueue<u32>>);
}

#[test]
fn blocking_locked_queue_std_no_lost_wakeup() {
    Model::new("BlockingQueue<LockedQueue<std>>: push/pop across full and empty, capacity 1")
        .threads(2)
        .ops("producer: push 2 (2nd waits while full); main: pop 2 (waits while empty)")
        .exhaustive()
        .check(blocking_push_pop_across_full_and_empty::<LockedQueue<u32, StdFamily>>);
}

#[test]
fn blocking_locked_queue_futex_no_lost_wakeup() {
    Model::new("BlockingQueue<LockedQueue<futex>>: push/pop across full and empty, capacity 1")
        .threads(2)
        .ops("producer: push 2 (2nd waits while full); main: pop 2 (waits while empty)")
        .preemption_bound(3)
        .check(blocking_push_pop_across_full_and_empty::<LockedQueue<u32, FutexFamily>>);
}

/// Two blocked poppers, one pusher: each push must wake (signal) a different sleeper.
fn blocking_two_poppers<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
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
}

/// Preemption bound 1 for the reason given at [`array_queue_2p1c_capacity_1`].
#[test]
fn blocking_array_queue_two_poppers() {
    Model::new("BlockingQueue<ArrayQueue>: 2 blocked poppers, 1 pusher, capacity 1")
        .threads(3)
        .ops("2 poppers: pop 1 (wait while empty); main: push 2 (wait while full)")
        .preemption_bound(1)
        .check(blocking_two_poppers::<ArrayQueue<u32>>);
}

#[test]
fn blocking_locked_queue_std_two_poppers() {
    Model::new("BlockingQueue<LockedQueue<std>>: 2 blocked poppers, 1 pusher, capacity 1")
        .threads(3)
        .ops("2 poppers: pop 1 (wait while empty); main: push 2 (wait while full)")
        .preemption_bound(2)
        .check(blocking_two_poppers::<LockedQueue<u32, StdFamily>>);
}

/// Takes one token if there is one.
fn take_token(tokens: &AtomicUsize) -> bool {
    // Acquire: pairs with the Release `fetch_add` of the token's producer.
    tokens
        .fetch_update(Acquire, Acquire, |t| t.checked_sub(1))
        .is_ok()
}

#[test]
fn event_count_two_waiters_two_notifies() {
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

// ---------------------------------------------------------------------------------------------
// shuttle-sized: 3 producers / 3 consumers, 51 items.

const PRODUCERS: u32 = 3;
const CONSUMERS: usize = 3;
const PER_PRODUCER: u32 = 17;

/// Checks that every item of every producer was popped exactly once and that each consumer
/// saw each producer's items in increasing order (per-producer FIFO).
fn check_exactly_once_and_fifo(popped: &[Vec<u32>]) {
    let mut seen = HashSet::new();
    for consumer in popped {
        let mut last = [None::<u32>; PRODUCERS as usize];
        for &item in consumer {
            assert!(seen.insert(item), "item {item} popped twice");
            let (producer, seq) = (item / 1000, item % 1000);
            if let Some(prev) = last[producer as usize] {
                assert!(
                    seq > prev,
                    "per-producer FIFO violated: producer {producer} item {seq} after {prev}"
                );
            }
            last[producer as usize] = Some(seq);
        }
    }
    assert_eq!(
        seen.len(),
        (PRODUCERS * PER_PRODUCER) as usize,
        "every item popped exactly once"
    );
}

/// 3 producers and 3 consumers over a spin-on-full/empty `MpmcQueue`.
fn mpmc_3p3c<Q: MpmcQueue<u32> + 'static>(capacity: usize) {
    let q = Arc::new(Q::with_capacity(capacity).unwrap());
    let remaining = Arc::new(AtomicUsize::new((PRODUCERS * PER_PRODUCER) as usize));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || (0..PER_PRODUCER).for_each(|i| push_spin(&*q, p * 1000 + i)))
        })
        .collect();
    let consumers: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let (q, remaining) = (Arc::clone(&q), Arc::clone(&remaining));
            thread::spawn(move || {
                let mut got = Vec::new();
                while remaining.load(Relaxed) > 0 {
                    match q.try_pop() {
                        Some(v) => {
                            remaining.fetch_sub(1, Relaxed);
                            got.push(v);
                        }
                        None => thread::yield_now(),
                    }
                }
                got
            })
        })
        .collect();
    producers.into_iter().for_each(|p| p.join().unwrap());
    let popped: Vec<_> = consumers.into_iter().map(|c| c.join().unwrap()).collect();
    check_exactly_once_and_fifo(&popped);
}

/// 3 producers and 3 consumers over a blocking queue; the main thread closes it when the
/// producers are done, and consumers pop until `Closed`.
fn blocking_3p3c<Q: MpmcQueue<u32, Memory = Heap> + 'static>(capacity: usize) {
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
    let consumers: Vec<_> = (0..CONSUMERS)
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

macro_rules! shuttle_mpmc {
    ($($name:ident: $what:literal, $body:expr;)*) => {$(
        #[test]
        #[cfg_attr(synclab_loom, ignore = "7 threads: shuttle-sized, far past loom's bounds")]
        fn $name() {
            Model::new($what)
                .threads(7)
                .ops("3 producers x 17 items; 3 consumers; capacity 2, 3 and 4")
                .shuttle_iterations(2000)
                .stress_iterations(30)
                .check(|| {
                    for capacity in 2..=4 {
                        $body(capacity);
                    }
                });
        }
    )*};
}

shuttle_mpmc! {
    locked_queue_futex_3p3c: "LockedQueue<futex>: 3P/3C, 51 items, exactly once + per-producer FIFO",
        mpmc_3p3c::<LockedQueue<u32, FutexFamily>>;
    blocking_locked_queue_futex_3p3c: "BlockingQueue<LockedQueue<futex>>: 3P/3C, 51 items, close, exactly once + FIFO",
        blocking_3p3c::<LockedQueue<u32, FutexFamily>>;
    array_queue_3p3c: "ArrayQueue: 3P/3C, 51 items, exactly once + per-producer FIFO",
        mpmc_3p3c::<ArrayQueue<u32>>;
    locked_queue_std_3p3c: "LockedQueue<std>: 3P/3C, 51 items, exactly once + per-producer FIFO",
        mpmc_3p3c::<LockedQueue<u32, StdFamily>>;
    blocking_array_queue_3p3c: "BlockingQueue<ArrayQueue>: 3P/3C, 51 items, close, exactly once + FIFO",
        blocking_3p3c::<ArrayQueue<u32>>;
    blocking_locked_queue_std_3p3c: "BlockingQueue<LockedQueue<std>>: 3P/3C, 51 items, close, exactly once + FIFO",
        blocking_3p3c::<LockedQueue<u32, StdFamily>>;
}

// ---------------------------------------------------------------------------------------------
// Plain build only: construction errors, proptest against a VecDeque, drop-counting stress.

#[test]
fn capacity_zero_is_a_typed_error() {
    assert_eq!(
        ArrayQueue::<u8>::with_capacity(0).unwrap_err(),
        CapacityError::Zero
    );
    assert_eq!(
        LockedQueue::<u8, StdFamily>::with_capacity(0).unwrap_err(),
        CapacityError::Zero
    );
    assert_eq!(
        LockedQueue::<u8, FutexFamily>::with_capacity(0).unwrap_err(),
        CapacityError::Zero
    );
    assert_eq!(
        Blocking::<ArrayQueue<u32>>::with_capacity(0).unwrap_err(),
        CapacityError::Zero
    );
    assert!(matches!(
        ArrayQueue::<u8>::with_capacity(usize::MAX),
        Err(CapacityError::TooLarge {
            requested: usize::MAX,
            ..
        })
    ));
    assert_eq!(
        CapacityError::Zero.to_string(),
        "queue capacity must be at least 1, got 0"
    );
}

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
mod plain {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8),
        Pop,
        Len,
        Close,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<u8>().prop_map(Op::Push),
            4 => Just(Op::Pop),
            1 => Just(Op::Len),
            // Only the blocking queue closes; the others treat it as a no-op.
            1 => Just(Op::Close),
        ]
    }

    /// Runs `ops` against `q` and a `VecDeque` of the same capacity, comparing every result.
    fn against_model<Q: MpmcQueue<u8>>(capacity: usize, ops: &[Op]) {
        let q = Q::with_capacity(capacity).unwrap();
        let mut model = VecDeque::new();
        assert_eq!(q.capacity(), capacity);
        for op in ops {
            match *op {
                Op::Push(v) => {
                    let want = if model.len() < capacity {
                        model.push_back(v);
                        Ok(())
                    } else {
                        Err(v)
                    };
                    assert_eq!(q.try_push(v), want, "try_push({v})");
                }
                Op::Pop => assert_eq!(q.try_pop(), model.pop_front(), "try_pop"),
                Op::Len | Op::Close => {}
            }
            assert_eq!(q.len(), model.len(), "len");
            assert_eq!(q.is_empty(), model.is_empty(), "is_empty");
            assert_eq!(q.is_full(), model.len() == capacity, "is_full");
        }
    }

    /// The blocking layer: `try_*` against the model, blocking `push`/`pop` only when they
    /// cannot sleep, and `close` (after which pushes fail and pops drain).
    fn blocking_against_model<Q: MpmcQueue<u8, Memory = Heap>>(capacity: usize, ops: &[Op]) {
        let q = BlockingQueue::<u8, Q>::with_capacity(capacity).unwrap();
        let mut model = VecDeque::new();
        let mut closed = false;
        for (i, op) in ops.iter().enumerate() {
            let blocking = i % 2 == 0;
            match *op {
                Op::Push(v) => {
                    if closed {
                        assert_eq!(q.try_push(v), Err(PushError::Closed(v)));
                        assert_eq!(q.push(v), Err(Closed(v)));
                    } else if model.len() < capacity {
                        model.push_back(v);
                        if blocking {
                            assert_eq!(q.push(v), Ok(()));
                        } else {
                            assert_eq!(q.try_push(v), Ok(()));
                        }
                    } else {
                        assert_eq!(q.try_push(v), Err(PushError::Full(v)));
                    }
                }
                Op::Pop => match model.pop_front() {
                    Some(v) if blocking => assert_eq!(q.pop(), Ok(v)),
                    Some(v) => assert_eq!(q.try_pop(), Ok(v)),
                    None if closed => {
                        assert_eq!(q.try_pop(), Err(PopError::Closed));
                        assert_eq!(q.pop(), Err(Closed(())));
                    }
                    None => assert_eq!(q.try_pop(), Err(PopError::Empty)),
                },
                Op::Len => assert_eq!(q.inner().len(), model.len()),
                Op::Close => {
                    assert_eq!(q.close(), !closed, "close reports whether it closed");
                    closed = true;
                }
            }
            assert_eq!(q.is_closed(), closed);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn array_queue_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            against_model::<ArrayQueue<u8>>(capacity, &ops);
        }

        #[test]
        fn locked_queue_std_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            against_model::<LockedQueue<u8, StdFamily>>(capacity, &ops);
        }

        #[test]
        fn locked_queue_futex_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            against_model::<LockedQueue<u8, FutexFamily>>(capacity, &ops);
        }

        #[test]
        fn blocking_locked_queue_futex_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            blocking_against_model::<LockedQueue<u8, FutexFamily>>(capacity, &ops);
        }

        #[test]
        fn blocking_array_queue_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            blocking_against_model::<ArrayQueue<u8>>(capacity, &ops);
        }

        #[test]
        fn blocking_locked_queue_std_matches_vecdeque(capacity in 1usize..6, ops in prop::collection::vec(op(), 0..64)) {
            blocking_against_model::<LockedQueue<u8, StdFamily>>(capacity, &ops);
        }
    }

    /// 2 producers and 2 consumers move drop-counted items through a small queue; some are
    /// left in it; dropping the queue must drop each remaining item exactly once.
    fn drop_stress<Q: MpmcQueue<DropCounter> + 'static>() {
        const ITEMS: usize = 2_000;
        const LEFT: usize = 3;
        for _ in 0..5 {
            let drops = Arc::new(AtomicUsize::new(0));
            let q = Arc::new(Q::with_capacity(8).unwrap());
            let popped = Arc::new(AtomicUsize::new(0));
            let producers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, drops) = (Arc::clone(&q), Arc::clone(&drops));
                    thread::spawn(move || {
                        for _ in 0..ITEMS / 2 {
                            let mut item = DropCounter(Arc::clone(&drops));
                            while let Err(back) = q.try_push(item) {
                                item = back;
                                thread::yield_now();
                            }
                        }
                    })
                })
                .collect();
            let consumers: Vec<_> = (0..2)
                .map(|_| {
                    let (q, popped) = (Arc::clone(&q), Arc::clone(&popped));
                    thread::spawn(move || loop {
                        // Claim a pop ticket first so exactly ITEMS - LEFT are popped.
                        let ticket = popped.fetch_add(1, Relaxed);
                        if ticket >= ITEMS - LEFT {
                            return;
                        }
                        loop {
                            if let Some(item) = q.try_pop() {
                                drop(item);
                                break;
                            }
                            thread::yield_now();
                        }
                    })
                })
                .collect();
            producers.into_iter().for_each(|p| p.join().unwrap());
            consumers.into_iter().for_each(|c| c.join().unwrap());
            assert_eq!(
                drops.load(Relaxed),
                ITEMS - LEFT,
                "popped items dropped once"
            );
            assert_eq!(q.len(), LEFT);
            drop(q);
            assert_eq!(
                drops.load(Relaxed),
                ITEMS,
                "queue's Drop drops the rest once"
            );
        }
    }

    #[test]
    fn array_queue_drop_stress() {
        drop_stress::<ArrayQueue<DropCounter>>();
    }

    #[test]
    fn locked_queue_std_drop_stress() {
        drop_stress::<LockedQueue<DropCounter, StdFamily>>();
    }

    #[test]
    fn locked_queue_futex_drop_stress() {
        drop_stress::<LockedQueue<DropCounter, FutexFamily>>();
    }

    #[test]
    fn array_queue_is_send_and_sync_for_send_items() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<ArrayQueue<std::cell::Cell<u8>>>(); // Cell: Send, not Sync
        assert_send_sync::<Blocking<ArrayQueue<u32>>>();
    }
}

// ---------------------------------------------------------------------------------------------
// The queue zoo (crates/synclab/src/zoo/queue.rs): each must be seen failing.

zoo_test! {
    /// The producer's stamp store is Relaxed: the consumer's Acquire load of the stamp
    /// synchronizes with nothing, so its read of the slot races with the producer's write.
    /// shuttle runs every access as SeqCst and cannot see a missing Release.
    fn zoo_relaxed_stamp_store() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: Vyukov queue with a Relaxed stamp store")
            .threads(2)
            .exhaustive()
            .check(|| {
                // SAFETY: a zoo_test! body runs only under loom or shuttle, and the queue is
                // shared only with a `synclab::sync::thread` — the checker's own threads.
                let q = Arc::new(unsafe { zoo::BrokenArrayQueue::new(2, zoo::StampBug::RelaxedStamp) });
                let producer = {
                    let q = Arc::clone(&q);
                    thread::spawn(move || q.try_push(42u32).unwrap())
                };
                let value = loop {
                    if let Some(v) = q.try_pop() {
                        break v;
                    }
                    thread::yield_now();
                };
                producer.join().unwrap();
                assert_eq!(value, Some(42), "read a slot before it was written");
            });
    }
}

zoo_test! {
    /// The producer publishes the stamp, then writes the value: the consumer's read is not
    /// ordered after the write (loom: data race), and a schedule that runs the consumer inside
    /// the window reads an empty slot (shuttle: the assertion).
    fn zoo_stamp_before_value() expect Expect::per_checker(
        Failure::DataRace,
        Failure::Assertion("read a slot before it was written"),
    ) => {
        Model::new("zoo: Vyukov queue that publishes the stamp before the value")
            .threads(2)
            .exhaustive()
            .shuttle_iterations(2000)
            .check(|| {
                // SAFETY: as in `zoo_relaxed_stamp_store`: a checker runs these threads.
                let q = Arc::new(unsafe {
                    zoo::BrokenArrayQueue::new(2, zoo::StampBug::StampBeforeValue)
                });
                let producer = {
                    let q = Arc::clone(&q);
                    thread::spawn(move || q.try_push(42u32).unwrap())
                };
                let value = loop {
                    if let Some(v) = q.try_pop() {
                        break v;
                    }
                    thread::yield_now();
                };
                // Assert after the join, so that under loom the producer's late write is
                // reached and judged as a race rather than stopped by the assertion.
                producer.join().unwrap();
                assert_eq!(q.pushed(), 1);
                assert_eq!(value, Some(42), "read a slot before it was written");
            });
    }
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

zoo_test! {
    /// Two lanes used round-robin reorder one producer's items: a pop that finds both lanes
    /// empty moves the pop turn on, so the next pop starts at the lane with the second item.
    fn zoo_two_lane_queue_reorders() expect Expect::both(
        Failure::Assertion("per-producer FIFO violated"),
    ) => {
        Model::new("zoo: two-lane queue, per-producer FIFO")
            .threads(2)
            .exhaustive()
            .check(|| {
                let q = Arc::new(zoo::TwoLaneQueue::<u32>::with_capacity(2).unwrap());
                let producer = {
                    let q = Arc::clone(&q);
                    thread::spawn(move || {
                        push_spin(&*q, 1);
                        push_spin(&*q, 2);
                    })
                };
                let first = pop_spin(&*q);
                let second = pop_spin(&*q);
                producer.join().unwrap();
                assert!(
                    first < second,
                    "per-producer FIFO violated: popped {first} then {second}"
                );
            });
    }
}

zoo_test! {
    /// The same two-lane queue in the 3-producer / 3-consumer shuttle scenario.
    #[cfg_attr(synclab_loom, ignore = "7 threads: shuttle-sized, far past loom's bounds")]
    fn zoo_two_lane_queue_3p3c() expect Expect::per_checker(
        Failure::Blind,
        Failure::Assertion("per-producer FIFO violated"),
    ) => {
        Model::new("zoo: two-lane queue, 3P/3C")
            .threads(7)
            .shuttle_iterations(300)
            .check(|| mpmc_3p3c::<zoo::TwoLaneQueue<u32>>(4));
    }
}

/// A producer pushes one item and closes; the consumer pops until the queue reports closed.
/// It must get the item: `close` publishes (Release) and `try_pop` acquires, so a popper that
/// sees "closed" also sees every push that preceded the close and drains it first.
fn pushed_before_close_is_drained<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
    let q = Arc::new(BlockingQueue::<u32, Q>::with_capacity(1).unwrap());
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

#[test]
fn blocking_array_queue_drains_before_closed() {
    Model::new("BlockingQueue<ArrayQueue>: an item pushed before close is drained")
        .threads(2)
        .ops("producer: push, close; consumer: pop until closed")
        .preemption_bound(3)
        .check(pushed_before_close_is_drained::<ArrayQueue<u32>>);
}

#[test]
fn blocking_locked_queue_futex_drains_before_closed() {
    Model::new("BlockingQueue<LockedQueue<futex>>: an item pushed before close is drained")
        .threads(2)
        .ops("producer: push, close; consumer: pop until closed")
        .preemption_bound(3)
        .check(pushed_before_close_is_drained::<LockedQueue<u32, FutexFamily>>);
}

// ---------------------------------------------------------------------------------------------
// Store buffering across two queues: the full and empty checks' SeqCst fences
// ---------------------------------------------------------------------------------------------

/// The store-buffering shape, shared with the Miri witnesses; `look` returns whether it saw
/// the other thread's change, and at least one must.
#[path = "../../crates/synclab/tests/shared/store_buffering.rs"]
mod shape;

fn store_buffering(
    make: fn() -> ArrayQueue<u32>,
    look: fn(&ArrayQueue<u32>, &ArrayQueue<u32>) -> bool,
) {
    let (mine, theirs) = shape::store_buffering(make, look);
    assert!(mine || theirs, "both threads missed the other's change");
}

/// The empty check in `pop` reads `tail` after a SeqCst fence; without it (or with a weaker
/// fence) both pops can read the old `tail` and report empty — the store-buffering outcome.
#[test]
fn array_queue_store_buffering_push_then_pop() {
    Model::new("ArrayQueue: push(q1); pop(q2) against push(q2); pop(q1) — not both empty")
        .threads(2)
        .ops("each thread: push on its queue, then pop on the other's (capacity 2)")
        .exhaustive()
        .check(|| {
            store_buffering(
                || ArrayQueue::with_capacity(2).unwrap(),
                |mine, other| {
                    mine.try_push(7).unwrap();
                    other.try_pop().is_some()
                },
            )
        });
}

/// The full check in `push` reads `head` after a SeqCst fence; without it both pushes can
/// read the old `head` and report full.
#[test]
fn array_queue_store_buffering_pop_then_push() {
    Model::new("ArrayQueue: pop(q1); push(q2) against pop(q2); push(q1) — not both full")
        .threads(2)
        .ops("each thread: pop from its full queue, then push on the other's (capacity 1)")
        .exhaustive()
        .check(|| {
            store_buffering(
                || {
                    let q = ArrayQueue::with_capacity(1).unwrap();
                    q.try_push(1).unwrap();
                    q
                },
                |mine, other| {
                    assert_eq!(mine.try_pop(), Some(1));
                    other.try_push(9).is_ok()
                },
            )
        });
}

// ---------------------------------------------------------------------------------------------
// Closing over a minimal queue: the blocking layer's drain-before-closed order
// ---------------------------------------------------------------------------------------------

/// A one-slot queue with no SeqCst fence anywhere: linearizable on its own (its state word
/// is changed by Release RMWs and read by Acquire loads), but its "empty" answer is a plain
/// Acquire load that may read an old state. It keeps `MpmcQueue::close`'s contract the
/// cheapest way: the closed mark is a bit of the same word, so a push's claim (a CAS from
/// `EMPTY` without the mark) and the close are ordered by that word's modification order,
/// and a thread that has read the mark reads no older state afterwards (coherence). The
/// drain-before-close model below then checks the blocking layer's side: that it asks
/// "closed?" *before* its last look at the queue, not after.
struct OneSlot {
    /// `EMPTY` → (push) `WRITING` → `FULL` → (pop) `READING` → `EMPTY`, plus the `CLOSED` bit.
    state: AtomicUsize,
    value: SharedCell<u32>,
}

const EMPTY: usize = 0;
const WRITING: usize = 1;
const FULL: usize = 2;
const READING: usize = 3;
const PHASE: usize = 0b11;
const CLOSED_BIT: usize = 0b100;

impl MpmcQueue<u32> for OneSlot {
    type Memory = Heap;

    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        match capacity {
            0 => Err(CapacityError::Zero),
            1 => Ok(Self {
                state: AtomicUsize::new(EMPTY),
                value: SharedCell::new(0),
            }),
            _ => Err(CapacityError::TooLarge {
                requested: capacity,
                max: 1,
            }),
        }
    }

    fn try_push(&self, value: u32) -> Result<(), u32> {
        // Acquire: pairs with the Release RMW to EMPTY in `try_pop` (the old value was read).
        // Fails on a closed word: EMPTY | CLOSED_BIT is not EMPTY.
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Acquire, Relaxed)
            .is_err()
        {
            return Err(value);
        }
        self.value.set(value);
        // Release: pairs with the Acquire load in `try_pop`. An RMW (WRITING + 1 = FULL) so
        // that a concurrent close's bit survives.
        self.state.fetch_add(FULL - WRITING, Release);
        Ok(())
    }

    fn try_pop(&self) -> Option<u32> {
        // Acquire: pairs with the Release RMW to FULL in `try_push`. A plain load, so an old
        // EMPTY can be read: "empty" here is ordered only by happens-before and coherence.
        let state = self.state.load(Acquire);
        if state & PHASE != FULL
            || self
                .state
                .compare_exchange(state, READING | (state & CLOSED_BIT), Acquire, Relaxed)
                .is_err()
        {
            return None;
        }
        let value = self.value.get();
        // Release: pairs with the Acquire CAS in `try_push`. An RMW (READING - 3 = EMPTY) that
        // keeps the closed bit.
        self.state.fetch_sub(READING - EMPTY, Release);
        Some(value)
    }

    fn capacity(&self) -> usize {
        1
    }

    fn len(&self) -> usize {
        usize::from(self.state.load(Acquire) & PHASE != EMPTY)
    }

    fn close(&self) -> bool {
        // Release: pairs with the Acquire load in `is_closed`.
        self.state.fetch_or(CLOSED_BIT, Release) & CLOSED_BIT == 0
    }

    fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`.
        self.state.load(Acquire) & CLOSED_BIT != 0
    }
}

/// Over a queue without fences, the blocking layer must look at the queue once more *after*
/// seeing it closed: that look is what finds the item pushed before the close.
#[test]
fn blocking_fenceless_queue_drains_before_closed() {
    Model::new("BlockingQueue<fenceless one-slot queue>: an item pushed before close is drained")
        .threads(2)
        .ops("producer: push, close; consumer: pop until closed")
        .preemption_bound(3)
        .check(pushed_before_close_is_drained::<OneSlot>);
}

/// Over the fenceless queue: sender A sends and drops its end, main drops the other and
/// polls with `try_recv` until `Disconnected`, and must have received A's item by then —
/// whichever end is dropped last. (This model does *not* tell the end count's AcqRel from
/// Relaxed: the blocking layer runs an event-count `fence(SeqCst)` after every push and in
/// `close`, and the count's modification order puts A's fence before the closer's in the
/// fence order, so the closer sees the push through the fence–fence rule anyway. Both
/// weakenings were tried and pass; see "The channel" in docs/notes/queues.md.)
#[test]
fn channel_fenceless_queue_disconnect_after_every_send() {
    Model::new(
        "channel<fenceless one-slot queue>: the last sender's disconnect follows every send",
    )
    .threads(2)
    .ops("A: send 1 item, drop its end; main: drop the other end, try_recv until disconnected")
    .preemption_bound(3)
    .check(|| {
        let (tx, rx) = bounded_with::<u32, OneSlot>(1).unwrap();
        let other = tx.clone();
        let sender = thread::spawn(move || other.send(7).unwrap());
        drop(tx);
        let mut got = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
                Err(e) => panic!("try_recv: {e}"),
            }
        }
        assert_eq!(got, [7], "disconnected before a sent item was received");
        sender.join().unwrap();
    });
}

/// `is_closed() == true` promises that the closer's earlier writes are visible (the doc
/// comment of `is_closed`): the closer writes a plain cell, closes; the observer reads the
/// cell once it sees the queue closed. With a Relaxed flag loom reports the read as a race.
#[test]
fn blocking_is_closed_publishes_the_closers_writes() {
    Model::new("BlockingQueue: is_closed() == true publishes the closer's earlier writes")
        .threads(2)
        .ops("closer: write a cell, close; observer: if is_closed, read the cell")
        .exhaustive()
        .check(|| {
            let q = Arc::new(Blocking::<ArrayQueue<u32>>::with_capacity(1).unwrap());
            let cell = Arc::new(SharedCell::new(0u32));
            let closer = {
                let (q, cell) = (Arc::clone(&q), Arc::clone(&cell));
                thread::spawn(move || {
                    cell.set(5);
                    q.close();
                })
            };
            if q.is_closed() {
                assert_eq!(cell.get(), 5);
            }
            closer.join().unwrap();
        });
}

// ---------------------------------------------------------------------------------------------
// Close racing push (issue 13, point 3): a push that returned Ok is delivered to a consumer
// that pops until closed-and-empty; a push that lost to close gets its value back.
// ---------------------------------------------------------------------------------------------

/// One producer pushes, another thread closes, the main thread pops until `Closed`. Whatever
/// the interleaving: a push that returned `Ok` was popped, one that returned `Closed` got its
/// own value back and it was not popped, and the queue is closed-and-empty at the end.
fn close_racing_push<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
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
}

macro_rules! close_racing_push_models {
    ($($name:ident => $queue:ty, $what:literal, loom bound $bound:expr;)*) => {$(
        #[test]
        fn $name() {
            Model::new(concat!("BlockingQueue<", $what, ">: close racing push, pop until closed"))
                .threads(3)
                .ops("producer: push; closer: close; main: pop until Closed, then try_pop; capacity 2")
                .preemption_bound($bound)
                .shuttle_iterations(2000)
                .stress_iterations(500)
                .deadline(std::time::Duration::from_secs(60))
                .check(close_racing_push::<$queue>);
        }
    )*};
}

close_racing_push_models! {
    blocking_array_queue_close_racing_push => ArrayQueue<u32>, "ArrayQueue", loom bound 3;
    blocking_locked_queue_std_close_racing_push => LockedQueue<u32, StdFamily>, "LockedQueue<std>", loom bound 2;
    blocking_locked_queue_futex_close_racing_push => LockedQueue<u32, FutexFamily>, "LockedQueue<futex>", loom bound 1;
}

/// Three producers (24 on real threads, oversubscribing the machine as the repro did)
/// push 10 items each (blocking `push`, capacity 2) while consumer 0 closes the queue after
/// its fourth pop; two consumers pop until `Closed`. Every value is accounted for exactly
/// once: popped (its push returned `Ok`) or handed back (its push returned `Closed`).
fn close_while_producing<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
    let producers_count: u32 = if synclab::sync::WORLD == synclab::sync::World::Plain {
        24
    } else {
        3
    };
    const PER_PRODUCER: u32 = 10;
    let q = Arc::new(Blocking::<Q>::with_capacity(2).unwrap());
    let producers: Vec<_> = (0..producers_count)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || {
                let mut accepted = Vec::new();
                for i in 0..PER_PRODUCER {
                    match q.push(p * 100 + i) {
                        Ok(()) => accepted.push(p * 100 + i),
                        Err(Closed(back)) => {
                            assert_eq!(back, p * 100 + i, "close handed back another value");
                            return (accepted, Some(back));
                        }
                    }
                }
                (accepted, None)
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
        let (ok, _refused) = p.join().unwrap();
        accepted.extend(ok);
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
        "pushes returned Ok but the consumers stopped before popping {stranded:?}"
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
}

macro_rules! close_while_producing_models {
    ($($name:ident => $queue:ty, $what:literal;)*) => {$(
        #[test]
        #[cfg_attr(synclab_loom, ignore = "6 threads: shuttle-sized, far past loom's bounds")]
        fn $name() {
            Model::new(concat!("BlockingQueue<", $what, ">: close while 3 producers push, 2 consumers pop until closed"))
                .threads(6)
                .ops("3 producers (24 in the stress loop) x 10 pushes; consumer 0 closes after 4 pops; 2 consumers pop until Closed; capacity 2")
                .shuttle_iterations(1000)
                .stress_iterations(500)
                .deadline(std::time::Duration::from_secs(120))
                .check(close_while_producing::<$queue>);
        }
    )*};
}

close_while_producing_models! {
    blocking_array_queue_close_while_producing => ArrayQueue<u32>, "ArrayQueue";
    blocking_locked_queue_std_close_while_producing => LockedQueue<u32, StdFamily>, "LockedQueue<std>";
    blocking_locked_queue_futex_close_while_producing => LockedQueue<u32, FutexFamily>, "LockedQueue<futex>";
}

// ---------------------------------------------------------------------------------------------
// Channel ends: disconnection when the last end of a side is dropped
// ---------------------------------------------------------------------------------------------

/// Two senders (main and a clone on another thread) send one item each and drop their end;
/// the receiver, asleep on the empty channel, drains both and then sees `Disconnected`.
fn channel_last_sender_dropped_while_receiver_sleeps<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
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
}

#[test]
fn channel_array_queue_last_sender_dropped_while_receiver_sleeps() {
    Model::new("channel<ArrayQueue>: last sender dropped while the receiver sleeps")
        .threads(3)
        .ops("receiver: iter() until disconnected; 2 senders: send 1 item each, drop")
        .preemption_bound(2)
        .check(channel_last_sender_dropped_while_receiver_sleeps::<ArrayQueue<u32>>);
}

#[test]
fn channel_locked_queue_last_sender_dropped_while_receiver_sleeps() {
    Model::new("channel<LockedQueue<futex>>: last sender dropped while the receiver sleeps")
        .threads(3)
        .ops("receiver: iter() until disconnected; 2 senders: send 1 item each, drop")
        .preemption_bound(2)
        .check(channel_last_sender_dropped_while_receiver_sleeps::<LockedQueue<u32, FutexFamily>>);
}

/// Capacity 1: the sender's second `send` sleeps on the full channel until the receiver's
/// thread drops the only receiver; it then gets its value back.
fn channel_last_receiver_dropped_while_sender_sleeps<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
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
}

#[test]
fn channel_array_queue_last_receiver_dropped_while_sender_sleeps() {
    Model::new("channel<ArrayQueue>: last receiver dropped while a sender sleeps")
        .threads(2)
        .ops("main: send 2 into capacity 1 (2nd waits); other: drop the receiver")
        .exhaustive()
        .check(channel_last_receiver_dropped_while_sender_sleeps::<ArrayQueue<u32>>);
}

#[test]
fn channel_locked_queue_last_receiver_dropped_while_sender_sleeps() {
    Model::new("channel<LockedQueue<futex>>: last receiver dropped while a sender sleeps")
        .threads(2)
        .ops("main: send 2 into capacity 1 (2nd waits); other: drop the receiver")
        .exhaustive()
        .check(channel_last_receiver_dropped_while_sender_sleeps::<LockedQueue<u32, FutexFamily>>);
}

/// shuttle / stress: 3 senders × 10 items and 3 receivers in `iter()`, capacity 2: every item
/// is received exactly once, each sender's items in order, and every receiver's `iter()` ends
/// once the last sender is gone and the channel is drained.
#[test]
#[cfg_attr(
    synclab_loom,
    ignore = "6 threads: beyond loom; run under shuttle and as stress"
)]
fn channel_3p3c_until_disconnected() {
    Model::new("channel<ArrayQueue>: 3 senders x 10, 3 receivers in iter() until disconnected")
        .threads(7)
        .ops("3 senders: send 10 each, drop; 3 receivers: iter() to the end; capacity 2")
        .shuttle_iterations(500)
        .stress_iterations(20)
        .check(|| {
            let (tx, rx) = synclab::queue::bounded::<u32>(2).unwrap();
            let senders: Vec<_> = (0..3u32)
                .map(|p| {
                    let tx = tx.clone();
                    thread::spawn(move || (0..10).for_each(|i| tx.send(p * 100 + i).unwrap()))
                })
                .collect();
            drop(tx);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.iter().collect::<Vec<u32>>())
                })
                .collect();
            drop(rx);
            for s in senders {
                s.join().unwrap();
            }
            let got: Vec<Vec<u32>> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
            let mut all: Vec<u32> = got.iter().flatten().copied().collect();
            all.sort_unstable();
            let want: Vec<u32> = (0..3u32)
                .flat_map(|p| (0..10).map(move |i| p * 100 + i))
                .collect();
            assert_eq!(all, want, "an item was lost or received twice");
            for received in &got {
                for p in 0..3u32 {
                    let mine: Vec<u32> =
                        received.iter().copied().filter(|v| v / 100 == p).collect();
                    assert!(
                        mine.windows(2).all(|w| w[0] < w[1]),
                        "sender {p}'s items reordered"
                    );
                }
            }
        });
}

// ---------------------------------------------------------------------------------------------
// ArrayQueue::force_push against concurrent pops
// ---------------------------------------------------------------------------------------------

/// Main force-pushes 1..=3 into a queue of `capacity` while a consumer pops twice (no spin):
/// every item leaves exactly once — popped, evicted by `force_push`, or left in the queue —
/// each stream in FIFO order, and nothing evicted is newer than something left behind.
fn force_push_against_pops(capacity: usize) {
    let q = Arc::new(ArrayQueue::<u32>::with_capacity(capacity).unwrap());
    let consumer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            [q.try_pop(), q.try_pop()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
        })
    };
    let evicted: Vec<u32> = (1..=3)
        .filter_map(|v| q.force_push(v).expect("the queue is open"))
        .collect();
    let popped = consumer.join().unwrap();
    let left: Vec<u32> = std::iter::from_fn(|| q.try_pop()).collect();
    assert!(left.len() <= capacity, "more items left than the capacity");
    for stream in [&evicted, &popped, &left] {
        assert!(
            stream.windows(2).all(|w| w[0] < w[1]),
            "out of FIFO order: {stream:?}"
        );
    }
    if let (Some(newest_evicted), Some(oldest_left)) = (evicted.last(), left.first()) {
        assert!(
            newest_evicted < oldest_left,
            "evicted {evicted:?} but left {left:?}"
        );
    }
    let mut all: Vec<u32> = evicted
        .iter()
        .chain(&popped)
        .chain(&left)
        .copied()
        .collect();
    all.sort_unstable();
    assert_eq!(
        all,
        [1, 2, 3],
        "evicted {evicted:?}, popped {popped:?}, left {left:?}"
    );
}

#[test]
fn array_queue_force_push_against_pops_capacity_1() {
    Model::new("ArrayQueue: force_push against pops, capacity 1")
        .threads(2)
        .ops("main: force_push 1..=3; consumer: pop x2 (no spin); main: drain")
        .preemption_bound(3)
        .check(|| force_push_against_pops(1));
}

#[test]
fn array_queue_force_push_against_pops_capacity_2() {
    Model::new("ArrayQueue: force_push against pops, capacity 2")
        .threads(2)
        .ops("main: force_push 1..=3; consumer: pop x2 (no spin); main: drain")
        .preemption_bound(3)
        .check(|| force_push_against_pops(2));
}

/// A full one-slot queue holding 1; one thread force-pushes 2 while another closes it, and main
/// pops until it has seen the queue closed and then empty. Every value is accounted for
/// exactly once — popped, evicted, or handed back by a refused force_push — and nothing is
/// left behind once main has seen "closed, then empty" (no push lands after that). Before,
/// the eviction moved `tail` with a plain store, which could erase the close's mark (the
/// queue reopened) and strand the forced value; and a refused value came back as if evicted.
fn force_push_racing_close() {
    let q = Arc::new(ArrayQueue::<u32>::with_capacity(1).unwrap());
    q.try_push(1).unwrap();
    let pusher = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.force_push(2))
    };
    let closer = {
        let q = Arc::clone(&q);
        thread::spawn(move || {
            q.close();
        })
    };
    let mut popped = Vec::new();
    loop {
        if let Some(v) = q.try_pop() {
            popped.push(v);
        } else if q.is_closed() {
            // Closed, then one more look: by `MpmcQueue::close`'s contract it sees every
            // push that was not refused.
            match q.try_pop() {
                Some(v) => popped.push(v),
                None => break,
            }
        } else {
            thread::yield_now();
        }
    }
    let forced = pusher.join().unwrap();
    closer.join().unwrap();
    assert!(q.is_closed(), "the close was lost: the queue reopened");
    assert_eq!(
        q.try_pop(),
        None,
        "an item was left behind after closed-and-empty"
    );
    let mut all = popped.clone();
    match forced.clone() {
        Ok(evicted) => all.extend(evicted),
        Err(err) => {
            assert_eq!(
                err.value, 2,
                "a refused force_push handed back another value"
            );
            all.push(err.value);
            all.extend(err.evicted);
        }
    }
    all.sort_unstable();
    assert_eq!(all, [1, 2], "popped {popped:?}, force_push {forced:?}");
}

#[test]
fn array_queue_force_push_racing_close() {
    Model::new("ArrayQueue: force_push racing close, capacity 1")
        .threads(3)
        .ops("pusher: force_push into a full queue; closer: close; main: pop until closed, then empty")
        .preemption_bound(3)
        .shuttle_iterations(2000)
        .stress_iterations(500)
        .deadline(std::time::Duration::from_secs(60))
        .check(force_push_racing_close);
}

// ---------------------------------------------------------------------------------------------
// Timeouts: a timed-out waiter leaves the event count consistent, and wakes no one short
// ---------------------------------------------------------------------------------------------

/// A timed pop (which the futex model may time out at any moment) and an untimed pop compete
/// for the items main pushes: every item is popped at most once, and the untimed pop always
/// returns — a timeout never swallows the wakeup meant for it.
fn blocking_timed_pop_beside_untimed_pop<Q: MpmcQueue<u32, Memory = Heap> + 'static>() {
    let q = Arc::new(Blocking::<Q>::with_capacity(2).unwrap());
    let timed = {
        let q = Arc::clone(&q);
        thread::spawn(move || q.pop_timeout(std::time::Duration::from_secs(1)).ok())
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
}

#[test]
fn blocking_array_queue_timed_pop_beside_untimed_pop() {
    Model::new("BlockingQueue<ArrayQueue>: pop_timeout beside pop, 2 pushes")
        .threads(3)
        .ops("A: pop_timeout (may time out); B: pop; main: push 1, join A, push 2, join B")
        // Bound 2 exceeds loom's branch limit: two threads spin-wait on a slot whose
        // producer or consumer is preempted between its CAS and its stamp store (the
        // ArrayQueue progress caveat, see `array_queue_2p1c_capacity_1`).
        .preemption_bound(1)
        .check(blocking_timed_pop_beside_untimed_pop::<ArrayQueue<u32>>);
}

/// `recv_timeout` against a sender that sends one item and disconnects: the item is received
/// exactly once — by the timed receive, or by the `recv` after it timed out — and then the
/// receiver sees `Disconnected`.
#[test]
fn channel_recv_timeout_then_recv() {
    Model::new("channel<ArrayQueue>: recv_timeout, then recv, against send + disconnect")
        .threads(2)
        .ops("sender: send 1, drop; main: recv_timeout (may time out), recv until disconnected")
        // Exhaustive: 177,402 executions, 60 s here; bound 3 keeps it under a second.
        .preemption_bound(3)
        .check(|| {
            let (tx, rx) = synclab::queue::bounded::<u32>(1).unwrap();
            let sender = thread::spawn(move || tx.send(1).unwrap());
            let mut got = Vec::new();
            match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(v) => got.push(v),
                Err(RecvTimeoutError::Timeout) => {}
                Err(e) => panic!("recv_timeout: {e}"),
            }
            got.extend(rx.iter());
            assert_eq!(got, [1], "the item was lost or duplicated by the timeout");
            assert_eq!(rx.recv(), Err(RecvError));
            sender.join().unwrap();
        });
}

// ---------------------------------------------------------------------------------------------
// The duplex ring (crates/synclab/src/queue/duplex.rs): two SPSC rings sharing lines.

type Ring = synclab::queue::Duplex<u32>;

/// Sends `value` from `end`, yielding (a scheduling point) while the ring is full.
fn duplex_send(end: &mut synclab::queue::DuplexEnd<'_, u32, synclab::shm::Heap>, mut value: u32) {
    while let Err(back) = end.try_send(value) {
        value = back;
        thread::yield_now();
    }
}

/// Receives one value at `end`, yielding while there is none.
fn duplex_recv(end: &mut synclab::queue::DuplexEnd<'_, u32, synclab::shm::Heap>) -> u32 {
    loop {
        if let Some(v) = end.try_recv() {
            return v;
        }
        thread::yield_now();
    }
}

/// Two round trips over a ring of one slot per direction: each request and its answer share
/// the slot's line, and the second round trip reuses it. A payload written before each
/// request is seen by the peer (the stamp's Release/Acquire), and no value is read while it
/// is written (the record's Release/Acquire).
fn duplex_round_trips() {
    let d = Arc::new(Ring::with_capacity(1).unwrap());
    let payload = Arc::new(SharedCell::new(0u32));
    let peer = {
        let (d, payload) = (Arc::clone(&d), Arc::clone(&payload));
        thread::spawn(move || {
            let mut end = d.end(1).unwrap();
            for _ in 0..2 {
                let v = duplex_recv(&mut end);
                assert_eq!(payload.get(), v, "the payload written before the request");
                duplex_send(&mut end, v + 10);
            }
        })
    };
    let mut end = d.end(0).unwrap();
    for v in 1..=2 {
        payload.set(v);
        duplex_send(&mut end, v);
        assert_eq!(duplex_recv(&mut end), v + 10);
    }
    peer.join().unwrap();
}

#[test]
fn duplex_round_trips_in_one_line() {
    Model::new("Duplex (capacity 1): two round trips through one slot's line")
        .threads(2)
        .ops("main: 2 × (payload; send v; recv); peer: 2 × (recv; read payload; send v + 10)")
        .exhaustive()
        .check(duplex_round_trips);
}

/// A stream of three values through one slot: the sender finds the ring full until the
/// receiver has taken the value before — the space check that `UncheckedRing` lacks.
fn duplex_stream(values: u32) {
    let d = Arc::new(Ring::with_capacity(1).unwrap());
    let receiver = {
        let d = Arc::clone(&d);
        thread::spawn(move || {
            let mut end = d.end(1).unwrap();
            (0..values)
                .map(|_| duplex_recv(&mut end))
                .collect::<Vec<_>>()
        })
    };
    let mut end = d.end(0).unwrap();
    for v in 0..values {
        duplex_send(&mut end, v);
    }
    let got = receiver.join().unwrap();
    assert_eq!(
        got,
        (0..values).collect::<Vec<_>>(),
        "a value lost or reordered"
    );
}

#[test]
fn duplex_stream_waits_for_room() {
    Model::new("Duplex (capacity 1): three values one way, the sender waits for room")
        .threads(2)
        .ops("sender: 3 × send (retry while full); receiver: 3 × recv")
        .exhaustive()
        .check(|| duplex_stream(3));
}

/// End 0 is held by one thread, which sends 1, receives the answer 11 and lets go; then by
/// main — which holds end 1 and answered — as soon as it is free (no join in between). The
/// second holder continues from the first's records, through the owner word's Release
/// (letting go) and Acquire (taking) alone: its receive finds nothing (11 was taken, once),
/// and its send of 2 reaches end 1 after 1. With either ordering weakened it may read a stale
/// `received` and take 11 again.
fn duplex_handover() {
    let d = Arc::new(Ring::with_capacity(2).unwrap());
    let first = {
        let d = Arc::clone(&d);
        thread::spawn(move || {
            let mut end = d.end(0).unwrap();
            duplex_send(&mut end, 1);
            duplex_recv(&mut end)
        })
    };
    let mut one = d.end(1).unwrap();
    let a = duplex_recv(&mut one);
    duplex_send(&mut one, a + 10);
    let mut zero = loop {
        match d.end(0) {
            Ok(end) => break end,
            Err(synclab::queue::EndError::Taken { .. }) => thread::yield_now(),
            Err(e) => panic!("{e}"),
        }
    };
    assert_eq!(zero.try_recv(), None, "the answer was received twice");
    duplex_send(&mut zero, 2);
    assert_eq!((a, duplex_recv(&mut one)), (1, 2));
    assert_eq!(first.join().unwrap(), 11);
}

#[test]
fn duplex_handover_continues_the_positions() {
    Model::new("Duplex: end 0 held by one thread, let go, taken by another")
        .threads(2)
        .ops("t1: end(0); send 1; recv 11; drop; main: end(1); recv 1; send 11; end(0) (retry while taken, no join); try_recv → None; send 2; recv 2")
        .exhaustive()
        .check(duplex_handover);
}

zoo_test! {
    /// The sender never checks for room: with one slot, its second send overwrites the first
    /// value — while the receiver takes it (loom, which stops at the first unordered access
    /// to the value's cell it explores), or before (shuttle: the receiver finds the slot
    /// holding position 1, not 0, and the first value is gone).
    fn zoo_ring_without_space_check() expect Expect::per_checker(
        Failure::DataRace,
        Failure::Assertion("a value was overwritten before it was received"),
    ) => {
        Model::new("zoo: SPSC ring whose sender skips the space check (capacity 1)")
            .threads(2)
            .ops("sender: send 1; send 2; receiver: 2 polls; main drains after join")
            .exhaustive()
            .check(|| {
                // SAFETY: a zoo_test! body runs only under loom or shuttle; one thread sends
                // and one receives at a time, through `synclab::sync::thread`.
                let r = Arc::new(unsafe { zoo::BrokenRing::<u32>::new(1, zoo::RingBug::NoSpaceCheck) });
                let receiver = {
                    let r = Arc::clone(&r);
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        for _ in 0..2 {
                            match r.recv() {
                                Some(v) => got.push(v),
                                None => thread::yield_now(),
                            }
                        }
                        got
                    })
                };
                r.try_send(1).unwrap();
                r.try_send(2).unwrap();
                let mut got = receiver.join().unwrap();
                while let Some(v) = r.recv() {
                    got.push(v);
                }
                assert!(got == [1, 2], "a value was overwritten before it was received");
            });
    }
}

zoo_test! {
    /// The receiver records what it took with a Relaxed store: the sender, finding room, does
    /// not synchronize with the receiver's read of the value it then overwrites — loom reports
    /// the two accesses to the cell. shuttle runs every access as SeqCst and cannot see it.
    fn zoo_ring_relaxed_record() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: SPSC ring whose receiver records with a Relaxed store (capacity 1)")
            .threads(2)
            .ops("sender: send 1; send 2 (retry while full); receiver: 2 × recv")
            .exhaustive()
            .check(|| {
                // SAFETY: as above.
                let r = Arc::new(unsafe { zoo::BrokenRing::<u32>::new(1, zoo::RingBug::RelaxedRecord) });
                let receiver = {
                    let r = Arc::clone(&r);
                    thread::spawn(move || {
                        (0..2)
                            .map(|_| loop {
                                if let Some(v) = r.recv() {
                                    break v;
                                }
                                thread::yield_now();
                            })
                            .collect::<Vec<_>>()
                    })
                };
                for v in 1..=2 {
                    while r.try_send(v).is_err() {
                        thread::yield_now();
                    }
                }
                assert_eq!(receiver.join().unwrap(), [1, 2]);
            });
    }
}
