//! The blocking layer and the channel beyond their suite scenarios (those run for every queue
//! in its suite line): over a queue without fences, the drain-before-closed order; `is_closed`
//! publishing the closer's writes; `recv_timeout`; 3 senders and 3 receivers until
//! disconnected.

use synclab::queue::{
    bounded_with, ArrayQueue, BlockingQueue, CapacityError, MpmcQueue, RecvError, RecvTimeoutError,
    TryRecvError,
};
use synclab::shm::Heap;
use synclab::sync::atomic::{AtomicUsize, Ordering::*};
use synclab::sync::{thread, Arc};
use synclab_verification::suites::mpmc_queue::pushed_before_close_is_drained;
use synclab_verification::{Model, SharedCell};

type Blocking<Q> = BlockingQueue<u32, Q>;

/// A one-slot queue with no SeqCst fence anywhere: linearizable on its own (its state word
/// is changed by Release RMWs and read by Acquire loads), but its "empty" answer is a plain
/// Acquire load that may read an old state. It keeps `MpmcQueue::close`'s contract the
/// cheapest way: the closed mark is a bit of the same word, so a push's claim (a CAS from
/// `EMPTY` without the mark) and the close are ordered by that word's modification order,
/// and a thread that has read the mark reads no older state afterwards (coherence). The
/// drain-before-close model below then checks the blocking layer's side: that it asks
/// "closed?" *before* its last look at the queue, not after.
struct OneSlot {
    /// `EMPTY` → (push) `WRITING` → `FULL` → (pop) `READING` → `EMPTY`, plus the `CLOSED` bit.
    state: AtomicUsize,
    value: SharedCell<u32>,
}

const EMPTY: usize = 0;
const WRITING: usize = 1;
const FULL: usize = 2;
const READING: usize = 3;
const PHASE: usize = 0b11;
const CLOSED_BIT: usize = 0b100;

impl MpmcQueue<u32> for OneSlot {
    type Memory = Heap;

    fn with_capacity(capacity: usize) -> Result<Self, CapacityError> {
        match capacity {
            0 => Err(CapacityError::Zero),
            1 => Ok(Self {
                state: AtomicUsize::new(EMPTY),
                value: SharedCell::new(0),
            }),
            _ => Err(CapacityError::TooLarge {
                requested: capacity,
                max: 1,
            }),
        }
    }

    fn try_push(&self, value: u32) -> Result<(), u32> {
        // Acquire: pairs with the Release RMW to EMPTY in `try_pop` (the old value was read).
        // Fails on a closed word: EMPTY | CLOSED_BIT is not EMPTY.
        if self
            .state
            .compare_exchange(EMPTY, WRITING, Acquire, Relaxed)
            .is_err()
        {
            return Err(value);
        }
        self.value.set(value);
        // Release: pairs with the Acquire load in `try_pop`. An RMW (WRITING + 1 = FULL) so
        // that a concurrent close's bit survives.
        self.state.fetch_add(FULL - WRITING, Release);
        Ok(())
    }

    fn try_pop(&self) -> Option<u32> {
        // Acquire: pairs with the Release RMW to FULL in `try_push`. A plain load, so an old
        // EMPTY can be read: "empty" here is ordered only by happens-before and coherence.
        let state = self.state.load(Acquire);
        if state & PHASE != FULL
            || self
                .state
                .compare_exchange(state, READING | (state & CLOSED_BIT), Acquire, Relaxed)
                .is_err()
        {
            return None;
        }
        let value = self.value.get();
        // Release: pairs with the Acquire CAS in `try_push`. An RMW (READING - 3 = EMPTY) that
        // keeps the closed bit.
        self.state.fetch_sub(READING - EMPTY, Release);
        Some(value)
    }

    fn capacity(&self) -> usize {
        1
    }

    fn len(&self) -> usize {
        usize::from(self.state.load(Acquire) & PHASE != EMPTY)
    }

    fn close(&self) -> bool {
        // Release: pairs with the Acquire load in `is_closed`.
        self.state.fetch_or(CLOSED_BIT, Release) & CLOSED_BIT == 0
    }

    fn is_closed(&self) -> bool {
        // Acquire: pairs with the Release `fetch_or` in `close`.
        self.state.load(Acquire) & CLOSED_BIT != 0
    }
}

/// Over a queue without fences, the blocking layer must look at the queue once more *after*
/// seeing it closed: that look is what finds the item pushed before the close.
#[test]
fn fenceless_queue_drains_before_closed() {
    Model::new("BlockingQueue<fenceless one-slot queue>: an item pushed before close is drained")
        .threads(2)
        .ops("producer: push, close; consumer: pop until closed")
        .preemption_bound(3)
        .check(pushed_before_close_is_drained::<OneSlot>);
}

