//! Bounded MPMC queues, an event count, and a blocking layer that never loses a wakeup.
//!
//! * [`MpmcQueue`] — the trait every bounded multi-producer multi-consumer queue implements:
//!   `try_push` hands the value back when the queue is full, `try_pop` returns `None` when it
//!   is empty; neither ever blocks.
//! * [`ArrayQueue`] — Vyukov's bounded queue with per-slot sequence stamps (lock-free in the
//!   sense its module doc states).
//! * [`LockedQueue`] — a `VecDeque` under a [`LockFamily`](crate::lock::LockFamily)'s mutex.
//! * [`EventCount`] — a condition variable for lock-free code, on one futex word.
//! * [`BlockingQueue`] — over any `MpmcQueue`: `push` waits while full, `pop` waits while
//!   empty, [`close`](BlockingQueue::close) wakes every sleeper.
//! * [`bounded`] / [`bounded_with`] — a channel: [`Sender`] and [`Receiver`] ends over a
//!   `BlockingQueue` that disconnect when the last end of a side is dropped.
//!
//! ```
//! use synclab::queue::{ArrayQueue, BlockingQueue, MpmcQueue};
//!
//! let q: ArrayQueue<u32> = ArrayQueue::with_capacity(2)?;
//! assert_eq!(q.try_push(1), Ok(()));
//! assert_eq!(q.try_push(2), Ok(()));
//! assert_eq!(q.try_push(3), Err(3)); // full: the value comes back
//! assert_eq!(q.try_pop(), Some(1));
//!
//! let b: BlockingQueue<u32, ArrayQueue<u32>> = BlockingQueue::with_capacity(4)?;
//! b.push(7).unwrap();
//! b.close();
//! assert_eq!(b.pop(), Ok(7)); // drains what is left …
//! assert!(b.pop().is_err()); // … then reports closed
//! # Ok::<(), synclab::queue::CapacityError>(())
//! ```

use core::fmt;

pub mod array_queue;
pub mod blocking;
pub mod channel;
pub mod event_count;
pub mod locked;

pub use array_queue::{ArrayQueue, ArrayQueueIn, QueueStep};
pub use blocking::{BlockingQueue, BlockingQueueIn, Closed, PopError, PushError};
pub use channel::{
    bounded, bounded_with, Receiver, RecvError, RecvTimeoutError, SendError, SendTimeoutError,
    Sender, TryRecvError, TrySendError,
};
pub use event_count::{EventCount, EventCountIn, WaitKey};
pub use locked::LockedQueue;

use crate::sync::{hint, thread};

/// A bounded multi-producer multi-consumer queue whose operations never block.
///
/// Implementations are FIFO for a single producer and a single consumer, and every pushed
/// item is popped at most once (exactly once if the queue is drained).
pub trait MpmcQueue<T>: Send + Sync {
    /// A new empty queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] if `capacity` is 0 or too large to represent.
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError>
    where
        Self: Sized;

    /// Appends `value` at the tail, or hands it back in `Err` if the queue is full.
    fn try_push(&self, value: T) -> Result<(), T>;

    /// Removes the item at the head, or returns `None` if the queue is empty.
    fn try_pop(&self) -> Option<T>;

    /// The most items the queue holds.
    fn capacity(&self) -> usize;

    /// The number of items right now (a snapshot: it may be stale when it returns).
    fn len(&self) -> usize;

    /// Whether the queue was empty at some moment during the call.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the queue was full at some moment during the call.
    fn is_full(&self) -> bool {
        self.len() == self.capacity()
    }
}

/// A queue was asked for a capacity it cannot have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityError {
    /// Capacity 0: a bounded queue needs room for at least one item.
    Zero,
    /// More slots than the stamp arithmetic can represent.
    TooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity supported.
        max: usize,
    },
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CapacityError::Zero => {
                write!(f, "queue capacity must be at least 1, got 0")
            }
            CapacityError::TooLarge { requested, max } => {
                write!(f, "queue capacity {requested} exceeds the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for CapacityError {}

/// Exponential backoff for contended retries (the shape of crossbeam-utils' `Backoff`), built
/// on [`crate::sync`] so that a checker sees every spin as a scheduling point.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    step: u32,
}

impl Backoff {
    /// After this many steps `spin` stops growing.
    const SPIN_LIMIT: u32 = 6;
    /// After this many steps `snooze` yields the CPU instead of spinning.
    const YIELD_LIMIT: u32 = 10;

    /// Backs off after a failed CAS: a short, growing busy-wait.
    #[inline]
    pub(crate) fn spin(&mut self) {
        for _ in 0..hint::spin_limit(1 << self.step.min(Self::SPIN_LIMIT)) {
            hint::spin_loop();
        }
        if self.step <= Self::SPIN_LIMIT {
            self.step += 1;
        }
    }

    /// Backs off while waiting for another thread (a stalled producer or consumer): spins,
    /// then yields the CPU.
    #[inline]
    pub(crate) fn snooze(&mut self) {
        if self.step <= Self::SPIN_LIMIT {
            for _ in 0..hint::spin_limit(1 << self.step) {
                hint::spin_loop();
            }
        } else {
            thread::yield_now();
        }
        if self.step <= Self::YIELD_LIMIT {
            self.step += 1;
        }
    }
}
