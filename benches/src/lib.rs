//! synclab-benches: every workload defined once, run by criterion (`cargo bench`) and by
//! `synclab compare`, with every synclab design beside the anchors people use today.
//!
//! A [`Workload`] is a scenario (say, "contended counter") with a [`Metric`], the thread
//! counts it is run at, and its [`Contender`]s: synclab designs, anchors (std, parking_lot,
//! crossbeam, flume, rayon, threadpool) and physical floors (a spin ping-pong, an uncontended
//! atomic). A contender is a plain function that runs the whole scenario once and returns a
//! [`Measurement`]; how often and in which order contenders run is the runner's business:
//! `synclab compare` repeats calls to fill short *rounds*, alternates the contenders of a
//! workload round by round, and judges every [`Target`] from the per-round ratios.
//!
//! A [`CountedOp`] is one single-threaded operation (a lock + unlock, a push + pop, a publish +
//! read, a pool's submit-to-run) whose *instruction count* `synclab compare --instructions`
//! measures under valgrind's callgrind: a cost that does not move with the machine's load.

use std::time::{Duration, Instant};

pub mod array;
pub mod floor;
pub mod fork_join;
pub mod locks;
pub mod pools;
#[cfg(target_os = "linux")]
pub mod processes;
pub mod queues;

/// How big one call of a contender is.
///
/// `synclab compare` calls a contender many times (it fills each round with as many calls as
/// its round length needs, and runs many rounds), so one call should be *short*: it is the
/// unit the runner repeats, not the whole experiment. Size a new workload so that one call
/// takes about 1–10 ms at `Quick` and 10–40 ms at `Full` on a 2-core machine; a call much
/// longer than that makes rounds long and few, and `synclab compare` says so in its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// A smoke-sized call: tests, criterion, `synclab compare --quick`.
    Quick,
    /// One call of a full `synclab compare` run.
    Full,
}

/// The parameters of one run of a contender.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Threads (or workers, or producer/consumer pairs — the workload says which).
    pub threads: usize,
    /// Run size.
    pub scale: Scale,
}

impl Params {
    /// Picks `quick` or `full` by scale.
    pub fn pick<T>(&self, quick: T, full: T) -> T {
        match self.scale {
            Scale::Quick => quick,
            Scale::Full => full,
        }
    }
}

/// Who a contender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A synclab design.
    Synclab,
    /// A library people use today (the yardstick).
    Anchor,
    /// A physical floor: what the hardware allows at best.
    Floor,
    /// The seed document's own design, shown for its cost.
    Seed,
}

/// What one run measured.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// Operations completed (items moved, lock acquisitions, tasks run, handoffs…).
    pub ops: u64,
    /// Wall-clock time of the measured part.
    pub elapsed: Duration,
    /// Per-operation latencies in nanoseconds, for latency workloads.
    pub samples_ns: Vec<u64>,
    /// Process CPU time used during the measured part, for idle-CPU workloads.
    pub cpu: Option<Duration>,
    /// Operations per participant (thread), for fairness workloads.
    pub shares: Vec<u64>,
}

impl Measurement {
    /// `ops` operations in `elapsed`.
    pub fn ops(ops: u64, elapsed: Duration) -> Self {
        Self {
            ops,
            elapsed,
            ..Self::default()
        }
    }

    /// Latency samples (ns), taken over `elapsed`.
    pub fn latencies(samples_ns: Vec<u64>, elapsed: Duration) -> Self {
        Self {
            ops: samples_ns.len() as u64,
            elapsed,
            samples_ns,
            ..Self::default()
        }
    }

    /// `cpu` time used over `elapsed` of wall time.
    pub fn cpu(cpu: Duration, elapsed: Duration) -> Self {
        Self {
            ops: 0,
            elapsed,
            cpu: Some(cpu),
            ..Self::default()
        }
    }

