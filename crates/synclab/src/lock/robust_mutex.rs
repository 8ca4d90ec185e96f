//! The robust futex mutex a segment shared by processes uses, with its acquisition result
//! ([`Acquired`], [`OwnerDied`]) and protocol ([`RawRobustLock`]); the algorithm is documented
//! on [`RawRobustMutex`].

use core::fmt;
use core::marker::PhantomData;

use crate::shm::{Memory, TAG_MASK};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint;

use super::futex_mutex::backoff;
use super::{Mutex, MutexGuard, RawLock};

/// No holder (tags are never 0).
const FREE: u32 = 0;
/// A holder died holding the lock and nobody has made the data consistent since.
const INCONSISTENT: u32 = 1 << 30;
/// Some thread may be asleep on the word.
const WAITERS: u32 = 1 << 31;

/// The holder's tag in `word`, or [`FREE`].
#[inline]
const fn holder(word: u32) -> u32 {
    word & TAG_MASK
}

/// How a lock was acquired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// From its previous holder's unlock, with the data consistent.
    Clean,
    /// A holder died holding the lock (a process killed in a shared segment), and nobody has
    /// marked the data consistent since: the data may be half-updated.
    OwnerDied,
}

/// A [`RawLock`] that can tell its next holder that a holder died holding it (the robust
/// mutex shape of POSIX `EOWNERDEAD` and iceoryx2's `LockAcquiredButOwnerDied`).
///
/// # Safety
///
/// As [`RawLock`]; and `lock_checked`/`try_lock_checked` acquire exactly as `lock`/`try_lock`
/// do, reporting [`Acquired::OwnerDied`] until a holder calls `make_consistent`.
pub unsafe trait RawRobustLock: RawLock {
    /// Blocks until acquired; says whether a previous holder died holding it.
    fn lock_checked(&self) -> Acquired;
    /// Acquires if free (or held by a dead holder); never blocks.
    fn try_lock_checked(&self) -> Option<Acquired>;
    /// Marks the data consistent again: later holders get [`Acquired::Clean`].
    ///
    /// # Safety
    ///
    /// The caller must hold the lock.
    unsafe fn make_consistent(&self);
}

/// The lock was acquired, but a holder died holding it: the data may be half-updated.
///
/// Repair it through [`guard`](OwnerDied::guard), then [`make_consistent`](Self::make_consistent);
/// or give up with [`into_inconsistent`](Self::into_inconsistent), and the next holder is told
/// again.
#[must_use = "the lock is held; repair the data and call make_consistent, or give up"]
pub struct OwnerDied<G> {
    guard: G,
}

impl<G> OwnerDied<G> {
    /// The guard, to inspect and repair the data.
    pub fn guard(&mut self) -> &mut G {
        &mut self.guard
    }

    /// Keeps the lock without marking the data consistent: the next holder is told too.
    pub fn into_inconsistent(self) -> G {
        self.guard
    }
}

impl<'a, T, R: RawRobustLock> OwnerDied<MutexGuard<'a, T, R>> {
    /// Marks the data consistent and returns the guard; later holders get a clean lock.
    pub fn make_consistent(self) -> MutexGuard<'a, T, R> {
        // SAFETY: the guard proves the lock is held.
        unsafe { MutexGuard::mutex(&self.guard).raw().make_consistent() };
        self.guard
    }
}

impl<G> fmt::Debug for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnerDied").finish_non_exhaustive()
    }
}

impl<G> fmt::Display for OwnerDied<G> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the lock was acquired, but a previous holder died holding it: the data may be inconsistent"
        )
    }
}

impl<G> std::error::Error for OwnerDied<G> {}

/// The guard of a checked acquisition, or [`OwnerDied`] around it.
type Checked<'a, T, R> = Result<MutexGuard<'a, T, R>, OwnerDied<MutexGuard<'a, T, R>>>;

