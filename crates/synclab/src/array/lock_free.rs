//! The lock-free shared array: a claim CAS and a Release swap per publish, an Acquire load per
//! read, and a futex sleep on the slot's own word only when a reader must wait. The algorithm
//! is documented on [`LockFreeArray`].

use core::fmt;
use core::time::Duration;

use super::slot::{
    phase, Padded, Slot, Waited, EMPTY, RUN_TO_END, SLEEPERS, STOP_AFTER_CLAIM, WRITING,
};
use super::tracked::{claim_tag, claimable};
use super::{IndexError, LenError, PublishError, SharedArray, SlotWaitError};
use crate::shm::{Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::Ordering::*;
use crate::sync::time::Instant;

/// A lock-free shared array: one state word per slot, Release on publish, Acquire on read, and
/// a futex wait on the slot's own word only when a reader must sleep.
///
/// Sources: the three-state futex mutex of Drepper, "Futexes Are Tricky" (2011), §"Mutex,
/// Take 2" and std's `sys/sync/mutex/futex.rs` — a state word that records "someone sleeps"
/// so that the releasing side makes the wake syscall only then; Mara Bos, *Rust Atomics and
/// Locks* (2023), ch. 3 ("Release and Acquire ordering", the one-shot-channel example of
/// ch. 5) for publishing a value through a Release store read by an Acquire load; futex(2)
/// for the compare-and-block wait.
///
/// # States of a slot's word
///
/// The low two bits are the phase; bit 2 marks sleeping readers.
///
/// | word | meaning | who leaves it, how |
/// |---|---|---|
/// | `EMPTY` | nothing published, nobody asleep | a publisher: CAS → `WRITING`; a reader about to sleep: CAS → `EMPTY \| SLEEPERS` |
/// | `EMPTY \| SLEEPERS` | nothing published, readers asleep (or about to be) | a publisher: CAS → `WRITING \| SLEEPERS` |
/// | `WRITING` | one publisher owns the slot and is writing the value | that publisher: swap → `READY`; a reader about to sleep: CAS → `WRITING \| SLEEPERS` |
/// | `WRITING \| SLEEPERS` | the same, readers asleep | that publisher: swap → `READY`, then `wake_all` |
/// | `READY` | the value is written and visible; final | never (until `Drop`) |
///
/// A publisher claims the slot with a CAS from `EMPTY`, so of two racing publishers exactly one
/// wins and the other gets its value back. The value is written only by the claimant, into an
/// `UnsafeCell<MaybeUninit<T>>`, and only read once `READY` is seen. Each slot has a cache line
/// of its own, so a reader spinning on one slot does not pull the line a publisher of the next
/// is claiming in.
///
/// In a segment shared by processes ([`Shm`](crate::shm::Shm)) a `WRITING` word also carries
/// the claimant's tag in bits 3..32, and a fourth phase, `ABANDONED`, marks a slot whose
/// claimant died; see [`wait_checked`](Self::wait_checked). On the heap the tag bits stay 0
/// and the words are exactly the ones in the table.
///
/// # Why no wakeup is lost
///
/// A reader that decides to sleep first sets `SLEEPERS` with a CAS, then calls
/// `futex::wait(word, state | SLEEPERS)`. The publisher's final `swap(READY)` is a
/// read-modify-write of the same word, so the two are totally ordered: either the swap comes
/// later and returns `SLEEPERS` (the publisher wakes everyone), or it came first and the
/// reader's CAS fails on `READY` (the reader returns). A wake that falls between the reader's
/// CAS and its `wait` is not lost: `wait` only sleeps if the word still equals its argument,
/// atomically with respect to wakes.
///
/// # Progress
///
/// `try_get` is wait-free, and so is a `publish` that wins its slot (a bounded CAS retry: the
/// word changes at most four times). A `publish` that *loses* to a publisher still writing
/// waits, like a reader, until that value is visible, so that "already published" is never
/// reported while the slot still reads as empty — that is what makes the array
/// linearizable; such a loser is blocked by a stalled winner. `wait` blocks, by definition,
/// until the slot is published: after a short bounded spin (loads only) and a few yields it
/// sleeps in the kernel and uses no CPU.
///
/// When each slot's publisher is known in advance, [`LanedArray`](super::LanedArray) drops
/// the claim.
///
/// # Examples
///
/// ```
/// use synclab::array::{LockFreeArray, SharedArray};
///
/// let array = LockFreeArray::with_len(4)?;
/// array.publish(3, vec![1, 2, 3]).unwrap();
/// assert_eq!(array.wait(3).unwrap(), vec![1, 2, 3]);           // a clone
/// assert_eq!(array.wait_ref(3).unwrap(), &vec![1, 2, 3]);      // or a reference
/// assert_eq!(array.get_ref(0).unwrap(), None);
/// # Ok::<(), synclab::array::LenError>(())
/// ```
pub struct LockFreeArray<T, M: Memory = Heap> {
    slots: M::Region<(), Padded<T>>,
}

// SAFETY: the array owns its `T`s and drops them; moving it to another thread moves them, so
// `T: Send` suffices. The region is the memory's (a Box, or a segment mapping kept alive).
unsafe impl<T: Send, M: Memory> Send for LockFreeArray<T, M> {}
// SAFETY: through `&LockFreeArray` a publisher moves a `T` in from its thread (`T: Send`) and
// any number of readers get `&T` at once (`T: Sync`). Every access to a slot's value is
// ordered by the slot's state word (see the SAFETY comments at each access).
unsafe impl<T: Send + Sync, M: Memory> Sync for LockFreeArray<T, M> {}

/// Beside the trait: reads that return a reference, not a clone (the trait's lock-based designs
/// cannot lend one past their lock).
impl<T> LockFreeArray<T> {
    /// Blocks until slot `index` is published and returns a reference to its value (on the
    /// heap; in a segment, [`wait_checked`](Self::wait_checked) reports a publisher that died).
    #[inline]
    pub fn wait_ref(&self, index: usize) -> Result<&T, IndexError> {
        match self.slot(index)?.wait::<Heap>(None) {
            Some(value) => Ok(value),
            None => unreachable!("heap slots are never abandoned"),
        }
    }
}

impl<T, M: Memory> LockFreeArray<T, M> {
    /// Builds the array over a region of slots (a segment's, in `segment.rs`).
    pub(super) fn from_region(slots: M::Region<(), Padded<T>>) -> Self {
        Self { slots }
    }

    #[inline(always)]
    pub(super) fn cells(&self) -> &[Padded<T>] {
        self.slots.elems()
    }

    #[inline(always)]
    pub(super) fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        match self.cells().get(index) {
            Some(cell) => Ok(&cell.0),
            None => Err(IndexError::new(index, self.cells().len())),
        }
    }

    /// A reference to slot `index`'s value if it is published, `None` if not yet; never blocks.
    ///
    /// Sound because a published value never moves or changes until the array is dropped,
    /// which `&self` prevents.
    #[inline]
    pub fn get_ref(&self, index: usize) -> Result<Option<&T>, IndexError> {
        Ok(self.slot(index)?.get())
    }

    /// A clone of slot `index`'s value once it is published; in a segment, reports a
    /// publisher that died instead of waiting for ever.
    ///
    /// | the publisher dies… | the slot's word | what survivors see |
    /// |---|---|---|
    /// | before its claim CAS | unchanged | nothing: the publish never happened |
    /// | after the claim, before or while writing the value | `WRITING \| tag` | a reader that waits checks the tag before it sleeps and at every [`Memory::POLL`]; finding it dead, it CASes the word to `ABANDONED` (waking every sleeper) and gets [`SlotWaitError::PublisherDied`]; so do later readers; a later `publish` may claim the slot again |
    /// | after its `swap(READY)`, before the wake | `READY` | readers already asleep wake within [`Memory::POLL`] (their sleep is bounded) and read the value |
    ///
    /// The value of an abandoned slot is never read: only `READY` makes a value readable.
    ///
    /// # Errors
    ///
    /// [`SlotWaitError::OutOfBounds`] if `index >= len`; [`SlotWaitError::PublisherDied`] as
    /// above (never on the heap).
    #[inline]
    pub fn wait_checked(&self, index: usize) -> Result<T, SlotWaitError>
    where
        T: Clone,
    {
        match self.slot(index)?.wait::<M>(None) {
            Some(value) => Ok(value.clone()),
            None => Err(SlotWaitError::PublisherDied { index }),
        }
    }

    /// The value of slot `index` once it is published; `None` once `deadline` (if any) has
    /// passed with the slot still empty: [`SharedArray::wait`] and `wait_timeout`, in any
    /// memory. A slot whose publisher died (tracked memory only) reads `ABANDONED`, a word no
    /// publish wakes anyone on until a survivor claims it again, so the wait naps and looks
    /// again (1 µs, doubling to 1 ms) until a survivor's publish is seen.
    pub(super) fn wait_until(
        &self,
        index: usize,
        deadline: Option<Instant>,
    ) -> Result<Option<&T>, IndexError> {
        let slot = self.slot(index)?;
        if let Some(value) = slot.get() {
            return Ok(Some(value));
        }
        let mut nap = Duration::from_micros(1);
        loop {
            match slot.wait_until_ready::<M>(deadline, None) {
                // SAFETY: READY was seen with Acquire inside `wait_until_ready`.
                Waited::Ready => return Ok(Some(unsafe { slot.value_ref() })),
                Waited::TimedOut => return Ok(None),
                Waited::Abandoned => {
                    if !super::nap_until(&mut nap, deadline) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// `publish`, stopping for good after step `STOP` as a process killed there would (fault
    /// injection; `RUN_TO_END` is the real thing).
    #[inline]
    pub(super) fn publish_until<const STOP: u8>(
        &self,
        index: usize,
        value: T,
    ) -> Result<(), PublishError<T>> {
        let Some(Padded(slot)) = self.cells().get(index) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: self.cells().len(),
                value,
            });
        };
        let tag = claim_tag::<M>(&slot.state);
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
                // linearization. Waiting also means our caller may read the slot at once. In
                // a segment the owner may turn out dead: the slot is then ABANDONED and we try
                // to claim it.
                if phase(state) == WRITING {
                    if let Waited::Abandoned = slot.wait_until_ready::<M>(None, None) {
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
        // swap in `fill` stores; `Drop` needs `&mut self`, excluded by our `&self`.
        unsafe { slot.fill::<M, STOP>(value) };
        Ok(())
    }
}

/// The [`SharedArray`] methods of [`LockFreeArray`], the same in every memory (the
/// constructor is each memory's).
macro_rules! lock_free_array_ops {
    () => {
        const NAME: &'static str = "lockfree";

        fn len(&self) -> usize {
            self.cells().len()
        }

        #[inline]
        fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
            self.publish_until::<RUN_TO_END>(index, value)
        }

        #[inline]
        fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
            Ok(self.get_ref(index)?.cloned())
        }

        #[inline]
        fn wait(&self, index: usize) -> Result<T, IndexError> {
            match self.wait_until(index, None)? {
                Some(value) => Ok(value.clone()),
                None => unreachable!("a wait without a deadline does not time out"),
            }
        }

        fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
            Ok(self
                .wait_until(index, Instant::now().checked_add(timeout))?
                .cloned())
        }
    };
}

