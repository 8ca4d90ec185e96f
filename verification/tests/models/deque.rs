//! Models of the Chase–Lev deque (`synclab::queue::deque`) and its zoo.
//!
//! Every scenario is one generic body run against the real deque and, where the scenario is the
//! one that exposes a zoo bug, against the broken variant too (expected to fail). Each item a
//! scenario pushes carries a payload written through a [`SharedCell`] before the push and read
//! back by whoever takes it, so under loom a missing Release/Acquire shows up as a data race,
//! and the scenario asserts that every item is taken exactly once.
//!
//! * loom: ≤ 3 threads including main, ≤ 4 items;
//! * shuttle: the same, plus a larger scenario (1 owner, 3 thieves, 60 items) skipped under loom;
//! * plain: everything as a stress loop, plus a proptest against a `VecDeque`.

use synclab::queue::deque::{self, Owner, Steal, Stealer};
// Used only by the plain-build tests.
#[cfg_attr(any(synclab_loom, synclab_shuttle), allow(unused_imports))]
use synclab::queue::CapacityError;
use synclab::sync::{thread, Arc};
use synclab_verification::{reached, zoo_test, Expect, Failure, Model, SharedCell};
use synclab_zoo::deque::{BrokenDeque, DequeBug, ZooSteal};

/// An item: its id, and a payload the pusher writes and the taker reads (a tracked cell).
#[derive(Debug)]
struct Item {
    id: usize,
    payload: SharedCell<usize>,
}

/// The owner's side of a deque under test.
trait OwnerSide {
    type Thief: ThiefSide;
    fn push(&self, id: usize) -> bool;
    fn pop(&self) -> Option<usize>;
    fn thief(&self) -> Self::Thief;
}

/// A thief's side.
trait ThiefSide: Send + 'static {
    /// One `steal`: `Err(())` on `Retry`.
    fn steal_once(&self) -> Result<Option<usize>, ()>;
}

/// Steals until the answer is not `Retry` (yielding between attempts, a scheduling point).
fn steal<T: ThiefSide>(thief: &T) -> Option<usize> {
    loop {
        match thief.steal_once() {
            Ok(found) => return found,
            Err(()) => thread::yield_now(),
        }
    }
}

struct Real(Owner<Box<Item>>);
struct RealThief(Stealer<Box<Item>>);

#[allow(
    clippy::boxed_local,
    reason = "the deque hands items out boxed; dropping the box here is the point"
)]
fn take(item: Box<Item>) -> usize {
    assert_eq!(
        item.payload.get(),
        item.id,
        "the taker saw the item but not its payload"
    );
    item.id
}

impl OwnerSide for Real {
    type Thief = RealThief;
    fn push(&self, id: usize) -> bool {
        let item = Box::new(Item {
            id,
            payload: SharedCell::new(0),
        });
        item.payload.set(id);
        self.0.push(item).is_ok()
    }
    fn pop(&self) -> Option<usize> {
        self.0.pop().map(take)
    }
    fn thief(&self) -> RealThief {
        RealThief(self.0.stealer())
    }
}

impl ThiefSide for RealThief {
    fn steal_once(&self) -> Result<Option<usize>, ()> {
        match self.0.steal() {
            Steal::Success(item) => Ok(Some(take(item))),
            Steal::Empty => Ok(None),
            Steal::Retry => Err(()),
        }
    }
}

fn real(capacity: usize) -> Real {
    Real(deque::new(capacity).expect("capacity >= 1").0)
}

struct Zoo(Arc<BrokenDeque>);

impl OwnerSide for Zoo {
    type Thief = Zoo;
    fn push(&self, id: usize) -> bool {
        self.0.push(id).is_ok()
    }
    fn pop(&self) -> Option<usize> {
        self.0.pop()
    }
    fn thief(&self) -> Zoo {
        Zoo(Arc::clone(&self.0))
    }
}

impl ThiefSide for Zoo {
    fn steal_once(&self) -> Result<Option<usize>, ()> {
        match self.0.steal() {
            ZooSteal::Success(id) => Ok(Some(id)),
            ZooSteal::Empty => Ok(None),
            ZooSteal::Retry => Err(()),
        }
    }
}

fn zoo(capacity: usize, bug: DequeBug) -> Zoo {
    Zoo(Arc::new(BrokenDeque::new(capacity, bug)))
}

