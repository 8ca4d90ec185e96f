//! Named POSIX shared-memory segments with a versioned header (Linux).
//!
//! # Why libc
//!
//! `shm_open`, `ftruncate`, `posix_fallocate`, `mmap(MAP_SHARED)`, `flock`, `fcntl` and
//! `shm_unlink` are a handful of calls; `libc` is already in the workspace, adds nothing to the
//! build, and exposes every flag we need (`O_EXCL`, `O_CLOEXEC`, `LOCK_NB`, `F_OFD_SETLK`).
//! `memmap2` maps files but creates no shm objects and its anonymous maps are `MAP_PRIVATE`;
//! `rustix` would do but is a second, large dependency for a few `unsafe` lines we argue in
//! `sys.rs` anyway.
//!
//! # Layout
//!
//! | offset | field | written by |
//! |---|---|---|
//! | 0 | `magic` (`LAYOUT_MAGIC`) | the creator, before the object has its name |
//! | 8 | `format` (the header's own version, [`FORMAT`]) | the creator, before the name |
//! | 12 | `ready` (`0` while initialising, [`READY`] after) | the creator, last (Release) |
//! | 16 | `layout` (hash of the root design type and its parameters' type) | the creator |
//! | 24 | `layout_version` | the creator |
//! | 32 | `size` (bytes of the whole object) | the creator |
//! | 40 | creator's pid (in its own PID namespace; for diagnostics) | the creator |
//! | 48 | `mode`: the permission bits the creator asked for | the creator |
//! | 56 | `params_len`, `params` (the root design's parameters, ≤ [`PARAMS_MAX`] bytes) | the creator |
//! | … | the attach table (one entry per attached thread, see `attach.rs`) | each thread |
//! | [`DATA_OFFSET`] | the designs' regions | the creator initialises, everyone uses |
//!
//! Every header field is an atomic written Relaxed before `ready`'s Release store and read
//! after an Acquire load that sees it, so an opener never reads a field the creator is still
//! writing. `magic` and `format` are in place before anyone can find the object by name, so an
//! object without them is refused at once ([`OpenError::NotASegment`]), never waited for.
//!
//! # Lifetime
//!
//! The creator builds the object under a private temporary name (`O_CREAT | O_EXCL`, mode 0600
//! unless asked), takes its lock, sizes it and reserves its blocks, writes the header, and only
//! then gives it its name with `link(2)` in `/dev/shm`, which is atomic and refuses a name that
//! exists (two creators racing for one name: exactly one wins, the other gets
//! [`OpenError::AlreadyExists`]); so no one can ever find the name unlocked while its creator
//! lives. (A creator killed between the link and removing the temporary name leaves a
//! second name, `/.synclab-new-<pid>-<n>`, that nobody holds: [`Segment::sweep`] removes it.) It
//! unlinks the name when its [`Segment`] drops (mappings of other processes stay valid; the
//! memory goes when the last one unmaps) — in the creating process only: a forked child's copy
//! of the handle leaves the name alone. Every process that maps a segment holds a shared `flock`
//! on it for as long as it does; the kernel drops the lock when the process dies. A segment
//! that nobody holds is *stale* — its creator crashed before unlinking it — which
//! [`Segment::list`] reports and [`Segment::sweep`] removes.
//!
//! # Space, and a peer that shrinks the object
//!
//! The object's blocks are reserved (`posix_fallocate`) before it is mapped: a tmpfs without
//! room for it (docker's default `/dev/shm` is 64 MiB) is an [`OpenError::Io`] with
//! `ENOSPC` at `create`, never a SIGBUS at the first touch of a page. A peer that *shrinks*
//! the object (`ftruncate`, `File::set_len`) cannot be prevented — a named shm object takes no
//! seals — so every mapping is covered by a SIGBUS handler that grows the object back and
//! continues with zeroed pages (see `sigbus.rs`): survivors see a segment a faulty peer
//! zeroed, which the designs survive.
//!
//! # Trust
//!
//! The processes sharing a segment are peers running this library at the same layout
//! version: the header checks catch a segment of another layout, version or size, a foreign
//! object, another owner or widened permissions, with a typed error. A peer that writes
//! garbage into the segment — a bug, or a hostile process able to write it — makes the
//! designs give wrong values or typed errors, never undefined behaviour, a panic, a signal
//! or an unbounded wait in a non-blocking call: every index, count and tag read from the
//! segment is checked before it addresses memory. What it cannot be defended against is what
//! any shared mapping allows: the values themselves.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::attach::{self, AttachTable};
use super::error::{OpenError, SegmentOptions, StaleCheck};
use super::mapping::Mapping;
use super::sys::{self, Fd};

