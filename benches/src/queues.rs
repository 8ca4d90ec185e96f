//! Workloads of the queues group (filled in by its issue).

use crate::{Target, Workload};

/// The queues workloads.
pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

/// The performance targets of the queues issue.
pub fn targets() -> Vec<Target> {
    Vec::new()
}
