//! An `UnsafeCell` with loom's closure API, in every world.
//!
//! loom tracks every access to its `UnsafeCell` through `with`/`with_mut`, which bracket the
//! access, and reports a data race when two accesses are not ordered by happens-before. The
//! algorithms use that API everywhere, so in the plain build (and under shuttle, which checks no
//! memory model) this newtype over `core::cell::UnsafeCell` provides the same methods at zero
//! cost — the pattern crossbeam and tokio use. Under loom it wraps loom's cell.
//!
//! Under either checker each access is also recorded in the execution's trace (a read for
//! `with`, a write for `with_mut`) *before* it is made: loom reports a race by panicking inside
//! the racing access, and the trace must show that access.

#[cfg(any(synclab_loom, synclab_shuttle))]
use super::trace::recorder::{Kind, Op, Origin, Step};

#[cfg(not(synclab_loom))]
type Inner<T> = core::cell::UnsafeCell<T>;
#[cfg(synclab_loom)]
type Inner<T> = super::world::RawUnsafeCell<T>;

/// A `core::cell::UnsafeCell` with loom's `with` / `with_mut` access API (loom's own cell, with
/// each access recorded, under `--cfg synclab_loom`).
#[cfg_attr(not(any(synclab_loom, synclab_shuttle)), derive(Default))]
#[cfg_attr(not(any(synclab_loom, synclab_shuttle)), repr(transparent))]
pub struct UnsafeCell<T: ?Sized> {
    #[cfg(any(synclab_loom, synclab_shuttle))]
    origin: Option<Origin>,
    inner: Inner<T>,
}

impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[cfg(not(any(synclab_loom, synclab_shuttle)))]
    #[inline]
    pub const fn new(value: T) -> Self {
        Self {
            inner: Inner::new(value),
        }
    }

    /// Wraps `value`.
    #[cfg(any(synclab_loom, synclab_shuttle))]
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self {
            origin: Some(Origin::here()),
            inner: Inner::new(value),
        }
    }

    /// Unwraps the value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.inner.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Calls `f` with a shared pointer to the contents.
    ///
    /// Under loom this access is checked for races against every `with_mut`.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        #[cfg(any(synclab_loom, synclab_shuttle))]
        self.record(Op::CellRead);
        #[cfg(synclab_loom)]
        return self.inner.with(f);
        #[cfg(not(synclab_loom))]
        f(self.inner.get())
    }

    /// Calls `f` with a mutable pointer to the contents.
    ///
    /// Under loom this access is checked for races against every other access.
    #[inline]
    #[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(any(synclab_loom, synclab_shuttle))]
        self.record(Op::CellWrite);
        #[cfg(synclab_loom)]
        return self.inner.with_mut(f);
        #[cfg(not(synclab_loom))]
        f(self.inner.get())
    }

    #[cfg(any(synclab_loom, synclab_shuttle))]
    #[track_caller]
    fn record(&self, op: Op) {
        let addr = (self as *const Self).cast::<()>() as usize;
        Step::new(op)
            .on(addr, Kind::Cell, self.origin)
            .record(core::panic::Location::caller());
    }
}

#[cfg(any(synclab_loom, synclab_shuttle))]
impl<T: Default> Default for UnsafeCell<T> {
    #[track_caller]
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T: ?Sized> core::fmt::Debug for UnsafeCell<T> {
    /// Reads nothing: the contents may be under concurrent mutation.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnsafeCell").finish_non_exhaustive()
    }
}
