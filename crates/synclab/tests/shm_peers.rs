//! Peers a segment meets in real deployments, across real processes: a child forked after the
//! segment was mapped (the pre-fork server pattern), holders in another PID namespace (two
//! containers sharing `/dev/shm`), a `/dev/shm` without room for the segment, and a peer that
//! shrinks the segment's object. Every wait has a deadline; no sleep is used as
//! synchronisation; a critical section checks, with plain (non-atomic) reads and writes of
//! the data the lock guards, that no one else is inside.
//!
//! The binary is its own child: with `SYNCLAB_PEER_ROLE=<role> <args>` in the environment,
//! `main` plays the child. Loops: `SYNCLAB_PEER_LOOPS` (default 200) for the fork and
//! namespace scenarios. The namespace and full-`/dev/shm` scenarios need `unshare(2)` of PID
//! and mount namespaces (root, or a user namespace that allows it); where it is refused they
//! are skipped with a message saying so.

#[cfg(target_os = "linux")]
#[path = "shared/process.rs"]
#[allow(dead_code)] // each test binary uses part of it
mod process;

use std::process::ExitCode;
#[cfg(target_os = "linux")]
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use process::{describe, read_instruction, report, wait_pid, Peer, ROLE_ENV};
#[cfg(target_os = "linux")]
use synclab::{
    array::{CondvarArray, LanedArray, LockFreeArray, SharedArray},
    lock::{Condvar, RobustFamily, RobustMutex},
    queue::{ArrayQueue, BlockingQueue, Duplex, MpmcQueue},
    shm::{InSegment, OpenError, Segment, SegmentOptions, Shared, Shm},
};

#[cfg(target_os = "linux")]
type ShmMutex = InSegment<RobustMutex<[u64; 2], Shm>>;

/// The longest any single step may take before the test reports a hang.
#[cfg(target_os = "linux")]
const DEADLINE: Duration = Duration::from_secs(10);

/// Markers written into the critical section by its holders.
#[cfg(target_os = "linux")]
const PARENT: u64 = 1;
#[cfg(target_os = "linux")]
const CHILD: u64 = 2;
#[cfg(target_os = "linux")]
const PROBE: u64 = 3;
#[cfg(target_os = "linux")]
const NS_HOLDER: u64 = 4;

/// What one run of a scenario found.
#[cfg(target_os = "linux")]
enum Run {
    /// It held; the duration is the scenario's own figure (e.g. kill → report).
    Ok(Duration),
    /// This machine does not allow what the scenario needs.
    Skip(String),
}