std::thread_local! {
    /// Whether [`spawn`] yields: set per test thread (the checkers run a model's threads on the
    /// test's own OS thread, and do not see this std cell).
    static THIEF_FIRST: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Spawns `body`; in the "thief first" variant of a model it then yields once, a free switch
/// point that lets the checker run the new thread ahead of the owner's next operation. loom's
/// search explores different interleavings with and without it (without it, it never ran the
/// thief ahead of a push that found the deque full — 2 executions, and the zoo's
/// steal-after-CAS bug went unseen; with it, other scenarios explore fewer executions), so
/// every model runs both variants.
fn spawn<R: Send + 'static>(body: impl FnOnce() -> R + Send + 'static) -> thread::JoinHandle<R> {
    let handle = thread::spawn(body);
    if THIEF_FIRST.with(std::cell::Cell::get) {
        thread::yield_now();
    }
    handle
}

/// Runs `model` twice: as is, and with a yield after each spawn (see [`spawn`]).
fn check_both(name: &str, threads: usize, ops: &str, bound: Option<usize>, body: fn()) {
    check_both_reaching(name, threads, ops, bound, None, body);
}

/// [`check_both`], each run expecting to reach `path` (see `Model::expect_reached`).
fn check_both_reaching(
    name: &str,
    threads: usize,
    ops: &str,
    bound: Option<usize>,
    path: Option<&'static str>,
    body: fn(),
) {
    for thief_first in [false, true] {
        THIEF_FIRST.with(|f| f.set(thief_first));
        let mut model = Model::new(if thief_first {
            format!("{name} (yield after spawn)")
        } else {
            name.to_string()
        })
        .threads(threads)
        .ops(ops);
        model = match bound {
            None => model.exhaustive(),
            Some(b) => model.preemption_bound(b),
        };
        if let Some(path) = path {
            model = model.expect_reached(path);
        }
        model.check(body);
    }
    THIEF_FIRST.with(|f| f.set(false));
}

/// Asserts that `taken` holds every id in `pushed` exactly once.
fn exactly_once(mut taken: Vec<usize>, mut pushed: Vec<usize>) {
    taken.sort_unstable();
    pushed.sort_unstable();
    for pair in taken.windows(2) {
        assert_ne!(pair[0], pair[1], "item {} taken twice", pair[0]);
    }
    assert_eq!(taken, pushed, "an item was lost");
}

/// Pops until empty.
fn drain<O: OwnerSide>(owner: &O, into: &mut Vec<usize>) {
    while let Some(id) = owner.pop() {
        into.push(id);
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------------

/// One item; the owner pops while a thief steals: exactly one of them gets it.
fn last_item<O: OwnerSide>(owner: O) {
    assert!(owner.push(1));
    let thief = owner.thief();
    let handle = spawn(move || steal(&thief));
    let mine = owner.pop();
    let theirs = handle.join().unwrap();
    exactly_once(mine.into_iter().chain(theirs).collect(), vec![1]);
}

/// Two items; the thief steals twice while the owner pops twice: the owner's pop of the second
/// item races the thief's second steal — the store-buffering race of the paper's fence.
fn two_items_pop_vs_two_steals<O: OwnerSide>(owner: O) {
    assert!(owner.push(1));
    assert!(owner.push(2));
    let thief = owner.thief();
    let handle = spawn(move || {
        let first = steal(&thief);
        let second = steal(&thief);
        first.into_iter().chain(second).collect::<Vec<_>>()
    });
    let mut taken: Vec<usize> = owner.pop().into_iter().collect();
    taken.extend(owner.pop());
    taken.extend(handle.join().unwrap());
    exactly_once(taken, vec![1, 2]);
}

/// Two thieves and the owner share three items.
fn two_thieves<O: OwnerSide>(owner: O) {
    for id in 1..=3 {
        assert!(owner.push(id));
    }
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let thief = owner.thief();
            spawn(move || steal(&thief))
        })
        .collect();
    let mut taken: Vec<usize> = owner.pop().into_iter().collect();
    for h in handles {
        taken.extend(h.join().unwrap());
    }
    drain(&owner, &mut taken);
    exactly_once(taken, vec![1, 2, 3]);
}

