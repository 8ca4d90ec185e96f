//! The [`SharedArray`] suite: the seed's write-once array, checked the same way for every
//! design. Instantiate it with [`shared_array_suite!`](crate::shared_array_suite).
//!
//! A value read back is checked against the value its winner published, and a payload written
//! before `publish` *outside* the array (a [`SharedCell`]) is read after `wait`: under loom a
//! missing Release/Acquire pair is a "Causality violation" on that cell.
//!
//! | scenario | threads | what it checks |
//! |---|---|---|
//! | `smoke` | 1 | `len`, `try_get` before and after `publish`, `wait` on a published slot |
//! | `empty_array` | 1 | a zero-length array refuses every index with a typed error |
//! | `out_of_bounds` | 1 | `publish`, `try_get`, `wait` past the end: typed errors, the value handed back, no hang |
//! | `already_published_hands_value_back` | 1 | a second `publish` is refused, its value handed back, nothing overwritten |
//! | `drops_each_value_once` | 1 | published values drop with the array, refused ones with their error, reads are clones |
//! | `one_publisher_two_readers` | 3 | both readers get the value; the publisher lets them fall asleep first, and expects them asleep |
//! | `two_publishers_race` | 3 | exactly one wins, the loser gets its value back, the reader sees the winner's |
//! | `opposite_orders` | 2 | slot 0 published before slot 1 is visible once slot 1 is |
//! | `payload_before_publish` | 2 | the payload is visible after `wait` |
//! | `publish_wakes_a_sleeping_reader` | 2 | the same with the reader asleep at the publish (expected) |
//! | `payload_before_publish_try_get` | 2 | the same through one `try_get` (the non-blocking read path) |
//! | `timed_wait_then_wait` | 2 | a `wait_timeout` that may time out leaves the slot consistent for a `wait` |
//! | `timed_wait_late_publish` | 2 | the same with a publisher that yields first (the reader's paths past its spin race it) |
//! | `zero_timeout_late_publish` | 2 | a zero timeout's last look still synchronizes with the publish |
//! | `three_publishers_three_readers` | 7 | shuttle and stress: every slot won once, every reader sees the winner |

use std::sync::atomic::AtomicUsize as StdAtomicUsize;
use std::sync::atomic::Ordering as StdOrdering;
use std::time::Duration;

use synclab::array::{IndexError, LenError, PublishError, SharedArray};
use synclab::sync::{thread, Arc};

use super::{fits_loom, run, type_label, Tune};
use crate::{reached_if_asleep, yield_until_asleep, Model, SharedCell};

