//! The seed's scenarios as processes over one shared segment (Linux): `synclab demo array
//! --processes` and `synclab demo pool --processes`.
//!
//! The parent creates the segment and re-executes the `synclab` binary with the hidden
//! `__child` subcommand for each process (never a bare `fork()`); the children open the
//! segment by name. Every wait on a child has a deadline.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use synclab::array::{CondvarArray, LockFreeArray, SharedArray, SlotWaitError};
use synclab::fault::{Dying, PublishStep};
use synclab::lock::{RobustFamily, RobustMutex};
use synclab::queue::{ArrayQueue, BlockingQueue};
use synclab::shm::{InSegment, SegmentOptions, Shared, Shm};

/// A published value: the slot's data and the publisher's monotonic clock at publish, in ns.
type Stamped = [u64; 2];
type ShmArray = LockFreeArray<Stamped, Shm>;

/// The hidden subcommand a parent runs its children with.
#[derive(Debug, clap::Args)]
pub struct ChildArgs {
    /// Which process to be.
    #[arg(value_enum)]
    pub role: ChildRole,
    /// The segment's name.
    #[arg(long)]
    pub segment: String,
    /// Slots (array) or jobs (pool).
    #[arg(long)]
    pub len: usize,
    /// The parent's start, on the monotonic clock (ns), so every line is stamped alike.
    #[arg(long)]
    pub start_ns: u64,
    /// Producer: ms of work before each slot; worker: ms per job.
    #[arg(long, default_value_t = 0)]
    pub delay_ms: u64,
    /// Producer: the first slot to publish.
    #[arg(long, default_value_t = 0)]
    pub from: usize,
    /// Producer: die (SIGKILL itself) right after claiming this slot.
    #[arg(long)]
    pub die_at: Option<usize>,
    /// Pool worker: its number.
    #[arg(long, default_value_t = 0)]
    pub worker: usize,
    /// Array processes: the futex condvar array instead of the lock-free one.
    #[arg(long)]
    pub condvar: bool,
}

/// The processes of the demos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ChildRole {
    /// The array demo's producer.
    ArrayProducer,
    /// The array demo's consumer.
    ArrayConsumer,
    /// A worker process of the pool demo.
    PoolWorker,
}

/// The most worker processes of the pool demo.
pub const MAX_WORKERS: usize = 32;
/// Jobs, in the pool demo's queue.
type JobQueue = BlockingQueue<u64, ArrayQueue<u64, Shm>>;
/// Which job each worker runs (job + 1; 0: none), under a robust mutex.
type Board = InSegment<RobustMutex<[u64; MAX_WORKERS], Shm>>;
/// Per job: the pid of the worker that finished it, and when (monotonic ns).
type Results = LockFreeArray<[u64; 2], Shm>;

/// The monotonic clock in ns: the same clock in every process of this boot.
fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid clock id and a writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn log(start_ns: u64, who: &str, line: &str) {
    let t = now_ns().saturating_sub(start_ns) as f64 / 1e9;
    println!("[{t:>8.3} s] {who} (pid {}): {line}", std::process::id());
}

fn options() -> SegmentOptions {
    SegmentOptions::new().ready_timeout(Duration::from_secs(5))
}

/// The two arrays the array demo can run across processes, as its processes drive them.
trait ProcArray: synclab::shm::Design {
    const NAME: &'static str;
    fn publish(&self, i: usize, v: Stamped) -> Result<(), String>;
    /// Starts a publish and stops for good where a kill would (see each design's docs).
    fn publish_dying(&self, i: usize, v: Stamped) -> Result<&'static str, String>;
    fn is_published(&self, i: usize) -> Result<bool, String>;
    /// The value, or `Err(None)` if its publisher died (the slot may be published again).
    fn wait(&self, i: usize) -> Result<Stamped, Option<String>>;
}

impl ProcArray for ShmArray {
    const NAME: &'static str = "LockFreeArray<Shm>";
    fn publish(&self, i: usize, v: Stamped) -> Result<(), String> {
        SharedArray::publish(self, i, v).map_err(|e| e.to_string())
    }
    fn publish_dying(&self, i: usize, v: Stamped) -> Result<&'static str, String> {
        self.run_dying((i, v, PublishStep::AfterClaim))
            .map_err(|e| e.to_string())?;
        Ok("claimed index {i} and is killed (SIGKILL) before writing it")
    }
    fn is_published(&self, i: usize) -> Result<bool, String> {
        Ok(self.get_ref(i).map_err(|e| e.to_string())?.is_some())
    }
    fn wait(&self, i: usize) -> Result<Stamped, Option<String>> {
        match self.wait_checked(i) {
            Ok(v) => Ok(v),
            Err(SlotWaitError::PublisherDied { .. }) => Err(None),
            Err(e) => Err(Some(e.to_string())),
        }
    }
}

