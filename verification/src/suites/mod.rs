//! Conformance suites: one per trait, instantiated for an implementation with one line.
//!
//! | trait | line | expands to |
//! |---|---|---|
//! | [`RawLock`](synclab::lock::RawLock) | [`raw_lock_suite!`](crate::raw_lock_suite)`(my_lock, MyRawLock)` | [`raw_lock`]: the guard API, unwinding, mutual exclusion (2 and 3 threads), `try_lock`, a lock retried after a lost `try_lock`; with `timed`, the timed waits |
//! | [`SharedArray`](synclab::array::SharedArray) | [`shared_array_suite!`](crate::shared_array_suite)`(my_array, MyArray<u64>)` | [`shared_array`]: smoke, bounds, errors, drops; readers and racing publishers, payload visibility, timed waits |
//! | [`MpmcQueue`](synclab::queue::MpmcQueue) | [`mpmc_queue_suite!`](crate::mpmc_queue_suite)`(my_queue, MyQueue)` | [`mpmc_queue`]: smoke, capacity errors, full and empty, close, drops, a `VecDeque` comparison; producers and consumers; and the blocking layer and the channel over the queue, two sleepers at `close` and at the last sender's drop included |
//! | [`ThreadPool`](synclab::pool::ThreadPool) | [`thread_pool_suite!`](crate::thread_pool_suite)`(my_pool, MyPool)` | [`thread_pool`]: errors and drops; `wait`, `close`, `shutdown`, panics, task results and scopes, an outside submit racing `close`, two sleeping workers at `shutdown` |
//!
//! Each line declares a module of `#[test]`s, and every test runs its scenario through
//! [`Model::check`]: the same line is a unit test on real threads in a plain build, a loom
//! model under `--cfg synclab_loom` and a shuttle model under `--cfg synclab_shuttle`.
//! Scenarios too big for loom (more than 3 threads) say so and return under loom; tests that
//! need real threads or real time say so and return under the checkers.
//!
//! ```ignore
//! // tests/my_lock.rs of a crate that depends on synclab-verification:
//! synclab_verification::raw_lock_suite!(my_lock, my_crate::MyRawLock);
//! ```
//!
//! # Tuning a line
//!
//! A scenario states its own bounds (threads, operations, loom preemption bound, shuttle
//! schedules). A line may adjust them for one implementation with `tune = f`, where `f` is a
//! [`Tune`]: it gets the scenario's name (its test's name) and its [`Model`], and returns the
//! model to run — or `None` to skip that scenario in this world, saying why. A design whose
//! checker cost differs (a spin lock spins under loom; a lock that sleeps on std's condvar
//! cannot be seen asleep) is tuned on its line, where a reader sees it.

use crate::Model;

pub mod mpmc_queue;
pub mod raw_lock;
pub mod shared_array;
pub mod thread_pool;

/// How one suite line adjusts a scenario's model: `(scenario, model) -> Some(model to run)`,
/// or `None` to skip the scenario in this world (the tune says why, on stderr).
pub type Tune = fn(&str, Model) -> Option<Model>;

/// The [`Tune`] of a line that says none: every scenario as written.
pub fn as_written(_scenario: &str, model: Model) -> Option<Model> {
    Some(model)
}

/// Sets the loom preemption bound (`None`: exhaustive) of `model` if it runs `threads`
/// threads; other models are returned as they are. For [`Tune`] functions.
pub fn bound_if_threads(model: Model, threads: usize, bound: Option<usize>) -> Model {
    if model.threads != threads {
        return model;
    }
    match bound {
        None => model.exhaustive(),
        Some(b) => model.preemption_bound(b),
    }
}

impl Model {
    /// How many threads the model says it runs ([`Model::threads`]), for [`Tune`] functions.
    pub fn declared_threads(&self) -> usize {
        self.threads
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Whether this build runs under loom (for [`Tune`] functions that differ by checker).
pub fn under_loom() -> bool {
    synclab::sync::WORLD == synclab::sync::World::Loom
}

/// Whether this build runs under shuttle.
pub fn under_shuttle() -> bool {
    synclab::sync::WORLD == synclab::sync::World::Shuttle
}

/// A suite line's type as its author wrote it, for model names: `stringify!` spaces tidied
/// (`CondvarArray < u64, FutexFamily >` → `CondvarArray<u64, FutexFamily>`).
pub fn type_label(written: &str) -> String {
    let mut out = String::with_capacity(written.len());
    let mut chars = written.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ' ' {
            let next = chars.peek().copied();
            let prev = out.chars().last();
            let tight = matches!(next, Some('<' | '>' | ',' | ':' | ')' | ']'))
                || matches!(prev, Some('<' | ':' | '(' | '[' | '&'));
            if tight {
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// Per-scenario loom bounds for a [`Tune`]: the entry named `scenario` sets the model's
/// preemption bound (`None`: exhaustive); a scenario not in the table keeps its own.
pub fn bounds(scenario: &str, model: Model, table: &[(&str, Option<usize>)]) -> Model {
    match table.iter().find(|(name, _)| *name == scenario) {
        Some((_, None)) => model.exhaustive(),
        Some((_, Some(b))) => model.preemption_bound(*b),
        None => model,
    }
}

/// Runs `body` as `scenario` of a suite line: `tune` decides the model (or skips it).
pub(crate) fn run<F>(scenario: &str, model: Model, tune: Tune, body: F)
where
    F: Fn() + Send + Sync + 'static,
{
    let name = model.name.clone();
    match tune(scenario, model) {
        Some(model) => {
            model.check(body);
        }
        None => eprintln!(
            "[{}] model {name}: skipped by its suite line's tuning",
            world_name()
        ),
    }
}

/// Whether a scenario of `threads` threads runs here: loom explores at most 3 (with main) in
/// these suites, so a bigger scenario says so and returns under loom (shuttle and the stress
/// loop run it).
pub(crate) fn fits_loom(name: &str, threads: usize) -> bool {
    if synclab::sync::WORLD == synclab::sync::World::Loom && threads > 3 {
        eprintln!("[loom] model {name}: {threads} threads, beyond loom: shuttle and stress run it");
        false
    } else {
        true
    }
}

/// Whether a plain-build-only test runs here (it needs real threads or real time); under a
/// checker it says so and returns.
pub(crate) fn real_threads_only(name: &str) -> bool {
    if synclab::sync::WORLD == synclab::sync::World::Plain {
        true
    } else {
        eprintln!(
            "[{}] {name}: real threads and real time only: the plain build runs it",
            world_name()
        );
        false
    }
}

fn world_name() -> String {
    format!("{:?}", synclab::sync::WORLD).to_lowercase()
}

/// The panic message of tasks and holders that panic on purpose; [`quiet_on_purpose_panics`]
/// keeps the panic hook quiet about them.
pub const ON_PURPOSE: &str = "synclab-verification: this panics on purpose";

/// Installs (once) a panic hook that prints nothing for [`ON_PURPOSE`] panics (and for the
/// payloads of [`thread_pool`]'s bombs) and defers to the previous hook for everything else.
pub fn quiet_on_purpose_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = info
                .payload()
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str));
            let bomb = info.payload().is::<thread_pool::Bomb>()
                || info.payload().is::<thread_pool::ChainBomb>();
            if message != Some(ON_PURPOSE) && !bomb {
                previous(info);
            }
        }));
    });
}
