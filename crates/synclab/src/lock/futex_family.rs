//! synclab's futex pair — [`FutexMutex`] and [`Condvar`] — as a [`LockFamily`].

use super::{Condvar, FutexMutex, LockFamily, MutexGuard, RawFutexMutex};

/// [`FutexMutex`] with the futex [`Condvar`].
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
#[derive(Debug, Clone, Copy, Default)]
pub struct FutexFamily;

impl LockFamily for FutexFamily {
    const NAME: &'static str = "futex";

    type Mutex<T: Send> = FutexMutex<T>;
    type Guard<'a, T: Send + 'a> = MutexGuard<'a, T, RawFutexMutex>;
    type Condvar = Condvar;

    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        FutexMutex::new(value)
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
