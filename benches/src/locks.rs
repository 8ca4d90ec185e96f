//! Workloads of the locks group (filled in by its issue).

use crate::{Target, Workload};

/// The locks workloads.
pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

/// The performance targets of the locks issue.
pub fn targets() -> Vec<Target> {
    Vec::new()
}
