//! Child processes for the multi-process tests: a test binary that re-executes itself in a
//! role, talks to it over its stdin and stdout one line at a time, and never waits on it
//! without a deadline.

use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that tells the binary which role to play.
pub const ROLE_ENV: &str = "SYNCLAB_PEER_ROLE";

/// A child playing a role; SIGKILLed and reaped when dropped, so a failing run leaves none
/// behind.
pub struct Peer {
    child: Option<Child>,
    /// Bytes read from the child's stdout and not yet returned as a line.
    pending: Vec<u8>,
}

impl Peer {
    /// Starts this binary in `role` (with `args`), running `before_exec` in the child between
    /// fork and exec (for `unshare`, `mount`): `Err` with the OS error if that fails.
    pub fn spawn(
        role: &str,
        args: &[&str],
        before_exec: Option<fn() -> std::io::Result<()>>,
    ) -> std::io::Result<Peer> {
        // /proc/self/exe: this very binary, even if a rebuild has replaced the file meanwhile.
        let mut command = Command::new("/proc/self/exe");
        command
            .env(
                ROLE_ENV,
                std::iter::once(role)
                    .chain(args.iter().copied())
                    .collect::<Vec<_>>()
                    .join(" "),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(f) = before_exec {
            // SAFETY: the closure runs between fork and exec; the functions passed here only
            // make system calls (unshare, mount), which is allowed there.
            unsafe { command.pre_exec(f) };
        }
        Ok(Peer {
            child: Some(command.spawn()?),
            pending: Vec::new(),
        })
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("a live peer")
    }

    /// Sends one line to the child's stdin.
    pub fn say(&mut self, line: &str) -> Result<(), String> {
        let stdin = self.child().stdin.as_mut().ok_or("no stdin")?;
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .map_err(|e| format!("writing to the child: {e}"))
    }

    /// The child's next line on stdout, waiting until `deadline` at most.
    pub fn line(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            if let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                return Ok(String::from_utf8_lossy(&line).trim().to_string());
            }
            let fd = self.child().stdout.as_ref().ok_or("no stdout")?.as_raw_fd();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err("the child did not report within the deadline: a hang".into());
            }
            let mut poll = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let ready =
                unsafe { libc::poll(&mut poll, 1, left.as_millis().min(i32::MAX as u128) as i32) };
            if ready <= 0 {
                continue;
            }
            let mut buf = [0u8; 512];
            // SAFETY: `buf` is writable for its length.
            let n = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                let status = self.child().try_wait();
                return Err(format!("the child closed its stdout ({status:?})"));
            }
            self.pending.extend_from_slice(&buf[..n as usize]);
        }
    }

    /// Waits for the next line and checks that it is `expected`.
    pub fn expect(&mut self, expected: &str, deadline: Instant) -> Result<(), String> {
        let line = self.line(deadline)?;
        if line == expected {
            Ok(())
        } else {
            Err(format!("the child said {line:?}, not {expected:?}"))
        }
    }

    /// Waits for the child to exit, until `deadline`.
    pub fn wait(mut self, deadline: Instant) -> Result<ExitStatus, String> {
        let mut child = self.child.take().expect("a live peer");
        drop(child.stdin.take());
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_micros(200))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("the child did not exit within the deadline: a hang".into());
                }
                Err(e) => return Err(format!("wait: {e}")),
            }
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What an exit status says, for a report.
pub fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(libc::SIGBUS)) => "killed by SIGBUS".into(),
        (None, Some(libc::SIGSEGV)) => "killed by SIGSEGV".into(),
        (None, Some(libc::SIGABRT)) => {
            "killed by SIGABRT (a panic that aborts, or an abort)".into()
        }
        (None, Some(signal)) => format!("killed by signal {signal}"),
        (None, None) => "no status".into(),
    }
}

/// Waits for process `pid` (a child of this process, made by `fork`) until `deadline`; its
/// raw wait status.
pub fn wait_pid(pid: libc::pid_t, deadline: Instant) -> Result<i32, String> {
    loop {
        let mut status = 0;
        // SAFETY: `status` is writable; WNOHANG never blocks.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if r == pid {
            return Ok(status);
        }
        if r < 0 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        if Instant::now() >= deadline {
            // SAFETY: our own child.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err("the forked child did not exit within the deadline: a hang".into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Reads one line from this process's stdin (a child's instructions); `None` at the end.
pub fn read_instruction() -> Option<String> {
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()),
    }
}

/// Writes one line to stdout at once (a child's report).
pub fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
