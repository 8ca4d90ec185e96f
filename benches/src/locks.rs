//! The locks workloads: what a lock costs alone, under contention, how evenly it serves its
//! threads, and as a condvar handoff.
//!
//! * `locks/uncontended` — one thread, lock + increment + unlock in a loop (ns per pair): the
//!   fast path, two atomic RMWs for the futex mutexes.
//! * `locks/contended-counter`, `locks/contended-cs` — fixed work: `threads` threads share a
//!   total number of acquisitions, each doing an increment (or [`CS_NS`] ns of work) under the
//!   lock (Mops/s, total over wall time from the first start to the last finish).
//! * `locks/window-increment`, `locks/window-cs` — the free-running window: every thread
//!   acquires as fast as it can until a [`window`] closes (Mops/s). Unlike fixed work, a
//!   thread that is starved does not hold the run open, so barging shows its full effect.
//! * `locks/fairness-increment`, `locks/fairness-cs` (worst ÷ mean) and `locks/spread-*`
//!   (max ÷ min) — the same free-running run over a longer [`fairness_window`], judged by the
//!   per-thread acquisitions: the worst-served thread's count over the mean, and the best over
//!   the worst.
//! * `locks/timed-trylock` — the window with `try_lock_for(20 µs)` and the ~200 ns section
//!   (successful acquisitions per second): the timed path, waiters that give up included.
//! * `locks/condvar-pingpong` — two threads hand a turn back and forth through a mutex and a
//!   condvar (ns per one-way handoff): each family's wait/notify path. Compare with
//!   `floor/handoff` (raw futex, spin).
//!
//! Contenders: synclab's `FutexMutex` (std's three states), `CountingMutex` (waiter count,
//! barging, hand-off when starving) and `SpinMutex`, `std::sync::Mutex` (itself a futex mutex
//! on Linux) and `parking_lot::Mutex`; for the ping-pong, each mutex with its condvar, written
//! once over [`LockFamily`].

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use synclab::lock::{
    CountingFamily, FutexFamily, LockFamily, Mutex, RawCountingMutex, RawFutexMutex, RawLock,
    RawLockTimed, RawSpinLock, StdFamily,
};

use crate::{
    Contender, CountScope, CountedOp, Measurement, Metric, Params, Region, Role, Target, Workload,
    ABSOLUTE,
};

/// The critical section of the `-cs` workloads, in nanoseconds (approximately: a fixed
/// loop of [`CS_ITERATIONS`] dependent multiply-adds).
pub const CS_NS: u64 = 200;

/// Iterations of the critical-section loop: about [`CS_NS`] ns on the 2-vCPU x86-64 VM the
/// published results come from (the best of three timings of 2 000 000 iterations there gave
/// 212–213 iterations per 200 ns).
///
/// A fixed count, not one calibrated by each process at start-up: the section's length
/// decides how long a waiter spins before it parks, and so which lock wins; a calibration
/// taken while the machine is busy would hand one run a shorter section than the next. With a
/// fixed count every run, on every machine, does the same work.
pub const CS_ITERATIONS: u64 = 213;

/// The thread counts of the contended workloads.
const CONTENDED_THREADS: [usize; 3] = [2, 4, 16];

/// What runs under the lock.
#[derive(Debug, Clone, Copy)]
enum Section {
    /// `*counter += 1`.
    Increment,
    /// About [`CS_NS`] ns of arithmetic, then `*counter += 1`.
    Work,
}

