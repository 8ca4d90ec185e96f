//! The duplex ring on the heap: ends, backpressure, wrap-around, handover, drops, and a
//! threaded round trip and stream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use synclab::queue::{CapacityError, Duplex, EndError, SpinRecvError, MAX_CAPACITY};

#[test]
fn capacities_are_checked() {
    assert_eq!(
        Duplex::<u64>::with_capacity(0).err(),
        Some(CapacityError::Zero)
    );
    assert!(matches!(
        Duplex::<u64>::with_capacity(MAX_CAPACITY + 1),
        Err(CapacityError::TooLarge { .. })
    ));
    assert_eq!(Duplex::<u64>::with_capacity(3).unwrap().capacity(), 3);
}

#[test]
fn one_holder_per_end_and_only_two_ends() {
    let d = Duplex::<u64>::with_capacity(2).unwrap();
    let a = d.end(0).unwrap();
    assert_eq!(d.end(0).err(), Some(EndError::Taken { end: 0 }));
    assert_eq!(d.end(2).err(), Some(EndError::NoSuchEnd { end: 2 }));
    assert!(EndError::NoSuchEnd { end: 2 }
        .to_string()
        .contains("0 and 1"));
    let b = d.end(1).unwrap();
    assert!(!b.peer_died(), "the heap has no deaths");
    drop(a);
    assert!(d.end(0).is_ok(), "a dropped end is free again");
    drop(b);
}

#[test]
fn a_full_direction_hands_the_value_back_and_the_other_still_flows() {
    let d = Duplex::<String>::with_capacity(2).unwrap();
    let mut a = d.end(0).unwrap();
    let mut b = d.end(1).unwrap();
    a.try_send("one".into()).unwrap();
    a.try_send("two".into()).unwrap();
    assert_eq!(a.try_send("three".into()), Err("three".to_string()));
    // The other direction is independent.
    b.try_send("back".into()).unwrap();
    assert_eq!(a.try_recv().as_deref(), Some("back"));
    assert_eq!(b.try_recv().as_deref(), Some("one"));
    a.try_send("three".into()).unwrap();
    assert_eq!(b.try_recv().as_deref(), Some("two"));
    assert_eq!(b.try_recv().as_deref(), Some("three"));
    assert_eq!(b.try_recv(), None);
}

#[test]
fn positions_wrap_around_the_ring_many_times_in_order() {
    for cap in [1, 2, 3, 7] {
        let d = Duplex::<u64>::with_capacity(cap).unwrap();
        let mut a = d.end(0).unwrap();
        let mut b = d.end(1).unwrap();
        let mut next_in = 0;
        for v in 0..100u64 {
            if a.try_send(v).is_err() {
                // Full: drain one, then it fits.
                assert_eq!(b.try_recv(), Some(next_in));
                next_in += 1;
                a.try_send(v).unwrap();
            }
        }
        while let Some(v) = b.try_recv() {
            assert_eq!(v, next_in);
            next_in += 1;
        }
        assert_eq!(next_in, 100, "capacity {cap}");
    }
}

#[test]
fn a_new_holder_continues_where_the_last_one_stopped() {
    let d = Duplex::<u64>::with_capacity(4).unwrap();
    let mut b = d.end(1).unwrap();
    {
        let mut a = d.end(0).unwrap();
        a.try_send(1).unwrap();
        a.try_send(2).unwrap();
    }
    assert_eq!(b.try_recv(), Some(1));
    drop(b);
    let mut a = d.end(0).unwrap();
    a.try_send(3).unwrap();
    let mut b = d.end(1).unwrap();
    assert_eq!(
        b.try_recv(),
        Some(2),
        "the second holder of end 1 starts after 1"
    );
    assert_eq!(
        b.try_recv(),
        Some(3),
        "the second holder of end 0 starts after 2"
    );
    assert_eq!(b.try_recv(), None);
}

/// A value that counts its drops.
#[derive(Debug)]
struct Counted(Arc<AtomicUsize>);
impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn values_in_flight_are_dropped_once_with_the_ring() {
    let drops = Arc::new(AtomicUsize::new(0));
    let d = Duplex::<Counted>::with_capacity(3).unwrap();
    {
        let mut a = d.end(0).unwrap();
        let mut b = d.end(1).unwrap();
        for _ in 0..5 {
            while a.try_send(Counted(drops.clone())).is_ok() {}
            drop(b.try_recv()); // one received and dropped here
        }
        b.try_send(Counted(drops.clone())).unwrap();
    }
    // Direction 0: 3 + 4 sends went in and 5 were taken, so 2 are in flight; direction 1
    // holds 1. (The values handed back by full sends were dropped at once.)
    let before = drops.load(Ordering::SeqCst);
    drop(d);
    assert_eq!(drops.load(Ordering::SeqCst) - before, 3, "in flight: 2 + 1");
}

#[test]
fn recv_spinning_times_out_with_nothing_sent() {
    let d = Duplex::<u64>::with_capacity(1).unwrap();
    let mut b = d.end(1).unwrap();
    let start = Instant::now();
    assert_eq!(
        b.recv_spinning(Some(start + Duration::from_millis(20))),
        Err(SpinRecvError::TimedOut)
    );
    assert!(start.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_threaded_round_trip_and_stream_lose_nothing() {
    let d = Arc::new(Duplex::<u64>::with_capacity(8).unwrap());
    let server = {
        let d = Arc::clone(&d);
        thread::spawn(move || {
            let mut end = d.end(1).unwrap();
            for _ in 0..20_000 {
                let v = end.recv_spinning(None).unwrap();
                let mut answer = v * 2;
                while let Err(back) = end.try_send(answer) {
                    answer = back;
                    std::hint::spin_loop();
                }
            }
        })
    };
    let mut end = d.end(0).unwrap();
    // Round trips, then a stream with several requests in flight.
    for v in 0..10_000u64 {
        end.try_send(v).unwrap();
        assert_eq!(end.recv_spinning(None), Ok(2 * v));
    }
    let (mut sent, mut got) = (10_000u64, 10_000u64);
    while got < 20_000 {
        if sent < 20_000 && end.try_send(sent).is_ok() {
            sent += 1;
        }
        if let Some(v) = end.try_recv() {
            assert_eq!(v, 2 * got);
            got += 1;
        }
    }
    server.join().unwrap();
}
