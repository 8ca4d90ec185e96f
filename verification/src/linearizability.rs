//! A linearizability checker: record invoke/return histories of concurrent runs, then search
//! for a sequential order that respects real time and a sequential specification.
//!
//! The search is Wing & Gong's (J. Parallel Distrib. Comput. 1993) with Lowe's refinement
//! ("Testing for linearizability", Concurrency and Computation 2017): depth-first over the
//! operations that may be linearized next — those invoked before every pending operation
//! returned — memoizing every visited `(set of linearized operations, specification state)`
//! pair, so each configuration is explored once. A step budget turns a search that would run
//! too long into [`Verdict::Unknown`] instead of a hang; a violation is shrunk to a minimal
//! failing sub-history (removing any one operation makes it linearizable) for the report.
//!
//! Histories are recorded with one shared clock (a `std` atomic counter, invisible to the
//! checkers, so recording adds no synchronisation a model could lean on): every invocation
//! and every return takes a distinct tick, so "a returned before b was invoked" is exact.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// A sequential specification: the object's state and what each operation does to it.
pub trait Spec {
    /// The abstract state.
    type State: Clone + Eq + Hash + fmt::Debug;
    /// An operation with its arguments.
    type Op: Clone + fmt::Debug;
    /// What an operation returns.
    type Ret: Clone + PartialEq + fmt::Debug;
    /// The initial state.
    fn init(&self) -> Self::State;
    /// Applies `op` to `state`, returning the new state and the result it must produce.
    fn step(&self, state: &Self::State, op: &Self::Op) -> (Self::State, Self::Ret);

    /// Whether a shrunk sub-history is worth showing: no operation returns a value that no
    /// operation in it put there (a pop of a value whose push was cut off).
    fn well_formed(&self, _ops: &[Operation<Self::Op, Self::Ret>]) -> bool {
        true
    }
}

/// One completed operation of a history.
#[derive(Debug, Clone)]
pub struct Operation<Op, Ret> {
    /// The thread that ran it.
    pub thread: usize,
    /// The operation.
    pub op: Op,
    /// What it returned.
    pub ret: Ret,
    /// Clock tick of the invocation.
    pub invoked: u64,
    /// Clock tick of the return.
    pub returned: u64,
}

/// Records the operations of one concurrent run.
#[derive(Debug)]
pub struct Recorder<Op, Ret> {
    clock: AtomicU64,
    ops: Mutex<Vec<Operation<Op, Ret>>>,
}

impl<Op: Clone, Ret: Clone> Default for Recorder<Op, Ret> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Op: Clone, Ret: Clone> Recorder<Op, Ret> {
    /// An empty history.
    pub fn new() -> Self {
        Self {
            clock: AtomicU64::new(0),
            ops: Mutex::new(Vec::new()),
        }
    }

    /// The recorded history, sorted by invocation.
    pub fn history(&self) -> Vec<Operation<Op, Ret>> {
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner()).clone();
        ops.sort_by_key(|o| o.invoked);
        ops
    }
}

impl<Op: Clone + fmt::Debug, Ret: Clone + fmt::Debug> Recorder<Op, Ret> {
    /// Runs `f` as operation `op` of `thread`, recording its invocation, result and return.
    pub fn record(&self, thread: usize, op: Op, f: impl FnOnce() -> Ret) -> Ret {
        // SeqCst on the private clock: the ticks form one total order that agrees with each
        // thread's program order and with real time. The clock orders nothing else.
        let invoked = self.clock.fetch_add(1, Ordering::SeqCst);
        // Under a checker the operation shows in the counterexample's table above the steps it
        // made (no effect in the plain build).
        synclab::sync::trace::note(format_args!("{op:?}"));
        let ret = f();
        synclab::sync::trace::note(format_args!("{op:?} -> {ret:?}"));
        let returned = self.clock.fetch_add(1, Ordering::SeqCst);
        self.ops
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Operation {
                thread,
                op,
                ret: ret.clone(),
                invoked,
                returned,
            });
        ret
    }
}

