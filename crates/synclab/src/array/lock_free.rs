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
//! | `ABANDONED` (tracked memory only) | its publisher died while `WRITING` | a publisher: CAS → `WRITING` (the slot may be published again) |
//!
//! In a tracked [`Memory`] (a segment shared by processes, [`Shm`](crate::shm::Shm)) the
//! `WRITING` word also carries the publisher's tag in bits 3..32, so that a reader can ask
//! whether the publisher is still alive. On the [`Heap`] the tag bits stay 0 and the words are
//! exactly the ones in the table.
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
//! # A publisher that dies (tracked memory)
//!
//! | the publisher dies… | the slot's word | what survivors see |
//! |---|---|---|
//! | before its claim CAS | unchanged | nothing: the publish never happened |
//! | after the claim, before or while writing the value | `WRITING \| tag` | a reader that waits checks the tag before it sleeps and at every [`Memory::POLL`]; finding it dead, it CASes the word to `ABANDONED` (waking every sleeper) and gets [`WaitError::PublisherDied`]; so do later readers; a later `publish` may claim the slot again |
//! | after its `swap(READY)`, before the wake | `READY` | readers already asleep wake within [`Memory::POLL`] (their sleep is bounded) and read the value |
//!
//! The value of an abandoned slot is never read: only `READY` makes a value readable.
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
use crate::shm::{Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::{spin_limit, spin_loop};
use crate::sync::time::Instant;
use crate::sync::{thread, UnsafeCell};

/// Phase: nothing published.
const EMPTY: u32 = 0;
/// Phase: one publisher has claimed the slot and is writing the value.
const WRITING: u32 = 1;
/// Phase (and whole word): the value is published. Final.
const READY: u32 = 2;
/// The phase bits.
const PHASE: u32 = 0b011;
/// Phase (tracked memory only): the publisher died while `WRITING`; claimable again.
const ABANDONED: u32 = 3;
/// Marker bit: at least one reader sleeps (or is about to sleep) on this word.
const SLEEPERS: u32 = 0b100;
/// Where a tracked publisher's tag sits in a `WRITING` word.
const TAG_SHIFT: u32 = 3;

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

/// Whether a publisher may claim a slot in this phase (`ABANDONED` only occurs in tracked
/// memory, so on the heap this is the one compare it always was).
#[inline(always)]
fn claimable<M: Memory>(state: u32) -> bool {
    phase(state) == EMPTY || (M::TRACKED && phase(state) == ABANDONED)
}

/// How a wait for a slot ended.
enum Waited {
    Ready,
    /// Tracked memory only: the publisher died; the slot reads `ABANDONED`.
    Abandoned,
    /// A timed wait's deadline passed with the slot still unpublished.
    TimedOut,
}

/// Where [`LockFreeArrayIn::publish_dying`] stops, as a process killed there would.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStep {
    /// After the claim CAS, before writing the value.
    AfterClaim,
    /// After writing the value, before the Release swap that publishes it.
    AfterWrite,
}

const RUN_TO_END: u8 = 0;
const STOP_AFTER_CLAIM: u8 = 1;
const STOP_AFTER_WRITE: u8 = 2;

/// Why a checked wait returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// The index is out of bounds.
    OutOfBounds(IndexError),
    /// The slot's publisher died after claiming it and before publishing (tracked memory
    /// only); the slot may be published again.
    PublisherDied {
        /// The slot.
        index: usize,
    },
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::OutOfBounds(e) => e.fmt(f),
            WaitError::PublisherDied { index } => write!(
                f,
                "the publisher of slot {index} died before publishing it; the slot may be published again"
            ),
        }
    }
}

impl std::error::Error for WaitError {}

impl From<IndexError> for WaitError {
    fn from(e: IndexError) -> Self {
        WaitError::OutOfBounds(e)
    }
}

