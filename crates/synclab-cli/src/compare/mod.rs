//! `synclab compare`: every workload, every synclab design and every anchor, in paired rounds;
//! every target judged from per-round ratios with a 95 % interval; results written as
//! compare.json (serde), compare.md and SVG charts, and — with `--write-docs` — into
//! docs/benchmarks.md and the README.
//!
//! * [`runner`]: the budget, calibration, alternating rounds, noise and failure handling;
//! * [`stats`]: medians and the order-statistic interval; [`analysis`]: best anchors, paired
//!   advantages, verdicts;
//! * [`results`]: the file format; [`meta`]: provenance; [`noise`]: foreign CPU load;
//! * [`icount`]: instruction counts under callgrind; [`report`] and [`docs`]: the text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use synclab_benches::{Scale, Workload};

pub mod analysis;
pub mod docs;
pub mod icount;
pub mod meta;
pub mod noise;
pub mod report;
pub mod reproduce;
pub mod results;
pub mod runner;
pub mod stats;

use results::{ResultsFile, Settings, WorkloadInfo};

/// The most threads (or pairs, or workers) `--threads` accepts: far more than any workload
/// needs on a small machine, and far below what makes thread creation fail.
pub const MAX_THREADS: usize = 256;
/// The most rounds `--rounds` accepts.
pub const MAX_ROUNDS: usize = 10_000;
/// The longest budget `--budget` accepts, in seconds (a day).
pub const MAX_BUDGET_SECONDS: f64 = 86_400.0;
/// The most suite runs `--runs` accepts.
pub const MAX_RUNS: usize = 10;
/// The most passes `--passes` accepts.
pub const MAX_PASSES: usize = 8;
/// Passes over the suite in one full run (see `runner`'s module docs, "Passes").
const FULL_PASSES: usize = 3;

/// Seconds a full run is planned to take: a run stays well under 12 minutes, and the targets'
/// cells get enough rounds that at most a quarter of the verdicts are undecided here (with
/// 300 s, one run of two left 16 of 53 undecided).
const FULL_BUDGET: f64 = 480.0;
/// Seconds a `--quick` run is planned to take.
const QUICK_BUDGET: f64 = 45.0;

/// Arguments of `synclab compare`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CompareArgs {
    /// A short run (under a minute and a half): smaller calls, a 45 s budget.
    #[arg(long)]
    pub quick: bool,
    /// Run only workloads whose id (e.g. `locks/contended-counter`) or contender name contains
    /// this text; may be repeated. Also selects the counted operations of --instructions.
    #[arg(long)]
    pub filter: Vec<String>,
    /// Thread counts for the workloads that scale with threads, e.g. `1,2,4,8` (at most 256).
    #[arg(long, value_delimiter = ',')]
    pub threads: Option<Vec<usize>>,
    /// A fixed number of rounds for every cell, instead of what the budget buys.
    #[arg(long, visible_alias = "reps")]
    pub rounds: Option<usize>,
    /// Seconds each run of the suite is planned to take (default 480, 45 with --quick).
    #[arg(long)]
    pub budget: Option<f64>,
    /// Passes over the suite within one run: each cell's rounds are split over them, so they
    /// sample the whole run (default 3, 1 with --quick).
    #[arg(long)]
    pub passes: Option<usize>,
    /// Run the whole suite this many times back to back, and compare the verdicts
    /// (0 = no timing run, with --instructions).
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Also count instructions per operation under valgrind's callgrind (needs valgrind).
    #[arg(long)]
    pub instructions: bool,
    /// Independent instruction-count measurements (they must agree within 1 %).
    #[arg(long, default_value_t = 2)]
    pub instruction_runs: usize,
    /// Folder for compare.json, compare.md and the SVG charts.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Write docs/benchmarks.md's generated block, its charts and the README's "results at a
    /// glance" from the results (this run's, or --from's), and copy the results file to
    /// docs/benchmarks/compare.json.
    #[arg(long)]
    pub write_docs: bool,
    /// With --write-docs: regenerate the docs from this results file, measuring nothing.
    #[arg(long, requires = "write_docs")]
    pub from: Option<PathBuf>,
    /// Check that the docs are what docs/benchmarks/compare.json generates; measure nothing.
    #[arg(long, conflicts_with = "write_docs")]
    pub check_docs: bool,
    /// Run the suite and print, per target, this results file's verdicts beside the fresh
    /// ones and whether they agree (e.g. `--reproduce docs/benchmarks/compare.json`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["from", "check_docs"])]
    pub reproduce: Option<PathBuf>,
    /// The repository whose docs --write-docs and --check-docs use (default: the one this
    /// binary was built from).
    #[arg(long)]
    pub docs_root: Option<PathBuf>,
}

