//! Each queue's entry point for fault injection ([`crate::fault`], not part of the API).

use core::ops::ControlFlow;

use super::array_queue::STOP_AFTER_CLAIM;
use super::duplex::{STOP_AFTER_STAMP, STOP_AFTER_WRITE};
use super::{ArrayQueue, DuplexEnd};
use crate::fault::{Dying, QueueStep, SendStep};
use crate::shm::Memory;

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
    /// The value and where `try_send` stops.
    type Step = (T, SendStep);
    /// The value back if the ring was full.
    type Output = Result<(), T>;

    fn run_dying(mut self, (value, step): Self::Step) -> Self::Output {
        let sent = match step {
            SendStep::AfterWrite => self.send_until::<STOP_AFTER_WRITE>(value),
            SendStep::AfterStamp => self.send_until::<STOP_AFTER_STAMP>(value),
        };
        core::mem::forget(self);
        sent
    }
}
