//! Where a pool keeps the panic payloads that nobody has taken yet.
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
/// Every pool keeps one (behind [`ThreadPool::panics`](super::ThreadPool::panics)); handles
/// report to it when they are dropped without being joined.
pub struct PanicRecord {
    /// The number of payloads in `payloads`; changed only under that mutex.
    count: AtomicUsize,
    payloads: StdMutex<Vec<PanicPayload>>,
}

impl PanicRecord {
    /// An empty record.
    pub fn new() -> Self {
        Self {
            count: AtomicUsize::new(0),
            payloads: StdMutex::new(Vec::new()),
        }
    }

    /// Adds `payload`.
    pub fn record(&self, payload: PanicPayload) {
        let mut payloads = self.payloads.lock().unwrap_or_else(|e| e.into_inner());
        payloads.push(payload);
        // Relaxed: a hint for `take`'s lock-free check. Whoever needs this payload seen
        // (a `wait` after the task finished) is ordered after this store by the pool's own
        // Release/Acquire pair on its pending count, which follows this call.
        self.count.store(payloads.len(), Ordering::Relaxed);
    }

    /// Removes and returns every payload recorded so far.
    pub fn take(&self) -> Vec<PanicPayload> {
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
        payloads.for_each(super::drop_payload);
        first
    }
}

impl Drop for PanicRecord {
    /// The payloads nobody took (a pool dropped without `shutdown`, its last handle perhaps
    /// on one of its own workers) are dropped under a guard: a payload whose `Drop` panics
    /// must not unwind the thread that drops the pool — which may already be unwinding.
    fn drop(&mut self) {
        let payloads = core::mem::take(self.payloads.get_mut().unwrap_or_else(|e| e.into_inner()));
        payloads.into_iter().for_each(super::drop_payload);
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
