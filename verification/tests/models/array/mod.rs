//! The shared arrays: one file per design (its suite line, its own models, its zoo).

mod condvar;
mod laned;
mod lock_free;
mod polling;

use std::time::Duration;
use synclab::array::SharedArray;
use synclab::sync::{thread, Arc};

/// How many times the slow producer sleeps before it publishes (the seed's `writing_time`).
const SLOW_SLEEPS: usize = 40;
/// Branches (loom) and scheduling steps (shuttle, which counts about two per producer sleep)
/// the slow-producer scenario may take. Measured with 40 sleeps: a reader that sleeps until
/// the publish stays under 100 branches and 150 steps; the polling reader exceeds both.
const SLOW_BRANCH_LIMIT: usize = 100;
const SLOW_STEP_LIMIT: usize = 150;

/// The seed's scenario, shrunk: the producer takes its time (`SLOW_SLEEPS` sleeps of the seed's
/// half second, each a yield under a checker) before it publishes slot 0; the consumer waits
/// for the slot. The checkers bound the steps: a reader that sleeps until the publish stays
/// well within them, one that keeps looking does not. The plain build's stress loop sleeps a
/// millisecond instead (the checkers' clock is frozen, so the length matters only there).
fn slow_producer<A: SharedArray<u64> + 'static>() {
    let pause = if synclab::sync::WORLD == synclab::sync::World::Plain {
        Duration::from_millis(1)
    } else {
        Duration::from_millis(500)
    };
    let a = Arc::new(A::with_len(1).unwrap());
    let producer = {
        let a = Arc::clone(&a);
        thread::spawn(move || {
            for _ in 0..SLOW_SLEEPS {
                thread::sleep(pause);
            }
            a.publish(0, 7).unwrap();
        })
    };
    assert_eq!(a.wait(0), Ok(7));
    producer.join().unwrap();
}
