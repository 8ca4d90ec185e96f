//! Workloads of the queues group: `P` producers and `P` consumers (threads = pairs) move a
//! fixed number of items through one bounded queue.
//!
//! * `queues/spin` — the lock-free queues with no sleeping: on full/empty a thread spins a
//!   few times, then yields. synclab's `ArrayQueue` beside crossbeam's `ArrayQueue` and
//!   `SegQueue` (unbounded).
//! * `queues/blocking` — queues whose push/pop sleep: synclab's `BlockingQueue` over the
//!   lock-free and the locked queue, and synclab's channel ends (`queue::bounded`, a facade
//!   over the same `BlockingQueue`), beside `crossbeam_channel::bounded` and
//!   `flume::bounded`.
//! * `queues/blocking-1p1c` — the same at one pair, with `std::sync::mpsc::sync_channel`
//!   (MPSC, so only here).
//! * `queues/blocking-one-thread` — one thread through the blocking API that never has to
//!   block: it pushes [`BATCH`] items, then pops them, over and over. What is left is each
//!   design's own cost per item — the fast path every blocking operation takes first, with
//!   its look for sleepers — so a facade's overhead shows here, where the machine can resolve
//!   a few per cent. (In `queues/blocking` it cannot: there the per-round ratio of the channel
//!   to the bare `BlockingQueue` — one code path under a thin wrapper — spreads from about
//!   0.3× to 3× from round to round, as threads fall asleep and wake in a different pattern in
//!   every call, so a 5 % difference would need thousands of rounds.)
//!
//! Every bounded queue has [`CAPACITY`] slots. Items per call: 500k in `Scale::Full`, 50k in
//! `Quick`.
//! Time runs from a barrier all threads wait on to the last join.

use std::hint::{black_box, spin_loop};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Instant;

use synclab::lock::{FutexFamily, StdFamily};
use synclab::queue::{ArrayQueue, BlockingQueue, LockedQueue, MpmcQueue};
use synclab::shm::Heap;

use crate::{
    Contender, CountScope, CountedOp, Measurement, Metric, Params, Region, Role, Target, Workload,
    BEST_ANCHOR,
};

/// Slots in every bounded queue.
pub const CAPACITY: usize = 1024;

/// Items the one-thread workload pushes before it pops them (well under [`CAPACITY`], so no
/// push waits).
pub const BATCH: u64 = 64;

/// Spins before a spinning contender yields on a full or empty queue.
const SPINS_BEFORE_YIELD: u32 = 16;

type Item = u64;

const ARRAY_SPIN: &str = "synclab ArrayQueue (spin)";
const CB_ARRAY_SPIN: &str = "crossbeam_queue::ArrayQueue (spin)";
const BLOCKING_ARRAY: &str = "synclab BlockingQueue<ArrayQueue>";
const CHANNEL_ARRAY: &str = "synclab channel (bounded, ArrayQueue)";

