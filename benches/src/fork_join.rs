//! Workloads of the pools group that a recursive or data-parallel program runs — the shapes
//! rayon's users write with `rayon::join`, `scope` and `par_iter`:
//!
//! * `pools/join-fine` — fork-join recursion with a split per ~100 ns of work: the recursive
//!   Fibonacci of [`FIB_N`] (24 in a quick run) that splits with `join` down to `n <`
//!   [`FINE_CUTOFF`] and computes below it sequentially; one op = one `join`. synclab's
//!   [`ThreadPool::join`] on a [`WorkStealingPool`] beside `rayon::join` on a rayon pool of
//!   as many threads (entered with `install`, as a rayon program runs inside its pool).
//! * `pools/join-coarse` — the same recursion split only down to `n <` [`COARSE_CUTOFF`]
//!   (~10 µs of work per leaf).
//! * `pools/nested-submission` — [`TREES`] small trees (50 in a quick run), one after the
//!   other: the submitter starts a root task, which submits [`NESTED_FAN_OUT`] children, each
//!   of which submits [`NESTED_FAN_OUT`] more, and waits for the tree before starting the
//!   next; one op = one task. rayon and WorkStealingPool with a scope per tree (its tasks
//!   spawn into the scope), the synclab pools and a small crossbeam-channel pool with
//!   `execute` from the tasks and `wait` per tree.
//! * `pools/map-reduce` — a map and a sum over a slice of [`MAP_LEN`] numbers (2¹⁸ quick);
//!   one op = one element. synclab's [`ThreadPool::map_reduce`] on every pool, beside rayon's
//!   `par_iter().map().sum()` and `par_chunks(`[`CHUNK`]`)`.
//!
//! Pool construction and shutdown are outside the timed part.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use rayon::prelude::*;
use synclab::pool::{
    FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool, WorkStealingPool,
};

use crate::pools::ChannelPool;
use crate::{
    Contender, CountScope, CountedOp, CountedRun, Measurement, Metric, Params, Region, Role,
    Target, Workload, BEST_ANCHOR,
};

/// Worker counts these workloads run at.
const WORKERS: [usize; 3] = [2, 4, 8];

/// `pools/join-fine` and `pools/join-coarse` compute `fib(FIB_N)` (24 in a quick run).
pub const FIB_N: u32 = 32;
/// `pools/join-fine` splits down to `n < FINE_CUTOFF`: a leaf, `fib(7)` computed
/// sequentially, is about 40 calls — on the order of 100 ns.
pub const FINE_CUTOFF: u32 = 8;
/// `pools/join-coarse` splits down to `n < COARSE_CUTOFF`: a leaf is on the order of 10 µs.
pub const COARSE_CUTOFF: u32 = 18;
/// Trees per call of `pools/nested-submission` (50 in a quick run).
pub const TREES: usize = 400;
/// Children per task of `pools/nested-submission` (two levels below the root: 21 tasks).
pub const NESTED_FAN_OUT: usize = 4;
/// Elements of `pools/map-reduce`'s slice (2¹⁸ in a quick run).
pub const MAP_LEN: usize = 1 << 22;
/// rayon's `par_chunks` chunk length in `pools/map-reduce`.
pub const CHUNK: usize = 4096;

/// rayon's contender in the fork-join workloads.
pub const RAYON_JOIN: &str = "rayon::join";
/// WorkStealingPool's contender in the fork-join workloads.
pub const STEALING_JOIN: &str = "WorkStealingPool join";

fn workload(id: &'static str, title: &'static str, contenders: Vec<Contender>) -> Workload {
    Workload {
        id,
        group: "pools",
        title,
        threads_label: "workers",
        threads: WORKERS.to_vec(),
        scales_with_threads: true,
        metric: Metric::Mops,
        contenders,
    }
}

fn contender(name: &'static str, role: Role, run: fn(&Params) -> Measurement) -> Contender {
    Contender { name, role, run }
}

