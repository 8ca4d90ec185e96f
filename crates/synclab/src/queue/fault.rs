//! Fault injection (cargo feature `fault-injection`, not part of the API): each design's
//! operation, stopped for good at a chosen step as a process killed there would stop. For the
//! death models of the verification crate, the kill tests and the process demo.

use core::ops::ControlFlow;

use super::array_queue::STOP_AFTER_CLAIM;
use super::duplex::{STOP_AFTER_STAMP, STOP_AFTER_WRITE};
use super::{ArrayQueue, DuplexEnd};
use crate::shm::Memory;

/// An [`ArrayQueue`] operation that stops for good right after its winning CAS on `tail`
/// (a push) or `head` (a pop), before its stamp store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueStep<T> {
    /// A push of this value: its slot stays claimed and unwritten (the value is leaked).
    PushAfterClaim(T),
    /// A pop: its item stays claimed and is never released (the value is leaked).
    PopAfterClaim,
}

impl<T, M: Memory> ArrayQueue<T, M> {
    /// Runs the operation of `step` up to its claim and stops there for good, as a process
    /// killed at that point would. Whether it claimed a position (`false`: the queue was full
    /// or closed for a push, empty for a pop).
    #[doc(hidden)]
    pub fn run_dying(&self, step: QueueStep<T>) -> bool {
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

/// Where [`DuplexEnd::send_dying`] stops, as a process killed there would.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStep {
    /// After writing the value, before its stamp.
    AfterWrite,
    /// After the stamp, before recording `sent`.
    AfterStamp,
}

impl<T, M: Memory> DuplexEnd<'_, T, M> {
    /// Runs `try_send` up to `step` and stops there for good, as a process killed at that
    /// point would: the handle is leaked, so the end stays held by this thread and nothing
    /// sends from it again (a send after a stamp without its record would rewrite a value the
    /// peer may be reading). For death-injection tests and models only. The value is leaked
    /// if it was written; handed back if the ring was full.
    #[doc(hidden)]
    pub fn send_dying(mut self, value: T, step: SendStep) -> Result<(), T> {
        let sent = match step {
            SendStep::AfterWrite => self.send_until::<STOP_AFTER_WRITE>(value),
            SendStep::AfterStamp => self.send_until::<STOP_AFTER_STAMP>(value),
        };
        core::mem::forget(self);
        sent
    }
}
