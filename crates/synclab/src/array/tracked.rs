//! What a segment shared by processes adds to the lock-free arrays: the claimant's tag in a
//! claimed word, and what a reader does when the publisher it waits for has died. In
//! untracked memory (`M::TRACKED` is a constant `false`, as on the heap) none of this runs:
//! the tag is 0 and the hooks below are never called. The tables of what survivors see are on
//! [`LockFreeArray::wait_checked`](super::LockFreeArray::wait_checked) and
//! [`LanedArray::wait_checked`](super::LanedArray::wait_checked).

use core::time::Duration;

use super::slot::{phase, wake_readers, Slot, Waited, ABANDONED, EMPTY, READY, SLEEPERS, WRITING};
use crate::shm::{owner, Memory};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::hint::spin_loop;

/// Where a tracked publisher's tag sits in a `WRITING` word (bits 3..32).
const TAG_SHIFT: u32 = 3;

/// The bits a claimant of `word` adds to `WRITING`: its tag, in tracked memory; 0 otherwise.
#[inline(always)]
pub(super) fn claim_tag<M: Memory>(word: &AtomicU32) -> u32 {
    if M::TRACKED {
        M::tag(word as *const AtomicU32 as *const ()) << TAG_SHIFT
    } else {
        0
    }
}

/// Whether a publisher may claim a slot in this phase: an empty one, or, in tracked memory,
/// one whose previous claimant died (on the heap this is the one compare it always was).
#[inline(always)]
pub(super) fn claimable<M: Memory>(state: u32) -> bool {
    phase(state) == EMPTY || (M::TRACKED && phase(state) == ABANDONED)
}

/// What a waiting reader does next, after looking for a dead publisher.
pub(super) enum Look {
    /// Stop waiting.
    Return(Waited),
    /// The word moved under us: read it again.
    Reload,
    /// Nobody is dead: go on waiting.
    Sleep,
}

/// A tracked reader's look at `state`, read from `slot`'s word: an `ABANDONED` slot is
/// reported; a `WRITING` word whose claimant is dead is marked `ABANDONED` (waking every
/// sleeper) and reported; in a laned array (`owner`), a lane holder found dead after a bounded
/// sleep ran out (`slept_out`) is reported while the slot stays `EMPTY`.
#[cold]
pub(super) fn look<M: Memory, T>(
    slot: &Slot<T>,
    state: u32,
    owner: Option<&AtomicU32>,
    slept_out: bool,
) -> Look {
    if phase(state) == ABANDONED {
        return Look::Return(Waited::Abandoned);
    }
    // A reader asks about a lane's holder only after a bounded sleep ran out: a liveness check
    // is a system call, too much for every sleep of a fast round trip.
    if slept_out && phase(state) == EMPTY && owner.is_some_and(owner::holder_dead::<M>) {
        // `state` was read before the holder was found dead, and the holder may have published
        // this slot in between: look again. Acquire: pairs with the Release swap in `fill`;
        // the liveness check ordered the dead holder's last swap before this load, so a
        // publish it made is seen.
        if slot.state.load(Acquire) == READY {
            return Look::Return(Waited::Ready);
        }
        // The slot stays EMPTY: a survivor may take the lane over and publish it.
        return Look::Return(Waited::Abandoned);
    }
    if phase(state) == WRITING && publisher_dead::<M>(&slot.state, state) {
        // Relaxed: the abandonment publishes nothing (the value is never read); the CAS fails
        // if the word moved (a live writer cannot have: it is dead).
        if slot
            .state
            .compare_exchange(state, ABANDONED, Relaxed, Relaxed)
            .is_ok()
        {
            if state & SLEEPERS != 0 {
                wake_readers::<M>(&slot.state);
            }
            return Look::Return(Waited::Abandoned);
        }
        return Look::Reload;
    }
    Look::Sleep
}

/// Whether the publisher whose tag is in `state` (a `WRITING` word) is dead.
fn publisher_dead<M: Memory>(word: &AtomicU32, state: u32) -> bool {
    M::is_dead(word as *const AtomicU32 as *const (), state >> TAG_SHIFT)
}

/// A tracked reader's sleep while `word` holds `state`: at most [`Memory::POLL`] (and at most
/// `left`, with a deadline), so that a publisher that dies while we sleep is noticed. Whether
/// the sleep ran out.
#[cold]
pub(super) fn sleep<M: Memory>(word: &AtomicU32, state: u32, left: Option<Duration>) -> bool {
    let sleep = left.map_or(M::POLL, |left| left.min(M::POLL));
    let timed_out = M::wait_timeout(word, state, sleep);
    if timed_out {
        // Free after a whole POLL asleep; under a checker the yield that lets the publisher
        // run on (a timed wait alone would be a spin loop there).
        spin_loop();
    }
    timed_out
}