/// The locks workloads.
pub fn workloads() -> Vec<Workload> {
    // (id, title, metric, contenders): the window bodies serve three metrics each.
    let contended: [(&str, &str, Metric, Vec<Contender>); 8] = [
        (
            "locks/contended-counter",
            "Contended counter, fixed work: every thread increments one locked counter",
            Metric::Mops,
            mutex_contenders!(fixed_increment),
        ),
        (
            "locks/contended-cs",
            "Contended, fixed work: every thread runs a ~200 ns critical section",
            Metric::Mops,
            mutex_contenders!(fixed_work),
        ),
        (
            "locks/window-increment",
            "Free-running window: threads acquire freely, increment under the lock",
            Metric::Mops,
            mutex_contenders!(window_increment),
        ),
        (
            "locks/window-cs",
            "Free-running window: threads acquire freely, ~200 ns critical section",
            Metric::Mops,
            mutex_contenders!(window_work),
        ),
        (
            "locks/fairness-increment",
            "Fairness over the window (increment): worst-served thread ÷ mean",
            Metric::WorstOverMean,
            mutex_contenders!(fairness_increment),
        ),
        (
            "locks/fairness-cs",
            "Fairness over the window (~200 ns section): worst-served thread ÷ mean",
            Metric::WorstOverMean,
            mutex_contenders!(fairness_work),
        ),
        (
            "locks/spread-increment",
            "Spread over the window (increment): best-served thread ÷ worst-served",
            Metric::MaxOverMin,
            mutex_contenders!(fairness_increment),
        ),
        (
            "locks/spread-cs",
            "Spread over the window (~200 ns section): best-served thread ÷ worst-served",
            Metric::MaxOverMin,
            mutex_contenders!(fairness_work),
        ),
    ];
    let mut all = vec![Workload {
        id: "locks/uncontended",
        group: "locks",
        title: "Uncontended lock + increment + unlock",
        threads_label: "threads",
        threads: vec![1],
        scales_with_threads: false,
        metric: Metric::NsPerOp,
        contenders: mutex_contenders!(uncontended),
    }];
    all.extend(
        contended
            .into_iter()
            .map(|(id, title, metric, contenders)| Workload {
                id,
                group: "locks",
                title,
                threads_label: "threads",
                threads: CONTENDED_THREADS.to_vec(),
                scales_with_threads: true,
                metric,
                contenders,
            }),
    );
    all.push(Workload {
        id: "locks/timed-trylock",
        group: "locks",
        title: "Timed try-lock under contention: try_lock_for(20 µs), ~200 ns section",
        threads_label: "threads",
        threads: CONTENDED_THREADS.to_vec(),
        scales_with_threads: true,
        metric: Metric::Mops,
        contenders: timed_contenders(),
    });
    all.push(Workload {
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
                name: "CountingMutex+Condvar",
                role: Role::Synclab,
                run: pingpong::<CountingFamily>,
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
    });
    all
}

/// The performance targets of the locks issues.
pub fn targets() -> Vec<Target> {
    let mut targets = Vec::new();
    for contender in ["FutexMutex", "CountingMutex"] {
        targets.push(Target {
            claim: "uncontended lock+unlock costs at most 1.05x std::sync::Mutex",
            workload: "locks/uncontended",
            threads: 1,
            contender,
            reference: "std::sync::Mutex",
            min_advantage: 1.0 / 1.05,
        });
    }
    for threads in CONTENDED_THREADS {
        for (workload, claim) in [
            (
                "locks/window-increment",
                "CountingMutex free-running window (increment) at least as fast as parking_lot",
            ),
            (
                "locks/window-cs",
                "CountingMutex free-running window (~200 ns section) at least as fast as parking_lot",
            ),
        ] {
            targets.push(Target {
                claim,
                workload,
                threads,
                contender: "CountingMutex",
                reference: "parking_lot::Mutex",
                min_advantage: 1.0,
            });
        }
    }
    for workload in ["locks/fairness-increment", "locks/fairness-cs"] {
        targets.push(Target {
            claim: "CountingMutex starves no one: the worst-served of 16 threads gets at least 1/10 of the mean",
            workload,
            threads: 16,
            contender: "CountingMutex",
            reference: ABSOLUTE,
            min_advantage: 0.1,
        });
    }
    targets
}

/// The locks' instruction counts: one uncontended lock + increment + unlock. One line per
/// lock.
pub fn counted_ops() -> Vec<CountedOp> {
    vec![
        counted_lock::<Mutex<u64, RawFutexMutex>>("FutexMutex", Role::Synclab),
        counted_lock::<Mutex<u64, RawCountingMutex>>("CountingMutex", Role::Synclab),
        counted_lock::<Mutex<u64, RawSpinLock>>("SpinMutex", Role::Synclab),
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
                black_box(&lock).with(|c| *c += 1);
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
    /// Locks, runs `f` on the counter, unlocks.
    fn with(&self, f: impl FnOnce(&mut u64));
    fn get(&self) -> u64;
}

impl<R: RawLock + 'static> CounterLock for Mutex<u64, R> {
    fn new() -> Self {
        Mutex::new(0)
    }
    #[inline]
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock());
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
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock().unwrap());
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
    fn with(&self, f: impl FnOnce(&mut u64)) {
        f(&mut self.lock());
    }
    fn get(&self) -> u64 {
        *self.lock()
    }
}

