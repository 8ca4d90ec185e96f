//! The futex condition variable; the algorithm is documented on [`Condvar`].

use core::marker::PhantomData;
use core::time::Duration;

use crate::shm::{Heap, Memory};
use crate::sync::atomic::{AtomicU32, AtomicUsize, Ordering::*};
use crate::sync::time::Instant;

use super::{MutexGuard, RawLock};

/// A condition variable in memory `M` (the [`Heap`] unless it is placed in a segment) that
/// works with every [`Mutex<T, R>`](super::Mutex)'s guard.
///
/// A condition variable on a futex sequence counter, for any [`Mutex<T, R>`](super::Mutex).
///
/// Source: Rust's standard library, `library/std/src/sys/sync/condvar/futex.rs` (the sequence
/// counter and its Relaxed orderings); Mara Bos, *Rust Atomics and Locks*, chapter 9.2
/// ("Condition Variable", including the waiter count that skips the wake system call).
///
/// # Protocol
///
/// | field     | meaning | changed by |
/// |-----------|---------|------------|
/// | `seq`     | a counter bumped by every notification (wrapping); the futex word | `notify_*`: `fetch_add(1)` |
/// | `waiters` | threads between registering in `wait` and returning from the futex | `wait`: `+1` under the lock, `-1` after the futex returns |
///
/// * `wait`: under the lock, register (`waiters += 1`) and read `seq` into `seen`; unlock;
///   `futex::wait(&seq, seen)` — sleep only if no notification came since the read;
///   unregister; re-lock.
/// * `notify_one` / `notify_all`: bump `seq`, then, only if `waiters > 0`, `futex::wake_one`
///   / `wake_all`. With nobody waiting a notify is one RMW and one load, no system call.
///
/// # Why no wakeup is lost, with Relaxed everywhere
///
/// The rule every condvar imposes on its users: the notifier changes the predicate *while
/// holding the same mutex* (and may notify after unlocking). Then, for a waiter that saw the
/// predicate false:
///
/// * the waiter's registration and its read of `seq` happen before its unlock, which happens
///   before the notifier's lock (the mutex's own Release/Acquire), which happens before the
///   notifier's bump and its read of `waiters`. So by coherence the bump is later in `seq`'s
///   modification order than the value `seen`, and the read of `waiters` sees the registration
///   (or a later value — never the unregistration, which only follows the futex returning);
/// * futex(2) compares and blocks atomically with respect to wakes on `seq`: either the
///   compare already sees the bump (the waiter does not sleep) or the waiter is asleep when the
///   notifier's wake comes.
///
/// No ordering on `seq` or `waiters` is needed for the *data*: the waiter re-locks the mutex
/// before looking at the predicate, and the mutex orders that.
///
/// # Timed waits
///
/// [`Condvar::wait_timeout`] sleeps with `futex::wait_timeout`; a waiter that times out
/// unregisters exactly like a woken one, so `waiters` stays exact. A notification it did not
/// consume is not lost: `notify_one` wakes a thread still *in* the futex queue, and a waiter
/// that timed out has already left it (futex(2) and both models: a wait either is dequeued by
/// a wake and reports woken, or times out and is no longer there to be woken).
/// [`Condvar::wait_timeout_while`] keeps one deadline across spurious returns.
///
/// # Spurious wakeups
///
/// `wait` may return although nobody notified *this* waiter, so callers re-check their
/// predicate in a loop ([`Condvar::wait_while`] does): the futex itself may return spuriously;
/// a `notify_one` bumps `seq` for everyone, so every waiter that read `seq` before the bump but
/// had not yet gone to sleep returns at once, besides the one the wake reaches; and a thread
/// woken by a notify re-contends for the mutex, where another thread may have consumed the
/// state first.
///
/// # The 2³² wrap-around hole
///
/// `seq` is a `u32` that wraps. If exactly a multiple of 2³² notifications happen between a
/// waiter's read of `seq` and its futex compare, the compare sees the old value and the waiter
/// sleeps through them (it will still wake on the next notification). That needs four billion
/// notifies while the waiter is preempted between two instructions; std accepts the same hole.
///
/// # In a segment shared by processes
///
/// `Condvar<Shm>` sleeps on a shared futex, and — since a notifier may be killed before it
/// notifies — for at most [`Memory::POLL`] at a time: a wait that times out returns as a
/// spurious wakeup, the caller re-locks (taking over from a dead holder, see
/// [`RobustMutex`](super::RobustMutex)) and re-checks its predicate. On the heap
/// (`M::TRACKED` is a constant `false`) the wait is unbounded and that branch compiles away.
///
/// # Progress
///
/// Blocking. `notify_all` wakes every sleeper at once, and they then queue on the mutex (no
/// requeue onto the mutex's futex, unlike glibc's condvar).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use synclab::lock::{Condvar, FutexMutex};
///
/// let pair = Arc::new((FutexMutex::new(false), Condvar::new()));
/// let peer = Arc::clone(&pair);
/// let t = std::thread::spawn(move || {
///     *peer.0.lock() = true;
///     peer.1.notify_one();
/// });
/// let (lock, ready) = &*pair;
/// let guard = ready.wait_while(lock.lock(), |started| !*started);
/// assert!(*guard);
/// drop(guard);
/// t.join().unwrap();
/// ```
#[repr(C)]
pub struct Condvar<M: Memory = Heap> {
    /// Bumped (wrapping) by every notification; the futex word waiters sleep on.
    seq: AtomicU32,
    /// Threads registered in `wait` and not yet back from the futex; `notify_*` skips the
    /// wake system call when it is zero.
    waiters: AtomicUsize,
    _memory: PhantomData<M>,
}

