//! Zoo entries for the queues: classic ways to break a Vyukov queue and an event count.
//!
//! | entry | bug | fixed in |
//! |---|---|---|
//! | [`BrokenArrayQueue`] with [`StampBug::RelaxedStamp`] | the producer's stamp store is Relaxed: the consumer sees "full" without seeing the value (data race) | [`ArrayQueue`]: Release stamp store |
//! | [`BrokenArrayQueue`] with [`StampBug::StampBeforeValue`] | the producer publishes the stamp, then writes the value (data race; a consumer can read an empty slot) | `ArrayQueue`: write, then publish |
//! | [`FencelessEventCount`] | no `fence(SeqCst)` between "I published" / "I registered" and the other side's load (lost wakeup under weak memory) | [`EventCount`]: a fence on each side |
//! | [`pop_without_recheck`] | a waiter that sleeps right after `prepare_wait` without re-checking the queue (lost wakeup) | [`BlockingQueue`](synclab::queue::BlockingQueue): re-check, then wait |
//! | [`TwoLaneQueue`] | two inner queues used round-robin: items of one producer can be popped out of order | a single ring |
//! | [`BrokenRing`] with [`RingBug::NoSpaceCheck`] | a single-producer single-consumer ring (one direction of a duplex ring) whose sender skips the space check: it overwrites a value the receiver has not taken (a value lost), or is taking (data race) | [`Duplex`](synclab::queue::Duplex): load the slot's receipt (Acquire) before writing the slot |
//! | [`BrokenRing`] with [`RingBug::RelaxedRecord`] | the receiver writes the slot's receipt with a Relaxed store: the sender sees room without seeing the receiver's read (data race) | `Duplex`: Release receipt |
//!
//! Under [the zoo's rule](super#the-rule-safe-code-cannot-reach-undefined-behaviour),
//! `BrokenArrayQueue` and `BrokenRing` (data races) are built only by an `unsafe`
//! constructor; the others are
//! logic bugs (a lost wakeup, a reordering) over atomics and a correct queue, and stay safe.
//!
//! Nothing else in the library uses this module.

use core::fmt;

use synclab::queue::{ArrayQueue, CapacityError, EventCount, MpmcQueue};
use synclab::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use synclab::sync::{futex, hint, UnsafeCell};

/// Which bug a [`BrokenArrayQueue`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampBug {
    /// The producer stores the stamp with `Relaxed` instead of `Release`.
    RelaxedStamp,
    /// The producer stores the stamp (Release) *before* writing the value.
    StampBeforeValue,
}

struct Slot<T> {
    stamp: AtomicUsize,
    /// `Option` rather than `MaybeUninit`: a consumer that reads too early gets `None`
    /// (which the zoo reports) instead of undefined behaviour.
    value: UnsafeCell<Option<T>>,
}

/// Vyukov's original bounded queue (power-of-two ring, per-slot sequence numbers) with one
/// deliberate bug in the producer's publication; see [`StampBug`].
///
/// Source: Vyukov, "Bounded MPMC queue", 1024cores.net. The consumer is correct.
pub struct BrokenArrayQueue<T> {
    bug: StampBug,
    buffer: Box<[Slot<T>]>,
    mask: usize,
    enqueue_pos: AtomicUsize,
    dequeue_pos: AtomicUsize,
    /// Items pushed so far, for `pushed()`: bookkeeping that sits between the publication and
    /// the write in the [`StampBug::StampBeforeValue`] variant.
    pushed: AtomicUsize,
}

// SAFETY: as for `ArrayQueue`: values move between threads, each slot is handed over by its
// stamp — except where the deliberate bug breaks that, which is what the checkers must see.
// The queue is built only by the `unsafe` `new`, whose contract confines sharing to a model
// checker's threads, where the race is reported (the exhaustive checker) or cannot overlap (the randomized checker).
unsafe impl<T: Send> Sync for BrokenArrayQueue<T> {}
// SAFETY: moving the queue moves its `T`s.
unsafe impl<T: Send> Send for BrokenArrayQueue<T> {}

