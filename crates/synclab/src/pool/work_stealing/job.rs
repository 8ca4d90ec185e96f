//! The work-stealing pool's tasks, each one owning pointer (rayon-core's `job.rs`, its
//! `HeapJob`).
//!
//! A deque slot must be read atomically, so a task travels as a thin pointer to a heap
//! [`Block`] whose first field, the [`Header`], is a function that knows the closure's type
//! ("Tasks are one pointer" on [`WorkStealingPool`](super::WorkStealingPool)).

use core::ptr::NonNull;

use crate::queue::deque::OwnedPointer;

/// The first field of every task block: how to run or drop the closure that follows it.
#[repr(C)]
struct Header {
    /// Runs (`true`) or drops (`false`) the block's closure and frees the block.
    ///
    /// # Safety
    ///
    /// The pointer is a block made by [`Job::new`] for this very function, not yet consumed.
    call: unsafe fn(NonNull<Header>, bool),
}

/// A heap block: the header, then the closure. `repr(C)` puts the header at offset 0, so a
/// pointer to the block is a pointer to its header.
#[repr(C)]
struct Block<F> {
    header: Header,
    f: F,
}

/// A task as one owning pointer to a [`Block`].
pub(super) struct Job(NonNull<Header>);

// SAFETY: a `Job` is built only from `F: Send` closures (`Job::new`), so running or dropping
// it on another thread is sound.
unsafe impl Send for Job {}

impl Job {
    pub(super) fn new<F: FnOnce() + Send + 'static>(f: F) -> Self {
        // SAFETY: `F: 'static` borrows nothing that could go away.
        unsafe { Self::new_borrowed(f) }
    }

    /// A job of a closure that may borrow.
    ///
    /// # Safety
    ///
    /// Everything `f` borrows stays valid until the job has been run or dropped (the contract
    /// of the pools' borrowing submit, `Hooks::submit_borrowed`).
    pub(super) unsafe fn new_borrowed<'a, F: FnOnce() + Send + 'a>(f: F) -> Self {
        /// # Safety
        ///
        /// `header` points to a `Block<F>` made by `Job::new::<F>` and not yet consumed.
        unsafe fn call<F: FnOnce()>(header: NonNull<Header>, run: bool) {
            // SAFETY: by the contract, the block is a live `Block<F>` from `Box::into_raw`
            // (the header is its first field, at offset 0), consumed exactly once here.
            let block = unsafe { Box::from_raw(header.cast::<Block<F>>().as_ptr()) };
            // Move the closure out and free the block first, so a panicking closure leaks
            // nothing.
            let Block { f, .. } = *block;
            if run {
                f();
            }
        }
        let block = Box::new(Block {
            header: Header { call: call::<F> },
            f,
        });
        // SAFETY: `Box::into_raw` is never null.
        Job(unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast())
    }

    /// Runs the task (consuming it).
    pub(super) fn run(self) {
        let header = self.0;
        core::mem::forget(self);
        // SAFETY: `header` is a live block made by `Job::new` (we owned it), and forgetting
        // `self` hands its ownership to `call`, which consumes it once.
        unsafe { ((*header.as_ptr()).call)(header, true) }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: as in `run`: we own the live block; `Drop` consumes it once.
        unsafe { ((*self.0.as_ptr()).call)(self.0, false) }
    }
}

// SAFETY: `into_raw` gives the non-null block pointer and forgets the `Job`; `from_raw`
// rebuilds the same `Job`. `Job: Send`.
unsafe impl OwnedPointer for Job {
    fn into_raw(self) -> *mut () {
        let ptr = self.0.as_ptr().cast();
        core::mem::forget(self);
        ptr
    }
    unsafe fn from_raw(ptr: *mut ()) -> Self {
        // SAFETY: by the caller's contract `ptr` came from `into_raw`, hence is non-null.
        Job(unsafe { NonNull::new_unchecked(ptr.cast()) })
    }
}
