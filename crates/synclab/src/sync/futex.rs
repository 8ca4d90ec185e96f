//! Sleep on a 32-bit word until it changes: the seam where the kernel (or a model of it) stands.
//!
//! Three operations, as in std's `sys/sync` — [`wait`], [`wake_one`], [`wake_all`] — plus a
//! timed wait ([`wait_timeout`]) and a *scope* ([`WakeScope`]: [`Private`] to one process, or
//! [`CrossProcess`] between the processes that map the word).
//!
//! | world | backend |
//! |---|---|
//! | plain, Linux | private untimed waits and wakes through `atomic-wait` (`FUTEX_WAIT`/`FUTEX_WAKE` with `FUTEX_PRIVATE_FLAG`); timed and shared ones through `futex(2)` directly (libc), the shared ones *without* the private flag |
//! | plain, elsewhere | private untimed through `atomic-wait` (`WaitOnAddress`, `__ulock`, `_umtx_op`); timed and shared ones poll the word with short sleeps (correct, not fast) |
//! | loom | a futex model: a wait queue per word beside a loom mutex that stands for the kernel's bucket lock (`loom_world.rs`) |
//! | shuttle | a futex model: a wait queue per word, scheduled by shuttle (`shuttle_world.rs`) |
//!
//! # The contract every world keeps
//!
//! * `wait(word, expected)` compares `*word` with `expected` and, only if equal, sleeps; the
//!   compare and the sleep are atomic with respect to wakes on the same word, so a wake that
//!   follows a change of the word is never lost.
//! * `wait` may return spuriously, so callers re-check their condition in a loop. The models
//!   *explore* spurious returns, so code that forgets to re-check is caught.
//! * [`wait_timeout`] also returns [`WaitOutcome::TimedOut`] once its timeout has passed. A
//!   timed-out return orders nothing: it adds no happens-before edge with anyone. Under the
//!   models time does not move (see [`crate::sync::time`]); instead every timed wait may time
//!   out at any moment the checker chooses after it queued itself, unless a wake dequeued it
//!   first — so "woken and timed out at once" and "timed out just before the wake" are both
//!   explored.
//! * `wake_one` wakes at most one waiter of that word and scope, `wake_all` every one.
//! * A wait and a wake of *different* scope never meet (on Linux the kernel keys a private
//!   futex by address space and virtual address, a shared one by the backing page): the waiter
//!   sleeps on. The models keep that, so a scope mismatch is a lost wakeup the checkers report.
//! * No memory ordering is promised: callers order their data with their own Acquire/Release
//!   accesses to the word. The models keep their own accesses to the word Relaxed, so they hide
//!   no missing ordering.
//!
//! # Choosing the scope
//!
//! By type, not by call site: a design that can live in memory shared between processes takes
//! a `S: WakeScope` parameter (defaulting to [`Private`]) and calls `S::wait`, `S::wake_one`, …;
//! the free functions of this module are the [`Private`] ones.

use core::fmt;
use core::time::Duration;

use super::atomic::AtomicU32;
use super::world::futex_backend as backend;

/// How many waits on each word created from now on return spuriously at once, under loom (the
/// verification harness runs each model with 0 and with 1; see `loom_world.rs`). Not part of
/// the API.
#[cfg(synclab_loom)]
#[doc(hidden)]
pub fn set_spurious_budget(budget: u32) {
    backend::set_spurious_budget(budget);
}

/// How many threads of the running model are queued in a futex wait right now, on any word (a
/// wake due now would reach them). Under the checkers only, and not part of the API: the
/// verification harness asks it whether a model reached a sleeping path.
#[cfg(any(synclab_loom, synclab_shuttle))]
#[doc(hidden)]
pub fn queued_waiters() -> usize {
    super::futex_model::queued_waiters()
}

/// How a timed wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a timed wait may have timed out"]
pub enum WaitOutcome {
    /// Woken, returned spuriously, or the word did not hold `expected`: re-check the condition.
    Woken,
    /// The timeout passed first. Nothing is ordered by this return.
    TimedOut,
}