impl<T> BrokenArrayQueue<T> {
    /// A queue of `capacity` (rounded up to a power of two, at least 2) with `bug`.
    ///
    /// A data-race entry (see [the zoo's
    /// rule](super#the-rule-safe-code-cannot-reach-undefined-behaviour)): safe code cannot
    /// build one.
    ///
    /// ```compile_fail,E0133
    /// use synclab_zoo::queue::{BrokenArrayQueue, StampBug};
    /// let q = BrokenArrayQueue::<u32>::new(2, StampBug::RelaxedStamp); // `new` is unsafe
    /// ```
    ///
    /// With `unsafe`, under its contract (here: one thread), the same call builds:
    ///
    /// ```
    /// use synclab_zoo::queue::{BrokenArrayQueue, StampBug};
    /// // SAFETY: used from this thread only.
    /// let q = unsafe { BrokenArrayQueue::<u32>::new(2, StampBug::RelaxedStamp) };
    /// q.try_push(1).unwrap();
    /// assert_eq!(q.try_pop(), Some(Some(1)));
    /// ```
    ///
    /// # Safety
    ///
    /// Either bug makes a consumer's read of a slot race with the producer's write, on
    /// purpose. The queue may be shared between threads only where a model checker runs them —
    /// under the exhaustive checker (`--cfg synclab_loom`), which checks every access to the slot's cell and
    /// stops the execution at the first one not ordered by happens-before ("Causality
    /// violation") before it happens; or under the randomized checker (`--cfg synclab_shuttle`), which runs
    /// one thread at a time on one OS thread — and only through those checkers' threads
    /// (`synclab::sync::thread`). Used from a single thread it is sound in every build. On
    /// real threads the race is undefined behaviour.
    pub unsafe fn new(capacity: usize, bug: StampBug) -> Self {
        let capacity = capacity.max(2).next_power_of_two();
        Self {
            bug,
            buffer: (0..capacity)
                .map(|i| Slot {
                    stamp: AtomicUsize::new(i),
                    value: UnsafeCell::new(None),
                })
                .collect(),
            mask: capacity - 1,
            enqueue_pos: AtomicUsize::new(0),
            dequeue_pos: AtomicUsize::new(0),
            pushed: AtomicUsize::new(0),
        }
    }

    /// Appends `value`, or hands it back if full.
    pub fn try_push(&self, value: T) -> Result<(), T> {
        let mut pos = self.enqueue_pos.load(Ordering::Relaxed);
        loop {
            let slot = &self.buffer[pos & self.mask];
            // Acquire: pairs with the consumer's Release stamp store.
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp as isize - pos as isize;
            if diff == 0 {
                match self.enqueue_pos.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS claimed the slot, so no other producer writes it. The
                        // write is not ordered before the consumer's read (the bug); the
                        // caller of the `unsafe` `new` promised a checker runs the threads.
                        let write = || slot.value.with_mut(|p| unsafe { *p = Some(value) });
                        match self.bug {
                            StampBug::RelaxedStamp => {
                                write();
                                self.pushed.fetch_add(1, Ordering::Relaxed);
                                // BUG: Relaxed — the consumer's Acquire load has nothing to
                                // synchronize with, so the write above is not visible to it.
                                slot.stamp.store(pos + 1, Ordering::Relaxed);
                            }
                            StampBug::StampBeforeValue => {
                                // BUG: the slot is published before it is written.
                                slot.stamp.store(pos + 1, Ordering::Release);
                                // (The count is an atomic, so a schedule-level checker can
                                // switch threads here, inside the window; with no operation
                                // of its own in the window it could not, and would be blind.)
                                self.pushed.fetch_add(1, Ordering::Relaxed);
                                write();
                            }
                        }
                        return Ok(());
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                return Err(value);
            } else {
                pos = self.enqueue_pos.load(Ordering::Relaxed);
            }
        }
    }

    /// How many items have been pushed (a Relaxed count).
    pub fn pushed(&self) -> usize {
        self.pushed.load(Ordering::Relaxed)
    }

