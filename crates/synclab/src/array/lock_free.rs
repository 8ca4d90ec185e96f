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
//! # Lanes: publishers known in advance
//!
//! The claim is what lets any thread publish any slot. When each slot's publisher is known in
//! advance — the seed's one producer, or a round trip whose two directions are published by
//! the two sides — an array of type `LockFreeArrayIn<T, M, Lanes>` drops it: slot `i` belongs
//! to lane `i mod lanes` (a power of two, at most [`MAX_LANES`]), and only the holder of that
//! lane's [`Lane`] handle publishes it. A lane is taken with a CAS on its owner word, which
//! holds the holder's tag; the handle is neither `Send` nor `Sync`, so one thread publishes
//! each lane at a time, and a publish is a load (already published?), the value, and the
//! Release swap — the same swap, sleepers bit and wake as above, with no `WRITING` phase.
//! Without the claim the slots need no line of their own (a claim CAS on a line the peer
//! spins on is what padding was for), so they are packed: a round trip's two handoffs,
//! slots `2i` and `2i + 1` of two lanes, share a line, as the one-line spin floor does.
//!
//! | the lane's holder dies… | its slot's word | what survivors see |
//! |---|---|---|
//! | before or while writing a value | `EMPTY` (or `EMPTY \| SLEEPERS`) | a tracked reader whose bounded sleep ran out asks whether the lane's holder lives; finding it dead, it gets [`WaitError::PublisherDied`]; [`lane`](LockFreeArrayIn::lane) lets a survivor take the lane over and publish the slot |
//! | after its swap | `READY` | as above: readers already asleep wake within [`Memory::POLL`] |
//!
//! A reader asks only after a bounded sleep ran out (a `/proc` read is tens of µs, too much
//! for every sleep of a fast round trip), so a death is reported within [`Memory::POLL`] of
//! the reader's first sleep, or of the death.
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
use core::marker::PhantomData;

use core::mem::MaybeUninit;
use core::time::Duration;
use publishers::Sealed as _;

use super::{IndexError, PublishError, SharedArray};
use crate::shm::{owner, Heap, HeapMemory, Memory, Region};
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

/// One write-once slot: a state word and a value.
#[repr(C)]
pub struct Slot<T> {
    /// `EMPTY` / `WRITING` / `READY`, plus `SLEEPERS`; see the module docs.
    state: AtomicU32,
    /// Initialised iff `state == READY` (or while `WRITING`, by the claimant only; or while a
    /// lane's holder fills it).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// A slot of an [`AnyPublisher`] array, alone on its cache line (64 bytes on the x86-64 and
/// aarch64 machines this is measured on).
///
/// Unpadded, four `u64` slots share a line, so in a ping-pong over slots `2i` / `2i + 1` the
/// reader spinning on one slot keeps pulling the line that the other side is claiming and
/// publishing in (false sharing): on `processes/roundtrip-spinning` padding took the array from
/// about 0.37× to about 0.48× the spin floor (paired runs of `synclab compare --filter
/// processes/roundtrip`, before the other changes of that round). The cost is memory: a slot
/// takes a whole line (64 bytes for a `u64` instead of 16); a value larger than 60 bytes
/// spans further lines, rounded up to a multiple of 64.
#[repr(C, align(64))]
pub struct Padded<T>(Slot<T>);

/// The most lanes a [`Lanes`] array has.
pub const MAX_LANES: usize = 16;

/// The owner words of a [`Lanes`] array's lanes, on lines of their own (so that the slots
/// after them start on a line).
#[repr(C, align(64))]
pub struct LaneTable {
    /// The number of lanes, a power of two: slot `i` belongs to lane `i & (lanes - 1)`.
    lanes: u32,
    /// Per lane: the holder's tag, or `owner::FREE`.
    owners: [AtomicU32; MAX_LANES],
}

// The three are public only as the sealed trait's types (unreachable from outside the crate).
impl<T> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot").finish_non_exhaustive()
    }
}
impl<T> fmt::Debug for Padded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
impl fmt::Debug for LaneTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LaneTable")
            .field("lanes", &self.lanes)
            .finish_non_exhaustive()
    }
}

/// Who may publish the slots of a [`LockFreeArrayIn`] (its third type parameter):
/// [`AnyPublisher`] or [`Lanes`]. Sealed.
pub trait Publishers: publishers::Sealed {}

/// Any thread (or process) may publish any slot; of two racing publishers exactly one wins,
/// by a claim CAS on the slot's word. Each slot has a cache line of its own. The default.
#[derive(Debug, Clone, Copy, Default)]
pub struct AnyPublisher;

/// Slot `i` belongs to lane `i mod lanes`, and only the holder of that lane's [`Lane`]
/// publishes it: no claim, and the slots are packed. See the module docs ("Lanes").
#[derive(Debug, Clone, Copy, Default)]
pub struct Lanes;

