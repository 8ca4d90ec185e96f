//! A design of "our own", checked with synclab's harness: a bounded single-producer
//! single-consumer ring whose ends sleep on a futex when it is full or empty.
//!
//! This crate is the example of `docs/own-designs.md`. Everything that is shared between
//! threads comes from [`synclab::sync`] — atomics, the cell, the futex — so the same source
//! runs on real threads and, built with `--cfg synclab_loom` or `--cfg synclab_shuttle`,
//! under the checkers (see `tests/ring.rs`).
//!
//! # The design
//!
//! `head` (the next position to pop) and `tail` (the next to push) are free-running `u32`
//! positions; slot `p % capacity` belongs to the producer while `tail - head < capacity`
//! says it is free, and to the consumer once `tail` has passed it.
//!
//! | word | written by | Release store publishes | read with Acquire by |
//! |---|---|---|---|
//! | `tail` | the producer, after writing the slot | the slot's value | the consumer, before reading the slot |
//! | `head` | the consumer, after taking the slot | that the slot is free again | the producer, before writing the slot |
//!
//! A side that must wait sleeps with `futex::wait(word, seen)` on the other side's word, and
//! every store of a word is followed by `futex::wake_one` on it: the futex's
//! compare-and-block is atomic with respect to the wake, so a store that lands before the
//! sleep makes the compare fail, and one that lands after is followed by a wake that finds
//! the sleeper. `wait` may return spuriously, so each side re-checks in a loop — the broken
//! [`Consumer::pop_without_recheck`] does not, and the models catch it.
//!
//! Progress: blocking (each side sleeps while it cannot proceed); wait-free otherwise.

use core::fmt;

use synclab::sync::atomic::{AtomicU32, Ordering};
use synclab::sync::{futex, Arc, UnsafeCell};

struct Ring<T> {
    /// `slots[p % capacity]` holds the value of position `p` while `head <= p < tail`.
    slots: Box<[UnsafeCell<Option<T>>]>,
    /// The next position to pop; written only by the consumer.
    head: AtomicU32,
    /// The next position to push; written only by the producer.
    tail: AtomicU32,
}

// SAFETY: the ring moves `T`s from the producer's thread to the consumer's; each slot is
// accessed by one side at a time, handed over by the Release/Acquire pairs on `head` and
// `tail` (see the table in the module docs).
unsafe impl<T: Send> Sync for Ring<T> {}
// SAFETY: as above: moving the ring moves the `T`s it holds.
unsafe impl<T: Send> Send for Ring<T> {}

impl<T> Ring<T> {
    fn capacity(&self) -> u32 {
        self.slots.len() as u32
    }

    fn slot(&self, position: u32) -> &UnsafeCell<Option<T>> {
        &self.slots[(position % self.capacity()) as usize]
    }
}

/// The ring was asked for capacity 0 (or more than `u32::MAX / 2` slots).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapacityError {
    /// The capacity asked for.
    pub requested: usize,
}

impl fmt::Display for CapacityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "an SPSC ring needs 1 to {} slots, got {}",
            u32::MAX / 2,
            self.requested
        )
    }
}

impl std::error::Error for CapacityError {}

/// A ring of `capacity` slots, split into its two ends.
///
/// ```
/// let (mut tx, mut rx) = own_design::ring::<u32>(2)?;
/// let producer = std::thread::spawn(move || (1..=5).for_each(|v| tx.push(v)));
/// let got: Vec<u32> = (0..5).map(|_| rx.pop()).collect();
/// assert_eq!(got, [1, 2, 3, 4, 5]);
/// producer.join().unwrap();
/// # Ok::<(), own_design::CapacityError>(())
/// ```
///
/// # Errors
///
/// [`CapacityError`] for 0 or more than `u32::MAX / 2` slots.
pub fn ring<T: Send>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    if capacity == 0 || capacity > (u32::MAX / 2) as usize {
        return Err(CapacityError {
            requested: capacity,
        });
    }
    let ring = Arc::new(Ring {
        slots: (0..capacity).map(|_| UnsafeCell::new(None)).collect(),
        head: AtomicU32::new(0),
        tail: AtomicU32::new(0),
    });
    // Names for the checkers' counterexamples (`head` and `tail` are named after their fields
    // already; cells made in a closure are not). No effect in the plain build.
    for (i, slot) in ring.slots.iter().enumerate() {
        synclab::sync::trace::label(slot, format_args!("slot[{i}]"));
    }
    Ok((
        Producer {
            ring: Arc::clone(&ring),
        },
        Consumer { ring },
    ))
}

