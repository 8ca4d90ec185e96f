//! Runs the `array/*` workloads once each (full size unless `--quick`) and prints every
//! contender's figure and the target ratios, all from one run — the figures in
//! `docs/designs.md` come from here until `synclab compare` covers them.
//!
//! ```text
//! cargo run --release -p synclab-benches --example array_figures [-- --quick] [-- FILTER]
//! ```

use synclab_benches::{array, Params, Scale};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let scale = if args.iter().any(|a| a == "--quick") {
        Scale::Quick
    } else {
        Scale::Full
    };
    let filter = args.iter().find(|a| !a.starts_with("--")).cloned();
    let mut results = Vec::new();
    for w in array::workloads() {
        if filter.as_deref().is_some_and(|f| !w.id.contains(f)) {
            continue;
        }
        for &threads in &w.threads {
            println!(
                "{} ({}, {} {threads})",
                w.id,
                w.metric.unit(),
                w.threads_label
            );
            for c in &w.contenders {
                let m = (c.run)(&Params { threads, scale });
                let v = w.metric.value(&m);
                println!("  {:<30} {:>14.1}   ({:?})", c.name, v, c.role);
                results.push((w.id, threads, c.name, v));
            }
        }
    }
    println!("targets:");
    for t in array::targets() {
        let find = |name: &str| {
            results
                .iter()
                .find(|(id, th, n, _)| *id == t.workload && *th == t.threads && *n == name)
                .map(|r| r.3)
        };
        if let (Some(c), Some(r)) = (find(t.contender), find(t.reference)) {
            let ratio = c / r; // lower-is-better metrics: contender / reference
            println!(
                "  {}: {:.2}× ({} {:.1} vs {} {:.1}) — {}",
                t.claim,
                ratio,
                t.contender,
                c,
                t.reference,
                r,
                if 1.0 / ratio >= t.min_advantage {
                    "met"
                } else {
                    "MISSED"
                }
            );
        }
    }
}
