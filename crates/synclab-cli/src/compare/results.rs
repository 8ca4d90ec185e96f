//! `compare.json`: everything a `synclab compare` invocation measured, written with serde and
//! read back by `--write-docs --from`, `--check-docs` and the docs drift test.
//!
//! The file is self-contained: it names the workloads, their units and contenders, every
//! round's value, every target's interval and verdict, and the instruction counts, so the
//! docs can be regenerated from it without the code that produced it. [`SCHEMA`] changes
//! whenever a field changes meaning; readers refuse other versions.

use serde::{Deserialize, Serialize};

use super::stats::{Estimate, Verdict};

/// The version of this layout.
pub const SCHEMA: u32 = 1;

/// The whole file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResultsFile {
    /// [`SCHEMA`].
    pub schema: u32,
    /// Where and from what the figures come.
    pub meta: Meta,
    /// How the runs were planned.
    pub settings: Settings,
    /// The workloads that were run, with their contenders.
    pub workloads: Vec<WorkloadInfo>,
    /// One entry per run of the suite (`--runs N`).
    pub runs: Vec<Run>,
    /// The instruction-count table (`--instructions`), if measured.
    pub instructions: Option<Instructions>,
}

/// Provenance.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    /// `git rev-parse HEAD` of the tree the binary was built from.
    pub commit: String,
    /// Whether that tree had uncommitted changes to tracked files.
    pub dirty: bool,
    /// When the invocation started, UTC, ISO 8601.
    pub date: String,
    /// The machine.
    pub machine: Machine,
    /// `rustc --version` of the compiler that built the binary.
    pub rustc: String,
    /// The command line.
    pub command: String,
    /// The binary's extra cargo features (empty: the README's build, which the published
    /// figures come from); `None` in files written before the field existed.
    #[serde(default)]
    pub features: Option<Vec<String>>,
}

/// The machine the figures come from.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    /// CPU model, from /proc/cpuinfo.
    pub cpu: String,
    /// Online CPUs (the /proc/stat `cpuN` lines).
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
}

/// The plan every run followed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// `--quick`: smaller calls and budget.
    pub quick: bool,
    /// Seconds each run of the suite is planned to take.
    pub budget_seconds: f64,
    /// `--rounds`: a fixed round count for every cell instead of the budget.
    pub fixed_rounds: Option<usize>,
    /// How long each contender's share of a round is meant to last, in ms.
    pub round_ms: f64,
    /// Fewest rounds of a cell that carries a target / of any other cell.
    pub min_rounds: [usize; 2],
    /// Most rounds of a cell that carries a target / of any other cell.
    pub max_rounds: [usize; 2],
    /// Budget weight of a cell that carries a target (other cells weigh 1).
    pub target_weight: f64,
    /// Foreign CPU load, as a share of the machine, above which a cell is re-measured or
    /// marked noisy.
    pub noise_threshold: f64,
    /// Confidence level of every interval.
    pub confidence: f64,
    /// `--filter` texts, if any.
    pub filter: Vec<String>,
    /// `--threads`, if given.
    pub threads: Option<Vec<usize>>,
    /// Passes over the suite in each run (results written before passes existed made one).
    #[serde(default = "one_pass")]
    pub passes: usize,
}

fn one_pass() -> usize {
    1
}

/// A workload as it was run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WorkloadInfo {
    /// `group/name`.
    pub id: String,
    /// Its group.
    pub group: String,
    /// Human title.
    pub title: String,
    /// What the thread count means.
    pub threads_label: String,
    /// The metric's unit.
    pub unit: String,
    /// Whether a larger value is better.
    pub higher_is_better: bool,
    /// Contenders, in declaration order.
    pub contenders: Vec<ContenderInfo>,
}

/// A contender's name and role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ContenderInfo {
    /// Name in tables.
    pub name: String,
    /// `synclab`, `anchor`, `floor` or `seed`.
    pub role: String,
}