/// The queues workloads.
pub fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            id: "queues/spin",
            group: "queues",
            title: "MPMC throughput, spin/yield on full or empty",
            threads_label: "producer/consumer pairs",
            threads: vec![1, 2, 4, 8],
            scales_with_threads: true,
            metric: Metric::Mops,
            contenders: vec![
                contender(ARRAY_SPIN, Role::Synclab, spin_synclab_array),
                contender(CB_ARRAY_SPIN, Role::Anchor, spin_crossbeam_array),
                contender(
                    "crossbeam_queue::SegQueue (spin)",
                    Role::Anchor,
                    spin_crossbeam_seg,
                ),
            ],
        },
        Workload {
            id: "queues/blocking",
            group: "queues",
            title: "MPMC throughput, sleeping on full or empty",
            threads_label: "producer/consumer pairs",
            threads: vec![1, 2, 4, 8],
            scales_with_threads: true,
            metric: Metric::Mops,
            contenders: blocking_contenders(false),
        },
        Workload {
            id: "queues/blocking-1p1c",
            group: "queues",
            title: "SPSC throughput, sleeping on full or empty (with std's sync_channel)",
            threads_label: "producer/consumer pairs",
            threads: vec![1],
            scales_with_threads: false,
            metric: Metric::Mops,
            contenders: blocking_contenders(true),
        },
        Workload {
            id: "queues/blocking-one-thread",
            group: "queues",
            title: "Blocking API on one thread, never blocking (each design's own cost per item)",
            threads_label: "thread",
            threads: vec![1],
            scales_with_threads: false,
            metric: Metric::Mops,
            contenders: vec![
                contender(BLOCKING_ARRAY, Role::Synclab, |p| {
                    one_thread(
                        p,
                        BlockingQueue::<Item, ArrayQueue<Item>>::with_capacity(CAPACITY)
                            .expect("capacity is non-zero"),
                        |q, v| q.push(v).expect("never closed"),
                        |q| q.pop().expect("never closed"),
                    )
                }),
                contender(CHANNEL_ARRAY, Role::Synclab, |p| {
                    one_thread(
                        p,
                        synclab::queue::bounded::<Item>(CAPACITY).expect("capacity is non-zero"),
                        |(tx, _), v| tx.send(v).expect("receiver alive"),
                        |(_, rx)| rx.recv().expect("sender alive"),
                    )
                }),
                contender("crossbeam_channel::bounded", Role::Anchor, |p| {
                    one_thread(
                        p,
                        crossbeam_channel::bounded::<Item>(CAPACITY),
                        |(tx, _), v| tx.send(v).expect("receiver alive"),
                        |(_, rx)| rx.recv().expect("sender alive"),
                    )
                }),
                contender("flume::bounded", Role::Anchor, |p| {
                    one_thread(
                        p,
                        flume::bounded::<Item>(CAPACITY),
                        |(tx, _), v| tx.send(v).expect("receiver alive"),
                        |(_, rx)| rx.recv().expect("sender alive"),
                    )
                }),
                contender("std::sync::mpsc::sync_channel", Role::Anchor, |p| {
                    one_thread(
                        p,
                        std::sync::mpsc::sync_channel::<Item>(CAPACITY),
                        |(tx, _), v| tx.send(v).expect("receiver alive"),
                        |(_, rx)| rx.recv().expect("sender alive"),
                    )
                }),
            ],
        },
    ]
}

fn contender(name: &'static str, role: Role, run: fn(&Params) -> Measurement) -> Contender {
    Contender { name, role, run }
}

fn blocking_contenders(with_std: bool) -> Vec<Contender> {
    let mut all = vec![
        contender(BLOCKING_ARRAY, Role::Synclab, blocking_synclab_array),
        contender(
            "synclab BlockingQueue<LockedQueue<std>>",
            Role::Synclab,
            blocking_synclab_locked_std,
        ),
        contender(
            "synclab BlockingQueue<LockedQueue<futex>>",
            Role::Synclab,
            blocking_synclab_locked_futex,
        ),
        contender(CHANNEL_ARRAY, Role::Synclab, channel_synclab_array),
        contender(
            "synclab channel (bounded_with, LockedQueue<futex>)",
            Role::Synclab,
            channel_synclab_locked_futex,
        ),
        contender(
            "crossbeam_channel::bounded",
            Role::Anchor,
            crossbeam_channel,
        ),
        contender("flume::bounded", Role::Anchor, flume_bounded),
    ];
    if with_std {
        all.push(contender(
            "std::sync::mpsc::sync_channel",
            Role::Anchor,
            std_sync_channel,
        ));
    }
    all
}

/// The performance targets of the queues issue.
pub fn targets() -> Vec<Target> {
    let mut all = Vec::new();
    for threads in [1, 2] {
        all.push(Target {
            claim: "ArrayQueue at least as fast as crossbeam's ArrayQueue (spin)",
            workload: "queues/spin",
            threads,
            contender: ARRAY_SPIN,
            reference: CB_ARRAY_SPIN,
            min_advantage: 1.0,
        });
    }
    all.push(Target {
        claim: "BlockingQueue<ArrayQueue> at least as fast as the best channel at 1P1C",
        workload: "queues/blocking-1p1c",
        threads: 1,
        contender: BLOCKING_ARRAY,
        reference: BEST_ANCHOR,
        min_advantage: 1.0,
    });
    for threads in [2, 4] {
        all.push(Target {
            claim: "BlockingQueue<ArrayQueue> at least as fast as the best channel",
            workload: "queues/blocking",
            threads,
            contender: BLOCKING_ARRAY,
            reference: BEST_ANCHOR,
            min_advantage: 1.0,
        });
    }
    // Judged where a 5 % difference can be resolved (see the module docs): the facade adds
    // work only on the fast path and on clone/drop; its sleeping and waking are the
    // BlockingQueue's own code.
    all.push(Target {
        claim: "a channel built from synclab's queue is no slower than the bare BlockingQueue by more than 5 %",
        workload: "queues/blocking-one-thread",
        threads: 1,
        contender: CHANNEL_ARRAY,
        reference: BLOCKING_ARRAY,
        min_advantage: 0.95,
    });
    all.push(Target {
        claim: "BlockingQueue<ArrayQueue> does not collapse when oversubscribed (8P8C on 2 cores): within 2x of the best channel",
        workload: "queues/blocking",
        threads: 8,
        contender: BLOCKING_ARRAY,
        reference: BEST_ANCHOR,
        min_advantage: 0.5,
    });
    all
}

