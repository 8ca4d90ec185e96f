//! The blocking layer over any [`MpmcQueue`]; documented on [`BlockingQueue`].

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use super::{CapacityError, EventCount, MpmcQueue};
use crate::shm::{HeapMemory, Memory, Region};
use crate::sync::time::Instant;
use crate::sync::{hint, thread};

#[cfg(target_os = "linux")]
mod segment;

/// Rounds of backoff before a blocked operation sleeps: the first [`SPIN_ONLY_ROUNDS`] are
/// growing bursts of spin hints, the rest yield the CPU (crossbeam-channel's `snooze` shape).
/// Tuned on the queue benchmarks; see `docs/notes/queues.md`.
const SPIN_ROUNDS: u32 = 10;
/// Rounds that spin without yielding.
const SPIN_ONLY_ROUNDS: u32 = 6;

/// The queue is closed: `push` hands back the value, `pop` reports it once the queue is
/// empty (`Closed<()>`).
///
/// Not `#[non_exhaustive]`, on purpose, like std's `SendError<T>(pub T)`: its one job is to
/// give the value back, and `Err(Closed(v))` is how callers take it. A reason to refuse a
/// push other than closing would be a new type, not a new field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed<T = ()>(pub T);

impl<T> fmt::Display for Closed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the queue is closed")
    }
}

impl<T: fmt::Debug> std::error::Error for Closed<T> {}

/// Why [`BlockingQueue::try_push`] did not enqueue; the value comes back either way.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushError<T> {
    /// The queue is full.
    Full(T),
    /// The queue is closed.
    Closed(T),
}

impl<T> PushError<T> {
    /// The value that was not pushed.
    pub fn into_inner(self) -> T {
        match self {
            PushError::Full(value) | PushError::Closed(value) => value,
        }
    }
}

impl<T> fmt::Display for PushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::Full(_) => write!(f, "the queue is full"),
            PushError::Closed(_) => write!(f, "the queue is closed"),
        }
    }
}

impl<T: fmt::Debug> std::error::Error for PushError<T> {}

/// Why [`BlockingQueue::try_pop`] returned no item.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PopError {
    /// The queue is empty (and open).
    Empty,
    /// The queue is closed and empty.
    Closed,
}

impl fmt::Display for PopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PopError::Empty => write!(f, "the queue is empty"),
            PopError::Closed => write!(f, "the queue is closed and empty"),
        }
    }
}

impl std::error::Error for PopError {}

/// The blocking layer's own state: the event counts. (The closed mark is the inner queue's:
/// see "Closing" on [`BlockingQueue`].)
#[repr(C)]
pub(super) struct Gates<M: Memory> {
    /// Poppers sleep here; every successful push notifies one.
    not_empty: EventCount<M>,
    /// Pushers sleep here; every successful pop notifies one.
    not_full: EventCount<M>,
}

impl<M: Memory> Gates<M> {
    pub(super) fn new() -> Self {
        Self {
            not_empty: EventCount::new_in(),
            not_full: EventCount::new_in(),
        }
    }
}

