//! Workloads of the shared array: every design beside the floors, in one run.
//!
//! * `array/handoff-asleep` — ping-pong through two arrays (main publishes `X[i]` and waits
//!   for `Y[i]`, the peer waits for `X[i]` and publishes `Y[i]`), one-way ns per handoff, as
//!   `floor/handoff` reports it. Each side busy-works 50 µs after receiving before it passes
//!   the turn back — far longer than `LockFreeArray`'s bounded spin — so every receiver is
//!   asleep when its turn comes; the work is subtracted from the time. The floor is the raw
//!   futex ping-pong with the same work, run here as a contender so the ratio comes from one
//!   run.
//! * `array/handoff-quick` — the same ping-pong with nothing else to do, so the receiver is
//!   arriving or spinning when the publisher publishes; the floor is the spin-on-one-atomic
//!   ping-pong.
//! * `array/wake-latency` — one publish→read latency (median, ns) with the reader already
//!   waiting: the reader announces it is about to wait, the publisher waits 50 µs, stamps the
//!   time and publishes; the reader records `now - stamp`. This is where the seed's polling
//!   reader shows its cost: its latency is about one penalty.
//! * `array/throughput` — one publisher fills 300 k slots (50 k quick) as fast as it can, one
//!   reader waits for each in order; Mops = slots / time until the reader has read the last.
//!   The floor is a `Vec<AtomicU64>` with a Release store and an Acquire spin per slot.
//! * `array/idle-cpu` — CPU used by readers waiting on a slot nobody publishes, in ms per
//!   second of wall time (`getrusage`, whole process; the main thread sleeps meanwhile; see
//!   [`crate::idle_window`]). Its floor is the same window with no reader at all: what the
//!   measurement itself costs.
//!
//! `PollingArray` runs with its default penalty, [`DEFAULT_PENALTY`] = 1 ms (the seed's is
//! 1 s), and with fewer rounds, since each of its handoffs costs about a penalty. In a
//! ping-pong both sides poll with the same period, so its one-way figure there is about half
//! a penalty; `array/wake-latency` shows the single-handoff cost, about one penalty.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use synclab::array::{CondvarArray, LockFreeArray, PollingArray, SharedArray, DEFAULT_PENALTY};
use synclab::lock::{FutexFamily, StdFamily};

use crate::{
    floor, Contender, CountScope, CountedOp, Measurement, Metric, Params, Region, Role, Target,
    Workload,
};

type Polling = PollingArray<u64, StdFamily>;
type CondvarStd = CondvarArray<u64, StdFamily>;
type CondvarFutex = CondvarArray<u64, FutexFamily>;
type LockFree = LockFreeArray<u64>;

/// Contender names, shared by the workloads and the targets.
const LOCK_FREE: &str = "LockFreeArray";
const SPIN_FLOOR: &str = "spin on one atomic";
const FUTEX_FLOOR: &str = "raw futex";
/// The idle-CPU floor: the same window with no reader at all (see [`crate::idle_window`]).
const MEASURING_FLOOR: &str = "no reader (the measurement itself)";

/// The four designs, each running `run::<Design>`.
macro_rules! designs {
    ($run:ident) => {
        vec![
            Contender {
                name: LOCK_FREE,
                role: Role::Synclab,
                run: $run::<LockFree>,
            },
            Contender {
                name: "CondvarArray<futex>",
                role: Role::Synclab,
                run: $run::<CondvarFutex>,
            },
            Contender {
                name: "CondvarArray<std>",
                role: Role::Synclab,
                run: $run::<CondvarStd>,
            },
            Contender {
                name: "PollingArray (1 ms penalty)",
                role: Role::Seed,
                run: $run::<Polling>,
            },
        ]
    };
}