    /// Operations done by each participant (thread) over `elapsed`; `ops` is their sum.
    pub fn shares(shares: Vec<u64>, elapsed: Duration) -> Self {
        Self {
            ops: shares.iter().sum(),
            elapsed,
            shares,
            ..Self::default()
        }
    }
}

/// What a workload reports, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Million operations per second (higher is better).
    Mops,
    /// Median per-operation latency in nanoseconds (lower is better).
    LatencyNs,
    /// Mean nanoseconds per operation, `elapsed / ops` (lower is better).
    NsPerOp,
    /// Milliseconds of CPU per second of wall time (lower is better).
    CpuMsPerSec,
    /// The worst-served participant's share of the operations divided by the mean share,
    /// from [`Measurement::shares`] (higher is better; 1 = perfectly even, 0 = someone
    /// starved).
    WorstOverMean,
    /// The best-served participant's operations divided by the worst-served one's (lower is
    /// better; a participant with none counts as one, so the ratio stays finite).
    MaxOverMin,
}

impl Metric {
    /// The unit, for table headers and chart axes.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Mops => "Mops/s",
            Metric::LatencyNs => "ns (median)",
            Metric::NsPerOp => "ns/op",
            Metric::CpuMsPerSec => "CPU ms/s",
            Metric::WorstOverMean => "worst ÷ mean",
            Metric::MaxOverMin => "max ÷ min",
        }
    }

    /// Whether a larger value is better.
    pub fn higher_is_better(self) -> bool {
        matches!(self, Metric::Mops | Metric::WorstOverMean)
    }

    /// The value of `m` in this metric.
    pub fn value(self, m: &Measurement) -> f64 {
        let secs = m.elapsed.as_secs_f64().max(1e-12);
        match self {
            Metric::Mops => m.ops as f64 / secs / 1e6,
            Metric::LatencyNs => median_u64(&m.samples_ns),
            Metric::NsPerOp => secs * 1e9 / (m.ops.max(1) as f64),
            Metric::CpuMsPerSec => m.cpu.unwrap_or_default().as_secs_f64() * 1e3 / secs,
            Metric::WorstOverMean => {
                let worst = m.shares.iter().min().copied().unwrap_or(0) as f64;
                let mean = m.ops as f64 / m.shares.len().max(1) as f64;
                if mean > 0.0 {
                    worst / mean
                } else {
                    0.0
                }
            }
            Metric::MaxOverMin => {
                let best = m.shares.iter().max().copied().unwrap_or(0) as f64;
                let worst = m.shares.iter().min().copied().unwrap_or(0).max(1) as f64;
                best / worst
            }
        }
    }
}

/// The median of `values` (0 when empty).
pub fn median_u64(values: &[u64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2] as f64
    } else {
        (v[n / 2 - 1] as f64 + v[n / 2] as f64) / 2.0
    }
}

/// One implementation taking part in a workload.
#[derive(Debug, Clone, Copy)]
pub struct Contender {
    /// Name in tables, e.g. `"FutexMutex"` or `"parking_lot::Mutex"`.
    pub name: &'static str,
    /// Who it is.
    pub role: Role,
    /// Runs the whole scenario once.
    pub run: fn(&Params) -> Measurement,
}

/// A scenario, its metric, and everyone who runs it.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Stable identifier, `group/name`, used by `--filter` and in the JSON.
    pub id: &'static str,
    /// Group: `floor`, `locks`, `queues`, `array`, `pools`.
    pub group: &'static str,
    /// Human title.
    pub title: &'static str,
    /// What `threads` means here ("threads", "producer/consumer pairs", "workers").
    pub threads_label: &'static str,
    /// Thread counts to run at by default.
    pub threads: Vec<usize>,
    /// Whether `synclab compare --threads` replaces [`Self::threads`].
    pub scales_with_threads: bool,
    /// The metric.
    pub metric: Metric,
    /// Everyone who runs it.
    pub contenders: Vec<Contender>,
}

