//! The checkers' world as designs see it: loom's or shuttle's primitives, each step recorded.
//!
//! Under `--cfg synclab_loom` and `--cfg synclab_shuttle` the items of [`crate::sync`] come from
//! here. Each type wraps the checker's own (`raw` in the world file) and mirrors std's API; every
//! operation first does what the checker's does — so the checker sees exactly the accesses it
//! saw before — and then records the step in the execution's trace ([`super::trace`]). A step
//! is recorded after the checker has performed it (the value read is known then), and before
//! any later scheduling point, so the trace's order is the execution's. A blocking step (a
//! futex sleep, a lock, a condvar wait, a join) also marks its thread as blocked until it
//! returns, which is how a deadlock's sleepers are found.

use core::panic::Location;

use super::trace::recorder::{self, Kind, Op, Origin, Step};
use super::world::{raw_atomic, raw_sync, raw_thread};
use raw_sync::{LockResult, TryLockResult};

/// Atomic types and fences: the checker's, with every access recorded.
pub mod atomic {
    use super::super::world::FutexState;
    use super::*;
    pub use raw_atomic::Ordering;

    /// How a value is written into a trace.
    pub(crate) trait Value: Copy {
        const KIND: Kind;
        fn bits(self) -> u64;
    }

    macro_rules! value {
        ($($t:ty => $kind:ident),*) => {$(
            impl Value for $t {
                const KIND: Kind = Kind::$kind;
                #[allow(clippy::cast_sign_loss, clippy::cast_lossless, trivial_numeric_casts)]
                fn bits(self) -> u64 {
                    self as u64
                }
            }
        )*};
    }
    value!(u32 => Unsigned, u64 => Unsigned, usize => Unsigned, i32 => Signed, i64 => Signed);

    impl Value for bool {
        const KIND: Kind = Kind::Bool;
        fn bits(self) -> u64 {
            u64::from(self)
        }
    }

    impl<T> Value for *mut T {
        const KIND: Kind = Kind::Pointer;
        fn bits(self) -> u64 {
            self as usize as u64
        }
    }

    /// A fence, recorded.
    #[track_caller]
    pub fn fence(order: Ordering) {
        raw_atomic::fence(order);
        Step::new(Op::Fence).order(order).record(Location::caller());
    }