/// One run of the whole suite.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Run {
    /// 1-based.
    pub index: usize,
    /// When it started, UTC, ISO 8601.
    pub started: String,
    /// Wall time of the run.
    pub seconds: f64,
    /// One per (workload, thread count).
    pub cells: Vec<CellResult>,
    /// Every target, judged on this run.
    pub targets: Vec<TargetResult>,
    /// Contender calls that failed (panicked), with their message.
    pub failures: Vec<Failure>,
}

/// One (workload, thread count): its contenders ran in alternating rounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    /// The workload's id.
    pub workload: String,
    /// The thread count.
    pub threads: usize,
    /// Whether a target is judged on this cell (it got [`Settings::target_weight`]).
    pub carries_target: bool,
    /// Rounds measured (after the warm-up).
    pub rounds: usize,
    /// Wall time of the cell, warm-up and any re-measurement included.
    pub seconds: f64,
    /// The cell's share of the run's budget, in seconds.
    pub budget_seconds: f64,
    /// Foreign CPU load while the rounds ran.
    pub noise: Noise,
    /// Every contender's per-round values, index = round.
    pub series: Vec<Series>,
    /// Why the cell's figures deserve caution (a contender's call far longer than a round, a
    /// failure), if anything.
    pub warnings: Vec<String>,
}

/// One contender's values in a cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Series {
    /// The contender's name.
    pub contender: String,
    /// Calls per round, at most (each round's value is the mean of its calls' values; a round
    /// makes fewer when they take longer than the round's share).
    pub calls_per_round: usize,
    /// Wall time of the warm-up call, ms (what sized the round).
    pub warmup_call_ms: f64,
    /// One value per round in the workload's unit; `null` where the call failed or gave no
    /// finite value.
    pub values: Vec<Option<f64>>,
    /// For latency workloads: the pooled samples' quantiles at 0, 1, …, 100 % of 0.999 (so
    /// the last point is the 99.9th percentile), in ns.
    pub latency_quantiles_ns: Option<Vec<f64>>,
}

impl Series {
    /// The finite values.
    pub fn finite(&self) -> Vec<f64> {
        self.values.iter().flatten().copied().collect()
    }
}

/// Foreign CPU load during a cell.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Noise {
    /// CPU time used by other processes (and stolen by the hypervisor) while the rounds ran,
    /// as a share of the machine's capacity (cores × wall time); `null` where /proc/stat
    /// could not be read.
    pub foreign_share: Option<f64>,
    /// The first attempt's share, when the cell was measured a second time.
    pub first_attempt_share: Option<f64>,
    /// Whether the kept figures were measured above the threshold.
    pub noisy: bool,
}

/// A target, judged on one run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TargetResult {
    /// What is promised.
    pub claim: String,
    /// Workload id.
    pub workload: String,
    /// Thread count.
    pub threads: usize,
    /// The contender judged.
    pub contender: String,
    /// The reference as declared: a contender, `<best anchor>` or `<absolute>`.
    pub reference: String,
    /// For `<best anchor>`: the anchor chosen (best median in the cell).
    pub reference_used: Option<String>,
    /// The required advantage (a ratio), or the bound in the workload's unit for an
    /// absolute target.
    pub required: f64,
    /// Whether `required` is an absolute bound on the contender's value.
    pub absolute: bool,
    /// The workload's unit (for absolute targets).
    pub unit: String,
    /// Whether a larger value is better (absolute targets are judged in this direction;
    /// ratios are always better-is-bigger).
    pub higher_is_better: bool,
    /// Median and interval of the per-round advantages (or values, for absolute targets).
    pub estimate: Option<EstimateJson>,
    /// The verdict.
    pub verdict: Verdict,
    /// Whether the cell was marked noisy.
    pub noisy: bool,
}

/// [`Estimate`] as stored. A ratio can be infinite (a reference that did nothing in some
/// rounds); JSON has no infinity, so those are written as the strings `"inf"` / `"-inf"`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct EstimateJson {
    /// Median.
    #[serde(with = "extended_f64")]
    pub median: f64,
    /// Interval, low end.
    #[serde(with = "extended_f64")]
    pub lo: f64,
    /// Interval, high end.
    #[serde(with = "extended_f64")]
    pub hi: f64,
    /// Values (rounds) it comes from.
    pub n: usize,
    /// Exact coverage of the interval.
    pub coverage: f64,
}

