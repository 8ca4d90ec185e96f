//! The loom world: every interleaving within the bounds is explored.

pub(crate) use loom as raw_root;
/// The checker's own primitives, which `traced.rs` wraps (module aliases: what they hold is
/// loom's, public in loom, and re-exported from `crate::sync` through the wrappers).
pub(crate) use loom::cell::UnsafeCell as RawUnsafeCell;
pub(crate) use loom::sync as raw_sync;
pub(crate) use loom::sync::atomic as raw_atomic;
pub(crate) use loom::thread as raw_thread;

/// How the trace knows a model thread.
pub(crate) type ThreadKey = loom::thread::ThreadId;

/// The running model thread.
pub(crate) fn thread_key() -> ThreadKey {
    loom::thread::current().id()
}

pub(crate) use futex_backend::FutexState;

/// The futex model under loom, behind [`crate::sync::futex`].
///
/// * **Atomic compare-and-block.** Each word carries a loom `Mutex<()>` that stands for the
///   kernel's hash-bucket lock: `wait` takes it, reads the word (Relaxed), and enqueues itself
///   before releasing it; `wake` takes it to dequeue. A wake that follows a change of the word
///   therefore either finds the waiter queued or the waiter's read sees the new value.
/// * **No ordering beyond the kernel's.** The model's read of the word is Relaxed. The bucket
///   lock orders a waker's wake against a waiter's compare, exactly as futex(2)'s own lock
///   does; nothing else is added. In particular a waiter whose compare runs after a waker's
///   *store* but before its *wake* returns with no happens-before edge to the waker, so a
///   caller that then reads the waker's data through a Relaxed load is reported as a race.
///   The woken path (loom's `unpark`) joins the waker's clock, as a Linux wake-up
///   implies a full barrier; spurious and timed-out returns join nothing.
///   (Why not a lock-free compare: loom's modification order is a partial order, so an RMW
///   "reads the newest value" only among stores ordered by happens-before — and loom#254 lets
///   an RMW read past a concurrent plain store. Both produced impossible lost wakeups.)
/// * **Spurious returns are explored.** With a spurious budget of `n` (set by the harness, see
///   [`set_spurious_budget`]), the first `n` waits on each word return at once, before
///   comparing — a waiter that does not re-check its condition then runs on while it is still
///   false. The harness checks every model with budget 0 and with budget 1, so both the
///   sleeping and the spurious path of every wait site are explored.
/// * **Timeouts are explored.** A timed wait queues itself like any other, releases the bucket
///   lock and takes it again: that is its timer firing, at whatever point loom schedules it. If
///   no wake has dequeued it yet it leaves the queue and returns `TimedOut`, otherwise it was
///   woken and returns `Woken` (after joining the waker's clock). So every timed wait may time
///   out, at every point loom explores, unless a wake reached it first.
/// * **Scopes.** A waiter is queued with its scope; a wake dequeues only waiters of its own.
/// * A wake of one dequeues the oldest waiter of its scope; a wake of all, every one.
pub(crate) mod futex_backend {
    use super::super::atomic::AtomicU32;
    use super::super::futex::WaitOutcome;
    use super::super::futex_model::{loom_spurious_budget, wait_step, wake_step, WaitQueue};
    use super::super::trace::recorder::{self, Op};
    use core::panic::Location;
    use core::time::Duration;
    use loom::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    /// The futex model's part of an `AtomicU32`: a wait queue, and a loom mutex that stands
    /// for the kernel's hash-bucket lock (see the module docs).
    pub(crate) struct FutexState {
        bucket: loom::sync::Mutex<()>,
        queue: WaitQueue<Waiter>,
    }

    impl Default for FutexState {
        fn default() -> Self {
            Self {
                bucket: loom::sync::Mutex::new(()),
                queue: WaitQueue::new(loom_spurious_budget()),
            }
        }
    }

    /// Sets how many waits on each word created from now on return spuriously at once.
    ///
    /// Used by the verification harness; see the module docs.
    pub(crate) fn set_spurious_budget(budget: u32) {
        super::super::futex_model::set_loom_spurious_budget(budget);
    }

    struct Waiter {
        thread: loom::thread::Thread,
        /// Set (plain std, invisible to loom) by the wake that dequeued this waiter, so an
        /// unrelated `unpark` of the thread is not mistaken for a wake.
        woken: std::sync::atomic::AtomicBool,
    }

    fn lock(word: &AtomicU32) -> loom::sync::MutexGuard<'_, ()> {
        word.futex.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[track_caller]
    pub(crate) fn wait(
        word: &AtomicU32,
        expected: u32,
        shared: bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        let at = Location::caller();
        let timed = timeout.is_some();
        if word.futex.queue.take_spurious() {
            // A spurious return: no compare, no lock, no clock joined.
            wait_step(word, Op::FutexSpurious, expected, 0).record(at);
            return WaitOutcome::Woken;
        }
        let bucket = lock(word);
        let found = word.raw().load(Relaxed);
        let sleeps = found == expected;
        let event = wait_step(
            word,
            Op::FutexWait {
                cross_process: shared,
                timed,
            },
            expected,
            found,
        )
        .record(at);
        if !sleeps {
            return WaitOutcome::Woken;
        }
        let waiter = Arc::new(Waiter {
            thread: loom::thread::current(),
            woken: std::sync::atomic::AtomicBool::new(false),
        });
        word.futex.queue.push(shared, Arc::clone(&waiter));
        recorder::blocked(event);
        drop(bucket);
        if timeout.is_some() {
            // The timer may fire at any moment from here on. Taking the bucket lock again is a
            // loom scheduling point, so loom explores every place the others can run before it
            // fires (a `yield_now` here would be wrong: loom never schedules a yielded thread
            // while another is runnable, so a timeout before a pending wake would go unexplored).
            let bucket = lock(word);
            let still_queued = word.futex.queue.remove(&waiter);
            drop(bucket);
            if still_queued {
                recorder::blocked(None);
                wait_step(word, Op::FutexTimedOut, expected, 0).record(at);
                return WaitOutcome::TimedOut; // joins no clock
            }
            // A wake dequeued us first: fall through to receive its unpark.
        }
        // A wake between the unlock and here is not lost: `unpark` leaves a token that the
        // first `park` consumes.
        while !waiter.woken.load(std::sync::atomic::Ordering::Relaxed) {
            loom::thread::park();
        }
        recorder::blocked(None);
        wait_step(word, Op::FutexWoken, expected, 0).record(at);
        WaitOutcome::Woken
    }

    #[track_caller]
    pub(crate) fn wake(word: &AtomicU32, shared: bool, all: bool) {
        let bucket = lock(word);
        let waiters = if all {
            word.futex.queue.drain(shared)
        } else {
            word.futex.queue.pop_one(shared).into_iter().collect()
        };
        drop(bucket);
        let first = waiters.first().map(|w| w.thread.id());
        wake_step(word, shared, all, waiters.len(), first).record(Location::caller());
        for waiter in waiters {
            waiter
                .woken
                .store(true, std::sync::atomic::Ordering::Relaxed);
            waiter.thread.unpark();
        }
    }
}
