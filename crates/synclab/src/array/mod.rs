//! The seed's shared array: write-once slots filled by publishers and read by waiting readers.
//!
//! The seed document's first scenario (`seed/shared-memory-ipc.txt`, "Python Example" and
//! "C++ Example") is a producer that fills an array slot by slot and a consumer that, for each
//! slot in turn, waits until it is filled. This module puts that contract behind one trait,
//! [`SharedArray`], and implements it four ways:
//!
//! | design | how a reader waits | publish costs | source |
//! |---|---|---|---|
//! | [`PollingArray`] | re-checks under the mutex, sleeping a fixed *penalty* in between | one lock | the seed's own design |
//! | [`CondvarArray<T, StdFamily>`](CondvarArray) | sleeps on a condition variable | one lock, a notify only when someone sleeps | textbook monitor; std's pair |
//! | [`CondvarArray<T, FutexFamily>`](CondvarArray) | the same, on synclab's futex mutex + condvar | the same | the same, synclab's locks |
//! | [`LockFreeArray`] | a short bounded spin, then a futex wait on the slot's state word | one CAS + one swap, a wake only when someone sleeps | per-slot state word, like a futex mutex's three states |
//!
//! Beside them, outside the trait: [`LanedArray`], the lock-free array for slots whose
//! publisher is known in advance — slot `i` is published only through the [`Lane`] of lane
//! `i mod lanes`, so a publish needs no claim (a load and one swap) and the slots are packed.
//!
//! Each design but the seed's is generic over where its slots live (the last parameter, the
//! [`Heap`](crate::shm::Heap) by default): placed in a segment shared by processes
//! ([`crate::shm`]), the lock-free arrays report a publisher that died
//! ([`SlotWaitError::PublisherDied`], from `wait_checked`) instead of waiting for ever, and
//! `CondvarArray<T, RobustFamily<Shm>, Shm>` takes its lock over from a holder that died.
//! The trait is implemented in every memory (import it to call `publish`, `wait`, `len`…); in
//! a segment, [`SharedArray::wait`] on a slot whose publisher died waits for a survivor to
//! publish it, where `wait_checked` reports the death.
//!
//! # The contract
//!
//! * **Creating.** [`SharedArray::with_len`] (and each design's own constructor) reports a
//!   length it cannot allocate as a [`LenError`], never by aborting.
//! * **Write once.** [`SharedArray::publish`] fills an empty slot. A second publish of the same
//!   slot fails with [`PublishError::AlreadyPublished`], which hands the value back; nothing is
//!   overwritten. Publishing out of bounds fails with [`PublishError::OutOfBounds`] (index,
//!   length, and the value handed back).
//! * **Reading.** [`SharedArray::try_get`] never blocks: `Ok(Some(v))` once the slot is
//!   published, `Ok(None)` before. [`SharedArray::wait`] blocks until the slot is published
//!   and returns at once if it already is. Out of bounds, both return an [`IndexError`]
//!   naming the index and the length — a typed error rather than `None`, so that a reader
//!   waiting on a slot that can never be filled is told so instead of hanging, and so that
//!   `None` keeps the one meaning "not yet".
//! * **Values are read by clone.** Many readers may read the same slot at once, so a read
//!   returns `T::clone()` of the published value; the array keeps the original until it is
//!   dropped, and drops each published value exactly once. (A reference that outlives the
//!   lock is not sound for the lock-based designs in general; [`LockFreeArray`], whose values
//!   never move once published, additionally offers [`LockFreeArray::get_ref`] and
//!   [`LockFreeArray::wait_ref`].) Wrap large values in an `Arc` to make the clone cheap.
//! * **Visibility.** Everything the publisher wrote before `publish(i, v)` is visible to a
//!   reader after its `wait(i)` or `try_get(i)` returns the value: publish *happens before*
//!   the read that sees it (a mutex unlock/lock pair, or a Release store read by an Acquire
//!   load).
//! * **Concurrency.** Any number of publishers (racing for a slot is allowed: exactly one
//!   wins) and any number of readers, of any slots, at once.
//!
//! ```
//! use synclab::array::{LockFreeArray, SharedArray, PublishError};
//! use synclab::sync::{thread, Arc};
//!
//! let array = Arc::new(LockFreeArray::<String>::with_len(2)?);
//! let reader = {
//!     let array = Arc::clone(&array);
//!     thread::spawn(move || array.wait(1).unwrap())
//! };
//! array.publish(1, String::from("hello")).unwrap();
//! assert_eq!(reader.join().unwrap(), "hello");
//!
//! // Write-once: the second publish hands its value back.
//! let err = array.publish(1, String::from("again")).unwrap_err();
//! assert!(matches!(err, PublishError::AlreadyPublished { index: 1, .. }));
//! assert_eq!(err.into_value(), "again");
//! assert_eq!(array.try_get(0), Ok(None));
//! assert!(array.wait(2).is_err()); // out of bounds: an error, never a hang
//! # Ok::<(), synclab::array::LenError>(())
//! ```
//!
//! The broken variants (a Relaxed publish, a reader that sleeps without announcing itself) are
//! in the bug zoo, the crate `synclab-zoo` (`crates/synclab-zoo`, module `array`).
//!
//! [`StdFamily`]: crate::lock::StdFamily
//! [`FutexFamily`]: crate::lock::FutexFamily

