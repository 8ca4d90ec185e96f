//! Runs the `queues` workloads at full scale, interleaving contenders over several rounds,
//! and prints each contender's median Mops/s and the queue targets' ratios.
//!
//! `cargo run --release -p synclab-benches --example queue_ratios -- [rounds] [quick] [filter]`
#![allow(missing_docs)]

use std::collections::BTreeMap;

use synclab_benches::{Metric, Params, Role, Scale, BEST_ANCHOR};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(3);
    let scale = if args.iter().any(|a| a == "quick") {
        Scale::Quick
    } else {
        Scale::Full
    };
    let filter = args.get(2).cloned().unwrap_or_default();
    let mut medians: BTreeMap<(String, usize, String), f64> = BTreeMap::new();
    let mut roles: BTreeMap<(String, String), Role> = BTreeMap::new();
    for w in synclab_benches::workloads()
        .into_iter()
        .filter(|w| w.group == "queues" && w.id.contains(filter.as_str()))
    {
        for &threads in &w.threads {
            let p = Params { threads, scale };
            let mut samples: Vec<Vec<f64>> = vec![Vec::new(); w.contenders.len()];
            for _ in 0..rounds {
                for (i, c) in w.contenders.iter().enumerate() {
                    samples[i].push(Metric::Mops.value(&(c.run)(&p)));
                }
            }
            for (i, c) in w.contenders.iter().enumerate() {
                let mut s = samples[i].clone();
                s.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let median = s[s.len() / 2];
                println!(
                    "{:<22} {:>2}P{:<2}C {:<42} median {:>7.2} Mops/s  runs {:?}",
                    w.id,
                    threads,
                    threads,
                    c.name,
                    median,
                    s.iter()
                        .map(|v| (v * 100.0).round() / 100.0)
                        .collect::<Vec<_>>()
                );
                medians.insert((w.id.to_string(), threads, c.name.to_string()), median);
                roles.insert((w.id.to_string(), c.name.to_string()), c.role);
            }
        }
    }
    println!();
    for t in synclab_benches::targets() {
        let Some(&mine) =
            medians.get(&(t.workload.to_string(), t.threads, t.contender.to_string()))
        else {
            continue;
        };
        let (reference, value) = if t.reference == BEST_ANCHOR {
            medians
                .iter()
                .filter(|((w, th, c), _)| {
                    w == t.workload
                        && *th == t.threads
                        && roles.get(&(w.clone(), c.clone())) == Some(&Role::Anchor)
                })
                .map(|((_, _, c), v)| (c.clone(), *v))
                .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap())
                .unwrap_or_default()
        } else {
            let v = medians
                .get(&(t.workload.to_string(), t.threads, t.reference.to_string()))
                .copied()
                .unwrap_or_default();
            (t.reference.to_string(), v)
        };
        let ratio = mine / value.max(1e-9);
        println!(
            "{} {}P{}C: {:.2} / {:.2} ({reference}) = {:.2}x (need {:.2}x) {}",
            t.workload,
            t.threads,
            t.threads,
            mine,
            value,
            ratio,
            t.min_advantage,
            if ratio >= t.min_advantage {
                "MET"
            } else {
                "MISSED"
            }
        );
    }
}
