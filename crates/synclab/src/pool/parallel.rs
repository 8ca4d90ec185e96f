//! The data-parallel helpers on `join`: [`ThreadPool::for_each`] and
//! [`ThreadPool::map_reduce`] (and the free [`for_each`] and [`map_reduce`], on the calling
//! worker's pool or the global one, as the free [`join`](super::join) does) over an index
//! range or a slice — a [`Splittable`] input.
//!
//! **Adaptive splitting** (rayon's `Splitter` in `iter/plumbing/mod.rs`): the input is halved
//! with `join` while a budget of splits lasts. The budget starts at the pool's worker count
//! and halves at each level, so with nobody stealing the input ends in about twice as many
//! pieces as workers; a half that was *stolen* — it runs on another thread than the one that
//! split it, so thieves are idle — resets its budget to at least the worker count, and keeps
//! splitting. Busy workers thus run long sequential pieces, idle ones get work at every level
//! down to single items. On the pools without a deque, `join` never reports a steal (it has
//! no thief to adapt to: see [`join`](super::join)'s module docs), so the input is split into
//! about twice as many pieces as workers, once.
//!
//! Not a parallel-iterator library: one pass, a map and a reduction, over ranges and slices.

use core::ops::Range;

use super::hooks::Hooks;
use super::ThreadPool;

/// An input the data-parallel helpers can split: an index range (`Range<usize>`, items are
/// the indices), a shared slice (items are `&T`) or a mutable slice (items are `&mut T`).
///
/// Sealed: those three are the inputs. For anything else indexable, split its index range.
#[allow(
    private_bounds,
    reason = "sealed: `Sealed` is crate-private on purpose, so only these inputs implement it"
)]
pub trait Splittable: Sealed + Sized + Send {
    /// What each call of the helper's closure receives.
    type Item;
    /// The items of a piece that is not split further, in order.
    type Items: Iterator<Item = Self::Item>;

    /// How many items.
    fn len(&self) -> usize;

    /// Whether there are no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `mid` items and the rest (`mid <= len`).
    fn split_at(self, mid: usize) -> (Self, Self);

    /// The items, in order.
    fn items(self) -> Self::Items;
}

/// Seals [`Splittable`].
pub(crate) trait Sealed {}

impl Sealed for Range<usize> {}
impl<T: Sync> Sealed for &[T] {}
impl<T: Send> Sealed for &mut [T] {}

impl Splittable for Range<usize> {
    type Item = usize;
    type Items = Range<usize>;

    /// 0 for a range whose end is not after its start (it yields nothing either).
    fn len(&self) -> usize {
        self.end.saturating_sub(self.start)
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        let mid = self.start + mid.min(Splittable::len(&self));
        (self.start..mid, mid..self.end.max(mid))
    }

    fn items(self) -> Self::Items {
        self
    }
}

impl<'a, T: Sync> Splittable for &'a [T] {
    type Item = &'a T;
    type Items = core::slice::Iter<'a, T>;

    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at(self, mid)
    }

    fn items(self) -> Self::Items {
        self.iter()
    }
}

impl<'a, T: Send> Splittable for &'a mut [T] {
    type Item = &'a mut T;
    type Items = core::slice::IterMut<'a, T>;

    fn len(&self) -> usize {
        <[T]>::len(self)
    }

    fn split_at(self, mid: usize) -> (Self, Self) {
        <[T]>::split_at_mut(self, mid)
    }

    fn items(self) -> Self::Items {
        self.iter_mut()
    }
}

/// What the helpers fork with: a pool's `join_context`, or the free functions' (the calling
/// worker's pool, or the global one).
pub(crate) trait Fork: Sync {
    /// `join`, telling each closure whether it runs on another thread than the caller.
    fn fork<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send;

    /// The number of workers: the splitting budget's start.
    fn threads(&self) -> usize;
}

impl<P: ThreadPool> Fork for P {
    #[inline]
    fn fork<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        Hooks::join_context(self, a, b)
    }

    fn threads(&self) -> usize {
        self.workers()
    }
}

/// The free functions' fork: the calling worker's pool, or the global pool.
pub(crate) struct Ambient;

impl Fork for Ambient {
    #[inline]
    fn fork<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce(bool) -> RA + Send,
        B: FnOnce(bool) -> RB + Send,
        RA: Send,
        RB: Send,
    {
        super::join::join_anywhere(a, b)
    }

    fn threads(&self) -> usize {
        super::join::ambient_workers()
    }
}

/// The splitting budget (see "Adaptive splitting" in the [module docs](self)).
#[derive(Clone, Copy)]
struct Splitter {
    /// Splits left on this path.
    splits: usize,
    /// The budget a stolen piece gets back: the worker count.
    threads: usize,
}

impl Splitter {
    fn new(threads: usize) -> Self {
        Self {
            splits: threads,
            threads,
        }
    }

    /// Whether a piece of `len` items is split (then the budget is updated for its halves).
    #[inline]
    fn try_split(&mut self, len: usize, stolen: bool) -> bool {
        if len < 2 {
            false
        } else if stolen {
            self.splits = self.threads.max(self.splits / 2);
            true
        } else if self.splits > 0 {
            self.splits /= 2;
            true
        } else {
            false
        }
    }
}

/// [`ThreadPool::for_each`] and the free [`for_each`], on `fork`.
pub(crate) fn for_each_on<J, I, F>(fork: &J, input: I, f: &F)
where
    J: Fork,
    I: Splittable,
    F: Fn(I::Item) + Sync,
{
    for_each_in(fork, input, f, Splitter::new(fork.threads()), false);
}

