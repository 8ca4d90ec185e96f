//! The locks workloads: what a lock costs alone, under contention, and as a condvar handoff.
//!
//! * `locks/uncontended` — one thread, lock + increment + unlock in a loop (ns per pair): the
//!   fast path, two atomic RMWs for the futex mutex.
//! * `locks/contended-counter` — `threads` threads increment one counter under the lock
//!   (Mops/s, total increments over wall time): the slow path, spinning and sleeping.
//! * `locks/condvar-pingpong` — two threads hand a turn back and forth through a mutex and a
//!   condvar (ns per one-way handoff): each family's wait/notify path. Compare with
//!   `floor/handoff` (raw futex, spin).
//!
//! Contenders: synclab's `FutexMutex` and `SpinMutex`, `std::sync::Mutex` (itself a futex
//! mutex on Linux) and `parking_lot::Mutex`; for the ping-pong, each family's mutex + condvar
//! pair, written once over [`LockFamily`].

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::Instant;

use synclab::lock::{FutexFamily, FutexMutex, LockFamily, SpinMutex, StdFamily};

use crate::{
    Contender, CountScope, CountedOp, Measurement, Metric, Params, Region, Role, Target, Workload,
};

/// The locks workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "locks/uncontended",
            group: "locks",
            title: "Uncontended lock + increment + unlock",
            threads_label: "threads",
            threads: vec![1],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: mutex_contenders!(uncontended),
        },
        Workload {
            id: "locks/contended-counter",
            group: "locks",
            title: "Contended counter: every thread increments one locked counter",
            threads_label: "threads",
            threads: vec![2, 4, 8],
            scales_with_threads: true,
            metric: Metric::Mops,
            contenders: mutex_contenders!(contended_counter),
        },
        Workload {
            id: "locks/condvar-pingpong",
            group: "locks",
            title: "Mutex + condvar ping-pong between two threads (one-way handoff)",
            threads_label: "threads",
            threads: vec![2],
            scales_with_threads: false,
            metric: Metric::NsPerOp,
            contenders: vec![
                Contender {
                    name: "FutexMutex+Condvar",
                    role: Role::Synclab,
                    run: pingpong::<FutexFamily>,
                },
                Contender {
                    name: "std Mutex+Condvar",
                    role: Role::Anchor,
                    run: pingpong::<StdFamily>,
                },
                Contender {
                    name: "parking_lot Mutex+Condvar",
                    role: Role::Anchor,
                    run: pingpong::<ParkingLotFamily>,
                },
            ],
        },
    ]
}

/// The performance targets of the locks issue.
pub fn targets() -> Vec<Target> {
    let mut targets = vec![Target {
        claim: "FutexMutex uncontended lock+unlock costs at most 1.05x std::sync::Mutex",
        workload: "locks/uncontended",
        threads: 1,
        contender: "FutexMutex",
        reference: "std::sync::Mutex",
        min_advantage: 1.0 / 1.05,
    }];
    for threads in [2, 4] {
        for (reference, claim) in [
            (
                "parking_lot::Mutex",
                "FutexMutex contended counter at least as fast as parking_lot::Mutex",
            ),
            (
                "std::sync::Mutex",
                "FutexMutex contended counter at least as fast as std::sync::Mutex",
            ),
        ] {
            targets.push(Target {
                claim,
                workload: "locks/contended-counter",
                threads,
                contender: "FutexMutex",
                reference,
                min_advantage: 1.0,
            });
        }
    }
    targets
}

/// The locks' instruction counts: one uncontended lock + increment + unlock. One line per
/// lock.
pub fn counted_ops() -> Vec<CountedOp> {
    vec![
        counted_lock::<FutexMutex<u64>>("FutexMutex", Role::Synclab),
        counted_lock::<SpinMutex<u64>>("SpinMutex", Role::Synclab),
        counted_lock::<std::sync::Mutex<u64>>("std::sync::Mutex", Role::Anchor),
        counted_lock::<parking_lot::Mutex<u64>>("parking_lot::Mutex", Role::Anchor),
    ]
}

