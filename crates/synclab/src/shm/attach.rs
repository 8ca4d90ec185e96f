//! Who is attached to a segment, thread by thread, and whether a thread is still alive.
//!
//! Every thread that takes part in a tracked operation on a segment (locks a mutex in it,
//! claims a slot, pushes or pops) first claims an *entry* of the segment's attach table. Its
//! *tag* — what lock words and claimed slots record — names the entry and the entry's
//! generation:
//!
//! | bits of a tag | meaning |
//! |---|---|
//! | 0..7 | entry index + 1 (1..=[`ENTRIES`]) |
//! | 7..29 | the entry's generation when it was claimed (wrapping, 22 bits) |
//!
//! A thread holding entry `i` has its process hold a write lock on byte `1 + i` of the
//! segment's object (byte 0 is the creator's); the `shm` module docs say why a lock and not
//! `/proc`, and how a forked child becomes a peer of its own (the atfork handlers below).
//!
//! # Entry states
//!
//! | `tag` word | meaning | left by |
//! |---|---|---|
//! | `0` | free | a claim: CAS → `CLAIMING` |
//! | `CLAIMING` | being claimed; its byte being locked | the claimer: Release store of the new tag |
//! | a tag | held by the thread that claimed it | release: unlock the byte, CAS → `0`; a claimer that found the byte unlocked: CAS → `CLAIMING` |
//!
//! # Orderings
//!
//! The claimer locks the entry's byte, then publishes the tag with a Release store; a tag
//! reaches another thread only through a later RMW of a lock word or slot word, so every
//! thread that sees a tag in a word and looks it up finds it published, with its byte locked
//! before.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, MutexGuard, Once, Weak};

use super::mapping::Mapping;
use super::sys;
use super::TAG_MASK;

/// Entries in a segment's attach table: the most threads that may take part in tracked
/// operations on one segment at once.
pub(crate) const ENTRIES: usize = 127;
const INDEX_BITS: u32 = 7;
const GENERATION_MASK: u32 = TAG_MASK >> INDEX_BITS;
/// The tag word of an entry being claimed (above [`TAG_MASK`], so never a tag).
const CLAIMING: u32 = u32::MAX;
const FREE: u32 = 0;

/// The byte of the object whose lock says that the creator still maps it.
pub(crate) const CREATOR_BYTE: u64 = 0;

/// The byte of the object whose lock says that entry `index`'s thread lives.
fn entry_byte(index: usize) -> u64 {
    1 + index as u64
}

/// One entry of the attach table, in the segment.
#[repr(C)]
pub(crate) struct Entry {
    /// `FREE`, `CLAIMING` or the holder's tag; see the module docs.
    tag: AtomicU32,
    /// Bumped by every claim; the tag's high bits.
    generation: AtomicU32,
    /// The holder's process and thread id in its own PID namespace: for diagnostics only
    /// (liveness is the entry's byte lock).
    pid: AtomicU32,
    tid: AtomicU32,
    /// The holder's last announced operation (see `Memory::announce`).
    pending: AtomicU64,
}

/// The attach table, in the segment header.
#[repr(C)]
pub(crate) struct AttachTable {
    entries: [Entry; ENTRIES],
    /// Set (never cleared) once some thread took part without an entry (the table was full,
    /// or it could not lock its entry's byte): its claims are anonymous from then on, so no
    /// claim is ever judged dead by announcement (`claimant_dead` answers `false`).
    overflow: AtomicU32,
}

/// The entry index of a thread that could not get one.
const NO_ENTRY: usize = usize::MAX;

/// The tag of a thread that could not get an entry: index bits 0, so no entry ever hands it
/// out, and [`Mapping::is_dead`] never reports it dead once the table has recorded an
/// overflow — its locks are never taken over (a holder we cannot watch is waited for, never
/// presumed dead). In a table that never overflowed, the tag can only be a faulty peer's
/// garbage, and reads dead.
pub(crate) const UNTRACKED_TAG: u32 = 1 << INDEX_BITS;

fn index_of(tag: u32) -> Option<usize> {
    let index = (tag & ((1 << INDEX_BITS) - 1)) as usize;
    (1..=ENTRIES).contains(&index).then(|| index - 1)
}

/// Whether the byte `byte` is locked, asked through `query` (a description that holds no
/// byte lock). An answer the kernel would not give counts as alive: never report a live peer
/// dead.
fn held(query: libc::c_int, byte: u64) -> bool {
    sys::byte_locked(query, byte) != Some(false)
}

