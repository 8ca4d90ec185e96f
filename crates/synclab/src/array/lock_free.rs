//! A lock-free shared array: one state word per slot, Release on publish, Acquire on read,
//! and a futex wait on the slot's own word only when a reader must sleep.
//!
//! Sources: the three-state futex mutex of Drepper, "Futexes Are Tricky" (2011), §"Mutex,
//! Take 2" and std's `sys/sync/mutex/futex.rs` — a state word that records "someone sleeps"
//! so that the releasing side makes the wake syscall only then; Mara Bos, *Rust Atomics and
//! Locks* (2023), ch. 3 ("Release and Acquire ordering", the one-shot-channel example of
//! ch. 5) for publishing a value through a Release store read by an Acquire load; futex(2)
//! for the compare-and-block wait.
//!
//! # States of a slot's word
//!
//! The low two bits are the phase; bit 2 marks sleeping readers.
//!
//! | word | meaning | who leaves it, how |
//! |---|---|---|
//! | `EMPTY` | nothing published, nobody asleep | a publisher: CAS → `WRITING`; a reader about to sleep: CAS → `EMPTY \| SLEEPERS` |
//! | `EMPTY \| SLEEPERS` | nothing published, readers asleep (or about to be) | a publisher: CAS → `WRITING \| SLEEPERS` |
//! | `WRITING` | one publisher owns the slot and is writing the value | that publisher: swap → `READY`; a reader about to sleep: CAS → `WRITING \| SLEEPERS` |
//! | `WRITING \| SLEEPERS` | the same, readers asleep | that publisher: swap → `READY`, then `wake_all` |
//! | `READY` | the value is written and visible; final | never (until `Drop`) |
//!
//! A publisher claims the slot with a CAS from an `EMPTY` phase, so of two racing publishers
//! exactly one wins and the other gets its value back. The value is written only by the
//! claimant, into `UnsafeCell<MaybeUninit<T>>`, and only read once `READY` is seen.
//!
//! # Why no wakeup is lost
//!
//! A reader that decides to sleep first sets `SLEEPERS` with a CAS, then calls
//! `futex::wait(word, state | SLEEPERS)`. The publisher's final `swap(READY)` is a
//! read-modify-write of the same word, so the two are totally ordered: either the swap comes
//! later and returns `SLEEPERS` (the publisher wakes everyone), or it came first and the
//! reader's CAS fails on `READY` (the reader returns). A wake that falls between the reader's
//! CAS and its `wait` is not lost: `wait` only sleeps if the word still equals its argument,
//! atomically with respect to wakes.
//!
//! # Progress
//!
//! `try_get` is wait-free, and so is a `publish` that wins its slot (a bounded CAS retry: the
//! word changes at most four times). A `publish` that *loses* to a publisher still writing
//! waits, like a reader, until that value is visible, so that "already published" is never
//! reported while the slot still reads as empty — that is what makes the array
//! linearizable; such a loser is blocked by a stalled winner. `wait` blocks, by definition,
//! until the slot is published: after a short bounded spin (loads only) it sleeps in the
//! kernel and uses no CPU.

use core::fmt;
use core::mem::MaybeUninit;
use core::time::Duration;

use super::{IndexError, PublishError, SharedArray};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::{spin_limit, spin_loop};
use crate::sync::time::Instant;
use crate::sync::{futex, thread, UnsafeCell};

/// Phase: nothing published.
const EMPTY: u32 = 0;
/// Phase: one publisher has claimed the slot and is writing the value.
const WRITING: u32 = 1;
/// Phase (and whole word): the value is published. Final.
const READY: u32 = 2;
/// The phase bits.
const PHASE: u32 = 0b011;
/// Marker bit: at least one reader sleeps (or is about to sleep) on this word.
const SLEEPERS: u32 = 0b100;

/// How many times a reader re-loads the word, with a `pause` in between, before it yields.
///
/// std's mutex figure; about 2.6 µs of `pause`s on the x86-64 VM we measure on. Spinning
/// pays when the publisher is already on a CPU and about to publish.
const SPIN: u32 = 100;

/// How many times a reader then yields its CPU (and re-loads) before it sleeps.
///
/// Two threads handing slots back and forth quickly fall out of spinning whenever one is
/// delayed (preempted, or woken from a sleep): if the other gives up before the delayed one
/// answers, it sleeps, and the pair continues at sleep-and-wake speed (≈ 8 µs per handoff
/// here instead of hundreds of ns). A yield lets a publisher that is runnable but has no CPU
/// run on ours, which a `pause` cannot (parking_lot's `SpinWait` yields for the same
/// reason). Measured on `array/handoff-quick` (2 vCPUs, heavily shared): pauses alone, 100
/// → 8.4 µs per handoff, 400 → 0.7× – 2.6× the spin floor; 100 pauses + 10 yields → 0.6× –
/// 2.7×: the load on the machine decides more than the spin. A reader waiting for a slow
/// publisher pays this once per wait, then sleeps.
const YIELDS: u32 = 10;

