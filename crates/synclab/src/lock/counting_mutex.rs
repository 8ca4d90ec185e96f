//! The counting futex mutex; the algorithm is documented on [`RawCountingMutex`].

use core::marker::PhantomData;
use core::time::Duration;

use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::futex::{Private, WakeScope};
use crate::sync::hint::{self, Backoff};
use crate::sync::time::Instant;

use super::{Mutex, RawLock, RawLockTimed};

/// The lock is held.
pub(crate) const LOCKED: u32 = 1;
/// A waiter is starving: unlock hands the lock over instead of releasing it.
pub(crate) const FAIR: u32 = 2;
/// The lock has been handed over: held for the first registered waiter that claims it.
pub(crate) const HANDOFF: u32 = 4;
/// One registered waiter (the count occupies the bits from here up).
pub(crate) const WAITER: u32 = 8;

/// A `lock` call starves after this many returns from the futex that found the lock still
/// held by someone else (woken and beaten by a barger, returned spuriously, or the word had
/// changed). One under a model checker, so that the models reach `FAIR` mode and the
/// hand-off with two threads.
pub(crate) const FAIR_AFTER_LOSSES: u32 = hint::spin_limit(32);

/// A `lock` call that has been registered this long starves: parking_lot's eventual-fairness
/// interval (a fair unlock about every 0.5 ms, `parking_lot_core::FairTimeout`), and half of
/// Go's `starvationThresholdNs`. Under a model checker the clock is frozen and this never
/// passes; [`FAIR_AFTER_LOSSES`] is what turns `FAIR` on there.
pub(crate) const FAIR_AFTER: Duration = Duration::from_micros(500);

/// How many threads are registered in `state`.
#[inline]
const fn waiters(state: u32) -> u32 {
    state / WAITER
}

/// Spin rounds (bursts of 1, 2, 4, 8 hints) before a waiter starts yielding.
const SPIN_ROUNDS: u32 = 4;
/// Yield rounds after the spins, before a waiter registers and sleeps.
const YIELD_ROUNDS: u32 = 10;

/// The wait before registering: [`SPIN_ROUNDS`] growing bursts of spin hints, then
/// [`YIELD_ROUNDS`] yields (one of each under a checker).
fn backoff() -> Backoff {
    Backoff::new(SPIN_ROUNDS, YIELD_ROUNDS).with_max_shift(3)
}