/// The pushing end (one thread at a time: `push` takes `&mut self`).
pub struct Producer<T> {
    ring: Arc<Ring<T>>,
}

/// The popping end (one thread at a time: `pop` takes `&mut self`).
pub struct Consumer<T> {
    ring: Arc<Ring<T>>,
}

impl<T> Producer<T> {
    /// Appends `value`, sleeping while the ring is full.
    pub fn push(&mut self, value: T) {
        let ring = &*self.ring;
        // Relaxed: only this thread writes `tail`.
        let tail = ring.tail.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the consumer's Release store of `head`, so its take of the
            // slot happens before our write below.
            let head = ring.head.load(Ordering::Acquire);
            if tail.wrapping_sub(head) < ring.capacity() {
                break;
            }
            futex::wait(&ring.head, head); // may return spuriously: the loop re-checks
        }
        // SAFETY: `tail - head < capacity`, so the slot of `tail` is free (its previous value
        // was taken before the `head` store we acquired) and only the producer — us, by
        // `&mut self` — writes it until the store of `tail + 1` below hands it on.
        ring.slot(tail)
            .with_mut(|slot| unsafe { *slot = Some(value) });
        // Release: pairs with the consumer's Acquire load of `tail`: the value is visible.
        ring.tail.store(tail.wrapping_add(1), Ordering::Release);
        futex::wake_one(&ring.tail);
    }
}

impl<T> Consumer<T> {
    /// Removes the oldest value, sleeping while the ring is empty.
    pub fn pop(&mut self) -> T {
        let ring = &*self.ring;
        // Relaxed: only this thread writes `head`.
        let head = ring.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the producer's Release store of `tail`.
            let tail = ring.tail.load(Ordering::Acquire);
            if tail != head {
                break;
            }
            futex::wait(&ring.tail, tail); // may return spuriously: the loop re-checks
        }
        self.take(head)
            .expect("a published slot holds a value (tail passed it)")
    }

    /// **Broken on purpose** (the variant `tests/ring.rs` expects the checkers to catch):
    /// sleeps at most once and does not re-check, so a spurious return of `futex::wait`
    /// — which the futex models explore — sends it on to read a slot that may not be
    /// written yet. Returns `None` when it read an empty slot.
    ///
    /// # Safety
    ///
    /// May only run under a model checker (`--cfg synclab_loom` or `--cfg synclab_shuttle`):
    /// on real threads its read of the slot can race with the producer's write, which is
    /// undefined behaviour.
    pub unsafe fn pop_without_recheck(&mut self) -> Option<T> {
        let ring = &*self.ring;
        let head = ring.head.load(Ordering::Relaxed);
        // Acquire: as in `pop`.
        let tail = ring.tail.load(Ordering::Acquire);
        if tail == head {
            futex::wait(&ring.tail, tail); // the bug: no loop, no re-check
        }
        self.take(head)
    }

    /// Takes the value of position `head` and frees its slot.
    fn take(&mut self, head: u32) -> Option<T> {
        let ring = &*self.ring;
        // SAFETY: in `pop`, `tail` (acquired) has passed `head`, so the producer wrote the
        // slot and will not touch it until our store of `head + 1` below; only the consumer
        // — us, by `&mut self` — reads it. (`pop_without_recheck` breaks exactly this, which
        // is why it is `unsafe`.)
        let value = ring.slot(head).with_mut(|slot| unsafe { (*slot).take() });
        // Release: pairs with the producer's Acquire load of `head`: our take is done before
        // it writes the slot again.
        ring.head.store(head.wrapping_add(1), Ordering::Release);
        futex::wake_one(&ring.head);
        value
    }
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer").finish_non_exhaustive()
    }
}
