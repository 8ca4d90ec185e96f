//! The [`MpmcQueue`] suite: every bounded queue's contract, and the blocking layer and the
//! channel built on it, checked the same way for every queue. Instantiate it with
//! [`mpmc_queue_suite!`](crate::mpmc_queue_suite).
//!
//! | scenario | threads | what it checks |
//! |---|---|---|
//! | `smoke`, `capacity_errors`, `full_and_empty`, `drops_each_item_once` | 1 | the operations one at a time: FIFO, `len`/`is_full`, typed capacity errors, a full queue hands the value back, each item dropped once |
//! | `close_refuses_pushes_and_drains` | 2 | two racing `close`s: exactly one closes; then pushes are refused, pops drain |
//! | `matches_a_vecdeque` | real | 256 seeded random operation sequences against a `VecDeque`, the queue and its blocking layer |
//! | `two_producers_one_consumer`, `one_producer_two_consumers` | 3 | every item popped exactly once |
//! | `spsc_fifo_across_laps` | 2 | one producer's items in order, over two laps of a 2-slot ring |
//! | `drops_what_is_left` | 2 | a producer and a consumer share it; what is left is dropped once with it |
//! | `three_producers_three_consumers` | 7 | shuttle and stress: exactly once, per-producer FIFO |
//! | [`blocking`](self#the-blocking-layer-and-the-channel) | 2–7 | `BlockingQueue<T, Q>` and the channel over `Q` |
//!
//! # The blocking layer and the channel
//!
//! | scenario | threads | what it checks |
//! |---|---|---|
//! | `blocking_push_pop_across_full_and_empty` | 2 | a push that waits while full and a pop that waits while empty are both woken |
//! | `blocking_two_poppers` | 3 | two blocked poppers, two pushes: each push wakes a different sleeper |
//! | `blocking_two_poppers_asleep_at_close` | 3 | **two sleepers when `close` runs**: both return `Closed`; expects both asleep |
//! | `blocking_drains_before_closed` | 2 | an item pushed before `close` is popped before "closed" |
//! | `blocking_close_racing_push` | 3 | a push that returned `Ok` is delivered; one that lost gets its value back |
//! | `blocking_timed_pop_beside_untimed_pop` | 3 | a timed-out pop swallows nobody's wake-up |
//! | `blocking_close_while_producing`, `blocking_three_producers_three_consumers` | 6, 7 | shuttle and stress |
//! | `channel_last_sender_dropped_while_receiver_sleeps` | 3 | the receiver drains, then sees `Disconnected` |
//! | `channel_last_receiver_dropped_while_sender_sleeps` | 2 | the sleeping sender gets its value back |
//! | `channel_two_receivers_asleep_when_the_last_sender_leaves` | 3 | **two sleepers at the disconnect**: both see `Disconnected`; expects both asleep |

use std::collections::HashSet;
use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering as StdOrdering;

use synclab::queue::{CapacityError, MpmcQueue, MAX_CAPACITY};
use synclab::shm::Heap;
use synclab::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use synclab::sync::{thread, Arc};

use super::{fits_loom, real_threads_only, run, type_label, Tune};
use crate::Model;

mod blocking;
pub use blocking::*;

/// Declares a module of tests that runs the [`MpmcQueue`] suite on one queue, its blocking
/// layer and its channel.
///
/// ```ignore
/// mpmc_queue_suite!(my_queue, MyQueue);                  // MyQueue<T>: MpmcQueue<T, Memory = Heap>
/// mpmc_queue_suite!(my_queue, MyQueue, tune = my_tune);  // see suites::Tune
/// ```
///
/// `$queue` is a type constructor of one parameter (a path, or an alias `type Q<T> = …`).
#[macro_export]
macro_rules! mpmc_queue_suite {
    ($module:ident, $queue:ident $(,)?) => {
        $crate::mpmc_queue_suite!($module, $queue, tune = $crate::suites::as_written);
    };
    ($module:ident, $queue:ident, tune = $tune:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::suites::mpmc_queue as suite;
            const TUNE: $crate::suites::Tune = $tune;
            const LABEL: &str = stringify!($queue);

            #[test]
            fn drops_each_item_once() {
                suite::drops_each_item_once::<$queue<suite::DropCounter>>(LABEL, TUNE);
            }

            #[test]
            fn drops_what_is_left() {
                suite::drops_what_is_left::<$queue<suite::DropCounter>>(LABEL, TUNE);
            }

            #[test]
            fn matches_a_vecdeque() {
                suite::matches_a_vecdeque::<$queue<u8>>(LABEL, TUNE);
            }

            $crate::mpmc_queue_suite!(@tests $queue;
                smoke, capacity_errors, full_and_empty, close_refuses_pushes_and_drains,
                two_producers_one_consumer, one_producer_two_consumers, spsc_fifo_across_laps,
                three_producers_three_consumers, blocking_push_pop_across_full_and_empty,
                blocking_two_poppers, blocking_two_poppers_asleep_at_close,
                blocking_drains_before_closed, blocking_close_racing_push,
                blocking_timed_pop_beside_untimed_pop, blocking_close_while_producing,
                blocking_three_producers_three_consumers,
                channel_last_sender_dropped_while_receiver_sleeps,
                channel_last_receiver_dropped_while_sender_sleeps,
                channel_two_receivers_asleep_when_the_last_sender_leaves);
        }
    };
    (@tests $queue:ident; $($scenario:ident),* $(,)?) => {$(
        #[test]
        fn $scenario() {
            suite::$scenario::<$queue<u32>>(LABEL, TUNE);
        }
    )*};
}

