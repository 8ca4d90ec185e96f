//! The laned array: the lock-free array for slots whose publisher is known in advance, so a
//! publish needs no claim. The design is documented on [`LanedArray`].

use core::fmt;
use core::marker::PhantomData;

use super::slot::{Slot, READY, RUN_TO_END};
use super::{IndexError, LenError, PublishError, SlotWaitError};
use crate::shm::{owner, Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{AtomicU32, Ordering::*};

/// The most lanes a [`LanedArray`] has.
pub(crate) const MAX_LANES: usize = 16;

/// The owner words of a [`LanedArray`]'s lanes, on lines of their own (so that the slots after
/// them start on a line).
#[repr(C, align(64))]
pub(crate) struct LaneTable {
    /// The number of lanes, a power of two: slot `i` belongs to lane `i & (lanes - 1)`.
    /// Written once by the creator; atomic because in a segment a faulty peer may write it
    /// while others read it (every use is bounds-checked).
    lanes: AtomicU32,
    /// Per lane: the holder's tag, or `owner::FREE`.
    owners: [AtomicU32; MAX_LANES],
}

impl LaneTable {
    /// A table of `lanes` free lanes.
    pub(super) fn new(lanes: usize) -> Result<Self, LenError> {
        if lanes == 0 || lanes > MAX_LANES || !lanes.is_power_of_two() {
            return Err(LenError::LaneCount { lanes });
        }
        Ok(Self {
            lanes: AtomicU32::new(lanes as u32),
            owners: core::array::from_fn(|_| AtomicU32::new(owner::FREE)),
        })
    }

    /// The owner word of the lane that slot `index` belongs to.
    #[inline(always)]
    fn owner(&self, index: usize) -> Option<&AtomicU32> {
        // `get`: a mask from a corrupted segment finds no owner rather than panicking.
        self.owners
            .get(index & (self.lanes.load(Relaxed).wrapping_sub(1) as usize))
    }
}

impl fmt::Debug for LaneTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneTable")
            .field("lanes", &self.lanes.load(Relaxed))
            .finish_non_exhaustive()
    }
}

/// A lock-free shared array whose slots are published through lanes: slot `i` belongs to lane
/// `i mod lanes`, and only the holder of that lane's [`Lane`] handle publishes it.
///
/// The claim is what lets any thread publish any slot of a
/// [`LockFreeArray`](super::LockFreeArray). When each slot's publisher is known in advance —
/// the seed's one producer, or a round trip whose two directions are published by the two
/// sides — the laned array drops it. The number of lanes is a power of two, at most 16. A lane
/// is taken with a CAS on its owner word, which holds the holder's tag; the handle is neither
/// `Send` nor `Sync`, so one thread publishes each lane at a time, and a publish is a load
/// (already published?), the value, and the Release swap — the same slot word, sleepers bit
/// and wake as the lock-free array's, with no `WRITING` phase. Readers wait exactly as there.
///
/// Without the claim the slots need no line of their own (a claim CAS on a line the peer spins
/// on is what the lock-free array's padding is for), so they are packed: a round trip's two
/// handoffs, slots `2i` and `2i + 1` of two lanes, share a line, as the one-line spin floor
/// does.
///
/// # Examples
///
/// ```
/// use synclab::array::LanedArray;
///
/// let array = LanedArray::<u64>::with_lanes(4, 2)?;
/// let odd = array.lane(1).unwrap();
/// odd.publish(3, 30).unwrap();
/// assert!(odd.publish(2, 20).is_err());                  // slot 2 is lane 0's
/// assert!(array.lane(1).is_err());                       // taken
/// assert_eq!(array.wait_checked(3), Ok(30));
/// # Ok::<(), synclab::array::LenError>(())
/// ```
pub struct LanedArray<T, M: Memory = Heap> {
    slots: M::Region<LaneTable, Slot<T>>,
}

// SAFETY: as for `LockFreeArray`: the array owns its `T`s (`T: Send` to move them).
unsafe impl<T: Send, M: Memory> Send for LanedArray<T, M> {}
// SAFETY: publishers move a `T` in (`T: Send`), readers share `&T` (`T: Sync`); every access
// to a slot's value is ordered by the slot's state word and the lane's owner word (see the
// SAFETY comments at each access).
unsafe impl<T: Send + Sync, M: Memory> Sync for LanedArray<T, M> {}

