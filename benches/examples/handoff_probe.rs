//! A two-thread probe of bare write-once publish protocols, written out with raw atomics, to
//! see what a spinning handoff costs beside one shared line (the floor of
//! `processes/roundtrip-spinning`). Not a synclab design and not a published figure: the
//! notes of docs/notes/round-trip.md report only its direction.
//!
//! `cargo run --release -p synclab-benches --example handoff_probe -- [rounds] [repeats]`
//!
//! Each protocol ping-pongs over `2 × rounds` write-once slots (`2i` one way, `2i + 1` back), in
//! padded slots (one per 64-byte line) and packed ones (16 bytes, four per line, so a round
//! trip's two handoffs share a line). The protocols, per publish:
//!
//! * `claim+value+swap` — synclab's `LockFreeArray`: CAS `EMPTY → WRITING`, write the value,
//!   swap in `READY` (the swap reads the sleepers bit);
//! * `value+swap` — no claim (one publisher per slot, known by construction);
//! * `load+value+swap` — the same, after a load that checks the slot is still empty;
//! * `value+store` — no read-modify-write at all (no sleepers could be told apart);
//! * `claim elsewhere` — the claim CAS on a line of its own, then value and swap.
//!
//! and two sequence-word floors: one word both threads spin on, and `k` words reused in turn.
//! Rows are medians over `repeats` interleaved runs, in ns per one-way handoff.
#![allow(missing_docs)]

use std::cell::UnsafeCell;
use std::hint::{black_box, spin_loop};
use std::sync::atomic::{AtomicU32, Ordering::*};
use std::time::Instant;

const EMPTY: u32 = 0;
const WRITING: u32 = 1;
const READY: u32 = 2;

trait Slot: Sync {
    fn new() -> Self;
    fn state(&self) -> &AtomicU32;
    fn value(&self) -> *mut u64;
}

macro_rules! slot {
    ($name:ident, $align:literal) => {
        #[repr(C, align($align))]
        struct $name {
            state: AtomicU32,
            value: UnsafeCell<u64>,
        }
        // SAFETY: the value is written by the slot's one publisher before its Release
        // publication and read only after an Acquire load sees READY.
        unsafe impl Sync for $name {}
        impl Slot for $name {
            fn new() -> Self {
                Self {
                    state: AtomicU32::new(EMPTY),
                    value: UnsafeCell::new(0),
                }
            }
            fn state(&self) -> &AtomicU32 {
                &self.state
            }
            fn value(&self) -> *mut u64 {
                self.value.get()
            }
        }
    };
}
slot!(Padded, 64);
slot!(Packed, 16);

#[repr(C, align(64))]
struct Line(AtomicU32);

#[derive(Clone, Copy)]
enum Protocol {
    ClaimValueSwap,
    ValueSwap,
    LoadValueSwap,
    ValueStore,
    ClaimElsewhere,
}

const PROTOCOLS: [(Protocol, &str); 5] = [
    (Protocol::ClaimValueSwap, "claim+value+swap"),
    (Protocol::ValueSwap, "value+swap"),
    (Protocol::LoadValueSwap, "load+value+swap"),
    (Protocol::ValueStore, "value+store"),
    (Protocol::ClaimElsewhere, "claim elsewhere"),
];

fn wait<S: Slot>(s: &S) -> u64 {
    // Acquire: pairs with the Release swap or store in `publish`.
    while s.state().load(Acquire) != READY {
        spin_loop();
    }
    // SAFETY: READY was seen with Acquire; the value is never written again.
    unsafe { *s.value() }
}

#[inline(always)]
fn publish<S: Slot>(p: Protocol, s: &S, claim: &Line, x: u64) {
    let claimed = match p {
        // Relaxed: the claim publishes nothing.
        Protocol::ClaimValueSwap => s.state().compare_exchange(EMPTY, WRITING, Relaxed, Relaxed),
        Protocol::ClaimElsewhere => claim.0.compare_exchange(EMPTY, WRITING, Relaxed, Relaxed),
        Protocol::LoadValueSwap => match s.state().load(Relaxed) {
            EMPTY => Ok(EMPTY),
            other => Err(other),
        },
        Protocol::ValueSwap | Protocol::ValueStore => Ok(EMPTY),
    };
    assert!(claimed.is_ok(), "every slot is published once");
    // SAFETY: this thread is the slot's only publisher and the slot is not READY yet, so no
    // reader reads the value concurrently.
    unsafe { *s.value() = x };
    // Release: pairs with the Acquire load in `wait`.
    match p {
        Protocol::ValueStore => s.state().store(READY, Release),
        _ => {
            black_box(s.state().swap(READY, Release));
        }
    }
}

fn pingpong<S: Slot>(p: Protocol, rounds: usize) -> f64 {
    let slots: Vec<S> = (0..2 * rounds).map(|_| S::new()).collect();
    let claims: Vec<Line> = (0..2 * rounds).map(|_| Line(AtomicU32::new(0))).collect();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..rounds {
                let x = wait(&slots[2 * i]);
                publish(p, &slots[2 * i + 1], &claims[2 * i + 1], x + 1);
            }
        });
        let start = Instant::now();
        for i in 0..rounds {
            publish(p, &slots[2 * i], &claims[2 * i], i as u64);
            black_box(wait(&slots[2 * i + 1]));
        }
        start.elapsed().as_nanos() as f64 / (2 * rounds) as f64
    })
}

/// Handoff `j` stores `j` into word `j mod k` (k a power of two), which the peer spins on.
fn sequence_words(k: usize, rounds: usize) -> f64 {
    let words: Vec<Line> = (0..k).map(|_| Line(AtomicU32::new(0))).collect();
    let word = |j: u64| &words[j as usize & (k - 1)].0;
    // Acquire / Release: the two sides' handoffs, as in the floors of `floor.rs`.
    let pass = |j: u64| word(j).store(j as u32, Release);
    let turn = |j: u64| {
        while word(j).load(Acquire) != j as u32 {
            spin_loop();
        }
    };
    let rounds = rounds as u64;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for i in 0..rounds {
                turn(2 * i + 1);
                pass(2 * i + 2);
            }
        });
        let start = Instant::now();
        for i in 0..rounds {
            pass(2 * i + 1);
            turn(2 * i + 2);
        }
        start.elapsed().as_nanos() as f64 / (2 * rounds) as f64
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(30);
    type Probe = Box<dyn Fn() -> f64>;
    let mut probes: Vec<(String, Probe)> = Vec::new();
    for k in [1usize, 2, 64] {
        probes.push((
            format!("floor: {k} sequence word(s)"),
            Box::new(move || sequence_words(k, rounds)),
        ));
    }
    for (p, name) in PROTOCOLS {
        probes.push((
            format!("padded {name}"),
            Box::new(move || pingpong::<Padded>(p, rounds)),
        ));
        probes.push((
            format!("packed {name}"),
            Box::new(move || pingpong::<Packed>(p, rounds)),
        ));
    }
    let mut samples = vec![Vec::new(); probes.len()];
    for _ in 0..repeats {
        for (i, (_, probe)) in probes.iter().enumerate() {
            samples[i].push(probe());
        }
    }
    println!("{rounds} round trips per run, median of {repeats} interleaved runs");
    for ((name, _), s) in probes.iter().zip(samples) {
        println!("{name:>32}: {:6.1} ns per handoff", median(s));
    }
}
