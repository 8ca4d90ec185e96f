//! The three-state futex mutex (std's design); the algorithm is documented on
//! [`RawFutexMutex`].

use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::futex;
use crate::sync::hint::Backoff;
use crate::sync::time::Instant;

use super::{Mutex, RawLock, RawLockTimed};

/// The lock is free.
const UNLOCKED: u32 = 0;
/// The lock is held and no thread is known to be sleeping on it.
const LOCKED: u32 = 1;
/// The lock is held and some thread may be sleeping on it: `unlock` must wake one.
const CONTENDED: u32 = 2;

/// Spin rounds (one hint each) of the slow path's wait; see [`backoff`].
const SPIN_ROUNDS: u32 = 20;
/// Yield rounds of the slow path's wait, after the spins; see [`backoff`].
const YIELD_ROUNDS: u32 = 10;

/// The wait before sleeping: `SPIN_ROUNDS` re-reads of the word with one spin hint between
/// them — enough to cover a short critical section running on another core — then
/// `YIELD_ROUNDS` re-reads with a yield of the time slice between them. A holder that was
/// preempted gets the CPU back this way, which on an oversubscribed machine is far cheaper
/// than a futex sleep (which also costs the unlocker a wake system call); parking_lot's
/// `SpinWait` does the same. (std spins 100 times and never yields.) Under a model checker
/// the schedule has no rounds ([`Backoff`]). The robust mutex waits on the same schedule.
pub(super) fn backoff() -> Backoff {
    Backoff::new(SPIN_ROUNDS, YIELD_ROUNDS).with_max_shift(0)
}

/// The raw three-state futex lock; use it through [`FutexMutex`].
///
/// A three-state futex mutex: one 32-bit word, a compare-and-swap to lock when free, and the
/// kernel only when someone has to sleep.
///
/// Source: Ulrich Drepper, "Futexes Are Tricky" (2011), mutex #2/#3; Rust's standard library,
/// `library/std/src/sys/sync/mutex/futex.rs` (the same three states and transitions);
/// parking_lot's `SpinWait` (spin, then yield, then sleep); Mara Bos, *Rust Atomics and
/// Locks*, chapter 9 ("Building Our Own Locks").
///
/// # States
///
/// | `futex`     | meaning                                          | entered by |
/// |-------------|--------------------------------------------------|------------|
/// | `UNLOCKED`  | free                                             | `unlock` (swap) |
/// | `LOCKED`    | held; nobody is (known to be) sleeping           | the fast path (CAS from `UNLOCKED`) |
/// | `CONTENDED` | held; some thread may be asleep in `futex::wait` | the slow path's swap, just before it sleeps |
///
/// A thread that is about to sleep first stores `CONTENDED` and then sleeps only while the word
/// is still `CONTENDED` (the futex compare-and-block is atomic). `unlock` swaps in `UNLOCKED`
/// and enters the kernel (`wake_one`) only if the old state was `CONTENDED`, so an uncontended
/// lock/unlock is two atomic RMWs and no system call.
///
/// A woken thread re-marks the word `CONTENDED` when it takes the lock (the slow path always
/// swaps `CONTENDED`, never `LOCKED`), because it cannot know whether other sleepers remain;
/// that is what guarantees every sleeper is eventually woken — at the cost of one spurious
/// `wake_one` after the last sleeper leaves.
///
/// `try_lock_for` / `try_lock_until` ([`RawLockTimed`]) run the same slow path with a deadline:
/// each sleep is a timed wait for the time left, and the waiter gives up only right after an
/// attempt to take the lock failed. Leaving the word `CONTENDED` behind is consistent — it only
/// ever over-approximates "someone sleeps" (one spare wake, at most).
///
/// One process only: the futex is private. Between processes, where a holder may be killed
/// holding the lock, use [`RobustMutex`](super::RobustMutex).
///
/// # Progress
///
/// Blocking, not fair: a running thread may barge ahead of a woken one. The wait before
/// sleeping is bounded (`SPIN_ROUNDS` spins, then `YIELD_ROUNDS` yields) and only loads, so
/// it neither ping-pongs the cache line nor burns a time slice when the holder has been
/// preempted: the yields hand the CPU to it.
///
/// # Examples
///
/// ```
/// use synclab::lock::FutexMutex;
///
/// let m = FutexMutex::new(1);
/// *m.lock() += 1;
/// assert_eq!(*m.lock(), 2);
/// ```
pub struct RawFutexMutex {
    /// [`UNLOCKED`], [`LOCKED`] or [`CONTENDED`].
    futex: AtomicU32,
}

/// A mutex over `T` built on [`RawFutexMutex`].
pub type FutexMutex<T> = Mutex<T, RawFutexMutex>;

