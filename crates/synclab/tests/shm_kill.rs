//! Owner death across real processes: a child started with `std::process::Command` takes a
//! lock or starts a publish in a shared segment, tells the parent through a pipe (its
//! stdout), and is killed with SIGKILL; the parent's next operation must report the death —
//! never hang. Every wait has a deadline; no sleep is used as synchronisation.
//!
//! The binary is its own child: with `SYNCLAB_KILL_CHILD=<role> <segment>` in the
//! environment, `main` plays the child. Loops: `SYNCLAB_KILL_LOOPS` (default 200) per
//! scenario.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[cfg(target_os = "linux")]
use synclab::{
    array::{CondvarArray, LanedArray, LockFreeArray, PublishError, SharedArray, SlotWaitError},
    fault::{DuplexStep, Dying, Probe, PublishStep, QueueStep},
    lock::{RobustFamily, RobustMutex},
    queue::{ArrayQueue, BlockingQueue, Duplex, SpinRecvError},
    shm::{InSegment, SegmentOptions, Shared, Shm},
};

#[cfg(target_os = "linux")]
type ShmMutex = InSegment<RobustMutex<[u64; 2], Shm>>;
#[cfg(target_os = "linux")]
type ShmArray = LockFreeArray<u64, Shm>;
/// A laned array in a segment: slot `i` belongs to lane `i mod 2`.
type ShmLanes = LanedArray<u64, Shm>;
/// A duplex ring in a segment.
#[cfg(target_os = "linux")]
type ShmDuplex = Duplex<u64, Shm>;
#[cfg(target_os = "linux")]
type ShmCondvarArray = CondvarArray<u64, RobustFamily<Shm>, Shm>;
/// A 64-byte message.
#[cfg(target_os = "linux")]
type Message = [u64; 8];
#[cfg(target_os = "linux")]
type ShmQueue = BlockingQueue<Message, ArrayQueue<Message, Shm>>;

/// One run of a scenario: the time from the kill to the survivor's report, or what went wrong.
#[cfg(target_os = "linux")]
type Scenario = fn(usize) -> Result<Duration, String>;

const CHILD_ENV: &str = "SYNCLAB_KILL_CHILD";
/// The longest any single step may take before the test reports a hang.
const DEADLINE: Duration = Duration::from_secs(10);

#[cfg(not(target_os = "linux"))]
fn main() -> ExitCode {
    println!("shm kill tests: Linux only; 0 passed, 0 failed");
    ExitCode::SUCCESS
}