/// The checker's answer.
#[derive(Debug, Clone)]
pub enum Verdict<Op, Ret> {
    /// A sequential order exists.
    Linearizable {
        /// Search steps taken.
        steps: u64,
    },
    /// No sequential order exists; `minimal` is the shortest failing quiescent prefix of
    /// the history (see `shrink`).
    Violation {
        /// The minimal failing sub-history, sorted by invocation.
        minimal: Vec<Operation<Op, Ret>>,
        /// `minimal`, one operation per line, for the failure message.
        rendered: String,
    },
    /// The step budget ran out first.
    Unknown {
        /// Search steps taken.
        steps: u64,
    },
    /// The history cannot be checked (too long for the 64-operation bitset).
    TooLong {
        /// Its length.
        len: usize,
    },
}

/// The largest history the checker accepts.
pub const MAX_OPERATIONS: usize = 64;

enum Search {
    Found,
    NotFound,
    OutOfBudget,
}

/// Checks `history` against `spec` within `budget` search steps.
pub fn check<S: Spec>(
    spec: &S,
    history: &[Operation<S::Op, S::Ret>],
    budget: u64,
) -> Verdict<S::Op, S::Ret> {
    if history.len() > MAX_OPERATIONS {
        return Verdict::TooLong { len: history.len() };
    }
    let mut steps = 0;
    match search(spec, history, budget, &mut steps) {
        Search::Found => Verdict::Linearizable { steps },
        Search::OutOfBudget => Verdict::Unknown { steps },
        Search::NotFound => {
            let minimal = shrink(spec, history, budget);
            Verdict::Violation {
                rendered: render(&minimal),
                minimal,
            }
        }
    }
}

fn search<S: Spec>(
    spec: &S,
    history: &[Operation<S::Op, S::Ret>],
    budget: u64,
    steps: &mut u64,
) -> Search {
    let n = history.len();
    let all: u64 = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
    let mut seen: HashSet<(u64, S::State)> = HashSet::new();
    // Explicit stack of (linearized set, state, next candidate index to try).
    let mut stack: Vec<(u64, S::State, usize)> = vec![(0, spec.init(), 0)];
    while let Some((done, state, next)) = stack.pop() {
        if done == all {
            return Search::Found;
        }
        *steps += 1;
        if *steps > budget {
            return Search::OutOfBudget;
        }
        // Only operations invoked before every pending operation returned may go next.
        let min_return = (0..n)
            .filter(|&i| done & (1 << i) == 0)
            .map(|i| history[i].returned)
            .min()
            .unwrap_or(u64::MAX);
        let mut i = next;
        while i < n {
            if done & (1 << i) == 0 && history[i].invoked < min_return {
                let (after, ret) = spec.step(&state, &history[i].op);
                let key = (done | (1 << i), after.clone());
                if ret == history[i].ret && !seen.contains(&key) {
                    seen.insert(key);
                    // Resume this configuration at the next candidate after the child.
                    stack.push((done, state.clone(), i + 1));
                    stack.push((done | (1 << i), after, 0));
                    break;
                }
            }
            i += 1;
        }
    }
    Search::NotFound
}

/// Shrinks a failing history to its shortest failing *quiescent prefix*: the operations
/// invoked before an instant at which none was in flight. Cutting only there keeps every
/// result justified exactly as in the full history — an operation invoked after the cut could
/// not have been linearized before anything in the prefix returned — so the prefix fails for
/// the same reason the whole history does. Prefixes in which a value would come from nowhere
/// are skipped ([`Spec::well_formed`]).
fn shrink<S: Spec>(
    spec: &S,
    history: &[Operation<S::Op, S::Ret>],
    budget: u64,
) -> Vec<Operation<S::Op, S::Ret>> {
    let mut sorted = history.to_vec();
    sorted.sort_by_key(|o| o.invoked);
    let mut last_return = 0;
    for k in 1..=sorted.len() {
        last_return = last_return.max(sorted[k - 1].returned);
        let quiescent = sorted.get(k).is_none_or(|next| next.invoked > last_return);
        if !quiescent {
            continue;
        }
        let prefix = &sorted[..k];
        let mut steps = 0;
        if spec.well_formed(prefix)
            && matches!(search(spec, prefix, budget, &mut steps), Search::NotFound)
        {
            return prefix.to_vec();
        }
    }
    sorted
}

