//! Channels over the blocking layer; documented on [`Sender`].

use core::fmt;
use core::time::Duration;

use super::{ArrayQueue, BlockingQueue, CapacityError, Closed, MpmcQueue, PopError, PushError};
use crate::shm::HeapMemory;
use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::Arc;

/// What both ends share.
struct Chan<T, Q: MpmcQueue<T>> {
    queue: BlockingQueue<T, Q>,
    /// Live [`Sender`]s.
    senders: AtomicUsize,
    /// Live [`Receiver`]s.
    receivers: AtomicUsize,
}

/// A channel of at most `capacity` queued items over the lock-free [`ArrayQueue`].
///
/// # Errors
///
/// [`CapacityError`] for capacity 0 or one too large for the queue.
pub fn bounded<T: Send>(capacity: usize) -> Result<(Sender<T>, Receiver<T>), CapacityError> {
    bounded_with::<T, ArrayQueue<T>>(capacity)
}

/// A channel of at most `capacity` queued items over the queue `Q`.
///
/// ```
/// use synclab::lock::StdFamily;
/// use synclab::queue::{bounded_with, LockedQueue};
///
/// let (tx, rx) = bounded_with::<&str, LockedQueue<&str, StdFamily>>(1)?;
/// tx.send("over a mutex-protected VecDeque").unwrap();
/// assert_eq!(rx.recv(), Ok("over a mutex-protected VecDeque"));
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
///
/// # Errors
///
/// `Q`'s [`CapacityError`].
#[allow(clippy::type_complexity)] // the pair of ends is the signature
pub fn bounded_with<T, Q: MpmcQueue<T>>(
    capacity: usize,
) -> Result<(Sender<T, Q>, Receiver<T, Q>), CapacityError>
where
    Q::Memory: HeapMemory,
{
    let chan = Arc::new(Chan {
        queue: BlockingQueue::with_capacity(capacity)?,
        senders: AtomicUsize::new(1),
        receivers: AtomicUsize::new(1),
    });
    Ok((
        Sender {
            chan: Arc::clone(&chan),
        },
        Receiver { chan },
    ))
}

/// The sending end of a channel (made by [`bounded`] or [`bounded_with`]). Clone it for more
/// producers.
///
/// Channels: [`Sender`] and [`Receiver`] ends over a [`BlockingQueue`] that disconnect when
/// the last end of either side is dropped.
///
/// A thin facade, not a new algorithm: the queue, its sleeping and its `close` are the
/// blocking layer's (see [`BlockingQueue`]); the ends add two counts and map the layer's
/// `close` onto disconnection:
///
/// | event | what the ends do | what the other side sees |
/// |---|---|---|
/// | last [`Sender`] dropped | closes the queue | receivers get what is queued, then [`RecvError`] / `Disconnected` |
/// | last [`Receiver`] dropped | closes the queue (what is queued is dropped with the last end) | `send` hands its value back in [`SendError`]; a sender asleep on a full queue wakes and does so |
///
/// [`bounded`] builds a channel over the lock-free [`ArrayQueue`] (the default queue type, so
/// the common case names none); [`bounded_with`] takes any [`MpmcQueue`], so the lab can run
/// one channel over each of its queues. The ends are `Clone` (multi-producer,
/// multi-consumer), `Send` and `Sync` for `T: Send`.
///
/// # Orderings
///
/// The end counts are `Arc`-style: `clone` increments Relaxed (a new end is made from a live
/// one, so the count cannot reach 0 meanwhile); `drop` decrements with AcqRel, so the last
/// end's `close` happens after every other end's operations — in particular after every
/// `send` of every other sender, which the receivers therefore drain before they are told
/// `Disconnected` (the blocking layer's `close` is Release and its empty-and-closed check
/// Acquire). Nothing else is added: `send` and `recv` are the blocking layer's `push` and
/// `pop`.
///
/// # Progress
///
/// As the blocking layer: `try_send`/`try_recv` have the queue's progress guarantee; `send`
/// and `recv` block by design.
///
/// ```
/// use synclab::queue::bounded;
///
/// let (tx, rx) = bounded::<u32>(4)?;
/// let producer = std::thread::spawn(move || {
///     for i in 1..=10 {
///         tx.send(i).unwrap(); // waits while 4 items are queued
///     }
///     // `tx` dropped here: the last sender, so the channel disconnects
/// });
/// let sum: u32 = rx.iter().sum(); // ends once the queue is drained and disconnected
/// assert_eq!(sum, 55);
/// producer.join().unwrap();
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
pub struct Sender<T, Q: MpmcQueue<T> = ArrayQueue<T>> {
    chan: Arc<Chan<T, Q>>,
}

/// The receiving end of a channel; see [`Sender`]. Clone it for more consumers.
pub struct Receiver<T, Q: MpmcQueue<T> = ArrayQueue<T>> {
    chan: Arc<Chan<T, Q>>,
}