impl AttachTable {
    /// Claims an entry for the calling thread: a free one, or one whose holder is gone. Its
    /// byte is locked through `locks`; dead holders are told by asking through `query`.
    /// Returns the index and the tag, or `None` if every entry is held by a live thread.
    pub(crate) fn claim(&self, locks: libc::c_int, query: libc::c_int) -> Option<(usize, u32)> {
        for (index, entry) in self.entries.iter().enumerate() {
            // Acquire: pairs with the Release publication of a tag (its byte locked before).
            let seen = entry.tag.load(Acquire);
            let reclaim = match seen {
                FREE => true,
                CLAIMING => false,
                _ => !held(query, entry_byte(index)),
            };
            if !reclaim {
                continue;
            }
            // Relaxed: the CAS only decides who claims; the tag is published below.
            if entry
                .tag
                .compare_exchange(seen, CLAIMING, Relaxed, Relaxed)
                .is_err()
            {
                continue;
            }
            if !matches!(sys::lock_byte(locks, entry_byte(index)), Ok(true)) {
                // Someone's description still holds the byte: not ours to take.
                let _ = entry.tag.compare_exchange(CLAIMING, seen, Relaxed, Relaxed);
                continue;
            }
            let generation =
                entry.generation.fetch_add(1, Relaxed).wrapping_add(1) & GENERATION_MASK;
            let tag = (generation << INDEX_BITS) | (index as u32 + 1);
            entry.pid.store(std::process::id(), Relaxed);
            entry.tid.store(sys::tid(), Relaxed);
            entry.pending.store(0, Relaxed);
            // Release: publishes the claim (byte locked, fields written) with the tag; pairs
            // with the Acquire loads in `claim`, `is_dead` and `claimant_dead`.
            entry.tag.store(tag, Release);
            return Some((index, tag));
        }
        None
    }

    /// Frees entry `index` if it still holds `tag`, unlocking its byte through `locks`.
    pub(crate) fn release(&self, index: usize, tag: u32, locks: libc::c_int) {
        if let Some(entry) = self.entries.get(index) {
            // Relaxed: only a check that the entry is still ours before its byte goes.
            if entry.tag.load(Relaxed) != tag {
                return;
            }
            sys::unlock_byte(locks, entry_byte(index));
            // Release: our last operations (announcements, lock words) happen before the entry
            // reads as free.
            let _ = entry.tag.compare_exchange(tag, FREE, Release, Relaxed);
        }
    }

    /// Whether the holder of `tag` is gone; see the module docs.
    pub(crate) fn is_dead(&self, tag: u32, query: libc::c_int) -> bool {
        if tag == UNTRACKED_TAG {
            // Only a thread that recorded the overflow hands out the untracked tag; a word
            // that names it in a table without one was written by a faulty peer. Acquire
            // fence: pairs with the Release fence after `note_overflow` in `claim_slow`,
            // through our earlier read of the word that carried the tag.
            std::sync::atomic::fence(Acquire);
            return self.overflow.load(Relaxed) == 0;
        }
        let Some((index, entry)) = index_of(tag).and_then(|i| Some((i, self.entries.get(i)?)))
        else {
            return true; // not a tag this table ever handed out: nobody alive holds it
        };
        // Acquire: pairs with the Release store in `claim` (see the module docs).
        if entry.tag.load(Acquire) != tag {
            return true;
        }
        !held(query, entry_byte(index))
    }

    /// Records `op` as the last announcement of the holder of entry `index`.
    #[inline]
    pub(crate) fn announce(&self, index: usize, op: u64) {
        if let Some(entry) = self.entries.get(index) {
            // Relaxed: ordered before the claim that follows by that claim's own Release RMW,
            // which is what `claimant_dead`'s caller has acquired (see
            // `Memory::claimant_dead`).
            entry.pending.store(op, Relaxed);
        }
    }

    /// Whether no live holder has `op` as its last announcement (`false` once an untracked
    /// thread took part: its claims cannot be told apart).
    pub(crate) fn claimant_dead(&self, op: u64, query: libc::c_int) -> bool {
        // Acquire: pairs with the Release store in `note_overflow`.
        if self.overflow.load(Acquire) != 0 {
            return false;
        }
        self.entries.iter().enumerate().all(|(index, entry)| {
            // Acquire: pairs with the Release publication of the tag.
            let tag = entry.tag.load(Acquire);
            // An entry being claimed belongs to a new thread whose predecessor was dead.
            tag == FREE
                || tag == CLAIMING
                || entry.pending.load(Relaxed) != op
                || !held(query, entry_byte(index))
        })
    }