fn render<Op: fmt::Debug, Ret: fmt::Debug>(ops: &[Operation<Op, Ret>]) -> String {
    let mut out = String::new();
    for o in ops {
        out.push_str(&format!(
            "  [{:>4}..{:>4}] thread {}: {:?} -> {:?}\n",
            o.invoked, o.returned, o.thread, o.op, o.ret
        ));
    }
    out
}

/// Operations on a bounded FIFO queue of `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOp {
    /// `try_push(v)`.
    Push(u64),
    /// `try_pop()`.
    Pop,
}

/// Results of [`QueueOp`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueRet {
    /// `try_push` succeeded.
    Pushed,
    /// `try_push` found the queue full.
    Full,
    /// `try_pop` result.
    Popped(Option<u64>),
}

/// A bounded FIFO queue of the given capacity.
#[derive(Debug, Clone, Copy)]
pub struct BoundedQueueSpec {
    /// Capacity.
    pub capacity: usize,
}

impl Spec for BoundedQueueSpec {
    type State = VecDeque<u64>;
    type Op = QueueOp;
    type Ret = QueueRet;

    fn init(&self) -> Self::State {
        VecDeque::new()
    }

    fn step(&self, state: &Self::State, op: &QueueOp) -> (Self::State, QueueRet) {
        let mut s = state.clone();
        let ret = match *op {
            QueueOp::Push(v) if s.len() < self.capacity => {
                s.push_back(v);
                QueueRet::Pushed
            }
            QueueOp::Push(_) => QueueRet::Full,
            QueueOp::Pop => QueueRet::Popped(s.pop_front()),
        };
        (s, ret)
    }

    /// Every popped value was pushed within the sub-history.
    fn well_formed(&self, ops: &[Operation<QueueOp, QueueRet>]) -> bool {
        ops.iter().all(|o| match o.ret {
            QueueRet::Popped(Some(v)) => ops
                .iter()
                .any(|p| p.op == QueueOp::Push(v) && p.ret == QueueRet::Pushed),
            _ => true,
        })
    }
}

/// Operations on a bounded FIFO queue of `u64`s that can be closed (the blocking layer's
/// non-blocking operations: `try_push`, `try_pop`, `close`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosableQueueOp {
    /// `try_push(v)`.
    Push(u64),
    /// `try_pop()`.
    Pop,
    /// `close()`.
    Close,
}

/// Results of [`ClosableQueueOp`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClosableQueueRet {
    /// `try_push` enqueued the value.
    Pushed,
    /// `try_push` found the queue full (and open).
    Full,
    /// `try_push` found the queue closed; the value came back.
    PushClosed,
    /// `try_pop` returned a value.
    Popped(u64),
    /// `try_pop` found the queue empty (and open).
    Empty,
    /// `try_pop` found the queue closed and empty.
    PopClosed,
    /// `close` returned whether this call closed the queue.
    Closed {
        /// `true` for the call that closed it.
        was_open: bool,
    },
}

/// A bounded FIFO queue of the given capacity that `close` shuts for pushes: after the close,
/// pushes hand their value back and pops drain what is left, then report closed. Linearizing
/// `close` with the pushes is the point: a push linearized before the close is in the queue
/// when the close takes effect, so no pop can report "closed and empty" before taking it.
#[derive(Debug, Clone, Copy)]
pub struct ClosableQueueSpec {
    /// Capacity.
    pub capacity: usize,
}

impl Spec for ClosableQueueSpec {
    type State = (VecDeque<u64>, bool);
    type Op = ClosableQueueOp;
    type Ret = ClosableQueueRet;

    fn init(&self) -> Self::State {
        (VecDeque::new(), false)
    }

