//! Who is attached to a segment, thread by thread, and whether a thread is still alive.
//!
//! Every thread that takes part in a tracked operation on a segment (locks a mutex in it,
//! claims a slot, pushes or pops) first claims an *entry* of the segment's attach table and
//! writes its identity there: process id, thread id and the thread's start time. Its *tag* —
//! what lock words and claimed slots record — names the entry and the entry's generation:
//!
//! | bits of a tag | meaning |
//! |---|---|
//! | 0..7 | entry index + 1 (1..=[`ENTRIES`]) |
//! | 7..29 | the entry's generation when it was claimed (wrapping, 22 bits) |
//!
//! A survivor that finds a tag in a word that does not move asks [`is_dead`]: the entry no
//! longer holds that tag (its thread detached, or the entry was reclaimed after its thread
//! died), or the entry's thread is gone — `/proc/<pid>/task/<tid>/stat` is missing, shows a
//! zombie, or shows another start time (the thread id was reused). Thread ids are reused
//! (pid_max is 32 768 on the machine this was written on), which is why the start time is kept
//! and compared, and why the tag carries the generation: a reclaimed entry never answers for
//! its previous holder.
//!
//! # Entry states
//!
//! | `tag` word | meaning | left by |
//! |---|---|---|
//! | `0` | free | a claim: CAS → `CLAIMING` |
//! | `CLAIMING` | being claimed; identity being written | the claimer: Release store of the new tag |
//! | a tag | held by the thread whose identity is in the entry | detach: CAS → `0`; a claimer that found the thread dead: CAS → `CLAIMING` |
//!
//! # Orderings
//!
//! The claimer writes the identity (Relaxed) and then publishes the tag with a Release store;
//! [`is_dead`] reads the tag with Acquire (pairs with that store) before it reads the identity,
//! so it never judges a thread by a half-written identity. A tag reaches another process only
//! through a later RMW of a lock word or slot word, so every thread that sees a tag in a word
//! and then looks it up finds it published.

use std::cell::{Cell, RefCell};
use std::fs;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex, Weak};

use super::segment::Mapping;
use super::TAG_MASK;

/// Entries in a segment's attach table: the most threads that may take part in tracked
/// operations on one segment at once.
pub const ENTRIES: usize = 127;
const INDEX_BITS: u32 = 7;
const GENERATION_MASK: u32 = TAG_MASK >> INDEX_BITS;
/// The tag word of an entry being claimed (above [`TAG_MASK`], so never a tag).
const CLAIMING: u32 = u32::MAX;
const FREE: u32 = 0;

/// One entry of the attach table, in the segment.
#[repr(C)]
pub(crate) struct Entry {
    /// `FREE`, `CLAIMING` or the holder's tag; see the module docs.
    tag: AtomicU32,
    /// Bumped by every claim; the tag's high bits.
    generation: AtomicU32,
    pid: AtomicU32,
    tid: AtomicU32,
    /// The thread's start time, in clock ticks since boot (`/proc/.../stat` field 22).
    start: AtomicU64,
    /// The holder's last announced operation (see `Memory::announce`).
    pending: AtomicU64,
}

/// The attach table, in the segment header.
#[repr(C)]
pub(crate) struct AttachTable {
    entries: [Entry; ENTRIES],
    /// Set (never cleared) once some thread took part without an entry (the table was full,
    /// or `/proc` could not tell its identity): its claims are anonymous from then on, so no
    /// claim is ever judged dead by announcement (`claimant_dead` answers `false`).
    overflow: AtomicU32,
}

/// The tag of a thread that could not get an entry: index bits 0, so no entry ever hands it
/// out, and [`AttachTable::is_dead`] never reports it dead — its locks are never taken over
/// (a holder we cannot watch is waited for, never presumed dead).
pub(crate) const UNTRACKED_TAG: u32 = 1 << INDEX_BITS;

/// A thread's identity: process id, thread id and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadId {
    /// Process id.
    pub pid: u32,
    /// Thread id (`gettid`).
    pub tid: u32,
    /// Start time, clock ticks since boot.
    pub start: u64,
}

/// Whether a thread or process is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It exists and is not a zombie.
    Alive,
    /// It exited (or is a zombie, or its id now names another thread).
    Dead,
}

impl ThreadId {
    /// The calling thread.
    pub fn current() -> io::Result<ThreadId> {
        let pid = std::process::id();
        // SAFETY: gettid has no preconditions.
        let tid = unsafe { libc::gettid() } as u32;
        let (_, start) = read_stat(&format!("/proc/{pid}/task/{tid}/stat"))?;
        Ok(ThreadId { pid, tid, start })
    }

