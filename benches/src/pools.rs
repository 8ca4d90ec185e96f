//! Workloads of the pools group: the seed's thread pool, at full speed.
//!
//! * `pools/tiny-tasks-1-submitter`, `pools/tiny-tasks-2-submitters` — 50 000 tiny boxed
//!   tasks (10 000 in a quick run) submitted from one (or two) threads, then `wait`; tasks per
//!   second in millions (one op = one task), at 2, 4 and 8 workers. Every synclab pool beside rayon (its own
//!   `ThreadPool`, `scope` + `spawn`), the `threadpool` crate, and a small fair pool over a
//!   bounded crossbeam channel ([`ChannelPool`]). The bounded pools all get the same capacity
//!   ([`synclab::pool::DEFAULT_CAPACITY`]); rayon's injector and threadpool's channel are
//!   unbounded. **WorkStealingPool runs here the way rayon does** ("WorkStealingPool
//!   scope+execute", the contender of its targets): rayon's `ThreadPool::scope` runs its body
//!   *on a pool worker* (`install` → the registry's `in_worker_cold`: the outside caller
//!   injects a job and blocks on a latch), so each of its `spawn`s is a push onto that
//!   worker's own deque, the machine runs one thread per worker while the caller sleeps, and
//!   the worker runs tasks itself while it waits for the scope. Timing WorkStealingPool's
//!   `execute` from an outside thread instead measured a different job — every task through
//!   the shared injector plus a wake check, and one more runnable thread than cores at 2
//!   workers. So each submitter opens a scope ([`ThreadPool::install`] puts its body on a
//!   worker) and spawns with `Scope::execute`, the handle-less spawn that `rayon::Scope::spawn`
//!   is. The outside-submitter shape stays beside it ("WorkStealingPool execute+wait").
//! * `pools/fan-out-tree` — one task submitted from outside spawns [`FAN_OUT`] children, each of
//!   which spawns [`FAN_OUT`] more, [`TREE_DEPTH`] levels down (349 525 tasks; 5 461 in a
//!   quick run); tasks per second.
//! * `pools/divide-and-conquer` — a recursive sum over 2²⁴ numbers (2¹⁸ quick) that splits in
//!   two until a piece is at most [`CUTOFF`] numbers long; each leaf adds its piece to a shared
//!   total once; tasks per second (32 767 tasks; 511 quick). Every pool spawns the two
//!   halves as tasks (beside rayon's `scope` + `spawn`); "WorkStealingPool join" and
//!   "rayon::join" split with `join` instead, the target's pair.
//! * `pools/200us-tasks` — 1 000 tasks (200 quick) that each spin for ~200 µs, from one
//!   submitter; tasks per second (the CPUs bound it: about 10 000/s on 2 cores).
//! * `pools/spawn-join` — the same number of tiny tasks that each *return a value*, collected
//!   by the submitter: synclab's `spawn` + `JoinHandle::join` on every pool, and synclab's
//!   `scope` writing each result into a borrowed slot, beside rayon (`scope` + `spawn` into
//!   borrowed slots: rayon has no join handle, rayon#1252) and threadpool (results sent back
//!   over an mpsc channel, its documented way).
//! * `pools/idle-cpu` — CPU time an idle 4-worker pool burns per second of wall time, after it
//!   has run a few tasks ([`crate::idle_window`]). The seed's Python pool (busy-waiting
//!   workers) is shown for its cost, and the window with no pool at all as the floor: what
//!   the measurement itself costs.
//!
//! **How each anchor runs a task that submits tasks** (the same API in every workload):
//! rayon through `ThreadPool::scope` + `Scope::spawn` — its spawn-based API, which matches
//! ours (a task spawns children and nobody waits for them but the scope); in the
//! divide-and-conquer workload also the way a user writes it, `join` — synclab's on
//! WorkStealingPool beside `rayon::join`, the reference of that workload's target (a fan-out
//! tree's tasks are fire-and-forget, which is `scope` + `spawn`, so that target keeps rayon's
//! scope); `threadpool` by capturing a clone of its
//! handle and calling `execute`, then `join`; the crossbeam-channel pool by capturing an
//! `Arc` of it. The channel pool's workers would wait for room in a full channel that only
//! the workers can drain (the synclab pools' never wait: a worker's submit goes beyond the
//! capacity), so in the tree workloads every bounded pool (the synclab pools and the channel
//! pool) is built with room for the whole tree: no pool takes a slow path the others do not.
//!
//! Pool construction and shutdown are outside the timed part.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use synclab::pool::{
    FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool, WorkStealingPool,
    DEFAULT_CAPACITY,
};
use synclab_zoo::pool::SeedPythonPool;

use crate::{
    Contender, CountScope, CountedOp, CountedRun, Measurement, Metric, Params, Region, Role,
    Target, Workload, BEST_ANCHOR,
};

/// Worker counts the throughput workloads run at.
const WORKERS: [usize; 3] = [2, 4, 8];

/// rayon's contender name: its spawn-based API, the reference of WorkStealingPool's targets.
const RAYON: &str = "rayon scope+spawn";

/// WorkStealingPool's contender in the tiny-task workloads: each submitter opens a scope and
/// spawns handle-less tasks in it (`Scope::execute`, which is what `rayon::Scope::spawn` is),
/// the same shape as rayon's cell (see the module docs).
const STEALING_SCOPE: &str = "WorkStealingPool scope+execute";

/// Children per task in `pools/fan-out-tree`.
pub const FAN_OUT: usize = 4;
/// Levels below the root in `pools/fan-out-tree` (6 in a quick run).
pub const TREE_DEPTH: u32 = 9;
/// `pools/divide-and-conquer` splits a range until it is at most this long.
pub const CUTOFF: u64 = 1024;
/// How long each task of `pools/200us-tasks` spins.
pub const BUSY: Duration = Duration::from_micros(200);