use core::fmt;
use core::time::Duration;

use crate::sync::time::Instant;

#[macro_use]
mod condvar;
#[cfg(feature = "fault-injection")]
mod fault;
mod laned;
#[macro_use]
mod lock_free;
mod polling;
// After the macros, which it uses.
#[cfg(target_os = "linux")]
mod segment;
mod slot;
mod tracked;

pub use self::{
    condvar::CondvarArray,
    laned::{Lane, LaneError, LanedArray},
    lock_free::LockFreeArray,
    polling::{PollingArray, DEFAULT_PENALTY},
};

/// A fixed-length array of write-once slots that readers can wait on.
///
/// See [the module docs](self) for the contract every implementation keeps.
///
/// `T: Send` because a value moves from the publishing thread into the array; `T: Sync`
/// because many readers clone the same value at once (through `&T`); `T: Clone` because a read
/// returns a clone.
pub trait SharedArray<T: Clone + Send + Sync>: Send + Sync {
    /// A short name for tables and the demo, e.g. `"lockfree"`.
    const NAME: &'static str;

    /// An array of `len` empty slots.
    ///
    /// # Errors
    ///
    /// [`LenError`] if the slots cannot be allocated (more than the address space holds, or
    /// the allocator refuses), and for a design whose memory is a segment, which
    /// [`Shared::create`](crate::shm::Shared::create) places instead.
    fn with_len(len: usize) -> Result<Self, LenError>
    where
        Self: Sized;

    /// The number of slots.
    fn len(&self) -> usize;

    /// Whether the array has no slots at all.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills slot `index` with `value` and wakes its waiting readers.
    ///
    /// Fails, handing `value` back, if the slot is already published (nothing is overwritten)
    /// or `index >= len`.
    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>>;

    /// A clone of slot `index`'s value if it is published, `None` if not yet; never blocks.
    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError>;

    /// Blocks until slot `index` is published and returns a clone of its value; returns at
    /// once if it already is. Out of bounds is an error, never a hang.
    fn wait(&self, index: usize) -> Result<T, IndexError>;

    /// As [`wait`](SharedArray::wait), for at most `timeout`: `Ok(None)` if the slot was
    /// still empty when the timeout passed.
    ///
    /// Every design in this module overrides this with its own timed sleep (a futex wait, a
    /// condvar wait, the seed's penalty sleep). The provided method — for an implementation
    /// that has none — polls [`try_get`](SharedArray::try_get) with sleeps that double from
    /// 1 µs to 1 ms: correct, not fast.
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::array::{LockFreeArray, SharedArray};
    ///
    /// let array = LockFreeArray::<char>::with_len(1).unwrap();
    /// assert_eq!(array.wait_timeout(0, Duration::from_millis(1)), Ok(None));
    /// array.publish(0, 'x').unwrap();
    /// assert_eq!(array.wait_timeout(0, Duration::from_millis(1)), Ok(Some('x')));
    /// ```
    ///
    /// # Errors
    ///
    /// [`IndexError`] if `index >= len` (at once, never after the timeout).
    fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut nap = Duration::from_micros(1);
        loop {
            if let Some(value) = self.try_get(index)? {
                return Ok(Some(value));
            }
            if !nap_until(&mut nap, deadline) {
                return Ok(None);
            }
        }
    }
}

