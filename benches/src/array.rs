//! Workloads of the array group (filled in by its issue).

use crate::{Target, Workload};

/// The array workloads.
pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

/// The performance targets of the array issue.
pub fn targets() -> Vec<Target> {
    Vec::new()
}