    /// Records that a thread takes part without an entry (see `overflow`).
    pub(crate) fn note_overflow(&self) {
        // Release: ordered before that thread's first claim, which a `claimant_dead` caller
        // acquires.
        self.overflow.store(1, Release);
    }

    /// How many entries are held by live threads, and how many by dead ones (a test probe).
    #[cfg(feature = "fault-injection")]
    pub(crate) fn census(&self, query: libc::c_int) -> (usize, usize) {
        let (mut alive, mut dead) = (0, 0);
        for (index, entry) in self.entries.iter().enumerate() {
            // Acquire: pairs with the Release publication of the tag.
            let tag = entry.tag.load(Acquire);
            if tag == FREE || tag == CLAIMING {
                continue;
            }
            if held(query, entry_byte(index)) {
                alive += 1;
            } else {
                dead += 1;
            }
        }
        (alive, dead)
    }
}

/// What a thread holds in one mapping: its entry and tag there.
struct Held {
    mapping: Weak<Mapping>,
    table: *const AttachTable,
    base: usize,
    end: usize,
    index: usize,
    tag: u32,
    /// [`UNMAPS`] when this entry was last known to name a live mapping.
    epoch: u64,
    /// [`FORKS`] when it was claimed: an entry claimed before a fork is the parent's.
    forks: u64,
}

/// The calling thread's entries, one per mapping it has used; freed when the thread exits.
struct Attachments {
    held: RefCell<Vec<Held>>,
}

impl Drop for Attachments {
    fn drop(&mut self) {
        // The entries are released below: a later lookup on this thread (from another
        // thread-local's destructor) must not find one in the cache.
        LAST.set(None);
        let forks = FORKS.load(Relaxed);
        for held in self.held.get_mut().drain(..) {
            // An entry inherited through a fork is the parent's: never released here.
            if held.forks != forks {
                continue;
            }
            if let Some(mapping) = held.mapping.upgrade().filter(|_| held.index != NO_ENTRY) {
                mapping.release(held.index, held.tag);
            }
        }
    }
}

thread_local! {
    static ATTACHMENTS: Attachments = const { Attachments { held: RefCell::new(Vec::new()) } };
    /// The entry [`mine`] found last, checked before `ATTACHMENTS`. A `Copy` value with a
    /// `const` initialiser and no `Drop`, so reaching it is one thread-pointer-relative load
    /// with no lazy-registration check; `ATTACHMENTS` (which frees the entries when the thread
    /// exits, so has a `Drop`) costs an indirect call and a `RefCell` borrow. Trusted on the
    /// same terms as a `Held` entry: same range, same epoch.
    static LAST: Cell<Option<Last>> = const { Cell::new(None) };
    /// `MAPPINGS`, held by this thread from the atfork `prepare` handler to the `parent` or
    /// `child` handler.
    static FORK_GUARD: Cell<Option<MutexGuard<'static, Vec<Weak<Mapping>>>>> =
        const { Cell::new(None) };
}

/// The copy of one `Held` entry kept in `LAST`.
#[derive(Clone, Copy)]
struct Last {
    base: usize,
    end: usize,
    epoch: u64,
    mine: Mine,
}

/// The mappings of this process, so that a word's address finds its segment's table.
static MAPPINGS: Mutex<Vec<Weak<Mapping>>> = Mutex::new(Vec::new());

/// Bumped whenever a mapping of this process goes away, and in a forked child: a thread's
/// cached entry for an address range is trusted without upgrading its `Weak` only while this
/// has not moved.
static UNMAPS: AtomicU64 = AtomicU64::new(0);

/// Bumped in a forked child: entries claimed before are the parent's.
static FORKS: AtomicU64 = AtomicU64::new(0);

static ATFORK: Once = Once::new();

fn mappings() -> MutexGuard<'static, Vec<Weak<Mapping>>> {
    MAPPINGS.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn register(mapping: &Arc<Mapping>) {
    ATFORK.call_once(|| {
        // SAFETY: the handlers are `extern "C"` functions with no arguments that live for
        // the whole program; registering cannot fail in a way that breaks anything (then
        // forks are simply not handled, as documented).
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_parent),
                Some(after_fork_child),
            )
        };
    });
    let mut all = mappings();
    all.retain(|m| m.strong_count() > 0);
    all.push(Arc::downgrade(mapping));
}

/// atfork `prepare`: no other thread may hold `MAPPINGS` while the process is copied (it would
/// stay locked for ever in the child).
extern "C" fn before_fork() {
    FORK_GUARD.set(Some(mappings()));
}

/// atfork `parent`: let `MAPPINGS` go.
extern "C" fn after_fork_parent() {
    drop(FORK_GUARD.take());
}

