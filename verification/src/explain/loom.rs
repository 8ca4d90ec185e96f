//! loom: explore, and on a failure find the lowest preemption bound that shows it.
//!
//! loom explores executions in a fixed order, so running a model again with the same bounds
//! reaches the same failing execution. The harness therefore runs it first without recording,
//! and only after a failure again with the trace on — at preemption bounds 0, 1, 2, … up to
//! the model's own — so the execution shown is the first failing one with the fewest
//! preemptions loom needs for it.
//!
//! A deadlock is the exception: loom aborts the whole process while unwinding one (loom#291),
//! so nothing can run after it. The harness then acts from the panic hook, before the abort:
//! it re-runs this test in a child process in *explain mode* (`SYNCLAB_LOOM_EXPLAIN`), which
//! does the search with the trace on and prints the counterexample from its own hook, from the
//! trace of the deadlocked execution, before its own abort.

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::{capture, failure, new_execution, on_deadlock, publish, wanted};
use crate::counterexample::{Counterexample, FailureKind, Search};
use crate::Model;

/// The highest bound tried before falling back to the model's own when it has none.
const UNBOUNDED_SEARCH_CAP: usize = 4;

/// Whether this failure's counterexample has been printed already (from the panic hook, or by
/// the child that explains a deadlock): loom does not always abort after a deadlock.
static SHOWN: AtomicBool = AtomicBool::new(false);

fn builder(model: &Model, bound: Option<usize>) -> loom::model::Builder {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = bound;
    if let Some(branches) = model.max_branches {
        builder.max_branches = branches;
    }
    if let Some(permutations) = model.max_permutations {
        builder.max_permutations = Some(permutations);
    }
    if let Some(duration) = model.max_duration {
        builder.max_duration = Some(duration);
    }
    builder
}

/// Runs `body` under loom as [`Model::check`] does; on a failure prints the counterexample and
/// fails with the checker's own panic.
pub(crate) fn run<F>(model: &Model, body: F) -> usize
where
    F: Fn() + Send + Sync + 'static,
{
    super::install_hook();
    if let Some((budget, found)) = explain_mode(model) {
        explain(model, &Arc::new(body), budget, None, found);
        // This process only explains: nothing of the test that started it may run on (a
        // "passed" model here would read as the parent's model passing).
        std::process::exit(0);
    }
    SHOWN.store(false, Ordering::Relaxed);
    // Two passes: with no spurious futex returns, then with the first wait on every word
    // returning spuriously (see `synclab::sync::futex`), so both paths of every wait site are
    // explored.
    let count = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(body);
    let started = Instant::now();
    for spurious_budget in [0, 1] {
        synclab::sync::futex::set_spurious_budget(spurious_budget);
        let counter = Arc::clone(&count);
        let run_body = Arc::clone(&body);
        capture(true, false);
        if wanted() {
            let name = model.name.clone();
            on_deadlock(Some(Box::new(move |message: &str| {
                if FailureKind::of(message) == FailureKind::Deadlock {
                    explain_in_child(&name, spurious_budget, started.elapsed().as_secs_f64());
                    SHOWN.store(true, Ordering::Relaxed);
                }
            })));
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            builder(model, model.effective_preemption_bound()).check(move || {
                new_execution();
                counter.fetch_add(1, Ordering::Relaxed);
                run_body();
            });
        }));
        let message = failure();
        capture(false, false);
        if let Err(payload) = result {
            let found = started.elapsed().as_secs_f64();
            if wanted() && !SHOWN.load(Ordering::Relaxed) {
                explain(model, &body, spurious_budget, message, found);
            }
            synclab::sync::futex::set_spurious_budget(0);
            resume_unwind(payload);
        }
    }
    synclab::sync::futex::set_spurious_budget(0);
    count.load(Ordering::Relaxed)
}

