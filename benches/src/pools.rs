//! Workloads of the pools group: the seed's thread pool, at full speed.
//!
//! * `pools/tiny-tasks-1-submitter`, `pools/tiny-tasks-2-submitters` — 50 000 tiny boxed
//!   tasks (10 000 in a quick run) submitted from one (or two) threads, then `wait`; tasks per
//!   second in millions (one op = one task), at 2, 4 and 8 workers. Every synclab pool beside rayon (its own
//!   `ThreadPool`, `scope` + `spawn`), the `threadpool` crate, and a small fair pool over a
//!   bounded crossbeam channel ([`ChannelPool`]). The bounded pools all get the same capacity
//!   ([`synclab::pool::DEFAULT_CAPACITY`]); rayon's injector and threadpool's channel are
//!   unbounded.
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
//! Pool construction and shutdown are outside the timed part.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use synclab::pool::{
    FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool, DEFAULT_CAPACITY,
};
use synclab::zoo::pool::SeedPythonPool;

use crate::{
    Contender, CountScope, CountedOp, CountedRun, Measurement, Metric, Params, Region, Role,
    Target, Workload, BEST_ANCHOR,
};

/// Worker counts the throughput workloads run at.
const WORKERS: [usize; 3] = [2, 4, 8];

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
    let throughput = |id, title, one: [fn(&Params) -> Measurement; 6]| {
        at_every_worker_count(
            id,
            title,
            vec![
                Contender {
                    name: "LockFreePool",
                    role: Role::Synclab,
                    run: one[0],
                },
                Contender {
                    name: "CondvarPool<FutexFamily>",
                    role: Role::Synclab,
                    run: one[1],
                },
                Contender {
                    name: "CondvarPool<StdFamily>",
                    role: Role::Synclab,
                    run: one[2],
                },
                Contender {
                    name: "rayon scope+spawn",
                    role: Role::Anchor,
                    run: one[3],
                },
                Contender {
                    name: "threadpool",
                    role: Role::Anchor,
                    run: one[4],
                },
                Contender {
                    name: "crossbeam-channel pool",
                    role: Role::Anchor,
                    run: one[5],
                },
            ],
        )
    };
    vec![
        throughput(
            "pools/tiny-tasks-1-submitter",
            "Tiny tasks from 1 submitter, then wait (one op = one task)",
            [
                |p| synclab_tiny::<LockFreePool>(p, 1),
                |p| synclab_tiny::<FutexCondvarPool>(p, 1),
                |p| synclab_tiny::<StdCondvarPool>(p, 1),
                |p| rayon_tiny(p, 1),
                |p| threadpool_tiny(p, 1),
                |p| channel_tiny(p, 1),
            ],
        ),
        throughput(
            "pools/tiny-tasks-2-submitters",
            "Tiny tasks from 2 submitters, then wait (one op = one task)",
            [
                |p| synclab_tiny::<LockFreePool>(p, 2),
                |p| synclab_tiny::<FutexCondvarPool>(p, 2),
                |p| synclab_tiny::<StdCondvarPool>(p, 2),
                |p| rayon_tiny(p, 2),
                |p| threadpool_tiny(p, 2),
                |p| channel_tiny(p, 2),
            ],
        ),
        at_every_worker_count(
            "pools/spawn-join",
            "Tiny tasks that return a value, collected by the submitter (tasks/s)",
            vec![
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
                    name: "LockFreePool scope+spawn",
                    role: Role::Synclab,
                    run: synclab_scope_slots::<LockFreePool>,
                },
                Contender {
                    name: "rayon scope+spawn",
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
                    name: "rayon",
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

/// The performance targets of the pools issue. (The idle-CPU budget — an idle 4-worker pool
/// under 5 ms of CPU per second — is absolute, not a ratio, so it is checked in the docs from
/// the `pools/idle-cpu` figures rather than here.)
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
    for (contender, claim) in [
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
        counted_pool("rayon scope+spawn", Role::Anchor, rayon_submit_to_run),
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

fn rayon_pool(workers: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(workers)
        .build()
        .expect("rayon pool")
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
                match w.metric {
                    Metric::CpuMsPerSec => assert!(m.cpu.is_some(), "{}: {}", w.id, c.name),
                    _ => assert_eq!(m.ops as usize, tasks(&p), "{}: {}", w.id, c.name),
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
