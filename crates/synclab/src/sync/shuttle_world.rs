//! The shuttle world: randomized and PCT schedules over larger scenarios.

pub use shuttle::sync::{
    Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard,
};

/// Atomic types and fences (`shuttle::sync::atomic`), with a futex-capable [`AtomicU32`].
///
/// shuttle treats every atomic access as SeqCst: it finds interleaving bugs (lost wakeups,
/// broken invariants), not missing orderings — that is loom's job.
pub mod atomic {
    pub use super::futex_backend::AtomicU32;
    pub use shuttle::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}

/// Threads (`shuttle::thread`). Time is not modelled: `sleep` is a yield.
pub mod thread {
    pub use shuttle::thread::{current, park, sleep, spawn, yield_now, JoinHandle, Thread};
    /// Thread-local storage; under a checker, local to the checker's model thread.
    pub use shuttle::thread_local;
    pub use std::thread::panicking;
}

/// Time: a frozen clock (see `model_time.rs`).
pub mod time {
    pub use super::super::model_time::Instant;
}

/// The futex model under shuttle, behind [`crate::sync::futex`].
///
/// * **Atomic compare-and-block**, as under loom: the compare is an access to the word (a
///   shuttle scheduling point), and enqueueing is plain code shuttle cannot interrupt.
/// * **Spurious returns are explored**: each wait flips a coin from shuttle's own random source
///   (so a failing schedule replays exactly); on heads (1 in [`SPURIOUS_ODDS`]) it returns at
///   once, without comparing — a caller that does not re-check then runs on while its
///   condition is still false.
/// * **Timeouts are explored**: a timed wait queues itself, yields (PCT lowers its priority, so
///   the others run first, as they would while it sleeps), and then times out unless a wake
///   dequeued it in the meantime.
/// * **Scopes**: a wake dequeues only waiters of its own scope.
/// * A wake of one wakes the oldest waiter of its scope; a wake of all, every one.
pub(crate) mod futex_backend {
    use super::super::futex::WaitOutcome;
    use super::super::futex_model::WaitQueue;
    use core::time::Duration;
    use shuttle::rand::RngCore;
    use shuttle::sync::atomic::Ordering::Relaxed;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// One wait in this many returns spuriously.
    const SPURIOUS_ODDS: u64 = 4;

    /// shuttle's `AtomicU32` with the wait queue of the futex model beside it.
    ///
    /// It dereferences to `shuttle::sync::atomic::AtomicU32`, so every atomic method is there.
    pub struct AtomicU32 {
        word: shuttle::sync::atomic::AtomicU32,
        queue: WaitQueue<Waiter>,
    }

    impl AtomicU32 {
        /// A new word holding `value`.
        pub fn new(value: u32) -> Self {
            Self {
                word: shuttle::sync::atomic::AtomicU32::new(value),
                queue: WaitQueue::new(0),
            }
        }
    }

    impl core::ops::Deref for AtomicU32 {
        type Target = shuttle::sync::atomic::AtomicU32;
        fn deref(&self) -> &Self::Target {
            &self.word
        }
    }

    impl core::fmt::Debug for AtomicU32 {
        fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
            f.debug_struct("AtomicU32").finish_non_exhaustive()
        }
    }

    struct Waiter {
        thread: shuttle::thread::Thread,
        /// Set (plain std, invisible to shuttle) by the wake that dequeued this waiter.
        woken: AtomicBool,
    }

    pub(crate) fn wait(
        word: &AtomicU32,
        expected: u32,
        shared: bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        if shuttle::rand::thread_rng().next_u64() % SPURIOUS_ODDS == 0 {
            return WaitOutcome::Woken; // a spurious return
        }
        if word.word.load(Relaxed) != expected {
            return WaitOutcome::Woken;
        }
        let waiter = Arc::new(Waiter {
            thread: shuttle::thread::current(),
            woken: AtomicBool::new(false),
        });
        word.queue.push(shared, Arc::clone(&waiter));
        if timeout.is_some() {
            // The timer fires whenever the schedule runs us again, unless a wake came first.
            shuttle::thread::yield_now();
            if word.queue.remove(&waiter) {
                return WaitOutcome::TimedOut;
            }
        }
        while !waiter.woken.load(Ordering::Relaxed) {
            shuttle::thread::park();
        }
        WaitOutcome::Woken
    }

    pub(crate) fn wake(word: &AtomicU32, shared: bool, all: bool) {
        // A wake is a scheduling point, as the syscall (and the loom model's bucket lock) is: a
        // Relaxed load of the word gives shuttle one, and orders nothing.
        let _ = word.word.load(Relaxed);
        let waiters = if all {
            word.queue.drain(shared)
        } else {
            word.queue.pop_one(shared).into_iter().collect()
        };
        for waiter in waiters {
            waiter.woken.store(true, Ordering::Relaxed);
            waiter.thread.unpark();
        }
    }
}
