//! Named POSIX shared-memory segments with a versioned header (Linux).
//!
//! # Why libc
//!
//! `shm_open`, `ftruncate`, `mmap(MAP_SHARED)`, `flock` and `shm_unlink` are five calls;
//! `libc` is already in the workspace (the benches use it), adds nothing to the build, and
//! exposes every flag we need (`O_EXCL`, `O_CLOEXEC`, `LOCK_NB`). `memmap2` maps files but
//! creates no shm objects and its anonymous maps are `MAP_PRIVATE`; `rustix` would do (safe
//! wrappers for all five) but is a second, large dependency for a few `unsafe` lines we argue
//! here anyway.
//!
//! # Layout
//!
//! | offset | field | written by |
//! |---|---|---|
//! | 0 | `magic` (`LAYOUT_MAGIC`) | the creator, before `ready` |
//! | 8 | `format` (the header's own version, [`FORMAT`]) | the creator, before `ready` |
//! | 12 | `ready` (`0` while initialising, [`READY`] after) | the creator, last (Release) |
//! | 16 | `layout` (hash of the root design type and its parameters' type) | the creator |
//! | 24 | `layout_version` | the creator |
//! | 32 | `size` (bytes of the whole object) | the creator |
//! | 40 | creator's pid and start time | the creator |
//! | 56 | `params_len`, `params` (the root design's parameters, ≤ [`PARAMS_MAX`] bytes) | the creator |
//! | … | the attach table (one entry per attached thread, see `attach.rs`) | each thread |
//! | [`DATA_OFFSET`] | the designs' regions | the creator initialises, everyone uses |
//!
//! Every header field is an atomic written Relaxed before `ready`'s Release store and read
//! after an Acquire load that sees it, so an opener never reads a field the creator is still
//! writing — nor garbage from a foreign object, which it rejects by `magic`.
//!
//! # Lifetime
//!
//! The creator builds the object under a private temporary name (`O_CREAT | O_EXCL`, mode 0600
//! unless asked), takes its lock, sizes it and writes the header, and only then gives it its
//! name with `link(2)` in `/dev/shm`, which is atomic and refuses a name that exists (two
//! creators racing for one name: exactly one wins, the other gets
//! [`OpenError::AlreadyExists`]); so no one can ever find the name unlocked while its creator
//! lives. (A creator killed between the link and removing the temporary name leaves a
//! second name, `/.synclab-new-<pid>-<n>`, that nobody holds: `remove_stale` removes it.) It unlinks
//! the name when its [`Segment`] drops (mappings of other processes stay valid; the memory
//! goes when the last one unmaps). Every process that maps a segment holds a shared `flock`
//! on it for as long as it does; the kernel drops the lock when the process dies. A segment
//! that nobody holds is *stale* — its creator crashed before unlinking it — which
//! [`Segment::inspect`] reports and [`Segment::remove_stale`] removes.
//!
//! # Trust
//!
//! The processes sharing a segment are peers running this library at the same layout
//! version: the header checks catch a segment of another layout, version or size, or a
//! foreign object, with a typed error. A hostile process able to write the segment can
//! corrupt what the designs store there, as with any shared mapping; it cannot be defended
//! against from inside the mapping.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::attach::{self, AttachTable, Liveness};

/// `magic`: "SYNCLAB" and a format byte, so a foreign shm object is recognised.
pub const LAYOUT_MAGIC: u64 = u64::from_le_bytes(*b"SYNCLAB\x01");
/// The header format this build writes and reads.
pub const FORMAT: u32 = 1;
/// `ready` once the creator has initialised everything.
const READY: u32 = 0x5EAD_1E55;
/// The most bytes of root-design parameters the header holds.
pub const PARAMS_MAX: usize = 256;

