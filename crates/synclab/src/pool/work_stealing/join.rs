//! `join` on a worker of the work-stealing pool (rayon-core's `join/mod.rs`, its
//! `join_context`): the second closure becomes a [`StackJob`] in this frame, pushed onto the
//! worker's own deque — no allocation — while the first runs inline; then the worker takes the
//! second back if nobody stole it and runs it inline too, or else runs other tasks until the
//! thief has set the job's latch, sleeping on its own park (`latch.rs`) when it finds none.
//!
//! **Counting.** The stack job takes one unit of the worker's credit when it is pushed, as a
//! submitted task does ("Credit" on [`WorkStealingPool`](super::WorkStealingPool)), and
//! whoever runs it adds the unit to their credit afterwards: the worker loop's rule for every
//! job it runs, unchanged, and the owner's own when it takes the job back. So `wait` and
//! shutdown count a stolen half like any task. Without credit to take (the pool is closed and
//! the worker holds none), or with the deque full, the second closure is not offered: both run
//! here, one after the other.
//!
//! **Panics.** The first closure runs under `catch_unwind`; the second runs under it on a
//! thief (the job keeps the payload). Either payload is resumed only once both halves have
//! finished — the second may borrow this frame, so the frame cannot unwind while it runs — the
//! first's if both panicked (the second's is then dropped under a guard), as `rayon::join`
//! does. Between the push and the end of the wait nothing else can unwind: every task run
//! meanwhile runs under `catch_unwind` ([`run_task`]); an [`AbortOnUnwind`] guard makes any
//! unwinding that gets through anyway (a bug) an abort rather than a thief writing into a
//! frame that is gone.
//!
//! **Waking thieves.** After the push, `Shared::offered` wakes a sleeping worker if nobody
//! searches (or a parked one), from Relaxed loads and no fence: a wake-up
//! missed there costs the parallelism of this one `join` (the owner takes the job back), never
//! the job — unlike a submitted task, which nobody else would run.

use core::mem;

use super::job::{JobResult, StackJob};
use super::registry::{Local, Shared};
use crate::pool::panics::{drop_payload, run_task};
use crate::pool::state::{IDLE_SPINS, IDLE_YIELDS};
use crate::sync::atomic::Ordering;

/// Aborts the process if dropped while unwinding: held across the stretch where a thief may
/// still write into the `join`'s frame (see "Panics" in the module docs).
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // A worker unwinding out of a `join` whose second half may still run elsewhere
            // would free the frame that half writes to: undefined behaviour. No path unwinds
            // here (every task runs under `catch_unwind`); this is the guard if one does.
            std::process::abort();
        }
    }
}

impl Shared {
    /// `join_context` on `local`, one of this pool's workers (the calling thread). The
    /// closures receive whether they run on another thread than the caller.
    pub(super) fn join_on<A, B, RA, RB>(&self, local: &Local, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        if !self.take_credit(local) {
            return both_here(a, b);
        }
        let job_b = StackJob::new(b, &self.parks[local.index]);
        // SAFETY: the job goes only onto this worker's deque (and from there only to this
        // pool's workers, who run it); this frame does not return or unwind before the latch
        // is set or the job has been taken back (the loop below; `AbortOnUnwind` if anything
        // unwinds anyway).
        if let Err(job) = local.deque.push(unsafe { job_b.as_job() }) {
            // Full: never offered. The job owns nothing; forgetting it keeps its `Drop` from
            // setting the latch.
            mem::forget(job);
            self.give_credit(local);
            return finish(catch(|| a(false)), Taken::Back, &job_b);
        }
        let guard = AbortOnUnwind;
        let ours = job_b.addr();
        self.offered();
        let result_a = catch(|| a(false));
        let taken = loop {
            if job_b.probe() {
                break Taken::Stolen;
            }
            match local.deque.pop() {
                Some(job) if job.addr() == ours => {
                    // Ours, back: nobody stole it. It owns nothing; forget it (its `Drop`
                    // would set the latch), and count it run here.
                    mem::forget(job);
                    self.give_credit(local);
                    break Taken::Back;
                }
                Some(job) => {
                    // Pushed above ours meanwhile (a task the first half submitted, or stolen
                    // in a batch): run it, as the worker loop would.
                    run_task(|| job.run(), self.state.panics());
                    self.give_credit(local);
                }
                None => {
                    // Stolen: help until the thief has finished it.
                    self.wait_for(local, &job_b);
                    break Taken::Stolen;
                }
            }
        };
        // The job is back or finished: nothing elsewhere touches this frame any more, and
        // what follows may unwind.
        mem::forget(guard);
        match (taken, result_a) {
            // The common case, inline: the second half is back, the first returned.
            (Taken::Back, Ok(value_a)) => (value_a, job_b.run_inline()),
            (taken, result_a) => finish(result_a, taken, &job_b),
        }
    }

