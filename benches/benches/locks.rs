//! criterion benchmarks of the `locks` workloads (defined once in `synclab_benches::locks`).
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};

#[path = "common.rs"]
mod common;

fn benches(c: &mut Criterion) {
    common::bench_group(c, "locks");
}

criterion_group!(group, benches);
criterion_main!(group);