/// Declares a module of tests that runs the [`SharedArray`] suite on one design.
///
/// ```ignore
/// shared_array_suite!(my_array, MyArray);                  // MyArray<T>: SharedArray<T>
/// shared_array_suite!(my_array, MyArray, tune = my_tune);  // see suites::Tune
/// ```
///
/// `$array` is a type constructor of one parameter (a path, or an alias `type A<T> = …`): the
/// suite instantiates it with `u64`, `String` and a drop-counting type.
#[macro_export]
macro_rules! shared_array_suite {
    ($module:ident, $array:ident $(,)?) => {
        $crate::shared_array_suite!($module, $array, tune = $crate::suites::as_written);
    };
    ($module:ident, $array:ident, tune = $tune:expr $(,)?) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            use $crate::suites::shared_array as suite;
            const TUNE: $crate::suites::Tune = $tune;
            const LABEL: &str = stringify!($array);

            #[test]
            fn smoke() {
                suite::smoke::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn empty_array() {
                suite::empty_array::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn out_of_bounds() {
                suite::out_of_bounds::<$array<String>>(LABEL, TUNE);
            }

            #[test]
            fn already_published_hands_value_back() {
                suite::already_published_hands_value_back::<$array<String>>(LABEL, TUNE);
            }

            #[test]
            fn drops_each_value_once() {
                suite::drops_each_value_once::<$array<suite::Counted>>(LABEL, TUNE);
            }

            #[test]
            fn one_publisher_two_readers() {
                suite::one_publisher_two_readers::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn two_publishers_race() {
                suite::two_publishers_race::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn opposite_orders() {
                suite::opposite_orders::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn payload_before_publish() {
                suite::payload_before_publish::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn publish_wakes_a_sleeping_reader() {
                suite::publish_wakes_a_sleeping_reader::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn payload_before_publish_try_get() {
                suite::payload_before_publish_try_get::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn timed_wait_then_wait() {
                suite::timed_wait_then_wait::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn timed_wait_late_publish() {
                suite::timed_wait_late_publish::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn zero_timeout_late_publish() {
                suite::zero_timeout_late_publish::<$array<u64>>(LABEL, TUNE);
            }

            #[test]
            fn three_publishers_three_readers() {
                suite::three_publishers_three_readers::<$array<u64>>(LABEL, TUNE);
            }
        }
    };
}

/// Stress iterations of the plain build: the models are small, and `cargo test` must stay fast.
const STRESS: usize = 50;

fn model(label: &str, what: &str, threads: usize, ops: &str) -> Model {
    Model::new(format!("{}: {what}", type_label(label)))
        .threads(threads)
        .ops(ops)
        .shuttle_iterations(if threads > 1 { 10_000 } else { 1 })
        .stress_iterations(STRESS)
        .exhaustive()
}

/// `len`, `try_get` before and after `publish`, `wait` on a published slot.
pub fn smoke<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(label, "smoke", 1, "publish(1); try_get, wait");
    run("smoke", m, tune, || {
        let a = A::with_len(3).unwrap();
        assert_eq!((a.len(), a.is_empty()), (3, false));
        assert_eq!(a.try_get(1), Ok(None));
        a.publish(1, 10).unwrap();
        assert_eq!(a.try_get(1), Ok(Some(10)));
        assert_eq!(a.wait(1), Ok(10), "a published slot's wait returns at once");
        assert_eq!(a.wait_timeout(1, Duration::ZERO), Ok(Some(10)));
        assert_eq!((a.try_get(0), a.try_get(2)), (Ok(None), Ok(None)));
    });
}

/// A zero-length array: every index is out of bounds, with a typed error; and a length no
/// address space holds is a typed error too, never an abort.
pub fn empty_array<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "a zero-length array",
        1,
        "with_len(usize::MAX), with_len(max); publish, try_get, wait on index 0",
    );
    run("empty_array", m, tune, || {
        let max = match A::with_len(usize::MAX) {
            Err(LenError::TooLarge {
                requested: usize::MAX,
                max,
            }) if max < usize::MAX => max,
            other => panic!("expected TooLarge, got {:?}", other.map(|_| ())),
        };
        // The largest length is accepted: slots of it cannot be allocated (about `isize::MAX`
        // bytes), which is `AllocationFailed`, not `TooLarge`.
        match A::with_len(max) {
            Err(LenError::AllocationFailed { requested, .. }) => assert_eq!(requested, max),
            other => panic!("expected AllocationFailed, got {:?}", other.map(|_| ())),
        }
        let a = A::with_len(0).unwrap();
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
    });
}

/// Out of bounds: typed errors that say what was wrong, the value handed back, no hang.
pub fn out_of_bounds<A: SharedArray<String> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "out of bounds",
        1,
        "publish(5), try_get(2), wait(MAX) on 2 slots",
    );
    run("out_of_bounds", m, tune, || {
        let a = A::with_len(2).unwrap();
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
        let err = a.wait(usize::MAX).unwrap_err();
        assert_eq!(err, IndexError::new(usize::MAX, 2));
        assert!(err.to_string().contains("out of bounds"));
        assert_eq!(
            a.wait_timeout(2, Duration::from_secs(1)),
            Err(IndexError::new(2, 2))
        );
    });
}

/// A second `publish` of a slot is refused with its value handed back; nothing is overwritten.
pub fn already_published_hands_value_back<A: SharedArray<String> + 'static>(
    label: &str,
    tune: Tune,
) {
    let m = model(
        label,
        "a second publish is refused",
        1,
        "publish(0) twice; wait(0)",
    );
    run("already_published_hands_value_back", m, tune, || {
        let a = A::with_len(1).unwrap();
        a.publish(0, "first".to_string()).unwrap();
        let err = a.publish(0, "second".to_string()).unwrap_err();
        assert!(matches!(
            err,
            PublishError::AlreadyPublished { index: 0, .. }
        ));
        assert_eq!(
            err.to_string(),
            "slot 0 is already published; the new value was not written"
        );
        assert_eq!(err.into_value(), "second");
        assert_eq!(a.wait(0).unwrap(), "first", "nothing overwritten");
    });
}

/// Counts drops (in a std atomic the model does not track: the count is the test's, not the
/// design's), to check that each value is dropped exactly once.
#[derive(Debug)]
pub struct Counted(std::sync::Arc<StdAtomicUsize>);

impl Clone for Counted {
    fn clone(&self) -> Self {
        Counted(std::sync::Arc::clone(&self.0))
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, StdOrdering::Relaxed);
    }
}

/// Published values drop with the array, a refused one with its error, reads are clones.
pub fn drops_each_value_once<A: SharedArray<Counted> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "each value dropped once",
        1,
        "publish 2 (+1 refused), read 2, drop",
    );
    run("drops_each_value_once", m, tune, || {
        let drops = std::sync::Arc::new(StdAtomicUsize::new(0));
        let count = || drops.load(StdOrdering::Relaxed);
        let new = || Counted(std::sync::Arc::clone(&drops));
        {
            let a = A::with_len(5).unwrap();
            a.publish(0, new()).unwrap();
            a.publish(3, new()).unwrap();
            drop(a.publish(3, new()).unwrap_err().into_value());
            assert_eq!(
                count(),
                1,
                "the refused value is handed back and dropped once"
            );
            drop(a.wait(0).unwrap());
            drop(a.try_get(3).unwrap());
            assert_eq!(count(), 3, "reads are clones");
        }
        assert_eq!(count(), 5, "the two published values drop with the array");
    });
}

/// The path [`one_publisher_two_readers`] expects: the publish finds both readers asleep, so
/// its wake must reach two.
pub const PUBLISH_FINDS_TWO_SLEEPERS: &str = "publish while two readers sleep";

