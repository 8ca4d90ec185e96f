//! The textbook monitor as a shared array: one mutex over the whole array and one condition
//! variable readers sleep on. The design is documented on [`CondvarArray`].

use core::fmt;
use core::mem::MaybeUninit;
use core::time::Duration;

use super::{IndexError, LenError, PublishError, SharedArray};
use crate::lock::LockFamily;
use crate::shm::{Heap, HeapMemory, Memory, Region};
use crate::sync::atomic::{AtomicU32, Ordering::*};
use crate::sync::time::Instant;
use crate::sync::UnsafeCell;

/// The lock, the condition variable, and (under the lock) the count of sleeping readers.
#[repr(C)]
pub(super) struct Monitor<F: LockFamily> {
    /// Guards every slot and holds `sleepers`: readers between "found my slot empty" and
    /// "woke up", inside `wait`.
    pub(super) sleepers: F::Mutex<usize>,
    /// Notified (all) by `publish` when `sleepers > 0`.
    pub(super) published: F::Condvar,
}

/// One write-once slot, read and written only under the monitor's lock.
#[repr(C)]
pub(super) struct LockedSlot<T> {
    /// 0 until published, then 1 for ever. Atomic only so that the order "value, then ready"
    /// is what a publisher killed in between leaves behind (see [`CondvarArray`]).
    ready: AtomicU32,
    /// Initialised iff `ready == 1`.
    value: UnsafeCell<MaybeUninit<T>>,
}

impl<T> LockedSlot<T> {
    pub(super) fn empty(_: usize) -> Self {
        Self {
            ready: AtomicU32::new(0),
            value: UnsafeCell::new(MaybeUninit::uninit()),
        }
    }
}

/// A shared array built from one mutex and one condition variable of the family `F`, in
/// memory `M` (the [`Heap`] unless it is placed in a segment): the textbook monitor, generic
/// over the [`LockFamily`] (std's pair or synclab's futex pair; in a segment,
/// [`RobustFamily`](crate::lock::RobustFamily)).
///
/// Source: the seed's "Condition Variable" section ("mutexes protect shared data while
/// condition variables allow threads to wait efficiently for changes in that shared data"),
/// i.e. the monitor of Hoare (1974) / Mesa (Lampson & Redell, 1980), with Mesa semantics:
/// a woken reader re-checks its slot under the lock, so spurious wake-ups are harmless.
///
/// | field (under the mutex) | meaning |
/// |---|---|
/// | `slots[i].ready == 0` | slot `i` not yet published |
/// | `slots[i].ready == 1` | published (the value is initialised); never changes again |
/// | `sleepers` | readers between "found my slot empty" and "woke up" — inside `wait` |
///
/// `publish` notifies only when `sleepers > 0`, so a publisher with nobody waiting makes no
/// syscall. It uses `notify_all`, not `notify_one`: readers of *different* slots share the one
/// condvar, and `notify_one` could wake a reader of another slot, which would go back to
/// sleep while the right reader slept on — a lost wakeup. The price is a thundering herd
/// when many readers wait on many slots; the lock-free design has one wait word per slot.
///
/// The slots live beside the mutex, not inside it (a region of the array's [`Memory`]: a
/// `Box` on the heap, a segment's data area between processes), and are touched only while
/// the mutex is held. Each slot is a `ready` word and the value: `publish` writes the value,
/// *then* stores `ready` (Release, under the lock), so a publisher killed mid-publish in a
/// shared segment leaves at worst a written value with `ready` still 0 — an empty slot, the
/// publish never happened — and never a slot that reads published with a torn value. A reader
/// killed inside `wait` leaves `sleepers` one too high: later publishes notify without need,
/// harmlessly. So the state is consistent whatever point a process dies at, and the family's
/// lock, which takes over from a dead holder, is all the recovery it needs.
///
/// Progress: blocking (a mutex).
///
/// # Examples
///
/// ```
/// use synclab::array::{CondvarArray, SharedArray};
/// use synclab::lock::StdFamily;
/// use synclab::sync::{thread, Arc};
///
/// let array: Arc<CondvarArray<u64, StdFamily>> = Arc::new(CondvarArray::with_len(3)?);
/// let reader = {
///     let array = Arc::clone(&array);
///     thread::spawn(move || array.wait(2))
/// };
/// array.publish(2, 42).unwrap();
/// assert_eq!(reader.join().unwrap(), Ok(42));
/// # Ok::<(), synclab::array::LenError>(())
/// ```
pub struct CondvarArray<T: Send, F: LockFamily, M: Memory = Heap> {
    state: M::Region<Monitor<F>, LockedSlot<T>>,
}