    /// Removes the oldest item; `Some(None)` means the slot was read before it was written.
    pub fn try_pop(&self) -> Option<Option<T>> {
        let mut pos = self.dequeue_pos.load(Ordering::Relaxed);
        loop {
            let slot = &self.buffer[pos & self.mask];
            // Acquire: pairs with the producer's stamp store (Release in a correct queue).
            let stamp = slot.stamp.load(Ordering::Acquire);
            let diff = stamp as isize - (pos + 1) as isize;
            if diff == 0 {
                match self.dequeue_pos.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the CAS claimed the slot, so no other consumer reads it.
                        // Whether the producer's write is ordered before this read is what the
                        // checker judges; the caller of the `unsafe` `new` promised one runs
                        // the threads.
                        let value = slot.value.with_mut(|p| unsafe { (*p).take() });
                        // Release: pairs with the producer's Acquire stamp load of the next lap.
                        slot.stamp.store(pos + self.mask + 1, Ordering::Release);
                        return Some(value);
                    }
                    Err(current) => pos = current,
                }
            } else if diff < 0 {
                return None;
            } else {
                pos = self.dequeue_pos.load(Ordering::Relaxed);
            }
        }
    }
}

impl<T> fmt::Debug for BrokenArrayQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokenArrayQueue")
            .field("bug", &self.bug)
            .finish_non_exhaustive()
    }
}

/// [`EventCount`]'s protocol (waiters | pending signals in one futex word) with both
/// `fence(SeqCst)`s removed.
///
/// The notifier stores its condition (Release) and then loads the word; the waiter registers
/// (an AcqRel RMW) and then loads the condition (Acquire). Without the fences nothing orders
/// each side's store before its own load against the other side: in the C11 model both loads
/// may read the old values — no waiter seen, no item seen — and the waiter sleeps through the
/// only notification. A checker that runs every access as SeqCst cannot produce that
/// outcome.
pub struct FencelessEventCount {
    /// signals (high 16 bits) | waiters (low 16 bits), as in `EventCount`.
    word: AtomicU32,
}

/// A token from [`FencelessEventCount::prepare_wait`].
#[derive(Debug)]
pub struct FencelessKey(());

impl FencelessEventCount {
    const WAITER: u32 = 1;
    const SIGNAL: u32 = 1 << 16;

    /// A new event count.
    pub fn new() -> Self {
        Self {
            word: AtomicU32::new(0),
        }
    }

    /// Registers as a waiter. BUG: no `fence(SeqCst)` after the registration.
    pub fn prepare_wait(&self) -> FencelessKey {
        // AcqRel is as strong as an RMW gets short of SeqCst; it does not order this store
        // before the caller's later *load* of the condition against the notifier.
        self.word.fetch_add(Self::WAITER, Ordering::AcqRel);
        FencelessKey(())
    }

    /// Unregisters (dropping a signal that no waiter is left to consume).
    pub fn cancel_wait(&self, _key: FencelessKey) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let waiters = (word & 0xFFFF) - 1;
            let new = ((word >> 16).min(waiters) << 16) | waiters;
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => word = current,
            }
        }
    }

    /// Sleeps until a signal can be consumed.
    pub fn wait(&self, _key: FencelessKey) {
        // Acquire: pairs with the Release signal in `notify_one`.
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            if word >> 16 == 0 {
                futex::wait(&self.word, word);
                // Acquire: as above.
                word = self.word.load(Ordering::Acquire);
                continue;
            }
            // Acquire: as above.
            match self.word.compare_exchange_weak(
                word,
                word - Self::SIGNAL - Self::WAITER,
                Ordering::Acquire,
                Ordering::Acquire,
            ) {
                Ok(_) => return,
                Err(current) => word = current,
            }
        }
    }

    /// Signals and wakes one waiter that has no signal yet. BUG: no `fence(SeqCst)` before
    /// the load.
    pub fn notify_one(&self) {
        // Acquire: pairs with the AcqRel registration (it does not help: see the type docs).
        let mut word = self.word.load(Ordering::Acquire);
        while word & 0xFFFF > word >> 16 {
            // Release: pairs with the Acquire loads in `wait`.
            match self.word.compare_exchange_weak(
                word,
                word + Self::SIGNAL,
                Ordering::Release,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    futex::wake_one(&self.word);
                    return;
                }
                Err(current) => word = current,
            }
        }
    }
}

impl Default for FencelessEventCount {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for FencelessEventCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FencelessEventCount")
            .finish_non_exhaustive()
    }
}

