//! Capacities (issue 13, point 6): every queue and pool states and applies one limit,
//! `synclab::queue::MAX_CAPACITY`, and a capacity within it that cannot be allocated is a
//! typed error — never an abort. On main `ArrayQueue::with_capacity` of the largest capacity aborted
//! the process ("memory allocation of … bytes failed"), so each construction that could abort
//! runs in a child process, and the parent asserts that the child exited normally. (That
//! every queue and pool refuses a capacity past the limit is in their suites: `capacity_errors`,
//! `errors_and_limits`.)

use synclab::pool::{BuildError, LockFreePool, PoolConfig, ThreadPool};
use synclab::queue::{ArrayQueue, CapacityError, MpmcQueue};

#[path = "shared/child.rs"]
mod child;

const CHILD: &str = "SYNCLAB_CAPACITY_CHILD";

/// Runs `body` in a child process (this test binary, filtered to `name`): an abort there fails
/// this test with the child's output instead of killing the whole binary.
fn in_child(name: &str, body: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        body();
        return;
    }
    let (output, text) = child::run(name, CHILD);
    assert!(
        output.status.success(),
        "{name}: the child process died ({}):\n{text}",
        output.status
    );
}

/// A slot type so large that its largest capacity (`MAX_CAPACITY` of them: 2⁴⁸ bytes) cannot be
/// reserved on any machine, overcommit or not.
type Huge = [u8; 1 << 17];

#[test]
fn array_queue_of_max_capacity_that_cannot_be_allocated_is_a_typed_error() {
    in_child(
        "array_queue_of_max_capacity_that_cannot_be_allocated_is_a_typed_error",
        || {
            // The largest capacity the queue accepts, as its error names it.
            let max = match ArrayQueue::<Huge>::with_capacity(usize::MAX) {
                Err(CapacityError::TooLarge { max, .. }) => max,
                other => panic!("expected TooLarge, got {:?}", other.map(|_| ())),
            };
            match ArrayQueue::<Huge>::with_capacity(max) {
                Err(CapacityError::AllocationFailed { requested, .. }) => {
                    assert_eq!(requested, max)
                }
                other => panic!("expected AllocationFailed, got {:?}", other.map(|_| ())),
            }
        },
    );
}

#[test]
fn lock_free_pool_with_a_huge_capacity_is_a_typed_error() {
    in_child(
        "lock_free_pool_with_a_huge_capacity_is_a_typed_error",
        || {
            let err = LockFreePool::build(PoolConfig::new(1).capacity(1 << 40)).unwrap_err();
            assert!(
                matches!(err, BuildError::CapacityTooLarge { requested, .. } if requested == 1 << 40),
                "{err:?}"
            );
        },
    );
}