/// A performance target from the issues, checked against one `synclab compare` run.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// What is promised, in words.
    pub claim: &'static str,
    /// The workload's id.
    pub workload: &'static str,
    /// The thread count the target applies to.
    pub threads: usize,
    /// The contender being judged.
    pub contender: &'static str,
    /// What it is compared with: a contender's name, or [`BEST_ANCHOR`].
    pub reference: &'static str,
    /// The required ratio, in "better-is-bigger" form: contender-vs-reference advantage must
    /// be at least this (1.0 = as good; 0.95 = at most 5 % worse; 1.25 = 25 % better).
    pub min_advantage: f64,
}

/// A [`Target::reference`] meaning "the best anchor in that workload and thread count".
pub const BEST_ANCHOR: &str = "<best anchor>";

/// A [`Target::reference`] meaning "an absolute bound": then [`Target::min_advantage`] is the
/// bound itself, in the workload's unit — a ceiling for lower-is-better metrics (e.g. idle
/// CPU < 5 ms/s), a floor for higher-is-better ones.
pub const ABSOLUTE: &str = "<absolute>";

/// One operation whose instruction count is measured (see the crate docs).
///
/// `run(n, region)` sets up whatever the operation needs for `n` repetitions (a lock, a queue,
/// an array of `n` slots, a pool with one worker), then calls `region` *once* with a closure
/// that performs the operation `n` times, then tears down. The runner counts instructions
/// inside `region` only ([`CountScope::Region`]) or in the whole process, every thread
/// ([`CountScope::Process`]), for `n` and `2n`, and reports the difference divided by `n`:
/// set-up, tear-down and start-up cancel out.
#[derive(Debug, Clone, Copy)]
pub struct CountedOp {
    /// Group: `locks`, `queues`, `array`, `pools`.
    pub group: &'static str,
    /// What one operation is, e.g. `"lock + increment + unlock"`.
    pub operation: &'static str,
    /// Name in the table, as in the timed workloads.
    pub contender: &'static str,
    /// Who it is.
    pub role: Role,
    /// Where instructions are counted.
    pub scope: CountScope,
    /// Sets up, calls `region` once with `n` operations, tears down.
    pub run: CountedRun,
}

/// What a [`CountedOp`] calls around its `n` operations (the runner's counting hook).
pub type Region<'a> = &'a dyn Fn(&mut dyn FnMut());

/// A [`CountedOp`]'s body: `run(n, region)`.
pub type CountedRun = fn(n: u64, region: Region<'_>);

/// Where a [`CountedOp`]'s instructions are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountScope {
    /// Only inside `region`, on the calling thread: single-threaded operations.
    Region,
    /// Every instruction of every thread of the process: operations that involve a worker
    /// thread (a pool's submit-to-run). Idle spinning of other threads is counted too, so
    /// the operation must keep them busy or asleep (see the pools group).
    Process,
}

/// Every counted operation, in report order.
pub fn counted_ops() -> Vec<CountedOp> {
    let mut all = Vec::new();
    all.extend(locks::counted_ops());
    all.extend(queues::counted_ops());
    all.extend(array::counted_ops());
    all.extend(pools::counted_ops());
    all.extend(fork_join::counted_ops());
    all
}

/// Every workload, in report order.
pub fn workloads() -> Vec<Workload> {
    let mut all = Vec::new();
    all.extend(floor::workloads());
    all.extend(locks::workloads());
    all.extend(queues::workloads());
    all.extend(array::workloads());
    all.extend(pools::workloads());
    all.extend(fork_join::workloads());
    #[cfg(target_os = "linux")]
    all.extend(processes::workloads());
    all
}

/// Every performance target, in report order.
pub fn targets() -> Vec<Target> {
    let mut all = Vec::new();
    all.extend(locks::targets());
    all.extend(queues::targets());
    all.extend(array::targets());
    all.extend(pools::targets());
    all.extend(fork_join::targets());
    #[cfg(target_os = "linux")]
    all.extend(processes::targets());
    all
}

