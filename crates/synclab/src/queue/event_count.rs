//! An event count: a condition variable for lock-free code, on one futex word.
//!
//! Sources: Dmitry Vyukov, "Eventcounts", 1024cores.net
//! (<https://www.1024cores.net/home/lock-free-algorithms/eventcounts>), and folly's
//! `folly/synchronization/EventCount.h` (epoch | waiter count in one word).
//!
//! A lock-free structure has no mutex to make "check the condition, then sleep" atomic, so
//! the waiter announces itself first and checks afterwards:
//!
//! ```text
//! waiter                                   notifier
//! key = ec.prepare_wait();                 make the condition true (e.g. push);
//! if condition() { ec.cancel_wait(); }     ec.notify_one();
//! else { ec.wait(key); }  // then re-check
//! ```
//!
//! # The word
//!
//! | bits | field | changed by |
//! |---|---|---|
//! | 0..16 | waiters: threads between `prepare_wait` and the end of `cancel_wait` / `wait` | `prepare_wait` (+1), `cancel_wait` / `wait` (−1) |
//! | 16..32 | epoch: how many notifications found a waiter (wrapping) | `notify_one` / `notify_all` (+1) |
//!
//! `prepare_wait` returns the epoch it saw; `wait(key)` sleeps on the futex only while the
//! epoch is still `key`, so a notification that lands anywhere after `prepare_wait` — even
//! before the waiter reaches the futex — makes `wait` return.
//!
//! # The Dekker order, and why it is a fence
//!
//! Two stores and two loads must not both miss: the notifier *stores* the condition (a
//! queue's stamp) and then *loads* the word to see whether anyone waits; the waiter *stores*
//! itself into the word (`prepare_wait`) and then *loads* the condition. With only
//! acquire/release both loads may read the old values — the notifier sees no waiter, the
//! waiter sees no item, and it sleeps forever (a lost wakeup). A `fence(SeqCst)` between the
//! store and the load on *both* sides forbids that: the two fences are ordered in the single
//! total order, and whichever comes second sees the other side's store. We use fences rather
//! than SeqCst accesses because the notifier's store is the data structure's own (a Release
//! stamp store we do not control from here), and because the model checker we verify with
//! implements SeqCst *fences* but treats SeqCst *accesses* as AcqRel — a fence is what it
//! can prove.
//!
//! # Limits
//!
//! * At most 65 535 threads may be between `prepare_wait` and the end of their wait at once
//!   (debug builds assert it); more would carry into the epoch.
//! * The epoch is 16 bits (the futex word is 32). A waiter that is descheduled between
//!   `prepare_wait` and its futex compare while *exactly* a multiple of 65 536 notifications
//!   (each with a waiter present) happen would see its old epoch again and sleep until the
//!   next notification — the ABA hazard folly's 32-bit epoch has, in a narrower window.
//!
//! # Progress
//!
//! Blocking by design: `wait` sleeps in the kernel. `notify_*` is wait-free when nobody
//! waits (a fence and a load) and otherwise one RMW plus a futex wake.

use core::fmt;

use crate::sync::atomic::{fence, AtomicU32, Ordering};
use crate::sync::futex;

/// One waiter in the low half of the word.
const WAITER: u32 = 1;
/// Mask of the waiter count.
const WAITER_MASK: u32 = 0xFFFF;
/// Shift of the epoch.
const EPOCH_SHIFT: u32 = 16;
/// One epoch step.
const EPOCH: u32 = 1 << EPOCH_SHIFT;

/// The number of registered waiters in `word`.
#[inline]
fn waiters(word: u32) -> u32 {
    word & WAITER_MASK
}

/// The epoch in `word`.
#[inline]
fn epoch(word: u32) -> u32 {
    word >> EPOCH_SHIFT
}

/// A condition variable for lock-free code; see the [module docs](self).
///
/// ```
/// use synclab::queue::EventCount;
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
///
/// let ready = Arc::new(AtomicBool::new(false));
/// let ec = Arc::new(EventCount::new());
/// let waiter = {
///     let (ready, ec) = (ready.clone(), ec.clone());
///     std::thread::spawn(move || loop {
///         if ready.load(Ordering::Acquire) { break; }
///         let key = ec.prepare_wait();
///         if ready.load(Ordering::Acquire) { ec.cancel_wait(); break; }
///         ec.wait(key);
///     })
/// };
/// ready.store(true, Ordering::Release);
/// ec.notify_all();
/// waiter.join().unwrap();
/// ```
pub struct EventCount {
    /// epoch (high 16 bits) | waiters (low 16 bits); see the table in the module docs.
    word: AtomicU32,
}

