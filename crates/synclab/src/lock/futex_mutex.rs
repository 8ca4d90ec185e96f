//! A three-state futex mutex: one 32-bit word, a compare-and-swap to lock when free, and the
//! kernel only when someone has to sleep.
//!
//! Source: Ulrich Drepper, "Futexes Are Tricky" (2011), mutex #2/#3; Rust's standard library,
//! `library/std/src/sys/sync/mutex/futex.rs` (the same three states and transitions);
//! parking_lot's `SpinWait` (spin, then yield, then sleep);
//! Mara Bos, *Rust Atomics and Locks*, chapter 9 ("Building Our Own Locks").
//!
//! # States
//!
//! | `state`        | meaning                                      | entered by |
//! |----------------|----------------------------------------------|------------|
//! | `UNLOCKED`   | free                                         | `unlock` (swap) |
//! | `LOCKED`     | held; nobody is (known to be) sleeping       | `lock`/`try_lock` fast path (CAS from `UNLOCKED`) |
//! | `CONTENDED`  | held; some thread may be asleep in `futex::wait` | the slow path's swap, just before it sleeps |
//!
//! A thread that is about to sleep first stores `CONTENDED` and then sleeps only while the word
//! is still `CONTENDED` (the futex compare-and-block is atomic). `unlock` swaps in `UNLOCKED`
//! and enters the kernel (`wake_one`) only if the old state was `CONTENDED`, so an uncontended
//! lock/unlock is two atomic RMWs and no system call.
//!
//! A woken thread re-marks the word `CONTENDED` when it takes the lock (the slow path always
//! swaps `CONTENDED`, never `LOCKED`), because it cannot know whether other sleepers remain;
//! that is what guarantees every sleeper is eventually woken — at the cost of one spurious
//! `wake_one` after the last sleeper leaves.
//!
//! # In a segment shared by processes: owner death
//!
//! In a tracked [`Memory`] ([`Shm`](crate::shm::Shm)) a holder may be a thread of another
//! process that is killed while it holds the lock, so the word must say *who* holds it. The
//! tracked word is the kernel robust futex's layout (futex(2), "robust futexes"), with our
//! attach-table tags in place of thread ids:
//!
//! | bits | meaning |
//! |---|---|
//! | 0..29 | the holder's tag ([`Memory::tag`]); 0 = free |
//! | 30 (`INCONSISTENT`) | a holder died holding the lock, and no holder since has called `make_consistent` |
//! | 31 (`WAITERS`) | some thread may be asleep on the word: unlock must wake one |
//!
//! * `lock`: CAS `0 → tag` (the fast path, as on the heap). Otherwise the slow path loops
//!   (glibc's `__lll_robust_lock_wait` shape): a free word (tag 0, possibly `INCONSISTENT`)
//!   is taken by CAS, keeping its bits; a word whose holder [`Memory::is_dead`] says is gone
//!   is taken over by CAS to `tag | INCONSISTENT` (the CAS fails if anything changed, so only
//!   one survivor takes over); a live holder is waited for by setting `WAITERS` and sleeping
//!   — for at most [`Memory::POLL`], after which the holder's liveness is checked again.
//!   Liveness is checked before the first sleep and after every timeout, never on the fast
//!   path.
//! * A lock taken from a free `INCONSISTENT` word or by take-over reports
//!   [`Acquired::OwnerDied`]; the holder repairs the data and calls `make_consistent`, or
//!   unlocks without it, and then the next holder is told again (the bit stays).
//! * `unlock`: swap in `0` (or `INCONSISTENT`, kept), Release; wake one if `WAITERS` was set.
//!
//! When is a death noticed? A `lock` that starts after the holder died notices it before it
//! first sleeps (one `/proc` look-up, tens of µs); a thread already asleep when the holder
//! dies notices within [`Memory::POLL`] (20 ms for `Shm`) and takes over, so sleepers are
//! never left asleep. Why tags and liveness rather than the kernel's robust list: glibc
//! registers the one robust list each thread may have, so a robust futex of our own would
//! have to be a pthread mutex — a second algorithm, glibc's, that the models do not check.
//! With tags, this file's algorithm is the one the model checkers check, with a modelled
//! liveness oracle; the price is the bounded polling of sleepers. See `docs/designs.md`.
//!
//! On the [`Heap`] nothing of this runs: `M::TRACKED` is a constant `false`, the tracked
//! branches are compiled out, and the word holds exactly the three states above.
//!
//! `try_lock_for` / `try_lock_until` ([`RawLockTimed`], heap only) run the same slow path with
//! a deadline: each sleep is a `wait_timeout` for the time left, and the waiter gives up only
//! right after an attempt to take the lock failed. Leaving the word `CONTENDED` behind is
//! consistent — it only ever over-approximates "someone sleeps" (one spare wake, at most).
//!
//! # Progress
//!
//! Blocking, not fair: a running thread may barge ahead of a woken one. The wait before
//! sleeping is bounded (`SPIN_ROUNDS` spins, then `YIELD_ROUNDS` yields) and only loads, so
//! it neither ping-pongs the cache line nor burns a time slice when the holder has been
//! preempted: the yields hand the CPU to it.

