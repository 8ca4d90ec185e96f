//! Workloads between processes (Linux): a helper process on the other side of a shared
//! segment, a pipe or a unix socket.
//!
//! * `processes/roundtrip-asleep` — ping-pong between this process and a helper, one-way ns
//!   per handoff; each side busy-works 50 µs after receiving, so the receiver is asleep when
//!   its turn comes (the work is subtracted). Floor: a raw shared futex on one word of a
//!   segment. synclab: two `LockFreeArray<Shm>` slots per round. Anchors: a pipe pair and a
//!   unix stream socket, each side blocked in `read`.
//! * `processes/roundtrip-spinning` — the same with no work: the receiver is spinning or about
//!   to. Floor: both processes spinning on one shared cache line. A second floor, "spin on a
//!   fresh line per handoff", is the least a write-once design can do: each handoff is one
//!   plain store into a line of its own (the next one in a segment of padded words), which
//!   the peer spins on — no state machine, no value, no claim, no sleepers. What separates
//!   the two floors is the hardware's price for moving to a new line per handoff; what
//!   separates the array from the second is the array's protocol.
//! * `processes/queue-64b` — this process pushes 64-byte messages, the helper pops them
//!   (Mops = messages / time until the helper has popped the last). synclab:
//!   `BlockingQueue<[u64; 8], ArrayQueue<[u64; 8], Shm>>` of [`QUEUE_CAPACITY`] slots. Anchors:
//!   64-byte writes into a pipe and a unix stream socket, read in 64-byte records.
//!
//! With `--features iceoryx2` (rustc ≥ 1.89), iceoryx2's publish-subscribe joins the spinning
//! round trip and the 64-byte throughput as an anchor ("iceoryx2 (polling)"): its receivers
//! busy-poll `receive`, as its own benchmarks do; its publisher blocks on a full subscriber
//! buffer (`RetryUntilDelivered`, no safe overflow), so nothing is dropped.
//!
//! # The helper process
//!
//! A contender re-executes the binary it runs in (`/proc/self/exe`) with
//! `SYNCLAB_BENCH_HELPER=<role> <args>` in the environment; every binary that hosts these
//! workloads (the `synclab` CLI, the `processes` criterion bench, the benches crate's
//! `processes` test) calls [`serve_if_helper`] first thing in `main`, which plays the helper
//! and exits. A pipe or socket contender hands the helper its end as stdin/stdout; a segment
//! contender passes the segment's name, and the helper says "ready" on stdout once it has
//! opened it, so that process start-up is never timed. A binary that forgot the hook would
//! run its own `main` again: the variable is then still set, and [`spawn_helper`] refuses to
//! recurse.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use synclab::array::{LanedArray, LockFreeArray, SharedArray};
use synclab::queue::{ArrayQueue, BlockingQueue, Duplex};
use synclab::shm::Region as _;
use synclab::shm::{
    region_end, Cursor, Design, InSegment, OpenError, Placeable, SegmentOptions, Shared, Shm,
    ShmRegion,
};
use synclab::sync::futex::{CrossProcess, WakeScope};

use crate::{floor, Contender, Measurement, Metric, Params, Role, Target, Workload};

const HELPER_ENV: &str = "SYNCLAB_BENCH_HELPER";
/// Slots in the shared queue.
pub const QUEUE_CAPACITY: u64 = 1024;
/// Work per side in the asleep ping-pong.
const ASLEEP_WORK: Duration = Duration::from_micros(50);

type Message = [u64; 8];
type ShmQueue = BlockingQueue<Message, ArrayQueue<Message, Shm>>;
type ShmArray = LockFreeArray<u64, Shm>;
type ShmLanes = LanedArray<u64, Shm>;
type ShmDuplex = Duplex<u64, Shm>;
/// Slots per direction of the round trip's duplex ring: one request in flight each way, so
/// one line carries every round trip (see `Duplex`).
const DUPLEX_CAPACITY: u64 = 1;
/// The same ring with 64 slots per direction: each round trip on the next line.
const DUPLEX_WIDE_CAPACITY: u64 = 64;

/// One futex word alone in a segment: the floors.
#[derive(Debug)]
#[repr(C)]
pub struct Word(AtomicU32);

// SAFETY: one atomic word: no pointers, nothing to drop, valid for any bytes.
unsafe impl Placeable for Word {
    type Params = u32;
    const LAYOUT: &'static str = "synclab_benches::processes::Word";
    const VERSION: u32 = 1;
    fn init(value: &u32) -> Self {
        Word(AtomicU32::new(*value))
    }
}