/// The owner pushes while a thief steals (twice), then pops what is left.
fn push_during_steal<O: OwnerSide>(owner: O) {
    let thief = owner.thief();
    let handle = spawn(move || {
        let first = steal(&thief);
        let second = steal(&thief);
        first.into_iter().chain(second).collect::<Vec<_>>()
    });
    assert!(owner.push(1));
    assert!(owner.push(2));
    let mut taken = handle.join().unwrap();
    drain(&owner, &mut taken);
    exactly_once(taken, vec![1, 2]);
}

/// Capacity 2: the thief steals the first of two items while the owner pops one and pushes a
/// third, which lands in a slot of the next lap — the slot the thief may still be reading.
/// (Where the deque is full, the third push is refused and the item is not counted.)
fn wrap_around_during_steal<O: OwnerSide>(owner: O) {
    assert!(owner.push(1));
    assert!(owner.push(2));
    let thief = owner.thief();
    let handle = spawn(move || steal(&thief));
    let mut pushed = vec![1, 2];
    if owner.push(3) {
        pushed.push(3);
    }
    let mut taken: Vec<usize> = handle.join().unwrap().into_iter().collect();
    drain(&owner, &mut taken);
    exactly_once(taken, pushed);
}

/// The path [`push_after_a_lost_race`] is for: the owner's pop finds the last item gone to the
/// thief, and the owner carries on.
const OWNER_LOST_THE_LAST_ITEM: &str = "the owner's pop found the last item taken";

/// Carrying on after a lost race: one item; the owner pops while a thief steals, and whoever
/// lost, the owner then pushes a second item and drains. Both items are taken exactly once: a
/// `pop` that lost the last item must leave the deque as a push expects it (`bottom` restored).
fn push_after_a_lost_race<O: OwnerSide>(owner: O) {
    assert!(owner.push(1));
    let thief = owner.thief();
    let handle = spawn(move || steal(&thief));
    let mut taken: Vec<usize> = owner.pop().into_iter().collect();
    if taken.is_empty() {
        reached(OWNER_LOST_THE_LAST_ITEM);
    }
    assert!(owner.push(2), "one item in a deque of 2: room for another");
    drain(&owner, &mut taken);
    taken.extend(handle.join().unwrap());
    exactly_once(taken, vec![1, 2]);
}

/// Items left in the deque when both ends are dropped are dropped exactly once.
fn drops_leftovers() {
    let (owner, stealer) = deque::new::<Box<DropCount>>(4).unwrap();
    let drops = Arc::new(synclab::sync::atomic::AtomicUsize::new(0));
    for _ in 0..3 {
        assert!(owner.push(Box::new(DropCount(Arc::clone(&drops)))).is_ok());
    }
    let handle = spawn(move || {
        let got = loop {
            match stealer.steal() {
                Steal::Retry => thread::yield_now(),
                other => break other,
            }
        };
        drop(got);
        drop(stealer);
    });
    drop(owner.pop());
    handle.join().unwrap();
    drop(owner);
    assert_eq!(
        drops.load(synclab::sync::atomic::Ordering::Relaxed),
        3,
        "each item dropped once"
    );
}

#[derive(Debug)]
struct DropCount(Arc<synclab::sync::atomic::AtomicUsize>);

impl Drop for DropCount {
    fn drop(&mut self) {
        self.0
            .fetch_add(1, synclab::sync::atomic::Ordering::Relaxed);
    }
}

// ---------------------------------------------------------------------------------------------
// The real deque
// ---------------------------------------------------------------------------------------------

#[test]
fn deque_last_item_owner_vs_thief() {
    check_both(
        "Deque: owner pop vs one thief on the last item",
        2,
        "main: push 1, pop; thief: steal (retry until settled)",
        None,
        || last_item(real(2)),
    );
}

#[test]
fn deque_push_after_a_lost_race() {
    check_both_reaching(
        "Deque: the owner pushes again after losing the last item",
        2,
        "main: push 1, pop (may lose it to the thief), push 1, drain; thief: steal (retry until settled)",
        None,
        Some(OWNER_LOST_THE_LAST_ITEM),
        || push_after_a_lost_race(real(2)),
    );
}

#[test]
fn deque_two_items_pop_vs_two_steals() {
    check_both(
        "Deque: owner pops 2 while a thief steals 2 (the fence's race)",
        2,
        "main: push 2, pop 2; thief: steal 2 (retry until settled)",
        None,
        || two_items_pop_vs_two_steals(real(2)),
    );
}