    /// Runs other work until `job` is finished elsewhere: this worker's own tasks, then the
    /// injector's and other workers'; after an idle search (the pool's spin schedule), sleeps
    /// on its park with the job's latch announcing it (the thief then notifies the park).
    #[cold]
    fn wait_for<F, R>(&self, local: &Local, job: &StackJob<'_, F, R>)
    where
        F: FnOnce(bool) -> R + Send,
        R: Send,
    {
        let mut backoff = crate::sync::hint::Backoff::new(IDLE_SPINS, IDLE_YIELDS);
        while !job.probe() {
            let found = match self.find_local(local) {
                Some(found) => Some(found),
                None => {
                    // No work of our own: the credit goes back before we look elsewhere or
                    // sleep (a `wait` may be waiting for exactly this), as in the worker loop.
                    self.return_credit(local);
                    self.find_global(local)
                }
            };
            if let Some(found) = found {
                run_task(|| found.run(), self.state.panics());
                self.give_credit(local);
                backoff = crate::sync::hint::Backoff::new(IDLE_SPINS, IDLE_YIELDS);
                continue;
            }
            if !backoff.is_completed() {
                backoff.snooze();
                continue;
            }
            self.park(local, job);
        }
    }
}

impl Shared {
    /// Sleeps on this worker's park until `job`'s thief or a publication notifies it, unless
    /// the job has finished or work is visible by then (see `latch.rs`).
    ///
    /// The announcement to publishers is `parked`, incremented before the park's
    /// `prepare_wait`, whose fence orders it before the last look (`work_visible`'s Relaxed
    /// loads): either that look sees a task published meanwhile, or its publisher's load of
    /// `parked` (after its own fence) sees us and notifies a park — ours, or another parked
    /// worker's that takes the task. The announcement to the thief is the latch's `SLEEPING`.
    #[cold]
    fn park<F, R>(&self, local: &Local, job: &StackJob<'_, F, R>)
    where
        F: FnOnce(bool) -> R + Send,
        R: Send,
    {
        let park = &self.parks[local.index];
        // Relaxed: ordered before the look by the fence in `prepare_wait` (above).
        self.parked.fetch_add(1, Ordering::Relaxed);
        let key = park.prepare_wait();
        if job.latch().announce_sleep() && !self.work_visible() {
            park.wait(key);
        } else {
            park.cancel_wait(key);
        }
        // Relaxed: only a count of whom publishers should consider.
        self.parked.fetch_sub(1, Ordering::Relaxed);
        job.latch().awake();
    }
}

/// How the second half ended up.
enum Taken {
    /// The owner took it back (or never offered it): it runs inline now.
    Back,
    /// A thief took it; the latch is set (its result is in the job, or `None` if it was
    /// dropped unrun — then it runs inline now too).
    Stolen,
}

/// The pair, once both halves have finished: runs the second inline if it is still here,
/// then resumes a panic — the first half's if both panicked.
#[cold]
fn finish<F, RA, RB>(
    result_a: std::thread::Result<RA>,
    taken: Taken,
    job_b: &StackJob<'_, F, RB>,
) -> (RA, RB)
where
    F: FnOnce(bool) -> RB + Send,
    RB: Send,
{
    let result_b = match taken {
        Taken::Stolen => job_b.take_result(),
        Taken::Back => JobResult::None,
    };
    let result_b = match result_b {
        JobResult::None => match result_a {
            // The first half finished: a panic of the second may unwind straight from here.
            Ok(_) => JobResult::Ok(job_b.run_inline()),
            Err(_) => match catch(|| job_b.run_inline()) {
                Ok(value) => JobResult::Ok(value),
                Err(payload) => JobResult::Panic(payload),
            },
        },
        done => done,
    };
    match (result_a, result_b) {
        (Ok(a), JobResult::Ok(b)) => (a, b),
        (Err(payload), JobResult::Panic(second)) => {
            drop_payload(second);
            std::panic::resume_unwind(payload)
        }
        (Err(payload), _) => std::panic::resume_unwind(payload),
        (Ok(_), JobResult::Panic(payload)) => std::panic::resume_unwind(payload),
        (Ok(_), JobResult::None) => unreachable!("the second half ran above"),
    }
}

/// Both halves on the calling thread, one after the other, with `join`'s panic rule.
pub(crate) fn both_here<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce(bool) -> RA,
    B: FnOnce(bool) -> RB,
{
    let result_a = catch(|| a(false));
    match result_a {
        Ok(value_a) => (value_a, b(false)),
        Err(payload) => {
            if let Err(second) = catch(|| b(false)) {
                drop_payload(second);
            }
            std::panic::resume_unwind(payload)
        }
    }
}

/// `catch_unwind`, for a closure that may borrow anything (the halves are not `UnwindSafe`:
/// like `rayon::join`, `join` resumes the panic itself, after both halves).
#[inline]
fn catch<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}