/// The array workloads.
pub fn workloads() -> Vec<Workload> {
    let with = |floors: Vec<Contender>, designs: Vec<Contender>| {
        let mut all = floors;
        all.extend(designs);
        all
    };
    vec![
        Workload {
            id: "array/handoff-asleep",
            group: "array",
            title: "Publish→read handoff, reader asleep (ping-pong, one-way)",
            threads_label: "threads",
            threads: vec![2],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: with(
                vec![Contender {
                    name: FUTEX_FLOOR,
                    role: Role::Floor,
                    run: futex_pingpong,
                }],
                designs!(array_pingpong_asleep),
            ),
        },
        Workload {
            id: "array/handoff-quick",
            group: "array",
            title: "Publish→read handoff, reader spinning (ping-pong, one-way)",
            threads_label: "threads",
            threads: vec![2],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: with(
                vec![Contender {
                    name: SPIN_FLOOR,
                    role: Role::Floor,
                    run: spin_pingpong,
                }],
                designs!(array_pingpong_quick),
            ),
        },
        Workload {
            id: "array/wake-latency",
            group: "array",
            title: "Publish→read latency, reader already waiting (median)",
            threads_label: "readers",
            threads: vec![1],
            scales_with_threads: false,
            metric: Metric::LatencyNs,
            contenders: with(
                vec![Contender {
                    name: FUTEX_FLOOR,
                    role: Role::Floor,
                    run: futex_wake_latency,
                }],
                designs!(wake_latency),
            ),
        },
        Workload {
            id: "array/throughput",
            group: "array",
            title: "Slots published as fast as possible, one reader reading them in order",
            threads_label: "threads",
            threads: vec![2],
            scales_with_threads: false,
            metric: Metric::Mops,
            contenders: with(
                vec![Contender {
                    name: "Vec<AtomicU64> spin",
                    role: Role::Floor,
                    run: atomic_vec_throughput,
                }],
                designs!(throughput),
            ),
        },
        Workload {
            id: "array/idle-cpu",
            group: "array",
            title: "CPU of readers waiting on an unpublished slot",
            threads_label: "readers",
            threads: vec![1, 4],
            scales_with_threads: true,
            metric: Metric::CpuMsPerSec,
            contenders: with(
                vec![Contender {
                    name: MEASURING_FLOOR,
                    role: Role::Floor,
                    run: idle_cpu_floor,
                }],
                designs!(idle_cpu),
            ),
        },
    ]
}

/// The performance targets of the array issue.
///
/// Not expressible as a ratio, and judged beside these in `docs/benchmarks.md`: waiting
/// readers use < 5 ms CPU per second (`array/idle-cpu`), and `PollingArray`'s latency is about
/// its penalty (`array/wake-latency`).
pub fn targets() -> Vec<Target> {
    vec![
        Target {
            claim: "LockFreeArray handoff ≤ 1.5× the spin floor when the publisher is quick",
            workload: "array/handoff-quick",
            threads: 2,
            contender: LOCK_FREE,
            reference: SPIN_FLOOR,
            min_advantage: 1.0 / 1.5,
        },
        Target {
            claim: "LockFreeArray handoff ≤ 1.2× the raw futex ping-pong when the reader sleeps",
            workload: "array/handoff-asleep",
            threads: 2,
            contender: LOCK_FREE,
            reference: FUTEX_FLOOR,
            min_advantage: 1.0 / 1.2,
        },
        Target {
            claim: "Readers waiting on an unpublished LockFreeArray slot use < 5 ms CPU per second (4 readers)",
            workload: "array/idle-cpu",
            threads: 4,
            contender: LOCK_FREE,
            reference: crate::ABSOLUTE,
            min_advantage: 5.0,
        },
    ]
}

/// The arrays' instruction counts: `publish` of a fresh slot, then `try_get` of it, with
/// nobody waiting. One line per array.
pub fn counted_ops() -> Vec<CountedOp> {
    vec![
        counted_array::<LockFree>(LOCK_FREE, Role::Synclab),
        counted_array::<CondvarFutex>("CondvarArray<futex>", Role::Synclab),
        counted_array::<CondvarStd>("CondvarArray<std>", Role::Synclab),
        counted_array::<Polling>("PollingArray", Role::Seed),
    ]
}

