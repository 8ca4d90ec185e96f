//! What only one array design has: the polling array's penalty, the lock-free array's
//! references, `Debug` shapes, and the laned array's lanes. The conformance of every
//! [`SharedArray`](synclab::array::SharedArray) — smoke, bounds, errors, drops, readers and
//! publishers — is the suite in `synclab_verification::suites::shared_array`, one line per
//! design in `verification/tests/models/array/`.

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use synclab::array::{
    CondvarArray, IndexError, LenError, LockFreeArray, PollingArray, SharedArray,
};
use synclab::lock::StdFamily;

/// The polling design under test sleeps its default penalty (1 ms) per look.
type Polling<T> = PollingArray<T, StdFamily>;

type CondvarStd<T> = CondvarArray<T, StdFamily>;

#[test]
fn polling_penalty_is_configurable_and_observed() {
    let a: Arc<PollingArray<u32>> =
        Arc::new(PollingArray::with_penalty(1, Duration::from_micros(200)).unwrap());
    let reader = {
        let a = Arc::clone(&a);
        thread::spawn(move || {
            let mut looks = 0;
            let v = a.wait_observed(0, |i, penalty| {
                assert_eq!((i, penalty), (0, Duration::from_micros(200)));
                looks += 1;
            });
            (v, looks)
        })
    };
    thread::sleep(Duration::from_millis(5));
    a.publish(0, 9).unwrap();
    let (v, looks) = reader.join().unwrap();
    assert_eq!(v, Ok(9));
    assert!(
        looks >= 1,
        "the reader arrived first, so it found the slot empty at least once"
    );
}

#[test]
fn lock_free_references_stay_valid_while_borrowed() {
    let a = LockFreeArray::with_len(2).unwrap();
    a.publish(0, String::from("kept")).unwrap();
    let r = a.get_ref(0).unwrap().unwrap();
    a.publish(1, String::from("other")).unwrap(); // publishing elsewhere does not move it
    assert_eq!(r, "kept");
    assert_eq!(a.wait_ref(1).unwrap(), "other");
    assert_eq!(a.get_ref(7), Err(IndexError::new(7, 2)));
}

/// A length the address space cannot hold, and one the allocator refuses: typed errors, no
/// abort (the conformance suite checks `usize::MAX` for every design).
#[test]
fn lengths_that_cannot_be_allocated_are_errors() {
    let padded = std::mem::size_of::<[u8; 64]>();
    let too_large = isize::MAX as usize / padded + 1;
    assert!(matches!(
        LockFreeArray::<u8>::with_len(too_large),
        Err(LenError::TooLarge { requested, max }) if requested == too_large && max < too_large
    ));
    // Fits the address space on paper, but no allocator grants 2^63 bytes.
    let refused = isize::MAX as usize / padded;
    assert!(matches!(
        LockFreeArray::<u8>::with_len(refused),
        Err(LenError::AllocationFailed { requested, .. }) if requested == refused
    ));
    let e = PollingArray::<u8>::with_penalty(usize::MAX, Duration::ZERO).unwrap_err();
    assert!(e.to_string().contains("exceeds"), "{e}");
}

#[test]
fn debug_shows_shape_only() {
    let a: LockFreeArray<u8> = LockFreeArray::with_len(3).unwrap();
    assert_eq!(format!("{a:?}"), "LockFreeArray { len: 3, .. }");
    let c: CondvarStd<u8> = CondvarArray::with_len(2).unwrap();
    assert_eq!(
        format!("{c:?}"),
        "CondvarArray { family: \"std\", len: 2, .. }"
    );
    let p: Polling<u8> = PollingArray::with_len(1).unwrap();
    assert!(format!("{p:?}").starts_with("PollingArray { family: \"std\", len: 1"));
}

/// Laned arrays: who may publish which slot, and what the handles and errors say.
mod lanes {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;

    use synclab::array::{LaneError, LanedArray, LenError, PublishError};
    use synclab::shm::Heap;

    type Laned<T> = LanedArray<T, Heap>;

    #[test]
    fn lane_counts_are_powers_of_two_up_to_the_maximum() {
        for lanes in [1, 2, 4, 8, 16] {
            let a = Laned::<u64>::with_lanes(8, lanes).unwrap();
            assert_eq!(a.lanes(), lanes);
        }
        for lanes in [0, 3, 6, 17, 32, usize::MAX] {
            assert_eq!(
                Laned::<u64>::with_lanes(8, lanes).err(),
                Some(LenError::LaneCount { lanes })
            );
        }
        let a = Laned::<u64>::with_lanes(8, 4).unwrap();
        assert_eq!(
            a.lane(4).err(),
            Some(LaneError::NoSuchLane { lane: 4, lanes: 4 })
        );
        assert_eq!(
            a.lane(usize::MAX).err(),
            Some(LaneError::NoSuchLane {
                lane: usize::MAX,
                lanes: 4
            })
        );
        assert!(matches!(
            Laned::<u64>::with_lanes(usize::MAX, 1),
            Err(LenError::TooLarge { .. })
        ));
        assert!(LenError::LaneCount { lanes: 3 }
            .to_string()
            .contains("power of two"));
    }