// SAFETY: the array owns its `T`s; moving it moves them (`T: Send`); the family's lock and
// condvar are `Send + Sync` by `LockFamily`'s bounds.
unsafe impl<T: Send, F: LockFamily, M: Memory> Send for CondvarArray<T, F, M> {}
// SAFETY: every access to a slot happens under the monitor's lock, so slots are handed between
// threads one holder at a time (`T: Send`), and readers clone through `&T` (`T: Sync`).
unsafe impl<T: Send + Sync, F: LockFamily, M: Memory> Sync for CondvarArray<T, F, M> {}

impl<T: Send, F: LockFamily, M: Memory> CondvarArray<T, F, M> {
    /// Builds the array over a region (a segment's, in `segment.rs`).
    pub(super) fn from_region(state: M::Region<Monitor<F>, LockedSlot<T>>) -> Self {
        Self { state }
    }
}

impl<T, F, M> CondvarArray<T, F, M>
where
    T: Clone + Send + Sync,
    F: LockFamily,
    M: Memory,
{
    pub(super) fn monitor(&self) -> &Monitor<F> {
        self.state.header()
    }

    pub(super) fn slots(&self) -> &[LockedSlot<T>] {
        self.state.elems()
    }

    /// Takes the monitor's lock.
    pub(super) fn lock_monitor(&self) -> F::Guard<'_, usize> {
        F::lock(&self.monitor().sleepers)
    }

    /// The value of `slot` if it is published.
    ///
    /// # Safety
    ///
    /// The caller must hold the monitor's lock.
    pub(super) unsafe fn read(slot: &LockedSlot<T>) -> Option<T> {
        // Relaxed: under the lock, which orders the publisher's writes before us.
        if slot.ready.load(Relaxed) == 0 {
            return None;
        }
        // SAFETY: ready: initialised; the lock excludes any writer (the caller's contract).
        Some(
            slot.value
                .with(|p| unsafe { (*p).assume_init_ref().clone() }),
        )
    }

    /// Sleeps on the condvar until the slot is published, or until `deadline` (if any)
    /// passes: then `None` (after one last look under the lock).
    #[cold]
    pub(super) fn wait_slow<'a>(
        &'a self,
        slot: &LockedSlot<T>,
        mut guard: F::Guard<'a, usize>,
        deadline: Option<Instant>,
    ) -> Option<T> {
        loop {
            // SAFETY: we hold the lock (`guard`).
            if let Some(value) = unsafe { Self::read(slot) } {
                return Some(value);
            }
            // Wrapping: in a segment the count is a word a faulty peer may have written.
            *guard = guard.wrapping_add(1);
            // Atomically unlocks and sleeps; the publisher sets the slot and reads `sleepers`
            // under the same lock, so it either sees us counted (and notifies after we are
            // asleep) or we see its value on the check above.
            let (relocked, timed_out) = F::wait_until(&self.monitor().published, guard, deadline);
            guard = relocked;
            *guard = guard.wrapping_sub(1);
            if timed_out {
                // SAFETY: we hold the lock (`guard`).
                return unsafe { Self::read(slot) };
            }
        }
    }

    /// `publish`, stopping for good with the value written but not marked ready if
    /// `DIE_AFTER_WRITE` (fault injection).
    pub(super) fn publish_until<const DIE_AFTER_WRITE: bool>(
        &self,
        index: usize,
        value: T,
    ) -> Result<(), PublishError<T>> {
        let value = PublishError::check_index(index, self.slots().len(), value)?;
        let slot = &self.slots()[index];
        let guard = F::lock(&self.monitor().sleepers);
        // Relaxed: under the lock.
        if slot.ready.load(Relaxed) != 0 {
            return Err(PublishError::AlreadyPublished { index, value });
        }
        // SAFETY: not ready, and we hold the lock: nobody reads or writes the value.
        slot.value.with_mut(|p| unsafe { (*p).write(value) });
        if DIE_AFTER_WRITE {
            core::mem::forget(guard);
            return Ok(());
        }
        // Release: the value is written before `ready` in the order a killed publisher leaves
        // (see [`CondvarArray`]); readers are ordered by the lock itself.
        slot.ready.store(1, Release);
        let someone_sleeps = *guard > 0;
        // Unlock before notifying, so woken readers do not block on a lock we still hold.
        drop(guard);
        if someone_sleeps {
            F::notify_all(&self.monitor().published);
        }
        Ok(())
    }
}