impl CompareArgs {
    /// Checks every number before anything runs; the error names the option.
    fn validate(&self) -> Result<(), String> {
        if let Some(threads) = &self.threads {
            if threads.is_empty() {
                return Err("--threads needs at least one thread count".into());
            }
            if let Some(&bad) = threads.iter().find(|&&t| t == 0 || t > MAX_THREADS) {
                return Err(format!(
                    "--threads: each thread count must be between 1 and {MAX_THREADS} (got {bad})"
                ));
            }
        }
        if let Some(r) = self.rounds {
            if r == 0 || r > MAX_ROUNDS {
                return Err(format!(
                    "--rounds (--reps) must be between 1 and {MAX_ROUNDS} (got {r})"
                ));
            }
        }
        if let Some(b) = self.budget {
            if !(b.is_finite() && b > 0.0 && b <= MAX_BUDGET_SECONDS) {
                return Err(format!(
                    "--budget must be a number of seconds above 0 and at most {MAX_BUDGET_SECONDS} (got {b})"
                ));
            }
        }
        if let Some(p) = self.passes {
            if p == 0 || p > MAX_PASSES {
                return Err(format!(
                    "--passes must be between 1 and {MAX_PASSES} (got {p})"
                ));
            }
        }
        if self.runs > MAX_RUNS {
            return Err(format!(
                "--runs must be at most {MAX_RUNS} (got {})",
                self.runs
            ));
        }
        if self.runs == 0 && !self.instructions {
            return Err("--runs 0 measures nothing unless --instructions is given".into());
        }
        if self.instruction_runs == 0 || self.instruction_runs > 5 {
            return Err(format!(
                "--instruction-runs must be between 1 and 5 (got {})",
                self.instruction_runs
            ));
        }
        Ok(())
    }

    fn plan(&self) -> runner::Plan {
        let quick = self.quick;
        runner::Plan {
            scale: if quick { Scale::Quick } else { Scale::Full },
            budget: Duration::from_secs_f64(self.budget.unwrap_or(if quick {
                QUICK_BUDGET
            } else {
                FULL_BUDGET
            })),
            fixed_rounds: self.rounds,
            round: Duration::from_millis(if quick { 8 } else { 20 }),
            min_rounds: if quick { [8, 6] } else { [12, 6] },
            max_rounds: if quick { [100, 30] } else { [200, 60] },
            target_weight: 3.0,
            noise_threshold: 0.10,
            remeasure_allowance: 0.10,
            passes: self.passes.unwrap_or(if quick { 1 } else { FULL_PASSES }),
        }
    }
}

