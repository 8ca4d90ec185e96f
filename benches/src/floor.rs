//! Physical floors and the raw futex: what the hardware and the kernel allow at best.
//!
//! * `floor/uncontended-rmw` — one `fetch_add` on a private cache line: the cost of any
//!   atomic read-modify-write, the floor under every uncontended lock.
//! * `floor/handoff` — one thread hands a turn to another and back, one-way latency:
//!   spinning on one atomic (the floor when both threads are awake), sleeping on a raw futex
//!   (the floor when the receiver sleeps), and std's `Mutex` + `Condvar` (the anchor).

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use synclab::sync::futex;

use crate::{Contender, Measurement, Metric, Params, Role, Target, Workload};

/// The floor workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "floor/uncontended-rmw",
            group: "floor",
            title: "Uncontended atomic fetch_add",
            threads_label: "threads",
            threads: vec![1],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: vec![Contender {
                name: "AtomicU64::fetch_add",
                role: Role::Floor,
                run: uncontended_rmw,
            }],
        },
        Workload {
            id: "floor/handoff",
            group: "floor",
            title: "Ping-pong between two threads (one-way handoff)",
            threads_label: "threads",
            threads: vec![2],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: vec![
                Contender {
                    name: "spin on one atomic",
                    role: Role::Floor,
                    run: spin_pingpong,
                },
                Contender {
                    name: "raw futex",
                    role: Role::Floor,
                    run: futex_pingpong,
                },
                Contender {
                    name: "std Mutex+Condvar",
                    role: Role::Anchor,
                    run: condvar_pingpong,
                },
            ],
        },
    ]
}

/// The floor group promises nothing; it is the yardstick.
pub fn targets() -> Vec<Target> {
    Vec::new()
}

fn uncontended_rmw(p: &Params) -> Measurement {
    let n: u64 = p.pick(200_000, 2_000_000);
    let counter = AtomicU64::new(0);
    let start = Instant::now();
    for _ in 0..n {
        black_box(&counter).fetch_add(1, Ordering::AcqRel);
    }
    let elapsed = start.elapsed();
    assert_eq!(counter.load(Ordering::Relaxed), n);
    Measurement::ops(n, elapsed)
}

/// The longest one call of a ping-pong may run (20 ms; 10 ms in a quick run): a handoff
/// between two *spinning* threads costs tens of nanoseconds when both have a CPU and a
/// scheduler tick when one has been descheduled, so on a busy machine a fixed round count can
/// take a thousand times longer than on a quiet one. The ping-pongs stop at this cap and
/// report the handoffs they made in the time they took.
pub(crate) fn pingpong_cap(p: &Params) -> Duration {
    p.pick(Duration::from_millis(10), Duration::from_millis(20))
}

/// Runs up to `rounds` round trips between the caller and one helper thread on one word,
/// each side busy-working `work` (on its CPU, see [`busy`]) after it gets the turn, stopping
/// early once `cap` has passed; returns the round trips made and their elapsed time.
/// `wait_turn(word, mine)` must return once `word == mine`, `pass(word, next)` hands the turn
/// over. Shared with the array group, whose floors must run in its own workloads.
pub(crate) fn word_pingpong(
    rounds: u32,
    cap: Duration,
    work: Duration,
    wait_turn: fn(&AtomicU32, u32),
    pass: fn(&AtomicU32, u32),
) -> (u32, Duration) {
    let word = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let peer = {
        let (word, stop) = (Arc::clone(&word), Arc::clone(&stop));
        std::thread::spawn(move || {
            for i in 0..rounds {
                wait_turn(&word, 2 * i + 1);
                // Relaxed: the flag is set before the `pass` that woke us, and `wait_turn`'s
                // Acquire load of that pass orders it before this load.
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                busy(work);
                pass(&word, 2 * i + 2);
            }
        })
    };
    let start = Instant::now();
    let mut done = rounds;
    let mut cap_check = CapCheck::new(cap);
    for i in 0..rounds {
        pass(&word, 2 * i + 1);
        wait_turn(&word, 2 * i + 2);
        busy(work);
        if cap_check.reached(i, start) {
            done = i + 1;
            break;
        }
    }
    let elapsed = start.elapsed();
    if done < rounds {
        // Relaxed: published to the peer by the Release in `pass` below.
        stop.store(true, Ordering::Relaxed);
        pass(&word, 2 * done + 1);
    }
    peer.join().expect("ping-pong peer panicked");
    (done, elapsed)
}

