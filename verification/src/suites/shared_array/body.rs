//! The scenario bodies of the [`SharedArray`] suite, for models of designs outside the
//! suite's shape (the zoo's arrays run them too).

use super::*;

/// One publisher (main) and two readers of the same slot: both readers get the value.
/// The publisher first lets the readers fall asleep ([`yield_until_asleep`]), so that its
/// wake must reach two.
pub fn one_publisher_two_readers<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(1).unwrap());
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let a = Arc::clone(&a);
            thread::spawn(move || assert_eq!(a.wait(0), Ok(7)))
        })
        .collect();
    yield_until_asleep(2);
    reached_if_asleep(PUBLISH_FINDS_TWO_SLEEPERS, 2);
    a.publish(0, 7).unwrap();
    for r in readers {
        r.join().unwrap();
    }
}

/// Two publishers race for one slot while main waits on it: exactly one wins, the loser
/// gets its own value back, and the reader sees the winner's value.
pub fn two_publishers_race<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(1).unwrap());
    let publishers: Vec<_> = [1u64, 2]
        .into_iter()
        .map(|v| {
            let a = Arc::clone(&a);
            thread::spawn(move || match a.publish(0, v) {
                Ok(()) => Some(v),
                Err(e) => {
                    assert_eq!(e.into_value(), v, "the loser must get its own value back");
                    None
                }
            })
        })
        .collect();
    let seen = a.wait(0).unwrap();
    let winners: Vec<u64> = publishers
        .into_iter()
        .filter_map(|p| p.join().unwrap())
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one publisher must win: {winners:?}"
    );
    assert_eq!(seen, winners[0], "the reader must see the winner's value");
}

/// Publishing 0 happens before publishing 1, so once slot 1 is seen, slot 0 must be too.
pub fn opposite_orders<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(2).unwrap());
    let publisher = {
        let a = Arc::clone(&a);
        thread::spawn(move || {
            a.publish(0, 10).unwrap();
            a.publish(1, 11).unwrap();
        })
    };
    assert_eq!(a.wait(1), Ok(11));
    assert_eq!(
        a.try_get(0),
        Ok(Some(10)),
        "slot 0 was published before slot 1, so it must be visible"
    );
    assert_eq!(a.wait(0), Ok(10));
    publisher.join().unwrap();
}

/// A payload written before `publish`, outside the array: the reader must see it after
/// `wait` returns. A missing Release/Acquire pair is reported by loom as a race on the cell.
pub fn payload_before_publish<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(1).unwrap());
    let payload = Arc::new(SharedCell::new(0u64));
    let reader = {
        let (a, payload) = (Arc::clone(&a), Arc::clone(&payload));
        thread::spawn(move || {
            assert_eq!(a.wait(0), Ok(1));
            assert_eq!(
                payload.get(),
                42,
                "the payload written before publish must be visible"
            );
        })
    };
    payload.set(42);
    a.publish(0, 1).unwrap();
    reader.join().unwrap();
}

/// [`payload_before_publish`] with the publisher letting the reader fall asleep first
/// ([`yield_until_asleep`]): the publish's wake is then due. (Under loom a publisher that
/// runs straight to its publish always finds the reader still in its spin, which yields.)
pub fn publish_wakes_a_sleeping_reader<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(1).unwrap());
    let payload = Arc::new(SharedCell::new(0u64));
    let reader = {
        let (a, payload) = (Arc::clone(&a), Arc::clone(&payload));
        thread::spawn(move || {
            assert_eq!(a.wait(0), Ok(1));
            assert_eq!(
                payload.get(),
                42,
                "the payload written before publish must be visible"
            );
        })
    };
    payload.set(42);
    yield_until_asleep(1);
    reached_if_asleep(PUBLISH_FINDS_A_SLEEPER, 1);
    a.publish(0, 1).unwrap();
    reader.join().unwrap();
}

/// A reader that polls once with `try_get` (never sleeping): if it sees the value it must
/// see the payload.
pub fn payload_before_publish_try_get<A: SharedArray<u64> + 'static>() {
    let a = Arc::new(A::with_len(1).unwrap());
    let payload = Arc::new(SharedCell::new(0u64));
    let reader = {
        let (a, payload) = (Arc::clone(&a), Arc::clone(&payload));
        thread::spawn(move || {
            if let Ok(Some(v)) = a.try_get(0) {
                assert_eq!(v, 7);
                assert_eq!(
                    payload.get(),
                    42,
                    "the payload written before publish must be visible"
                );
            }
        })
    };
    payload.set(42);
    a.publish(0, 7).unwrap();
    reader.join().unwrap();
}

/// The reader waits with `timeout`, then without: a timed-out wait leaves the slot's word
/// consistent, so the second wait still gets the value and the payload. With `late`, the
/// publisher yields twice first.
pub fn wait_for_then_wait<A: SharedArray<u64> + 'static>(timeout: Duration, late: bool) {
    let array = Arc::new(A::with_len(1).unwrap());
    let payload = Arc::new(SharedCell::new(0u64));
    let reader = {
        let (array, payload) = (Arc::clone(&array), Arc::clone(&payload));
        thread::spawn(move || {
            if let Some(value) = array.wait_timeout(0, timeout).unwrap() {
                assert_eq!(
                    (value, payload.get()),
                    (7, 42),
                    "timed wait saw a torn publish"
                );
            }
            assert_eq!(
                array.wait(0).unwrap(),
                7,
                "the wait after a timeout lost the value"
            );
            assert_eq!(payload.get(), 42);
        })
    };
    payload.set(42);
    if late {
        thread::yield_now();
        thread::yield_now();
    }
    array.publish(0, 7).unwrap();
    reader.join().unwrap();
}

/// Three publishers and three readers over eight slots.
pub fn three_publishers_three_readers<A: SharedArray<u64> + 'static>() {
    const LEN: usize = 8;
    let a = Arc::new(A::with_len(LEN).unwrap());
    let publishers: Vec<_> = (0..3u64)
        .map(|p| {
            let a = Arc::clone(&a);
            thread::spawn(move || {
                let mut won = Vec::new();
                for k in 0..LEN {
                    let i = (k + 3 * p as usize) % LEN;
                    let v = 100 * p + i as u64;
                    match a.publish(i, v) {
                        Ok(()) => won.push(i),
                        Err(e) => assert_eq!(e.into_value(), v),
                    }
                }
                won
            })
        })
        .collect();
    let readers: Vec<_> = (0..3usize)
        .map(|r| {
            let a = Arc::clone(&a);
            thread::spawn(move || {
                let mut seen = [0u64; LEN];
                for k in 0..LEN {
                    let i = if r == 1 {
                        LEN - 1 - k
                    } else {
                        (k + 5 * r) % LEN
                    };
                    seen[i] = a.wait(i).unwrap();
                }
                seen
            })
        })
        .collect();
    let mut winner = [None; LEN];
    for (p, h) in publishers.into_iter().enumerate() {
        for i in h.join().unwrap() {
            assert!(winner[i].is_none(), "slot {i} was won twice");
            winner[i] = Some(100 * p as u64 + i as u64);
        }
    }
    for r in readers {
        let seen = r.join().unwrap();
        for i in 0..LEN {
            assert_eq!(
                Some(seen[i]),
                winner[i],
                "slot {i}: a reader saw a value nobody won with"
            );
        }
    }
}