/// The fork-join and data-parallel workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        workload(
            "pools/join-fine",
            "Fork-join recursion, a split per ~100 ns (one op = one join)",
            vec![
                contender(STEALING_JOIN, Role::Synclab, |p| {
                    synclab_fib(p, FINE_CUTOFF)
                }),
                contender(RAYON_JOIN, Role::Anchor, |p| rayon_fib(p, FINE_CUTOFF)),
            ],
        ),
        workload(
            "pools/join-coarse",
            "Fork-join recursion, a split per ~10 µs (one op = one join)",
            vec![
                contender(STEALING_JOIN, Role::Synclab, |p| {
                    synclab_fib(p, COARSE_CUTOFF)
                }),
                contender(RAYON_JOIN, Role::Anchor, |p| rayon_fib(p, COARSE_CUTOFF)),
            ],
        ),
        workload(
            "pools/nested-submission",
            "Tasks that submit tasks, each tree of 21 waited (one op = one task)",
            vec![
                contender(
                    "WorkStealingPool scope+execute",
                    Role::Synclab,
                    synclab_nested_scope::<WorkStealingPool>,
                ),
                contender(
                    "WorkStealingPool execute+wait",
                    Role::Synclab,
                    synclab_nested::<WorkStealingPool>,
                ),
                contender(
                    "LockFreePool",
                    Role::Synclab,
                    synclab_nested::<LockFreePool>,
                ),
                contender(
                    "CondvarPool<FutexFamily>",
                    Role::Synclab,
                    synclab_nested::<FutexCondvarPool>,
                ),
                contender("rayon scope+spawn", Role::Anchor, rayon_nested),
                contender("crossbeam-channel pool", Role::Anchor, channel_nested),
            ],
        ),
        workload(
            "pools/map-reduce",
            "Map and sum over a slice of 4 Mi numbers (one op = one element)",
            vec![
                contender(
                    "WorkStealingPool map_reduce",
                    Role::Synclab,
                    synclab_map_reduce::<WorkStealingPool>,
                ),
                contender(
                    "LockFreePool map_reduce",
                    Role::Synclab,
                    synclab_map_reduce::<LockFreePool>,
                ),
                contender(
                    "CondvarPool<StdFamily> map_reduce",
                    Role::Synclab,
                    synclab_map_reduce::<StdCondvarPool>,
                ),
                contender("rayon par_iter", Role::Anchor, rayon_par_iter),
                contender("rayon par_chunks", Role::Anchor, rayon_par_chunks),
            ],
        ),
    ]
}

/// The targets of the fork-join workloads: at least as fast as the anchor's API a user would
/// write for the same program — and WorkStealingPool in the same shape as the anchor: a scope
/// per tree beside rayon's scope, `execute` + `wait` beside the channel pool's (which has no
/// scope).
pub fn targets() -> Vec<Target> {
    let mut all = Vec::new();
    for (workload, contender, reference, claim) in [
        (
            "pools/join-fine",
            STEALING_JOIN,
            RAYON_JOIN,
            "WorkStealingPool's join is at least as fast as rayon::join (a split per ~100 ns)",
        ),
        (
            "pools/join-coarse",
            STEALING_JOIN,
            RAYON_JOIN,
            "WorkStealingPool's join is at least as fast as rayon::join (a split per ~10 µs)",
        ),
        (
            "pools/nested-submission",
            "WorkStealingPool scope+execute",
            "rayon scope+spawn",
            "WorkStealingPool runs nested submission at least as fast as rayon",
        ),
        (
            "pools/nested-submission",
            "WorkStealingPool execute+wait",
            "crossbeam-channel pool",
            "WorkStealingPool runs nested submission at least as fast as a crossbeam-channel pool",
        ),
        (
            "pools/map-reduce",
            "WorkStealingPool map_reduce",
            BEST_ANCHOR,
            "WorkStealingPool's map_reduce is at least as fast as rayon's par_iter and par_chunks",
        ),
    ] {
        for threads in WORKERS {
            all.push(Target {
                claim,
                workload,
                threads,
                contender,
                reference,
                min_advantage: 1.0,
            });
        }
    }
    all
}