#[repr(C)]
struct Header {
    magic: AtomicU64,
    format: AtomicU32,
    ready: AtomicU32,
    layout: AtomicU64,
    layout_version: AtomicU64,
    size: AtomicU64,
    creator_pid: AtomicU64,
    creator_start: AtomicU64,
    params_len: AtomicU64,
    params: [AtomicU64; PARAMS_MAX / 8],
    table: AttachTable,
}

/// Where the designs' regions start: the header rounded up to a page.
pub const DATA_OFFSET: usize = (core::mem::size_of::<Header>() + 4095) & !4095;

/// How a [`Segment`] is created or opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentOptions {
    /// Permission bits of a created segment (default 0o600: the creating user only).
    pub mode: u32,
    /// How long [`Shared::open`](super::Shared::open) waits for a creator that has not finished initialising
    /// before it reports [`OpenError::NotReady`] (default 2 s).
    pub ready_timeout: Duration,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            mode: 0o600,
            ready_timeout: Duration::from_secs(2),
        }
    }
}

impl SegmentOptions {
    /// The defaults: mode 0600, a 2 s wait for the initialiser.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the permission bits of a created segment.
    pub fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }
    /// Sets how long an opener waits for the creator to finish initialising.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }
}

/// Why a segment could not be created or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a valid POSIX shm name: one leading `/`, no other `/`, 2..=255 bytes, no NUL.
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A segment of that name exists (the creator lost a race, or a stale one was left).
    AlreadyExists {
        /// The name.
        name: String,
        /// Whether no process holds it (a crashed creator's segment; see `remove_stale`).
        stale: bool,
    },
    /// No segment of that name exists.
    NotFound {
        /// The name.
        name: String,
    },
    /// The creator did not finish initialising within the options' `ready_timeout`.
    NotReady {
        /// The name.
        name: String,
        /// How long the opener waited.
        waited: Duration,
        /// Whether the segment is held by any process (if not, its creator died).
        held: bool,
    },
    /// The object is not a synclab segment (wrong magic number) or its header format differs.
    NotASegment {
        /// The name.
        name: String,
    },
    /// The segment holds another design, or the same design with other parameter types.
    LayoutMismatch {
        /// The name.
        name: String,
        /// The layout recorded in the segment.
        found: u64,
        /// The layout the opener expects.
        expected: u64,
    },
    /// The segment holds this design at another layout version.
    VersionMismatch {
        /// The name.
        name: String,
        /// The version recorded in the segment.
        found: u64,
        /// The version the opener expects.
        expected: u64,
    },
    /// The object's size differs from the size its header records, or from what its
    /// parameters need.
    SizeMismatch {
        /// The name.
        name: String,
        /// The size recorded in (or needed by) the header.
        recorded: u64,
        /// The size found.
        actual: u64,
    },
    /// The design's parameters are invalid, or need more memory than can be mapped.
    BadParams {
        /// What was wrong.
        reason: String,
    },
    /// Every entry of the attach table is held by a live thread.
    AttachTableFull,
    /// A system call failed.
    Io {
        /// Which call.
        op: &'static str,
        /// The segment's name.
        name: String,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::InvalidName { name } => write!(
                f,
                "invalid segment name {name:?}: it must be '/' followed by 1 to 254 bytes, no '/' or NUL"
            ),
            OpenError::AlreadyExists { name, stale: false } => {
                write!(f, "segment {name} already exists and is in use")
            }
            OpenError::AlreadyExists { name, stale: true } => write!(
                f,
                "segment {name} already exists but no process holds it (left by a crashed creator; Segment::remove_stale removes it)"
            ),
            OpenError::NotFound { name } => write!(f, "segment {name} does not exist"),
            OpenError::NotReady { name, waited, held } => write!(
                f,
                "segment {name} was not initialised within {:.0} ms{}",
                waited.as_secs_f64() * 1e3,
                if *held { "" } else { " and no process holds it: its creator died while initialising" }
            ),
            OpenError::NotASegment { name } => {
                write!(f, "{name} is not a synclab segment of header format {FORMAT}")
            }
            OpenError::LayoutMismatch { name, found, expected } => write!(
                f,
                "segment {name} holds layout {found:#018x}, expected {expected:#018x} (another design or parameter type)"
            ),
            OpenError::VersionMismatch { name, found, expected } => write!(
                f,
                "segment {name} holds layout version {found}, expected {expected}"
            ),
            OpenError::SizeMismatch { name, recorded, actual } => write!(
                f,
                "segment {name} should be {recorded} bytes but is {actual}"
            ),
            OpenError::BadParams { reason } => write!(f, "bad segment parameters: {reason}"),
            OpenError::AttachTableFull => write!(
                f,
                "every entry of the segment's attach table ({} threads) is held by a live thread",
                attach::ENTRIES
            ),
            OpenError::Io { op, name, source } => write!(f, "{op} on segment {name}: {source}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What [`Segment::inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StaleCheck {
    /// No segment of that name.
    Missing,
    /// Some process holds it.
    InUse,
    /// No process holds it: its creator crashed (or everyone left without the creator
    /// unlinking it). `initialised` says whether the creator had finished.
    Stale {
        /// Whether the header reads ready.
        initialised: bool,
        /// The creator's pid as recorded (0 if it never got that far).
        creator_pid: u32,
    },
}

/// One mapping of a segment in this process.
pub(crate) struct Mapping {
    base: *mut u8,
    len: usize,
    fd: libc::c_int,
    /// Entries of the attach table this process claimed through this mapping, freed on drop.
    claims: Mutex<Vec<(usize, u32)>>,
}

// SAFETY: the mapping is plain memory shared with other processes; every access to it goes
// through atomics or through the designs' own synchronization, so it may be used from any
// thread.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl Mapping {
    pub(crate) fn base(&self) -> usize {
        self.base as usize
    }
    pub(crate) fn len(&self) -> usize {
        self.len
    }
    pub(crate) fn contains(&self, addr: usize) -> bool {
        (self.base()..self.base() + self.len).contains(&addr)
    }
    fn header(&self) -> &Header {
        // SAFETY: every mapping is at least DATA_OFFSET bytes (checked before mapping), the
        // base is page-aligned, and Header is made of atomics, valid for any bytes.
        unsafe { &*(self.base as *const Header) }
    }
    pub(crate) fn table(&self) -> &AttachTable {
        &self.header().table
    }
    pub(crate) fn note_claim(&self, index: usize, tag: u32) {
        self.claims
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((index, tag));
    }
    /// The data area, from [`DATA_OFFSET`] to the end.
    pub(crate) fn data(&self) -> (*mut u8, usize) {
        // SAFETY: DATA_OFFSET <= len (checked before mapping).
        (
            unsafe { self.base.add(DATA_OFFSET) },
            self.len - DATA_OFFSET,
        )
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let claims = core::mem::take(self.claims.get_mut().unwrap_or_else(|e| e.into_inner()));
        for (index, tag) in claims {
            self.table().release(index, tag);
        }
        attach::unregister();
        // SAFETY: base/len are the values mmap returned; nothing refers into the mapping any
        // more (every region holds an Arc of it).
        unsafe {
            libc::munmap(self.base.cast(), self.len);
            libc::close(self.fd); // also drops our shared flock
        }
    }
}

