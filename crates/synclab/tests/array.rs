//! Conformance suite for every [`SharedArray`]: one generic body per property, instantiated
//! for each implementation by `conformance!` — adding a design is one line.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use synclab::array::{
    CondvarArray, IndexError, LockFreeArray, PollingArray, PublishError, SharedArray,
};
use synclab::lock::{FutexFamily, StdFamily};

/// The polling design under test sleeps its default penalty (1 ms) per look.
type Polling<T> = PollingArray<T, StdFamily>;

fn new<A: SharedArray<T>, T: Clone + Send + Sync>(len: usize) -> A {
    A::with_len(len)
}

fn smoke<A: SharedArray<u64>>() {
    let a: A = new(3);
    assert_eq!(a.len(), 3);
    assert!(!a.is_empty());
    assert_eq!(a.try_get(1), Ok(None));
    a.publish(1, 10).unwrap();
    assert_eq!(a.try_get(1), Ok(Some(10)));
    assert_eq!(a.wait(1), Ok(10)); // published: returns at once
    assert_eq!(a.try_get(0), Ok(None));
    assert_eq!(a.try_get(2), Ok(None));
}

fn empty_array<A: SharedArray<u64>>() {
    let a: A = new(0);
    assert!(a.is_empty());
    assert_eq!(a.try_get(0), Err(IndexError::new(0, 0)));
    assert_eq!(a.wait(0), Err(IndexError::new(0, 0)));
    assert!(matches!(
        a.publish(0, 1),
        Err(PublishError::OutOfBounds {
            index: 0,
            len: 0,
            value: 1
        })
    ));
}

fn out_of_bounds<A: SharedArray<String>>() {
    let a: A = new(2);
    let err = a.publish(5, "five".to_string()).unwrap_err();
    assert!(matches!(
        err,
        PublishError::OutOfBounds {
            index: 5,
            len: 2,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "cannot publish to index 5: out of bounds for a shared array of length 2"
    );
    assert_eq!(err.into_value(), "five");
    assert_eq!(a.try_get(2), Err(IndexError::new(2, 2)));
    // An out-of-bounds wait is an error, never a hang.
    let err = a.wait(usize::MAX).unwrap_err();
    assert_eq!(err, IndexError::new(usize::MAX, 2));
    assert!(err.to_string().contains("out of bounds"));
}

fn already_published_hands_value_back<A: SharedArray<String>>() {
    let a: A = new(1);
    a.publish(0, "first".to_string()).unwrap();
    let err = a.publish(0, "second".to_string()).unwrap_err();
    assert_eq!(err.index(), 0);
    assert!(matches!(
        err,
        PublishError::AlreadyPublished { index: 0, .. }
    ));
    assert_eq!(
        err.to_string(),
        "slot 0 is already published; the new value was not written"
    );
    assert_eq!(err.into_value(), "second");
    assert_eq!(a.wait(0).unwrap(), "first"); // nothing overwritten
}

fn wait_blocks_until_published<A: SharedArray<u64> + 'static>() {
    let a: Arc<A> = Arc::new(new(4));
    let readers: Vec<_> = (0..4)
        .map(|i| {
            let a = Arc::clone(&a);
            thread::spawn(move || a.wait(i).unwrap())
        })
        .collect();
    thread::sleep(Duration::from_millis(5)); // let some readers go to sleep first
    for i in (0..4).rev() {
        a.publish(i, 100 + i as u64).unwrap();
    }
    let got: Vec<u64> = readers.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(got, vec![100, 101, 102, 103]);
}

fn many_readers_one_slot<A: SharedArray<Arc<String>> + 'static>() {
    let a: Arc<A> = Arc::new(new(1));
    let start = Arc::new(Barrier::new(9));
    let readers: Vec<_> = (0..8)
        .map(|_| {
            let (a, start) = (Arc::clone(&a), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                a.wait(0).unwrap()
            })
        })
        .collect();
    start.wait();
    a.publish(0, Arc::new("shared".to_string())).unwrap();
    for r in readers {
        assert_eq!(*r.join().unwrap(), "shared");
    }
}