    fn step(&self, state: &Self::State, op: &ClosableQueueOp) -> (Self::State, ClosableQueueRet) {
        let (mut items, mut closed) = state.clone();
        let ret = match *op {
            ClosableQueueOp::Push(_) if closed => ClosableQueueRet::PushClosed,
            ClosableQueueOp::Push(v) if items.len() < self.capacity => {
                items.push_back(v);
                ClosableQueueRet::Pushed
            }
            ClosableQueueOp::Push(_) => ClosableQueueRet::Full,
            ClosableQueueOp::Pop => match items.pop_front() {
                Some(v) => ClosableQueueRet::Popped(v),
                None if closed => ClosableQueueRet::PopClosed,
                None => ClosableQueueRet::Empty,
            },
            ClosableQueueOp::Close => {
                let was_open = !closed;
                closed = true;
                ClosableQueueRet::Closed { was_open }
            }
        };
        ((items, closed), ret)
    }

    /// Every popped value was pushed within the sub-history, and a result that needs the
    /// queue closed has a `close` in it.
    fn well_formed(&self, ops: &[Operation<ClosableQueueOp, ClosableQueueRet>]) -> bool {
        let has_close = ops.iter().any(|o| o.op == ClosableQueueOp::Close);
        ops.iter().all(|o| match o.ret {
            ClosableQueueRet::Popped(v) => ops
                .iter()
                .any(|p| p.op == ClosableQueueOp::Push(v) && p.ret == ClosableQueueRet::Pushed),
            ClosableQueueRet::PushClosed | ClosableQueueRet::PopClosed => has_close,
            _ => true,
        })
    }
}

/// Operations on a write-once array of `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrayOp {
    /// `publish(i, v)`.
    Publish(usize, u64),
    /// `try_get(i)`.
    TryGet(usize),
}

/// Results of [`ArrayOp`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArrayRet {
    /// `publish` stored the value.
    Published,
    /// `publish` found the slot already published.
    AlreadyPublished,
    /// The index was out of bounds.
    OutOfBounds,
    /// `try_get` result.
    Got(Option<u64>),
}

/// A write-once array of the given length.
#[derive(Debug, Clone, Copy)]
pub struct WriteOnceArraySpec {
    /// Length.
    pub len: usize,
}

impl Spec for WriteOnceArraySpec {
    type State = Vec<Option<u64>>;
    type Op = ArrayOp;
    type Ret = ArrayRet;

    fn init(&self) -> Self::State {
        vec![None; self.len]
    }

    fn step(&self, state: &Self::State, op: &ArrayOp) -> (Self::State, ArrayRet) {
        let mut s = state.clone();
        let ret = match *op {
            ArrayOp::Publish(i, _) | ArrayOp::TryGet(i) if i >= self.len => ArrayRet::OutOfBounds,
            ArrayOp::Publish(i, v) => match s[i] {
                Some(_) => ArrayRet::AlreadyPublished,
                None => {
                    s[i] = Some(v);
                    ArrayRet::Published
                }
            },
            ArrayOp::TryGet(i) => ArrayRet::Got(s[i]),
        };
        (s, ret)
    }

    /// Every value read was published within the sub-history.
    fn well_formed(&self, ops: &[Operation<ArrayOp, ArrayRet>]) -> bool {
        ops.iter().all(|o| match (o.op, o.ret) {
            (ArrayOp::TryGet(i), ArrayRet::Got(Some(v))) => ops
                .iter()
                .any(|p| p.op == ArrayOp::Publish(i, v) && p.ret == ArrayRet::Published),
            _ => true,
        })
    }
}

/// A counter with `fetch_add` (also the specification of a mutex-protected counter).
#[derive(Debug, Clone, Copy, Default)]
pub struct CounterSpec;

impl Spec for CounterSpec {
    type State = u64;
    type Op = u64;
    type Ret = u64;

    fn init(&self) -> u64 {
        0
    }

