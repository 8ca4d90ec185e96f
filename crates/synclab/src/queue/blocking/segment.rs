//! The blocking queue over an [`ArrayQueue`] in a segment shared by processes: its
//! placement ([`Design`]) — the gates' event counts first, then the queue.

use core::marker::PhantomData;

use super::{BlockingQueue, Gates};
use crate::queue::ArrayQueue;
use crate::shm::{region_end, Cursor, Design, OpenError, Plain, Shm};

// SAFETY: the gates' region (two event-count words: atomics only) sized by `region_end`, then
// the queue's own design, sized and placed by its own `Design` impl.
unsafe impl<T: Plain> Design for BlockingQueue<T, ArrayQueue<T, Shm>> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::queue::BlockingQueue<ArrayQueue>";
    /// 2: the closed flag moved from the gates into the queue's `tail`.
    const VERSION: u32 = 2;

    fn size(offset: usize, capacity: &u64) -> Option<usize> {
        let gates = region_end::<Gates<Shm>, ()>(offset, 0)?;
        <ArrayQueue<T, Shm> as Design>::size(gates, capacity)
    }

    fn build(cursor: &mut Cursor<'_>, capacity: &u64) -> Result<Self, OpenError> {
        // SAFETY: see the impl's SAFETY comment.
        let gates = unsafe { cursor.region(Gates::new, |_| (), 0)? };
        let queue = <ArrayQueue<T, Shm> as Design>::build(cursor, capacity)?;
        Ok(Self {
            queue,
            gates,
            _items: PhantomData,
        })
    }
}
