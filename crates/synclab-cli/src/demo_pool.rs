//! `synclab demo pool`: the thread-pool scenario (the "thread pool in Python" and "in C++"
//! programs of the tutorial on shared-memory IPC that synclab starts from) with any pool
//! design.
//!
//! Like the tutorial's `main`, it submits `--jobs` tasks that each sleep `--task-ms` and print
//! which worker ran them, then calls `wait`. It then shows what the original programs could
//! not:
//!
//! * when `wait` returned against when the last task finished (the C++ program's `Wait()`
//!   returns while tasks still run);
//! * the CPU time the pool used while its workers had nothing to do (the Python program's
//!   workers busy-wait);
//! * what `wait` reports when a task panics (`--panic-task`; the Python program's `join()`
//!   never returns).
//!
//! The ports of the original pools can hang (that is their bug), so the run happens on a
//! driver thread watched by a **watchdog derived from the job**: it declares a hang only when
//! `wait` has not returned and no task has finished for [`stall_limit`] (twice a task's
//! length plus two seconds), however many tasks there are. A `--timeout-ms` the user gives is
//! a deadline of their own, reported as such. Either way the demo never hangs.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use synclab::pool::{
    FutexCondvarPool, LockFreePool, PoolConfig, StdCondvarPool, ThreadPool, WorkStealingPool,
};
use synclab_benches::process_cpu_time;
use synclab_zoo::pool::{SeedCppPool, SeedPythonPool};

/// The most workers `--threads` accepts.
pub const MAX_WORKERS: usize = 1024;
/// The most tasks `--jobs` accepts.
pub const MAX_JOBS: usize = 10_000_000;
/// The longest `--task-ms` and `--idle-ms`, in ms (one minute, as the array demo's delays).
pub const MAX_MS: u64 = 60_000;
/// The longest `--timeout-ms`, in ms (one hour).
pub const MAX_TIMEOUT_MS: u64 = 3_600_000;
/// The largest `--capacity`.
pub const MAX_CAPACITY: usize = 1 << 20;

/// Which pool runs the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PoolImpl {
    /// `CondvarPool` over std's `Mutex` + `Condvar`.
    Std,
    /// `CondvarPool` over synclab's futex mutex and condvar.
    Futex,
    /// `LockFreePool`: the lock-free queue and event counts.
    Lockfree,
    /// `WorkStealingPool`: a Chase–Lev deque per worker, an injector, stealing.
    WorkStealing,
    /// The original C++ pool, ported with its bugs: `Wait()` returns once the queue is
    /// empty, not when tasks are done, and can miss its wake-up. Its `Wait()` reads the queue
    /// under the queue's mutex here: the original's unguarded read is a data race, undefined
    /// behaviour on real threads, which only the model checker is shown (`cargo xtask
    /// verify`); the other three bugs stay.
    SeedCpp,
    /// The original Python pool, ported with its bugs: workers busy-wait on an empty queue,
    /// and a panicking task makes `join()` wait forever.
    SeedPython,
}