/// In any heap memory: the heap, or a model of a segment.
impl<T, M> SharedArray<T> for LockFreeArray<T, M>
where
    T: Clone + Send + Sync,
    M: HeapMemory,
{
    fn with_len(len: usize) -> Result<Self, LenError> {
        let slots = LenError::slots(len, |_| Padded(Slot::new()))?;
        Ok(Self {
            slots: M::region((), slots.into_boxed_slice()),
        })
    }

    lock_free_array_ops!();
}

impl<T, M: Memory> Drop for LockFreeArray<T, M> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's slots belong to every process that maps it, not to this handle.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let cells = self.cells();
        // Every published value is dropped even if one's `Drop` panics, as `Vec` does.
        crate::cleanup::drop_each(0..cells.len(), |i| {
            // SAFETY: `&mut self`: no other thread uses the array any more, and whatever
            // handed us exclusive access ordered their accesses before this one; `drop_each`
            // visits each slot once and the array is never used again.
            unsafe { cells[i].0.drop_value() }
        });
    }
}

impl<T, M: Memory> fmt::Debug for LockFreeArray<T, M> {
    /// Shows the length only: slot states change under our feet, and a value may be mid-write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFreeArray")
            .field("len", &self.cells().len())
            .finish_non_exhaustive()
    }
}