use crate::shm::{Heap, Memory, TAG_MASK};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::{self, Backoff};
use crate::sync::time::Instant;

use super::{Acquired, Mutex, RawLock, RawLockTimed, RawRobustLock};

/// The lock is free.
pub(crate) const UNLOCKED: u32 = 0;
/// The lock is held and no thread is known to be sleeping on it.
pub(crate) const LOCKED: u32 = 1;
/// The lock is held and some thread may be sleeping on it: `unlock` must wake one.
pub(crate) const CONTENDED: u32 = 2;

/// Tracked memory: a holder died holding the lock and nobody has made the data consistent.
pub(crate) const INCONSISTENT: u32 = 1 << 30;
/// Tracked memory: some thread may be asleep on the word.
pub(crate) const WAITERS: u32 = 1 << 31;

/// The wait before sleeping: `SPIN_ROUNDS` re-reads of the word with one spin hint between
/// them — enough to cover a short critical section running on another core — then
/// `YIELD_ROUNDS` re-reads with a yield of the time slice between them. A holder that was
/// preempted gets the CPU back this way, which on an oversubscribed machine is far cheaper
/// than a futex sleep (which also costs the unlocker a wake system call); parking_lot's
/// `SpinWait` does the same. (std spins 100 times and never yields; `docs/designs.md` says why
/// synclab spins less and yields.) Under a model checker the schedule has no rounds
/// ([`Backoff`]).
fn backoff() -> Backoff {
    Backoff::new(SPIN_ROUNDS, YIELD_ROUNDS).with_max_shift(0)
}

/// Spin rounds (one hint each) of the slow path's wait; see [`backoff`].
pub(crate) const SPIN_ROUNDS: u32 = 20;
/// Yield rounds of the slow path's wait, after the spins; see [`backoff`].
pub(crate) const YIELD_ROUNDS: u32 = 10;

/// The raw three-state futex lock on the [`Heap`]; use it through [`FutexMutex`].
pub type RawFutexMutex = RawFutexMutexIn<Heap>;

/// The raw futex lock in memory `M`: three states on the heap, owner-tagged and robust in a
/// shared segment (see the module docs).
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
#[repr(C)]
pub struct RawFutexMutexIn<M: Memory> {
    /// Heap: [`UNLOCKED`], [`LOCKED`] or [`CONTENDED`]. Tracked: tag | [`INCONSISTENT`] |
    /// [`WAITERS`]. See the module docs for the transitions.
    state: AtomicU32,
    _memory: core::marker::PhantomData<M>,
}

/// A mutex over `T` built on [`RawFutexMutex`].
pub type FutexMutex<T> = Mutex<T, RawFutexMutex>;

/// A mutex over `T` built on [`RawFutexMutexIn<M>`].
pub type FutexMutexIn<T, M> = Mutex<T, RawFutexMutexIn<M>>;