    /// Whether this thread is still running.
    pub fn liveness(&self) -> Liveness {
        match read_stat(&format!("/proc/{}/task/{}/stat", self.pid, self.tid)) {
            Ok((state, start)) if start == self.start && state != b'Z' && state != b'X' => {
                Liveness::Alive
            }
            Ok(_) => Liveness::Dead,
            // Missing: exited and reaped. Another error (EACCES under a foreign pid namespace)
            // says nothing, so the thread is taken as alive: never report a live peer dead.
            Err(e) if e.kind() == io::ErrorKind::NotFound => Liveness::Dead,
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Liveness::Dead,
            Err(_) => Liveness::Alive,
        }
    }
}

/// A process's liveness from its pid and start time (`/proc/<pid>/stat`).
pub(crate) fn process_liveness(pid: u32, start: u64) -> Liveness {
    ThreadId {
        pid,
        tid: pid,
        start,
    }
    .liveness()
}

/// The start time of the calling process.
pub(crate) fn process_start() -> io::Result<u64> {
    read_stat(&format!("/proc/{}/stat", std::process::id())).map(|(_, start)| start)
}

/// Reads `(state, starttime)` from a `/proc/.../stat` file.
fn read_stat(path: &str) -> io::Result<(u8, u64)> {
    let text = fs::read(path)?;
    // The command name (field 2) is in parentheses and may itself contain ") "; the fields we
    // want follow the *last* ')'.
    let close = text
        .iter()
        .rposition(|&b| b == b')')
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no ')' in stat"))?;
    let rest = std::str::from_utf8(&text[close + 1..])
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "stat is not UTF-8"))?;
    let mut fields = rest.split_ascii_whitespace();
    let state = fields
        .next()
        .and_then(|s| s.bytes().next())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no state in stat"))?;
    // After the state (field 3) come fields 4..=21; field 22 is the start time.
    let start = fields
        .nth(18)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no starttime in stat"))?;
    Ok((state, start))
}

fn index_of(tag: u32) -> Option<usize> {
    let index = (tag & ((1 << INDEX_BITS) - 1)) as usize;
    (1..=ENTRIES).contains(&index).then(|| index - 1)
}

impl AttachTable {
    /// Claims an entry for `me`: a free one, or one whose thread is dead. Returns the index and
    /// the tag, or `None` if every entry is held by a live thread.
    pub(crate) fn claim(&self, me: ThreadId) -> Option<(usize, u32)> {
        for (index, entry) in self.entries.iter().enumerate() {
            // Acquire: pairs with the Release publication of a tag, so the identity we judge
            // below is the one that tag was published with.
            let seen = entry.tag.load(Acquire);
            let reclaim = match seen {
                FREE => true,
                CLAIMING => false,
                _ => entry.identity().liveness() == Liveness::Dead,
            };
            if !reclaim {
                continue;
            }
            // Relaxed: the CAS only decides who claims; the identity is published below.
            if entry
                .tag
                .compare_exchange(seen, CLAIMING, Relaxed, Relaxed)
                .is_err()
            {
                continue;
            }
            let generation =
                entry.generation.fetch_add(1, Relaxed).wrapping_add(1) & GENERATION_MASK;
            let tag = (generation << INDEX_BITS) | (index as u32 + 1);
            entry.pid.store(me.pid, Relaxed);
            entry.tid.store(me.tid, Relaxed);
            entry.start.store(me.start, Relaxed);
            entry.pending.store(0, Relaxed);
            // Release: publishes the identity with the tag; pairs with the Acquire loads in
            // `claim`, `is_dead` and `claimant_dead`.
            entry.tag.store(tag, Release);
            return Some((index, tag));
        }
        None
    }

    /// Frees entry `index` if it still holds `tag`.
    pub(crate) fn release(&self, index: usize, tag: u32) {
        if let Some(entry) = self.entries.get(index) {
            // Release: our last operations (announcements, lock words) happen before the entry
            // reads as free.
            let _ = entry.tag.compare_exchange(tag, FREE, Release, Relaxed);
        }
    }

    /// Whether the holder of `tag` is gone; see the module docs.
    pub(crate) fn is_dead(&self, tag: u32) -> bool {
        if tag == UNTRACKED_TAG {
            return false;
        }
        let Some(entry) = index_of(tag).and_then(|i| self.entries.get(i)) else {
            return true; // not a tag this table ever handed out: nobody alive holds it
        };
        // Acquire: pairs with the Release store in `claim` (see the module docs).
        if entry.tag.load(Acquire) != tag {
            return true;
        }
        entry.identity().liveness() == Liveness::Dead
    }