/// The [`CountedOp`] of `L`: `n` uncontended increments through [`CounterLock`].
fn counted_lock<L: CounterLock>(contender: &'static str, role: Role) -> CountedOp {
    fn run<L: CounterLock>(n: u64, region: Region<'_>) {
        let lock = L::new();
        region(&mut || {
            for _ in 0..n {
                black_box(&lock).increment();
            }
        });
        assert_eq!(lock.get(), n);
    }
    CountedOp {
        group: "locks",
        operation: "lock + increment + unlock, uncontended",
        contender,
        role,
        scope: CountScope::Region,
        run: run::<L>,
    }
}

/// A mutex over a `u64` counter, so one generic body runs every contender.
trait CounterLock: Send + Sync + 'static {
    fn new() -> Self;
    /// Locks, adds one, unlocks.
    fn increment(&self);
    fn get(&self) -> u64;
}

impl CounterLock for FutexMutex<u64> {
    fn new() -> Self {
        FutexMutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

impl CounterLock for SpinMutex<u64> {
    fn new() -> Self {
        SpinMutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

impl CounterLock for std::sync::Mutex<u64> {
    fn new() -> Self {
        std::sync::Mutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock().unwrap() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock().unwrap()
    }
}

impl CounterLock for parking_lot::Mutex<u64> {
    fn new() -> Self {
        parking_lot::Mutex::new(0)
    }
    #[inline]
    fn increment(&self) {
        *self.lock() += 1;
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

/// The four mutex contenders of a workload whose body is `$run(&Params, Kind)`.
macro_rules! mutex_contenders {
    ($run:ident) => {{
        // A `fn(&Params) -> Measurement` per contender: monomorphised wrappers, no closures.
        macro_rules! contender {
            ($name:literal, $role:expr, $kind:expr) => {{
                fn go(p: &Params) -> Measurement {
                    $run(p, $kind)
                }
                Contender {
                    name: $name,
                    role: $role,
                    run: go,
                }
            }};
        }
        vec![
            contender!("FutexMutex", Role::Synclab, Kind::Futex),
            contender!("SpinMutex", Role::Synclab, Kind::Spin),
            contender!("std::sync::Mutex", Role::Anchor, Kind::Std),
            contender!("parking_lot::Mutex", Role::Anchor, Kind::ParkingLot),
        ]
    }};
}
use mutex_contenders;

/// Which mutex a contender runs.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Futex,
    Spin,
    Std,
    ParkingLot,
}

fn uncontended(p: &Params, kind: Kind) -> Measurement {
    match kind {
        Kind::Futex => uncontended_with::<FutexMutex<u64>>(p),
        Kind::Spin => uncontended_with::<SpinMutex<u64>>(p),
        Kind::Std => uncontended_with::<std::sync::Mutex<u64>>(p),
        Kind::ParkingLot => uncontended_with::<parking_lot::Mutex<u64>>(p),
    }
}

fn contended_counter(p: &Params, kind: Kind) -> Measurement {
    match kind {
        Kind::Futex => contended_with::<FutexMutex<u64>>(p),
        Kind::Spin => contended_with::<SpinMutex<u64>>(p),
        Kind::Std => contended_with::<std::sync::Mutex<u64>>(p),
        Kind::ParkingLot => contended_with::<parking_lot::Mutex<u64>>(p),
    }
}

fn uncontended_with<L: CounterLock>(p: &Params) -> Measurement {
    let n: u64 = p.pick(200_000, 2_000_000);
    let lock = L::new();
    let start = Instant::now();
    for _ in 0..n {
        black_box(&lock).increment();
    }
    let elapsed = start.elapsed();
    assert_eq!(lock.get(), n);
    Measurement::ops(n, elapsed)
}

fn contended_with<L: CounterLock>(p: &Params) -> Measurement {
    let threads = p.threads.max(1);
    let total: u64 = p.pick(100_000, 1_000_000);
    let each = total / threads as u64;
    let lock = Arc::new(L::new());
    // Everyone starts together; each thread times itself, and the run spans from the first
    // start to the last finish. (Timing from the main thread would be wrong on an
    // oversubscribed machine: the workers may be done before main is scheduled again.)
    let start_line = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, start_line) = (Arc::clone(&lock), Arc::clone(&start_line));
            std::thread::spawn(move || {
                start_line.wait();
                let start = Instant::now();
                for _ in 0..each {
                    lock.increment();
                }
                (start, Instant::now())
            })
        })
        .collect();
    let spans: Vec<(Instant, Instant)> = handles
        .into_iter()
        .map(|h| h.join().expect("a counter thread panicked"))
        .collect();
    let first_start = spans
        .iter()
        .map(|s| s.0)
        .min()
        .expect("at least one thread");
    let last_end = spans
        .iter()
        .map(|s| s.1)
        .max()
        .expect("at least one thread");
    assert_eq!(lock.get(), each * threads as u64);
    Measurement::ops(each * threads as u64, last_end - first_start)
}

/// Round trips between the caller and one peer through `F`'s mutex and condvar: `turn` odd
/// is the peer's move, even the caller's.
pub(crate) fn pingpong<F: LockFamily>(p: &Params) -> Measurement {
    let rounds: u32 = p.pick(100, 500);
    let state = Arc::new((F::mutex(0u32), F::condvar()));
    let peer = {
        let state = Arc::clone(&state);
        std::thread::spawn(move || {
            let (lock, cv) = &*state;
            for i in 0..rounds {
                let mut turn = F::wait_while(cv, F::lock(lock), |t| *t != 2 * i + 1);
                *turn = 2 * i + 2;
                drop(turn);
                F::notify_one(cv);
            }
        })
    };
    let (lock, cv) = &*state;
    let start = Instant::now();
    for i in 0..rounds {
        *F::lock(lock) = 2 * i + 1;
        F::notify_one(cv);
        drop(F::wait_while(cv, F::lock(lock), |t| *t != 2 * i + 2));
    }
    let elapsed = start.elapsed();
    peer.join().expect("ping-pong peer panicked");
    Measurement::ops(2 * u64::from(rounds), elapsed)
}

/// parking_lot's `Mutex` + `Condvar` as a [`LockFamily`], for the ping-pong anchor.
#[derive(Debug)]
struct ParkingLotFamily;

impl LockFamily for ParkingLotFamily {
    const NAME: &'static str = "parking_lot";
    type Mutex<T: Send> = parking_lot::Mutex<T>;
    type Guard<'a, T: Send + 'a> = parking_lot::MutexGuard<'a, T>;
    type Condvar = parking_lot::Condvar;

    fn mutex<T: Send>(value: T) -> Self::Mutex<T> {
        parking_lot::Mutex::new(value)
    }
    fn lock<T: Send>(mutex: &Self::Mutex<T>) -> Self::Guard<'_, T> {
        mutex.lock()
    }
    fn try_lock<T: Send>(mutex: &Self::Mutex<T>) -> Option<Self::Guard<'_, T>> {
        mutex.try_lock()
    }
    fn condvar() -> Self::Condvar {
        parking_lot::Condvar::new()
    }
    fn wait<'a, T: Send>(
        condvar: &Self::Condvar,
        mut guard: Self::Guard<'a, T>,
    ) -> Self::Guard<'a, T> {
        condvar.wait(&mut guard);
        guard
    }
    fn wait_timeout<'a, T: Send>(
        condvar: &Self::Condvar,
        mut guard: Self::Guard<'a, T>,
        timeout: std::time::Duration,
    ) -> (Self::Guard<'a, T>, bool) {
        let timed_out = condvar.wait_for(&mut guard, timeout).timed_out();
        (guard, timed_out)
    }
    fn notify_one(condvar: &Self::Condvar) {
        condvar.notify_one();
    }
    fn notify_all(condvar: &Self::Condvar) {
        condvar.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_locks_contender_completes() {
        for w in workloads() {
            for &threads in &w.threads {
                let p = Params {
                    threads,
                    scale: Scale::Quick,
                };
                for c in &w.contenders {
                    let m = (c.run)(&p);
                    assert!(m.ops > 0, "{}: {} did no work", w.id, c.name);
                }
            }
        }
    }
}
