//! Task results: [`ThreadPool::spawn`](super::ThreadPool::spawn) and its [`JoinHandle`].
//!
//! A spawned task and its handle share one *packet*: a futex word and a cell for the task's
//! result (its value, or the payload of its panic). The task writes the cell and then sets
//! `DONE`; the handle reads the cell only after it has seen `DONE`, and the side that comes
//! second — the task finishing after the handle was dropped, or the handle dropped after the
//! task finished — disposes of the result: a value is dropped, a panic payload goes to the
//! pool's [`PanicRecord`], where the next `wait` reports it. So every payload reaches exactly
//! one place: `join`, or the pool's report (or, in a scope, the re-raised panic).
//!
//! This is written once, on top of the [`ThreadPool`](super::ThreadPool) trait: the task is
//! an ordinary [`Task`](super::Task) that any pool runs, so every pool gets `spawn` for free.
//! `install`'s hand-off and the scoped handles reuse the same packet.
//!
//! # The packet's word
//!
//! | bit | name | set by | meaning |
//! |---|---|---|---|
//! | 0 | `DONE` | the task, after writing the cell | the cell holds the result |
//! | 1 | `DETACHED` | the handle's `Drop` (also at the end of `join`) | no handle will read the cell |
//! | 2 | `JOINING` | `join`, before it sleeps | `DONE` must be followed by a futex wake |
//!
//! Every change is a `fetch_or`, so each side learns the other's bits from the value its own
//! RMW returns: they are ordered in the word's modification order, and whoever is second
//! sees the first. That is the whole no-lost-wakeup argument: `join` sets `JOINING` and then
//! sleeps with a futex compare against the value it set; if the task's `DONE` came first,
//! `join` saw it in its RMW's result; if it came after, the task saw `JOINING` and wakes the
//! word (and a wake that lands before `join` sleeps finds the word changed).
//!
//! # Orderings
//!
//! The task's `fetch_or(DONE)` is Release: it publishes the cell. `join`'s loads and the
//! handle's `fetch_or(DETACHED)` are Acquire: they pair with it, so the result is visible to
//! whichever handle-side code reads the cell. The task's own read of the cell (when it finds
//! `DETACHED`) reads what it wrote itself, and the handle wrote nothing: no ordering needed.
//!
//! # Progress
//!
//! `join` blocks (a futex wait) until the task has run; it makes no syscall if the task has
//! finished. The task's side is wait-free: one RMW, and a wake only if `join` is asleep.

use core::fmt;
use core::marker::PhantomData;
use core::mem::{ManuallyDrop, MaybeUninit};
use core::time::Duration;

use super::hooks::Hooks;
use super::panics::{PanicPayload, PanicRecord};
use crate::sync::atomic::{AtomicU32, Ordering};
use crate::sync::time::Instant;
use crate::sync::{futex, Arc, UnsafeCell};

/// The cell holds the task's result.
const DONE: u32 = 1;
/// The handle is gone: nobody will read the cell.
const DETACHED: u32 = 2;
/// A `join` is asleep (or about to sleep) on the word.
const JOINING: u32 = 4;

/// What a task leaves: its value, or the payload of its panic.
type Outcome<T> = Result<T, PanicPayload>;

/// The state a spawned task shares with its handle; see the module docs.
pub(crate) struct Packet<T> {
    /// `DONE | DETACHED | JOINING`; see the table in the module docs.
    state: AtomicU32,
    /// Written once by the task before `DONE`; read by the handle after `DONE`, or taken back
    /// by the task if it finds `DETACHED`.
    result: UnsafeCell<Option<Outcome<T>>>,
    /// Where a payload goes that no handle takes.
    record: Arc<PanicRecord>,
}

// SAFETY: the packet moves one `T` (or a `Send` payload) from the task's thread to the
// handle's; the cell is accessed by one side at a time, handed over by the `DONE` bit with
// Release/Acquire (module docs). `T: Send` is all that needs, as for `std::thread::JoinHandle`.
unsafe impl<T: Send> Sync for Packet<T> {}
// SAFETY: as above: moving the packet moves at most one `T`.
unsafe impl<T: Send> Send for Packet<T> {}

impl<T> Packet<T> {
    fn new(record: Arc<PanicRecord>) -> Self {
        Self {
            state: AtomicU32::new(0),
            result: UnsafeCell::new(None),
            record,
        }
    }

