//! Bounded MPMC queues, an event count, and a blocking layer that never loses a wakeup.
//!
//! * [`MpmcQueue`] — the trait every bounded multi-producer multi-consumer queue implements:
//!   `try_push` hands the value back when the queue is full, `try_pop` returns `None` when it
//!   is empty; neither ever blocks.
//! * [`ArrayQueue`] — Vyukov's bounded queue with per-slot sequence stamps (lock-free in the
//!   sense its module doc states).
//! * [`LockedQueue`] — a `VecDeque` under a [`LockFamily`](crate::lock::LockFamily)'s mutex.
//! * [`deque`] — the bounded Chase–Lev work-stealing deque (owner pushes and pops at the
//!   bottom, thieves steal at the top).
//! * [`EventCount`] — a condition variable for lock-free code, on one futex word.
//! * [`BlockingQueue`] — over any `MpmcQueue`: `push` waits while full, `pop` waits while
//!   empty, [`close`](BlockingQueue::close) wakes every sleeper.
//! * [`bounded`] / [`bounded_with`] — a channel: [`Sender`] and [`Receiver`] ends over a
//!   `BlockingQueue` that disconnect when the last end of a side is dropped.
//!
//! Every `MpmcQueue` can be [closed](MpmcQueue::close), linearizably with its pushes: the
//! closed mark lives where the queue decides who gets a slot (in `ArrayQueue`'s `tail`, under
//! `LockedQueue`'s mutex), so a push either lands before the close or is refused — never
//! accepted and then stranded behind a consumer that saw "closed and empty".
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

mod array_queue;
mod blocking;
mod channel;
pub mod deque;
mod duplex;
mod event_count;
#[cfg(feature = "fault-injection")]
mod fault;
mod locked;

pub use self::{
    array_queue::{force::ForcePushError, ArrayQueue},
    blocking::{BlockingQueue, Closed, PopError, PushError},
    channel::{
        bounded, bounded_with, IntoIter, Iter, Receiver, RecvError, RecvTimeoutError, SendError,
        SendTimeoutError, Sender, TryIter, TryRecvError, TrySendError,
    },
    duplex::{Duplex, DuplexEnd, EndError, SpinRecvError},
    event_count::{EventCount, WaitKey},
    locked::LockedQueue,
};

use crate::shm::Memory;
use crate::sync::{hint, thread};

/// A bounded multi-producer multi-consumer queue whose operations never block.
///
/// Implementations are FIFO for a single producer and a single consumer, and every pushed
/// item is popped at most once (exactly once if the queue is drained).
pub trait MpmcQueue<T>: Send + Sync {
    /// Where the queue keeps its state: [`Heap`](crate::shm::Heap) for a queue of one
    /// process, [`Shm`](crate::shm::Shm) for one placed in a segment. A layer over the queue
    /// ([`BlockingQueue`]) keeps its own state in the same memory.
    type Memory: Memory;

    /// A new empty queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// [`CapacityError`] if `capacity` is 0 or too large to represent.
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError>
    where
        Self: Sized;

    /// Appends `value` at the tail, or hands it back in `Err` if the queue is full or
    /// [closed](Self::close) ([`is_closed`](Self::is_closed) tells which).
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

    /// Closes the queue to pushes; returns `true` if this call closed it. Pops still drain
    /// what is left.
    ///
    /// The contract every implementation keeps — it is what makes the blocking layer's
    /// closing linearizable ([`BlockingQueue`]):
    ///
    /// * `close` is linearizable with `try_push`: a push either takes effect before the close
    ///   (its item stays for the pops) or is refused (`Err`, with its value);
    /// * once a thread has seen [`is_closed`](Self::is_closed) return `true`, its later
    ///   `try_pop`s see every item of a push that was not refused — so "closed, then empty"
    ///   is empty for good.
    fn close(&self) -> bool;

    /// Whether [`close`](Self::close) has been called. If `true`, everything the closing
    /// thread wrote before `close` is visible to the caller (a Release/Acquire pair).
    fn is_closed(&self) -> bool;
}

/// The largest capacity of every queue and every pool in synclab: 2³¹ items.
///
/// One limit for all, so that a capacity that one design accepts no other rejects. It is
/// set by the narrowest counter a capacity feeds: `LockFreePool` counts pending tasks in 32
/// bits of its state word, and 2³¹ leaves the other half for tasks beyond the queue (running,
/// or in the overflow of tasks submitted by tasks, which `pool::MAX_PENDING` (the same figure)
/// caps at the same figure). A capacity within the limit is still refused, with
/// [`CapacityError::AllocationFailed`], when its memory cannot be allocated: every bounded
/// queue allocates its whole ring when it is built, fallibly, so a push never allocates —
/// and so never aborts the process on allocation failure.
pub const MAX_CAPACITY: usize = 1 << 31;

/// A queue was asked for a capacity it cannot have.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityError {
    /// Capacity 0: a bounded queue needs room for at least one item.
    Zero,
    /// More than [`MAX_CAPACITY`] (or, for `ArrayQueue`, than its ring can be laid out in).
    TooLarge {
        /// The capacity asked for.
        requested: usize,
        /// The largest capacity supported.
        max: usize,
    },
    /// The ring for this capacity could not be allocated.
    AllocationFailed {
        /// The capacity asked for.
        requested: usize,
        /// The bytes the ring needs (saturated at `usize::MAX`).
        bytes: usize,
    },
}

impl CapacityError {
    /// The error for a ring of `requested` elements of `element` bytes that could not be
    /// reserved.
    pub(crate) fn allocation_failed(requested: usize, element: usize) -> Self {
        CapacityError::AllocationFailed {
            requested,
            bytes: requested.saturating_mul(element),
        }
    }

    /// Checks `requested` against 0 and [`MAX_CAPACITY`].
    pub(crate) fn check(requested: usize) -> Result<usize, Self> {
        match requested {
            0 => Err(CapacityError::Zero),
            r if r > MAX_CAPACITY => Err(CapacityError::TooLarge {
                requested,
                max: MAX_CAPACITY,
            }),
            r => Ok(r),
        }
    }
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
            CapacityError::AllocationFailed { requested, bytes } => write!(
                f,
                "a queue of capacity {requested} needs {bytes} bytes, which could not be allocated"
            ),
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
