//! synclab-verification: one scenario, every world.
//!
//! A model is written once as a plain closure over `synclab::sync` and run by [`Model::check`]
//! in whichever world the crate was built for:
//!
//! | build | what `check` does | bounds (defaults; environment overrides) |
//! |---|---|---|
//! | `RUSTFLAGS="--cfg synclab_loom"` | loom explores every interleaving within the preemption bound | the model's own bound; `SYNCLAB_LOOM_PREEMPTIONS=N\|none` overrides all models; loom's `LOOM_MAX_BRANCHES` etc. are honoured |
//! | `RUSTFLAGS="--cfg synclab_shuttle"` | shuttle runs PCT then random schedules, each from a fixed seed | the model's iterations × `SYNCLAB_SHUTTLE_SCALE` (default 1); PCT depth 3 |
//! | plain | the closure runs on real threads, as a stress loop, under a watchdog | the model's stress iterations × `SYNCLAB_STRESS_SCALE`; the deadline (default [`DEFAULT_STRESS_DEADLINE`]) × `SYNCLAB_DEADLINE_SCALE` |
//!
//! A stress loop that hangs fails its test instead of stalling CI: the loop runs on a thread of
//! its own, and the test panics with `HANG:` (the model, the iteration, the deadline) when it
//! has not finished by the deadline. The hung thread is left behind; the test binary exits
//! when its tests are done.
//!
//! Every run prints one line (world, model, threads, operations, bound, executions, seconds)
//! to stderr and, when `SYNCLAB_REPORT` names a file, appends it there as JSON; `cargo xtask`
//! collects those lines into the tables of `docs/verification.md`.
//!
//! Known-broken designs are checked with [`zoo_test!`], which runs the model in a child
//! process and asserts *how* it failed — loom's deadlock panic can abort the whole test binary
//! (loom#291), so an expected failure must never run in the test harness's own process.

use std::io::Write;
use std::time::{Duration, Instant};

pub mod counterexample;
pub mod expect;
#[cfg(any(synclab_loom, synclab_shuttle))]
mod explain;
pub mod linearizability;
pub mod processes;
mod reached;
pub mod suites;
pub mod zoo_docs;
pub use expect::{run_expected_failure, Expect, Failure};
pub use reached::{asleep, reached, reached_if_asleep, yield_until_asleep};

pub use synclab::sync::World;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The repository README's three examples (threads, two processes, a design of your own),
/// compiled and run as doc tests: this crate has both `synclab` and the harness. Linux only,
/// as the two-process example's segments are.
#[cfg(all(doctest, target_os = "linux"))]
#[doc = include_str!("../../README.md")]
struct RepositoryReadmeDoctests;

/// A scenario with its stated bounds, set from code with the builder methods below.
///
/// Every bound has a default and a builder method; the environment variables of the module
/// docs only *scale or override* them for a whole run (`cargo xtask verify` uses them to
/// raise every model's bounds at once), and [`Model::ignore_environment`] opts a model out.
///
/// ```
/// use synclab_verification::Model;
/// use std::time::Duration;
///
/// let model = Model::new("my seqlock: 1 writer, 1 reader")
///     .threads(2)
///     .ops("writer: 2 writes; reader: 1 read")
///     .preemption_bound(3)          // loom
///     .max_branches(10_000)         // loom: the longest path it may explore
///     .max_duration(Duration::from_secs(60))
///     .shuttle_iterations(500)      // shuttle: schedules per scheduler
///     .pct_depth(2)
///     .seed(7)
///     .stress_iterations(100);      // plain build
/// assert_eq!(model.effective_preemption_bound(), Some(3));
/// ```
#[derive(Debug, Clone)]
pub struct Model {
    name: String,
    threads: usize,
    ops: String,
    preemption_bound: Option<usize>,
    max_branches: Option<usize>,
    max_permutations: Option<usize>,
    max_duration: Option<Duration>,
    shuttle_iterations: usize,
    pct_depth: usize,
    seed: u64,
    shuttle_max_steps: Option<usize>,
    stress_iterations: usize,
    use_environment: bool,
    replay: Option<String>,
    #[cfg_attr(
        any(synclab_loom, synclab_shuttle),
        allow(dead_code, reason = "the checkers report hangs themselves")
    )]
    deadline: Duration,
    /// Paths some execution must reach ([`Model::expect_reached`]).
    expect_reached: Vec<&'static str>,
}