/// Arguments of `synclab demo pool`.
#[derive(Debug, clap::Args)]
pub struct PoolArgs {
    /// The pool design.
    #[arg(long = "impl", value_enum, default_value = "lockfree")]
    pub implementation: PoolImpl,
    /// Tasks to submit (1 to 10000000; the original programs submit 20).
    #[arg(long, default_value_t = 20)]
    pub jobs: usize,
    /// Worker threads (1 to 1024; the original programs start 5).
    #[arg(long, default_value_t = 5)]
    pub threads: usize,
    /// How long each task sleeps, in milliseconds (at most 60000; the original tasks sleep
    /// 3000).
    #[arg(long, default_value_t = 300)]
    pub task_ms: u64,
    /// Queue capacity for the synclab pools and the Python port (1 to 1048576; default:
    /// --threads, as the Python program's `Queue(num_threads)`; the C++ program's queue is
    /// unbounded).
    #[arg(long)]
    pub capacity: Option<usize>,
    /// Make task number N panic, to see what `wait` does then.
    #[arg(long)]
    pub panic_task: Option<usize>,
    /// How long the idle pool is watched for CPU use after the run, in milliseconds (at most
    /// 60000).
    #[arg(long, default_value_t = 500)]
    pub idle_ms: u64,
    /// A deadline of your own for `wait`, in milliseconds (at most 3600000). Without it, a
    /// watchdog reports a hang when no task has finished for twice a task's length plus 2 s.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
    /// Run the workers as processes taking jobs from a queue in a shared segment
    /// (`BlockingQueue<u64, ArrayQueue<u64, Shm>>`; Linux only); `--threads` is then the number of processes.
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
        // The demo's driver thread is not one of the pool's workers: `wait` waits.
        self.0.wait().ok().map(|report| report.panicked)
    }
    fn finish(self: Box<Self>) -> String {
        let report = self.0.shutdown();
        let lost = if report.workers_lost == 0 {
            String::new()
        } else {
            format!(
                ", {} worker(s) LOST (died by unwinding: a synclab bug, please report it)",
                report.workers_lost
            )
        };
        format!(
            "shutdown: {} workers joined, {} panicked task(s) not reported by wait{lost}",
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

impl PoolArgs {
    /// Checks every number before anything starts; the error names the option.
    fn validate(&self) -> Result<(), String> {
        let range = |name: &str, value: u128, lo: u128, hi: u128| {
            if value < lo || value > hi {
                Err(format!(
                    "{name} must be between {lo} and {hi} (got {value})"
                ))
            } else {
                Ok(())
            }
        };
        range("--threads", self.threads as u128, 1, MAX_WORKERS as u128)?;
        range("--jobs", self.jobs as u128, 1, MAX_JOBS as u128)?;
        range("--task-ms", self.task_ms.into(), 0, MAX_MS.into())?;
        range("--idle-ms", self.idle_ms.into(), 0, MAX_MS.into())?;
        if let Some(c) = self.capacity {
            range("--capacity", c as u128, 1, MAX_CAPACITY as u128)?;
        }
        if let Some(t) = self.timeout_ms {
            range("--timeout-ms", t.into(), 0, MAX_TIMEOUT_MS.into())?;
        }
        if let Some(n) = self.panic_task {
            if n >= self.jobs {
                return Err(format!(
                    "--panic-task must name one of the {} jobs (0..{}), got {n}",
                    self.jobs,
                    self.jobs - 1
                ));
            }
        }
        Ok(())
    }
}

/// How long without a finished task (and without `wait` returning) counts as a hang: twice
/// one task's length plus two seconds, whatever the number of tasks.
pub fn stall_limit(task: Duration) -> Duration {
    2 * task + Duration::from_secs(2)
}

fn build(args: &PoolArgs) -> Result<Box<dyn DemoPool>, String> {
    let capacity = args.capacity.unwrap_or(args.threads);
    let config = PoolConfig::new(args.threads).capacity(capacity);
    let err = |e: synclab::pool::BuildError| format!("cannot build the pool: {e}");
    // Starting the workers can fail (the system refuses a thread): the pools' `spawn`
    // panics then; report it as an error instead of unwinding out of main.
    let _quiet = crate::panics::QuietPanics::install();
    let built = crate::panics::catching(|| -> Result<Box<dyn DemoPool>, String> {
        Ok(match args.implementation {
            PoolImpl::Std => Box::new(Synclab(StdCondvarPool::build(config).map_err(err)?)),
            PoolImpl::Futex => Box::new(Synclab(FutexCondvarPool::build(config).map_err(err)?)),
            PoolImpl::Lockfree => Box::new(Synclab(LockFreePool::build(config).map_err(err)?)),
            PoolImpl::WorkStealing => {
                Box::new(Synclab(WorkStealingPool::build(config).map_err(err)?))
            }
            // Not `SeedCppPool::new`: its unguarded read is undefined behaviour on real
            // threads (the zoo's rule); the guarded port keeps the other three bugs.
            PoolImpl::SeedCpp => Box::new(SeedCppPool::with_guarded_read(args.threads)),
            PoolImpl::SeedPython => Box::new(SeedPythonPool::new(args.threads)),
        })
    });
    built.unwrap_or_else(|message| {
        Err(format!(
            "cannot start {} worker threads (--threads {}): {message}",
            args.threads, args.threads
        ))
    })
}

/// Why the main thread stopped waiting for `wait`.
enum Outcome {
    /// `wait` returned.
    Waited {
        at: Duration,
        panicked: Option<usize>,
    },
    /// The user's `--timeout-ms` ran out first.
    UserTimeout(Duration),
    /// No task finished and `wait` did not return for [`stall_limit`].
    Stalled(Duration),
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
    args.validate()?;
    if args.panic_task.is_some() {
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
    if args.implementation == PoolImpl::SeedCpp {
        println!(
            "note: the original C++ Wait() reads the task queue without the queue's mutex — a \
             data race, undefined behaviour on real threads. This demo runs the port with that \
             one read taken under the queue's mutex, keeping the other bugs (the lost wakeup, \
             the return on an empty queue while tasks still run, notify_one for many waiters). \
             The race itself is shown by the model checker: `cargo xtask verify` \
             (zoo test seed_cpp_wait_data_race)."
        );
    }
    let rounds = args.jobs.div_ceil(args.threads) as u64;
    let expected = Duration::from_millis(rounds * args.task_ms);
    let stall = stall_limit(Duration::from_millis(args.task_ms));
    let user_timeout = args.timeout_ms.map(Duration::from_millis);
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
        std::thread::Builder::new()
            .name("driver".into())
            .spawn(move || {
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
            .map_err(|e| format!("cannot start the driver thread: {e}"))?
    };

    let expected_finishes = args.jobs - usize::from(args.panic_task.is_some());
    // Wait for `wait`, watching progress: a finished task resets the stall clock.
    let mut seen = 0;
    let mut last_progress = Instant::now();
    let outcome = loop {
        let now = Instant::now();
        let done = finished.load(Ordering::Acquire);
        if done != seen {
            seen = done;
            last_progress = now;
        }
        if let Some(t) = user_timeout {
            if now >= start + t {
                break Outcome::UserTimeout(t);
            }
        }
        if now >= last_progress + stall {
            break Outcome::Stalled(now - last_progress);
        }
        match inbox.recv_timeout(Duration::from_millis(20)) {
            Ok(Event::Waited { at, panicked }) => break Outcome::Waited { at, panicked },
            Ok(Event::SubmitFailed(e)) => return Err(format!("submit failed: {e}")),
            Ok(Event::Finished(_)) => unreachable!("the driver reports Waited first"),
            Err(_) => {}
        }
    };

    // Let every task that can finish do so (a premature `wait` returns before they have),
    // under the same watchdog.
    if matches!(outcome, Outcome::Waited { .. }) {
        let mut seen = finished.load(Ordering::Acquire);
        let mut last_progress = Instant::now();
        while seen < expected_finishes && last_progress.elapsed() < stall {
            std::thread::sleep(Duration::from_millis(5));
            let done = finished.load(Ordering::Acquire);
            if done != seen {
                seen = done;
                last_progress = Instant::now();
            }
        }
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
    let mut waited = false;
    match (&outcome, last_finished) {
        (Outcome::Waited { at, panicked }, Some(last)) => {
            waited = true;
            let verdict = if *at >= last {
                format!(
                    "{:.1} ms after the last task finished: correct",
                    (*at - last).as_secs_f64() * 1e3
                )
            } else {
                format!(
                    "{:.1} ms BEFORE the last task finished: a premature return (the C++ program's \
                     Wait() waits for an empty queue, not for finished tasks)",
                    (last - *at).as_secs_f64() * 1e3
                )
            };
            println!(
                "wait() returned at {:.1} ms; the last task finished at {:.1} ms → wait returned {verdict}",
                at.as_secs_f64() * 1e3,
                last.as_secs_f64() * 1e3
            );
            match panicked {
                Some(n) => println!("wait() reported {n} panicked task(s)"),
                None => println!("wait() reports nothing about panics (the original design)"),
            }
        }
        (Outcome::Waited { at, .. }, None) => {
            waited = true;
            println!(
                "wait() returned at {:.1} ms, but no task finished",
                at.as_secs_f64() * 1e3
            );
        }
        (Outcome::UserTimeout(t), _) => {
            let done = finished.load(Ordering::Acquire);
            println!(
                "wait() had not returned when the --timeout-ms {} you set ran out ({done} of {} tasks had finished; the job needs about {} ms)",
                t.as_millis(),
                args.jobs,
                expected.as_millis()
            );
            println!("(leaving the pool behind)");
            return Err(format!(
                "--timeout-ms {}: wait() had not returned by your deadline",
                t.as_millis()
            ));
        }
        (Outcome::Stalled(for_how_long), _) => {
            let why = match args.implementation {
                PoolImpl::SeedPython if args.panic_task.is_some() => {
                    "the Python program's pool: the panicking task ended its worker before task_done(), \
                     so join() waits forever"
                }
                PoolImpl::SeedCpp => {
                    "the C++ program's Wait(): its notify_one fell between Wait()'s check and its sleep \
                     (a lost wakeup)"
                }
                _ => "this should not happen: please report it",
            };
            println!(
                "wait() did NOT return, and no task finished for {:.1} s (a task takes {} ms): a hang — {why}",
                for_how_long.as_secs_f64(),
                args.task_ms
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
            " — the Python program's workers busy-wait on tasks.empty()"
        } else {
            ""
        }
    );

    if !waited {
        // The driver is stuck in wait(): leave it; returning from main ends the process.
        println!("(leaving the hung pool behind)");
        return Ok(());
    }
    let _ = release.send(());
    match inbox.recv_timeout(stall) {
        Ok(Event::Finished(summary)) => println!("{summary}"),
        _ => println!(
            "shutdown did not finish within {:.1} s (leaving it behind)",
            stall.as_secs_f64()
        ),
    }
    if driver.is_finished() {
        let _ = driver.join();
    }
    Ok(())
}