    /// `fetch_add(delta)` returns the previous value.
    fn step(&self, state: &u64, delta: &u64) -> (u64, u64) {
        (state + delta, *state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op<O, R>(thread: usize, op: O, ret: R, invoked: u64, returned: u64) -> Operation<O, R> {
        Operation {
            thread,
            op,
            ret,
            invoked,
            returned,
        }
    }

    #[test]
    fn overlapping_pushes_may_pop_in_either_order() {
        let spec = BoundedQueueSpec { capacity: 4 };
        let h = vec![
            op(0, QueueOp::Push(1), QueueRet::Pushed, 0, 3),
            op(1, QueueOp::Push(2), QueueRet::Pushed, 1, 2),
            op(0, QueueOp::Pop, QueueRet::Popped(Some(2)), 4, 5),
            op(0, QueueOp::Pop, QueueRet::Popped(Some(1)), 6, 7),
        ];
        assert!(matches!(
            check(&spec, &h, 10_000),
            Verdict::Linearizable { .. }
        ));
    }

    #[test]
    fn sequential_pushes_popped_out_of_order_are_a_violation() {
        let spec = BoundedQueueSpec { capacity: 4 };
        let h = vec![
            op(0, QueueOp::Push(1), QueueRet::Pushed, 0, 1),
            op(0, QueueOp::Push(2), QueueRet::Pushed, 2, 3),
            op(1, QueueOp::Pop, QueueRet::Popped(Some(2)), 4, 5),
            op(1, QueueOp::Pop, QueueRet::Popped(None), 6, 7),
        ];
        match check(&spec, &h, 10_000) {
            Verdict::Violation { minimal, rendered } => {
                // The trailing empty pop is not needed to show the reordering.
                assert_eq!(minimal.len(), 3, "not shrunk:\n{rendered}");
                assert!(matches!(
                    check(&spec, &minimal, 10_000),
                    Verdict::Violation { .. }
                ));
                assert!(rendered.contains("Push(1)") && rendered.contains("Popped(Some(2))"));
            }
            other => panic!("expected a violation, got {other:?}"),
        }
    }

    /// The stranded push: a push that overlaps a close and a pop that reported
    /// closed-and-empty, and then returns `Pushed`, has no linearization — the push must come
    /// before the close (it was accepted), and then the pop cannot see the queue empty.
    #[test]
    fn a_push_stranded_by_close_is_a_violation() {
        use ClosableQueueOp::*;
        use ClosableQueueRet::*;
        let spec = ClosableQueueSpec { capacity: 2 };
        let linearizable = |history: &[Operation<ClosableQueueOp, ClosableQueueRet>]| {
            matches!(check(&spec, history, 1_000), Verdict::Linearizable { .. })
        };
        // Thread 0 pushes 7 across a close by thread 1; thread 2 pops as given.
        let history = |push, pops: &[(ClosableQueueRet, u64, u64)]| {
            let mut ops = vec![
                op(0, Push(7), push, 0, 5),
                op(1, Close, Closed { was_open: true }, 1, 2),
            ];
            ops.extend(
                pops.iter()
                    .map(|&(ret, from, to)| op(2, Pop, ret, from, to)),
            );
            ops
        };
        // The push returns Pushed after a pop reported closed-and-empty: no linearization.
        assert!(!linearizable(&history(Pushed, &[(PopClosed, 3, 4)])));
        // The same history with the push refused, or popped, is fine.
        assert!(linearizable(&history(PushClosed, &[(PopClosed, 3, 4)])));
        assert!(linearizable(&history(
            Pushed,
            &[(Popped(7), 3, 6), (PopClosed, 7, 8)]
        )));
    }

    #[test]
    fn full_is_only_legal_when_full() {
        let spec = BoundedQueueSpec { capacity: 1 };
        let h = vec![op(0, QueueOp::Push(1), QueueRet::Full, 0, 1)];
        assert!(matches!(check(&spec, &h, 100), Verdict::Violation { .. }));
    }

    #[test]
    fn write_once_array_rejects_a_second_value() {
        let spec = WriteOnceArraySpec { len: 1 };
        let ok = vec![
            op(0, ArrayOp::Publish(0, 7), ArrayRet::Published, 0, 3),
            op(1, ArrayOp::TryGet(0), ArrayRet::Got(None), 1, 2),
            op(1, ArrayOp::TryGet(0), ArrayRet::Got(Some(7)), 4, 5),
        ];
        assert!(matches!(
            check(&spec, &ok, 100),
            Verdict::Linearizable { .. }
        ));
        let bad = vec![
            op(0, ArrayOp::Publish(0, 7), ArrayRet::Published, 0, 1),
            op(1, ArrayOp::TryGet(0), ArrayRet::Got(None), 2, 3),
        ];
        assert!(matches!(check(&spec, &bad, 100), Verdict::Violation { .. }));
    }

    #[test]
    fn counter_detects_a_lost_update() {
        let h = vec![
            op(0, 1, 0, 0, 2),
            op(1, 1, 0, 1, 3), // both saw 0: a lost update
        ];
        assert!(matches!(
            check(&CounterSpec, &h, 100),
            Verdict::Violation { .. }
        ));
    }

    #[test]
    fn budget_turns_a_long_search_into_unknown() {
        // 20 fully concurrent pushes of distinct values, then pops in an order that forces
        // the search to try many prefixes before failing.
        let spec = BoundedQueueSpec { capacity: 64 };
        let mut h: Vec<_> = (0..20)
            .map(|i| op(i, QueueOp::Push(i as u64), QueueRet::Pushed, i as u64, 100))
            .collect();
        h.push(op(0, QueueOp::Pop, QueueRet::Popped(Some(99)), 101, 102));
        assert!(matches!(check(&spec, &h, 1_000), Verdict::Unknown { .. }));
    }

    #[test]
    fn too_long_histories_are_refused() {
        let spec = BoundedQueueSpec { capacity: 100 };
        let h: Vec<_> = (0..65)
            .map(|i| op(0, QueueOp::Push(i), QueueRet::Pushed, 2 * i, 2 * i + 1))
            .collect();
        assert!(matches!(
            check(&spec, &h, 100),
            Verdict::TooLong { len: 65 }
        ));
    }
}

/// What a batch of checked histories came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Histories with a linearization.
    pub linearizable: usize,
    /// Histories whose search ran out of budget.
    pub unknown: usize,
    /// Histories with no linearization.
    pub violations: usize,
}

/// A tiny deterministic generator for operation mixes (xorshift64*).
#[derive(Debug, Clone)]
pub struct Mix(u64);

impl Mix {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next value below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) % n
    }
}