impl<T, R: RawRobustLock> Mutex<T, R> {
    /// Blocks until the lock is acquired; `Err(OwnerDied)` (still holding it) if a holder
    /// died holding it and nobody has marked the data consistent since.
    #[inline]
    pub fn lock_checked(&self) -> Checked<'_, T, R> {
        let acquired = self.raw().lock_checked();
        // SAFETY: just acquired.
        let guard = unsafe { self.guard() };
        match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied { guard }),
        }
    }

    /// Acquires the lock if it is free or its holder died; `None` if it is held. The result
    /// says, as [`lock_checked`](Self::lock_checked)'s, whether a holder died.
    pub fn try_lock_checked(&self) -> Option<Checked<'_, T, R>> {
        let acquired = self.raw().try_lock_checked()?;
        // SAFETY: just acquired.
        let guard = unsafe { self.guard() };
        Some(match acquired {
            Acquired::Clean => Ok(guard),
            Acquired::OwnerDied => Err(OwnerDied { guard }),
        })
    }
}

/// The raw robust lock in memory `M`; use it through [`RobustMutex`].
///
/// A robust futex mutex: the lock word names its holder, so when the holder is a process that
/// was killed holding the lock, the next locker takes the lock over and is told
/// ([`OwnerDied`]) that the data may be half-updated. What a segment shared by processes uses.
///
/// Sources: futex(2), "robust futexes" (the word layout: the holder's id, `FUTEX_OWNER_DIED`,
/// `FUTEX_WAITERS`); glibc's `__lll_robust_lock_wait` (the slow path's loop); POSIX
/// `pthread_mutex_consistent` / `EOWNERDEAD` (the repair protocol); iceoryx2's
/// `LockAcquiredButOwnerDied`. The three-state [`FutexMutex`](super::FutexMutex) is the same
/// lock for one process, without owners.
///
/// # The word
///
/// | bits | meaning |
/// |---|---|
/// | 0..29 | the holder's tag ([`Memory::tag`]); `FREE` (0) = nobody holds it |
/// | 30 (`INCONSISTENT`) | a holder died holding the lock, and no holder since has called `make_consistent` |
/// | 31 (`WAITERS`) | some thread may be asleep on the word: unlock must wake one |
///
/// The tags are the memory's: in a [`Segment`](crate::shm::Segment) each thread's entry in the
/// segment's attach table, which a survivor can ask about ([`Memory::is_dead`]).
///
/// # Transitions
///
/// * `lock`: CAS `FREE → tag` (the fast path). Otherwise, after a bounded load-only wait, the
///   slow path loops: a free word (tag 0, possibly `INCONSISTENT`) is taken by CAS, keeping
///   its bits; a word whose holder [`Memory::is_dead`] says is gone is taken over by CAS to
///   `tag | INCONSISTENT` (the CAS fails if anything changed, so only one survivor takes over);
///   a live holder is waited for by setting `WAITERS` and sleeping — for at most
///   [`Memory::POLL`], after which the holder's liveness is checked again. Liveness is checked
///   before the first sleep and after every timeout, never on the fast path.
/// * A lock taken from a free `INCONSISTENT` word or by take-over reports
///   [`Acquired::OwnerDied`]; the holder repairs the data and calls `make_consistent`, or
///   unlocks without it, and then the next holder is told again (the bit stays).
/// * `unlock`: swap in `FREE` (keeping `INCONSISTENT`), Release; wake one if `WAITERS` was set.
///   A thread that slept keeps `WAITERS` set when it takes the lock — it cannot know whether
///   others still sleep — as the three-state mutex re-marks its word contended.
///
/// When is a death noticed? A `lock` that starts after the holder died notices it before it
/// first sleeps (in a segment: one liveness check, a system call); a thread already asleep when
/// the holder dies notices within [`Memory::POLL`] and takes over, so sleepers are never left
/// asleep.
///
/// Why tags and liveness rather than the kernel's robust list: glibc registers the one robust
/// list each thread may have, so a robust futex of our own would have to be a pthread mutex —
/// a second algorithm, glibc's, that the models do not check. With tags, this file's algorithm
/// is the one the model checkers check, with a modelled liveness oracle; the price is the
/// bounded polling of sleepers.
///
/// # Progress
///
/// Blocking, not fair, as the three-state mutex (the same bounded load-only wait before
/// sleeping). A holder that dies does not block the others for longer than [`Memory::POLL`]
/// after its death.
///
/// In [`Heap`](crate::shm::Heap) memory nobody can die holding it (every holder has the same
/// tag and none is ever reported dead): it is then an ordinary lock with a waiters bit.
///
/// # Examples
///
/// ```
/// use synclab::lock::RobustMutex;
/// use synclab::shm::Heap;
///
/// let m = RobustMutex::<u32, Heap>::new(1);
/// *m.lock_checked().unwrap() += 1; // `Err(OwnerDied)` only after a holder died
/// assert_eq!(*m.lock(), 2);
/// ```
#[repr(C)]
pub struct RawRobustMutex<M: Memory> {
    /// The holder's tag, `INCONSISTENT` and `WAITERS`; see [`RawRobustMutex`].
    word: AtomicU32,
    _memory: PhantomData<M>,
}