fn tasks(p: &Params) -> usize {
    p.pick(10_000, 50_000)
}

/// A tasks-per-second workload of the pools group, run at every count of [`WORKERS`].
fn at_every_worker_count(
    id: &'static str,
    title: &'static str,
    contenders: Vec<Contender>,
) -> Workload {
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

/// The pools workloads.
pub fn workloads() -> Vec<Workload> {
    let throughput_as =
        |id, title, stealing: &'static str, one: [fn(&Params) -> Measurement; 7]| {
            at_every_worker_count(
                id,
                title,
                [
                    (stealing, Role::Synclab),
                    ("LockFreePool", Role::Synclab),
                    ("CondvarPool<FutexFamily>", Role::Synclab),
                    ("CondvarPool<StdFamily>", Role::Synclab),
                    (RAYON, Role::Anchor),
                    ("threadpool", Role::Anchor),
                    ("crossbeam-channel pool", Role::Anchor),
                ]
                .into_iter()
                .zip(one)
                .map(|((name, role), run)| Contender { name, role, run })
                .collect(),
            )
        };
    let throughput = |id, title, one: [fn(&Params) -> Measurement; 7]| {
        throughput_as(id, title, "WorkStealingPool", one)
    };
    // The divide-and-conquer a user writes with `join`: synclab's on WorkStealingPool beside
    // `rayon::join` (the reference of its target).
    let with_join =
        |mut w: Workload, ours: fn(&Params) -> Measurement, rayon: fn(&Params) -> Measurement| {
            w.contenders.push(Contender {
                name: crate::fork_join::STEALING_JOIN,
                role: Role::Synclab,
                run: ours,
            });
            w.contenders.push(Contender {
                name: crate::fork_join::RAYON_JOIN,
                role: Role::Anchor,
                run: rayon,
            });
            w
        };
    // WorkStealingPool's own submit-then-wait shape, beside its scope+spawn contender.
    let with_execute = |mut w: Workload, run: fn(&Params) -> Measurement| {
        w.contenders.push(Contender {
            name: "WorkStealingPool execute+wait",
            role: Role::Synclab,
            run,
        });
        w
    };
    vec![
        with_execute(
            throughput_as(
                "pools/tiny-tasks-1-submitter",
                "Tiny tasks from 1 submitter, then wait (one op = one task)",
                STEALING_SCOPE,
                [
                    |p| synclab_scope_tiny::<WorkStealingPool>(p, 1),
                    |p| synclab_tiny::<LockFreePool>(p, 1),
                    |p| synclab_tiny::<FutexCondvarPool>(p, 1),
                    |p| synclab_tiny::<StdCondvarPool>(p, 1),
                    |p| rayon_tiny(p, 1),
                    |p| threadpool_tiny(p, 1),
                    |p| channel_tiny(p, 1),
                ],
            ),
            |p| synclab_tiny::<WorkStealingPool>(p, 1),
        ),
        with_execute(
            throughput_as(
                "pools/tiny-tasks-2-submitters",
                "Tiny tasks from 2 submitters, then wait (one op = one task)",
                STEALING_SCOPE,
                [
                    |p| synclab_scope_tiny::<WorkStealingPool>(p, 2),
                    |p| synclab_tiny::<LockFreePool>(p, 2),
                    |p| synclab_tiny::<FutexCondvarPool>(p, 2),
                    |p| synclab_tiny::<StdCondvarPool>(p, 2),
                    |p| rayon_tiny(p, 2),
                    |p| threadpool_tiny(p, 2),
                    |p| channel_tiny(p, 2),
                ],
            ),
            |p| synclab_tiny::<WorkStealingPool>(p, 2),
        ),
        throughput(
            "pools/fan-out-tree",
            "Fan-out tree: each task spawns 4 children, 9 levels (tasks/s)",
            [
                synclab_tree::<WorkStealingPool>,
                synclab_tree::<LockFreePool>,
                synclab_tree::<FutexCondvarPool>,
                synclab_tree::<StdCondvarPool>,
                rayon_tree,
                threadpool_tree,
                channel_tree,
            ],
        ),
        with_join(
            throughput(
                "pools/divide-and-conquer",
                "Divide-and-conquer sum, cutoff 1024 (tasks/s)",
                [
                    synclab_sum::<WorkStealingPool>,
                    synclab_sum::<LockFreePool>,
                    synclab_sum::<FutexCondvarPool>,
                    synclab_sum::<StdCondvarPool>,
                    rayon_sum,
                    threadpool_sum,
                    channel_sum,
                ],
            ),
            synclab_join_sum,
            rayon_join_sum,
        ),
        throughput(
            "pools/200us-tasks",
            "~200 µs tasks from 1 submitter, then wait (tasks/s)",
            [
                synclab_busy::<WorkStealingPool>,
                synclab_busy::<LockFreePool>,
                synclab_busy::<FutexCondvarPool>,
                synclab_busy::<StdCondvarPool>,
                rayon_busy,
                threadpool_busy,
                channel_busy,
            ],
        ),
        at_every_worker_count(
            "pools/spawn-join",
            "Tiny tasks that return a value, collected by the submitter (tasks/s)",
            vec![
                Contender {
                    name: "WorkStealingPool spawn+join",
                    role: Role::Synclab,
                    run: synclab_spawn_join::<WorkStealingPool>,
                },
                Contender {
                    name: "LockFreePool spawn+join",
                    role: Role::Synclab,
                    run: synclab_spawn_join::<LockFreePool>,
                },
                Contender {
                    name: "CondvarPool<FutexFamily> spawn+join",
                    role: Role::Synclab,
                    run: synclab_spawn_join::<FutexCondvarPool>,
                },
                Contender {
                    name: "WorkStealingPool scope+spawn",
                    role: Role::Synclab,
                    run: synclab_scope_slots::<WorkStealingPool>,
                },
                Contender {
                    name: "LockFreePool scope+spawn",
                    role: Role::Synclab,
                    run: synclab_scope_slots::<LockFreePool>,
                },
                Contender {
                    name: RAYON,
                    role: Role::Anchor,
                    run: rayon_scope_slots,
                },
                Contender {
                    name: "threadpool + mpsc results",
                    role: Role::Anchor,
                    run: threadpool_results,
                },
            ],
        ),
        Workload {
            id: "pools/idle-cpu",
            group: "pools",
            title: "CPU burnt by an idle 4-worker pool",
            threads_label: "workers",
            threads: vec![4],
            scales_with_threads: false,
            metric: Metric::CpuMsPerSec,
            contenders: vec![
                Contender {
                    name: "WorkStealingPool",
                    role: Role::Synclab,
                    run: |p| idle_cpu(p, WorkStealingPool::with_workers(p.threads).unwrap()),
                },
                Contender {
                    name: "LockFreePool",
                    role: Role::Synclab,
                    run: |p| idle_cpu(p, LockFreePool::with_workers(p.threads).unwrap()),
                },
                Contender {
                    name: "CondvarPool<FutexFamily>",
                    role: Role::Synclab,
                    run: |p| idle_cpu(p, FutexCondvarPool::with_workers(p.threads).unwrap()),
                },
                Contender {
                    name: "CondvarPool<StdFamily>",
                    role: Role::Synclab,
                    run: |p| idle_cpu(p, StdCondvarPool::with_workers(p.threads).unwrap()),
                },
                Contender {
                    name: RAYON,
                    role: Role::Anchor,
                    run: |p| {
                        let pool = rayon_pool(p.threads);
                        idle_cpu_with(p, || pool.scope(|s| run_few(|f| s.spawn(move |_| f()))))
                    },
                },
                Contender {
                    name: "threadpool",
                    role: Role::Anchor,
                    run: |p| {
                        let pool = threadpool::ThreadPool::new(p.threads);
                        idle_cpu_with(p, || {
                            run_few(|f| pool.execute(f));
                            pool.join();
                        })
                    },
                },
                Contender {
                    name: "crossbeam-channel pool",
                    role: Role::Anchor,
                    run: |p| {
                        let pool = ChannelPool::new(p.threads, DEFAULT_CAPACITY);
                        idle_cpu_with(p, || {
                            run_few(|f| pool.execute(f));
                            pool.wait();
                        })
                    },
                },
                Contender {
                    name: "no pool (the measurement itself)",
                    role: Role::Floor,
                    run: |p| idle_cpu_with(p, || {}),
                },
                Contender {
                    name: "seed Python pool (busy-wait)",
                    role: Role::Seed,
                    run: |p| {
                        let pool = SeedPythonPool::new(p.threads);
                        idle_cpu_with(p, || {
                            run_few(|f| pool.submit(f));
                            pool.wait();
                        })
                    },
                },
            ],
        },
    ]
}