/// The raw counting futex lock; use it through [`CountingMutex`].
///
/// A futex mutex whose word counts its sleepers: unlock enters the kernel only when someone is
/// registered to sleep, spinners keep spinning while the lock is merely held, a running thread
/// may barge in, and a waiter that has starved too long turns on direct hand-off.
///
/// Sources: the waiter count in the lock word is Jens Gustedt's musl lock ("state and
/// congestion count in one atomic int", SAC'16) and plays the part of the exact `PARKED_BIT`
/// of parking_lot's `raw_mutex.rs`; the spin-while-held with yields is WebKit's `WTF::Lock`
/// ("Locking in WebKit", F. Pizlo, 2016) and parking_lot's `SpinWait`; the starvation mode — a
/// waiter that waited too long makes unlockers hand the lock over instead of releasing it, and
/// newcomers queue instead of barging — is Go's `sync.Mutex` (`src/sync/mutex.go`), with
/// parking_lot's eventual-fairness interval (a fair hand-off after about 0.5 ms,
/// `parking_lot_core::FairTimeout`) as its time limit. Unlike Go's semaphore, a futex cannot
/// wake a chosen thread, so the hand-off names its receiver differently: the starving thread
/// that turned the mode on (the *heir*) is the only one that may claim it.
///
/// # The word
///
/// | bits | name | meaning |
/// |---|---|---|
/// | 0 | `LOCKED` | held |
/// | 1 | `FAIR` | a waiter starves (the heir): unlock hands the lock over instead of releasing it, spinners stop spinning |
/// | 2 | `HANDOFF` | handed over: held on behalf of the heir, which claims it |
/// | 3–31 | count × `WAITER` | threads registered to sleep: between their registering RMW and their deregistering RMW |
///
/// Invariants: `FAIR` ⇒ `LOCKED` ∧ exactly one registered heir (only the CAS that turns `FAIR`
/// on makes an heir, and only the heir turns it off — when it claims the hand-off, or when it
/// gives up before one); `HANDOFF` ⇒ `FAIR`. The count is bounded by the number of threads,
/// far below 2²⁹.
///
/// # States and transitions
///
/// | word | state | lock | unlock |
/// |---|---|---|---|
/// | `0` | free | CAS → `LOCKED`: 1 RMW | — |
/// | `LOCKED` | held, nobody registered | spin (loads), then register | CAS → `0`: 1 RMW |
/// | `LOCKED + n·WAITER` | held, `n` registered | spin, register (CAS `+WAITER`), `futex::wait`, deregister (CAS) | failed CAS, load, CAS → `n·WAITER`, `wake_one`: 2 RMWs + 1 syscall |
/// | `n·WAITER` | free, `n` registered (one was just woken) | barge: CAS `\| LOCKED`: 2 RMWs | — |
/// | `LOCKED + FAIR + n·WAITER` | held, the heir starves | register at once (no spin), sleep | CAS `\| HANDOFF` (stays held), `wake_all` |
/// | `LOCKED + FAIR + HANDOFF + n·WAITER` | handed over | the heir's deregistering CAS claims it (clearing `HANDOFF`, `FAIR`); everyone else sleeps on | — |
///
/// Lock, slow path (`lock_contended`):
///
/// 1. **Spin** with loads only, on the `backoff` schedule (4 rounds of spin hints, then 10 yields), while the
///    lock is held — whether or not others sleep, unlike std's and parking_lot's — and not in
///    `FAIR` mode; barge in with a CAS whenever it reads free.
/// 2. **Register**: CAS `+WAITER` — and `| FAIR` if this call starves and `FAIR` is off, which
///    makes it the heir; if it reads free instead, take it.
/// 3. **Sleep**: `futex::wait(word, seen)` while the word is held (for the heir: and not
///    handed over). The compare is of the whole word, so any change — an unlock, another
///    registration — returns at once; the loop re-reads, turns `FAIR` on if this call now
///    starves and nobody has, and decides again.
/// 4. **Deregister**: one CAS `-WAITER` that also takes the lock if it is free (`| LOCKED`) or,
///    for the heir, claims the hand-off (`−HANDOFF −FAIR`). If a barger got there first, back
///    to 1 — this call *lost* once.
///
/// A call starves once it has been registered for `FAIR_AFTER` (0.5 ms) or has lost
/// `FAIR_AFTER_LOSSES` times (a return from the futex that found the lock held, or a
/// deregistration beaten by a barger).
///
/// Unlock: CAS `LOCKED → 0` (the fast path fails whenever anything else is set); else one
/// CAS that either releases (clearing `LOCKED`) and `wake_one`s if anyone is registered, or, in
/// `FAIR` mode, sets `HANDOFF` and `wake_all`s — the heir may sleep anywhere in the futex
/// queue, and a futex cannot wake a chosen thread; the others find the lock held and sleep
/// again. Hand-offs are rare (one per starvation episode), so the herd is too.
///
/// # Why no wakeup is lost
///
/// A thread sleeps only after a futex compare that read `LOCKED` set and its own registration
/// counted (it registered before, and deregisters only after it returns). Whatever unlock
/// follows that compare performs an RMW on a later value in the word's modification order, so
/// it sees the count non-zero and wakes, and futex(2)'s compare-and-block is atomic with
/// respect to that wake: a sleeper in the queue is woken, and a registered thread that has not
/// compared yet compares against the changed word and returns. The woken thread either takes
/// the lock (it is free, or handed over to it) or finds it held again — and then the holder's
/// unlock will see the count of every thread still asleep. A hand-off wakes everyone, so the
/// heir is among them. A waiter that gives up (`try_lock_for`) deregisters with one CAS that
/// takes the lock instead if it is free (or handed over to it), so a wake-up it consumed is
/// never swallowed; an heir that gives up turns `FAIR` off in that CAS, so the next unlock
/// releases instead of handing over to nobody.
///
/// # Timed waits and scopes
///
/// `try_lock_for` / `try_lock_until` ([`RawLockTimed`]) run the same slow path with a
/// deadline: each sleep is a `wait_timeout` for the time left; a deadline that passed before
/// registering gives up with nothing to undo; one that passes while registered leaves through
/// step 4, whose CAS undoes the registration — or takes the lock, if it is free or was handed
/// over to it meanwhile, and reports success. So a timed-out waiter leaves the count exact and
/// never strands a hand-off (the zoo's `DesertingHandoffMutex` shows a lock held by nobody if
/// it did).
///
/// The lock is generic over the futex scope `S` ([`Private`] by default); its only calls into
/// the kernel are `S::wait`, `S::wait_timeout`, `S::wake_one` and `S::wake_all`, so the same code runs in a
/// segment shared between processes with `futex::CrossProcess` — without owner-death detection, though:
/// a holder killed while holding it leaves it held ([`RobustMutex`](super::RobustMutex) is the robust one).
///
/// # Orderings
///
/// | operation | ordering | pairs with |
/// |---|---|---|
/// | every CAS that sets `LOCKED` (fast path, `try_lock`, barging, registration finding it free) | Acquire | the Release CAS in `unlock`/`unlock_contended` |
/// | the deregistering CAS (which may take the lock or claim a hand-off) | Acquire | the Release CAS in `unlock_contended` that released or set `HANDOFF` |
/// | the registering CAS | Relaxed | — (it takes nothing; the count's only reader is an RMW on the same word) |
/// | `unlock`'s CAS, `unlock_contended`'s CAS | Release | the Acquire RMWs above; the RMWs in between (registrations) continue the release sequence |
/// | loads in the spin and sleep loops | Relaxed | — (hints; the CAS that follows decides) |
///
/// # Progress
///
/// Blocking. Barging (a running thread takes a free lock ahead of a woken one) is what makes
/// it fast; `FAIR` mode bounds how long a waiter can lose: once a registered waiter starves and
/// becomes the heir, the next unlock hands it the lock and nobody barges meanwhile. One heir at
/// a time: a second starving waiter becomes the next heir at its next wake-up (the hand-off's
/// `wake_all` wakes it). Only the heir may claim a hand-off: were any registered waiter allowed
/// to, the claimants would be the newcomers that had just registered and were still running,
/// and the starving thread, asleep, would keep losing. How fair it is in practice (per-thread
/// acquisitions over a window) is measured by the `locks/fairness-*` benchmarks.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use synclab::lock::CountingMutex;
///
/// let m = Arc::new(CountingMutex::new(0u32));
/// let handles: Vec<_> = (0..4)
///     .map(|_| {
///         let m = Arc::clone(&m);
///         std::thread::spawn(move || {
///             for _ in 0..1000 {
///                 *m.lock() += 1;
///             }
///         })
///     })
///     .collect();
/// for h in handles {
///     h.join().unwrap();
/// }
/// assert_eq!(*m.lock(), 4000);
/// ```
pub struct RawCountingMutex<S: WakeScope = Private> {
    /// [`LOCKED`], [`FAIR`], [`HANDOFF`] and the waiter count; see [`RawCountingMutex`].
    state: AtomicU32,
    /// The futex scope of every wait and wake on `state` (see [`WakeScope`]): [`Private`] in one
    /// process, `CrossProcess` for a word in memory that several processes map.
    scope: PhantomData<S>,
}

