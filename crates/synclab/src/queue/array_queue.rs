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
//! `lap` is a multiple of `one_lap` (the smallest power of two above `capacity`). Moving past
//! the last slot resets the index to 0 and adds `one_lap`. Every slot carries a stamp that
//! says whose turn the slot is:
//!
//! | slot stamp | meaning | who acts |
//! |---|---|---|
//! | `== tail` | empty, written next by the producer that claims position `tail` | producer: CAS `tail` forward, write, store `tail + 1` |
//! | `== head + 1` | full, read next by the consumer that claims position `head` | consumer: CAS `head` forward, read, store `head + one_lap` |
//! | `+ one_lap == tail + 1` | still full from the previous lap: the queue may be full | producer: check `head` |
//! | `== head` | not yet written in this lap: the queue may be empty | consumer: check `tail` |
//! | anything else | another thread is between its CAS and its stamp store | retry after a backoff |
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
//! loom cannot check that (it treats SeqCst accesses as AcqRel); the Miri witnesses in
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
//! exactly as by a producer between its CAS and its stamp store (see "Progress"). The loom
//! model `array_queue_force_push_against_pops` checks it against concurrent pops.

use core::fmt;
use core::mem::MaybeUninit;
use core::ops::ControlFlow;

use crossbeam_utils::CachePadded;

use super::{Backoff, CapacityError, MpmcQueue};
use crate::sync::atomic::{fence, AtomicUsize, Ordering};
use crate::sync::UnsafeCell;

/// One slot of the ring.
struct Slot<T> {
    /// Whose turn the slot is; see the table in the module docs.
    stamp: AtomicUsize,
    /// The value: initialised exactly when the stamp says "full" (`== position + 1`).
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Vyukov's bounded lock-free MPMC queue; see the [module docs](self).
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
pub struct ArrayQueue<T> {
    /// The next position to pop. Invariant: `head <= tail <= head + capacity` (as positions).
    head: CachePadded<AtomicUsize>,
    /// The next position to push.
    tail: CachePadded<AtomicUsize>,
    /// The ring; `buffer.len() == capacity`.
    buffer: Box<[Slot<T>]>,
    /// The smallest power of two greater than the capacity: the lap unit of a position.
    one_lap: usize,
}

// SAFETY: the queue moves `T` values between threads (a push on one thread, a pop on
// another) and never hands out references to them, so `T: Send` is all it needs, as for
// `std::sync::mpsc` and crossbeam's ArrayQueue. Each slot is accessed exclusively by the one
// thread whose CAS claimed its position, until that thread's stamp store hands it on.
unsafe impl<T: Send> Sync for ArrayQueue<T> {}
// SAFETY: moving the queue moves the `T`s it holds.
unsafe impl<T: Send> Send for ArrayQueue<T> {}

impl<T> ArrayQueue<T> {
    /// The largest capacity supported: positions need two bits above the index for laps, and
    /// the ring must fit in memory.
    pub fn max_capacity() -> usize {
        let by_memory = isize::MAX as usize / core::mem::size_of::<Slot<T>>().max(1);
        (usize::MAX >> 2).min(by_memory)
    }