/// Runs one concurrent history against a queue: `threads` threads (through
/// `synclab::sync::thread`, so this also runs under shuttle), each doing `ops` random
/// `try_push`/`try_pop` operations with distinct values, and checks it against a
/// [`BoundedQueueSpec`] of `capacity`. Returns the verdict.
pub fn queue_history<Q: Send + Sync + 'static>(
    queue: Q,
    capacity: usize,
    threads: usize,
    ops: usize,
    seed: u64,
    push: fn(&Q, u64) -> bool,
    pop: fn(&Q) -> Option<u64>,
) -> Verdict<QueueOp, QueueRet> {
    let history = run_history(
        queue,
        threads,
        ops,
        seed,
        move |queue, recorder, t, k, mix| {
            if mix.below(2) == 0 {
                let v = (t * 1000 + k) as u64;
                recorder.record(t, QueueOp::Push(v), || {
                    if push(queue, v) {
                        QueueRet::Pushed
                    } else {
                        QueueRet::Full
                    }
                });
            } else {
                recorder.record(t, QueueOp::Pop, || QueueRet::Popped(pop(queue)));
            }
        },
    );
    check(&BoundedQueueSpec { capacity }, &history, 200_000)
}

/// The operations [`closable_queue_history`] runs against the queue under test.
#[derive(Debug, Clone, Copy)]
pub struct ClosableQueueOps<Q> {
    /// `try_push(v)`: its result.
    pub push: fn(&Q, u64) -> ClosableQueueRet,
    /// `try_pop()`: its result.
    pub pop: fn(&Q) -> ClosableQueueRet,
    /// `close()`: whether this call closed it.
    pub close: fn(&Q) -> bool,
}