/// Checks that `dir` can hold the results before anything is measured.
fn check_out_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("--out {}: cannot create the folder: {e}", dir.display()))?;
    let probe = dir.join(".synclab-write-test");
    std::fs::write(&probe, b"")
        .map_err(|e| format!("--out {}: cannot write into the folder: {e}", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

/// The workloads selected by `--filter`, with `--threads` applied.
fn select_workloads(args: &CompareArgs) -> Vec<Workload> {
    synclab_benches::workloads()
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
        .collect()
}

fn role_name(role: synclab_benches::Role) -> &'static str {
    match role {
        synclab_benches::Role::Synclab => "synclab",
        synclab_benches::Role::Anchor => "anchor",
        synclab_benches::Role::Floor => "floor",
        synclab_benches::Role::Seed => "seed",
    }
}

fn workload_info(w: &Workload) -> WorkloadInfo {
    WorkloadInfo {
        id: w.id.into(),
        group: w.group.into(),
        title: w.title.into(),
        threads_label: w.threads_label.into(),
        unit: w.metric.unit().into(),
        higher_is_better: w.metric.higher_is_better(),
        contenders: w
            .contenders
            .iter()
            .map(|c| results::ContenderInfo {
                name: c.name.into(),
                role: role_name(c.role).into(),
            })
            .collect(),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs `synclab compare`.
pub fn run(args: CompareArgs) -> Result<(), String> {
    args.validate()?;
    let docs_root = args.docs_root.clone().unwrap_or_else(meta::workspace_root);
    if args.check_docs {
        docs::check(&docs_root)?;
        eprintln!(
            "docs/benchmarks.md, its charts and the README block match docs/benchmarks/compare.json"
        );
        return Ok(());
    }
    if let Some(from) = &args.from {
        let file = ResultsFile::load(from)?;
        let written = docs::write(&docs_root, &file)?;
        eprintln!(
            "wrote {written} files under {} from {}",
            docs_root.display(),
            from.display()
        );
        return Ok(());
    }
    check_out_dir(&args.out)?;
    // Read before anything is measured: a bad path fails at once.
    let reproduced = match &args.reproduce {
        Some(path) => Some(ResultsFile::load(path)?),
        None => None,
    };
    let workloads = select_workloads(&args);
    if workloads.is_empty() && args.runs > 0 {
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
    let plan = args.plan();
    let targets = synclab_benches::targets();
    let cells: usize = workloads.iter().map(|w| w.threads.len()).sum();
    eprintln!(
        "synclab compare: {} workloads, {cells} cells, {} run(s) of a {:.0} s budget each{}; {} sizes",
        workloads.len(),
        args.runs,
        plan.budget.as_secs_f64(),
        match plan.fixed_rounds {
            Some(n) => format!(" ({n} rounds per cell, fixed)"),
            None => String::new(),
        },
        if args.quick { "quick" } else { "full" }
    );
    let mut file = ResultsFile {
        schema: results::SCHEMA,
        meta: meta::collect(),
        settings: Settings {
            quick: args.quick,
            budget_seconds: plan.budget.as_secs_f64(),
            fixed_rounds: plan.fixed_rounds,
            round_ms: plan.round.as_secs_f64() * 1e3,
            min_rounds: plan.min_rounds,
            max_rounds: plan.max_rounds,
            target_weight: plan.target_weight,
            noise_threshold: plan.noise_threshold,
            confidence: stats::CONFIDENCE,
            filter: args.filter.clone(),
            threads: args.threads.clone(),
            passes: plan.passes,
        },
        workloads: workloads.iter().map(workload_info).collect(),
        runs: Vec::new(),
        instructions: None,
    };
    // Targets are judged against every workload, so one whose workload was filtered out
    // still shows its unit ("not run").
    let all_workloads: Vec<WorkloadInfo> = synclab_benches::workloads()
        .iter()
        .map(workload_info)
        .collect();
    for index in 1..=args.runs {
        let label = if args.runs > 1 {
            format!("run {index}/{} ", args.runs)
        } else {
            String::new()
        };
        let mut run = runner::run_suite(&workloads, &targets, &plan, index, label);
        run.targets = targets
            .iter()
            .map(|t| analysis::judge(&all_workloads, &run, t))
            .collect();
        let [met, missed, undecided, not_run] = analysis::tally(&run.targets);
        eprintln!(
            "run {index}: {:.0} s; targets met {met}, missed {missed}, undecided {undecided}, not run {not_run}",
            run.seconds
        );
        file.runs.push(run);
    }
    if args.instructions {
        let scratch = args.out.join("callgrind");
        let ins = icount::measure(&args.filter, args.instruction_runs, &scratch)?;
        let _ = std::fs::remove_dir(&scratch);
        file.instructions = Some(ins);
    }

    println!("{}", report::terminal(&file));
    write(&args.out.join("compare.json"), &file.to_json()?)?;
    write(&args.out.join("compare.md"), &report::compare_md(&file))?;
    let mut charts = 0;
    if let Some(run) = file.runs.first() {
        for (_, name, svg) in crate::charts::render_all(&file, run) {
            write(&args.out.join(name), &svg)?;
            charts += 1;
        }
    }
    eprintln!(
        "wrote compare.json, compare.md and {charts} charts to {}",
        args.out.display()
    );
    if let (Some(published), Some(path)) = (&reproduced, &args.reproduce) {
        println!("{}", reproduce::terminal(published, &file, path));
    }
    if args.write_docs {
        // A published run (the README's build) is recorded as a reproduction of the file it
        // replaces (or of --reproduce's file).
        if file.meta.features.as_ref().is_some_and(|f| f.is_empty()) && !file.runs.is_empty() {
            let previous = match reproduced {
                Some(published) => Some(published),
                None => ResultsFile::load(&docs_root.join(docs::RESULTS)).ok(),
            };
            if let Some(previous) = previous {
                reproduce::append_record(&docs_root, reproduce::compare(&previous, &file))?;
            }
        }
        let written = docs::write(&docs_root, &file)?;
        eprintln!("wrote {written} files under {}", docs_root.display());
    }
    let failures: Vec<String> = file
        .runs
        .iter()
        .flat_map(|r| &r.failures)
        .map(|f| {
            format!(
                "{} @ {} threads, {}: {}",
                f.workload, f.threads, f.contender, f.message
            )
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} contender call(s) failed (the results mark them): {}",
            failures.len(),
            failures.join("; ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CompareArgs {
        CompareArgs {
            runs: 1,
            instruction_runs: 2,
            out: "results".into(),
            ..CompareArgs::default()
        }
    }

    #[test]
    fn bad_numbers_name_their_option() {
        let cases: Vec<(CompareArgs, &str)> = vec![
            (
                CompareArgs {
                    threads: Some(vec![2, 100_000]),
                    ..args()
                },
                "--threads",
            ),
            (
                CompareArgs {
                    threads: Some(vec![0]),
                    ..args()
                },
                "--threads",
            ),
            (
                CompareArgs {
                    rounds: Some(0),
                    ..args()
                },
                "--rounds",
            ),
            (
                CompareArgs {
                    rounds: Some(MAX_ROUNDS + 1),
                    ..args()
                },
                "--rounds",
            ),
            (
                CompareArgs {
                    budget: Some(f64::NAN),
                    ..args()
                },
                "--budget",
            ),
            (
                CompareArgs {
                    passes: Some(0),
                    ..args()
                },
                "--passes",
            ),
            (
                CompareArgs {
                    passes: Some(MAX_PASSES + 1),
                    ..args()
                },
                "--passes",
            ),
            (CompareArgs { runs: 11, ..args() }, "--runs"),
            (CompareArgs { runs: 0, ..args() }, "--runs"),
            (
                CompareArgs {
                    instruction_runs: 0,
                    ..args()
                },
                "--instruction-runs",
            ),
        ];
        for (a, option) in cases {
            let err = a.validate().unwrap_err();
            assert!(err.starts_with(option), "{err}");
        }
        args().validate().unwrap();
    }
}
