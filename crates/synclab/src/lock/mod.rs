//! Locks and condition variables.
//!
//! The layering is `lock_api`'s (parking_lot): an implementation supplies only a small *raw
//! protocol* — [`RawLock`]: `lock`, `try_lock`, `unlock` — and one generic safe wrapper,
//! [`Mutex<T, R>`], owns the data and hands out an RAII [`MutexGuard`]. Each implementation is a
//! `pub type` alias away from a full mutex.
//!
//! | lock | raw protocol | how it waits |
//! |---|---|---|
//! | [`FutexMutex`] | [`RawFutexMutex`]: unlocked / locked / contended on one futex word | bounded load-only spin, then `futex::wait`; unlock wakes only if contended |
//! | [`CountingMutex`] | [`RawCountingMutex`]: a locked bit, a starvation bit, a hand-off bit and a count of sleepers in one futex word | spins (loads) while held, then registers and sleeps; unlock wakes only if someone is registered; barging, with hand-off once a waiter starves |
//! | [`SpinMutex`] | [`RawSpinLock`]: test-and-test-and-set | exponential backoff, then yielding; never sleeps |
//!
//! [`Condvar`] (a futex sequence counter) works with the guard of every `Mutex<T, R>`.
//!
//! A [`LockFamily`] bundles a mutex with the condition variable that works with its guard, so
//! a condvar-based design (the shared array, the locked queue, the condvar pool) is written
//! once and instantiated with std's pair ([`StdFamily`]) or synclab's futex pair
//! ([`FutexFamily`]).
//!
//! # Poisoning
//!
//! synclab's [`Mutex`] does not poison, like parking_lot's: a panic while a guard is alive
//! unlocks the mutex during unwinding, and the next holder sees the data as the panicking
//! holder left it. [`StdFamily`] wraps std's `Mutex`, which does poison; the family clears the
//! poison flag and hands out the guard anyway (`PoisonError::into_inner`), so every family
//! behaves the same way. The designs built on families keep their own invariants across a
//! panicking *task* by catching it outside the lock (see the pools).

use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};

use crate::sync::time::Instant;
use crate::sync::UnsafeCell;

pub mod condvar;
pub mod counting_mutex;
mod futex_family;
pub mod futex_mutex;
#[cfg(feature = "lock_api")]
pub mod lock_api_bridge;
pub mod spin;
mod std_family;

pub use condvar::{Condvar, CondvarIn, WaitTimeoutResult};
pub use counting_mutex::{CountingMutex, RawCountingMutex};
pub use futex_family::{CondvarFamily, CountingFamily, FutexFamily, FutexFamilyIn};
pub use futex_mutex::{FutexMutex, FutexMutexIn, RawFutexMutex, RawFutexMutexIn};
pub use spin::{RawSpinLock, SpinMutex};
pub use std_family::StdFamily;

/// The raw protocol of a mutual-exclusion lock: no data, no guard.
///
/// # Safety
///
/// Implementations must guarantee mutual exclusion: after `lock` returns or `try_lock`
/// returns `true`, no other call of `lock`/`try_lock` succeeds until `unlock` is called; and
/// `unlock` must *release* everything the holder wrote so that the next successful `lock` or
/// `try_lock` *acquires* it (a happens-before edge from unlock to the next lock).
pub unsafe trait RawLock: Send + Sync {
    /// A short name for tables and debug output, e.g. `"futex"`.
    const NAME: &'static str;

    /// A new, unlocked lock. (Not `const`: checker atomics cannot be built in const context.)
    fn new() -> Self;

    /// Blocks until the lock is acquired.
    fn lock(&self);

    /// Acquires the lock if it is free; never blocks.
    fn try_lock(&self) -> bool;

    /// Releases the lock.
    ///
    /// # Safety
    ///
    /// The lock must be held by the caller's context (acquired by `lock` or a successful
    /// `try_lock`, and not yet released).
    unsafe fn unlock(&self);
}

