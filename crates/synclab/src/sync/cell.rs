//! An `UnsafeCell` with loom's closure API, for the worlds where loom's own is not used.
//!
//! loom tracks every access to its `UnsafeCell` through `with`/`with_mut`, which bracket the
//! access, and reports a data race when two accesses are not ordered by happens-before. The
//! algorithms use that API everywhere, so in the plain build (and under shuttle, which checks no
//! memory model) this newtype over `core::cell::UnsafeCell` provides the same methods at zero
//! cost — the pattern crossbeam and tokio use.
#![cfg_attr(synclab_loom, allow(dead_code))]

/// A `core::cell::UnsafeCell` with loom's `with` / `with_mut` access API.
#[derive(Default)]
#[repr(transparent)]
pub struct UnsafeCell<T: ?Sized>(core::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    /// Wraps `value`.
    #[inline]
    pub const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Unwraps the value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0.into_inner()
    }
}

impl<T: ?Sized> UnsafeCell<T> {
    /// Calls `f` with a shared pointer to the contents.
    ///
    /// Under loom this access is checked for races against every `with_mut`.
    #[inline]
    pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a mutable pointer to the contents.
    ///
    /// Under loom this access is checked for races against every other access.
    #[inline]
    pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

impl<T: ?Sized> core::fmt::Debug for UnsafeCell<T> {
    /// Reads nothing: the contents may be under concurrent mutation.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("UnsafeCell").finish_non_exhaustive()
    }
}