/// The performance targets of the pools issues. WorkStealingPool's reference is the rayon API
/// a user writes for the same program, named explicitly: `scope` + `spawn` for tasks that
/// spawn tasks, `rayon::join` for divide-and-conquer (see the module docs).
pub fn targets() -> Vec<Target> {
    let mut all = Vec::new();
    for workload in [
        "pools/tiny-tasks-1-submitter",
        "pools/tiny-tasks-2-submitters",
    ] {
        for threads in WORKERS {
            all.push(Target {
                claim: "LockFreePool runs tiny tasks ≥ 1.25× as fast as the best anchor",
                workload,
                threads,
                contender: "LockFreePool",
                reference: BEST_ANCHOR,
                min_advantage: 1.25,
            });
        }
        for threads in WORKERS {
            all.push(Target {
                claim: "CondvarPool<FutexFamily> is at least as fast as the threadpool crate",
                workload,
                threads,
                contender: "CondvarPool<FutexFamily>",
                reference: "threadpool",
                min_advantage: 1.0,
            });
        }
    }
    for (workload, min_advantage, claim) in [
        (
            "pools/fan-out-tree",
            1.2,
            "WorkStealingPool runs a fan-out tree ≥ 1.2× as fast as rayon",
        ),
        (
            "pools/200us-tasks",
            0.95,
            "WorkStealingPool runs ~200 µs tasks ≥ 0.95× as fast as rayon",
        ),
    ] {
        for threads in WORKERS {
            all.push(Target {
                claim,
                workload,
                threads,
                contender: "WorkStealingPool",
                reference: RAYON,
                min_advantage,
            });
        }
    }
    for threads in WORKERS {
        all.push(Target {
            claim:
                "WorkStealingPool's join runs divide-and-conquer at least as fast as rayon::join",
            workload: "pools/divide-and-conquer",
            threads,
            contender: crate::fork_join::STEALING_JOIN,
            reference: crate::fork_join::RAYON_JOIN,
            min_advantage: 1.0,
        });
    }
    for (workload, claim) in [
        (
            "pools/tiny-tasks-1-submitter",
            "WorkStealingPool runs tiny tasks ≥ 1.2× as fast as rayon (1 submitter)",
        ),
        (
            "pools/tiny-tasks-2-submitters",
            "WorkStealingPool runs tiny tasks ≥ 1.2× as fast as rayon (2 submitters)",
        ),
    ] {
        for threads in WORKERS {
            all.push(Target {
                claim,
                workload,
                threads,
                contender: STEALING_SCOPE,
                reference: RAYON,
                min_advantage: 1.2,
            });
        }
    }
    for (contender, claim) in [
        (
            "WorkStealingPool",
            "An idle 4-worker WorkStealingPool uses < 5 ms CPU per second",
        ),
        (
            "LockFreePool",
            "An idle 4-worker LockFreePool uses < 5 ms CPU per second",
        ),
        (
            "CondvarPool<FutexFamily>",
            "An idle 4-worker CondvarPool<FutexFamily> uses < 5 ms CPU per second",
        ),
    ] {
        all.push(Target {
            claim,
            workload: "pools/idle-cpu",
            threads: 4,
            contender,
            reference: crate::ABSOLUTE,
            min_advantage: 5.0,
        });
    }
    all
}

