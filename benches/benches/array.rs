//! criterion benchmarks of the `array` workloads (defined once in `synclab_benches::array`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common.rs"]
mod common;

fn benches(c: &mut Criterion) {
    common::bench_group(c, "array");
}

criterion_group!(group, benches);
criterion_main!(group);