/// A blocking layer over any [`MpmcQueue`]: `push` waits while full, `pop` waits while
/// empty, and `close` wakes every sleeper.
///
/// Sleeping uses two [`EventCount`](super::EventCount)s, `not_empty` (poppers sleep on it, pushers notify it)
/// and `not_full` (the reverse). Each blocking operation:
///
/// 1. tries the queue (the fast path: one `try_*` and, when it succeeds, a notify that costs
///    a fence and a load while nobody sleeps);
/// 2. spins a bounded number of rounds, retrying, in case the other side is about to act;
/// 3. registers with `prepare_wait`, **re-checks** the queue (and whether it is closed), and only
///    then sleeps with `wait(key)`; after waking it starts over at 1.
///
/// The re-check after `prepare_wait` is what makes the wakeup impossible to lose: a push that
/// lands before the registration is seen by the re-check, and one that lands after it sees the
/// registration in its notify (the Dekker argument of [`EventCount`](super::EventCount)).
///
/// # Closing, linearizable with pushing
///
/// [`close`](BlockingQueue::close) closes the inner queue ([`MpmcQueue::close`]) and
/// notifies both event counts with `notify_all`. After it, `push` hands its value back in
/// [`Closed`], and `pop` keeps returning items until the queue is empty, then reports
/// [`Closed`]. The promise, for every inner queue: **a push that returns `Ok` is delivered**
/// to a consumer that pops until closed-and-empty, and **a push that loses to `close` gets its
/// own value back** — `close` and `push` are linearizable with respect to each other.
///
/// A flag of the blocking layer's own could not keep that promise: a pusher that read "open"
/// and was descheduled before its push landed added its item after a consumer had seen
/// "closed and empty" and left (the linearizability checker found it). So the closed mark lives
/// where the inner queue decides who gets a slot — `ArrayQueue`'s `tail`, `LockedQueue`'s
/// mutex — and `MpmcQueue::close` promises linearizability with `try_push`. This layer then
/// only has to ask in the right order: a push that fails reports `Closed` if the queue is
/// closed (else `Full`); a pop that finds nothing reports `Closed` only if, *after seeing the
/// queue closed*, a second look still finds nothing — every push that was accepted before the
/// close is visible to that second look (the second half of `MpmcQueue::close`'s contract).
/// (A flag here beside a count of pushes in flight would cost two more RMWs on a shared word
/// per push; the mark in `tail` costs no atomic operation at all.)
///
/// # Timeouts
///
/// [`push_timeout`](BlockingQueue::push_timeout) and [`pop_timeout`](BlockingQueue::pop_timeout)
/// run the same loop with a deadline: the sleep is [`EventCount::wait_timeout`](super::EventCount::wait_timeout)'s, which
/// unregisters the sleeper when the deadline passes (or, if a notification reached it
/// first, consumes it and lets the loop re-check). A timed-out push hands its value back in
/// [`PushError::Full`]; a timed-out pop reports [`PopError::Empty`].
///
/// Progress: blocking by design; the underlying queue's progress guarantee holds for the
/// non-blocking `try_push`/`try_pop`.
///
/// ```
/// use synclab::queue::{ArrayQueue, BlockingQueue, Closed};
/// use std::sync::Arc;
///
/// let q = Arc::new(BlockingQueue::<u32, ArrayQueue<u32>>::with_capacity(1)?);
/// let consumer = {
///     let q = Arc::clone(&q);
///     std::thread::spawn(move || {
///         let mut sum = 0;
///         while let Ok(v) = q.pop() {
///             sum += v;
///         }
///         sum
///     })
/// };
/// for i in 1..=10 {
///     q.push(i).unwrap(); // waits while the single slot is taken
/// }
/// q.close();
/// assert_eq!(consumer.join().unwrap(), 55);
/// assert_eq!(q.push(11), Err(Closed(11)));
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
pub struct BlockingQueue<T, Q: MpmcQueue<T>> {
    queue: Q,
    /// The event counts, in the queue's memory (beside the queue, in a segment).
    gates: <Q::Memory as Memory>::Region<Gates<Q::Memory>, ()>,
    /// The queue owns the `T`s; `fn() -> T` keeps `Send`/`Sync` up to `Q`.
    _items: PhantomData<fn() -> T>,
}

// SAFETY: the queue is `Send + Sync` (`MpmcQueue`'s bound) and owns the `T`s; the gates are
// event counts (atomic words) in a region of the queue's memory, which `Memory`'s contract
// makes `Send + Sync` for a `Send + Sync` header; `_items` holds no `T`.
unsafe impl<T, Q: MpmcQueue<T>> Send for BlockingQueue<T, Q> {}
// SAFETY: as above.
unsafe impl<T, Q: MpmcQueue<T>> Sync for BlockingQueue<T, Q> {}

impl<T, Q: MpmcQueue<T>> BlockingQueue<T, Q>
where
    Q::Memory: HeapMemory,
{
    /// Wraps `queue`.
    pub fn new(queue: Q) -> Self {
        Self {
            queue,
            gates: <Q::Memory as HeapMemory>::region(Gates::new(), Box::new([])),
            _items: PhantomData,
        }
    }

    /// A blocking queue over a new `Q` of `capacity`.
    ///
    /// # Errors
    ///
    /// `Q`'s [`CapacityError`] (for instance for capacity 0).
    pub fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Q::with_capacity(capacity).map(Self::new)
    }
}

