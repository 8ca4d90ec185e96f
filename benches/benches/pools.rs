//! criterion benchmarks of the `pools` workloads (defined once in `synclab_benches::pools`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common.rs"]
mod common;

fn benches(c: &mut Criterion) {
    common::bench_group(c, "pools");
}

criterion_group!(group, benches);
criterion_main!(group);
