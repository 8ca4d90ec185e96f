//! Fault injection and test probes: **not part of the API** (cargo feature `fault-injection`,
//! hidden from the docs, free to change in any release).
//!
//! A process can be killed between any two instructions of an operation on a segment it
//! shares. To test what its peers see, the verification crate's death models, the kill tests
//! and the process demo run a design's real operation and stop it for good after a chosen
//! step, as a process killed there would stop. Each design has one entry point: its
//! implementation of [`Dying`].
//!
//! | design | `Step` | stops |
//! |---|---|---|
//! | `&ArrayQueue<T, M>` | [`QueueStep<T>`] | a push or a pop right after its claim CAS |
//! | `DuplexEnd<'_, T, M>` (consumed and leaked) | [`DuplexStep<T>`] | a send after the write or the stamp, a receive after its record |
//! | `&LockFreeArray<T, M>` | `(index, T, `[`PublishStep`]`)` | a publish after the claim or the write |
//! | `&Lane<'_, T, M>` | `(index, T)` | a publish after the write (the lane stays held) |
//! | `&CondvarArray<T, F, M>` | `(index, T)` | a publish after the write, holding the lock |
//!
//! A value that was written before the stop is leaked, as it would be in a dead process.
//!
//! Beside it, [`Probe`] reads a snapshot of internal state that only tests check: whether an
//! event count's `WaitKey` counted itself as a waiter (`bool`), how many threads a
//! `RawCountingMutex` (or a `Mutex` over it) holds registered to sleep (`u32`), how many attach-table entries of a
//! `Segment` live and dead threads hold (`(usize, usize)`), how many pushes an `ArrayQueue`
//! skipped and items it lost to dead peers (`(usize, usize)`).

/// A design whose operation can be stopped for good after a chosen step.
pub trait Dying: Sized {
    /// Which operation to run, its input, and where it stops.
    type Step;
    /// What the stopped operation reports (see each implementation).
    type Output;
    /// Runs the operation of `step` and stops it there for good, as a process killed at that
    /// point would.
    fn run_dying(self, step: Self::Step) -> Self::Output;
}

/// A snapshot of internal state that only tests read (one reading per design that has one).
pub trait Probe {
    /// What is read.
    type Reading;
    /// Reads it now (it may change at once).
    fn probe(&self) -> Self::Reading;
}

/// An `ArrayQueue` operation that stops for good right after its winning CAS on `tail` (a
/// push) or `head` (a pop), before its stamp store. `run_dying` reports whether it claimed a
/// position (`false`: the queue was full or closed for a push, empty for a pop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStep<T> {
    /// A push of this value: its slot stays claimed and unwritten (the value is leaked).
    PushAfterClaim(T),
    /// A pop: its item stays claimed and is never released (the value is leaked).
    PopAfterClaim,
}

/// Which `DuplexEnd` operation runs and where it stops. The end is leaked, so it stays held by
/// this thread and nothing sends or receives from it again (a send after a stamp without its
/// record would rewrite a value the peer may be reading).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DuplexStep<T> {
    /// A send of the value, stopped after writing it, before its stamp.
    SendAfterWrite(T),
    /// A send of the value, stopped after the stamp, before recording `sent`.
    SendAfterStamp(T),
    /// A receive, stopped after recording `received`, before the slot's receipt.
    RecvAfterRecord,
}

/// Where a `LockFreeArray`'s publish stops: the slot stays `WRITING` (with this thread's tag
/// in a segment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStep {
    /// After the claim CAS, before writing the value.
    AfterClaim,
    /// After writing the value, before the Release swap that publishes it.
    AfterWrite,
}
