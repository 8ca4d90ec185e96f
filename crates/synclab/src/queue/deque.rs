//! A bounded Chase–Lev work-stealing deque: the owner pushes and pops at the bottom, thieves
//! steal at the top.
//!
//! **Source.** David Chase and Yossi Lev, "Dynamic Circular Work-Stealing Deque" (SPAA 2005),
//! in the C11 form of Nhat Minh Lê, Antoniu Pop, Albert Cohen and Francesco Zappa Nardelli,
//! "Correct and Efficient Work-Stealing for Weak Memory Models" (PPoPP 2013, Fig. 1), whose
//! orderings and fences this file keeps one for one (the table below). crossbeam-deque and
//! rayon use the same algorithm; this is our own code.
//!
//! **Bounded, with overflow.** The paper's deque grows: `push` on a full array copies it into
//! one twice as large, and the old array may be freed only once no thief still reads it, which
//! needs a reclamation scheme (crossbeam uses epochs). This deque has a fixed power-of-two
//! ring instead and [`Owner::push`] hands the value back when it is full; the caller (the
//! work-stealing pool) sends it to its shared injector. No array is ever retired, so there is
//! nothing to reclaim, and the model checkers see the whole algorithm — the resize path they
//! would otherwise have to cover with epoch pinning never exists.
//!
//! **Slots are atomic.** A thief reads its slot *before* the CAS that claims it (it must: once
//! `top` has moved the owner may reuse the slot), so that read can overlap the owner's write of
//! the same slot one lap later; the CAS then fails, but the read happened. The paper's slots
//! are atomics (`atomic_int buffer[]`) for exactly this reason. A Rust `T` cannot be read
//! atomically, so the deque holds [`OwnedPointer`]s — owned values that are one pointer wide,
//! such as `Box<T>` — in `AtomicPtr` slots: every access is atomic and there is no data race
//! to argue away (crossbeam-deque reads a `T` with a volatile read here, and documents that it
//! is a race).
//!
//! # Indices and states
//!
//! `top` and `bottom` are positions that only grow (wrapping `usize`, compared through their
//! signed difference); position `p` lives in slot `p & mask`. Items are the positions
//! `top .. bottom`.
//!
//! | `bottom - top` (signed) | state | who moves it |
//! |---|---|---|
//! | `<= 0` | empty (`< 0` only inside `pop`, which decremented `bottom` and restores it) | — |
//! | `1` | one item: owner and thieves race for it with a CAS on `top` | owner's `pop`, a thief's `steal` |
//! | `2 ..= capacity - 1` | several items: the owner pops from the bottom without a CAS | owner: `push` / `pop`; thieves: `steal` (CAS on `top`) |
//! | `capacity` | full: `push` hands its value back | — |
//!
//! # Orderings (Lê et al., Fig. 1), each with its partner
//!
//! | operation | access | ordering | why (partner) |
//! |---|---|---|---|
//! | `push` | load `top` | Acquire | pairs with the Release of a thief's CAS on `top`: the thief's read of a slot happens before we overwrite that slot a lap later |
//! | `push` | store slot | Relaxed | published by the fence below |
//! | `push` | `fence` | Release | with the Relaxed store of `bottom` after it, pairs with a thief's Acquire load of `bottom`: the slot (and what its pointer points to) is visible to a thief that sees the new `bottom` |
//! | `pop` | store `bottom - 1`, then `fence`, then load `top` | Relaxed, **SeqCst**, Relaxed | the Dekker pair with `steal`'s load `top`, `fence(SeqCst)`, load `bottom`: of the two fences one is first in the total order, and the other side then sees its store — the owner sees the thief's claim or the thief sees the shrunk `bottom`, so both never take the same item |
//! | `pop` | CAS `top` (last item) | Relaxed (paper: SeqCst) | races the thieves' CAS for the last item: its atomicity decides, and it publishes nothing (below) |
//! | `steal` | load `top` | Relaxed (paper: Acquire) | completed by the fence after it: an acquire fence, so an earlier thief's releasing CAS that wrote this `top` synchronizes with it |
//! | `steal` | `fence` | SeqCst | the thief's half of the Dekker pair above |
//! | `steal` | load `bottom` | Acquire | pairs with `push`'s Release fence: the slot is written |
//! | `steal` | load slot | Relaxed | ordered by the Acquire load of `bottom` |
//! | `steal` | CAS `top` | Release (paper: SeqCst) | claims the item (failing, another thief or the owner took it); pairs with `push`'s Acquire load of `top`, and with a later thief's acquire fence (below) |
//!
//! The exhaustive checker models SeqCst *fences* but treats SeqCst *accesses* as AcqRel, so the Dekker orders
//! are fences here, as in the paper; `docs/verification.md` says which orderings the models
//! can and cannot tell from weaker ones.
//!
//! **Three sites are weaker than the paper's, each argued equivalent** (the ordering-mutation
//! audit found that no checker tells them apart, and the argument shows none could):
//!
//! * `steal`'s load of `top`: Relaxed, not Acquire. The `fence(SeqCst)` that follows it is an
//!   acquire fence, and a Relaxed load followed by an acquire fence synchronizes with the
//!   releasing write it read ([atomics.fences] p4) — the edge the Acquire load gave, with no
//!   operation between the two that could use it earlier.
//! * `pop`'s CAS on the last item: Relaxed, not SeqCst. It needs no Acquire: the owner reads
//!   only its own slot writes, and its next `push`'s Acquire load of `top` still synchronizes
//!   with every thief's CAS before it (every write of `top` is a read-modify-write, so a
//!   Relaxed one continues the thieves' release sequences). It needs no Release: a thief that
//!   reads the `top` it writes must be ordered after the owner's `bottom` decrement, and it is
//!   — the owner's fence happens before the CAS, the CAS is coherence-ordered before the
//!   thief's read of it, which happens before the thief's fence, so the owner's fence precedes
//!   the thief's in the SeqCst order ([atomics.order] p4.4) and the thief's `bottom` load sees
//!   the decrement or later. And its place in the SeqCst order is observed by nobody: who gets
//!   the last item is decided by atomicity alone (two CASes from the same `top` cannot both
//!   succeed). (Kang's proof of crossbeam's variant uses Release/Acquire here, in the promising
//!   semantics, which lacks C++20's coherence-ordered fence rule used above.)
//!
//! * `steal`'s CAS: Release, not SeqCst. It needs Release (or SeqCst), for two reasons. (a) Its
//!   slot read must happen before the owner overwrites that slot a lap later: the owner's
//!   Acquire load of `top` reads this CAS's value or a later one (every write of `top` is a
//!   read-modify-write, so the release sequence continues) and synchronizes with it. (b) Three
//!   threads: thief 1 takes position `t` (its CAS writes `t + 1`); the owner pops position
//!   `t + 1` without a CAS after reading the older `top == t`; thief 2 reads `top == t + 1`
//!   and an older `bottom`, and takes `t + 1` too. Ruling it out needs the owner's fence
//!   before thief 2's in the SeqCst order. The owner's read of `t` is coherence-ordered before
//!   thief 1's CAS; with the CAS Release, its value read before thief 2's acquire fence makes
//!   the CAS happen before that fence, so [atomics.order] p4.4 puts the owner's fence first.
//!   (SeqCst would do it through p4.3 and p4.2 instead; either alone suffices.) It needs no
//!   Acquire: the thief reads nothing that another thief's CAS published — the slot and the
//!   value it points to were published by `push` and acquired through `bottom`. What SeqCst
//!   adds beyond AcqRel — the CAS's own place in the SeqCst order — shows only to a caller
//!   who mixes other SeqCst accesses with a steal, and there only as a `Retry` where an
//!   `Empty` was possible (a steal that lost to a completed one, which `Retry` allows); the
//!   deque promises no such order.
//!
//! One addition to the paper: `pop` first compares `bottom` with a Relaxed read of `top` and
//! returns `None` at once if the deque is empty. A stale `top` is smaller than the real one,
//! so the deque can only look *fuller* than it is; "empty" is never wrong, and an idle owner
//! pays no fence (crossbeam does the same).
//!
//! # Progress
//!
//! `push` and `pop` are wait-free (a bounded number of steps; `pop` makes at most one CAS).
//! `steal` is lock-free: it makes one attempt and returns [`Steal::Retry`] when its CAS lost to
//! another thief or to the owner, which means that one of them made progress.