impl<T, Q: MpmcQueue<T>> Sender<T, Q> {
    /// Sends `value`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the value if every receiver is gone (also if the last one goes
    /// while this call waits).
    pub fn send(&self, value: T) -> Result<(), SendError<T>> {
        self.chan
            .queue
            .push(value)
            .map_err(|Closed(value)| SendError(value))
    }

    /// Sends `value` if there is room now; never waits.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Disconnected`], with the value.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.queue.try_push(value).map_err(|e| match e {
            PushError::Full(value) => TrySendError::Full(value),
            PushError::Closed(value) => TrySendError::Disconnected(value),
        })
    }

    /// Sends `value`, waiting while the channel is full, for at most `timeout`.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] if the channel was still full when the timeout passed,
    /// [`SendTimeoutError::Disconnected`] if every receiver is gone; the value comes back.
    pub fn send_timeout(&self, value: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.chan
            .queue
            .push_timeout(value, timeout)
            .map_err(|e| match e {
                PushError::Full(value) => SendTimeoutError::Timeout(value),
                PushError::Closed(value) => SendTimeoutError::Disconnected(value),
            })
    }

    /// Whether every receiver is gone (then every `send` fails).
    pub fn is_disconnected(&self) -> bool {
        self.chan.queue.is_closed()
    }
}

impl<T, Q: MpmcQueue<T>> Receiver<T, Q> {
    /// Receives the oldest item, waiting while the channel is empty.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once every sender is gone and the queue is drained.
    pub fn recv(&self) -> Result<T, RecvError> {
        self.chan.queue.pop().map_err(|Closed(())| RecvError)
    }

    /// Receives the oldest item if there is one; never waits.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`], or [`TryRecvError::Disconnected`] once every sender is gone
    /// and the queue is drained.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.queue.try_pop().map_err(|e| match e {
            PopError::Empty => TryRecvError::Empty,
            PopError::Closed => TryRecvError::Disconnected,
        })
    }

    /// Receives the oldest item, waiting while the channel is empty, for at most `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::queue::{bounded, RecvTimeoutError};
    ///
    /// let (tx, rx) = bounded::<u32>(1)?;
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(1)), Err(RecvTimeoutError::Timeout));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(1)), Err(RecvTimeoutError::Disconnected));
    /// # Ok::<(), synclab::queue::CapacityError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] if the channel was still empty when the timeout passed,
    /// [`RecvTimeoutError::Disconnected`] once every sender is gone and the queue is drained.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.chan.queue.pop_timeout(timeout).map_err(|e| match e {
            PopError::Empty => RecvTimeoutError::Timeout,
            PopError::Closed => RecvTimeoutError::Disconnected,
        })
    }

    /// An iterator that [`recv`](Self::recv)s until the channel is disconnected and drained.
    pub fn iter(&self) -> Iter<'_, T, Q> {
        Iter { receiver: self }
    }

    /// An iterator over the items queued now: it [`try_recv`](Self::try_recv)s until the
    /// channel is empty (or disconnected and drained), never waiting.
    pub fn try_iter(&self) -> TryIter<'_, T, Q> {
        TryIter { receiver: self }
    }

    /// Whether every sender is gone (items may still be queued).
    pub fn is_disconnected(&self) -> bool {
        self.chan.queue.is_closed()
    }
}

/// What both ends have alike: the queue's measures, `Clone` (one more end of that side),
/// `Drop` (the side's last end closes the queue) and a `Debug` that reads nothing.
macro_rules! channel_end {
    ($end:ident, $count:ident) => {
        impl<T, Q: MpmcQueue<T>> $end<T, Q> {
            /// The most items the channel queues.
            pub fn capacity(&self) -> usize {
                self.chan.queue.inner().capacity()
            }

            /// The number of queued items at some moment during the call.
            pub fn len(&self) -> usize {
                self.chan.queue.inner().len()
            }

            /// Whether the channel was empty at some moment during the call.
            pub fn is_empty(&self) -> bool {
                self.chan.queue.inner().is_empty()
            }
        }

        impl<T, Q: MpmcQueue<T>> Clone for $end<T, Q> {
            fn clone(&self) -> Self {
                // Relaxed: a new end is made from a live one (as `Arc::clone`).
                self.chan.$count.fetch_add(1, Ordering::Relaxed);
                Self {
                    chan: Arc::clone(&self.chan),
                }
            }
        }

        impl<T, Q: MpmcQueue<T>> Drop for $end<T, Q> {
            fn drop(&mut self) {
                // AcqRel: Release orders this end's operations before the side's last
                // decrement; Acquire makes the last end's `close` happen after every other
                // end's operations (`Sender`, "Orderings"). What the last receiver leaves
                // queued is dropped with the channel, when the last end goes: it is not
                // drained here, since a drain makes room, and a sender that read the closed
                // flag just before the close could then still enqueue and return `Ok` (the
                // close/push race of the blocking layer, which is being made linearizable).
                if self.chan.$count.fetch_sub(1, Ordering::AcqRel) == 1 {
                    self.chan.queue.close();
                }
            }
        }

        impl<T, Q: MpmcQueue<T>> fmt::Debug for $end<T, Q> {
            /// Reads nothing: the channel is under concurrent mutation.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($end)).finish_non_exhaustive()
            }
        }
    };
}

