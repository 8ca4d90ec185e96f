//! `synclab demo pool`: the seed's thread-pool run ("Thread Pool in Python" / "in C++") with
//! any pool design.
//!
//! Like the seed's `main`, it submits `--jobs` tasks that each sleep `--task-ms` and print
//! which worker ran them, then calls `wait`. It then shows what the seed could not:
//!
//! * when `wait` returned against when the last task finished (the seed's C++ `Wait()` returns
//!   while tasks still run);
//! * the CPU time the pool used while its workers had nothing to do (the seed's Python workers
//!   busy-wait);
//! * what `wait` reports when a task panics (`--panic-task`; the seed's Python `join()` never
//!   returns).
//!
//! The seed ports can hang (that is their bug), so the run happens on a driver thread and the
//! demo gives up on `wait` after `--timeout-ms`, reports the hang and exits: it never hangs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use synclab::pool::{FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool};
use synclab::zoo::pool::{SeedCppPool, SeedPythonPool};
use synclab_benches::process_cpu_time;

/// Which pool runs the seed's scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolImpl {
    /// `CondvarPool` over std's `Mutex` + `Condvar`.
    Std,
    /// `CondvarPool` over synclab's futex mutex and condvar.
    Futex,
    /// `LockFreePool`: the lock-free queue and event counts.
    Lockfree,
    /// The seed's C++ pool, ported with its bugs (zoo).
    SeedCpp,
    /// The seed's Python pool, ported with its bugs (zoo).
    SeedPython,
}

/// Arguments of `synclab demo pool`.
#[derive(Debug, clap::Args)]
pub struct PoolArgs {
    /// The pool design.
    #[arg(long = "impl", value_enum, default_value = "lockfree")]
    pub implementation: PoolImpl,
    /// Tasks to submit (the seed: 20).
    #[arg(long, default_value_t = 20)]
    pub jobs: usize,
    /// Worker threads (the seed: 5).
    #[arg(long, default_value_t = 5)]
    pub threads: usize,
    /// How long each task sleeps, in milliseconds (the seed: 3000).
    #[arg(long, default_value_t = 300)]
    pub task_ms: u64,
    /// Queue capacity for the synclab pools and the Python port (default: --threads, the
    /// seed's `Queue(num_threads)`; the C++ seed's queue is unbounded).
    #[arg(long)]
    pub capacity: Option<usize>,
    /// Make task number N panic, to see what `wait` does then.
    #[arg(long)]
    pub panic_task: Option<usize>,
    /// How long the idle pool is watched for CPU use after the run, in milliseconds.
    #[arg(long, default_value_t = 500)]
    pub idle_ms: u64,
    /// Give up on `wait` after this many milliseconds (default: twice the expected run time
    /// plus 2 s).
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Run the workers as processes taking jobs from a queue in a shared segment
    /// (`BlockingQueueIn<Shm>`; Linux only); `--threads` is then the number of processes.
    #[arg(long)]
    pub processes: bool,
    /// With --processes: kill (SIGKILL) worker N while it runs its first job; the parent
    /// detects it and re-queues the job.
    #[arg(long, requires = "processes")]
    pub kill_worker: Option<usize>,
}

/// A pool as the demo drives it.
trait DemoPool: Send + Sync + 'static {
    fn submit(&self, task: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String>;
    /// Waits; returns the panicked-task count if the design reports one.
    fn wait(&self) -> Option<usize>;
    /// Shuts the pool down; a one-line summary.
    fn finish(self: Box<Self>) -> String;
}

struct Synclab<P>(P);

impl<P: ThreadPool + 'static> DemoPool for Synclab<P> {
    fn submit(&self, task: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        self.0.submit(task).map_err(|e| e.to_string())
    }
    fn wait(&self) -> Option<usize> {
        Some(self.0.wait().panicked)
    }
    fn finish(self: Box<Self>) -> String {
        let report = self.0.shutdown();
        format!(
            "shutdown: {} workers joined, {} panicked task(s) not reported by wait",
            report.workers_joined, report.panicked
        )
    }
}

impl DemoPool for SeedCppPool {
    fn submit(&self, task: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        SeedCppPool::submit(self, task);
        Ok(())
    }
    fn wait(&self) -> Option<usize> {
        SeedCppPool::wait(self);
        None
    }
    fn finish(self: Box<Self>) -> String {
        drop(self);
        "~ThreadPool(): workers joined".into()
    }
}