    /// One atomic type: the checker's (`raw`), where it was made (to name it in traces), and
    /// the futex model's wait queue for the `AtomicU32` (nothing for the others).
    macro_rules! atomic {
        ($(#[$doc:meta])* $name:ident $([$g:ident])?, $value:ty, $raw:ty, $extra:ty) => {
            $(#[$doc])*
            pub struct $name $(<$g>)? {
                raw: $raw,
                origin: Origin,
                #[allow(dead_code, reason = "only the AtomicU32 has a futex queue")]
                pub(crate) futex: $extra,
            }

            impl $(<$g>)? $name $(<$g>)? {
                /// A new atomic holding `value`.
                #[track_caller]
                pub fn new(value: $value) -> Self {
                    Self { raw: <$raw>::new(value), origin: Origin::here(), futex: <$extra>::default() }
                }

                /// The checker's own atomic (for the futex model).
                #[allow(dead_code)]
                pub(crate) fn raw(&self) -> &$raw {
                    &self.raw
                }

                /// A step of this atomic, for the trace.
                    pub(crate) fn step(&self, op: Op) -> Step {
                    let addr = (self as *const Self).cast::<()>() as usize;
                    Step::new(op).on(addr, <$value as Value>::KIND, Some(self.origin))
                }

                /// Consumes the atomic, returning its value.
                pub fn into_inner(self) -> $value {
                    self.raw.into_inner()
                }

                /// Loads the value (recorded with the value read).
                #[track_caller]
                pub fn load(&self, order: Ordering) -> $value {
                    let value = self.raw.load(order);
                    self.step(Op::Load).order(order).values(value.bits(), 0, 0).record(Location::caller());
                    value
                }

                /// Stores `value` (recorded).
                #[track_caller]
                pub fn store(&self, value: $value, order: Ordering) {
                    self.raw.store(value, order);
                    self.step(Op::Store).order(order).values(value.bits(), 0, 0).record(Location::caller());
                }

                /// Swaps in `value`, returning the old value (recorded with both).
                #[track_caller]
                pub fn swap(&self, value: $value, order: Ordering) -> $value {
                    let old = self.raw.swap(value, order);
                    self.step(Op::Swap).order(order).values(value.bits(), old.bits(), 0).record(Location::caller());
                    old
                }

                /// Compare-and-swap (recorded with what it read and whether it wrote).
                #[track_caller]
                pub fn compare_exchange(&self, current: $value, new: $value, success: Ordering, failure: Ordering) -> Result<$value, $value> {
                    let result = self.raw.compare_exchange(current, new, success, failure);
                    self.cas(false, current, new, success, failure, result);
                    result
                }

                /// Compare-and-swap that may fail spuriously (recorded like `compare_exchange`).
                #[track_caller]
                pub fn compare_exchange_weak(&self, current: $value, new: $value, success: Ordering, failure: Ordering) -> Result<$value, $value> {
                    let result = self.raw.compare_exchange_weak(current, new, success, failure);
                    self.cas(true, current, new, success, failure, result);
                    result
                }

                #[track_caller]
                fn cas(&self, weak: bool, current: $value, new: $value, success: Ordering, failure: Ordering, result: Result<$value, $value>) {
                    let (ok, read) = match result {
                        Ok(v) => (true, v),
                        Err(v) => (false, v),
                    };
                    self.step(Op::Cas { weak, ok })
                        .orders(success, failure)
                        .values(current.bits(), new.bits(), read.bits())
                        .record(Location::caller());
                }

                /// Applies `f` until it succeeds or declines (recorded once, with the value it
                /// last read and what it wrote).
                #[track_caller]
                pub fn fetch_update<F>(&self, set: Ordering, fetch: Ordering, mut f: F) -> Result<$value, $value>
                where
                    F: FnMut($value) -> Option<$value>,
                {
                    let mut written = None;
                    let result = self.raw.fetch_update(set, fetch, |v| {
                        let next = f(v);
                        written = next;
                        next
                    });
                    let (ok, read) = match result {
                        Ok(v) => (true, v),
                        Err(v) => (false, v),
                    };
                    self.step(Op::FetchUpdate { ok })
                        .orders(set, fetch)
                        .values(read.bits(), written.map_or(0, Value::bits), 0)
                        .record(Location::caller());
                    result
                }
            }

            impl $(<$g>)? Default for $name $(<$g>)? where $value: Default {
                #[track_caller]
                fn default() -> Self {
                    Self::new(<$value>::default())
                }
            }

            impl $(<$g>)? core::fmt::Debug for $name $(<$g>)? {
                /// Reads nothing, so printing is not a scheduling point.
                fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.debug_struct(stringify!($name)).finish_non_exhaustive()
                }
            }

            impl $(<$g>)? From<$value> for $name $(<$g>)? {
                #[track_caller]
                fn from(value: $value) -> Self {
                    Self::new(value)
                }
            }
        };
    }

    /// The read-modify-write operations of the integer (`fetch_add`, `fetch_sub`) and the
    /// integer and boolean (`fetch_or`, `fetch_and`) types.
    macro_rules! rmw {
        ($name:ident, $value:ty, [$($op:ident => $kind:ident),*]) => {
            impl $name {$(
                /// The read-modify-write of the same name (recorded with the operand and the
                /// value read).
                #[track_caller]
                pub fn $op(&self, operand: $value, order: Ordering) -> $value {
                    let old = self.raw.$op(operand, order);
                    self.step(Op::$kind).order(order).values(operand.bits(), old.bits(), 0).record(Location::caller());
                    old
                }
            )*}
        };
    }

    atomic!(
        /// A boolean shared between threads (the checker's, recorded).
        AtomicBool, bool, raw_atomic::AtomicBool, ()
    );
    atomic!(
        /// A 32-bit integer shared between threads, and the word a futex waits on (the
        /// checker's, recorded, with the futex model's wait queue beside it).
        AtomicU32, u32, raw_atomic::AtomicU32, FutexState
    );
    atomic!(
        /// A signed 32-bit integer shared between threads (the checker's, recorded).
        AtomicI32, i32, raw_atomic::AtomicI32, ()
    );
    atomic!(
        /// A 64-bit integer shared between threads (the checker's, recorded).
        AtomicU64, u64, raw_atomic::AtomicU64, ()
    );
    atomic!(
        /// A signed 64-bit integer shared between threads (the checker's, recorded).
        AtomicI64, i64, raw_atomic::AtomicI64, ()
    );
    atomic!(
        /// A pointer-sized integer shared between threads (the checker's, recorded).
        AtomicUsize, usize, raw_atomic::AtomicUsize, ()
    );
    atomic!(
        /// A raw pointer shared between threads (the checker's, recorded).
        AtomicPtr[T], *mut T, raw_atomic::AtomicPtr<T>, ()
    );

    rmw!(AtomicU32, u32, [fetch_add => FetchAdd, fetch_sub => FetchSub, fetch_or => FetchOr, fetch_and => FetchAnd]);
    rmw!(AtomicI32, i32, [fetch_add => FetchAdd, fetch_sub => FetchSub, fetch_or => FetchOr, fetch_and => FetchAnd]);
    rmw!(AtomicU64, u64, [fetch_add => FetchAdd, fetch_sub => FetchSub, fetch_or => FetchOr, fetch_and => FetchAnd]);
    rmw!(AtomicI64, i64, [fetch_add => FetchAdd, fetch_sub => FetchSub, fetch_or => FetchOr, fetch_and => FetchAnd]);
    rmw!(AtomicUsize, usize, [fetch_add => FetchAdd, fetch_sub => FetchSub, fetch_or => FetchOr, fetch_and => FetchAnd]);
    rmw!(AtomicBool, bool, [fetch_or => FetchOr, fetch_and => FetchAnd]);

    // SAFETY: as the checker's own `AtomicPtr<T>`, which is `Send + Sync` for every `T`: the
    // pointer is only a value here; dereferencing it is the caller's business.
    unsafe impl<T> Send for AtomicPtr<T> {}
    // SAFETY: as above.
    unsafe impl<T> Sync for AtomicPtr<T> {}
}

/// Threads: the checker's, with spawn, join and sleep recorded.
pub mod thread {
    use super::*;
    pub use {
        super::super::world::raw_root::thread_local,
        raw_thread::{current, park, yield_now, Thread},
        std::thread::panicking,
    };