/// The queues' instruction counts: one `try_push` + `try_pop` on an uncontended queue (a
/// channel's `try_send` + `try_recv`). One line per queue: name, role, how to build it, how to
/// try a push (true = accepted), how to try a pop.
pub fn counted_ops() -> Vec<CountedOp> {
    type Locked<F> = LockedQueue<Item, F>;
    type Blocking = BlockingQueue<Item, ArrayQueue<Item>>;
    vec![
        counted_queue!(
            "synclab ArrayQueue",
            Role::Synclab,
            || ArrayQueue::<Item>::with_capacity(CAPACITY).expect("non-zero"),
            |q, v| q.try_push(v).is_ok(),
            |q| q.try_pop()
        ),
        counted_queue!(
            "synclab LockedQueue<std>",
            Role::Synclab,
            || Locked::<StdFamily>::with_capacity(CAPACITY).expect("non-zero"),
            |q, v| q.try_push(v).is_ok(),
            |q| q.try_pop()
        ),
        counted_queue!(
            "synclab LockedQueue<futex>",
            Role::Synclab,
            || Locked::<FutexFamily>::with_capacity(CAPACITY).expect("non-zero"),
            |q, v| q.try_push(v).is_ok(),
            |q| q.try_pop()
        ),
        counted_queue!(
            BLOCKING_ARRAY,
            Role::Synclab,
            || Blocking::with_capacity(CAPACITY).expect("non-zero"),
            |q, v| q.try_push(v).is_ok(),
            |q| q.try_pop().ok()
        ),
        counted_queue!(
            CHANNEL_ARRAY,
            Role::Synclab,
            || synclab::queue::bounded::<Item>(CAPACITY).expect("non-zero"),
            |(tx, _), v| tx.try_send(v).is_ok(),
            |(_, rx)| rx.try_recv().ok()
        ),
        counted_queue!(
            "crossbeam_queue::ArrayQueue",
            Role::Anchor,
            || crossbeam_queue::ArrayQueue::<Item>::new(CAPACITY),
            |q, v| q.push(v).is_ok(),
            |q| q.pop()
        ),
        counted_queue!(
            "crossbeam_queue::SegQueue",
            Role::Anchor,
            crossbeam_queue::SegQueue::<Item>::new,
            |q, v| {
                q.push(v);
                true
            },
            |q| q.pop()
        ),
        counted_queue!(
            "crossbeam_channel::bounded",
            Role::Anchor,
            || crossbeam_channel::bounded::<Item>(CAPACITY),
            |(tx, _), v| tx.try_send(v).is_ok(),
            |(_, rx)| rx.try_recv().ok()
        ),
        counted_queue!(
            "flume::bounded",
            Role::Anchor,
            || flume::bounded::<Item>(CAPACITY),
            |(tx, _), v| tx.try_send(v).is_ok(),
            |(_, rx)| rx.try_recv().ok()
        ),
    ]
}

/// A queue's [`CountedOp`] from its name, role and three closures (see [`counted_ops`]); a
/// `fn` item per queue, so the closures need capture nothing.
macro_rules! counted_queue {
    ($name:expr, $role:expr, $make:expr, $push:expr, $pop:expr $(,)?) => {{
        fn run(n: u64, region: Region<'_>) {
            push_pop_rounds(n, region, $make, $push, $pop);
        }
        CountedOp {
            group: "queues",
            operation: "try_push + try_pop, uncontended",
            contender: $name,
            role: $role,
            scope: CountScope::Region,
            run,
        }
    }};
}
use counted_queue;

