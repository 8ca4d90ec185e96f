//! Fault injection (cargo feature `fault-injection`, not part of the API): each design's
//! publish, stopped for good at a chosen step as a process killed there would stop. For the
//! death models of the verification crate, the kill tests and the process demo.

use super::slot::{STOP_AFTER_CLAIM, STOP_AFTER_WRITE};
use super::{CondvarArray, Lane, LockFreeArray, PublishError};
use crate::lock::LockFamily;
use crate::shm::Memory;

/// Where [`LockFreeArray::publish_dying`] stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStep {
    /// After the claim CAS, before writing the value.
    AfterClaim,
    /// After writing the value, before the Release swap that publishes it.
    AfterWrite,
}

impl<T, M: Memory> LockFreeArray<T, M> {
    /// Runs `publish` up to `step` and stops there for good: the slot stays `WRITING` (with
    /// this thread's tag in a segment). The value is leaked if it was written.
    #[doc(hidden)]
    pub fn publish_dying(
        &self,
        index: usize,
        value: T,
        step: PublishStep,
    ) -> Result<(), PublishError<T>> {
        match step {
            PublishStep::AfterClaim => self.publish_until::<STOP_AFTER_CLAIM>(index, value),
            PublishStep::AfterWrite => self.publish_until::<STOP_AFTER_WRITE>(index, value),
        }
    }
}

impl<T, M: Memory> Lane<'_, T, M> {
    /// Writes the value of slot `index` and stops there for good, before its swap: the slot
    /// stays unpublished and the lane stays held by this thread. The value is leaked.
    #[doc(hidden)]
    pub fn publish_dying(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<STOP_AFTER_WRITE>(index, value)
    }
}

impl<T: Clone + Send + Sync, F: LockFamily, M: Memory> CondvarArray<T, F, M> {
    /// Runs `publish` until the value is written and stops there for good, holding the lock
    /// and before `ready` is stored. The value and the guard are leaked.
    #[doc(hidden)]
    pub fn publish_dying(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.publish_until::<true>(index, value)
    }
}
