//! `synclab compare`: every workload, every synclab design and every anchor, in one run.
//!
//! Contenders of one workload and thread count run *interleaved* — repetition 1 of each, then
//! repetition 2 of each (in a rotated order), … — so that drift on a shared, noisy machine
//! affects all of them alike, and every ratio comes from one run. Each cell reports the median
//! of its repetitions and the spread (min–max as a percentage of the median).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use synclab_benches::{
    Measurement, Metric, Params, Role, Scale, Target, Workload, ABSOLUTE, BEST_ANCHOR,
};

use crate::charts;

/// Arguments of `synclab compare`.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// A short run (about a minute): smaller sizes, 3 repetitions.
    #[arg(long)]
    pub quick: bool,
    /// Run only workloads whose id (e.g. `locks/contended-counter`) or contender name contains
    /// this text; may be repeated.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Thread counts for the workloads that scale with threads, e.g. `1,2,4,8`.
    #[arg(long, value_delimiter = ',')]
    pub threads: Option<Vec<usize>>,
    /// Repetitions per cell (default 3 with --quick, 5 otherwise).
    #[arg(long)]
    pub reps: Option<usize>,
    /// Folder for compare.json, compare.md and the SVG charts.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

/// The statistics of one cell: one contender of one workload at one thread count.
#[derive(Debug, Clone)]
pub struct Cell {
    pub workload: usize,
    pub threads: usize,
    pub contender: usize,
    pub values: Vec<f64>,
    pub samples_ns: Vec<u64>,
}

impl Cell {
    pub fn median(&self) -> f64 {
        let mut v = self.values.clone();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n == 0 {
            f64::NAN
        } else if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    }

    pub fn min(&self) -> f64 {
        self.values.iter().copied().fold(f64::INFINITY, f64::min)
    }

    pub fn max(&self) -> f64 {
        self.values
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// (max − min) / median, in percent.
    pub fn spread_pct(&self) -> f64 {
        let m = self.median();
        if m == 0.0 || !m.is_finite() {
            0.0
        } else {
            (self.max() - self.min()) / m * 100.0
        }
    }
}

/// Everything one run produced.
#[derive(Debug)]
pub struct Results {
    pub workloads: Vec<Workload>,
    pub cells: Vec<Cell>,
    pub reps: usize,
    pub quick: bool,
    pub seconds: f64,
    pub command: String,
}

impl Results {
    pub fn cells_of(&self, w: usize, threads: usize) -> impl Iterator<Item = &Cell> {
        self.cells
            .iter()
            .filter(move |c| c.workload == w && c.threads == threads)
    }

    pub fn thread_counts(&self, w: usize) -> Vec<usize> {
        let mut t: Vec<usize> = self
            .cells
            .iter()
            .filter(|c| c.workload == w)
            .map(|c| c.threads)
            .collect();
        t.sort_unstable();
        t.dedup();
        t
    }

    /// The best anchor's median in this workload at this thread count.
    pub fn best_anchor(&self, w: usize, threads: usize) -> Option<(usize, f64)> {
        let metric = self.workloads[w].metric;
        self.cells_of(w, threads)
            .filter(|c| self.workloads[w].contenders[c.contender].role == Role::Anchor)
            .map(|c| (c.contender, c.median()))
            .filter(|(_, m)| m.is_finite())
            .reduce(|a, b| if better(metric, b.1, a.1) { b } else { a })
    }