/// Builds the queue, then counts `n` rounds of one push (which must be accepted) and one pop
/// (which must return the value pushed).
fn push_pop_rounds<Q>(
    n: u64,
    region: Region<'_>,
    make: impl Fn() -> Q,
    try_push: impl Fn(&Q, Item) -> bool,
    try_pop: impl Fn(&Q) -> Option<Item>,
) {
    let queue = make();
    let mut ok = true;
    region(&mut || {
        for i in 0..n {
            ok &= try_push(black_box(&queue), i);
            ok &= try_pop(black_box(&queue)) == Some(i);
        }
    });
    assert!(
        ok,
        "an uncontended push was refused or a pop lost its value"
    );
}

/// Items per run, rounded down to a multiple of `pairs`.
fn items(p: &Params) -> u64 {
    let total: u64 = p.pick(50_000, 500_000);
    let pairs = p.threads.max(1) as u64;
    total / pairs * pairs
}

/// One thread moves `items(p)` values through `queue`, [`BATCH`] pushes then as many pops at a
/// time; checks the sum of what was popped.
fn one_thread<Q>(
    p: &Params,
    queue: Q,
    push: impl Fn(&Q, Item),
    pop: impl Fn(&Q) -> Item,
) -> Measurement {
    let total = items(&Params { threads: 1, ..*p }) / BATCH * BATCH;
    let began = Instant::now();
    let mut sum = 0u64;
    let mut next = 1;
    while next <= total {
        for v in next..next + BATCH {
            push(&queue, black_box(v));
        }
        for _ in 0..BATCH {
            sum += pop(&queue);
        }
        next += BATCH;
    }
    let elapsed = began.elapsed();
    assert_eq!(sum, total * (total + 1) / 2, "items lost or duplicated");
    Measurement::ops(total, elapsed)
}

/// Runs `pairs` producers and `pairs` consumers over `queue`: each producer pushes
/// `items / pairs` values, each consumer pops as many; checks the sum of what was popped.
fn mpmc<Q: Send + Sync + 'static>(
    p: &Params,
    queue: Q,
    push: fn(&Q, Item),
    pop: fn(&Q) -> Item,
) -> Measurement {
    let pairs = p.threads.max(1);
    let total = items(p);
    let per_thread = total / pairs as u64;
    let queue = Arc::new(queue);
    let start = Arc::new(Barrier::new(2 * pairs + 1));
    let mut handles = Vec::with_capacity(2 * pairs);
    for _ in 0..pairs {
        let (q, barrier) = (Arc::clone(&queue), Arc::clone(&start));
        handles.push(thread::spawn(move || {
            barrier.wait();
            for i in 1..=per_thread {
                push(&q, i);
            }
            0
        }));
        let (q, barrier) = (Arc::clone(&queue), Arc::clone(&start));
        handles.push(thread::spawn(move || {
            barrier.wait();
            (0..per_thread).map(|_| pop(&q)).sum::<u64>()
        }));
    }
    start.wait();
    let began = Instant::now();
    let sum: u64 = handles
        .into_iter()
        .map(|h| h.join().expect("a queue benchmark thread panicked"))
        .sum();
    let elapsed = began.elapsed();
    assert_eq!(
        sum,
        pairs as u64 * per_thread * (per_thread + 1) / 2,
        "items lost or duplicated"
    );
    Measurement::ops(total, elapsed)
}

/// Retries `attempt` until it succeeds: spin a few times, then yield the CPU.
#[inline]
fn spin_then_yield<T>(mut attempt: impl FnMut() -> Option<T>) -> T {
    let mut spins = 0;
    loop {
        if let Some(done) = attempt() {
            return done;
        }
        if spins < SPINS_BEFORE_YIELD {
            spins += 1;
            spin_loop();
        } else {
            thread::yield_now();
        }
    }
}

/// Pushes into a `try_push`-style queue, spinning then yielding while it is full.
#[inline]
fn push_spin<Q>(queue: &Q, value: Item, try_push: impl Fn(&Q, Item) -> Result<(), Item>) {
    let mut value = Some(value);
    spin_then_yield(
        || match try_push(queue, value.take().expect("value present")) {
            Ok(()) => Some(()),
            Err(back) => {
                value = Some(back);
                None
            }
        },
    )
}

