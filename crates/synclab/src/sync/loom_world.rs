//! The loom world: every interleaving within the bounds is explored.

pub use loom::cell::UnsafeCell;
pub use loom::sync::{Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard};

/// Atomic types and fences (`loom::sync::atomic`), with a futex-capable [`AtomicU32`].
pub mod atomic {
    pub use super::futex_backend::AtomicU32;
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}

/// Threads (`loom::thread`). Time is not modelled: `sleep` is a yield.
pub mod thread {
    pub use loom::thread::{current, park, spawn, yield_now, JoinHandle, Thread};
    /// Thread-local storage; under a checker, local to the checker's model thread.
    pub use loom::thread_local;
    pub use std::thread::panicking;

    /// loom does not model time: sleeping is a yield to the scheduler.
    pub fn sleep(_duration: std::time::Duration) {
        yield_now();
    }
}

/// Time: a frozen clock (see `model_time.rs`).
pub mod time {
    pub use super::super::model_time::Instant;
}

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
    use super::super::futex::WaitOutcome;
    use super::super::futex_model::{loom_spurious_budget, WaitQueue};
    use core::time::Duration;
    use loom::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    /// loom's `AtomicU32` with the wait queue of the futex model beside it.
    ///
    /// It dereferences to `loom::sync::atomic::AtomicU32`, so every atomic method is available.
    pub struct AtomicU32 {
        word: loom::sync::atomic::AtomicU32,
        /// Stands for the kernel's hash-bucket lock; see the module docs.
        bucket: loom::sync::Mutex<()>,
        queue: WaitQueue<Waiter>,
    }

    impl AtomicU32 {
        /// A new word holding `value`.
        pub fn new(value: u32) -> Self {
            Self {
                word: loom::sync::atomic::AtomicU32::new(value),
                bucket: loom::sync::Mutex::new(()),
                queue: WaitQueue::new(loom_spurious_budget()),
            }
        }
    }

    impl core::ops::Deref for AtomicU32 {
        type Target = loom::sync::atomic::AtomicU32;
        fn deref(&self) -> &Self::Target {
            &self.word
        }
    }

    impl core::fmt::Debug for AtomicU32 {
        /// Reads nothing, so printing is not a scheduling point.
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("AtomicU32").finish_non_exhaustive()
        }
    }

    /// Sets how many waits on each word created from now on return spuriously at once.
    ///
    /// Used by the verification harness; see the module docs.
    #[doc(hidden)]
    pub fn set_spurious_budget(budget: u32) {
        super::super::futex_model::set_loom_spurious_budget(budget);
    }

    struct Waiter {
        thread: loom::thread::Thread,
        /// Set (plain std, invisible to loom) by the wake that dequeued this waiter, so an
        /// unrelated `unpark` of the thread is not mistaken for a wake.
        woken: std::sync::atomic::AtomicBool,
    }

    fn lock(word: &AtomicU32) -> loom::sync::MutexGuard<'_, ()> {
        word.bucket.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn wait(
        word: &AtomicU32,
        expected: u32,
        shared: bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        if word.queue.take_spurious() {
            return WaitOutcome::Woken; // a spurious return: no compare, no lock, no clock joined
        }
        let bucket = lock(word);
        if word.word.load(Relaxed) != expected {
            return WaitOutcome::Woken;
        }
        let waiter = Arc::new(Waiter {
            thread: loom::thread::current(),
            woken: std::sync::atomic::AtomicBool::new(false),
        });
        word.queue.push(shared, Arc::clone(&waiter));
        drop(bucket);
        if timeout.is_some() {
            // The timer may fire at any moment from here on. Taking the bucket lock again is a
            // loom scheduling point, so loom explores every place the others can run before it
            // fires (a `yield_now` here would be wrong: loom never schedules a yielded thread
            // while another is runnable, so a timeout before a pending wake would go unexplored).
            let bucket = lock(word);
            let still_queued = word.queue.remove(&waiter);
            drop(bucket);
            if still_queued {
                return WaitOutcome::TimedOut; // joins no clock
            }
            // A wake dequeued us first: fall through to receive its unpark.
        }
        // A wake between the unlock and here is not lost: `unpark` leaves a token that the
        // first `park` consumes.
        while !waiter.woken.load(std::sync::atomic::Ordering::Relaxed) {
            loom::thread::park();
        }
        WaitOutcome::Woken
    }

    pub(crate) fn wake(word: &AtomicU32, shared: bool, all: bool) {
        let bucket = lock(word);
        let waiters = if all {
            word.queue.drain(shared)
        } else {
            word.queue.pop_one(shared).into_iter().collect()
        };
        drop(bucket);
        for waiter in waiters {
            waiter
                .woken
                .store(true, std::sync::atomic::Ordering::Relaxed);
            waiter.thread.unpark();
        }
    }
}
