//! Where a design's state lives: the heap of one process, or a segment shared by processes.
//!
//! A layer above [`sync`](crate::sync) and below the designs. The designs do not get copies for
//! shared memory: each is generic over a [`Memory`], which says
//!
//! * where its variable-size state lives ([`Memory::Region`]: a `Box` on the [`Heap`], or a
//!   region of a mapped segment for [`Shm`]);
//! * which futex scope its words use ([`Memory::wait`], [`Memory::wake_one`], …: private to
//!   one process on the heap, shared — no `FUTEX_PRIVATE_FLAG` — in a segment);
//! * whether a peer can die in the middle of an operation ([`Memory::TRACKED`]): then lock
//!   words and claimed slots carry the claimant's *tag* ([`Memory::tag`]), survivors ask
//!   [`Memory::is_dead`] about a tag that does not move, and every sleep is bounded by
//!   [`Memory::POLL`] so that a sleeper notices a death.
//!
//! So the code that the model checkers check (instantiated with [`Heap`] and with the
//! verification crate's tracked model memory) is the code that runs across processes.
//!
//! | memory | region | futex | peers can die | tags | where |
//! |---|---|---|---|---|---|
//! | [`Heap`] | `Box<[E]>` beside an inline header | private | no (a thread cannot die holding a lock without unwinding) | constant | every world |
//! | [`Shm`] | a region of a [`Segment`] | shared | yes | per-thread entry of the segment's attach table | Linux, plain build |
//!
//! The segment layer itself — named segments, the versioned header, the attach table, stale
//! segments — is in [`Segment`] (Linux only, `cfg(target_os = "linux")`). It is compiled in
//! every world, so code that names segment types builds under the model checkers too; there
//! every entry point returns [`OpenError::CheckerWorld`] (a checker's atomics cannot live in a
//! mapping: check the designs in heap or model memory instead). The rest of this
//! page says how it tells peers apart and judges them dead, and what it promises about peers
//! the lab did not plan for. `docs/processes.md` is the guide.
//!
//! # Who is alive: a byte-range lock per attached thread
//!
//! Every thread that takes part in a tracked operation on a segment claims an entry of the
//! segment's attach table, and its tag names that entry (and the entry's generation, so a
//! reclaimed entry never answers for its previous holder). While it holds the entry, the
//! thread's process holds a write lock on one byte of the segment's object for it (an
//! open-file-description lock, `F_OFD_SETLK`, through a description of the object the process
//! opened for that purpose). A survivor that finds a tag in a word that does not move asks
//! whether the entry still holds that tag and whether anyone holds the entry's byte
//! (`F_OFD_GETLK`, through another description, which holds no byte lock and so sees every
//! process's, its own included). The kernel drops a description's locks when its last
//! descriptor closes: when the process exits, is killed, or execs (the descriptors are
//! close-on-exec). A thread that exits lets its entries go on its way out.
//!
//! The earlier answer was `/proc/<pid>/task/<tid>/stat`, and it is wrong across PID
//! namespaces — two containers sharing `/dev/shm` (`--ipc=shareable`, a shared tmpfs). A
//! process id means something only in its own namespace: a holder in a namespace of its own
//! with its own `/proc` was judged dead while it held the lock (its pid named another process
//! in the survivor's `/proc`), and one that saw the host's `/proc` recorded the host's pid 1
//! as itself and was never judged dead. The candidates, and why the lock:
//!
//! * `NSpid` (`/proc/<pid>/status`) lists a process's pid in each nested namespace, but only
//!   as seen from the `/proc` it is read in, and a process cannot learn its pid in its
//!   parent's namespace at all when its `/proc` is its own;
//! * the namespace's inode (`/proc/self/ns/pid`) tells that two peers are in different
//!   namespaces — enough to refuse, not to judge;
//! * a pidfd names a process in any namespace, but it can only be opened by pid (from the
//!   opener's namespace) or passed over a socket — not found in shared memory;
//! * the kernel's robust futex list (glibc's robust mutexes: the kernel marks a dead owner's
//!   futex `OWNER_DIED`) works in every namespace, but each thread has one list and glibc
//!   has taken it; a robust futex of our own would have to be a pthread mutex — a second
//!   algorithm, glibc's, that the models do not check;
//! * a lock on the shared object is the kernel's own record that a process still holds it,
//!   the same in every namespace, dropped exactly when the holder goes — as iceoryx2 keeps a
//!   lock file per node for its monitoring. It needs no `/proc`, costs one system call per
//!   question, and is what this module uses.
//!
//! So peers in different PID namespaces are judged correctly both ways: a live holder is
//! never reported dead, a killed one is (`tests/shm_peers.rs` checks both, 200 times each).
//!
//! # Fork
//!
//! Mapping a segment and then forking workers is the pre-fork server's pattern (and Python's
//! `multiprocessing` with fork). The child inherits its parent's memory — the thread-local
//! caches that name the parent's entries, each mapping's record of the entries it claimed, a
//! copy of every handle — and its descriptors, so it shares the parent's lock description.
//! Left alone, the child's drop of its copy of a handle released the *parent's* entries, and a
//! third process then took the parent's lock while the parent was inside.
//!
//! `pthread_atfork` handlers, installed with the first mapping, make the child a new peer
//! (glibc does the same for its robust list: the child starts with an empty one). In the
//! child every cache and claim record is forgotten — never released: the entries are the
//! parent's — and its copy of each lock description is closed, so that the parent's locks go
//! when the parent does, not when the child does. The child's first tracked operation claims
//! an entry of its own, through a lock description of its own (the object reopened through
//! `/proc/self/fd`; without `/proc` the child's operations are untracked). A forked child may
//! therefore use its copy of a [`Shared`] handle, and drop it, like any peer. What it must not
//! use is a handle that names its holder — a lock guard, a lane, a duplex end — held by the
//! thread that forked: those stay the parent's, and dropping one in the child releases
//! nothing (unlocking checks that the word names the caller's own tag). A [`Segment`] created
//! by the parent is unlinked only by the parent. A child made by a raw `clone`/`fork` system
//! call runs no atfork handler and is not covered.
//!
//! # Space, and a peer that shrinks the object
//!
//! A segment's blocks are reserved (`posix_fallocate`) before it is mapped, so a `/dev/shm`
//! too small for it (docker's default is 64 MiB) is an [`OpenError::Io`] (`ENOSPC`) at
//! create, not a SIGBUS at the first touch of a missing page. Shrinking cannot be prevented —
//! a named shm object takes no seals (`F_SEAL_SHRINK` is for memfds) — so every mapping is
//! covered by a SIGBUS handler that grows the object back and lets the access go on, reading
//! zeros: what a shrinking peer leaves is what a peer that zeroed the segment leaves.
//!
//! # A faulty peer
//!
//! A peer that writes garbage into a segment — a bug, or a process that may write it and
//! means harm — makes the designs give wrong values or typed errors, never undefined
//! behaviour, a panic, a signal, or an unbounded wait in a call that promises a bound: every
//! index, count, length and tag read from a segment is bounds-checked or masked before it
//! addresses memory, arithmetic on shared words wraps, and a queue's `try_push`/`try_pop`
//! gives up on a slot that stays in an impossible state (`tests/shm_fuzz.rs`). What no design
//! can defend against is what any shared mapping allows: the values themselves, and a word
//! that names a live thread as the holder of a lock it does not hold (a blocking `lock` then
//! waits for that thread, as it would for a real holder).

