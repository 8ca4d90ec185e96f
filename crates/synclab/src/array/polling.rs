//! The seed's own shared array; the design is documented on [`PollingArray`].

use core::fmt;
use core::marker::PhantomData;
use std::time::Duration;

use super::{IndexError, LenError, PublishError, SharedArray};
use crate::lock::{LockFamily, StdFamily};
use crate::sync::thread;
use crate::sync::time::Instant;

/// The penalty [`PollingArray::with_len`] uses: 1 ms (the seed uses 1 s and 2 s).
pub const DEFAULT_PENALTY: Duration = Duration::from_millis(1);

/// The seed's shared array: one mutex, and readers that poll with a sleep in between.
///
/// The seed's own design: one mutex over the whole array; a reader that finds its slot empty
/// sleeps a fixed *penalty* and looks again.
///
/// Source: `seed/shared-memory-ipc.txt`, "Python Example" (`consumer(penalty=1)`: `with lock:
/// data = SHARED_ARR[i]`, then `time.sleep(penalty)` while `data == -1`) and "C++ Example"
/// (`ConsumeJob(penaltySeconds)`, the same loop with `std::lock_guard`). The seed marks an
/// empty slot with `-1`, which makes `-1` unpublishable; here a slot is an `Option<T>`.
///
/// | slot | meaning |
/// |---|---|
/// | `None` | not yet published |
/// | `Some(v)` | published; never changes again |
///
/// It is correct — the mutex orders every write before every later read — but slow to notice:
/// a reader that arrives before the publisher sees the value up to one penalty late (on
/// average half a penalty if the publish time is random, a whole penalty if the publisher
/// comes right after the reader looked), and it wakes every penalty to look, so it burns a
/// little CPU per penalty while it waits. The benchmarks (`array/wake-latency`) and
/// `synclab demo array --impl polling` show that cost; the bug zoo lists it as a cost, not a
/// bug.
///
/// Progress: blocking (a mutex). Readers never block publishers for longer than one clone.
///
/// Generic over the [`LockFamily`] that supplies the mutex (std's by default); the condvar of
/// the family is not used.
///
/// ```
/// use std::time::Duration;
/// use synclab::array::{PollingArray, SharedArray};
///
/// let array: PollingArray<u32> = PollingArray::with_penalty(5, Duration::from_millis(1))?;
/// array.publish(0, 7).unwrap();
/// assert_eq!(array.wait(0), Ok(7)); // published: returns at once
/// # Ok::<(), synclab::array::LenError>(())
/// ```
pub struct PollingArray<T: Send, F: LockFamily = StdFamily> {
    /// Invariant: a slot goes from `None` to `Some` once and never changes again.
    slots: F::Mutex<Vec<Option<T>>>,
    len: usize,
    penalty: Duration,
    _family: PhantomData<F>,
}

impl<T: Send, F: LockFamily> PollingArray<T, F> {
    /// An array of `len` empty slots whose readers sleep `penalty` between looks.
    ///
    /// # Errors
    ///
    /// As [`SharedArray::with_len`].
    pub fn with_penalty(len: usize, penalty: Duration) -> Result<Self, LenError> {
        Ok(Self {
            slots: F::mutex(LenError::slots(len, |_| None)?),
            len,
            penalty,
            _family: PhantomData,
        })
    }

    /// [`SharedArray::wait`], calling `on_empty(index, penalty)` each time the reader finds the
    /// slot empty, just before it sleeps — where the seed prints
    /// `"No data at index {i}, waiting {penalty} sec"`.
    pub fn wait_observed(
        &self,
        index: usize,
        mut on_empty: impl FnMut(usize, Duration),
    ) -> Result<T, IndexError>
    where
        T: Clone,
    {
        IndexError::check(index, self.len)?;
        match self.poll(index, None, &mut on_empty) {
            Some(value) => Ok(value),
            None => unreachable!("a wait without a deadline does not time out"),
        }
    }

    /// The seed's loop: look, and sleep a penalty (at most until `deadline`, if any) while
    /// the slot is empty. `None` once the deadline has passed with the slot still empty.
    fn poll(
        &self,
        index: usize,
        deadline: Option<Instant>,
        on_empty: &mut impl FnMut(usize, Duration),
    ) -> Option<T>
    where
        T: Clone,
    {
        loop {
            if let Some(value) = self.look(index) {
                return Some(value);
            }
            let nap = match deadline {
                None => self.penalty,
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return None;
                    }
                    self.penalty.min(deadline - now)
                }
            };
            on_empty(index, nap);
            thread::sleep(nap);
        }
    }

    /// One look at slot `index` under the mutex (the seed's `with lock: data = SHARED_ARR[i]`).
    #[inline]
    fn look(&self, index: usize) -> Option<T>
    where
        T: Clone,
    {
        F::lock(&self.slots)[index].clone()
    }
}

impl<T, F> SharedArray<T> for PollingArray<T, F>
where
    T: Clone + Send + Sync,
    F: LockFamily,
{
    const NAME: &'static str = "polling";

    fn with_len(len: usize) -> Result<Self, LenError> {
        Self::with_penalty(len, DEFAULT_PENALTY)
    }

    fn len(&self) -> usize {
        self.len
    }

    fn publish(&self, index: usize, value: T) -> Result<(), PublishError<T>> {
        let value = PublishError::check_index(index, self.len, value)?;
        let mut slots = F::lock(&self.slots);
        match &mut slots[index] {
            Some(_) => Err(PublishError::AlreadyPublished { index, value }),
            slot @ None => {
                *slot = Some(value);
                Ok(())
            }
        }
    }

    fn try_get(&self, index: usize) -> Result<Option<T>, IndexError> {
        IndexError::check(index, self.len)?;
        Ok(self.look(index))
    }

    fn wait(&self, index: usize) -> Result<T, IndexError> {
        self.wait_observed(index, |_, _| {})
    }

    fn wait_timeout(&self, index: usize, timeout: Duration) -> Result<Option<T>, IndexError> {
        IndexError::check(index, self.len)?;
        Ok(self.poll(index, Instant::now().checked_add(timeout), &mut |_, _| {}))
    }
}

impl<T: Send, F: LockFamily> fmt::Debug for PollingArray<T, F> {
    /// Shows the shape only; reads no slot (that would take the lock).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollingArray")
            .field("family", &F::NAME)
            .field("len", &self.len)
            .field("penalty", &self.penalty)
            .finish_non_exhaustive()
    }
}