/// The pools' instruction counts: what one tiny task costs from `submit` to having run, on a
/// pool with one worker. One line per pool.
///
/// The submissions come from a task running *on* the worker, so nobody idles while the
/// counted tasks are queued and run: the worker is busy submitting, then busy running them,
/// and the caller sleeps in `wait`. (Submitting from the caller would let the worker catch up
/// and idle-search between tasks, a schedule-dependent spin that no two runs repeat.)
pub fn counted_ops() -> Vec<CountedOp> {
    vec![
        counted_pool(
            "WorkStealingPool",
            Role::Synclab,
            submit_to_run::<WorkStealingPool>,
        ),
        counted_pool("LockFreePool", Role::Synclab, submit_to_run::<LockFreePool>),
        counted_pool(
            "CondvarPool<FutexFamily>",
            Role::Synclab,
            submit_to_run::<FutexCondvarPool>,
        ),
        counted_pool(
            "CondvarPool<StdFamily>",
            Role::Synclab,
            submit_to_run::<StdCondvarPool>,
        ),
        counted_pool(RAYON, Role::Anchor, rayon_submit_to_run),
        counted_pool("threadpool", Role::Anchor, threadpool_submit_to_run),
        counted_pool(
            "crossbeam-channel pool",
            Role::Anchor,
            channel_submit_to_run,
        ),
    ]
}

/// Every counted pool gets this capacity, whatever `n`, so the queue's set-up costs the same
/// in the `n` and the `2n` run; `n` may not exceed it.
const COUNTED_CAPACITY: usize = 1 << 16;

fn counted_pool(contender: &'static str, role: Role, run: CountedRun) -> CountedOp {
    CountedOp {
        group: "pools",
        operation: "submit + run one tiny task, one worker",
        contender,
        role,
        scope: CountScope::Process,
        run,
    }
}

fn counted_tasks(n: u64) -> usize {
    let n = usize::try_from(n).expect("a counted run fits in memory");
    assert!(
        n <= COUNTED_CAPACITY,
        "at most {COUNTED_CAPACITY} counted tasks"
    );
    n
}

fn submit_to_run<P: ThreadPool + 'static>(n: u64, region: Region<'_>) {
    let n = counted_tasks(n);
    let config = PoolConfig::new(1).capacity(COUNTED_CAPACITY);
    let pool = Arc::new(P::build(config).expect("valid pool configuration"));
    region(&mut || {
        let inner = Arc::clone(&pool);
        pool.execute(move || {
            for i in 0..n {
                inner
                    .execute(move || {
                        black_box(i);
                    })
                    .expect("the pool is open");
            }
        })
        .expect("the pool is open");
        let _ = pool.wait();
    });
}

fn rayon_submit_to_run(n: u64, region: Region<'_>) {
    let n = counted_tasks(n);
    let pool = rayon_pool(1);
    region(&mut || {
        // `install` runs the scope on the worker; its spawns go to the worker's own deque.
        pool.install(|| {
            rayon::scope(|s| {
                for i in 0..n {
                    s.spawn(move |_| {
                        black_box(i);
                    });
                }
            })
        })
    });
}

fn threadpool_submit_to_run(n: u64, region: Region<'_>) {
    let n = counted_tasks(n);
    let pool = threadpool::ThreadPool::new(1);
    region(&mut || {
        let inner = pool.clone();
        pool.execute(move || {
            for i in 0..n {
                inner.execute(move || {
                    black_box(i);
                });
            }
        });
        pool.join();
    });
}

fn channel_submit_to_run(n: u64, region: Region<'_>) {
    let n = counted_tasks(n);
    let pool = Arc::new(ChannelPool::new(1, COUNTED_CAPACITY));
    region(&mut || {
        let inner = Arc::clone(&pool);
        pool.execute(move || {
            for i in 0..n {
                inner.execute(move || {
                    black_box(i);
                });
            }
        });
        pool.wait();
    });
}

/// Splits `n` tasks over `submitters` threads (the caller is one of them), each running
/// `submit_some(count)`, and returns when all have submitted.
fn submit_from(submitters: usize, n: usize, submit_some: impl Fn(usize) + Sync) {
    let share = n / submitters;
    std::thread::scope(|s| {
        for _ in 1..submitters {
            s.spawn(|| submit_some(share));
        }
        submit_some(n - share * (submitters - 1));
    });
}

