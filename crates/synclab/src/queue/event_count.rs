//! The event count; documented on [`EventCount`].

use core::fmt;

use core::marker::PhantomData;
use core::time::Duration;

use crate::shm::{Heap, Memory};
use crate::sync::atomic::{fence, AtomicU32, Ordering};
use crate::sync::futex::WaitOutcome;
use crate::sync::time::Instant;

/// One waiter (`W`, the low half of the word).
const WAITER: u32 = 1;
/// One signal (`S`, the high half of the word).
const SIGNAL: u32 = 1 << 16;
/// Mask of one half.
const HALF_MASK: u32 = 0xFFFF;

/// `W`: registered waiters.
#[inline]
fn waiters(word: u32) -> u32 {
    word & HALF_MASK
}

/// `S`: pending signals.
#[inline]
fn signals(word: u32) -> u32 {
    word >> 16
}

/// The word with `waiters` and `signals`.
#[inline]
fn pack(waiters: u32, signals: u32) -> u32 {
    (signals << 16) | waiters
}

/// An event count: a condition variable for lock-free code, on one futex word, in memory `M`
/// (the [`Heap`] unless named).
///
/// Sources: Dmitry Vyukov, "Eventcounts", 1024cores.net
/// (<https://www.1024cores.net/home/lock-free-algorithms/eventcounts>), and folly's
/// `folly/synchronization/EventCount.h` (a waiter count and a futex in one word), with the
/// pending-signal count of Eigen's `EventCount` (also Vyukov's) in place of folly's epoch.
///
/// A lock-free structure has no mutex to make "check the condition, then sleep" atomic, so
/// the waiter announces itself first and checks afterwards:
///
/// ```text
/// waiter                                   notifier
/// key = ec.prepare_wait();                 make the condition true (e.g. push);
/// if condition() { ec.cancel_wait(key); }  ec.notify_one();
/// else { ec.wait(key); }  // then re-check
/// ```
///
/// # The word
///
/// | bits | field | changed by |
/// |---|---|---|
/// | 0..16 | `W`, waiters: threads between `prepare_wait` and the end of `cancel_wait` / `wait` | `prepare_wait` (+1), `cancel_wait` / `wait` (−1) |
/// | 16..32 | `S`, signals: notifications not yet consumed by a waiter; invariant `S <= W` | `notify_*` (+1 / up to `W`), `wait` (−1), `cancel_wait` (clamped to the new `W`) |
///
/// A notification adds a signal only while some waiter has none (`W > S`), so once every
/// waiter has been signalled further notifications cost a fence and a load — no RMW and no
/// syscall. (folly's epoch counter instead wakes on *every* notification while a woken waiter
/// has not yet run to unregister itself; on an oversubscribed machine that is a futex wake
/// per push.) `wait` returns only by consuming a signal; any waiter may consume any signal,
/// and every waiter re-checks its condition afterwards, so a signal is never wasted on a
/// condition nobody re-checks.
///
/// # The Dekker order, and why it is a fence
///
/// Two stores and two loads must not both miss: the notifier *stores* the condition (a
/// queue's stamp) and then *loads* the word to see whether anyone waits; the waiter *stores*
/// itself into the word (`prepare_wait`) and then *loads* the condition. With only
/// acquire/release both loads may read the old values — the notifier sees no waiter, the
/// waiter sees no item, and it sleeps forever (a lost wakeup). A `fence(SeqCst)` between the
/// store and the load on *both* sides forbids that: the two fences are ordered in the single
/// total order, and whichever comes second sees the other side's store. We use fences rather
/// than SeqCst accesses because the notifier's store is the data structure's own (a Release
/// stamp store we do not control from here), and because the model checker we verify with
/// implements SeqCst *fences* but treats SeqCst *accesses* as AcqRel — a fence is what it
/// can prove.
///
/// # Why the counts are Relaxed
///
/// The event count publishes no data: the condition is the caller's, published by the
/// caller's own Release store and read by its own Acquire load (a queue's stamp). Every load
/// and RMW of the word is therefore Relaxed, and the two fences carry the whole argument.
/// What the caller must do is re-check its condition after *every* `prepare_wait`, which the
/// protocol requires anyway. Returning from `wait` does not by itself make the notifier's
/// store visible (a Relaxed read of the signal creates no happens-before), so the first
/// check after `wait` may still miss it and cost one more round of `prepare_wait` and
/// re-check. No wakeup is lost:
///
/// > The notifier N stores the condition (C), runs its fence F_N and loads the word (L_N).
/// > A waiter registers with an RMW (P), runs its fence F_P and re-checks (the load B). If
/// > F_N precedes F_P in the fence order, B sees C or a later store; otherwise L_N sees P or
/// > a later value of the word ([atomics.order] p4, fence–fence), so N finds the waiter
/// > registered and either adds a signal or sees that every waiter has one — the waiter
/// > returns from `wait` and registers again, and the same pair of fences decides once more.
/// > Nothing in this argument reads the signal with Acquire.
///
/// The ordering-mutation audit had shown that no model tells the Acquire/Release this type
/// once used from Relaxed; the argument above is why.
///
/// # Keys: misuse is harmless
///
/// [`prepare_wait`](EventCount::prepare_wait) returns a [`WaitKey`] that *borrows* its event
/// count and is a guard:
///
/// * a key always finishes on the event count that made it. [`wait`](EventCount::wait) and
///   [`cancel_wait`](EventCount::cancel_wait) act on the key's own event count, whichever one
///   they are called on — passing a key to another event count's `wait` sleeps where the key
///   registered (where its notifier will look), and to another's `cancel_wait` unregisters it
///   there. (Before, a key was a bare token: cancelling it on another event count
///   underflowed that count's waiters — a panic in debug builds, and in release a wrapped word
///   whose next real waiter was never woken.)
/// * dropping a key cancels it, so a key that is neither waited on nor cancelled (an early
///   return, a `?`, a panic) unregisters instead of leaking a waiter;
/// * registering is checked arithmetic: with 65 535 keys registered at once (the waiter half
///   of the word, in every memory; only reachable by leaking keys with `mem::forget`, or with
///   that many threads), `prepare_wait` returns an *unregistered* key whose `wait` returns at once — a spurious
///   wakeup, which every caller already handles by re-checking — instead of carrying into the
///   signal count. Such a key is not counted.
///
/// A key's lifetime is the only bound on it, so a timed wait fits the same shape:
/// `ec.wait_timeout(key, timeout)` would consume a signal and forget the key, or on timeout
/// let the key's drop unregister it (the cancel path, which keeps `S <= W`).
///
/// There is no epoch, so no ABA: a sleeping waiter returns exactly when it consumes a signal.
///
/// # In a segment shared by processes
///
/// `EventCount<Shm>` sleeps on a shared futex, and — since a notifier may be killed before
/// it notifies — for at most [`Memory::POLL`] at a time: a `wait` that times out unregisters
/// (as `cancel_wait` does, keeping `S <= W`) and returns, and the caller re-checks its
/// condition, which is where a structure notices a dead peer (see `ArrayQueueIn`). On the
/// heap the wait is unbounded, as before. The counts are taken apart with wrapping arithmetic:
/// a word a faulty peer wrote (`S > W`, say) gives wrong counts — a spurious or a missed
/// wakeup, each bounded by `POLL` — never a panic.
///
/// # Progress
///
/// Blocking by design: `wait` sleeps in the kernel. `notify_*` is wait-free when no waiter
/// lacks a signal (a fence and a load) and otherwise a CAS loop plus a futex wake.
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
///         if ready.load(Ordering::Acquire) { ec.cancel_wait(key); break; }
///         ec.wait(key);
///     })
/// };
/// ready.store(true, Ordering::Release);
/// ec.notify_all();
/// waiter.join().unwrap();
/// ```
#[repr(C)]
pub struct EventCount<M: Memory = Heap> {
    /// signals (high 16 bits) | waiters (low 16 bits); see the table on `EventCount`.
    word: AtomicU32,
    _memory: PhantomData<M>,
}