    /// The task's side: stores `outcome` and hands it to the handle, or disposes of it if the
    /// handle is gone.
    fn complete(&self, outcome: Outcome<T>) {
        // SAFETY: until `DONE` is set (below) only the task accesses the cell: the handle
        // reads it only after it has seen `DONE`.
        self.result.with_mut(|p| unsafe { *p = Some(outcome) });
        // Release: publishes the cell; pairs with the Acquire loads in `wait_done` and the
        // Acquire RMW in `JoinHandle::drop`.
        let previous = self.state.fetch_or(DONE, Ordering::Release);
        if previous & DETACHED != 0 {
            // SAFETY: the handle set `DETACHED` before our `DONE`, so it never saw `DONE` and
            // never will touch the cell again; it is ours, and we read only our own write.
            let outcome = self.result.with_mut(|p| unsafe { (*p).take() });
            self.dispose(outcome);
        } else if previous & JOINING != 0 {
            futex::wake_one(&self.state);
        }
    }

    /// A result nobody will join: a value is dropped, a payload is recorded (unless it only
    /// says that the task was dropped unrun: that was no panic).
    fn dispose(&self, outcome: Option<Outcome<T>>) {
        if let Some(Err(payload)) = outcome {
            if !payload.is::<TaskDropped>() {
                self.record.record(payload);
            }
        }
    }