/// A queue of the suite: on the heap, so that the blocking layer and the channel can sit on it.
pub trait HeapQueue<T>: MpmcQueue<T, Memory = Heap> + 'static {}
impl<T, Q: MpmcQueue<T, Memory = Heap> + 'static> HeapQueue<T> for Q {}

pub(crate) fn model(label: &str, what: &str, threads: usize, ops: &str) -> Model {
    Model::new(format!("{}: {what}", type_label(label)))
        .threads(threads)
        .ops(ops)
        .preemption_bound(3)
        .shuttle_iterations(if threads > 1 { 2_000 } else { 1 })
        .stress_iterations(50)
}

/// Pushes `value`, yielding (a scheduling point under a checker) while the queue is full.
pub fn push_spin<Q: MpmcQueue<u32>>(q: &Q, mut value: u32) {
    while let Err(back) = q.try_push(value) {
        value = back;
        thread::yield_now();
    }
}

/// Pops one item, yielding while the queue is empty.
pub fn pop_spin<Q: MpmcQueue<u32>>(q: &Q) -> u32 {
    loop {
        if let Some(v) = q.try_pop() {
            return v;
        }
        thread::yield_now();
    }
}

/// One thread: FIFO, `len`, `is_empty`, `is_full`, `capacity`.
pub fn smoke<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "smoke",
        1,
        "push 1, 2; pop 2; len, is_empty, is_full, capacity",
    );
    run("smoke", m, tune, || {
        let q = Q::with_capacity(2).unwrap();
        assert_eq!(
            (q.capacity(), q.len(), q.is_empty(), q.is_full()),
            (2, 0, true, false)
        );
        assert_eq!(q.try_push(1), Ok(()));
        assert_eq!(q.try_push(2), Ok(()));
        assert_eq!((q.len(), q.is_empty(), q.is_full()), (2, false, true));
        assert_eq!(
            (q.try_pop(), q.try_pop(), q.try_pop()),
            (Some(1), Some(2), None)
        );
        assert!(!q.is_closed());
    });
}

/// Capacity 0 and past [`MAX_CAPACITY`] are typed errors that say what was wrong.
pub fn capacity_errors<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "capacity errors",
        1,
        "with_capacity(0, MAX + 1, usize::MAX, 3)",
    );
    run("capacity_errors", m, tune, || {
        assert_eq!(Q::with_capacity(0).err(), Some(CapacityError::Zero));
        assert_eq!(
            CapacityError::Zero.to_string(),
            "queue capacity must be at least 1, got 0"
        );
        for requested in [MAX_CAPACITY + 1, usize::MAX] {
            assert_eq!(
                Q::with_capacity(requested).err(),
                Some(CapacityError::TooLarge {
                    requested,
                    max: MAX_CAPACITY
                })
            );
        }
        assert_eq!(Q::with_capacity(3).unwrap().capacity(), 3);
    });
}

/// Full: a push hands its value back; empty: a pop finds nothing — over two laps.
pub fn full_and_empty<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "full and empty, two laps",
        1,
        "2 x (fill 3, push (full), drain 3, pop (empty))",
    );
    run("full_and_empty", m, tune, || {
        let q = Q::with_capacity(3).unwrap();
        for lap in 0..2 {
            for v in 0..3 {
                assert_eq!(q.try_push(10 * lap + v), Ok(()));
            }
            assert_eq!(q.try_push(99), Err(99), "a full queue hands the value back");
            for v in 0..3 {
                assert_eq!(q.try_pop(), Some(10 * lap + v), "FIFO");
            }
            assert_eq!(q.try_pop(), None);
        }
    });
}