/// A [`RawLock`] that can give up waiting: the timed half of the protocol, for locks that sleep.
///
/// A timed acquisition that gives up must leave the lock as if it had never tried (its waiter
/// registration undone), and must not swallow a wake-up meant for another waiter: if it was
/// woken, or handed the lock, it takes the lock and reports success, however late.
///
/// Deadlines are [`crate::sync::time::Instant`]s: std's in the plain build, a frozen clock
/// under the model checkers (where a future deadline never passes by itself and timeouts are
/// explored by the futex model instead).
///
/// # Safety
///
/// As for [`RawLock`]: a `true` from `try_lock_for` or `try_lock_until` is an acquisition,
/// exclusive and ordered after the previous unlock.
pub unsafe trait RawLockTimed: RawLock {
    /// Blocks until the lock is acquired (`true`) or `deadline` has passed (`false`).
    fn try_lock_until(&self, deadline: Instant) -> bool;

    /// Blocks until the lock is acquired (`true`) or `timeout` has passed (`false`). A timeout
    /// too large to add to the clock waits without limit.
    fn try_lock_for(&self, timeout: core::time::Duration) -> bool {
        match Instant::now().checked_add(timeout) {
            Some(deadline) => self.try_lock_until(deadline),
            None => {
                self.lock();
                true
            }
        }
    }
}

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// From its previous holder's unlock, with the data consistent.
    Clean,
    /// A holder died holding the lock (a process killed in a shared segment), and nobody has
    /// marked the data consistent since: the data may be half-updated.
    OwnerDied,
}

/// A [`RawLock`] that can tell its next holder that a holder died holding it (the robust
/// mutex shape of POSIX `EOWNERDEAD` and iceoryx2's `LockAcquiredButOwnerDied`).
///
/// # Safety
///
/// As [`RawLock`]; and `lock_checked`/`try_lock_checked` acquire exactly as `lock`/`try_lock`
/// do, reporting [`Acquired::OwnerDied`] until a holder calls `make_consistent`.
pub unsafe trait RawRobustLock: RawLock {
    /// Blocks until acquired; says whether a previous holder died holding it.
    fn lock_checked(&self) -> Acquired;
    /// Acquires if free (or held by a dead holder); never blocks.
    fn try_lock_checked(&self) -> Option<Acquired>;
    /// Marks the data consistent again: later holders get [`Acquired::Clean`].
    ///
    /// # Safety
    ///
    /// The caller must hold the lock.
    unsafe fn make_consistent(&self);
}

/// The lock was acquired, but a holder died holding it: the data may be half-updated.
///
/// Repair it through [`guard`](OwnerDied::guard), then [`make_consistent`](Self::make_consistent);
/// or give up with [`into_inconsistent`](Self::into_inconsistent), and the next holder is told
/// again.
#[must_use = "the lock is held; repair the data and call make_consistent, or give up"]
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    /// The guard, to inspect and repair the data.
    pub fn guard(&mut self) -> &mut G {
        &mut self.guard
    }

    /// Keeps the lock without marking the data consistent: the next holder is told too.
    pub fn into_inconsistent(self) -> G {
        self.guard
    }
}