    /// Whether the task has finished (Acquire: the cell may be read if it has).
    #[inline]
    fn is_done(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or(DONE)` in `complete`.
        self.state.load(Ordering::Acquire) & DONE != 0
    }

    /// Blocks until `DONE`, or until `deadline` (if any) passes; whether `DONE` was seen.
    ///
    /// A timed-out joiner leaves `JOINING` set: the task then makes one futex wake nobody
    /// needs, which costs a syscall and orders nothing.
    fn wait_done(&self, deadline: Option<Instant>) -> bool {
        // Acquire: pairs with the Release `fetch_or(DONE)` in `complete` (here and below).
        let mut state = self.state.load(Ordering::Acquire);
        while state & DONE == 0 {
            if state & JOINING == 0 {
                // Announce the sleep; the RMW's result tells whether `DONE` came first.
                state = self.state.fetch_or(JOINING, Ordering::Acquire) | JOINING;
                continue;
            }
            // Sleeps only while the word still says "not done, joining"; may return
            // spuriously, hence the loop.
            if futex::wait_until(&self.state, state, deadline).timed_out() {
                // One last look: the task may have finished as we gave up.
                return self.is_done();
            }
            state = self.state.load(Ordering::Acquire);
        }
        true
    }

    /// The handle's side, after `DONE` was seen with Acquire: takes the result.
    fn take(&self) -> Option<Outcome<T>> {
        // SAFETY: the caller saw `DONE` (Acquire, pairing with the task's Release), so the
        // task's write is visible and the task will not touch the cell again: it does so only
        // if `DETACHED` was set before its `DONE`, and the handle sets `DETACHED` only in its
        // `Drop`, after the last call of this.
        self.result.with_mut(|p| unsafe { (*p).take() })
    }

    /// The handle's `Drop`: detaches, and disposes of the result if the task has finished.
    fn detach(&self) {
        // Acquire: pairs with the Release `fetch_or(DONE)` in `complete`, so that if the task
        // has finished its result is visible here.
        let previous = self.state.fetch_or(DETACHED, Ordering::Acquire);
        if previous & DONE != 0 {
            let outcome = self.take();
            self.dispose(outcome);
        }
    }
}

/// Packages `f` as a task that stores its outcome for the returned handle; payloads that
/// the handle does not take go to `record`.
///
/// The task is a plain closure over an `Arc` of the packet; it catches `f`'s panic itself, so
/// the pool that runs it sees a task that returned.
pub(crate) fn package<'a, F, T>(
    f: F,
    record: Arc<PanicRecord>,
) -> (impl FnOnce() + Send + 'a, JoinHandle<T>)
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let packet = Arc::new(Packet::new(record));
    let handle = JoinHandle {
        packet: Arc::clone(&packet),
    };
    let packaged = Packaged {
        f: MaybeUninit::new(f),
        completion: Completion {
            packet: Some(packet),
        },
    };
    // A method call on `packaged` captures it whole (never its fields apart).
    (move || packaged.run(), handle)
}

/// `package`'s task: the closure, then its claim on the packet.
///
/// * A task dropped unrun drops `f` (and everything it borrows) *before* its `Completion`
///   sets `DONE` (`Drop` drops `f`; the fields' drop glue then drops the completion): whoever
///   waits for `DONE` — a `join`, or [`install`](super::ThreadPool::install), which erases
///   `f`'s lifetime — never sees it while `f` still exists.
/// * `f` sits in a `MaybeUninit` (std's `MaybeDangling` trick, as in the scope's
///   `ScopedTask`): a `Packaged` is passed by value into the frames that run it, and a
///   reference held by value there would be *protected* (Stacked Borrows retags the fields of
///   arguments) until the frame returns — which is after `DONE`, when `install`'s caller may
///   already use the borrowed data again (Miri's Stacked Borrows checks it). `f` is read out
///   into a local before it runs, so only the frame that calls it (and returns before
///   `DONE`) holds it as an argument.
struct Packaged<F, T> {
    /// Always initialised until `run` or `Drop` takes it.
    f: MaybeUninit<F>,
    completion: Completion<T>,
}

impl<F: FnOnce() -> T, T> Packaged<F, T> {
    fn run(self) {
        let this = ManuallyDrop::new(self);
        // SAFETY: `f` is initialised (by `package`) and read exactly once: `this` is never
        // dropped, so neither `Drop` nor a second `run` touches it again.
        let f = unsafe { this.f.assume_init_read() };
        // SAFETY: `completion` is read exactly once, out of a `ManuallyDrop` never dropped.
        let completion = unsafe { core::ptr::read(&this.completion) };
        // `f` is consumed (and its captures dropped) inside the guard.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        completion.complete(outcome);
    }
}

impl<F, T> Drop for Packaged<F, T> {
    /// Dropped unrun: the closure goes first; the completion follows in the drop glue.
    fn drop(&mut self) {
        // SAFETY: `f` is initialised (by `package`); `run` never lets a `Packaged` it took
        // from be dropped, so this is the only drop of it.
        unsafe { self.f.assume_init_drop() }
    }
}

/// The task's claim on its packet. If the task is dropped without running (a pool refused
/// it, or dropped it), its `Drop` completes the packet with a [`TaskDropped`] payload, so a
/// `join` returns instead of waiting forever.
struct Completion<T> {
    /// `None` once completed.
    packet: Option<Arc<Packet<T>>>,
}

impl<T> Completion<T> {
    fn complete(mut self, outcome: Outcome<T>) {
        if let Some(packet) = self.packet.take() {
            packet.complete(outcome);
        }
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if let Some(packet) = self.packet.take() {
            packet.complete(Err(Box::new(TaskDropped)));
        }
    }
}

/// The payload [`JoinHandle::join`] returns for a task that was dropped without running (its
/// pool refused it or discarded it). synclab's pools run every task they accept, so with them
/// this is seen only for a task handed back in a [`SubmitError`](super::SubmitError) and then
/// dropped. It is never counted as a panic in a [`WaitReport`](super::WaitReport).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskDropped;

impl fmt::Display for TaskDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the task was dropped without running")
    }
}

impl std::error::Error for TaskDropped {}

/// An owned permission to join a task spawned with
/// [`ThreadPool::spawn`](super::ThreadPool::spawn): its value, or the payload of its panic.
///
/// Dropping the handle detaches the task (it still runs); if it panics, or had panicked, its
/// payload goes to the pool's next [`WaitReport`](super::WaitReport) instead.
///
/// ```
/// use synclab::pool::{LockFreePool, ThreadPool};
///
/// let pool = LockFreePool::with_workers(2)?;
/// let answer = pool.spawn(|| 6 * 7).unwrap();
/// let failed = pool.spawn(|| -> u32 { panic!("no answer") }).unwrap();
/// assert_eq!(answer.join().unwrap(), 42);
/// let payload = failed.join().unwrap_err();
/// assert_eq!(payload.downcast_ref::<&str>(), Some(&"no answer"));
/// assert_eq!(pool.wait().unwrap().panicked, 0); // the handle took the payload
/// # Ok::<(), synclab::pool::BuildError>(())
/// ```
#[must_use = "dropping a JoinHandle detaches the task; `join` it to get its result"]
pub struct JoinHandle<T> {
    packet: Arc<Packet<T>>,
}

impl<T> JoinHandle<T> {
    /// Waits for the task to finish and returns its value, or the payload of its panic
    /// (as [`std::thread::JoinHandle::join`] does).
    ///
    /// Joining from inside a task of the same pool waits on that worker: if every worker
    /// waits for a task still queued behind them, nothing runs it. Use a
    /// [`scope`](super::ThreadPool::scope) there instead: its owner runs the scope's queued
    /// tasks itself while it waits, so it cannot deadlock the pool.
    ///
    /// # Errors
    ///
    /// The task's panic payload, if it panicked.
    pub fn join(self) -> Result<T, PanicPayload> {
        self.packet.wait_done(None);
        match self.packet.take() {
            Some(outcome) => outcome,
            // `take` runs once per handle, after `DONE`, and only the task writes the cell.
            None => unreachable!("a finished task's result was taken twice"),
        }
    }

    /// Whether the task has finished (then [`join`](Self::join) does not block).
    pub fn is_finished(&self) -> bool {
        self.packet.is_done()
    }

    /// Waits for the task to finish, for at most `timeout`; whether it has (then
    /// [`join`](Self::join) returns at once).
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::pool::{LockFreePool, ThreadPool};
    ///
    /// let pool = LockFreePool::with_workers(1)?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let task = pool.spawn(move || rx.recv().is_ok()).unwrap();
    /// assert!(!task.wait_timeout(Duration::from_millis(1))); // still blocked
    /// tx.send(()).unwrap();
    /// assert!(task.wait_timeout(Duration::from_secs(10)));
    /// assert_eq!(task.join().unwrap(), true);
    /// # Ok::<(), synclab::pool::BuildError>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.packet.wait_done(Instant::now().checked_add(timeout))
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        self.packet.detach();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    /// Reads nothing: the state is under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle").finish_non_exhaustive()
    }
}

/// A [`JoinHandle`] for a task spawned in a [`Scope`](super::Scope): it cannot outlive the
/// scope, so the task may borrow what the scope borrows.
///
/// Not `#[must_use]` (unlike [`JoinHandle`]): dropping it is the common case, since the scope
/// waits for the task anyway.
pub struct ScopedJoinHandle<'scope, T> {
    handle: JoinHandle<T>,
    /// The scope: `join` runs its queued jobs (and, when the scope spawns directly into the
    /// pool — see "Direct spawns" on [`Scope`](super::Scope) — the pool's tasks) while it
    /// waits, since the task may be one of them with nobody else to run it.
    helper: &'scope dyn Help,
    _scope: PhantomData<&'scope ()>,
}