/// The timeout of `locks/timed-trylock`: a few critical sections long, so that waiters both
/// succeed and time out.
pub const TRY_LOCK_TIMEOUT: Duration = Duration::from_micros(20);

/// A mutex with a timed acquisition (std's has none).
trait TimedCounterLock: CounterLock {
    /// Locks within `timeout` and runs `f`; `false` if the time ran out.
    fn with_timeout(&self, timeout: Duration, f: impl FnOnce(&mut u64)) -> bool;
}

impl<R: RawLockTimed + 'static> TimedCounterLock for Mutex<u64, R> {
    #[inline]
    fn with_timeout(&self, timeout: Duration, f: impl FnOnce(&mut u64)) -> bool {
        self.try_lock_for(timeout).map(|mut g| f(&mut g)).is_some()
    }
}

impl TimedCounterLock for parking_lot::Mutex<u64> {
    #[inline]
    fn with_timeout(&self, timeout: Duration, f: impl FnOnce(&mut u64)) -> bool {
        self.try_lock_for(timeout).map(|mut g| f(&mut g)).is_some()
    }
}

/// The contenders of `locks/timed-trylock`: the locks that can time out.
fn timed_contenders() -> Vec<Contender> {
    fn futex(p: &Params) -> Measurement {
        timed_window_with::<Mutex<u64, RawFutexMutex>>(p)
    }
    fn counting(p: &Params) -> Measurement {
        timed_window_with::<Mutex<u64, RawCountingMutex>>(p)
    }
    fn parking_lot(p: &Params) -> Measurement {
        timed_window_with::<parking_lot::Mutex<u64>>(p)
    }
    vec![
        Contender {
            name: "FutexMutex",
            role: Role::Synclab,
            run: futex,
        },
        Contender {
            name: "CountingMutex",
            role: Role::Synclab,
            run: counting,
        },
        Contender {
            name: "parking_lot::Mutex",
            role: Role::Anchor,
            run: parking_lot,
        },
    ]
}

/// The five mutex contenders of a workload whose body is `$run(&Params, Kind)`.
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
            contender!("CountingMutex", Role::Synclab, Kind::Counting),
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
    Counting,
    Spin,
    Std,
    ParkingLot,
}

/// Runs `body::<L>` for the lock type of `kind`.
macro_rules! dispatch {
    ($kind:expr, $body:ident ( $($arg:expr),* )) => {
        match $kind {
            Kind::Futex => $body::<Mutex<u64, RawFutexMutex>>($($arg),*),
            Kind::Counting => $body::<Mutex<u64, RawCountingMutex>>($($arg),*),
            Kind::Spin => $body::<Mutex<u64, RawSpinLock>>($($arg),*),
            Kind::Std => $body::<std::sync::Mutex<u64>>($($arg),*),
            Kind::ParkingLot => $body::<parking_lot::Mutex<u64>>($($arg),*),
        }
    };
}

fn uncontended(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, uncontended_with(p))
}

fn fixed_increment(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, fixed_with(p, Section::Increment))
}

fn fixed_work(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, fixed_with(p, Section::Work))
}

fn window_increment(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, window_with(p, Section::Increment))
}

fn window_work(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, window_with(p, Section::Work))
}

fn fairness_increment(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, fairness_with(p, Section::Increment))
}

fn fairness_work(p: &Params, kind: Kind) -> Measurement {
    dispatch!(kind, fairness_with(p, Section::Work))
}

/// `iterations` dependent multiply-adds: work the compiler cannot skip or vectorise.
#[inline]
fn spin_work(iterations: u64) -> u64 {
    let mut x = 1u64;
    for _ in 0..iterations {
        x = black_box(
            x.wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407),
        );
    }
    x
}