fn synclab_tiny<P: ThreadPool>(p: &Params, submitters: usize) -> Measurement {
    let n = tasks(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid pool configuration");
    let start = Instant::now();
    submit_from(submitters, n, |count| {
        for i in 0..count {
            pool.execute(move || {
                black_box(i);
            })
            .expect("the pool is open");
        }
    });
    let _report = pool.wait().expect("the benchmark thread is not a worker");
    let elapsed = start.elapsed();
    pool.shutdown();
    Measurement::ops(n as u64, elapsed)
}

/// As `rayon_tiny`: each submitter opens its own scope and spawns handle-less tasks in it
/// (`Scope::execute`, rayon's `Scope::spawn`); the scope returns when its tasks are done. On a pool that installs the scope on a worker
/// ([`ThreadPool::install`]), the spawns are that worker's local pushes, as in rayon.
fn synclab_scope_tiny<P: ThreadPool>(p: &Params, submitters: usize) -> Measurement {
    let n = tasks(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid pool configuration");
    let start = Instant::now();
    submit_from(submitters, n, |count| {
        pool.scope(|s| {
            for i in 0..count {
                s.execute(move || {
                    black_box(i);
                });
            }
        })
    });
    let elapsed = start.elapsed();
    pool.shutdown();
    Measurement::ops(n as u64, elapsed)
}

/// A rayon pool whose drop waits until its workers have exited, as a synclab pool's
/// `shutdown` (or drop) joins its workers: rayon's own drop only tells them to exit, so they
/// would wind down during the next contender's timed part — a cost charged to whoever runs
/// next in the round. Built before a contender's timed part and dropped after it, like every
/// pool here.
pub(crate) struct RayonPool {
    pool: Option<rayon::ThreadPool>,
    exited: Arc<(Mutex<usize>, Condvar)>,
    workers: usize,
}

impl core::ops::Deref for RayonPool {
    type Target = rayon::ThreadPool;

    fn deref(&self) -> &rayon::ThreadPool {
        self.pool.as_ref().expect("alive until dropped")
    }
}

impl Drop for RayonPool {
    fn drop(&mut self) {
        drop(self.pool.take());
        let (count, exited) = &*self.exited;
        let mut count = count.lock().unwrap();
        while *count < self.workers {
            count = exited.wait(count).unwrap();
        }
    }
}

pub(crate) fn rayon_pool(workers: usize) -> RayonPool {
    let exited = Arc::new((Mutex::new(0), Condvar::new()));
    let on_exit = Arc::clone(&exited);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .exit_handler(move |_| {
            *on_exit.0.lock().unwrap() += 1;
            on_exit.1.notify_all();
        })
        .build()
        .expect("rayon pool");
    RayonPool {
        pool: Some(pool),
        exited,
        workers,
    }
}

fn rayon_tiny(p: &Params, submitters: usize) -> Measurement {
    let n = tasks(p);
    let pool = rayon_pool(p.threads);
    let start = Instant::now();
    // Each submitter opens its own scope: it returns when its spawned tasks are done (the
    // scope is rayon's `wait`).
    submit_from(submitters, n, |count| {
        pool.scope(|s| {
            for i in 0..count {
                s.spawn(move |_| {
                    black_box(i);
                });
            }
        })
    });
    let elapsed = start.elapsed();
    Measurement::ops(n as u64, elapsed)
}

fn threadpool_tiny(p: &Params, submitters: usize) -> Measurement {
    let n = tasks(p);
    let pool = threadpool::ThreadPool::new(p.threads);
    let start = Instant::now();
    let shared = Mutex::new(pool.clone());
    submit_from(submitters, n, |count| {
        // threadpool's handle is `Send` but not `Sync`: each submitter clones its own.
        let pool = shared.lock().unwrap().clone();
        for i in 0..count {
            pool.execute(move || {
                black_box(i);
            });
        }
    });
    pool.join();
    let elapsed = start.elapsed();
    Measurement::ops(n as u64, elapsed)
}

fn channel_tiny(p: &Params, submitters: usize) -> Measurement {
    let n = tasks(p);
    let pool = ChannelPool::new(p.threads, DEFAULT_CAPACITY);
    let start = Instant::now();
    submit_from(submitters, n, |count| {
        for i in 0..count {
            pool.execute(move || {
                black_box(i);
            });
        }
    });
    pool.wait();
    let elapsed = start.elapsed();
    Measurement::ops(n as u64, elapsed)
}

/// Levels below the root of the fan-out tree at this scale.
fn tree_depth(p: &Params) -> u32 {
    p.pick(6, TREE_DEPTH)
}

/// Tasks in a fan-out tree `depth` levels deep: 1 + 4 + … + 4^depth.
fn tree_tasks(depth: u32) -> usize {
    (FAN_OUT.pow(depth + 1) - 1) / (FAN_OUT - 1)
}

/// Numbers summed by the divide-and-conquer workload at this scale.
fn sum_len(p: &Params) -> u64 {
    p.pick(1 << 18, 1 << 24)
}

/// Tasks of the divide-and-conquer sum over `len` numbers: a binary tree down to [`CUTOFF`].
fn sum_tasks(len: u64) -> usize {
    (2 * (len / CUTOFF) - 1) as usize
}

/// The sum of `lo..hi`.
fn leaf_sum(lo: u64, hi: u64) -> u64 {
    (lo..hi).map(black_box).sum()
}

/// Spins for [`BUSY`] (a task of `pools/200us-tasks`).
fn busy() {
    let start = Instant::now();
    while start.elapsed() < BUSY {
        std::hint::spin_loop();
    }
}

/// Runs `f` with a `'static` reference to `pool`, then shuts the pool down (drops it).
///
/// The tree workloads' tasks submit more tasks, so each needs the pool; a `'static` reference
/// lets them have it without an `Arc` clone per task (an atomic increment and decrement that
/// rayon's `&Scope` does not pay, and that would be measured as the pools' cost).
///
/// # Safety
///
/// When `f` returns, no task that holds the reference may still exist: `f` waits for every
/// task to finish, and every pool drops a task's closure before counting it finished.
pub(crate) unsafe fn with_static<P: Sync + 'static, R>(
    pool: P,
    f: impl FnOnce(&'static P) -> R,
) -> R {
    let leaked: &'static P = Box::leak(Box::new(pool));
    let result = f(leaked);
    // SAFETY: `leaked` came from `Box::leak` above, and by the caller's contract nothing
    // holds it any more: it is reclaimed (and the pool shut down) exactly once.
    drop(unsafe { Box::from_raw(leaked as *const P as *mut P) });
    result
}

fn synclab_tree<P: ThreadPool + 'static>(p: &Params) -> Measurement {
    fn node<P: ThreadPool>(pool: &'static P, depth: u32) {
        black_box(depth);
        if depth > 0 {
            for _ in 0..FAN_OUT {
                pool.execute(move || node(pool, depth - 1))
                    .expect("the pool is open");
            }
        }
    }
    let depth = tree_depth(p);
    let n = tree_tasks(depth);
    let pool = P::build(PoolConfig::new(p.threads).capacity(n)).expect("valid configuration");
    // SAFETY: `wait` returns once every task has finished (and its closure was dropped).
    let elapsed = unsafe {
        with_static(pool, |pool| {
            let start = Instant::now();
            pool.execute(move || node(pool, depth))
                .expect("the pool is open");
            let _ = pool.wait();
            start.elapsed()
        })
    };
    Measurement::ops(n as u64, elapsed)
}

fn rayon_tree(p: &Params) -> Measurement {
    fn node<'s>(s: &rayon::Scope<'s>, depth: u32) {
        black_box(depth);
        if depth > 0 {
            for _ in 0..FAN_OUT {
                s.spawn(move |s| node(s, depth - 1));
            }
        }
    }
    let depth = tree_depth(p);
    let pool = rayon_pool(p.threads);
    let start = Instant::now();
    // The scope is rayon's `wait`: it returns when every spawned task has finished.
    pool.scope(|s| s.spawn(move |s| node(s, depth)));
    Measurement::ops(tree_tasks(depth) as u64, start.elapsed())
}