/// Whether failures are explained with a counterexample (not during the ordering audit, nor
/// with `SYNCLAB_COUNTEREXAMPLE=0`).
pub(crate) fn explain_wanted() -> bool {
    std::env::var_os("SYNCLAB_AUDIT").is_none()
        && std::env::var("SYNCLAB_COUNTEREXAMPLE").as_deref() != Ok("0")
}

/// The shuttle seed when [`Model::seed`] is not set.
pub const DEFAULT_SEED: u64 = 0x5EED_5EED;

/// How long a plain-build stress loop may run before its test fails as a hang (see the crate
/// docs); [`Model::deadline`] sets it per model, `SYNCLAB_DEADLINE_SCALE` multiplies it (the
/// sanitizer leg runs ~10× slower).
pub const DEFAULT_STRESS_DEADLINE: Duration = Duration::from_secs(120);

/// What one [`Model::check`] run did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The world it ran in.
    pub world: World,
    /// Model name.
    pub name: String,
    /// Executions explored (loom), schedules run (shuttle) or stress iterations (plain).
    pub executions: usize,
    /// Wall-clock time.
    pub elapsed: Duration,
}

impl Model {
    /// A model named `name`, with defaults: 2 threads, preemption bound 3 under loom,
    /// 1000 shuttle schedules per scheduler, 200 stress iterations.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            threads: 2,
            ops: String::new(),
            preemption_bound: Some(3),
            max_branches: None,
            max_permutations: None,
            max_duration: None,
            shuttle_iterations: 1000,
            pct_depth: 3,
            seed: DEFAULT_SEED,
            shuttle_max_steps: None,
            stress_iterations: 200,
            use_environment: true,
            replay: None,
            deadline: DEFAULT_STRESS_DEADLINE,
            expect_reached: Vec::new(),
        }
    }

    /// loom: fail an execution that takes more than `branches` branch points (loom's
    /// `max_branches`, default 1,000; `LOOM_MAX_BRANCHES` if set). A spin loop that never
    /// sleeps is an unbounded path, reported as "Model exceeded maximum number of branches".
    pub fn max_branches(mut self, branches: usize) -> Self {
        self.max_branches = Some(branches);
        self
    }

    /// loom: stop after exploring `permutations` executions (loom's `max_permutations`; by
    /// default unlimited). The model then passes having explored only that many: its report
    /// says how many it ran.
    pub fn max_permutations(mut self, permutations: usize) -> Self {
        self.max_permutations = Some(permutations);
        self
    }

    /// loom: stop exploring after `duration` (loom's `max_duration`; by default unlimited).
    pub fn max_duration(mut self, duration: Duration) -> Self {
        self.max_duration = Some(duration);
        self
    }

    /// shuttle: the PCT scheduler's depth (default 3): how many priority changes a schedule
    /// may make, so the bugs it finds with high probability are those needing that many.
    pub fn pct_depth(mut self, depth: usize) -> Self {
        self.pct_depth = depth;
        self
    }

    /// shuttle: the seed of both schedulers (default [`DEFAULT_SEED`]): runs are replayable.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Ignore `SYNCLAB_LOOM_PREEMPTIONS`, `SYNCLAB_SHUTTLE_SCALE` and `SYNCLAB_STRESS_SCALE`:
    /// the bounds set in code are the bounds run.
    pub fn ignore_environment(mut self) -> Self {
        self.use_environment = false;
        self
    }

    /// How many threads the scenario runs, the main thread included (for the report).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }

    /// What each thread does, in a few words (for the report).
    pub fn ops(mut self, ops: impl Into<String>) -> Self {
        self.ops = ops.into();
        self
    }

    /// No preemption bound under loom: every interleaving is explored.
    pub fn exhaustive(mut self) -> Self {
        self.preemption_bound = None;
        self
    }

    /// Explore only executions with at most `bound` preemptions under loom.
    pub fn preemption_bound(mut self, bound: usize) -> Self {
        self.preemption_bound = Some(bound);
        self
    }

    /// Schedules per shuttle scheduler (PCT and random each run this many).
    pub fn shuttle_iterations(mut self, iterations: usize) -> Self {
        self.shuttle_iterations = iterations;
        self
    }

    /// Fails a shuttle schedule after `steps` scheduling steps (shuttle's default is
    /// 1,000,000). A busy-wait never exceeds the default quickly, so zoo models of livelocks
    /// lower it to make the failure cheap to reach; a correct model must finish well within it.
    pub fn shuttle_max_steps(mut self, steps: usize) -> Self {
        self.shuttle_max_steps = Some(steps);
        self
    }

    /// shuttle: run this one schedule (the replay string of a counterexample, or what shuttle
    /// printed after "failing schedule:") instead of searching, with the trace on, and print
    /// the counterexample if it fails. Under loom and in the plain build the model runs as
    /// usual (the schedule is shuttle's).
    ///
    /// ```
    /// use synclab_verification::Model;
    ///
    /// let model = Model::new("my seqlock").threads(2).replay("910102ccf6ffffff0f0000");
    /// ```
    pub fn replay(mut self, schedule: impl Into<String>) -> Self {
        self.replay = Some(schedule.into());
        self
    }

    /// Iterations of the plain-build stress loop.
    pub fn stress_iterations(mut self, iterations: usize) -> Self {
        self.stress_iterations = iterations;
        self
    }

    /// The plain-build stress loop fails as a hang if it has not finished all its iterations
    /// after `deadline` (times `SYNCLAB_DEADLINE_SCALE`). Under a checker it has no effect:
    /// loom and shuttle report a deadlock themselves.
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// The loom preemption bound this run will use, after environment overrides.
    pub fn effective_preemption_bound(&self) -> Option<usize> {
        if !self.use_environment {
            return self.preemption_bound;
        }
        match std::env::var("SYNCLAB_LOOM_PREEMPTIONS").ok().as_deref() {
            Some("none") => None,
            Some(n) => n.parse().ok().or(self.preemption_bound),
            None => self.preemption_bound,
        }
    }

    /// A count of this model's, times the scale in `var` unless the environment is ignored.
    fn scaled(&self, count: usize, var: &str) -> usize {
        if self.use_environment {
            count * scale(var)
        } else {
            count
        }
    }

    fn bound_text(&self) -> String {
        match synclab::sync::WORLD {
            World::Loom => match self.effective_preemption_bound() {
                None => "exhaustive; spurious off+first-wait".to_string(),
                Some(b) => format!("preemptions<={b}; spurious off+first-wait"),
            },
            World::Shuttle if self.replay.is_some() => "replay of one schedule".to_string(),
            World::Shuttle if self.threads <= 1 => format!(
                "random, {} schedules",
                self.scaled(self.shuttle_iterations, "SYNCLAB_SHUTTLE_SCALE")
            ),
            World::Shuttle => format!(
                "pct(depth {})+random, {} schedules each",
                self.pct_depth,
                self.scaled(self.shuttle_iterations, "SYNCLAB_SHUTTLE_SCALE")
            ),
            World::Plain => format!(
                "{} iterations",
                self.scaled(self.stress_iterations, "SYNCLAB_STRESS_SCALE")
            ),
        }
    }

    /// Why this model does not run in this build, if it does not: on real threads only, a
    /// model whose name contains an entry of `SYNCLAB_TSAN_SKIP` (comma-separated), which
    /// `cargo xtask tsan` sets for designs that publish through fences — ThreadSanitizer does
    /// not model fences, so it would report false races there (loom and Miri check them).
    fn skipped_in_this_run(&self) -> Option<String> {
        if synclab::sync::WORLD != World::Plain || !self.use_environment {
            return None;
        }
        let skip = std::env::var("SYNCLAB_TSAN_SKIP").ok()?;
        skip.split(',')
            .map(str::trim)
            .find(|entry| !entry.is_empty() && self.name.contains(entry))
            .map(|entry| format!("SYNCLAB_TSAN_SKIP names {entry:?}: it publishes through fences, which ThreadSanitizer does not model"))
    }

    /// Runs `body` in this build's world and reports what was explored.
    ///
    /// Panics (failing the test) if any execution panics: an assertion, a data race or a
    /// deadlock found by the checker.
    pub fn check<F>(self, body: F) -> Report
    where
        F: Fn() + Send + Sync + 'static,
    {
        if let Some(reason) = self.skipped_in_this_run() {
            eprintln!("[plain] model {}: skipped ({reason})", self.name);
            return Report {
                world: synclab::sync::WORLD,
                name: self.name.clone(),
                executions: 0,
                elapsed: Duration::ZERO,
            };
        }
        let started = Instant::now();
        let executions = reached::around(&self, || run_in_world(&self, body));
        let report = Report {
            world: synclab::sync::WORLD,
            name: self.name.clone(),
            executions,
            elapsed: started.elapsed(),
        };
        self.emit(&report);
        report
    }

    fn emit(&self, report: &Report) {
        let world = format!("{:?}", report.world).to_lowercase();
        eprintln!(
            "[{world}] model {}: threads={} ops=\"{}\" bound={} executions={} time={:.2}s",
            self.name,
            self.threads,
            self.ops,
            self.bound_text(),
            report.executions,
            report.elapsed.as_secs_f64()
        );
        append_report(&serde_json::json!({
            "world": world,
            "model": self.name,
            "threads": self.threads,
            "ops": self.ops,
            "bound": self.bound_text(),
            "executions": report.executions,
            "seconds": seconds_3(report.elapsed.as_secs_f64()),
            "result": "pass",
        }));
    }
}