impl<'a, T, R: RawRobustLock> OwnerDied<MutexGuard<'a, T, R>> {
    /// Marks the data consistent and returns the guard; later holders get a clean lock.
    pub fn make_consistent(self) -> MutexGuard<'a, T, R> {
        // SAFETY: the guard proves the lock is held.
        unsafe { self.guard.mutex.raw.make_consistent() };
        self.guard
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerDied").finish_non_exhaustive()
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the lock was acquired, but a previous holder died holding it: the data may be inconsistent"
        )
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

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
        MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        }
    }

    /// Acquires the lock if it is free; `None` if it is held.
    #[inline]
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T, R>> {
        self.raw.try_lock().then(|| MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        })
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
        self.raw.try_lock_for(timeout).then(|| MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        })
    }

    /// Blocks until the lock is acquired or `deadline` has passed; `None` on timeout.
    #[inline]
    pub fn try_lock_until(&self, deadline: Instant) -> Option<MutexGuard<'_, T, R>>
    where
        R: RawLockTimed,
    {
        self.raw.try_lock_until(deadline).then(|| MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        })
    }

    /// Blocks until the lock is acquired; `Err(OwnerDied)` (still holding it) if a holder
    /// died holding it and nobody has marked the data consistent since.
    #[inline]
    pub fn lock_checked(&self) -> Result<MutexGuard<'_, T, R>, OwnerDied<MutexGuard<'_, T, R>>>
    where
        R: RawRobustLock,
    {
        let acquired = self.raw.lock_checked();
        let guard = MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        };
        match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied { guard }),
        }
    }

    /// Acquires the lock if it is free or its holder died; `None` if it is held. The result
    /// says, as [`lock_checked`](Self::lock_checked)'s, whether a holder died.
    #[allow(clippy::type_complexity)]
    pub fn try_lock_checked(
        &self,
    ) -> Option<Result<MutexGuard<'_, T, R>, OwnerDied<MutexGuard<'_, T, R>>>>
    where
        R: RawRobustLock,
    {
        let acquired = self.raw.try_lock_checked()?;
        let guard = MutexGuard {
            mutex: self,
            _not_send: PhantomData,
        };
        Some(match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied { guard }),
        })
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

    /// The raw lock, for code that pairs it with a condition variable.
    pub fn raw(&self) -> &R {
        &self.raw
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

/// A mutex and the condition variable that works with its guard, chosen together.
///
/// Designs that need "a lock plus a way to sleep until the state changes" are written once
/// over `F: LockFamily` and instantiated with each family.
pub trait LockFamily: Send + Sync + 'static {
    /// A short name for tables, e.g. `"std"` or `"futex"`.
    const NAME: &'static str;

    /// The family's mutex over `T`.
    type Mutex<T: Send>: Send + Sync;
    /// The guard of [`Self::Mutex`].
    type Guard<'a, T: Send + 'a>: DerefMut<Target = T>;
    /// The family's condition variable.
    type Condvar: Send + Sync;

    /// A new unlocked mutex holding `value`.
    fn mutex<T: Send>(value: T) -> Self::Mutex<T>;
    /// Locks `mutex`, blocking until it is free.
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T>;
    /// Locks `mutex` if it is free.
    fn try_lock<T: Send>(mutex: &Self::Mutex<T>) -> Option<Self::Guard<'_, T>>;
    /// A new condition variable.
    fn condvar() -> Self::Condvar;
    /// Atomically unlocks the guard's mutex and sleeps until notified; may return
    /// spuriously, so callers re-check (or use [`LockFamily::wait_while`]).
    fn wait<'a, T: Send>(condvar: &Self::Condvar, guard: Self::Guard<'a, T>) -> Self::Guard<'a, T>;
    /// As [`LockFamily::wait`], for at most `timeout`; returns the guard and whether it timed
    /// out (the caller re-checks its predicate either way). Under the exhaustive checker, std's pair is the checker's,
    /// whose `wait_timeout` never times out (that checker does not model time); synclab's futex pair
    /// times out whenever the futex model explores it.
    fn wait_timeout<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        timeout: core::time::Duration,
    ) -> (Self::Guard<'a, T>, bool);
    /// One step of a deadline loop: `(guard, true)` at once if `deadline` has passed, else
    /// [`LockFamily::wait_timeout`] for the time left; with no deadline, [`LockFamily::wait`].
    fn wait_until<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        deadline: Option<crate::sync::time::Instant>,
    ) -> (Self::Guard<'a, T>, bool) {
        match deadline {
            None => (Self::wait(condvar, guard), false),
            Some(deadline) => {
                let now = crate::sync::time::Instant::now();
                if now >= deadline {
                    (guard, true)
                } else {
                    Self::wait_timeout(condvar, guard, deadline - now)
                }
            }
        }
    }
    /// Wakes one waiter, if any.
    fn notify_one(condvar: &Self::Condvar);
    /// Wakes every waiter.
    fn notify_all(condvar: &Self::Condvar);

    /// Sleeps while `condition` holds, re-checking after every wake-up.
    fn wait_while<'a, T: Send>(
        condvar: &Self::Condvar,
        mut guard: Self::Guard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> Self::Guard<'a, T> {
        while condition(&mut *guard) {
            guard = Self::wait(condvar, guard);
        }
        guard
    }
}