impl<T, M: HeapMemory> LanedArray<T, M> {
    /// An array of `len` empty slots in heap memory `M` (the heap unless named), in `lanes`
    /// lanes (slot `i` in lane `i mod lanes`), none of them taken yet.
    ///
    /// # Errors
    ///
    /// [`LenError::LaneCount`] unless `lanes` is a power of two from 1 to 16; otherwise as
    /// [`SharedArray::with_len`](super::SharedArray::with_len).
    pub fn with_lanes(len: usize, lanes: usize) -> Result<Self, LenError> {
        let table = LaneTable::new(lanes)?;
        let slots = LenError::slots(len, |_| Slot::new())?;
        Ok(Self {
            slots: M::region(table, slots.into_boxed_slice()),
        })
    }
}

impl<T, M: Memory> LanedArray<T, M> {
    /// Builds the array over a region (a segment's, in `segment.rs`).
    pub(super) fn from_region(slots: M::Region<LaneTable, Slot<T>>) -> Self {
        Self { slots }
    }

    #[inline(always)]
    fn slots(&self) -> &[Slot<T>] {
        self.slots.elems()
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        self.slots()
            .get(index)
            .ok_or_else(|| IndexError::new(index, self.len()))
    }

    /// The number of slots.
    pub fn len(&self) -> usize {
        self.slots().len()
    }

    /// Whether the array has no slots.
    pub fn is_empty(&self) -> bool {
        self.slots().is_empty()
    }

    /// The number of lanes.
    pub fn lanes(&self) -> usize {
        // Relaxed: written once before the array was shared (ordered by its publication).
        self.slots.header().lanes.load(Relaxed) as usize
    }

    /// Takes lane `lane` for the calling thread: the right to publish the slots `i` with
    /// `i mod lanes == lane`, until the handle is dropped.
    ///
    /// # Errors
    ///
    /// [`LaneError::NoSuchLane`] if `lane >= lanes`; [`LaneError::Taken`] while another thread
    /// holds it (or this one does). In a segment a lane whose holder died is taken over — the
    /// survivor may then publish the slots the dead holder did not.
    pub fn lane(&self, lane: usize) -> Result<Lane<'_, T, M>, LaneError> {
        let lanes = self.lanes();
        let Some(owner) = self
            .slots
            .header()
            .owners
            .get(lane)
            .filter(|_| lane < lanes)
        else {
            return Err(LaneError::NoSuchLane { lane, lanes });
        };
        // Acquire (in `take`): pairs with the Release in `Lane::drop`, so the previous holder's
        // publishes (its values, its READY words) happen before ours.
        let tag = owner::take::<M>(owner).ok_or(LaneError::Taken { lane })?;
        Ok(Lane {
            array: self,
            owner,
            lane,
            mask: lanes - 1,
            tag,
            _thread: PhantomData,
        })
    }

    /// A reference to slot `index`'s value if it is published, `None` if not yet; never blocks.
    #[inline]
    pub fn get_ref(&self, index: usize) -> Result<Option<&T>, IndexError> {
        Ok(self.slot(index)?.get())
    }

    /// A clone of slot `index`'s value once it is published; in a segment, reports a lane
    /// holder that died instead of waiting for ever.
    ///
    /// | the lane's holder dies… | its slot's word | what survivors see |
    /// |---|---|---|
    /// | before or while writing a value | `EMPTY` (or `EMPTY \| SLEEPERS`) | a reader whose bounded sleep ran out asks whether the lane's holder lives; finding it dead, it gets [`SlotWaitError::PublisherDied`]; [`lane`](Self::lane) lets a survivor take the lane over and publish the slot |
    /// | after its swap | `READY` | readers already asleep wake within [`Memory::POLL`] and read the value |
    ///
    /// A reader asks only after a bounded sleep ran out, so a death is reported within
    /// [`Memory::POLL`] of the reader's first sleep, or of the death.
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
        let owner = self.slots.header().owner(index);
        match self.slot(index)?.wait::<M>(owner) {
            Some(value) => Ok(value.clone()),
            None => Err(SlotWaitError::PublisherDied { index }),
        }
    }
}

/// Why [`LanedArray::lane`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaneError {
    /// `lane >= lanes`.
    NoSuchLane {
        /// The lane asked for.
        lane: usize,
        /// The array's number of lanes.
        lanes: usize,
    },
    /// Another live thread holds the lane (or the calling thread does, through another handle).
    Taken {
        /// The lane asked for.
        lane: usize,
    },
}

