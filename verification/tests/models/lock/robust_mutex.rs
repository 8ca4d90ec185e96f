//! `RawRobustMutex` (the owner-tagged mutex a segment uses) on the heap: the suite. Its
//! owner-death paths need model processes: `processes.rs` runs them under `ModelShm`.

use synclab::lock::RawRobustMutex;
use synclab::shm::Heap;
use synclab_verification::raw_lock_suite;
use synclab_verification::suites::bounds;

raw_lock_suite!(
    suite,
    RawRobustMutex<Heap>,
    tune = |scenario, model| {
        // Two rounds each, exhaustive: 2.0 M executions (its CAS loop announces waiters in a
        // separate step, so it has more interleavings than the futex mutex's 195 k).
        Some(bounds(
            scenario,
            model,
            &[("mutual_exclusion_two_threads", Some(3))],
        ))
    }
);