/// Runs one concurrent history against a closable queue: `threads` threads, each doing `ops`
/// random operations — `try_push` (distinct values) and `try_pop` about equally often,
/// `close` one time in ten — and checks it against a [`ClosableQueueSpec`] of `capacity`.
pub fn closable_queue_history<Q: Send + Sync + 'static>(
    queue: Q,
    capacity: usize,
    threads: usize,
    ops: usize,
    seed: u64,
    run: ClosableQueueOps<Q>,
) -> Verdict<ClosableQueueOp, ClosableQueueRet> {
    let history = run_history(
        queue,
        threads,
        ops,
        seed,
        move |queue, recorder, t, k, mix| match mix.below(10) {
            0 => {
                recorder.record(t, ClosableQueueOp::Close, || ClosableQueueRet::Closed {
                    was_open: (run.close)(queue),
                });
            }
            1..=5 => {
                let v = (t * 1000 + k) as u64;
                recorder.record(t, ClosableQueueOp::Push(v), || (run.push)(queue, v));
            }
            _ => {
                recorder.record(t, ClosableQueueOp::Pop, || (run.pop)(queue));
            }
        },
    );
    check(&ClosableQueueSpec { capacity }, &history, 200_000)
}

/// Adds `verdict` to `tally`.
pub fn tally<O, R>(tally: &mut Tally, verdict: &Verdict<O, R>) {
    match verdict {
        Verdict::Linearizable { .. } => tally.linearizable += 1,
        Verdict::Unknown { .. } | Verdict::TooLong { .. } => tally.unknown += 1,
        Verdict::Violation { .. } => tally.violations += 1,
    }
}

/// Runs one concurrent history against a write-once array of `len` slots: `threads` threads
/// each doing `ops` random `publish`/`try_get` operations (indices up to `len`, so
/// out-of-bounds is exercised; values distinct), checked against a [`WriteOnceArraySpec`].
pub fn array_history<A: Send + Sync + 'static>(
    array: A,
    len: usize,
    threads: usize,
    ops: usize,
    seed: u64,
    publish: fn(&A, usize, u64) -> ArrayRet,
    try_get: fn(&A, usize) -> ArrayRet,
) -> Verdict<ArrayOp, ArrayRet> {
    let history = run_history(
        array,
        threads,
        ops,
        seed,
        move |array, recorder, t, k, mix| {
            let i = mix.below(len as u64 + 1) as usize;
            if mix.below(2) == 0 {
                let v = (t * 1000 + k) as u64;
                recorder.record(t, ArrayOp::Publish(i, v), || publish(array, i, v));
            } else {
                recorder.record(t, ArrayOp::TryGet(i), || try_get(array, i));
            }
        },
    );
    check(&WriteOnceArraySpec { len }, &history, 200_000)
}

/// Runs `threads` threads (through `synclab::sync::thread`, so this also runs under shuttle)
/// over one shared `object`, each calling `one_op(object, recorder, thread, k, mix)` for
/// `k in 0..ops` with a generator of its own (seeded from `seed` and the thread), and returns
/// the recorded history.
fn run_history<T, Op, Ret, F>(
    object: T,
    threads: usize,
    ops: usize,
    seed: u64,
    one_op: F,
) -> Vec<Operation<Op, Ret>>
where
    T: Send + Sync + 'static,
    Op: Clone + Send + 'static,
    Ret: Clone + Send + 'static,
    F: Fn(&T, &Recorder<Op, Ret>, usize, usize, &mut Mix) + Copy + Send + 'static,
{
    use synclab::sync::{thread, Arc};
    let object = Arc::new(object);
    let recorder = Arc::new(Recorder::<Op, Ret>::new());
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (object, recorder) = (Arc::clone(&object), Arc::clone(&recorder));
            let mut mix = Mix::new(seed ^ ((t as u64 + 1) << 32));
            thread::spawn(move || {
                for k in 0..ops {
                    one_op(&object, &recorder, t, k, &mut mix);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a history thread panicked");
    }
    recorder.history()
}

/// Operations on a bounded work-stealing deque of `u64`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DequeOp {
    /// The owner's `push(v)`.
    Push(u64),
    /// The owner's `pop()` (the newest item).
    Pop,
    /// A thief's `steal()` (the oldest item), retried until it is not `Retry`.
    Steal,
}

/// Results of [`DequeOp`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DequeRet {
    /// `push` succeeded.
    Pushed,
    /// `push` found the deque full.
    Full,
    /// What `pop` or `steal` took (`None`: empty).
    Took(Option<u64>),
}