impl<T, Q: MpmcQueue<T>> BlockingQueue<T, Q> {
    #[inline(always)]
    fn gates(&self) -> &Gates<Q::Memory> {
        self.gates.header()
    }

    /// Appends `value`, sleeping while the queue is full.
    ///
    /// # Errors
    ///
    /// [`Closed`] with the value if the queue is (or becomes, while waiting) closed.
    pub fn push(&self, value: T) -> Result<(), Closed<T>> {
        match self.try_push(value) {
            Ok(()) => Ok(()),
            Err(PushError::Closed(value)) => Err(Closed(value)),
            // Without a deadline `push_slow` never reports `Full`.
            Err(PushError::Full(value)) => self
                .push_slow(value, None)
                .map_err(|e| Closed(e.into_inner())),
        }
    }

    /// Appends `value`, sleeping while the queue is full, for at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::queue::{ArrayQueue, BlockingQueue, PushError};
    ///
    /// let q = BlockingQueue::<u32, ArrayQueue<u32>>::with_capacity(1)?;
    /// q.push(1).unwrap();
    /// assert_eq!(q.push_timeout(2, Duration::from_millis(1)), Err(PushError::Full(2)));
    /// # Ok::<(), synclab::queue::CapacityError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] with the value if the queue was still full when the timeout
    /// passed; [`PushError::Closed`] with the value if it is (or becomes) closed.
    pub fn push_timeout(&self, value: T, timeout: Duration) -> Result<(), PushError<T>> {
        match self.try_push(value) {
            Err(PushError::Full(value)) => {
                self.push_slow(value, Instant::now().checked_add(timeout))
            }
            done => done,
        }
    }

