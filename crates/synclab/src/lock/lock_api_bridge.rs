//! The `lock_api` bridge (cargo feature `lock_api`): synclab's futex locks as
//! [`lock_api::RawMutex`] (and [`lock_api::RawMutexTimed`]), so that
//! `lock_api::Mutex<RawCountingMutex, T>` has parking_lot's whole guard API — mapped guards
//! (`MutexGuard::map`), `const` construction for statics (through [`lock_api::RawMutex::INIT`]),
//! `try_lock_for`, `ArcMutexGuard` with lock_api's `arc_lock` feature.
//!
//! Plain build only: `INIT` is a `const`, and the model checkers' atomics cannot be built in
//! const context (`sync` refuses the feature under a checker cfg with a clear error). The
//! protocol is the same code either way — these impls only forward to [`RawLock`] and
//! [`RawLockTimed`], so what the models check is what `lock_api::Mutex` runs.
//!
//! # Examples
//!
//! ```
//! use lock_api::{Mutex, MutexGuard};
//! use synclab::lock::RawCountingMutex;
//!
//! // `const` construction: a static mutex, no lazy initialisation (`Mutex::new` is a
//! // `const fn` built on `RawMutex::INIT`).
//! static NAMES: Mutex<RawCountingMutex, Vec<&str>> = Mutex::new(Vec::new());
//!
//! NAMES.lock().push("futex");
//! NAMES.lock().push("counting");
//! // A mapped guard: lock the vector, hand out only its first element.
//! let mut first = MutexGuard::map(NAMES.lock(), |names| &mut names[0]);
//! *first = "three-state";
//! drop(first);
//! assert_eq!(*NAMES.lock(), ["three-state", "counting"]);
//! assert!(NAMES.try_lock_for(std::time::Duration::from_millis(1)).is_some());
//! ```

use lock_api::{GuardNoSend, RawMutex, RawMutexTimed};

use super::{RawCountingMutex, RawFutexMutex, RawLock, RawLockTimed};
use crate::sync::futex::WakeScope;
use crate::sync::time::Instant;

/// `lock_api::RawMutex` + `RawMutexTimed` for a synclab lock, forwarding every method.
macro_rules! bridge {
    ($lock:ty $(where $param:ident: $bound:path)?) => {
        // SAFETY: `lock`, `try_lock` and `unlock` are `RawLock`'s, whose contract (mutual
        // exclusion, unlock happens-before the next lock) is exactly `lock_api::RawMutex`'s;
        // `unlock`'s precondition (held by the caller's context) is the same in both traits.
        // `INIT` is an unlocked lock, as `RawLock::new` builds.
        unsafe impl$(<$param: $bound>)? RawMutex for $lock {
            #[allow(clippy::declare_interior_mutable_const)] // lock_api's `INIT` is by design.
            const INIT: Self = <$lock>::const_new();
            type GuardMarker = GuardNoSend;

            #[inline]
            fn lock(&self) {
                RawLock::lock(self);
            }

            #[inline]
            fn try_lock(&self) -> bool {
                RawLock::try_lock(self)
            }

            #[inline]
            unsafe fn unlock(&self) {
                // SAFETY: the caller guarantees the lock is held by its context (lock_api's
                // contract).
                unsafe { RawLock::unlock(self) }
            }

            #[inline]
            fn is_locked(&self) -> bool {
                <$lock>::is_locked(self)
            }
        }

        // SAFETY: a `true` is an acquisition by `RawLockTimed`, under the same contract as
        // `lock`.
        unsafe impl$(<$param: $bound>)? RawMutexTimed for $lock {
            type Duration = core::time::Duration;
            type Instant = Instant;

            #[inline]
            fn try_lock_for(&self, timeout: Self::Duration) -> bool {
                RawLockTimed::try_lock_for(self, timeout)
            }

            #[inline]
            fn try_lock_until(&self, deadline: Self::Instant) -> bool {
                RawLockTimed::try_lock_until(self, deadline)
            }
        }
    };
}

bridge!(RawFutexMutex);
bridge!(RawCountingMutex<S> where S: WakeScope);

#[cfg(test)]
mod tests {
    use super::*;

    /// Both locks give lock_api's guard API: exclusion, mapped guards, timed locks.
    fn exercise<R>()
    where
        R: RawMutex + RawMutexTimed<Duration = core::time::Duration> + Send + Sync + 'static,
    {
        let m = std::sync::Arc::new(lock_api::Mutex::<R, u64>::new(0));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let m = std::sync::Arc::clone(&m);
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        *m.lock() += 1;
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(*m.lock(), 4000);
        let guard = m.lock();
        assert!(m.is_locked());
        assert!(m.try_lock().is_none());
        assert!(m
            .try_lock_for(core::time::Duration::from_millis(1))
            .is_none());
        drop(guard);
        let mapped = lock_api::MutexGuard::map(m.lock(), |v| v);
        assert_eq!(*mapped, 4000);
    }

    #[test]
    fn futex_mutex_through_lock_api() {
        exercise::<RawFutexMutex>();
    }

    #[test]
    fn counting_mutex_through_lock_api() {
        exercise::<RawCountingMutex>();
    }
}