/// Pops from `queue`, sleeping on `not_empty` while it is empty — but BUG: after
/// `prepare_wait` it goes straight to `wait` without trying the queue again. A push whose
/// notify ran before the registration (it saw no waiter) is then never noticed.
pub fn pop_without_recheck<T, Q: MpmcQueue<T>>(queue: &Q, not_empty: &EventCount) -> T {
    loop {
        if let Some(value) = queue.try_pop() {
            return value;
        }
        let key = not_empty.prepare_wait();
        // BUG: missing `if let Some(v) = queue.try_pop() { not_empty.cancel_wait(); return v }`.
        not_empty.wait(key);
        // A woken waiter loops back and tries again; only the re-check above is missing.
        hint::spin_loop();
    }
}

/// Two inner queues used round-robin: pushes take lanes in turn from a shared counter, and
/// pops start from the lane a second shared counter names. Every item is popped exactly once,
/// but a producer's items can come out in a different order from the one they went in:
/// after a pop that found both lanes empty the pop counter has moved on, so the next pop
/// starts at the lane holding the *second* item. Kept for the linearizability checker.
pub struct TwoLaneQueue<T> {
    lanes: [ArrayQueue<T>; 2],
    push_turn: AtomicUsize,
    pop_turn: AtomicUsize,
    capacity: usize,
}

impl<T: Send> MpmcQueue<T> for TwoLaneQueue<T> {
    type Memory = synclab::shm::Heap;

    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        // Each lane can hold everything, so `try_push` fails only when the total is reached.
        Ok(Self {
            lanes: [
                ArrayQueue::with_capacity(capacity)?,
                ArrayQueue::with_capacity(capacity)?,
            ],
            push_turn: AtomicUsize::new(0),
            pop_turn: AtomicUsize::new(0),
            capacity,
        })
    }

    fn try_push(&self, value: T) -> Result<(), T> {
        if self.len() >= self.capacity {
            return Err(value);
        }
        let lane = self.push_turn.fetch_add(1, Ordering::Relaxed) % 2;
        self.lanes[lane].try_push(value)
    }

    fn try_pop(&self) -> Option<T> {
        let first = self.pop_turn.fetch_add(1, Ordering::Relaxed) % 2;
        self.lanes[first]
            .try_pop()
            .or_else(|| self.lanes[1 - first].try_pop())
    }

    fn capacity(&self) -> usize {
        self.capacity
    }

    fn len(&self) -> usize {
        self.lanes[0].len() + self.lanes[1].len()
    }

    /// Closes both lanes, one after the other (not atomically: this queue is not linearizable
    /// anyway, and its zoo entries never close it).
    fn close(&self) -> bool {
        let first = self.lanes[0].close();
        self.lanes[1].close() || first
    }

    /// The lane closed last.
    fn is_closed(&self) -> bool {
        self.lanes[1].is_closed()
    }
}

impl<T> fmt::Debug for TwoLaneQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TwoLaneQueue")
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

/// Which bug a [`BrokenRing`] has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingBug {
    /// The sender never checks for room: it writes position `p` into slot `p mod capacity`
    /// whether or not the receiver has taken position `p - capacity`.
    NoSpaceCheck,
    /// The receiver writes the slot's receipt with a `Relaxed` store instead of `Release`:
    /// the sender sees room without seeing the receiver's read of the old value.
    RelaxedRecord,
}

/// One direction of a [`Duplex`](synclab::queue::Duplex) with one deliberate bug in its
/// backpressure; see [`RingBug`]. Otherwise the duplex ring's protocol: Release stamp after
/// the value, Acquire stamp before the read, Release receipt in the slot after it, Acquire
/// load of the slot's receipt before the sender writes the slot.
///
/// A data-race entry, built only by the `unsafe` [`new`](Self::new):
///
/// ```compile_fail,E0133
/// use synclab_zoo::queue::{BrokenRing, RingBug};
/// let r = BrokenRing::<u64>::new(1, RingBug::NoSpaceCheck); // `new` is unsafe
/// ```
pub struct BrokenRing<T> {
    bug: RingBug,
    stamps: Box<[AtomicU32]>,
    /// Per slot, `p + 1` once position `p`'s value was taken out of it (the receipt).
    acks: Box<[AtomicU32]>,
    /// `Option` rather than `MaybeUninit`: a receiver that reads an overwritten slot gets a
    /// wrong value, never uninitialised memory.
    values: Box<[UnsafeCell<Option<T>>]>,
    /// The sender's next position (only the sender writes it).
    sent: AtomicU32,
    /// The receiver's next position (only the receiver writes it).
    received: AtomicU32,
}