/// A mutex over `T` built on [`RawCountingMutex`].
pub type CountingMutex<T> = Mutex<T, RawCountingMutex>;

/// What one `lock` call has been through, to decide when it starves.
struct Starvation {
    losses: u32,
    /// When this call first registered (read only on the sleeping path).
    since: Option<Instant>,
}

impl Starvation {
    fn new() -> Self {
        Self {
            losses: 0,
            since: None,
        }
    }

    /// Whether the next registration (or the sleep loop) should turn on `FAIR` mode: lost
    /// [`FAIR_AFTER_LOSSES`] times, or registered for [`FAIR_AFTER`].
    fn starving(&mut self) -> bool {
        let since = *self.since.get_or_insert_with(Instant::now);
        self.losses >= FAIR_AFTER_LOSSES || since.elapsed() >= FAIR_AFTER
    }

    /// Returned from the futex (woken, spuriously, or the word had changed) and found the lock
    /// still held by someone else, or found it taken by a barger when deregistering.
    fn lost(&mut self) {
        self.losses = self.losses.saturating_add(1);
    }
}

impl<S: WakeScope> RawCountingMutex<S> {
    crate::sync::plain_world! {
        /// An unlocked lock, in const context (the `lock_api` bridge's `INIT`; plain build
        /// only).
        #[cfg(feature = "lock_api")]
        pub(crate) const fn const_new() -> Self {
            Self {
                state: AtomicU32::new(0),
                scope: PhantomData,
            }
        }
    }