#[test]
fn deque_two_thieves() {
    check_both(
        "Deque: two thieves and the owner share 3 items",
        3,
        "main: push 3, pop 1, drain; 2 thieves: steal 1 each (retry until settled)",
        Some(3),
        || two_thieves(real(4)),
    );
}

#[test]
fn deque_push_during_steal() {
    check_both(
        "Deque: pushes while a thief steals",
        2,
        "thief: steal 2 (retry until settled); main: push 2, drain",
        None,
        || push_during_steal(real(2)),
    );
}

#[test]
fn deque_wrap_around_during_steal() {
    check_both(
        "Deque: a push reuses the slot a thief is stealing (capacity 2)",
        2,
        "main: push 2, push 1 more (next lap, or refused if full), drain; thief: steal 1",
        None,
        || wrap_around_during_steal(real(2)),
    );
}

#[test]
fn deque_drops_leftovers_once() {
    check_both(
        "Deque: items left are dropped once",
        2,
        "main: push 3 drop-counted, pop 1, drop; thief: steal 1, drop",
        None,
        drops_leftovers,
    );
}

/// shuttle / stress: one owner pushing and popping 60 items, three thieves stealing until the
/// owner is done: every item exactly once.
#[test]
#[cfg_attr(
    synclab_loom,
    ignore = "4 threads, 60 items: beyond loom; run under shuttle and as stress"
)]
fn deque_owner_and_three_thieves() {
    const ITEMS: usize = 60;
    Model::new("Deque: owner pushes/pops 60 items, 3 thieves steal")
        .threads(4)
        .ops(
            "main: push 60 (pop every 3rd push, pop when full), drain; 3 thieves: steal until done",
        )
        .shuttle_iterations(500)
        .stress_iterations(50)
        .check(|| {
            let owner = real(8);
            let done = Arc::new(synclab::sync::atomic::AtomicBool::new(false));
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let (thief, done) = (owner.thief(), Arc::clone(&done));
                    thread::spawn(move || {
                        let mut got = Vec::new();
                        // Relaxed: only a stop signal; the join carries the data.
                        while !done.load(synclab::sync::atomic::Ordering::Relaxed) {
                            match thief.steal_once() {
                                Ok(Some(id)) => got.push(id),
                                _ => thread::yield_now(),
                            }
                        }
                        got
                    })
                })
                .collect();
            let mut taken = Vec::new();
            for id in 1..=ITEMS {
                while !owner.push(id) {
                    taken.extend(owner.pop());
                }
                if id % 3 == 0 {
                    taken.extend(owner.pop());
                }
            }
            drain(&owner, &mut taken);
            done.store(true, synclab::sync::atomic::Ordering::Relaxed);
            for h in handles {
                taken.extend(h.join().unwrap());
            }
            exactly_once(taken, (1..=ITEMS).collect());
        });
}

/// Typed errors and the capacity, on real threads.
#[test]
#[cfg(not(any(synclab_loom, synclab_shuttle)))]
fn deque_capacity_and_errors() {
    assert_eq!(
        deque::new::<Box<u8>>(0).err(),
        Some(CapacityError::Zero),
        "capacity 0"
    );
    let max = synclab::queue::MAX_CAPACITY;
    assert!(matches!(
        deque::new::<Box<u8>>(max + 1).err(),
        Some(CapacityError::TooLarge { .. })
    ));
    let (owner, stealer) = deque::new::<Box<u8>>(3).unwrap();
    assert_eq!(owner.capacity(), 4, "rounded up to a power of two");
    for i in 0..4 {
        owner.push(Box::new(i)).unwrap();
    }
    assert_eq!(
        *owner.push(Box::new(9)).unwrap_err(),
        9,
        "full: handed back"
    );
    assert_eq!(stealer.len(), 4);
    assert_eq!(
        stealer.steal(),
        Steal::Success(Box::new(0)),
        "thieves: oldest"
    );
    assert_eq!(owner.pop(), Some(Box::new(3)), "owner: newest");
}

