//! The work-stealing pool's tasks, each one pointer (rayon-core's `job.rs`: its `HeapJob`
//! and its `StackJob`).
//!
//! A deque slot must be read atomically, so a task travels as a thin pointer to a block whose
//! first field, the [`Header`], is a function that knows the closure's type ("Tasks are one
//! pointer" on [`WorkStealingPool`](super::WorkStealingPool)). The block is either
//!
//! * a heap [`Block`] that the [`Job`] owns (a submitted task): running or dropping the job
//!   frees it; or
//! * a [`StackJob`] in the frame of a `join` (its second half): the job only points to it,
//!   whoever runs it writes the result into the frame and sets the frame's [`Latch`], and
//!   the owner does not leave the frame before the latch is set or it has taken the job back
//!   from its deque. No allocation.

use core::ptr::NonNull;

use super::latch::Latch;
use crate::pool::panics::PanicPayload;
use crate::queue::deque::OwnedPointer;
use crate::queue::EventCount;
use crate::sync::UnsafeCell;

/// The first field of every task block: how to run or drop the closure that follows it.
#[repr(C)]
pub(super) struct Header {
    /// Runs (`true`) or drops (`false`) the block's closure, and frees a heap block or sets
    /// a stack job's latch.
    ///
    /// # Safety
    ///
    /// The pointer is a block made for this very function ([`Job::new_borrowed`] or
    /// [`StackJob::as_job`]), not yet consumed.
    call: unsafe fn(NonNull<Header>, bool),
    /// Whether the block is a [`StackJob`] (a `join`'s second half) rather than a submitted
    /// task: a thief steals such a job alone (see `Shared::steal_from`).
    join_half: bool,
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
            header: Header {
                call: call::<F>,
                join_half: false,
            },
            f,
        });
        // SAFETY: `Box::into_raw` is never null.
        Job(unsafe { NonNull::new_unchecked(Box::into_raw(block)) }.cast())
    }

    /// The block's address: how `join` recognises its own stack job when it pops it back.
    #[inline]
    pub(super) fn addr(&self) -> *const Header {
        self.0.as_ptr()
    }

    /// Whether this is a `join`'s second half (a [`StackJob`]).
    #[inline]
    pub(super) fn is_join_half(&self) -> bool {
        // SAFETY: the block is live while we own the job (`Job::new_borrowed` or
        // `StackJob::as_job`), and its header is never written after it was made.
        unsafe { (*self.0.as_ptr()).join_half }
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

/// What a stack job's closure left: nothing yet (or it was dropped unrun), its value, or the
/// payload of its panic.
pub(super) enum JobResult<R> {
    /// Not run (yet): the owner runs the closure itself.
    None,
    /// The closure returned.
    Ok(R),
    /// The closure panicked.
    Panic(PanicPayload),
}

/// `join`'s second half, in the `join`'s own frame (rayon's `StackJob`): the closure, the cell
/// its result goes to, and the latch the owner waits on. `repr(C)` puts the header first, so
/// a pointer to the job is a pointer to its header.
///
/// The closure receives whether it runs on another thread than the `join`'s owner (it was
/// stolen): the data-parallel helpers split further when it did.
#[repr(C)]
pub(super) struct StackJob<'p, F, R> {
    header: Header,
    latch: Latch,
    /// The owner's own event count in the pool, where it sleeps while it waits (see
    /// `latch.rs`): read before the latch is set (the job is gone after), and alive as long as
    /// any worker of the pool runs.
    park: &'p EventCount,
    /// The closure until someone takes it to run it.
    func: UnsafeCell<Option<F>>,
    /// Written once, by whoever runs the closure, before the latch is set.
    result: UnsafeCell<JobResult<R>>,
}

impl<'p, F: FnOnce(bool) -> R + Send, R: Send> StackJob<'p, F, R> {
    pub(super) fn new(func: F, park: &'p EventCount) -> Self {
        Self {
            header: Header {
                call: Self::execute,
                join_half: true,
            },
            latch: Latch::new(),
            park,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(JobResult::None),
        }
    }