/// `close` refuses pushes (handing the value back) and lets pops drain what is left; of two
/// racing `close`s exactly one reports that it closed the queue.
pub fn close_refuses_pushes_and_drains<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "close refuses pushes, pops drain",
        2,
        "push 1; other: close; main: close (one of the two closes), close; push; pop 2",
    );
    run("close_refuses_pushes_and_drains", m, tune, || {
        let q = Arc::new(Q::with_capacity(2).unwrap());
        q.try_push(1).unwrap();
        let other = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.close())
        };
        let mine = q.close();
        let theirs = other.join().unwrap();
        assert!(mine != theirs, "exactly one of two racing closes closes");
        assert!(!q.close(), "a later close reports it was closed already");
        assert!(q.is_closed());
        assert_eq!(
            q.try_push(2),
            Err(2),
            "a push after close hands its value back"
        );
        assert_eq!((q.try_pop(), q.try_pop()), (Some(1), None), "pops drain");
    });
}

/// Counts its drops (in a std atomic the models do not track: the count is the test's).
#[derive(Debug)]
pub struct DropCounter(std::sync::Arc<StdAtomicUsize>);

impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, StdOrdering::Relaxed);
    }
}

/// Items popped, refused or left in the queue are each dropped exactly once.
pub fn drops_each_item_once<Q: HeapQueue<DropCounter>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "each item dropped once",
        1,
        "push 3 (+1 refused), pop 1, drop the queue",
    );
    run("drops_each_item_once", m, tune, || {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let count = || drops.load(StdOrdering::Relaxed);
        {
            let q = Q::with_capacity(3).unwrap();
            for _ in 0..3 {
                assert!(q
                    .try_push(DropCounter(std::sync::Arc::clone(&drops)))
                    .is_ok());
            }
            let refused = q.try_push(DropCounter(std::sync::Arc::clone(&drops)));
            assert_eq!(count(), 0);
            drop(refused);
            assert_eq!(count(), 1, "the refused item comes back and drops once");
            drop(q.try_pop());
            assert_eq!(count(), 2);
        }
        assert_eq!(count(), 4, "the two left drop with the queue");
    });
}