/// Runs the model again with the trace on, at rising preemption bounds, and prints the first
/// failing execution found.
fn explain<F>(
    model: &Model,
    body: &Arc<F>,
    spurious_budget: u32,
    message: Option<String>,
    found: f64,
) where
    F: Fn() + Send + Sync + 'static,
{
    let started = Instant::now();
    let model_bound = model.effective_preemption_bound();
    let mut bounds: Vec<Option<usize>> = match model_bound {
        Some(b) => (0..=b).map(Some).collect(),
        None => (0..=UNBOUNDED_SEARCH_CAP).map(Some).collect(),
    };
    if model_bound.is_none() {
        bounds.push(None);
    }
    for bound in bounds {
        synclab::sync::futex::set_spurious_budget(spurious_budget);
        let run_body = Arc::clone(body);
        capture(true, true);
        let search = Search::Loom {
            bound,
            model_bound,
            spurious: spurious_budget > 0,
        };
        {
            // A deadlock aborts the process while it unwinds: print it from the hook.
            let name = model.name.clone();
            let search = search.clone();
            on_deadlock(Some(Box::new(move |message: &str| {
                if FailureKind::of(message) == FailureKind::Deadlock {
                    let dump = synclab::sync::trace::record(false);
                    let seconds = (found, started.elapsed().as_secs_f64());
                    show(&name, message, &dump, search, seconds);
                    SHOWN.store(true, Ordering::Relaxed);
                }
            })));
        }
        let result = catch_unwind(AssertUnwindSafe(|| {
            builder(model, bound).check(move || {
                synclab::sync::trace::record(true);
                new_execution();
                run_body();
            });
        }));
        let dump = synclab::sync::trace::record(false);
        let seen = failure();
        capture(false, false);
        if result.is_ok() {
            continue;
        }
        if !SHOWN.load(Ordering::Relaxed) {
            let message = seen.or_else(|| message.clone()).unwrap_or_default();
            let seconds = (found, started.elapsed().as_secs_f64());
            show(&model.name, &message, &dump, search, seconds);
        }
        return;
    }
    eprintln!(
        "(the failure did not reappear when run again with the trace on: no counterexample to show)"
    );
}

fn show(model: &str, message: &str, dump: &str, search: Search, seconds: (f64, f64)) {
    match Counterexample::new("loom", model, message, dump, search, seconds) {
        Ok(c) => publish(&c),
        Err(e) => eprintln!("(could not read the failing execution's trace: {e})"),
    }
}

/// In a child started by [`explain_in_child`] for this model: the spurious budget of the
/// failing pass and the seconds the parent took to find the failure.
fn explain_mode(model: &Model) -> Option<(u32, f64)> {
    let budget = std::env::var("SYNCLAB_LOOM_EXPLAIN").ok()?.parse().ok()?;
    if std::env::var("SYNCLAB_LOOM_EXPLAIN_MODEL").ok()? != model.name {
        return None;
    }
    let found = std::env::var("SYNCLAB_LOOM_EXPLAIN_FOUND")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.0);
    Some((budget, found))
}

/// Re-runs the current test in a child process that explains the model's deadlock (see the
/// module docs); waits for it. Called from the panic hook, before loom aborts.
fn explain_in_child(model: &str, spurious_budget: u32, found: f64) {
    let Some(test) = std::thread::current().name().map(str::to_string) else {
        return;
    };
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    if test == "main" || std::env::var_os("SYNCLAB_LOOM_EXPLAIN").is_some() {
        // Not a libtest thread (nothing to re-run by name), or already the child.
        return;
    }
    let status = std::process::Command::new(exe)
        .args([test.as_str(), "--exact", "--nocapture", "--test-threads=1"])
        .env("SYNCLAB_LOOM_EXPLAIN", spurious_budget.to_string())
        .env("SYNCLAB_LOOM_EXPLAIN_MODEL", model)
        .env("SYNCLAB_LOOM_EXPLAIN_FOUND", found.to_string())
        .env("RUST_BACKTRACE", "0")
        .env_remove("SYNCLAB_REPORT")
        .stdout(std::process::Stdio::null())
        .status();
    if let Err(e) = status {
        eprintln!("(could not start the child that explains the deadlock: {e})");
    }
}