impl RawFutexMutex {
    crate::sync::plain_world! {
        /// An unlocked lock, in const context (the `lock_api` bridge's `INIT`; plain build
        /// only).
        #[cfg(feature = "lock_api")]
        pub(crate) const fn const_new() -> Self {
            Self {
                futex: AtomicU32::new(UNLOCKED),
            }
        }
    }

    crate::sync::plain_world! {
        /// Whether the lock is held right now (a snapshot: it may change at once).
        #[cfg(feature = "lock_api")]
        pub(crate) fn is_locked(&self) -> bool {
            // Relaxed: a snapshot that orders nothing.
            self.futex.load(Relaxed) != UNLOCKED
        }
    }

    #[inline]
    fn try_acquire(&self) -> bool {
        // Acquire: pairs with the Release swap in `unlock`, so the previous holder's writes
        // are visible to us.
        self.futex
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
    }

    /// Waits (loads only) while the lock is held without sleepers, on the [`backoff`]
    /// schedule; returns the last state seen.
    fn spin(&self) -> u32 {
        let mut backoff = backoff();
        loop {
            // Relaxed: only a hint for what to try next; the CAS or swap that follows acquires.
            let state = self.futex.load(Relaxed);
            // Stop when it is free, and also when it is CONTENDED: there are sleepers already,
            // so waiting longer than they did only delays our own sleep.
            if state != LOCKED || backoff.is_completed() {
                return state;
            }
            backoff.snooze();
        }
    }

    /// Spins, then sleeps marked `CONTENDED`, until the lock is ours (`true`) or `deadline`
    /// has passed (`false`).
    #[cold]
    fn lock_contended(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.spin();

        // Free now: try to take it without announcing contention.
        if state == UNLOCKED {
            // Acquire: pairs with the Release swap in `unlock`, as in the fast path.
            match self
                .futex
                .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => state = seen,
            }
        }

        let mut timed_out = false;
        loop {
            // Announce that we may sleep. If the swap found the lock free, we now hold it (as
            // CONTENDED, since we cannot know whether others sleep). Skip the write when it is
            // already CONTENDED, to leave the cache line shared.
            // Acquire: pairs with the Release swap in `unlock` that set UNLOCKED.
            if state != CONTENDED && self.futex.swap(CONTENDED, Acquire) == UNLOCKED {
                return true;
            }
            // Giving up only after that attempt: a wake-up we consumed is never swallowed —
            // either we took the lock, or it is held and marked CONTENDED, so its holder's
            // unlock wakes the next sleeper.
            if timed_out {
                return false;
            }
            // Sleep while the word is still CONTENDED. The compare-and-block is atomic with
            // respect to `unlock`'s wake, so an unlock after our swap either changes the word
            // before we compare (we return at once) or finds us asleep.
            timed_out = futex::wait_until(&self.futex, CONTENDED, deadline).timed_out();
            state = self.spin();
        }
    }

    #[cold]
    fn wake(&self) {
        futex::wake_one(&self.futex);
    }
}

// SAFETY: mutual exclusion: the lock is taken only by a CAS from UNLOCKED or a swap that
// returned UNLOCKED, and `unlock` is the only write of UNLOCKED, so at most one thread sees the
// transition out of UNLOCKED per unlock. Every successful acquisition is an Acquire RMW that
// reads the Release swap of the previous `unlock` (or a later RMW in its release sequence), so
// unlock happens-before the next lock.
unsafe impl RawLock for RawFutexMutex {
    const NAME: &'static str = "futex";

    fn new() -> Self {
        Self {
            futex: AtomicU32::new(UNLOCKED),
        }
    }

    #[inline]
    fn lock(&self) {
        if !self.try_acquire() {
            self.lock_contended(None);
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.try_acquire()
    }

    #[inline]
    unsafe fn unlock(&self) {
        // Release: pairs with the Acquire CAS/swap of the next `lock`/`try_lock`, publishing
        // everything written under the lock.
        if self.futex.swap(UNLOCKED, Release) == CONTENDED {
            // Someone may sleep. Waking one is enough: it re-marks the word CONTENDED when it
            // takes the lock, so the next unlock wakes the next sleeper.
            self.wake();
        }
    }
}

// SAFETY: a `true` is an acquisition by the same CAS or swap as in `lock` (see above).
unsafe impl RawLockTimed for RawFutexMutex {
    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        self.try_acquire() || self.lock_contended(Some(deadline))
    }
}

impl core::fmt::Debug for RawFutexMutex {
    /// Reads nothing: the state changes under our feet and a load would be a checker step.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawFutexMutex").finish_non_exhaustive()
    }
}