/// The [`CountedOp`] of `A`: an array of `n` slots is built outside the counted region, then
/// every slot is published and read back once.
fn counted_array<A: SharedArray<u64>>(contender: &'static str, role: Role) -> CountedOp {
    fn run<A: SharedArray<u64>>(n: u64, region: Region<'_>) {
        let n = usize::try_from(n).expect("a counted run fits in memory");
        let array = A::with_len(n).expect("the array allocates");
        let mut ok = true;
        region(&mut || {
            for i in 0..n {
                ok &= black_box(&array).publish(i, i as u64).is_ok();
                ok &= matches!(black_box(&array).try_get(i), Ok(Some(v)) if v == i as u64);
            }
        });
        assert!(ok, "a fresh slot was refused or read back wrong");
    }
    CountedOp {
        group: "array",
        operation: "publish + try_get of a fresh slot, no waiter",
        contender,
        role,
        scope: CountScope::Region,
        run: run::<A>,
    }
}

fn is_polling<A: SharedArray<u64>>() -> bool {
    A::NAME == <Polling as SharedArray<u64>>::NAME
}

/// Rounds for a ping-pong whose handoffs sleep (or poll, for the seed's design).
fn sleeping_rounds<A: SharedArray<u64>>(p: &Params) -> u32 {
    if is_polling::<A>() {
        p.pick(10, 40)
    } else {
        p.pick(50, 200)
    }
}

/// The measured time with the busy work taken out: `rounds` round trips each contain two
/// handoffs and two periods of `work`.
fn handoffs(rounds: u32, elapsed: Duration, work: Duration) -> Measurement {
    let working = work * 2 * rounds;
    Measurement::ops(2 * u64::from(rounds), elapsed.saturating_sub(working))
}

/// How long each side of the asleep ping-pong works before passing the turn back: far longer
/// than any design's spin, so the receiver is asleep when the turn arrives.
const ASLEEP_WORK: Duration = Duration::from_micros(50);

/// Up to `rounds` round trips through two arrays, stopping once `cap` has passed; each side
/// works `work` after receiving before passing on. Returns one-way ns per handoff (2 per
/// round), the work excluded.
fn array_pingpong<A: SharedArray<u64> + 'static>(
    rounds: u32,
    cap: Duration,
    work: Duration,
) -> Measurement {
    let n = rounds as usize;
    // One spare slot: the stop signal, when the caller stops early.
    let there = Arc::new(A::with_len(n + 1).expect("the array allocates"));
    let back = Arc::new(A::with_len(n).expect("the array allocates"));
    let stop = Arc::new(AtomicBool::new(false));
    let peer = {
        let (there, back, stop) = (Arc::clone(&there), Arc::clone(&back), Arc::clone(&stop));
        std::thread::spawn(move || {
            for i in 0..n {
                let v = there.wait(i).expect("in bounds");
                // Relaxed: set before the publish we just read, which the array orders
                // before our read (its publish/wait are Release/Acquire or lock-based).
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                floor::busy(work);
                back.publish(i, v + 1).expect("fresh slot");
            }
        })
    };
    let start = Instant::now();
    let mut done = n;
    let mut cap_check = floor::CapCheck::new(cap);
    for i in 0..n {
        there.publish(i, i as u64).expect("fresh slot");
        black_box(back.wait(i).expect("in bounds"));
        floor::busy(work);
        if cap_check.reached(i as u32, start) {
            done = i + 1;
            break;
        }
    }
    let elapsed = start.elapsed();
    if done < n {
        // Relaxed: the publish below orders it before the peer's read of that slot.
        stop.store(true, Ordering::Relaxed);
        there.publish(done, 0).expect("fresh slot");
    }
    peer.join().expect("ping-pong peer panicked");
    handoffs(done as u32, elapsed, work)
}