/// The [`SharedArray`] methods of [`CondvarArray`], the same in every memory (the constructor
/// is each memory's).
macro_rules! condvar_array_ops {
    () => {
        const NAME: &'static str = "condvar";

        fn len(&self) -> usize {
            self.slots().len()
        }

        fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
            self.publish_until::<false>(index, value)
        }

        /// Never blocks, but for the lock.
        fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
            IndexError::check(index, self.slots().len())?;
            let _guard = self.lock_monitor();
            // SAFETY: we hold the lock.
            Ok(unsafe { Self::read(&self.slots()[index]) })
        }

        #[inline]
        fn wait(&self, index: usize) -> Result<T, IndexError> {
            IndexError::check(index, self.slots().len())?;
            let slot = &self.slots()[index];
            let guard = self.lock_monitor();
            // SAFETY: we hold the lock.
            if let Some(value) = unsafe { Self::read(slot) } {
                return Ok(value);
            }
            match self.wait_slow(slot, guard, None) {
                Some(value) => Ok(value),
                None => unreachable!("a wait without a deadline does not time out"),
            }
        }

        fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
            IndexError::check(index, self.slots().len())?;
            let slot = &self.slots()[index];
            let guard = self.lock_monitor();
            Ok(self.wait_slow(slot, guard, Instant::now().checked_add(timeout)))
        }
    };
}

/// In any heap memory: the heap, or a model of a segment (whose family is then
/// `RobustFamily<M>`, as in a segment).
impl<T, F, M> SharedArray<T> for CondvarArray<T, F, M>
where
    T: Clone + Send + Sync,
    F: LockFamily,
    M: HeapMemory,
{
    fn with_len(len: usize) -> Result<Self, LenError> {
        let slots = LenError::slots(len, LockedSlot::empty)?;
        Ok(Self {
            state: M::region(
                Monitor {
                    sleepers: F::mutex(0),
                    published: F::condvar(),
                },
                slots.into_boxed_slice(),
            ),
        })
    }

    condvar_array_ops!();
}

impl<T: Send, F: LockFamily, M: Memory> Drop for CondvarArray<T, F, M> {
    fn drop(&mut self) {
        // Values that need no drop (every value in a segment: `Plain` is `Copy`) are left
        // alone: a segment's slots belong to every process that maps it.
        if !core::mem::needs_drop::<T>() {
            return;
        }
        for slot in self.state.elems() {
            // Relaxed: `&mut self`: no other thread uses the array any more.
            if slot.ready.load(Relaxed) != 0 {
                // SAFETY: ready: initialised; `&mut self` is exclusive; dropped once.
                slot.value.with_mut(|p| unsafe { (*p).assume_init_drop() });
            }
        }
    }
}

impl<T: Send, F: LockFamily, M: Memory> fmt::Debug for CondvarArray<T, F, M> {
    /// Shows the shape only; reads no slot (that would take the lock).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondvarArray")
            .field("family", &F::NAME)
            .field("len", &self.state.elems().len())
            .finish_non_exhaustive()
    }
}
