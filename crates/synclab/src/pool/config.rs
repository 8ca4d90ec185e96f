//! How to build a pool: [`PoolConfig`], its default capacity, and the limits every pool
//! applies.

use super::BuildError;

/// The queue capacity when [`PoolConfig::capacity`] is not set: 1024 tasks.
///
/// The seed bounds its queue by the worker count (`Queue(num_threads)`), which makes a fast
/// submitter sleep after every few tasks; 1024 boxed tasks (16 KiB of pointers) let a
/// submitter run well ahead of the workers while still bounding memory. Pass
/// [`PoolConfig::capacity`] to reproduce the seed's bound.
pub const DEFAULT_CAPACITY: usize = 1024;

/// How to build a pool.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolConfig {
    /// Worker threads (≥ 1).
    pub workers: usize,
    /// Queue capacity in tasks (≥ 1); `None` means [`DEFAULT_CAPACITY`].
    pub capacity: Option<usize>,
}

impl PoolConfig {
    /// `workers` workers and the default capacity.
    pub fn new(workers: usize) -> Self {
        Self {
            workers,
            capacity: None,
        }
    }

    /// Sets the queue capacity.
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    /// Checks the configuration: `(workers, capacity)` or the reason it is invalid. Every
    /// pool applies the same limits: at least 1 worker, a capacity from 1 to
    /// [`MAX_CAPACITY`](crate::queue::MAX_CAPACITY).
    pub(crate) fn validate(&self) -> Result<(usize, usize), BuildError> {
        if self.workers == 0 {
            return Err(BuildError::ZeroWorkers);
        }
        let capacity = self.capacity.unwrap_or(DEFAULT_CAPACITY);
        crate::queue::CapacityError::check(capacity).map_err(BuildError::from)?;
        Ok((self.workers, capacity))
    }
}

/// The most tasks a pool holds at once — queued, in the overflow of tasks submitted by its own
/// workers (see "Called from inside one of its own tasks" in [`crate::pool`]), or running: the
/// queues' [`MAX_CAPACITY`](crate::queue::MAX_CAPACITY). A submit from a worker that would go
/// past it is refused with [`SubmitErrorKind::Overflow`](super::SubmitErrorKind::Overflow).
/// (Submitters outside the pool never reach it: they wait while the queue is full.)
pub(crate) const MAX_PENDING: usize = crate::queue::MAX_CAPACITY;