/// [`Hooks::help_while`], object-safe, for a handle to call.
pub(crate) trait Help: Sync {
    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool;
}

impl<P: super::ThreadPool> Help for P {
    fn help_while(&self, busy: &dyn Fn() -> bool) -> bool {
        Hooks::help_while(self, busy)
    }
}

impl<'scope, T> ScopedJoinHandle<'scope, T> {
    pub(crate) fn new(handle: JoinHandle<T>, helper: &'scope dyn Help) -> Self {
        Self {
            handle,
            helper,
            _scope: PhantomData,
        }
    }

    /// Waits for the task to finish and returns its value, or its panic payload. A payload
    /// taken here is not re-raised by the scope.
    ///
    /// While it waits it runs the scope's tasks that nobody has started (the task itself may
    /// be one of them: on a closed pool nobody else would run it before the scope's closure
    /// returns, and joining from inside the closure would never end), and, on one of the
    /// pool's workers in a scope that spawns directly (a
    /// [`WorkStealingPool`](super::WorkStealingPool) scope), the pool's tasks — the task may
    /// be queued in this very worker's deque. It sleeps only once it finds nothing to run
    /// (the task is then running elsewhere, or queued on another worker, which runs it).
    ///
    /// # Errors
    ///
    /// The task's panic payload, if it panicked.
    pub fn join(self) -> Result<T, PanicPayload> {
        self.helper.help_while(&|| !self.handle.is_finished());
        self.handle.join()
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }
}

impl<T> fmt::Debug for ScopedJoinHandle<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedJoinHandle").finish_non_exhaustive()
    }
}