/// A named POSIX shared-memory segment, mapped into this process. See the module docs of
/// `shm/segment.rs` (and `docs/designs.md`) for its header and lifetime.
pub struct Segment {
    name: String,
    mapping: Arc<Mapping>,
    creator: bool,
}

impl fmt::Debug for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Segment")
            .field("name", &self.name)
            .field("len", &self.mapping.len)
            .field("creator", &self.creator)
            .finish()
    }
}

fn c_name(name: &str) -> Result<CString, OpenError> {
    let ok =
        name.len() >= 2 && name.len() <= 255 && name.starts_with('/') && !name[1..].contains('/');
    match CString::new(name) {
        Ok(c) if ok => Ok(c),
        _ => Err(OpenError::InvalidName {
            name: name.to_string(),
        }),
    }
}

/// Where glibc's (and musl's) `shm_open` keeps its objects: a tmpfs directory, so an object
/// can be given a second name with `link(2)`.
const SHM_DIR: &str = "/dev/shm";

/// The file path of shm object `name` (`/x` → `/dev/shm/x`).
fn shm_path(name: &str) -> Result<CString, OpenError> {
    CString::new(format!("{SHM_DIR}{name}")).map_err(|_| OpenError::InvalidName {
        name: name.to_string(),
    })
}

/// A name no other creator uses: this process, a per-process counter.
fn temp_name() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
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

