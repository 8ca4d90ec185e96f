//! The duplex ring in a segment shared by processes: its placement ([`Design`]).

use super::{Duplex, Ends, Pair};
use crate::queue::CapacityError;
use crate::shm::{region_end, Cursor, Design, OpenError, Plain, Shm};

// SAFETY: `size` is the one region `build` places (the ends' words, then the pairs); the ends
// are atomic words, a pair two stamps, two receipts and two `UnsafeCell<MaybeUninit<T>>` of
// plain `T`: no pointers, nothing to drop, valid for any bytes (a value is read only after its
// stamp, and a stamp, receipt or record a dead peer left wrong yields wrong plain values, never
// undefined behaviour: every index is reduced modulo the capacity, and a receipt is only
// compared).
unsafe impl<T: Plain> Design for Duplex<T, Shm> {
    /// Slots per direction.
    type Params = u64;
    const LAYOUT: &'static str = "synclab::queue::Duplex";
    const VERSION: u32 = 2;

    fn size(offset: usize, capacity: &u64) -> Option<usize> {
        region_end::<Ends, Pair<T>>(offset, usize::try_from(*capacity).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, capacity: &u64) -> Result<Self, OpenError> {
        let capacity = CapacityError::check(usize::try_from(*capacity).unwrap_or(usize::MAX))
            .map_err(|e| OpenError::BadParams {
                reason: e.to_string(),
            })?;
        // SAFETY: see the impl's SAFETY comment.
        let ring = unsafe { cursor.region(Ends::new, |_| Pair::new(), capacity)? };
        Ok(Self { ring })
    }
}
