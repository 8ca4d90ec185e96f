//! The loom world: every interleaving within the bounds is explored.

pub use loom::cell::UnsafeCell;
pub use loom::sync::{Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard};

/// Atomic types and fences (`loom::sync::atomic`), with a futex-capable [`AtomicU32`].
pub mod atomic {
    pub use super::futex::AtomicU32;
    pub use loom::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}

/// Threads (`loom::thread`). Time is not modelled: `sleep` is a yield.
pub mod thread {
    pub use loom::thread::{current, park, spawn, yield_now, JoinHandle, Thread};
    pub use std::thread::panicking;

    /// loom does not model time: sleeping is a yield to the scheduler.
    pub fn sleep(_duration: std::time::Duration) {
        yield_now();
    }
}

/// The futex model under loom.
///
/// * **Atomic compare-and-block.** `wait` reads the word with a Relaxed RMW (`fetch_add(0)`),
///   which always reads the newest value in the word's modification order — as the kernel's
///   load under its bucket lock does — and then enqueues itself with plain code that loom
///   cannot interrupt (see `futex_model`). A wake that follows a change of the word therefore
///   either finds the waiter queued or the waiter finds the new value; it is never lost.
/// * **No hidden ordering.** The RMW is Relaxed, so the model's read of the word creates no
///   happens-before edge: a caller that returns because the word changed sees the waker's data
///   only through its *own* Acquire. loom's wake primitives (`unpark`, `Notify`) do join the
///   woken thread's clock with the waker's; that edge exists on a real Linux futex too (a
///   wake-up implies a full barrier), but code must not rely on it — and the model also
///   explores a waiter that returns *spuriously after* the word changed, with no edge at all,
///   which is where a missing Acquire shows up as a race.
/// * **Spurious returns are explored.** The first `SYNCLAB_LOOM_SPURIOUS` (default 1) waits on
///   each word block on a fresh `loom::sync::Notify`, which loom lets return spuriously; loom
///   branches on it, so code that forgets to re-check its condition is caught. Later waits
///   block with `park`, which never returns spuriously under loom.
/// * `wake_one` wakes the oldest waiter; `wake_all` every waiter.
pub mod futex {
    use super::super::futex_model::{loom_spurious_budget, WaitQueue};
    use loom::sync::atomic::Ordering::Relaxed;
    use std::sync::Arc;

    /// loom's `AtomicU32` with the wait queue of the futex model beside it.
    ///
    /// It dereferences to `loom::sync::atomic::AtomicU32`, so every atomic method is available.
    pub struct AtomicU32 {
        word: loom::sync::atomic::AtomicU32,
        queue: WaitQueue<Waiter>,
    }

    impl AtomicU32 {
        /// A new word holding `value`.
        pub fn new(value: u32) -> Self {
            Self {
                word: loom::sync::atomic::AtomicU32::new(value),
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

    enum Waiter {
        /// May return spuriously (loom branches on it) or when notified.
        MaySpur(loom::sync::Notify),
        /// Returns only when unparked.
        Park(loom::thread::Thread),
    }

    impl Waiter {
        fn block(&self) {
            match self {
                Waiter::MaySpur(notify) => notify.wait(),
                Waiter::Park(_) => loom::thread::park(),
            }
        }

        fn wake(&self) {
            match self {
                Waiter::MaySpur(notify) => notify.notify(),
                Waiter::Park(thread) => thread.unpark(),
            }
        }
    }

    /// Sleeps while `*word == expected`; may return spuriously.
    pub fn wait(word: &AtomicU32, expected: u32) {
        // Relaxed RMW: reads the newest value and adds no happens-before (see module docs).
        if word.word.fetch_add(0, Relaxed) != expected {
            return;
        }
        let waiter = Arc::new(if word.queue.take_spurious() {
            Waiter::MaySpur(loom::sync::Notify::new())
        } else {
            Waiter::Park(loom::thread::current())
        });
        word.queue.push(Arc::clone(&waiter));
        waiter.block();
        // A spurious return leaves us queued; a real futex dequeues a returning waiter.
        word.queue.remove(&waiter);
    }

    /// Wakes at most one thread sleeping in [`wait`] on `word`.
    pub fn wake_one(word: &AtomicU32) {
        // A dependent access of the word, so loom orders this wake against every wait's compare.
        word.word.fetch_add(0, Relaxed);
        if let Some(waiter) = word.queue.pop_one() {
            waiter.wake();
        }
    }

    /// Wakes every thread sleeping in [`wait`] on `word`.
    pub fn wake_all(word: &AtomicU32) {
        word.word.fetch_add(0, Relaxed);
        for waiter in word.queue.drain() {
            waiter.wake();
        }
    }
}
