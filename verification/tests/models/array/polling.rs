//! `PollingArray` (the seed's mutex + sleep-poll with a penalty): the suite.

use synclab::array::PollingArray;
use synclab::lock::StdFamily;
use synclab_verification::shared_array_suite;
use synclab_verification::suites::{bounds, under_loom, under_shuttle};

/// The polling design under test sleeps its default penalty (1 ms) per look.
type Polling<T> = PollingArray<T, StdFamily>;

shared_array_suite!(
    suite,
    Polling,
    tune = |scenario, model| {
        // The polling loop is a busy-wait to a checker (its sleep is a yield): it never sleeps on
        // the futex, and under shuttle the PCT scheduler starves the publisher past its step limit.
        // Under loom two polling readers exceed the branch limit unless preemptions are bounded
        // tightly.
        if under_shuttle() && model.declared_threads() > 1 {
            eprintln!("[shuttle] {scenario}: polling is a busy-wait to shuttle (step limit)");
            return None;
        }
        // These publishers yield until their readers sleep, and a polling reader never does: two
        // (or one) yielding readers against 16 yields exceed loom's branch limit.
        if under_loom()
            && matches!(
                scenario,
                "one_publisher_two_readers" | "publish_wakes_a_sleeping_reader"
            )
        {
            eprintln!("[loom] {scenario}: polling readers never sleep (see the tuning)");
            return None;
        }
        let model = model.without_reach_expectations();
        Some(bounds(scenario, model, &[("two_publishers_race", Some(3))]))
    }
);