/// One nap of a polling wait: sleeps `nap` (at most until `deadline`), then doubles it up to
/// 1 ms. `false`, without sleeping, once `deadline` has passed.
pub(crate) fn nap_until(nap: &mut Duration, deadline: Option<Instant>) -> bool {
    let now = Instant::now();
    let nap_now = match deadline {
        Some(deadline) if now >= deadline => return false,
        Some(deadline) => (*nap).min(deadline - now),
        None => *nap,
    };
    crate::sync::thread::sleep(nap_now);
    *nap = (*nap * 2).min(Duration::from_millis(1));
    true
}

/// An array was asked for a shape it cannot have: the one error of every array constructor
/// ([`SharedArray::with_len`], [`PollingArray::with_penalty`], [`LanedArray::with_lanes`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LenError {
    /// More slots than the address space holds (`isize::MAX` bytes of them).
    TooLarge {
        /// The length asked for.
        requested: usize,
        /// The largest length of this design's slots that fits.
        max: usize,
    },
    /// The slots for this length could not be allocated.
    AllocationFailed {
        /// The length asked for.
        requested: usize,
        /// The bytes the slots need.
        bytes: usize,
    },
    /// A lane count that is 0, not a power of two, or above 16 ([`LanedArray`] only).
    LaneCount {
        /// The count asked for.
        lanes: usize,
    },
    /// The design's memory is a segment shared by processes: its array is placed there by
    /// [`Shared::create`](crate::shm::Shared::create), never built by `with_len`.
    SegmentOnly,
}

impl LenError {
    /// `len` slots made by `make`, allocated without aborting: the allocation every heap
    /// constructor of this module makes.
    pub(crate) fn slots<E>(len: usize, make: impl FnMut(usize) -> E) -> Result<Vec<E>, Self> {
        let size = core::mem::size_of::<E>();
        let max = isize::MAX as usize / size.max(1);
        if len > max {
            return Err(LenError::TooLarge {
                requested: len,
                max,
            });
        }
        let mut slots = Vec::new();
        slots
            .try_reserve_exact(len)
            .map_err(|_| LenError::AllocationFailed {
                requested: len,
                bytes: len * size,
            })?;
        slots.extend((0..len).map(make));
        Ok(slots)
    }
}

impl fmt::Display for LenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LenError::TooLarge { requested, max } => write!(
                f,
                "a shared array of length {requested} exceeds this design's maximum of {max}"
            ),
            LenError::AllocationFailed { requested, bytes } => write!(
                f,
                "a shared array of length {requested} needs {bytes} bytes, which could not be allocated"
            ),
            LenError::LaneCount { lanes } => write!(
                f,
                "{lanes} lanes: a laned array has a power of two of lanes, from 1 to {}",
                laned::MAX_LANES
            ),
            LenError::SegmentOnly => write!(
                f,
                "an array in a segment is placed by Shared::create, not built by with_len"
            ),
        }
    }
}

impl std::error::Error for LenError {}

/// An index past the end of a shared array.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexError {
    /// The index asked for.
    pub index: usize,
    /// The array's length.
    pub len: usize,
}

impl IndexError {
    /// The error for `index` in an array of `len` slots. (The struct is `#[non_exhaustive]`,
    /// so an implementation of [`SharedArray`] outside synclab builds it here.)
    pub fn new(index: usize, len: usize) -> Self {
        IndexError { index, len }
    }