/// A producer pushes two drop-counted items while main pops one and drops the queue: each
/// item is dropped exactly once.
pub fn drops_what_is_left<Q: HeapQueue<DropCounter>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "what is left is dropped once, with the queue",
        2,
        "producer: push 2 drop-counted items; main: pop 1, drop the queue",
    )
    .exhaustive();
    run("drops_what_is_left", m, tune, || {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let q = Arc::new(Q::with_capacity(2).unwrap());
        let producer = {
            let (q, drops) = (Arc::clone(&q), std::sync::Arc::clone(&drops));
            thread::spawn(move || {
                for _ in 0..2 {
                    let mut item = DropCounter(std::sync::Arc::clone(&drops));
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
        assert_eq!(
            drops.load(StdOrdering::Relaxed),
            2,
            "each item dropped exactly once"
        );
    });
}

/// A small deterministic generator (xorshift) for [`matches_a_vecdeque`]'s operations.
struct Ops(u64);

impl Ops {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// 256 seeded random sequences of up to 64 operations (push, pop, close) against a
/// `VecDeque`, on the queue and on its blocking layer. Real threads only (one thread: the
/// checkers would add nothing but time).
pub fn matches_a_vecdeque<Q: HeapQueue<u8>>(label: &str, _tune: Tune) {
    use std::collections::VecDeque;
    use synclab::queue::{BlockingQueue, Closed, PopError, PushError};
    if !real_threads_only(&format!("{}: matches_a_vecdeque", type_label(label))) {
        return;
    }
    for case in 0..256u64 {
        let mut ops = Ops(0x9E37_79B9_7F4A_7C15 ^ (case + 1));
        let capacity = 1 + (ops.next() % 5) as usize;
        let q = Q::with_capacity(capacity).unwrap();
        let b = BlockingQueue::<u8, Q>::with_capacity(capacity).unwrap();
        let (mut model, mut blocking_model) = (VecDeque::new(), VecDeque::new());
        let mut closed = false;
        for step in 0..(ops.next() % 64) {
            let r = ops.next();
            let v = (r >> 8) as u8;
            match r % 10 {
                0..=3 => {
                    let want = if model.len() < capacity {
                        model.push_back(v);
                        Ok(())
                    } else {
                        Err(v)
                    };
                    assert_eq!(
                        q.try_push(v),
                        want,
                        "case {case}, step {step}: try_push({v})"
                    );
                    if closed {
                        assert_eq!(b.try_push(v), Err(PushError::Closed(v)));
                        assert_eq!(b.push(v), Err(Closed(v)));
                    } else if blocking_model.len() < capacity {
                        blocking_model.push_back(v);
                        assert_eq!(b.push(v), Ok(()), "case {case}, step {step}");
                    } else {
                        assert_eq!(b.try_push(v), Err(PushError::Full(v)));
                    }
                }
                4..=7 => {
                    assert_eq!(
                        q.try_pop(),
                        model.pop_front(),
                        "case {case}, step {step}: try_pop"
                    );
                    match blocking_model.pop_front() {
                        Some(v) => assert_eq!(b.pop(), Ok(v)),
                        None if closed => {
                            assert_eq!(b.try_pop(), Err(PopError::Closed));
                            assert_eq!(b.pop(), Err(Closed(())));
                        }
                        None => assert_eq!(b.try_pop(), Err(PopError::Empty)),
                    }
                }
                _ => {
                    assert_eq!(b.close(), !closed, "close reports whether it closed");
                    closed = true;
                }
            }
            assert_eq!(q.len(), model.len(), "case {case}, step {step}: len");
            assert_eq!(q.is_empty(), model.is_empty());
            assert_eq!(q.is_full(), model.len() == capacity);
            assert_eq!(b.is_closed(), closed);
        }
    }
}

/// Two producers push one item each; main pops both (capacity 2).
pub fn two_producers_one_consumer<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "2 producers / 1 consumer, capacity 2",
        3,
        "2 producers: try_push 1 item (spin while full); main: pop 2",
    );
    run("two_producers_one_consumer", m, tune, || {
        let q = Arc::new(Q::with_capacity(2).unwrap());
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
    });
}

/// Main pushes two items into capacity 1 while two consumers pop one each. Preemption bound
/// 1: with two preemptions loom can stop a thread of `ArrayQueue` between its CAS and its
/// stamp store and alternate the other two, both spin-waiting on that slot, forever — the
/// queue's progress caveat, which loom reports as an unbounded path, not a bug.
pub fn one_producer_two_consumers<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "1 producer / 2 consumers, capacity 1",
        3,
        "main: push 2 items (spin while full); 2 consumers: pop 1 each",
    )
    .preemption_bound(1);
    run("one_producer_two_consumers", m, tune, || {
        let q = Arc::new(Q::with_capacity(1).unwrap());
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

/// One producer, one consumer, four items through two slots: FIFO across laps.
pub fn spsc_fifo_across_laps<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "SPSC FIFO over two laps of a 2-slot ring",
        2,
        "producer: push 1..=4; main: pop 4, in order",
    );
    run("spsc_fifo_across_laps", m, tune, || {
        let q = Arc::new(Q::with_capacity(2).unwrap());
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

/// Items of the 3-producer scenarios: 3 producers × 17.
pub const PRODUCERS: u32 = 3;
/// Items each producer pushes.
pub const PER_PRODUCER: u32 = 17;

/// Every item of every producer popped exactly once, and each consumer saw each producer's
/// items in increasing order (per-producer FIFO).
pub fn check_exactly_once_and_fifo(popped: &[Vec<u32>]) {
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

/// 3 producers and 3 consumers over the queue (spinning on full and empty).
pub fn mpmc_3p3c<Q: MpmcQueue<u32> + 'static>(capacity: usize) {
    let q = Arc::new(Q::with_capacity(capacity).unwrap());
    let remaining = Arc::new(AtomicUsize::new((PRODUCERS * PER_PRODUCER) as usize));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = Arc::clone(&q);
            thread::spawn(move || (0..PER_PRODUCER).for_each(|i| push_spin(&*q, p * 1000 + i)))
        })
        .collect();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let (q, remaining) = (Arc::clone(&q), Arc::clone(&remaining));
            thread::spawn(move || {
                let mut got = Vec::new();
                // Relaxed: a stop signal; the joins carry the data.
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

/// shuttle and stress: 3 producers × 17 items and 3 consumers, capacities 2, 3 and 4.
pub fn three_producers_three_consumers<Q: HeapQueue<u32>>(label: &str, tune: Tune) {
    let m = model(
        label,
        "3P/3C, 51 items, exactly once + per-producer FIFO",
        7,
        "3 producers x 17 items; 3 consumers; capacity 2, 3 and 4",
    )
    .stress_iterations(30);
    if fits_loom(&m.name, 7) {
        run("three_producers_three_consumers", m, tune, || {
            for capacity in 2..=4 {
                mpmc_3p3c::<Q>(capacity);
            }
        });
    }
}