    #[test]
    fn a_lane_publishes_its_own_slots_only() {
        let a = Laned::<String>::with_lanes(6, 2).unwrap();
        let even = a.lane(0).unwrap();
        even.publish(0, "zero".into()).unwrap();
        even.publish(4, "four".into()).unwrap();
        match even.publish(3, "three".into()) {
            Err(
                e @ PublishError::NotInLane {
                    index: 3,
                    lane: 0,
                    owner: 1,
                    ..
                },
            ) => {
                assert!(e.to_string().contains("lane 1"));
                assert_eq!(e.into_value(), "three");
            }
            other => panic!("expected NotInLane, got {other:?}"),
        }
        match even.publish(0, "again".into()) {
            Err(PublishError::AlreadyPublished { index: 0, value }) => assert_eq!(value, "again"),
            other => panic!("expected AlreadyPublished, got {other:?}"),
        }
        match even.publish(6, "past".into()) {
            Err(PublishError::OutOfBounds {
                index: 6,
                len: 6,
                value,
            }) => assert_eq!(value, "past"),
            other => panic!("expected OutOfBounds, got {other:?}"),
        }
        assert_eq!(a.get_ref(0).unwrap().map(String::as_str), Some("zero"));
        assert_eq!(a.get_ref(1).unwrap(), None);
        assert_eq!(a.wait_checked(4).unwrap(), "four");
    }

    #[test]
    fn one_holder_per_lane_until_it_lets_go() {
        let a = Laned::<u64>::with_lanes(4, 2).unwrap();
        let first = a.lane(1).unwrap();
        assert_eq!(a.lane(1).err(), Some(LaneError::Taken { lane: 1 }));
        let other = a.lane(0).unwrap(); // another lane is free
        first.publish(1, 11).unwrap();
        drop(first);
        let second = a.lane(1).unwrap();
        // The first holder's publish is seen by the second: not published twice.
        assert!(matches!(
            second.publish(1, 12),
            Err(PublishError::AlreadyPublished { index: 1, .. })
        ));
        second.publish(3, 13).unwrap();
        other.publish(2, 10).unwrap();
        assert_eq!(a.wait_checked(1), Ok(11));
        assert_eq!(a.wait_checked(3), Ok(13));
    }

    #[test]
    fn racing_takers_get_one_lane_each_time() {
        let a = Arc::new(Laned::<u64>::with_lanes(1, 1).unwrap());
        let wins = Arc::new(AtomicUsize::new(0));
        for _ in 0..50 {
            let barrier = Arc::new(Barrier::new(3));
            let holders = Arc::new(AtomicUsize::new(0));
            let takers: Vec<_> = (0..3)
                .map(|_| {
                    let (a, barrier, holders, wins) =
                        (a.clone(), barrier.clone(), holders.clone(), wins.clone());
                    thread::spawn(move || {
                        barrier.wait();
                        if let Ok(lane) = a.lane(0) {
                            assert_eq!(holders.fetch_add(1, Ordering::SeqCst), 0, "two holders");
                            wins.fetch_add(1, Ordering::SeqCst);
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(lane);
                        }
                    })
                })
                .collect();
            for t in takers {
                t.join().unwrap();
            }
        }
        assert!(
            wins.load(Ordering::SeqCst) >= 50,
            "each round someone takes the lane"
        );
    }

    #[test]
    fn two_lanes_ping_pong_between_threads() {
        const ROUNDS: usize = 2_000;
        let a = Arc::new(Laned::<u64>::with_lanes(2 * ROUNDS, 2).unwrap());
        let peer = {
            let a = a.clone();
            thread::spawn(move || {
                let odd = a.lane(1).unwrap();
                for i in 0..ROUNDS {
                    let v = a.wait_checked(2 * i).unwrap();
                    odd.publish(2 * i + 1, v + 1).unwrap();
                }
            })
        };
        let even = a.lane(0).unwrap();
        for i in 0..ROUNDS {
            even.publish(2 * i, 10 * i as u64).unwrap();
            assert_eq!(a.wait_checked(2 * i + 1), Ok(10 * i as u64 + 1));
        }
        peer.join().unwrap();
    }

    #[test]
    fn published_values_are_dropped_once() {
        let a = Laned::<Arc<()>>::with_lanes(4, 2).unwrap();
        let token = Arc::new(());
        {
            let lane = a.lane(0).unwrap();
            lane.publish(0, token.clone()).unwrap();
            lane.publish(2, token.clone()).unwrap();
            let refused = lane.publish(2, token.clone()).unwrap_err();
            drop(refused);
        }
        assert_eq!(Arc::strong_count(&token), 3);
        drop(a);
        assert_eq!(Arc::strong_count(&token), 1);
    }
}