    crate::sync::plain_world! {
        /// Whether the lock is held right now (a snapshot: it may change at once);
        /// `lock_api`'s `is_locked`.
        #[cfg(feature = "lock_api")]
        pub(crate) fn is_locked(&self) -> bool {
            // Relaxed: a snapshot that orders nothing.
            self.state.load(Relaxed) & LOCKED != 0
        }
    }

    /// Takes the lock while `state` reads free, one CAS per try (`state` is updated with what
    /// each failed CAS saw); `false` once it reads held. Acquire: pairs with the Release CAS of
    /// the unlock that freed it.
    #[inline]
    fn barge(&self, state: &mut u32) -> bool {
        while *state & LOCKED == 0 {
            match self
                .state
                .compare_exchange(*state, *state | LOCKED, Acquire, Relaxed)
            {
                Ok(_) => return true,
                Err(seen) => *state = seen,
            }
        }
        false
    }

    /// The slow path: spin, register, sleep, until the lock is ours (`true`) or `deadline`
    /// has passed (`false`, with our registration undone).
    #[cold]
    fn lock_contended(&self, deadline: Option<Instant>) -> bool {
        let mut starvation = Starvation::new();
        // Relaxed: a hint; every acquisition below is an Acquire CAS.
        let mut state = self.state.load(Relaxed);
        loop {
            // 1. Spin while it is held and nobody starves; barge in when it reads free.
            let mut backoff = backoff();
            loop {
                if self.barge(&mut state) {
                    return true;
                }
                if state & FAIR != 0 || backoff.is_completed() {
                    break;
                }
                backoff.snooze();
                // Relaxed: a hint, as above.
                state = self.state.load(Relaxed);
            }

            // A deadline that has passed: give up before registering (nothing to undo).
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return false;
            }

            // 2. Register (or take it, if it came free). A call that starves turns FAIR on
            // with its registration, if nobody has yet: it becomes the heir, the only thread
            // that may claim a hand-off.
            let starving = starvation.starving();
            let mut heir;
            loop {
                if self.barge(&mut state) {
                    return true;
                }
                let claims_fair = starving && state & FAIR == 0;
                let registered = (state + WAITER) | if claims_fair { FAIR } else { 0 };
                // Relaxed: registering takes nothing; the unlock that must see the count reads
                // it with an RMW on this word, later in its modification order.
                match self
                    .state
                    .compare_exchange(state, registered, Relaxed, Relaxed)
                {
                    Ok(_) => {
                        state = registered;
                        heir = claims_fair;
                        break;
                    }
                    Err(seen) => state = seen,
                }
            }

            // 3. Sleep while it is held (and, for the heir, not yet handed over). The futex
            // compares the whole word, atomically with respect to `unlock`'s wake: an unlock
            // after our last read makes the compare fail, or finds us asleep and wakes us
            // ([`RawCountingMutex`]). Every return that finds it still held is a loss; once this call
            // starves, it turns FAIR on (keeping LOCKED: FAIR implies LOCKED) and is the heir.
            let mut timed_out = false;
            while state & LOCKED != 0 && !(heir && state & HANDOFF != 0) {
                if state & FAIR == 0 && starvation.starving() {
                    // Relaxed: a mode bit; it takes nothing and publishes nothing.
                    match self
                        .state
                        .compare_exchange(state, state | FAIR, Relaxed, Relaxed)
                    {
                        Ok(_) => {
                            state |= FAIR;
                            heir = true;
                        }
                        Err(seen) => {
                            state = seen;
                            continue;
                        }
                    }
                }
                match deadline {
                    None => S::wait(&self.state, state),
                    Some(deadline) => {
                        let now = Instant::now();
                        if now >= deadline
                            || S::wait_timeout(&self.state, state, deadline - now).timed_out()
                        {
                            timed_out = true;
                        }
                    }
                }
                // Relaxed: a hint; the deregistering CAS below is what acquires.
                state = self.state.load(Relaxed);
                if timed_out {
                    break;
                }
                starvation.lost();
            }

            // 4. Deregister, taking the lock if it is free or (for the heir) handed over —
            // also when the time ran out: a waiter that gives up never leaves a hand-off
            // unclaimed or a wake-up it consumed unused. An heir that gives up before the
            // hand-off turns FAIR off as it leaves.
            loop {
                let (next, acquired) = if heir && state & HANDOFF != 0 {
                    ((state - WAITER) & !(HANDOFF | FAIR), true)
                } else if state & LOCKED == 0 {
                    ((state - WAITER) | LOCKED, true)
                } else if heir {
                    ((state - WAITER) & !FAIR, false)
                } else {
                    (state - WAITER, false)
                };
                // Acquire: pairs with the Release CAS in `unlock_contended` that freed the lock
                // or handed it over.
                match self.state.compare_exchange(state, next, Acquire, Relaxed) {
                    Ok(_) if acquired => return true,
                    Ok(_) if timed_out => return false,
                    Ok(_) => {
                        state = next;
                        break;
                    }
                    Err(seen) => state = seen,
                }
            }
            starvation.lost();
        }
    }

    #[cold]
    fn unlock_contended(&self) {
        // Relaxed: the CAS below decides.
        let mut state = self.state.load(Relaxed);
        loop {
            // FAIR implies a registered heir (it turns FAIR off whenever it leaves).
            let hand_off = state & FAIR != 0;
            let next = if hand_off {
                state | HANDOFF
            } else {
                state & !LOCKED
            };
            // Release: pairs with the Acquire CAS of whoever takes the lock next — a barger,
            // the registered waiter that deregisters with it, or the heir claiming it.
            match self.state.compare_exchange(state, next, Release, Relaxed) {
                Ok(_) if hand_off => {
                    // The heir may sleep anywhere in the futex queue: wake everyone; the others
                    // find the lock held and sleep again.
                    self.wake_all();
                    return;
                }
                Ok(_) => {
                    if waiters(state) > 0 {
                        self.wake_one();
                    }
                    return;
                }
                Err(seen) => state = seen,
            }
        }
    }

    /// Wakes one sleeper (in the lock's scope `S`).
    #[cold]
    fn wake_one(&self) {
        S::wake_one(&self.state);
    }

    /// Wakes every sleeper, so that the heir of a hand-off wakes wherever it sleeps.
    #[cold]
    fn wake_all(&self) {
        S::wake_all(&self.state);
    }
}