fn threadpool_tree(p: &Params) -> Measurement {
    // threadpool's handle is `Send` but not `Sync`: each task carries its own clone.
    fn node(pool: threadpool::ThreadPool, depth: u32) {
        black_box(depth);
        if depth > 0 {
            for _ in 0..FAN_OUT {
                let child = pool.clone();
                pool.execute(move || node(child, depth - 1));
            }
        }
    }
    let depth = tree_depth(p);
    let pool = threadpool::ThreadPool::new(p.threads);
    let start = Instant::now();
    let root = pool.clone();
    pool.execute(move || node(root, depth));
    pool.join();
    Measurement::ops(tree_tasks(depth) as u64, start.elapsed())
}

fn channel_tree(p: &Params) -> Measurement {
    fn node(pool: &'static ChannelPool, depth: u32) {
        black_box(depth);
        if depth > 0 {
            for _ in 0..FAN_OUT {
                pool.execute(move || node(pool, depth - 1));
            }
        }
    }
    let depth = tree_depth(p);
    let n = tree_tasks(depth);
    // SAFETY: `wait` returns once every task has run and been dropped.
    let elapsed = unsafe {
        with_static(ChannelPool::new(p.threads, n), |pool| {
            let start = Instant::now();
            pool.execute(move || node(pool, depth));
            pool.wait();
            start.elapsed()
        })
    };
    Measurement::ops(n as u64, elapsed)
}

/// Checks a divide-and-conquer result: the sum of `0..len`.
fn check_sum(total: &AtomicU64, len: u64) {
    assert_eq!(
        total.load(Ordering::Relaxed),
        len * (len - 1) / 2,
        "divide-and-conquer: a piece was lost or summed twice"
    );
}

fn synclab_sum<P: ThreadPool + 'static>(p: &Params) -> Measurement {
    fn piece<P: ThreadPool>(pool: &'static P, total: &'static AtomicU64, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        for (a, b) in [(lo, mid), (mid, hi)] {
            pool.execute(move || piece(pool, total, a, b))
                .expect("the pool is open");
        }
    }
    let len = sum_len(p);
    let n = sum_tasks(len);
    let pool = P::build(PoolConfig::new(p.threads).capacity(n)).expect("valid configuration");
    // SAFETY: `wait` returns once every task has finished (and its closure was dropped).
    let (elapsed, total) = unsafe {
        with_static((pool, AtomicU64::new(0)), |(pool, total)| {
            let start = Instant::now();
            pool.execute(move || piece(pool, total, 0, len))
                .expect("the pool is open");
            let _ = pool.wait();
            (start.elapsed(), total.load(Ordering::Relaxed))
        })
    };
    check_sum(&AtomicU64::new(total), len);
    Measurement::ops(n as u64, elapsed)
}

fn rayon_sum(p: &Params) -> Measurement {
    fn piece<'s>(s: &rayon::Scope<'s>, total: &'s AtomicU64, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        for (a, b) in [(lo, mid), (mid, hi)] {
            s.spawn(move |s| piece(s, total, a, b));
        }
    }
    let len = sum_len(p);
    let pool = rayon_pool(p.threads);
    let total = AtomicU64::new(0);
    let start = Instant::now();
    pool.scope(|s| {
        let total = &total;
        s.spawn(move |s| piece(s, total, 0, len));
    });
    let elapsed = start.elapsed();
    check_sum(&total, len);
    Measurement::ops(sum_tasks(len) as u64, elapsed)
}