    /// A [`Job`] that points to this stack job (it owns nothing).
    ///
    /// # Safety
    ///
    /// The job must not outlive this frame: the caller pushes it where only this pool's
    /// workers take it (they run it, which sets the latch, or the owner takes it back with
    /// [`Job::addr`] and forgets it), and does not leave the frame before [`probe`](Self::probe)
    /// says the latch is set or it has taken the job back. The closure may borrow the caller's
    /// frame for the same reason.
    #[inline]
    pub(super) unsafe fn as_job(&self) -> Job {
        // From the whole job, not its header: whoever runs it reaches every field through
        // this pointer (the closure and result cells, the latch).
        Job(NonNull::from(self).cast())
    }

    /// The address its [`Job`] carries: how the owner recognises the job when it pops it back.
    #[inline]
    pub(super) fn addr(&self) -> *const Header {
        &self.header
    }

    /// Whether the job has finished elsewhere (or was dropped unrun): its result is final.
    #[inline]
    pub(super) fn probe(&self) -> bool {
        self.latch.probe()
    }

    /// The latch, for the owner's announcements while it sleeps.
    #[inline]
    pub(super) fn latch(&self) -> &Latch {
        &self.latch
    }

    /// The owner runs the closure itself (it took the job back, or the job was dropped
    /// unrun). A panic unwinds to the caller.
    #[inline]
    pub(super) fn run_inline(&self) -> R {
        // SAFETY: the owner calls this only when nobody else can reach the job (it popped the
        // job back, or the latch is set — `probe` acquired the setter's writes).
        let func = self.func.with_mut(|f| unsafe { (*f).take() });
        func.expect("a stack job's closure is taken once")(false)
    }

    /// The result, once [`probe`](Self::probe) said the latch is set.
    #[inline]
    pub(super) fn take_result(&self) -> JobResult<R> {
        // SAFETY: `probe` returned true (the caller's contract), so the setter's write
        // happened before this read (the latch's Release/Acquire) and nobody writes again.
        self.result
            .with_mut(|r| unsafe { core::mem::replace(&mut *r, JobResult::None) })
    }

    /// `Header::call` for a stack job: runs the closure (on a thief), catching a panic, writes
    /// the result, sets the latch and wakes a sleeping owner; dropped unrun (`run == false`,
    /// which no path takes while a `join` waits), it only sets the latch, and the owner runs
    /// the closure itself.
    ///
    /// # Safety
    ///
    /// `header` points to a live `StackJob<F, R>` whose job has not been consumed.
    unsafe fn execute(header: NonNull<Header>, run: bool) {
        let this = header.as_ptr().cast::<Self>().cast_const();
        if run {
            // SAFETY: the job is live until its latch is set (the contract of `as_job`).
            let outcome = unsafe { Self::call_closure(this) };
            // SAFETY: as above; we are the only one to write the cell, and the owner reads it
            // only after the latch is set below.
            unsafe { (*this).result.with_mut(|r| *r = outcome) };
        }
        // Everything the wake-up needs is read before the latch is set: after that the owner
        // may leave the frame that holds the job.
        // SAFETY: the job is live (as above).
        let park: &EventCount = unsafe { (*this).park };
        // SAFETY: the job is live until this call; we touch it no more.
        if unsafe { Latch::set(core::ptr::addr_of!((*this).latch)) } {
            // The owner announced that it sleeps on its park: it is the park's only waiter.
            park.notify_one();
        }
    }

    /// Takes the closure out and runs it, catching a panic. A frame of its own, which returns
    /// before the latch is set: nothing that holds the closure's borrows as an argument is
    /// alive when the owner may use the borrowed data again (the reason `scope`'s tasks keep
    /// their closures in `MaybeUninit`).
    ///
    /// # Safety
    ///
    /// `this` is live, its closure not yet taken by anyone else.
    unsafe fn call_closure(this: *const Self) -> JobResult<R> {
        // SAFETY: live (the contract); only the runner takes the closure.
        let func = unsafe { (*this).func.with_mut(|f| (*f).take()) };
        let func = func.expect("a stack job's closure is taken once");
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || func(true))) {
            Ok(value) => JobResult::Ok(value),
            Err(payload) => JobResult::Panic(payload),
        }
    }
}
