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
    /// The items, oldest first. Invariant: `len() <= capacity`.
    items: F::Mutex<VecDeque<T>>,
    capacity: usize,
    _family: PhantomData<F>,
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
            items: F::mutex(VecDeque::with_capacity(capacity.min(1024))),
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
        let mut items = F::lock(&self.items);
        if items.len() == self.capacity {
            return Err(value);
        }
        items.push_back(value);
        Ok(())
    }

    #[inline]
    fn try_pop(&self) -> Option<T> {
        F::lock(&self.items).pop_front()
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn len(&self) -> usize {
        F::lock(&self.items).len()
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
