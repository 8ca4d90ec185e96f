//! criterion benchmarks of the `floor` workloads (defined once in `synclab_benches::floor`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common.rs"]
mod common;

fn benches(c: &mut Criterion) {
    common::bench_group(c, "floor");
}

criterion_group!(group, benches);
criterion_main!(group);
