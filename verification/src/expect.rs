//! The expected-failure runner: run a known-broken scenario in a child process and assert how
//! it failed.
//!
//! The parent test re-executes its own test binary with a filter that selects only itself and
//! `SYNCLAB_EXPECT_CHILD` set; the child runs the model, which must fail. The parent then
//! checks the child's exit status and output for the failure's signature. A child is needed
//! because loom's deadlock panic can turn into a panic-during-unwind abort (loom#291) that
//! would kill every other test in the binary.

use std::process::Command;
use std::time::Instant;

use synclab::sync::{World, WORLD};

/// How a broken model must fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Every thread blocked: loom's `deadlock` panic, shuttle's `deadlock!`.
    Deadlock,
    /// Two accesses to an `UnsafeCell` not ordered by happens-before (loom only).
    DataRace,
    /// An assertion in the model failed; the child's output must contain this text.
    Assertion(&'static str),
    /// The model never finished: loom's branch limit, shuttle's step limit (a livelock or an
    /// unbounded busy-wait).
    StepLimit,
    /// The checker cannot see this bug: the model is expected to *pass* in this world. Used to
    /// document blind spots (for example shuttle, which treats every atomic as SeqCst, cannot
    /// see a missing Release).
    Blind,
}

impl Failure {
    /// Text that must appear in the child's output.
    fn signatures(self) -> &'static [&'static str] {
        match self {
            Failure::Deadlock => &["deadlock;", "deadlock!"],
            Failure::DataRace => &["Causality violation"],
            Failure::Assertion(_) => &[],
            Failure::StepLimit => &[
                "Model exceeded maximum number of branches",
                "exceeded max_steps bound",
            ],
            Failure::Blind => &[],
        }
    }

    fn describe(self) -> String {
        match self {
            Failure::Deadlock => "deadlock".into(),
            Failure::DataRace => "data race".into(),
            Failure::Assertion(text) => format!("assertion \"{text}\""),
            Failure::StepLimit => "step limit".into(),
            Failure::Blind => "passes (checker is blind to this bug)".into(),
        }
    }
}

/// What a broken model must do in each checker world.
#[derive(Debug, Clone, Copy)]
pub struct Expect {
    /// Under loom.
    pub loom: Failure,
    /// Under shuttle.
    pub shuttle: Failure,
}

impl Expect {
    /// The same failure under both checkers.
    pub fn both(failure: Failure) -> Self {
        Self {
            loom: failure,
            shuttle: failure,
        }
    }

    /// Different outcomes per checker.
    pub fn per_checker(loom: Failure, shuttle: Failure) -> Self {
        Self { loom, shuttle }
    }

    /// The checker whose counterexample `docs/zoo.md` shows: shuttle where it catches the bug
    /// (its schedules shrink and replay), else loom.
    pub fn docs_checker(self) -> World {
        if self.shuttle == Failure::Blind {
            World::Loom
        } else {
            World::Shuttle
        }
    }

    fn here(self) -> Option<Failure> {
        match WORLD {
            World::Loom => Some(self.loom),
            World::Shuttle => Some(self.shuttle),
            World::Plain => None,
        }
    }
}

const CHILD_VAR: &str = "SYNCLAB_EXPECT_CHILD";

/// Runs `model` in a child process (see the module docs) and asserts it fails as `expect` says.
///
/// `test_path` is the test's `module_path!()::name`, as [`crate::zoo_test!`] builds it.
pub fn run_expected_failure(test_path: &str, expect: Expect, model: impl FnOnce()) {
    run_expected_failure_showing(test_path, expect, &[], model);
}

