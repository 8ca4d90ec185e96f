//! Forced pushes: `push`'s loop, evicting the oldest item where `push` would report "full"
//! (crossbeam's `force_push`). Documented on [`ArrayQueue::force_push`].

use core::fmt;
use core::mem::MaybeUninit;
use core::ops::ControlFlow;

use super::{ArrayQueue, Slot, RUN_TO_END};
use crate::shm::Memory;
use crate::sync::atomic::Ordering;

/// [`ArrayQueue::force_push`] found the queue [closed](super::MpmcQueue::close): its value comes
/// back — and, if the close landed while it was evicting, the evicted item too (it had
/// already left the queue; nothing is lost).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForcePushError<T> {
    /// The value that was not pushed.
    pub value: T,
    /// The oldest item, if this call had taken it out before it found the queue closed.
    pub evicted: Option<T>,
}

impl<T> fmt::Display for ForcePushError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the queue is closed: the value was handed back, not pushed")
    }
}

impl<T: fmt::Debug> std::error::Error for ForcePushError<T> {}

impl<T, M: Memory> ArrayQueue<T, M> {
    /// Appends `value`; if the queue is full, overwrites the oldest item and returns it
    /// (`Ok(Some(oldest))`; `Ok(None)` when there was room).
    ///
    /// The eviction is a pop and a push in one step: the pushing thread claims the oldest
    /// item's position with the consumers' CAS on `head`, which makes it the owner of that
    /// slot, moves `tail` past it, swaps the value and publishes it (see "How" below).
    /// Linearizable as "pop the oldest, then push", atomically — unless a
    /// [`close`](super::MpmcQueue::close) lands between the two: then it is that pop followed by a push
    /// that lost to the close, and both values come back in the error.
    ///
    /// ```
    /// use synclab::queue::{ArrayQueue, MpmcQueue};
    ///
    /// let q: ArrayQueue<i32> = ArrayQueue::with_capacity(2)?;
    /// assert_eq!(q.force_push(1), Ok(None));
    /// assert_eq!(q.force_push(2), Ok(None));
    /// assert_eq!(q.force_push(3), Ok(Some(1))); // full: the oldest makes room
    /// assert_eq!((q.try_pop(), q.try_pop(), q.try_pop()), (Some(2), Some(3), None));
    /// q.close();
    /// assert_eq!(q.force_push(4).unwrap_err().value, 4); // closed: the value comes back
    /// # Ok::<(), synclab::queue::CapacityError>(())
    /// ```
    ///
    /// # How
    ///
    /// [`ArrayQueue::force_push`] (crossbeam's `force_push`) runs `push`'s loop;
    /// where `push` would report "full", it evicts the oldest item instead. A full queue has
    /// `head + one_lap == tail`, so the slot of position `tail` holds the item of position
    /// `head`: the pusher claims `head` with the consumers' SeqCst CAS (so at most one thread —
    /// a consumer or a forced pusher — takes that item), stores `tail + 1` into `tail` (nobody
    /// else can move it: producers claim `tail` only when the slot's stamp equals `tail`, and it
    /// still says "full for `head`"), swaps the value in place and publishes it with the usual
    /// Release stamp store of `tail + 1`. Between the CAS and the stamp store the slot is held
    /// exactly as by a producer between its CAS and its stamp store (see "Progress"). The move of
    /// `tail` is a CAS, not a store, because [`close`](super::MpmcQueue::close) may set its mark in
    /// between (a store would erase it and reopen the queue): if it did, the forced push is a pop
    /// followed by a push that lost to the close, and both values come back in a
    /// [`ForcePushError`]. The exhaustive models `array_queue_force_push_against_pops` and
    /// `array_queue_force_push_racing_close` check it.
    ///
    /// # Errors
    ///
    /// [`ForcePushError`] if the queue is closed: the value, and the evicted item if the
    /// close came in the middle of an eviction (it had already left the queue).
    ///
    /// Not in memory whose peers' deaths are tracked (a shared segment): the eviction does not
    /// announce its claim the way a consumer's does, so a forced pusher that died inside it
    /// could not be recovered from. Using it there is a compile-time error.
    #[inline]
    pub fn force_push(&self, value: T) -> Result<Option<T>, ForcePushError<T>> {
        const { assert!(!M::TRACKED, "force_push is not supported in tracked memory") };
        let evicted = core::cell::Cell::new(None);
        match self.push_until::<RUN_TO_END>(value, |value, tail, slot| {
            self.evict_oldest(value, tail, slot, &evicted)
        }) {
            Ok(()) => Ok(evicted.into_inner()),
            Err(value) => Err(ForcePushError {
                value,
                evicted: evicted.into_inner(),
            }),
        }
    }

    /// The queue looked full at position `tail` (its slot still holds the oldest item, at
    /// position `tail - one_lap`, which `head` still names): claims that item as a consumer
    /// would, and reuses its slot for `value`. `Break(Ok(()))` with the oldest item in
    /// `evicted` on success; `Continue(value)` if a consumer took the oldest item first (then
    /// the push is retried from the start); `Break(Err(value))`, the oldest item in `evicted`,
    /// if the queue closed after the claim.
    #[cold]
    fn evict_oldest(
        &self,
        value: T,
        tail: usize,
        slot: &Slot<T>,
        evicted: &core::cell::Cell<Option<T>>,
    ) -> ControlFlow<Result<(), T>, T> {
        let head = tail.wrapping_sub(self.one_lap);
        let new_tail = self.next_position(tail);
        let new_head = new_tail.wrapping_sub(self.one_lap);
        // SeqCst, as the CAS in `pop`: winning it makes us the consumer of position `head`.
        if self
            .ends()
            .head
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return ControlFlow::Continue(value);
        }
        // No producer can move `tail` now: a producer claims position `tail` only when the
        // slot's stamp equals `tail`, and the stamp still says "full for `head`" until our
        // store below. But `close` can set its mark, so this is a CAS, not a store (a store
        // would erase the mark and reopen the queue). SeqCst: it takes part in the total
        // order that `snapshot` reads `tail` in, as the CAS in `push` does.
        if let Err(current) =
            self.ends()
                .tail
                .compare_exchange(tail, new_tail, Ordering::SeqCst, Ordering::Relaxed)
        {
            debug_assert_eq!(current, tail | self.mark_bit, "only close moves tail here");
            // Closed after our claim: our pop stands, our push lost to the close. Take the
            // item and free the slot as `pop` does, and hand both values back.
            // SAFETY: as for the replace below: the claim gave us the slot and its
            // initialised value of position `head`; it is read exactly once.
            let oldest = slot.value.with(|p| unsafe { p.read().assume_init() });
            // Release: pairs with the next lap's producer's Acquire stamp load, as in `pop`.
            slot.stamp
                .store(head.wrapping_add(self.one_lap), Ordering::Release);
            evicted.set(Some(oldest));
            return ControlFlow::Break(Err(value));
        }
        // SAFETY: the stamp we Acquire-loaded said "full for `head`" (the caller checked
        // `stamp + one_lap == tail + 1`), so the slot holds the initialised value of position
        // `head`, made visible by that producer's Release store; winning the CAS on `head`
        // gave us that slot exclusively, as in `pop`, and nobody can claim it as a producer
        // until our stamp store (above). We read the old value once and write the new one.
        let oldest = slot
            .value
            .with_mut(|p| unsafe { p.replace(MaybeUninit::new(value)).assume_init() });
        // Release: pairs with the Acquire stamp load in `pop`, so the new value is visible
        // to the consumer of position `tail`.
        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
        evicted.set(Some(oldest));
        ControlFlow::Break(Ok(()))
    }
}
