//! `LockFreeArray` (a state word per slot, Release publish / Acquire read, futex sleep only
//! when a reader must): the suite, and the zoo's two broken variants run through the suite's
//! own scenario bodies.

use synclab::array::{IndexError, LenError, LockFreeArray, PublishError, SharedArray};
use synclab_verification::suites::bounds;
use synclab_verification::suites::shared_array::body;
use synclab_verification::{shared_array_suite, zoo_test, Expect, Failure, Model};
use synclab_zoo::array::{RelaxedPublishArray, UnannouncedSleepArray};

use super::{slow_producer, SLOW_BRANCH_LIMIT, SLOW_SLEEPS, SLOW_STEP_LIMIT};

shared_array_suite!(
    suite,
    LockFreeArray,
    tune = |scenario, model| {
        Some(bounds(
            scenario,
            model,
            &[
                ("one_publisher_two_readers", Some(4)),
                ("two_publishers_race", Some(4)),
            ],
        ))
    }
);

/// `RelaxedPublishArray` behind the `SharedArray` trait, so that its zoo model runs the same
/// scenario body as the real designs. Private to this file, and built only under a checker:
/// the zoo's rule gives the racy entry no safe constructor, and this keeps that true.
struct RelaxedPublishUnderChecker(RelaxedPublishArray<u64>);

impl SharedArray<u64> for RelaxedPublishUnderChecker {
    const NAME: &'static str = "zoo-relaxed-publish";
    fn with_len(len: usize) -> Result<Self, LenError> {
        assert!(
            synclab::sync::WORLD != synclab::sync::World::Plain,
            "RelaxedPublishArray races on real threads: build it under a checker only"
        );
        // SAFETY: the assertion above: this runs under loom or shuttle, and the scenario bodies
        // share the array only through `synclab::sync::thread` — the checker's threads, as the
        // contract of `RelaxedPublishArray::new` requires.
        Ok(Self(unsafe { RelaxedPublishArray::new(len) }))
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn publish(&self, index: usize, value: u64) -> Result<(), PublishError<u64>> {
        self.0.publish(index, value)
    }
    fn try_get(&self, index: usize) -> Result<Option<u64>, IndexError> {
        self.0.try_get(index)
    }
    fn wait(&self, index: usize) -> Result<u64, IndexError> {
        self.0.wait(index)
    }
}

zoo_test! {
    /// `publish` stores READY with Relaxed: the reader's read of the value (and of the payload)
    /// is not ordered after its write. loom reports the race; shuttle runs every atomic as
    /// SeqCst, so the missing Release is invisible to it (asserted to pass).
    fn relaxed_publish() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
        Model::new("zoo: array publish with a Relaxed store")
            .threads(2)
            .exhaustive()
            .check(body::payload_before_publish::<RelaxedPublishUnderChecker>);
    }
}

zoo_test! {
    /// A reader sleeps on the slot's word without setting SLEEPERS, so `publish` skips the
    /// wake: when the reader sleeps before the publisher runs, it sleeps forever.
    fn unannounced_sleep() expect Expect::both(Failure::Deadlock) => {
        Model::new("zoo: array reader sleeps without the SLEEPERS marker")
            .threads(2)
            .exhaustive()
            .check(body::payload_before_publish::<UnannouncedSleepArray<u64>>);
    }
}

#[test]
fn lock_free_reader_sleeps_through_a_slow_producer() {
    Model::new("LockFreeArray: a reader waits out a slow producer within the step bound")
        .threads(2)
        .ops(format!(
            "producer: {SLOW_SLEEPS} sleeps, publish; main: wait"
        ))
        .preemption_bound(2)
        .max_branches(SLOW_BRANCH_LIMIT)
        .shuttle_max_steps(SLOW_STEP_LIMIT)
        .shuttle_iterations(200)
        .check(slow_producer::<LockFreeArray<u64>>);
}
