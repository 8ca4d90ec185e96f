//! The write-once slot both lock-free arrays are made of: a state word and a value, the
//! Release swap that publishes the value, and the reader's wait (a bounded spin, then a futex
//! sleep on the slot's own word). The word's states are documented on
//! [`LockFreeArray`](super::LockFreeArray).

use core::fmt;
use core::mem::MaybeUninit;
use core::time::Duration;

use super::tracked::{self, Look};
use crate::shm::Memory;
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::{spin_limit, spin_loop};
use crate::sync::time::Instant;
use crate::sync::{thread, UnsafeCell};

/// Phase: nothing published.
pub(super) const EMPTY: u32 = 0;
/// Phase: one publisher has claimed the slot and is writing the value.
pub(super) const WRITING: u32 = 1;
/// Phase (and whole word): the value is published. Final.
pub(super) const READY: u32 = 2;
/// Phase (tracked memory only): the publisher died while `WRITING`; claimable again.
pub(super) const ABANDONED: u32 = 3;
/// The phase bits.
const PHASE: u32 = 0b011;
/// Marker bit: at least one reader sleeps (or is about to sleep) on this word.
pub(super) const SLEEPERS: u32 = 0b100;

/// How many times a reader re-loads the word, with a `pause` in between, before it yields:
/// std's mutex figure. Spinning pays when the publisher is already on a CPU and about to
/// publish.
const SPIN: u32 = 100;

/// How many times a reader then yields its CPU (and re-loads) before it sleeps.
///
/// Two threads handing slots back and forth quickly fall out of spinning whenever one is
/// delayed (preempted, or woken from a sleep): if the other gives up before the delayed one
/// answers, it sleeps, and the pair continues at sleep-and-wake speed. A yield lets a publisher
/// that is runnable but has no CPU run on ours, which a `pause` cannot (parking_lot's
/// `SpinWait` yields for the same reason). A reader waiting for a slow publisher pays this once
/// per wait, then sleeps.
const YIELDS: u32 = 10;

/// The phase of a state word.
#[inline]
pub(super) fn phase(state: u32) -> u32 {
    state & PHASE
}

/// How a wait for a slot ended.
pub(super) enum Waited {
    Ready,
    /// Tracked memory only: the publisher died (the slot reads `ABANDONED`, or its lane's
    /// holder is dead).
    Abandoned,
    /// A timed wait's deadline passed with the slot still unpublished.
    TimedOut,
}

/// `publish` runs to its end (the other `STOP`s are fault injection's, as a process killed
/// at that point would stop).
pub(super) const RUN_TO_END: u8 = 0;
/// Stop after the claim CAS, before writing the value.
pub(super) const STOP_AFTER_CLAIM: u8 = 1;
/// Stop after writing the value, before the Release swap that publishes it.
pub(super) const STOP_AFTER_WRITE: u8 = 2;

/// One write-once slot: a state word and a value.
#[repr(C)]
pub(crate) struct Slot<T> {
    /// `EMPTY` / `WRITING` / `READY`, plus `SLEEPERS`; see [`LockFreeArray`](super::LockFreeArray).
    pub(super) state: AtomicU32,
    /// Initialised iff `state == READY` (or while `WRITING`, by the claimant only; or while a
    /// lane's holder fills it).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A slot alone on its cache line (64 bytes on the x86-64 and aarch64 machines this is
/// measured on), for the arrays whose publishers claim slots: unpadded, a reader spinning on
/// slot `i` keeps pulling the line that a publisher of slot `i + 1` is claiming in (false
/// sharing). The cost is memory: a slot takes a whole line (64 bytes for a `u64`).
#[repr(C, align(64))]
pub(crate) struct Padded<T>(pub(super) Slot<T>);

impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}