impl<M: Memory> RawFutexMutexIn<M> {
    /// An unlocked lock, in const context (the `lock_api` bridge's `INIT`; plain build only).
    #[cfg(feature = "lock_api")]
    pub(crate) const fn const_new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
            _memory: core::marker::PhantomData,
        }
    }

    /// Whether the lock is held right now (a snapshot: it may change at once). For tests and
    /// diagnostics.
    pub fn is_locked(&self) -> bool {
        // Relaxed: a snapshot that orders nothing.
        let state = self.state.load(Relaxed);
        if M::TRACKED {
            state & TAG_MASK != 0
        } else {
            state != UNLOCKED
        }
    }

    #[inline(always)]
    fn ctx(&self) -> *const () {
        &self.state as *const AtomicU32 as *const ()
    }

    /// The value the fast path stores: `LOCKED` on the heap, the caller's tag when tracked.
    #[inline(always)]
    fn locked_value(&self) -> u32 {
        if M::TRACKED {
            M::tag(self.ctx()) & TAG_MASK
        } else {
            LOCKED
        }
    }

    /// Waits (loads only) while the lock is held without sleepers, on the [`backoff`]
    /// schedule; returns the last state seen.
    fn spin(&self) -> u32 {
        let mut backoff = backoff();
        loop {
            // Relaxed: only a hint for what to try next; the CAS or swap that follows acquires.
            let state = self.state.load(Relaxed);
            // Stop when it is free, and also when it is CONTENDED: there are sleepers already,
            // so waiting longer than they did only delays our own sleep.
            let held_without_sleepers = if M::TRACKED {
                state & TAG_MASK != 0 && state & WAITERS == 0
            } else {
                state == LOCKED
            };
            if !held_without_sleepers || backoff.is_completed() {
                return state;
            }
            backoff.snooze();
        }
    }

    /// The heap slow path: spin, then sleep marked `CONTENDED`, until the lock is ours
    /// (`true`) or `deadline` has passed (`false`).
    #[cold]
    fn lock_contended(&self, deadline: Option<Instant>) -> bool {
        let mut state = self.spin();

        // Free now: try to take it without announcing contention.
        if state == UNLOCKED {
            // Acquire: pairs with the Release swap in `unlock`, as in the fast path.
            match self
                .state
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
            if state != CONTENDED && self.state.swap(CONTENDED, Acquire) == UNLOCKED {
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
            match deadline {
                None => M::wait(&self.state, CONTENDED),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    timed_out = M::wait_timeout(&self.state, CONTENDED, deadline - now);
                }
            }
            state = self.spin();
        }
    }

    #[cold]
    fn wake(&self) {
        M::wake_one(&self.state);
    }

    /// The tracked slow path (see the module docs): take a free word, take over from a dead
    /// holder, or sleep (bounded) while a live one holds it.
    #[cold]
    fn lock_tracked(&self, me: u32) -> Acquired {
        let mut state = self.spin();
        let mut slept = false;
        let mut check_holder = true;
        loop {
            let holder = state & TAG_MASK;
            if holder == 0 {
                // Free (perhaps INCONSISTENT). A thread that slept keeps WAITERS set: it cannot
                // know whether others still sleep (as the heap path re-marks CONTENDED).
                let waiters = if slept { WAITERS } else { state & WAITERS };
                let new = me | (state & INCONSISTENT) | waiters;
                // Acquire: pairs with the Release swap in `unlock`.
                match self.state.compare_exchange(state, new, Acquire, Relaxed) {
                    Ok(_) if state & INCONSISTENT != 0 => return Acquired::OwnerDied,
                    Ok(_) => return Acquired::Clean,
                    Err(seen) => {
                        state = seen;
                        continue;
                    }
                }
            }
            if check_holder && holder != me && M::is_dead(self.ctx(), holder) {
                // The holder is gone. Take over; the CAS fails if the word moved at all.
                // Acquire: pairs with the dead holder's last Release (its lock's release
                // sequence), so what it wrote before dying is visible, torn or not.
                let new = me | INCONSISTENT | (state & WAITERS);
                match self.state.compare_exchange(state, new, Acquire, Relaxed) {
                    Ok(_) => return Acquired::OwnerDied,
                    Err(seen) => {
                        state = seen;
                        continue;
                    }
                }
            }
            if state & WAITERS == 0 {
                // Relaxed: announces a sleeper; publishes nothing.
                if let Err(seen) =
                    self.state
                        .compare_exchange(state, state | WAITERS, Relaxed, Relaxed)
                {
                    state = seen;
                    continue;
                }
                state |= WAITERS;
            }
            // Bounded, so a holder that dies while we sleep is noticed within POLL.
            let timed_out = M::wait_timeout(&self.state, state, M::POLL);
            if timed_out {
                // A pause after 20 ms asleep costs nothing; under a checker it is the yield
                // that lets the holder run on (a timed wait alone would be a spin loop there).
                hint::spin_loop();
            }
            slept = true;
            check_holder = timed_out;
            state = self.state.load(Relaxed);
        }
    }

    /// Locks, reporting whether a holder died holding it (only tracked memory ever reports
    /// [`Acquired::OwnerDied`]).
    #[inline]
    fn acquire(&self) -> Acquired {
        let locked = self.locked_value();
        // Acquire: pairs with the Release swap in `unlock`, so the previous holder's writes
        // are visible to us.
        if self
            .state
            .compare_exchange(UNLOCKED, locked, Acquire, Relaxed)
            .is_ok()
        {
            return Acquired::Clean;
        }
        if M::TRACKED {
            self.lock_tracked(locked)
        } else {
            self.lock_contended(None);
            Acquired::Clean
        }
    }

    #[inline]
    fn try_acquire(&self) -> Option<Acquired> {
        let locked = self.locked_value();
        // Acquire: pairs with the Release swap in `unlock`.
        match self
            .state
            .compare_exchange(UNLOCKED, locked, Acquire, Relaxed)
        {
            Ok(_) => Some(Acquired::Clean),
            Err(_) if !M::TRACKED => None,
            Err(state) => self.try_acquire_tracked(state, locked),
        }
    }

    /// The tracked `try_lock`: take a free (inconsistent) word or one whose holder is dead.
    #[cold]
    fn try_acquire_tracked(&self, state: u32, me: u32) -> Option<Acquired> {
        let holder = state & TAG_MASK;
        let (new, died) = if holder == 0 {
            (
                me | (state & (INCONSISTENT | WAITERS)),
                state & INCONSISTENT != 0,
            )
        } else if holder != me && M::is_dead(self.ctx(), holder) {
            (me | INCONSISTENT | (state & WAITERS), true)
        } else {
            return None;
        };
        // Acquire: pairs with the Release swap in `unlock` (or the dead holder's release
        // sequence, as in `lock_tracked`).
        self.state
            .compare_exchange(state, new, Acquire, Relaxed)
            .ok()
            .map(|_| {
                if died {
                    Acquired::OwnerDied
                } else {
                    Acquired::Clean
                }
            })
    }
}