use core::fmt;
use core::time::Duration;

use crate::sync::atomic::AtomicU32;
use crate::sync::futex::{self, WakeScope};

#[cfg(target_os = "linux")]
mod attach;
#[cfg(target_os = "linux")]
mod error;
#[cfg(target_os = "linux")]
mod mapping;
#[cfg(target_os = "linux")]
mod segment;
#[cfg(target_os = "linux")]
mod shared;
#[cfg(target_os = "linux")]
mod sigbus;
#[cfg(target_os = "linux")]
mod stale;
#[cfg(target_os = "linux")]
mod sys;

#[cfg(target_os = "linux")]
pub use self::{
    error::{OpenError, SegmentOptions, StaleCheck},
    segment::Segment,
    shared::{region_end, Cursor, Design, InSegment, Placeable, Shared, Shm, ShmRegion},
};

/// The largest tag a tracked [`Memory`] hands out: tags fit in 29 bits, so a lock word keeps
/// three bits of state beside its holder's tag.
pub(crate) const TAG_MASK: u32 = (1 << 29) - 1;

/// Where a design keeps its state, which futex scope its words use, and whether a peer can die
/// in the middle of an operation. See the [module docs](self).
///
/// # Safety
///
/// Implementations promise:
///
/// * [`Scope`](Memory::Scope) reaches every thread — in every process — that can reach the
///   memory (the private scope only for memory one process can map);
/// * [`Region`]s give out the same header and elements to every handle built over the same
///   place, for as long as any handle lives, and a region is `Send + Sync` whenever its header
///   and elements are (the designs hand a region of atomics between threads);
/// * if [`TRACKED`](Memory::TRACKED): [`tag`](Memory::tag) returns a value in `1..=TAG_MASK`
///   that no other live thread reaching this memory has (or a shared *untracked* tag that
///   `is_dead` never reports, for a thread the memory cannot watch); [`is_dead`](Memory::is_dead) returns
///   `true` only for a tag whose thread has exited (or whose attachment is gone), and once it
///   returns `true` for a tag it does so for ever; a thread's [`announce`](Memory::announce)
///   is what [`claimant_dead`](Memory::claimant_dead) reads (see there). If not tracked:
///   `tag` is a constant, `is_dead` and `claimant_dead` always return `false`.
pub unsafe trait Memory: Send + Sync + Sized + 'static {
    /// A short name for tables and `Debug`, e.g. `"heap"`.
    const NAME: &'static str;
    /// Whether peers can die mid-operation (see the module docs).
    const TRACKED: bool;
    /// How long a tracked sleeper sleeps before it re-checks whether the thread it waits for
    /// is alive: the bound on how late a death is noticed by a thread already asleep.
    const POLL: Duration;

    /// A header `H` and a fixed number of elements `E`, in this memory.
    type Region<H, E>: Region<H, E>;

    /// The futex scope of words in this memory: [`futex::Private`] on the heap,
    /// [`futex::CrossProcess`] in a segment.
    type Scope: WakeScope;

    /// Sleeps while `*word == expected` (in [`Memory::Scope`]); may return spuriously.
    #[inline]
    fn wait(word: &AtomicU32, expected: u32) {
        Self::Scope::wait(word, expected);
    }
    /// [`wait`](Memory::wait), for at most `timeout`; `true` if it timed out.
    #[inline]
    fn wait_timeout(word: &AtomicU32, expected: u32, timeout: Duration) -> bool {
        Self::Scope::wait_timeout(word, expected, timeout).timed_out()
    }
    /// Wakes at most one thread sleeping on `word` (in [`Memory::Scope`]).
    #[inline]
    fn wake_one(word: &AtomicU32) {
        Self::Scope::wake_one(word);
    }
    /// Wakes every thread sleeping on `word` (in [`Memory::Scope`]).
    #[inline]
    fn wake_all(word: &AtomicU32) {
        Self::Scope::wake_all(word);
    }

    /// The calling thread's tag for words in the memory that holds `ctx`.
    fn tag(ctx: *const ()) -> u32;
    /// Whether the thread that held `tag` (in the memory that holds `ctx`) is gone for good.
    fn is_dead(ctx: *const (), tag: u32) -> bool;
    /// Records that the calling thread is about to try operation `op` on the memory that
    /// holds `ctx` (the kernel robust list's `list_op_pending`, for claims whose word does not
    /// name the claimant). Overwritten by the thread's next `announce`.
    fn announce(ctx: *const (), op: u64);
    /// Whether no live thread reaching the memory that holds `ctx` has `op` as its last
    /// announcement. A caller that has seen the effect of a claim of `op` (through an Acquire
    /// read of the claimed word or a later RMW) and gets `true` knows the claimant is dead.
    fn claimant_dead(ctx: *const (), op: u64) -> bool;
}

