//! The queues: one file per design (its suite line, its own models, its zoo) — the lock-free
//! `ArrayQueue`, the `LockedQueue`s, the blocking layer and the channel over them, the event
//! count they sleep on, and the duplex ring — and the zoo's reordering queue.

use synclab::queue::MpmcQueue;
use synclab::sync::{thread, Arc};
use synclab_verification::suites::mpmc_queue::{mpmc_3p3c, pop_spin, push_spin};
use synclab_verification::{zoo_test, Expect, Failure, Model};
use synclab_zoo::queue as zoo;

mod array_queue;
mod blocking;
mod duplex;
mod event_count;
mod locked;

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
    /// The same two-lane queue in the suite's 3-producer / 3-consumer shuttle scenario.
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