impl Publishers for AnyPublisher {}
impl Publishers for Lanes {}

mod publishers {
    use super::{AtomicU32, LaneTable, Padded, Slot};

    pub trait Sealed: Sized + Send + Sync + 'static {
        /// What the region holds besides the slots.
        type Header: Send + Sync;
        /// How a slot sits in the region.
        type Cell<T>;
        fn slot<T>(cell: &Self::Cell<T>) -> &Slot<T>;
        fn cell<T>() -> Self::Cell<T>;
        /// The owner word of the lane that slot `index` belongs to, if slots have owners.
        fn owner(header: &Self::Header, index: usize) -> Option<&AtomicU32>;
    }

    impl Sealed for super::AnyPublisher {
        type Header = ();
        type Cell<T> = Padded<T>;
        #[inline(always)]
        fn slot<T>(cell: &Padded<T>) -> &Slot<T> {
            &cell.0
        }
        fn cell<T>() -> Padded<T> {
            Padded(Slot::new())
        }
        #[inline(always)]
        fn owner(_: &(), _: usize) -> Option<&AtomicU32> {
            None
        }
    }

    impl Sealed for super::Lanes {
        type Header = LaneTable;
        type Cell<T> = Slot<T>;
        #[inline(always)]
        fn slot<T>(cell: &Slot<T>) -> &Slot<T> {
            cell
        }
        fn cell<T>() -> Slot<T> {
            Slot::new()
        }
        #[inline(always)]
        fn owner(header: &LaneTable, index: usize) -> Option<&AtomicU32> {
            // `get`: a mask from a corrupted segment finds no owner rather than panicking.
            header
                .owners
                .get(index & (header.lanes.wrapping_sub(1) as usize))
        }
    }
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
pub struct LockFreeArrayIn<T, M: Memory, P: Publishers = AnyPublisher> {
    slots: M::Region<P::Header, P::Cell<T>>,
}

// SAFETY: the array owns its `T`s and drops them; moving it to another thread moves them, so
// `T: Send` suffices. The region is the memory's (a Box, or a segment mapping kept alive).
unsafe impl<T: Send, M: Memory, P: Publishers> Send for LockFreeArrayIn<T, M, P> {}
// SAFETY: through `&LockFreeArrayIn` a publisher moves a `T` in from its thread (`T: Send`) and
// any number of readers get `&T` at once (`T: Sync`). Every access to a slot's value is
// ordered by the slot's state word, and in a `Lanes` array by the lane's owner word too (see
// the SAFETY comments at each access).
unsafe impl<T: Send + Sync, M: Memory, P: Publishers> Sync for LockFreeArrayIn<T, M, P> {}

impl<T, P: Publishers> LockFreeArrayIn<T, Heap, P> {
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
            || match slot
                .wait_until_ready::<Heap>(Instant::now().checked_add(timeout), self.owner(index))
            {
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
            slots: M::region((), (0..len).map(|_| AnyPublisher::cell()).collect()),
        }
    }
}

impl<T, M: HeapMemory> LockFreeArrayIn<T, M, Lanes> {
    /// An array of `len` empty slots in heap memory `M`, in `lanes` lanes (slot `i` in lane
    /// `i mod lanes`), none of them taken yet.
    ///
    /// ```
    /// use synclab::array::{Lanes, LockFreeArrayIn};
    /// use synclab::shm::Heap;
    ///
    /// let array = LockFreeArrayIn::<u64, Heap, Lanes>::with_lanes_in(4, 2).unwrap();
    /// let odd = array.lane(1).unwrap();
    /// odd.publish(3, 30).unwrap();
    /// assert!(odd.publish(2, 20).is_err());                  // slot 2 is lane 0's
    /// assert!(array.lane(1).is_err());                       // taken
    /// assert_eq!(array.wait_checked(3), Ok(30));
    /// ```
    pub fn with_lanes_in(len: usize, lanes: usize) -> Result<Self, LaneError> {
        Ok(Self {
            slots: M::region(
                LaneTable::new(lanes)?,
                (0..len).map(|_| Lanes::cell()).collect(),
            ),
        })
    }
}

impl LaneTable {
    fn new(lanes: usize) -> Result<Self, LaneError> {
        if lanes == 0 || lanes > MAX_LANES || !lanes.is_power_of_two() {
            return Err(LaneError::LaneCount { lanes });
        }
        Ok(Self {
            lanes: lanes as u32,
            owners: core::array::from_fn(|_| AtomicU32::new(owner::FREE)),
        })
    }
}

impl<T, M: Memory, P: Publishers> LockFreeArrayIn<T, M, P> {
    #[inline(always)]
    fn cells(&self) -> &[P::Cell<T>] {
        self.slots.elems()
    }