    /// Spawns a model thread (recorded, with the child's trace index).
    #[track_caller]
    pub fn spawn<F, T>(f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let event = Step::new(Op::Spawn).record(Location::caller());
        let inner = raw_thread::spawn(f);
        let child = if recorder::on() {
            recorder::thread_index(inner.thread().id())
        } else {
            0
        };
        recorder::patch(event, 0, child as u64);
        JoinHandle { inner, child }
    }

    /// A model thread to join (recorded when joined).
    #[derive(Debug)]
    pub struct JoinHandle<T> {
        inner: raw_thread::JoinHandle<T>,
        child: usize,
    }

    impl<T> JoinHandle<T> {
        /// Waits for the thread to finish (blocked until it does; recorded when it returns).
        #[track_caller]
        pub fn join(self) -> std::thread::Result<T> {
            let at = Location::caller();
            let waiting = Step::new(Op::Join)
                .values(self.child as u64, 1, 0)
                .record(at);
            recorder::blocked(waiting);
            let result = self.inner.join();
            recorder::blocked(None);
            recorder::finish(
                waiting,
                Step::new(Op::Join).values(self.child as u64, 0, 0),
                at,
            );
            result
        }

        /// The thread's handle.
        pub fn thread(&self) -> &Thread {
            self.inner.thread()
        }
    }