impl ProcArray for ShmCondvarArray {
    const NAME: &'static str = "CondvarArray<RobustFamily<Shm>, Shm>";
    fn publish(&self, i: usize, v: Stamped) -> Result<(), String> {
        SharedArray::publish(self, i, v).map_err(|e| e.to_string())
    }
    fn publish_dying(&self, i: usize, v: Stamped) -> Result<&'static str, String> {
        self.run_dying((i, v)).map_err(|e| e.to_string())?;
        Ok("wrote index {i} under the lock and is killed (SIGKILL) holding it")
    }
    fn is_published(&self, i: usize) -> Result<bool, String> {
        Ok(SharedArray::try_get(self, i)
            .map_err(|e| e.to_string())?
            .is_some())
    }
    fn wait(&self, i: usize) -> Result<Stamped, Option<String>> {
        SharedArray::wait(self, i).map_err(|e| Some(e.to_string()))
    }
}

type ShmCondvarArray = CondvarArray<Stamped, RobustFamily<Shm>, Shm>;

/// Runs a child process of a demo; never returns to `main`'s other commands.
pub fn run_child(args: ChildArgs) -> Result<(), String> {
    match args.role {
        ChildRole::PoolWorker => pool_worker(&args),
        _ if args.condvar => array_child::<ShmCondvarArray>(&args),
        _ => array_child::<ShmArray>(&args),
    }
}

fn array_child<A: ProcArray<Params = u64>>(args: &ChildArgs) -> Result<(), String> {
    let array = Shared::<A>::open(&args.segment, &options()).map_err(|e| e.to_string())?;
    match args.role {
        ChildRole::ArrayProducer => {
            for i in args.from..args.len {
                std::thread::sleep(Duration::from_millis(args.delay_ms));
                let value = [i as u64, now_ns()];
                if Some(i) == args.die_at {
                    let what = array.publish_dying(i, value)?;
                    log(
                        args.start_ns,
                        "Producer",
                        &what.replace("{i}", &i.to_string()),
                    );
                    // SAFETY: kill(2) on our own pid; SIGKILL ends the process at once.
                    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
                }
                array.publish(i, value)?;
                log(args.start_ns, "Producer", &format!("writes index {i}: {i}"));
            }
        }
        ChildRole::PoolWorker => unreachable!("handled by run_child"),
        ChildRole::ArrayConsumer => {
            let mut latencies = Vec::with_capacity(args.len);
            for i in 0..args.len {
                let asked = now_ns();
                if !array.is_published(i)? {
                    log(
                        args.start_ns,
                        "Consumer",
                        &format!("no data at index {i}, sleeping until it is published"),
                    );
                }
                let value = loop {
                    match array.wait(i) {
                        Ok(v) => break v,
                        Err(None) => {
                            log(args.start_ns, "Consumer", &format!("the publisher of index {i} died mid-publish; waiting for a new publisher"));
                            // The slot reads ABANDONED until someone claims it again; look
                            // every 10 ms (a new claim is then waited for on its futex).
                            while let Err(None) = array.wait(i) {
                                std::thread::sleep(Duration::from_millis(10));
                            }
                        }
                        Err(Some(e)) => return Err(e),
                    }
                };
                let read = now_ns();
                let latency = read.saturating_sub(value[1]);
                log(
                    args.start_ns,
                    "Consumer",
                    &format!(
                        "consumes index {i}, data: {} (waited {:.1} ms, {:.3} ms after publish)",
                        value[0],
                        read.saturating_sub(asked) as f64 / 1e6,
                        latency as f64 / 1e6
                    ),
                );
                latencies.push(latency);
            }
            println!("\npublish→read latency per slot (across processes):");
            for (i, l) in latencies.iter().enumerate() {
                println!("  slot {i:>3}: {:>10.3} ms", *l as f64 / 1e6);
            }
            let mean = latencies.iter().sum::<u64>() as f64 / latencies.len().max(1) as f64;
            println!("  mean    : {:>10.3} ms", mean / 1e6);
        }
    }
    Ok(())
}

