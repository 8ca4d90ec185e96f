//! The test-and-test-and-set spin lock; the algorithm is documented on [`RawSpinLock`].

use crate::sync::atomic::{AtomicBool, Ordering::*};
use crate::sync::hint::Backoff;

use super::{Mutex, RawLock};

/// The lock is free.
pub(crate) const FREE: bool = false;
/// The lock is held.
pub(crate) const HELD: bool = true;

/// The last backoff round that spins: rounds `0..=SPIN_STEPS` spin `2^step` hints each (1 to
/// 64), every later round yields ([`Backoff`] with [`Backoff::UNBOUNDED`] yields).
pub(crate) const SPIN_STEPS: u32 = 6;

/// The raw TTAS spin lock; use it through [`SpinMutex`].
///
/// A test-and-test-and-set spin lock with bounded exponential backoff: the baseline that shows
/// what sleeping on a futex buys.
///
/// Source: Herlihy & Shavit, *The Art of Multiprocessor Programming*, §7.3–7.4 (TTAS and
/// exponential backoff); crossbeam-utils' `Backoff` for the spin-then-yield schedule; Mara Bos,
/// *Rust Atomics and Locks*, chapter 4.
///
/// # States
///
/// | `locked` | meaning |
/// |----------|---------|
/// | `FREE` (`false`) | nobody holds the lock |
/// | `HELD` (`true`)  | one thread holds it; others spin, reading only |
///
/// A waiter reads the flag until it looks free (the *test*), and only then tries a CAS (the
/// *test-and-set*), so waiting threads share the cache line instead of fighting over it. After
/// each failed round the waiter pauses `2^step` spin hints, `step` growing to
/// `SPIN_STEPS`; beyond that it yields its time slice on every round, so a waiter whose
/// holder was preempted gives the CPU back instead of spinning through the holder's quantum.
///
/// # Progress
///
/// Blocking and unfair; never sleeps in the kernel. A waiter burns CPU (or at least
/// scheduler round trips) for as long as the lock is held.
///
/// **It starves threads.** The holder re-takes the lock from its own cache before a spinner on
/// another core sees it free, so under contention the best-served thread can get orders of
/// magnitude more acquisitions than the worst (the `locks/spread-cs` and `locks/fairness-cs`
/// benchmarks measure it). No bound is offered: use [`CountingMutex`](super::CountingMutex)
/// where threads must not starve.
///
/// # Examples
///
/// ```
/// use synclab::lock::SpinMutex;
///
/// let m = SpinMutex::new(vec![1]);
/// m.lock().push(2);
/// assert_eq!(*m.lock(), [1, 2]);
/// ```
pub struct RawSpinLock {
    /// [`FREE`] or [`HELD`].
    locked: AtomicBool,
}

/// A mutex over `T` built on [`RawSpinLock`].
pub type SpinMutex<T> = Mutex<T, RawSpinLock>;

impl RawSpinLock {
    #[cold]
    fn lock_contended(&self) {
        let mut backoff = Backoff::new(SPIN_STEPS + 1, Backoff::UNBOUNDED);
        loop {
            // Test: wait, reading only, until the lock looks free. Relaxed: only a hint; the
            // CAS below is what acquires.
            while self.locked.load(Relaxed) == HELD {
                backoff.snooze();
            }
            // Test-and-set. Acquire: pairs with the Release store in `unlock`.
            if self.try_acquire() {
                return;
            }
        }
    }

    /// One compare-and-swap from FREE to HELD.
    ///
    /// A CAS rather than a `swap(HELD)`: on x86 both are one locked instruction, but a failed
    /// CAS writes nothing, so the loser does not publish a store of its own. (It also keeps the
    /// lock checkable: a known bug of one model checker lets a plain store slip between the
    /// read and the write of a concurrent `swap`, which a single CAS does not suffer from; see
    /// docs/zoo.md, "Bugs the checkers found in the real designs".)
    #[inline]
    fn try_acquire(&self) -> bool {
        // Acquire: pairs with the Release store in `unlock`.
        self.locked
            .compare_exchange(FREE, HELD, Acquire, Relaxed)
            .is_ok()
    }
}

// SAFETY: mutual exclusion: only a CAS from FREE takes the lock, and `unlock` is the
// only store of FREE, so each unlock lets exactly one CAS succeed. Acquisitions are Acquire
// CASes reading the Release store of the previous `unlock` (or an RMW after it), so unlock
// happens-before the next lock.
unsafe impl RawLock for RawSpinLock {
    const NAME: &'static str = "spin";

    fn new() -> Self {
        Self {
            locked: AtomicBool::new(FREE),
        }
    }

    #[inline]
    fn lock(&self) {
        if !self.try_acquire() {
            self.lock_contended();
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        // Test first, so a failing try_lock does not take the line exclusively. Relaxed: a hint;
        // `try_acquire`'s CAS is what acquires.
        self.locked.load(Relaxed) == FREE && self.try_acquire()
    }

    #[inline]
    unsafe fn unlock(&self) {
        // Release: pairs with the Acquire CAS of the next `lock`/`try_lock`.
        self.locked.store(FREE, Release);
    }
}

impl core::fmt::Debug for RawSpinLock {
    /// Reads nothing: the flag changes under our feet and a load would be a checker step.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawSpinLock").finish_non_exhaustive()
    }
}
