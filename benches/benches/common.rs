//! Registers every workload of a group with criterion, one benchmark per contender and thread
//! count, each iteration being one whole (quick-sized) run of the scenario.

use criterion::{BenchmarkId, Criterion};
use std::time::Duration;
use synclab_benches::{Params, Scale};

/// Registers the workloads of `group`.
pub fn bench_group(c: &mut Criterion, group: &str) {
    for workload in synclab_benches::workloads()
        .into_iter()
        .filter(|w| w.group == group)
    {
        let mut g = c.benchmark_group(workload.id);
        g.sample_size(10)
            .warm_up_time(Duration::from_millis(300))
            .measurement_time(Duration::from_secs(2));
        for &threads in &workload.threads {
            for contender in &workload.contenders {
                let params = Params {
                    threads,
                    scale: Scale::Quick,
                };
                g.bench_with_input(
                    BenchmarkId::new(contender.name, threads),
                    &params,
                    |b, params| {
                        b.iter_custom(|iters| {
                            (0..iters).map(|_| (contender.run)(params).elapsed).sum()
                        })
                    },
                );
            }
        }
        g.finish();
    }
}
