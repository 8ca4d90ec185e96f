//! shuttle: run PCT and random schedules; on a failure shrink the failing schedule, replay the
//! shortest with the trace on, and print it with its replay string.
//!
//! Shrinking is greedy over the schedule's preemptions (a switch away from a thread that could
//! have gone on): for each, from the last, try the schedule cut there and run on without
//! preempting, then the schedule with only that switch taken out; keep a candidate that fails
//! the same way in fewer steps, and start again from it. A guided scheduler replays a plan of
//! task choices and, where the plan ends or names a task that cannot run, lets the running
//! task go on (or hands over in turn when it yields). Random choices (the futex model's
//! spurious coin) come from the schedule's seed, in order, as shuttle's replay draws them, so
//! every schedule found replays with `shuttle::replay`.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use shuttle::scheduler::{PctScheduler, RandomScheduler, Schedule, Scheduler, Task, TaskId};
use shuttle::{Config, Runner};
use shuttle_engine::scheduler::data::{DataSource, RandomDataSource};
use shuttle_engine::scheduler::serialization::{deserialize_schedule, serialize_schedule};
use shuttle_engine::scheduler::ScheduleStep;

use super::{capture, failure, new_execution, publish, wanted};
use crate::counterexample::{Counterexample, FailureKind, Search};
use crate::Model;

/// Candidate schedules tried at most while shrinking.
const MAX_RUNS: usize = 400;
/// Seeds tried at each lower PCT depth, and schedules per seed.
const PCT_SEEDS: u64 = 8;
const PCT_SCHEDULES: usize = 50;

/// One execution's schedule, as shuttle records it, and where it preempted.
#[derive(Debug, Clone, Default)]
struct Recorded {
    seed: u64,
    steps: Vec<ScheduleStep>,
    /// Indices into `tasks()` of the choices that preempted a runnable task.
    preemptions: Vec<usize>,
}

impl Recorded {
    fn tasks(&self) -> Vec<TaskId> {
        self.steps
            .iter()
            .filter_map(|s| match s {
                ScheduleStep::Task(t) => Some(*t),
                ScheduleStep::Random => None,
            })
            .collect()
    }

    fn schedule(&self) -> Schedule {
        let mut s = Schedule::new(self.seed);
        for step in &self.steps {
            match step {
                ScheduleStep::Task(t) => s.push_task(*t),
                ScheduleStep::Random => s.push_random(),
            }
        }
        s
    }

    fn size(&self) -> (usize, usize) {
        (self.steps.len(), self.preemptions.len())
    }
}

/// Notes every choice a scheduler makes (shared, so the runner's copy can be read after a
/// failure has unwound through it).
#[derive(Debug, Default)]
struct Log {
    current: Recorded,
}

impl Log {
    fn task(
        &mut self,
        chosen: Option<TaskId>,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) {
        if let Some(t) = chosen {
            let preempted = !yielding
                && current.is_some_and(|c| c != t && runnable.iter().any(|r| r.id() == c));
            if preempted {
                let index = self
                    .current
                    .steps
                    .iter()
                    .filter(|s| matches!(s, ScheduleStep::Task(_)))
                    .count();
                self.current.preemptions.push(index);
            }
            self.current.steps.push(ScheduleStep::Task(t));
        }
    }
}

/// A scheduler whose choices are logged.
struct Logged<S> {
    inner: S,
    log: Arc<Mutex<Log>>,
}

impl<S: Scheduler> Scheduler for Logged<S> {
    fn new_execution(&mut self) -> Option<Schedule> {
        let schedule = self.inner.new_execution()?;
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        log.current = Recorded {
            seed: schedule.seed,
            ..Recorded::default()
        };
        Some(schedule)
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> Option<TaskId> {
        let chosen = self.inner.next_task(runnable, current, yielding);
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .task(chosen, runnable, current, yielding);
        chosen
    }

    fn next_u64(&mut self) -> u64 {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .current
            .steps
            .push(ScheduleStep::Random);
        self.inner.next_u64()
    }
}

/// Follows `plan`, then runs without preempting; draws random values as shuttle's replay does.
struct Guided {
    plan: Vec<TaskId>,
    at: usize,
    started: bool,
    data: RandomDataSource,
}

impl Guided {
    fn new(seed: u64, plan: Vec<TaskId>) -> Self {
        Guided {
            plan,
            at: 0,
            started: false,
            data: RandomDataSource::initialize(seed),
        }
    }
}

impl Scheduler for Guided {
    fn new_execution(&mut self) -> Option<Schedule> {
        if self.started {
            return None;
        }
        self.started = true;
        Some(Schedule::new(self.data.reinitialize()))
    }

