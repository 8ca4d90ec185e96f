//! Random words in every field of every design placed in a segment, while a peer process
//! operates on it: no panic inside the library, no signal, and every call returns within its
//! stated bound. The rule under test: a word a faulty peer wrote gives wrong values or typed
//! errors, never undefined behaviour, a crash or an unbounded wait.
//!
//! Each run creates a fresh segment holding one design, has a peer process (this binary in
//! its peer role, one per design for all its runs) open it and run [`PEER_OPS`] operations,
//! and meanwhile writes [`WRITES`] random words into the object with plain `pwrite` (as any
//! process allowed to write it could): the first at the run's turn in a sweep over every
//! 8-byte word of the design's data (so that every field is hit in every `len / 8` runs), the
//! others anywhere in the data or in the segment's attach table. Between writes, this process
//! operates on the design too. Only calls with a bound are made: `try_` operations, timed
//! waits, non-blocking handles (a blocking `lock` or `wait` waits, by contract, for as long as
//! the holder or publisher a word names lives).
//!
//! Runs per design: `SYNCLAB_FUZZ_RUNS` (default 10 in `cargo test`, scaled down from the
//! 1000 per design the full run makes in release and in debug:
//! `SYNCLAB_FUZZ_RUNS=1000 cargo test [--release] -p synclab --test shm_fuzz`).

#[cfg(target_os = "linux")]
#[path = "shared/process.rs"]
#[allow(dead_code)] // each test binary uses part of it
mod process;

use std::process::ExitCode;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use process::{describe, read_instruction, report, Peer, ROLE_ENV};
#[cfg(target_os = "linux")]
use synclab::{
    array::{CondvarArray, LanedArray, LockFreeArray, SharedArray},
    lock::{Condvar, FutexMutex, RobustFamily, RobustMutex},
    queue::{ArrayQueue, BlockingQueue, Duplex, MpmcQueue},
    shm::{Design, InSegment, SegmentOptions, Shared, Shm},
};

/// Operations each peer makes per run at least: it goes on until this process, done writing,
/// tells it to stop, so that every write lands while the peer operates.
#[cfg(target_os = "linux")]
const PEER_OPS: usize = 150;
/// Random words written per run.
#[cfg(target_os = "linux")]
const WRITES: usize = 6;
/// The longest any step of the harness may take before it reports a hang.
#[cfg(target_os = "linux")]
const DEADLINE: Duration = Duration::from_secs(60);

/// The stated bounds, by kind of call, with room for the scheduler of a loaded machine (the
/// figures the calls reach are printed).
#[cfg(target_os = "linux")]
mod bound {
    use std::time::Duration;
    /// A call that never waits for another thread (it may ask the kernel about one).
    pub const QUICK: Duration = Duration::from_millis(100);
    /// A call that waits for a publisher or lock holder at most one liveness poll (20 ms)
    /// before it asks whether it lives.
    pub const POLLED: Duration = Duration::from_millis(250);
    /// A queue's `try_push`/`try_pop` in a segment: its one-second stall limit, and a round
    /// of backoff past it (a yield, on a loaded machine).
    pub const STALL: Duration = Duration::from_millis(2_500);
    /// A blocking queue's timed call (2 ms): its timeout, a poll, and the stall limit of the
    /// try-operation inside it at which the timeout passes.
    pub const TIMED_QUEUE: Duration = Duration::from_millis(4_000);
}

#[cfg(target_os = "linux")]
type ShmMutex = InSegment<RobustMutex<[u64; 2], Shm>>;
#[cfg(target_os = "linux")]
type Cv = InSegment<Condvar<Shm>>;
#[cfg(target_os = "linux")]
type ClaimArray = LockFreeArray<u64, Shm>;
#[cfg(target_os = "linux")]
type Laned = LanedArray<u64, Shm>;
#[cfg(target_os = "linux")]
type Ring = Duplex<u64, Shm>;
#[cfg(target_os = "linux")]
type Queue = ArrayQueue<u64, Shm>;
#[cfg(target_os = "linux")]
type Blocking = BlockingQueue<u64, Queue>;
#[cfg(target_os = "linux")]
type CvArray = CondvarArray<u64, RobustFamily<Shm>, Shm>;