/// synclab's `join` on a WorkStealingPool: each split runs one half on this thread and
/// offers the other to thieves as a job on the stack; counted in the same "tasks" (pieces of
/// the tree) as the others.
fn synclab_join_sum(p: &Params) -> Measurement {
    fn piece(pool: &WorkStealingPool, total: &AtomicU64, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        pool.join(
            || piece(pool, total, lo, mid),
            || piece(pool, total, mid, hi),
        );
    }
    let len = sum_len(p);
    let pool = WorkStealingPool::with_workers(p.threads).expect("valid configuration");
    let total = AtomicU64::new(0);
    let start = Instant::now();
    pool.install(|| piece(&pool, &total, 0, len))
        .expect("the pool is open");
    let elapsed = start.elapsed();
    check_sum(&total, len);
    pool.shutdown();
    Measurement::ops(sum_tasks(len) as u64, elapsed)
}

/// `rayon::join`, the reference of the divide-and-conquer target: what a rayon user writes.
fn rayon_join_sum(p: &Params) -> Measurement {
    fn piece(total: &AtomicU64, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        rayon::join(|| piece(total, lo, mid), || piece(total, mid, hi));
    }
    let len = sum_len(p);
    let pool = rayon_pool(p.threads);
    let total = AtomicU64::new(0);
    let start = Instant::now();
    pool.install(|| piece(&total, 0, len));
    let elapsed = start.elapsed();
    check_sum(&total, len);
    Measurement::ops(sum_tasks(len) as u64, elapsed)
}

fn threadpool_sum(p: &Params) -> Measurement {
    fn piece(pool: threadpool::ThreadPool, total: Arc<AtomicU64>, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        for (a, b) in [(lo, mid), (mid, hi)] {
            let (child, total) = (pool.clone(), Arc::clone(&total));
            pool.execute(move || piece(child, total, a, b));
        }
    }
    let len = sum_len(p);
    let pool = threadpool::ThreadPool::new(p.threads);
    let total = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (root, t) = (pool.clone(), Arc::clone(&total));
    pool.execute(move || piece(root, t, 0, len));
    pool.join();
    let elapsed = start.elapsed();
    check_sum(&total, len);
    Measurement::ops(sum_tasks(len) as u64, elapsed)
}

fn channel_sum(p: &Params) -> Measurement {
    fn piece(pool: &'static ChannelPool, total: &'static AtomicU64, lo: u64, hi: u64) {
        if hi - lo <= CUTOFF {
            total.fetch_add(leaf_sum(lo, hi), Ordering::Relaxed);
            return;
        }
        let mid = lo + (hi - lo) / 2;
        for (a, b) in [(lo, mid), (mid, hi)] {
            pool.execute(move || piece(pool, total, a, b));
        }
    }
    let len = sum_len(p);
    let n = sum_tasks(len);
    // SAFETY: `wait` returns once every task has run and been dropped.
    let (elapsed, total) = unsafe {
        with_static(
            (ChannelPool::new(p.threads, n), AtomicU64::new(0)),
            |(pool, total)| {
                let start = Instant::now();
                pool.execute(move || piece(pool, total, 0, len));
                pool.wait();
                (start.elapsed(), total.load(Ordering::Relaxed))
            },
        )
    };
    check_sum(&AtomicU64::new(total), len);
    Measurement::ops(n as u64, elapsed)
}

/// Tasks of `pools/200us-tasks` at this scale.
fn busy_tasks(p: &Params) -> usize {
    p.pick(200, 1000)
}

fn synclab_busy<P: ThreadPool>(p: &Params) -> Measurement {
    let n = busy_tasks(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid configuration");
    let start = Instant::now();
    for _ in 0..n {
        pool.execute(busy).expect("the pool is open");
    }
    let _ = pool.wait();
    let elapsed = start.elapsed();
    pool.shutdown();
    Measurement::ops(n as u64, elapsed)
}

fn rayon_busy(p: &Params) -> Measurement {
    let n = busy_tasks(p);
    let pool = rayon_pool(p.threads);
    let start = Instant::now();
    pool.scope(|s| {
        for _ in 0..n {
            s.spawn(|_| busy());
        }
    });
    Measurement::ops(n as u64, start.elapsed())
}

fn threadpool_busy(p: &Params) -> Measurement {
    let n = busy_tasks(p);
    let pool = threadpool::ThreadPool::new(p.threads);
    let start = Instant::now();
    for _ in 0..n {
        pool.execute(busy);
    }
    pool.join();
    Measurement::ops(n as u64, start.elapsed())
}

fn channel_busy(p: &Params) -> Measurement {
    let n = busy_tasks(p);
    let pool = ChannelPool::new(p.threads, DEFAULT_CAPACITY);
    let start = Instant::now();
    for _ in 0..n {
        pool.execute(busy);
    }
    pool.wait();
    Measurement::ops(n as u64, start.elapsed())
}

/// The checksum of `spawn-join`: the sum of every task's result, `0 + 1 + … + (n - 1)`.
fn results_sum(n: usize) -> u64 {
    let n = n as u64;
    n * (n - 1) / 2
}

fn synclab_spawn_join<P: ThreadPool>(p: &Params) -> Measurement {
    let n = tasks(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid pool configuration");
    let start = Instant::now();
    let handles: Vec<_> = (0..n as u64)
        .map(|i| pool.spawn(move || black_box(i)).expect("the pool is open"))
        .collect();
    let sum: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("no task panics"))
        .sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, results_sum(n), "a result was lost");
    pool.shutdown();
    Measurement::ops(n as u64, elapsed)
}

fn synclab_scope_slots<P: ThreadPool>(p: &Params) -> Measurement {
    let n = tasks(p);
    let pool = P::build(PoolConfig::new(p.threads)).expect("valid pool configuration");
    let mut results = vec![0u64; n];
    let start = Instant::now();
    pool.scope(|s| {
        for (i, slot) in results.iter_mut().enumerate() {
            s.spawn(move || *slot = black_box(i as u64));
        }
    });
    let sum: u64 = results.iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, results_sum(n), "a result was lost");
    pool.shutdown();
    Measurement::ops(n as u64, elapsed)
}

