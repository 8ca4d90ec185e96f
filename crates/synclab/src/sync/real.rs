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
    /// `thread_local!` is thread-local storage; under a checker, local to the model thread.
    pub use std::{
        thread::{current, panicking, park, sleep, spawn, yield_now, JoinHandle, Thread},
        thread_local,
    };
}

/// Time (`std::time`).
pub mod time {
    pub use std::time::Instant;
}

/// The real futex behind [`crate::sync::futex`].
pub(crate) mod futex_backend {
    use super::atomic::AtomicU32;
    use crate::sync::futex::WaitOutcome;
    use core::time::Duration;

    /// Sleeps while `*word == expected`, in the given scope, for at most `timeout`.
    #[inline]
    pub(crate) fn wait(
        word: &AtomicU32,
        expected: u32,
        shared: bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        if !shared && timeout.is_none() {
            // The common case, exactly as before: atomic-wait's private, untimed wait.
            atomic_wait::wait(word, expected);
            return WaitOutcome::Woken;
        }
        imp::wait(word, expected, shared, timeout)
    }

    /// Wakes one (`all == false`) or every waiter of `word` in the given scope.
    #[inline]
    pub(crate) fn wake(word: &AtomicU32, shared: bool, all: bool) {
        if shared {
            imp::wake_shared(word, all);
        } else if all {
            // Private wakes reach private waits whichever call made them: atomic-wait and the
            // timed path below use the same `FUTEX_PRIVATE_FLAG` key on Linux.
            atomic_wait::wake_all(word);
        } else {
            atomic_wait::wake_one(word);
        }
    }

    /// `futex(2)` directly, for the waits atomic-wait does not offer: timed, and shared.
    #[cfg(target_os = "linux")]
    mod imp {
        use super::{AtomicU32, Duration, WaitOutcome};

        fn op(base: libc::c_int, shared: bool) -> libc::c_int {
            if shared {
                base
            } else {
                base | libc::FUTEX_PRIVATE_FLAG
            }
        }

        pub(super) fn wait(
            word: &AtomicU32,
            expected: u32,
            shared: bool,
            timeout: Option<Duration>,
        ) -> WaitOutcome {
            // A timeout too large for a `timespec` (≈ 292 billion years) is no timeout.
            let timespec = timeout.and_then(|t| {
                Some(libc::timespec {
                    tv_sec: libc::time_t::try_from(t.as_secs()).ok()?,
                    // Below 10^9, so it fits every `c_long`.
                    tv_nsec: t.subsec_nanos() as libc::c_long,
                })
            });
            let timespec_ptr = timespec
                .as_ref()
                .map_or(core::ptr::null(), |t| t as *const libc::timespec);
            // SAFETY: `word` is a valid, aligned `u32` for the whole call (an `AtomicU32` has
            // the layout of `u32`), and the kernel only reads it atomically; `timespec_ptr` is
            // null or points to a live `timespec` on this stack frame; FUTEX_WAIT ignores the
            // last two arguments. FUTEX_WAIT's timeout is relative, measured on
            // CLOCK_MONOTONIC — the clock of `std::time::Instant`.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    op(libc::FUTEX_WAIT, shared),
                    expected,
                    timespec_ptr,
                    core::ptr::null::<u32>(),
                    0u32,
                )
            };
            if rc == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) {
                WaitOutcome::TimedOut
            } else {
                // 0 (woken or spurious), EAGAIN (the word differed), EINTR (a signal).
                WaitOutcome::Woken
            }
        }

        pub(super) fn wake_shared(word: &AtomicU32, all: bool) {
            let count: libc::c_int = if all { libc::c_int::MAX } else { 1 };
            // SAFETY: as in `wait`; FUTEX_WAKE reads only its first three arguments and never
            // dereferences the word.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    word.as_ptr(),
                    op(libc::FUTEX_WAKE, true),
                    count,
                    core::ptr::null::<libc::timespec>(),
                    core::ptr::null::<u32>(),
                    0u32,
                );
            }
        }
    }

    /// Elsewhere: poll the word with short sleeps. Correct for both scopes (memory shared
    /// between processes is polled like any other), woken late rather than never.
    #[cfg(not(target_os = "linux"))]
    mod imp {
        use super::{AtomicU32, Duration, WaitOutcome};
        use std::sync::atomic::Ordering::Relaxed;
        use std::time::Instant;

        /// The longest single sleep of a polling wait.
        const POLL: Duration = Duration::from_micros(500);

        pub(super) fn wait(
            word: &AtomicU32,
            expected: u32,
            _shared: bool,
            timeout: Option<Duration>,
        ) -> WaitOutcome {
            let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
            loop {
                // Relaxed: the futex contract promises no ordering; callers re-check.
                if word.load(Relaxed) != expected {
                    return WaitOutcome::Woken;
                }
                let slice = match deadline {
                    Some(d) => match d.checked_duration_since(Instant::now()) {
                        Some(left) if !left.is_zero() => left.min(POLL),
                        _ => return WaitOutcome::TimedOut,
                    },
                    None if timeout.is_some() => POLL, // a deadline beyond `Instant`'s range
                    None => return wait_untimed(word, expected),
                };
                std::thread::sleep(slice);
            }
        }

        fn wait_untimed(word: &AtomicU32, expected: u32) -> WaitOutcome {
            // Only shared untimed waits get here; poll them too.
            while word.load(Relaxed) == expected {
                std::thread::sleep(POLL);
            }
            WaitOutcome::Woken
        }

        pub(super) fn wake_shared(_word: &AtomicU32, _all: bool) {
            // Pollers see the caller's change of the word on their next look.
        }
    }
}