/// The path [`publish_wakes_a_sleeping_reader`] expects: the publish finds the reader asleep.
pub const PUBLISH_FINDS_A_SLEEPER: &str = "publish while the reader sleeps";

/// One publisher (main) and two readers of the same slot: both readers get the value.
pub fn one_publisher_two_readers<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "1 publisher + 2 readers, one slot",
        3,
        "main: yield until both readers sleep, publish(0); 2 readers: wait(0)",
    )
    .preemption_bound(3)
    .expect_reached(PUBLISH_FINDS_TWO_SLEEPERS);
    run(
        "one_publisher_two_readers",
        m,
        tune,
        body::one_publisher_two_readers::<A>,
    );
}

/// Two publishers race for one slot while main waits on it.
pub fn two_publishers_race<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "2 publishers race for one slot",
        3,
        "2 publishers: publish(0, own value); main: wait(0)",
    )
    .preemption_bound(3);
    run(
        "two_publishers_race",
        m,
        tune,
        body::two_publishers_race::<A>,
    );
}

/// The publisher fills slot 0 then slot 1; the reader waits for 1, then reads 0.
pub fn opposite_orders<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "publisher 0,1 / reader 1,0",
        2,
        "publisher: publish(0), publish(1); main: wait(1), try_get(0), wait(0)",
    );
    run("opposite_orders", m, tune, body::opposite_orders::<A>);
}

/// A payload written before `publish`, read after `wait`.
pub fn payload_before_publish<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "payload written before publish",
        2,
        "main: payload=42, publish(0); reader: wait(0), read payload",
    );
    run(
        "payload_before_publish",
        m,
        tune,
        body::payload_before_publish::<A>,
    );
}

/// The same with the reader asleep when the publish comes: its wake must reach the reader, and
/// the payload must be visible after it.
pub fn publish_wakes_a_sleeping_reader<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "payload written before publish; the reader asleep",
        2,
        "main: payload=42, yield until the reader sleeps, publish(0); reader: wait(0), read payload",
    )
    .expect_reached(PUBLISH_FINDS_A_SLEEPER);
    run(
        "publish_wakes_a_sleeping_reader",
        m,
        tune,
        body::publish_wakes_a_sleeping_reader::<A>,
    );
}

/// A payload written before `publish`, read after one `try_get` that saw the value.
pub fn payload_before_publish_try_get<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "payload written before publish, read after try_get",
        2,
        "main: payload=42, publish(0); reader: one try_get(0), read payload if published",
    );
    run(
        "payload_before_publish_try_get",
        m,
        tune,
        body::payload_before_publish_try_get::<A>,
    );
}

/// `wait_timeout` (which may time out at any moment under the checkers), then `wait`.
pub fn timed_wait_then_wait<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "wait_timeout, then wait",
        2,
        "main: payload=42, publish(0); reader: wait_timeout(0) (may time out), wait(0)",
    )
    .shuttle_iterations(2_000);
    run("timed_wait_then_wait", m, tune, || {
        body::wait_for_then_wait::<A>(Duration::from_secs(1), false)
    });
}

/// The same with a publisher that yields first. Under loom a yielding thread is not run again
/// while another can run, and a reader's bounded spin yields, so without the yields the
/// publisher always finishes before the reader looks again: the reader's paths past its spin
/// (announce, sleep, a timeout, the last look after it) would never race the publish.
pub fn timed_wait_late_publish<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "wait_timeout, then wait; the publisher yields first",
        2,
        "main: payload=42, yield twice, publish(0); reader: wait_timeout(0) (may time out), wait(0)",
    )
    .shuttle_iterations(2_000);
    run("timed_wait_late_publish", m, tune, || {
        body::wait_for_then_wait::<A>(Duration::from_secs(1), true)
    });
}

/// A zero timeout and a late publisher: under the checkers' frozen clock a zero deadline has
/// passed at once, so the wait takes its "deadline passed, one last look" path, which must still
/// synchronize with the publish it may see there.
pub fn zero_timeout_late_publish<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "wait_timeout(0 s), then wait; the publisher yields first",
        2,
        "main: payload=42, yield twice, publish(0); reader: wait_timeout(0, 0 s), wait(0)",
    )
    .shuttle_iterations(2_000);
    run("zero_timeout_late_publish", m, tune, || {
        body::wait_for_then_wait::<A>(Duration::ZERO, true)
    });
}

/// Shuttle and stress: three publishers (each tries every slot in its own order) and three
/// readers (each waits for every slot in its own order) over eight slots.
pub fn three_publishers_three_readers<A: SharedArray<u64> + 'static>(label: &str, tune: Tune) {
    let m = model(
        label,
        "3 publishers + 3 readers, 8 slots",
        7,
        "3 publishers: publish every slot (own order); 3 readers: wait every slot (own order)",
    );
    if fits_loom(&m.name, 7) {
        run(
            "three_publishers_three_readers",
            m,
            tune,
            body::three_publishers_three_readers::<A>,
        );
    }
}

/// The scenario bodies, for models of designs outside the suite's shape (the zoo's arrays run
/// them too).
pub mod body;