use core::fmt;
use core::marker::PhantomData;

use crossbeam_utils::CachePadded;

use super::CapacityError;
use crate::sync::atomic::{fence, AtomicPtr, AtomicUsize, Ordering};
use crate::sync::Arc;

/// An owned value that is one pointer wide, so that a deque slot can hold it in an `AtomicPtr`.
///
/// # Safety
///
/// `into_raw` must return a non-null pointer, and `from_raw` applied to that pointer must give
/// back the value `into_raw` consumed. The deque calls `from_raw` exactly once for every
/// pointer it was given (when the value is popped, stolen or dropped with the deque), and the
/// value may be handed to another thread in between, hence the `Send` bound.
pub unsafe trait OwnedPointer: Send {
    /// Gives up ownership as a raw pointer.
    fn into_raw(self) -> *mut ();
    /// Takes ownership back.
    ///
    /// # Safety
    ///
    /// `ptr` came from `into_raw` of this type and has not been passed to `from_raw` since.
    unsafe fn from_raw(ptr: *mut ()) -> Self;
}

// SAFETY: `Box::into_raw` is non-null and `Box::from_raw` reverses it; a `Box<T>` may move to
// another thread when `T: Send`.
unsafe impl<T: Send> OwnedPointer for Box<T> {
    fn into_raw(self) -> *mut () {
        Box::into_raw(self).cast()
    }
    unsafe fn from_raw(ptr: *mut ()) -> Self {
        // SAFETY: by the caller's contract `ptr` is the pointer of a `Box<T>` not yet reclaimed.
        unsafe { Box::from_raw(ptr.cast()) }
    }
}