    /// Records `op` as the last announcement of the holder of entry `index`.
    #[inline]
    pub(crate) fn announce(&self, index: usize, op: u64) {
        // Relaxed: ordered before the claim that follows by that claim's own Release RMW,
        // which is what `claimant_dead`'s caller has acquired (see `Memory::claimant_dead`).
        self.entries[index].pending.store(op, Relaxed);
    }

    /// Whether no live holder has `op` as its last announcement (`false` once an untracked
    /// thread took part: its claims cannot be told apart).
    pub(crate) fn claimant_dead(&self, op: u64) -> bool {
        // Acquire: pairs with the Release store in `note_overflow`.
        if self.overflow.load(Acquire) != 0 {
            return false;
        }
        self.entries.iter().all(|entry| {
            // Acquire: pairs with the Release publication of the tag (identity below).
            let tag = entry.tag.load(Acquire);
            // An entry being claimed belongs to a new thread whose predecessor was dead.
            tag == FREE
                || tag == CLAIMING
                || entry.pending.load(Relaxed) != op
                || entry.identity().liveness() == Liveness::Dead
        })
    }

    /// Records that a thread takes part without an entry (see `overflow`).
    pub(crate) fn note_overflow(&self) {
        // Release: ordered before that thread's first claim, which a `claimant_dead` caller
        // acquires.
        self.overflow.store(1, Release);
    }

    /// How many entries are held by live threads, and how many by dead ones.
    pub(crate) fn census(&self) -> (usize, usize) {
        let (mut alive, mut dead) = (0, 0);
        for entry in &self.entries {
            let tag = entry.tag.load(Acquire);
            if tag == FREE || tag == CLAIMING {
                continue;
            }
            match entry.identity().liveness() {
                Liveness::Alive => alive += 1,
                Liveness::Dead => dead += 1,
            }
        }
        (alive, dead)
    }
}

impl Entry {
    fn identity(&self) -> ThreadId {
        ThreadId {
            pid: self.pid.load(Relaxed),
            tid: self.tid.load(Relaxed),
            start: self.start.load(Relaxed),
        }
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
        for held in self.held.get_mut().drain(..) {
            if let Some(mapping) = held.mapping.upgrade() {
                mapping.table().release(held.index, held.tag);
            }
        }
    }
}

thread_local! {
    static ATTACHMENTS: Attachments = const { Attachments { held: RefCell::new(Vec::new()) } };
    /// The entry [`mine`] found last, checked before `ATTACHMENTS`. A `Copy` value with a
    /// `const` initialiser and no `Drop`, so reaching it is one thread-pointer-relative load
    /// with no lazy-registration check; `ATTACHMENTS` (which frees the entries when the thread
    /// exits, so has a `Drop`) costs an indirect call and a `RefCell` borrow, about 6 ns per
    /// publish, measured. Trusted on the same terms as a `Held` entry: same range, same epoch.
    static LAST: Cell<Option<Last>> = const { Cell::new(None) };
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

/// Bumped whenever a mapping of this process goes away: a thread's cached entry for an
/// address range is trusted without upgrading its `Weak` only while this has not moved.
static UNMAPS: AtomicU64 = AtomicU64::new(0);

pub(crate) fn register(mapping: &Arc<Mapping>) {
    let mut all = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
    all.retain(|m| m.strong_count() > 0);
    all.push(Arc::downgrade(mapping));
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
    let all = MAPPINGS.lock().unwrap_or_else(|e| e.into_inner());
    all.iter()
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

/// The calling thread's entry in the mapping that holds `addr`, claiming one on first use.
/// `None` if `addr` is in no segment of this process, or the table has no free entry.
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
    held.retain(|h| h.mapping.strong_count() > 0);
    if let Some(h) = held.iter_mut().find(|h| (h.base..h.end).contains(&addr)) {
        // The cache went stale because *some* mapping went away; this one is still here.
        h.epoch = epoch;
        return Some((h.base, h.end, h.mine()));
    }
    let mapping = mapping_of(addr)?;
    let claimed = ThreadId::current()
        .ok()
        .and_then(|me| mapping.table().claim(me));
    let Some((index, tag)) = claimed else {
        mapping.table().note_overflow();
        return None;
    };
    mapping.note_claim(index, tag);
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
    });
    Some((base, end, Mine { table, index, tag }))
}
