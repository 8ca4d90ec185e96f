//! Each queue's entry point for fault injection ([`crate::fault`], not part of the API).

use core::ops::ControlFlow;

use super::array_queue::STOP_AFTER_CLAIM;
use super::duplex::{STOP_AFTER_RECORD, STOP_AFTER_STAMP, STOP_AFTER_WRITE};
use super::{ArrayQueue, DuplexEnd};
use crate::fault::{DuplexStep, Dying, Probe, QueueStep};
use crate::shm::Memory;
use crate::sync::atomic::Ordering::Relaxed;

impl<T, M: Memory> Probe for ArrayQueue<T, M> {
    /// `(abandoned, lost)`: pushes whose producer died after claiming a slot (survivors
    /// skipped them), and items whose consumer died after claiming them (in a segment; 0 on
    /// the heap). See "In a segment" on [`ArrayQueue`].
    type Reading = (usize, usize);

    fn probe(&self) -> (usize, usize) {
        let ends = self.ends();
        // Relaxed: counters read as they stand; the caller orders them (a join, a kill).
        (ends.abandoned.load(Relaxed), ends.lost.load(Relaxed))
    }
}

impl<T, M: Memory> Dying for &ArrayQueue<T, M> {
    type Step = QueueStep<T>;
    /// Whether the operation claimed a position.
    type Output = bool;

    fn run_dying(self, step: QueueStep<T>) -> bool {
        match step {
            QueueStep::PushAfterClaim(value) => self
                .push_until::<STOP_AFTER_CLAIM>(value, |value, _, _| ControlFlow::Break(Err(value)))
                .is_ok(),
            QueueStep::PopAfterClaim => self
                .pop_until::<STOP_AFTER_CLAIM>()
                .map(core::mem::forget)
                .is_some(),
        }
    }
}

impl<T, M: Memory> Dying for DuplexEnd<'_, T, M> {
    /// The operation, its value for a send, and where it stops.
    type Step = DuplexStep<T>;
    /// A send: `Ok(None)`, or the value back if the ring was full. A receive: the value, or
    /// `None` if nothing had come.
    type Output = Result<Option<T>, T>;

    fn run_dying(mut self, step: Self::Step) -> Self::Output {
        let outcome = match step {
            DuplexStep::SendAfterWrite(value) => {
                self.send_until::<STOP_AFTER_WRITE>(value).map(|()| None)
            }
            DuplexStep::SendAfterStamp(value) => {
                self.send_until::<STOP_AFTER_STAMP>(value).map(|()| None)
            }
            DuplexStep::RecvAfterRecord => Ok(self.recv_until::<STOP_AFTER_RECORD>()),
        };
        core::mem::forget(self);
        outcome
    }
}
