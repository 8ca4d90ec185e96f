//! Zoo entries for the shared array: three broken variants of
//! [`LockFreeArray`](synclab::array::LockFreeArray), each one line away from the real thing.
//!
//! | entry | the bug | how it fails | fixed in |
//! |---|---|---|---|
//! | [`RelaxedPublishArray`] | `publish` stores READY with `Relaxed` instead of `Release` | a reader that sees READY reads the value with no happens-before edge to its write: a data race (a checker of the C11 model reports it; one that runs every atomic as SeqCst cannot see it) | `LockFreeArray::publish` (Release swap) |
//! | [`ClaimlessPublishArray`] | `publish` skips the claim (a load, the value, the swap: a [`Lane`](synclab::array::Lane)'s publish) with no lane to make it the slot's only publisher | two publishers both find the slot empty and both write its value: a data race, and both are told they won | `LockFreeArray::publish` (the claim CAS), or `LanedArray` (one holder per lane) |
//! | [`UnannouncedSleepArray`] | a reader sleeps on the word without setting the SLEEPERS marker | the publisher sees no marker and skips the wake: the reader sleeps forever (lost wakeup → deadlock) | `Slot::wait_until_ready` (CAS the marker in first) |
//!
//! The seed's own design, [`PollingArray`](synclab::array::PollingArray), is *not* here: it is
//! correct. Its sleep-poll is a cost — a reader sees a value up to one penalty late, and wakes
//! every penalty while it waits — that the benchmarks (`array/wake-latency`,
//! `array/idle-cpu`) and `synclab demo array --impl polling` measure.
//!
//! The entries share the slot layout and states of the real design (EMPTY / WRITING / READY,
//! plus SLEEPERS), so the difference is exactly the flaw. Under [the zoo's
//! rule](super#the-rule-safe-code-cannot-reach-undefined-behaviour) the data races make
//! `RelaxedPublishArray` and `ClaimlessPublishArray` `unsafe`-to-build entries; the lost wakeup leaves
//! `UnannouncedSleepArray` a safe `SharedArray`.

use core::fmt;
use core::mem::MaybeUninit;

use synclab::array::{IndexError, LenError, PublishError, SharedArray};
use synclab::sync::atomic::{AtomicU32, Ordering::*};
use synclab::sync::{futex, UnsafeCell};

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;
const PHASE: u32 = 0b011;
const SLEEPERS: u32 = 0b100;

/// Which line is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flaw {
    /// `publish`'s final swap is Relaxed.
    RelaxedPublish,
    /// `wait` sleeps without announcing itself with SLEEPERS.
    UnannouncedSleep,
    /// `publish` writes the value without claiming the slot first.
    Claimless,
}

struct Slot<T> {
    state: AtomicU32,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The shared core of both entries: `LockFreeArray` with one flaw switched on.
struct Flawed<T> {
    slots: Box<[Slot<T>]>,
    flaw: Flaw,
}

// SAFETY: as for `LockFreeArray` — the array owns its values.
unsafe impl<T: Send> Send for Flawed<T> {}
// SAFETY: as for `LockFreeArray` — each slot's value is written once by the publisher that
// claimed it and read only after READY is seen — except that `Flaw::RelaxedPublish` breaks
// the ordering half of that argument on purpose, and `Flaw::Claimless` the "only writer"
// half. Those flaws are reachable only through the `unsafe` `RelaxedPublishArray::new` and
// `ClaimlessPublishArray::new`, whose contracts confine sharing to a model checker's threads;
// with `Flaw::UnannouncedSleep` the claim and the Release publish keep the argument whole.
unsafe impl<T: Send + Sync> Sync for Flawed<T> {}

impl<T: Clone> Flawed<T> {
    fn new(len: usize, flaw: Flaw) -> Self {
        Self {
            slots: (0..len)
                .map(|_| Slot {
                    state: AtomicU32::new(EMPTY),
                    value: UnsafeCell::new(MaybeUninit::uninit()),
                })
                .collect(),
            flaw,
        }
    }