#[cfg(not(any(synclab_loom, synclab_shuttle)))]
mod sequential {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        Pop,
        Steal,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![Just(Op::Push), Just(Op::Pop), Just(Op::Steal)]
    }

    proptest! {
        /// One thread: the deque behaves as a bounded `VecDeque`, owner at the back, thieves
        /// at the front, across many laps of a small ring.
        #[test]
        fn deque_matches_vecdeque(cap_log in 0u32..3, ops in prop::collection::vec(op(), 0..80)) {
            let capacity = 1usize << cap_log;
            let (owner, stealer) = deque::new::<Box<usize>>(capacity).unwrap();
            let mut model = VecDeque::new();
            for (n, o) in ops.into_iter().enumerate() {
                match o {
                    Op::Push => {
                        let r = owner.push(Box::new(n)).map_err(|b| *b);
                        if model.len() < capacity {
                            prop_assert_eq!(r, Ok(()));
                            model.push_back(n);
                        } else {
                            prop_assert_eq!(r, Err(n));
                        }
                    }
                    Op::Pop => prop_assert_eq!(owner.pop().map(|b| *b), model.pop_back()),
                    Op::Steal => {
                        let want = match model.pop_front() {
                            Some(v) => Steal::Success(v),
                            None => Steal::Empty,
                        };
                        let got = match stealer.steal() {
                            Steal::Success(b) => Steal::Success(*b),
                            Steal::Empty => Steal::Empty,
                            Steal::Retry => Steal::Retry,
                        };
                        prop_assert_eq!(got, want);
                    }
                }
                prop_assert_eq!(owner.len(), model.len());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The zoo (crates/synclab-zoo/src/deque.rs): each must be seen failing
// ---------------------------------------------------------------------------------------------

zoo_test! {
    /// `pop` without its `fence(SeqCst)`: the owner reads a stale `top` while the thief reads
    /// a stale `bottom`, and both take item 2. Needs weak memory: loom finds it; shuttle runs
    /// every atomic as SeqCst, where one of the two loads must see the other side's store, so
    /// the model passes there (a documented blind spot).
    fn zoo_take_without_fence() expect Expect::per_checker(
        Failure::Assertion("taken twice"),
        Failure::Blind,
    ) => {
        Model::new("zoo: Chase-Lev pop without the SeqCst fence")
            .threads(2)
            .ops("main: push 2, pop 2; thief: steal 2")
            .exhaustive()
            .check(|| two_items_pop_vs_two_steals(zoo(2, DequeBug::TakeWithoutFence)));
    }
}

zoo_test! {
    /// `steal` claims position 0 with its CAS and only then reads the slot; in between the
    /// owner's third push reuses that slot (capacity 2), so the thief takes item 3, which the
    /// owner pops too, and item 1 is lost. An interleaving bug: both checkers find it.
    fn zoo_steal_reads_after_cas() expect Expect::both(Failure::Assertion("taken twice")) => {
        Model::new("zoo: Chase-Lev steal that reads the slot after its CAS")
            .threads(2)
            .ops("main: push 2, push 1 more, drain; thief: steal 1")
            .exhaustive()
            .check(|| {
                THIEF_FIRST.with(|f| f.set(true));
                wrap_around_during_steal(zoo(2, DequeBug::StealReadsAfterCas))
            });
    }
}

zoo_test! {
    /// `pop` that restores `bottom` only when it won the last item: after losing it to the
    /// thief, the owner's next push lands below `top`, where neither `pop` nor `steal` looks —
    /// item 2 is lost. No earlier model pushed after a lost race, so this survived them all;
    /// `push_after_a_lost_race` kills it under both checkers.
    fn zoo_pop_keeps_bottom_after_a_lost_race() expect Expect::both(Failure::Assertion("an item was lost")) => {
        Model::new("zoo: Chase-Lev pop that keeps bottom after losing the last item")
            .threads(2)
            .ops("main: push 1, pop, push 1, drain; thief: steal 1")
            .exhaustive()
            .check(|| push_after_a_lost_race(zoo(2, DequeBug::LostRaceKeepsBottom)));
    }
}

/// The same scenarios with the zoo deque's correct configuration are the real deque's own
/// models above; this one runs the zoo's `pop` with its fence against the fence scenario, to
/// show the scenario itself is not what fails.
#[test]
fn zoo_deque_with_fence_passes_the_fence_scenario() {
    Model::new("zoo deque (steal-after-CAS variant, fence intact): the fence's race passes")
        .threads(2)
        .ops("main: push 2, pop 2; thief: steal 2")
        .exhaustive()
        .check(|| two_items_pop_vs_two_steals(zoo(2, DequeBug::StealReadsAfterCas)));
}
