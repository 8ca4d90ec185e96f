//! Where a pool keeps the panic payloads that nobody has taken yet, and how a worker runs a
//! task so that its panic is caught and its payload kept.
//!
//! A task that panics is caught on its worker. Its payload — the `Box<dyn Any + Send>` that
//! `panic!` carried — goes to its [`JoinHandle`](super::JoinHandle) if the task was
//! [`spawn`](super::ThreadPool::spawn)ed and the handle is still alive; otherwise (an
//! [`execute`](super::ThreadPool::execute)d task, or a spawned task whose handle was dropped
//! before or after it panicked) it goes here, to the pool's [`PanicRecord`], and the next
//! [`wait`](super::ThreadPool::wait) (or [`shutdown`](super::ThreadPool::shutdown)) hands it
//! to its caller in the report. A scope keeps its own record and re-raises the first payload
//! (see [`Scope`](super::Scope)).
//!
//! The record is a `Vec` of payloads under a mutex, plus a count that lets the common case —
//! nothing panicked — take no lock: `take` reads the count first. The count is only changed
//! under the mutex, so it always equals the length of the `Vec` at each unlock.

use core::fmt;

use crate::sync::atomic::{AtomicUsize, Ordering};
use crate::sync::StdMutex;

/// What `panic!` carried: the payload `std::panic::catch_unwind` returns.
pub type PanicPayload = Box<dyn core::any::Any + Send + 'static>;

/// The payloads of a pool's (or a scope's) tasks that panicked and that no
/// [`JoinHandle`](super::JoinHandle) took; see [the module docs](self).
///
/// Every pool keeps one (behind its `Hooks::panics`); handles report to it when they are
/// dropped without being joined.
pub(crate) struct PanicRecord {
    /// The number of payloads in `payloads`; changed only under that mutex.
    count: AtomicUsize,
    payloads: StdMutex<Vec<PanicPayload>>,
}

impl PanicRecord {
    /// An empty record.
    pub(crate) fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            payloads: StdMutex::new(Vec::new()),
        }
    }

    /// Adds `payload`.
    pub(crate) fn record(&self, payload: PanicPayload) {
        let mut payloads = self.payloads.lock().unwrap_or_else(|e| e.into_inner());
        payloads.push(payload);
        // Relaxed: a hint for `take`'s lock-free check. Whoever needs this payload seen
        // (a `wait` after the task finished) is ordered after this store by the pool's own
        // Release/Acquire pair on its pending count, which follows this call.
        self.count.store(payloads.len(), Ordering::Relaxed);
    }

    /// Removes and returns every payload recorded so far.
    pub(crate) fn take(&self) -> Vec<PanicPayload> {
        // Relaxed: see `record`. A 0 here means no payload was recorded before the caller's
        // own synchronization point, or another `take` has it: each payload goes to one
        // caller.
        if self.count.load(Ordering::Relaxed) == 0 {
            return Vec::new();
        }
        let mut payloads = self.payloads.lock().unwrap_or_else(|e| e.into_inner());
        self.count.store(0, Ordering::Relaxed);
        core::mem::take(&mut *payloads)
    }

    /// Removes and returns the oldest payload, dropping the others (for a scope, which
    /// re-raises one panic) — each under a guard, since a payload's own `Drop` may panic.
    pub(crate) fn take_first(&self) -> Option<PanicPayload> {
        let mut payloads = self.take().into_iter();
        let first = payloads.next();
        payloads.for_each(drop_payload);
        first
    }
}

impl Drop for PanicRecord {
    /// The payloads nobody took (a pool dropped without `shutdown`, its last handle perhaps
    /// on one of its own workers) are dropped under a guard: a payload whose `Drop` panics
    /// must not unwind the thread that drops the pool — which may already be unwinding.
    fn drop(&mut self) {
        let payloads = core::mem::take(self.payloads.get_mut().unwrap_or_else(|e| e.into_inner()));
        payloads.into_iter().for_each(drop_payload);
    }
}

impl Default for PanicRecord {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PanicRecord {
    /// Reads nothing: the record is under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PanicRecord").finish_non_exhaustive()
    }
}

/// The text of a panic payload, if it was a `&str` or a `String` (what `panic!` makes).
///
/// ```
/// use synclab::pool::{panic_message, LockFreePool, ThreadPool};
///
/// let pool = LockFreePool::with_workers(1)?;
/// pool.execute(|| panic!("task {} failed", 7)).unwrap(); // `?` once SubmitError is Sync
/// let report = pool.wait().unwrap();
/// assert_eq!(report.panicked, 1);
/// assert_eq!(panic_message(&report.payloads[0]), Some("task 7 failed"));
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub fn panic_message(payload: &PanicPayload) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

/// Runs `task`, catching a panic; a panic's payload goes to `panics`.
///
/// The task is consumed (and so dropped) inside the guard, so a panicking destructor of a
/// captured value is caught too. The payload is kept, not dropped here — it goes to whoever
/// takes it (a `JoinHandle`, a `wait`, a `shutdown`), as `std::thread::JoinHandle::join`
/// hands it to the joiner — so a payload whose own `Drop` panics (`panic_any(Bomb)`) cannot
/// unwind the worker. The payloads the pool drops itself go through [`drop_payload`].
#[inline]
pub(crate) fn run_task(task: impl FnOnce(), panics: &PanicRecord) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(task)) {
        panics.record(payload);
    }
}

/// Drops a panic payload under a guard, for the payloads the pool drops itself (those left
/// in a pool that is dropped without `shutdown`, the ones a scope does not re-raise). If its
/// `Drop` panics, the *second* payload is forgotten (leaked) rather than dropped: it may panic
/// again, and a chain of payloads that each panic with another one (`ChainBomb` in the tests)
/// would otherwise never end. std's own threads abort the process here; a pool must not.
#[cold]
pub(crate) fn drop_payload(payload: PanicPayload) {
    if let Err(again) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        drop(payload);
    })) {
        core::mem::forget(again);
    }
}

#[cfg(all(test, synclab_plain))]
mod tests {
    use super::*;

    /// `drop_payload` survives a payload whose drop panics, and a chain of them; `run_task`
    /// keeps the payload instead of dropping it.
    #[test]
    fn payloads_that_panic_on_drop_are_kept_or_dropped_under_a_guard() {
        struct ChainBomb(u32);
        impl Drop for ChainBomb {
            fn drop(&mut self) {
                if self.0 > 0 {
                    std::panic::panic_any(ChainBomb(self.0 - 1));
                }
            }
        }
        let record = PanicRecord::new();
        run_task(Box::new(|| std::panic::panic_any(ChainBomb(5))), &record);
        run_task(Box::new(|| ()), &record);
        let payloads = record.take();
        assert_eq!(payloads.len(), 1);
        for payload in payloads {
            drop_payload(payload);
        }
    }
}
