//! `CondvarPool` (one queue under a lock family's mutex, two condvars): the suite, once per
//! family.

use synclab::pool::{FutexCondvarPool, StdCondvarPool};
use synclab_verification::suites::bound_if_threads;
use synclab_verification::thread_pool_suite;

thread_pool_suite!(
    std_family,
    StdCondvarPool,
    tune = |_, model| {
        // Sleeps on std's condvar, which the futex model cannot count; its 3-thread models run at
        // bound 2.
        Some(bound_if_threads(
            model.without_reach_expectations(),
            3,
            Some(2),
        ))
    }
);

thread_pool_suite!(futex_family, FutexCondvarPool);