/// The epoch a waiter saw in [`EventCount::prepare_wait`]; pass it to [`EventCount::wait`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a prepared wait must be finished with `wait` or `cancel_wait`"]
pub struct WaitKey(u32);

impl EventCount {
    /// A new event count: epoch 0, no waiters.
    pub fn new() -> Self {
        Self {
            word: AtomicU32::new(0),
        }
    }

    /// Registers the caller as a waiter and returns the current epoch.
    ///
    /// The caller must then re-check its condition and finish with exactly one of
    /// [`cancel_wait`](Self::cancel_wait) (the condition holds) or [`wait`](Self::wait).
    #[inline]
    pub fn prepare_wait(&self) -> WaitKey {
        // Relaxed RMW: the fence below orders it before the caller's re-check, and the
        // epoch it returns is compared again under the futex's own atomicity in `wait`.
        let previous = self.word.fetch_add(WAITER, Ordering::Relaxed);
        debug_assert!(
            waiters(previous) < WAITER_MASK,
            "more than {WAITER_MASK} waiters on one EventCount"
        );
        // SeqCst fence (the waiter's half of the Dekker pair): our store "I am about to
        // sleep" comes before the caller's load of the condition in the total order of
        // fences. Pairs with the fence in `notify`: either the notifier's load sees our
        // registration, or our re-check sees its condition store. See the module docs.
        fence(Ordering::SeqCst);
        WaitKey(epoch(previous))
    }

    /// Unregisters a waiter whose condition turned out to hold after `prepare_wait`.
    #[inline]
    pub fn cancel_wait(&self) {
        // Relaxed: only the count changes; no data is published through it.
        self.word.fetch_sub(WAITER, Ordering::Relaxed);
    }

    /// Sleeps until a notification after the `prepare_wait` that returned `key`; then
    /// unregisters. May return spuriously (after another thread's notification or a spurious
    /// futex return): the caller re-checks its condition in a loop.
    ///
    /// It sleeps at most once and does not re-sleep after a wake-up even if the epoch is
    /// unchanged: a `notify_one` may wake a thread that registered after the epoch moved, and
    /// that thread must return to re-check the condition on the notifier's behalf, or the
    /// waiter the notification was meant for could sleep on.
    #[cold]
    pub fn wait(&self, key: WaitKey) {
        // Acquire: pairs with the Release epoch increment in `notify`, so what the notifier
        // wrote before notifying is visible after we return.
        let word = self.word.load(Ordering::Acquire);
        if epoch(word) == key.0 {
            futex::wait(&self.word, word);
        }
        // AcqRel: the Acquire half pairs with the Release increment in `notify` (a wake-up
        // whose load above ran before it); the Release half orders nothing by itself.
        self.word.fetch_sub(WAITER, Ordering::AcqRel);
    }

    /// Wakes one waiter, if any registered. Call after making the condition true.
    #[inline]
    pub fn notify_one(&self) {
        if self.has_waiters() {
            self.notify_slow(false);
        }
    }

    /// Wakes every registered waiter. Call after making the condition true.
    #[inline]
    pub fn notify_all(&self) {
        if self.has_waiters() {
            self.notify_slow(true);
        }
    }

    /// The notifier's half of the Dekker pair: is anyone registered?
    #[inline]
    fn has_waiters(&self) -> bool {
        // SeqCst fence: the caller's condition store comes before our load of the word in the
        // total order of fences. Pairs with the fence in `prepare_wait` (see the module docs).
        fence(Ordering::SeqCst);
        waiters(self.word.load(Ordering::Relaxed)) != 0
    }

    #[cold]
    fn notify_slow(&self, all: bool) {
        // Release: pairs with the Acquire loads in `wait`, so the notifier's writes are
        // visible to a waiter that sees the new epoch.
        self.word.fetch_add(EPOCH, Ordering::Release);
        if all {
            futex::wake_all(&self.word);
        } else {
            futex::wake_one(&self.word);
        }
    }
}

impl Default for EventCount {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventCount {
    /// Reads nothing: the word is under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCount").finish_non_exhaustive()
    }
}
