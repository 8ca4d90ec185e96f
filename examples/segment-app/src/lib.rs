//! A job board shared by processes: a queue of jobs and a robust lock over their running
//! total, in one segment. The worker's logic is generic over where the queue and the lock live,
//! so the same function runs between processes (in the segment) and under a model checker (on
//! the heap), and the crate builds in every world:
//!
//! * `cargo test` runs the model as a stress loop, and the segment test and the program
//!   (`src/main.rs`: the board between two processes) for real;
//! * `RUSTFLAGS="--cfg synclab_loom" cargo test --release --tests` (and `synclab_shuttle`)
//!   checks the model; the segment test sees [`OpenError::CheckerWorld`], since no segment
//!   exists under a checker — the code that names segment types still compiles.
//!
//! `synclab`'s `lock_api` feature is on for this package: under a checker the bridge is absent
//! (its `const INIT` needs const atomics), so the code that uses it is plain-world only.

use synclab::lock::{RawRobustLock, RobustMutex};
use synclab::queue::{ArrayQueue, MpmcQueue};
use synclab::shm::{InSegment, OpenError, SegmentOptions, Shared, Shm};

/// One job: plain data, so it may live in a segment (`bytemuck::Pod`, then [`synclab::plain!`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct Job {
    /// Which job.
    pub id: u32,
    /// What it adds to the total.
    pub cost: u32,
}

synclab::plain!(Job);

/// The board in a segment: the queue first, then the total under a robust lock.
pub type Board = (ArrayQueue<Job, Shm>, InSegment<RobustMutex<u64, Shm>>);

/// Creates the board `name` with room for `capacity` jobs and a total of 0.
pub fn create_board(name: &str, capacity: u64) -> Result<Shared<Board>, OpenError> {
    Shared::create(name, &(capacity, 0), &SegmentOptions::new())
}

/// Opens the board `name` (another process created it).
pub fn open_board(name: &str) -> Result<Shared<Board>, OpenError> {
    Shared::open(name, &SegmentOptions::new())
}

/// Takes jobs until the queue is empty, adding each one's cost to `total`; the number of jobs
/// taken. A holder of the lock that died left the total as it was when it died: its job is
/// lost with it, and the total is marked consistent again.
pub fn work<Q, R>(queue: &Q, total: &synclab::lock::Mutex<u64, R>) -> u32
where
    Q: MpmcQueue<Job>,
    R: RawRobustLock,
{
    let mut taken = 0;
    while let Some(job) = queue.try_pop() {
        let mut sum = total
            .lock_checked()
            .unwrap_or_else(|died| died.make_consistent());
        *sum += u64::from(job.cost);
        taken += 1;
    }
    taken
}

/// How many boards this process has opened: a static behind `lock_api`'s mutex over a synclab
/// lock (`const` construction). Plain world only: the bridge does not exist under a checker.
#[cfg(not(any(synclab_loom, synclab_shuttle)))]
pub static OPENED: lock_api::Mutex<synclab::lock::RawCountingMutex, u32> = lock_api::Mutex::new(0);
