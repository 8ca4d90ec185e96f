//! `Duplex` (two SPSC rings whose slots share cache lines): round trips in one line, a stream
//! that waits for room, an end handed over; then the zoo's two broken rings.

use synclab::sync::{thread, Arc};
use synclab_verification::{zoo_test, Expect, Failure, Model, SharedCell};
use synclab_zoo::queue as zoo;

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
/// is written (the receipt's Release/Acquire).
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
fn round_trips_in_one_line() {
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
fn stream_waits_for_room() {
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
fn handover_continues_the_positions() {
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