fn scale(var: &str) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Seconds rounded to milliseconds, for the reports.
pub(crate) fn seconds_3(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}

/// Appends one JSON line to the file named by `SYNCLAB_REPORT`, if set.
pub(crate) fn append_report(line: &serde_json::Value) {
    if let Ok(path) = std::env::var("SYNCLAB_REPORT") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            // A report line is best effort: a failure to write it must not fail the model.
            let _ = writeln!(file, "{line}");
        }
    }
}

#[cfg(synclab_loom)]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    if model.replay.is_some() {
        eprintln!(
            "[loom] model {}: a replay schedule is shuttle's; loom explores every execution instead",
            model.name
        );
    }
    explain::loom::run(model, body)
}

#[cfg(synclab_shuttle)]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    match &model.replay {
        Some(schedule) => explain::shuttle::replay(model, schedule, body),
        None => explain::shuttle::run(model, body),
    }
}

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc};

    let iterations = model.scaled(model.stress_iterations, "SYNCLAB_STRESS_SCALE");
    let deadline = model.deadline * model.scaled(1, "SYNCLAB_DEADLINE_SCALE") as u32;
    // The loop runs on its own thread so that a hang in the code under test cannot stall the
    // test: the watchdog below gives up on it after the deadline.
    let current = Arc::new(AtomicUsize::new(0));
    let (done, finished) = mpsc::channel();
    let runner = {
        let current = Arc::clone(&current);
        std::thread::Builder::new()
            .name(format!("stress: {}", model.name))
            .spawn(move || {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for i in 0..iterations {
                        // Relaxed: a progress note for the hang report only.
                        current.store(i, Ordering::Relaxed);
                        body();
                    }
                }));
                let _ = done.send(outcome);
            })
            .expect("the stress loop's thread starts")
    };
    match finished.recv_timeout(deadline) {
        Ok(Ok(())) => {
            let _ = runner.join();
            iterations
        }
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!(
            "HANG: model {:?} did not finish {iterations} stress iterations within {:.0?} \
             (iteration {} still running); its thread is left behind",
            model.name,
            deadline,
            current.load(Ordering::Relaxed)
        ),
    }
}