/// atfork `child`: this process is a new peer (see "Fork" in the module docs).
extern "C" fn after_fork_child() {
    // Relaxed: the child has one thread, this one.
    FORKS.fetch_add(1, Relaxed);
    UNMAPS.fetch_add(1, Relaxed);
    LAST.set(None);
    if let Some(all) = FORK_GUARD.take() {
        for mapping in all.iter().filter_map(Weak::upgrade) {
            mapping.forget_inherited();
        }
    }
}

/// Called by a mapping's `Drop` before it unmaps.
pub(crate) fn unregister() {
    // Relaxed: a thread that still uses an address of this mapping has a reference into it,
    // which it cannot have once the mapping is dropped; the bump only invalidates caches of
    // threads that will look up *another* mapping at the same address later, and they do so
    // after a synchronizing event (creating that mapping) that orders this bump before them.
    UNMAPS.fetch_add(1, Relaxed);
}

/// The mapping holding `addr`, if any.
pub(crate) fn mapping_of(addr: usize) -> Option<Arc<Mapping>> {
    mappings()
        .iter()
        .filter_map(Weak::upgrade)
        .find(|m| m.contains(addr))
}

/// A thread's entry in one segment's attach table.
#[derive(Clone, Copy)]
pub(crate) struct Mine {
    table: *const AttachTable,
    index: usize,
    /// The thread's tag there.
    pub(crate) tag: u32,
}

impl Mine {
    /// Records `op` as this thread's last announcement.
    #[inline]
    pub(crate) fn announce(&self, op: u64) {
        // SAFETY: the table lives in a mapping that the caller reaches through a reference
        // into it (the `addr` it looked us up by), so the mapping is alive.
        unsafe { (*self.table).announce(self.index, op) }
    }
}

/// The calling thread's entry in the mapping that holds `addr`, claiming one on first use
/// (or the untracked tag, for good, if the table has no free entry). `None` if `addr` is in
/// no segment of this process.
#[inline]
pub(crate) fn mine(addr: usize) -> Option<Mine> {
    let epoch = UNMAPS.load(Relaxed);
    if let Some(last) = LAST.get() {
        if (last.base..last.end).contains(&addr) && last.epoch == epoch {
            return Some(last.mine);
        }
    }
    mine_held(addr, epoch)
}

/// [`mine`] past the one-entry cache: the thread's entries, or a new claim.
#[cold]
#[inline(never)]
fn mine_held(addr: usize, epoch: u64) -> Option<Mine> {
    let found = ATTACHMENTS.with(|a| {
        {
            let held = a.held.borrow();
            for h in held.iter() {
                if (h.base..h.end).contains(&addr) && h.epoch == epoch {
                    return Some((h.base, h.end, h.mine()));
                }
            }
        }
        claim_slow(a, addr, epoch)
    });
    found.map(|(base, end, mine)| {
        LAST.set(Some(Last {
            base,
            end,
            epoch,
            mine,
        }));
        mine
    })
}

impl Held {
    fn mine(&self) -> Mine {
        Mine {
            table: self.table,
            index: self.index,
            tag: self.tag,
        }
    }
}

#[cold]
fn claim_slow(a: &Attachments, addr: usize, epoch: u64) -> Option<(usize, usize, Mine)> {
    let mut held = a.held.borrow_mut();
    let forks = FORKS.load(Relaxed);
    // Entries inherited through a fork are the parent's: forgotten, never released.
    held.retain(|h| h.forks == forks && h.mapping.strong_count() > 0);
    if let Some(h) = held.iter_mut().find(|h| (h.base..h.end).contains(&addr)) {
        // The cache went stale because *some* mapping went away; this one is still here.
        h.epoch = epoch;
        return Some((h.base, h.end, h.mine()));
    }
    let mapping = mapping_of(addr)?;
    // A thread that gets no entry is untracked in this mapping for the rest of its life: its
    // tag must not change while it holds a lock.
    let (index, tag) = mapping.claim().unwrap_or_else(|| {
        mapping.table().note_overflow();
        // Release fence: the overflow mark happens before whatever word this thread writes
        // its tag into next, for any reader of that word that fences (see `is_dead`).
        std::sync::atomic::fence(Release);
        (NO_ENTRY, UNTRACKED_TAG)
    });
    let table: *const AttachTable = mapping.table();
    let (base, end) = (mapping.base(), mapping.base() + mapping.len());
    held.push(Held {
        mapping: Arc::downgrade(&mapping),
        table,
        base,
        end,
        index,
        tag,
        epoch,
        forks,
    });
    Some((base, end, Mine { table, index, tag }))
}