/// One design under test: how to make it, and one bounded operation (chosen by `k`), which
/// returns its bound.
#[cfg(target_os = "linux")]
trait Fuzzed: Design + 'static {
    const NAME: &'static str;
    fn params() -> Self::Params;
    fn op(d: &Shared<Self>, k: u64) -> Duration;
}

#[cfg(target_os = "linux")]
impl Fuzzed for ShmMutex {
    const NAME: &'static str = "mutex";
    fn params() -> [u64; 2] {
        [0, 0]
    }
    fn op(m: &Shared<Self>, k: u64) -> Duration {
        if let Some(got) = m.try_lock_checked() {
            let mut guard = got.unwrap_or_else(|died| died.make_consistent());
            guard[1] = guard[1].wrapping_add(k);
        }
        bound::QUICK
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for Cv {
    const NAME: &'static str = "condvar";
    fn params() -> u8 {
        0
    }
    fn op(c: &Shared<Self>, k: u64) -> Duration {
        thread_local!(static LOCAL: FutexMutex<u64> = FutexMutex::new(0));
        match k % 3 {
            0 => c.notify_one(),
            1 => c.notify_all(),
            _ => LOCAL.with(|m| {
                drop(c.wait_timeout(m.lock(), Duration::from_millis(1)));
            }),
        }
        bound::POLLED
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for ClaimArray {
    const NAME: &'static str = "array";
    fn params() -> u64 {
        16
    }
    fn op(a: &Shared<Self>, k: u64) -> Duration {
        let i = (k % 20) as usize; // a few indices past the end too
        if k % 2 == 0 {
            let _ = a.publish(i, k);
            bound::POLLED
        } else {
            let _ = a.get_ref(i).map(|v| v.copied());
            bound::QUICK
        }
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for Laned {
    const NAME: &'static str = "laned-array";
    fn params() -> [u64; 2] {
        [16, 4]
    }
    fn op(a: &Shared<Self>, k: u64) -> Duration {
        let i = (k % 20) as usize;
        if k % 2 == 0 {
            if let Ok(lane) = a.lane((k / 2 % 5) as usize) {
                let _ = lane.publish(i, k);
            }
        } else {
            let _ = a.get_ref(i).map(|v| v.copied());
        }
        bound::QUICK
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for Ring {
    const NAME: &'static str = "duplex";
    fn params() -> u64 {
        8
    }
    fn op(r: &Shared<Self>, k: u64) -> Duration {
        if let Ok(mut end) = r.end((k % 3) as usize) {
            for _ in 0..3 {
                let _ = end.try_send(k);
                let _ = end.try_recv();
            }
            let _ = end.peer_died();
        }
        bound::QUICK
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for Queue {
    const NAME: &'static str = "queue";
    fn params() -> u64 {
        8
    }
    fn op(q: &Shared<Self>, k: u64) -> Duration {
        match k % 4 {
            0 | 1 => drop(q.try_push(k)),
            2 => drop(q.try_pop()),
            _ => drop((q.len(), q.is_empty(), q.is_full(), q.is_closed())),
        }
        bound::STALL
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for Blocking {
    const NAME: &'static str = "blocking-queue";
    fn params() -> u64 {
        8
    }
    fn op(q: &Shared<Self>, k: u64) -> Duration {
        let wait = Duration::from_millis(2);
        match k % 4 {
            0 => drop(q.try_push(k)),
            1 => drop(q.try_pop()),
            2 => drop(q.push_timeout(k, wait)),
            _ => drop(q.pop_timeout(wait)),
        }
        bound::TIMED_QUEUE
    }
}

#[cfg(target_os = "linux")]
impl Fuzzed for CvArray {
    const NAME: &'static str = "condvar-array";
    fn params() -> u64 {
        16
    }
    fn op(a: &Shared<Self>, k: u64) -> Duration {
        let i = (k % 20) as usize;
        match k % 3 {
            0 => drop(a.publish(i, k)),
            1 => drop(a.try_get(i)),
            _ => drop(a.wait_timeout(i, Duration::from_millis(2))),
        }
        bound::POLLED
    }
}

/// One design's fuzz runs: a summary, or what went wrong.
#[cfg(target_os = "linux")]
type Run = fn(usize) -> Result<String, String>;

/// A small xorshift generator: deterministic per seed, no dependency.
#[cfg(target_os = "linux")]
struct Rng(u64);

#[cfg(target_os = "linux")]
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    /// A word a faulty peer might write: mostly uniform, sometimes 0, all ones or a small
    /// count (an index, a length).
    fn word(&mut self) -> u64 {
        match self.below(10) {
            0 => 0,
            1 => u64::MAX,
            2 => self.below(64),
            _ => self.next(),
        }
    }
}

/// What one side saw: operations made, the slowest, those over their bound, panics caught.
#[cfg(target_os = "linux")]
#[derive(Default, Debug)]
struct Tally {
    ops: u64,
    slowest: Duration,
    over: u64,
    panics: u64,
}

#[cfg(target_os = "linux")]
impl Tally {
    fn time<D: Fuzzed>(&mut self, d: &Shared<D>, k: u64) {
        let start = Instant::now();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| D::op(d, k)));
        let took = start.elapsed();
        self.ops += 1;
        self.slowest = self.slowest.max(took);
        match result {
            Ok(limit) if took > limit => {
                self.over += 1;
                eprintln!(
                    "{}: op {k} took {took:?}, over its bound {limit:?}",
                    D::NAME
                );
            }
            Ok(_) => {}
            Err(_) => self.panics += 1,
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    println!("shm fuzz tests: Linux only; 0 passed, 0 failed");
    ExitCode::SUCCESS
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(ROLE_ENV) {
        peer(&spec);
    }
    let runs: usize = std::env::var("SYNCLAB_FUZZ_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let only = std::env::var("SYNCLAB_FUZZ_ONLY").ok();
    let designs: [(&str, Run); 8] = [
        (ShmMutex::NAME, fuzz::<ShmMutex>),
        (Cv::NAME, fuzz::<Cv>),
        (<ClaimArray as Fuzzed>::NAME, fuzz::<ClaimArray>),
        (Laned::NAME, fuzz::<Laned>),
        (Ring::NAME, fuzz::<Ring>),
        (Queue::NAME, fuzz::<Queue>),
        (Blocking::NAME, fuzz::<Blocking>),
        (<CvArray as Fuzzed>::NAME, fuzz::<CvArray>),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (name, run) in designs {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        match run(runs) {
            Ok(summary) => {
                passed += 1;
                println!("test fuzz {name} ... ok ({summary})");
            }
            Err(e) => {
                failed += 1;
                println!("test fuzz {name} ... FAILED: {e}");
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(target_os = "linux")]
fn options() -> SegmentOptions {
    SegmentOptions::new().ready_timeout(Duration::from_secs(5))
}

/// Whether a line waits on stdin (the parent's "stop"); reads it if so.
#[cfg(target_os = "linux")]
fn told_to_stop() -> bool {
    let mut poll = libc::pollfd {
        fd: 0,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd; a zero timeout never blocks.
    let ready = unsafe { libc::poll(&mut poll, 1, 0) } > 0;
    ready && read_instruction().is_some()
}

/// The peer: for each segment name it is given, opens the design and operates on it (at least
/// `PEER_OPS` times, and until told to stop), then reports its tally.
#[cfg(target_os = "linux")]
fn peer(spec: &str) -> ! {
    fn serve<D: Fuzzed>() -> ! {
        let mut k = std::process::id() as u64;
        while let Some(name) = read_instruction().filter(|l| !l.is_empty()) {
            let Ok(d) = Shared::<D>::open(&name, &options()) else {
                report("unopened");
                continue;
            };
            report("opened");
            let mut tally = Tally::default();
            loop {
                k = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                tally.time(&d, k >> 33);
                if tally.ops >= PEER_OPS as u64 && told_to_stop() {
                    break;
                }
            }
            drop(d);
            report(&format!(
                "done {} {} {} {}",
                tally.ops,
                tally.slowest.as_micros(),
                tally.over,
                tally.panics
            ));
        }
        std::process::exit(0)
    }
    match spec {
        "mutex" => serve::<ShmMutex>(),
        "condvar" => serve::<Cv>(),
        "array" => serve::<ClaimArray>(),
        "laned-array" => serve::<Laned>(),
        "duplex" => serve::<Ring>(),
        "queue" => serve::<Queue>(),
        "blocking-queue" => serve::<Blocking>(),
        "condvar-array" => serve::<CvArray>(),
        _ => panic!("unknown design {spec}"),
    }
}

/// Where the attach table starts in the object (after the header's fixed fields and
/// parameters; `shm/segment.rs`).
#[cfg(target_os = "linux")]
const TABLE_OFFSET: u64 = 320;

#[cfg(target_os = "linux")]
fn fuzz<D: Fuzzed>(runs: usize) -> Result<String, String> {
    use std::os::unix::fs::FileExt;
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let started = Instant::now();
    let mut peer = Peer::spawn(D::NAME, &[], None).map_err(|e| format!("spawn: {e}"))?;
    let mut mine = Tally::default();
    let (mut peer_ops, mut peer_slowest, mut peer_over, mut peer_panics) = (0u64, 0u64, 0u64, 0u64);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ D::NAME.len() as u64);
    let params = D::params();
    let data_len = D::size(0, &params).ok_or("no size")? as u64;
    let mut unopened = 0;
    for run in 0..runs {
        let deadline = Instant::now() + DEADLINE;
        let name = format!("/synclab-fuzz-{}-{}-{run}", std::process::id(), D::NAME);
        let d = Shared::<D>::create(&name, &params, &options()).map_err(|e| e.to_string())?;
        let object = std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/dev/shm{name}"))
            .map_err(|e| e.to_string())?;
        let data_start = d.segment().size() as u64 - data_len;
        let words = data_len / 8;
        peer.say(&name)?;
        let line_was_opened = match peer.line(deadline)?.as_str() {
            "opened" => true,
            _ => {
                unopened += 1;
                false
            }
        };
        for w in 0..WRITES {
            let offset = if w == 0 {
                data_start + (run as u64 % words.max(1)) * 8
            } else if rng.below(4) == 0 {
                TABLE_OFFSET + rng.below((data_start - TABLE_OFFSET) / 8) * 8
            } else {
                data_start + rng.below(words.max(1)) * 8
            };
            let word = rng.word();
            if std::env::var_os("SYNCLAB_FUZZ_VERBOSE").is_some() {
                eprintln!(
                    "run {run}: word {word:#x} at data {:+}",
                    offset as i64 - data_start as i64
                );
            }
            object
                .write_all_at(&word.to_le_bytes(), offset)
                .map_err(|e| format!("pwrite: {e}"))?;
            for _ in 0..4 {
                let k = rng.next() >> 33;
                mine.time(&d, k);
            }
        }
        if line_was_opened {
            peer.say("stop")?;
        }
        let line = match peer.line(deadline) {
            Ok(line) => line,
            Err(e) => {
                let status = peer.wait(Instant::now() + Duration::from_secs(1));
                return Err(format!(
                    "run {run}: the peer did not report ({e}); it ended with {:?}",
                    status.map(describe)
                ));
            }
        };
        if line != "unopened" {
            let fields: Vec<u64> = line
                .strip_prefix("done ")
                .ok_or_else(|| format!("run {run}: the peer said {line:?}"))?
                .split(' ')
                .map(|f| f.parse().unwrap_or(u64::MAX))
                .collect();
            peer_ops += fields[0];
            peer_slowest = peer_slowest.max(fields[1]);
            peer_over += fields[2];
            peer_panics += fields[3];
        }
        drop(d);
    }
    peer.say("")?;
    let status = peer.wait(Instant::now() + DEADLINE)?;
    let summary = format!(
        "{runs} runs in {:.2} s; this process: {} ops, slowest {:.1} ms, {} over bound, {} panics; peer: {} ops, slowest {:.1} ms, {} over bound, {} panics, {}; {} runs the peer could not open",
        started.elapsed().as_secs_f64(),
        mine.ops,
        mine.slowest.as_secs_f64() * 1e3,
        mine.over,
        mine.panics,
        peer_ops,
        peer_slowest as f64 / 1e3,
        peer_over,
        peer_panics,
        describe(status),
        unopened
    );
    if mine.over + mine.panics + peer_over + peer_panics == 0 && status.success() {
        Ok(summary)
    } else {
        Err(summary)
    }
}