/// A header and `len` elements in some [`Memory`].
pub trait Region<H, E> {
    /// The header.
    fn header(&self) -> &H;
    /// The elements.
    fn elems(&self) -> &[E];
}

/// The heap of one process: the header inline, the elements in a `Box<[E]>`, private futexes,
/// and no peer that can die mid-operation.
#[derive(Debug, Clone, Copy, Default)]
pub struct Heap;

/// A region on the [`Heap`]: the header inline, the elements boxed.
pub struct HeapRegion<H, E> {
    header: H,
    elems: Box<[E]>,
}

impl<H, E> HeapRegion<H, E> {
    /// A region holding `header` and `elems`.
    #[inline]
    pub(crate) fn new(header: H, elems: Box<[E]>) -> Self {
        Self { header, elems }
    }
}

impl<H, E> Region<H, E> for HeapRegion<H, E> {
    #[inline(always)]
    fn header(&self) -> &H {
        &self.header
    }
    #[inline(always)]
    fn elems(&self) -> &[E] {
        &self.elems
    }
}

impl<H, E> fmt::Debug for HeapRegion<H, E> {
    /// Shows the length only: the contents are under concurrent mutation.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HeapRegion")
            .field("len", &self.elems.len())
            .finish_non_exhaustive()
    }
}

