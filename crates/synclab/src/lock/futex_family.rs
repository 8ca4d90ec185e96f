//! synclab's mutexes with the futex [`Condvar`] as a [`LockFamily`]: [`FutexFamily`]
//! ([`FutexMutex`](super::FutexMutex)), [`CountingFamily`]
//! ([`CountingMutex`](super::CountingMutex)), and any other raw lock through
//! [`CondvarFamily`].

use core::fmt;
use core::marker::PhantomData;

use super::{Condvar, LockFamily, Mutex, MutexGuard, RawCountingMutex, RawFutexMutex, RawLock};

/// A synclab [`Mutex<T, R>`] with the futex [`Condvar`] (which works with every raw lock's
/// guard), as a [`LockFamily`].
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
pub struct CondvarFamily<R>(PhantomData<fn() -> R>);

/// [`FutexMutex`](super::FutexMutex) with the futex [`Condvar`].
pub type FutexFamily = CondvarFamily<RawFutexMutex>;

/// [`CountingMutex`](super::CountingMutex) with the futex [`Condvar`].
pub type CountingFamily = CondvarFamily<RawCountingMutex>;

impl<R> Clone for CondvarFamily<R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R> Copy for CondvarFamily<R> {}

impl<R> Default for CondvarFamily<R> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<R: RawLock> fmt::Debug for CondvarFamily<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CondvarFamily<{}>", R::NAME)
    }
}

impl<R: RawLock + 'static> LockFamily for CondvarFamily<R> {
    const NAME: &'static str = R::NAME;

    type Mutex<T: Send> = Mutex<T, R>;
    type Guard<'a, T: Send + 'a> = MutexGuard<'a, T, R>;
    type Condvar = Condvar;

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
        Condvar::new()
    }

    #[inline]
    fn wait<'a, T: Send>(condvar: &Self::Condvar, guard: Self::Guard<'a, T>) -> Self::Guard<'a, T> {
        condvar.wait(guard)
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
