//! A bounded queue that is a `VecDeque` under a lock family's mutex.
//!
//! The baseline every lock-free queue is measured against: correct by construction (every
//! operation runs under one mutex), FIFO, and as fast as the family's mutex under the given
//! contention. Generic over [`LockFamily`], so it is instantiated with std's mutex and with
//! synclab's futex mutex.
//!
//! Progress: blocking (a holder descheduled inside an operation blocks everyone).

use core::fmt;
use core::marker::PhantomData;
use std::collections::VecDeque;

use super::{CapacityError, MpmcQueue};
use crate::lock::LockFamily;

/// A `VecDeque` of at most `capacity` items under `F`'s mutex.
///
/// ```
/// use synclab::lock::StdFamily;
/// use synclab::queue::{LockedQueue, MpmcQueue};
///
/// let q: LockedQueue<u8, StdFamily> = LockedQueue::with_capacity(1)?;
/// assert_eq!(q.try_push(1), Ok(()));
/// assert_eq!(q.try_push(2), Err(2));
/// assert_eq!(q.try_pop(), Some(1));
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
pub struct LockedQueue<T: Send, F: LockFamily> {
    /// The items and the closed flag, under one mutex (so closing and pushing are ordered by
    /// the lock).
    state: F::Mutex<State<T>>,
    capacity: usize,
    _family: PhantomData<F>,
}

/// What the mutex guards.
struct State<T> {
    /// The items, oldest first. Invariant: `items.len() <= capacity`.
    items: VecDeque<T>,
    /// Set once by `close`; no push is accepted afterwards.
    closed: bool,
}

impl<T: Send, F: LockFamily> LockedQueue<T, F> {
    /// A new empty queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for 0. The ring is allocated as it grows, so any other
    /// capacity is accepted.
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        Ok(Self {
            // Pre-allocate up to a modest size so small queues never reallocate.
            state: F::mutex(State {
                items: VecDeque::with_capacity(capacity.min(1024)),
                closed: false,
            }),
            capacity,
            _family: PhantomData,
        })
    }
}

impl<T: Send, F: LockFamily> MpmcQueue<T> for LockedQueue<T, F> {
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Self::new(capacity)
    }

    #[inline]
    fn try_push(&self, value: T) -> Result<(), T> {
        let mut state = F::lock(&self.state);
        if state.closed || state.items.len() == self.capacity {
            return Err(value);
        }
        state.items.push_back(value);
        Ok(())
    }

    #[inline]
    fn try_pop(&self) -> Option<T> {
        F::lock(&self.state).items.pop_front()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn len(&self) -> usize {
        F::lock(&self.state).items.len()
    }

    /// Under the mutex, so every push either came before (its item is there) or sees the flag.
    fn close(&self) -> bool {
        !std::mem::replace(&mut F::lock(&self.state).closed, true)
    }

    fn is_closed(&self) -> bool {
        F::lock(&self.state).closed
    }
}

impl<T: Send, F: LockFamily> fmt::Debug for LockedQueue<T, F> {
    /// Shows the family and capacity only: reading the contents would take the lock.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockedQueue")
            .field("family", &F::NAME)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}
