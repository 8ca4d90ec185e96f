//! Zoo entries for the locks: four classic ways to break a futex mutex or a condition
//! variable, each one change away from the real design in [`synclab::lock`].
//!
//! | entry | the one change | how it fails | fixed in |
//! |---|---|---|---|
//! | [`RelaxedUnlockMutex`] | `unlock` swaps with `Relaxed` instead of `Release` | data race: the next holder reads the protected data without a happens-before edge | [`RawFutexMutex`] |
//! | [`TwoStateFutexMutex`] | only two states: the word never records that someone sleeps, so `unlock` never wakes | lost wakeup: a thread asleep in `lock` sleeps forever | the `CONTENDED` state of [`RawFutexMutex`] |
//! | [`wait_without_recheck`] | `if` instead of `while` around [`Condvar::wait`] | assertion: a spurious return runs on with the predicate false | [`Condvar::wait_while`] |
//! | [`CountFirstCondvar`] | `notify` reads the waiter count *before* bumping the sequence (and waiters register after unlocking) | lost wakeup: a waiter registers and sleeps between the read and the bump | [`Condvar`]: bump first, register under the lock |
//! | [`CountWipingMutex`] | a counting futex lock whose `unlock` swaps in 0, wiping the count of the *other* sleepers along with the locked bit | lost wakeup: the second sleeper is never woken | [`RawCountingMutex`]: unlock clears only `LOCKED` (and `FAIR`) |
//! | [`DesertingHandoffMutex`] | a hand-off lock whose timed-out waiter leaves without claiming a hand-off made to it | the lock stays held by nobody: `try_lock` fails on a lock no thread holds | [`RawCountingMutex`]: a timed-out waiter leaves through the CAS that claims a hand-off |
//! | [`LateHandoffMutex`] | a hand-off lock whose `unlock` first releases the lock and only then records the hand-off | two holders: a waiter takes the released lock, then another claims the hand-off | [`RawCountingMutex`]: the hand-off is one CAS that keeps `LOCKED` set |
//! | [`SwapTryLockMutex`] | `try_lock` swaps `LOCKED` in instead of compare-exchanging, so a losing `try_lock` erases `CONTENDED` | lost wakeup: after a lost `try_lock`, a sleeper in `lock` is never woken | [`RawFutexMutex`]: `try_lock` is a compare-exchange from `UNLOCKED` |
//!
//! These types are deliberately wrong. Nothing in the library uses them; the verification
//! crate runs each as an expected failure (`verification/tests/models/lock/`, `docs/zoo.md`).
//! Only [`SwapTryLockMutex`] is a [`RawLock`], so that the generic suite runs on it: its bug
//! loses wake-ups but keeps mutual exclusion, the trait's safety contract. The others break
//! that contract or are not whole locks.

use core::time::Duration;
#[cfg(doc)]
use synclab::lock::RawCountingMutex;
use synclab::lock::{Condvar, FutexMutex, MutexGuard, RawFutexMutex, RawLock};

use synclab::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};
use synclab::sync::futex;

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

/// The locked bit of the counting zoo locks (as `LOCKED` in `synclab::lock::RawCountingMutex`'s word).
const HELD: u32 = 1;
/// The hand-off bit of [`LateHandoffMutex`] (as `HANDOFF` in `synclab::lock::RawCountingMutex`'s word).
const HANDED: u32 = 4;
/// One registered sleeper (as `WAITER` in `synclab::lock::RawCountingMutex`'s word).
const SLEEPER: u32 = 8;