fn spin_synclab_array(p: &Params) -> Measurement {
    mpmc(
        p,
        ArrayQueue::<Item>::with_capacity(CAPACITY).expect("capacity is non-zero"),
        |q, v| push_spin(q, v, ArrayQueue::try_push),
        |q| spin_then_yield(|| q.try_pop()),
    )
}

fn spin_crossbeam_array(p: &Params) -> Measurement {
    mpmc(
        p,
        crossbeam_queue::ArrayQueue::<Item>::new(CAPACITY),
        |q, v| push_spin(q, v, crossbeam_queue::ArrayQueue::push),
        |q| spin_then_yield(|| q.pop()),
    )
}

fn spin_crossbeam_seg(p: &Params) -> Measurement {
    mpmc(
        p,
        crossbeam_queue::SegQueue::<Item>::new(),
        |q, v| q.push(v),
        |q| spin_then_yield(|| q.pop()),
    )
}

fn blocking<Q: MpmcQueue<Item, Memory = Heap> + 'static>(p: &Params) -> Measurement {
    mpmc(
        p,
        BlockingQueue::<Item, Q>::with_capacity(CAPACITY).expect("capacity is non-zero"),
        |q, v| q.push(v).expect("never closed"),
        |q| q.pop().expect("never closed"),
    )
}

fn blocking_synclab_array(p: &Params) -> Measurement {
    blocking::<ArrayQueue<Item>>(p)
}

fn blocking_synclab_locked_std(p: &Params) -> Measurement {
    blocking::<LockedQueue<Item, StdFamily>>(p)
}

fn blocking_synclab_locked_futex(p: &Params) -> Measurement {
    blocking::<LockedQueue<Item, FutexFamily>>(p)
}

/// synclab's channel ends over queue `Q`: every producer and consumer shares the one pair of
/// ends (as the crossbeam and flume contenders do), so the facade's cost is what is measured.
fn channel<Q: MpmcQueue<Item, Memory = Heap> + 'static>(p: &Params) -> Measurement {
    mpmc(
        p,
        synclab::queue::bounded_with::<Item, Q>(CAPACITY).expect("capacity is non-zero"),
        |(tx, _), v| tx.send(v).expect("receiver alive"),
        |(_, rx)| rx.recv().expect("sender alive"),
    )
}

fn channel_synclab_array(p: &Params) -> Measurement {
    channel::<ArrayQueue<Item>>(p)
}

fn channel_synclab_locked_futex(p: &Params) -> Measurement {
    channel::<LockedQueue<Item, FutexFamily>>(p)
}

fn crossbeam_channel(p: &Params) -> Measurement {
    mpmc(
        p,
        crossbeam_channel::bounded::<Item>(CAPACITY),
        |(tx, _), v| tx.send(v).expect("receiver alive"),
        |(_, rx)| rx.recv().expect("sender alive"),
    )
}

fn flume_bounded(p: &Params) -> Measurement {
    mpmc(
        p,
        flume::bounded::<Item>(CAPACITY),
        |(tx, _), v| tx.send(v).expect("receiver alive"),
        |(_, rx)| rx.recv().expect("sender alive"),
    )
}

/// std's `sync_channel` is MPSC (its `Receiver` is not `Sync`): one producer, one consumer.
fn std_sync_channel(p: &Params) -> Measurement {
    let total = items(&Params { threads: 1, ..*p });
    let (tx, rx) = std::sync::mpsc::sync_channel::<Item>(CAPACITY);
    let start = Arc::new(Barrier::new(3));
    let producer = {
        let start = Arc::clone(&start);
        thread::spawn(move || {
            start.wait();
            for i in 1..=total {
                tx.send(i).expect("receiver alive");
            }
        })
    };
    let consumer = {
        let start = Arc::clone(&start);
        thread::spawn(move || {
            start.wait();
            (0..total)
                .map(|_| rx.recv().expect("sender alive"))
                .sum::<u64>()
        })
    };
    start.wait();
    let began = Instant::now();
    producer.join().expect("producer panicked");
    let sum = consumer.join().expect("consumer panicked");
    let elapsed = began.elapsed();
    assert_eq!(sum, total * (total + 1) / 2, "items lost or duplicated");
    Measurement::ops(total, elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scale;

    #[test]
    fn every_queue_contender_moves_every_item() {
        for w in workloads() {
            for &threads in &[1, 2] {
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