/// `fib(n)` at this scale.
fn fib_n(p: &Params) -> u32 {
    p.pick(24, FIB_N)
}

/// Sequential Fibonacci: a leaf's work.
fn fib_seq(n: u32) -> u64 {
    if n < 2 {
        return u64::from(n);
    }
    fib_seq(black_box(n - 1)) + fib_seq(n - 2)
}

/// The `join`s of a recursion down to `n < cutoff`: one per node at or above the cutoff.
pub fn fib_joins(n: u32, cutoff: u32) -> u64 {
    if n < cutoff || n < 2 {
        0
    } else {
        1 + fib_joins(n - 1, cutoff) + fib_joins(n - 2, cutoff)
    }
}

fn check_fib(n: u32, value: u64) {
    let (mut a, mut b) = (0u64, 1u64);
    for _ in 0..n {
        (a, b) = (b, a + b);
    }
    assert_eq!(value, a, "fib({n}): a half was lost or counted twice");
}

fn synclab_fib(p: &Params, cutoff: u32) -> Measurement {
    fn fib(pool: &WorkStealingPool, n: u32, cutoff: u32) -> u64 {
        if n < cutoff || n < 2 {
            return fib_seq(n);
        }
        let (a, b) = pool.join(|| fib(pool, n - 1, cutoff), || fib(pool, n - 2, cutoff));
        a + b
    }
    let n = fib_n(p);
    let pool = WorkStealingPool::with_workers(p.threads).expect("valid configuration");
    let start = Instant::now();
    let value = pool
        .install(|| fib(&pool, n, cutoff))
        .expect("the pool is open");
    let elapsed = start.elapsed();
    check_fib(n, value);
    pool.shutdown();
    Measurement::ops(fib_joins(n, cutoff), elapsed)
}

fn rayon_fib(p: &Params, cutoff: u32) -> Measurement {
    fn fib(n: u32, cutoff: u32) -> u64 {
        if n < cutoff || n < 2 {
            return fib_seq(n);
        }
        let (a, b) = rayon::join(|| fib(n - 1, cutoff), || fib(n - 2, cutoff));
        a + b
    }
    let n = fib_n(p);
    let pool = crate::pools::rayon_pool(p.threads);
    let start = Instant::now();
    let value = pool.install(|| fib(n, cutoff));
    let elapsed = start.elapsed();
    check_fib(n, value);
    Measurement::ops(fib_joins(n, cutoff), elapsed)
}

/// The instruction counts of one `join` that nobody steals from — the path `pools/join-fine`
/// takes for almost every join: a pool of one worker runs `n` joins of two halves that do
/// nothing but hand their index to `black_box`. Counted over the whole process (the caller
/// sleeps in `install` meanwhile), as the other pools are.
pub fn counted_ops() -> Vec<CountedOp> {
    vec![
        counted_join(STEALING_JOIN, Role::Synclab, synclab_joins),
        counted_join(RAYON_JOIN, Role::Anchor, rayon_joins),
    ]
}

fn counted_join(contender: &'static str, role: Role, run: CountedRun) -> CountedOp {
    CountedOp {
        group: "pools",
        operation: "join of two empty halves, one worker, nothing stolen",
        contender,
        role,
        scope: CountScope::Process,
        run,
    }
}

fn synclab_joins(n: u64, region: Region<'_>) {
    let pool = WorkStealingPool::with_workers(1).expect("valid configuration");
    region(&mut || {
        pool.install(|| {
            for i in 0..n {
                black_box(pool.join(|| black_box(i), || black_box(i)));
            }
        })
        .expect("the pool is open");
    });
    pool.shutdown();
}