impl<T> Slot<T> {
    pub(super) fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }

    /// Writes `value` and publishes it (unless `STOP` stops first): the Release swap to
    /// READY, and a wake if readers sleep.
    ///
    /// # Safety
    ///
    /// The caller must be the slot's only writer (its claimant, or its lane's holder), the
    /// slot must not be READY, and earlier writes of the value must happen before this one.
    #[inline(always)]
    pub(super) unsafe fn fill<M: Memory, const STOP: u8>(&self, value: T) {
        // SAFETY: the caller's contract: nobody else writes the value, nobody reads it before
        // READY, which only the swap below stores.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        if STOP == STOP_AFTER_WRITE {
            return;
        }
        // Release: pairs with the Acquire loads of `get_ref` and `wait_until_ready` (and the
        // Acquire failure of the reader's SLEEPERS CAS): the value, and everything this thread
        // wrote before `publish`, is visible to a reader that sees READY.
        let before = self.state.swap(READY, Release);
        if before & SLEEPERS != 0 {
            wake_readers::<M>(&self.state);
        }
    }

    /// The published value, if the slot reads READY.
    #[inline]
    pub(super) fn get(&self) -> Option<&T> {
        // Acquire: pairs with the Release swap in `fill`, so the value written before it is
        // visible here.
        if self.state.load(Acquire) == READY {
            // SAFETY: READY was seen with Acquire (above).
            Some(unsafe { self.value_ref() })
        } else {
            None
        }
    }

    /// The published value.
    ///
    /// # Safety
    ///
    /// The caller must have seen `state == READY` through an Acquire load (or RMW), so the
    /// value is initialised and its write happens-before this read; after READY the value is
    /// never written again until `Drop`, which needs `&mut`.
    #[inline]
    pub(super) unsafe fn value_ref(&self) -> &T {
        // SAFETY: initialised and ordered before us by the caller's contract; shared reads of
        // a value nobody writes any more may overlap freely.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }

    /// Blocks until the slot is published and returns its value; `None` if, in tracked
    /// memory, its publisher (or, with `owner`, its lane's holder) was found dead first.
    #[inline]
    pub(super) fn wait<M: Memory>(&self, owner: Option<&AtomicU32>) -> Option<&T> {
        if let Some(value) = self.get() {
            return Some(value);
        }
        match self.wait_until_ready::<M>(None, owner) {
            // SAFETY: READY was seen with Acquire inside `wait_until_ready`.
            Waited::Ready => Some(unsafe { self.value_ref() }),
            Waited::Abandoned => None,
            Waited::TimedOut => unreachable!("a wait without a deadline does not time out"),
        }
    }

    /// Drops the value if the slot is published.
    ///
    /// # Safety
    ///
    /// The caller must have exclusive access to the slot (`&mut` to its array, and every
    /// other thread's accesses ordered before this), and must call it at most once.
    pub(super) unsafe fn drop_value(&self) {
        // Relaxed: exclusive access, ordered by whatever handed it to us (the last `Arc` drop,
        // a join).
        if self.state.load(Relaxed) == READY {
            // SAFETY: READY means the value was initialised (by the claimant or the lane's
            // holder, before its swap); exclusive access and at most once by the contract.
            self.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }

    /// Returns once `state == READY` has been seen with an Acquire load — or, in tracked
    /// memory, once the publisher is found dead (see `tracked::look`) — or once `deadline`
    /// (if any) has passed (`TimedOut`).
    #[cold]
    pub(super) fn wait_until_ready<M: Memory>(
        &self,
        deadline: Option<Instant>,
        owner: Option<&AtomicU32>,
    ) -> Waited {
        // A short spin first: a publisher that has already claimed the slot (or is about to)
        // finishes within a few hundred nanoseconds, far less than a sleep and a wake.
        for _ in 0..spin_limit(SPIN) {
            spin_loop();
            // Acquire: pairs with the Release swap in `fill`.
            if self.state.load(Acquire) == READY {
                return Waited::Ready;
            }
        }
        // Then a few yields: if the publisher is runnable but has no CPU, give it ours.
        for _ in 0..spin_limit(YIELDS) {
            thread::yield_now();
            // Acquire: pairs with the Release swap in `fill`.
            if self.state.load(Acquire) == READY {
                return Waited::Ready;
            }
        }
        // Acquire: pairs with the Release swap in `fill`.
        let mut state = self.state.load(Acquire);
        // Whether a bounded sleep ran out: only then is a lane's holder asked whether it lives.
        let mut slept_out = false;
        loop {
            if state == READY {
                return Waited::Ready;
            }
            if M::TRACKED {
                match tracked::look::<M, T>(self, state, owner, slept_out) {
                    Look::Return(waited) => return waited,
                    Look::Reload => {
                        // Acquire: pairs with the Release swap in `fill`.
                        state = self.state.load(Acquire);
                        continue;
                    }
                    Look::Sleep => {}
                }
            }
            if state & SLEEPERS == 0 {
                // Announce that we will sleep. Success is Relaxed: the marker publishes no
                // data, and the RMW's place in the word's modification order is what makes
                // the publisher's swap see it. Failure is Acquire: it may read READY, which
                // pairs with the Release swap in `fill`.
                match self
                    .state
                    .compare_exchange(state, state | SLEEPERS, Relaxed, Acquire)
                {
                    Ok(_) => state |= SLEEPERS,
                    Err(seen) => {
                        state = seen;
                        continue;
                    }
                }
            }
            // Sleeps only while the word is still `state` (atomically with respect to the
            // publisher's wake); may return spuriously, so we re-check. With a deadline, the
            // sleep ends there. A reader that times out leaves `SLEEPERS` set: other readers
            // may sleep under the same marker, so it cannot be cleared, and the publisher then
            // makes one `wake_all` that may find nobody.
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                return self.last_look();
            }
            if M::TRACKED {
                // Bounded, so that a publisher that dies while we sleep is noticed.
                slept_out |= tracked::sleep::<M>(&self.state, state, left);
            } else {
                match left {
                    None => M::wait(&self.state, state),
                    Some(left) => {
                        if M::wait_timeout(&self.state, state, left) {
                            return self.last_look();
                        }
                    }
                }
            }
            // Acquire: pairs with the Release swap in `fill`.
            state = self.state.load(Acquire);
        }
    }

    /// A timed wait's last look before giving up.
    #[cold]
    fn last_look(&self) -> Waited {
        // Acquire: pairs with the Release swap in `fill`.
        if self.state.load(Acquire) == READY {
            Waited::Ready
        } else {
            Waited::TimedOut
        }
    }
}

/// Wakes every reader asleep on a slot's word (more than one may wait for the same slot).
#[cold]
pub(super) fn wake_readers<M: Memory>(state: &AtomicU32) {
    M::wake_all(state);
}
