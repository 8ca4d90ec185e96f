//! Vyukov's bounded MPMC queue: a ring of slots, each with a sequence stamp.
//!
//! Source: Dmitry Vyukov, "Bounded MPMC queue", 1024cores.net
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>), in the
//! form crossbeam-queue's `ArrayQueue` gives it (stamps carry a lap so any capacity ≥ 1 works,
//! not only powers of two).
//!
//! # Stamps and laps
//!
//! `head` and `tail` are *positions*: `index | lap`, where `index < capacity` is the slot and
//! `lap` is a multiple of `one_lap` (twice `mark_bit`, the smallest power of two above
//! `capacity`). Moving past the last slot resets the index to 0 and adds `one_lap`. The bit
//! between the index and the lap, `mark_bit`, is set in `tail` by [`close`](ArrayQueueIn::close)
//! (below). Every slot carries a stamp that says whose turn the slot is:
//!
//! | slot stamp | meaning | who acts |
//! |---|---|---|
//! | `== tail` | empty, written next by the producer that claims position `tail` | producer: CAS `tail` forward, write, store `tail + 1` |
//! | `== head + 1` | full, read next by the consumer that claims position `head` | consumer: CAS `head` forward, read, store `head + one_lap` |
//! | `+ one_lap == tail + 1` | still full from the previous lap: the queue may be full | producer: check `head` |
//! | `== head` | not yet written in this lap: the queue may be empty | consumer: check `tail` |
//! | anything else | another thread is between its CAS and its stamp store | retry after a backoff |
//!
//! # Closing
//!
//! [`close`](ArrayQueueIn::close) sets `mark_bit` in `tail` with one RMW — crossbeam-channel's
//! array flavor keeps its disconnect mark the same way. A producer claims its position with a
//! CAS on the whole of `tail`, so the claim and the close are totally ordered in `tail`'s
//! modification order: a push whose CAS came first has its slot (and the consumers wait for
//! its stamp, as for any claimed slot); a push that reads the mark — or whose CAS fails
//! because the mark appeared — hands its value back. That makes `close` linearizable with
//! `push` at no cost to either: the mark is tested on the `tail` the producer has already
//! loaded. A consumer's empty check compares `head` with `tail` without the mark, so the
//! queue drains normally after the close. `head` and the stamps never carry the mark (the
//! stamps' [`ABANDONED`] bit is the top bit, far above it). In a segment the mark is shared
//! like the rest of `tail`: a queue closed by one process is closed for all.
//!
//! # Progress: in what sense this is lock-free
//!
//! Claiming a position is a CAS, so some producer or consumer always succeeds in claiming
//! one. But the claim and the publication are two steps: a producer that wins the CAS on
//! `tail` and is then descheduled *before its stamp store* leaves its slot stamped "not yet
//! written". Consumers that reach that slot (one lap later: every consumer once the queue has
//! drained up to it) spin until that producer runs again; symmetrically a consumer stalled
//! between its CAS on `head` and its stamp store blocks the producer of the next lap on that
//! slot. So the queue is not lock-free in the strict sense — one stalled thread can block
//! others — though it takes no lock and the window is a handful of instructions. Every
//! operation on a slot nobody is stalled on completes in a bounded number of its own steps
//! once it has won its CAS.
//!
//! # In a segment shared by processes: a peer that dies mid-operation
//!
//! In a tracked [`Memory`] ([`Shm`](crate::shm::Shm)) every thread *announces* the position
//! it is about to claim ([`Memory::announce`], the kernel robust list's `list_op_pending`)
//! before its CAS on `tail` or `head`, so a survivor stuck behind a claimed slot can ask
//! whether its claimant is alive ([`Memory::claimant_dead`]) — the position's claimant is the
//! one live thread whose last announcement it is, and if none is left, the claimant died.
//!
//! | a thread dies… | it leaves | survivors see | and do |
//! |---|---|---|---|
//! | before its CAS | nothing (an announcement nobody follows) | — | — |
//! | producer, after its `tail` CAS, before its stamp store | a slot claimed and never written (stamp `== pos`) | a consumer at that position finds the queue "not empty" but the slot unwritten | after a backoff it asks `claimant_dead`; if so it stamps the slot `pos + 1` with [`ABANDONED`] and pops past it: the push never happened (its value is never read); [`ArrayQueueIn::abandoned`] counts it |
//! | consumer, after its `head` CAS, before its stamp store | a slot read (perhaps partly) and never freed (stamp `== pos + 1`) | the next lap's producer finds the queue "not full" but the slot not free | after a backoff it asks `claimant_dead`; if so it frees the slot (stamp `pos + one_lap`): the item died with its consumer; [`ArrayQueueIn::lost`] counts it |
//! | after its stamp store | a finished operation | — | — |
//!
//! The repairs are CASes on the stamp from the exact stalled value, so a claimant that is in
//! fact alive (it cannot be: its announcement would be live) would make them fail. On the
//! [`Heap`] none of this is compiled: `M::TRACKED` is `false`.
//!
//! # Memory ordering
//!
//! The stamp is the publication flag of the slot's value: the producer's Release store of
//! `tail + 1` pairs with the consumer's Acquire load of the stamp (so the value is visible),
//! and the consumer's Release store of `head + one_lap` pairs with the next producer's Acquire
//! load (so the consumer's read of the old value happens before the next write). The full and
//! empty checks in `push`/`pop` read the *other* index after a `fence(SeqCst)`, as crossbeam
//! does: the two sides' fences are ordered, so "the slot looks full" and "head has not moved"
//! cannot both be stale (the store-buffering models in `verification/tests/queue.rs`). The
//! CASes on `head` and `tail` are SeqCst, and so are the reads in [`ArrayQueue::len`],
//! [`is_empty`](ArrayQueue::is_empty) and [`is_full`](ArrayQueue::is_full), so that those
//! answers are points of the SeqCst order — also against SeqCst operations on other objects.
//! The exhaustive checker cannot check that (it treats SeqCst accesses as AcqRel); the Miri witnesses in
//! `crates/synclab/tests/sc_witness.rs` do.
//!
//! # Forced pushes
//!
//! [`ArrayQueue::force_push`] (crossbeam's `force_push`, crossbeam#680) runs `push`'s loop;
//! where `push` would report "full", it evicts the oldest item instead. A full queue has
//! `head + one_lap == tail`, so the slot of position `tail` holds the item of position
//! `head`: the pusher claims `head` with the consumers' SeqCst CAS (so at most one thread —
//! a consumer or a forced pusher — takes that item), stores `tail + 1` into `tail` (nobody
//! else can move it: producers claim `tail` only when the slot's stamp equals `tail`, and it
//! still says "full for `head`"), swaps the value in place and publishes it with the usual
//! Release stamp store of `tail + 1`. Between the CAS and the stamp store the slot is held
//! exactly as by a producer between its CAS and its stamp store (see "Progress"). The move of
//! `tail` is a CAS, not a store, because [`close`](ArrayQueueIn::close) may set its mark in
//! between (a store would erase it and reopen the queue): if it did, the forced push is a pop
//! followed by a push that lost to the close, and both values come back in a
//! [`ForcePushError`]. The exhaustive models `array_queue_force_push_against_pops` and
//! `array_queue_force_push_racing_close` check it.