    fn slot(&self, index: usize) -> Result<&Slot<T>, IndexError> {
        self.slots
            .get(index)
            .ok_or(IndexError::new(index, self.slots.len()))
    }

    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let Ok(slot) = self.slot(index) else {
            return Err(PublishError::OutOfBounds {
                index,
                len: self.slots.len(),
                value,
            });
        };
        let mut state = slot.state.load(Relaxed);
        loop {
            if state & PHASE != EMPTY {
                return Err(PublishError::AlreadyPublished { index, value });
            }
            if self.flaw == Flaw::Claimless {
                // THE BUG: "empty" is not "mine": another publisher may be past this check too.
                break;
            }
            match slot
                .state
                .compare_exchange(state, WRITING | (state & SLEEPERS), Relaxed, Relaxed)
            {
                Ok(_) => break,
                Err(seen) => state = seen,
            }
        }
        // SAFETY: the claim makes us the only writer (as in `LockFreeArray::publish`) — except
        // with `Flaw::Claimless`, the entry's point, reachable only through the `unsafe`
        // `ClaimlessPublishArray::new`, whose caller promised a checker runs the threads: the
        // exhaustive checker reports a second writer before its write happens; the randomized
        // one runs one thread at a time.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        let ordering = match self.flaw {
            // THE BUG: Relaxed publishes nothing; a reader's Acquire load has no partner.
            Flaw::RelaxedPublish => Relaxed,
            // Release: pairs with the Acquire loads in `try_get` / `wait`.
            Flaw::UnannouncedSleep | Flaw::Claimless => Release,
        };
        if slot.state.swap(READY, ordering) & SLEEPERS != 0 {
            futex::wake_all(&slot.state);
        }
        Ok(())
    }

    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        let slot = self.slot(index)?;
        // Acquire: meant to pair with the Release swap in `publish` (absent in one entry).
        if slot.state.load(Acquire) == READY {
            // SAFETY: READY was seen with Acquire. With the Release publish (`UnannouncedSleep`)
            // that orders this read after the write. With `RelaxedPublish` it does not — the
            // entry's point — and the caller of the `unsafe` `RelaxedPublishArray::new`
            // promised a checker runs the threads: the exhaustive checker reports this read as racing with the
            // write in `publish` before it happens; the randomized checker never overlaps the two.
            Ok(Some(
                slot.value
                    .with(|p| unsafe { (*p).assume_init_ref().clone() }),
            ))
        } else {
            Ok(None)
        }
    }

    fn wait(&self, index: usize) -> Result<T, IndexError> {
        let slot = self.slot(index)?;
        loop {
            // Acquire: meant to pair with the Release swap in `publish`.
            let state = slot.state.load(Acquire);
            if state == READY {
                break;
            }
            match self.flaw {
                // THE BUG: sleeps without setting SLEEPERS, so `publish` sees no sleeper and
                // never wakes us.
                Flaw::UnannouncedSleep => futex::wait(&slot.state, state),
                Flaw::RelaxedPublish | Flaw::Claimless => {
                    if state & SLEEPERS == 0
                        && slot
                            .state
                            .compare_exchange(state, state | SLEEPERS, Relaxed, Relaxed)
                            .is_err()
                    {
                        continue;
                    }
                    futex::wait(&slot.state, state | SLEEPERS);
                }
            }
        }
        // SAFETY: as in `try_get`: ordered by the Release publish, or (`RelaxedPublish`) run
        // only under a checker by the contract of `RelaxedPublishArray::new`.
        Ok(slot
            .value
            .with(|p| unsafe { (*p).assume_init_ref().clone() }))
    }
}

