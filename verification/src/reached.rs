//! Path counters: did the model take the path it was written for? See
//! [`Model::expect_reached`].

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::Model;

std::thread_local! {
    /// Marks per label for the model running on this OS thread: the checkers run every thread of
    /// a model as a coroutine on the OS thread that called `check` (so a global would mix the
    /// counts of tests running in parallel).
    static MARKS: RefCell<BTreeMap<&'static str, usize>> = const { RefCell::new(BTreeMap::new()) };
}

const CHECKER: bool = cfg!(any(synclab_loom, synclab_shuttle));

/// Marks that this execution reached the path `label` (counted under the checkers; nothing in
/// the plain build). See [`Model::expect_reached`].
pub fn reached(label: &'static str) {
    if CHECKER {
        MARKS.with(|m| *m.borrow_mut().entry(label).or_insert(0) += 1);
    }
}

/// How many threads of the running model sleep in a futex wait right now, on any word — a wake
/// due now would reach them. `None` in the plain build, where the kernel does not say.
///
/// Only sleeps on synclab's futex are seen: a design that sleeps on std's `Condvar` (the
/// `StdFamily` instantiations) sleeps where the futex model cannot count it.
pub fn asleep() -> Option<usize> {
    #[cfg(any(synclab_loom, synclab_shuttle))]
    return Some(synclab::sync::futex::queued_waiters());
    #[cfg(not(any(synclab_loom, synclab_shuttle)))]
    return None;
}

/// [`reached`]`(label)` if at least `threads` threads sleep in a futex wait right now (see
/// [`asleep`]); returns whether it marked.
pub fn reached_if_asleep(label: &'static str, threads: usize) -> bool {
    let now = asleep().is_some_and(|n| n >= threads);
    if now {
        reached(label);
    }
    now
}

/// Yields until at least `threads` threads sleep in a futex wait (see [`asleep`]), at most
/// `MAX_SETTLE_YIELDS` times; in the plain build it yields that many times.
///
/// For a model whose waker must find its sleepers asleep. Under loom a thread that yields is
/// not run again while another can run, and every bounded spin yields under a checker, so a
/// waker that runs straight to its wake always finds the others still spinning: their sleeping
/// path is never reached (the counters of [`Model::expect_reached`] showed it). Yielding until
/// they sleep puts the wake where it is due.
pub fn yield_until_asleep(threads: usize) {
    for _ in 0..MAX_SETTLE_YIELDS {
        if asleep().is_some_and(|n| n >= threads) {
            return;
        }
        synclab::sync::thread::yield_now();
    }
}

/// How many times [`yield_until_asleep`] yields at most.
const MAX_SETTLE_YIELDS: usize = 16;

impl Model {
    /// Fails the model (under the checkers) unless some execution calls [`reached`]`(label)`:
    /// the path it names was taken at the bounds this model runs at.
    ///
    /// Did the model take the path it was written for? A counter per path label, asserted non-zero
    /// after all executions.
    ///
    /// A model can be right and still prove little: at its preemption bound the checker may never
    /// put the other thread to sleep before the wake is due, and then a missing or misdirected wake
    /// goes unseen. So a model names the paths it is for — [`Model::expect_reached`] — and marks
    /// them where they happen, with [`reached`] (or [`reached_if_asleep`], which asks the futex
    /// model how many threads sleep right now). After the last execution [`Model::check`] fails
    /// the test if an expected path was never marked, and prints how often each was.
    ///
    /// Only the checkers have bounds to doubt: in the plain build a mark counts nothing and no
    /// expectation is checked (a stress loop reaches what the scheduler gives it).
    ///
    /// ```
    /// use synclab::sync::{futex, thread, Arc};
    /// use synclab::sync::atomic::{AtomicU32, Ordering::*};
    /// use synclab_verification::{reached_if_asleep, Model};
    ///
    /// Model::new("a flag and a sleeper")
    ///     .expect_reached("the waker found the waiter asleep")
    ///     .check(|| {
    ///         let flag = Arc::new(AtomicU32::new(0));
    ///         let waiter = {
    ///             let flag = Arc::clone(&flag);
    ///             thread::spawn(move || {
    ///                 while flag.load(Acquire) == 0 {
    ///                     futex::wait(&flag, 0);
    ///                 }
    ///             })
    ///         };
    ///         reached_if_asleep("the waker found the waiter asleep", 1);
    ///         flag.store(1, Release);
    ///         futex::wake_one(&flag);
    ///         waiter.join().unwrap();
    ///     });
    /// ```
    pub fn expect_reached(mut self, label: &'static str) -> Self {
        if !self.expect_reached.contains(&label) {
            self.expect_reached.push(label);
        }
        self
    }

    /// Drops every [`Model::expect_reached`] expectation — for a design whose sleeps the futex
    /// model cannot see (it sleeps on std's `Condvar`; see [`asleep`]).
    pub fn without_reach_expectations(mut self) -> Self {
        self.expect_reached.clear();
        self
    }

    /// The labels this model expects to reach.
    pub fn expected_paths(&self) -> &[&'static str] {
        &self.expect_reached
    }
}

/// Runs `run` (all of a model's executions) between clearing the marks and checking them.
pub(crate) fn around(model: &Model, run: impl FnOnce() -> usize) -> usize {
    MARKS.with(|m| m.borrow_mut().clear());
    let executions = run();
    if !CHECKER {
        return executions;
    }
    let marks = MARKS.with(|m| std::mem::take(&mut *m.borrow_mut()));
    let world = format!("{:?}", synclab::sync::WORLD).to_lowercase();
    for (label, count) in &marks {
        eprintln!(
            "[{world}] model {}: reached {label:?} {count} times in {executions} executions",
            model.name
        );
    }
    let missed: Vec<&str> = model
        .expect_reached
        .iter()
        .copied()
        .filter(|label| !marks.contains_key(label))
        .collect();
    assert!(
        missed.is_empty(),
        "model {:?}: no execution reached {missed:?} ({executions} executions at {}): the \
         scenario never took the path it is for; raise the bound or let the other threads \
         reach it first",
        model.name,
        model.bound_text()
    );
    executions
}
