//! The latch a `join` waits on while its second half runs on a thief (rayon-core's
//! `CoreLatch` and `SpinLatch`, in `latch.rs`): one word, set once by whoever ran the half,
//! probed by the `join`'s owner, which may sleep on it.
//!
//! | state | meaning | written by |
//! |---|---|---|
//! | `UNSET` | the half has not finished; the owner is awake (running other tasks, or searching) | `new`; the owner's `awake` (from `SLEEPING`) |
//! | `SLEEPING` | the owner is registered on its park (its own event count in the pool) and about to sleep there: whoever sets the latch must notify the park | the owner's `announce_sleep` (from `UNSET`) |
//! | `SET` | the half has finished (or was dropped unrun): its result cell is final | the thief's [`Latch::set`], once |
//!
//! **Why a park per worker.** An owner whose half was stolen runs other tasks while it waits;
//! when it finds none it sleeps on its *park*, an event count only it waits on, so that the
//! setter's notification reaches it and nobody else. (On the pool's shared `work` event
//! count, which idle workers sleep on, a notification is a signal any waiter may consume: an
//! idle worker registering just after it would take the owner's signal, find no work, and
//! sleep again — the owner would sleep forever.) New work must reach a sleeping owner too — a
//! task may block until a sibling task runs, and the owner may be the only idle worker — so the pool counts the
//! owners asleep in their parks, and every publication that finds one notifies one of those
//! parks (`Shared::published`). rayon does the same with a sleep state per worker.
//!
//! **Orderings.** `set` swaps `SET` in with AcqRel: its Release half publishes the result cell
//! to the owner's Acquire `probe`; its Acquire half pairs with the Release of
//! `announce_sleep`, so a setter that reads `SLEEPING` sees the owner's registration on its
//! park (made before the announcement) and its notify finds the owner registered. `awake` is
//! Relaxed: it publishes nothing, and a failed CAS means `SET`, which the next `probe` reads
//! with Acquire.
//!
//! **Lifetime.** The latch lives in the owner's stack frame, which the owner leaves as soon as
//! it reads `SET`; so [`Latch::set`] takes a raw pointer and touches the latch only in its
//! swap, and the setter reads everything it needs afterwards (where to wake) beforehand.

use crate::sync::atomic::{AtomicU32, Ordering};

/// The half has not finished; the owner is awake.
const UNSET: u32 = 0;
/// The owner announced that it sleeps on its park.
const SLEEPING: u32 = 1;
/// The half has finished, or was dropped unrun; set once.
const SET: u32 = 2;

/// See the [module docs](self).
pub(super) struct Latch {
    /// `UNSET`, `SLEEPING` or `SET` (the table in the module docs).
    state: AtomicU32,
}

impl Latch {
    pub(super) fn new() -> Self {
        Self {
            state: AtomicU32::new(UNSET),
        }
    }

    /// Whether the latch is set; then the result cell may be read.
    #[inline]
    pub(super) fn probe(&self) -> bool {
        // Acquire: pairs with the Release half of the swap in `set`: the result is visible.
        self.state.load(Ordering::Acquire) == SET
    }

    /// The owner, registered on its park, announces that it will sleep there. `false` if the
    /// latch is set already (the owner then cancels its registration and reads the result).
    #[inline]
    pub(super) fn announce_sleep(&self) -> bool {
        // Release: pairs with the Acquire half of the swap in `set`: a setter that reads
        // SLEEPING sees our registration on our park, which came before this in program order.
        // Relaxed on failure: the latch is SET, and the caller's next `probe` acquires it.
        self.state
            .compare_exchange(UNSET, SLEEPING, Ordering::Release, Ordering::Relaxed)
            .is_ok()
    }

    /// The owner is awake again (woken, or it found work before sleeping): back to `UNSET`,
    /// unless the latch was set meanwhile.
    #[inline]
    pub(super) fn awake(&self) {
        // Relaxed: publishes nothing; a failure means SET, which `probe` acquires.
        let _ = self
            .state
            .compare_exchange(SLEEPING, UNSET, Ordering::Relaxed, Ordering::Relaxed);
    }

    /// Sets the latch; returns whether the owner had announced that it sleeps (then the
    /// caller notifies the owner's park).
    ///
    /// # Safety
    ///
    /// `this` points to a live latch, set at most once. The owner may free it as soon as the
    /// swap below has happened: the caller must not touch the latch (or the job around it)
    /// after this call.
    #[inline]
    pub(super) unsafe fn set(this: *const Self) -> bool {
        // AcqRel: Release publishes the result cell written before this call (pairs with the
        // Acquire load in `probe`); Acquire pairs with the Release CAS in `announce_sleep`
        // (see the module docs).
        // SAFETY: `this` is live until this swap has happened (the contract); the swap is the
        // last access, and a `&AtomicU32` (interior mutability) may dangle once it is done.
        unsafe { (*this).state.swap(SET, Ordering::AcqRel) == SLEEPING }
    }
}