/// A mutex over `T` built on [`RawRobustMutex<M>`]: `lock_checked` reports a holder that died.
pub type RobustMutex<T, M> = Mutex<T, RawRobustMutex<M>>;

impl<M: Memory> RawRobustMutex<M> {
    /// The calling thread's tag for this word.
    #[inline(always)]
    fn tag(&self) -> u32 {
        M::tag(self.ctx()) & TAG_MASK
    }

    #[inline(always)]
    fn ctx(&self) -> *const () {
        &self.word as *const AtomicU32 as *const ()
    }

    /// Whether the holder named by `word` is gone for good (not us: we are alive).
    #[cold]
    fn holder_dead(&self, word: u32, me: u32) -> bool {
        holder(word) != me && M::is_dead(self.ctx(), holder(word))
    }

    /// Waits (loads only) while the lock is held without sleepers, on the three-state mutex's
    /// schedule; returns the last word seen.
    fn spin(&self) -> u32 {
        let mut backoff = backoff();
        loop {
            // Relaxed: only a hint for what to try next; the CAS that follows acquires.
            let word = self.word.load(Relaxed);
            // Stop when it is free, and also when someone sleeps: waiting longer than they
            // did only delays our own sleep.
            if holder(word) == FREE || word & WAITERS != 0 || backoff.is_completed() {
                return word;
            }
            backoff.snooze();
        }
    }

    /// The slow path (see [`RawRobustMutex`]): take a free word, take over from a dead holder,
    /// or sleep (bounded) while a live one holds it.
    #[cold]
    fn lock_contended(&self, me: u32) -> Acquired {
        let mut word = self.spin();
        let mut slept = false;
        let mut check_holder = true;
        loop {
            if holder(word) == FREE {
                // Free (perhaps INCONSISTENT). A thread that slept keeps WAITERS set: it cannot
                // know whether others still sleep.
                let waiters = if slept { WAITERS } else { word & WAITERS };
                let new = me | (word & INCONSISTENT) | waiters;
                // Acquire: pairs with the Release swap in `unlock`.
                match self.word.compare_exchange(word, new, Acquire, Relaxed) {
                    Ok(_) if word & INCONSISTENT != 0 => return Acquired::OwnerDied,
                    Ok(_) => return Acquired::Clean,
                    Err(seen) => {
                        word = seen;
                        continue;
                    }
                }
            }
            if check_holder && self.holder_dead(word, me) {
                // The holder is gone. Take over; the CAS fails if the word moved at all.
                // Acquire: pairs with the dead holder's last Release (its lock's release
                // sequence), so what it wrote before dying is visible, torn or not.
                let new = me | INCONSISTENT | (word & WAITERS);
                match self.word.compare_exchange(word, new, Acquire, Relaxed) {
                    Ok(_) => return Acquired::OwnerDied,
                    Err(seen) => {
                        word = seen;
                        continue;
                    }
                }
            }
            if word & WAITERS == 0 {
                // Relaxed: announces a sleeper; publishes nothing.
                if let Err(seen) =
                    self.word
                        .compare_exchange(word, word | WAITERS, Relaxed, Relaxed)
                {
                    word = seen;
                    continue;
                }
                word |= WAITERS;
            }
            // Bounded where peers can die, so a holder that dies while we sleep is noticed
            // within POLL. On the heap nobody dies: an untimed sleep, as `RawFutexMutex`'s
            // (a timed one would let the checkers' futex models time it out at any moment).
            let timed_out = if M::TRACKED {
                M::wait_timeout(&self.word, word, M::POLL)
            } else {
                M::wait(&self.word, word);
                false
            };
            if timed_out {
                // A pause after a whole POLL asleep costs nothing; under a checker it is the
                // yield that lets the holder run on (a timed wait alone would be a spin loop
                // there).
                hint::spin_loop();
            }
            slept = true;
            check_holder = timed_out;
            // Relaxed: a hint; the CASes above acquire.
            word = self.word.load(Relaxed);
        }
    }

