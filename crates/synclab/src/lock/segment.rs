//! What a segment adds to the locks: the robust mutex and the condvar as [`Placeable`] designs,
//! so that `Shared<InSegment<RobustMutex<T, Shm>>>` places one in a segment of its own.

use super::{Condvar, Mutex, RawRobustMutex};
use crate::shm::{Placeable, Plain, Shm};

// SAFETY: the mutex is a lock word and an `UnsafeCell` of plain `T`: no pointers, nothing to
// drop, valid for any bytes a dying holder left.
unsafe impl<T: Plain> Placeable for Mutex<T, RawRobustMutex<Shm>> {
    type Params = T;
    const LAYOUT: &'static str = "synclab::lock::RobustMutex";
    const VERSION: u32 = 1;

    fn init(value: &T) -> Self {
        Mutex::new(*value)
    }
}

// SAFETY: two counters, no pointers, nothing to drop.
unsafe impl Placeable for Condvar<Shm> {
    type Params = u8;
    const LAYOUT: &'static str = "synclab::lock::Condvar";
    const VERSION: u32 = 1;

    fn init(_: &u8) -> Self {
        Self::new_in()
    }
}