fn for_each_in<J, I, F>(fork: &J, input: I, f: &F, mut splitter: Splitter, stolen: bool)
where
    J: Fork,
    I: Splittable,
    F: Fn(I::Item) + Sync,
{
    let len = input.len();
    if splitter.try_split(len, stolen) {
        let (left, right) = input.split_at(len / 2);
        fork.fork(
            move |stolen| for_each_in(fork, left, f, splitter, stolen),
            move |stolen| for_each_in(fork, right, f, splitter, stolen),
        );
    } else {
        input.items().for_each(f);
    }
}

/// [`ThreadPool::map_reduce`] and the free [`map_reduce`], on `fork`.
pub(crate) fn map_reduce_on<J, I, T, ID, M, R>(
    fork: &J,
    input: I,
    identity: &ID,
    map: &M,
    reduce: &R,
) -> T
where
    J: Fork,
    I: Splittable,
    T: Send,
    ID: Fn() -> T + Sync,
    M: Fn(I::Item) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    let splitter = Splitter::new(fork.threads());
    map_reduce_in(fork, input, identity, map, reduce, splitter, false)
}

fn map_reduce_in<J, I, T, ID, M, R>(
    fork: &J,
    input: I,
    identity: &ID,
    map: &M,
    reduce: &R,
    mut splitter: Splitter,
    stolen: bool,
) -> T
where
    J: Fork,
    I: Splittable,
    T: Send,
    ID: Fn() -> T + Sync,
    M: Fn(I::Item) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    let len = input.len();
    if splitter.try_split(len, stolen) {
        let (left, right) = input.split_at(len / 2);
        let (left, right) = fork.fork(
            move |stolen| map_reduce_in(fork, left, identity, map, reduce, splitter, stolen),
            move |stolen| map_reduce_in(fork, right, identity, map, reduce, splitter, stolen),
        );
        reduce(left, right)
    } else {
        input.items().map(map).fold(identity(), reduce)
    }
}

/// Calls `f` on every item of `input` — an index range or a slice — in parallel, on the
/// calling worker's pool or the global pool (as the free [`join`](super::join) does);
/// returns when every call has returned. [`ThreadPool::for_each`] on a pool of your own.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let mut squares = vec![0u64; 1000];
/// synclab::pool::for_each(&mut squares[..], |x| *x = 7);
/// let total = AtomicU64::new(0);
/// synclab::pool::for_each(0..1000, |i| {
///     total.fetch_add(i as u64, Ordering::Relaxed);
/// });
/// assert_eq!(total.into_inner(), 999 * 1000 / 2);
/// assert!(squares.iter().all(|&x| x == 7));
/// ```
///
/// A panic in `f` is resumed once every piece has finished (a panic of another piece may be
/// dropped).
pub fn for_each<I, F>(input: I, f: F)
where
    I: Splittable,
    F: Fn(I::Item) + Sync,
{
    for_each_on(&Ambient, input, &f);
}

/// Maps every item of `input` — an index range or a slice — with `map` and combines the
/// values with `reduce`, in parallel, on the calling worker's pool or the global pool (as the
/// free [`join`](super::join) does); `identity()` is the value of an empty piece.
/// [`ThreadPool::map_reduce`] on a pool of your own.
///
/// `reduce` must be associative and `identity()` its neutral element: the pieces are
/// combined in order (left with right), but how the input is cut depends on the schedule.
///
/// ```
/// let v: Vec<u64> = (1..=100).collect();
/// let sum_of_squares = synclab::pool::map_reduce(&v[..], || 0, |x| x * x, |a, b| a + b);
/// assert_eq!(sum_of_squares, 338_350);
/// let longest = synclab::pool::map_reduce(0..10, || 0, |i| i % 7, usize::max);
/// assert_eq!(longest, 6);
/// ```
pub fn map_reduce<I, T, ID, M, R>(input: I, identity: ID, map: M, reduce: R) -> T
where
    I: Splittable,
    T: Send,
    ID: Fn() -> T + Sync,
    M: Fn(I::Item) -> T + Sync,
    R: Fn(T, T) -> T + Sync,
{
    map_reduce_on(&Ambient, input, &identity, &map, &reduce)
}

#[cfg(all(test, synclab_plain))]
mod tests {
    use super::*;

    #[test]
    #[allow(
        clippy::reversed_empty_ranges,
        reason = "a reversed range is empty: tested"
    )]
    fn ranges_split_and_clamp() {
        assert_eq!(Splittable::len(&(3..10)), 7);
        assert_eq!(Splittable::len(&(10..3)), 0);
        assert_eq!(Splittable::split_at(2..9, 3), (2..5, 5..9));
        // A reversed range stays empty on both sides.
        let (a, b) = Splittable::split_at(10..3, 0);
        assert_eq!((Splittable::len(&a), Splittable::len(&b)), (0, 0));
    }

    #[test]
    fn the_budget_halves_and_a_steal_restores_it() {
        let mut s = Splitter::new(4);
        assert!(s.try_split(100, false)); // 2
        assert!(s.try_split(100, false)); // 1
        assert!(s.try_split(100, false)); // 0
        assert!(!s.try_split(100, false));
        assert!(s.try_split(100, true));
        assert_eq!(s.splits, 4);
        assert!(!s.try_split(1, true), "one item is never split");
    }
}