use core::fmt;
use core::mem::MaybeUninit;
use core::ops::ControlFlow;

use crossbeam_utils::CachePadded;

/// Where [`ArrayQueueIn::push_dying`] / [`ArrayQueueIn::pop_dying`] stop.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStep {
    /// Right after the winning CAS on `tail` (push) or `head` (pop), before the stamp store.
    AfterClaim,
}

/// [`ArrayQueueIn::force_push`] found the queue [closed](ArrayQueueIn::close): its value comes
/// back — and, if the close landed while it was evicting, the evicted item too (it had
/// already left the queue; nothing is lost).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcePushError<T> {
    /// The value that was not pushed.
    pub value: T,
    /// The oldest item, if this call had taken it out before it found the queue closed.
    pub evicted: Option<T>,
}

impl<T> fmt::Display for ForcePushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed: the value was handed back, not pushed")
    }
}

impl<T: fmt::Debug> std::error::Error for ForcePushError<T> {}

const RUN_TO_END: u8 = 0;
const STOP_AFTER_CLAIM: u8 = 1;

use super::{Backoff, CapacityError, MpmcQueue};
use crate::shm::{Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::time::Instant;
use crate::sync::UnsafeCell;
use core::time::Duration;

/// Tracked memory: a stamp bit marking a slot whose producer died after claiming it; the slot
/// holds no value and consumers pop past it.
pub const ABANDONED: usize = 1 << (usize::BITS - 1);

/// An announcement's operation bit: a pop (clear: a push).
const OP_POP: u64 = 1 << 63;

/// The announcement of a call that gave up without claiming: no operation (a position this
/// far up is never reached; only a peer's garbage could name it).
const OP_NONE: u64 = u64::MAX - 1;

/// How many rounds a tracked thread waits on a stalled slot before it asks whether the
/// claimant is alive (each round a backoff step; the ask is a system call per live entry of
/// the attach table). One under a checker.
const STALL_ROUNDS: u32 = crate::sync::hint::spin_limit(64);

/// Tracked memory: how long a call may have stalled before, finding a slot in a state that
/// `head`, `tail` and the stamp together cannot be in — which only words a peer wrote can
/// make — it gives up and reports the queue full (push) or empty (pop). Long against any
/// delay in seeing another thread's stores; never reached under a checker, whose clock does
/// not move.
const JUDGE_AFTER: Duration = Duration::from_millis(2);

/// Tracked memory: how long a call waits on stalled slots at most before it gives up
/// (reports full or empty): a peer stopped between its claim and its stamp store, or a
/// corruption that looks like one. The bound of every `try_push` and `try_pop` in a segment.
pub(crate) const STALL_LIMIT: Duration = Duration::from_secs(1);

/// Tracked memory: one call's waits on stalled positions.
struct Stall {
    /// The position waited on now, and the rounds waited on it.
    position: usize,
    rounds: u32,
    /// When the call first waited [`STALL_ROUNDS`] rounds on a position: its bounds count
    /// from here, across positions (a corrupted ring can stall a call at one position after
    /// another).
    since: Option<Instant>,
    /// Whether the call has announced a position (which a give-up takes back: an
    /// announcement says "I may have claimed this").
    announced: bool,
}

impl Stall {
    fn new() -> Self {
        Stall {
            position: usize::MAX,
            rounds: 0,
            since: None,
            announced: false,
        }
    }

    /// Counts a round at `position`; every [`STALL_ROUNDS`] rounds on the same position,
    /// `Some(time the call has stalled)`.
    fn round(&mut self, position: usize) -> Option<Duration> {
        if self.position != position {
            self.position = position;
            self.rounds = 0;
        }
        self.rounds += 1;
        if self.rounds < STALL_ROUNDS {
            return None;
        }
        self.rounds = 0;
        let now = Instant::now();
        Some(now.saturating_duration_since(*self.since.get_or_insert(now)))
    }
}

/// One slot of the ring.
#[repr(C)]
struct Slot<T> {
    /// Whose turn the slot is; see the table in the module docs.
    stamp: AtomicUsize,
    /// The value: initialised exactly when the stamp says "full" (`== position + 1`).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The positions, in the queue's memory.
#[repr(C)]
struct Ends {
    /// The next position to pop. Invariant: `head <= tail <= head + capacity` (as positions).
    head: CachePadded<AtomicUsize>,
    /// The next position to push.
    tail: CachePadded<AtomicUsize>,
    /// Tracked memory: pushes whose producer died after claiming (see the module docs).
    abandoned: AtomicUsize,
    /// Tracked memory: items whose consumer died after claiming them.
    lost: AtomicUsize,
}

/// Vyukov's bounded lock-free MPMC queue on the [`Heap`]; see [`ArrayQueueIn`].
pub type ArrayQueue<T> = ArrayQueueIn<T, Heap>;

/// Vyukov's bounded lock-free MPMC queue in memory `M`; see the [module docs](self).
///
/// ```
/// use synclab::queue::{ArrayQueue, MpmcQueue};
///
/// let q = ArrayQueue::with_capacity(1)?;
/// q.try_push("a").unwrap();
/// assert_eq!(q.try_push("b"), Err("b"));
/// assert_eq!(q.try_pop(), Some("a"));
/// assert_eq!(q.try_pop(), None);
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
pub struct ArrayQueueIn<T, M: Memory> {
    /// `head`, `tail` (the header) and the ring (the elements; `len == capacity`).
    ring: M::Region<Ends, Slot<T>>,
    /// The smallest power of two greater than the capacity: set in `tail` once the queue is
    /// closed (never in `head` or a stamp); also the mask bound of a position's index.
    mark_bit: usize,
    /// `2 * mark_bit`: the lap unit of a position.
    one_lap: usize,
}

// SAFETY: the queue moves `T` values between threads (a push on one thread, a pop on
// another) and never hands out references to them, so `T: Send` is all it needs, as for
// `std::sync::mpsc` and crossbeam's ArrayQueue. Each slot is accessed exclusively by the one
// thread whose CAS claimed its position, until that thread's stamp store hands it on.
unsafe impl<T: Send, M: Memory> Sync for ArrayQueueIn<T, M> {}
// SAFETY: moving the queue moves the `T`s it holds.
unsafe impl<T: Send, M: Memory> Send for ArrayQueueIn<T, M> {}

impl<T> ArrayQueueIn<T, Heap> {
    /// A new empty queue holding at most `capacity` items; the whole ring is allocated here,
    /// fallibly, so that no push ever allocates.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] above
    /// [`max_capacity`](Self::max_capacity), [`CapacityError::AllocationFailed`] if the ring
    /// cannot be allocated.
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        Self::new_in(capacity)
    }
}

impl<T, M: HeapMemory> ArrayQueueIn<T, M> {
    /// A new empty queue in heap memory `M` (the heap, or a model memory).
    ///
    /// # Errors
    ///
    /// As [`ArrayQueue::new`].
    pub fn new_in(capacity: usize) -> Result<Self, CapacityError> {
        let (mark_bit, one_lap) = Self::check_capacity(capacity)?;
        let mut slots = Vec::new();
        slots.try_reserve_exact(capacity).map_err(|_| {
            CapacityError::allocation_failed(capacity, core::mem::size_of::<Slot<T>>())
        })?;
        slots.extend((0..capacity).map(Slot::empty));
        Ok(Self {
            // Exact: `into_boxed_slice` does not reallocate.
            ring: M::region(Ends::new(), slots.into_boxed_slice()),
            mark_bit,
            one_lap,
        })
    }
}

impl<T> Slot<T> {
    /// Slot `i` starts with stamp `i`: "empty, written by the producer of position i".
    fn empty(i: usize) -> Self {
        Slot {
            stamp: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

impl Ends {
    fn new() -> Self {
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            abandoned: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
        }
    }
}

impl<T, M: Memory> ArrayQueueIn<T, M> {
    /// The largest capacity accepted: [`MAX_CAPACITY`](super::MAX_CAPACITY) (which also
    /// leaves positions the mark bit, the lap bits and the stamps' [`ABANDONED`] bit), or less
    /// if a ring of that many slots of `T` would not fit in the address space (`isize::MAX`
    /// bytes). A capacity up to it can still fail to allocate: see [`ArrayQueue::new`].
    pub fn max_capacity() -> usize {
        let by_layout = isize::MAX as usize / core::mem::size_of::<Slot<T>>().max(1);
        super::MAX_CAPACITY.min(by_layout)
    }

    /// `(mark_bit, one_lap)` for `capacity`, or why it cannot be.
    fn check_capacity(capacity: usize) -> Result<(usize, usize), CapacityError> {
        CapacityError::check(capacity)?;
        let max = Self::max_capacity();
        if capacity > max {
            return Err(CapacityError::TooLarge {
                requested: capacity,
                max,
            });
        }
        let mark_bit = (capacity + 1).next_power_of_two();
        Ok((mark_bit, mark_bit * 2))
    }

    #[inline(always)]
    fn ends(&self) -> &Ends {
        self.ring.header()
    }

    #[inline(always)]
    fn buffer(&self) -> &[Slot<T>] {
        self.ring.elems()
    }

    #[inline(always)]
    fn ctx(&self) -> *const () {
        self.ends() as *const Ends as *const ()
    }

    /// Pushes whose producer died after claiming a slot (tracked memory; 0 on the heap).
    pub fn abandoned(&self) -> usize {
        self.ends().abandoned.load(Ordering::Relaxed)
    }

    /// Items whose consumer died after claiming them (tracked memory; 0 on the heap).
    pub fn lost(&self) -> usize {
        self.ends().lost.load(Ordering::Relaxed)
    }

    /// The position after `position` (unmarked): the next index, or index 0 of the next lap.
    #[inline]
    fn next_position(&self, position: usize) -> usize {
        let index = position & (self.mark_bit - 1);
        if index + 1 < self.buffer().len() {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The slot of `position` (unmarked); `None` for an index past the ring, which only a
    /// word a peer wrote can hold (tracked memory: every index read from a segment is checked).
    #[inline(always)]
    fn slot(&self, position: usize) -> Option<&Slot<T>> {
        let index = position & (self.mark_bit - 1);
        if M::TRACKED {
            return self.buffer().get(index);
        }
        // SAFETY: in untracked memory (one process's heap) every position stored in `head` or
        // `tail` (and every stale copy of one) was made by `next_position` from 0, which keeps
        // the index below the capacity; the mask only removes the mark and lap bits (callers
        // never pass a marked `tail`).
        Some(unsafe { self.buffer().get_unchecked(index) })
    }

    /// Appends `value`, or hands it back if the queue is full or [closed](Self::close).
    #[inline]
    pub fn push(&self, value: T) -> Result<(), T> {
        self.push_until::<RUN_TO_END>(value, |value, _, _| ControlFlow::Break(Err(value)))
    }

    /// Appends `value`; if the queue is full, overwrites the oldest item and returns it
    /// (`Ok(Some(oldest))`; `Ok(None)` when there was room).
    ///
    /// The eviction is a pop and a push in one step: the pushing thread claims the oldest
    /// item's position with the consumers' CAS on `head`, which makes it the owner of that
    /// slot, moves `tail` past it, swaps the value and publishes it (see "Forced pushes" in
    /// the module docs). Linearizable as "pop the oldest, then push", atomically — unless a
    /// [`close`](Self::close) lands between the two: then it is that pop followed by a push
    /// that lost to the close, and both values come back in the error.
    ///
    /// ```
    /// use synclab::queue::ArrayQueue;
    ///
    /// let q = ArrayQueue::new(2)?;
    /// assert_eq!(q.force_push(1), Ok(None));
    /// assert_eq!(q.force_push(2), Ok(None));
    /// assert_eq!(q.force_push(3), Ok(Some(1))); // full: the oldest makes room
    /// assert_eq!((q.pop(), q.pop(), q.pop()), (Some(2), Some(3), None));
    /// q.close();
    /// assert_eq!(q.force_push(4).unwrap_err().value, 4); // closed: the value comes back
    /// # Ok::<(), synclab::queue::CapacityError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ForcePushError`] if the queue is closed: the value, and the evicted item if the
    /// close came in the middle of an eviction (it had already left the queue).
    ///
    /// Not in memory whose peers' deaths are tracked (a shared segment): the eviction does not
    /// announce its claim the way a consumer's does, so a forced pusher that died inside it
    /// could not be recovered from. Using it there is a compile-time error.
    #[inline]
    pub fn force_push(&self, value: T) -> Result<Option<T>, ForcePushError<T>> {
        const { assert!(!M::TRACKED, "force_push is not supported in tracked memory") };
        let evicted = core::cell::Cell::new(None);
        match self.push_until::<RUN_TO_END>(value, |value, tail, slot| {
            self.evict_oldest(value, tail, slot, &evicted)
        }) {
            Ok(()) => Ok(evicted.into_inner()),
            Err(value) => Err(ForcePushError {
                value,
                evicted: evicted.into_inner(),
            }),
        }
    }

    /// The queue looked full at position `tail` (its slot still holds the oldest item, at
    /// position `tail - one_lap`, which `head` still names): claims that item as a consumer
    /// would, and reuses its slot for `value`. `Break(Ok(()))` with the oldest item in
    /// `evicted` on success; `Continue(value)` if a consumer took the oldest item first (then
    /// the push is retried from the start); `Break(Err(value))`, the oldest item in `evicted`,
    /// if the queue closed after the claim.
    #[cold]
    fn evict_oldest(
        &self,
        value: T,
        tail: usize,
        slot: &Slot<T>,
        evicted: &core::cell::Cell<Option<T>>,
    ) -> ControlFlow<Result<(), T>, T> {
        let head = tail.wrapping_sub(self.one_lap);
        let new_tail = self.next_position(tail);
        let new_head = new_tail.wrapping_sub(self.one_lap);
        // SeqCst, as the CAS in `pop`: winning it makes us the consumer of position `head`.
        if self
            .ends()
            .head
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return ControlFlow::Continue(value);
        }
        // No producer can move `tail` now: a producer claims position `tail` only when the
        // slot's stamp equals `tail`, and the stamp still says "full for `head`" until our
        // store below. But `close` can set its mark, so this is a CAS, not a store (a store
        // would erase the mark and reopen the queue). SeqCst: it takes part in the total
        // order that `snapshot` reads `tail` in, as the CAS in `push` does.
        if let Err(current) =
            self.ends()
                .tail
                .compare_exchange(tail, new_tail, Ordering::SeqCst, Ordering::Relaxed)
        {
            debug_assert_eq!(current, tail | self.mark_bit, "only close moves tail here");
            // Closed after our claim: our pop stands, our push lost to the close. Take the
            // item and free the slot as `pop` does, and hand both values back.
            // SAFETY: as for the replace below: the claim gave us the slot and its
            // initialised value of position `head`; it is read exactly once.
            let oldest = slot.value.with(|p| unsafe { p.read().assume_init() });
            // Release: pairs with the next lap's producer's Acquire stamp load, as in `pop`.
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            evicted.set(Some(oldest));
            return ControlFlow::Break(Err(value));
        }
        // SAFETY: the stamp we Acquire-loaded said "full for `head`" (the caller checked
        // `stamp + one_lap == tail + 1`), so the slot holds the initialised value of position
        // `head`, made visible by that producer's Release store; winning the CAS on `head`
        // gave us that slot exclusively, as in `pop`, and nobody can claim it as a producer
        // until our stamp store (above). We read the old value once and write the new one.
        let oldest = slot
            .value
            .with_mut(|p| unsafe { p.replace(MaybeUninit::new(value)).assume_init() });
        // Release: pairs with the Acquire stamp load in `pop`, so the new value is visible
        // to the consumer of position `tail`.
        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
        evicted.set(Some(oldest));
        ControlFlow::Break(Ok(()))
    }

    /// Runs `push` up to `step` and stops there for good, as a process killed at that point
    /// would (the value is leaked if it was written). For death-injection tests and models.
    #[doc(hidden)]
    pub fn push_dying(&self, value: T, step: QueueStep) -> Result<(), T> {
        match step {
            QueueStep::AfterClaim => self.push_until::<STOP_AFTER_CLAIM>(value, |value, _, _| {
                ControlFlow::Break(Err(value))
            }),
        }
    }

    /// Runs `pop` up to `step` and stops there for good, as a process killed at that point
    /// would: the item is claimed and never released. For death-injection tests and models.
    #[doc(hidden)]
    pub fn pop_dying(&self, step: QueueStep) -> Option<()> {
        match step {
            QueueStep::AfterClaim => self.pop_until::<STOP_AFTER_CLAIM>().map(|v| {
                core::mem::forget(v);
            }),
        }
    }

    /// The push loop, run up to `STOP`. When the queue is full at position `tail`,
    /// `on_full(value, tail, slot)` decides: `Break(result)` returns `result`,
    /// `Continue(value)` retries.
    #[inline]
    fn push_until<const STOP: u8>(
        &self,
        mut value: T,
        on_full: impl Fn(T, usize, &Slot<T>) -> ControlFlow<Result<(), T>, T>,
    ) -> Result<(), T> {
        let mut backoff = Backoff::default();
        let mut stall = Stall::new();
        let mut tail = self.ends().tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(value); // closed: see "Closing" in the module docs
            }
            let Some(slot) = self.slot(tail) else {
                self.give_up(&stall);
                return Err(value); // a `tail` no ring has (tracked memory): reported full
            };
            // Acquire: pairs with the Release stamp store in `pop` of the previous lap, so
            // that consumer's read of the old value happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if tail == stamp {
                if M::TRACKED {
                    // Before the CAS: if we die after it, survivors find our claim.
                    M::announce(self.ctx(), tail as u64);
                    stall.announced = true;
                }
                // The slot is empty and position `tail` is ours if the CAS wins. SeqCst, as
                // crossbeam: the CAS takes part in the total order that `snapshot` (`len`,
                // `is_empty`, `is_full`) reads `tail` in — the store-buffering witnesses in
                // `tests/sc_witness.rs` fail under Miri with AcqRel here. (The full/empty
                // checks below need only their fences; the slot is ordered by the stamp.)
                match self.ends().tail.compare_exchange_weak(
                    tail,
                    self.next_position(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        if STOP == STOP_AFTER_CLAIM {
                            core::mem::forget(value);
                            return Ok(());
                        }
                        // SAFETY: winning the CAS for position `tail` while the stamp said
                        // "empty for `tail`" gives this thread exclusive access to the slot
                        // until the stamp store below; the slot holds no live value.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        // Release: pairs with the Acquire stamp load in `pop`, so the value
                        // written above is visible to the consumer that sees `tail + 1`.
                        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => {
                        // Another producer won, or `close` set the mark (checked above).
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail.wrapping_add(1) {
                // The slot still holds the previous lap's value: full, unless a consumer has
                // moved `head` since. SeqCst fence: orders our stamp load before the `head`
                // load in the single total order, pairing with the SeqCst CAS on `head` in
                // `pop` (crossbeam's full check).
                fence(Ordering::SeqCst);
                let head = self.ends().head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    value = match on_full(value, tail, slot) {
                        ControlFlow::Break(result) => return result,
                        ControlFlow::Continue(value) => value,
                    };
                }
                // Not full, yet the slot is not free: its consumer is between its CAS and its
                // stamp store — or, in tracked memory, died there.
                if M::TRACKED && self.push_stalled(&mut stall, slot, tail, stamp) {
                    self.give_up(&stall);
                    return Err(value);
                }
                backoff.spin();
                tail = self.ends().tail.load(Ordering::Relaxed);
            } else {
                // Another producer is between its CAS and its stamp store, or our `tail` is
                // stale: wait for it to move on (see "Progress" in the module docs). In
                // tracked memory the slot may also be an abandoned one whose skipping consumer
                // died before freeing it.
                if M::TRACKED && self.push_stalled(&mut stall, slot, tail, stamp) {
                    self.give_up(&stall);
                    return Err(value);
                }
                backoff.snooze();
                tail = self.ends().tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Tracked memory: a call gives up without having claimed a position: its announcement,
    /// if it made one, is taken back, so that no survivor waits for it as for a live claimant.
    #[cold]
    fn give_up(&self, stall: &Stall) {
        if stall.announced {
            M::announce(self.ctx(), OP_NONE);
        }
    }

    /// Tracked memory: a push waits on `slot` at position `tail`, stamped `stamp`. Every
    /// [`STALL_ROUNDS`] rounds it frees the slot if its consumer died, and gives up (`true`:
    /// report full) if the view has been impossible for [`JUDGE_AFTER`] or the wait has lasted
    /// [`STALL_LIMIT`].
    #[cold]
    fn push_stalled(&self, stall: &mut Stall, slot: &Slot<T>, tail: usize, stamp: usize) -> bool {
        let Some(waited) = stall.round(tail) else {
            return false;
        };
        // Full from the previous lap (perhaps an abandoned push being skipped): its consumer
        // may have died between its claim and its stamp store.
        let previous_lap = (stamp & !ABANDONED).wrapping_add(self.one_lap) == tail.wrapping_add(1);
        if previous_lap {
            self.free_if_consumer_died(slot, stamp);
        }
        waited >= STALL_LIMIT || (waited >= JUDGE_AFTER && !self.push_view_possible(tail, stamp))
    }

    /// Whether a slot stamped `stamp` can stall a push at `tail` in a queue no peer corrupted:
    /// the previous lap's producer between its claim and its stamp store (then the queue is
    /// full: `head` is that position), or the previous lap's consumer between its claim and
    /// its stamp store (then `head` has moved past it) — or our `tail` is stale.
    #[cold]
    fn push_view_possible(&self, tail: usize, stamp: usize) -> bool {
        // Relaxed: a look after the wait has lasted long past any delay in seeing stores.
        let head = self.ends().head.load(Ordering::Relaxed);
        let previous = tail.wrapping_sub(self.one_lap);
        if stamp == previous {
            return head == previous;
        }
        if (stamp & !ABANDONED).wrapping_add(self.one_lap) == tail.wrapping_add(1) {
            return tail.wrapping_sub(head) < self.one_lap;
        }
        self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit != tail
    }

    /// Tracked memory: a pop waits on `slot` at position `head`, stamped `stamp`. Every
    /// [`STALL_ROUNDS`] rounds it abandons the slot if its producer died, and gives up
    /// (`true`: report empty) as [`push_stalled`](Self::push_stalled) does.
    #[cold]
    fn pop_stalled(&self, stall: &mut Stall, slot: &Slot<T>, head: usize, stamp: usize) -> bool {
        let Some(waited) = stall.round(head) else {
            return false;
        };
        if stamp == head {
            // Claimed by a producer that has not written: it may have died there.
            self.abandon_if_producer_died(slot, head);
        }
        waited >= STALL_LIMIT || (waited >= JUDGE_AFTER && !self.pop_view_possible(head, stamp))
    }

    /// Whether a slot stamped `stamp` can stall a pop at `head` in a queue no peer corrupted:
    /// this lap's producer between its claim and its stamp store (then `tail` is past `head`,
    /// by at most a lap), or the previous lap's consumer between its claim and its stamp store
    /// — or our `head` is stale.
    #[cold]
    fn pop_view_possible(&self, head: usize, stamp: usize) -> bool {
        if stamp == head {
            // Relaxed: as in `push_view_possible`.
            let tail = self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit;
            return tail.wrapping_sub(head) <= self.one_lap;
        }
        if (stamp & !ABANDONED).wrapping_add(self.one_lap) == head.wrapping_add(1) {
            return true;
        }
        self.ends().head.load(Ordering::Relaxed) != head
    }

    /// Tracked memory: frees `slot` (stamped `stamp`, full from the previous lap) if the
    /// consumer that claimed it died before freeing it; the item is lost with it.
    #[cold]
    fn free_if_consumer_died(&self, slot: &Slot<T>, stamp: usize) {
        let position = (stamp & !ABANDONED).wrapping_sub(1);
        // Acquire: pairs with the claimant's SeqCst CAS on `head` (and the release sequence
        // after it), so its announcement — made before that CAS — is visible to the check.
        let _ = self.ends().head.load(Ordering::Acquire);
        if M::claimant_dead(self.ctx(), OP_POP | position as u64) {
            // Relaxed: the slot carries no value any more; the next producer's Acquire stamp
            // load orders nothing beyond what the dead consumer left.
            if slot
                .stamp
                .compare_exchange(
                    stamp,
                    position.wrapping_add(self.one_lap),
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                self.ends().lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Tracked memory: marks `slot` (claimed for `position`, never written) [`ABANDONED`] if
    /// its producer died, so consumers pop past it.
    #[cold]
    fn abandon_if_producer_died(&self, slot: &Slot<T>, position: usize) {
        // Acquire: pairs with the claimant's SeqCst CAS on `tail`, so its announcement is
        // visible to the check.
        let _ = self.ends().tail.load(Ordering::Acquire);
        if M::claimant_dead(self.ctx(), position as u64) {
            // Relaxed: an abandoned slot publishes no value.
            let _ = slot.stamp.compare_exchange(
                position,
                position.wrapping_add(1) | ABANDONED,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    /// Removes the item at the head, or returns `None` if the queue is empty.
    #[inline]
    pub fn pop(&self) -> Option<T> {
        self.pop_until::<RUN_TO_END>()
    }

    #[inline]
    fn pop_until<const STOP: u8>(&self) -> Option<T> {
        let mut backoff = Backoff::default();
        let mut stall = Stall::new();
        let mut head = self.ends().head.load(Ordering::Relaxed);
        loop {
            let Some(slot) = self.slot(head) else {
                self.give_up(&stall);
                return None; // a `head` no ring has (tracked memory): reported empty
            };
            // Acquire: pairs with the Release stamp store in `push`, so the value is visible.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if M::TRACKED && stamp == head.wrapping_add(1) | ABANDONED {
                // A push whose producer died after its claim: take the position and free the
                // slot without reading it. SeqCst: as the CAS below.
                M::announce(self.ctx(), OP_POP | head as u64);
                stall.announced = true;
                if self
                    .ends()
                    .head
                    .compare_exchange(
                        head,
                        self.next_position(head),
                        Ordering::SeqCst,
                        Ordering::Relaxed,
                    )
                    .is_ok()
                {
                    // Release: pairs with the next lap's producer's Acquire stamp load.
                    slot.stamp
                        .store(head.wrapping_add(self.one_lap), Ordering::Release);
                    self.ends().abandoned.fetch_add(1, Ordering::Relaxed);
                }
                head = self.ends().head.load(Ordering::Relaxed);
                continue;
            }
            if head.wrapping_add(1) == stamp {
                if M::TRACKED {
                    // Before the CAS: if we die after it, survivors find our claim.
                    M::announce(self.ctx(), OP_POP | head as u64);
                    stall.announced = true;
                }
                // The slot is full and position `head` is ours if the CAS wins (SeqCst: as
                // the CAS in `push`, for the order `snapshot` reads `head` in).
                match self.ends().head.compare_exchange_weak(
                    head,
                    self.next_position(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) if STOP == STOP_AFTER_CLAIM => {
                        // SAFETY: as below: the claim gives us the initialised value. Read
                        // and handed to the caller, who forgets it; the slot is never freed.
                        return Some(slot.value.with(|p| unsafe { p.read().assume_init() }));
                    }
                    Ok(_) => {
                        // SAFETY: winning the CAS for position `head` while the stamp said
                        // "full for `head`" gives this thread exclusive access to the slot
                        // until the stamp store below, and the value was initialised by the
                        // producer whose Release store we acquired. It is read exactly once:
                        // the stamp store below marks the slot empty.
                        let value = slot.value.with(|p| unsafe { p.read().assume_init() });
                        // Release: pairs with the Acquire stamp load in `push` of the next
                        // lap, so our read happens before the next write of this slot.
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // The slot is not yet written in this lap: empty, unless a producer has
                // moved `tail` since. SeqCst fence: as in `push`, pairing with the SeqCst CAS
                // on `tail` (crossbeam's empty check).
                fence(Ordering::SeqCst);
                let tail = self.ends().tail.load(Ordering::Relaxed);
                if tail & !self.mark_bit == head {
                    return None;
                }
                // Not empty, yet the slot is unwritten: its producer is between its CAS and
                // its stamp store — or, in tracked memory, died there.
                if M::TRACKED && self.pop_stalled(&mut stall, slot, head, stamp) {
                    self.give_up(&stall);
                    return None;
                }
                backoff.spin();
                head = self.ends().head.load(Ordering::Relaxed);
            } else {
                // Another consumer is between its CAS and its stamp store, or a producer
                // that claimed this position has not published yet (see "Progress").
                if M::TRACKED && self.pop_stalled(&mut stall, slot, head, stamp) {
                    self.give_up(&stall);
                    return None;
                }
                backoff.snooze();
                head = self.ends().head.load(Ordering::Relaxed);
            }
        }
    }

    /// The most items the queue holds.
    pub fn capacity(&self) -> usize {
        self.buffer().len()
    }

    /// Closes the queue to pushes: every later [`push`](Self::push) hands its value back,
    /// while [`pop`](Self::pop) drains what is left. Returns `true` if this call closed it.
    /// Linearizable with `push` (see "Closing" in the module docs).
    pub fn close(&self) -> bool {
        // Release: pairs with the Acquire load in `is_closed`, so a thread that sees the queue
        // closed sees what the closer wrote before. (The push/close order needs no ordering:
        // it is the modification order of `tail`, where both are RMWs.)
        self.ends().tail.fetch_or(self.mark_bit, Ordering::Release) & self.mark_bit == 0
    }

    /// Whether [`close`](Self::close) has been called. If `true`, everything the closing thread
    /// wrote before `close` is visible to the caller, and every push that was not refused is
    /// visible to the caller's later pops.
    pub fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`. No push writes `tail` after
        // the mark (a producer that sees it returns), so the value read is the close's own.
        // The caller's later pops read `tail` no older than this (read-read coherence), so
        // they see every position claimed before the close.
        self.ends().tail.load(Ordering::Acquire) & self.mark_bit != 0
    }

    /// A consistent `(tail, head)` pair (`tail` without the mark): both held at one point of
    /// the SeqCst total order, between the call's start and its end.
    ///
    /// Read `tail`, `head`, `tail` again, and retry until the two reads of `tail` agree.
    /// Positions only grow (modulo wrap-around), so equal reads mean `tail` did not move
    /// between them, and the pair held when `head` was read.
    #[inline]
    fn snapshot(&self) -> (usize, usize) {
        // Acquire, not SeqCst: the value we return is the second read's, which is SeqCst. This
        // read only has to be no newer than `head`'s point in the total order: it reads a
        // SeqCst (hence Release) CAS, so that CAS happens before our `head` load and precedes
        // it in the total order. (The ordering-mutation audit showed SeqCst here equivalent.)
        let mut tail = self.ends().tail.load(Ordering::Acquire);
        loop {
            // SeqCst: the `head` and second `tail` reads take part in the total order of the
            // CASes on `head` and `tail`, so "empty", "full" and a length are answers at one
            // point of that order — also against SeqCst operations on other objects (the
            // store-buffering witnesses in `tests/miri.rs` check this).
            let head = self.ends().head.load(Ordering::SeqCst);
            let again = self.ends().tail.load(Ordering::SeqCst);
            if again == tail {
                return (tail & !self.mark_bit, head);
            }
            tail = again;
        }
    }

    /// The number of items at some moment during the call.
    pub fn len(&self) -> usize {
        let (tail, head) = self.snapshot();
        let hix = head & (self.mark_bit - 1);
        let tix = tail & (self.mark_bit - 1);
        let len = if hix < tix {
            tix - hix
        } else if hix > tix {
            // Wrapping: in tracked memory an index a peer wrote may exceed the capacity.
            self.capacity().wrapping_sub(hix).wrapping_add(tix)
        } else if tail == head {
            0
        } else {
            self.capacity()
        };
        if M::TRACKED {
            len.min(self.capacity())
        } else {
            len
        }
    }

    /// Whether the queue was empty at some moment during the call.
    pub fn is_empty(&self) -> bool {
        let (tail, head) = self.snapshot();
        tail == head
    }

    /// Whether the queue was full at some moment during the call.
    pub fn is_full(&self) -> bool {
        let (tail, head) = self.snapshot();
        head.wrapping_add(self.one_lap) == tail
    }

    /// Whether `tail == head` in one Relaxed read of each: a look at the queue for a caller
    /// that orders it with its own `fence(SeqCst)` (the pool's hand-off between searching
    /// workers and submitters), where `is_empty`'s SeqCst snapshot would be redundant. Without
    /// such a fence the answer may be stale. Relaxed: the caller's fence carries the order;
    /// nothing is read through these loads.
    pub(crate) fn looks_empty(&self) -> bool {
        let tail = self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit;
        self.ends().head.load(Ordering::Relaxed) == tail
    }
}

/// The queue operations of `MpmcQueue`, the same for every memory: the inherent methods.
macro_rules! mpmc_queue_ops {
    () => {
        #[inline]
        fn try_push(&self, value: T) -> Result<(), T> {
            self.push(value)
        }

        #[inline]
        fn try_pop(&self) -> Option<T> {
            self.pop()
        }

        fn capacity(&self) -> usize {
            ArrayQueueIn::capacity(self)
        }

        fn len(&self) -> usize {
            ArrayQueueIn::len(self)
        }

        fn is_empty(&self) -> bool {
            ArrayQueueIn::is_empty(self)
        }

        fn is_full(&self) -> bool {
            ArrayQueueIn::is_full(self)
        }

        fn close(&self) -> bool {
            ArrayQueueIn::close(self)
        }

        fn is_closed(&self) -> bool {
            ArrayQueueIn::is_closed(self)
        }
    };
}

impl<T: Send, M: HeapMemory> MpmcQueue<T> for ArrayQueueIn<T, M> {
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Self::new_in(capacity)
    }

    mpmc_queue_ops!();
}

impl<T, M: Memory> Drop for ArrayQueueIn<T, M> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's ring belongs to every process that maps it, not to this handle.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        // `&mut self`: no operation is in flight, so every slot between head and tail holds
        // an initialised value and every other slot is empty. (A heap queue never has a
        // thread that died mid-operation: `push_dying`/`pop_dying` leave values leaked, and
        // this counts only slots stamped full.)
        let len = self.len();
        let mut position = self.ends().head.load(Ordering::Relaxed);
        // Every element is dropped even if one's `Drop` panics, as `Vec` does (issue 13):
        // `drop_each` calls this for 0..len in order, also from its unwinding guard, so the
        // position advances once per call.
        crate::cleanup::drop_each(0..len, |_| {
            let this = position;
            position = self.next_position(position);
            // Only a slot stamped full holds a value: one claimed by `push_dying` and never
            // written does not.
            let Some(slot) = self.slot(this) else { return };
            if slot.stamp.load(Ordering::Relaxed) == this.wrapping_add(1) {
                // SAFETY: the stamp says full for this position: the value was initialised by
                // its producer and not yet read; `drop_each` visits each position once, so it
                // is dropped exactly once, and nothing reads it afterwards.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        });
    }
}

impl<T, M: Memory> fmt::Debug for ArrayQueueIn<T, M> {
    /// Shows the capacity only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayQueue")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
// SAFETY: one region, sized by `region_end` for the same types; `Ends` is atomics, a slot is
// a stamp and an `UnsafeCell<MaybeUninit<T>>` of plain `T`: no pointers, nothing to drop,
// valid for any bytes (a value is read only after its stamp says full).
unsafe impl<T: crate::shm::Plain> crate::shm::Design for ArrayQueueIn<T, crate::shm::Shm> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::queue::ArrayQueue";
    /// 2: `tail` carries the closed mark, so the lap unit doubled (issue 13).
    const VERSION: u32 = 2;

    fn size(offset: usize, capacity: &u64) -> Option<usize> {
        crate::shm::region_end::<Ends, Slot<T>>(offset, usize::try_from(*capacity).ok()?)
    }

    fn build(
        cursor: &mut crate::shm::Cursor<'_>,
        capacity: &u64,
    ) -> Result<Self, crate::shm::OpenError> {
        let capacity = usize::try_from(*capacity).unwrap_or(usize::MAX);
        let (mark_bit, one_lap) =
            Self::check_capacity(capacity).map_err(|e| crate::shm::OpenError::BadParams {
                reason: e.to_string(),
            })?;
        // SAFETY: see the impl's SAFETY comment.
        let ring = unsafe { cursor.region(Ends::new, Slot::empty, capacity)? };
        Ok(Self {
            ring,
            mark_bit,
            one_lap,
        })
    }
}

#[cfg(all(target_os = "linux", synclab_plain))]
impl<T: crate::shm::Plain> MpmcQueue<T> for ArrayQueueIn<T, crate::shm::Shm> {
    /// A queue in a segment is placed by [`Shared::create`](crate::shm::Shared::create), not
    /// here: this reports that no capacity fits outside a segment (`max: 0`).
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Err(CapacityError::TooLarge {
            requested: capacity,
            max: 0,
        })
    }

    mpmc_queue_ops!();
}