type ShmWord = InSegment<Word>;

/// One word alone on its cache line.
#[derive(Debug)]
#[repr(C, align(64))]
struct Line(AtomicU32);

/// Words on lines of their own, one per handoff, all 0 at first: the fresh-line floor.
#[derive(Debug)]
pub struct FreshLines {
    lines: ShmRegion<(), Line>,
}

// SAFETY: `size` and `build` place the same one region (no header, `len` lines) for the same
// length, in the creator and in every opener; a `Line` is one atomic word (no pointers,
// nothing to drop, valid for any bytes).
unsafe impl Design for FreshLines {
    type Params = u64;
    const LAYOUT: &'static str = "synclab_benches::processes::FreshLines";
    const VERSION: u32 = 1;

    fn size(offset: usize, len: &u64) -> Option<usize> {
        region_end::<(), Line>(offset, usize::try_from(*len).ok()?)
    }

    fn build(cursor: &mut Cursor<'_>, len: &u64) -> Result<Self, OpenError> {
        let len = usize::try_from(*len).map_err(|_| OpenError::BadParams {
            reason: format!("{len} lines do not fit in this address space"),
        })?;
        // SAFETY: see the impl's SAFETY comment.
        let lines = unsafe { cursor.region(|| (), |_| Line(AtomicU32::new(0)), len)? };
        Ok(Self { lines })
    }
}

impl FreshLines {
    fn line(&self, handoff: usize) -> &AtomicU32 {
        &self.lines.elems()[handoff].0
    }
}

/// How one side of a word ping-pong waits for its turn and passes it on.
type Turns = (fn(&AtomicU32, u32), fn(&AtomicU32, u32));

const ARRAY: &str = "LockFreeArray<Shm>";
const LANES: &str = "LanedArray<Shm>";
const DUPLEX: &str = "Duplex<Shm>";
const DUPLEX_WIDE: &str = "Duplex<Shm> (64 slots)";
const QUEUE: &str = "BlockingQueue<ArrayQueue<Shm>>";
const FUTEX_FLOOR: &str = "raw shared futex";
const SPIN_FLOOR: &str = "spin on one shared line";
const FRESH_FLOOR: &str = "spin on a fresh line per handoff";
const PIPE: &str = "pipe";
const SOCKET: &str = "unix socket";
#[cfg(feature = "iceoryx2")]
const ICEORYX2: &str = "iceoryx2 (polling)";

/// The processes workloads.
pub fn workloads() -> Vec<Workload> {
    let c = |name, role, run| Contender { name, role, run };
    let workload = |id, title, metric, contenders| Workload {
        id,
        group: "processes",
        title,
        threads_label: "processes",
        threads: vec![2],
        scales_with_threads: false,
        metric,
        contenders,
    };
    vec![
        workload(
            "processes/roundtrip-asleep",
            "Cross-process handoff, receiver asleep (ping-pong, one-way)",
            Metric::NsPerOp,
            vec![
                c(FUTEX_FLOOR, Role::Floor, futex_asleep),
                c(LANES, Role::Synclab, lanes_asleep),
                c(ARRAY, Role::Synclab, array_asleep),
                c(PIPE, Role::Anchor, pipe_asleep),
                c(SOCKET, Role::Anchor, socket_asleep),
            ],
        ),
        workload(
            "processes/roundtrip-spinning",
            "Cross-process handoff, receiver spinning (ping-pong, one-way)",
            Metric::NsPerOp,
            vec![
                c(SPIN_FLOOR, Role::Floor, spin_quick),
                c(FRESH_FLOOR, Role::Floor, fresh_quick),
                c(DUPLEX, Role::Synclab, duplex_quick),
                c(DUPLEX_WIDE, Role::Synclab, duplex_wide_quick),
                c(LANES, Role::Synclab, lanes_quick),
                c(ARRAY, Role::Synclab, array_quick),
                c(PIPE, Role::Anchor, pipe_quick),
                c(SOCKET, Role::Anchor, socket_quick),
                #[cfg(feature = "iceoryx2")]
                c(ICEORYX2, Role::Anchor, ice::pingpong),
            ],
        ),
        workload(
            "processes/queue-64b",
            "64-byte messages from one process to another (throughput)",
            Metric::Mops,
            vec![
                c(QUEUE, Role::Synclab, queue_throughput),
                c(PIPE, Role::Anchor, pipe_throughput),
                c(SOCKET, Role::Anchor, socket_throughput),
                #[cfg(feature = "iceoryx2")]
                c(ICEORYX2, Role::Anchor, ice::throughput),
            ],
        ),
    ]
}