fn array_pingpong_asleep<A: SharedArray<u64> + 'static>(p: &Params) -> Measurement {
    array_pingpong::<A>(sleeping_rounds::<A>(p), floor::pingpong_cap(p), ASLEEP_WORK)
}

fn array_pingpong_quick<A: SharedArray<u64> + 'static>(p: &Params) -> Measurement {
    let rounds = if A::NAME == <LockFree as SharedArray<u64>>::NAME {
        p.pick(10_000, 100_000)
    } else {
        sleeping_rounds::<A>(p)
    };
    array_pingpong::<A>(rounds, floor::pingpong_cap(p), Duration::ZERO)
}

/// floor.rs's ping-pong on one word, run here so the floors share the array's workloads.
fn word_pingpong(
    p: &Params,
    rounds: u32,
    work: Duration,
    wait_turn: fn(&AtomicU32, u32),
    pass: fn(&AtomicU32, u32),
) -> Measurement {
    let (done, elapsed) =
        floor::word_pingpong(rounds, floor::pingpong_cap(p), work, wait_turn, pass);
    handoffs(done, elapsed, work)
}

fn spin_pingpong(p: &Params) -> Measurement {
    word_pingpong(
        p,
        p.pick(10_000, 100_000),
        Duration::ZERO,
        floor::spin_wait_turn,
        floor::spin_pass,
    )
}

fn futex_pingpong(p: &Params) -> Measurement {
    word_pingpong(
        p,
        p.pick(50, 200),
        ASLEEP_WORK,
        floor::futex_wait_turn,
        floor::futex_pass,
    )
}

/// How long the publisher waits after the reader announced itself, so the reader is asleep.
const READER_HEAD_START: Duration = Duration::from_micros(50);

/// Runs `rounds` single handoffs to a reader that is already waiting; `wait(i)` blocks the
/// reader until handoff `i`, `publish(i, stamp_ns)` performs it. Returns latency samples.
fn latency_rounds(
    rounds: usize,
    wait: impl Fn(usize) -> u64 + Send + 'static,
    publish: impl Fn(usize, u64),
) -> Measurement {
    let origin = Instant::now();
    let announced = Arc::new(AtomicUsize::new(0));
    let reader = {
        let announced = Arc::clone(&announced);
        std::thread::spawn(move || {
            let mut samples = Vec::with_capacity(rounds);
            for i in 0..rounds {
                announced.store(i + 1, Ordering::Release);
                let stamp = wait(i);
                let now = origin.elapsed().as_nanos() as u64;
                samples.push(now.saturating_sub(stamp));
            }
            samples
        })
    };
    let start = Instant::now();
    for i in 0..rounds {
        while announced.load(Ordering::Acquire) != i + 1 {
            std::thread::yield_now();
        }
        std::thread::sleep(READER_HEAD_START);
        publish(i, origin.elapsed().as_nanos() as u64);
    }
    let samples = reader.join().expect("latency reader panicked");
    Measurement::latencies(samples, start.elapsed())
}

fn wake_latency<A: SharedArray<u64> + 'static>(p: &Params) -> Measurement {
    let rounds = if is_polling::<A>() {
        p.pick(10, 40)
    } else {
        p.pick(50, 200)
    };
    let array = Arc::new(A::with_len(rounds).expect("the array allocates"));
    let reader_side = Arc::clone(&array);
    latency_rounds(
        rounds,
        move |i| reader_side.wait(i).expect("in bounds"),
        |i, stamp| array.publish(i, stamp).expect("fresh slot"),
    )
}

