//! Store-buffering witnesses for the SeqCst accesses of `ArrayQueue`, sized for Miri.
//!
//! loom treats a SeqCst *access* as AcqRel (tokio-rs/loom#180), so no loom model can tell
//! `ArrayQueue`'s SeqCst CASes on `head`/`tail` and its SeqCst snapshot loads (`len`,
//! `is_empty`, `is_full`) from weaker ones. Miri's weak-memory emulation can: it lets a
//! non-SeqCst load read an older store, and keeps SeqCst loads in the SeqCst order.
//!
//! Each test is the classic store-buffering shape over two queues: thread A changes `q1`
//! and then looks at `q2`, thread B changes `q2` and then looks at `q1`. If every operation
//! is linearizable (and the SeqCst order is a real total order), at least one of the two
//! looks sees the other thread's change: both missing it is a cycle. With one of the SeqCst
//! sites weakened, Miri finds a seed where both miss (`cargo xtask audit` uses these tests as
//! the Miri leg for SeqCst-access mutants). `cargo xtask miri` runs them over many seeds on
//! the real code, where they must pass; in a plain build they run as ordinary tests.

use synclab::queue::{ArrayQueue, MpmcQueue};

#[path = "shared/store_buffering.rs"]
mod shape;

/// Rounds per test: each one is a fresh pair of queues and a fresh pair of threads, so a
/// single Miri seed explores several interleavings and store-buffer choices.
const ROUNDS: usize = 6;

/// [`shape::store_buffering`] `ROUNDS` times, each pair of answers handed to `check`.
fn store_buffering<R: Send + 'static>(
    make: fn() -> ArrayQueue<u32>,
    look: fn(&ArrayQueue<u32>, &ArrayQueue<u32>) -> R,
    check: fn(R, R),
) {
    for _ in 0..ROUNDS {
        let (mine, theirs) = shape::store_buffering(make, look);
        check(mine, theirs);
    }
}

fn empty() -> ArrayQueue<u32> {
    ArrayQueue::with_capacity(2).unwrap()
}

fn one_item() -> ArrayQueue<u32> {
    let q = ArrayQueue::with_capacity(2).unwrap();
    q.try_push(1).unwrap();
    q
}

fn full() -> ArrayQueue<u32> {
    let q = ArrayQueue::with_capacity(1).unwrap();
    q.try_push(1).unwrap();
    q
}

/// push(mine); is_empty(other): not both "empty". Witnesses the SeqCst CAS on `tail` in
/// `push` and the SeqCst re-read of `tail` in the snapshot.
#[test]
fn push_then_is_empty() {
    store_buffering(
        empty,
        |mine, other| {
            mine.try_push(7).unwrap();
            other.is_empty()
        },
        |a, b| assert!(!(a && b), "both pushes were missed by is_empty"),
    );
}

/// pop(mine); is_empty(other): not both "not empty". Witnesses the SeqCst CAS on `head` in
/// `pop` and the SeqCst read of `head` in the snapshot.
#[test]
fn pop_then_is_empty() {
    store_buffering(
        one_item,
        |mine, other| {
            assert_eq!(mine.try_pop(), Some(1));
            other.is_empty()
        },
        |a, b| assert!(a || b, "both pops were missed by is_empty"),
    );
}

/// pop(mine); is_full(other) on full queues of capacity 1: not both "full".
#[test]
fn pop_then_is_full() {
    store_buffering(
        full,
        |mine, other| {
            assert_eq!(mine.try_pop(), Some(1));
            other.is_full()
        },
        |a, b| assert!(!(a && b), "both pops were missed by is_full"),
    );
}

/// push(mine); len(other): not both 0.
#[test]
fn push_then_len() {
    store_buffering(
        empty,
        |mine, other| {
            mine.try_push(7).unwrap();
            other.len()
        },
        |a, b| assert!(a + b > 0, "both pushes were missed by len"),
    );
}

/// push(mine); pop(other): not both `None` — the empty check in `pop` (its SeqCst fence).
#[test]
fn push_then_pop() {
    store_buffering(
        empty,
        |mine, other| {
            mine.try_push(7).unwrap();
            other.try_pop()
        },
        |a, b| {
            assert!(
                a.is_some() || b.is_some(),
                "both pops missed the other push"
            )
        },
    );
}

/// pop(mine); push(other) on full queues of capacity 1: not both "full" — the full check in
/// `push` (its SeqCst fence).
#[test]
fn pop_then_push() {
    store_buffering(
        full,
        |mine, other| {
            assert_eq!(mine.try_pop(), Some(1));
            other.try_push(9).is_ok()
        },
        |a, b| assert!(a || b, "both pushes missed the other pop"),
    );
}