// SAFETY: mutual exclusion. Heap: the lock is taken only by a CAS from UNLOCKED or a swap that
// returned UNLOCKED, and `unlock` is the only write of UNLOCKED, so at most one thread sees the
// transition out of UNLOCKED per unlock. Tracked: the lock is taken only by a CAS from a word
// with tag 0 (written only by `unlock`) or from the exact word of a holder that is dead for
// good (`Memory::is_dead`'s contract), so again one thread per release. Every successful
// acquisition is an Acquire RMW that reads the Release swap of the previous `unlock` (or a
// later RMW in its release sequence), so unlock happens-before the next lock.
unsafe impl<M: Memory> RawLock for RawFutexMutexIn<M> {
    const NAME: &'static str = "futex";

    fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
            _memory: core::marker::PhantomData,
        }
    }

    /// Blocks until acquired. In tracked memory it also takes over from a holder that died;
    /// the inconsistency stays recorded for [`RawRobustLock::lock_checked`] callers.
    #[inline]
    fn lock(&self) {
        let _ = self.acquire();
    }

    #[inline]
    fn try_lock(&self) -> bool {
        self.try_acquire().is_some()
    }

    #[inline]
    unsafe fn unlock(&self) {
        if M::TRACKED {
            // Only the holder changes INCONSISTENT while it holds the lock, so this read is
            // exact. Release: pairs with the Acquire CAS of the next `lock`.
            let keep = self.state.load(Relaxed) & INCONSISTENT;
            if self.state.swap(keep, Release) & WAITERS != 0 {
                self.wake();
            }
            return;
        }
        // Release: pairs with the Acquire CAS/swap of the next `lock`/`try_lock`, publishing
        // everything written under the lock.
        if self.state.swap(UNLOCKED, Release) == CONTENDED {
            // Someone may sleep. Waking one is enough: it re-marks the word CONTENDED when it
            // takes the lock, so the next unlock wakes the next sleeper.
            self.wake();
        }
    }
}

// SAFETY: `lock_checked` and `try_lock_checked` are `lock` and `try_lock` that also say how
// the lock was taken; `make_consistent` only clears a bit the holder owns.
unsafe impl<M: Memory> RawRobustLock for RawFutexMutexIn<M> {
    #[inline]
    fn lock_checked(&self) -> Acquired {
        self.acquire()
    }

    #[inline]
    fn try_lock_checked(&self) -> Option<Acquired> {
        self.try_acquire()
    }

    #[inline]
    unsafe fn make_consistent(&self) {
        if M::TRACKED {
            // Relaxed: the bit is ordered for the next holder by our unlock's Release swap.
            self.state.fetch_and(!INCONSISTENT, Relaxed);
        }
    }
}

// SAFETY: a `true` is an acquisition by the same CAS or swap as in `lock` (see above). Heap
// only: the tracked path's bounded sleeps already poll, and it has no deadline of its own.
unsafe impl RawLockTimed for RawFutexMutex {
    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        self.try_lock() || self.lock_contended(Some(deadline))
    }
}

impl<M: Memory> core::fmt::Debug for RawFutexMutexIn<M> {
    /// Reads nothing: the state changes under our feet and a load would be a checker step.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawFutexMutex").finish_non_exhaustive()
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
// SAFETY: the mutex is a lock word and an `UnsafeCell` of plain `T`: no pointers, nothing to
// drop, valid for any bytes a dying holder left.
unsafe impl<T: crate::shm::Plain> crate::shm::Placeable
    for Mutex<T, RawFutexMutexIn<crate::shm::Shm>>
{
    type Params = T;
    const LAYOUT: &'static str = "synclab::lock::FutexMutex";
    const VERSION: u32 = 1;

    fn init(value: &T) -> Self {
        Mutex::new(*value)
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
// SAFETY: two counters, no pointers, nothing to drop.
unsafe impl crate::shm::Placeable for super::CondvarIn<crate::shm::Shm> {
    type Params = u8;
    const LAYOUT: &'static str = "synclab::lock::Condvar";
    const VERSION: u32 = 1;

    fn init(_: &u8) -> Self {
        Self::new()
    }
}