/// CPU time used so far by this whole process (user + system), from `getrusage(2)`.
pub fn process_cpu_time() -> Duration {
    // SAFETY: `rusage` is plain old data; all-zero is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid, writable pointer; the call only writes `usage`.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if rc != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The process's CPU time over an idle window, after sleeping `settle`: 50 ms of wall time
/// (20 ms in a quick run), for the idle-CPU workloads. The runner repeats the call over many
/// rounds, and `getrusage` counts CPU time to the microsecond or better, so a short window
/// tells 0.05 ms/s from a 5 ms/s budget. The figure includes what measuring costs — the
/// sleeping caller's wake-up and the `getrusage` calls, some tens of microseconds a window —
/// which each idle workload shows as a floor contender that runs the window with nothing
/// else alive.
pub fn idle_window(p: &Params, settle: Duration) -> Measurement {
    std::thread::sleep(settle);
    let window = p.pick(Duration::from_millis(20), Duration::from_millis(50));
    let cpu_before = process_cpu_time();
    let start = Instant::now();
    std::thread::sleep(window);
    let cpu = process_cpu_time().saturating_sub(cpu_before);
    Measurement::cpu(cpu, start.elapsed())
}

/// Times `f`, returning its result and the elapsed wall time.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let start = Instant::now();
    let r = f();
    (r, start.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fairness_metrics_read_the_shares() {
        let m = Measurement::shares(vec![10, 30, 20], Duration::from_millis(1));
        assert_eq!(m.ops, 60);
        assert!((Metric::WorstOverMean.value(&m) - 0.5).abs() < 1e-9);
        assert!((Metric::MaxOverMin.value(&m) - 3.0).abs() < 1e-9);
        let starved = Measurement::shares(vec![0, 8], Duration::from_millis(1));
        assert_eq!(Metric::WorstOverMean.value(&starved), 0.0);
        assert_eq!(Metric::MaxOverMin.value(&starved), 8.0);
        assert!(Metric::WorstOverMean.higher_is_better());
        assert!(!Metric::MaxOverMin.higher_is_better());
    }

    /// Every counted operation runs (at a small `n`) and calls its region exactly once, and
    /// names are unique, so a table row is one operation.
    #[test]
    fn every_counted_op_runs_its_region_once() {
        let mut seen = std::collections::BTreeSet::new();
        for op in counted_ops() {
            assert!(
                seen.insert((op.group, op.contender)),
                "{} {} listed twice",
                op.group,
                op.contender
            );
            let calls = std::cell::Cell::new(0);
            (op.run)(100, &|f| {
                calls.set(calls.get() + 1);
                f();
            });
            assert_eq!(calls.get(), 1, "{} {}", op.group, op.contender);
        }
    }

    /// Every group's targets, checked once against every group's workloads: the workload
    /// exists and runs at the target's thread count, the contender is one of its contenders,
    /// and the reference is one too, or [`BEST_ANCHOR`], or [`ABSOLUTE`].
    #[test]
    fn every_target_names_a_workload_thread_count_and_contenders() {
        let all = workloads();
        for t in targets() {
            let w = all
                .iter()
                .find(|w| w.id == t.workload)
                .unwrap_or_else(|| panic!("{}: unknown workload {}", t.claim, t.workload));
            assert!(
                w.threads.contains(&t.threads),
                "{}: {} threads",
                t.claim,
                t.threads
            );
            let known = |name: &str| w.contenders.iter().any(|c| c.name == name);
            assert!(
                known(t.contender),
                "{}: unknown contender {}",
                t.claim,
                t.contender
            );
            assert!(
                t.reference == BEST_ANCHOR || t.reference == ABSOLUTE || known(t.reference),
                "{}: unknown reference {}",
                t.claim,
                t.reference
            );
        }
    }
}
