//! synclab's mutexes with the futex condvar as a [`LockFamily`], in any [`Memory`] (the heap,
//! or a segment shared by processes): [`FutexFamily`] / [`FutexFamilyIn`]
//! ([`FutexMutex`](super::FutexMutex)), [`CountingFamily`]
//! ([`CountingMutex`](super::CountingMutex)), and any other raw lock through
//! [`CondvarFamily`].

use core::fmt;
use core::marker::PhantomData;

use super::{CondvarIn, LockFamily, Mutex, MutexGuard, RawCountingMutex, RawFutexMutexIn, RawLock};
use crate::shm::{Heap, Memory};

/// A synclab [`Mutex<T, R>`] with the futex [`CondvarIn<M>`] (which works with every raw
/// lock's guard), as a [`LockFamily`].
///
/// In a segment ([`Shm`](crate::shm::Shm)), with `R = RawFutexMutexIn<Shm>`, its `lock` takes
/// over from a holder that died (the data as the dead holder left it; [`LockFamily::lock`]
/// cannot say so — designs that must know use
/// [`Mutex::lock_checked`](super::Mutex::lock_checked)), and its condvar's waits are bounded,
/// so a waiter whose notifier died wakes and re-checks.
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

/// [`FutexMutex`](super::FutexMutex) with the futex [`Condvar`](super::Condvar), on the heap.
pub type FutexFamily = FutexFamilyIn<Heap>;

/// [`FutexMutexIn<T, M>`](super::FutexMutexIn) with [`CondvarIn<M>`]: the futex pair in
/// memory `M`.
pub type FutexFamilyIn<M> = CondvarFamily<RawFutexMutexIn<M>, M>;

/// [`CountingMutex`](super::CountingMutex) with the futex [`Condvar`](super::Condvar).
pub type CountingFamily = CondvarFamily<RawCountingMutex>;

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
    type Condvar = CondvarIn<M>;

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
        CondvarIn::new()
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