/// The shared skeleton of the counting zoo locks: register, sleep while held (and not handed
/// over) for at most `timeout`, then deregister with one CAS that takes the lock if it is free
/// or claims a hand-off — the slow path of [`RawCountingMutex`] without spinning or
/// starvation. `claim_when_timed_out: false` is [`DesertingHandoffMutex`]'s bug. Returns
/// whether the lock was taken.
fn counting_lock(state: &AtomicU32, timeout: Option<Duration>, claim_when_timed_out: bool) -> bool {
    loop {
        let seen = state.load(Relaxed);
        if seen & HELD == 0 {
            // Acquire: pairs with the Release in the zoo unlocks.
            if state
                .compare_exchange(seen, seen | HELD, Acquire, Relaxed)
                .is_ok()
            {
                return true;
            }
            continue;
        }
        if state
            .compare_exchange(seen, seen + SLEEPER, Relaxed, Relaxed)
            .is_err()
        {
            continue;
        }
        let mut seen = seen + SLEEPER;
        let mut timed_out = false;
        while seen & HELD != 0 && seen & HANDED == 0 {
            match timeout {
                None => futex::wait(state, seen),
                Some(timeout) => timed_out = futex::wait_timeout(state, seen, timeout).timed_out(),
            }
            seen = state.load(Relaxed);
            if timed_out {
                break;
            }
        }
        loop {
            // A wiped count reads zero here; saturate rather than wrap (the bug is the wipe).
            let left = seen.saturating_sub(SLEEPER);
            let (next, acquired) = if timed_out && !claim_when_timed_out {
                (left, false)
            } else if seen & HANDED != 0 {
                (left & !HANDED, true)
            } else if seen & HELD == 0 {
                (left | HELD, true)
            } else {
                (left, false)
            };
            // Acquire: pairs with the Release in the zoo unlocks.
            match state.compare_exchange(seen, next, Acquire, Relaxed) {
                Ok(_) if acquired => return true,
                Ok(_) if timed_out => return false,
                Ok(_) => break,
                Err(now) => seen = now,
            }
        }
    }
}