// SAFETY: mutual exclusion: `LOCKED` is set only by a CAS that read it clear, and cleared only
// by the holder's unlock; a hand-off keeps it set and passes ownership to exactly one claimant,
// because claiming is a CAS that clears `HANDOFF`, and only the holder's unlock sets it. Every
// acquisition (a CAS that set `LOCKED`, or one that cleared `HANDOFF`) is Acquire and reads the
// Release CAS of the previous holder's unlock or a later RMW in its release sequence (all
// writes to the word are RMWs), so unlock happens-before the next lock.
unsafe impl<S: WakeScope> RawLock for RawCountingMutex<S> {
    const NAME: &'static str = "counting";

    fn new() -> Self {
        Self {
            state: AtomicU32::new(0),
            scope: PhantomData,
        }
    }

    #[inline]
    fn lock(&self) {
        // Acquire: pairs with the Release CAS of the previous unlock.
        if self
            .state
            .compare_exchange(0, LOCKED, Acquire, Relaxed)
            .is_err()
        {
            self.lock_contended(None);
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        // Relaxed: a hint; `barge` acquires.
        let mut state = self.state.load(Relaxed);
        self.barge(&mut state)
    }

    #[inline]
    unsafe fn unlock(&self) {
        // Release: pairs with the Acquire CAS of the next holder.
        if self
            .state
            .compare_exchange(LOCKED, 0, Release, Relaxed)
            .is_err()
        {
            self.unlock_contended();
        }
    }
}

// SAFETY: a `true` is an acquisition by the same CASes as in `lock` (see above).
unsafe impl<S: WakeScope> RawLockTimed for RawCountingMutex<S> {
    #[inline]
    fn try_lock_until(&self, deadline: Instant) -> bool {
        self.try_lock() || self.lock_contended(Some(deadline))
    }
}

#[cfg(feature = "fault-injection")]
impl<S: WakeScope> crate::fault::Probe for RawCountingMutex<S> {
    /// How many threads are registered to sleep: zero whenever nobody is inside `lock`,
    /// however their waits ended.
    type Reading = u32;

    fn probe(&self) -> u32 {
        // Relaxed: a snapshot that orders nothing.
        waiters(self.state.load(Relaxed))
    }
}

impl<S: WakeScope> core::fmt::Debug for RawCountingMutex<S> {
    /// Reads nothing: the word changes under our feet and a load would be a checker step.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RawCountingMutex")
            .field("scope", &S::NAME)
            .finish_non_exhaustive()
    }
}
