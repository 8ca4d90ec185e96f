//! Workloads of the pools group (filled in by its issue).

use crate::{Target, Workload};

/// The pools workloads.
pub fn workloads() -> Vec<Workload> {
    Vec::new()
}

/// The performance targets of the pools issue.
pub fn targets() -> Vec<Target> {
    Vec::new()
}
