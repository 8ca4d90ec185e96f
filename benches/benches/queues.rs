//! criterion benchmarks of the `queues` workloads (defined once in `synclab_benches::queues`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common.rs"]
mod common;

fn benches(c: &mut Criterion) {
    common::bench_group(c, "queues");
}

criterion_group!(group, benches);
criterion_main!(group);
