//! The [`LockFamily`] implementations: synclab's mutexes with the futex [`Condvar`]
//! ([`CondvarFamily`], and its aliases [`FutexFamily`], [`CountingFamily`], [`RobustFamily`]),
//! and std's pair ([`StdFamily`]).
//!
//! | family | mutex | condvar | memory |
//! |---|---|---|---|
//! | [`StdFamily`] | `std::sync::Mutex` | `std::sync::Condvar` | the heap |
//! | [`FutexFamily`] | [`FutexMutex`](super::FutexMutex) | [`Condvar`] | the heap |
//! | [`CountingFamily`] | [`CountingMutex`](super::CountingMutex) | [`Condvar`] | the heap |
//! | [`RobustFamily<M>`] | [`RobustMutex<T, M>`](super::RobustMutex) | [`Condvar<M>`] | `M`: a segment ([`Shm`](crate::shm::Shm)) or a model memory |
//! | [`CondvarFamily<R, M>`] | `Mutex<T, R>` for any raw lock `R` | [`Condvar<M>`] | `M` |
//!
//! A design placed in a segment names the robust family with the segment's memory, e.g.
//! `CondvarArray<T, RobustFamily<Shm>, Shm>`: the family says which lock and condvar guard the
//! state, the last parameter where the state lives; only matching pairs can be placed.

use core::fmt;
use core::marker::PhantomData;

use super::RawRobustMutex;
use super::{Condvar, LockFamily, Mutex, MutexGuard, RawCountingMutex, RawFutexMutex, RawLock};
use crate::shm::{Heap, Memory};
use crate::sync::{StdCondvar, StdMutex, StdMutexGuard};

/// A synclab [`Mutex<T, R>`] with the futex [`Condvar<M>`] (which works with every raw lock's
/// guard), as a [`LockFamily`].
///
/// In a segment ([`RobustFamily<Shm>`](RobustFamily)) its `lock` takes over from a holder that
/// died (the data as the dead holder left it; [`LockFamily::lock`] cannot say so — designs that
/// must know use [`Mutex::lock_checked`](super::Mutex::lock_checked)), and its condvar's waits
/// are bounded, so a waiter whose notifier died wakes and re-checks.
///
/// No poisoning: a holder that panics unlocks during unwinding and the next holder sees the
/// data as it was left (see the poisoning note in [the module](super)).
///
/// # Examples
///
/// ```
/// use synclab::lock::{FutexFamily, LockFamily};
///
/// let m = FutexFamily::mutex(0);
/// let cv = FutexFamily::condvar();
/// *FutexFamily::lock(&m) += 1;
/// FutexFamily::notify_all(&cv); // nobody waits: no system call
/// assert_eq!(*FutexFamily::lock(&m), 1);
/// ```
pub struct CondvarFamily<R, M = Heap>(PhantomData<fn() -> (R, M)>);

/// [`FutexMutex`](super::FutexMutex) with the futex [`Condvar`], on the heap.
pub type FutexFamily = CondvarFamily<RawFutexMutex>;

/// [`CountingMutex`](super::CountingMutex) with the futex [`Condvar`], on the heap.
pub type CountingFamily = CondvarFamily<RawCountingMutex>;

/// [`RobustMutex<T, M>`](super::RobustMutex) with [`Condvar<M>`]: the pair a design placed in
/// memory `M` (a segment) uses.
pub type RobustFamily<M> = CondvarFamily<RawRobustMutex<M>, M>;

impl<R, M> Clone for CondvarFamily<R, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R, M> Copy for CondvarFamily<R, M> {}

impl<R, M> Default for CondvarFamily<R, M> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<R: RawLock, M: Memory> fmt::Debug for CondvarFamily<R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CondvarFamily<{}, {}>", R::NAME, M::NAME)
    }
}

impl<R: RawLock + 'static, M: Memory> LockFamily for CondvarFamily<R, M> {
    const NAME: &'static str = R::NAME;

    type Mutex<T: Send> = Mutex<T, R>;
    type Guard<'a, T: Send + 'a> = MutexGuard<'a, T, R>;
    type Condvar = Condvar<M>;

    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        Mutex::new(value)
    }

    #[inline]
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T> {
        mutex.lock()
    }

    #[inline]
    fn try_lock<T: Send>(mutex: &Self::Mutex<T>) -> Option<Self::Guard<'_, T>> {
        mutex.try_lock()
    }

    fn condvar() -> Self::Condvar {
        Condvar::new_in()
    }

    #[inline]
    fn wait<'a, T: Send>(condvar: &Self::Condvar, guard: Self::Guard<'a, T>) -> Self::Guard<'a, T> {
        condvar.wait(guard)
    }

    fn wait_timeout<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        timeout: core::time::Duration,
    ) -> (Self::Guard<'a, T>, bool) {
        let (guard, result) = condvar.wait_timeout(guard, timeout);
        (guard, result.timed_out())
    }

    #[inline]
    fn notify_one(condvar: &Self::Condvar) {
        condvar.notify_one();
    }

    #[inline]
    fn notify_all(condvar: &Self::Condvar) {
        condvar.notify_all();
    }

    fn wait_while<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        condition: impl FnMut(&mut T) -> bool,
    ) -> Self::Guard<'a, T> {
        condvar.wait_while(guard, condition)
    }
}

/// std's `Mutex` and `Condvar` (the checker's own pair under a model checker).
///
/// std poisons a mutex whose holder panicked; this family ignores the flag and hands out the
/// guard (see the poisoning note in [the module](super)).
#[derive(Debug, Clone, Copy, Default)]
pub struct StdFamily;

impl LockFamily for StdFamily {
    const NAME: &'static str = "std";

    type Mutex<T: Send> = StdMutex<T>;
    type Guard<'a, T: Send + 'a> = StdMutexGuard<'a, T>;
    type Condvar = StdCondvar;

    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        StdMutex::new(value)
    }

    #[inline]
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T> {
        mutex
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    #[inline]
    fn try_lock<T: Send>(mutex: &Self::Mutex<T>) -> Option<Self::Guard<'_, T>> {
        match mutex.try_lock() {
            Ok(guard) => Some(guard),
            Err(std::sync::TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }

    fn condvar() -> Self::Condvar {
        StdCondvar::new()
    }

    #[inline]
    fn wait<'a, T: Send>(condvar: &Self::Condvar, guard: Self::Guard<'a, T>) -> Self::Guard<'a, T> {
        condvar
            .wait(guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn wait_timeout<'a, T: Send>(
        condvar: &Self::Condvar,
        guard: Self::Guard<'a, T>,
        timeout: core::time::Duration,
    ) -> (Self::Guard<'a, T>, bool) {
        let (guard, result) = condvar
            .wait_timeout(guard, timeout)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        (guard, result.timed_out())
    }

    #[inline]
    fn notify_one(condvar: &Self::Condvar) {
        condvar.notify_one();
    }

    #[inline]
    fn notify_all(condvar: &Self::Condvar) {
        condvar.notify_all();
    }
}