/// An [`UnsafeCell`](synclab::sync::UnsafeCell) that a model shares between threads on
/// purpose, so that the checker — not the type system — judges whether the accesses are
/// ordered. Under loom an unordered pair of accesses is reported as a data race.
#[derive(Debug, Default)]
pub struct SharedCell<T>(synclab::sync::UnsafeCell<T>);

// SAFETY: a `SharedCell` exists to let models make unsynchronised accesses that the checker
// then judges; every access goes through `with`/`with_mut`, which loom tracks, and the models
// only store `Send` payloads.
unsafe impl<T: Send> Sync for SharedCell<T> {}

impl<T> SharedCell<T> {
    /// Wraps `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self(synclab::sync::UnsafeCell::new(value))
    }

    /// Reads the value (a tracked shared access).
    #[track_caller]
    pub fn get(&self) -> T
    where
        T: Copy,
    {
        // SAFETY: whether this read is ordered after every write is exactly what the model
        // checks; under loom an unordered read panics with "Causality violation".
        self.0.with(|p| unsafe { *p })
    }

    /// Overwrites the value (a tracked exclusive access).
    #[track_caller]
    pub fn set(&self, value: T) {
        // SAFETY: as for `get`: the checker reports a write that races with another access.
        self.0.with_mut(|p| unsafe { *p = value })
    }
}