impl WaitOutcome {
    /// Whether the wait timed out.
    #[inline]
    pub fn timed_out(self) -> bool {
        self == WaitOutcome::TimedOut
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Which processes a wait and a wake on a word can meet in: [`Private`] or [`CrossProcess`].
///
/// Sealed: the two scopes are the kernel's two. Every method has the meaning of the free
/// function of the same name in [this module](self).
pub trait WakeScope: sealed::Sealed + fmt::Debug + Send + Sync + 'static {
    /// Whether waits and wakes reach other processes that map the same memory.
    const CROSS_PROCESS: bool;
    /// A short name for tables and debug output: `"private"` or `"cross-process"`.
    const NAME: &'static str;

    /// Sleeps while `*word == expected`; may return spuriously.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    fn wait(word: &AtomicU32, expected: u32) {
        let _ = backend::wait(word, expected, Self::CROSS_PROCESS, None);
    }

    /// As [`WakeScope::wait`], but gives up once `timeout` has passed.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    fn wait_timeout(word: &AtomicU32, expected: u32, timeout: Duration) -> WaitOutcome {
        backend::wait(word, expected, Self::CROSS_PROCESS, Some(timeout))
    }

    /// Wakes at most one thread sleeping on `word` in this scope.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    fn wake_one(word: &AtomicU32) {
        backend::wake(word, Self::CROSS_PROCESS, false);
    }

    /// Wakes every thread sleeping on `word` in this scope.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    fn wake_all(word: &AtomicU32) {
        backend::wake(word, Self::CROSS_PROCESS, true);
    }
}

/// Waits and wakes within this process only (`FUTEX_PRIVATE_FLAG` on Linux): the cheaper
/// kind, and the only one `atomic-wait` offers. The default for every design.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Private {}

/// Waits and wakes that meet across every process mapping the word's page (no
/// `FUTEX_PRIVATE_FLAG`): for words in a shared segment (`MAP_SHARED`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CrossProcess {}

impl sealed::Sealed for Private {}
impl sealed::Sealed for CrossProcess {}

impl WakeScope for Private {
    const CROSS_PROCESS: bool = false;
    const NAME: &'static str = "private";
}

impl WakeScope for CrossProcess {
    const CROSS_PROCESS: bool = true;
    const NAME: &'static str = "cross-process";
}

/// Sleeps while `*word == expected` ([`Private`] scope); may return spuriously.
#[inline]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub fn wait(word: &AtomicU32, expected: u32) {
    Private::wait(word, expected)
}

/// Sleeps while `*word == expected` for at most `timeout` ([`Private`] scope); may return
/// spuriously. [`WaitOutcome::TimedOut`] once the timeout has passed.
#[inline]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub fn wait_timeout(word: &AtomicU32, expected: u32, timeout: Duration) -> WaitOutcome {
    Private::wait_timeout(word, expected, timeout)
}

/// One step of a deadline loop ([`Private`] scope): [`WaitOutcome::TimedOut`] at once if
/// `deadline` has passed, else [`wait_timeout`] for the time left; with no deadline, [`wait`].
/// May return spuriously (`Woken`), so callers re-check their condition in a loop, and give up
/// on `TimedOut`.
#[inline]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub(crate) fn wait_until(
    word: &AtomicU32,
    expected: u32,
    deadline: Option<super::time::Instant>,
) -> WaitOutcome {
    match deadline {
        None => {
            wait(word, expected);
            WaitOutcome::Woken
        }
        Some(deadline) => {
            let now = super::time::Instant::now();
            if now >= deadline {
                WaitOutcome::TimedOut
            } else {
                wait_timeout(word, expected, deadline - now)
            }
        }
    }
}

/// Wakes at most one thread sleeping in [`wait`] on `word` ([`Private`] scope).
#[inline]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub fn wake_one(word: &AtomicU32) {
    Private::wake_one(word)
}

/// Wakes every thread sleeping in [`wait`] on `word` ([`Private`] scope).
#[inline]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub fn wake_all(word: &AtomicU32) {
    Private::wake_all(word)
}