/// `magic`: "SYNCLAB" and a format byte, so a foreign shm object is recognised.
pub(crate) const LAYOUT_MAGIC: u64 = u64::from_le_bytes(*b"SYNCLAB\x01");
/// The header format this build writes and reads. 2: liveness by byte-range locks, and the
/// creator's mode in the header.
pub(crate) const FORMAT: u32 = 2;
/// `ready` once the creator has initialised everything.
const READY: u32 = 0x5EAD_1E55;
/// The most bytes of root-design parameters the header holds.
pub(crate) const PARAMS_MAX: usize = 256;

/// The segment header; see the table in the module docs.
#[repr(C)]
pub(crate) struct Header {
    magic: AtomicU64,
    format: AtomicU32,
    ready: AtomicU32,
    layout: AtomicU64,
    layout_version: AtomicU64,
    size: AtomicU64,
    creator_pid: AtomicU64,
    mode: AtomicU64,
    params_len: AtomicU64,
    params: [AtomicU64; PARAMS_MAX / 8],
    pub(crate) table: AttachTable,
}

impl Header {
    /// Whether the creator finished initialising, and its pid: what a stale segment tells.
    pub(super) fn finished_by(&self) -> (bool, u32) {
        // Acquire: pairs with `mark_ready`'s Release store.
        let ready = self.ready.load(Acquire) == READY;
        (ready, self.creator_pid.load(Relaxed) as u32)
    }
}

/// Where the designs' regions start: the header rounded up to a page.
pub(crate) const DATA_OFFSET: usize = (core::mem::size_of::<Header>() + 4095) & !4095;

/// A named POSIX shared-memory segment, mapped into this process. See the module docs of
/// `shm/segment.rs` (and `docs/processes.md`) for its header and lifetime.
pub struct Segment {
    name: String,
    mapping: Arc<Mapping>,
    /// The process that created the segment (0 for an opener): only it unlinks the name.
    created_by: u32,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("len", &self.mapping.len())
            .field("creator", &self.is_creator())
            .finish()
    }
}

/// `name` as a C string, if it is a valid shm name: one leading `/`, no other, 2..=255 bytes,
/// no NUL, and not `/.` or `/..` (which name `/dev/shm` and `/dev`).
pub(super) fn c_name(name: &str) -> Result<CString, OpenError> {
    let rest = name.strip_prefix('/').unwrap_or("");
    let ok =
        name.len() <= 255 && !rest.is_empty() && !rest.contains('/') && rest != "." && rest != "..";
    match CString::new(name) {
        Ok(c) if ok => Ok(c),
        _ => Err(OpenError::InvalidName {
            name: name.to_string(),
        }),
    }
}

/// Where glibc's (and musl's) `shm_open` keeps its objects: a tmpfs directory, so an object
/// can be given a second name with `link(2)`.
pub(super) const SHM_DIR: &str = "/dev/shm";

/// The file path of shm object `name` (`/x` → `/dev/shm/x`).
fn shm_path(name: &str) -> Result<CString, OpenError> {
    CString::new(format!("{SHM_DIR}{name}")).map_err(|_| OpenError::InvalidName {
        name: name.to_string(),
    })
}

/// A name no other creator uses: this process, a per-process counter.
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "/.synclab-new-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Relaxed)
    )
}

/// Unlinks a shm name on drop.
struct Unlinker(CString);
impl Drop for Unlinker {
    fn drop(&mut self) {
        // SAFETY: the name is a valid NUL-terminated string; failing is harmless.
        unsafe { libc::shm_unlink(self.0.as_ptr()) };
    }
}