fn io_err(op: &'static str, name: &str) -> OpenError {
    OpenError::Io {
        op,
        name: name.to_string(),
        source: io::Error::last_os_error(),
    }
}

/// `flock(fd, op)`, retried on EINTR; `Ok(false)` if `LOCK_NB` was given and it would block.
fn flock(fd: libc::c_int, op: libc::c_int) -> io::Result<bool> {
    loop {
        // SAFETY: fd is an open descriptor we own.
        if unsafe { libc::flock(fd, op) } == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(e),
        }
    }
}

fn fstat(fd: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: all-zero is a valid `stat` for fstat to overwrite.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: fd is open; st is writable.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Maps `len` bytes of `fd` shared, read-write, with its page tables filled in.
///
/// `MAP_POPULATE`: without it an opener's first touch of each page is a minor fault (about
/// half a microsecond here, measured) in the middle of whatever operation touched it — with
/// one-line array slots, once every 32 round trips of `processes/roundtrip-spinning`, whose
/// ratio to the spin floor it lowered by about 0.02 in paired runs. It costs next to no
/// memory: a design's `build` writes every element of its regions in the creator, so those
/// pages exist anyway (what the flag adds is the few header pages nobody wrote); it moves the
/// faults to `create`/`open`, which take longer for a large segment. (Populating a shared mapping
/// cannot fail the `mmap`; a page the kernel could not supply faults later, as it would
/// have without the flag.)
fn map(fd: libc::c_int, len: usize, name: &str) -> Result<*mut u8, OpenError> {
    // SAFETY: a fresh mapping chosen by the kernel; fd is open read-write.
    let p = unsafe {
        libc::mmap(
            core::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io_err("mmap", name));
    }
    Ok(p.cast())
}

/// An fd that is closed on drop unless taken.
struct Fd(libc::c_int);
impl Fd {
    fn take(mut self) -> libc::c_int {
        core::mem::replace(&mut self.0, -1)
    }
}
impl Drop for Fd {
    fn drop(&mut self) {
        if self.0 >= 0 {
            // SAFETY: we own the descriptor.
            unsafe { libc::close(self.0) };
        }
    }
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
        // SAFETY: c_temp is a valid NUL-terminated name.
        let fd = unsafe {
            libc::shm_open(
                c_temp.as_ptr(),
                libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                options.mode as libc::mode_t,
            )
        };
        if fd < 0 {
            return Err(io_err("shm_open", &temp));
        }
        let fd = Fd(fd);
        // The temporary name goes when this function returns, whatever happens.
        let _temp_guard = Unlinker(c_temp);
        let fail = |op| io_err(op, name);
        // Hold it before anyone can look: a remover must see it in use.
        flock(fd.0, libc::LOCK_SH).map_err(|_| fail("flock"))?;
        // The mode given to shm_open is masked by the umask; set exactly what was asked.
        // SAFETY: fd is open.
        if unsafe { libc::fchmod(fd.0, options.mode as libc::mode_t) } != 0 {
            return Err(fail("fchmod"));
        }
        // SAFETY: fd is open; len fits in off_t (checked against isize::MAX).
        if unsafe { libc::ftruncate(fd.0, len as libc::off_t) } != 0 {
            return Err(fail("ftruncate"));
        }
        let base = map(fd.0, len, name)?;
        let mapping = Arc::new(Mapping {
            base,
            len,
            fd: fd.take(),
            claims: Mutex::new(Vec::new()),
        });
        let h = mapping.header();
        // Relaxed: published by the Release store of `ready` in `mark_ready`.
        h.magic.store(LAYOUT_MAGIC, Relaxed);
        h.format.store(FORMAT, Relaxed);
        h.layout.store(layout.hash, Relaxed);
        h.layout_version.store(layout.version, Relaxed);
        h.size.store(len as u64, Relaxed);
        h.creator_pid.store(u64::from(std::process::id()), Relaxed);
        h.creator_start
            .store(attach::process_start().unwrap_or(0), Relaxed);
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
            return Err(OpenError::Io {
                op: "link",
                name: name.to_string(),
                source: e,
            });
        }
        attach::register(&mapping);
        Ok(Segment {
            name: name.to_string(),
            mapping,
            creator: true,
        })
    }

    /// Marks the segment initialised: openers waiting for it proceed.
    pub(crate) fn mark_ready(&self) {
        // Release: publishes the header and everything the creator initialised; pairs with the
        // Acquire load in `open_raw`.
        self.mapping.header().ready.store(READY, Release);
    }

    /// Opens segment `name`, waits (bounded) until it is initialised, and checks its header
    /// against `layout`.
    pub(crate) fn open_raw(
        name: &str,
        layout: Layout,
        options: &SegmentOptions,
    ) -> Result<Segment, OpenError> {
        let c = c_name(name)?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(10);
        loop {
            // SAFETY: c is a valid NUL-terminated name.
            let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0) };
            if fd < 0 {
                let e = io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::ENOENT) {
                    return Err(OpenError::NotFound {
                        name: name.to_string(),
                    });
                }
                return Err(OpenError::Io {
                    op: "shm_open",
                    name: name.to_string(),
                    source: e,
                });
            }
            let fd = Fd(fd);
            flock(fd.0, libc::LOCK_SH).map_err(|_| io_err("flock", name))?;
            let st = fstat(fd.0).map_err(|_| io_err("fstat", name))?;
            if st.st_nlink == 0 {
                // Removed as stale between our open and our lock: look the name up again.
                continue;
            }
            let actual = st.st_size as u64;
            if actual >= DATA_OFFSET as u64 {
                let base = map(fd.0, DATA_OFFSET, name)?;
                let probe = Mapping {
                    base,
                    len: DATA_OFFSET,
                    fd: -1,
                    claims: Mutex::new(Vec::new()),
                };
                let h = probe.header();
                // Acquire: pairs with the Release store in `mark_ready`: the header (and the
                // creator's initialisation) is visible once we see READY.
                let ready = h.ready.load(Acquire) == READY;
                let checked = ready.then(|| {
                    if h.magic.load(Relaxed) != LAYOUT_MAGIC || h.format.load(Relaxed) != FORMAT {
                        return Err(OpenError::NotASegment {
                            name: name.to_string(),
                        });
                    }
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
                    if recorded != actual {
                        return Err(OpenError::SizeMismatch {
                            name: name.to_string(),
                            recorded,
                            actual,
                        });
                    }
                    Ok(recorded as usize)
                });
                // The probe is unmapped here (fd -1: nothing to close).
                drop(probe);
                if let Some(checked) = checked {
                    let len = checked?;
                    let base = map(fd.0, len, name)?;
                    let mapping = Arc::new(Mapping {
                        base,
                        len,
                        fd: fd.take(),
                        claims: Mutex::new(Vec::new()),
                    });
                    attach::register(&mapping);
                    return Ok(Segment {
                        name: name.to_string(),
                        mapping,
                        creator: false,
                    });
                }
            }
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

    /// Whether segment `name` exists and whether any process holds it.
    pub fn inspect(name: &str) -> Result<StaleCheck, OpenError> {
        let c = c_name(name)?;
        // SAFETY: c is a valid NUL-terminated name.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0) };
        if fd < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOENT) {
                return Ok(StaleCheck::Missing);
            }
            return Err(OpenError::Io {
                op: "shm_open",
                name: name.to_string(),
                source: e,
            });
        }
        let fd = Fd(fd);
        if !flock(fd.0, libc::LOCK_EX | libc::LOCK_NB).map_err(|_| io_err("flock", name))? {
            return Ok(StaleCheck::InUse);
        }
        let st = fstat(fd.0).map_err(|_| io_err("fstat", name))?;
        let (mut initialised, mut creator_pid) = (false, 0);
        if st.st_size as usize >= DATA_OFFSET {
            let base = map(fd.0, DATA_OFFSET, name)?;
            let probe = Mapping {
                base,
                len: DATA_OFFSET,
                fd: -1,
                claims: Mutex::new(Vec::new()),
            };
            // Acquire: pairs with `mark_ready`'s Release store.
            initialised = probe.header().ready.load(Acquire) == READY;
            creator_pid = probe.header().creator_pid.load(Relaxed) as u32;
        }
        Ok(StaleCheck::Stale {
            initialised,
            creator_pid,
        })
    }

    /// Removes segment `name` if no process holds it; `Ok(true)` if it was removed.
    ///
    /// Holding the exclusive lock while unlinking means no process can be using it; one that
    /// opens the name meanwhile waits for our lock, then sees the object unlinked and looks
    /// the name up again.
    pub fn remove_stale(name: &str) -> Result<bool, OpenError> {
        let c = c_name(name)?;
        // SAFETY: c is a valid NUL-terminated name.
        let fd = unsafe { libc::shm_open(c.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC, 0) };
        if fd < 0 {
            return Ok(false);
        }
        let fd = Fd(fd);
        if !flock(fd.0, libc::LOCK_EX | libc::LOCK_NB).map_err(|_| io_err("flock", name))? {
            return Ok(false);
        }
        // SAFETY: c is valid.
        if unsafe { libc::shm_unlink(c.as_ptr()) } != 0 {
            return Err(io_err("shm_unlink", name));
        }
        Ok(true)
    }

    /// Removes the name `name` (mappings stay valid until unmapped).
    pub fn unlink(name: &str) -> Result<(), OpenError> {
        let c = c_name(name)?;
        // SAFETY: c is valid.
        if unsafe { libc::shm_unlink(c.as_ptr()) } != 0 {
            return Err(io_err("shm_unlink", name));
        }
        Ok(())
    }

    /// The segment's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this handle created the segment (and unlinks it on drop).
    pub fn is_creator(&self) -> bool {
        self.creator
    }

    /// The whole object's size in bytes, header included.
    pub fn len(&self) -> usize {
        self.mapping.len
    }

    /// Whether the segment has no data beyond its header.
    pub fn is_empty(&self) -> bool {
        self.mapping.len == DATA_OFFSET
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

    /// The creator's process: pid and whether it is still running.
    pub fn creator(&self) -> (u32, Liveness) {
        let h = self.mapping.header();
        let pid = h.creator_pid.load(Relaxed) as u32;
        (
            pid,
            attach::process_liveness(pid, h.creator_start.load(Relaxed)),
        )
    }

    /// How many attach-table entries are held by live threads, and how many by dead ones.
    pub fn attached(&self) -> (usize, usize) {
        self.mapping.table().census()
    }

    pub(crate) fn mapping(&self) -> &Arc<Mapping> {
        &self.mapping
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        if self.creator {
            if let Ok(c) = c_name(&self.name) {
                // SAFETY: c is valid. Failure (someone removed it already) is harmless.
                unsafe { libc::shm_unlink(c.as_ptr()) };
            }
        }
    }
}