impl fmt::Display for LaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaneError::NoSuchLane { lane, lanes } => {
                write!(f, "no lane {lane}: the array has {lanes} lanes")
            }
            LaneError::Taken { lane } => write!(f, "lane {lane} is held by a live thread"),
        }
    }
}

impl std::error::Error for LaneError {}

/// The right to publish one lane's slots of a [`LanedArray`], held by the thread that took it
/// until dropped.
///
/// Neither `Send` nor `Sync`: the lane's owner word names the thread that took it (its tag,
/// in a segment), and that thread's death is what lets a survivor take the lane over — so the
/// handle may not outlive it elsewhere.
///
/// ```compile_fail
/// use synclab::array::LanedArray;
///
/// fn send<S: Send>(_: S) {}
/// let array = LanedArray::<u64>::with_lanes(2, 1).unwrap();
/// send(array.lane(0).unwrap());
/// ```
pub struct Lane<'a, T, M: Memory = Heap> {
    array: &'a LanedArray<T, M>,
    owner: &'a AtomicU32,
    lane: usize,
    mask: usize,
    tag: u32,
    _thread: PhantomData<*const ()>,
}

impl<T, M: Memory> Lane<'_, T, M> {
    /// Fills slot `index` (one of this lane's) with `value` and wakes its readers: a load, the
    /// value and a Release swap; no claim.
    ///
    /// # Errors
    ///
    /// [`PublishError::OutOfBounds`], [`PublishError::NotInLane`] (the slot is another lane's)
    /// or [`PublishError::AlreadyPublished`], each handing `value` back.
    #[inline]
    pub fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<RUN_TO_END>(index, value)
    }

    /// `publish`, stopping for good after step `STOP` (fault injection; `RUN_TO_END` is the
    /// real thing).
    #[inline]
    pub(super) fn publish_until<const STOP: u8>(
        &self,
        index: usize,
        value: T,
    ) -> Result<(), PublishError<T>> {
        let slots = self.array.slots();
        let Some(slot) = slots.get(index) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: slots.len(),
                value,
            });
        };
        if index & self.mask != self.lane {
            return Err(PublishError::NotInLane {
                index,
                lane: self.lane,
                owner: index & self.mask,
                value,
            });
        }
        // Relaxed: only this lane's holders store READY into its slots, and an earlier
        // holder's swap happens before our load (the handover in `lane`), so READY, if it was
        // stored, is what we read.
        if slot.state.load(Relaxed) == READY {
            return Err(PublishError::AlreadyPublished { index, value });
        }
        // SAFETY: this thread holds the slot's lane (the handle is neither Send nor Sync, and
        // `lane` hands it to one thread at a time), so no other thread writes the value; an
        // earlier holder's write happens before ours (the handover in `lane`); the slot is not
        // READY, so no reader reads it; `Drop` needs `&mut`, excluded by our borrow.
        unsafe { slot.fill::<M, STOP>(value) };
        Ok(())
    }
}

impl<T, M: Memory> Drop for Lane<'_, T, M> {
    fn drop(&mut self) {
        // Release (in `let_go`): pairs with the Acquire in `lane`: our publishes happen before
        // the next holder's.
        owner::let_go::<M>(self.owner, self.tag);
    }
}

impl<T, M: Memory> fmt::Debug for Lane<'_, T, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lane")
            .field("lane", &self.lane)
            .field("lanes", &(self.mask + 1))
            .finish_non_exhaustive()
    }
}

impl<T, M: Memory> Drop for LanedArray<T, M> {
    fn drop(&mut self) {
        // As `LockFreeArray`'s: nothing to do for values that need no drop (every value in a
        // segment), and every published value dropped once otherwise.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let slots = self.slots();
        crate::cleanup::drop_each(0..slots.len(), |i| {
            // SAFETY: `&mut self`: no other thread uses the array any more (a `Lane` borrows
            // it), and whatever handed us exclusive access ordered their accesses before this
            // one; `drop_each` visits each slot once and the array is never used again.
            unsafe { slots[i].drop_value() }
        });
    }
}

impl<T, M: Memory> fmt::Debug for LanedArray<T, M> {
    /// Shows the shape only: slot states change under our feet, and a value may be mid-write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LanedArray")
            .field("len", &self.slots().len())
            .field("lanes", &self.lanes())
            .finish_non_exhaustive()
    }
}
