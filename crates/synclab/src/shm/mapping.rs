//! One mapping of a segment in this process: the address range, the descriptors, and the
//! attach entries claimed through it.

use std::io;
use std::sync::atomic::{AtomicI32, AtomicU32, Ordering::*};

use super::attach::{self, AttachTable, ENTRIES};
use super::segment::{Header, DATA_OFFSET};
use super::sigbus;
use super::sys::{self, Fd};

/// One mapping of a segment in this process.
pub(crate) struct Mapping {
    base: *mut u8,
    len: usize,
    /// The descriptor the mapping was made from. It holds the segment's shared `flock` and
    /// asks the kernel about byte-range locks: it never holds one itself, so it sees every
    /// process's (see `attach.rs`). -1 for a probe.
    fd: libc::c_int,
    /// A second open file description of the object, holding this process's byte-range
    /// locks: the creator's byte and one byte per attach entry claimed through this mapping.
    /// -1 when there is none: a probe, or a forked child before its first claim.
    locks: AtomicI32,
    /// The tag of each attach entry claimed through this mapping (0: none), released on drop.
    claims: [AtomicU32; ENTRIES],
    /// The process that made `claims`: a forked child releases none of its parent's.
    claims_pid: AtomicU32,
    /// The mapping's entry in the SIGBUS table, if it got one.
    sigbus: Option<usize>,
}

