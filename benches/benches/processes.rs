//! criterion benchmarks of the `processes` workloads (defined once in
//! `synclab_benches::processes`). Its own `main`: the binary is re-executed as the helper
//! process, which `serve_if_helper` plays before criterion starts.
#![allow(missing_docs)]

use criterion::Criterion;

#[path = "common.rs"]
mod common;

fn main() {
    #[cfg(target_os = "linux")]
    synclab_benches::processes::serve_if_helper();
    let mut c = Criterion::default().configure_from_args();
    common::bench_group(&mut c, "processes");
    c.final_summary();
}
