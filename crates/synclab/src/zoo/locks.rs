//! Zoo entries for the locks: four classic ways to break a futex mutex or a condition
//! variable, each one change away from the real design in [`crate::lock`].
//!
//! | entry | the one change | how it fails | fixed in |
//! |---|---|---|---|
//! | [`RelaxedUnlockMutex`] | `unlock` swaps with `Relaxed` instead of `Release` | data race: the next holder reads the protected data without a happens-before edge | [`RawFutexMutex`] |
//! | [`TwoStateFutexMutex`] | only two states: the word never records that someone sleeps, so `unlock` never wakes | lost wakeup: a thread asleep in `lock` sleeps forever | the `CONTENDED` state of [`RawFutexMutex`] |
//! | [`wait_without_recheck`] | `if` instead of `while` around [`Condvar::wait`] | assertion: a spurious return runs on with the predicate false | [`Condvar::wait_while`] |
//! | [`CountFirstCondvar`] | `notify` reads the waiter count *before* bumping the sequence (and waiters register after unlocking) | lost wakeup: a waiter registers and sleeps between the read and the bump | [`Condvar`]: bump first, register under the lock |
//!
//! These types are deliberately wrong. They are not [`RawLock`]s (whose
//! safety contract they break) and nothing in the library uses them; the verification crate
//! runs each as an expected failure (`verification/tests/locks.rs`, `docs/zoo.md`).

use crate::lock::{Condvar, FutexMutex, MutexGuard, RawFutexMutex, RawLock};
use crate::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};
use crate::sync::futex;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
const CONTENDED: u32 = 2;

/// The three-state futex mutex with one bug: `unlock` uses `Relaxed` instead of `Release`.
///
/// The next holder's Acquire CAS reads a Relaxed store, which synchronizes with nothing, so
/// the previous holder's writes to the protected data are not ordered before its reads: a data
/// race. On x86 this happens to work (every store is a release there); on ARM it does not, and a
/// checker of the C11 model sees it on any machine. A checker that treats every atomic as
/// SeqCst cannot.
pub struct RelaxedUnlockMutex {
    state: AtomicU32,
}

impl RelaxedUnlockMutex {
    /// A new, unlocked mutex.
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Locks, exactly as [`RawFutexMutex`] does (Acquire on success).
    pub fn lock(&self) {
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
        {
            return;
        }
        // Acquire (both): meant to pair with a Release unlock, which never comes.
        while self.state.swap(CONTENDED, Acquire) != UNLOCKED {
            futex::wait(&self.state, CONTENDED);
        }
    }

    /// Unlocks. THE BUG: `Relaxed` publishes nothing to the next holder.
    pub fn unlock(&self) {
        if self.state.swap(UNLOCKED, Relaxed) == CONTENDED {
            futex::wake_one(&self.state);
        }
    }
}

impl Default for RelaxedUnlockMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for RelaxedUnlockMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RelaxedUnlockMutex").finish_non_exhaustive()
    }
}

/// A futex mutex with only two states, unlocked and locked.
///
/// A thread that finds the lock taken sleeps on the word while it reads LOCKED. The word cannot
/// say whether anyone sleeps, so `unlock` must either enter the kernel on every call or guess;
/// this one never wakes ("a wake is a system call, and usually nobody sleeps"). The first
/// thread that actually sleeps is never woken: a lost wakeup, seen as a deadlock. Drepper's
/// "Futexes Are Tricky" walks through this and arrives at the third state.
pub struct TwoStateFutexMutex {
    state: AtomicU32,
}

impl TwoStateFutexMutex {
    /// A new, unlocked mutex.
    pub fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    /// Takes the lock, sleeping on the word while it is LOCKED.
    pub fn lock(&self) {
        // Acquire: pairs with the Release swap in `unlock`.
        while self.state.swap(LOCKED, Acquire) != UNLOCKED {
            futex::wait(&self.state, LOCKED);
        }
    }

    /// Releases the lock. THE BUG: nothing recorded a sleeper, so nothing wakes one.
    pub fn unlock(&self) {
        // Release: pairs with the Acquire swap in `lock`.
        self.state.swap(UNLOCKED, Release);
    }
}

impl Default for TwoStateFutexMutex {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for TwoStateFutexMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("TwoStateFutexMutex").finish_non_exhaustive()
    }
}

/// Waits until `*flag` is true — with `if` instead of `while`. THE BUG: [`Condvar::wait`] may
/// return spuriously (the futex did, or another notification bumped the sequence), and this
/// returns the guard with the flag still false.
pub fn wait_without_recheck<'a>(
    flag: &'a FutexMutex<bool>,
    cv: &Condvar,
) -> MutexGuard<'a, bool, RawFutexMutex> {
    let guard = flag.lock();
    if !*guard {
        return cv.wait(guard);
    }
    guard
}

/// A condition variable that counts its waiters to skip the wake system call — with the count
/// read at the wrong moment.
///
/// Waiters register only after releasing the mutex ("to keep the critical section short"), and
/// `notify_one` reads the count *before* bumping the sequence. A waiter can then read the
/// sequence and unlock; the notifier takes the lock, changes the predicate, unlocks, reads
/// `waiters == 0`; the waiter registers and compares the sequence — unchanged, so it sleeps; the
/// notifier bumps the sequence and, having seen no waiter, wakes nobody. The real
/// [`Condvar`] registers under the mutex and bumps before it reads, so the notifier's read is
/// ordered after the registration.
pub struct CountFirstCondvar {
    seq: AtomicU32,
    waiters: AtomicUsize,
}

impl CountFirstCondvar {
    /// A new condition variable.
    pub fn new() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicUsize::new(0),
        }
    }

    /// Unlocks, sleeps until notified, re-locks.
    pub fn wait<'a, T, R: RawLock>(&self, mut guard: MutexGuard<'a, T, R>) -> MutexGuard<'a, T, R> {
        let seen = self.seq.load(Relaxed);
        MutexGuard::unlocked(&mut guard, || {
            // Registering here, outside the lock, is half of the bug.
            self.waiters.fetch_add(1, Relaxed);
            futex::wait(&self.seq, seen);
            self.waiters.fetch_sub(1, Relaxed);
        });
        guard
    }

    /// Wakes one waiter — unless it looked as if nobody waited. THE BUG: the count is read
    /// before the sequence changes.
    pub fn notify_one(&self) {
        let waiters = self.waiters.load(Relaxed);
        self.seq.fetch_add(1, Relaxed);
        if waiters > 0 {
            futex::wake_one(&self.seq);
        }
    }
}

impl Default for CountFirstCondvar {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for CountFirstCondvar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CountFirstCondvar").finish_non_exhaustive()
    }
}