    fn next_task(
        &mut self,
        runnable: &[&Task],
        current: Option<TaskId>,
        yielding: bool,
    ) -> Option<TaskId> {
        let can = |t: TaskId| runnable.iter().any(|r| r.id() == t);
        let planned = self.plan.get(self.at).copied();
        self.at += 1;
        if let Some(t) = planned.filter(|t| can(*t)) {
            return Some(t);
        }
        match current {
            Some(c) if can(c) && !yielding => Some(c),
            _ => {
                // In turn after the current task, so a spinning task lets the others run.
                let after = current.map_or(0, usize::from);
                let mut ids: Vec<usize> = runnable.iter().map(|r| usize::from(r.id())).collect();
                ids.sort_unstable();
                ids.iter()
                    .find(|&&i| i > after)
                    .or_else(|| ids.first())
                    .map(|&i| TaskId::from(i))
            }
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.data.next_u64()
    }
}

fn config(model: &Model) -> Config {
    let mut config = Config::new();
    config.silence_warnings = true;
    if let Some(steps) = model.shuttle_max_steps {
        config.max_steps = shuttle::MaxSteps::FailAfter(steps);
    }
    config
}

/// The failure's identity for shrinking: its kind, and an assertion's text with the numbers
/// blanked (a shorter schedule may take a different item twice).
fn signature(message: &str) -> (FailureKind, String) {
    let kind = FailureKind::of(message);
    let text = match kind {
        FailureKind::Panic => message
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .map(|c| if c.is_ascii_digit() { '#' } else { c })
            .collect(),
        _ => String::new(),
    };
    (kind, text)
}

/// Runs `body` under shuttle as [`Model::check`] does (PCT, then random); on a failure prints
/// the counterexample and fails with shuttle's own panic.
pub(crate) fn run<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    // shuttle installs its panic hook on its first run; ours must wrap it (see `install_hook`).
    Runner::new(
        shuttle::scheduler::RoundRobinScheduler::new(1),
        config(model),
    )
    .run(|| {});
    super::install_hook();
    let seed = model.seed;
    let iterations = model.scaled(model.shuttle_iterations, "SYNCLAB_SHUTTLE_SCALE");
    let body = Arc::new(body);
    let started = Instant::now();
    let mut total = 0;
    let schedulers: Vec<Box<dyn Scheduler + Send>> = {
        let mut v: Vec<Box<dyn Scheduler + Send>> = Vec::new();
        // PCT needs at least two threads to have anything to prioritise (it asserts so).
        if model.threads > 1 {
            v.push(Box::new(PctScheduler::new_from_seed(
                seed,
                model.pct_depth,
                iterations,
            )));
        }
        v.push(Box::new(RandomScheduler::new_from_seed(seed, iterations)));
        v
    };
    for scheduler in schedulers {
        let (result, message, failing) = run_logged(model, &body, scheduler, false);
        match result {
            Ok(n) => total += n,
            Err(payload) => {
                let found = started.elapsed().as_secs_f64();
                if wanted() {
                    explain(model, &body, failing, message.unwrap_or_default(), found);
                }
                resume_unwind(payload);
            }
        }
    }
    total
}

/// The outcome of one shuttle run: its executions or the panic that ended it.
type RunResult = std::thread::Result<usize>;

/// Runs `body` under `scheduler` with the panic captured (`silent`: not printed): how the run
/// ended, the failure message if one was captured, and the schedule of the last execution
/// (the failing one, if it failed).
fn run_logged<F, S>(
    model: &Model,
    body: &Arc<F>,
    scheduler: S,
    silent: bool,
) -> (RunResult, Option<String>, Recorded)
where
    F: Fn() + Send + Sync + 'static,
    S: Scheduler + 'static,
{
    let log = Arc::new(Mutex::new(Log::default()));
    let logged = Logged {
        inner: scheduler,
        log: Arc::clone(&log),
    };
    let run_body = Arc::clone(body);
    capture(true, silent);
    let result = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(logged, config(model)).run(move || {
            new_execution();
            run_body();
        })
    }));
    let message = failure();
    capture(false, false);
    let last = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .current
        .clone();
    (result, message, last)
}

/// Runs `plan` once (silently); the schedule it took if it failed like `target`.
fn try_plan<F>(
    model: &Model,
    body: &Arc<F>,
    seed: u64,
    plan: Vec<TaskId>,
    target: &(FailureKind, String),
) -> Option<Recorded>
where
    F: Fn() + Send + Sync + 'static,
{
    search_with(model, body, Guided::new(seed, plan), target)
}

/// Runs `scheduler` (silently) until its first failure; the schedule if it failed like
/// `target`, and how many executions it ran.
fn search_with<F, S>(
    model: &Model,
    body: &Arc<F>,
    scheduler: S,
    target: &(FailureKind, String),
) -> Option<Recorded>
where
    F: Fn() + Send + Sync + 'static,
    S: Scheduler + 'static,
{
    match run_logged(model, body, scheduler, true) {
        (Err(_), Some(m), failing) if signature(&m) == *target => Some(failing),
        _ => None,
    }
}