impl DemoPool for SeedPythonPool {
    fn submit(&self, task: Box<dyn FnOnce() + Send + 'static>) -> Result<(), String> {
        SeedPythonPool::submit(self, task);
        Ok(())
    }
    fn wait(&self) -> Option<usize> {
        SeedPythonPool::wait(self);
        None
    }
    fn finish(self: Box<Self>) -> String {
        drop(self);
        "daemon workers left running (never joined, as in the seed)".into()
    }
}

fn build(args: &PoolArgs) -> Result<Box<dyn DemoPool>, String> {
    let capacity = args.capacity.unwrap_or(args.threads);
    let config = PoolConfig::new(args.threads).capacity(capacity);
    let err = |e: synclab::pool::BuildError| e.to_string();
    Ok(match args.implementation {
        PoolImpl::Std => Box::new(Synclab(StdCondvarPool::build(config).map_err(err)?)),
        PoolImpl::Futex => Box::new(Synclab(FutexCondvarPool::build(config).map_err(err)?)),
        PoolImpl::Lockfree => Box::new(Synclab(LockFreePool::build(config).map_err(err)?)),
        PoolImpl::SeedCpp | PoolImpl::SeedPython if args.threads == 0 => {
            return Err("--threads must be at least 1, got 0".into())
        }
        PoolImpl::SeedCpp => Box::new(SeedCppPool::new(args.threads)),
        PoolImpl::SeedPython => Box::new(SeedPythonPool::new(args.threads)),
    })
}

/// What the driver thread reports to the main thread.
enum Event {
    Waited {
        at: Duration,
        panicked: Option<usize>,
    },
    SubmitFailed(String),
    Finished(String),
}

