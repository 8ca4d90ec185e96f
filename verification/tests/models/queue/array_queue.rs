//! `ArrayQueue` (Vyukov's bounded MPMC queue, per-slot stamps): the suite, and what only it
//! has — the full and empty checks' store-buffering fences, `force_push`, a third lap of one
//! slot — then the zoo's two broken stamp orders.

use synclab::queue::{ArrayQueue, CapacityError, MpmcQueue};
use synclab::sync::{thread, Arc};
use synclab_verification::mpmc_queue_suite;
use synclab_verification::suites::bounds;
use synclab_verification::suites::mpmc_queue::{pop_spin, push_spin};
use synclab_verification::{zoo_test, Expect, Failure, Model};
use synclab_zoo::queue as zoo;

mpmc_queue_suite!(
    suite,
    ArrayQueue,
    tune = |scenario, model| {
        Some(bounds(
            scenario,
            model,
            &[
                // Exhaustive: 1.3 M executions (305 s on a loaded machine); bound 4 reaches both
                // sleeps and their wakes.
                ("blocking_push_pop_across_full_and_empty", Some(4)),
                ("channel_last_receiver_dropped_while_sender_sleeps", None),
            ],
        ))
    }
);

/// The largest capacity (what `TooLarge` names) is one the queue accepts: a ring of it that
/// cannot be allocated is `AllocationFailed`, not `TooLarge` (elements of 128 KiB, so the
/// request is far beyond any address space and fails at once). Under loom and in the plain
/// build only.
#[test]
fn largest_capacity_is_accepted() {
    type Huge = [u8; 1 << 17];
    Model::new("ArrayQueue: the largest capacity is accepted; its failed allocation is typed")
        .threads(1)
        .ops("with_capacity(usize::MAX) names max; with_capacity(max) of 128 KiB elements")
        .exhaustive()
        .check(|| {
            if synclab::sync::WORLD == synclab::sync::World::Shuttle {
                // One thread, nothing to schedule; and shuttle runs a model on a stack of its
                // own too small for this element type (the run dies of a segmentation fault).
                return;
            }
            // The largest capacity the queue accepts, as its error names it.
            let max = match ArrayQueue::<Huge>::with_capacity(usize::MAX) {
                Err(CapacityError::TooLarge { max, .. }) => max,
                other => panic!("expected TooLarge, got {:?}", other.map(|_| ())),
            };
            match ArrayQueue::<Huge>::with_capacity(max) {
                Err(CapacityError::AllocationFailed { requested, .. }) => {
                    assert_eq!(requested, max)
                }
                other => panic!("expected AllocationFailed, got {:?}", other.map(|_| ())),
            }
        });
}

/// Exhaustive takes 774k executions and over 80 s; bound 5 explores 10.8k in about 1 s.
#[test]
fn spsc_capacity_1_three_laps() {
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

/// The store-buffering shape, shared with the Miri witnesses; `look` returns whether it saw
/// the other thread's change, and at least one must.
#[path = "../../../../crates/synclab/tests/shared/store_buffering.rs"]
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
fn store_buffering_push_then_pop() {
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
fn store_buffering_pop_then_push() {
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
fn force_push_against_pops_capacity_1() {
    Model::new("ArrayQueue: force_push against pops, capacity 1")
        .threads(2)
        .ops("main: force_push 1..=3; consumer: pop x2 (no spin); main: drain")
        .preemption_bound(3)
        .check(|| force_push_against_pops(1));
}

#[test]
fn force_push_against_pops_capacity_2() {
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
fn force_push_racing_close_capacity_1() {
    Model::new("ArrayQueue: force_push racing close, capacity 1")
        .threads(3)
        .ops("pusher: force_push into a full queue; closer: close; main: pop until closed, then empty")
        .preemption_bound(3)
        .shuttle_iterations(2000)
        .stress_iterations(500)
        .deadline(std::time::Duration::from_secs(60))
        .check(force_push_racing_close);
}

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