fn rayon_joins(n: u64, region: Region<'_>) {
    let pool = crate::pools::rayon_pool(1);
    region(&mut || {
        pool.install(|| {
            for i in 0..n {
                black_box(rayon::join(|| black_box(i), || black_box(i)));
            }
        });
    });
}

/// Trees of `pools/nested-submission` at this scale.
fn trees(p: &Params) -> usize {
    p.pick(50, TREES)
}

/// Tasks per tree: the root, its children and theirs.
const TREE_TASKS: usize = 1 + NESTED_FAN_OUT + NESTED_FAN_OUT * NESTED_FAN_OUT;

fn check_tasks(ran: &AtomicU64, trees: usize) {
    assert_eq!(
        ran.load(Ordering::Relaxed),
        (trees * TREE_TASKS) as u64,
        "nested submission: a task was lost or run twice"
    );
}

/// `execute` from the tasks, `wait` per tree.
fn synclab_nested<P: ThreadPool + 'static>(p: &Params) -> Measurement {
    fn node<P: ThreadPool>(pool: &'static P, ran: &'static AtomicU64, depth: u32) {
        ran.fetch_add(1, Ordering::Relaxed);
        if depth > 0 {
            for _ in 0..NESTED_FAN_OUT {
                pool.execute(move || node(pool, ran, depth - 1))
                    .expect("the pool is open");
            }
        }
    }
    let trees = trees(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid configuration");
    // SAFETY: the last `wait` returns once every task has finished (and its closure was
    // dropped).
    let (elapsed, ran) = unsafe {
        crate::pools::with_static((pool, AtomicU64::new(0)), |(pool, ran)| {
            let start = Instant::now();
            for _ in 0..trees {
                pool.execute(move || node(pool, ran, 2))
                    .expect("the pool is open");
                let _ = pool.wait();
            }
            (start.elapsed(), ran.load(Ordering::Relaxed))
        })
    };
    check_tasks(&AtomicU64::new(ran), trees);
    Measurement::ops((trees * TREE_TASKS) as u64, elapsed)
}

/// A scope per tree; the tasks spawn into it (rayon's shape).
fn synclab_nested_scope<P: ThreadPool>(p: &Params) -> Measurement {
    fn node<'s, 'e, P: ThreadPool>(
        s: &'s synclab::pool::Scope<'s, 'e, P>,
        ran: &'e AtomicU64,
        depth: u32,
    ) {
        ran.fetch_add(1, Ordering::Relaxed);
        if depth > 0 {
            for _ in 0..NESTED_FAN_OUT {
                s.execute(move || node(s, ran, depth - 1));
            }
        }
    }
    let trees = trees(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid configuration");
    let ran = AtomicU64::new(0);
    let start = Instant::now();
    for _ in 0..trees {
        pool.scope(|s| {
            let ran = &ran;
            s.execute(move || node(s, ran, 2));
        });
    }
    let elapsed = start.elapsed();
    check_tasks(&ran, trees);
    pool.shutdown();
    Measurement::ops((trees * TREE_TASKS) as u64, elapsed)
}

fn rayon_nested(p: &Params) -> Measurement {
    fn node<'s>(s: &rayon::Scope<'s>, ran: &'s AtomicU64, depth: u32) {
        ran.fetch_add(1, Ordering::Relaxed);
        if depth > 0 {
            for _ in 0..NESTED_FAN_OUT {
                s.spawn(move |s| node(s, ran, depth - 1));
            }
        }
    }
    let trees = trees(p);
    let pool = crate::pools::rayon_pool(p.threads);
    let ran = AtomicU64::new(0);
    let start = Instant::now();
    for _ in 0..trees {
        pool.scope(|s| {
            let ran = &ran;
            s.spawn(move |s| node(s, ran, 2));
        });
    }
    let elapsed = start.elapsed();
    check_tasks(&ran, trees);
    Measurement::ops((trees * TREE_TASKS) as u64, elapsed)
}

