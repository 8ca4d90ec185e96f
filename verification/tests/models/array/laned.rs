//! `LanedArray` (claim-free publishes, one holder per lane; not a `SharedArray`: a slot is
//! published through its lane): its models, and the zoo's claimless publish.

use synclab::array::{LaneError, LanedArray};
use synclab::shm::Heap;
use synclab::sync::{thread, Arc};
use synclab_verification::{
    reached_if_asleep, yield_until_asleep, zoo_test, Expect, Failure, Model, SharedCell,
};
use synclab_zoo::array::ClaimlessPublishArray;

type Laned = LanedArray<u64, Heap>;

/// The path the publish models expect: a claim-free publish finds its readers asleep.
const PUBLISH_FINDS_READERS_ASLEEP: &str = "a lane's publish while its readers sleep";

/// The holder of lane 0 writes a payload, then publishes slot 0 without a claim; a reader
/// waits (and may sleep): it gets the value and sees the payload. No lost wakeup, no race.
fn lane_payload_before_publish(readers: usize) {
    let a = Arc::new(Laned::with_lanes(1, 1).unwrap());
    let payload = Arc::new(SharedCell::new(0u64));
    let waiting: Vec<_> = (0..readers)
        .map(|_| {
            let (a, payload) = (Arc::clone(&a), Arc::clone(&payload));
            thread::spawn(move || {
                assert_eq!(a.wait_checked(0), Ok(7));
                assert_eq!(payload.get(), 42, "the payload written before publish");
            })
        })
        .collect();
    let lane = a.lane(0).unwrap();
    payload.set(42);
    // Let the readers' spin and yields run out, so that they sleep (the path a claim-free
    // publish must wake): two yields were not enough, the path counter showed.
    yield_until_asleep(readers);
    reached_if_asleep(PUBLISH_FINDS_READERS_ASLEEP, readers);
    lane.publish(0, 7).unwrap();
    for r in waiting {
        r.join().unwrap();
    }
}

#[test]
fn publish_wakes_a_sleeping_reader() {
    Model::new("LanedArray: holder publishes a payload, a reader waits")
        .threads(2)
        .ops("holder: lane(0); payload; publish(0); reader: wait_checked(0); read payload")
        .exhaustive()
        .expect_reached(PUBLISH_FINDS_READERS_ASLEEP)
        .check(|| lane_payload_before_publish(1));
}

#[test]
fn publish_wakes_two_sleeping_readers() {
    Model::new("LanedArray: holder publishes, two readers wait")
        .threads(3)
        .ops("holder: lane(0); payload; publish(0); 2 readers: wait_checked(0); read payload")
        .preemption_bound(2)
        .expect_reached(PUBLISH_FINDS_READERS_ASLEEP)
        .check(|| lane_payload_before_publish(2));
}

/// Two threads each take lane 0 (retrying while the other holds it) and publish slot 0:
/// exactly one publish wins and the other is told `AlreadyPublished` — the later holder sees
/// the earlier one's publish through the handover (Release on letting go, Acquire on taking),
/// and never writes the value a reader may be reading.
fn lane_handover() {
    let a = Arc::new(Laned::with_lanes(1, 1).unwrap());
    let publish = |a: Arc<Laned>, v: u64| {
        move || loop {
            match a.lane(0) {
                Ok(lane) => break lane.publish(0, v).is_ok(),
                Err(LaneError::Taken { .. }) => thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
    };
    let other = thread::spawn(publish(Arc::clone(&a), 2));
    let mine = publish(Arc::clone(&a), 1)();
    let theirs = other.join().unwrap();
    assert!(mine != theirs, "exactly one holder publishes slot 0");
    assert_eq!(a.wait_checked(0), Ok(if mine { 1 } else { 2 }));
}

#[test]
fn handover_orders_the_holders() {
    Model::new("LanedArray: two threads take lane 0 in turn and publish slot 0")
        .threads(2)
        .ops("each: lane(0) (retry while taken); publish(0); drop the lane")
        .exhaustive()
        .check(lane_handover);
}

/// A round trip over two lanes sharing lines: main holds lane 0 and publishes slots 0 and 2,
/// the peer holds lane 1 and answers in slots 1 and 3. Main first asks for lane 2, which
/// does not exist.
fn lanes_round_trip() {
    let a = Arc::new(Laned::with_lanes(4, 2).unwrap());
    let peer = {
        let a = Arc::clone(&a);
        thread::spawn(move || {
            let odd = a.lane(1).unwrap();
            for i in 0..2 {
                let v = a.wait_checked(2 * i).unwrap();
                odd.publish(2 * i + 1, v + 1).unwrap();
            }
        })
    };
    // Lane 2 of 2 does not exist: the owner words are a fixed array, so only the count
    // refuses it.
    assert_eq!(
        a.lane(2).err(),
        Some(LaneError::NoSuchLane { lane: 2, lanes: 2 })
    );
    let even = a.lane(0).unwrap();
    for i in 0..2 {
        // As above: let the peer's spin and yields run out, so it sleeps on the shared line.
        yield_until_asleep(1);
        even.publish(2 * i, 10 * i as u64).unwrap();
        assert_eq!(a.wait_checked(2 * i + 1), Ok(10 * i as u64 + 1));
    }
    peer.join().unwrap();
}

#[test]
fn round_trip_two_rounds() {
    Model::new("LanedArray: two lanes, two round trips")
        .threads(2)
        .ops("main: lane(2) refused; lane(0); 2 × (publish 2i; wait 2i+1); peer: lane(1); 2 × (wait 2i; publish 2i+1)")
        .preemption_bound(3)
        .check(lanes_round_trip);
}

/// `ClaimlessPublishArray` under a checker only (its constructor is `unsafe`; see the zoo).
fn claimless_under_checker() -> ClaimlessPublishArray<u64> {
    assert!(
        synclab::sync::WORLD != synclab::sync::World::Plain,
        "ClaimlessPublishArray races on real threads: build it under a checker only"
    );
    // SAFETY: the assertion above: this runs under loom or shuttle, and the model shares the
    // array only through `synclab::sync::thread`, as `ClaimlessPublishArray::new` requires.
    unsafe { ClaimlessPublishArray::new(1) }
}

zoo_test! {
    /// `publish` without the claim and without a lane: two publishers both find slot 0 empty
    /// and both write its value. loom reports the two unordered writes of the value's cell;
    /// shuttle, which does not track cells, sees both publishers told that they won.
    fn claimless_publishers_both_win() expect Expect::per_checker(
        Failure::DataRace,
        Failure::Assertion("both publishers won slot 0"),
    ) => {
        Model::new("zoo: array publish without a claim, two publishers")
            .threads(2)
            .ops("2 publishers: publish(0) without a claim; main: try_get(0)")
            .exhaustive()
            .check(|| {
                let a = Arc::new(claimless_under_checker());
                let other = {
                    let a = Arc::clone(&a);
                    thread::spawn(move || a.publish(0, 2).is_ok())
                };
                let mine = a.publish(0, 1).is_ok();
                let theirs = other.join().unwrap();
                assert!(!(mine && theirs), "both publishers won slot 0");
                assert!(a.try_get(0).unwrap().is_some());
            });
    }
}