    #[inline(always)]
    fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        match self.cells().get(index) {
            Some(cell) => Ok(P::slot(cell)),
            None => Err(IndexError {
                index,
                len: self.cells().len(),
            }),
        }
    }

    /// The owner word of slot `index`'s lane (`Lanes` arrays only).
    #[inline(always)]
    fn owner(&self, index: usize) -> Option<&AtomicU32> {
        P::owner(self.slots.header(), index)
    }

    /// The number of slots.
    pub fn len(&self) -> usize {
        self.cells().len()
    }

    /// Whether the array has no slots.
    pub fn is_empty(&self) -> bool {
        self.cells().is_empty()
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
            if let Waited::Abandoned = slot.wait_until_ready::<M>(None, self.owner(index)) {
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
}

impl<T, M: Memory> LockFreeArrayIn<T, M> {
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
        let Some(slot) = self.cells().get(index).map(AnyPublisher::slot) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: self.cells().len(),
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

impl<T, M: Memory> LockFreeArrayIn<T, M, Lanes> {
    /// The number of lanes.
    pub fn lanes(&self) -> usize {
        self.slots.header().lanes as usize
    }

    /// Takes lane `lane` for the calling thread: the right to publish the slots `i` with
    /// `i mod lanes == lane`, until the handle is dropped.
    ///
    /// A lane has one holder at a time: [`LaneError::Taken`] while another thread holds it
    /// (or this one does). In tracked memory a lane whose holder died is taken over — the
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
}

/// Why [`LockFreeArrayIn::lane`] or [`LockFreeArrayIn::with_lanes_in`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaneError {
    /// A lane count that is 0, not a power of two, or above [`MAX_LANES`].
    LaneCount {
        /// The count asked for.
        lanes: usize,
    },
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
            LaneError::LaneCount { lanes } => write!(
                f,
                "{lanes} lanes: a laned array has a power of two of lanes, from 1 to {MAX_LANES}"
            ),
            LaneError::NoSuchLane { lane, lanes } => {
                write!(f, "no lane {lane}: the array has {lanes} lanes")
            }
            LaneError::Taken { lane } => write!(f, "lane {lane} is held by a live thread"),
        }
    }
}

impl std::error::Error for LaneError {}

/// The right to publish one lane's slots of a [`Lanes`] array, held by the thread that took it
/// until dropped.
///
/// Neither `Send` nor `Sync`: the lane's owner word names the thread that took it (its tag,
/// in tracked memory), and that thread's death is what lets a survivor take the lane over —
/// so the handle may not outlive it elsewhere.
///
/// ```compile_fail
/// use synclab::array::{Lanes, LockFreeArrayIn};
/// use synclab::shm::Heap;
///
/// fn send<S: Send>(_: S) {}
/// let array = LockFreeArrayIn::<u64, Heap, Lanes>::with_lanes_in(2, 1).unwrap();
/// send(array.lane(0).unwrap());
/// ```
pub struct Lane<'a, T, M: Memory> {
    array: &'a LockFreeArrayIn<T, M, Lanes>,
    owner: &'a AtomicU32,
    lane: usize,
    mask: usize,
    tag: u32,
    _thread: PhantomData<*const ()>,
}

