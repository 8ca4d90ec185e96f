//! Runs the `pools` workloads once at full scale (or `--quick`), every contender interleaved
//! `--reps` times, and prints the median of each with the issue's targets as ratios.
//!
//! ```text
//! cargo run --release -p synclab-benches --example pools -- [--quick] [--reps 3] [--filter TEXT]
//! ```
#![allow(missing_docs)]

use synclab_benches::{pools, Metric, Params, Role, Scale, BEST_ANCHOR};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let value_of = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let reps: usize = value_of("--reps").and_then(|v| v.parse().ok()).unwrap_or(3);
    let filter = value_of("--filter").unwrap_or_default();
    let scale = if quick { Scale::Quick } else { Scale::Full };
    let mut results = Vec::new();
    for w in pools::workloads()
        .into_iter()
        .filter(|w| w.id.contains(&filter))
    {
        println!("{} ({})", w.title, w.metric.unit());
        for &threads in &w.threads {
            let p = Params { threads, scale };
            let mut samples = vec![Vec::new(); w.contenders.len()];
            for _ in 0..reps {
                for (i, c) in w.contenders.iter().enumerate() {
                    samples[i].push(w.metric.value(&(c.run)(&p)));
                }
            }
            for (c, s) in w.contenders.iter().zip(samples) {
                let m = median(s.clone());
                println!(
                    "  {:>2} {:<30} {:>8.3}   {:?}",
                    threads,
                    c.name,
                    m,
                    s.iter()
                        .map(|x| (x * 1000.0).round() / 1000.0)
                        .collect::<Vec<_>>()
                );
                results.push((w.id, threads, c.name, c.role, m, w.metric));
            }
        }
    }
    println!("targets:");
    for t in pools::targets() {
        let Some(&(_, _, _, _, value, metric)) = results
            .iter()
            .find(|r| r.0 == t.workload && r.1 == t.threads && r.2 == t.contender)
        else {
            continue;
        };
        let reference = if t.reference == BEST_ANCHOR {
            results
                .iter()
                .filter(|r| r.0 == t.workload && r.1 == t.threads && r.3 == Role::Anchor)
                .map(|r| r.4)
                .fold(f64::NAN, |a, b| {
                    if a.is_nan()
                        || (metric == Metric::Mops && b > a)
                        || (metric != Metric::Mops && b < a)
                    {
                        b
                    } else {
                        a
                    }
                })
        } else {
            match results
                .iter()
                .find(|r| r.0 == t.workload && r.1 == t.threads && r.2 == t.reference)
            {
                Some(r) => r.4,
                None => continue,
            }
        };
        let advantage = if metric.higher_is_better() {
            value / reference
        } else {
            reference / value
        };
        println!(
            "  {} {} @{}: {:.2}x (need {:.2}x) {}",
            t.workload,
            t.contender,
            t.threads,
            advantage,
            t.min_advantage,
            if advantage >= t.min_advantage {
                "MET"
            } else {
                "MISSED"
            }
        );
    }
}