    #[inline]
    fn acquire(&self) -> Acquired {
        let me = self.tag();
        // Acquire: pairs with the Release swap in `unlock`, so the previous holder's writes
        // are visible to us.
        match self.word.compare_exchange(FREE, me, Acquire, Relaxed) {
            Ok(_) => Acquired::Clean,
            Err(_) => self.lock_contended(me),
        }
    }

    /// `try_lock`: take a free (perhaps inconsistent) word or one whose holder is dead.
    #[inline]
    fn try_acquire(&self) -> Option<Acquired> {
        let me = self.tag();
        // Acquire: pairs with the Release swap in `unlock`.
        let word = match self.word.compare_exchange(FREE, me, Acquire, Relaxed) {
            Ok(_) => return Some(Acquired::Clean),
            Err(word) => word,
        };
        let (new, acquired) = if holder(word) == FREE {
            let acquired = if word & INCONSISTENT != 0 {
                Acquired::OwnerDied
            } else {
                Acquired::Clean
            };
            (me | (word & (INCONSISTENT | WAITERS)), acquired)
        } else if self.holder_dead(word, me) {
            (me | INCONSISTENT | (word & WAITERS), Acquired::OwnerDied)
        } else {
            return None;
        };
        // Acquire: pairs with the Release swap in `unlock` (or the dead holder's release
        // sequence, as in `lock_contended`).
        self.word
            .compare_exchange(word, new, Acquire, Relaxed)
            .ok()
            .map(|_| acquired)
    }

    #[cold]
    fn wake(&self) {
        M::wake_one(&self.word);
    }
}

// SAFETY: mutual exclusion: the lock is taken only by a CAS from a word with tag 0 (written
// only by `unlock`) or from the exact word of a holder that is dead for good (`Memory::is_dead`'s
// contract), so one thread per release. Every successful acquisition is an Acquire RMW that
// reads the Release swap of the previous `unlock` (or a later RMW in its release sequence), so
// unlock happens-before the next lock.
unsafe impl<M: Memory> RawLock for RawRobustMutex<M> {
    const NAME: &'static str = "robust";

    fn new() -> Self {
        Self {
            word: AtomicU32::new(FREE),
            _memory: PhantomData,
        }
    }

    /// Blocks until acquired; it also takes over from a holder that died, and the
    /// inconsistency stays recorded for [`RawRobustLock::lock_checked`] callers.
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
        // Only the holder changes INCONSISTENT while it holds the lock, so this read is
        // exact (Relaxed: our own bit).
        let word = self.word.load(Relaxed);
        if holder(word) != self.tag() {
            // Not our hold: a guard a forked child inherited from the thread that forked (the
            // child's tag is its own). It stays the parent's; dropping it here releases
            // nothing.
            return;
        }
        // Release: pairs with the Acquire CAS of the next `lock`.
        if self.word.swap(word & INCONSISTENT, Release) & WAITERS != 0 {
            self.wake();
        }
    }
}

// SAFETY: `lock_checked` and `try_lock_checked` are `lock` and `try_lock` that also say how
// the lock was taken; `make_consistent` only clears a bit the holder owns.
unsafe impl<M: Memory> RawRobustLock for RawRobustMutex<M> {
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
        // Relaxed: the bit is ordered for the next holder by our unlock's Release swap.
        self.word.fetch_and(!INCONSISTENT, Relaxed);
    }
}

impl<M: Memory> fmt::Debug for RawRobustMutex<M> {
    /// Reads nothing: the word changes under our feet and a load would be a checker step.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawRobustMutex")
            .field("memory", &M::NAME)
            .finish_non_exhaustive()
    }
}