/// `Err(OpenError::CheckerWorld)` under a model checker: no segment exists there (every entry
/// point asks this first, before it touches the system or builds a design).
pub(super) fn plain_world() -> Result<(), OpenError> {
    if crate::sync::WORLD == crate::sync::World::Plain {
        Ok(())
    } else {
        Err(OpenError::CheckerWorld)
    }
}

pub(super) fn io_err(op: &'static str, name: &str, source: io::Error) -> OpenError {
    OpenError::Io {
        op,
        name: name.to_string(),
        source,
    }
}

/// `shm_open` of an existing `name`, read-write: `NotFound`, or `Io`.
pub(super) fn open_existing(c: &CString, name: &str) -> Result<Fd, OpenError> {
    sys::shm_open(c, libc::O_RDWR, 0).map_err(|e| {
        if e.raw_os_error() == Some(libc::ENOENT) {
            OpenError::NotFound {
                name: name.to_string(),
            }
        } else {
            io_err("shm_open", name, e)
        }
    })
}

/// Identity of a segment's content: what the opener expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) hash: u64,
    pub(crate) version: u64,
}

impl Segment {
    /// Creates segment `name` with `data_len` bytes of data after the header, records
    /// `layout` and `params`, and maps it. The segment reads as *not ready* until
    /// [`mark_ready`](Self::mark_ready).
    pub(crate) fn create_raw(
        name: &str,
        data_len: usize,
        layout: Layout,
        params: &[u8],
        options: &SegmentOptions,
    ) -> Result<Segment, OpenError> {
        plain_world()?;
        c_name(name)?; // validates the name
        if params.len() > PARAMS_MAX {
            return Err(OpenError::BadParams {
                reason: format!("{} bytes of parameters, at most {PARAMS_MAX}", params.len()),
            });
        }
        let len = DATA_OFFSET
            .checked_add(data_len)
            .filter(|&l| l <= isize::MAX as usize)
            .ok_or_else(|| OpenError::BadParams {
                reason: format!("{data_len} bytes of data cannot be mapped"),
            })?;
        // The object is built under a private temporary name and appears under `name` only
        // once it is locked, sized and headed: `link(2)` publishes it atomically and refuses
        // a name that exists (two creators racing: exactly one wins). Creating it under `name`
        // directly left a window between `O_EXCL` and our `flock` in which a racing creator's
        // staleness check — or `remove_stale` — saw an unlocked object and took a live
        // creator's segment for a crashed one's.
        let temp = temp_name();
        let c_temp = c_name(&temp)?;
        let fd = sys::shm_open(
            &c_temp,
            libc::O_RDWR | libc::O_CREAT | libc::O_EXCL,
            options.mode,
        )
        .map_err(|e| io_err("shm_open", &temp, e))?;
        // The temporary name goes when this function returns, whatever happens.
        let _temp_guard = Unlinker(c_temp.clone());
        let fail = |op, e| io_err(op, name, e);
        // A second description of the object, for this process's byte locks (`attach.rs`).
        let locks = sys::shm_open(&c_temp, libc::O_RDWR, 0).map_err(|e| fail("shm_open", e))?;
        // Hold it before anyone can look: a remover must see it in use.
        sys::flock(fd.0, libc::LOCK_SH).map_err(|e| fail("flock", e))?;
        // The mode given to shm_open is masked by the umask; set exactly what was asked.
        // SAFETY: fchmod has no memory preconditions.
        if unsafe { libc::fchmod(fd.0, options.mode as libc::mode_t) } != 0 {
            return Err(fail("fchmod", io::Error::last_os_error()));
        }
        sys::size_and_reserve(fd.0, len).map_err(|(op, e)| fail(op, e))?;
        let mapping = Arc::new(Mapping::new(fd, Some(locks), len).map_err(|e| fail("mmap", e))?);
        mapping.hold_creator_byte();
        let h = mapping.header();
        // Relaxed: published by the Release store of `ready` in `mark_ready`; `magic` and
        // `format` are read by openers only after the `link` below, a system call that
        // orders them (an opener's `pread` goes through the same page).
        h.magic.store(LAYOUT_MAGIC, Relaxed);
        h.format.store(FORMAT, Relaxed);
        h.layout.store(layout.hash, Relaxed);
        h.layout_version.store(layout.version, Relaxed);
        h.size.store(len as u64, Relaxed);
        h.creator_pid.store(u64::from(std::process::id()), Relaxed);
        h.mode.store(u64::from(options.mode & 0o777), Relaxed);
        h.params_len.store(params.len() as u64, Relaxed);
        for (i, chunk) in params.chunks(8).enumerate() {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            h.params[i].store(u64::from_le_bytes(word), Relaxed);
        }
        // Publish: the object is locked, sized and headed (not yet ready) before anyone can
        // open it by name.
        let (from, to) = (shm_path(&temp)?, shm_path(name)?);
        // SAFETY: both are valid NUL-terminated paths.
        if unsafe { libc::link(from.as_ptr(), to.as_ptr()) } != 0 {
            let e = io::Error::last_os_error();
            drop(mapping);
            if e.raw_os_error() == Some(libc::EEXIST) {
                let stale = matches!(Segment::inspect(name), Ok(StaleCheck::Stale { .. }));
                return Err(OpenError::AlreadyExists {
                    name: name.to_string(),
                    stale,
                });
            }
            return Err(fail("link", e));
        }
        attach::register(&mapping);
        Ok(Segment {
            name: name.to_string(),
            mapping,
            created_by: std::process::id(),
        })
    }

