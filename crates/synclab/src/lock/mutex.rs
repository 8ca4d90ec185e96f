//! The generic mutex: a [`RawLock`] protocol `R` and the data it guards, with an RAII guard
//! (the layering of `lock_api`'s `Mutex<R, T>`; synclab puts the data first, as std does).

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::sync::time::Instant;
use crate::sync::UnsafeCell;

use super::{RawLock, RawLockTimed};

/// A mutual-exclusion lock over `T`, generic over its raw protocol `R`.
pub struct Mutex<T, R: RawLock> {
    raw: R,
    data: UnsafeCell<T>,
}

// SAFETY: the lock gives exclusive access to `T` to one thread at a time, so sharing the
// mutex shares `T` only by moving access between threads: `T: Send` is enough (as for std).
unsafe impl<T: Send, R: RawLock> Sync for Mutex<T, R> {}
// SAFETY: moving the mutex moves `T`; `R: Send` by the `RawLock` bound.
unsafe impl<T: Send, R: RawLock> Send for Mutex<T, R> {}

impl<T, R: RawLock> Mutex<T, R> {
    /// A new unlocked mutex holding `value`.
    pub fn new(value: T) -> Self {
        Self {
            raw: R::new(),
            data: UnsafeCell::new(value),
        }
    }

    /// Blocks until the lock is acquired and returns a guard that unlocks on drop.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T, R> {
        self.raw.lock();
        // SAFETY: just acquired.
        unsafe { self.guard() }
    }

    /// Acquires the lock if it is free; `None` if it is held.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, R>> {
        // SAFETY: `then` runs the closure only if the lock was acquired.
        self.raw.try_lock().then(|| unsafe { self.guard() })
    }

    /// Blocks until the lock is acquired or `timeout` has passed; `None` on timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::lock::CountingMutex;
    ///
    /// let m = CountingMutex::new(1);
    /// let held = m.lock();
    /// assert!(m.try_lock_for(Duration::from_millis(1)).is_none());
    /// drop(held);
    /// assert_eq!(m.try_lock_for(Duration::from_millis(1)).map(|g| *g), Some(1));
    /// ```
    #[inline]
    pub fn try_lock_for(&self, timeout: core::time::Duration) -> Option<MutexGuard<'_, T, R>>
    where
        R: RawLockTimed,
    {
        // SAFETY: `then` runs the closure only if the lock was acquired.
        self.raw
            .try_lock_for(timeout)
            .then(|| unsafe { self.guard() })
    }

    /// Blocks until the lock is acquired or `deadline` has passed; `None` on timeout.
    #[inline]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T, R>>
    where
        R: RawLockTimed,
    {
        // SAFETY: `then` runs the closure only if the lock was acquired.
        self.raw
            .try_lock_until(deadline)
            .then(|| unsafe { self.guard() })
    }

    /// The guard of a lock the caller has just acquired through [`Self::raw`] (the robust
    /// mutex's checked acquisitions build their guards here).
    ///
    /// # Safety
    ///
    /// The caller's context must hold the lock, and no other guard may exist for it: the
    /// guard unlocks it when dropped.
    #[inline]
    pub(super) unsafe fn guard(&self) -> MutexGuard<'_, T, R> {
        MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        }
    }

    /// Mutable access without locking: `&mut self` proves no guard exists.
    pub fn get_mut(&mut self) -> &mut T {
        // SAFETY: `&mut self` excludes every guard and every other reference to the data.
        self.data.with_mut(|p| unsafe { &mut *p })
    }

    /// Consumes the mutex and returns the data.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }

    /// The raw lock (the robust mutex's checked acquisitions reach it here).
    pub(crate) fn raw(&self) -> &R {
        &self.raw
    }
}

#[cfg(feature = "fault-injection")]
impl<T, R: RawLock + crate::fault::Probe> crate::fault::Probe for Mutex<T, R> {
    /// The raw lock's reading.
    type Reading = R::Reading;

    fn probe(&self) -> R::Reading {
        self.raw.probe()
    }
}

impl<T: Default, R: RawLock> Default for Mutex<T, R> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: fmt::Debug, R: RawLock> fmt::Debug for Mutex<T, R> {
    /// Shows the data only if the lock is free right now (`try_lock`), never racily.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        d.field("raw", &R::NAME);
        match self.try_lock() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish()
    }
}

/// Proof that a [`Mutex`] is held; unlocks it on drop.
#[must_use = "if unused the Mutex will immediately unlock"]
pub struct MutexGuard<'a, T, R: RawLock> {
    mutex: &'a Mutex<T, R>,
    /// Unlocking must happen on the locking thread for some raw locks (as std's guard).
    _not_send: PhantomData<*const ()>,
}

// SAFETY: a shared guard only gives `&T`, so it may be shared when `T: Sync`.
unsafe impl<T: Sync, R: RawLock> Sync for MutexGuard<'_, T, R> {}

impl<'a, T, R: RawLock> MutexGuard<'a, T, R> {
    /// The mutex this guard holds.
    pub fn mutex(guard: &Self) -> &'a Mutex<T, R> {
        guard.mutex
    }

    /// Releases the lock, runs `f`, and re-acquires it: the building block of a condition
    /// variable that works with this guard.
    ///
    /// The lock is re-acquired even if `f` panics, so the guard never unlocks twice.
    pub fn unlocked<U>(guard: &mut Self, f: impl FnOnce() -> U) -> U {
        /// Re-locks on drop, so a panic in `f` leaves the guard holding the lock again.
        struct Relock<'r, R: RawLock>(&'r R);
        impl<R: RawLock> Drop for Relock<'_, R> {
            fn drop(&mut self) {
                self.0.lock();
            }
        }
        // SAFETY: the guard proves the lock is held by this context; `Relock` takes it again
        // before the guard can be used or dropped.
        unsafe { guard.mutex.raw.unlock() };
        let _relock = Relock(&guard.mutex.raw);
        f()
    }
}

impl<T, R: RawLock> Deref for MutexGuard<'_, T, R> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard proves the lock is held, so no `&mut T` exists elsewhere.
        self.mutex.data.with(|p| unsafe { &*p })
    }
}

impl<T, R: RawLock> DerefMut for MutexGuard<'_, T, R> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard proves the lock is held, and `&mut self` that this is the only
        // reference derived from it.
        self.mutex.data.with_mut(|p| unsafe { &mut *p })
    }
}

impl<T, R: RawLock> Drop for MutexGuard<'_, T, R> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the guard proves the lock is held by this context; it is released once.
        unsafe { self.mutex.raw.unlock() };
    }
}

impl<T: fmt::Debug, R: RawLock> fmt::Debug for MutexGuard<'_, T, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}
