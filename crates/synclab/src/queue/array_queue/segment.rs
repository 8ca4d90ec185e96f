//! The queue in a segment shared by processes: its placement ([`Design`]), and its
//! [`MpmcQueue`] face (the same operations; no constructor outside a segment).

use super::{ArrayQueue, Ends, Slot};
use crate::queue::{CapacityError, MpmcQueue};
use crate::shm::{region_end, Cursor, Design, OpenError, Plain, Shm};

// SAFETY: one region, sized by `region_end` for the same types; `Ends` is atomics, a slot is
// a stamp and an `UnsafeCell<MaybeUninit<T>>` of plain `T`: no pointers, nothing to drop,
// valid for any bytes (a value is read only after its stamp says full).
unsafe impl<T: Plain> Design for ArrayQueue<T, Shm> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::queue::ArrayQueue";
    /// 2: `tail` carries the closed mark, so the lap unit doubled.
    const VERSION: u32 = 2;

    fn size(offset: usize, capacity: &u64) -> Option<usize> {
        region_end::<Ends, Slot<T>>(offset, usize::try_from(*capacity).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, capacity: &u64) -> Result<Self, OpenError> {
        let capacity = usize::try_from(*capacity).unwrap_or(usize::MAX);
        let (mark_bit, one_lap) =
            Self::check_capacity(capacity).map_err(|e| OpenError::BadParams {
                reason: e.to_string(),
            })?;
        // SAFETY: see the impl's SAFETY comment.
        let ring = unsafe { cursor.region(Ends::new, Slot::empty, capacity)? };
        Ok(Self {
            ring,
            mark_bit,
            one_lap,
        })
    }
}

impl<T: Plain> MpmcQueue<T> for ArrayQueue<T, Shm> {
    type Memory = Shm;

    /// A queue in a segment is placed by [`Shared::create`](crate::shm::Shared::create), not
    /// here: this reports that no capacity fits outside a segment (`max: 0`).
    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        Err(CapacityError::TooLarge {
            requested: capacity,
            max: 0,
        })
    }

    mpmc_queue_ops!();
}
