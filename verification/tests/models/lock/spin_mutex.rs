//! `RawSpinLock` (the TTAS baseline): the suite. It never sleeps, so no path of its models can
//! be seen asleep, and a spinning thread under loom is an unbounded path past preemption
//! bound 1 when two threads spin.

use synclab::lock::RawSpinLock;
use synclab_verification::raw_lock_suite;

raw_lock_suite!(
    suite,
    RawSpinLock,
    tune = |scenario, model| {
        let model = model.without_reach_expectations();
        Some(match scenario {
            // Two threads spinning (each spin a `yield_now` under a checker): at bound 2 and up,
            // loom's search has unbounded paths and stops at its branch limit — a limit of the
            // checker with yield-based spinning, not a bug found. shuttle runs it unbounded.
            "mutual_exclusion_three_threads" | "lock_after_lost_try_lock" => {
                model.preemption_bound(1)
            }
            _ => model,
        })
    }
);