/// The result of [`Stealer::steal`].
#[derive(Debug, PartialEq, Eq)]
pub enum Steal<T> {
    /// The deque was empty.
    Empty,
    /// Another thief, or the owner, took the item this thief tried for: try again.
    Retry,
    /// The oldest item.
    Success(T),
}

/// The state the owner and the thieves share.
struct Inner<T: OwnedPointer> {
    /// The thieves' end: the oldest item's position. Only grows, by CAS.
    top: CachePadded<AtomicUsize>,
    /// The owner's end: the position the next `push` writes. Written only by the owner.
    bottom: CachePadded<AtomicUsize>,
    /// The ring; slot `p & mask` holds position `p` while `top <= p < bottom`.
    slots: Box<[AtomicPtr<()>]>,
    mask: usize,
    _owns: PhantomData<T>,
}

/// The owner's end of a deque: [`push`](Owner::push) and [`pop`](Owner::pop) at the bottom.
///
/// It is `Send` but not `Sync` and not `Clone`: exactly one thread at a time owns the bottom,
/// which is what lets `push` and `pop` store `bottom` without a CAS.
///
/// ```
/// use synclab::queue::deque::{self, Steal};
///
/// let (owner, stealer) = deque::new::<Box<u32>>(4)?;
/// owner.push(Box::new(1)).unwrap();
/// owner.push(Box::new(2)).unwrap();
/// assert_eq!(stealer.steal(), Steal::Success(Box::new(1))); // thieves take the oldest
/// assert_eq!(owner.pop(), Some(Box::new(2))); // the owner the newest
/// assert_eq!(owner.pop(), None);
/// # Ok::<(), synclab::queue::CapacityError>(())
/// ```
pub struct Owner<T: OwnedPointer> {
    inner: Arc<Inner<T>>,
    /// Not `Sync`: `push` and `pop` assume no other thread touches the bottom at the same time.
    _not_sync: PhantomData<core::cell::Cell<()>>,
}