impl<T> Drop for Flawed<T> {
    fn drop(&mut self) {
        // As `LockFreeArray`'s drop: every value, even if one's `Drop` panics.
        crate::cleanup::drop_each(0..self.slots.len(), |i| {
            let slot = &self.slots[i];
            // Relaxed: `&mut self` excludes every other thread.
            if slot.state.load(Relaxed) == READY {
                // SAFETY: READY means initialised; `&mut self` gives exclusive access;
                // `drop_each` visits each slot once, so it is dropped once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        });
    }
}

/// BROKEN: `LockFreeArray` whose `publish` stores READY with `Relaxed`.
///
/// A reader that sees READY then reads a value whose write it is not ordered after: a
/// data race. Classic missing Release; fixed by the Release swap in `LockFreeArray`.
///
/// A data-race entry (see [the zoo's rule](super#the-rule-safe-code-cannot-reach-undefined-behaviour)):
/// it is built only by the `unsafe` [`new`](Self::new), and it implements no safe trait that
/// could build it — in particular not [`SharedArray`], whose `with_len` is safe. Neither of
/// these compiles:
///
/// ```compile_fail,E0133
/// let a = synclab_zoo::array::RelaxedPublishArray::<u64>::new(1); // `new` is unsafe
/// ```
///
/// ```compile_fail,E0277
/// use synclab::array::SharedArray;
/// use synclab_zoo::array::RelaxedPublishArray;
/// let a = <RelaxedPublishArray<u64> as SharedArray<u64>>::with_len(1); // not a SharedArray
/// ```
///
/// With `unsafe`, under its contract (here: one thread), the same call builds:
///
/// ```
/// use synclab_zoo::array::RelaxedPublishArray;
/// // SAFETY: used from this thread only.
/// let a = unsafe { RelaxedPublishArray::<u64>::new(1) };
/// a.publish(0, 7).unwrap();
/// assert_eq!(a.try_get(0), Ok(Some(7)));
/// ```
pub struct RelaxedPublishArray<T>(Flawed<T>);

impl<T: Clone + Send + Sync> RelaxedPublishArray<T> {
    /// An array of `len` empty slots.
    ///
    /// # Safety
    ///
    /// The array's [`publish`](Self::publish) races with its readers on purpose. It may be
    /// shared between threads only where a model checker runs them — under the exhaustive checker
    /// (`--cfg synclab_loom`), which checks every access to the slot's cell and stops the
    /// execution at the first one not ordered by happens-before ("Causality violation")
    /// *before* it happens; or under the randomized checker (`--cfg synclab_shuttle`), which runs one thread at
    /// a time on one OS thread, so two accesses never overlap — and only through those
    /// checkers' threads (`synclab::sync::thread`). Used from a single thread it is sound in
    /// every build. On real threads, a reader that sees READY races with the publisher's
    /// write: undefined behaviour.
    pub unsafe fn new(len: usize) -> Self {
        Self(Flawed::new(len, Flaw::RelaxedPublish))
    }

    /// The number of slots.
    pub fn len(&self) -> usize {
        self.0.slots.len()
    }

    /// Whether the array has no slots.
    pub fn is_empty(&self) -> bool {
        self.0.slots.is_empty()
    }

    /// `SharedArray::publish`, with the Relaxed store.
    pub fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.0.publish(index, value)
    }

    /// `SharedArray::try_get`: races with `publish` (see the type docs).
    pub fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        self.0.try_get(index)
    }

    /// `SharedArray::wait`: races with `publish` (see the type docs).
    pub fn wait(&self, index: usize) -> Result<T, IndexError> {
        self.0.wait(index)
    }
}

/// BROKEN: `LockFreeArray` whose `publish` does not claim the slot — a [`Lane`]'s publish
/// without the lane.
///
/// A publish that finds the slot empty writes its value and swaps in READY. Two publishers
/// can both find it empty: both write the value (a data race) and both are told they won.
/// Dropping the claim is sound only when the slot has one publisher, which
/// `LanedArray` makes sure of with one holder per lane; `LockFreeArray`
/// claims with a CAS instead.
///
/// A data-race entry, built only by the `unsafe` [`new`](Self::new), and not a
/// [`SharedArray`]:
///
/// ```compile_fail,E0133
/// let a = synclab_zoo::array::ClaimlessPublishArray::<u64>::new(1); // `new` is unsafe
/// ```
///
/// [`Lane`]: synclab::array::Lane
pub struct ClaimlessPublishArray<T>(Flawed<T>);

impl<T: Clone + Send + Sync> ClaimlessPublishArray<T> {
    /// An array of `len` empty slots.
    ///
    /// # Safety
    ///
    /// Two concurrent [`publish`](Self::publish)es of one slot race on its value on purpose.
    /// The array may be shared between threads only where a model checker runs them, on the
    /// terms of [`RelaxedPublishArray::new`]; used from a single thread it is sound in every
    /// build.
    pub unsafe fn new(len: usize) -> Self {
        Self(Flawed::new(len, Flaw::Claimless))
    }

    /// `SharedArray::publish`, without the claim.
    pub fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.0.publish(index, value)
    }

    /// `SharedArray::try_get`.
    pub fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        self.0.try_get(index)
    }
}

/// BROKEN: `LockFreeArray` whose readers sleep without setting the SLEEPERS marker.
///
/// `publish` wakes only when it sees the marker, so a reader that went to sleep before
/// the publish sleeps forever: a lost wakeup. Fixed in `LockFreeArray` by announcing
/// with a CAS on the same word before sleeping.
///
/// A logic-bug entry: its publish is the real Release swap, so every read is ordered after
/// its write whatever the schedule — a safe caller can hang, never race. It is an ordinary
/// [`SharedArray`].
pub struct UnannouncedSleepArray<T>(Flawed<T>);

impl<T: Clone + Send + Sync> SharedArray<T> for UnannouncedSleepArray<T> {
    const NAME: &'static str = "zoo-unannounced-sleep";
    fn with_len(len: usize) -> Result<Self, LenError> {
        Ok(Self(Flawed::new(len, Flaw::UnannouncedSleep)))
    }
    fn len(&self) -> usize {
        self.0.slots.len()
    }
    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        self.0.publish(index, value)
    }
    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        self.0.try_get(index)
    }
    fn wait(&self, index: usize) -> Result<T, IndexError> {
        self.0.wait(index)
    }
}

macro_rules! debug_len {
    ($($name:ident),*) => {$(
        impl<T> fmt::Debug for $name<T> {
            /// Shows the length only.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name))
                    .field("len", &self.0.slots.len())
                    .finish_non_exhaustive()
            }
        }
    )*};
}

debug_len!(
    RelaxedPublishArray,
    ClaimlessPublishArray,
    UnannouncedSleepArray
);