/// The targets of the processes issue.
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            claim: "Cross-process round trip, reader asleep ≤ 1.1× the raw shared-futex floor",
            workload: "processes/roundtrip-asleep",
            threads: 2,
            contender: LANES,
            reference: FUTEX_FLOOR,
            min_advantage: 1.0 / 1.1,
        },
        Target {
            claim: "Cross-process round trip, reader spinning ≤ 1.5× the shared spin floor",
            workload: "processes/roundtrip-spinning",
            threads: 2,
            contender: DUPLEX,
            reference: SPIN_FLOOR,
            min_advantage: 1.0 / 1.5,
        },
        Target {
            claim: "64-byte queue throughput between processes ≥ 5× a unix socket",
            workload: "processes/queue-64b",
            threads: 2,
            contender: QUEUE,
            reference: SOCKET,
            min_advantage: 5.0,
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// The helper process
// ---------------------------------------------------------------------------------------------

/// If this process was started as a benchmark helper, plays the helper and exits; otherwise
/// returns at once. Call it first thing in `main` of every binary that runs these workloads.
pub fn serve_if_helper() {
    let Ok(spec) = std::env::var(HELPER_ENV) else {
        return;
    };
    let code = match helper(&spec) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("synclab bench helper ({spec}): {e}");
            1
        }
    };
    std::process::exit(code);
}