/// Runs the demo.
pub fn run(args: PoolArgs) -> Result<(), String> {
    if args.processes {
        #[cfg(target_os = "linux")]
        return crate::demo_processes::pool(
            args.jobs,
            args.threads,
            args.task_ms,
            args.kill_worker,
        );
        #[cfg(not(target_os = "linux"))]
        return Err("--processes needs Linux (POSIX shared memory and /proc)".into());
    }
    if args.jobs == 0 {
        return Err("--jobs must be at least 1, got 0".into());
    }
    if let Some(n) = args.panic_task {
        if n >= args.jobs {
            return Err(format!(
                "--panic-task must name one of the {} jobs (0..{}), got {n}",
                args.jobs,
                args.jobs - 1
            ));
        }
        // The panic is the demo's point; keep its message to one line.
        std::panic::set_hook(Box::new(|info| {
            let message = info
                .payload()
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| info.payload().downcast_ref::<&str>().copied())
                .unwrap_or("<non-string payload>");
            eprintln!("  (a task panicked: {message})");
        }));
    }
    let pool = build(&args)?;
    let rounds = args.jobs.div_ceil(args.threads.max(1)) as u64;
    let expected = Duration::from_millis(rounds * args.task_ms);
    let timeout = args
        .timeout_ms
        .map(Duration::from_millis)
        .unwrap_or(2 * expected + Duration::from_secs(2));
    println!(
        "synclab demo pool: impl={:?} jobs={} threads={} task={} ms capacity={} (expected run ≈ {} ms)",
        args.implementation,
        args.jobs,
        args.threads,
        args.task_ms,
        match args.implementation {
            PoolImpl::SeedCpp => "unbounded".to_string(),
            _ => args.capacity.unwrap_or(args.threads).to_string(),
        },
        expected.as_millis()
    );

    let start = Instant::now();
    let finished_at = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let finished = Arc::new(AtomicUsize::new(0));
    let (events, inbox) = mpsc::channel::<Event>();
    let (release, released) = mpsc::channel::<()>();
    let cpu_before = process_cpu_time();

    let driver = {
        let (finished_at, finished) = (Arc::clone(&finished_at), Arc::clone(&finished));
        let (jobs, task_ms, panic_task) = (args.jobs, args.task_ms, args.panic_task);
        std::thread::spawn(move || {
            for idx in 0..jobs {
                let (finished_at, finished) = (Arc::clone(&finished_at), Arc::clone(&finished));
                // The seed's cpu_waster(idx): sleep, then say who did the work.
                let task = Box::new(move || {
                    std::thread::sleep(Duration::from_millis(task_ms));
                    if Some(idx) == panic_task {
                        panic!("task {idx} panics on purpose");
                    }
                    println!("  {:?} : doing {idx} work", std::thread::current().id());
                    finished_at
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(start.elapsed());
                    finished.fetch_add(1, Ordering::Release);
                });
                if let Err(e) = pool.submit(task) {
                    let _ = events.send(Event::SubmitFailed(e));
                    return;
                }
            }
            let panicked = pool.wait();
            let _ = events.send(Event::Waited {
                at: start.elapsed(),
                panicked,
            });
            // Keep the pool alive (and idle) until the main thread has measured it.
            let _ = released.recv();
            let _ = events.send(Event::Finished(pool.finish()));
        })
    };

    let expected_finishes = args.jobs - usize::from(args.panic_task.is_some());
    let waited = match inbox.recv_timeout(timeout) {
        Ok(Event::Waited { at, panicked }) => Some((at, panicked)),
        Ok(Event::SubmitFailed(e)) => return Err(format!("submit failed: {e}")),
        Ok(Event::Finished(_)) => unreachable!("the driver reports Waited first"),
        Err(_) => None,
    };

    // Let every task that can finish do so (a premature `wait` returns before they have).
    let deadline = Instant::now() + timeout;
    while finished.load(Ordering::Acquire) < expected_finishes && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let last_finished = finished_at
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .max()
        .copied();
    let run_cpu = process_cpu_time().saturating_sub(cpu_before);
    let run_wall = start.elapsed();

    println!();
    match (waited, last_finished) {
        (Some((at, panicked)), Some(last)) => {
            let verdict = if at >= last {
                format!(
                    "{:.1} ms after the last task finished: correct",
                    (at - last).as_secs_f64() * 1e3
                )
            } else {
                format!(
                    "{:.1} ms BEFORE the last task finished: a premature return (the seed's C++ Wait() \
                     waits for an empty queue, not for finished tasks)",
                    (last - at).as_secs_f64() * 1e3
                )
            };
            println!(
                "wait() returned at {:.1} ms; the last task finished at {:.1} ms → wait returned {verdict}",
                at.as_secs_f64() * 1e3,
                last.as_secs_f64() * 1e3
            );
            match panicked {
                Some(n) => println!("wait() reported {n} panicked task(s)"),
                None => println!("wait() reports nothing about panics (the seed's design)"),
            }
        }
        (Some((at, _)), None) => println!(
            "wait() returned at {:.1} ms, but no task finished",
            at.as_secs_f64() * 1e3
        ),
        (None, _) => {
            let why = match args.implementation {
                PoolImpl::SeedPython if args.panic_task.is_some() => {
                    "the seed's Python pool: the panicking task ended its worker before task_done(), \
                     so join() waits forever"
                }
                PoolImpl::SeedCpp => {
                    "the seed's C++ Wait(): its notify_one fell between Wait()'s check and its sleep \
                     (a lost wakeup)"
                }
                _ => "this should not happen: please report it",
            };
            println!(
                "wait() did NOT return within {:.1} s: a hang — {why}",
                timeout.as_secs_f64()
            );
        }
    }
    println!(
        "CPU used during the run: {:.1} ms over {:.0} ms (the tasks only sleep: this is the pool's own cost)",
        run_cpu.as_secs_f64() * 1e3,
        run_wall.as_secs_f64() * 1e3
    );

    // Watch the idle pool.
    let idle = Duration::from_millis(args.idle_ms);
    let cpu_idle_start = process_cpu_time();
    let idle_start = Instant::now();
    std::thread::sleep(idle);
    let idle_cpu = process_cpu_time().saturating_sub(cpu_idle_start);
    let idle_wall = idle_start.elapsed();
    println!(
        "CPU used by {} idle workers over {:.0} ms: {:.1} ms ({:.1} ms of CPU per second){}",
        args.threads,
        idle_wall.as_secs_f64() * 1e3,
        idle_cpu.as_secs_f64() * 1e3,
        idle_cpu.as_secs_f64() * 1e3 / idle_wall.as_secs_f64(),
        if args.implementation == PoolImpl::SeedPython {
            " — the seed's Python workers busy-wait on tasks.empty()"
        } else {
            ""
        }
    );

    if waited.is_none() {
        // The driver is stuck in wait(): leave it; returning from main ends the process.
        println!("(leaving the hung pool behind)");
        return Ok(());
    }
    let _ = release.send(());
    match inbox.recv_timeout(timeout) {
        Ok(Event::Finished(summary)) => println!("{summary}"),
        _ => println!(
            "shutdown did not finish within {:.1} s (leaving it behind)",
            timeout.as_secs_f64()
        ),
    }
    if driver.is_finished() {
        let _ = driver.join();
    }
    Ok(())
}
