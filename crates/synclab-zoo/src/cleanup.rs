//! Dropping the elements of a container the way `Vec` does: the zoo's own copy of the
//! library's crate-private helper (the broken arrays drop their slots as `LockFreeArray`
//! does; one small function is cheaper than a public item in the library for them).
//!
//! A container that owns its elements in cells (the broken arrays' `MaybeUninit`s) must drop
//! them by hand. A plain loop stops at the first element whose
//! `Drop` panics, leaking the rest; `Vec` (through the slice's drop glue) drops every element
//! and then propagates the first panic, and a second panic while it is unwinding aborts, as
//! any panic in a destructor during unwinding does. [`drop_each`] keeps the same contract.

use core::ops::Range;

/// Calls `drop_one(i)` for every `i` in `range`, in order. If one call panics, the calls for
/// the indices after it still run (from a guard, while unwinding), and the panic then
/// propagates; if a second call panics during that unwinding, the process aborts — both as
/// for `Vec`.
pub(crate) fn drop_each(range: Range<usize>, mut drop_one: impl FnMut(usize)) {
    /// The indices still to drop; dropping the guard drops them.
    struct Rest<'a, F: FnMut(usize)> {
        next: usize,
        end: usize,
        drop_one: &'a mut F,
    }

    impl<F: FnMut(usize)> Drop for Rest<'_, F> {
        /// Empty after a normal loop; after a panic in `drop_one`, drops what is left.
        fn drop(&mut self) {
            while self.next < self.end {
                let i = self.next;
                self.next += 1;
                (self.drop_one)(i);
            }
        }
    }

    let mut rest = Rest {
        next: range.start,
        end: range.end,
        drop_one: &mut drop_one,
    };
    while rest.next < rest.end {
        let i = rest.next;
        // Advanced first: if `drop_one(i)` panics, the guard resumes at `i + 1`.
        rest.next += 1;
        (rest.drop_one)(i);
    }
}