/// The tag every [`Heap`] holder writes: a constant, since nobody asks who holds a heap lock.
pub(crate) const HEAP_TAG: u32 = 1;

// SAFETY: the heap is reached by the threads of one process only, so the private futex reaches
// every thread that can reach it; `HeapRegion` owns its header and elements; untracked: `tag` is
// a constant and nothing is ever reported dead.
unsafe impl Memory for Heap {
    const NAME: &'static str = "heap";
    const TRACKED: bool = false;
    const POLL: Duration = Duration::MAX;

    type Region<H, E> = HeapRegion<H, E>;
    type Scope = futex::Private;

    #[inline(always)]
    fn tag(_ctx: *const ()) -> u32 {
        HEAP_TAG
    }

    #[inline(always)]
    fn is_dead(_ctx: *const (), _tag: u32) -> bool {
        false
    }

    #[inline(always)]
    fn announce(_ctx: *const (), _op: u64) {}

    #[inline(always)]
    fn claimant_dead(_ctx: *const (), _op: u64) -> bool {
        false
    }
}

/// A [`Memory`] whose regions are plain heap allocations (the heap itself, and the
/// verification crate's model memories, whose "processes" are threads).
///
/// # Safety
///
/// [`region`](HeapMemory::region) must return a region that owns `header` and `elems` and
/// gives exactly them back.
pub unsafe trait HeapMemory: Memory {
    /// A region owning `header` and `elems`.
    fn region<H, E>(header: H, elems: Box<[E]>) -> Self::Region<H, E>;
}

// SAFETY: `HeapRegion::new` owns what it is given.
unsafe impl HeapMemory for Heap {
    #[inline]
    fn region<H, E>(header: H, elems: Box<[E]>) -> HeapRegion<H, E> {
        HeapRegion::new(header, elems)
    }
}