    /// A new empty queue holding at most `capacity` items.
    ///
    /// # Errors
    ///
    /// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] above
    /// [`max_capacity`](Self::max_capacity).
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        if capacity == 0 {
            return Err(CapacityError::Zero);
        }
        let max = Self::max_capacity();
        if capacity > max {
            return Err(CapacityError::TooLarge {
                requested: capacity,
                max,
            });
        }
        let one_lap = (capacity + 1).next_power_of_two();
        // Slot `i` starts with stamp `i`: "empty, written by the producer of position i".
        let buffer = (0..capacity)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ok(Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            buffer,
            one_lap,
        })
    }

    /// The position after `position`: the next index, or index 0 of the next lap.
    #[inline]
    fn next_position(&self, position: usize) -> usize {
        let index = position & (self.one_lap - 1);
        if index + 1 < self.buffer.len() {
            position + 1
        } else {
            (position & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// The slot of `position`.
    #[inline]
    fn slot(&self, position: usize) -> &Slot<T> {
        let index = position & (self.one_lap - 1);
        debug_assert!(index < self.buffer.len());
        // SAFETY: every position stored in `head` or `tail` (and every stale copy of one) was
        // made by `next_position` from 0, which keeps the index below the capacity; the mask
        // only removes the lap bits.
        unsafe { self.buffer.get_unchecked(index) }
    }

    /// Appends `value`, or hands it back if the queue is full.
    #[inline]
    pub fn push(&self, value: T) -> Result<(), T> {
        self.push_or_else(value, |value, _, _| ControlFlow::Break(value))
    }

    /// Appends `value`; if the queue is full, overwrites the oldest item and returns it.
    ///
    /// The eviction is a pop and a push in one step: the pushing thread claims the oldest
    /// item's position with the consumers' CAS on `head`, which makes it the owner of that
    /// slot, moves `tail` past it, swaps the value and publishes it (see "Forced pushes" in
    /// the module docs). Linearizable as "pop the oldest, then push", atomically.
    ///
    /// ```
    /// use synclab::queue::ArrayQueue;
    ///
    /// let q = ArrayQueue::new(2)?;
    /// assert_eq!(q.force_push(1), None);
    /// assert_eq!(q.force_push(2), None);
    /// assert_eq!(q.force_push(3), Some(1)); // full: the oldest makes room
    /// assert_eq!((q.pop(), q.pop(), q.pop()), (Some(2), Some(3), None));
    /// # Ok::<(), synclab::queue::CapacityError>(())
    /// ```
    #[inline]
    pub fn force_push(&self, value: T) -> Option<T> {
        self.push_or_else(value, |value, tail, slot| {
            self.evict_oldest(value, tail, slot)
        })
        .err()
    }

    /// The queue looked full at position `tail` (its slot still holds the oldest item, at
    /// position `tail - one_lap`, which `head` still names): claims that item as a consumer
    /// would, and reuses its slot for `value`. `Break(oldest)` on success; `Continue(value)`
    /// if a consumer took the oldest item first (then the push is retried from the start).
    #[cold]
    fn evict_oldest(&self, value: T, tail: usize, slot: &Slot<T>) -> ControlFlow<T, T> {
        let head = tail.wrapping_sub(self.one_lap);
        let new_tail = self.next_position(tail);
        let new_head = new_tail.wrapping_sub(self.one_lap);
        // SeqCst, as the CAS in `pop`: winning it makes us the consumer of position `head`.
        if self
            .head
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return ControlFlow::Continue(value);
        }
        // Nobody else can move `tail` now: a producer claims position `tail` only when the
        // slot's stamp equals `tail`, and the stamp still says "full for `head`" until our
        // store below. So a plain store claims it. SeqCst: it takes part in the total order
        // that `snapshot` reads `tail` in, as the CAS in `push` does.
        self.tail.store(new_tail, Ordering::SeqCst);
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
        slot.stamp.store(tail + 1, Ordering::Release);
        ControlFlow::Break(oldest)
    }

    /// The push loop. When the queue is full at position `tail`, `on_full(value, tail, slot)`
    /// decides: `Break(v)` returns `Err(v)`, `Continue(value)` retries.
    #[inline]
    fn push_or_else(
        &self,
        mut value: T,
        on_full: impl Fn(T, usize, &Slot<T>) -> ControlFlow<T, T>,
    ) -> Result<(), T> {
        let mut backoff = Backoff::default();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(tail);
            // Acquire: pairs with the Release stamp store in `pop` of the previous lap, so
            // that consumer's read of the old value happens before our write.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if tail == stamp {
                // The slot is empty and position `tail` is ours if the CAS wins. SeqCst, as
                // crossbeam: the CAS takes part in the total order that `snapshot` (`len`,
                // `is_empty`, `is_full`) reads `tail` in — the store-buffering witnesses in
                // `tests/sc_witness.rs` fail under Miri with AcqRel here. (The full/empty
                // checks below need only their fences; the slot is ordered by the stamp.)
                match self.tail.compare_exchange_weak(
                    tail,
                    self.next_position(tail),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: winning the CAS for position `tail` while the stamp said
                        // "empty for `tail`" gives this thread exclusive access to the slot
                        // until the stamp store below; the slot holds no live value.
                        slot.value
                            .with_mut(|p| unsafe { p.write(MaybeUninit::new(value)) });
                        // Release: pairs with the Acquire stamp load in `pop`, so the value
                        // written above is visible to the consumer that sees `tail + 1`.
                        slot.stamp.store(tail + 1, Ordering::Release);
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the previous lap's value: full, unless a consumer has
                // moved `head` since. SeqCst fence: orders our stamp load before the `head`
                // load in the single total order, pairing with the SeqCst CAS on `head` in
                // `pop` (crossbeam's full check).
                fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    value = match on_full(value, tail, slot) {
                        ControlFlow::Break(back) => return Err(back),
                        ControlFlow::Continue(value) => value,
                    };
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer is between its CAS and its stamp store, or our `tail` is
                // stale: wait for it to move on (see "Progress" in the module docs).
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Removes the item at the head, or returns `None` if the queue is empty.
    #[inline]
    pub fn pop(&self) -> Option<T> {
        let mut backoff = Backoff::default();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let slot = self.slot(head);
            // Acquire: pairs with the Release stamp store in `push`, so the value is visible.
            let stamp = slot.stamp.load(Ordering::Acquire);
            if head + 1 == stamp {
                // The slot is full and position `head` is ours if the CAS wins (SeqCst: as
                // the CAS in `push`, for the order `snapshot` reads `head` in).
                match self.head.compare_exchange_weak(
                    head,
                    self.next_position(head),
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
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
                let tail = self.tail.load(Ordering::Relaxed);
                if tail == head {
                    return None;
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another consumer is between its CAS and its stamp store, or a producer
                // that claimed this position has not published yet (see "Progress").
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// The most items the queue holds.
    pub fn capacity(&self) -> usize {
        self.buffer.len()
    }

    /// A consistent `(tail, head)` pair: both held at one point of the SeqCst total order,
    /// between the call's start and its end.
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
        let mut tail = self.tail.load(Ordering::Acquire);
        loop {
            // SeqCst: the `head` and second `tail` reads take part in the total order of the
            // CASes on `head` and `tail`, so "empty", "full" and a length are answers at one
            // point of that order — also against SeqCst operations on other objects (the
            // store-buffering witnesses in `tests/miri.rs` check this).
            let head = self.head.load(Ordering::SeqCst);
            let again = self.tail.load(Ordering::SeqCst);
            if again == tail {
                return (tail, head);
            }
            tail = again;
        }
    }

    /// The number of items at some moment during the call.
    pub fn len(&self) -> usize {
        let (tail, head) = self.snapshot();
        let hix = head & (self.one_lap - 1);
        let tix = tail & (self.one_lap - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.capacity() - hix + tix
        } else if tail == head {
            0
        } else {
            self.capacity()
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
        let tail = self.tail.load(Ordering::Relaxed);
        self.head.load(Ordering::Relaxed) == tail
    }
}

impl<T: Send> MpmcQueue<T> for ArrayQueue<T> {
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Self::new(capacity)
    }

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
}

impl<T> Drop for ArrayQueue<T> {
    fn drop(&mut self) {
        // `&mut self`: no operation is in flight, so every slot between head and tail holds
        // an initialised value and every other slot is empty.
        let head = self.head.load(Ordering::Relaxed);
        let len = self.len();
        let hix = head & (self.one_lap - 1);
        for i in 0..len {
            let index = if hix + i < self.capacity() {
                hix + i
            } else {
                hix + i - self.capacity()
            };
            // SAFETY: slots `hix .. hix + len` (wrapping) hold the values pushed and not yet
            // popped; each is dropped exactly once here, and nothing reads them afterwards.
            self.buffer[index]
                .value
                .with_mut(|p| unsafe { (*p).assume_init_drop() });
        }
    }
}

impl<T> fmt::Debug for ArrayQueue<T> {
    /// Shows the capacity only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArrayQueue")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}
