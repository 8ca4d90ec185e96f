//! How a segment is created or opened ([`SegmentOptions`]), why that failed ([`OpenError`]),
//! and what [`Segment::list`](super::Segment::list) finds ([`StaleCheck`]).

use std::fmt;
use std::io;
use std::time::Duration;

use super::attach;
use super::segment::FORMAT;

/// How a [`Segment`](super::Segment) is created or opened.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SegmentOptions {
    /// Permission bits of a created segment (default 0o600: the creating user only).
    pub mode: u32,
    /// How long [`Shared::open`](super::Shared::open) waits for a creator that has not finished initialising
    /// before it reports [`OpenError::NotReady`] (default 2 s).
    pub ready_timeout: Duration,
    /// The user an opened segment must belong to (default `None`: this process's effective
    /// user). Anyone who owns the object can rewrite it at will, so a segment of another user
    /// is refused with [`OpenError::ForeignOwner`] unless named here.
    pub owner: Option<u32>,
    /// Whether to open a segment whose permission bits are wider than its creator asked
    /// (default `false`: refused with [`OpenError::ModeTooWide`]; somebody widened them).
    pub allow_wider_mode: bool,
}

impl Default for SegmentOptions {
    fn default() -> Self {
        Self {
            mode: 0o600,
            ready_timeout: Duration::from_secs(2),
            owner: None,
            allow_wider_mode: false,
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
    /// Sets the user an opened segment must belong to.
    pub fn owner(mut self, uid: u32) -> Self {
        self.owner = Some(uid);
        self
    }
    /// Sets whether a segment whose permission bits are wider than its creator asked opens.
    pub fn allow_wider_mode(mut self, allow: bool) -> Self {
        self.allow_wider_mode = allow;
        self
    }
}

/// Why a segment could not be created or opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// Not a valid POSIX shm name: one leading `/`, no other `/`, 2..=255 bytes, no NUL, and
    /// not `/.` or `/..`.
    InvalidName {
        /// The name given.
        name: String,
    },
    /// A segment of that name exists (the creator lost a race, or a stale one was left).
    AlreadyExists {
        /// The name.
        name: String,
        /// Whether no process holds it (a crashed creator's segment; see `Segment::sweep`).
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
    /// The object is not a synclab segment: too short to hold the magic number, another
    /// magic number, or another header format. Reported at once.
    NotASegment {
        /// The name.
        name: String,
    },
    /// The object belongs to another user than the one expected
    /// ([`SegmentOptions::owner`], by default this process's effective user).
    ForeignOwner {
        /// The name.
        name: String,
        /// The object's owner.
        owner: u32,
        /// The owner expected.
        expected: u32,
    },
    /// The object's permission bits are wider than its creator asked (see
    /// [`SegmentOptions::allow_wider_mode`]).
    ModeTooWide {
        /// The name.
        name: String,
        /// The object's permission bits.
        mode: u32,
        /// The bits its creator asked for.
        asked: u32,
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
    /// parameters need, or it is too short to hold the header.
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
    /// Shared segments do not exist in this build: it runs under a model checker
    /// (`--cfg synclab_loom` or `synclab_shuttle`), whose atomics cannot live in a mapping.
    /// Code that names segment types builds in every world; under a checker, check the designs
    /// in heap or model memory instead.
    CheckerWorld,
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
                "invalid segment name {name:?}: it must be '/' followed by 1 to 254 bytes, no '/' or NUL, and not '.' or '..'"
            ),
            OpenError::AlreadyExists { name, stale: false } => {
                write!(f, "segment {name} already exists and is in use")
            }
            OpenError::AlreadyExists { name, stale: true } => write!(
                f,
                "segment {name} already exists but no process holds it (left by a crashed creator; Segment::sweep removes it)"
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
            OpenError::ForeignOwner { name, owner, expected } => write!(
                f,
                "segment {name} belongs to user {owner}, not {expected} (SegmentOptions::owner names another owner)"
            ),
            OpenError::ModeTooWide { name, mode, asked } => write!(
                f,
                "segment {name} has mode {mode:#o}, wider than the {asked:#o} its creator asked for"
            ),
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
            OpenError::CheckerWorld => write!(
                f,
                "shared segments do not exist under a model checker (loom, shuttle): their atomics cannot live in a mapping"
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

/// What [`Segment::list`](super::Segment::list) found for a name.
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
