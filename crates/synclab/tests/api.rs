//! API hygiene (issue 13, point 8): every error type is `Send + Sync + 'static` and an
//! `Error`, so `?` works into `Box<dyn Error + Send + Sync>` (on main, `SubmitError` and
//! `TrySubmitError` held a boxed `FnOnce() + Send`, which is not `Sync`, and this file did not
//! compile). The `#[non_exhaustive]` checks are `compile_fail` doc tests in the crate docs.

use std::error::Error;

use synclab::array::{IndexError, PublishError};
use synclab::pool::{
    BuildError, LockFreePool, StdCondvarPool, SubmitError, ThreadPool, TrySubmitError, WaitError,
    WorkStealingPool,
};
use synclab::queue::{
    ArrayQueue, BlockingQueue, CapacityError, Closed, ForcePushError, LockedQueue, PopError,
    PushError, RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};

fn is_error<E: Error + Send + Sync + 'static>() {}

#[test]
fn every_error_type_is_send_sync_and_static() {
    is_error::<BuildError>();
    is_error::<SubmitError>();
    is_error::<TrySubmitError>();
    is_error::<WaitError>();
    is_error::<CapacityError>();
    is_error::<Closed<u32>>();
    is_error::<Closed>();
    is_error::<PushError<u32>>();
    is_error::<PopError>();
    is_error::<IndexError>();
    is_error::<PublishError<u32>>();
    is_error::<ForcePushError<u32>>();
    is_error::<SendError<u32>>();
    is_error::<TrySendError<u32>>();
    is_error::<SendTimeoutError<u32>>();
    is_error::<RecvError>();
    is_error::<TryRecvError>();
    is_error::<RecvTimeoutError>();
    is_error::<synclab::pool::TaskDropped>();
    is_error::<synclab::lock::OwnerDied<u32>>();
    #[cfg(target_os = "linux")]
    is_error::<synclab::shm::OpenError>();
}

/// A program in the style the issue tried: every fallible call through `?`.
fn uses_question_mark() -> Result<u64, Box<dyn Error + Send + Sync>> {
    let pool = StdCondvarPool::with_workers(2)?;
    pool.execute(|| ())?;
    pool.try_submit(Box::new(|| ()))?;
    let report = pool.wait()?;
    assert_eq!(report.panicked, 0);
    let lock_free = LockFreePool::with_workers(1)?;
    lock_free.execute(|| ())?;
    let _ = lock_free.wait()?;
    let work_stealing = WorkStealingPool::with_workers(1)?;
    work_stealing.execute(|| ())?;
    let _ = work_stealing.wait_timeout(std::time::Duration::from_secs(60))?;
    let q = BlockingQueue::<u64, ArrayQueue<u64>>::with_capacity(4)?;
    q.push(5)?;
    q.try_push(6)?;
    let first = q.pop()?;
    let second = q.try_pop()?;
    let locked =
        BlockingQueue::<u64, LockedQueue<u64, synclab::lock::StdFamily>>::with_capacity(1)?;
    locked.push(1)?;
    Ok(first + second + locked.pop()?)
}

#[test]
fn question_mark_into_a_boxed_send_sync_error() {
    assert_eq!(uses_question_mark().unwrap(), 12);
    // And an error does travel: a closed pool's refusal, boxed, keeps its message.
    let pool = StdCondvarPool::with_workers(1).unwrap();
    pool.close();
    let err: Box<dyn Error + Send + Sync> = pool.execute(|| ()).unwrap_err().into();
    assert!(err.to_string().contains("shut down"), "{err}");
}
