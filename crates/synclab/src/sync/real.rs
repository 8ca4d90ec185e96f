//! The plain world: real threads, real atomics, the real futex.

pub use std::sync::{Arc, Condvar as StdCondvar, Mutex as StdMutex, MutexGuard as StdMutexGuard};

/// Atomic types and fences (`std::sync::atomic`).
pub mod atomic {
    pub use std::sync::atomic::{
        fence, AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize,
        Ordering,
    };
}

/// Threads (`std::thread`).
pub mod thread {
    pub use std::thread::{current, panicking, park, sleep, spawn, yield_now, JoinHandle, Thread};
    /// Thread-local storage; under a checker, local to the checker's model thread.
    pub use std::thread_local;
}

/// Sleep on a 32-bit word until it changes: futex(2) on Linux, `WaitOnAddress` on Windows,
/// `__ulock` on macOS — through the `atomic-wait` crate.
///
/// The contract every world keeps:
/// * `wait(word, expected)` compares `*word` with `expected` and, only if equal, sleeps; the
///   compare and the sleep are atomic with respect to `wake_*` on the same word, so a wake that
///   follows a change of the word is never lost;
/// * `wait` may return spuriously, so callers re-check their condition in a loop;
/// * `wake_one` wakes at most one waiter of that word, `wake_all` every waiter;
/// * no memory ordering is promised: callers order their data with their own Acquire/Release
///   accesses to the word.
pub mod futex {
    use super::atomic::AtomicU32;

    /// Sleeps while `*word == expected`; may return spuriously.
    #[inline]
    pub fn wait(word: &AtomicU32, expected: u32) {
        atomic_wait::wait(word, expected);
    }

    /// Wakes at most one thread sleeping in [`wait`] on `word`.
    #[inline]
    pub fn wake_one(word: &AtomicU32) {
        atomic_wait::wake_one(word);
    }

    /// Wakes every thread sleeping in [`wait`] on `word`.
    #[inline]
    pub fn wake_all(word: &AtomicU32) {
        atomic_wait::wake_all(word);
    }
}