    /// Under a checker time is not modelled: sleeping is a yield to the scheduler (recorded
    /// with the duration asked for).
    #[track_caller]
    pub fn sleep(duration: std::time::Duration) {
        Step::new(Op::Sleep)
            .values(duration.as_millis().min(u128::from(u64::MAX)) as u64, 0, 0)
            .record(Location::caller());
        raw_thread::yield_now();
    }
}

/// Time: a frozen clock (see `model_time.rs`).
pub mod time {
    pub use super::super::model_time::Instant;
}

pub use raw_sync::Arc;

/// The checker's mutex, with every lock and unlock recorded.
pub struct StdMutex<T> {
    inner: raw_sync::Mutex<T>,
    origin: Origin,
}

/// A held [`StdMutex`]; records the unlock when dropped.
pub struct StdMutexGuard<'a, T> {
    /// `None` only while a condvar wait has handed the checker's guard over.
    inner: Option<raw_sync::MutexGuard<'a, T>>,
    mutex: &'a StdMutex<T>,
    /// Where the lock was taken: the unlock is recorded there (a drop has no caller).
    at: &'static Location<'static>,
}

/// The checker's condition variable, with every wait and notify recorded.
pub struct StdCondvar {
    inner: raw_sync::Condvar,
    origin: Origin,
}

fn address<T: ?Sized>(object: &T) -> usize {
    (object as *const T).cast::<()>() as usize
}

fn poison<G, H>(result: LockResult<G>, wrap: impl FnOnce(G) -> H) -> LockResult<H> {
    match result {
        Ok(guard) => Ok(wrap(guard)),
        Err(poisoned) => Err(std::sync::PoisonError::new(wrap(poisoned.into_inner()))),
    }
}

impl<T> StdMutex<T> {
    /// A new mutex holding `value`.
    #[track_caller]
    pub fn new(value: T) -> Self {
        Self {
            inner: raw_sync::Mutex::new(value),
            origin: Origin::here(),
        }
    }

    fn step(&self, op: Op) -> Step {
        Step::new(op).on(address(self), Kind::Mutex, Some(self.origin))
    }

    /// Locks the mutex, blocking while another thread holds it (recorded once taken).
    #[track_caller]
    pub fn lock(&self) -> LockResult<StdMutexGuard<'_, T>> {
        let at = Location::caller();
        let waiting = self.step(Op::Lock).values(1, 0, 0).record(at);
        recorder::blocked(waiting);
        let result = self.inner.lock();
        recorder::blocked(None);
        recorder::finish(waiting, self.step(Op::Lock), at);
        poison(result, |g| StdMutexGuard {
            inner: Some(g),
            mutex: self,
            at,
        })
    }

    /// Takes the mutex if it is free (recorded with the outcome).
    #[track_caller]
    pub fn try_lock(&self) -> TryLockResult<StdMutexGuard<'_, T>> {
        use std::sync::TryLockError;
        let at = Location::caller();
        let result = self.inner.try_lock();
        let ok = !matches!(result, Err(TryLockError::WouldBlock));
        self.step(Op::TryLock { ok }).record(at);
        match result {
            Ok(g) => Ok(StdMutexGuard {
                inner: Some(g),
                mutex: self,
                at,
            }),
            Err(TryLockError::Poisoned(p)) => Err(TryLockError::Poisoned(
                std::sync::PoisonError::new(StdMutexGuard {
                    inner: Some(p.into_inner()),
                    mutex: self,
                    at,
                }),
            )),
            Err(TryLockError::WouldBlock) => Err(TryLockError::WouldBlock),
        }
    }

    /// The value, through a unique borrow (no locking, not recorded).
    pub fn get_mut(&mut self) -> LockResult<&mut T> {
        self.inner.get_mut()
    }
}

impl<T> core::ops::Deref for StdMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.inner.as_deref().expect("a guard holds its lock")
    }
}

impl<T> core::ops::DerefMut for StdMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.inner.as_deref_mut().expect("a guard holds its lock")
    }
}

