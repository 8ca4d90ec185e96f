//! Finding and removing stale segments: those no process holds, because their creator
//! crashed before it removed the name (see the lifetime section of `segment.rs`).

use std::io;

use super::error::{OpenError, StaleCheck};
use super::mapping::Mapping;
use super::segment::{c_name, io_err, open_existing, plain_world, Segment, DATA_OFFSET, SHM_DIR};
use super::sys;

impl Segment {
    /// Whether segment `name` exists and whether any process holds it.
    pub(crate) fn inspect(name: &str) -> Result<StaleCheck, OpenError> {
        plain_world()?;
        let c = c_name(name)?;
        let fd = match open_existing(&c, name) {
            Err(OpenError::NotFound { .. }) => return Ok(StaleCheck::Missing),
            other => other?,
        };
        if !sys::flock(fd.0, libc::LOCK_EX | libc::LOCK_NB).map_err(|e| io_err("flock", name, e))? {
            return Ok(StaleCheck::InUse);
        }
        let st = sys::fstat(fd.0).map_err(|e| io_err("fstat", name, e))?;
        let (initialised, creator_pid) = if st.st_size as usize >= DATA_OFFSET {
            let probe = Mapping::probe(fd.0).map_err(|e| io_err("mmap", name, e))?;
            probe.header().finished_by()
        } else {
            (false, 0)
        };
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
    pub(crate) fn remove_stale(name: &str) -> Result<bool, OpenError> {
        plain_world()?;
        let c = c_name(name)?;
        let Ok(fd) = sys::shm_open(&c, libc::O_RDWR, 0) else {
            return Ok(false);
        };
        if !sys::flock(fd.0, libc::LOCK_EX | libc::LOCK_NB).map_err(|e| io_err("flock", name, e))? {
            return Ok(false);
        }
        // SAFETY: c is a valid NUL-terminated name.
        if unsafe { libc::shm_unlink(c.as_ptr()) } != 0 {
            return Err(io_err("shm_unlink", name, io::Error::last_os_error()));
        }
        Ok(true)
    }

    /// The segments whose names start with `prefix` (a `/` and the start of a name; `/` alone
    /// lists every shm object), each with whether a process holds it, sorted by name.
    /// A creator killed while creating may leave a temporary name, `/.synclab-new-<pid>-<n>`:
    /// list (and [`sweep`](Self::sweep)) that prefix to find them.
    ///
    /// ```
    /// # #[cfg(target_os = "linux")] {
    /// use synclab::shm::{Segment, StaleCheck};
    ///
    /// let prefix = format!("/synclab-doc-list-{}", std::process::id());
    /// for (name, state) in Segment::list(&prefix)? {
    ///     if state != StaleCheck::InUse {
    ///         println!("{name} is left over: {state:?}");
    ///     }
    /// }
    /// # }
    /// # Ok::<(), synclab::shm::OpenError>(())
    /// ```
    pub fn list(prefix: &str) -> Result<Vec<(String, StaleCheck)>, OpenError> {
        plain_world()?;
        let start = prefix
            .strip_prefix('/')
            .filter(|rest| !rest.contains('/') && !prefix.contains('\0'))
            .ok_or_else(|| OpenError::InvalidName {
                name: prefix.to_string(),
            })?;
        let entries = std::fs::read_dir(SHM_DIR).map_err(|e| io_err("read_dir", SHM_DIR, e))?;
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(file) = file.to_str().filter(|f| f.starts_with(start)) else {
                continue;
            };
            if !entry.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            let name = format!("/{file}");
            match Segment::inspect(&name) {
                // Gone since the directory was read, or not a name shm_open takes.
                Ok(StaleCheck::Missing) | Err(OpenError::InvalidName { .. }) => {}
                Ok(state) => found.push((name, state)),
                Err(e) => return Err(e),
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(found)
    }

    /// Removes every segment whose name starts with `prefix` and that no process holds; the
    /// names removed. The cleanup after a crash: segments in use are left alone.
    ///
    /// Each is removed holding its exclusive lock, so no process can be using it; one that
    /// opens the name meanwhile waits for the lock, then sees the object unlinked and looks
    /// the name up again.
    pub fn sweep(prefix: &str) -> Result<Vec<String>, OpenError> {
        let mut removed = Vec::new();
        for (name, state) in Segment::list(prefix)? {
            if matches!(state, StaleCheck::Stale { .. }) && Segment::remove_stale(&name)? {
                removed.push(name);
            }
        }
        Ok(removed)
    }
}