/// Every publisher tries every slot; exactly one wins each slot, every loser gets its own
/// value back, and every reader sees the winner's value.
fn racing_publishers_and_readers<A: SharedArray<(usize, usize)> + 'static>() {
    const LEN: usize = 64;
    const PUBLISHERS: usize = 3;
    const READERS: usize = 3;
    let a: Arc<A> = Arc::new(new(LEN));
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|p| {
            let a = Arc::clone(&a);
            thread::spawn(move || {
                let mut won = Vec::new();
                for k in 0..LEN {
                    let i = (k * (p + 1)) % LEN; // a different order per publisher
                    match a.publish(i, (p, i)) {
                        Ok(()) => won.push(i),
                        Err(e) => assert_eq!(e.into_value(), (p, i)),
                    }
                }
                (p, won)
            })
        })
        .collect();
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let a = Arc::clone(&a);
            thread::spawn(move || {
                (0..LEN)
                    .map(|k| {
                        let i = if r % 2 == 0 { k } else { LEN - 1 - k };
                        (i, a.wait(i).unwrap())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut winner = [usize::MAX; LEN];
    for p in publishers {
        let (p, won) = p.join().unwrap();
        for i in won {
            assert_eq!(winner[i], usize::MAX, "slot {i} won twice");
            winner[i] = p;
        }
    }
    assert!(
        winner.iter().all(|&w| w != usize::MAX),
        "a slot was never won"
    );
    for r in readers {
        for (i, (p, j)) in r.join().unwrap() {
            assert_eq!(
                (p, j),
                (winner[i], i),
                "reader saw a value the winner did not write"
            );
        }
    }
}

/// Counts drops, to check that each published value is dropped exactly once.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted(Arc::clone(&self.0))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

fn drops_each_value_once<A: SharedArray<Counted>>() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let a: A = new(5);
        a.publish(0, Counted(Arc::clone(&drops))).unwrap();
        a.publish(3, Counted(Arc::clone(&drops))).unwrap();
        // The refused value is handed back; dropping it counts once.
        drop(
            a.publish(3, Counted(Arc::clone(&drops)))
                .unwrap_err()
                .into_value(),
        );
        assert_eq!(drops.load(Ordering::Relaxed), 1);
        // Reads are clones: dropping them counts, the originals stay.
        drop(a.wait(0).unwrap());
        drop(a.try_get(3).unwrap());
        assert_eq!(drops.load(Ordering::Relaxed), 3);
    }
    // Two published values, dropped with the array; unpublished slots drop nothing.
    assert_eq!(drops.load(Ordering::Relaxed), 5);
}

macro_rules! conformance {
    ($($module:ident => $ty:ident),* $(,)?) => {$(
        mod $module {
            use super::*;
            #[test] fn smoke() { super::smoke::<$ty<u64>>() }
            #[test] fn empty_array() { super::empty_array::<$ty<u64>>() }
            #[test] fn out_of_bounds() { super::out_of_bounds::<$ty<String>>() }
            #[test] fn already_published_hands_value_back() {
                super::already_published_hands_value_back::<$ty<String>>()
            }
            #[test] fn wait_blocks_until_published() {
                super::wait_blocks_until_published::<$ty<u64>>()
            }
            #[test] fn many_readers_one_slot() {
                super::many_readers_one_slot::<$ty<Arc<String>>>()
            }
            #[test] fn racing_publishers_and_readers() {
                super::racing_publishers_and_readers::<$ty<(usize, usize)>>()
            }
            #[test] fn drops_each_value_once() { super::drops_each_value_once::<$ty<Counted>>() }
        }
    )*};
}

type CondvarStd<T> = CondvarArray<T, StdFamily>;
type CondvarFutex<T> = CondvarArray<T, FutexFamily>;
type PollingFutex<T> = PollingArray<T, FutexFamily>;

conformance! {
    polling => Polling,
    polling_futex => PollingFutex,
    condvar_std => CondvarStd,
    condvar_futex => CondvarFutex,
    lock_free => LockFreeArray,
}

#[test]
fn polling_penalty_is_configurable_and_observed() {
    let a: Arc<PollingArray<u32>> =
        Arc::new(PollingArray::with_penalty(1, Duration::from_micros(200)));
    assert_eq!(a.penalty(), Duration::from_micros(200));
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
    let a = LockFreeArray::with_len(2);
    a.publish(0, String::from("kept")).unwrap();
    let r = a.get_ref(0).unwrap().unwrap();
    a.publish(1, String::from("other")).unwrap(); // publishing elsewhere does not move it
    assert_eq!(r, "kept");
    assert_eq!(a.wait_ref(1).unwrap(), "other");
    assert_eq!(a.get_ref(7), Err(IndexError::new(7, 2)));
}

#[test]
fn debug_shows_shape_only() {
    let a: LockFreeArray<u8> = LockFreeArray::with_len(3);
    assert_eq!(format!("{a:?}"), "LockFreeArray { len: 3, .. }");
    let c: CondvarStd<u8> = CondvarArray::with_len(2);
    assert_eq!(
        format!("{c:?}"),
        "CondvarArray { family: \"std\", len: 2, .. }"
    );
    let p: Polling<u8> = PollingArray::with_len(1);
    assert!(format!("{p:?}").starts_with("PollingArray { family: \"std\", len: 1"));
}

/// Laned arrays: who may publish which slot, and what the handles and errors say.
mod lanes {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    use std::thread;

    use synclab::array::{LaneError, LanedArray, PublishError};
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
                Some(LaneError::LaneCount { lanes })
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
        assert!(LaneError::LaneCount { lanes: 3 }
            .to_string()
            .contains("power of two"));
    }

    #[test]
    fn a_lane_publishes_its_own_slots_only() {
        let a = Laned::<String>::with_lanes(6, 2).unwrap();
        let even = a.lane(0).unwrap();
        assert_eq!(even.lane(), 0);
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