/// Plain data that may live in a segment shared by processes: `Copy`, no pointers or
/// references, no padding, and every bit pattern a valid value.
///
/// A segment is mapped at a different address in every process and outlives any of them, so a
/// pointer stored in it means nothing to a peer, and a value a dying peer left half-written
/// must still be a valid `T` (it is read as bytes another process wrote).
///
/// Implemented for the integers and arrays of plain values. With the `bytemuck` feature, a
/// `#[repr(C)]` type of your own becomes `Plain` without `unsafe`: derive bytemuck's `Pod`
/// (whose derive checks every field and the absence of padding) and name it in
/// [`plain!`](crate::plain), which implements `Plain` for it after asserting `Pod + Send +
/// Sync`:
///
/// ```
/// # #[cfg(feature = "bytemuck")] {
/// use bytemuck::{Pod, Zeroable};
///
/// #[derive(Clone, Copy, Pod, Zeroable)]
/// #[repr(C)]
/// struct Reading {
///     sensor: u32,
///     flags: u32,
///     value: f64,
/// }
/// synclab::plain!(Reading);
///
/// fn plain<T: synclab::shm::Plain>() {}
/// plain::<Reading>();
/// # }
/// ```
///
/// # Safety
///
/// Implement it only for types with no pointers, references or handles of any kind, no
/// padding bytes, and for which every bit pattern is a valid value (integers, arrays of them,
/// `#[repr(C)]` structs of such fields without padding).
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

macro_rules! plain_integers {
    ($($t:ty),*) => {
        $(
            // SAFETY: a primitive integer: no pointers, no padding, every bit pattern valid.
            unsafe impl Plain for $t {}
        )*
    };
}
plain_integers!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

// SAFETY: an array of plain values has no padding between elements (size is a multiple of the
// alignment) and every bit pattern of each element is valid.
unsafe impl<T: Plain, const N: usize> Plain for [T; N] {}

/// Implements [`Plain`](crate::shm::Plain) for each type named, after asserting that it is
/// `bytemuck::Pod + Send + Sync` — which gives every property `Plain` asks for, and which
/// bytemuck's derive checks field by field — so no `unsafe` is written. Feature `bytemuck`;
/// the calling crate depends on `bytemuck` itself (it derives `Pod`). See
/// [`Plain`](crate::shm::Plain) for an example.
///
/// A type that is `Pod` but not `Send + Sync` (a raw pointer field) is refused:
///
/// ```compile_fail
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Pointer {
///     to: *const u8,
/// }
/// synclab::plain!(Pointer);
/// ```
#[cfg(feature = "bytemuck")]
#[macro_export]
macro_rules! plain {
    ($($t:ty),+ $(,)?) => {$(
        const _: () = {
            fn pod<T: ::bytemuck::Pod + ::core::marker::Send + ::core::marker::Sync>() {}
            // Type-checked, never run: the bound above is the whole point.
            #[allow(dead_code)]
            fn assert() {
                pod::<$t>();
            }
        };
        // SAFETY: `Pod + Send + Sync` (asserted above) promises every property `Plain` asks
        // for: `Copy`, `'static`, no padding, every bit pattern valid, no pointer that could
        // matter (pointers are neither `Send` nor `Sync`).
        unsafe impl $crate::shm::Plain for $t {}
    )+};
}

/// What the creator of a segment chooses for its design (a length, a capacity, an initial
/// value), recorded in the segment's header so that an opener rebuilds the same layout: any
/// [`Plain`] value, or a tuple of them — one per design of a segment that holds several.
pub trait Params: Copy + Send + Sync + 'static {
    /// Appends the value's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>);
    /// The value at the front of `bytes`, and what is left; `None` if `bytes` is too short.
    fn decode(bytes: &[u8]) -> Option<(Self, &[u8])>;
}

impl<P: Plain> Params for P {
    fn encode(&self, out: &mut Vec<u8>) {
        // SAFETY: `Plain` has no padding, so every byte of the value is initialised.
        let bytes = unsafe {
            core::slice::from_raw_parts((self as *const P).cast::<u8>(), core::mem::size_of::<P>())
        };
        out.extend_from_slice(bytes);
    }

    fn decode(bytes: &[u8]) -> Option<(Self, &[u8])> {
        let (value, rest) = bytes.split_at_checked(core::mem::size_of::<P>())?;
        // SAFETY: `Plain`: every bit pattern is a valid value; read unaligned from the bytes.
        Some((unsafe { value.as_ptr().cast::<P>().read_unaligned() }, rest))
    }
}

