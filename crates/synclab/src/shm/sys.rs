//! The system calls of the segment layer, each behind a small safe function: descriptors that
//! close on drop, `flock`, `fstat`, `mmap`, block reservation, and the byte-range locks that
//! say whether a peer lives.

use std::ffi::CStr;
use std::io;

/// A descriptor that is closed on drop unless taken.
#[derive(Debug)]
pub(crate) struct Fd(pub(crate) libc::c_int);

impl Fd {
    /// Gives the descriptor up (the caller closes it).
    pub(crate) fn take(mut self) -> libc::c_int {
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

/// `shm_open(name, flags, mode)`, close-on-exec. (glibc adds `O_NOFOLLOW`: a symbolic link
/// planted under the name is refused.)
pub(crate) fn shm_open(name: &CStr, flags: libc::c_int, mode: u32) -> io::Result<Fd> {
    // SAFETY: `name` is a valid NUL-terminated string.
    let fd =
        unsafe { libc::shm_open(name.as_ptr(), flags | libc::O_CLOEXEC, mode as libc::mode_t) };
    if fd < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(Fd(fd))
    }
}

/// Opens the object behind our descriptor `fd` again, as a new open file description (its
/// own byte-range locks), through `/proc/self/fd`. Used by a forked child, which shares its
/// parent's descriptions.
pub(crate) fn reopen(fd: libc::c_int) -> io::Result<Fd> {
    let path = std::ffi::CString::new(format!("/proc/self/fd/{fd}"))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `path` is a valid NUL-terminated string.
    let new = unsafe { libc::open(path.as_ptr(), libc::O_RDWR | libc::O_CLOEXEC) };
    if new < 0 {
        return Err(io::Error::last_os_error());
    }
    let new = Fd(new);
    // The same object, not whatever the path resolves to now.
    let (a, b) = (fstat(fd)?, fstat(new.0)?);
    if (a.st_dev, a.st_ino) != (b.st_dev, b.st_ino) {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    Ok(new)
}

/// `flock(fd, op)`, retried on EINTR; `Ok(false)` if `LOCK_NB` was given and it would block.
pub(crate) fn flock(fd: libc::c_int, op: libc::c_int) -> io::Result<bool> {
    loop {
        // SAFETY: flock has no memory preconditions; a bad descriptor is an error.
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

/// `fstat(fd)`.
pub(crate) fn fstat(fd: libc::c_int) -> io::Result<libc::stat> {
    // SAFETY: all-zero is a valid `stat` for fstat to overwrite.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: `st` is writable; a bad descriptor is an error.
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

/// Sizes the object to `len` bytes and reserves its blocks, so that no page of it can fault
/// for want of space later: on a full tmpfs this is `ENOSPC` here, where a sparse object
/// (`ftruncate` alone) would kill the first process to touch the missing page with SIGBUS.
/// A file system that cannot reserve (`EOPNOTSUPP`) is sized only.
pub(crate) fn size_and_reserve(
    fd: libc::c_int,
    len: usize,
) -> Result<(), (&'static str, io::Error)> {
    // SAFETY: no memory preconditions; `len` fits in off_t (the caller checked isize::MAX).
    if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
        return Err(("ftruncate", io::Error::last_os_error()));
    }
    loop {
        // SAFETY: as above.
        match unsafe { libc::posix_fallocate(fd, 0, len as libc::off_t) } {
            0 => return Ok(()),
            libc::EINTR => continue,
            libc::EOPNOTSUPP | libc::EINVAL => return Ok(()),
            e => return Err(("posix_fallocate", io::Error::from_raw_os_error(e))),
        }
    }
}

/// Maps `len` bytes of `fd` shared, read-write, with its page tables filled in.
///
/// `MAP_POPULATE`: without it an opener's first touch of each page is a minor fault in the
/// middle of whatever operation touched it. It costs next
/// to no memory: a design's `build` writes every element of its regions in the creator, so
/// those pages exist anyway; it moves the faults to `create`/`open`.
pub(crate) fn map(fd: libc::c_int, len: usize) -> io::Result<*mut u8> {
    // SAFETY: a fresh mapping chosen by the kernel; a bad descriptor or length is an error.
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
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

/// `pread` of up to `buf.len()` bytes at `offset`; the count read.
pub(crate) fn pread(fd: libc::c_int, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    loop {
        // SAFETY: `buf` is writable for its length.
        let n = unsafe {
            libc::pread(
                fd,
                buf.as_mut_ptr().cast(),
                buf.len(),
                offset as libc::off_t,
            )
        };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// The one-byte range `byte` of an open-file-description lock request.
fn ofd_request(kind: libc::c_int, byte: u64) -> libc::flock {
    // SAFETY: all-zero is a valid `flock` (l_pid must be 0 for OFD locks).
    let mut fl: libc::flock = unsafe { core::mem::zeroed() };
    fl.l_type = kind as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = byte as libc::off_t;
    fl.l_len = 1;
    fl
}

/// Takes a write lock on byte `byte` of the object, for the open file description of `fd`
/// (`F_OFD_SETLK`): `Ok(false)` if another description holds it. The kernel drops it when the
/// last descriptor of that description closes — when its process exits or dies, however.
pub(crate) fn lock_byte(fd: libc::c_int, byte: u64) -> io::Result<bool> {
    let mut fl = ofd_request(libc::F_WRLCK, byte);
    // SAFETY: `fl` is a valid, writable `flock`.
    if unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &mut fl) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EACCES) => Ok(false),
        _ => Err(e),
    }
}

/// Releases our lock on byte `byte` (a no-op if we hold none).
pub(crate) fn unlock_byte(fd: libc::c_int, byte: u64) {
    let mut fl = ofd_request(libc::F_UNLCK, byte);
    // SAFETY: `fl` is a valid, writable `flock`; failure leaves a lock that goes with the fd.
    unsafe { libc::fcntl(fd, libc::F_OFD_SETLK, &mut fl) };
}

/// Whether some open file description other than `fd`'s holds a lock on byte `byte`
/// (`F_OFD_GETLK`). `None` if the kernel would not say.
pub(crate) fn byte_locked(fd: libc::c_int, byte: u64) -> Option<bool> {
    let mut fl = ofd_request(libc::F_WRLCK, byte);
    // SAFETY: `fl` is a valid, writable `flock`.
    if unsafe { libc::fcntl(fd, libc::F_OFD_GETLK, &mut fl) } != 0 {
        return None;
    }
    Some(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// The effective user id of this process.
pub(crate) fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// The calling thread's id (`gettid`), for diagnostics.
pub(crate) fn tid() -> u32 {
    // SAFETY: gettid has no preconditions and cannot fail.
    unsafe { libc::gettid() as u32 }
}