    /// Marks the segment initialised: openers waiting for it proceed.
    pub(crate) fn mark_ready(&self) {
        // Release: publishes the header and everything the creator initialised; pairs with the
        // Acquire load in `open_raw`.
        self.mapping.header().ready.store(READY, Release);
    }

    /// Opens segment `name`, waits (bounded) until it is initialised, and checks its header
    /// against `layout` and `options`.
    pub(crate) fn open_raw(
        name: &str,
        layout: Layout,
        options: &SegmentOptions,
    ) -> Result<Segment, OpenError> {
        plain_world()?;
        let c = c_name(name)?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(10);
        loop {
            let fd = open_existing(&c, name)?;
            sys::flock(fd.0, libc::LOCK_SH).map_err(|e| io_err("flock", name, e))?;
            let st = sys::fstat(fd.0).map_err(|e| io_err("fstat", name, e))?;
            if st.st_nlink == 0 {
                // Removed as stale between our open and our lock: look the name up again.
                continue;
            }
            let expected = options.owner.unwrap_or_else(sys::euid);
            if st.st_uid != expected {
                return Err(OpenError::ForeignOwner {
                    name: name.to_string(),
                    owner: st.st_uid,
                    expected,
                });
            }
            let actual = st.st_size as u64;
            // `magic` and `format` were written before the object got its name: read them
            // without mapping anything (a short or foreign object is refused at once).
            let mut head = [0u8; 40];
            let got = sys::pread(fd.0, &mut head, 0).map_err(|e| io_err("pread", name, e))?;
            let word =
                |at: usize| u64::from_le_bytes(head[at..at + 8].try_into().unwrap_or([0; 8]));
            let format = u32::from_le_bytes(head[8..12].try_into().unwrap_or([0; 4]));
            if got < 12 || word(0) != LAYOUT_MAGIC || format != FORMAT {
                return Err(OpenError::NotASegment {
                    name: name.to_string(),
                });
            }
            if actual < DATA_OFFSET as u64 {
                return Err(OpenError::SizeMismatch {
                    name: name.to_string(),
                    recorded: if got >= 40 {
                        word(32)
                    } else {
                        DATA_OFFSET as u64
                    },
                    actual,
                });
            }
            let probe = Mapping::probe(fd.0).map_err(|e| io_err("mmap", name, e))?;
            let h = probe.header();
            // Acquire: pairs with the Release store in `mark_ready`: the header (and the
            // creator's initialisation) is visible once we see READY.
            if h.ready.load(Acquire) == READY {
                let len = Self::check_header(name, h, layout, actual, &st, options)?;
                drop(probe);
                // A second description for our byte locks — of this very object (the name
                // may have been removed and given to another since we opened it).
                let locks = open_existing(&c, name)?;
                let again = sys::fstat(locks.0).map_err(|e| io_err("fstat", name, e))?;
                if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) {
                    continue;
                }
                let mapping = Arc::new(
                    Mapping::new(fd, Some(locks), len).map_err(|e| io_err("mmap", name, e))?,
                );
                attach::register(&mapping);
                return Ok(Segment {
                    name: name.to_string(),
                    mapping,
                    created_by: 0,
                });
            }
            drop(probe);
            let waited = start.elapsed();
            if waited >= options.ready_timeout {
                drop(fd);
                let held = matches!(Segment::inspect(name), Ok(StaleCheck::InUse));
                return Err(OpenError::NotReady {
                    name: name.to_string(),
                    waited,
                    held,
                });
            }
            // Not initialised yet: a bounded, growing pause (the creator runs for
            // microseconds to milliseconds; there is no futex to sleep on before the header
            // exists).
            drop(fd);
            std::thread::sleep(pause.min(options.ready_timeout - waited));
            pause = (pause * 2).min(Duration::from_millis(5));
        }
    }

    /// The checks of a ready header: layout, version, size, permission bits. The object's
    /// length on success.
    fn check_header(
        name: &str,
        h: &Header,
        layout: Layout,
        actual: u64,
        st: &libc::stat,
        options: &SegmentOptions,
    ) -> Result<usize, OpenError> {
        let found = h.layout.load(Relaxed);
        if found != layout.hash {
            return Err(OpenError::LayoutMismatch {
                name: name.to_string(),
                found,
                expected: layout.hash,
            });
        }
        let found = h.layout_version.load(Relaxed);
        if found != layout.version {
            return Err(OpenError::VersionMismatch {
                name: name.to_string(),
                found,
                expected: layout.version,
            });
        }
        let recorded = h.size.load(Relaxed);
        if recorded != actual || usize::try_from(recorded).is_err() {
            return Err(OpenError::SizeMismatch {
                name: name.to_string(),
                recorded,
                actual,
            });
        }
        let asked = (h.mode.load(Relaxed) & 0o777) as u32;
        let mode = st.st_mode & 0o777;
        if !options.allow_wider_mode && mode & !asked != 0 {
            return Err(OpenError::ModeTooWide {
                name: name.to_string(),
                mode,
                asked,
            });
        }
        Ok(recorded as usize)
    }

    /// Removes the name `name` (mappings stay valid until unmapped).
    pub fn unlink(name: &str) -> Result<(), OpenError> {
        plain_world()?;
        let c = c_name(name)?;
        // SAFETY: c is a valid NUL-terminated name.
        if unsafe { libc::shm_unlink(c.as_ptr()) } != 0 {
            return Err(io_err("shm_unlink", name, io::Error::last_os_error()));
        }
        Ok(())
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle created the segment (and unlinks it on drop). `false` in a forked
    /// child's copy of the creator's handle.
    pub(crate) fn is_creator(&self) -> bool {
        self.created_by == std::process::id()
    }

    /// The whole object's size in bytes, header included.
    pub fn size(&self) -> usize {
        self.mapping.len()
    }

    /// The creator's parameters as recorded in the header.
    pub(crate) fn params(&self) -> Vec<u8> {
        let h = self.mapping.header();
        let len = (h.params_len.load(Relaxed) as usize).min(PARAMS_MAX);
        let mut out = Vec::with_capacity(len);
        for word in &h.params[..len.div_ceil(8)] {
            out.extend_from_slice(&word.load(Relaxed).to_le_bytes());
        }
        out.truncate(len);
        out
    }

    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }
}

#[cfg(feature = "fault-injection")]
impl crate::fault::Probe for Segment {
    /// How many attach-table entries are held by live threads, and how many by dead ones.
    type Reading = (usize, usize);

    fn probe(&self) -> (usize, usize) {
        self.mapping.census()
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.is_creator() {
            if let Ok(c) = c_name(&self.name) {
                // SAFETY: c is valid. Failure (someone removed it already) is harmless.
                unsafe { libc::shm_unlink(c.as_ptr()) };
            }
        }
    }
}
