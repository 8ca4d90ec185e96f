//! std's `Mutex` + `Condvar` as a [`LockFamily`] (the checker's own pair under a model checker).

use super::LockFamily;
use crate::sync::{StdCondvar, StdMutex, StdMutexGuard};

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
