//! Surviving a peer that shrinks a segment's object: a SIGBUS handler that gives the pages
//! back.
//!
//! A shared mapping of a file that someone truncates (`ftruncate`, `File::set_len(0)`) faults
//! with SIGBUS (`BUS_ADRERR`) on the next touch of a page past the new end — in the middle of
//! a lock, a push, anything. A named POSIX shm object cannot be sealed against shrinking
//! (seals are for memfds), and any process that may write the segment may truncate it. So the
//! segment layer catches the fault instead: every mapping is registered here, and a SIGBUS at
//! an address inside one is repaired by growing the object back to the mapped length and
//! reserving the faulting page's block. The touch then succeeds and reads zeros — the same
//! pages every peer now sees, as if a faulty peer had written zeros over the segment, which
//! the designs already survive (wrong values or typed errors, never undefined behaviour). If
//! the object cannot be grown or the block cannot be had (a full tmpfs), the faulting page is
//! replaced in this process only by a private zero page: the process lives on, detached from
//! its peers for that page.
//!
//! A SIGBUS anywhere else goes to the handler that was installed before ours (Rust's own
//! stack-overflow handler, usually), or to the default action, which ends the process as it
//! would have. Everything the handler calls is async-signal-safe (`fstat`, `ftruncate`,
//! `fallocate`, `mmap`, `sigaction`) and it takes no lock: the registry is a fixed table of
//! atomics with a sequence number per entry.

use std::sync::atomic::{AtomicI32, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Once, OnceLock};

/// Mappings one process can have registered at once; beyond it a mapping is not protected
/// (a truncation then faults as without this module).
const SLOTS: usize = 256;

/// One registered mapping. `seq` is odd while the entry is being written.
struct Slot {
    seq: AtomicU64,
    base: AtomicUsize,
    len: AtomicUsize,
    fd: AtomicI32,
}

#[allow(clippy::declare_interior_mutable_const)] // an initialiser for the static array only
const FREE_SLOT: Slot = Slot {
    seq: AtomicU64::new(0),
    base: AtomicUsize::new(0),
    len: AtomicUsize::new(0),
    fd: AtomicI32::new(-1),
};

static TABLE: [Slot; SLOTS] = [FREE_SLOT; SLOTS];
static INSTALL: Once = Once::new();
/// The SIGBUS action that was in place before ours.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// Registers the mapping `base..base + len` of descriptor `fd`; returns its slot, or `None`
/// if the table is full. `fd` must stay open until [`unregister`].
pub(crate) fn register(base: usize, len: usize, fd: libc::c_int) -> Option<usize> {
    install();
    for (i, slot) in TABLE.iter().enumerate() {
        let seq = slot.seq.load(Relaxed);
        if seq % 2 != 0 || slot.len.load(Relaxed) != 0 {
            continue;
        }
        // Acquire/Release: the entry's fields are written between two bumps of `seq`.
        if slot
            .seq
            .compare_exchange(seq, seq + 1, Acquire, Relaxed)
            .is_err()
        {
            continue;
        }
        slot.base.store(base, Relaxed);
        slot.fd.store(fd, Relaxed);
        slot.len.store(len, Relaxed);
        // Release: pairs with the Acquire load of `seq` in `repair`: a reader that sees the
        // even number sees the fields written before it.
        slot.seq.store(seq + 2, Release);
        return Some(i);
    }
    None
}

/// Unregisters slot `i` (before the mapping is unmapped and its descriptor closed).
pub(crate) fn unregister(i: usize) {
    let slot = &TABLE[i];
    // Relaxed: only the registering mapping writes its slot.
    let seq = slot.seq.load(Relaxed);
    slot.seq.store(seq + 1, Relaxed);
    // Release: the handler reads the fields between two loads of `seq`; a fault inside this
    // mapping cannot happen any more (nothing refers into it once it drops).
    slot.len.store(0, Release);
    slot.fd.store(-1, Relaxed);
    slot.base.store(0, Relaxed);
    slot.seq.store(seq + 2, Release);
}

