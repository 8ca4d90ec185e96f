//! `synclab demo array --processes` on the real binary: two processes over one segment, the
//! producer killed mid-publish and replaced.
#![cfg(target_os = "linux")]

use std::process::Command;

#[test]
fn array_demo_across_processes_survives_a_killed_producer() {
    let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
        .args([
            "demo",
            "array",
            "--processes",
            "--len",
            "3",
            "--write-delay-ms",
            "5",
            "--die-at",
            "1",
        ])
        .output()
        .expect("run synclab");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("claimed index 1 and is killed (SIGKILL)"),
        "{text}"
    );
    assert!(
        text.contains("the publisher of index 1 died mid-publish"),
        "{text}"
    );
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
fn array_demo_across_processes_rejects_other_designs_and_bad_slots() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run(&["demo", "array", "--processes", "--impl", "std"]);
    assert!(
        !ok && err.contains("--processes runs --impl lockfree"),
        "{err}"
    );
    let (ok, err) = run(&[
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
    let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
        .args([
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
        ])
        .output()
        .expect("run synclab");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
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