/// A counting zoo lock: the word, `new`, `lock` (the [`counting_lock`] skeleton), `Default`
/// and a `Debug` that reads nothing. Each entry adds only the method that carries its bug.
macro_rules! counting_zoo_lock {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name {
            state: AtomicU32,
        }

        impl $name {
            /// A new, unlocked mutex.
            pub fn new() -> Self {
                Self {
                    state: AtomicU32::new(0),
                }
            }

            /// Takes the lock, registering and sleeping while it is held (and not handed over).
            pub fn lock(&self) {
                counting_lock(&self.state, None, true);
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl core::fmt::Debug for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    };
}

counting_zoo_lock! {
    /// A counting futex lock whose unlock forgets the other sleepers.
    ///
    /// The word counts registered sleepers, as in [`RawCountingMutex`]. THE BUG: `unlock` swaps in
    /// `0` — clearing the count together with the locked bit — and wakes one sleeper if the count
    /// was non-zero. With two sleepers, the first unlock wakes one and erases the record of the
    /// other; the woken one's unlock then sees no sleeper, and the second sleeps forever. This is
    /// the "parked bit cleared while a waiter still sleeps" bug of any lock that keeps an exact
    /// waiter record: only the last waiter to leave may clear it.
    CountWipingMutex
}

impl CountWipingMutex {
    /// Releases the lock. THE BUG: the swap wipes every other sleeper's registration.
    pub fn unlock(&self) {
        // Release: pairs with the Acquire CASes in `counting_lock`.
        if self.state.swap(0, Release) >= SLEEPER {
            futex::wake_one(&self.state);
        }
    }
}

counting_zoo_lock! {
    /// A hand-off lock that releases before it records the new owner.
    ///
    /// Whenever a sleeper is registered, `unlock` means to hand the lock over (keep it held, mark
    /// it handed over, wake a sleeper, which claims it). THE BUG: it does so in two steps — first
    /// clear the locked bit, then set locked + handed-over. Between them the lock is free: a
    /// registered waiter that is awake (returned spuriously, or not asleep yet) takes it. The
    /// hand-off mark then goes up anyway, and the next registered waiter claims it: two holders.
    /// [`RawCountingMutex`] sets `HANDOFF` with one CAS that never clears `LOCKED`.
    LateHandoffMutex
}

impl LateHandoffMutex {
    /// Releases the lock, or hands it to a registered waiter. THE BUG: released first.
    pub fn unlock(&self) {
        // Release: pairs with the Acquire CASes in `counting_lock`.
        let before = self.state.fetch_and(!HELD, Release);
        if before >= SLEEPER {
            // Release: as above, for the claimant of the hand-off.
            self.state.fetch_or(HELD | HANDED, Release);
            futex::wake_one(&self.state);
        }
    }
}

counting_zoo_lock! {
    /// A hand-off lock whose timed waiters desert a hand-off made to them.
    ///
    /// `unlock` hands the lock over correctly (one CAS that keeps it held and marks it handed over,
    /// then a wake) whenever a sleeper is registered. THE BUG: a waiter whose time runs out just
    /// undoes its registration and leaves — even if the lock was handed to it meanwhile. The lock
    /// then stays held by nobody: `try_lock` fails on a lock no thread holds, until some later
    /// `lock` call happens to register and claim the stranded hand-off. [`RawCountingMutex`]'s
    /// timed-out waiter leaves through the same CAS that claims a hand-off or takes a free lock.
    DesertingHandoffMutex
}

impl DesertingHandoffMutex {
    /// Takes the lock if it is free; never blocks.
    pub fn try_lock(&self) -> bool {
        // Acquire: pairs with the Release in `unlock`.
        self.state
            .compare_exchange(0, HELD, Acquire, Relaxed)
            .is_ok()
    }

    /// Takes the lock, or gives up after `timeout`. THE BUG: giving up ignores a hand-off.
    pub fn try_lock_for(&self, timeout: Duration) -> bool {
        counting_lock(&self.state, Some(timeout), false)
    }

    /// Hands the lock to a registered sleeper (one CAS, still held), or releases it.
    pub fn unlock(&self) {
        let mut seen = self.state.load(Relaxed);
        loop {
            let next = if seen >= SLEEPER {
                seen | HANDED
            } else {
                seen & !HELD
            };
            // Release: pairs with the Acquire CASes in `counting_lock` and `try_lock`.
            match self.state.compare_exchange(seen, next, Release, Relaxed) {
                Ok(_) => {
                    if seen >= SLEEPER {
                        futex::wake_one(&self.state);
                    }
                    return;
                }
                Err(now) => seen = now,
            }
        }
    }
}

/// A three-state futex mutex whose `try_lock` swaps where it should compare-exchange.
///
/// `lock` and `unlock` are [`RawFutexMutex`]'s (without the spin). THE BUG: `try_lock` is
/// `swap(LOCKED) == UNLOCKED` — right when the lock is free, and harmless when it is `LOCKED`;
/// but a `try_lock` that *loses* while a thread sleeps in `lock` overwrites `CONTENDED` with
/// `LOCKED`, erasing the only record of that sleeper. If the holder then unlocks before anyone
/// re-marks the word, the unlock sees `LOCKED` and wakes nobody, and the sleeper sleeps
/// forever — a bug of *carrying on after a lost race*: the loser's next step (here, its retry
/// with `lock`, which succeeds at once) never owes the sleeper a wake.
///
/// Mutual exclusion holds (only a write that finds `UNLOCKED` takes the lock), so this is a
/// [`RawLock`] and runs in the generic suite; only `lock_after_lost_try_lock`, where a `try_lock`
/// loses beside a sleeper, sees it.
pub struct SwapTryLockMutex {
    state: AtomicU32,
}

// SAFETY: mutual exclusion: the lock is taken only by a CAS from UNLOCKED or a swap that
// returned UNLOCKED (in `lock` and `try_lock`), and `unlock` is the only write of UNLOCKED, so
// at most one thread sees each transition out of UNLOCKED. Every acquisition is an Acquire RMW
// that reads the previous `unlock`'s Release swap (or a later RMW in its release sequence).
// The bug loses wake-ups, never exclusion.
unsafe impl RawLock for SwapTryLockMutex {
    const NAME: &'static str = "zoo-swap-try-lock";

    fn new() -> Self {
        Self {
            state: AtomicU32::new(UNLOCKED),
        }
    }

    fn lock(&self) {
        // Acquire (both): pairs with the Release swap in `unlock`.
        if self
            .state
            .compare_exchange(UNLOCKED, LOCKED, Acquire, Relaxed)
            .is_ok()
        {
            return;
        }
        while self.state.swap(CONTENDED, Acquire) != UNLOCKED {
            futex::wait(&self.state, CONTENDED);
        }
    }

    fn try_lock(&self) -> bool {
        // Acquire: pairs with the Release swap in `unlock`. THE BUG: losing, this swap writes
        // LOCKED over CONTENDED.
        self.state.swap(LOCKED, Acquire) == UNLOCKED
    }

    unsafe fn unlock(&self) {
        // Release: pairs with the Acquire RMWs of the next `lock`/`try_lock`.
        if self.state.swap(UNLOCKED, Release) == CONTENDED {
            futex::wake_one(&self.state);
        }
    }
}

impl core::fmt::Debug for SwapTryLockMutex {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SwapTryLockMutex").finish_non_exhaustive()
    }
}