fn helper(spec: &str) -> Result<(), String> {
    let mut args = spec.split(' ');
    let role = args.next().unwrap_or_default();
    let mut next = |what: &str| {
        args.next()
            .ok_or(format!("missing {what}"))
            .map(str::to_string)
    };
    let opts = SegmentOptions::new();
    let ready = || {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "ready");
        let _ = out.flush();
    };
    match role {
        "futex" | "spin" => {
            let seg = next("segment")?;
            let rounds: u32 = next("rounds")?.parse().map_err(|_| "rounds")?;
            let work = Duration::from_nanos(next("work")?.parse().map_err(|_| "work")?);
            let w = Shared::<ShmWord>::open(&seg, &opts).map_err(|e| e.to_string())?;
            ready();
            let (wait, pass): Turns = if role == "futex" {
                (shared_futex_wait, shared_futex_pass)
            } else {
                (floor::spin_wait_turn, floor::spin_pass)
            };
            for i in 0..rounds {
                wait(&w.0, 2 * i + 1);
                floor::busy(work);
                pass(&w.0, 2 * i + 2);
            }
        }
        "fresh" => {
            let seg = next("segment")?;
            let rounds: usize = next("rounds")?.parse().map_err(|_| "rounds")?;
            let l = Shared::<FreshLines>::open(&seg, &opts).map_err(|e| e.to_string())?;
            ready();
            for i in 0..rounds {
                floor::spin_wait_turn(l.line(2 * i), 1);
                floor::spin_pass(l.line(2 * i + 1), 1);
            }
        }
        "array" | "lanes" => {
            let seg = next("segment")?;
            let rounds: usize = next("rounds")?.parse().map_err(|_| "rounds")?;
            let work = Duration::from_nanos(next("work")?.parse().map_err(|_| "work")?);
            let e = |e: &dyn std::fmt::Display| e.to_string();
            if role == "array" {
                let a = Shared::<ShmArray>::open(&seg, &opts).map_err(|x| e(&x))?;
                ready();
                answer_slots(rounds, work, |i| a.wait_checked(i), |i, v| a.publish(i, v))?;
            } else {
                let a = Shared::<ShmLanes>::open(&seg, &opts).map_err(|x| e(&x))?;
                let lane = a.lane(1).map_err(|x| e(&x))?;
                ready();
                answer_slots(
                    rounds,
                    work,
                    |i| a.wait_checked(i),
                    |i, v| lane.publish(i, v),
                )?;
            }
        }
        "duplex" => {
            let seg = next("segment")?;
            let rounds: u32 = next("rounds")?.parse().map_err(|_| "rounds")?;
            let d = Shared::<ShmDuplex>::open(&seg, &opts).map_err(|e| e.to_string())?;
            let mut end = d.end(1).map_err(|e| e.to_string())?;
            ready();
            for _ in 0..rounds {
                let v = end.recv_spinning(None).map_err(|e| e.to_string())?;
                // The parent waits for this answer before it sends again: there is room.
                end.try_send(v + 1)
                    .map_err(|_| "the ring towards the parent is full")?;
            }
        }
        "stream" => {
            // Ping-pong over stdin (a pipe or a socket) and stdout (a pipe) or stdin itself.
            let rounds: u32 = next("rounds")?.parse().map_err(|_| "rounds")?;
            let work = Duration::from_nanos(next("work")?.parse().map_err(|_| "work")?);
            let socket = next("kind")? == "socket";
            let mut input = std::io::stdin().lock();
            let mut byte = [0u8; 1];
            if socket {
                // SAFETY: fd 0 is the socket the parent handed us as stdin; we own it now.
                let mut s: UnixStream = unsafe { std::os::fd::FromRawFd::from_raw_fd(0) };
                for _ in 0..rounds {
                    s.read_exact(&mut byte).map_err(|e| e.to_string())?;
                    floor::busy(work);
                    s.write_all(&byte).map_err(|e| e.to_string())?;
                }
            } else {
                let mut output = std::io::stdout().lock();
                for _ in 0..rounds {
                    input.read_exact(&mut byte).map_err(|e| e.to_string())?;
                    floor::busy(work);
                    output.write_all(&byte).map_err(|e| e.to_string())?;
                    output.flush().map_err(|e| e.to_string())?;
                }
            }
        }
        "queue" => {
            let seg = next("segment")?;
            let n: u64 = next("messages")?.parse().map_err(|_| "messages")?;
            let q = Shared::<ShmQueue>::open(&seg, &opts).map_err(|e| e.to_string())?;
            ready();
            let mut sum = 0u64;
            for _ in 0..n {
                sum = sum.wrapping_add(q.pop().map_err(|_| "closed early")?[0]);
            }
            // Say we are done (and prove we read everything) on stdout.
            println!("{sum}");
        }
        "drain" => {
            // Read `n` 64-byte records from stdin (a pipe or a socket), then report.
            let n: u64 = next("messages")?.parse().map_err(|_| "messages")?;
            let mut input = std::io::stdin().lock();
            let mut record = [0u8; 64];
            let mut sum = 0u64;
            for _ in 0..n {
                input.read_exact(&mut record).map_err(|e| e.to_string())?;
                sum = sum.wrapping_add(u64::from_le_bytes(record[..8].try_into().unwrap()));
            }
            let mut out: Box<dyn Write> = match next("kind")?.as_str() {
                "socket" => {
                    // SAFETY: fd 0 is the socket the parent handed us as stdin; nothing reads
                    // it after the loop above, so we may own it (and close it at exit).
                    let s = unsafe { <UnixStream as std::os::fd::FromRawFd>::from_raw_fd(0) };
                    Box::new(s)
                }
                _ => Box::new(std::io::stdout()),
            };
            writeln!(out, "{sum}").map_err(|e| e.to_string())?;
        }
        #[cfg(feature = "iceoryx2")]
        "ice-pingpong" => {
            let service = next("service")?;
            let rounds: u64 = next("rounds")?.parse().map_err(|_| "rounds")?;
            ice::helper_pingpong(&service, rounds, ready)?;
        }
        #[cfg(feature = "iceoryx2")]
        "ice-drain" => {
            let service = next("service")?;
            let n: u64 = next("messages")?.parse().map_err(|_| "messages")?;
            ice::helper_drain(&service, n, ready)?;
        }
        _ => return Err(format!("unknown helper role {role:?}")),
    }
    Ok(())
}

/// A started helper, killed and reaped on drop (so a failed run leaves none behind).
struct Helper {
    child: Child,
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Helper {
    fn stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().expect("helper stdout is piped")
    }
    fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("helper stdin is piped")
    }
    /// Waits for the helper to exit successfully.
    fn finish(mut self) {
        let status = self.child.wait().expect("wait for the helper");
        assert!(status.success(), "the bench helper failed: {status}");
    }
}

/// Starts the helper: this binary again, `role` and `args` in the environment.
fn spawn_helper(spec: String, stdin: Stdio) -> Helper {
    assert!(
        std::env::var_os(HELPER_ENV).is_none(),
        "a bench helper tried to start a helper: this binary's main does not call \
         synclab_benches::processes::serve_if_helper()"
    );
    // /proc/self/exe: this very binary, even if a rebuild has replaced the file meanwhile.
    let child = Command::new("/proc/self/exe")
        .env(HELPER_ENV, spec)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the bench helper");
    Helper { child }
}

/// Reads the helper's "ready" line.
fn await_ready(out: &mut BufReader<ChildStdout>) {
    let mut line = String::new();
    out.read_line(&mut line).expect("read from the helper");
    assert_eq!(line.trim(), "ready", "the bench helper did not start");
}