fn futex_wake_latency(p: &Params) -> Measurement {
    let rounds = p.pick(50, 200);
    // One word per handoff, as the arrays have one slot per handoff; 0 = not yet.
    let words: Arc<Vec<(AtomicU32, AtomicU64)>> = Arc::new(
        (0..rounds)
            .map(|_| (AtomicU32::new(0), AtomicU64::new(0)))
            .collect(),
    );
    let reader_side = Arc::clone(&words);
    latency_rounds(
        rounds,
        move |i| {
            let (word, stamp) = &reader_side[i];
            floor::futex_wait_turn(word, 1);
            stamp.load(Ordering::Relaxed) // ordered by the Acquire in `floor::futex_wait_turn`
        },
        |i, now| {
            let (word, stamp) = &words[i];
            stamp.store(now, Ordering::Relaxed);
            floor::futex_pass(word, 1);
        },
    )
}

fn throughput<A: SharedArray<u64> + 'static>(p: &Params) -> Measurement {
    let n: usize = p.pick(50_000, 300_000);
    let array = Arc::new(A::with_len(n).expect("the array allocates"));
    let reader = {
        let array = Arc::clone(&array);
        std::thread::spawn(move || {
            let mut sum = 0u64;
            for i in 0..n {
                sum = sum.wrapping_add(array.wait(i).expect("in bounds"));
            }
            sum
        })
    };
    let start = Instant::now();
    for i in 0..n {
        array.publish(i, i as u64).expect("fresh slot");
    }
    let sum = reader.join().expect("throughput reader panicked");
    let elapsed = start.elapsed();
    assert_eq!(sum, (0..n as u64).sum::<u64>());
    Measurement::ops(n as u64, elapsed)
}

fn atomic_vec_throughput(p: &Params) -> Measurement {
    let n: usize = p.pick(50_000, 300_000);
    // 0 = empty; a published value v is stored as v + 1.
    let slots: Arc<Vec<AtomicU64>> = Arc::new((0..n).map(|_| AtomicU64::new(0)).collect());
    let reader = {
        let slots = Arc::clone(&slots);
        std::thread::spawn(move || {
            let mut sum = 0u64;
            for slot in slots.iter() {
                loop {
                    // Acquire: pairs with the publisher's Release store.
                    let v = slot.load(Ordering::Acquire);
                    if v != 0 {
                        sum = sum.wrapping_add(v - 1);
                        break;
                    }
                    std::hint::spin_loop();
                }
            }
            sum
        })
    };
    let start = Instant::now();
    for (i, slot) in slots.iter().enumerate() {
        // Release: pairs with the reader's Acquire load.
        slot.store(i as u64 + 1, Ordering::Release);
    }
    let sum = reader.join().expect("throughput reader panicked");
    let elapsed = start.elapsed();
    assert_eq!(sum, (0..n as u64).sum::<u64>());
    Measurement::ops(n as u64, elapsed)
}

fn idle_cpu_floor(p: &Params) -> Measurement {
    crate::idle_window(p, Duration::from_millis(10) + DEFAULT_PENALTY)
}

fn idle_cpu<A: SharedArray<u64> + 'static>(p: &Params) -> Measurement {
    let array = Arc::new(A::with_len(1).expect("the array allocates"));
    let readers: Vec<_> = (0..p.threads.max(1))
        .map(|_| {
            let array = Arc::clone(&array);
            std::thread::spawn(move || array.wait(0).expect("in bounds"))
        })
        .collect();
    // Let the readers finish any spin and settle into their wait before measuring.
    let m = crate::idle_window(p, Duration::from_millis(10) + DEFAULT_PENALTY);
    array.publish(0, 1).expect("fresh slot");
    for r in readers {
        assert_eq!(r.join().expect("idle reader panicked"), 1);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_array_contender_completes() {
        for w in workloads() {
            for c in &w.contenders {
                let p = Params {
                    threads: w.threads[0],
                    scale: Scale::Quick,
                };
                let m = (c.run)(&p);
                assert!(
                    m.ops > 0 || m.cpu.is_some(),
                    "{}: {} did no work",
                    w.id,
                    c.name
                );
            }
        }
    }
}