fn rayon_scope_slots(p: &Params) -> Measurement {
    let n = tasks(p);
    let pool = rayon_pool(p.threads);
    let mut results = vec![0u64; n];
    let start = Instant::now();
    pool.scope(|s| {
        for (i, slot) in results.iter_mut().enumerate() {
            s.spawn(move |_| *slot = black_box(i as u64));
        }
    });
    let sum: u64 = results.iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, results_sum(n), "a result was lost");
    Measurement::ops(n as u64, elapsed)
}

fn threadpool_results(p: &Params) -> Measurement {
    let n = tasks(p);
    let pool = threadpool::ThreadPool::new(p.threads);
    let start = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel::<u64>();
    for i in 0..n as u64 {
        let tx = tx.clone();
        pool.execute(move || tx.send(black_box(i)).expect("the receiver is alive"));
    }
    drop(tx);
    let sum: u64 = rx.iter().sum();
    let elapsed = start.elapsed();
    assert_eq!(sum, results_sum(n), "a result was lost");
    Measurement::ops(n as u64, elapsed)
}

/// Submits a few tasks through `submit`, so the workers have been through their loop once.
fn run_few(mut submit: impl FnMut(Box<dyn FnOnce() + Send + 'static>)) {
    for i in 0..64 {
        submit(Box::new(move || {
            black_box(i);
        }));
    }
}

fn idle_cpu<P: ThreadPool>(p: &Params, pool: P) -> Measurement {
    idle_cpu_with(p, || {
        run_few(|f| pool.submit(f).expect("the pool is open"));
        let _report = pool.wait().expect("the benchmark thread is not a worker");
    })
}

/// Runs `warm_up` (a few tasks and a wait), lets the workers settle for 10 ms (20 ms in a
/// full run: every pool here is through its spin and yield phases in well under a
/// millisecond), then measures an [`crate::idle_window`].
fn idle_cpu_with(p: &Params, warm_up: impl FnOnce()) -> Measurement {
    warm_up();
    crate::idle_window(p, Duration::from_millis(p.pick(10, 20)))
}

/// A small, fair anchor: workers `recv` boxed tasks from a bounded crossbeam channel; `wait`
/// sleeps on a mutex + condvar until a pending counter is 0 (threadpool's `join` protocol:
/// the last task locks the mutex before `notify_all`, so the check-then-wait cannot miss it).
#[derive(Debug)]
pub struct ChannelPool {
    sender: Option<crossbeam_channel::Sender<Box<dyn FnOnce() + Send>>>,
    shared: Arc<ChannelShared>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

#[derive(Debug, Default)]
struct ChannelShared {
    pending: AtomicUsize,
    lock: Mutex<()>,
    idle: Condvar,
}

impl ChannelPool {
    /// `workers` workers over a channel of `capacity` tasks.
    pub fn new(workers: usize, capacity: usize) -> Self {
        let (sender, receiver) = crossbeam_channel::bounded::<Box<dyn FnOnce() + Send>>(capacity);
        let shared = Arc::new(ChannelShared::default());
        let workers = (0..workers)
            .map(|_| {
                let (receiver, shared) = (receiver.clone(), Arc::clone(&shared));
                std::thread::spawn(move || {
                    for task in receiver.iter() {
                        task();
                        // AcqRel: publishes the task's effects to `wait`'s Acquire load.
                        if shared.pending.fetch_sub(1, Ordering::AcqRel) == 1 {
                            drop(shared.lock.lock().unwrap());
                            shared.idle.notify_all();
                        }
                    }
                })
            })
            .collect();
        Self {
            sender: Some(sender),
            shared,
            workers,
        }
    }

    /// Queues `f`, waiting while the channel is full.
    pub fn execute(&self, f: impl FnOnce() + Send + 'static) {
        self.shared.pending.fetch_add(1, Ordering::Relaxed);
        self.sender
            .as_ref()
            .expect("open until drop")
            .send(Box::new(f))
            .expect("workers outlive the sender");
    }

    /// Returns when no task is pending.
    pub fn wait(&self) {
        // Acquire: pairs with the workers' AcqRel decrement.
        if self.shared.pending.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut guard = self.shared.lock.lock().unwrap();
        while self.shared.pending.load(Ordering::Acquire) != 0 {
            guard = self.shared.idle.wait(guard).unwrap();
        }
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        self.sender.take(); // disconnects: workers drain and leave `recv`
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_pool_contender_completes() {
        for w in workloads() {
            for c in &w.contenders {
                let p = Params {
                    threads: 2,
                    scale: Scale::Quick,
                };
                let m = (c.run)(&p);
                let want = match w.id {
                    "pools/fan-out-tree" => tree_tasks(6) as u64,
                    "pools/divide-and-conquer" => sum_tasks(1 << 18) as u64,
                    "pools/200us-tasks" => 200,
                    _ => tasks(&p) as u64,
                };
                match w.metric {
                    Metric::CpuMsPerSec => assert!(m.cpu.is_some(), "{}: {}", w.id, c.name),
                    _ => assert_eq!(m.ops, want, "{}: {}", w.id, c.name),
                }
            }
        }
    }

    #[test]
    fn channel_pool_waits_for_every_task() {
        let pool = ChannelPool::new(3, 4);
        let done = Arc::new(AtomicUsize::new(0));
        for _ in 0..1000 {
            let done = Arc::clone(&done);
            pool.execute(move || {
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
        pool.wait();
        assert_eq!(done.load(Ordering::Relaxed), 1000);
    }
}
