//! What a segment adds to the shared arrays: each design as a [`Design`] that
//! [`Shared`](crate::shm::Shared) places in a segment of its own, its slots in the segment's
//! data area. Only plain values ([`Plain`]) may live there.

use core::time::Duration;

use super::condvar::{LockedSlot, Monitor};
use super::laned::LaneTable;
use super::slot::{Padded, Slot, RUN_TO_END};
use super::SharedArray;
use super::{CondvarArray, IndexError, LanedArray, LenError, LockFreeArray, PublishError};
use crate::lock::{LockFamily, RobustFamily};
use crate::shm::{region_end, Cursor, Design, OpenError, Plain, Shm};
use crate::sync::time::Instant;

/// A slot count from a segment's parameters, as a `usize`.
fn slot_count(len: u64) -> Result<usize, OpenError> {
    usize::try_from(len).map_err(|_| OpenError::BadParams {
        reason: format!("{len} slots do not fit in this address space"),
    })
}

// SAFETY: `size` is the one region `build` places; a slot (a state word and an
// `UnsafeCell<MaybeUninit<T>>` of plain `T`) is fit for shared memory: no pointers, nothing to
// drop, valid for any bytes (the value is read only after READY).
unsafe impl<T: Plain> Design for LockFreeArray<T, Shm> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::array::LockFreeArray";
    /// 2: slots padded to a cache line (1: packed), so a segment made by version 1 is refused.
    const VERSION: u32 = 2;

    fn size(offset: usize, len: &u64) -> Option<usize> {
        region_end::<(), Padded<T>>(offset, usize::try_from(*len).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, len: &u64) -> Result<Self, OpenError> {
        let len = slot_count(*len)?;
        // SAFETY: see the impl's SAFETY comment.
        let slots = unsafe { cursor.region(|| (), |_| Padded(Slot::new()), len)? };
        Ok(Self::from_region(slots))
    }
}

/// In a segment: placed by [`Shared::create`](crate::shm::Shared::create), so `with_len`
/// reports [`LenError::SegmentOnly`]; a `wait` for a slot whose publisher died waits for a
/// survivor to publish it ([`LockFreeArray::wait_checked`] reports the death instead).
impl<T: Plain> SharedArray<T> for LockFreeArray<T, Shm> {
    fn with_len(_: usize) -> Result<Self, LenError> {
        Err(LenError::SegmentOnly)
    }

    lock_free_array_ops!();
}

// SAFETY: `size` is the one region `build` places (the lane table, then packed slots); the
// lane table is a count and atomic words, a slot as above: no pointers, nothing to drop, valid
// for any bytes (a lane count a peer corrupted finds no owner word rather than a wrong one).
unsafe impl<T: Plain> Design for LanedArray<T, Shm> {
    /// `[slots, lanes]`.
    type Params = [u64; 2];
    const LAYOUT: &'static str = "synclab::array::LanedArray";
    const VERSION: u32 = 1;

    fn size(offset: usize, params: &[u64; 2]) -> Option<usize> {
        region_end::<LaneTable, Slot<T>>(offset, usize::try_from(params[0]).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, params: &[u64; 2]) -> Result<Self, OpenError> {
        let len = slot_count(params[0])?;
        // A count beyond usize is refused by `LaneTable::new` like any other bad count.
        let table =
            LaneTable::new(usize::try_from(params[1]).unwrap_or(usize::MAX)).map_err(|e| {
                OpenError::BadParams {
                    reason: e.to_string(),
                }
            })?;
        // SAFETY: see the impl's SAFETY comment.
        let slots = unsafe { cursor.region(|| table, |_| Slot::new(), len)? };
        Ok(Self::from_region(slots))
    }
}

// SAFETY: one region sized by `region_end` for the same types. The monitor is the robust pair
// (lock words, condvar counters, a `usize` under the lock); a slot is a word and an
// `UnsafeCell<MaybeUninit<T>>` of plain `T`: no pointers, nothing to drop, valid for any bytes
// a dying peer left (see `CondvarArray` for why the state stays consistent).
unsafe impl<T: Plain> Design for CondvarArray<T, RobustFamily<Shm>, Shm> {
    type Params = u64;
    const LAYOUT: &'static str = "synclab::array::CondvarArray<robust>";
    const VERSION: u32 = 1;

    fn size(offset: usize, len: &u64) -> Option<usize> {
        region_end::<Monitor<RobustFamily<Shm>>, LockedSlot<T>>(offset, usize::try_from(*len).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, len: &u64) -> Result<Self, OpenError> {
        let len = slot_count(*len)?;
        // SAFETY: see the impl's SAFETY comment.
        let state = unsafe {
            cursor.region(
                || Monitor {
                    sleepers: RobustFamily::<Shm>::mutex(0),
                    published: RobustFamily::<Shm>::condvar(),
                },
                LockedSlot::empty,
                len,
            )?
        };
        Ok(Self::from_region(state))
    }
}

/// In a segment: placed by [`Shared::create`](crate::shm::Shared::create), so `with_len`
/// reports [`LenError::SegmentOnly`]; the robust lock takes over from a holder that died.
impl<T: Plain> SharedArray<T> for CondvarArray<T, RobustFamily<Shm>, Shm> {
    fn with_len(_: usize) -> Result<Self, LenError> {
        Err(LenError::SegmentOnly)
    }

    condvar_array_ops!();
}