/// Over the fenceless queue: sender A sends and drops its end, main drops the other and
/// polls with `try_recv` until `Disconnected`, and must have received A's item by then —
/// whichever end is dropped last. (This model does *not* tell the end count's AcqRel from
/// Relaxed: the blocking layer runs an event-count `fence(SeqCst)` after every push and in
/// `close`, and the count's modification order puts A's fence before the closer's in the
/// fence order, so the closer sees the push through the fence–fence rule anyway. Both
/// weakenings were tried and pass; see "The channel" in docs/notes/queues.md.)
#[test]
fn channel_over_a_fenceless_queue_disconnects_after_every_send() {
    Model::new(
        "channel<fenceless one-slot queue>: the last sender's disconnect follows every send",
    )
    .threads(2)
    .ops("A: send 1 item, drop its end; main: drop the other end, try_recv until disconnected")
    .preemption_bound(3)
    .check(|| {
        let (tx, rx) = bounded_with::<u32, OneSlot>(1).unwrap();
        let other = tx.clone();
        let sender = thread::spawn(move || other.send(7).unwrap());
        drop(tx);
        let mut got = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(v) => got.push(v),
                Err(TryRecvError::Empty) => thread::yield_now(),
                Err(TryRecvError::Disconnected) => break,
                Err(e) => panic!("try_recv: {e}"),
            }
        }
        assert_eq!(got, [7], "disconnected before a sent item was received");
        sender.join().unwrap();
    });
}

/// `is_closed() == true` promises that the closer's earlier writes are visible (the doc
/// comment of `is_closed`): the closer writes a plain cell, closes; the observer reads the
/// cell once it sees the queue closed. With a Relaxed flag loom reports the read as a race.
#[test]
fn is_closed_publishes_the_closers_writes() {
    Model::new("BlockingQueue: is_closed() == true publishes the closer's earlier writes")
        .threads(2)
        .ops("closer: write a cell, close; observer: if is_closed, read the cell")
        .exhaustive()
        .check(|| {
            let q = Arc::new(Blocking::<ArrayQueue<u32>>::with_capacity(1).unwrap());
            let cell = Arc::new(SharedCell::new(0u32));
            let closer = {
                let (q, cell) = (Arc::clone(&q), Arc::clone(&cell));
                thread::spawn(move || {
                    cell.set(5);
                    q.close();
                })
            };
            if q.is_closed() {
                assert_eq!(cell.get(), 5);
            }
            closer.join().unwrap();
        });
}

/// `recv_timeout` against a sender that sends one item and disconnects: the item is received
/// exactly once — by the timed receive, or by the `recv` after it timed out — and then the
/// receiver sees `Disconnected`.
#[test]
fn channel_recv_timeout_then_recv() {
    Model::new("channel<ArrayQueue>: recv_timeout, then recv, against send + disconnect")
        .threads(2)
        .ops("sender: send 1, drop; main: recv_timeout (may time out), recv until disconnected")
        // Exhaustive: 177,402 executions, 60 s here; bound 3 keeps it under a second.
        .preemption_bound(3)
        .check(|| {
            let (tx, rx) = synclab::queue::bounded::<u32>(1).unwrap();
            let sender = thread::spawn(move || tx.send(1).unwrap());
            let mut got = Vec::new();
            match rx.recv_timeout(std::time::Duration::from_secs(1)) {
                Ok(v) => got.push(v),
                Err(RecvTimeoutError::Timeout) => {}
                Err(e) => panic!("recv_timeout: {e}"),
            }
            got.extend(rx.iter());
            assert_eq!(got, [1], "the item was lost or duplicated by the timeout");
            assert_eq!(rx.recv(), Err(RecvError));
            sender.join().unwrap();
        });
}

/// shuttle / stress: 3 senders × 10 items and 3 receivers in `iter()`, capacity 2: every item
/// is received exactly once, each sender's items in order, and every receiver's `iter()` ends
/// once the last sender is gone and the channel is drained.
#[test]
#[cfg_attr(
    synclab_loom,
    ignore = "6 threads: beyond loom; run under shuttle and as stress"
)]
fn channel_3p3c_until_disconnected() {
    Model::new("channel<ArrayQueue>: 3 senders x 10, 3 receivers in iter() until disconnected")
        .threads(7)
        .ops("3 senders: send 10 each, drop; 3 receivers: iter() to the end; capacity 2")
        .shuttle_iterations(500)
        .stress_iterations(20)
        .check(|| {
            let (tx, rx) = synclab::queue::bounded::<u32>(2).unwrap();
            let senders: Vec<_> = (0..3u32)
                .map(|p| {
                    let tx = tx.clone();
                    thread::spawn(move || (0..10).for_each(|i| tx.send(p * 100 + i).unwrap()))
                })
                .collect();
            drop(tx);
            let receivers: Vec<_> = (0..3)
                .map(|_| {
                    let rx = rx.clone();
                    thread::spawn(move || rx.iter().collect::<Vec<u32>>())
                })
                .collect();
            drop(rx);
            for s in senders {
                s.join().unwrap();
            }
            let got: Vec<Vec<u32>> = receivers.into_iter().map(|r| r.join().unwrap()).collect();
            let mut all: Vec<u32> = got.iter().flatten().copied().collect();
            all.sort_unstable();
            let want: Vec<u32> = (0..3u32)
                .flat_map(|p| (0..10).map(move |i| p * 100 + i))
                .collect();
            assert_eq!(all, want, "an item was lost or received twice");
            for received in &got {
                for p in 0..3u32 {
                    let mine: Vec<u32> =
                        received.iter().copied().filter(|v| v / 100 == p).collect();
                    assert!(
                        mine.windows(2).all(|w| w[0] < w[1]),
                        "sender {p}'s items reordered"
                    );
                }
            }
        });
}