fn segment_name(what: &str) -> String {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "/synclab-bench-{}-{what}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn handoffs(rounds: u32, elapsed: Duration, work: Duration) -> Measurement {
    Measurement::ops(
        2 * u64::from(rounds),
        elapsed.saturating_sub(work * 2 * rounds),
    )
}

// ---------------------------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------------------------

fn shared_futex_wait(word: &AtomicU32, mine: u32) {
    loop {
        // Acquire: pairs with the peer's Release store in `shared_futex_pass`.
        let seen = word.load(Ordering::Acquire);
        if seen == mine {
            return;
        }
        CrossProcess::wait(word, seen);
    }
}

fn shared_futex_pass(word: &AtomicU32, next: u32) {
    // Release: pairs with the Acquire load in `shared_futex_wait`.
    word.store(next, Ordering::Release);
    CrossProcess::wake_one(word);
}

fn word_pingpong(role: &str, rounds: u32, work: Duration) -> Measurement {
    let name = segment_name(role);
    let w = Shared::<ShmWord>::create(&name, &0, &SegmentOptions::new()).expect("segment");
    let mut helper = spawn_helper(
        format!("{role} {name} {rounds} {}", work.as_nanos()),
        Stdio::null(),
    );
    await_ready(&mut BufReader::new(helper.stdout()));
    let (wait, pass): Turns = if role == "futex" {
        (shared_futex_wait, shared_futex_pass)
    } else {
        (floor::spin_wait_turn, floor::spin_pass)
    };
    let start = Instant::now();
    for i in 0..rounds {
        pass(&w.0, 2 * i + 1);
        wait(&w.0, 2 * i + 2);
        floor::busy(work);
    }
    let elapsed = start.elapsed();
    helper.finish();
    handoffs(rounds, elapsed, work)
}

/// The fresh-line floor: handoff `j` stores 1 into line `j`, which its receiver spins on.
fn fresh_pingpong(rounds: u32) -> Measurement {
    let name = segment_name("fresh");
    let l = Shared::<FreshLines>::create(&name, &(2 * u64::from(rounds)), &SegmentOptions::new())
        .expect("segment");
    let mut helper = spawn_helper(format!("fresh {name} {rounds}"), Stdio::null());
    await_ready(&mut BufReader::new(helper.stdout()));
    let start = Instant::now();
    for i in 0..rounds as usize {
        floor::spin_pass(l.line(2 * i), 1);
        floor::spin_wait_turn(l.line(2 * i + 1), 1);
    }
    let elapsed = start.elapsed();
    helper.finish();
    handoffs(rounds, elapsed, Duration::ZERO)
}

