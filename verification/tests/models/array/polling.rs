//! `PollingArray` (the seed's mutex + sleep-poll with a penalty): the suite.

use synclab::array::PollingArray;
use synclab::lock::StdFamily;
use synclab_verification::shared_array_suite;
use synclab_verification::suites::{bounds, under_loom, under_shuttle};
use synclab_verification::{zoo_test, Expect, Failure, Model};

use super::{slow_producer, SLOW_BRANCH_LIMIT, SLOW_SLEEPS, SLOW_STEP_LIMIT};

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

zoo_test! {
    /// The seed's polling consumer ("No data at index i, waiting penalty sec"): while the
    /// producer takes its time, the consumer looks under the lock, sleeps its penalty (a yield
    /// under a checker) and looks again, so the wait costs steps in proportion to the
    /// producer's delay — the CPU it burns and the latency of up to a penalty it adds on real
    /// threads (see benchmarks.md, `array/idle-cpu`, `array/wake-latency`). The same scenario
    /// with the lock-free array, whose reader sleeps on the futex, passes within the bound
    /// (`lock_free_reader_sleeps_through_a_slow_producer`).
    fn seed_polling_consumer_polls() expect Expect::both(Failure::StepLimit) => {
        Model::new("zoo: the seed's polling consumer waits out a slow producer")
            .threads(2)
            .ops(format!("producer: {SLOW_SLEEPS} sleeps, publish; main: wait (polls)"))
            .preemption_bound(2)
            .max_branches(SLOW_BRANCH_LIMIT)
            .shuttle_max_steps(SLOW_STEP_LIMIT)
            .shuttle_iterations(200)
            .check(slow_producer::<PollingArray<u64, StdFamily>>);
    }
}