    fn median_of(&self, w: usize, threads: usize, name: &str) -> Option<f64> {
        self.cells_of(w, threads)
            .find(|c| self.workloads[w].contenders[c.contender].name == name)
            .map(Cell::median)
    }
}

/// Whether `a` is better than `b` under `metric`.
fn better(metric: Metric, a: f64, b: f64) -> bool {
    if metric.higher_is_better() {
        a > b
    } else {
        a < b
    }
}

/// How much better `value` is than `reference` (>1 = better), whatever the metric's direction.
pub fn advantage(metric: Metric, value: f64, reference: f64) -> f64 {
    if metric.higher_is_better() {
        value / reference
    } else {
        reference / value
    }
}

/// Runs the comparison.
pub fn run(args: CompareArgs) -> Result<(), String> {
    if args.threads.as_ref().is_some_and(|t| t.contains(&0)) {
        return Err("--threads: a thread count must be at least 1".into());
    }
    if args.reps == Some(0) {
        return Err("--reps must be at least 1".into());
    }
    let scale = if args.quick {
        Scale::Quick
    } else {
        Scale::Full
    };
    let reps = args.reps.unwrap_or(if args.quick { 3 } else { 5 });
    let workloads: Vec<Workload> = synclab_benches::workloads()
        .into_iter()
        .filter_map(|mut w| {
            if args.filter.is_empty() || args.filter.iter().any(|f| w.id.contains(f.as_str())) {
                return Some(w);
            }
            w.contenders
                .retain(|c| args.filter.iter().any(|f| c.name.contains(f.as_str())));
            (!w.contenders.is_empty()).then_some(w)
        })
        .map(|mut w| {
            if let (true, Some(t)) = (w.scales_with_threads, &args.threads) {
                w.threads = t.clone();
            }
            w
        })
        .collect();
    if workloads.is_empty() {
        return Err(format!(
            "--filter {:?} matches no workload; ids are: {}",
            args.filter,
            synclab_benches::workloads()
                .iter()
                .map(|w| w.id)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let mut cells: Vec<Cell> = Vec::new();
    for (wi, w) in workloads.iter().enumerate() {
        for &threads in &w.threads {
            for ci in 0..w.contenders.len() {
                cells.push(Cell {
                    workload: wi,
                    threads,
                    contender: ci,
                    values: Vec::new(),
                    samples_ns: Vec::new(),
                });
            }
        }
    }
    let total = (cells.len() * reps) as u64;
    eprintln!(
        "synclab compare: {} workloads, {} cells, {reps} repetitions each ({} runs), {} sizes",
        workloads.len(),
        cells.len(),
        total,
        if args.quick { "quick" } else { "full" }
    );
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} {msg}")
            .map_err(|e| e.to_string())?,
    );
    let started = Instant::now();
    // Group cells by (workload, threads) and interleave contenders within each group.
    let mut groups: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (i, c) in cells.iter().enumerate() {
        groups.entry((c.workload, c.threads)).or_default().push(i);
    }
    for ((wi, threads), members) in &groups {
        let w = &workloads[*wi];
        let params = Params {
            threads: *threads,
            scale,
        };
        // One discarded warm-up run per contender: first runs pay for page faults, thread
        // creation and cold caches, which would otherwise land in one repetition's figure.
        for &cell_index in members {
            let contender = w.contenders[cells[cell_index].contender];
            bar.set_message(format!(
                "{} [{} {}] {} (warm-up)",
                w.id, threads, w.threads_label, contender.name
            ));
            let _ = (contender.run)(&params);
        }
        for rep in 0..reps {
            let n = members.len();
            for k in 0..n {
                let cell_index = members[(k + rep) % n];
                let contender = w.contenders[cells[cell_index].contender];
                bar.set_message(format!(
                    "{} [{} {}] {}",
                    w.id, threads, w.threads_label, contender.name
                ));
                let m: Measurement = (contender.run)(&params);
                let cell = &mut cells[cell_index];
                cell.values.push(w.metric.value(&m));
                cell.samples_ns.extend_from_slice(&m.samples_ns);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();
    let results = Results {
        workloads,
        cells,
        reps,
        quick: args.quick,
        seconds: started.elapsed().as_secs_f64(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };

    let tables = render_tables(&results);
    let targets = render_targets(&results, &synclab_benches::targets());
    println!("{tables}");
    println!("{targets}");

    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("cannot create {}: {e}", args.out.display()))?;
    let machine = machine_description();
    let md = format!(
        "# synclab compare\n\nCommand: `{}`  \nMachine: {machine}  \nRepetitions per cell: {reps}; {} sizes; run took {:.0} s.\n\n{tables}\n{targets}",
        results.command,
        if results.quick { "quick" } else { "full" },
        results.seconds
    );
    write(&args.out.join("compare.md"), &md)?;
    write(
        &args.out.join("compare.json"),
        &render_json(&results, &machine),
    )?;
    let charts = charts::write_all(&results, &args.out)?;
    eprintln!(
        "wrote compare.md, compare.json and {} charts to {} in {:.0} s",
        charts,
        args.out.display(),
        results.seconds
    );
    Ok(())
}

fn write(path: &std::path::Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// A number with three significant digits.
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Synclab => "synclab",
        Role::Anchor => "anchor",
        Role::Floor => "floor",
        Role::Seed => "seed",
    }
}

/// One Markdown table per workload: rows are contenders, columns thread counts; each cell is
/// "median ±spread% (advantage over the best anchor)".
fn render_tables(r: &Results) -> String {
    let mut out = String::new();
    for (wi, w) in r.workloads.iter().enumerate() {
        let threads = r.thread_counts(wi);
        let _ = writeln!(
            out,
            "### {} (`{}`)\n\n{}; cell = median ±spread (×: advantage over the best anchor, >1 is better)\n",
            w.title,
            w.id,
            w.metric.unit()
        );
        let mut header = "| contender | role |".to_string();
        let mut rule = "|---|---|".to_string();
        for t in &threads {
            let _ = write!(header, " {t} {} |", w.threads_label);
            rule.push_str("---|");
        }
        let _ = writeln!(out, "{header}\n{rule}");
        for (ci, c) in w.contenders.iter().enumerate() {
            let mut row = format!("| {} | {} |", c.name, role_label(c.role));
            for &t in &threads {
                let cell = r
                    .cells_of(wi, t)
                    .find(|cell| cell.contender == ci)
                    .expect("every contender has a cell at every thread count");
                let median = cell.median();
                let ratio = r
                    .best_anchor(wi, t)
                    .map(|(_, best)| format!(" ({:.2}×)", advantage(w.metric, median, best)))
                    .unwrap_or_default();
                let _ = write!(
                    row,
                    " {} ±{:.0}%{} |",
                    fmt_value(median),
                    cell.spread_pct(),
                    ratio
                );
            }
            let _ = writeln!(out, "{row}");
        }
        out.push('\n');
    }
    out
}

/// The issues' performance targets, judged against this run.
fn render_targets(r: &Results, targets: &[Target]) -> String {
    let mut out = String::from(
        "### Targets\n\n| target | workload | threads | measured advantage | required | verdict |\n|---|---|---|---|---|---|\n",
    );
    for t in targets {
        let Some(wi) = r.workloads.iter().position(|w| w.id == t.workload) else {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | — | {:.2}× | not run (filtered out) |",
                t.claim, t.workload, t.threads, t.min_advantage
            );
            continue;
        };
        let metric = r.workloads[wi].metric;
        let value = r.median_of(wi, t.threads, t.contender);
        if t.reference == ABSOLUTE {
            let (measured, verdict) = match value {
                Some(v) => {
                    let ok = if metric.higher_is_better() {
                        v >= t.min_advantage
                    } else {
                        v <= t.min_advantage
                    };
                    (
                        format!("{} {}", fmt_value(v), metric.unit()),
                        if ok { "met" } else { "MISSED" },
                    )
                }
                None => ("—".to_string(), "not run"),
            };
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {measured} | {} {} {} | {verdict} |",
                t.claim,
                t.workload,
                t.threads,
                if metric.higher_is_better() {
                    "≥"
                } else {
                    "≤"
                },
                fmt_value(t.min_advantage),
                metric.unit()
            );
            continue;
        }
        let reference = if t.reference == BEST_ANCHOR {
            r.best_anchor(wi, t.threads).map(|(_, m)| m)
        } else {
            r.median_of(wi, t.threads, t.reference)
        };
        let (measured, verdict) = match (value, reference) {
            (Some(v), Some(reference)) => {
                let a = advantage(metric, v, reference);
                (
                    format!("{a:.2}×"),
                    if a >= t.min_advantage {
                        "met"
                    } else {
                        "MISSED"
                    },
                )
            }
            _ => ("—".to_string(), "not run"),
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {measured} | {:.2}× | {verdict} |",
            t.claim, t.workload, t.threads, t.min_advantage
        );
    }
    out
}

fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn json_num(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "null".into()
    }
}

fn render_json(r: &Results, machine: &str) -> String {
    let mut out = String::from("{\n");
    let _ = writeln!(out, "  \"command\": {},", json_str(&r.command));
    let _ = writeln!(out, "  \"machine\": {},", json_str(machine));
    let _ = writeln!(out, "  \"repetitions\": {},", r.reps);
    let _ = writeln!(out, "  \"quick\": {},", r.quick);
    let _ = writeln!(out, "  \"seconds\": {},", json_num(r.seconds));
    out.push_str("  \"cells\": [\n");
    let n = r.cells.len();
    for (i, c) in r.cells.iter().enumerate() {
        let w = &r.workloads[c.workload];
        let ct = &w.contenders[c.contender];
        let best = r.best_anchor(c.workload, c.threads);
        let values: Vec<String> = c.values.iter().map(|v| json_num(*v)).collect();
        let _ = write!(
            out,
            "    {{\"workload\": {}, \"title\": {}, \"metric\": {}, \"threads\": {}, \"contender\": {}, \"role\": {}, \"median\": {}, \"min\": {}, \"max\": {}, \"values\": [{}], \"advantage_over_best_anchor\": {}}}",
            json_str(w.id),
            json_str(w.title),
            json_str(w.metric.unit()),
            c.threads,
            json_str(ct.name),
            json_str(role_label(ct.role)),
            json_num(c.median()),
            json_num(c.min()),
            json_num(c.max()),
            values.join(", "),
            best.map(|(_, b)| json_num(advantage(w.metric, c.median(), b)))
                .unwrap_or_else(|| "null".into()),
        );
        out.push_str(if i + 1 < n { ",\n" } else { "\n" });
    }
    out.push_str("  ]\n}\n");
    out
}

/// CPU model, core count and kernel, read from /proc where available.
pub fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown kernel".into());
    format!("{cpu}, {cores} cores available, Linux {kernel}")
}