/// One write-once slot, alone on its cache line (64 bytes on the x86-64 and aarch64 machines
/// this is measured on).
///
/// Unpadded, four `u64` slots share a line, so in a ping-pong over slots `2i` / `2i + 1` the
/// reader spinning on one slot keeps pulling the line that the other side is claiming and
/// publishing in (false sharing): on `processes/roundtrip-spinning` padding took the array from
/// about 0.37× to about 0.48× the spin floor (paired runs of `synclab compare --filter
/// processes/roundtrip`, before the other changes of that round). The cost is memory: a slot
/// takes a whole line (64 bytes for a `u64` instead of 16); a value larger than 60 bytes
/// spans further lines, rounded up to a multiple of 64.
#[repr(C, align(64))]
struct Slot<T> {
    /// `EMPTY` / `WRITING` / `READY`, plus `SLEEPERS`; see the module docs.
    state: AtomicU32,
    /// Initialised iff `state == READY` (or while `WRITING`, by the claimant only).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A lock-free shared array on the [`Heap`]; see [`LockFreeArrayIn`].
pub type LockFreeArray<T> = LockFreeArrayIn<T, Heap>;

/// A lock-free shared array in memory `M`: per-slot state words, readers sleep on a futex
/// only when they must.
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
pub struct LockFreeArrayIn<T, M: Memory> {
    slots: M::Region<(), Slot<T>>,
}

// SAFETY: the array owns its `T`s and drops them; moving it to another thread moves them, so
// `T: Send` suffices. The region is the memory's (a Box, or a segment mapping kept alive).
unsafe impl<T: Send, M: Memory> Send for LockFreeArrayIn<T, M> {}
// SAFETY: through `&LockFreeArrayIn` a publisher moves a `T` in from its thread (`T: Send`) and
// any number of readers get `&T` at once (`T: Sync`). Every access to a slot's value is
// ordered by the slot's state word (see the SAFETY comments at each access).
unsafe impl<T: Send + Sync, M: Memory> Sync for LockFreeArrayIn<T, M> {}

impl<T> LockFreeArrayIn<T, Heap> {
    /// Blocks until slot `index` is published and returns a reference to its value.
    #[inline]
    pub fn wait_ref(&self, index: usize) -> Result<&T, IndexError> {
        match self.wait_ref_checked(index) {
            Ok(v) => Ok(v),
            Err(WaitError::OutOfBounds(e)) => Err(e),
            // The heap is not tracked: no slot is ever abandoned.
            Err(WaitError::PublisherDied { .. }) => unreachable!("heap slots are never abandoned"),
        }
    }

    /// As [`wait_ref`](Self::wait_ref), for at most `timeout`: `Ok(None)` if the slot was
    /// still empty when it passed.
    pub fn wait_ref_timeout(
        &self,
        index: usize,
        timeout: Duration,
    ) -> Result<Option<&T>, IndexError> {
        let slot = self.slot(index)?;
        // Acquire: pairs with the Release swap in `publish` (fast path: already published).
        let ready = slot.state.load(Acquire) == READY
            || match slot.wait_until_ready::<Heap>(Instant::now().checked_add(timeout)) {
                Waited::Ready => true,
                Waited::TimedOut => false,
                // The heap is not tracked: no slot is ever abandoned.
                Waited::Abandoned => unreachable!("heap slots are never abandoned"),
            };
        // SAFETY: READY was seen with Acquire, here or inside `wait_until_ready`.
        Ok(ready.then(|| unsafe { slot.value_ref() }))
    }
}

impl<T, M: HeapMemory> LockFreeArrayIn<T, M> {
    /// An array of `len` empty slots in heap memory `M` (the heap, or a model memory).
    pub fn with_len_in(len: usize) -> Self {
        Self {
            slots: M::region((), (0..len).map(|_| Slot::new()).collect()),
        }
    }
}

impl<T, M: Memory> LockFreeArrayIn<T, M> {
    #[inline(always)]
    fn slots(&self) -> &[Slot<T>] {
        self.slots.elems()
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        self.slots().get(index).ok_or(IndexError {
            index,
            len: self.slots().len(),
        })
    }

    /// The number of slots.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether the array has no slots.
    pub fn is_empty(&self) -> bool {
        self.slots().is_empty()
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

    /// Blocks until slot `index` is published and returns a reference to its value; in
    /// tracked memory, reports a publisher that died instead of waiting for ever.
    #[inline]
    pub fn wait_ref_checked(&self, index: usize) -> Result<&T, WaitError> {
        let slot = self.slot(index)?;
        // Acquire: pairs with the Release swap in `publish` (fast path: already published).
        if slot.state.load(Acquire) != READY {
            if let Waited::Abandoned = slot.wait_until_ready::<M>(None) {
                return Err(WaitError::PublisherDied { index });
            }
        }
        // SAFETY: READY was seen with Acquire, here or inside `wait_until_ready`.
        Ok(unsafe { slot.value_ref() })
    }

    /// A clone of slot `index`'s value once it is published; in tracked memory, reports a
    /// publisher that died instead of waiting for ever.
    #[inline]
    pub fn wait_checked(&self, index: usize) -> Result<T, WaitError>
    where
        T: Clone,
    {
        self.wait_ref_checked(index).cloned()
    }

    /// Fills slot `index` with `value` and wakes its readers (the algorithm behind
    /// [`SharedArray::publish`], in any memory).
    #[inline]
    pub fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<RUN_TO_END>(index, value)
    }

