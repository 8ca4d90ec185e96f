//! Capacities (issue 13, point 6): every queue and pool states and applies one limit,
//! `synclab::queue::MAX_CAPACITY`, and a capacity within it that cannot be allocated is a
//! typed error — never an abort. On main `ArrayQueue::with_capacity(ArrayQueue::max_capacity())` aborted
//! the process ("memory allocation of … bytes failed"), so each construction that could abort
//! runs in a child process, and the parent asserts that the child exited normally.

use synclab::pool::{
    BuildError, FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool,
    WorkStealingPool,
};
use synclab::queue::{ArrayQueue, BlockingQueue, CapacityError, LockedQueue, MpmcQueue};

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
            let max = ArrayQueue::<Huge>::max_capacity();
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

/// Every queue rejects `MAX_CAPACITY + 1` with the same `TooLarge { max: MAX_CAPACITY }`.
#[test]
fn every_queue_applies_the_same_limit() {
    use synclab::lock::{FutexFamily, StdFamily};
    use synclab::queue::MAX_CAPACITY;
    fn check<Q: MpmcQueue<u64>>(name: &str) {
        for requested in [MAX_CAPACITY + 1, usize::MAX] {
            match Q::with_capacity(requested) {
                Err(CapacityError::TooLarge { requested: r, max }) => {
                    assert_eq!((r, max), (requested, MAX_CAPACITY), "{name}")
                }
                other => panic!("{name}: capacity {requested}: {:?}", other.map(|_| ())),
            }
        }
    }
    in_child("every_queue_applies_the_same_limit", || {
        check::<ArrayQueue<u64>>("ArrayQueue");
        check::<LockedQueue<u64, StdFamily>>("LockedQueue<std>");
        check::<LockedQueue<u64, FutexFamily>>("LockedQueue<futex>");
        assert!(matches!(
            BlockingQueue::<u64, ArrayQueue<u64>>::with_capacity(MAX_CAPACITY + 1),
            Err(CapacityError::TooLarge { .. })
        ));
        assert!(ArrayQueue::<u64>::max_capacity() <= MAX_CAPACITY);
    });
}

/// Every pool rejects `MAX_CAPACITY + 1` (and `usize::MAX`, which `CondvarPool` accepted on
/// main) with the same `CapacityTooLarge { max: MAX_CAPACITY }`.
#[test]
fn every_pool_applies_the_same_limit() {
    fn check<P: ThreadPool>(name: &str) {
        use synclab::queue::MAX_CAPACITY;
        for requested in [MAX_CAPACITY + 1, usize::MAX] {
            match P::build(PoolConfig::new(1).capacity(requested)) {
                Err(BuildError::CapacityTooLarge { requested: r, max }) => {
                    assert_eq!((r, max), (requested, MAX_CAPACITY), "{name}")
                }
                other => panic!("{name}: capacity {requested}: {:?}", other.map(|_| ())),
            }
        }
    }
    in_child("every_pool_applies_the_same_limit", || {
        check::<StdCondvarPool>("StdCondvarPool");
        check::<FutexCondvarPool>("FutexCondvarPool");
        check::<LockFreePool>("LockFreePool");
        check::<WorkStealingPool>("WorkStealingPool");
    });
}