/// A thief's end of a deque: [`steal`](Stealer::steal) at the top. Any number of threads may
/// steal at once; clone it to hand it around.
pub struct Stealer<T: OwnedPointer> {
    inner: Arc<Inner<T>>,
}

/// A new empty deque holding at most `capacity` items (rounded up to a power of two).
///
/// # Errors
///
/// [`CapacityError::Zero`] for 0, [`CapacityError::TooLarge`] above
/// [`MAX_CAPACITY`](super::MAX_CAPACITY) (positions are compared through their signed
/// difference, far below that limit), [`CapacityError::AllocationFailed`] when the ring cannot
/// be allocated.
pub fn new<T: OwnedPointer>(capacity: usize) -> Result<(Owner<T>, Stealer<T>), CapacityError> {
    // The limit every queue shares (`queue::MAX_CAPACITY`, a power of two, so the rounded-up
    // capacity stays within it).
    let capacity = CapacityError::check(capacity)?.next_power_of_two();
    // Fallible: a capacity the allocator refuses is an error, not an abort.
    let mut slots = Vec::new();
    if slots.try_reserve_exact(capacity).is_err() {
        return Err(CapacityError::allocation_failed(
            capacity,
            core::mem::size_of::<AtomicPtr<()>>(),
        ));
    }
    slots.extend((0..capacity).map(|_| AtomicPtr::new(core::ptr::null_mut())));
    let inner = Arc::new(Inner {
        top: CachePadded::new(AtomicUsize::new(0)),
        bottom: CachePadded::new(AtomicUsize::new(0)),
        slots: slots.into_boxed_slice(),
        mask: capacity - 1,
        _owns: PhantomData,
    });
    let stealer = Stealer {
        inner: Arc::clone(&inner),
    };
    Ok((
        Owner {
            inner,
            _not_sync: PhantomData,
        },
        stealer,
    ))
}

/// `bottom - top` as a signed count.
#[inline]
fn signed_len(bottom: usize, top: usize) -> isize {
    bottom.wrapping_sub(top) as isize
}

impl<T: OwnedPointer> Inner<T> {
    #[inline]
    fn slot(&self, position: usize) -> &AtomicPtr<()> {
        // Masking keeps the index in bounds; the compiler removes the bounds check.
        &self.slots[position & self.mask]
    }

    /// Items between `top` and `bottom`, in two Relaxed reads: a snapshot that may be stale
    /// unless the caller orders it with a fence of its own.
    #[inline]
    fn len(&self) -> usize {
        let top = self.top.load(Ordering::Relaxed);
        let bottom = self.bottom.load(Ordering::Relaxed);
        signed_len(bottom, top).max(0) as usize
    }
}

impl<T: OwnedPointer> Owner<T> {
    /// Pushes `value` at the bottom, or hands it back if the deque is full.
    #[inline]
    pub fn push(&self, value: T) -> Result<(), T> {
        let inner = &*self.inner;
        // Relaxed: only this thread writes `bottom`.
        let bottom = inner.bottom.load(Ordering::Relaxed);
        // Acquire: pairs with the Release part of a thief's CAS on `top` (in `steal`): that
        // thief read the slot of position `top - 1` before its CAS, and we may overwrite the
        // same slot below (one lap later); the read happens before our write.
        let top = inner.top.load(Ordering::Acquire);
        if signed_len(bottom, top) >= inner.slots.len() as isize {
            return Err(value);
        }
        // Relaxed: published by the Release fence below.
        inner
            .slot(bottom)
            .store(value.into_raw(), Ordering::Relaxed);
        // Release fence: with the Relaxed store of `bottom` after it, pairs with the Acquire
        // load of `bottom` in `steal`, so a thief that sees the new `bottom` sees the slot and
        // everything written to the value before the push.
        fence(Ordering::Release);
        inner
            .bottom
            .store(bottom.wrapping_add(1), Ordering::Relaxed);
        Ok(())
    }