/// Starts `synclab __child <role> …`.
fn spawn(
    role: &str,
    segment: &str,
    len: usize,
    start_ns: u64,
    extra: &[String],
) -> Result<Child, String> {
    // /proc/self/exe: this very binary, even if a rebuild has replaced the file meanwhile.
    Command::new("/proc/self/exe")
        .args(["__child", role, "--segment", segment])
        .args([
            "--len",
            &len.to_string(),
            "--start-ns",
            &start_ns.to_string(),
        ])
        .args(extra)
        .stdin(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the {role} process: {e}"))
}

/// Waits for `child` until `deadline`; kills it and reports a hang after that.
fn wait_child(
    child: &mut Child,
    what: &str,
    deadline: Instant,
) -> Result<std::process::ExitStatus, String> {
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Ok(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the {what} process did not finish in time (killed)"
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `synclab demo array --processes`: the seed's producer and consumer as two processes.
pub fn array(
    len: usize,
    delay_ms: u64,
    die_at: Option<usize>,
    condvar: bool,
) -> Result<(), String> {
    if condvar {
        array_parent::<ShmCondvarArray>(len, delay_ms, die_at)
    } else {
        array_parent::<ShmArray>(len, delay_ms, die_at)
    }
}

fn array_parent<A: ProcArray<Params = u64>>(
    len: usize,
    delay_ms: u64,
    die_at: Option<usize>,
) -> Result<(), String> {
    let condvar = <A as ProcArray>::NAME != <ShmArray as ProcArray>::NAME;
    let flag: Vec<String> = if condvar {
        vec!["--condvar".into()]
    } else {
        Vec::new()
    };
    if let Some(k) = die_at {
        if k >= len {
            return Err(format!(
                "--die-at must name one of the {len} slots (0..{}), got {k}",
                len - 1
            ));
        }
    }
    let segment = format!("/synclab-demo-array-{}", std::process::id());
    let array =
        Shared::<A>::create(&segment, &(len as u64), &options()).map_err(|e| e.to_string())?;
    println!(
        "synclab demo array --processes: {}, {len} slots in segment {segment} ({} bytes), write delay {delay_ms} ms, producer and consumer are processes",
        A::NAME,
        array.segment().size()
    );
    let start = now_ns();
    let deadline =
        Instant::now() + Duration::from_millis(2 * delay_ms * len as u64) + Duration::from_secs(10);
    let mut consumer = spawn("array-consumer", &segment, len, start, &flag)?;
    let mut extra = vec!["--delay-ms".to_string(), delay_ms.to_string()];
    extra.extend(flag.iter().cloned());
    if let Some(k) = die_at {
        extra.extend(["--die-at".to_string(), k.to_string()]);
    }
    let mut producer = spawn("array-producer", &segment, len, start, &extra)?;
    let status = wait_child(&mut producer, "producer", deadline)?;
    if !status.success() {
        let from = die_at.unwrap_or(0);
        log(
            start,
            "Parent",
            &format!("the producer died ({status}); starting a new producer from index {from}"),
        );
        let mut again = spawn(
            "array-producer",
            &segment,
            len,
            start,
            &[
                "--delay-ms".into(),
                delay_ms.to_string(),
                "--from".into(),
                from.to_string(),
            ]
            .into_iter()
            .chain(flag.iter().cloned())
            .collect::<Vec<_>>(),
        )?;
        let status = wait_child(&mut again, "second producer", deadline)?;
        if !status.success() {
            return Err(format!("the second producer failed: {status}"));
        }
    }
    let status = wait_child(&mut consumer, "consumer", deadline)?;
    if !status.success() {
        return Err(format!("the consumer failed: {status}"));
    }
    println!("(run took {:.3} s)", (now_ns() - start) as f64 / 1e9);
    Ok(())
}

fn pool_worker(args: &ChildArgs) -> Result<(), String> {
    let e = |e: synclab::shm::OpenError| e.to_string();
    let queue =
        Shared::<JobQueue>::open(&format!("{}-jobs", args.segment), &options()).map_err(e)?;
    let board = Shared::<Board>::open(&format!("{}-board", args.segment), &options()).map_err(e)?;
    let results =
        Shared::<Results>::open(&format!("{}-results", args.segment), &options()).map_err(e)?;
    let me = args.worker;
    let mark = |job: u64| {
        // A worker killed while holding the board leaves it to the next one: take it over,
        // and make it consistent (each entry is one word, written whole).
        let mut guard = board
            .lock_checked()
            .unwrap_or_else(|died| died.make_consistent());
        guard[me] = job;
    };
    while let Ok(job) = queue.pop() {
        mark(job + 1);
        // The seed's cpu_waster(idx): sleep, then say who did the work.
        std::thread::sleep(Duration::from_millis(args.delay_ms));
        log(
            args.start_ns,
            &format!("Worker {me}"),
            &format!("doing {job} work"),
        );
        let _ = SharedArray::publish(
            &*results,
            job as usize,
            [u64::from(std::process::id()), now_ns()],
        );
        mark(0);
    }
    Ok(())
}

/// `synclab demo pool --processes`: worker processes take the seed's jobs from a shared
/// queue; `wait` means finished; a worker killed mid-job is detected and its job re-queued.
pub fn pool(
    jobs: usize,
    workers: usize,
    task_ms: u64,
    kill_worker: Option<usize>,
) -> Result<(), String> {
    if workers == 0 || workers > MAX_WORKERS {
        return Err(format!("--threads (worker processes) must be between 1 and {MAX_WORKERS} with --processes, got {workers}"));
    }
    if jobs == 0 {
        return Err("--jobs must be at least 1, got 0".into());
    }
    if let Some(k) = kill_worker {
        if k >= workers {
            return Err(format!(
                "--kill-worker must name one of the {workers} workers (0..{}), got {k}",
                workers - 1
            ));
        }
    }
    let e = |e: synclab::shm::OpenError| e.to_string();
    let base = format!("/synclab-demo-pool-{}", std::process::id());
    let queue = Shared::<JobQueue>::create(&format!("{base}-jobs"), &(jobs as u64), &options())
        .map_err(e)?;
    let board = Shared::<Board>::create(&format!("{base}-board"), &[0; MAX_WORKERS], &options())
        .map_err(e)?;
    let results = Shared::<Results>::create(&format!("{base}-results"), &(jobs as u64), &options())
        .map_err(e)?;
    println!(
        "synclab demo pool --processes: {workers} worker processes, {jobs} jobs of {task_ms} ms through BlockingQueue<ArrayQueue<Shm>> (segments {base}-*)"
    );
    let start = now_ns();
    for job in 0..jobs as u64 {
        queue.push(job).map_err(|_| "the job queue closed")?;
    }
    let mut children: Vec<Option<Child>> = (0..workers)
        .map(|w| {
            spawn(
                "pool-worker",
                &base,
                jobs,
                start,
                &[
                    "--delay-ms".into(),
                    task_ms.to_string(),
                    "--worker".into(),
                    w.to_string(),
                ],
            )
            .map(Some)
        })
        .collect::<Result<_, _>>()?;
    let deadline = Instant::now()
        + Duration::from_millis(4 * task_ms * (jobs as u64).div_ceil(workers as u64) + 10_000);
    let mut killed = kill_worker.is_none();
    let mut finished = 0;
    // Supervise until every job's result is published: `wait` means finished.
    while finished < jobs {
        if Instant::now() > deadline {
            return Err("the pool did not finish in time".into());
        }
        if !killed {
            let k = kill_worker.unwrap_or(0);
            let running = board
                .lock_checked()
                .map(|g| g[k])
                .unwrap_or_else(|d| d.make_consistent()[k]);
            if running != 0 {
                if let Some(child) = children[k].as_mut() {
                    log(
                        start,
                        "Parent",
                        &format!(
                            "kills worker {k} (pid {}) while it runs job {}",
                            child.id(),
                            running - 1
                        ),
                    );
                    let _ = child.kill();
                }
                killed = true;
            }
        }
        for (w, slot) in children.iter_mut().enumerate() {
            let Some(child) = slot else { continue };
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                let pid = child.id();
                *slot = None;
                if status.success() {
                    continue;
                }
                // A worker died: what was it running? Its entry says; the robust lock says
                // whether it died holding the board.
                let job = match board.lock_checked() {
                    Ok(mut g) => core::mem::take(&mut g[w]),
                    Err(died) => core::mem::take(&mut died.make_consistent()[w]),
                };
                if job != 0 && results.get_ref(job as usize - 1).ok().flatten().is_none() {
                    log(
                        start,
                        "Parent",
                        &format!(
                            "worker {w} (pid {pid}) died ({status}) mid-job {}: re-queued",
                            job - 1
                        ),
                    );
                    queue.push(job - 1).map_err(|_| "the job queue closed")?;
                } else {
                    log(
                        start,
                        "Parent",
                        &format!("worker {w} (pid {pid}) died ({status}) between jobs"),
                    );
                }
            }
        }
        finished = (0..jobs)
            .filter(|&j| results.get_ref(j).ok().flatten().is_some())
            .count();
        if children.iter().all(Option::is_none) && finished < jobs {
            return Err(format!(
                "every worker is gone with {} jobs unfinished",
                jobs - finished
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let waited = now_ns();
    let last = (0..jobs)
        .filter_map(|j| results.get_ref(j).ok().flatten().map(|r| r[1]))
        .max()
        .unwrap_or(0);
    println!(
        "\nwait() returned at {:.1} ms; the last job finished at {:.1} ms → wait returned after the last job finished: correct",
        (waited - start) as f64 / 1e6,
        (last - start) as f64 / 1e6
    );
    queue.close();
    for (w, slot) in children.iter_mut().enumerate() {
        if let Some(child) = slot {
            let status = wait_child(child, &format!("worker {w}"), deadline)?;
            if !status.success() {
                return Err(format!("worker {w} failed: {status}"));
            }
        }
    }
    println!("shutdown: the queue is closed and every live worker has exited");
    Ok(())
}
