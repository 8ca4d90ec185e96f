//! Turning a checker's failure into a [`Counterexample`]: catching the failure message, finding
//! a short failing execution, printing it.
//!
//! The first run of a model records nothing (so passing models pay only a flag check per step).
//! When it fails, the harness runs the model again with the trace on — under loom at rising
//! preemption bounds until the failure appears, under shuttle the failing schedule, shrunk —
//! and prints what that execution did.

#[cfg(synclab_loom)]
pub(crate) mod loom;
#[cfg(synclab_shuttle)]
pub(crate) mod shuttle;

use std::cell::{Cell, RefCell};
use std::sync::Once;

use crate::counterexample::Counterexample;

thread_local! {
    /// Whether a panic on this OS thread is a model's failure to capture.
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    /// Whether to keep a captured panic quiet (the re-runs that only look for a short trace).
    static SILENT: Cell<bool> = const { Cell::new(false) };
    /// The panics of the current execution, in order.
    static PANIC: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    /// Called with a deadlock's message, from the hook, before anything unwinds (loom may abort
    /// the process while unwinding a deadlock: loom#291).
    static ON_DEADLOCK: RefCell<Option<DeadlockHook>> = const { RefCell::new(None) };
}

/// What the hook calls with a deadlock's message.
pub(crate) type DeadlockHook = Box<dyn FnOnce(&str)>;

/// Sets what the hook calls when the checker reports a deadlock (see `ON_DEADLOCK`).
pub(crate) fn on_deadlock(callback: Option<DeadlockHook>) {
    ON_DEADLOCK.with(|c| *c.borrow_mut() = callback);
}

/// Installs the panic hook that captures a model's failure message (once per process). Under
/// shuttle it must sit outside shuttle's own hook (which prints the schedule), so that the
/// re-runs can be silent: the caller makes shuttle install its hook first.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let payload = info.payload();
                let text = payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic with a non-text payload".to_string());
                PANIC.with(|p| p.borrow_mut().push(text.clone()));
                let deadlock = crate::counterexample::FailureKind::of(&text)
                    == crate::counterexample::FailureKind::Deadlock;
                if deadlock {
                    if let Some(callback) = ON_DEADLOCK.with(|c| c.borrow_mut().take()) {
                        callback(&text);
                    }
                }
                if SILENT.with(Cell::get) {
                    return;
                }
            }
            previous(info);
        }));
    });
}

/// Starts capturing failures on this OS thread (`silent`: without printing them).
pub(crate) fn capture(on: bool, silent: bool) {
    if !on {
        on_deadlock(None);
    }
    CAPTURING.with(|c| c.set(on));
    SILENT.with(|s| s.set(on && silent));
    PANIC.with(|p| p.borrow_mut().clear());
}

/// A new execution starts: forget the previous one's panics.
pub(crate) fn new_execution() {
    PANIC.with(|p| p.borrow_mut().clear());
}

/// The captured failure message, if any: the checker's own verdict (a deadlock, a race, a step
/// limit) if one of the execution's panics is one — a model may panic on purpose first (a task
/// that panics to test a pool) — else the first panic.
pub(crate) fn failure() -> Option<String> {
    use crate::counterexample::FailureKind;
    PANIC.with(|p| {
        let p = p.borrow();
        p.iter()
            .find(|m| FailureKind::of(m) != FailureKind::Panic)
            .or_else(|| p.first())
            .cloned()
    })
}

/// Whether counterexamples should be looked for: not while the ordering-mutation audit runs
/// its thousands of expected failures (`SYNCLAB_AUDIT`), nor when turned off with
/// `SYNCLAB_COUNTEREXAMPLE=0`.
pub(crate) fn wanted() -> bool {
    crate::explain_wanted()
}

/// Prints the counterexample, writes its diagram, and hands the docs block to an expected-
/// failure parent (`SYNCLAB_COUNTEREXAMPLE_OUT`).
pub(crate) fn publish(counterexample: &Counterexample) {
    let files = match counterexample.write_files() {
        Ok(files) => Some(files),
        Err(e) => {
            eprintln!("(could not write the diagram files: {e})");
            None
        }
    };
    eprintln!("{}", counterexample.report(files.as_ref()));
    if let Ok(path) = std::env::var("SYNCLAB_COUNTEREXAMPLE_OUT") {
        let block = counterexample.docs_block();
        let json = serde_json::json!({
            "checker": counterexample.checker,
            "kind": counterexample.kind.describe(),
            "steps": counterexample.trace.events.len(),
            "shown": counterexample.render(crate::counterexample::Cut::default()).shown,
            "seconds": [counterexample.seconds.0, counterexample.seconds.1],
            "block": block,
            "report": counterexample.report(files.as_ref()),
            "svg": files.as_ref().map(|f| f.1.display().to_string()),
        });
        if let Err(e) = std::fs::write(&path, json.to_string()) {
            eprintln!("(could not write {path}: {e})");
        }
    }
}