#[cfg(target_os = "linux")]
fn main() -> ExitCode {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
    }
    let loops: usize = std::env::var("SYNCLAB_KILL_LOOPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let scenarios: [(&str, Scenario); 10] = [
        (
            "lock holder killed; the next lock reports OwnerDied",
            lock_holder_killed,
        ),
        (
            "lock holder killed while a waiter sleeps; the sleeper gets OwnerDied",
            lock_holder_killed_with_sleeper,
        ),
        (
            "publisher killed after its claim; the reader gets PublisherDied",
            |i| publisher_killed(i, PublishStep::AfterClaim),
        ),
        (
            "publisher killed after writing, before publishing; the reader gets PublisherDied",
            |i| publisher_killed(i, PublishStep::AfterWrite),
        ),
        (
            "lane holder killed after writing, before publishing; the reader gets PublisherDied and takes the lane over",
            lane_holder_killed,
        ),
        (
            "duplex end holder killed after writing, before its stamp; the peer's spin reports PeerDied and a successor resends",
            |i| duplex_holder_killed(i, Stop::AfterWrite),
        ),
        (
            "duplex end holder killed after its stamp, before its record; the value arrives once and a successor goes on",
            |i| duplex_holder_killed(i, Stop::AfterStamp),
        ),
        (
            "producer killed after claiming a queue slot; consumers pop past it",
            producer_killed_mid_push,
        ),
        (
            "consumer killed after claiming a queue slot; producers reuse it",
            consumer_killed_mid_pop,
        ),
        (
            "condvar-array publisher killed holding the lock mid-publish; the slot reads empty",
            condvar_publisher_killed,
        ),
    ];
    let (mut passed, mut failed) = (0, 0);
    for (what, run) in scenarios {
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        let mut total = Duration::ZERO;
        let mut ok = 0;
        for i in 0..loops {
            match run(i) {
                Ok(detect) => {
                    ok += 1;
                    worst = worst.max(detect);
                    total += detect;
                }
                Err(e) => {
                    println!("test {what} ... FAILED at run {i}: {e}");
                    break;
                }
            }
        }
        if ok == loops {
            passed += 1;
            println!(
                "test {what} ... ok ({ok}/{loops} runs in {:.2} s; kill → report: mean {:.0} µs, worst {:.0} µs)",
                start.elapsed().as_secs_f64(),
                total.as_secs_f64() * 1e6 / ok.max(1) as f64,
                worst.as_secs_f64() * 1e6
            );
        } else {
            failed += 1;
        }
    }
    println!(
        "\ntest result: {}. {passed} passed; {failed} failed",
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

/// The child's side: do the step, say so on stdout, then wait to be killed.
#[cfg(target_os = "linux")]
fn child(spec: &str) -> ! {
    let (role, name) = spec.split_once(' ').expect("role and segment name");
    let say = |what: &str| {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{what}").expect("parent's pipe");
        out.flush().expect("parent's pipe");
    };
    // Each arm returns its segment, so it stays mapped (and attached) until the SIGKILL.
    let _keep: Box<dyn std::any::Any> = match role {
        "lock" => {
            let m = Shared::<ShmMutex>::open(name, &options()).expect("open mutex segment");
            let mut guard = m
                .lock_checked()
                .unwrap_or_else(|died| died.into_inconsistent());
            guard[0] = 1; // half of an update: the parent must see it, and know it is half
            core::mem::forget(guard);
            say("locked");
            Box::new(m)
        }
        "claim" | "write" => {
            let a = Shared::<ShmArray>::open(name, &options()).expect("open array segment");
            let step = if role == "claim" {
                PublishStep::AfterClaim
            } else {
                PublishStep::AfterWrite
            };
            a.run_dying((0, 42, step)).expect("fresh slot");
            say("claimed");
            Box::new(a)
        }
        "lane" => {
            let a = Shared::<ShmLanes>::open(name, &options()).expect("open laned segment");
            let lane = a.lane(0).expect("lane 0 is free");
            lane.publish(0, 41).expect("fresh slot");
            lane.run_dying((2, 42)).expect("fresh slot");
            // Held until the SIGKILL: the owner word keeps naming this thread.
            core::mem::forget(lane);
            say("claimed");
            Box::new(a)
        }
        "duplex-write" | "duplex-stamp" => {
            let d = Shared::<ShmDuplex>::open(name, &options()).expect("open duplex segment");
            let mut end = d.end(0).expect("end 0 is free");
            end.try_send(41).expect("room");
            let step = if role == "duplex-write" {
                DuplexStep::SendAfterWrite(42)
            } else {
                DuplexStep::SendAfterStamp(42)
            };
            // Leaks the end: held until the SIGKILL, its owner word naming this thread.
            end.run_dying(step).expect("room");
            say("claimed");
            Box::new(d)
        }
        "push" => {
            let q = Shared::<ShmQueue>::open(name, &options()).expect("open queue segment");
            q.push([1; 8]).expect("open queue");
            assert!(
                q.inner().run_dying(QueueStep::PushAfterClaim([2; 8])),
                "room"
            );
            say("claimed");
            Box::new(q)
        }
        "pop" => {
            let q = Shared::<ShmQueue>::open(name, &options()).expect("open queue segment");
            assert!(q.inner().run_dying(QueueStep::PopAfterClaim), "an item");
            say("claimed");
            Box::new(q)
        }
        "condvar" => {
            let a = Shared::<ShmCondvarArray>::open(name, &options()).expect("open array segment");
            a.run_dying((0, 42)).expect("fresh slot");
            say("claimed");
            Box::new(a)
        }
        _ => panic!("unknown child role {role}"),
    };
    // Keep every segment mapped and every lock held until the parent's SIGKILL.
    loop {
        std::thread::park();
    }
}

/// A child that is SIGKILLed and reaped when dropped, so a failing run leaves none behind.
#[cfg(target_os = "linux")]
struct Killed(Option<Child>);

#[cfg(target_os = "linux")]
impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(target_os = "linux")]
fn spawn_child(role: &str, segment: &str) -> Result<Killed, String> {
    // /proc/self/exe: this very binary, even if a rebuild has replaced the file meanwhile.
    Command::new("/proc/self/exe")
        .env(CHILD_ENV, format!("{role} {segment}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map(|c| Killed(Some(c)))
        .map_err(|e| format!("spawn: {e}"))
}

/// Waits (with the deadline) for the child's one line on its stdout.
#[cfg(target_os = "linux")]
fn await_line(child: &mut Killed) -> Result<String, String> {
    let child = child.0.as_mut().ok_or("no child")?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(DEADLINE) {
        Ok(line) if !line.is_empty() => Ok(line.trim().to_string()),
        Ok(_) => Err(format!(
            "child exited without reporting: {:?}",
            child.try_wait()
        )),
        Err(_) => Err("the child did not report within the deadline".into()),
    }
}

/// SIGKILLs the child and reaps it.
#[cfg(target_os = "linux")]
fn kill(mut child: Killed) -> Result<(), String> {
    let mut child = child.0.take().ok_or("no child")?;
    child.kill().map_err(|e| format!("kill: {e}"))?;
    child.wait().map_err(|e| format!("wait: {e}"))?;
    Ok(())
}

/// Runs `f` on a thread and waits for its result until the deadline; a hang is an error
/// (the thread is left behind and the process exits at the end with a failure).
#[cfg(target_os = "linux")]
fn within<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(DEADLINE)
        .map_err(|_| format!("no answer within {DEADLINE:?}: a hang"))
}

#[cfg(target_os = "linux")]
fn segment_name(what: &str, i: usize) -> String {
    format!("/synclab-kill-{}-{what}-{i}", std::process::id())
}

#[cfg(target_os = "linux")]
fn lock_holder_killed(i: usize) -> Result<Duration, String> {
    let name = segment_name("lock", i);
    let m = Shared::<ShmMutex>::create(&name, &[0, 0], &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child("lock", &name)?;
    let line = await_line(&mut child)?;
    if line != "locked" {
        return Err(format!("child said {line:?}"));
    }
    kill(child)?;
    let killed = Instant::now();
    let reopened = Shared::<ShmMutex>::open(&name, &options()).map_err(|e| e.to_string())?;
    let (died, seen) = within(move || {
        let r = match reopened.lock_checked() {
            Ok(g) => (false, g[0]),
            Err(mut died) => {
                let seen = died.guard()[0];
                drop(died.make_consistent());
                (true, seen)
            }
        };
        let clean = reopened.lock_checked().is_ok();
        (r.0 && clean, r.1)
    })?;
    let detect = killed.elapsed();
    drop(m);
    match (died, seen) {
        (true, 1) => Ok(detect),
        (false, _) => {
            Err("the next lock did not report OwnerDied (or the one after it was not clean)".into())
        }
        (true, v) => Err(format!(
            "the child's write before dying was not visible: {v}"
        )),
    }
}

#[cfg(target_os = "linux")]
fn thread_state(tid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[cfg(target_os = "linux")]
fn lock_holder_killed_with_sleeper(i: usize) -> Result<Duration, String> {
    let name = segment_name("sleep", i);
    let m = Shared::<ShmMutex>::create(&name, &[0, 0], &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child("lock", &name)?;
    if await_line(&mut child)? != "locked" {
        return Err("child did not lock".into());
    }
    let (tid_tx, tid_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    let waiter_segment = Shared::<ShmMutex>::open(&name, &options()).map_err(|e| e.to_string())?;
    if waiter_segment.try_lock_checked().is_some() {
        return Err("the lock of a live child was taken".into());
    }
    std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        let _ = tid_tx.send(unsafe { libc_gettid() });
        let died = waiter_segment.lock_checked().is_err();
        let _ = done_tx.send((died, Instant::now()));
    });
    let tid = tid_rx.recv_timeout(DEADLINE).map_err(|_| "no tid")?;
    // Wait until the waiter is asleep in the kernel (state S) — observed, not assumed.
    let asleep_by = Instant::now() + DEADLINE;
    loop {
        match thread_state(tid) {
            Some('S') => break,
            None => {
                let early = done_rx.try_recv();
                return Err(format!("the waiter returned before the kill: {early:?}"));
            }
            _ if Instant::now() > asleep_by => return Err("the waiter never fell asleep".into()),
            _ => std::thread::yield_now(),
        }
    }
    kill(child)?;
    let killed = Instant::now();
    let (died, at) = done_rx
        .recv_timeout(DEADLINE)
        .map_err(|_| "the sleeping waiter was not woken: a hang")?;
    drop(m);
    if died {
        Ok(at.saturating_duration_since(killed))
    } else {
        Err("the sleeper got the lock without OwnerDied".into())
    }
}

#[cfg(target_os = "linux")]
extern "C" {
    #[link_name = "gettid"]
    fn libc_gettid() -> i32;
}

#[cfg(target_os = "linux")]
fn publisher_killed(i: usize, step: PublishStep) -> Result<Duration, String> {
    let name = segment_name(
        if step == PublishStep::AfterClaim {
            "claim"
        } else {
            "write"
        },
        i,
    );
    let a = Shared::<ShmArray>::create(&name, &2, &options()).map_err(|e| e.to_string())?;
    let role = if step == PublishStep::AfterClaim {
        "claim"
    } else {
        "write"
    };
    let mut child = spawn_child(role, &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not claim".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let reader = Shared::<ShmArray>::open(&name, &options()).map_err(|e| e.to_string())?;
    let (first, detect, timed, republished, waited, after) = within(move || {
        let first = reader.wait_checked(0);
        let detect = killed.elapsed();
        // The trait's waits do not report the death: a timed one times out on the abandoned
        // slot, and one without a deadline waits until a survivor publishes it again, after
        // which the slot reads normally.
        let timed = reader.wait_timeout(0, Duration::from_millis(2));
        let (republished, waited) = std::thread::scope(|s| {
            let survivor = s.spawn(|| {
                std::thread::sleep(Duration::from_millis(1));
                reader.publish(0, 7)
            });
            let waited = reader.wait(0);
            (survivor.join().unwrap(), waited)
        });
        (
            first,
            detect,
            timed,
            republished,
            waited,
            reader.wait_checked(0),
        )
    })?;
    drop(a);
    match (first, timed, republished, waited, after) {
        (Err(SlotWaitError::PublisherDied { index: 0 }), Ok(None), Ok(()), Ok(7), Ok(7)) => {
            Ok(detect)
        }
        other => Err(format!("unexpected: {other:?}")),
    }
}

#[cfg(target_os = "linux")]
fn lane_holder_killed(i: usize) -> Result<Duration, String> {
    let name = segment_name("lane", i);
    let a = Shared::<ShmLanes>::create(&name, &[4, 2], &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child("lane", &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not take its lane".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let reader = Shared::<ShmLanes>::open(&name, &options()).map_err(|e| e.to_string())?;
    let outcome = within(move || {
        let first = reader.wait_checked(2);
        let detect = killed.elapsed();
        // The dead holder's lane is taken over; its published slot stays, its unpublished
        // one may be published now.
        let (already, republished) = match reader.lane(0) {
            Ok(lane) => (
                matches!(
                    lane.publish(0, 1),
                    Err(PublishError::AlreadyPublished { index: 0, .. })
                ),
                lane.publish(2, 7).map_err(|e| e.to_string()),
            ),
            Err(e) => (false, Err(e.to_string())),
        };
        (
            first,
            detect,
            already,
            republished,
            reader.wait_checked(0),
            reader.wait_checked(2),
        )
    })?;
    drop(a);
    match outcome {
        (Err(SlotWaitError::PublisherDied { index: 2 }), detect, true, Ok(()), Ok(41), Ok(7)) => {
            Ok(detect)
        }
        other => Err(format!("unexpected: {other:?}")),
    }
}

/// The child takes end 0, sends 41 whole, and is killed in the middle of sending 42. The
/// parent (end 1) receives 41; then, for a death before the stamp, its spinning receive
/// reports `PeerDied`, and for a death after it, receives 42 (once). Either way a successor
/// takes end 0 over and sends 7, which arrives next.
#[cfg(target_os = "linux")]
/// Where the duplex end's holder is killed in its send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    AfterWrite,
    AfterStamp,
}

fn duplex_holder_killed(i: usize, step: Stop) -> Result<Duration, String> {
    let role = match step {
        Stop::AfterWrite => "duplex-write",
        Stop::AfterStamp => "duplex-stamp",
    };
    let name = segment_name(role, i);
    let d = Shared::<ShmDuplex>::create(&name, &4, &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child(role, &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not take its end".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let reader = Shared::<ShmDuplex>::open(&name, &options()).map_err(|e| e.to_string())?;
    let outcome = within(move || {
        let deadline = Some(Instant::now() + DEADLINE);
        let mut end = reader.end(1).expect("end 1 is free");
        let first = end.recv_spinning(deadline);
        let second = end.recv_spinning(deadline);
        let detect = killed.elapsed();
        let successor = match reader.end(0) {
            Ok(mut e) => e.try_send(7).map_err(|v| format!("full: {v}")),
            Err(e) => Err(e.to_string()),
        };
        let third = end.recv_spinning(deadline);
        (first, second, detect, successor, third)
    })?;
    drop(d);
    match outcome {
        (Ok(41), Err(SpinRecvError::PeerDied), detect, Ok(()), Ok(7))
            if step == Stop::AfterWrite =>
        {
            Ok(detect)
        }
        (Ok(41), Ok(42), detect, Ok(()), Ok(7)) if step == Stop::AfterStamp => Ok(detect),
        other => Err(format!("unexpected: {other:?}")),
    }
}

#[cfg(target_os = "linux")]
fn producer_killed_mid_push(i: usize) -> Result<Duration, String> {
    let name = segment_name("push", i);
    let q = Shared::<ShmQueue>::create(&name, &4, &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child("push", &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not claim".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let (popped, abandoned) = within(move || {
        q.push([3; 8]).expect("room after the stuck slot");
        let popped = [q.pop().map(|m| m[0]), q.pop().map(|m| m[0])];
        (popped, q.inner().probe().0)
    })?;
    let detect = killed.elapsed();
    match (popped, abandoned) {
        ([Ok(1), Ok(3)], 1) => Ok(detect),
        other => Err(format!("unexpected: {other:?}")),
    }
}

#[cfg(target_os = "linux")]
fn consumer_killed_mid_pop(i: usize) -> Result<Duration, String> {
    let name = segment_name("pop", i);
    let q = Shared::<ShmQueue>::create(&name, &2, &options()).map_err(|e| e.to_string())?;
    q.push([1; 8]).map_err(|_| "push")?;
    q.push([2; 8]).map_err(|_| "push")?;
    let mut child = spawn_child("pop", &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not claim".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let (popped, lost) = within(move || {
        // The queue is not full (the child took item 1), but item 1's slot was never freed:
        // this push must find its consumer dead and reuse the slot.
        q.push([3; 8]).expect("room once the slot is freed");
        let popped = [q.pop().map(|m| m[0]), q.pop().map(|m| m[0])];
        (popped, q.inner().probe().1)
    })?;
    let detect = killed.elapsed();
    match (popped, lost) {
        ([Ok(2), Ok(3)], 1) => Ok(detect),
        other => Err(format!("unexpected: {other:?}")),
    }
}

#[cfg(target_os = "linux")]
fn condvar_publisher_killed(i: usize) -> Result<Duration, String> {
    let name = segment_name("condvar", i);
    let a = Shared::<ShmCondvarArray>::create(&name, &2, &options()).map_err(|e| e.to_string())?;
    let mut child = spawn_child("condvar", &name)?;
    if await_line(&mut child)? != "claimed" {
        return Err("child did not start its publish".into());
    }
    kill(child)?;
    let killed = Instant::now();
    let (before, republished, after) = within(move || {
        // The lock is taken over; the half-done publish never happened.
        let before = a.try_get(0);
        let republished = a.publish(0, 7);
        (before, republished, a.wait(0))
    })?;
    let detect = killed.elapsed();
    match (before, republished, after) {
        (Ok(None), Ok(()), Ok(7)) => Ok(detect),
        other => Err(format!("unexpected: {other:?}")),
    }
}