channel_end!(Sender, senders);
channel_end!(Receiver, receivers);

/// [`Receiver::iter`]: blocks for each item; ends once disconnected and drained.
#[derive(Debug)]
pub struct Iter<'a, T, Q: MpmcQueue<T> = ArrayQueue<T>> {
    receiver: &'a Receiver<T, Q>,
}

impl<T, Q: MpmcQueue<T>> Iterator for Iter<'_, T, Q> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

/// [`Receiver::try_iter`]: the items queued now; never blocks.
#[derive(Debug)]
pub struct TryIter<'a, T, Q: MpmcQueue<T> = ArrayQueue<T>> {
    receiver: &'a Receiver<T, Q>,
}

impl<T, Q: MpmcQueue<T>> Iterator for TryIter<'_, T, Q> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// [`Receiver`]'s owning iterator: as [`Iter`].
#[derive(Debug)]
pub struct IntoIter<T, Q: MpmcQueue<T> = ArrayQueue<T>> {
    receiver: Receiver<T, Q>,
}

impl<T, Q: MpmcQueue<T>> Iterator for IntoIter<T, Q> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T, Q: MpmcQueue<T>> IntoIterator for Receiver<T, Q> {
    type Item = T;
    type IntoIter = IntoIter<T, Q>;

    fn into_iter(self) -> IntoIter<T, Q> {
        IntoIter { receiver: self }
    }
}

impl<'a, T, Q: MpmcQueue<T>> IntoIterator for &'a Receiver<T, Q> {
    type Item = T;
    type IntoIter = Iter<'a, T, Q>;

    fn into_iter(self) -> Iter<'a, T, Q> {
        self.iter()
    }
}

/// [`Sender::send`] failed: every receiver is gone. The value is handed back.
///
/// A plain wrapper of the value, as std's and crossbeam's are (so not `#[non_exhaustive]`:
/// `Err(SendError(value))` is the pattern callers write).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// [`Sender::try_send`] failed; the value is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// Every receiver is gone.
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(value) | TrySendError::Disconnected(value) => value,
        }
    }

    /// Whether the channel was full (rather than disconnected).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
}

/// [`Sender::send_timeout`] failed; the value is handed back.
#[derive(Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SendTimeoutError<T> {
    /// The channel was still full when the timeout passed.
    Timeout(T),
    /// Every receiver is gone.
    Disconnected(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(value) | SendTimeoutError::Disconnected(value) => value,
        }
    }
}

/// [`Receiver::recv_timeout`] returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// The channel was still empty when the timeout passed.
    Timeout,
    /// Every sender is gone and the channel is drained.
    Disconnected,
}

/// [`Receiver::recv`] failed: every sender is gone and the channel is drained.
///
/// A unit marker, as std's (so not `#[non_exhaustive]`: callers compare with `Err(RecvError)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

/// [`Receiver::try_recv`] returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// The channel is empty (and some sender is alive).
    Empty,
    /// Every sender is gone and the channel is drained.
    Disconnected,
}

impl<T> fmt::Debug for SendError<T> {
    /// Does not print the value (`T` need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    /// Does not print the value (`T` need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    /// Does not print the value (`T` need not be `Debug`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("timed out sending on a full channel"),
            SendTimeoutError::Disconnected(_) => {
                f.write_str("sending on a disconnected channel: every receiver is gone")
            }
        }
    }
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("timed out receiving on an empty channel"),
            RecvTimeoutError::Disconnected => {
                f.write_str("receiving on a disconnected and empty channel: every sender is gone")
            }
        }
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a disconnected channel: every receiver is gone")
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Disconnected(_) => {
                f.write_str("sending on a disconnected channel: every receiver is gone")
            }
        }
    }
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("receiving on a disconnected and empty channel: every sender is gone")
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Disconnected => {
                f.write_str("receiving on a disconnected and empty channel: every sender is gone")
            }
        }
    }
}

impl<T> std::error::Error for SendError<T> {}
impl<T> std::error::Error for TrySendError<T> {}
impl std::error::Error for RecvError {}
impl std::error::Error for TryRecvError {}
impl<T> std::error::Error for SendTimeoutError<T> {}
impl std::error::Error for RecvTimeoutError {}