#[inline]
fn phase(state: u32) -> u32 {
    state & PHASE
}

/// One write-once slot.
struct Slot<T> {
    /// `EMPTY` / `WRITING` / `READY`, plus `SLEEPERS`; see the module docs.
    state: AtomicU32,
    /// Initialised iff `state == READY` (or while `WRITING`, by the claimant only).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A lock-free shared array: per-slot state words, readers sleep on a futex only when they must.
///
/// ```
/// use synclab::array::{LockFreeArray, SharedArray};
///
/// let array = LockFreeArray::with_len(4);
/// array.publish(3, vec![1, 2, 3]).unwrap();
/// assert_eq!(array.wait(3).unwrap(), vec![1, 2, 3]);           // a clone
/// assert_eq!(array.wait_ref(3).unwrap(), &vec![1, 2, 3]);      // or a reference
/// assert_eq!(array.get_ref(0).unwrap(), None);
/// ```
pub struct LockFreeArray<T> {
    slots: Box<[Slot<T>]>,
}

// SAFETY: the array owns its `T`s and drops them; moving it to another thread moves them, so
// `T: Send` suffices.
unsafe impl<T: Send> Send for LockFreeArray<T> {}
// SAFETY: through `&LockFreeArray` a publisher moves a `T` in from its thread (`T: Send`) and
// any number of readers get `&T` at once (`T: Sync`). Every access to a slot's value is
// ordered by the slot's state word (see the SAFETY comments at each access).
unsafe impl<T: Send + Sync> Sync for LockFreeArray<T> {}

impl<T> LockFreeArray<T> {
    fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        self.slots.get(index).ok_or(IndexError {
            index,
            len: self.slots.len(),
        })
    }

    /// A reference to slot `index`'s value if it is published, `None` if not yet; never blocks.
    ///
    /// Sound because a published value never moves or changes until the array is dropped,
    /// which `&self` prevents.
    #[inline]
    pub fn get_ref(&self, index: usize) -> Result<Option<&T>, IndexError> {
        let slot = self.slot(index)?;
        // Acquire: pairs with the Release swap in `publish`, so the value written before it
        // is visible here.
        if slot.state.load(Acquire) == READY {
            // SAFETY: READY was seen with Acquire (above).
            Ok(Some(unsafe { slot.value_ref() }))
        } else {
            Ok(None)
        }
    }

    /// Blocks until slot `index` is published and returns a reference to its value.
    #[inline]
    pub fn wait_ref(&self, index: usize) -> Result<&T, IndexError> {
        let slot = self.slot(index)?;
        // Acquire: pairs with the Release swap in `publish` (fast path: already published).
        if slot.state.load(Acquire) != READY {
            slot.wait_until_ready(None);
        }
        // SAFETY: READY was seen with Acquire, here or inside `wait_until_ready`.
        Ok(unsafe { slot.value_ref() })
    }

    /// As [`wait_ref`](Self::wait_ref), for at most `timeout`: `Ok(None)` if the slot was
    /// still empty when it passed.
    ///
    /// A reader that times out leaves the slot's `SLEEPERS` marker set: other readers may
    /// sleep under the same marker, so it cannot be cleared; the publisher then makes one
    /// `wake_all` that may find nobody.
    pub fn wait_ref_timeout(
        &self,
        index: usize,
        timeout: Duration,
    ) -> Result<Option<&T>, IndexError> {
        let slot = self.slot(index)?;
        // Acquire: pairs with the Release swap in `publish` (fast path: already published).
        if slot.state.load(Acquire) == READY
            || slot.wait_until_ready(Instant::now().checked_add(timeout))
        {
            // SAFETY: READY was seen with Acquire, here or inside `wait_until_ready`.
            Ok(Some(unsafe { slot.value_ref() }))
        } else {
            Ok(None)
        }
    }
}

