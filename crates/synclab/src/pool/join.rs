//! Fork-join: [`ThreadPool::join`] written once for the pools without a deque, and the free
//! function [`join`] that needs no pool at hand (rayon's `rayon::join`).
//!
//! **On a pool with a deque** ([`WorkStealingPool`]) `join` pushes its second closure, as a
//! job in its own stack frame, onto the calling worker's deque and runs the first inline;
//! it takes the second back if nobody stole it, or runs other tasks until the thief has
//! finished it (the source: `pool/work_stealing/join.rs`). No allocation, no counter shared
//! with other threads on that path.
//!
//! **On the other pools** (one shared queue: nothing a worker could take back cheaply) it is a
//! [`scope`](ThreadPool::scope): the second closure is spawned, the first runs on the caller,
//! and the caller then joins the second — running it itself if no worker has started it (the
//! scope's helping). Correct everywhere, and as fast as a scope.
//!
//! **The free function** uses the pool of the calling thread when that is a
//! [`WorkStealingPool`] worker (a task calling `join` recursively stays on its pool), and a
//! global [`WorkStealingPool`] otherwise, built on first use with one worker per available
//! CPU (`std::thread::available_parallelism`) and never shut down — rayon's global pool. A
//! task of one of the other pools that calls the free function therefore hands the work to the
//! global pool and blocks until it is done; call its own pool's [`ThreadPool::join`] instead.
//! Under a model checker, call a pool's method: a global pool cannot outlive one execution of
//! a model.

use std::sync::OnceLock;

use super::work_stealing::{self, WorkStealingPool};
use super::ThreadPool;

/// Runs `a` and `b`, potentially in parallel, and returns both results: `rayon::join` on the
/// calling worker's [`WorkStealingPool`], or on a global one outside every pool — built on
/// first use with one worker per available CPU, never shut down (rayon's global pool). A
/// task of one of the other pools that calls it hands the pair to the global pool and blocks
/// until it is done: call its own pool's [`ThreadPool::join`] there. Under a model checker,
/// call a pool's method (a global pool cannot outlive one execution of a model).
///
/// `b` is offered to other workers while `a` runs on the calling thread; if nobody has taken
/// it by the time `a` returns, it runs here too. So `a` and `b` *may* run one after the other,
/// on this thread: `a` must not wait for something only `b` does. A panic in either is
/// resumed once both have finished — `a`'s if both panicked.
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = synclab::pool::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
///
/// The closures may borrow from the caller's stack:
///
/// ```
/// let mut v = vec![5, 1, 4, 2, 3];
/// let (left, right) = v.split_at_mut(2);
/// synclab::pool::join(|| left.sort(), || right.sort());
/// assert_eq!(v, [1, 5, 2, 3, 4]);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    join_anywhere(move |_| a(), move |_| b())
}

/// `join_context` on the calling worker's pool, or the global pool: the free functions'
/// fork. The closures receive whether they run on another thread than the caller.
pub(crate) fn join_anywhere<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce(bool) -> RA + Send,
    B: FnOnce(bool) -> RB + Send,
    RA: Send,
    RB: Send,
{
    match work_stealing::join_on_current(a, b) {
        Ok(pair) => pair,
        Err((a, b)) => super::hooks::Hooks::join_context(global(), a, b),
    }
}

/// How many workers the free functions' pool has: the calling worker's pool's, or the global
/// pool's.
pub(crate) fn ambient_workers() -> usize {
    work_stealing::current_workers().unwrap_or_else(|| global().workers())
}

/// The global pool: built on first use, never shut down (see the [module docs](self)).
fn global() -> &'static WorkStealingPool {
    static GLOBAL: OnceLock<WorkStealingPool> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        WorkStealingPool::with_workers(workers).expect("at least one worker")
    })
}

/// [`ThreadPool::join`] through a [`scope`](ThreadPool::scope), for the pools without a deque:
/// `b` is spawned, `a` runs here, then `b` is joined (run here if no worker started it). The
/// closures are told they did not migrate: with no thief to adapt to, the data-parallel
/// helpers split a fixed number of times (see `pool/parallel.rs`).
pub(crate) fn join_by_scope<P, A, B, RA, RB>(pool: &P, a: A, b: B) -> (RA, RB)
where
    P: ThreadPool,
    A: FnOnce(bool) -> RA + Send,
    B: FnOnce(bool) -> RB + Send,
    RA: Send,
    RB: Send,
{
    // A panic of `a` unwinds out of the body; the scope waits for `b` and then resumes it
    // (`b`'s own payload, unjoined, goes to the scope's record and is dropped there).
    pool.scope(|s| {
        let b = s.spawn(move || b(false));
        let value_a = a(false);
        match b.join() {
            Ok(value_b) => (value_a, value_b),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}