    /// Runs `publish` up to `step` and stops there for good, as a process killed at that
    /// point would: the slot stays `WRITING` (with this thread's tag in tracked memory). For
    /// death-injection tests and models only. The value is leaked if it was written.
    #[doc(hidden)]
    pub fn publish_dying(
        &self,
        index: usize,
        value: T,
        step: PublishStep,
    ) -> Result<(), PublishError<T>> {
        match step {
            PublishStep::AfterClaim => self.publish_until::<STOP_AFTER_CLAIM>(index, value),
            PublishStep::AfterWrite => self.publish_until::<STOP_AFTER_WRITE>(index, value),
        }
    }

    #[inline]
    fn publish_until<const STOP: u8>(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let Some(slot) = self.slots().get(index) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: self.slots().len(),
                value,
            });
        };
        let tag = if M::TRACKED {
            M::tag(&slot.state as *const AtomicU32 as *const ()) << TAG_SHIFT
        } else {
            0
        };
        // Claim the slot. Relaxed throughout: the claim publishes nothing (readers ignore
        // WRITING), and two claimants are ordered by the word's modification order alone.
        // The first CAS expects a fresh slot instead of loading the word first: a load would
        // fetch the line shared and the CAS then fetch it again for writing, while a reader
        // spinning on the word may take it away in between. (A word that is not plain EMPTY —
        // readers asleep, or published — costs one failed CAS, and the loop goes on from the
        // word it returned.)
        let mut state = EMPTY;
        loop {
            if !claimable::<M>(state) {
                // Another publisher owns the slot. If it is still WRITING, wait until it is
                // READY before saying so: returning at once would let a reader that starts
                // after our "already published" still see an empty slot — a history with no
                // linearization (the linearizability checker found exactly that under
                // the randomized checker). Waiting also means our caller may read the slot at once. In
                // tracked memory the owner may turn out dead: the slot is then ABANDONED and
                // we try to claim it.
                if phase(state) == WRITING {
                    if let Waited::Abandoned = slot.wait_until_ready::<M>(None) {
                        state = slot.state.load(Relaxed);
                        continue;
                    }
                }
                return Err(PublishError::AlreadyPublished { index, value });
            }
            let claimed = WRITING | (state & SLEEPERS) | tag;
            match slot
                .state
                .compare_exchange(state, claimed, Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(seen) => state = seen,
            }
        }
        if STOP == STOP_AFTER_CLAIM {
            return Ok(());
        }
        // SAFETY: our CAS moved the phase from EMPTY (or ABANDONED) to WRITING, and only the
        // claimant writes; readers touch the value only after seeing READY, which only our
        // swap below stores; `Drop` needs `&mut self`, excluded by our `&self`.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        if STOP == STOP_AFTER_WRITE {
            return Ok(());
        }
        // Release: pairs with the Acquire loads of `try_get`, `wait`, `get_ref`, `wait_ref`
        // (and the Acquire failure of the reader's SLEEPERS CAS): the value, and everything
        // this thread wrote before `publish`, is visible to a reader that sees READY.
        let before = slot.state.swap(READY, Release);
        if before & SLEEPERS != 0 {
            wake_readers::<M>(&slot.state);
        }
        Ok(())
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

    /// Returns once `state == READY` has been seen with an Acquire load — or, in tracked
    /// memory, once the slot reads `ABANDONED` (its publisher died) — or once `deadline` (if
    /// any) has passed (`TimedOut`).
    #[cold]
    fn wait_until_ready<M: Memory>(&self, deadline: Option<Instant>) -> Waited {
        // A short spin first: a publisher that has already claimed the slot (or is about to)
        // finishes within a few hundred nanoseconds, far less than a sleep and a wake.
        for _ in 0..spin_limit(SPIN) {
            spin_loop();
            // Acquire: pairs with the Release swap in `publish`.
            if self.state.load(Acquire) == READY {
                return Waited::Ready;
            }
        }
        // Then a few yields: if the publisher is runnable but has no CPU, give it ours.
        for _ in 0..spin_limit(YIELDS) {
            thread::yield_now();
            // Acquire: pairs with the Release swap in `publish`.
            if self.state.load(Acquire) == READY {
                return Waited::Ready;
            }
        }
        // Acquire: pairs with the Release swap in `publish`.
        let mut state = self.state.load(Acquire);
        loop {
            if state == READY {
                return Waited::Ready;
            }
            if M::TRACKED {
                if phase(state) == ABANDONED {
                    return Waited::Abandoned;
                }
                if phase(state) == WRITING && self.publisher_dead::<M>(state) {
                    // Relaxed: the abandonment publishes nothing (the value is never read);
                    // the CAS fails if the word moved (a live writer cannot have: it is dead).
                    if self
                        .state
                        .compare_exchange(state, ABANDONED, Relaxed, Relaxed)
                        .is_ok()
                    {
                        if state & SLEEPERS != 0 {
                            wake_readers::<M>(&self.state);
                        }
                        return Waited::Abandoned;
                    }
                    state = self.state.load(Acquire);
                    continue;
                }
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
            // publisher's wake); may return spuriously, so we re-check. In tracked memory the
            // sleep is bounded, so that a publisher that dies while we sleep is noticed; with
            // a deadline, it ends there. A reader that times out leaves `SLEEPERS` set: other
            // readers may sleep under the same marker, so it cannot be cleared, and the
            // publisher then makes one `wake_all` that may find nobody.
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                // One last look (Acquire: pairs with the Release swap in `publish`).
                return if self.state.load(Acquire) == READY {
                    Waited::Ready
                } else {
                    Waited::TimedOut
                };
            }
            if M::TRACKED {
                let sleep = left.map_or(M::POLL, |left| left.min(M::POLL));
                if M::wait_timeout(&self.state, state, sleep) {
                    // Free after a 20 ms sleep; under a checker the yield that lets the
                    // publisher run on (a timed wait alone would be a spin loop there).
                    spin_loop();
                }
            } else {
                match left {
                    None => M::wait(&self.state, state),
                    Some(left) => {
                        if M::wait_timeout(&self.state, state, left) {
                            // One last look (Acquire: as above) before giving up.
                            return if self.state.load(Acquire) == READY {
                                Waited::Ready
                            } else {
                                Waited::TimedOut
                            };
                        }
                    }
                }
            }
            // Acquire: pairs with the Release swap in `publish`.
            state = self.state.load(Acquire);
        }
    }

    /// Whether the publisher whose tag is in `state` (a `WRITING` word) is dead.
    #[cold]
    fn publisher_dead<M: Memory>(&self, state: u32) -> bool {
        M::is_dead(
            &self.state as *const AtomicU32 as *const (),
            state >> TAG_SHIFT,
        )
    }
}