impl<T> Slot<T> {
    fn new() -> Self {
        Self {
            state: AtomicU32::new(EMPTY),
            value: UnsafeCell::new(MaybeUninit::uninit()),
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
    unsafe fn value_ref(&self) -> &T {
        // SAFETY: initialised and ordered before us by the caller's contract; shared reads of
        // a value nobody writes any more may overlap freely.
        self.value.with(|p| unsafe { (*p).assume_init_ref() })
    }

    /// Returns `true` once `state == READY` has been seen with an Acquire load, or `false`
    /// once `deadline` (if any) has passed without it.
    #[cold]
    fn wait_until_ready(&self, deadline: Option<Instant>) -> bool {
        // A short spin first: a publisher that has already claimed the slot (or is about to)
        // finishes within a few hundred nanoseconds, far less than a sleep and a wake.
        for _ in 0..spin_limit(SPIN) {
            spin_loop();
            // Acquire: pairs with the Release swap in `publish`.
            if self.state.load(Acquire) == READY {
                return true;
            }
        }
        // Then a few yields: if the publisher is runnable but has no CPU, give it ours.
        for _ in 0..spin_limit(YIELDS) {
            thread::yield_now();
            // Acquire: pairs with the Release swap in `publish`.
            if self.state.load(Acquire) == READY {
                return true;
            }
        }
        // Acquire: pairs with the Release swap in `publish`.
        let mut state = self.state.load(Acquire);
        loop {
            if state == READY {
                return true;
            }
            if state & SLEEPERS == 0 {
                // Announce that we will sleep. Success is Relaxed: the marker publishes no
                // data, and the RMW's place in the word's modification order is what makes
                // the publisher's swap see it. Failure is Acquire: it may read READY, which
                // pairs with the Release swap in `publish`.
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
            // publisher's wake); may return spuriously, so we re-check.
            if futex::wait_until(&self.state, state, deadline).timed_out() {
                // One last look (Acquire: as below) before giving up.
                return self.state.load(Acquire) == READY;
            }
            // Acquire: pairs with the Release swap in `publish`.
            state = self.state.load(Acquire);
        }
    }
}

impl<T> SharedArray<T> for LockFreeArray<T>
where
    T: Clone + Send + Sync,
{
    const NAME: &'static str = "lockfree";

    fn with_len(len: usize) -> Self {
        Self {
            slots: (0..len).map(|_| Slot::new()).collect(),
        }
    }

    fn len(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let Some(slot) = self.slots.get(index) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: self.slots.len(),
                value,
            });
        };
        // Claim the slot. Relaxed throughout: the claim publishes nothing (readers ignore
        // WRITING), and two claimants are ordered by the word's modification order alone.
        let mut state = slot.state.load(Relaxed);
        loop {
            if phase(state) != EMPTY {
                // Another publisher owns the slot. If it is still WRITING, wait until it is
                // READY before saying so: returning at once would let a reader that starts
                // after our "already published" still see an empty slot — a history with no
                // linearization (the linearizability checker found exactly that under
                // shuttle). Waiting also means our caller may read the slot at once.
                if phase(state) == WRITING {
                    slot.wait_until_ready(None);
                }
                return Err(PublishError::AlreadyPublished { index, value });
            }
            let claimed = WRITING | (state & SLEEPERS);
            match slot
                .state
                .compare_exchange(state, claimed, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(seen) => state = seen,
            }
        }
        // SAFETY: our CAS moved the phase from EMPTY to WRITING, which happens once per slot,
        // so we are the only writer; readers touch the value only after seeing READY, which
        // only our swap below stores; `Drop` needs `&mut self`, excluded by our `&self`.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        // Release: pairs with the Acquire loads of `try_get`, `wait`, `get_ref`, `wait_ref`
        // (and the Acquire failure of the reader's SLEEPERS CAS): the value, and everything
        // this thread wrote before `publish`, is visible to a reader that sees READY.
        let before = slot.state.swap(READY, Release);
        if before & SLEEPERS != 0 {
            wake_readers(&slot.state);
        }
        Ok(())
    }

    #[inline]
    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        Ok(self.get_ref(index)?.cloned())
    }

    #[inline]
    fn wait(&self, index: usize) -> Result<T, IndexError> {
        self.wait_ref(index).cloned()
    }

    fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
        Ok(self.wait_ref_timeout(index, timeout)?.cloned())
    }
}

/// Wakes every reader asleep on a slot's word (more than one may wait for the same slot).
#[cold]
fn wake_readers(state: &AtomicU32) {
    futex::wake_all(state);
}

impl<T> Drop for LockFreeArray<T> {
    fn drop(&mut self) {
        for slot in self.slots.iter() {
            // Relaxed: `&mut self` proves that no other thread uses the array any more, and
            // whatever handed us exclusive access (the last `Arc` drop, a join) ordered their
            // accesses before this one.
            if slot.state.load(Relaxed) == READY {
                // SAFETY: READY means the value was initialised (by the claimant, before its
                // swap); `&mut self` gives exclusive access; each slot is visited once and
                // the array is never used again, so the value is dropped exactly once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T> fmt::Debug for LockFreeArray<T> {
    /// Shows the length only: slot states change under our feet, and a value may be mid-write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFreeArray")
            .field("len", &self.slots.len())
            .finish_non_exhaustive()
    }
}
