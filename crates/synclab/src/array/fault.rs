//! Each array's entry point for fault injection ([`crate::fault`], not part of the API).

use super::slot::{STOP_AFTER_CLAIM, STOP_AFTER_WRITE};
use super::{CondvarArray, Lane, LockFreeArray, PublishError};
use crate::fault::{Dying, PublishStep};
use crate::lock::LockFamily;
use crate::shm::Memory;

impl<T, M: Memory> Dying for &LockFreeArray<T, M> {
    /// The slot, the value, and where `publish` stops.
    type Step = (usize, T, PublishStep);
    type Output = Result<(), PublishError<T>>;

    fn run_dying(self, (index, value, step): Self::Step) -> Self::Output {
        match step {
            PublishStep::AfterClaim => self.publish_until::<STOP_AFTER_CLAIM>(index, value),
            PublishStep::AfterWrite => self.publish_until::<STOP_AFTER_WRITE>(index, value),
        }
    }
}

impl<T, M: Memory> Dying for &Lane<'_, T, M> {
    /// The slot and the value: `publish` writes it and stops before its swap, so the slot
    /// stays unpublished and the lane stays held by this thread.
    type Step = (usize, T);
    type Output = Result<(), PublishError<T>>;

    fn run_dying(self, (index, value): Self::Step) -> Self::Output {
        self.publish_until::<STOP_AFTER_WRITE>(index, value)
    }
}

impl<T: Clone + Send + Sync, F: LockFamily, M: Memory> Dying for &CondvarArray<T, F, M> {
    /// The slot and the value: `publish` writes it and stops holding the lock, before
    /// `ready` is stored. The guard is leaked.
    type Step = (usize, T);
    type Output = Result<(), PublishError<T>>;

    fn run_dying(self, (index, value): Self::Step) -> Self::Output {
        self.publish_until::<true>(index, value)
    }
}