/// A registration made by [`EventCount::prepare_wait`], bound to that event count: finish it
/// with [`EventCount::wait`] or [`EventCount::cancel_wait`] — or drop it, which cancels. See
/// "Keys" above.
#[must_use = "a prepared wait is finished with `wait`; dropping the key cancels it"]
pub struct WaitKey<'a, M: Memory = Heap> {
    /// The event count this key registered on.
    owner: &'a EventCount<M>,
    /// Whether it counted itself in `W` (false only when the waiter half was full).
    registered: bool,
}

#[cfg(feature = "fault-injection")]
impl<M: Memory> crate::fault::Probe for WaitKey<'_, M> {
    /// Whether this key counted itself as a waiter. `false` only when 65 535 keys were
    /// registered already; such a key's `wait` returns at once.
    type Reading = bool;

    fn probe(&self) -> bool {
        self.registered
    }
}

impl<M: Memory> Drop for WaitKey<'_, M> {
    /// Cancels the registration (see [`EventCount::cancel_wait`]).
    fn drop(&mut self) {
        if self.registered {
            self.owner.unregister();
        }
    }
}

impl<M: Memory> fmt::Debug for WaitKey<'_, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitKey")
            .field("registered", &self.registered)
            .finish_non_exhaustive()
    }
}

impl EventCount<Heap> {
    /// A new event count: no waiters, no signals.
    pub fn new() -> Self {
        Self::new_in()
    }
}