impl<T, M: Memory> Lane<'_, T, M> {
    /// This lane's number.
    pub fn lane(&self) -> usize {
        self.lane
    }

    /// Fills slot `index` (one of this lane's) with `value` and wakes its readers: a load, the
    /// value and a Release swap; no claim.
    #[inline]
    pub fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<RUN_TO_END>(index, value)
    }

    /// Writes the value of slot `index` and stops there for good, as a process killed before
    /// its swap would: the slot stays unpublished and the lane stays held by this thread. For
    /// death-injection tests and models only. The value is leaked.
    #[doc(hidden)]
    pub fn publish_dying(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<STOP_AFTER_WRITE>(index, value)
    }

    #[inline]
    fn publish_until<const STOP: u8>(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let cells = self.array.cells();
        let Some(slot) = cells.get(index).map(Lanes::slot) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: cells.len(),
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
        owner::let_go(self.owner, self.tag);
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

impl<T> Slot<T> {
    fn new() -> Self {
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
    unsafe fn fill<M: Memory, const STOP: u8>(&self, value: T) {
        // SAFETY: the caller's contract: nobody else writes the value, nobody reads it before
        // READY, which only the swap below stores.
        self.value.with_mut(|p| unsafe { (*p).write(value) });
        if STOP == STOP_AFTER_WRITE {
            return;
        }
        // Release: pairs with the Acquire loads of `try_get`, `wait`, `get_ref`, `wait_ref`
        // (and the Acquire failure of the reader's SLEEPERS CAS): the value, and everything
        // this thread wrote before `publish`, is visible to a reader that sees READY.
        let before = self.state.swap(READY, Release);
        if before & SLEEPERS != 0 {
            wake_readers::<M>(&self.state);
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
    /// memory, once the slot reads `ABANDONED` (its publisher died), or its lane's holder
    /// (`owner`, in a `Lanes` array) is found dead after a bounded sleep ran out — or once
    /// `deadline` (if any) has passed (`TimedOut`).
    #[cold]
    fn wait_until_ready<M: Memory>(
        &self,
        deadline: Option<Instant>,
        owner: Option<&AtomicU32>,
    ) -> Waited {
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
        // Whether a bounded sleep ran out: only then is a lane's holder asked whether it lives.
        let mut slept_out = false;
        loop {
            if state == READY {
                return Waited::Ready;
            }
            if M::TRACKED {
                if phase(state) == ABANDONED {
                    return Waited::Abandoned;
                }
                if slept_out && phase(state) == EMPTY && owner.is_some_and(owner::holder_dead::<M>)
                {
                    // `state` was read before the holder was found dead, and the holder may
                    // have published this slot in between: look again. Acquire: pairs with the
                    // Release swap in `fill`; the liveness check ordered the dead holder's
                    // last swap before this load, so a publish it made is seen. (shuttle found
                    // the stale read: a reader told PublisherDied for a published slot.)
                    if self.state.load(Acquire) == READY {
                        return Waited::Ready;
                    }
                    // The slot stays EMPTY: a survivor may take the lane over and publish it.
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
                    slept_out = true;
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
        self.cells().len()
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

impl<T, M: Memory, P: Publishers> Drop for LockFreeArrayIn<T, M, P> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's slots belong to every process that maps it, not to this handle.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let cells = self.cells();
        // Every published value is dropped even if one's `Drop` panics, as `Vec` does.
        crate::cleanup::drop_each(0..cells.len(), |i| {
            let slot = P::slot(&cells[i]);
            // Relaxed: `&mut self` proves that no other thread uses the array any more, and
            // whatever handed us exclusive access (the last `Arc` drop, a join) ordered their
            // accesses before this one.
            if slot.state.load(Relaxed) == READY {
                // SAFETY: READY means the value was initialised (by the claimant or the lane's
                // holder, before its swap); `&mut self` gives exclusive access; `drop_each` visits each slot once
                // and the array is never used again, so the value is dropped exactly once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        });
    }
}

impl<T, M: Memory, P: Publishers> fmt::Debug for LockFreeArrayIn<T, M, P> {
    /// Shows the length only: slot states change under our feet, and a value may be mid-write.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockFreeArray")
            .field("len", &self.cells().len())
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
        crate::shm::region_end::<(), Padded<T>>(offset, usize::try_from(*len).ok()?)
    }

    fn build(
        cursor: &mut crate::shm::Cursor<'_>,
        len: &u64,
    ) -> Result<Self, crate::shm::OpenError> {
        let len = slot_count(*len)?;
        // SAFETY: see the impl's SAFETY comment.
        let slots = unsafe { cursor.region(|| (), |_| AnyPublisher::cell(), len)? };
        Ok(Self { slots })
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
fn slot_count(len: u64) -> Result<usize, crate::shm::OpenError> {
    usize::try_from(len).map_err(|_| crate::shm::OpenError::BadParams {
        reason: format!("{len} slots do not fit in this address space"),
    })
}

#[cfg(all(target_os = "linux", synclab_plain))]
// SAFETY: `size` is the one region `build` places (the lane table, then packed slots); the
// lane table is a count and atomic words, a slot as above: no pointers, nothing to drop, valid
// for any bytes (a lane count a peer corrupted finds no owner word rather than a wrong one).
unsafe impl<T: crate::shm::Plain> crate::shm::Design
    for LockFreeArrayIn<T, crate::shm::Shm, Lanes>
{
    /// `[slots, lanes]`.
    type Params = [u64; 2];
    const LAYOUT: &'static str = "synclab::array::LockFreeArray<Lanes>";
    const VERSION: u32 = 1;

    fn size(offset: usize, params: &[u64; 2]) -> Option<usize> {
        crate::shm::region_end::<LaneTable, Slot<T>>(offset, usize::try_from(params[0]).ok()?)
    }

    fn build(
        cursor: &mut crate::shm::Cursor<'_>,
        params: &[u64; 2],
    ) -> Result<Self, crate::shm::OpenError> {
        let len = slot_count(params[0])?;
        // A count beyond usize is refused by `LaneTable::new` like any other bad count.
        let table =
            LaneTable::new(usize::try_from(params[1]).unwrap_or(usize::MAX)).map_err(|e| {
                crate::shm::OpenError::BadParams {
                    reason: e.to_string(),
                }
            })?;
        // SAFETY: see the impl's SAFETY comment.
        let slots = unsafe { cursor.region(|| table, |_| Lanes::cell(), len)? };
        Ok(Self { slots })
    }
}