// SAFETY: the mapping is plain memory shared with other processes; every access to it goes
// through atomics or through the designs' own synchronization, so it may be used from any
// thread. The descriptors are plain integers owned by the mapping.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps the first `len` bytes of the object of `fd` (at least [`DATA_OFFSET`]); the
    /// mapping owns `fd` and `locks` from here on.
    pub(crate) fn new(fd: Fd, locks: Option<Fd>, len: usize) -> io::Result<Mapping> {
        debug_assert!(len >= DATA_OFFSET);
        let base = sys::map(fd.0, len)?;
        let fd = fd.take();
        Ok(Mapping {
            base,
            len,
            fd,
            locks: AtomicI32::new(locks.map_or(-1, Fd::take)),
            claims: [const { AtomicU32::new(0) }; ENTRIES],
            claims_pid: AtomicU32::new(std::process::id()),
            sigbus: sigbus::register(base as usize, len, fd),
        })
    }

    /// Maps the header of the object of `fd` to read it; does not own `fd`, which must stay
    /// open while the probe lives.
    pub(crate) fn probe(fd: libc::c_int) -> io::Result<Mapping> {
        let base = sys::map(fd, DATA_OFFSET)?;
        Ok(Mapping {
            base,
            len: DATA_OFFSET,
            fd: -1,
            locks: AtomicI32::new(-1),
            claims: [const { AtomicU32::new(0) }; ENTRIES],
            claims_pid: AtomicU32::new(0),
            sigbus: sigbus::register(base as usize, DATA_OFFSET, fd),
        })
    }

    pub(crate) fn base(&self) -> usize {
        self.base as usize
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn contains(&self, addr: usize) -> bool {
        (self.base()..self.base() + self.len).contains(&addr)
    }

    pub(crate) fn header(&self) -> &Header {
        // SAFETY: every mapping is at least DATA_OFFSET bytes, the base is page-aligned, and
        // Header is made of atomics, valid for any bytes.
        unsafe { &*(self.base as *const Header) }
    }

    pub(crate) fn table(&self) -> &AttachTable {
        &self.header().table
    }

    /// The data area, from [`DATA_OFFSET`] to the end.
    pub(crate) fn data(&self) -> (*mut u8, usize) {
        // SAFETY: DATA_OFFSET <= len (every mapping is at least that long).
        (
            unsafe { self.base.add(DATA_OFFSET) },
            self.len - DATA_OFFSET,
        )
    }

    /// The description holding this process's byte locks, opened for a forked child on its
    /// first use; `None` if none can be had (then this process's threads are untracked).
    fn lock_fd(&self) -> Option<libc::c_int> {
        // Acquire: pairs with the Release CAS below (another thread of a child opened it).
        let fd = self.locks.load(Acquire);
        if fd >= 0 {
            return Some(fd);
        }
        if self.fd < 0 {
            return None;
        }
        let new = sys::reopen(self.fd).ok()?;
        // Release: publishes the new descriptor to the other threads of this process.
        match self.locks.compare_exchange(-1, new.0, AcqRel, Acquire) {
            Ok(_) => Some(new.take()),
            Err(theirs) => Some(theirs), // ours closes on drop
        }
    }

    /// Takes the creator's byte: the segment reads "creator alive" while this mapping lives.
    pub(crate) fn hold_creator_byte(&self) {
        if let Some(fd) = self.lock_fd() {
            let _ = sys::lock_byte(fd, attach::CREATOR_BYTE);
        }
    }

    /// Claims an attach entry for the calling thread (see `attach.rs`).
    pub(crate) fn claim(&self) -> Option<(usize, u32)> {
        let locks = self.lock_fd()?;
        let pid = std::process::id();
        // Relaxed: only this process's threads touch its records.
        if self.claims_pid.swap(pid, Relaxed) != pid {
            for claim in &self.claims {
                claim.store(0, Relaxed);
            }
        }
        let (index, tag) = self.table().claim(locks, self.fd)?;
        self.claims[index].store(tag, Relaxed);
        Some((index, tag))
    }

    /// Lets entry `index` go if it still holds `tag`.
    pub(crate) fn release(&self, index: usize, tag: u32) {
        // Relaxed: a record of this process's own claims.
        if self.claims[index]
            .compare_exchange(tag, 0, Relaxed, Relaxed)
            .is_ok()
        {
            let locks = self.locks.load(Acquire);
            if locks >= 0 {
                self.table().release(index, tag, locks);
            }
        }
    }

    /// Whether the holder of `tag` is gone (see `attach.rs`).
    pub(crate) fn is_dead(&self, tag: u32) -> bool {
        self.table().is_dead(tag, self.fd)
    }

    /// Whether no live holder has `op` as its last announcement.
    pub(crate) fn claimant_dead(&self, op: u64) -> bool {
        self.table().claimant_dead(op, self.fd)
    }

    /// How many entries are held by live threads, and how many by dead ones.
    #[cfg(feature = "fault-injection")]
    pub(crate) fn census(&self) -> (usize, usize) {
        self.table().census(self.fd)
    }

    /// In a forked child: forgets the parent's claims (they are the parent's to release) and
    /// closes the child's copy of the parent's lock description (so the parent's locks go
    /// when the parent does). Async-signal-safe: atomics and `close`.
    pub(crate) fn forget_inherited(&self) {
        for claim in &self.claims {
            claim.store(0, Relaxed);
        }
        // SAFETY: getpid has no preconditions.
        self.claims_pid
            .store(unsafe { libc::getpid() } as u32, Relaxed);
        let inherited = self.locks.swap(-1, AcqRel);
        if inherited >= 0 {
            // SAFETY: our copy of the descriptor; the parent keeps its own.
            unsafe { libc::close(inherited) };
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        if let Some(slot) = self.sigbus {
            sigbus::unregister(slot);
        }
        let locks = *self.locks.get_mut();
        if *self.claims_pid.get_mut() == std::process::id() && locks >= 0 {
            for index in 0..ENTRIES {
                let tag = core::mem::take(self.claims[index].get_mut());
                if tag != 0 {
                    self.table().release(index, tag, locks);
                }
            }
        }
        if self.fd >= 0 {
            attach::unregister();
        }
        // SAFETY: base/len are the values mmap returned; nothing refers into the mapping any
        // more (every region holds an Arc of it). The descriptors are ours (-1: none).
        unsafe {
            libc::munmap(self.base.cast(), self.len);
            if locks >= 0 {
                libc::close(locks); // drops this process's byte locks
            }
            if self.fd >= 0 {
                libc::close(self.fd); // and our shared flock
            }
        }
    }
}
