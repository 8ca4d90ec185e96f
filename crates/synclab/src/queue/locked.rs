//! The locked queue; documented on [`LockedQueue`].

use core::fmt;
use core::marker::PhantomData;
use std::collections::VecDeque;

use super::{CapacityError, MpmcQueue};
use crate::lock::LockFamily;
use crate::shm::Heap;
use crate::sync::atomic::{AtomicBool, Ordering};

/// A `VecDeque` of at most `capacity` items under `F`'s mutex.
///
/// A bounded queue that is a `VecDeque` under a lock family's mutex.
///
/// The baseline every lock-free queue is measured against: correct by construction (every
/// operation runs under one mutex), FIFO, and as fast as the family's mutex under the given
/// contention. Generic over [`LockFamily`], so it is instantiated with std's mutex and with
/// synclab's futex mutex.
///
/// Progress: blocking (a holder descheduled inside an operation blocks everyone).
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
    /// Set once by `close`, *while holding the mutex*: a push's check of it under the mutex is
    /// then ordered against the close by the lock (linearizable), and `is_closed` can read it
    /// without taking the lock.
    closed: AtomicBool,
    capacity: usize,
    _family: PhantomData<F>,
}

impl<T: Send, F: LockFamily> LockedQueue<T, F> {
    /// A new empty queue holding at most `capacity` items. The ring is reserved here, in
    /// full and fallibly, so a push never allocates (and never aborts on allocation failure).
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] above
    /// [`MAX_CAPACITY`](super::MAX_CAPACITY), [`CapacityError::AllocationFailed`] if the ring
    /// cannot be reserved.
    fn new(capacity: usize) -> Result<Self, CapacityError> {
        CapacityError::check(capacity)?;
        let mut items = VecDeque::new();
        items
            .try_reserve_exact(capacity)
            .map_err(|_| CapacityError::allocation_failed(capacity, core::mem::size_of::<T>()))?;
        Ok(Self {
            items: F::mutex(items),
            closed: AtomicBool::new(false),
            capacity,
            _family: PhantomData,
        })
    }
}

impl<T: Send, F: LockFamily> MpmcQueue<T> for LockedQueue<T, F> {
    type Memory = Heap;

    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Self::new(capacity)
    }

    #[inline]
    fn try_push(&self, value: T) -> Result<(), T> {
        let mut items = F::lock(&self.items);
        // Relaxed: read under the mutex, and `close` writes it under the same mutex, whose
        // unlock/lock orders the two critical sections.
        if self.closed.load(Ordering::Relaxed) || items.len() == self.capacity {
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

    /// Under the mutex, so every push either came before (its item is there) or sees the flag.
    fn close(&self) -> bool {
        let _items = F::lock(&self.items);
        // Release: pairs with the Acquire load in `is_closed`: a thread that sees the flag
        // sees the closer's writes, and — the mutex's unlock in every accepted push having
        // come before our lock — every accepted item, in its later pops.
        !self.closed.swap(true, Ordering::Release)
    }

    fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release swap in `close`.
        self.closed.load(Ordering::Acquire)
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