    /// `Ok(())` if `index < len`, else the error naming both.
    #[inline]
    pub(crate) fn check(index: usize, len: usize) -> Result<(), IndexError> {
        if index < len {
            Ok(())
        } else {
            Err(IndexError { index, len })
        }
    }
}

impl fmt::Display for IndexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "index {} is out of bounds for a shared array of length {}",
            self.index, self.len
        )
    }
}

impl std::error::Error for IndexError {}

/// Why [`SharedArray::publish`] refused a value; the value is handed back.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub enum PublishError<T> {
    /// The slot already holds a value (which was not touched).
    AlreadyPublished {
        /// The slot.
        index: usize,
        /// The value that was refused.
        value: T,
    },
    /// `index >= len`.
    OutOfBounds {
        /// The index asked for.
        index: usize,
        /// The array's length.
        len: usize,
        /// The value that was refused.
        value: T,
    },
    /// The slot belongs to another lane of a [`LanedArray`] than the [`Lane`] that was asked
    /// to publish it.
    NotInLane {
        /// The slot.
        index: usize,
        /// The lane that was asked.
        lane: usize,
        /// The lane the slot belongs to.
        owner: usize,
        /// The value that was refused.
        value: T,
    },
}

impl<T> PublishError<T> {
    /// Hands `value` back as `OutOfBounds` unless `index < len`: the bounds check every
    /// design's `publish` starts with.
    pub(crate) fn check_index(index: usize, len: usize, value: T) -> Result<T, Self> {
        if index < len {
            Ok(value)
        } else {
            Err(PublishError::OutOfBounds { index, len, value })
        }
    }

    /// The refused value.
    pub fn into_value(self) -> T {
        match self {
            PublishError::AlreadyPublished { value, .. }
            | PublishError::OutOfBounds { value, .. }
            | PublishError::NotInLane { value, .. } => value,
        }
    }
}

impl<T> fmt::Debug for PublishError<T> {
    /// Does not print the value (`T` need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::AlreadyPublished { index, .. } => f
                .debug_struct("AlreadyPublished")
                .field("index", index)
                .finish_non_exhaustive(),
            PublishError::OutOfBounds { index, len, .. } => f
                .debug_struct("OutOfBounds")
                .field("index", index)
                .field("len", len)
                .finish_non_exhaustive(),
            PublishError::NotInLane {
                index, lane, owner, ..
            } => f
                .debug_struct("NotInLane")
                .field("index", index)
                .field("lane", lane)
                .field("owner", owner)
                .finish_non_exhaustive(),
        }
    }
}

impl<T> fmt::Display for PublishError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PublishError::AlreadyPublished { index, .. } => write!(
                f,
                "slot {index} is already published; the new value was not written"
            ),
            PublishError::OutOfBounds { index, len, .. } => write!(
                f,
                "cannot publish to index {index}: out of bounds for a shared array of length {len}"
            ),
            PublishError::NotInLane {
                index, lane, owner, ..
            } => write!(
                f,
                "slot {index} belongs to lane {owner}, not to lane {lane} that was asked to publish it"
            ),
        }
    }
}

impl<T> std::error::Error for PublishError<T> {}

/// Why a death-aware wait (`wait_checked` of [`LockFreeArray`] and [`LanedArray`]) returned
/// no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SlotWaitError {
    /// The index is out of bounds.
    OutOfBounds(IndexError),
    /// The slot's publisher died after claiming it (or its lane's holder died) before
    /// publishing it — in a segment shared by processes only; the slot may be published again.
    PublisherDied {
        /// The slot.
        index: usize,
    },
}

impl fmt::Display for SlotWaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotWaitError::OutOfBounds(e) => e.fmt(f),
            SlotWaitError::PublisherDied { index } => write!(
                f,
                "the publisher of slot {index} died before publishing it; the slot may be published again"
            ),
        }
    }
}

impl std::error::Error for SlotWaitError {}

impl From<IndexError> for SlotWaitError {
    fn from(e: IndexError) -> Self {
        SlotWaitError::OutOfBounds(e)
    }
}