#[cfg(target_os = "linux")]
type Scenario = fn(usize) -> Result<Run, String>;

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    println!("shm peer tests: Linux only; 0 passed, 0 failed");
    ExitCode::SUCCESS
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(ROLE_ENV) {
        child(&spec);
    }
    let loops: usize = std::env::var("SYNCLAB_PEER_LOOPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let scenarios: [(&str, usize, Scenario); 5] = [
        (
            "a child forked while the parent holds the lock: dropping the inherited guard and handle releases nothing, and it contends as a peer of its own",
            loops,
            forked_child,
        ),
        (
            "a holder in its own PID namespace with its own /proc: alive, never judged dead; killed, reported OwnerDied",
            loops,
            |i| namespace_holder(i, true),
        ),
        (
            "a holder in its own PID namespace sharing the host's /proc: alive, never judged dead; killed, reported OwnerDied",
            loops,
            |i| namespace_holder(i, false),
        ),
        (
            "a segment larger than the free space in /dev/shm: a typed error at create, no SIGBUS",
            loops.min(20),
            full_dev_shm,
        ),
        (
            "a peer shrinks every design's object to 0 bytes: the owner's next operations return, no SIGBUS",
            loops.min(20),
            shrunk_objects,
        ),
    ];
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (what, runs, run) in scenarios {
        let start = Instant::now();
        let (mut ok, mut worst, mut total) = (0, Duration::ZERO, Duration::ZERO);
        let mut outcome = None;
        for i in 0..runs {
            match run(i) {
                Ok(Run::Ok(d)) => {
                    ok += 1;
                    worst = worst.max(d);
                    total += d;
                }
                Ok(Run::Skip(why)) => {
                    outcome = Some(format!("skipped: {why}"));
                    break;
                }
                Err(e) => {
                    outcome = Some(format!("FAILED at run {i}: {e}"));
                    break;
                }
            }
        }
        match outcome {
            None => {
                passed += 1;
                println!(
                    "test {what} ... ok ({ok}/{runs} runs in {:.2} s; per run: mean {:.0} µs, worst {:.0} µs)",
                    start.elapsed().as_secs_f64(),
                    total.as_secs_f64() * 1e6 / ok.max(1) as f64,
                    worst.as_secs_f64() * 1e6
                );
            }
            Some(s) if s.starts_with("skipped") => {
                skipped += 1;
                println!("test {what} ... {s}");
            }
            Some(s) => {
                failed += 1;
                println!("test {what} ... {s}");
            }
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed; {skipped} skipped",
        if failed == 0 { "ok" } else { "FAILED" }
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(target_os = "linux")]
fn options() -> SegmentOptions {
    SegmentOptions::new().ready_timeout(DEADLINE)
}

#[cfg(target_os = "linux")]
fn segment_name(what: &str, i: usize) -> String {
    format!("/synclab-peers-{}-{what}-{i}", std::process::id())
}

#[cfg(target_os = "linux")]
fn err(e: OpenError) -> String {
    e.to_string()
}

/// The critical section's check, on the data the lock guards: it must find no marker, leave
/// its own, and find it still there after a while; plain volatile reads and writes, so a
/// second holder inside shows. Returns whether another holder was seen.
#[cfg(target_os = "linux")]
fn critical(data: &mut [u64; 2], me: u64) -> bool {
    let marker: *mut u64 = &mut data[0];
    // SAFETY: `marker` points into the data the caller's guard gives it.
    unsafe {
        let mut overlap = marker.read_volatile() != 0;
        marker.write_volatile(me);
        for _ in 0..300 {
            std::hint::spin_loop();
        }
        overlap |= marker.read_volatile() != me;
        marker.write_volatile(0);
        overlap
    }
}

/// `rounds` turns through the critical section; the number of overlaps seen (a lock taken
/// with `OwnerDied` while nobody died counts as one too).
#[cfg(target_os = "linux")]
fn contend(m: &ShmMutex, me: u64, rounds: usize) -> u32 {
    let mut overlaps = 0;
    for round in 0..rounds {
        match m.lock_checked() {
            Ok(mut guard) => overlaps += u32::from(critical(&mut guard, me)),
            Err(died) => {
                overlaps += 1;
                drop(died.make_consistent());
            }
        }
        if round % 8 == 0 {
            std::thread::yield_now();
        }
    }
    overlaps
}

/// The child's side of every scenario.
#[cfg(target_os = "linux")]
fn child(spec: &str) -> ! {
    let mut words = spec.split(' ');
    let role = words.next().unwrap_or_default();
    let args: Vec<&str> = words.collect();
    match role {
        "probe" => probe(args[0]),
        "ns-holder" => ns_holder(args[0], args[1] == "own-proc"),
        "full-shm" => full_shm_child(args[0]),
        "shrink" => shrink_child(args[0]),
        _ => panic!("unknown child role {role}"),
    }
}

// --- fork -----------------------------------------------------------------------------------

/// A third process: opens the mutex and, told to, tries to get in.
#[cfg(target_os = "linux")]
fn probe(name: &str) -> ! {
    let m = Shared::<ShmMutex>::open(name, &options()).expect("open the mutex");
    report("ready");
    while let Some(line) = read_instruction() {
        match line.as_str() {
            "go" => {
                // The parent is inside: try to get in, by a free word or by taking over.
                let mut entered = 0;
                for _ in 0..20 {
                    if let Some(got) = m.try_lock_checked() {
                        entered += 1;
                        drop(got.unwrap_or_else(|died| died.make_consistent()));
                    }
                    std::thread::sleep(Duration::from_micros(300));
                }
                report(&format!("entered {entered}"));
            }
            "contend" => report(&format!("overlaps {}", contend(&m, PROBE, 200))),
            _ => break,
        }
    }
    std::process::exit(0)
}

#[cfg(target_os = "linux")]
fn forked_child(i: usize) -> Result<Run, String> {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let name = segment_name("fork", i);
    let m = Shared::<ShmMutex>::create(&name, &[0, 0], &options()).map_err(err)?;
    // Take part once, so that this thread has its attach entry and its tag cached — what a
    // child forked later inherits.
    drop(
        m.lock_checked()
            .map_err(|_| "a fresh lock reported OwnerDied")?,
    );
    let mut probe = Peer::spawn("probe", &[&name], None).map_err(|e| format!("spawn: {e}"))?;
    probe.expect("ready", deadline)?;
    let mut guard = m.lock_checked().map_err(|_| "OwnerDied with nobody dead")?;
    guard[0] = PARENT;
    // SAFETY: this process has one thread (this binary runs no harness and this scenario
    // starts none); the child uses the library, exits, and touches nothing else.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // The child. The guard is the parent's hold: dropping it must release nothing.
        drop(guard);
        // A peer of its own: the parent holds the lock, so it must not get in.
        let code = if m.try_lock_checked().is_some() { 3 } else { 0 };
        // Its copy of the handle goes (the mapping, and the entry it claimed just now), and
        // its exit runs the thread-local destructors.
        drop(m);
        std::process::exit(code);
    }
    let status = wait_pid(pid, deadline)?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        return Err(
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 3 {
                "the forked child got the lock its parent holds (its dropped guard released it, or it shares the parent's tag)".into()
            } else {
                format!("the forked child ended with wait status {status:#x}")
            },
        );
    }
    // The parent is still inside: the third process must not get in.
    probe.say("go")?;
    let entered = probe.line(deadline)?;
    if entered != "entered 0" {
        return Err(format!(
            "a third process entered the critical section the parent holds ({entered}): the child's exit released the parent's attach entry or lock"
        ));
    }
    if guard[0] != PARENT {
        return Err("the parent's critical section was entered (its marker changed)".into());
    }
    guard[0] = 0;
    drop(guard);
    // All three contend: the parent, a child forked now, and the third process.
    // SAFETY: as above.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        let overlaps = contend(&m, CHILD, 200);
        drop(m);
        std::process::exit(overlaps.min(100) as i32);
    }
    probe.say("contend")?;
    let mine = contend(&m, PARENT, 200);
    let status = wait_pid(pid, deadline)?;
    let theirs = probe.line(deadline)?;
    probe.say("bye")?;
    let probe_status = probe.wait(deadline)?;
    if !libc::WIFEXITED(status) {
        return Err(format!(
            "the second child ended with wait status {status:#x}"
        ));
    }
    let child_overlaps = libc::WEXITSTATUS(status);
    if mine != 0 || child_overlaps != 0 || theirs != "overlaps 0" || !probe_status.success() {
        return Err(format!(
            "overlapping critical sections: parent saw {mine}, child {child_overlaps}, third process {theirs:?} ({})",
            describe(probe_status)
        ));
    }
    Ok(Run::Ok(started.elapsed()))
}

