//! The program itself: two processes share the board for real in the plain world; under a
//! model checker it builds and refuses at run time with a typed error's message.

use std::process::Command;

#[test]
fn the_program_shares_the_board_with_a_second_process() {
    let out = Command::new(env!("CARGO_BIN_EXE_segment-app"))
        .arg("10")
        .output()
        .expect("run segment-app");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if synclab::sync::WORLD == synclab::sync::World::Plain {
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("worker: took 10 jobs"), "{stderr}");
        assert_eq!(stdout.trim(), "10 jobs done by another process; total 55");
    } else {
        assert!(!out.status.success());
        assert!(stderr.contains("under a model checker"), "{stderr}");
    }
}