    /// Pops the newest item, or `None` if the deque is empty (or a thief took the last item).
    #[inline]
    pub fn pop(&self) -> Option<T> {
        let inner = &*self.inner;
        // Relaxed: only this thread writes `bottom`.
        let bottom = inner.bottom.load(Ordering::Relaxed);
        // Relaxed, and only a shortcut (see the module docs): a stale `top` is smaller, so the
        // deque can only look fuller than it is, and "empty" is never wrong.
        if signed_len(bottom, inner.top.load(Ordering::Relaxed)) <= 0 {
            return None;
        }
        let b = bottom.wrapping_sub(1);
        // Relaxed: ordered before the load of `top` by the fence.
        inner.bottom.store(b, Ordering::Relaxed);
        // SeqCst fence (the owner's half of the Dekker pair): our shrunk `bottom` comes before
        // our load of `top` in the total order. Pairs with the fence in `steal`, between its
        // load of `top` and its load of `bottom`: either that thief sees `b`, or we see its
        // claim (Lê et al.: the fence whose absence lets both take the same item).
        fence(Ordering::SeqCst);
        // Relaxed: the fence orders it.
        let top = inner.top.load(Ordering::Relaxed);
        let len = signed_len(b, top);
        if len < 0 {
            // Empty after all: thieves took everything since our first look. Restore.
            inner.bottom.store(bottom, Ordering::Relaxed);
            return None;
        }
        // Relaxed: the slot was written by this thread.
        let ptr = inner.slot(b).load(Ordering::Relaxed);
        if len > 0 {
            // More items than this one: no thief can reach position `b` (see the table).
            // SAFETY: position `b` holds a pointer pushed and not yet taken, and it is ours:
            // the fence argument above rules out a thief claiming it.
            return Some(unsafe { T::from_raw(ptr) });
        }
        // The last item: race the thieves for it. Relaxed (the paper has SeqCst; "Orderings" in
        // the module docs argues the difference away): who wins is settled by the CAS's
        // atomicity alone — `top` only grows, so of the CASes from this `top` exactly one
        // succeeds — and nothing is published through it (we wrote the slot ourselves). A
        // thief that reads the `top` we write is still ordered after our `bottom` decrement:
        // our fence above happens before this CAS, its read of our value happens before its
        // fence, so our fence is first in the SeqCst order and its `bottom` load sees the
        // decrement or later. Relaxed on failure too: we then take nothing.
        let won = inner
            .top
            .compare_exchange(
                top,
                top.wrapping_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_ok();
        // Relaxed: the deque is empty either way; `bottom` returns to `top + 1`.
        inner.bottom.store(bottom, Ordering::Relaxed);
        if won {
            // SAFETY: our CAS claimed position `b` (== `top`), so no thief took it.
            Some(unsafe { T::from_raw(ptr) })
        } else {
            None
        }
    }

    /// The number of items at some recent moment (a snapshot; exact when no thief is active).
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether [`len`](Self::len) is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most items the deque holds.
    pub fn capacity(&self) -> usize {
        self.inner.slots.len()
    }

    /// A new thief's end of this deque.
    pub fn stealer(&self) -> Stealer<T> {
        Stealer {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: OwnedPointer> Stealer<T> {
    /// Tries once to take the oldest item.
    #[inline]
    pub fn steal(&self) -> Steal<T> {
        let inner = &*self.inner;
        // Relaxed: the fence right below is also an acquire fence, so if this reads the `top`
        // of an earlier thief's (releasing) CAS, that CAS synchronizes with the fence — the
        // edge an Acquire load would give, with nothing in between (the paper writes acquire;
        // the two are equivalent here).
        let top = inner.top.load(Ordering::Relaxed);
        // SeqCst fence (the thief's half of the Dekker pair with `pop`): our load of `top` comes
        // before our load of `bottom` in the total order; see `Owner::pop`. As an acquire
        // fence it also completes the load above (see there).
        fence(Ordering::SeqCst);
        // Acquire: pairs with the Release fence in `push`: the slot at `top` is written.
        let bottom = inner.bottom.load(Ordering::Acquire);
        if signed_len(bottom, top) <= 0 {
            return Steal::Empty;
        }
        // Relaxed: ordered by the Acquire load of `bottom`. Read *before* the CAS: once `top`
        // moves past this position the owner may overwrite the slot (the zoo keeps a steal
        // that reads after its CAS, and the checkers catch it taking an item twice).
        let ptr = inner.slot(top).load(Ordering::Relaxed);
        // Release (the paper has SeqCst; "Orderings" in the module docs argues the difference
        // away). Pairs with the Acquire load of `top` in `push`: our slot read happens before
        // the owner overwrites the slot a lap later. And it orders us before a later thief
        // that reads our `top`, at that thief's (acquire) fence — which the owner's `pop`
        // needs: with this CAS Relaxed, an owner reading a `top` older than ours and a thief
        // reading ours could take the same item. No Acquire part: we read nothing another
        // thief published (the slot was published by `push`, acquired through `bottom`).
        // Relaxed on failure: we take nothing.
        match inner.top.compare_exchange(
            top,
            top.wrapping_add(1),
            Ordering::Release,
            Ordering::Relaxed,
        ) {
            // SAFETY: the CAS claimed position `top`, whose slot held `ptr` when we read it
            // (the owner rewrites it only after seeing `top` move past it, which our CAS did),
            // and nobody else can claim it now.
            Ok(_) => Steal::Success(unsafe { T::from_raw(ptr) }),
            Err(_) => Steal::Retry,
        }
    }

    /// The number of items at some recent moment: two Relaxed loads, so a caller that needs an
    /// up-to-date answer orders them with its own `fence(SeqCst)` (the pool does, before it
    /// sleeps).
    #[inline]
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether [`len`](Self::len) is 0.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T: OwnedPointer> Clone for Stealer<T> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<T: OwnedPointer> Drop for Inner<T> {
    fn drop(&mut self) {
        // `&mut self`: the last handle is gone, no operation is in flight, and positions
        // `top .. bottom` hold the items left.
        let top = self.top.load(Ordering::Relaxed);
        let bottom = self.bottom.load(Ordering::Relaxed);
        let mut position = top;
        while signed_len(bottom, position) > 0 {
            let ptr = self.slot(position).load(Ordering::Relaxed);
            // SAFETY: each position in `top .. bottom` holds a pointer pushed and never taken;
            // each is reclaimed exactly once here.
            drop(unsafe { T::from_raw(ptr) });
            position = position.wrapping_add(1);
        }
    }
}

// SAFETY: the deque moves `T`s between threads (push on the owner, steal on a thief) and never
// shares references to them; `T: OwnedPointer` implies `T: Send`. The owner's methods need
// `&Owner`, which is not `Sync`, so one thread at a time uses the owner's end; every shared
// access is atomic.
unsafe impl<T: OwnedPointer> Send for Owner<T> {}
// SAFETY: as above; a `Stealer` only runs `steal`, which any number of threads may run at once.
unsafe impl<T: OwnedPointer> Send for Stealer<T> {}
// SAFETY: as above.
unsafe impl<T: OwnedPointer> Sync for Stealer<T> {}
// SAFETY: `Inner` is shared by an `Arc` between the owner's and the thieves' threads; all its
// fields are atomics and the `T`s it holds are `Send`.
unsafe impl<T: OwnedPointer> Send for Inner<T> {}
// SAFETY: as above.
unsafe impl<T: OwnedPointer> Sync for Inner<T> {}

impl<T: OwnedPointer> fmt::Debug for Owner<T> {
    /// Shows the capacity only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("deque::Owner")
            .field("capacity", &self.capacity())
            .finish_non_exhaustive()
    }
}

impl<T: OwnedPointer> fmt::Debug for Stealer<T> {
    /// Reads nothing: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("deque::Stealer").finish_non_exhaustive()
    }
}
