//! The shuttle world: randomized and PCT schedules over larger scenarios.

/// The checker's own primitives, which `traced.rs` wraps (module aliases: what they hold is
/// shuttle's, public in shuttle, and re-exported from `crate::sync` through the wrappers).
/// shuttle treats every atomic access as SeqCst: it finds interleaving bugs (lost wakeups,
/// broken invariants), not missing orderings — that is loom's job.
pub(crate) use shuttle as raw_root;
pub(crate) use shuttle::sync as raw_sync;
pub(crate) use shuttle::sync::atomic as raw_atomic;
pub(crate) use shuttle::thread as raw_thread;

/// How the trace knows a model thread.
pub(crate) type ThreadKey = shuttle::thread::ThreadId;

/// The running model thread.
pub(crate) fn thread_key() -> ThreadKey {
    shuttle::thread::current().id()
}

pub(crate) use futex_backend::FutexState;

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
    use super::super::atomic::AtomicU32;
    use super::super::futex::WaitOutcome;
    use super::super::futex_model::{wait_step, wake_step, WaitQueue};
    use super::super::trace::recorder::{self, Op};
    use core::panic::Location;
    use core::time::Duration;
    use shuttle::rand::RngCore;
    use shuttle::sync::atomic::Ordering::Relaxed;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// One wait in this many returns spuriously.
    const SPURIOUS_ODDS: u64 = 4;

    /// The futex model's part of an `AtomicU32`: its wait queue.
    pub(crate) struct FutexState {
        queue: WaitQueue<Waiter>,
    }

    impl Default for FutexState {
        fn default() -> Self {
            Self {
                queue: WaitQueue::new(0),
            }
        }
    }

    struct Waiter {
        thread: shuttle::thread::Thread,
        /// Set (plain std, invisible to shuttle) by the wake that dequeued this waiter.
        woken: AtomicBool,
    }

    #[track_caller]
    pub(crate) fn wait(
        word: &AtomicU32,
        expected: u32,
        shared: bool,
        timeout: Option<Duration>,
    ) -> WaitOutcome {
        let at = Location::caller();
        if shuttle::rand::thread_rng().next_u64() % SPURIOUS_ODDS == 0 {
            wait_step(word, Op::FutexSpurious, expected, 0).record(at);
            return WaitOutcome::Woken; // a spurious return
        }
        let found = word.raw().load(Relaxed);
        let event = wait_step(
            word,
            Op::FutexWait {
                cross_process: shared,
                timed: timeout.is_some(),
            },
            expected,
            found,
        )
        .record(at);
        if found != expected {
            return WaitOutcome::Woken;
        }
        let waiter = Arc::new(Waiter {
            thread: shuttle::thread::current(),
            woken: AtomicBool::new(false),
        });
        word.futex.queue.push(shared, Arc::clone(&waiter));
        recorder::blocked(event);
        if timeout.is_some() {
            // The timer fires whenever the schedule runs us again, unless a wake came first.
            shuttle::thread::yield_now();
            if word.futex.queue.remove(&waiter) {
                recorder::blocked(None);
                wait_step(word, Op::FutexTimedOut, expected, 0).record(at);
                return WaitOutcome::TimedOut;
            }
        }
        while !waiter.woken.load(Ordering::Relaxed) {
            shuttle::thread::park();
        }
        recorder::blocked(None);
        wait_step(word, Op::FutexWoken, expected, 0).record(at);
        WaitOutcome::Woken
    }

    #[track_caller]
    pub(crate) fn wake(word: &AtomicU32, shared: bool, all: bool) {
        // A wake is a scheduling point, as the syscall (and the loom model's bucket lock) is: a
        // Relaxed load of the word gives shuttle one, and orders nothing.
        let _ = word.raw().load(Relaxed);
        let waiters = if all {
            word.futex.queue.drain(shared)
        } else {
            word.futex.queue.pop_one(shared).into_iter().collect()
        };
        let first = waiters.first().map(|w| w.thread.id());
        wake_step(word, shared, all, waiters.len(), first).record(Location::caller());
        for waiter in waiters {
            waiter.woken.store(true, Ordering::Relaxed);
            waiter.thread.unpark();
        }
    }
}
