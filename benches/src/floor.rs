//! Physical floors and the raw futex: what the hardware and the kernel allow at best.
//!
//! * `floor/uncontended-rmw` — one `fetch_add` on a private cache line: the cost of any
//!   atomic read-modify-write, the floor under every uncontended lock.
//! * `floor/handoff` — one thread hands a turn to another and back, one-way latency:
//!   spinning on one atomic (the floor when both threads are awake), sleeping on a raw futex
//!   (the floor when the receiver sleeps), and std's `Mutex` + `Condvar` (the anchor).

use std::hint::black_box;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

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
    let n: u64 = p.pick(1_000_000, 20_000_000);
    let counter = AtomicU64::new(0);
    let start = Instant::now();
    for _ in 0..n {
        black_box(&counter).fetch_add(1, Ordering::AcqRel);
    }
    let elapsed = start.elapsed();
    assert_eq!(counter.load(Ordering::Relaxed), n);
    Measurement::ops(n, elapsed)
}

/// Runs `rounds` round trips between the caller and one helper thread; `wait_turn(word, mine)`
/// must return once `word == mine`, `pass(word, next)` hands the turn over.
fn pingpong(rounds: u32, wait_turn: fn(&AtomicU32, u32), pass: fn(&AtomicU32, u32)) -> Measurement {
    let word = Arc::new(AtomicU32::new(0));
    let peer = {
        let word = Arc::clone(&word);
        std::thread::spawn(move || {
            for i in 0..rounds {
                wait_turn(&word, 2 * i + 1);
                pass(&word, 2 * i + 2);
            }
        })
    };
    let start = Instant::now();
    for i in 0..rounds {
        pass(&word, 2 * i + 1);
        wait_turn(&word, 2 * i + 2);
    }
    let elapsed = start.elapsed();
    peer.join().expect("ping-pong peer panicked");
    Measurement::ops(2 * u64::from(rounds), elapsed)
}

fn spin_pingpong(p: &Params) -> Measurement {
    pingpong(
        p.pick(20_000, 200_000),
        |word, mine| {
            // Acquire: pairs with the peer's Release store in `pass`.
            while word.load(Ordering::Acquire) != mine {
                std::hint::spin_loop();
            }
        },
        // Release: pairs with the Acquire load of the waiting side.
        |word, next| word.store(next, Ordering::Release),
    )
}

fn futex_pingpong(p: &Params) -> Measurement {
    pingpong(
        p.pick(2_000, 20_000),
        |word, mine| loop {
            // Acquire: pairs with the peer's Release store in `pass`.
            let seen = word.load(Ordering::Acquire);
            if seen == mine {
                return;
            }
            futex::wait(word, seen);
        },
        |word, next| {
            // Release: pairs with the Acquire load of the waiting side.
            word.store(next, Ordering::Release);
            futex::wake_one(word);
        },
    )
}

fn condvar_pingpong(p: &Params) -> Measurement {
    let rounds: u32 = p.pick(2_000, 20_000);
    let state = Arc::new((Mutex::new(0u32), Condvar::new()));
    let peer = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            let (lock, cv) = &*state;
            for i in 0..rounds {
                let mut turn = cv
                    .wait_while(lock.lock().unwrap(), |t| *t != 2 * i + 1)
                    .unwrap();
                *turn = 2 * i + 2;
                cv.notify_one();
            }
        })
    };
    let (lock, cv) = &*state;
    let start = Instant::now();
    for i in 0..rounds {
        *lock.lock().unwrap() = 2 * i + 1;
        cv.notify_one();
        drop(
            cv.wait_while(lock.lock().unwrap(), |t| *t != 2 * i + 2)
                .unwrap(),
        );
    }
    let elapsed = start.elapsed();
    peer.join().expect("ping-pong peer panicked");
    Measurement::ops(2 * u64::from(rounds), elapsed)
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