fn channel_nested(p: &Params) -> Measurement {
    fn node(pool: &'static ChannelPool, ran: &'static AtomicU64, depth: u32) {
        ran.fetch_add(1, Ordering::Relaxed);
        if depth > 0 {
            for _ in 0..NESTED_FAN_OUT {
                pool.execute(move || node(pool, ran, depth - 1));
            }
        }
    }
    let trees = trees(p);
    // Room for a whole tree: the channel pool's workers would wait for room only workers make.
    let pool = ChannelPool::new(p.threads, TREE_TASKS);
    // SAFETY: the last `wait` returns once every task has run and been dropped.
    let (elapsed, ran) = unsafe {
        crate::pools::with_static((pool, AtomicU64::new(0)), |(pool, ran)| {
            let start = Instant::now();
            for _ in 0..trees {
                pool.execute(move || node(pool, ran, 2));
                pool.wait();
            }
            (start.elapsed(), ran.load(Ordering::Relaxed))
        })
    };
    check_tasks(&AtomicU64::new(ran), trees);
    Measurement::ops((trees * TREE_TASKS) as u64, elapsed)
}

/// The slice of `pools/map-reduce` at this scale.
fn numbers(p: &Params) -> Vec<u64> {
    (0..p.pick(1 << 18, MAP_LEN) as u64).collect()
}

/// The map: a few arithmetic operations per element.
#[inline]
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x
}

/// The expected sum, computed sequentially once per call (outside the timed part).
fn expected(v: &[u64]) -> u64 {
    v.iter().map(|&x| mix(x)).fold(0, u64::wrapping_add)
}

fn synclab_map_reduce<P: ThreadPool>(p: &Params) -> Measurement {
    let v = numbers(p);
    let want = expected(&v);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid configuration");
    let start = Instant::now();
    let sum = pool.map_reduce(&v[..], || 0, |&x| mix(x), u64::wrapping_add);
    let elapsed = start.elapsed();
    assert_eq!(sum, want, "map-reduce: a piece was lost or summed twice");
    pool.shutdown();
    Measurement::ops(v.len() as u64, elapsed)
}

fn rayon_par_iter(p: &Params) -> Measurement {
    let v = numbers(p);
    let want = expected(&v);
    let pool = crate::pools::rayon_pool(p.threads);
    let start = Instant::now();
    let sum = pool.install(|| {
        v.par_iter()
            .map(|&x| mix(x))
            .reduce(|| 0, u64::wrapping_add)
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, want, "map-reduce: a piece was lost or summed twice");
    Measurement::ops(v.len() as u64, elapsed)
}

fn rayon_par_chunks(p: &Params) -> Measurement {
    let v = numbers(p);
    let want = expected(&v);
    let pool = crate::pools::rayon_pool(p.threads);
    let start = Instant::now();
    let sum = pool.install(|| {
        v.par_chunks(CHUNK)
            .map(|c| c.iter().map(|&x| mix(x)).fold(0, u64::wrapping_add))
            .reduce(|| 0, u64::wrapping_add)
    });
    let elapsed = start.elapsed();
    assert_eq!(sum, want, "map-reduce: a piece was lost or summed twice");
    Measurement::ops(v.len() as u64, elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_fork_join_contender_completes() {
        let p = Params {
            threads: 2,
            scale: Scale::Quick,
        };
        for w in workloads() {
            for c in &w.contenders {
                let m = (c.run)(&p);
                let want = match w.id {
                    "pools/join-fine" => fib_joins(24, FINE_CUTOFF),
                    "pools/join-coarse" => fib_joins(24, COARSE_CUTOFF),
                    "pools/nested-submission" => (50 * TREE_TASKS) as u64,
                    _ => 1 << 18,
                };
                assert_eq!(m.ops, want, "{}: {}", w.id, c.name);
            }
        }
    }
}
