//! `CondvarArray` (mutex + condition variable, generic over the lock family): the suite, once
//! per family.

use synclab::array::CondvarArray;
use synclab::lock::{FutexFamily, StdFamily};
use synclab_verification::shared_array_suite;
use synclab_verification::suites::bounds;

type CondvarStd<T> = CondvarArray<T, StdFamily>;
type CondvarFutex<T> = CondvarArray<T, FutexFamily>;

shared_array_suite!(
    std_family,
    CondvarStd,
    tune = |_, model| {
        // Sleeps on std's condvar, which the futex model cannot count; every model is small
        // enough to run exhaustively.
        Some(model.without_reach_expectations().exhaustive())
    }
);

shared_array_suite!(
    futex_family,
    CondvarFutex,
    tune = |scenario, model| {
        // The futex condvar's wait, its mutex's and the timeout all branch: exhaustive does not
        // finish in minutes for these.
        Some(bounds(
            scenario,
            model,
            &[
                ("one_publisher_two_readers", Some(3)),
                ("two_publishers_race", Some(2)),
                ("opposite_orders", Some(6)),
                ("timed_wait_then_wait", Some(4)),
                ("timed_wait_late_publish", Some(4)),
            ],
        ))
    }
);