/// The helper's side of a slot ping-pong: waits for slot `2i`, publishes `2i + 1`.
fn answer_slots<E1: std::fmt::Display, E2: std::fmt::Display>(
    rounds: usize,
    work: Duration,
    wait: impl Fn(usize) -> Result<u64, E1>,
    publish: impl Fn(usize, u64) -> Result<(), E2>,
) -> Result<(), String> {
    for i in 0..rounds {
        let v = wait(2 * i).map_err(|e| e.to_string())?;
        floor::busy(work);
        publish(2 * i + 1, v + 1).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The parent's side of a slot ping-pong with helper `role`: publishes slot `2i`, waits for
/// `2i + 1`.
fn slot_pingpong(
    role: &str,
    name: &str,
    rounds: u32,
    work: Duration,
    publish: impl Fn(usize, u64),
    wait: impl Fn(usize) -> u64,
) -> Measurement {
    let mut helper = spawn_helper(
        format!("{role} {name} {rounds} {}", work.as_nanos()),
        Stdio::null(),
    );
    await_ready(&mut BufReader::new(helper.stdout()));
    let start = Instant::now();
    for i in 0..rounds as usize {
        publish(2 * i, i as u64);
        std::hint::black_box(wait(2 * i + 1));
        floor::busy(work);
    }
    let elapsed = start.elapsed();
    helper.finish();
    handoffs(rounds, elapsed, work)
}

fn array_pingpong(rounds: u32, work: Duration) -> Measurement {
    let name = segment_name("array");
    let a = Shared::<ShmArray>::create(&name, &(2 * u64::from(rounds)), &SegmentOptions::new())
        .expect("segment");
    slot_pingpong(
        "array",
        &name,
        rounds,
        work,
        |i, v| a.publish(i, v).expect("fresh slot"),
        |i| a.wait_checked(i).expect("the helper publishes"),
    )
}

/// The same over a laned array: the parent holds lane 0 (even slots), the helper lane 1.
fn lanes_pingpong(rounds: u32, work: Duration) -> Measurement {
    let name = segment_name("lanes");
    let params = [2 * u64::from(rounds), 2];
    let a = Shared::<ShmLanes>::create(&name, &params, &SegmentOptions::new()).expect("segment");
    let lane = a.lane(0).expect("a new array's lanes are free");
    slot_pingpong(
        "lanes",
        &name,
        rounds,
        work,
        |i, v| lane.publish(i, v).expect("fresh slot of lane 0"),
        |i| a.wait_checked(i).expect("the helper publishes"),
    )
}

/// A round trip over a duplex ring of `capacity` slots per direction: the parent holds end 0,
/// the helper end 1; request `i` and its answer share slot `i mod capacity`'s line.
fn duplex_pingpong(rounds: u32, capacity: u64) -> Measurement {
    let name = segment_name("duplex");
    let d = Shared::<ShmDuplex>::create(&name, &capacity, &SegmentOptions::new()).expect("segment");
    let mut end = d.end(0).expect("a new ring's ends are free");
    let mut helper = spawn_helper(format!("duplex {name} {rounds}"), Stdio::null());
    await_ready(&mut BufReader::new(helper.stdout()));
    let start = Instant::now();
    for i in 0..u64::from(rounds) {
        end.try_send(i).expect("one request in flight at a time");
        std::hint::black_box(end.recv_spinning(None).expect("the helper answers"));
    }
    let elapsed = start.elapsed();
    helper.finish();
    handoffs(rounds, elapsed, Duration::ZERO)
}

fn pipe_pingpong(rounds: u32, work: Duration) -> Measurement {
    let mut helper = spawn_helper(
        format!("stream {rounds} {} pipe", work.as_nanos()),
        Stdio::piped(),
    );
    let (mut to, mut from) = (helper.stdin(), helper.stdout());
    let mut byte = [1u8; 1];
    let start = Instant::now();
    for _ in 0..rounds {
        to.write_all(&byte).expect("pipe");
        from.read_exact(&mut byte).expect("pipe");
        floor::busy(work);
    }
    let elapsed = start.elapsed();
    drop((to, from));
    helper.finish();
    handoffs(rounds, elapsed, work)
}

fn socket_pingpong(rounds: u32, work: Duration) -> Measurement {
    let (mut mine, theirs) = UnixStream::pair().expect("socketpair");
    let helper = spawn_helper(
        format!("stream {rounds} {} socket", work.as_nanos()),
        Stdio::from(std::os::fd::OwnedFd::from(theirs)),
    );
    let mut byte = [1u8; 1];
    let start = Instant::now();
    for _ in 0..rounds {
        mine.write_all(&byte).expect("socket");
        mine.read_exact(&mut byte).expect("socket");
        floor::busy(work);
    }
    let elapsed = start.elapsed();
    drop(mine);
    helper.finish();
    handoffs(rounds, elapsed, work)
}

/// Rounds per call, sized for the runner's short paired rounds (the helper's start-up is not
/// timed, but it is paid per call).
fn asleep_rounds(p: &Params) -> u32 {
    p.pick(100, 400)
}

fn quick_rounds(p: &Params) -> u32 {
    p.pick(5_000, 20_000)
}

fn futex_asleep(p: &Params) -> Measurement {
    word_pingpong("futex", asleep_rounds(p), ASLEEP_WORK)
}
fn array_asleep(p: &Params) -> Measurement {
    array_pingpong(asleep_rounds(p), ASLEEP_WORK)
}
fn lanes_asleep(p: &Params) -> Measurement {
    lanes_pingpong(asleep_rounds(p), ASLEEP_WORK)
}
fn pipe_asleep(p: &Params) -> Measurement {
    pipe_pingpong(asleep_rounds(p), ASLEEP_WORK)
}
fn socket_asleep(p: &Params) -> Measurement {
    socket_pingpong(asleep_rounds(p), ASLEEP_WORK)
}
fn spin_quick(p: &Params) -> Measurement {
    word_pingpong("spin", quick_rounds(p), Duration::ZERO)
}
fn fresh_quick(p: &Params) -> Measurement {
    fresh_pingpong(quick_rounds(p))
}
fn array_quick(p: &Params) -> Measurement {
    array_pingpong(quick_rounds(p), Duration::ZERO)
}
fn duplex_quick(p: &Params) -> Measurement {
    duplex_pingpong(quick_rounds(p), DUPLEX_CAPACITY)
}
fn duplex_wide_quick(p: &Params) -> Measurement {
    duplex_pingpong(quick_rounds(p), DUPLEX_WIDE_CAPACITY)
}
fn lanes_quick(p: &Params) -> Measurement {
    lanes_pingpong(quick_rounds(p), Duration::ZERO)
}
/// Pipes and sockets always sleep in `read`: fewer rounds.
fn pipe_quick(p: &Params) -> Measurement {
    pipe_pingpong(asleep_rounds(p), Duration::ZERO)
}
fn socket_quick(p: &Params) -> Measurement {
    socket_pingpong(asleep_rounds(p), Duration::ZERO)
}

// ---------------------------------------------------------------------------------------------
// 64-byte throughput
// ---------------------------------------------------------------------------------------------

fn messages(p: &Params) -> u64 {
    p.pick(50_000, 200_000)
}

fn expected_sum(n: u64) -> u64 {
    (0..n).fold(0u64, |s, i| s.wrapping_add(i))
}

fn queue_throughput(p: &Params) -> Measurement {
    let n = messages(p);
    let name = segment_name("queue");
    let q = Shared::<ShmQueue>::create(&name, &QUEUE_CAPACITY, &SegmentOptions::new())
        .expect("segment");
    let mut helper = spawn_helper(format!("queue {name} {n}"), Stdio::null());
    let mut out = BufReader::new(helper.stdout());
    await_ready(&mut out);
    let start = Instant::now();
    for i in 0..n {
        q.push([i, 0, 0, 0, 0, 0, 0, 0]).expect("open queue");
    }
    let mut line = String::new();
    out.read_line(&mut line).expect("the helper's sum");
    let elapsed = start.elapsed();
    assert_eq!(
        line.trim().parse::<u64>().ok(),
        Some(expected_sum(n)),
        "messages lost"
    );
    helper.finish();
    Measurement::ops(n, elapsed)
}

fn record(i: u64) -> [u8; 64] {
    let mut r = [0u8; 64];
    r[..8].copy_from_slice(&i.to_le_bytes());
    r
}

fn pipe_throughput(p: &Params) -> Measurement {
    let n = messages(p);
    let mut helper = spawn_helper(format!("drain {n} pipe"), Stdio::piped());
    let (mut to, from) = (helper.stdin(), helper.stdout());
    let start = Instant::now();
    for i in 0..n {
        to.write_all(&record(i)).expect("pipe");
    }
    let mut line = String::new();
    BufReader::new(from)
        .read_line(&mut line)
        .expect("the helper's sum");
    let elapsed = start.elapsed();
    assert_eq!(
        line.trim().parse::<u64>().ok(),
        Some(expected_sum(n)),
        "messages lost"
    );
    drop(to);
    helper.finish();
    Measurement::ops(n, elapsed)
}

fn socket_throughput(p: &Params) -> Measurement {
    let n = messages(p);
    let (mut mine, theirs) = UnixStream::pair().expect("socketpair");
    let helper = spawn_helper(
        format!("drain {n} socket"),
        Stdio::from(std::os::fd::OwnedFd::from(theirs)),
    );
    let start = Instant::now();
    for i in 0..n {
        mine.write_all(&record(i)).expect("socket");
    }
    let mut line = String::new();
    BufReader::new(&mine)
        .read_line(&mut line)
        .expect("the helper's sum");
    let elapsed = start.elapsed();
    assert_eq!(
        line.trim().parse::<u64>().ok(),
        Some(expected_sum(n)),
        "messages lost"
    );
    drop(mine);
    helper.finish();
    Measurement::ops(n, elapsed)
}

/// iceoryx2's publish-subscribe, both sides busy-polling.
#[cfg(feature = "iceoryx2")]
mod ice {
    use super::*;
    use iceoryx2::prelude::*;

    type Node = iceoryx2::node::Node<ipc::Service>;
    type Publisher<T> = iceoryx2::port::publisher::Publisher<ipc::Service, T, ()>;
    type Subscriber<T> = iceoryx2::port::subscriber::Subscriber<ipc::Service, T, ()>;

    fn node() -> Result<Node, String> {
        NodeBuilder::new()
            .create::<ipc::Service>()
            .map_err(|e| format!("iceoryx2 node: {e:?}"))
    }

    /// Opens (or creates) service `name` of `T` with a buffer of `buffer` samples that never
    /// overflows, and a blocking publisher and a subscriber on it, as asked.
    fn ports<T: ZeroCopySend + core::fmt::Debug + Copy + 'static>(
        node: &Node,
        name: &str,
        buffer: usize,
    ) -> Result<(Publisher<T>, Subscriber<T>), String> {
        let err = |e: &dyn core::fmt::Debug| format!("iceoryx2 {name}: {e:?}");
        let service_name: ServiceName = name.try_into().map_err(|e| err(&e))?;
        let service = node
            .service_builder(&service_name)
            .publish_subscribe::<T>()
            .enable_safe_overflow(false)
            .subscriber_max_buffer_size(buffer)
            .history_size(0)
            .open_or_create()
            .map_err(|e| err(&e))?;
        let publisher = service
            .publisher_builder()
            .backpressure_strategy(BackpressureStrategy::RetryUntilDelivered)
            .create()
            .map_err(|e| err(&e))?;
        let subscriber = service
            .subscriber_builder()
            .buffer_size(buffer)
            .create()
            .map_err(|e| err(&e))?;
        Ok((publisher, subscriber))
    }

    /// Busy-polls `subscriber` until a sample arrives.
    fn receive<T: ZeroCopySend + core::fmt::Debug + Copy + 'static>(
        subscriber: &Subscriber<T>,
    ) -> T {
        loop {
            if let Some(sample) = subscriber.receive().expect("iceoryx2 receive") {
                return *sample;
            }
            std::hint::spin_loop();
        }
    }

    fn unique(what: &str) -> String {
        segment_name(what).trim_start_matches('/').replace('-', "/")
    }

    pub(super) fn pingpong(p: &Params) -> Measurement {
        let rounds = quick_rounds(p);
        let base = unique("ice");
        let node = node().expect("iceoryx2");
        let (ping, _) = ports::<u64>(&node, &format!("{base}/ping"), 1).expect("iceoryx2");
        let (_, pong) = ports::<u64>(&node, &format!("{base}/pong"), 1).expect("iceoryx2");
        let mut helper = spawn_helper(format!("ice-pingpong {base} {rounds}"), Stdio::null());
        await_ready(&mut BufReader::new(helper.stdout()));
        let start = Instant::now();
        for i in 0..u64::from(rounds) {
            ping.send_copy(i).expect("iceoryx2 send");
            std::hint::black_box(receive(&pong));
        }
        let elapsed = start.elapsed();
        helper.finish();
        handoffs(rounds, elapsed, Duration::ZERO)
    }

    pub(super) fn helper_pingpong(base: &str, rounds: u64, ready: impl Fn()) -> Result<(), String> {
        let node = node()?;
        let (_, ping) = ports::<u64>(&node, &format!("{base}/ping"), 1)?;
        let (pong, _) = ports::<u64>(&node, &format!("{base}/pong"), 1)?;
        ready();
        for _ in 0..rounds {
            let v = receive(&ping);
            pong.send_copy(v + 1).map_err(|e| format!("{e:?}"))?;
        }
        Ok(())
    }

    pub(super) fn throughput(p: &Params) -> Measurement {
        let n = messages(p);
        let base = unique("ice");
        let node = node().expect("iceoryx2");
        let (publisher, _) = ports::<Message>(&node, &format!("{base}/q"), QUEUE_CAPACITY as usize)
            .expect("iceoryx2");
        let mut helper = spawn_helper(format!("ice-drain {base} {n}"), Stdio::null());
        let mut out = BufReader::new(helper.stdout());
        await_ready(&mut out);
        let start = Instant::now();
        for i in 0..n {
            publisher
                .send_copy([i, 0, 0, 0, 0, 0, 0, 0])
                .expect("iceoryx2 send");
        }
        let mut line = String::new();
        out.read_line(&mut line).expect("the helper's sum");
        let elapsed = start.elapsed();
        assert_eq!(
            line.trim().parse::<u64>().ok(),
            Some(expected_sum(n)),
            "messages lost"
        );
        helper.finish();
        Measurement::ops(n, elapsed)
    }

    pub(super) fn helper_drain(base: &str, n: u64, ready: impl Fn()) -> Result<(), String> {
        let node = node()?;
        let (_, subscriber) =
            ports::<Message>(&node, &format!("{base}/q"), QUEUE_CAPACITY as usize)?;
        ready();
        let mut sum = 0u64;
        for _ in 0..n {
            sum = sum.wrapping_add(receive(&subscriber)[0]);
        }
        println!("{sum}");
        Ok(())
    }
}