impl<T> SharedArray<T> for LockFreeArray<T>
where
    T: Clone + Send + Sync,
{
    const NAME: &'static str = "lockfree";

    fn with_len(len: usize) -> Self {
        Self::with_len_in(len)
    }

    fn len(&self) -> usize {
        self.slots().len()
    }

    #[inline]
    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        LockFreeArrayIn::publish(self, index, value)
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
fn wake_readers<M: Memory>(state: &AtomicU32) {
    M::wake_all(state);
}

impl<T, M: Memory> Drop for LockFreeArrayIn<T, M> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's slots belong to every process that maps it, not to this handle.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let slots = self.slots();
        // Every published value is dropped even if one's `Drop` panics, as `Vec` does.
        crate::cleanup::drop_each(0..slots.len(), |i| {
            let slot = &slots[i];
            // Relaxed: `&mut self` proves that no other thread uses the array any more, and
            // whatever handed us exclusive access (the last `Arc` drop, a join) ordered their
            // accesses before this one.
            if slot.state.load(Relaxed) == READY {
                // SAFETY: READY means the value was initialised (by the claimant, before its
                // swap); `&mut self` gives exclusive access; `drop_each` visits each slot once
                // and the array is never used again, so the value is dropped exactly once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        });
    }
}

impl<T, M: Memory> fmt::Debug for LockFreeArrayIn<T, M> {
    /// Shows the length only: slot states change under our feet, and a value may be mid-write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFreeArray")
            .field("len", &self.slots().len())
            .finish_non_exhaustive()
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
// SAFETY: `size` is the one region `build` places; a slot (a state word and an
// `UnsafeCell<MaybeUninit<T>>` of plain `T`) is fit for shared memory: no pointers, nothing to
// drop, valid for any bytes (the value is read only after READY).
unsafe impl<T: crate::shm::Plain> crate::shm::Design for LockFreeArrayIn<T, crate::shm::Shm> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::array::LockFreeArray";
    /// 2: slots padded to a cache line (1: packed), so a segment made by version 1 is refused.
    const VERSION: u32 = 2;

    fn size(offset: usize, len: &u64) -> Option<usize> {
        crate::shm::region_end::<(), Slot<T>>(offset, usize::try_from(*len).ok()?)
    }

    fn build(
        cursor: &mut crate::shm::Cursor<'_>,
        len: &u64,
    ) -> Result<Self, crate::shm::OpenError> {
        let len = usize::try_from(*len).map_err(|_| crate::shm::OpenError::BadParams {
            reason: format!("{len} slots do not fit in this address space"),
        })?;
        // SAFETY: see the impl's SAFETY comment.
        let slots = unsafe { cursor.region(|| (), |_| Slot::new(), len)? };
        Ok(Self { slots })
    }
}
