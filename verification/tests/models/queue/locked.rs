//! `LockedQueue` (a `VecDeque` under a lock family's mutex): the suite, once per family.

use synclab::lock::{FutexFamily, StdFamily};
use synclab::queue::LockedQueue;
use synclab_verification::mpmc_queue_suite;
use synclab_verification::suites::bounds;

type LockedStd<T> = LockedQueue<T, StdFamily>;
type LockedFutex<T> = LockedQueue<T, FutexFamily>;

mpmc_queue_suite!(
    std_family,
    LockedStd,
    tune = |scenario, model| {
        Some(bounds(
            scenario,
            model,
            &[
                ("blocking_two_poppers", Some(2)),
                ("blocking_close_racing_push", Some(2)),
            ],
        ))
    }
);

mpmc_queue_suite!(
    futex_family,
    LockedFutex,
    tune = |scenario, model| {
        Some(bounds(
            scenario,
            model,
            &[
                ("blocking_push_pop_across_full_and_empty", Some(3)),
                ("blocking_close_racing_push", Some(1)),
                // Exhaustive: over loom's 1 000 branches in one execution (main's pop loop
                // yields while the producer sleeps on the mutex); bound 2 keeps every order of
                // the two pushes and the pop.
                ("drops_what_is_left", Some(2)),
                // Exhaustive: 7.6 M executions, 2 057 s on a loaded machine (two thirds of the loom
                // stage); the sleeping sender and the drop of the receiver race at bound 3 too.
                ("channel_last_receiver_dropped_while_sender_sleeps", Some(3)),
            ],
        ))
    }
);