impl Section {
    /// Runs the section on `counter` (under the lock).
    #[inline]
    fn run(self, counter: &mut u64, iterations: u64) {
        if let Section::Work = self {
            black_box(spin_work(iterations));
        }
        *counter += 1;
    }
}

fn uncontended_with<L: CounterLock>(p: &Params) -> Measurement {
    let n: u64 = p.pick(200_000, 2_000_000);
    let lock = L::new();
    let start = Instant::now();
    for _ in 0..n {
        black_box(&lock).with(|c| *c += 1);
    }
    let elapsed = start.elapsed();
    assert_eq!(lock.get(), n);
    Measurement::ops(n, elapsed)
}

fn fixed_with<L: CounterLock>(p: &Params, section: Section) -> Measurement {
    let threads = p.threads.max(1);
    let total: u64 = match section {
        Section::Increment => p.pick(100_000, 1_000_000),
        Section::Work => p.pick(10_000, 100_000),
    };
    let each = total / threads as u64;
    let iterations = CS_ITERATIONS;
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
                    lock.with(|c| section.run(c, iterations));
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

/// How long the free-running window stays open: short, so that many paired rounds fit.
pub fn window(p: &Params) -> Duration {
    p.pick(Duration::from_millis(10), Duration::from_millis(50))
}

/// The free-running window with timed acquisitions: every thread calls
/// `try_lock_for(TRY_LOCK_TIMEOUT)` until the window closes, running the ~200 ns section when
/// it gets the lock; the figure is successful acquisitions per second.
fn timed_window_with<L: TimedCounterLock>(p: &Params) -> Measurement {
    free_running(p, window(p), |lock: &L, iterations| {
        lock.with_timeout(TRY_LOCK_TIMEOUT, |c| Section::Work.run(c, iterations))
    })
}

/// Every thread acquires as often as it can until the window closes; returns each thread's
/// count. The window opens when the last thread is at the start line and closes when the
/// main thread (which sleeps through it) sets the flag; the elapsed time is measured by main.
fn window_with<L: CounterLock>(p: &Params, section: Section) -> Measurement {
    free_running(p, window(p), move |lock: &L, iterations| {
        lock.with(|c| section.run(c, iterations));
        true
    })
}

/// The window of the fairness and spread workloads: twice the throughput window, since who
/// got how much over a few tens of milliseconds on a shared machine says as much about the OS
/// scheduler (16 threads on 2 cores get a few slices each) as about the lock; still short
/// enough for many paired rounds.
pub fn fairness_window(p: &Params) -> Duration {
    p.pick(Duration::from_millis(20), Duration::from_millis(100))
}

/// The free-running window over [`fairness_window`].
fn fairness_with<L: CounterLock>(p: &Params, section: Section) -> Measurement {
    free_running(p, fairness_window(p), move |lock: &L, iterations| {
        lock.with(|c| section.run(c, iterations));
        true
    })
}

/// The window itself: `acquire` is one attempt, `true` if it took the lock (and counted).
fn free_running<L: CounterLock>(
    p: &Params,
    open_for: Duration,
    acquire: impl Fn(&L, u64) -> bool + Copy + Send + 'static,
) -> Measurement {
    let threads = p.threads.max(1);
    let iterations = CS_ITERATIONS;
    let lock = Arc::new(L::new());
    let closed = Arc::new(AtomicBool::new(false));
    let start_line = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (lock, closed, start_line) = (
                Arc::clone(&lock),
                Arc::clone(&closed),
                Arc::clone(&start_line),
            );
            std::thread::spawn(move || {
                start_line.wait();
                let mut acquired = 0u64;
                // Relaxed: a flag that only ends the loop; nothing is published through it.
                while !closed.load(Ordering::Relaxed) {
                    acquired += u64::from(acquire(&lock, iterations));
                }
                acquired
            })
        })
        .collect();
    start_line.wait();
    let start = Instant::now();
    std::thread::sleep(open_for);
    closed.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed();
    let shares: Vec<u64> = handles
        .into_iter()
        .map(|h| h.join().expect("a window thread panicked"))
        .collect();
    assert_eq!(
        lock.get(),
        shares.iter().sum::<u64>(),
        "an acquisition was lost"
    );
    Measurement::shares(shares, elapsed)
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
