//! Vyukov's bounded MPMC queue. The algorithm is documented on [`ArrayQueue`]; what a segment
//! shared by processes adds (death repair, checks of words a peer wrote) is in `tracked.rs`,
//! and the queue's placement in a segment in `segment.rs`.

use core::fmt;
use core::mem::MaybeUninit;
use core::ops::ControlFlow;

use crossbeam_utils::CachePadded;

use super::{Backoff, CapacityError, MpmcQueue};
use crate::shm::{Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::UnsafeCell;
use tracked::Stall;

pub(super) mod force;
mod snapshot;
mod tracked;

/// `push_until`/`pop_until` run to the end; or stop right after the winning CAS, as a process
/// killed there would (fault injection, `queue/fault.rs`).
pub(super) const RUN_TO_END: u8 = 0;
pub(super) const STOP_AFTER_CLAIM: u8 = 1;

/// One slot of the ring.
#[repr(C)]
pub(super) struct Slot<T> {
    /// Whose turn the slot is; see the table on [`ArrayQueue`].
    pub(super) stamp: AtomicUsize,
    /// The value: initialised exactly when the stamp says "full" (`== position + 1`).
    pub(super) value: UnsafeCell<MaybeUninit<T>>,
}

/// The positions, in the queue's memory.
#[repr(C)]
pub(super) struct Ends {
    /// The next position to pop. Invariant: `head <= tail <= head + capacity` (as positions).
    pub(super) head: CachePadded<AtomicUsize>,
    /// The next position to push.
    pub(super) tail: CachePadded<AtomicUsize>,
    /// Tracked memory: pushes whose producer died after claiming (read by the test probe,
    /// `fault::Probe`; kept in every build, as the segment's layout must not depend on it).
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(super) abandoned: AtomicUsize,
    /// Tracked memory: items whose consumer died after claiming them (as `abandoned`).
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(super) lost: AtomicUsize,
}

/// Vyukov's bounded MPMC queue: a ring of slots, each with a sequence stamp, in memory `M`
/// (the [`Heap`] unless named; a segment's queue is placed by
/// [`Shared::create`](crate::shm::Shared::create)). Its operations are those of [`MpmcQueue`]
/// (`with_capacity`, `try_push`, `try_pop`, `len`, `close`, …), which is in the same module;
/// inherent is only what the trait does not have, [`force_push`](Self::force_push).
/// A capacity the queue cannot have is a [`CapacityError`](super::CapacityError) naming the
/// largest it can.
///
/// ```
/// use synclab::queue::{ArrayQueue, MpmcQueue};
///
/// let q: ArrayQueue<&str> = ArrayQueue::with_capacity(1)?;
/// q.try_push("a").unwrap();
/// assert_eq!(q.try_push("b"), Err("b"));
/// assert_eq!(q.try_pop(), Some("a"));
/// assert_eq!(q.try_pop(), None);
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
///
///
/// Source: Dmitry Vyukov, "Bounded MPMC queue", 1024cores.net
/// (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>), in the
/// form crossbeam-queue's `ArrayQueue` gives it (stamps carry a lap so any capacity ≥ 1 works,
/// not only powers of two).
///
/// # Stamps and laps
///
/// `head` and `tail` are *positions*: `index | lap`, where `index < capacity` is the slot and
/// `lap` is a multiple of `one_lap` (twice `mark_bit`, the smallest power of two above
/// `capacity`). Moving past the last slot resets the index to 0 and adds `one_lap`. The bit
/// between the index and the lap, `mark_bit`, is set in `tail` by [`close`](MpmcQueue::close)
/// (below). Every slot carries a stamp that says whose turn the slot is:
///
/// | slot stamp | meaning | who acts |
/// |---|---|---|
/// | `== tail` | empty, written next by the producer that claims position `tail` | producer: CAS `tail` forward, write, store `tail + 1` |
/// | `== head + 1` | full, read next by the consumer that claims position `head` | consumer: CAS `head` forward, read, store `head + one_lap` |
/// | `+ one_lap == tail + 1` | still full from the previous lap: the queue may be full | producer: check `head` |
/// | `== head` | not yet written in this lap: the queue may be empty | consumer: check `tail` |
/// | anything else | another thread is between its CAS and its stamp store | retry after a backoff |
///
/// # Closing
///
/// [`close`](MpmcQueue::close) sets `mark_bit` in `tail` with one RMW — crossbeam-channel's
/// array flavor keeps its disconnect mark the same way. A producer claims its position with a
/// CAS on the whole of `tail`, so the claim and the close are totally ordered in `tail`'s
/// modification order: a push whose CAS came first has its slot (and the consumers wait for
/// its stamp, as for any claimed slot); a push that reads the mark — or whose CAS fails
/// because the mark appeared — hands its value back. That makes `close` linearizable with
/// `push` at no cost to either: the mark is tested on the `tail` the producer has already
/// loaded. A consumer's empty check compares `head` with `tail` without the mark, so the
/// queue drains normally after the close. `head` and the stamps never carry the mark (the
/// stamps' `ABANDONED` bit is the top bit, far above it). In a segment the mark is shared
/// like the rest of `tail`: a queue closed by one process is closed for all.
///
/// # Progress: in what sense this is lock-free
///
/// Claiming a position is a CAS, so some producer or consumer always succeeds in claiming
/// one. But the claim and the publication are two steps: a producer that wins the CAS on
/// `tail` and is then descheduled *before its stamp store* leaves its slot stamped "not yet
/// written". Consumers that reach that slot (one lap later: every consumer once the queue has
/// drained up to it) spin until that producer runs again; symmetrically a consumer stalled
/// between its CAS on `head` and its stamp store blocks the producer of the next lap on that
/// slot. So the queue is not lock-free in the strict sense — one stalled thread can block
/// others — though it takes no lock and the window is a handful of instructions. Every
/// operation on a slot nobody is stalled on completes in a bounded number of its own steps
/// once it has won its CAS.
///
///
/// # In a segment shared by processes
///
/// In a segment ([`Shm`](crate::shm::Shm)) a peer may die between its claim and its stamp
/// store, or write garbage into the queue's words: survivors repair the first (the table
/// below), and every position read from the segment is bounds-checked, so the second gives
/// wrong answers, never a read outside the ring; a `try_push`/`try_pop` that waits on slots
/// no live peer can have left as they are gives up (full, empty) within a second. On the heap
/// none of this is compiled: `M::TRACKED` is `false`.
///
/// Every thread *announces* the position it is about to claim ([`Memory::announce`], the
/// kernel robust list's `list_op_pending`) before its CAS on `tail` or `head`, so a survivor
/// stuck behind a claimed slot can ask whether its claimant lives
/// ([`Memory::claimant_dead`]): the claimant is the one live thread whose last announcement it
/// is, and if none is left, it died.
///
/// | a thread dies… | it leaves | survivors see | and do |
/// |---|---|---|---|
/// | before its CAS | nothing (an announcement nobody follows) | — | — |
/// | producer, after its `tail` CAS, before its stamp store | a slot claimed and never written (stamp `== pos`) | a consumer at that position finds the queue "not empty" but the slot unwritten | after a backoff it asks `claimant_dead`; if so it stamps the slot `pos + 1` with `ABANDONED` and pops past it: the push never happened (its value is never read) |
/// | consumer, after its `head` CAS, before its stamp store | a slot read (perhaps partly) and never freed (stamp `== pos + 1`) | the next lap's producer finds the queue "not full" but the slot not free | after a backoff it asks `claimant_dead`; if so it frees the slot (stamp `pos + one_lap`): the item died with its consumer |
/// | after its stamp store | a finished operation | — | — |
///
/// The repairs are CASes on the stamp from the exact stalled value. A call that gives up
/// takes its announcement back.
///
/// # Memory ordering
///
/// The stamp is the publication flag of the slot's value: the producer's Release store of
/// `tail + 1` pairs with the consumer's Acquire load of the stamp (so the value is visible),
/// and the consumer's Release store of `head + one_lap` pairs with the next producer's Acquire
/// load (so the consumer's read of the old value happens before the next write). The full and
/// empty checks in `push`/`pop` read the *other* index after a `fence(SeqCst)`, as crossbeam
/// does: the two sides' fences are ordered, so "the slot looks full" and "head has not moved"
/// cannot both be stale (the store-buffering models in `verification/tests/models/queue/array_queue.rs`).
/// The CASes on `head` and `tail` are SeqCst, and so are the reads in [`len`](MpmcQueue::len),
/// [`is_empty`](MpmcQueue::is_empty) and [`is_full`](MpmcQueue::is_full), so that those
/// answers are points of the SeqCst order — also against SeqCst operations on other objects.
/// The exhaustive checker cannot check that (it treats SeqCst accesses as AcqRel); the Miri witnesses in
/// `crates/synclab/tests/sc_witness.rs` do.
pub struct ArrayQueue<T, M: Memory = Heap> {
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
unsafe impl<T: Send, M: Memory> Sync for ArrayQueue<T, M> {}
// SAFETY: moving the queue moves the `T`s it holds.
unsafe impl<T: Send, M: Memory> Send for ArrayQueue<T, M> {}

impl<T, M: HeapMemory> ArrayQueue<T, M> {
    /// A new empty queue in heap memory `M` (the heap, or a model memory).
    ///
    /// # Errors
    ///
    /// As [`MpmcQueue::with_capacity`].
    pub(crate) fn new_in(capacity: usize) -> Result<Self, CapacityError> {
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
    pub(super) fn empty(i: usize) -> Self {
        Slot {
            stamp: AtomicUsize::new(i),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

impl Ends {
    pub(super) fn new() -> Self {
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            abandoned: AtomicUsize::new(0),
            lost: AtomicUsize::new(0),
        }
    }
}

impl<T, M: Memory> ArrayQueue<T, M> {
    /// The largest capacity accepted (the `max` of [`CapacityError::TooLarge`]):
    /// [`MAX_CAPACITY`](super::MAX_CAPACITY) (which also leaves positions the mark bit, the
    /// lap bits and the stamps' `ABANDONED` bit), or less if a ring of that many slots of `T`
    /// would not fit in the address space (`isize::MAX` bytes). A capacity up to it can still
    /// fail to allocate.
    fn max_capacity() -> usize {
        let by_layout = isize::MAX as usize / core::mem::size_of::<Slot<T>>().max(1);
        super::MAX_CAPACITY.min(by_layout)
    }

    /// `(mark_bit, one_lap)` for `capacity`, or why it cannot be.
    pub(super) fn check_capacity(capacity: usize) -> Result<(usize, usize), CapacityError> {
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
    pub(super) fn ends(&self) -> &Ends {
        self.ring.header()
    }

    #[inline(always)]
    fn buffer(&self) -> &[Slot<T>] {
        self.ring.elems()
    }

    #[inline(always)]
    pub(super) fn ctx(&self) -> *const () {
        self.ends() as *const Ends as *const ()
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
    pub(super) fn slot(&self, position: usize) -> Option<&Slot<T>> {
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
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.push_until::<RUN_TO_END>(value, |value, _, _| ControlFlow::Break(Err(value)))
    }

    /// The push loop, run up to `STOP`. When the queue is full at position `tail`,
    /// `on_full(value, tail, slot)` decides: `Break(result)` returns `result`,
    /// `Continue(value)` retries.
    #[inline]
    pub(super) fn push_until<const STOP: u8>(
        &self,
        mut value: T,
        on_full: impl Fn(T, usize, &Slot<T>) -> ControlFlow<Result<(), T>, T>,
    ) -> Result<(), T> {
        let mut backoff = Backoff::default();
        let mut stall = Stall::new();
        let mut tail = self.ends().tail.load(Ordering::Relaxed);
        loop {
            if tail & self.mark_bit != 0 {
                return Err(value); // closed: see "Closing" above
            }
            let Some(slot) = self.slot(tail) else {
                self.give_up(&stall);
                return Err(value); // a `tail` no ring has (tracked memory): reported full
            };
            // Acquire: pairs with the Release stamp store in `pop` of the previous lap, so
            // that consumer's read of the old value happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if tail == stamp {
                // Before the CAS: if we die after it, survivors find our claim (tracked memory).
                self.announce_push(&mut stall, tail);
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
                    return Err(value);
                }
                backoff.spin();
                tail = self.ends().tail.load(Ordering::Relaxed);
            } else {
                // Another producer is between its CAS and its stamp store, or our `tail` is
                // stale: wait for it to move on (see "Progress" on `ArrayQueue`). In
                // tracked memory the slot may also be an abandoned one whose skipping consumer
                // died before freeing it.
                if M::TRACKED && self.push_stalled(&mut stall, slot, tail, stamp) {
                    return Err(value);
                }
                backoff.snooze();
                tail = self.ends().tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Removes the item at the head, or returns `None` if the queue is empty.
    #[inline]
    pub(crate) fn pop(&self) -> Option<T> {
        self.pop_until::<RUN_TO_END>()
    }

    #[inline]
    pub(super) fn pop_until<const STOP: u8>(&self) -> Option<T> {
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
            if head.wrapping_add(1) == stamp {
                // Before the CAS: if we die after it, survivors find our claim (tracked memory).
                self.announce_pop(&mut stall, head);
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
                    return None;
                }
                backoff.spin();
                head = self.ends().head.load(Ordering::Relaxed);
            } else {
                // Another consumer is between its CAS and its stamp store, or a producer
                // that claimed this position has not published yet (see "Progress") — or, in
                // tracked memory, a push whose producer died is to be skipped.
                if M::TRACKED && self.pop_past(&mut stall, slot, head, stamp) {
                    return None;
                }
                backoff.snooze();
                head = self.ends().head.load(Ordering::Relaxed);
            }
        }
    }

    /// The most items the queue holds.
    pub(crate) fn capacity(&self) -> usize {
        self.buffer().len()
    }

    /// Closes the queue to pushes: every later [`push`](Self::push) hands its value back,
    /// while [`pop`](Self::pop) drains what is left. Returns `true` if this call closed it.
    /// Linearizable with `push` (see "Closing" on `ArrayQueue`).
    pub(crate) fn close(&self) -> bool {
        // Release: pairs with the Acquire load in `is_closed`, so a thread that sees the queue
        // closed sees what the closer wrote before. (The push/close order needs no ordering:
        // it is the modification order of `tail`, where both are RMWs.)
        self.ends().tail.fetch_or(self.mark_bit, Ordering::Release) & self.mark_bit == 0
    }

    /// Whether [`close`](Self::close) has been called. If `true`, everything the closing thread
    /// wrote before `close` is visible to the caller, and every push that was not refused is
    /// visible to the caller's later pops.
    pub(crate) fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`. No push writes `tail` after
        // the mark (a producer that sees it returns), so the value read is the close's own.
        // The caller's later pops read `tail` no older than this (read-read coherence), so
        // they see every position claimed before the close.
        self.ends().tail.load(Ordering::Acquire) & self.mark_bit != 0
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
            ArrayQueue::capacity(self)
        }

        fn len(&self) -> usize {
            ArrayQueue::len(self)
        }

        fn is_empty(&self) -> bool {
            ArrayQueue::is_empty(self)
        }

        fn is_full(&self) -> bool {
            ArrayQueue::is_full(self)
        }

        fn close(&self) -> bool {
            ArrayQueue::close(self)
        }

        fn is_closed(&self) -> bool {
            ArrayQueue::is_closed(self)
        }
    };
}

// After the macro, which it uses.
#[cfg(target_os = "linux")]
mod segment;

impl<T: Send, M: HeapMemory> MpmcQueue<T> for ArrayQueue<T, M> {
    type Memory = M;

    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Self::new_in(capacity)
    }

    mpmc_queue_ops!();
}

impl<T, M: Memory> Drop for ArrayQueue<T, M> {
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
        // Every element is dropped even if one's `Drop` panics, as `Vec` does:
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

impl<T, M: Memory> fmt::Debug for ArrayQueue<T, M> {
    /// Shows the capacity only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayQueue")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