/// When a capped loop looks at the clock: every 16 rounds while rounds are fast (a clock
/// read would cost as much as a spin handoff), every round once a quarter of the cap has
/// gone (rounds that slow would overshoot the cap by 16 of them).
pub(crate) struct CapCheck {
    cap: Duration,
    mask: u32,
}

impl CapCheck {
    pub(crate) fn new(cap: Duration) -> Self {
        CapCheck { cap, mask: 15 }
    }

    /// Whether the loop, now after round `i` of a run that began at `start`, should stop.
    pub(crate) fn reached(&mut self, i: u32, start: Instant) -> bool {
        if i & self.mask != self.mask {
            return false;
        }
        let elapsed = start.elapsed();
        if elapsed >= self.cap / 4 {
            self.mask = 0;
        }
        elapsed >= self.cap
    }
}

/// Busy-works for `work` (a spin on the clock, so the thread stays on its CPU).
pub(crate) fn busy(work: Duration) {
    if work.is_zero() {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < work {
        std::hint::spin_loop();
    }
}

/// Spins until `word == mine`.
pub(crate) fn spin_wait_turn(word: &AtomicU32, mine: u32) {
    // Acquire: pairs with the peer's Release store in `spin_pass`.
    while word.load(Ordering::Acquire) != mine {
        std::hint::spin_loop();
    }
}

/// Hands the turn over to a spinning peer.
pub(crate) fn spin_pass(word: &AtomicU32, next: u32) {
    // Release: pairs with the Acquire load in `spin_wait_turn`.
    word.store(next, Ordering::Release);
}

/// Sleeps on the futex until `word == mine`.
pub(crate) fn futex_wait_turn(word: &AtomicU32, mine: u32) {
    loop {
        // Acquire: pairs with the peer's Release store in `futex_pass`.
        let seen = word.load(Ordering::Acquire);
        if seen == mine {
            return;
        }
        futex::wait(word, seen);
    }
}

/// Hands the turn over to a peer asleep on the futex.
pub(crate) fn futex_pass(word: &AtomicU32, next: u32) {
    // Release: pairs with the Acquire load in `futex_wait_turn`.
    word.store(next, Ordering::Release);
    futex::wake_one(word);
}

/// A capped ping-pong with no work: one-way handoffs over their time.
fn handoffs(
    p: &Params,
    rounds: u32,
    wait_turn: fn(&AtomicU32, u32),
    pass: fn(&AtomicU32, u32),
) -> Measurement {
    let (done, elapsed) = word_pingpong(rounds, pingpong_cap(p), Duration::ZERO, wait_turn, pass);
    Measurement::ops(2 * u64::from(done), elapsed)
}

fn spin_pingpong(p: &Params) -> Measurement {
    handoffs(p, p.pick(5_000, 50_000), spin_wait_turn, spin_pass)
}

fn futex_pingpong(p: &Params) -> Measurement {
    handoffs(p, p.pick(100, 500), futex_wait_turn, futex_pass)
}

/// std's `Mutex` + `Condvar` ping-pong: the locks group's, through `StdFamily` (std's pair).
fn condvar_pingpong(p: &Params) -> Measurement {
    crate::locks::pingpong::<synclab::lock::StdFamily>(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_floor_contender_completes() {
        let p = Params {
            threads: 2,
            scale: Scale::Quick,
        };
        for w in workloads() {
            for c in &w.contenders {
                let m = (c.run)(&p);
                assert!(m.ops > 0, "{}: {} did no work", w.id, c.name);
            }
        }
    }
}
