//! Re-runs one test of the current test binary in a child process, for tests whose subject
//! may abort (or, for the sanitizer's negative control, must race): the parent judges the
//! child's exit status and output instead of dying with it.

use std::process::{Command, Output};

/// Runs test `name` of this binary in a child process with `var=1` set (the child's cue to do
/// the real work), and returns its output and its stdout and stderr as one text.
pub fn run(name: &str, var: &str) -> (Output, String) {
    let output = Command::new(std::env::current_exe().expect("the test binary knows its path"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(var, "1")
        .output()
        .expect("the test binary can re-run itself");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("running 1 test"),
        "the child did not run {name}:\n{text}"
    );
    (output, text)
}