impl<T> Drop for StdMutexGuard<'_, T> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.take() {
            // Recorded before the checker's unlock, which may switch threads: the next thread
            // to take the lock is recorded after this step.
            self.mutex.step(Op::Unlock).record(self.at);
            drop(inner);
        }
    }
}

impl StdCondvar {
    /// A new condition variable.
    #[track_caller]
    pub fn new() -> Self {
        Self {
            inner: raw_sync::Condvar::new(),
            origin: Origin::here(),
        }
    }

    fn step(&self, op: Op) -> Step {
        Step::new(op).on(address(self), Kind::Condvar, Some(self.origin))
    }

    /// Releases the guard's mutex and sleeps until notified (recorded: the sleep, then the
    /// return with the mutex taken again).
    #[track_caller]
    pub fn wait<'a, T>(&self, mut guard: StdMutexGuard<'a, T>) -> LockResult<StdMutexGuard<'a, T>> {
        let at = Location::caller();
        let (mutex, locked_at) = (guard.mutex, guard.at);
        let inner = guard.inner.take().expect("a guard holds its lock");
        let waiting = self
            .step(Op::CondWait { timed: false })
            .values(0, address(mutex) as u64, 0)
            .record(at);
        recorder::blocked(waiting);
        let result = self.inner.wait(inner);
        recorder::blocked(None);
        self.step(Op::CondReturn { timed_out: false }).record(at);
        poison(result, |g| StdMutexGuard {
            inner: Some(g),
            mutex,
            at: locked_at,
        })
    }

    /// As [`StdCondvar::wait`], giving up after `timeout` (the checker decides when).
    #[track_caller]
    #[allow(clippy::type_complexity)]
    pub fn wait_timeout<'a, T>(
        &self,
        mut guard: StdMutexGuard<'a, T>,
        timeout: core::time::Duration,
    ) -> LockResult<(StdMutexGuard<'a, T>, raw_sync::WaitTimeoutResult)> {
        let at = Location::caller();
        let (mutex, locked_at) = (guard.mutex, guard.at);
        let inner = guard.inner.take().expect("a guard holds its lock");
        let waiting = self
            .step(Op::CondWait { timed: true })
            .values(0, address(mutex) as u64, 0)
            .record(at);
        recorder::blocked(waiting);
        let result = self.inner.wait_timeout(inner, timeout);
        recorder::blocked(None);
        let timed_out = match &result {
            Ok((_, r)) => r.timed_out(),
            Err(p) => p.get_ref().1.timed_out(),
        };
        self.step(Op::CondReturn { timed_out }).record(at);
        poison(result, |(g, r)| {
            (
                StdMutexGuard {
                    inner: Some(g),
                    mutex,
                    at: locked_at,
                },
                r,
            )
        })
    }

    /// Wakes one waiting thread (recorded with how many were waiting).
    #[track_caller]
    pub fn notify_one(&self) {
        self.notify(false);
    }

    /// Wakes every waiting thread (recorded with how many were waiting).
    #[track_caller]
    pub fn notify_all(&self) {
        self.notify(true);
    }

    #[track_caller]
    fn notify(&self, all: bool) {
        let at = Location::caller();
        if all {
            self.inner.notify_all();
        } else {
            self.inner.notify_one();
        }
        // How many were waiting is not recorded: a thread that has announced its wait may not
        // have started it yet (the checkers switch threads before a condvar wait releases its
        // mutex), and only the checker knows. The trace's reader infers it from who slept on.
        self.step(Op::Notify { all }).record(at);
    }
}

impl Default for StdCondvar {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Default> Default for StdMutex<T> {
    #[track_caller]
    fn default() -> Self {
        Self::new(T::default())
    }
}

impl<T> core::fmt::Debug for StdMutex<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdMutex").finish_non_exhaustive()
    }
}

impl<T: core::fmt::Debug> core::fmt::Debug for StdMutexGuard<'_, T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&**self, f)
    }
}

impl core::fmt::Debug for StdCondvar {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StdCondvar").finish_non_exhaustive()
    }
}