// SAFETY: values move from the sender's thread to the receiver's (`T: Send`), handed over by
// the stamps and the receipts — except where the deliberate bug breaks that, which is what the
// checkers must see. Built only by the `unsafe` `new`, whose contract confines sharing to a
// model checker's threads.
unsafe impl<T: Send> Sync for BrokenRing<T> {}
// SAFETY: moving the ring moves its `T`s.
unsafe impl<T: Send> Send for BrokenRing<T> {}

impl<T> BrokenRing<T> {
    /// A ring of `capacity` slots (at least 1) with `bug`.
    ///
    /// # Safety
    ///
    /// A [`try_send`](Self::try_send) into a slot the receiver is reading races with it, on
    /// purpose. The ring may be shared between threads only where a model checker runs them —
    /// under the exhaustive checker (`--cfg synclab_loom`), which stops the execution at the
    /// first access to a cell not ordered by happens-before ("Causality violation") before it
    /// happens; or under the randomized checker (`--cfg synclab_shuttle`), which runs one
    /// thread at a time on one OS thread — and only through those checkers' threads
    /// (`synclab::sync::thread`), with one sending thread and one receiving thread. Used from
    /// a single thread it is sound in every build.
    pub unsafe fn new(capacity: usize, bug: RingBug) -> Self {
        let capacity = capacity.max(1);
        Self {
            bug,
            stamps: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            acks: (0..capacity).map(|_| AtomicU32::new(0)).collect(),
            values: (0..capacity).map(|_| UnsafeCell::new(None)).collect(),
            sent: AtomicU32::new(0),
            received: AtomicU32::new(0),
        }
    }

    /// Sends `value`, or hands it back if the ring is full (never, with
    /// [`RingBug::NoSpaceCheck`]).
    pub fn try_send(&self, value: T) -> Result<(), T> {
        // Relaxed: only the sender writes `sent`.
        let p = self.sent.load(Ordering::Relaxed);
        let cap = self.stamps.len();
        let k = p as usize % cap;
        // Acquire: pairs with the receiver's receipt store (Release, but for the bug).
        if self.bug != RingBug::NoSpaceCheck
            && p.wrapping_sub(self.acks[k].load(Ordering::Acquire)) as usize >= cap
        {
            return Err(value);
        }
        // SAFETY: one sender (the contract of `new`). Either bug leaves this write unordered
        // after the receiver's read of the position the slot held before; the caller of the
        // `unsafe` `new` promised a checker runs the threads.
        self.values[k].with_mut(|v| unsafe { *v = Some(value) });
        // Release: pairs with the receiver's Acquire stamp load.
        self.stamps[k].store(p.wrapping_add(1), Ordering::Release);
        self.sent.store(p.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }

    /// Receives the next value, or `None` if its slot does not (or no longer) hold it.
    pub fn recv(&self) -> Option<T> {
        // Relaxed: only the receiver writes `received`.
        let p = self.received.load(Ordering::Relaxed);
        let k = p as usize % self.stamps.len();
        // Acquire: pairs with the sender's Release stamp store.
        if self.stamps[k].load(Ordering::Acquire) != p.wrapping_add(1) {
            return None;
        }
        // SAFETY: one receiver (the contract of `new`); the stamp ordered the sender's write
        // of this position before us — but a later send may be writing the slot again (the
        // bug), which the caller of `new` promised only a checker's threads can do.
        let value = self.values[k].with_mut(|v| unsafe { (*v).take() });
        self.received.store(p.wrapping_add(1), Ordering::Relaxed);
        let receipt = match self.bug {
            RingBug::RelaxedRecord => Ordering::Relaxed,
            // Release: pairs with the sender's Acquire load of the receipt.
            RingBug::NoSpaceCheck => Ordering::Release,
        };
        self.acks[k].store(p.wrapping_add(1), receipt);
        value
    }
}

impl<T> fmt::Debug for BrokenRing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokenRing")
            .field("bug", &self.bug)
            .field("capacity", &self.stamps.len())
            .finish_non_exhaustive()
    }
}
