//! synclab-verification: one scenario, every world.
//!
//! A model is written once as a plain closure over `synclab::sync` and run by [`Model::check`]
//! in whichever world the crate was built for:
//!
//! | build | what `check` does | bounds (defaults; environment overrides) |
//! |---|---|---|
//! | `RUSTFLAGS="--cfg synclab_loom"` | loom explores every interleaving within the preemption bound | the model's own bound; `SYNCLAB_LOOM_PREEMPTIONS=N\|none` overrides all models; loom's `LOOM_MAX_BRANCHES` etc. are honoured |
//! | `RUSTFLAGS="--cfg synclab_shuttle"` | shuttle runs PCT then random schedules, each from a fixed seed | the model's iterations × `SYNCLAB_SHUTTLE_SCALE` (default 1); PCT depth 3 |
//! | plain | the closure runs on real threads, as a stress loop | the model's stress iterations × `SYNCLAB_STRESS_SCALE` |
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

pub mod expect;
pub mod linearizability;
pub mod processes;
pub use expect::{run_expected_failure, Expect, Failure};

pub use synclab::sync::World;

/// A scenario with its stated bounds.
#[derive(Debug, Clone)]
pub struct Model {
    name: String,
    threads: usize,
    ops: String,
    preemption_bound: Option<usize>,
    shuttle_iterations: usize,
    pct_depth: usize,
    shuttle_max_steps: Option<usize>,
    stress_iterations: usize,
}

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
            shuttle_iterations: 1000,
            pct_depth: 3,
            shuttle_max_steps: None,
            stress_iterations: 200,
        }
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

    /// Iterations of the plain-build stress loop.
    pub fn stress_iterations(mut self, iterations: usize) -> Self {
        self.stress_iterations = iterations;
        self
    }

    /// The loom preemption bound this run will use, after environment overrides.
    pub fn effective_preemption_bound(&self) -> Option<usize> {
        match std::env::var("SYNCLAB_LOOM_PREEMPTIONS").ok().as_deref() {
            Some("none") => None,
            Some(n) => n.parse().ok().or(self.preemption_bound),
            None => self.preemption_bound,
        }
    }

    fn bound_text(&self) -> String {
        match synclab::sync::WORLD {
            World::Loom => match self.effective_preemption_bound() {
                None => "exhaustive; spurious off+first-wait".to_string(),
                Some(b) => format!("preemptions<={b}; spurious off+first-wait"),
            },
            World::Shuttle if self.threads <= 1 => format!(
                "random, {} schedules",
                self.shuttle_iterations * scale("SYNCLAB_SHUTTLE_SCALE")
            ),
            World::Shuttle => format!(
                "pct(depth {})+random, {} schedules each",
                self.pct_depth,
                self.shuttle_iterations * scale("SYNCLAB_SHUTTLE_SCALE")
            ),
            World::Plain => format!(
                "{} iterations",
                self.stress_iterations * scale("SYNCLAB_STRESS_SCALE")
            ),
        }
    }

    /// Runs `body` in this build's world and reports what was explored.
    ///
    /// Panics (failing the test) if any execution panics: an assertion, a data race or a
    /// deadlock found by the checker.
    pub fn check<F>(self, body: F) -> Report
    where
        F: Fn() + Send + Sync + 'static,
    {
        let started = Instant::now();
        let executions = run_in_world(&self, body);
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
        let line = format!(
            "{{\"world\":\"{world}\",\"model\":\"{}\",\"threads\":{},\"ops\":\"{}\",\"bound\":\"{}\",\"executions\":{},\"seconds\":{:.3},\"result\":\"pass\"}}",
            json_escape(&self.name),
            self.threads,
            json_escape(&self.ops),
            json_escape(&self.bound_text()),
            report.executions,
            report.elapsed.as_secs_f64()
        );
        append_report(&line);
    }
}

fn scale(var: &str) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Appends one JSON line to the file named by `SYNCLAB_REPORT`, if set.
pub(crate) fn append_report(line: &str) {
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

pub(crate) fn json_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(synclab_loom)]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    // Two passes: with no spurious futex returns, then with the first wait on every word
    // returning spuriously (see `synclab::sync::futex`), so both paths of every wait site are
    // explored.
    let count = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(body);
    for spurious_budget in [0, 1] {
        synclab::sync::futex::set_spurious_budget(spurious_budget);
        let counter = Arc::clone(&count);
        let body = Arc::clone(&body);
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = model.effective_preemption_bound();
        builder.check(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            body();
        });
    }
    synclab::sync::futex::set_spurious_budget(0);
    count.load(Ordering::Relaxed)
}

#[cfg(synclab_shuttle)]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    use shuttle::scheduler::{PctScheduler, RandomScheduler};
    use shuttle::{Config, Runner};
    use std::sync::Arc;

    const SEED: u64 = 0x5EED_5EED;
    let iterations = model.shuttle_iterations * scale("SYNCLAB_SHUTTLE_SCALE");
    // The warning says that shuttle treats every ordering as SeqCst; docs/verification.md
    // says so once, and the zoo shows it (`Failure::Blind`).
    let config = || {
        let mut config = Config::new();
        config.silence_warnings = true;
        if let Some(steps) = model.shuttle_max_steps {
            config.max_steps = shuttle::MaxSteps::FailAfter(steps);
        }
        config
    };
    let body = Arc::new(body);
    let pct_body = Arc::clone(&body);
    // PCT needs at least two threads to have anything to prioritise (it asserts so).
    let pct = if model.threads > 1 {
        Runner::new(
            PctScheduler::new_from_seed(SEED, model.pct_depth, iterations),
            config(),
        )
        .run(move || pct_body())
    } else {
        0
    };
    let random =
        Runner::new(RandomScheduler::new_from_seed(SEED, iterations), config()).run(move || body());
    pct + random
}

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
fn run_in_world<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    let iterations = model.stress_iterations * scale("SYNCLAB_STRESS_SCALE");
    for _ in 0..iterations {
        body();
    }
    iterations
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
    pub fn new(value: T) -> Self {
        Self(synclab::sync::UnsafeCell::new(value))
    }

    /// Reads the value (a tracked shared access).
    pub fn get(&self) -> T
    where
        T: Copy,
    {
        // SAFETY: whether this read is ordered after every write is exactly what the model
        // checks; under loom an unordered read panics with "Causality violation".
        self.0.with(|p| unsafe { *p })
    }

    /// Overwrites the value (a tracked exclusive access).
    pub fn set(&self, value: T) {
        // SAFETY: as for `get`: the checker reports a write that races with another access.
        self.0.with_mut(|p| unsafe { *p = value })
    }
}
