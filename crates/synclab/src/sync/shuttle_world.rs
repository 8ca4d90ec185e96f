//! The shuttle world: randomized and PCT schedules over larger scenarios.

pub use shuttle::sync::{
    Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard,
};

/// Atomic types and fences (`shuttle::sync::atomic`), with a futex-capable [`AtomicU32`].
///
/// shuttle treats every atomic access as SeqCst: it finds interleaving bugs (lost wakeups,
/// broken invariants), not missing orderings — that is loom's job.
pub mod atomic {
    pub use super::futex::AtomicU32;
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

/// The futex model under shuttle.
///
/// * **Atomic compare-and-block**, as under loom: the compare is an access to the word (a
///   shuttle scheduling point), and enqueueing is plain code shuttle cannot interrupt.
/// * **Spurious returns are explored**: each wait flips a coin from shuttle's own random source
///   (so a failing schedule replays exactly); on heads (1 in [`SPURIOUS_ODDS`]) it returns at
///   once, without comparing — a caller that does not re-check then runs on while its
///   condition is still false.
/// * `wake_one` wakes the oldest waiter; `wake_all` every waiter.
pub mod futex {
    use super::super::futex_model::WaitQueue;
    use shuttle::rand::RngCore;
    use shuttle::sync::atomic::Ordering::Relaxed;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// One wait in this many returns spuriously.
    pub const SPURIOUS_ODDS: u64 = 4;

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

    /// Sleeps while `*word == expected`; may return spuriously.
    pub fn wait(word: &AtomicU32, expected: u32) {
        if shuttle::rand::thread_rng().next_u64() % SPURIOUS_ODDS == 0 {
            return; // a spurious return
        }
        if word.word.load(Relaxed) != expected {
            return;
        }
        let waiter = Arc::new(Waiter {
            thread: shuttle::thread::current(),
            woken: AtomicBool::new(false),
        });
        word.queue.push(Arc::clone(&waiter));
        while !waiter.woken.load(Ordering::Relaxed) {
            shuttle::thread::park();
        }
    }

    fn wake(waiter: &Waiter) {
        waiter.woken.store(true, Ordering::Relaxed);
        waiter.thread.unpark();
    }

    /// Wakes at most one thread sleeping in [`wait`] on `word`.
    pub fn wake_one(word: &AtomicU32) {
        if let Some(waiter) = word.queue.pop_one() {
            wake(&waiter);
        }
    }

    /// Wakes every thread sleeping in [`wait`] on `word`.
    pub fn wake_all(word: &AtomicU32) {
        for waiter in word.queue.drain() {
            wake(&waiter);
        }
    }
}