    /// The blocking push: backoff, then register, re-check and sleep, until it pushes, the
    /// queue closes, or `deadline` (if any) passes — then `Full`, with the value.
    #[cold]
    fn push_slow(&self, mut value: T, deadline: Option<Instant>) -> Result<(), PushError<T>> {
        let mut round = 0;
        loop {
            if round < hint::spin_limit(SPIN_ROUNDS) {
                spin(round);
                round += 1;
            } else {
                let key = self.gates().not_full.prepare_wait();
                // The re-check after registering (see `BlockingQueue`).
                match self.try_push(value) {
                    Err(PushError::Full(v)) => value = v,
                    done => {
                        self.gates().not_full.cancel_wait(key);
                        return done;
                    }
                }
                if self.gates().not_full.wait_until(key, deadline).timed_out() {
                    return Err(PushError::Full(value));
                }
            }
            match self.try_push(value) {
                Err(PushError::Full(v)) => value = v,
                done => return done,
            }
            // A `try_push` may itself wait (in a segment, on a stalled slot): the deadline is
            // looked at after each one, not only in the sleep.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(PushError::Full(value));
            }
        }
    }

    /// Removes the oldest item, sleeping while the queue is empty.
    ///
    /// # Errors
    ///
    /// [`Closed`] once the queue is closed *and* empty.
    pub fn pop(&self) -> Result<T, Closed> {
        match self.try_pop() {
            Ok(value) => Ok(value),
            Err(PopError::Closed) => Err(Closed(())),
            // Without a deadline `pop_slow` never reports `Empty`.
            Err(PopError::Empty) => self.pop_slow(None).map_err(|_| Closed(())),
        }
    }

    /// Removes the oldest item, sleeping while the queue is empty, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`] if the queue was still empty when the timeout passed;
    /// [`PopError::Closed`] once it is closed and empty.
    pub fn pop_timeout(&self, timeout: Duration) -> Result<T, PopError> {
        match self.try_pop() {
            Err(PopError::Empty) => self.pop_slow(Instant::now().checked_add(timeout)),
            done => done,
        }
    }

    /// The blocking pop: as `push_slow`, `Empty` once `deadline` (if any) passes.
    #[cold]
    fn pop_slow(&self, deadline: Option<Instant>) -> Result<T, PopError> {
        let mut round = 0;
        loop {
            if round < hint::spin_limit(SPIN_ROUNDS) {
                spin(round);
                round += 1;
            } else {
                let key = self.gates().not_empty.prepare_wait();
                // The re-check after registering (see `BlockingQueue`).
                match self.try_pop() {
                    Err(PopError::Empty) => {}
                    done => {
                        self.gates().not_empty.cancel_wait(key);
                        return done;
                    }
                }
                if self.gates().not_empty.wait_until(key, deadline).timed_out() {
                    return Err(PopError::Empty);
                }
            }
            match self.try_pop() {
                Err(PopError::Empty) => {}
                done => return done,
            }
            // As in `push_slow`.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(PopError::Empty);
            }
        }
    }

    /// Appends `value` if there is room; never sleeps.
    ///
    /// # Errors
    ///
    /// [`PushError::Full`] or [`PushError::Closed`], with the value.
    #[inline]
    pub fn try_push(&self, value: T) -> Result<(), PushError<T>> {
        match self.queue.try_push(value) {
            Ok(()) => {
                self.gates().not_empty.notify_one();
                Ok(())
            }
            // Refused: closed or full. A push that found the queue full and then sees it
            // closed is linearized after the close: it loses to it.
            Err(value) if self.queue.is_closed() => Err(PushError::Closed(value)),
            Err(value) => Err(PushError::Full(value)),
        }
    }

    /// Removes the oldest item if there is one; never sleeps.
    ///
    /// # Errors
    ///
    /// [`PopError::Empty`], or [`PopError::Closed`] once the queue is closed and empty.
    #[inline]
    pub fn try_pop(&self) -> Result<T, PopError> {
        if let Some(value) = self.queue.try_pop() {
            self.gates().not_full.notify_one();
            return Ok(value);
        }
        // Closed, then empty: by `MpmcQueue::close`'s contract the second look below sees
        // every push accepted before the close, so `Closed` is never reported while such an
        // item is still queued (see "Closing" on `BlockingQueue`; the exhaustive models
        // `blocking_*_close_racing_push` and, over a queue with no fence of its own,
        // `blocking_fenceless_queue_drains_before_closed`).
        if !self.queue.is_closed() {
            return Err(PopError::Empty);
        }
        match self.queue.try_pop() {
            Some(value) => {
                self.gates().not_full.notify_one();
                Ok(value)
            }
            None => Err(PopError::Closed),
        }
    }

    /// Closes the queue and wakes every sleeper. Returns `true` if this call closed it.
    pub fn close(&self) -> bool {
        let was_open = self.queue.close();
        // The notifies' fences order the close before their waiter checks: a thread that
        // registered before is woken, one that registers after re-checks and sees it closed.
        self.gates().not_empty.notify_all();
        self.gates().not_full.notify_all();
        was_open
    }

    /// Whether [`close`](Self::close) has been called. If it returns `true`, everything the
    /// closing thread wrote before `close` is visible to the caller (the inner queue's
    /// Release/Acquire; the exhaustive model `blocking_is_closed_publishes_the_closers_writes` holds
    /// us to it).
    pub fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    /// The queue underneath: its length, capacity and the rest of [`MpmcQueue`].
    pub fn inner(&self) -> &Q {
        &self.queue
    }
}

/// One round of the bounded backoff before sleeping: a burst of `2^round` spin hints, or,
/// after [`SPIN_ONLY_ROUNDS`], a yield of the CPU (on an oversubscribed machine the thread we
/// wait for may need our core).
#[inline]
fn spin(round: u32) {
    if round < SPIN_ONLY_ROUNDS {
        for _ in 0..hint::spin_limit(1 << round) {
            hint::spin_loop();
        }
    } else {
        thread::yield_now();
    }
}

impl<T, Q: MpmcQueue<T> + fmt::Debug> fmt::Debug for BlockingQueue<T, Q> {
    /// Shows the queue's own (non-racy) `Debug` only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingQueue")
            .field("queue", &self.queue)
            .finish_non_exhaustive()
    }
}
