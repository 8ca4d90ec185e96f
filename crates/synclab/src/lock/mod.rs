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
//! | [`RobustMutex<T, M>`](RobustMutex) | [`RawRobustMutex<M>`]: the holder's tag, an owner-died bit and a waiters bit | as the futex mutex, with bounded sleeps; a holder that died is taken over, and [`Mutex::lock_checked`] reports [`OwnerDied`] |
//!
//! The first three live in one process; the robust mutex is what a segment shared by processes
//! uses ([`crate::shm`]), where a holder may be killed holding the lock.
//!
//! [`Condvar`] (a futex sequence counter) works with the guard of every `Mutex<T, R>`.
//!
//! A [`LockFamily`] bundles a mutex with the condition variable that works with its guard, so
//! a condvar-based design (the shared array, the locked queue, the condvar pool) is written
//! once and instantiated with std's pair ([`StdFamily`]) or synclab's futex pair
//! ([`FutexFamily`]); in a segment, with [`RobustFamily`].
//!
//! With the cargo feature `lock_api`, [`RawFutexMutex`] and [`RawCountingMutex`] implement
//! `lock_api::RawMutex` and `RawMutexTimed`, so `lock_api::Mutex<RawCountingMutex, T>` has
//! parking_lot's whole guard API: mapped guards, `const` construction for statics, timed locks
//! (plain build only: `INIT` is a `const`, which the checkers' atomics cannot be).
//!
//! # Poisoning
//!
//! synclab's [`Mutex`] does not poison, like parking_lot's: a panic while a guard is alive
//! unlocks the mutex during unwinding, and the next holder sees the data as the panicking
//! holder left it. [`StdFamily`] wraps std's `Mutex`, which does poison; the family clears the
//! poison flag and hands out the guard anyway (`PoisonError::into_inner`), so every family
//! behaves the same way. The designs built on families keep their own invariants across a
//! panicking *task* by catching it outside the lock (see the pools).

use core::ops::DerefMut;

use crate::sync::time::Instant;

mod condvar;
mod counting_mutex;
mod family;
mod futex_mutex;
crate::sync::plain_world! {
    #[cfg(feature = "lock_api")]
    mod lock_api_bridge;
}
mod mutex;
mod robust_mutex;
#[cfg(target_os = "linux")]
mod segment;
mod spin;

pub use self::{
    condvar::{Condvar, WaitTimeoutResult},
    counting_mutex::{CountingMutex, RawCountingMutex},
    family::{CondvarFamily, CountingFamily, FutexFamily, RobustFamily, StdFamily},
    futex_mutex::{FutexMutex, RawFutexMutex},
    mutex::{Mutex, MutexGuard},
    robust_mutex::{Acquired, OwnerDied, RawRobustLock, RawRobustMutex, RobustMutex},
    spin::{RawSpinLock, SpinMutex},
};

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