macro_rules! tuple_params {
    ($($p:ident),+) => {
        #[allow(non_snake_case)] // each value is named after its type
        impl<$($p: Params),+> Params for ($($p,)+) {
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($p,)+) = self;
                $($p.encode(out);)+
            }

            fn decode(bytes: &[u8]) -> Option<(Self, &[u8])> {
                $(let ($p, bytes) = <$p as Params>::decode(bytes)?;)+
                Some((($($p,)+), bytes))
            }
        }
    };
}
tuple_params!(A, B);
tuple_params!(A, B, C);
tuple_params!(A, B, C, D);

/// A word that names the one thread holding a role — a laned array's lane, a duplex ring's end
/// — by its tag ([`Memory::tag`]), or [`owner::FREE`]. The role's handle takes the word
/// ([`owner::take`]) and lets it go when dropped ([`owner::let_go`]); in tracked memory a
/// holder that died is taken over, and a peer may ask whether the holder lives
/// ([`owner::holder_dead`]).
pub(crate) mod owner {
    use super::Memory;
    use crate::sync::atomic::{AtomicU32, Ordering::*};

    /// An owner word with no holder (tags are never 0).
    pub(crate) const FREE: u32 = 0;

    fn ctx(word: &AtomicU32) -> *const () {
        word as *const AtomicU32 as *const ()
    }

    /// Takes `word` for the calling thread and returns its tag, or `None` while a live thread
    /// holds it (this one included). A holder that is gone for good (tracked memory only) is
    /// taken over.
    pub(crate) fn take<M: Memory>(word: &AtomicU32) -> Option<u32> {
        let tag = M::tag(ctx(word));
        // Relaxed: the tag only names whom to ask about; the handover itself is the CAS below.
        let mut seen = word.load(Relaxed);
        loop {
            // `is_dead` orders a dead holder's writes before ours (a real survivor learns of a
            // death from the kernel, after the dead process's stores; the models' kernel gives
            // the same edge).
            let free = seen == FREE || (M::TRACKED && M::is_dead(ctx(word), seen));
            if !free {
                return None;
            }
            // Acquire: pairs with the Release CAS in `let_go`: the previous holder's writes
            // on the role's behalf happen before ours.
            match word.compare_exchange(seen, tag, Acquire, Relaxed) {
                Ok(_) => return Some(tag),
                Err(now) => seen = now,
            }
        }
    }

    /// Lets `word` go, if it still holds `tag` — and, in tracked memory, if `tag` is the
    /// calling thread's: a handle a forked child inherited names its parent's hold, which the
    /// child's drop leaves alone.
    pub(crate) fn let_go<M: Memory>(word: &AtomicU32, tag: u32) {
        if M::TRACKED && M::tag(ctx(word)) != tag {
            return;
        }
        // Release: pairs with the Acquire CAS in `take`: our writes on the role's behalf
        // happen before the next holder's. A CAS, not a store: if we were taken over (only if
        // judged dead, which a live thread is not), the word is not ours to clear.
        let _ = word.compare_exchange(tag, FREE, Release, Relaxed);
    }

    /// Whether the holder named by `word` is gone for good (always `false` untracked, and for
    /// a free word).
    #[cold]
    pub(crate) fn holder_dead<M: Memory>(word: &AtomicU32) -> bool {
        // Relaxed: the tag only names whom to ask; nothing is read on the holder's behalf.
        let tag = word.load(Relaxed);
        M::TRACKED && tag != FREE && M::is_dead(ctx(word), tag)
    }
}

/// The guide `docs/processes.md`, whose every snippet runs as a doc test of this crate (in
/// the repository only: the file is outside the package, and doc tests are not built when
/// the package is).
#[cfg(all(doctest, target_os = "linux"))]
#[doc = include_str!("../../../../docs/processes.md")]
struct ProcessesGuide;