/// [`run_expected_failure`], and the counterexample the checker the docs show prints must
/// contain each of `shows` (the racing accesses, the lost wake-up, the offending operations:
/// what a reader must see in it).
pub fn run_expected_failure_showing(
    test_path: &str,
    expect: Expect,
    shows: &[&str],
    model: impl FnOnce(),
) {
    if std::env::var_os("SYNCLAB_AUDIT").is_some() {
        // The ordering-mutation audit runs only the passing models against each mutant.
        eprintln!("{test_path}: skipped during the ordering-mutation audit");
        return;
    }
    let Some(failure) = expect.here() else {
        eprintln!("{test_path}: needs a checker world (loom or shuttle); nothing to do here");
        return;
    };
    // libtest names tests without the crate's own name.
    let test_name = test_path
        .split_once("::")
        .map_or(test_path, |(_, rest)| rest);
    if std::env::var(CHILD_VAR).as_deref() == Ok(test_name) {
        model();
        eprintln!("SYNCLAB-MODEL-PASSED");
        return;
    }
    let started = Instant::now();
    let exe = std::env::current_exe().expect("the test binary knows its own path");
    let counterexample_file = std::env::temp_dir().join(format!(
        "synclab-counterexample-{}-{}.json",
        std::process::id(),
        test_path.replace("::", "-")
    ));
    let _ = std::fs::remove_file(&counterexample_file);
    let output = Command::new(exe)
        .args([test_name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, test_name)
        .env("SYNCLAB_COUNTEREXAMPLE_OUT", &counterexample_file)
        // The child's own model line would be reported as a passing model.
        .env_remove("SYNCLAB_REPORT")
        .output()
        .expect("the test binary can re-run itself");
    let seconds = started.elapsed().as_secs_f64();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.contains("running 1 test"),
        "{test_name}: the child did not run exactly this test:\n{text}"
    );
    let world = format!("{WORLD:?}").to_lowercase();
    let evidence = match failure {
        Failure::Blind => {
            assert!(
                output.status.success() && text.contains("SYNCLAB-MODEL-PASSED"),
                "{test_name}: expected the {world} model to pass (a documented blind spot), \
                 but it failed:\n{text}"
            );
            "passed, as documented".to_string()
        }
        _ => {
            assert!(
                !output.status.success() && !text.contains("SYNCLAB-MODEL-PASSED"),
                "{test_name}: the broken model PASSED under {world}; expected {}:\n{text}",
                failure.describe()
            );
            let found = match failure {
                Failure::Assertion(marker) => text.lines().find(|l| l.contains(marker)),
                other => text
                    .lines()
                    .find(|l| other.signatures().iter().any(|s| l.contains(s))),
            };
            let line = found.unwrap_or_else(|| {
                panic!(
                    "{test_name}: the model failed under {world}, but not with {}:\n{text}",
                    failure.describe()
                )
            });
            line.trim().chars().take(200).collect()
        }
    };
    let schedule = text
        .split("failing schedule:\n\"\n")
        .nth(1)
        .and_then(|rest| rest.split('\n').next())
        .unwrap_or("");
    let counterexample = std::fs::read_to_string(&counterexample_file)
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok());
    let _ = std::fs::remove_file(&counterexample_file);
    // What the child found: seen with `--nocapture` (and by `synclab explain`).
    if let Some(report) = counterexample.as_ref().and_then(|c| c["report"].as_str()) {
        eprintln!("{report}");
    }
    let (shown, find_s, shrink_s) = match &counterexample {
        Some(c) => (
            c["shown"].as_u64(),
            c["seconds"][0].as_f64(),
            c["seconds"][1].as_f64(),
        ),
        None => (None, None, None),
    };
    if failure != Failure::Blind {
        crate::zoo_docs::check(test_path, expect, counterexample.as_ref());
        if expect.docs_checker() == WORLD && crate::explain_wanted() {
            let block = counterexample
                .as_ref()
                .and_then(|c| c["block"].as_str())
                .unwrap_or("");
            for needle in shows {
                assert!(
                    block.contains(needle),
                    "{test_name}: the counterexample does not show {needle:?}:\n{block}"
                );
            }
        }
    }
    eprintln!(
        "[{world}] expected failure {test_name}: {} observed in {seconds:.2}s: {evidence}{}",
        failure.describe(),
        if schedule.is_empty() {
            String::new()
        } else {
            format!(" (replay: shuttle::replay(model, \"{schedule}\"))")
        }
    );
    crate::append_report(&serde_json::json!({
        "world": world,
        "model": test_name,
        "result": failure.describe(),
        "evidence": evidence,
        "schedule": schedule,
        "seconds": crate::seconds_3(seconds),
        "counterexample_steps_shown": shown,
        "counterexample_find_seconds": find_s,
        "counterexample_shrink_seconds": shrink_s,
    }));
}

/// Declares a test that runs a known-broken model in a child process and asserts how it fails.
///
/// ```ignore
/// zoo_test! {
///     /// What the bug is.
///     fn relaxed_unlock() expect Expect::per_checker(Failure::DataRace, Failure::Blind) => {
///         Model::new("relaxed unlock").check(|| { /* … */ });
///     }
/// }
/// ```
///
/// With `, shows ["…", …]` after the expectation, the counterexample the docs show must
/// contain each string (see [`run_expected_failure_showing`]).
///
/// In the plain build the test is ignored: the bugs in the zoo need a checker to be seen.
#[macro_export]
macro_rules! zoo_test {
    ($(#[$attr:meta])* fn $name:ident() expect $expect:expr $(, shows [$($shows:expr),* $(,)?])? => $body:block) => {
        $(#[$attr])*
        #[test]
        #[cfg_attr(
            not(any(synclab_loom, synclab_shuttle)),
            ignore = "a zoo model needs a checker: run it with `cargo xtask verify`"
        )]
        fn $name() {
            $crate::expect::run_expected_failure_showing(
                concat!(module_path!(), "::", stringify!($name)),
                $expect,
                &[$($($shows),*)?],
                || $body,
            );
        }
    };
}