impl<M: Memory> EventCount<M> {
    /// A new event count in memory `M` (a segment's is placed with the design it serves).
    pub(crate) fn new_in() -> Self {
        Self {
            word: AtomicU32::new(0),
            _memory: PhantomData,
        }
    }

    /// Registers the caller as a waiter.
    ///
    /// The caller must then re-check its condition and finish with
    /// [`cancel_wait`](Self::cancel_wait) (the condition holds; dropping the key does the
    /// same) or [`wait`](Self::wait).
    #[inline]
    pub fn prepare_wait(&self) -> WaitKey<'_, M> {
        // A CAS, not a `fetch_add`, so that a full waiter half never carries into the
        // signals. It starts from 0, the likeliest word (nobody registered), so that the
        // common case is one RMW, as a `fetch_add` would be; a failed CAS reads the word.
        let mut word = 0;
        let registered = loop {
            if waiters(word) >= HALF_MASK {
                break false;
            }
            // Relaxed: the fence below orders the registration before the caller's
            // re-check.
            match self.word.compare_exchange_weak(
                word,
                word + WAITER,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => break true,
                Err(current) => word = current,
            }
        };
        // SeqCst fence (the waiter's half of the Dekker pair): our store "I am about to
        // sleep" comes before the caller's load of the condition in the total order of
        // fences. Pairs with the fence in `has_unsignalled_waiters`: either the notifier's
        // load sees our registration, or our re-check sees its condition store. A fence and
        // not a SeqCst RMW: see `EventCount`.
        fence(Ordering::SeqCst);
        WaitKey {
            owner: self,
            registered,
        }
    }

    /// Unregisters a waiter whose condition turned out to hold after `prepare_wait`. The key
    /// is cancelled on the event count that made it (see "Keys" above);
    /// dropping it does the same.
    #[inline]
    pub fn cancel_wait(&self, key: WaitKey<'_, M>) {
        drop(key);
    }

    /// Takes one registered waiter out of the word (a key's cancel, or a tracked wait that
    /// timed out): one waiter fewer, and no more signals than waiters.
    #[inline]
    fn unregister(&self) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            // A registered key is counted in `W`, so `W >= 1` here; saturating all the same,
            // so that no sequence of calls can wrap the word.
            let w = waiters(word).saturating_sub(1);
            // A signal that can no longer find a waiter is dropped, keeping `S <= W`.
            let new = pack(w, signals(word).min(w));
            // Relaxed: only the counts change; no data is published through them.
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(current) => word = current,
            }
        }
    }

    /// Sleeps until the caller can consume a signal, consumes it and unregisters. A signal
    /// may have been meant for another waiter's condition, so the caller re-checks its own
    /// condition afterwards, in a loop that goes through `prepare_wait` again: only that
    /// re-check is guaranteed to see the notifier's store (see "Why the counts are Relaxed"
    /// on `EventCount`).
    ///
    /// The wait happens on the event count that made `key` (see "Keys" above).
    /// An unregistered key returns at once: a spurious wakeup.
    #[cold]
    pub fn wait(&self, key: WaitKey<'_, M>) {
        let _ = self.wait_until(key, None);
    }

    /// As [`wait`](Self::wait), but gives up once `timeout` has passed: then the caller is
    /// unregistered (as by [`cancel_wait`](Self::cancel_wait)) and [`WaitOutcome::TimedOut`]
    /// is returned. A signal that arrives before it gives up is consumed as by `wait`
    /// ([`WaitOutcome::Woken`]), so no notification is lost to a timeout: the caller re-checks
    /// its condition either way, and gives up only on `TimedOut`. Like `wait`, it waits on
    /// the event count that made `key`.
    #[cold]
    pub fn wait_timeout(&self, key: WaitKey<'_, M>, timeout: Duration) -> WaitOutcome {
        self.wait_until(key, Instant::now().checked_add(timeout))
    }

    /// The wait, with an optional deadline (`None`: none, or too far to represent), on the
    /// event count that made `key`. An unregistered key returns at once: a spurious wakeup, or
    /// `TimedOut` once the deadline has passed.
    pub(crate) fn wait_until(&self, key: WaitKey<'_, M>, deadline: Option<Instant>) -> WaitOutcome {
        let owner = key.owner;
        if !key.registered {
            // A spurious wakeup — or, once the deadline has passed, a timeout: a caller that
            // keeps getting unregistered keys (a word full of waiters, or one a faulty peer
            // wrote) still stops at its deadline.
            return match deadline {
                Some(deadline) if Instant::now() >= deadline => WaitOutcome::TimedOut,
                _ => WaitOutcome::Woken,
            };
        }
        // Consuming a signal, or giving up, unregisters the key; its drop must not do it again.
        core::mem::forget(key);
        owner.sleep_registered(deadline)
    }

    /// The wait loop of a registered key: sleep until a signal can be consumed (consume it)
    /// or the deadline passes (unregister).
    fn sleep_registered(&self, deadline: Option<Instant>) -> WaitOutcome {
        // Relaxed: no data comes through the word (`EventCount`, "Why the counts are Relaxed").
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            if signals(word) == 0 {
                // Sleeps only while the word is unchanged; may return spuriously. The sleep
                // lasts until the deadline (if any) and, in tracked memory, at most POLL: a
                // POLL-long sleep that ends is a spurious return — we unregister and return,
                // and the caller's re-check looks for a dead peer.
                let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                if left == Some(Duration::ZERO) {
                    return self.give_up();
                }
                let (sleep, capped) = match left {
                    Some(left) if !M::TRACKED || left <= M::POLL => (Some(left), false),
                    _ if M::TRACKED => (Some(M::POLL), true),
                    _ => (None, false),
                };
                match sleep {
                    None => M::wait(&self.word, word),
                    Some(sleep) => {
                        if M::wait_timeout(&self.word, word, sleep) {
                            let outcome = self.give_up();
                            return if capped { WaitOutcome::Woken } else { outcome };
                        }
                    }
                }
                // Relaxed: as above.
                word = self.word.load(Ordering::Relaxed);
                continue;
            }
            // Consume one signal and unregister in one step. Relaxed: as above; the RMW reads
            // the latest value, so a signal is consumed at most once.
            match self.word.compare_exchange_weak(
                word,
                word.wrapping_sub(SIGNAL + WAITER),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return WaitOutcome::Woken,
                Err(current) => word = current,
            }
        }
    }

    /// A timed wait's deadline passed: unregisters — unless a signal is there to consume, in
    /// which case it is consumed as `wait` would and the caller re-checks (`Woken`).
    #[cold]
    fn give_up(&self) -> WaitOutcome {
        // Relaxed: as in `wait`; the RMWs read the latest word, so a signal is consumed once.
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let (new, outcome) = if signals(word) > 0 {
                (word.wrapping_sub(SIGNAL + WAITER), WaitOutcome::Woken)
            } else {
                // No signal: `S = 0 <= W - 1` still holds after leaving.
                (word.wrapping_sub(WAITER), WaitOutcome::TimedOut)
            };
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return outcome,
                Err(current) => word = current,
            }
        }
    }

    /// Wakes one waiter that has no signal yet, if any. Call after making the condition true.
    #[inline]
    pub fn notify_one(&self) {
        if self.has_unsignalled_waiters() {
            self.notify_slow(false);
        }
    }

    /// [`notify_one`](Self::notify_one) for a caller that has *just* run a `fence(SeqCst)`
    /// after making its condition true (with no store in between that a waiter must see):
    /// that fence is the notifier's half of the Dekker pair, so this one skips its own.
    /// Returns whether a waiter without a signal was registered (it has one now).
    #[inline]
    pub(crate) fn notify_one_after_fence(&self) -> bool {
        // Relaxed: the caller's fence orders it after the condition store (`EventCount`).
        let word = self.word.load(Ordering::Relaxed);
        let unsignalled = waiters(word) > signals(word);
        if unsignalled {
            self.notify_slow(false);
        }
        unsignalled
    }

    /// Wakes every registered waiter. Call after making the condition true.
    #[inline]
    pub fn notify_all(&self) {
        if self.has_unsignalled_waiters() {
            self.notify_slow(true);
        }
    }

    /// The notifier's half of the Dekker pair: is a waiter without a signal registered?
    #[inline]
    fn has_unsignalled_waiters(&self) -> bool {
        // SeqCst fence: the caller's condition store comes before our load of the word in the
        // total order of fences. Pairs with the fence in `prepare_wait` (see `EventCount`).
        fence(Ordering::SeqCst);
        let word = self.word.load(Ordering::Relaxed);
        waiters(word) > signals(word)
    }

    #[cold]
    fn notify_slow(&self, all: bool) {
        let mut word = self.word.load(Ordering::Relaxed);
        loop {
            let (w, s) = (waiters(word), signals(word));
            if w <= s {
                return; // every waiter has a signal already
            }
            let new = pack(w, if all { w } else { s + 1 });
            // Relaxed: the signal carries no data; the fence in `has_unsignalled_waiters`
            // and the waiter's next `prepare_wait` fence order the caller's condition store
            // before the waiter's re-check (`EventCount`, "Why the counts are Relaxed").
            match self
                .word
                .compare_exchange_weak(word, new, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(current) => word = current,
            }
        }
        if all {
            M::wake_all(&self.word);
        } else {
            M::wake_one(&self.word);
        }
    }
}

impl Default for EventCount<Heap> {
    fn default() -> Self {
        Self::new()
    }
}

impl<M: Memory> fmt::Debug for EventCount<M> {
    /// Reads nothing: the word is under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventCount").finish_non_exhaustive()
    }
}