/// An `f64` that may be infinite: a number, or `"inf"` / `"-inf"`.
mod extended_f64 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if *v == f64::INFINITY {
            s.serialize_str("inf")
        } else if *v == f64::NEG_INFINITY {
            s.serialize_str("-inf")
        } else {
            s.serialize_f64(*v)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Number(f64),
        Text(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(v),
            Repr::Text(t) if t == "inf" => Ok(f64::INFINITY),
            Repr::Text(t) if t == "-inf" => Ok(f64::NEG_INFINITY),
            Repr::Text(t) => Err(serde::de::Error::custom(format!("not a number: {t:?}"))),
        }
    }
}

impl From<Estimate> for EstimateJson {
    fn from(e: Estimate) -> Self {
        Self {
            median: e.median,
            lo: e.lo,
            hi: e.hi,
            n: e.n,
            coverage: e.coverage,
        }
    }
}

/// A contender call that failed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    /// Workload id.
    pub workload: String,
    /// Thread count.
    pub threads: usize,
    /// Contender.
    pub contender: String,
    /// The panic message.
    pub message: String,
}

/// The instruction-count table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Instructions {
    /// `valgrind --version`.
    pub valgrind: String,
    /// The smaller operation count; each op is also run at twice this, and the per-op figure
    /// is the difference divided by it.
    pub n: u64,
    /// How many complete measurements were made (each row has this many figures).
    pub runs: usize,
    /// One row per counted operation.
    pub rows: Vec<InstructionRow>,
}

/// One operation's instruction counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct InstructionRow {
    /// Group.
    pub group: String,
    /// What one operation is.
    pub operation: String,
    /// Contender.
    pub contender: String,
    /// Role.
    pub role: String,
    /// `region` or `process`.
    pub scope: String,
    /// Instructions per operation, one per measurement.
    pub per_op: Vec<f64>,
    /// Raw totals `[Ir(n), Ir(2n)]` per measurement.
    pub totals: Vec<[u64; 2]>,
}

impl InstructionRow {
    /// The largest relative difference between measurements, in percent of their mean.
    pub fn disagreement_pct(&self) -> f64 {
        let min = self.per_op.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self
            .per_op
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mean = self.per_op.iter().sum::<f64>() / self.per_op.len().max(1) as f64;
        if self.per_op.len() < 2 || mean == 0.0 {
            0.0
        } else {
            (max - min) / mean.abs() * 100.0
        }
    }
}

impl ResultsFile {
    /// Reads and checks a results file.
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file: ResultsFile = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a synclab results file: {e}", path.display()))?;
        if file.schema != SCHEMA {
            return Err(format!(
                "{} has schema {}, this synclab reads schema {SCHEMA}: regenerate it",
                path.display(),
                file.schema
            ));
        }
        Ok(file)
    }

    /// The JSON text, pretty-printed, with a final newline.
    pub fn to_json(&self) -> Result<String, String> {
        serde_json::to_string_pretty(self)
            .map(|mut s| {
                s.push('\n');
                s
            })
            .map_err(|e| format!("cannot serialise the results: {e}"))
    }
}

impl Run {
    /// The cells of `workload`, in thread order.
    pub fn cells_of<'a>(&'a self, workload: &'a str) -> impl Iterator<Item = &'a CellResult> {
        self.cells.iter().filter(move |c| c.workload == workload)
    }

    /// The cell of `workload` at `threads`.
    pub fn cell(&self, workload: &str, threads: usize) -> Option<&CellResult> {
        self.cells
            .iter()
            .find(|c| c.workload == workload && c.threads == threads)
    }
}

impl CellResult {
    /// A contender's series.
    pub fn series_of(&self, contender: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.contender == contender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_interval_ends_survive_json() {
        let e = EstimateJson {
            median: 2.5,
            lo: 0.0,
            hi: f64::INFINITY,
            n: 7,
            coverage: 0.98,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.contains("\"hi\":\"inf\""), "{text}");
        let back: EstimateJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
    }
}
