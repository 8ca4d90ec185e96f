//! Runs the `array/*` workloads (full size unless `--quick`) `--runs N` times, contenders
//! interleaved round-robin so that machine noise hits them alike, and prints every contender's
//! median and range and each target's ratio per run and its median — a quick look between
//! full `synclab compare` runs (the published figures are `docs/benchmarks.md`'s).
//!
//! ```text
//! cargo run --release -p synclab-benches --example array_figures -- [--quick] [--runs N] [FILTER]
//! ```

use synclab_benches::{array, Params, Scale};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = if args.iter().any(|a| a == "--quick") {
        Scale::Quick
    } else {
        Scale::Full
    };
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let filter = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--runs"))
        .map(|(_, a)| a.clone());
    // (workload, threads, contender, one value per run)
    let mut results: Vec<(&str, usize, &str, Vec<f64>)> = Vec::new();
    for w in array::workloads() {
        if filter.as_deref().is_some_and(|f| !w.id.contains(f)) {
            continue;
        }
        for &threads in &w.threads {
            let mut values = vec![Vec::new(); w.contenders.len()];
            for _ in 0..runs {
                for (k, c) in w.contenders.iter().enumerate() {
                    let m = (c.run)(&Params { threads, scale });
                    values[k].push(w.metric.value(&m));
                }
            }
            println!(
                "{} ({}, {} {threads})",
                w.id,
                w.metric.unit(),
                w.threads_label
            );
            for (c, v) in w.contenders.iter().zip(values) {
                println!(
                    "  {:<28} median {:>11.1}  range [{:.1} – {:.1}]  ({:?})",
                    c.name,
                    median(&v),
                    v.iter().cloned().fold(f64::INFINITY, f64::min),
                    v.iter().cloned().fold(0.0, f64::max),
                    c.role
                );
                results.push((w.id, threads, c.name, v));
            }
        }
    }
    println!("targets (contender / reference, lower is better; per run):");
    for t in array::targets() {
        let find = |name: &str| {
            results
                .iter()
                .find(|(id, th, n, _)| *id == t.workload && *th == t.threads && *n == name)
                .map(|r| r.3.clone())
        };
        if let (Some(c), Some(r)) = (find(t.contender), find(t.reference)) {
            let ratios: Vec<f64> = c.iter().zip(&r).map(|(c, r)| c / r).collect();
            let med = median(&ratios);
            let per_run: Vec<String> = ratios.iter().map(|x| format!("{x:.2}")).collect();
            println!(
                "  {}: median {med:.2}× (runs: {}) — {}",
                t.claim,
                per_run.join(", "),
                if 1.0 / med >= t.min_advantage {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}
