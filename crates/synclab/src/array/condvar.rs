//! The textbook monitor: one mutex over the whole array and one condition variable that
//! readers sleep on, generic over the [`LockFamily`] (std's pair or synclab's futex pair).
//!
//! Source: the seed's "Condition Variable" section ("mutexes protect shared data while
//! condition variables allow threads to wait efficiently for changes in that shared data"),
//! i.e. the monitor of Hoare (1974) / Mesa (Lampson & Redell, 1980), with Mesa semantics:
//! a woken reader re-checks its slot under the lock, so spurious wake-ups are harmless.
//!
//! | field (under the mutex) | meaning |
//! |---|---|
//! | `slots[i] == None` | slot `i` not yet published |
//! | `slots[i] == Some(v)` | published; never changes again |
//! | `sleepers` | readers between "found my slot empty" and "woke up" — inside `wait` |
//!
//! `publish` notifies only when `sleepers > 0`, so a publisher with nobody waiting makes no
//! syscall. It uses `notify_all`, not `notify_one`: readers of *different* slots share the one
//! condvar, and `notify_one` could wake a reader of another slot, which would go back to
//! sleep while the right reader slept on — a lost wakeup. The price is a thundering herd
//! when many readers wait on many slots; the lock-free design has one wait word per slot.
//!
//! Progress: blocking (a mutex).

use core::fmt;
use core::marker::PhantomData;
use core::time::Duration;

use super::{IndexError, PublishError, SharedArray};
use crate::lock::LockFamily;
use crate::sync::time::Instant;

/// The state behind the mutex.
struct Slots<T> {
    /// Invariant: a slot goes from `None` to `Some` once and never changes again.
    slots: Vec<Option<T>>,
    /// Readers currently inside the condvar wait (incremented before, decremented after).
    sleepers: usize,
}

/// A shared array built from one mutex and one condition variable of the family `F`.
///
/// ```
/// use synclab::array::{CondvarArray, SharedArray};
/// use synclab::lock::StdFamily;
/// use synclab::sync::{thread, Arc};
///
/// let array: Arc<CondvarArray<u64, StdFamily>> = Arc::new(CondvarArray::with_len(3));
/// let reader = {
///     let array = Arc::clone(&array);
///     thread::spawn(move || array.wait(2))
/// };
/// array.publish(2, 42).unwrap();
/// assert_eq!(reader.join().unwrap(), Ok(42));
/// ```
pub struct CondvarArray<T: Send, F: LockFamily> {
    state: F::Mutex<Slots<T>>,
    /// Notified (all) by `publish` when `sleepers > 0`.
    published: F::Condvar,
    len: usize,
    _family: PhantomData<F>,
}

impl<T, F> CondvarArray<T, F>
where
    T: Clone + Send + Sync,
    F: LockFamily,
{
    #[cold]
    fn wait_slow<'a>(
        &'a self,
        index: usize,
        mut guard: F::Guard<'a, Slots<T>>,
        deadline: Option<Instant>,
    ) -> Option<T> {
        loop {
            if let Some(value) = &guard.slots[index] {
                return Some(value.clone());
            }
            guard.sleepers += 1;
            // Atomically unlocks and sleeps; the publisher sets the slot and reads `sleepers`
            // under the same lock, so it either sees us counted (and notifies after we are
            // asleep) or we see its value on the check above.
            let (relocked, timed_out) = F::wait_until(&self.published, guard, deadline);
            guard = relocked;
            guard.sleepers -= 1;
            if timed_out {
                // Still under the lock: one last look before giving up.
                return guard.slots[index].clone();
            }
        }
    }
}

impl<T, F> SharedArray<T> for CondvarArray<T, F>
where
    T: Clone + Send + Sync,
    F: LockFamily,
{
    const NAME: &'static str = "condvar";

    fn with_len(len: usize) -> Self {
        Self {
            state: F::mutex(Slots {
                slots: (0..len).map(|_| None).collect(),
                sleepers: 0,
            }),
            published: F::condvar(),
            len,
            _family: PhantomData,
        }
    }

    fn len(&self) -> usize {
        self.len
    }

    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let value = PublishError::check_index(index, self.len, value)?;
        let mut state = F::lock(&self.state);
        if state.slots[index].is_some() {
            return Err(PublishError::AlreadyPublished { index, value });
        }
        state.slots[index] = Some(value);
        let someone_sleeps = state.sleepers > 0;
        // Unlock before notifying, so woken readers do not block on a lock we still hold.
        drop(state);
        if someone_sleeps {
            F::notify_all(&self.published);
        }
        Ok(())
    }

    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        IndexError::check(index, self.len)?;
        Ok(F::lock(&self.state).slots[index].clone())
    }

    #[inline]
    fn wait(&self, index: usize) -> Result<T, IndexError> {
        IndexError::check(index, self.len)?;
        let guard = F::lock(&self.state);
        if let Some(value) = &guard.slots[index] {
            return Ok(value.clone());
        }
        match self.wait_slow(index, guard, None) {
            Some(value) => Ok(value),
            None => unreachable!("a wait without a deadline does not time out"),
        }
    }

    fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
        IndexError::check(index, self.len)?;
        let guard = F::lock(&self.state);
        Ok(self.wait_slow(index, guard, Instant::now().checked_add(timeout)))
    }
}

impl<T: Send, F: LockFamily> fmt::Debug for CondvarArray<T, F> {
    /// Shows the shape only; reads no slot (that would take the lock).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondvarArray")
            .field("family", &F::NAME)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
