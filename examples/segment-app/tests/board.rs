//! The board's logic under the harness (a model under loom and shuttle, a stress loop in
//! `cargo test`), and the board in a segment (for real in the plain world; a typed refusal
//! under a checker).

use synclab::lock::RobustMutex;
use synclab::queue::{ArrayQueue, MpmcQueue};
use synclab::shm::{Heap, OpenError};
use synclab::sync::{thread, Arc};
use synclab_verification::Model;

use segment_app::{work, Job};

#[test]
fn two_workers_share_the_jobs_and_the_total() {
    Model::new("segment-app: two workers drain 3 jobs into a robust total")
        .threads(2)
        .ops("main: push 3 jobs; two workers: pop until empty, add under the lock")
        .preemption_bound(2)
        .shuttle_iterations(500)
        .stress_iterations(200)
        .check(|| {
            let queue = Arc::new(ArrayQueue::<Job>::with_capacity(4).unwrap());
            let total = Arc::new(RobustMutex::<u64, Heap>::new(0));
            for id in 1..=3 {
                queue.try_push(Job { id, cost: id * 10 }).unwrap();
            }
            let other = {
                let (queue, total) = (Arc::clone(&queue), Arc::clone(&total));
                thread::spawn(move || work(&*queue, &total))
            };
            let mine = work(&*queue, &total);
            let theirs = other.join().unwrap();
            assert_eq!(mine + theirs, 3, "every job taken once");
            assert_eq!(*total.lock_checked().unwrap(), 60, "every cost added once");
        });
}

#[test]
fn the_board_in_a_segment() {
    let name = format!("/segment-app-test-{}", std::process::id());
    match segment_app::create_board(&name, 8) {
        Ok(board) => {
            board.0.try_push(Job { id: 1, cost: 5 }).unwrap();
            let other = segment_app::open_board(&name).unwrap();
            assert_eq!(work(&other.0, &other.1), 1);
            assert_eq!(*board.1.lock_checked().unwrap(), 5);
            #[cfg(not(any(synclab_loom, synclab_shuttle)))]
            {
                *segment_app::OPENED.lock() += 1;
            }
        }
        // Under a model checker no segment exists: the code builds, and says so at run time.
        Err(OpenError::CheckerWorld) => assert_ne!(
            synclab::sync::WORLD,
            synclab::sync::World::Plain,
            "refused in the plain world"
        ),
        Err(e) => panic!("{e}"),
    }
}