impl Condvar {
    /// A new condition variable with no waiters, on the heap.
    pub fn new() -> Self {
        Self::new_in()
    }
}

impl<M: Memory> Condvar<M> {
    /// A new condition variable with no waiters, in memory `M` (also `Default`).
    pub(crate) fn new_in() -> Self {
        Self {
            seq: AtomicU32::new(0),
            waiters: AtomicUsize::new(0),
            _memory: PhantomData,
        }
    }

    /// Unlocks the guard's mutex, sleeps until notified, and re-locks; may return spuriously
    /// (see [`Condvar`]), so callers re-check their predicate.
    pub fn wait<'a, T, R: RawLock>(&self, guard: MutexGuard<'a, T, R>) -> MutexGuard<'a, T, R> {
        self.wait_inner(guard, None).0
    }

    /// Waits while `condition` holds, re-checking it (under the lock) after every return of
    /// [`Condvar::wait`].
    pub fn wait_while<'a, T, R: RawLock>(
        &self,
        mut guard: MutexGuard<'a, T, R>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> MutexGuard<'a, T, R> {
        while condition(&mut *guard) {
            guard = self.wait(guard);
        }
        guard
    }

    /// As [`Condvar::wait`], but gives up after `timeout`; the result says whether it timed
    /// out. It may also return early, spuriously, like `wait`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use synclab::lock::{Condvar, FutexMutex};
    ///
    /// let m = FutexMutex::new(());
    /// let cv = Condvar::new();
    /// let (_guard, result) = cv.wait_timeout(m.lock(), Duration::from_millis(1));
    /// assert!(result.timed_out()); // nobody notified
    /// ```
    pub fn wait_timeout<'a, T, R: RawLock>(
        &self,
        guard: MutexGuard<'a, T, R>,
        timeout: Duration,
    ) -> (MutexGuard<'a, T, R>, WaitTimeoutResult) {
        let (guard, timed_out) = self.wait_inner(guard, Some(timeout));
        (guard, WaitTimeoutResult(timed_out))
    }

    /// Waits while `condition` holds, for at most `timeout` in total. Returns the guard and
    /// whether it timed out — that is, the condition still held when the time ran out.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use synclab::lock::{Condvar, CountingMutex};
    ///
    /// let pair = Arc::new((CountingMutex::new(false), Condvar::new()));
    /// let peer = Arc::clone(&pair);
    /// let t = std::thread::spawn(move || {
    ///     *peer.0.lock() = true;
    ///     peer.1.notify_all();
    /// });
    /// let (lock, ready) = &*pair;
    /// let (guard, result) =
    ///     ready.wait_timeout_while(lock.lock(), Duration::from_secs(60), |ready| !*ready);
    /// assert!(*guard && !result.timed_out());
    /// drop(guard);
    /// t.join().unwrap();
    /// ```
    pub fn wait_timeout_while<'a, T, R: RawLock>(
        &self,
        mut guard: MutexGuard<'a, T, R>,
        timeout: Duration,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> (MutexGuard<'a, T, R>, WaitTimeoutResult) {
        // A timeout too large for the clock is no timeout.
        let deadline = Instant::now().checked_add(timeout);
        loop {
            if !condition(&mut *guard) {
                return (guard, WaitTimeoutResult(false));
            }
            let left = match deadline {
                None => None,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return (guard, WaitTimeoutResult(true));
                    }
                    Some(deadline - now)
                }
            };
            let (relocked, timed_out) = self.wait_inner(guard, left);
            guard = relocked;
            if timed_out {
                let still = condition(&mut *guard);
                return (guard, WaitTimeoutResult(still));
            }
        }
    }

    /// The one wait: register, read `seq`, unlock, sleep on `seq` (for at most `timeout`),
    /// unregister, re-lock. Returns whether the timeout passed.
    fn wait_inner<'a, T, R: RawLock>(
        &self,
        mut guard: MutexGuard<'a, T, R>,
        timeout: Option<Duration>,
    ) -> (MutexGuard<'a, T, R>, bool) {
        // Relaxed (both): ordered by the mutex we hold; see [`Condvar`]. Register first,
        // so a notifier that reads `waiters` after taking the lock sees us.
        self.waiters.fetch_add(1, Relaxed);
        let seen = self.seq.load(Relaxed);
        let timed_out = MutexGuard::unlocked(&mut guard, || {
            // Sleeps only if no notification bumped `seq` since `seen` was read; in tracked
            // memory at most POLL at a time, returning as a spurious wakeup. A timed-out
            // waiter unregisters exactly like a woken one, so the count stays exact.
            let timed_out = match timeout {
                Some(timeout) if !M::TRACKED || timeout <= M::POLL => {
                    M::wait_timeout(&self.seq, seen, timeout)
                }
                _ if M::TRACKED => {
                    M::wait_timeout(&self.seq, seen, M::POLL);
                    false
                }
                _ => {
                    M::wait(&self.seq, seen);
                    false
                }
            };
            self.waiters.fetch_sub(1, Relaxed);
            timed_out
        });
        (guard, timed_out)
    }

    /// Wakes one waiter, if any (possibly more: see [`Condvar`] on spurious wakeups).
    pub fn notify_one(&self) {
        // Relaxed (both): the change of the predicate under the mutex orders the waiter's
        // registration before this read; see [`Condvar`]. Bump before reading `waiters`.
        self.seq.fetch_add(1, Relaxed);
        if self.waiters.load(Relaxed) > 0 {
            M::wake_one(&self.seq);
        }
    }

    /// Wakes every waiter.
    pub fn notify_all(&self) {
        // Relaxed (both): as in `notify_one`.
        self.seq.fetch_add(1, Relaxed);
        if self.waiters.load(Relaxed) > 0 {
            M::wake_all(&self.seq);
        }
    }
}

/// Whether a timed condvar wait ([`Condvar::wait_timeout`], [`Condvar::wait_timeout_while`])
/// gave up because its time ran out (as std's `WaitTimeoutResult`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitTimeoutResult(bool);

impl WaitTimeoutResult {
    /// Whether the wait timed out (for `wait_timeout_while`: with the condition still true).
    #[inline]
    pub fn timed_out(&self) -> bool {
        self.0
    }
}

impl<M: Memory> Default for Condvar<M> {
    fn default() -> Self {
        Self::new_in()
    }
}

impl<M: Memory> core::fmt::Debug for Condvar<M> {
    /// Reads nothing: the counters change under our feet.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Condvar").finish_non_exhaustive()
    }
}