/// A bounded deque of the given capacity: the owner's end is LIFO, the thieves' end FIFO.
#[derive(Debug, Clone, Copy)]
pub struct DequeSpec {
    /// Capacity.
    pub capacity: usize,
}

impl Spec for DequeSpec {
    type State = VecDeque<u64>;
    type Op = DequeOp;
    type Ret = DequeRet;

    fn init(&self) -> Self::State {
        VecDeque::new()
    }

    fn step(&self, state: &Self::State, op: &DequeOp) -> (Self::State, DequeRet) {
        let mut s = state.clone();
        let ret = match *op {
            DequeOp::Push(v) if s.len() < self.capacity => {
                s.push_back(v);
                DequeRet::Pushed
            }
            DequeOp::Push(_) => DequeRet::Full,
            DequeOp::Pop => DequeRet::Took(s.pop_back()),
            DequeOp::Steal => DequeRet::Took(s.pop_front()),
        };
        (s, ret)
    }

    /// Every value taken was pushed within the sub-history.
    fn well_formed(&self, ops: &[Operation<DequeOp, DequeRet>]) -> bool {
        ops.iter().all(|o| match o.ret {
            DequeRet::Took(Some(v)) => ops
                .iter()
                .any(|p| p.op == DequeOp::Push(v) && p.ret == DequeRet::Pushed),
            _ => true,
        })
    }
}

/// Runs one concurrent history against `synclab::queue::deque` of `capacity`: thread 0 owns
/// the deque and does `ops` random pushes (distinct values) and pops, threads `1..=thieves`
/// each do `ops` steals (each retried until it is not `Retry`); checked against a
/// [`DequeSpec`]. Threads come from `synclab::sync::thread`, so this also runs under shuttle.
pub fn deque_history(
    capacity: usize,
    thieves: usize,
    ops: usize,
    seed: u64,
) -> Verdict<DequeOp, DequeRet> {
    use synclab::queue::deque::{self, Steal};
    use synclab::sync::{thread, Arc};
    let (owner, stealer) = deque::new::<Box<u64>>(capacity).expect("capacity >= 1");
    let capacity = owner.capacity();
    let recorder = Arc::new(Recorder::<DequeOp, DequeRet>::new());
    let mut handles = Vec::new();
    for t in 1..=thieves {
        let (stealer, recorder) = (stealer.clone(), Arc::clone(&recorder));
        handles.push(thread::spawn(move || {
            for _ in 0..ops {
                recorder.record(t, DequeOp::Steal, || loop {
                    match stealer.steal() {
                        Steal::Success(v) => break DequeRet::Took(Some(*v)),
                        Steal::Empty => break DequeRet::Took(None),
                        Steal::Retry => thread::yield_now(),
                    }
                });
            }
        }));
    }
    let owner_recorder = Arc::clone(&recorder);
    handles.push(thread::spawn(move || {
        let mut mix = Mix::new(seed);
        for k in 0..ops {
            // Two pushes for every pop, so the thieves find something.
            if mix.below(3) != 0 {
                let v = k as u64;
                owner_recorder.record(0, DequeOp::Push(v), || match owner.push(Box::new(v)) {
                    Ok(()) => DequeRet::Pushed,
                    Err(_) => DequeRet::Full,
                });
            } else {
                owner_recorder.record(0, DequeOp::Pop, || DequeRet::Took(owner.pop().map(|b| *b)));
            }
        }
    }));
    for h in handles {
        h.join().expect("a history thread panicked");
    }
    check(&DequeSpec { capacity }, &recorder.history(), 200_000)
}
