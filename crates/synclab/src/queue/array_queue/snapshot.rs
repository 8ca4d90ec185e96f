//! A consistent look at `head` and `tail` together: the queue's length, emptiness and
//! fullness as answers at one point of the SeqCst order (see "Memory ordering" on
//! [`ArrayQueue`]).

use super::ArrayQueue;
use crate::shm::Memory;
use crate::sync::atomic::Ordering;

impl<T, M: Memory> ArrayQueue<T, M> {
    /// A consistent `(tail, head)` pair (`tail` without the mark): both held at one point of
    /// the SeqCst total order, between the call's start and its end.
    ///
    /// Read `tail`, `head`, `tail` again, and retry until the two reads of `tail` agree.
    /// Positions only grow (modulo wrap-around), so equal reads mean `tail` did not move
    /// between them, and the pair held when `head` was read.
    #[inline]
    fn snapshot(&self) -> (usize, usize) {
        // Acquire, not SeqCst: the value we return is the second read's, which is SeqCst. This
        // read only has to be no newer than `head`'s point in the total order: it reads a
        // SeqCst (hence Release) CAS, so that CAS happens before our `head` load and precedes
        // it in the total order. (The ordering-mutation audit showed SeqCst here equivalent.)
        let mut tail = self.ends().tail.load(Ordering::Acquire);
        loop {
            // SeqCst: the `head` and second `tail` reads take part in the total order of the
            // CASes on `head` and `tail`, so "empty", "full" and a length are answers at one
            // point of that order — also against SeqCst operations on other objects (the
            // store-buffering witnesses in `tests/miri.rs` check this).
            let head = self.ends().head.load(Ordering::SeqCst);
            let again = self.ends().tail.load(Ordering::SeqCst);
            if again == tail {
                return (tail & !self.mark_bit, head);
            }
            tail = again;
        }
    }

    /// The number of items at some moment during the call.
    pub(crate) fn len(&self) -> usize {
        let (tail, head) = self.snapshot();
        let hix = head & (self.mark_bit - 1);
        let tix = tail & (self.mark_bit - 1);
        let len = if hix < tix {
            tix - hix
        } else if hix > tix {
            // Wrapping: in tracked memory an index a peer wrote may exceed the capacity.
            self.capacity().wrapping_sub(hix).wrapping_add(tix)
        } else if tail == head {
            0
        } else {
            self.capacity()
        };
        if M::TRACKED {
            len.min(self.capacity())
        } else {
            len
        }
    }

    /// Whether the queue was empty at some moment during the call.
    pub(crate) fn is_empty(&self) -> bool {
        let (tail, head) = self.snapshot();
        tail == head
    }

    /// Whether the queue was full at some moment during the call.
    pub(crate) fn is_full(&self) -> bool {
        let (tail, head) = self.snapshot();
        head.wrapping_add(self.one_lap) == tail
    }

    /// Whether `tail == head` in one Relaxed read of each: a look at the queue for a caller
    /// that orders it with its own `fence(SeqCst)` (the pool's hand-off between searching
    /// workers and submitters), where `is_empty`'s SeqCst snapshot would be redundant. Without
    /// such a fence the answer may be stale. Relaxed: the caller's fence carries the order;
    /// nothing is read through these loads.
    pub(crate) fn looks_empty(&self) -> bool {
        let tail = self.ends().tail.load(Ordering::Relaxed) & !self.mark_bit;
        self.ends().head.load(Ordering::Relaxed) == tail
    }
}
