//! Zoo entries for the work-stealing deque: the Chase–Lev deque of `queue::deque`, each with
//! one step of Lê et al.'s C11 version undone.
//!
//! | entry | bug | fixed in |
//! |---|---|---|
//! | [`BrokenDeque`] with [`DequeBug::TakeWithoutFence`] | `pop` stores the shrunk `bottom` and loads `top` with no `fence(SeqCst)` between: on weak memory the owner reads a stale `top` while a thief reads a stale `bottom`, and both take the same item (the store-buffering race the paper's fence closes) | [`queue::deque`](synclab::queue::deque): `fence(SeqCst)` in `pop`, paired with the one in `steal` |
//! | [`BrokenDeque`] with [`DequeBug::StealReadsAfterCas`] | `steal` claims the position with its CAS first and reads the slot afterwards: in between, the owner may reuse the slot one lap later, so the thief takes the new item (twice taken) and the old one is lost | `queue::deque`: read the slot, then CAS |
//! | [`BrokenDeque`] with [`DequeBug::LostRaceKeepsBottom`] | `pop` restores `bottom` only when it *won* the last item: after losing it to a thief, `bottom` stays one below `top`, so the owner's next push lands where nobody looks — a bug of carrying on after a lost race | `queue::deque`: restore `bottom` whoever won |
//!
//! Items are plain `usize`s in `AtomicUsize` slots — the algorithm is the real one, but an item
//! taken twice is only a wrong number, never a double free — so every method is safe to call
//! from safe code. The owner's methods (`push`, `pop`) must run on one thread at a time for
//! the algorithm to mean anything; calling them from several threads breaks only the
//! answers. Nothing else in the library uses this module.

use core::fmt;

use synclab::sync::atomic::{fence, AtomicUsize, Ordering};

/// Which step of the real deque a [`BrokenDeque`] leaves out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DequeBug {
    /// `pop` has no `fence(SeqCst)` between its store of `bottom` and its load of `top`.
    TakeWithoutFence,
    /// `steal` reads the slot after its CAS on `top` instead of before.
    StealReadsAfterCas,
    /// `pop` leaves `bottom` shrunk after losing the last item to a thief.
    LostRaceKeepsBottom,
}

/// What [`BrokenDeque::steal`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ZooSteal {
    /// Empty.
    Empty,
    /// Lost a race: try again.
    Retry,
    /// An item.
    Success(usize),
}

/// A bounded Chase–Lev deque of `usize` items with one bug; see [`DequeBug`].
pub struct BrokenDeque {
    bug: DequeBug,
    top: AtomicUsize,
    bottom: AtomicUsize,
    slots: Box<[AtomicUsize]>,
    mask: usize,
}

impl BrokenDeque {
    /// A deque of `capacity` items (rounded up to a power of two, at least 1) with `bug`.
    pub fn new(capacity: usize, bug: DequeBug) -> Self {
        let capacity = capacity.max(1).next_power_of_two();
        Self {
            bug,
            top: AtomicUsize::new(0),
            bottom: AtomicUsize::new(0),
            slots: (0..capacity).map(|_| AtomicUsize::new(0)).collect(),
            mask: capacity - 1,
        }
    }

    fn len_between(bottom: usize, top: usize) -> isize {
        bottom.wrapping_sub(top) as isize
    }

    /// The CAS on `top` that claims position `top` (the owner's for the last item, a thief's
    /// always), with the real deque's `success` ordering; Relaxed on failure (nothing taken).
    fn claim(&self, top: usize, success: Ordering) -> bool {
        self.top
            .compare_exchange(top, top.wrapping_add(1), success, Ordering::Relaxed)
            .is_ok()
    }

    /// Owner: pushes `value` at the bottom, or hands it back if full (as the real `push`).
    pub fn push(&self, value: usize) -> Result<(), usize> {
        let bottom = self.bottom.load(Ordering::Relaxed);
        // Acquire: as the real deque.
        let top = self.top.load(Ordering::Acquire);
        if Self::len_between(bottom, top) >= self.slots.len() as isize {
            return Err(value);
        }
        self.slots[bottom & self.mask].store(value, Ordering::Relaxed);
        // Release: as the real deque.
        fence(Ordering::Release);
        self.bottom.store(bottom.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }

    /// Owner: pops the newest item (as the real `pop`, less the fence with
    /// [`DequeBug::TakeWithoutFence`], less the restore after a lost race with
    /// [`DequeBug::LostRaceKeepsBottom`]).
    pub fn pop(&self) -> Option<usize> {
        let bottom = self.bottom.load(Ordering::Relaxed);
        if Self::len_between(bottom, self.top.load(Ordering::Relaxed)) <= 0 {
            return None;
        }
        let b = bottom.wrapping_sub(1);
        self.bottom.store(b, Ordering::Relaxed);
        if self.bug != DequeBug::TakeWithoutFence {
            // SeqCst: the real deque's Dekker fence.
            fence(Ordering::SeqCst);
        }
        let top = self.top.load(Ordering::Relaxed);
        let len = Self::len_between(b, top);
        if len < 0 {
            self.bottom.store(bottom, Ordering::Relaxed);
            return None;
        }
        let value = self.slots[b & self.mask].load(Ordering::Relaxed);
        if len > 0 {
            return Some(value);
        }
        // Relaxed: as the real deque.
        let won = self.claim(top, Ordering::Relaxed);
        if !won && self.bug == DequeBug::LostRaceKeepsBottom {
            // Lost: nothing taken, and (THE BUG) `bottom` is left one below the new `top`.
            return None;
        }
        self.bottom.store(bottom, Ordering::Relaxed);
        won.then_some(value)
    }

    /// Thief: tries once to take the oldest item (as the real `steal`, but reading the slot
    /// after the CAS with [`DequeBug::StealReadsAfterCas`]).
    pub fn steal(&self) -> ZooSteal {
        // Relaxed: as the real deque (the fence below acquires).
        let top = self.top.load(Ordering::Relaxed);
        // SeqCst: as the real deque.
        fence(Ordering::SeqCst);
        // Acquire: as the real deque.
        let bottom = self.bottom.load(Ordering::Acquire);
        if Self::len_between(bottom, top) <= 0 {
            return ZooSteal::Empty;
        }
        let slot = &self.slots[top & self.mask];
        let before = slot.load(Ordering::Relaxed);
        // Release: as the real deque.
        if !self.claim(top, Ordering::Release) {
            return ZooSteal::Retry;
        }
        match self.bug {
            // Too late: the owner may have reused the slot since the CAS.
            DequeBug::StealReadsAfterCas => ZooSteal::Success(slot.load(Ordering::Relaxed)),
            DequeBug::TakeWithoutFence | DequeBug::LostRaceKeepsBottom => ZooSteal::Success(before),
        }
    }
}

impl fmt::Debug for BrokenDeque {
    /// Shows the bug only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokenDeque")
            .field("bug", &self.bug)
            .finish_non_exhaustive()
    }
}
