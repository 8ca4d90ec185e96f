//! The `--processes` demos on the real binary: processes over shared segments, one of them
//! killed mid-operation and the others carrying on.
#![cfg(target_os = "linux")]

use std::process::Command;

/// Runs `synclab <args>`; (success, stdout, stderr).
fn synclab(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
        .args(args)
        .output()
        .expect("run synclab");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn array_demo_across_processes_survives_a_killed_producer() {
    let (ok, text, err) = synclab(&[
        "demo",
        "array",
        "--processes",
        "--len",
        "3",
        "--write-delay-ms",
        "5",
        "--die-at",
        "1",
    ]);
    assert!(ok, "{text}\n{err}");
    assert!(
        text.contains("claimed index 1 and is killed (SIGKILL)"),
        "{text}"
    );
    // The consumer reports the death if its bounded sleep notices it before the new producer
    // (which finds the dead claim itself, marks the slot abandoned and claims it) publishes.
    assert!(
        text.contains("starting a new producer from index 1"),
        "{text}"
    );
    for i in 0..3 {
        assert!(
            text.contains(&format!("consumes index {i}, data: {i}")),
            "{text}"
        );
    }
}

#[test]
fn condvar_array_demo_across_processes_survives_a_producer_killed_holding_the_lock() {
    let (ok, text, err) = synclab(&[
        "demo",
        "array",
        "--processes",
        "--impl",
        "futex",
        "--len",
        "3",
        "--write-delay-ms",
        "5",
        "--die-at",
        "1",
    ]);
    assert!(ok, "{text}\n{err}");
    assert!(
        text.contains("CondvarArray<RobustFamily<Shm>, Shm>"),
        "{text}"
    );
    assert!(text.contains("is killed (SIGKILL) holding it"), "{text}");
    for i in 0..3 {
        assert!(
            text.contains(&format!("consumes index {i}, data: {i}")),
            "{text}"
        );
    }
}

#[test]
fn array_demo_across_processes_rejects_other_designs_and_bad_slots() {
    let (ok, _, err) = synclab(&["demo", "array", "--processes", "--impl", "std"]);
    assert!(
        !ok && err.contains("--processes runs --impl lockfree"),
        "{err}"
    );
    let (ok, _, err) = synclab(&[
        "demo",
        "array",
        "--processes",
        "--len",
        "2",
        "--die-at",
        "5",
    ]);
    assert!(
        !ok && err.contains("--die-at must name one of the 2 slots"),
        "{err}"
    );
}

#[test]
fn pool_demo_across_processes_requeues_the_job_of_a_killed_worker() {
    let (ok, text, err) = synclab(&[
        "demo",
        "pool",
        "--processes",
        "--jobs",
        "6",
        "--threads",
        "2",
        "--task-ms",
        "20",
        "--kill-worker",
        "0",
    ]);
    assert!(ok, "{text}\n{err}");
    assert!(text.contains("kills worker 0"), "{text}");
    assert!(
        text.contains("mid-job") && text.contains("re-queued"),
        "{text}"
    );
    for job in 0..6 {
        assert!(
            text.contains(&format!("doing {job} work")),
            "job {job} never finished:\n{text}"
        );
    }
    assert!(
        text.contains("wait returned after the last job finished: correct"),
        "{text}"
    );
}