/// Shrinks `failing`; returns the shortest schedule found and the runs it took.
fn shrink<F>(
    model: &Model,
    body: &Arc<F>,
    failing: &Recorded,
    target: &(FailureKind, String),
    budget: Duration,
) -> (Recorded, usize)
where
    F: Fn() + Send + Sync + 'static,
{
    let started = Instant::now();
    let mut best = failing.clone();
    let mut runs = 0;
    if target.0 == FailureKind::StepLimit {
        // Every schedule that hits the step limit is as long as the limit.
        return (best, runs);
    }
    // First, schedules with fewer priority changes: PCT at depth 1 and 2, a few seeds each.
    if model.threads > 1 {
        for depth in 1..model.pct_depth.min(3) {
            for k in 0..PCT_SEEDS {
                if started.elapsed() > budget {
                    break;
                }
                runs += 1;
                let seed = model.seed.wrapping_add(k);
                let pct = PctScheduler::new_from_seed(seed, depth, PCT_SCHEDULES);
                if let Some(found) = search_with(model, body, pct, target) {
                    if found.size() < best.size() {
                        best = found;
                    }
                }
            }
        }
    }
    'improve: loop {
        let tasks = best.tasks();
        for &p in best.preemptions.iter().rev() {
            let mut candidates = vec![tasks[..p].to_vec()];
            if p > 0 {
                // Only this switch taken out: the task before it goes on for one more step.
                let mut without = tasks.clone();
                without[p] = tasks[p - 1];
                candidates.push(without);
            }
            for plan in candidates {
                if runs >= MAX_RUNS || started.elapsed() > budget {
                    break 'improve;
                }
                runs += 1;
                if let Some(found) = try_plan(model, body, best.seed, plan, target) {
                    if found.size() < best.size() {
                        best = found;
                        continue 'improve;
                    }
                }
            }
        }
        break;
    }
    (best, runs)
}

fn explain<F>(model: &Model, body: &Arc<F>, failing: Recorded, message: String, found: f64)
where
    F: Fn() + Send + Sync + 'static,
{
    let started = Instant::now();
    let target = signature(&message);
    let budget = std::env::var("SYNCLAB_SHRINK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_secs);
    let (best, runs) = shrink(model, body, &failing, &target, budget);
    let replay = serialize_schedule(&best.schedule());
    let search = Search::Shuttle {
        found: failing.size(),
        shown: best.size(),
        runs,
        replay: replay.clone(),
    };
    let outcome = replay_traced(model, body, &replay);
    let seconds = (found, started.elapsed().as_secs_f64());
    match outcome {
        Some((message, dump)) => {
            match Counterexample::new("shuttle", &model.name, &message, &dump, search, seconds) {
                Ok(c) => publish(&c),
                Err(e) => eprintln!("(could not read the failing execution's trace: {e})"),
            }
        }
        None => {
            eprintln!("(the shrunk schedule did not fail when replayed: no counterexample to show)")
        }
    }
}

/// Replays `schedule` once with the trace on; the failure message and the trace if it failed.
fn replay_traced<F>(model: &Model, body: &Arc<F>, schedule: &str) -> Option<(String, String)>
where
    F: Fn() + Send + Sync + 'static,
{
    let parsed = deserialize_schedule(schedule)?;
    let scheduler = shuttle::scheduler::ReplayScheduler::new_from_schedule(parsed);
    let run_body = Arc::clone(body);
    capture(true, true);
    let result = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(scheduler, config(model)).run(move || {
            synclab::sync::trace::record(true);
            new_execution();
            run_body();
        })
    }));
    let dump = synclab::sync::trace::record(false);
    let message = failure();
    capture(false, false);
    match result {
        Err(_) => Some((message.unwrap_or_default(), dump)),
        Ok(_) => None,
    }
}

/// [`Model::replay`]: runs `schedule` once; on a failure prints the counterexample and fails.
pub(crate) fn replay<F>(model: &Model, schedule: &str, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    let Some(parsed) = deserialize_schedule(schedule) else {
        panic!(
            "Model::replay({schedule:?}): not a shuttle schedule (the string shuttle prints after \
             \"failing schedule:\", or the replay string of a counterexample)"
        );
    };
    Runner::new(
        shuttle::scheduler::RoundRobinScheduler::new(1),
        config(model),
    )
    .run(|| {});
    super::install_hook();
    let started = Instant::now();
    let body = Arc::new(body);
    let run_body = Arc::clone(&body);
    capture(true, false);
    let result = catch_unwind(AssertUnwindSafe(|| {
        Runner::new(
            shuttle::scheduler::ReplayScheduler::new_from_schedule(parsed),
            config(model),
        )
        .run(move || {
            synclab::sync::trace::record(true);
            new_execution();
            run_body();
        })
    }));
    let dump = synclab::sync::trace::record(false);
    let message = failure();
    capture(false, false);
    match result {
        Ok(n) => n,
        Err(payload) => {
            if wanted() {
                let search = Search::Replay {
                    replay: schedule.to_string(),
                };
                let seconds = (started.elapsed().as_secs_f64(), 0.0);
                match Counterexample::new(
                    "shuttle",
                    &model.name,
                    &message.unwrap_or_default(),
                    &dump,
                    search,
                    seconds,
                ) {
                    Ok(c) => publish(&c),
                    Err(e) => eprintln!("(could not read the failing execution's trace: {e})"),
                }
            }
            resume_unwind(payload)
        }
    }
}