// --- PID namespaces -------------------------------------------------------------------------

/// Between fork and exec: a new PID namespace for the children of the exec'd process.
#[cfg(target_os = "linux")]
fn unshare_pid() -> std::io::Result<()> {
    // SAFETY: unshare is a system call, allowed between fork and exec.
    if unsafe { libc::unshare(libc::CLONE_NEWPID) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Between fork and exec: new PID and mount namespaces (for a /proc of its own).
#[cfg(target_os = "linux")]
fn unshare_pid_and_mounts() -> std::io::Result<()> {
    // SAFETY: as above.
    if unsafe { libc::unshare(libc::CLONE_NEWPID | libc::CLONE_NEWNS) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The child in the parent's namespace forks the holder, pid 1 of the new namespace, and
/// reports its pid (as the host sees it); the holder locks, reports, and waits to be killed.
#[cfg(target_os = "linux")]
fn ns_holder(name: &str, own_proc: bool) -> ! {
    // SAFETY: this process has one thread.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // Dies with its parent, so that a failing run leaves no namespace behind.
        // SAFETY: prctl with an integer argument.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
        if own_proc {
            // SAFETY: mount(2) with valid C strings: make our mounts private, then a /proc of
            // this namespace over the host's.
            unsafe {
                libc::mount(
                    c"none".as_ptr(),
                    c"/".as_ptr(),
                    core::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    core::ptr::null(),
                );
                if libc::mount(
                    c"proc".as_ptr(),
                    c"/proc".as_ptr(),
                    c"proc".as_ptr(),
                    0,
                    core::ptr::null(),
                ) != 0
                {
                    report("no-proc");
                    libc::_exit(1);
                }
            }
        }
        let m = Shared::<ShmMutex>::open(name, &options()).expect("open the mutex");
        let mut guard = m
            .lock_checked()
            .unwrap_or_else(|died| died.make_consistent());
        guard[0] = NS_HOLDER;
        core::mem::forget(guard);
        report("locked");
        loop {
            std::thread::park();
        }
    }
    report(&format!("pid {pid}"));
    let mut status = 0;
    // SAFETY: our own child.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    std::process::exit(0)
}

#[cfg(target_os = "linux")]
fn namespace_holder(i: usize, own_proc: bool) -> Result<Run, String> {
    let deadline = Instant::now() + DEADLINE;
    let name = segment_name(if own_proc { "ns-own" } else { "ns-host" }, i);
    let m = Shared::<ShmMutex>::create(&name, &[0, 0], &options()).map_err(err)?;
    let (mode, unshare): (&str, fn() -> std::io::Result<()>) = if own_proc {
        ("own-proc", unshare_pid_and_mounts)
    } else {
        ("host-proc", unshare_pid)
    };
    let mut holder = match Peer::spawn("ns-holder", &[&name, mode], Some(unshare)) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Run::Skip(format!(
                "unshare(CLONE_NEWPID{}) is not permitted here ({e})",
                if own_proc { " | CLONE_NEWNS" } else { "" }
            )))
        }
    };
    let (mut pid, mut locked) = (None, false);
    while pid.is_none() || !locked {
        let line = holder.line(deadline)?;
        match line.split_once(' ') {
            Some(("pid", p)) => pid = p.parse::<libc::pid_t>().ok(),
            _ if line == "locked" => locked = true,
            _ if line == "no-proc" => {
                return Ok(Run::Skip(
                    "mounting a /proc for the new PID namespace is not permitted here".into(),
                ))
            }
            _ => return Err(format!("the holder said {line:?}")),
        }
    }
    let pid = pid.ok_or("no pid")?;
    // Alive: the holder must never be judged dead.
    for _ in 0..20 {
        if let Some(got) = m.try_lock_checked() {
            let inside = match &got {
                Ok(g) => g[0],
                Err(_) => NS_HOLDER,
            };
            return Err(format!(
                "the live holder in another PID namespace was judged dead: this process entered its critical section ({}, marker {inside})",
                if got.is_ok() { "a free word" } else { "OwnerDied" }
            ));
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    // Dead: killed, it must be reported, not waited for.
    // SAFETY: kill(2) of the holder, a grandchild of ours (pid as this namespace sees it).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = holder.wait(deadline)?;
    if !status.success() {
        return Err(format!(
            "the holder's parent ended with {}",
            describe(status)
        ));
    }
    let killed = Instant::now();
    let within = killed + Duration::from_secs(2);
    loop {
        match m.try_lock_checked() {
            Some(Err(mut died)) => {
                let marker = died.guard()[0];
                drop(died.make_consistent());
                if marker != NS_HOLDER {
                    return Err(format!("the dead holder's write was not visible (marker {marker})"));
                }
                return Ok(Run::Ok(killed.elapsed()));
            }
            Some(Ok(_)) => return Err("the lock of a dead holder was taken without OwnerDied".into()),
            None if Instant::now() < within => std::thread::sleep(Duration::from_micros(200)),
            None => {
                return Err(
                    "the dead holder in another PID namespace was not declared dead within 2 s: survivors would hang".into(),
                )
            }
        }
    }
}

// --- a full /dev/shm ------------------------------------------------------------------------

/// Between fork and exec: a mount namespace of its own with a 16 MiB tmpfs on /dev/shm.
#[cfg(target_os = "linux")]
fn small_dev_shm() -> std::io::Result<()> {
    // SAFETY: system calls with valid C strings, between fork and exec.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0
            || libc::mount(
                c"none".as_ptr(),
                c"/".as_ptr(),
                core::ptr::null(),
                libc::MS_REC | libc::MS_PRIVATE,
                core::ptr::null(),
            ) != 0
            || libc::mount(
                c"tmpfs".as_ptr(),
                c"/dev/shm".as_ptr(),
                c"tmpfs".as_ptr(),
                0,
                c"size=16m".as_ptr().cast(),
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// A queue of 2^20 64-byte messages: about 72 MiB.
#[cfg(target_os = "linux")]
type BigQueue = ArrayQueue<[u64; 8], Shm>;

#[cfg(target_os = "linux")]
fn full_shm_child(name: &str) -> ! {
    match Shared::<BigQueue>::create(name, &(1 << 20), &options()) {
        Err(OpenError::Io { op, source, .. }) if source.raw_os_error() == Some(libc::ENOSPC) => {
            report(&format!("refused {op} ENOSPC"))
        }
        Err(e) => report(&format!("unexpected error {e}")),
        Ok(_) => report("created"),
    }
    // What fits still works.
    let small = Shared::<BigQueue>::create(&format!("{name}-small"), &16, &options());
    let works = small.is_ok_and(|q| q.try_push([7; 8]).is_ok() && q.try_pop() == Some([7; 8]));
    report(if works { "small ok" } else { "small failed" });
    std::process::exit(0)
}

#[cfg(target_os = "linux")]
fn full_dev_shm(i: usize) -> Result<Run, String> {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let name = segment_name("full", i);
    let mut creator = match Peer::spawn("full-shm", &[&name], Some(small_dev_shm)) {
        Ok(p) => p,
        Err(e) => {
            return Ok(Run::Skip(format!(
                "a mount namespace with a 16 MiB tmpfs on /dev/shm is not permitted here ({e})"
            )))
        }
    };
    let first = creator.line(deadline);
    let second = creator.line(deadline);
    let status = creator.wait(deadline)?;
    if !status.success() {
        return Err(format!(
            "the creator ended with {} (it said {first:?})",
            describe(status)
        ));
    }
    match (first?.as_str(), second?.as_str()) {
        (refused, "small ok") if refused.starts_with("refused") && refused.ends_with("ENOSPC") => {
            Ok(Run::Ok(started.elapsed()))
        }
        (a, b) => Err(format!("the creator said {a:?}, {b:?}")),
    }
}

// --- a peer shrinks the objects ---------------------------------------------------------------

#[cfg(target_os = "linux")]
type ClaimArray = LockFreeArray<u64, Shm>;
#[cfg(target_os = "linux")]
type Laned = LanedArray<u64, Shm>;
#[cfg(target_os = "linux")]
type Ring = Duplex<u64, Shm>;
#[cfg(target_os = "linux")]
type Queue = ArrayQueue<u64, Shm>;
#[cfg(target_os = "linux")]
type Blocking = BlockingQueue<u64, Queue>;
#[cfg(target_os = "linux")]
type CvArray = CondvarArray<u64, RobustFamily<Shm>, Shm>;
#[cfg(target_os = "linux")]
type Cv = InSegment<Condvar<Shm>>;

/// The designs of the shrink scenario, in the order the child creates them.
#[cfg(target_os = "linux")]
const DESIGNS: [&str; 8] = [
    "mutex", "array", "lanes", "duplex", "queue", "blocking", "cvarray", "condvar",
];

/// Creates one segment of every design, waits for the parent to shrink them, and operates
/// on each.
#[cfg(target_os = "linux")]
fn shrink_child(prefix: &str) -> ! {
    let o = options();
    let n = |d: &str| format!("{prefix}-{d}");
    let mutex = Shared::<ShmMutex>::create(&n("mutex"), &[0, 0], &o).expect("mutex");
    let array = Shared::<ClaimArray>::create(&n("array"), &4, &o).expect("array");
    let lanes = Shared::<Laned>::create(&n("lanes"), &[8, 2], &o).expect("lanes");
    let duplex = Shared::<Ring>::create(&n("duplex"), &4, &o).expect("duplex");
    let queue = Shared::<Queue>::create(&n("queue"), &4, &o).expect("queue");
    let blocking = Shared::<Blocking>::create(&n("blocking"), &4, &o).expect("blocking");
    let cvarray = Shared::<CvArray>::create(&n("cvarray"), &4, &o).expect("cvarray");
    let condvar = Shared::<Cv>::create(&n("condvar"), &0, &o).expect("condvar");
    // Some state before the damage.
    array.publish(0, 1).expect("publish");
    queue.try_push(1).expect("push");
    report("ready");
    if read_instruction().as_deref() != Some("go") {
        std::process::exit(2);
    }
    let wait = Duration::from_millis(10);
    {
        let first = mutex.try_lock_checked().map(|g| g.is_ok());
        let second = mutex.lock_checked().is_ok();
        report(&format!("ok mutex {first:?} {second}"));
    }
    report(&format!(
        "ok array {:?} {:?}",
        array.publish(1, 7).is_ok(),
        array.get_ref(0).map(|v| v.copied())
    ));
    let published = lanes.lane(0).map(|lane| lane.publish(0, 3).is_ok());
    report(&format!("ok lanes {published:?}"));
    let sent = duplex.end(0).map(|mut end| end.try_send(5).is_ok());
    let got = duplex.end(1).map(|mut end| end.try_recv());
    report(&format!("ok duplex {sent:?} {got:?}"));
    report(&format!(
        "ok queue {:?} {:?} {:?}",
        queue.try_push(2),
        queue.try_pop(),
        queue.try_pop()
    ));
    report(&format!(
        "ok blocking {:?} {:?} {:?}",
        blocking.try_push(2).is_ok(),
        blocking.pop_timeout(wait),
        blocking.pop_timeout(wait)
    ));
    report(&format!(
        "ok cvarray {:?} {:?} {:?}",
        cvarray.publish(1, 1).is_ok(),
        cvarray.try_get(1),
        cvarray.wait_timeout(2, wait)
    ));
    condvar.notify_all();
    report("ok condvar");
    report("done");
    // Keep the segments (and their names) until the parent has looked; then drop them, which
    // removes their names (`exit` runs no destructor).
    let _ = read_instruction();
    drop((
        mutex, array, lanes, duplex, queue, blocking, cvarray, condvar,
    ));
    std::process::exit(0)
}

#[cfg(target_os = "linux")]
fn shrunk_objects(i: usize) -> Result<Run, String> {
    let started = Instant::now();
    let deadline = started + DEADLINE;
    let prefix = segment_name("shrink", i);
    let mut owner = Peer::spawn("shrink", &[&prefix], None).map_err(|e| format!("spawn: {e}"))?;
    owner.expect("ready", deadline)?;
    // The peer: plain std::fs, as any process allowed to write the objects could.
    for design in DESIGNS {
        std::fs::OpenOptions::new()
            .write(true)
            .open(format!("/dev/shm{prefix}-{design}"))
            .and_then(|f| f.set_len(0))
            .map_err(|e| format!("shrinking {design}: {e}"))?;
    }
    owner.say("go")?;
    let mut seen = Vec::new();
    loop {
        match owner.line(deadline) {
            Ok(line) if line == "done" => break,
            Ok(line) => seen.push(line),
            Err(e) => {
                let status = owner.wait(deadline)?;
                return Err(format!(
                    "the owner ended with {} after {} of {} designs ({e}; it said {seen:?})",
                    describe(status),
                    seen.len(),
                    DESIGNS.len()
                ));
            }
        }
    }
    // A later opener finds what is left (zeroes): a typed error, not garbage.
    let reopened = Shared::<ShmMutex>::open(&format!("{prefix}-mutex"), &options());
    owner.say("bye")?;
    let status = owner.wait(deadline)?;
    if !status.success() {
        return Err(format!("the owner ended with {}", describe(status)));
    }
    if seen.len() != DESIGNS.len() {
        return Err(format!("the owner reported {seen:?}"));
    }
    // The owner's handles removed their names as they dropped, shrunk objects or not.
    let left = Segment::list(&format!("{prefix}-")).map_err(err)?;
    if !left.is_empty() {
        return Err(format!("the owner left names behind: {left:?}"));
    }
    match reopened {
        Err(OpenError::NotASegment { .. }) | Err(OpenError::SizeMismatch { .. }) => {
            Ok(Run::Ok(started.elapsed()))
        }
        other => Err(format!("a later opener of a shrunk segment got {other:?}")),
    }
}