fn install() {
    INSTALL.call_once(|| {
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page > 0 {
            PAGE.store(page as usize, Relaxed);
        }
        // SAFETY: all-zero is a valid `sigaction` to read the old action into and to fill.
        let mut old: libc::sigaction = unsafe { core::mem::zeroed() };
        // SAFETY: reads the current action only.
        if unsafe { libc::sigaction(libc::SIGBUS, core::ptr::null(), &mut old) } != 0 {
            return;
        }
        let _ = PREVIOUS.set(old);
        // SAFETY: as above.
        let mut new: libc::sigaction = unsafe { core::mem::zeroed() };
        let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            on_sigbus;
        new.sa_sigaction = handler as usize;
        new.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
        // SAFETY: the mask is a valid sigset_t to empty.
        unsafe { libc::sigemptyset(&mut new.sa_mask) };
        // SAFETY: installs a handler that only calls async-signal-safe functions.
        unsafe { libc::sigaction(libc::SIGBUS, &new, core::ptr::null_mut()) };
    });
}

extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for a SA_SIGINFO handler.
    let (code, addr) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if code == libc::BUS_ADRERR && repair(addr) {
        return; // the faulting access runs again, on a page that now exists
    }
    chain(sig, info, ctx);
}

/// Gives back the page at `addr` if it lies in a registered mapping; `false` if it does not.
fn repair(addr: usize) -> bool {
    let page = PAGE.load(Relaxed);
    for slot in &TABLE {
        // Acquire: pairs with the Release store of `seq` in `register`.
        let seq = slot.seq.load(Acquire);
        if seq % 2 != 0 {
            continue;
        }
        let (base, len, fd) = (
            slot.base.load(Relaxed),
            slot.len.load(Relaxed),
            slot.fd.load(Relaxed),
        );
        if slot.seq.load(Acquire) != seq || len == 0 || !(base..base + len).contains(&addr) {
            continue;
        }
        let page_start = addr & !(page - 1);
        let offset = (page_start - base) as libc::off_t;
        if !(grow_back(fd, len) && reserve(fd, offset, page)) {
            // SAFETY: replaces one page of our own mapping (inside `base..base + len`, which
            // the faulting access proves is mapped) by a private zero page; nothing else of
            // the process lives there.
            let p = unsafe {
                libc::mmap(
                    page_start as *mut libc::c_void,
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_FIXED | libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return false;
            }
        }
        return true;
    }
    false
}

/// Grows the object of `fd` back to `len` bytes if it is shorter (never shrinks it).
fn grow_back(fd: libc::c_int, len: usize) -> bool {
    // SAFETY: all-zero is a valid `stat` for fstat to fill; fstat is async-signal-safe.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return false;
    }
    if st.st_size as u64 >= len as u64 {
        return true;
    }
    // SAFETY: ftruncate is async-signal-safe; it only grows the object here.
    unsafe { libc::ftruncate(fd, len as libc::off_t) == 0 }
}

/// Reserves the block of the page at `offset` (a hole after a truncation and a regrowth).
fn reserve(fd: libc::c_int, offset: libc::off_t, page: usize) -> bool {
    // SAFETY: fallocate is a plain system call; mode 0 only allocates.
    let r = unsafe { libc::fallocate(fd, 0, offset, page as libc::off_t) };
    // SAFETY: reading errno right after the call.
    r == 0 || unsafe { *libc::__errno_location() } == libc::EOPNOTSUPP
}

/// Hands a SIGBUS that is not ours to the action installed before ours.
fn chain(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let previous = PREVIOUS.get().map(|a| (a.sa_sigaction, a.sa_flags));
    match previous {
        Some((handler, flags)) if handler != libc::SIG_DFL && handler != libc::SIG_IGN => {
            if flags & libc::SA_SIGINFO != 0 {
                // SAFETY: the previous handler was installed with SA_SIGINFO, so it has this
                // signature.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { core::mem::transmute(handler) };
                f(sig, info, ctx);
            } else {
                // SAFETY: a handler installed without SA_SIGINFO has this signature.
                let f: extern "C" fn(libc::c_int) = unsafe { core::mem::transmute(handler) };
                f(sig);
            }
        }
        _ => {
            // The default action: restore it and return; the access faults again and the
            // process ends with SIGBUS, as it would have without us.
            // SAFETY: all-zero with SIG_DFL is a valid action; sigaction is async-signal-safe.
            let mut dfl: libc::sigaction = unsafe { core::mem::zeroed() };
            dfl.sa_sigaction = libc::SIG_DFL;
            // SAFETY: as above.
            unsafe { libc::sigaction(libc::SIGBUS, &dfl, core::ptr::null_mut()) };
        }
    }
}
