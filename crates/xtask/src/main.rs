//! Project automation. Run through the cargo alias: `cargo xtask <command>`.
//!
//! ```text
//! cargo xtask test [--no-install]  fmt, clippy (plain, and under each checker), rustdoc
//!                                  -D warnings and the link check, cargo
//!                                  test, the downstream example, a publish
//!                                  dry run of the two published crates, MSRV check,
//!                                  loom suite, shuttle suite, Miri (installing the nightly Miri
//!                                  component, the MSRV toolchain and valgrind when missing,
//!                                  unless --no-install or SYNCLAB_NO_INSTALL=1)
//! cargo xtask verify [options]     only the checkers (loom, shuttle), with raisable bounds
//!     --loom-preemptions N|none    override every loom model's preemption bound
//!     --shuttle-scale N            multiply every shuttle model's schedule count
//!     --only loom|shuttle          run one checker
//!     --package NAME               check this workspace package's tests (repeatable; default:
//!                                  synclab-verification, own-design and segment-app)
//!     --manifest-path PATH         check the tests of a crate outside the workspace
//!     --write-docs                 rewrite the model table in docs/verification.md and the
//!                                  README's summary (only after a passing full run)
//!     --docs-from DIR              do that from the reports an earlier run left in DIR
//!                                  (e.g. a clean clone's target/verification), without running
//! cargo xtask miri                 the unsafe-code tests and the SeqCst witnesses under Miri, many seeds
//! cargo xtask tsan                 the stress tests under ThreadSanitizer (nightly, -Zbuild-std)
//! cargo xtask bench [GROUP]        criterion benchmarks (all groups, or one)
//! cargo xtask icount [ARGS]        instruction counts under callgrind (installs valgrind if
//!                                  missing), as `synclab compare --instructions --runs 0 ARGS`
//! cargo xtask audit [options]      the ordering-mutation audit (see `audit.rs`)
//!     --filter PATH  --only TEST-NAME  --timeout SECS  --list  --resume  --no-run  --write-docs
//! cargo xtask mutants [options]    the semantic-mutation audit (see `mutants.rs`, `operators.rs`)
//!     --filter PATH  --operator NAME[,NAME]  --timeout SECS  --limit N  --list  --compile-only
//!     --resume  --no-run  --write-docs
//! cargo xtask surface [--check]    the library's public-item count and duplicate type names
//!                                  (`--check`, also in `test`: fail over the ceiling; see `surface.rs`)
//! cargo xtask links [--rustdoc DIR]  every link of the repository's Markdown resolves
//!                                  (relative paths, anchors, rustdoc items; see `links.rs`;
//!                                  `cargo test -p xtask` runs the same check)
//! ```
//!
//! Each checker runs in its own target directory (`target/loom`, `target/shuttle`): the cfg
//! changes every crate's build, and sharing a directory would rebuild everything each time.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

mod audit;
mod harness;
mod links;
mod mutants;
mod operators;
mod report;
mod source;
mod surface;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&root, &args[1..]),
        Some("verify") => verify_command(&root, &args[1..]),
        Some("miri") => miri(&root, true).map(|_| ()),
        Some("tsan") => tsan(&root, true).and_then(|stage| summary(&[stage])),
        Some("bench") => bench(&root, &args[1..]),
        Some("icount") => icount(&root, &args[1..]),
        Some("audit") => audit::run(&root, &args[1..]),
        Some("mutants") => mutants::run(&root, &args[1..]),
        Some("surface") => surface::run(&root, &args[1..]),
        Some("links") => links::run(&root, &args[1..]),
        _ => {
            eprintln!("usage: cargo xtask test [--no-install] | verify [--loom-preemptions N|none] [--shuttle-scale N] [--only loom|shuttle] [--package NAME]... [--manifest-path PATH] [--write-docs] [--docs-from DIR] | miri | tsan | bench [GROUP] | icount [compare options] | audit [--filter PATH] [--only TEST-NAME] [--timeout SECS] [--list] [--resume] [--no-run] [--write-docs] | mutants [--filter PATH] [--operator NAME[,NAME]] [--timeout SECS] [--per-file N[,PATH=N]...] [--limit N] [--no-baseline] [--list] [--compile-only] [--resume] [--no-run] [--write-docs] | surface [--check] | links [--rustdoc DIR]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("crates/xtask sits two levels below the workspace root")
        .to_path_buf()
}

/// One stage of a run, for the summary.
struct Stage {
    name: String,
    outcome: Outcome,
    elapsed: Duration,
}

#[derive(PartialEq)]
enum Outcome {
    Passed,
    Failed,
    Skipped(String),
}

fn run(root: &Path, name: &str, cmd: &mut Command) -> Stage {
    eprintln!("\n==> {name}: {cmd:?}");
    let start = Instant::now();
    // stderr is echoed line by line as it comes and its last lines kept, so that a failed
    // stage's own words reach the summary (a CI log is often read from its end).
    let ok = match cmd.current_dir(root).stderr(Stdio::piped()).spawn() {
        Ok(mut child) => {
            let tail = child.stderr.take().map(echo).unwrap_or_default();
            let ok = child.wait().map(|s| s.success()).unwrap_or(false);
            if !ok {
                FAILED_TAILS.lock().unwrap().push((name.to_string(), tail));
            }
            ok
        }
        Err(e) => {
            eprintln!("cannot start {cmd:?}: {e}");
            false
        }
    };
    Stage {
        name: name.to_string(),
        outcome: if ok { Outcome::Passed } else { Outcome::Failed },
        elapsed: start.elapsed(),
    }
}

/// How many of a failed stage's last stderr lines the summary repeats.
const TAIL_LINES: usize = 30;

/// The last stderr lines of each failed stage, in the order they failed.
static FAILED_TAILS: Mutex<Vec<(String, Vec<String>)>> = Mutex::new(Vec::new());

/// Copies `from` to this process's stderr line by line; returns its last `TAIL_LINES` lines.
fn echo(from: impl std::io::Read) -> Vec<String> {
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    let mut err = std::io::stderr();
    while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
        let _ = err.write_all(&line);
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(String::from_utf8_lossy(&line).trim_end().to_string());
        line.clear();
    }
    tail.into()
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

fn summary(stages: &[Stage]) -> Result<(), String> {
    eprintln!("\n==> summary");
    let mut failed = 0;
    for s in stages {
        let outcome = match &s.outcome {
            Outcome::Passed => "passed".to_string(),
            Outcome::Failed => {
                failed += 1;
                "FAILED".to_string()
            }
            Outcome::Skipped(why) => format!("skipped ({why})"),
        };
        eprintln!(
            "  {:<40} {:<10} {:>8.1}s",
            s.name,
            outcome,
            s.elapsed.as_secs_f64()
        );
    }
    let total: f64 = stages.iter().map(|s| s.elapsed.as_secs_f64()).sum();
    let passed = stages
        .iter()
        .filter(|s| s.outcome == Outcome::Passed)
        .count();
    let skipped = stages.len() - passed - failed;
    eprintln!("  total {total:.1}s");
    for (name, tail) in FAILED_TAILS.lock().unwrap().iter() {
        eprintln!("\n==> the last lines `{name}` printed:");
        for line in tail {
            eprintln!("  | {line}");
        }
    }
    // The plain closing line CI reads.
    println!("stages: {passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} stage(s) failed"))
    }
}

/// The optional `lock_api` bridge of synclab's locks: linted and tested with the workspace (under
/// the checkers it is absent, since their atomics are not const: `examples/segment-app`).
const LOCK_API: &str = "synclab/lock_api";

/// The toolchain the library promises to build with (`rust-version` in Cargo.toml).
const MSRV: &str = "1.85";

/// The example program written from the docs alone, outside the workspace.
const DOWNSTREAM: &str = "examples/downstream/Cargo.toml";

/// Whether `cargo xtask test` may install what a fresh machine lacks (Miri, the MSRV
/// toolchain): yes unless `--no-install` or `SYNCLAB_NO_INSTALL` says otherwise.
fn may_install(args: &[String]) -> bool {
    !args.iter().any(|a| a == "--no-install") && std::env::var_os("SYNCLAB_NO_INSTALL").is_none()
}

fn test(root: &Path, args: &[String]) -> Result<(), String> {
    if let Some(other) = args.iter().find(|a| *a != "--no-install") {
        return Err(format!("unknown test option {other:?}"));
    }
    let install = may_install(args);
    // The instruction-count test runs valgrind; install it first when missing (or say why
    // not: that test then skips, except under CI, where it fails).
    if install {
        if let Err(e) = ensure_valgrind() {
            eprintln!("==> valgrind: {e}");
        }
    }
    let mut stages = vec![
        run(
            root,
            "fmt --check",
            cargo().args(["fmt", "--all", "--", "--check"]),
        ),
        surface_stage(root),
        run(
            root,
            "clippy -D warnings",
            cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--features",
                LOCK_API,
                "--",
                "-D",
                "warnings",
            ]),
        ),
        checker_clippy(root, "loom"),
        checker_clippy(root, "shuttle"),
        docs_stage(root),
        run(
            root,
            "cargo test --workspace (with the lock_api bridge)",
            cargo().args(["test", "--workspace", "--features", LOCK_API]),
        ),
        run(
            root,
            "downstream example (outside the workspace)",
            cargo()
                .args(["run", "--quiet", "--manifest-path", DOWNSTREAM])
                .env("CARGO_TARGET_DIR", root.join("target/downstream")),
        ),
    ];
    stages.push(publish(root));
    stages.push(msrv(root, install));
    stages.extend(verify(root, &VerifyOptions::default()));
    stages.push(miri(root, install).unwrap_or_else(|e| Stage {
        name: "miri".into(),
        outcome: Outcome::Skipped(e),
        elapsed: Duration::ZERO,
    }));
    // The sanitizer leg fits the CI budget (measured: see `tsan`), so it runs by default;
    // `SYNCLAB_TSAN=0` skips it, and it says so in the summary.
    let tsan_stage = if std::env::var("SYNCLAB_TSAN").as_deref() == Ok("0") {
        let why = "SYNCLAB_TSAN=0".to_string();
        eprintln!("\n==> tsan: SKIPPED — {why}");
        Err(why)
    } else {
        tsan(root, false)
    };
    stages.push(tsan_stage.unwrap_or_else(|e| Stage {
        name: "tsan".into(),
        outcome: Outcome::Skipped(e),
        elapsed: Duration::ZERO,
    }));
    summary(&stages)
}

/// clippy over the code that only a checker build compiles: the library's world switch under
/// `--cfg synclab_<checker>` and the verification harness with its models.
fn checker_clippy(root: &Path, checker: &str) -> Stage {
    run(
        root,
        &format!("clippy -D warnings under {checker} (library, harness, models)"),
        cargo()
            .args(["clippy", "-p", "synclab", "-p", "synclab-verification"])
            .args(["--lib", "--test", "models", "--", "-D", "warnings"])
            .env("RUSTFLAGS", format!("--cfg synclab_{checker}"))
            .env("CARGO_TARGET_DIR", root.join("target").join(checker)),
    )
}

/// A publish dry run of both crates in one call: cargo packages synclab first and verifies the
/// harness against the packaged library (on its own, the harness would look for synclab on
/// crates.io). The dry run asks the registry; where that fails (no network, or crates.io replaced
/// by a mirror), `cargo package --offline` still builds both crates from their packaged sources,
/// which is what the stage is for, and the summary says which one passed.
///
/// Both run in a target directory of their own, emptied first. cargo verifies the harness in the
/// workspace's target directory and treats the packaged library as a registry crate, which it
/// never rebuilds for a change of source: where a target directory outlives a checkout (a CI
/// cache), the harness would be checked against the library of an earlier commit.
fn publish(root: &Path) -> Stage {
    let crates = ["-p", "synclab", "-p", "synclab-verification"];
    let target = root.join("target").join("publish");
    let _ = std::fs::remove_dir_all(&target);
    let name = "publish --dry-run (synclab, synclab-verification)";
    let dry_run = run(
        root,
        name,
        cargo()
            .args(["publish", "--dry-run", "--allow-dirty"])
            .args(crates)
            .env("CARGO_TARGET_DIR", &target),
    );
    if dry_run.outcome == Outcome::Passed {
        return dry_run;
    }
    let offline = run(
        root,
        "package --offline (synclab, synclab-verification; the publish dry run failed)",
        cargo()
            .args(["package", "--offline", "--allow-dirty"])
            .args(crates)
            .env("CARGO_TARGET_DIR", &target),
    );
    Stage {
        elapsed: dry_run.elapsed + offline.elapsed,
        ..offline
    }
}

/// The published crates' rustdoc with every warning an error (broken or private links, bad
/// code blocks), then every link of the Markdown and of the generated pages.
fn docs_stage(root: &Path) -> Stage {
    let mut stage = run(
        root,
        "cargo doc -D warnings + links",
        cargo()
            .args([
                "doc",
                "--no-deps",
                "--all-features",
                "-p",
                "synclab",
                "-p",
                "synclab-verification",
            ])
            .env("RUSTDOCFLAGS", "-D warnings"),
    );
    if stage.outcome == Outcome::Passed {
        let start = Instant::now();
        let doc_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), PathBuf::from)
            .join("doc");
        let args = ["--rustdoc".to_string(), doc_dir.display().to_string()];
        if let Err(e) = links::run(root, &args) {
            eprintln!("==> links: {e}");
            stage.outcome = Outcome::Failed;
        }
        stage.elapsed += start.elapsed();
    }
    stage
}

/// `cargo xtask surface --check`: the public-item count within its ceiling, no two public
/// types of one name.
fn surface_stage(root: &Path) -> Stage {
    let name = "surface --check (public items, duplicate type names)";
    eprintln!("\n==> {name}");
    let start = Instant::now();
    let outcome = match surface::run(root, &["--check".to_string()]) {
        Ok(()) => Outcome::Passed,
        Err(e) => {
            eprintln!("{e}");
            Outcome::Failed
        }
    };
    Stage {
        name: name.into(),
        outcome,
        elapsed: start.elapsed(),
    }
}

/// `cargo +MSRV check` of the library, installing the toolchain (minimal profile) if missing.
fn msrv(root: &Path, install: bool) -> Stage {
    let name = format!("MSRV {MSRV}: cargo check -p synclab");
    let has = || {
        Command::new("cargo")
            .args([&format!("+{MSRV}"), "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !has() && install {
        eprintln!(
            "==> installing the MSRV toolchain: rustup toolchain install {MSRV} --profile minimal"
        );
        let _ = Command::new("rustup")
            .args(["toolchain", "install", MSRV, "--profile", "minimal"])
            .status();
    }
    if !has() {
        let why = format!("toolchain {MSRV} is not installed (`rustup toolchain install {MSRV} --profile minimal`)");
        eprintln!("==> {name}: SKIPPED — {why}");
        return Stage {
            name,
            outcome: Outcome::Skipped(why),
            elapsed: Duration::ZERO,
        };
    }
    // Not `cargo()`: the `CARGO` of the running toolchain would ignore the `+MSRV`.
    let mut cmd = Command::new("cargo");
    cmd.args([&format!("+{MSRV}"), "check", "--quiet", "-p", "synclab"])
        .env("CARGO_TARGET_DIR", root.join("target/msrv"))
        .env_remove("RUSTUP_TOOLCHAIN");
    run(root, &name, &mut cmd)
}

#[derive(Default)]
struct VerifyOptions {
    loom_preemptions: Option<String>,
    shuttle_scale: Option<String>,
    only: Option<String>,
    /// Workspace packages whose tests are checked (default: [`DEFAULT_PACKAGES`]).
    packages: Vec<String>,
    /// A crate outside the workspace to check instead.
    manifest_path: Option<PathBuf>,
    write_docs: bool,
    /// Write the docs from the reports of an earlier run in this folder, without running.
    docs_from: Option<PathBuf>,
}

/// The packages `verify` checks by default: synclab's models, the own-design example, and the
/// segment-app example (a package that enables `lock_api` and `bytemuck` and names segment
/// types: it must build under both checkers, and its model runs there).
const DEFAULT_PACKAGES: [&str; 3] = ["synclab-verification", "own-design", "segment-app"];

fn verify_command(root: &Path, args: &[String]) -> Result<(), String> {
    let mut opts = VerifyOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a} needs a value"))
        };
        match a.as_str() {
            "--loom-preemptions" => opts.loom_preemptions = Some(value()?),
            "--shuttle-scale" => opts.shuttle_scale = Some(value()?),
            "--only" => opts.only = Some(value()?),
            "--package" | "-p" => opts.packages.push(value()?),
            "--manifest-path" => {
                // Absolute: the checker runs from the workspace root, not from here.
                let path = PathBuf::from(value()?);
                opts.manifest_path = Some(
                    std::fs::canonicalize(&path)
                        .map_err(|e| format!("--manifest-path {}: {e}", path.display()))?,
                );
            }
            "--write-docs" => opts.write_docs = true,
            "--docs-from" => opts.docs_from = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown verify option {other:?}")),
        }
    }
    if let Some(only) = &opts.only {
        if only != "loom" && only != "shuttle" {
            return Err(format!("--only takes loom or shuttle, not {only:?}"));
        }
    }
    if opts.manifest_path.is_some() && !opts.packages.is_empty() {
        return Err("give --package or --manifest-path, not both".into());
    }
    if let Some(path) = &opts.manifest_path {
        if !path.is_file() {
            return Err(format!("--manifest-path {}: no such file", path.display()));
        }
    }
    if let Some(dir) = &opts.docs_from {
        // The reports of a run made elsewhere (a clean clone's `cargo xtask test`, say): the
        // stamp it wrote names its commit.
        let path = report::write_docs(root, dir)?;
        eprintln!(
            "wrote the model table into {} and the summary into README.md from {}",
            path.display(),
            dir.display()
        );
        return Ok(());
    }
    let stages = verify(root, &opts);
    summary(&stages)
}

fn verify(root: &Path, opts: &VerifyOptions) -> Vec<Stage> {
    let report_dir = root.join("target/verification");
    let _ = std::fs::create_dir_all(&report_dir);
    // Which commit these reports come from, for the docs written from them (now or later).
    let _ = std::fs::write(report_dir.join("stamp.txt"), report::stamp(root));
    let mut stages = Vec::new();
    for checker in ["loom", "shuttle"] {
        if opts.only.as_deref().is_some_and(|o| o != checker) {
            continue;
        }
        let report = report_dir.join(format!("{checker}.jsonl"));
        let _ = std::fs::remove_file(&report);
        let mut cmd = cargo();
        // `--tests`: the models live in test targets; doc tests are plain-world examples
        // (`cargo test` runs them), and one that starts threads would use checker types
        // outside a model.
        cmd.args(["test", "--release", "--tests"]);
        let what = match &opts.manifest_path {
            Some(path) => {
                // A crate outside the workspace: its own lock file and target directory.
                cmd.arg("--manifest-path").arg(path);
                cmd.env(
                    "CARGO_TARGET_DIR",
                    root.join("target/external").join(checker),
                );
                path.display().to_string()
            }
            None => {
                let packages: Vec<&str> = if opts.packages.is_empty() {
                    DEFAULT_PACKAGES.to_vec()
                } else {
                    opts.packages.iter().map(String::as_str).collect()
                };
                for package in &packages {
                    cmd.args(["-p", package]);
                }
                cmd.env("CARGO_TARGET_DIR", root.join("target").join(checker));
                packages.join(", ")
            }
        };
        cmd.env("RUSTFLAGS", format!("--cfg synclab_{checker}"))
            .env("SYNCLAB_REPORT", &report);
        match checker {
            "loom" => {
                let bound = opts
                    .loom_preemptions
                    .clone()
                    .unwrap_or_else(|| "each model's own".into());
                eprintln!("\n==> loom bounds: preemptions = {bound}; spurious futex returns: off, then first wait per word; LOOM_MAX_BRANCHES = {}",
                    std::env::var("LOOM_MAX_BRANCHES").unwrap_or_else(|_| "1000 (loom default)".into()));
                if let Some(p) = &opts.loom_preemptions {
                    cmd.env("SYNCLAB_LOOM_PREEMPTIONS", p);
                }
            }
            _ => {
                let scale = opts.shuttle_scale.clone().unwrap_or_else(|| "1".into());
                eprintln!("\n==> shuttle bounds: each model's schedules x {scale} (PCT depth 3 + random, fixed seed)");
                cmd.env("SYNCLAB_SHUTTLE_SCALE", scale);
            }
        }
        let stage = run(
            root,
            &format!("{checker} suite (release): {what}"),
            &mut cmd,
        );
        match report::summarize(&report) {
            Ok(text) => eprintln!("{text}"),
            Err(e) => eprintln!("(no {checker} report: {e})"),
        }
        stages.push(stage);
    }
    if opts.write_docs {
        // The published tables describe synclab's own full suite, and only a passing one.
        if opts.only.is_some() || opts.manifest_path.is_some() || !opts.packages.is_empty() {
            eprintln!(
                "--write-docs needs both checkers over the default packages: docs left alone"
            );
        } else if stages.iter().any(|s| s.outcome != Outcome::Passed) {
            eprintln!("a checker failed: docs left alone");
        } else {
            match report::write_docs(root, &report_dir) {
                Ok(path) => eprintln!(
                    "wrote the model table into {} and the summary into README.md",
                    path.display()
                ),
                Err(e) => eprintln!("could not write docs: {e}"),
            }
        }
    }
    stages
}

/// Runs the Miri suite. With `install`, installs the nightly component if it is missing
/// (`cargo xtask test` does unless told not to; `cargo xtask miri` always does).
fn miri(root: &Path, install: bool) -> Result<Stage, String> {
    let has_miri = |_: ()| {
        Command::new("cargo")
            .args(["+nightly", "miri", "--version"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if !has_miri(()) {
        if install {
            eprintln!(
                "==> installing miri: rustup component add miri rust-src --toolchain nightly"
            );
            let _ = Command::new("rustup")
                .args([
                    "component",
                    "add",
                    "miri",
                    "rust-src",
                    "--toolchain",
                    "nightly",
                ])
                .status();
        }
        if !has_miri(()) {
            let why = "nightly Miri is not installed and could not be installed (`rustup component add miri rust-src --toolchain nightly`)".to_string();
            eprintln!("==> miri: SKIPPED — {why}");
            return Err(why);
        }
    }
    let seeds = std::env::var("SYNCLAB_MIRI_SEEDS").unwrap_or_else(|_| "16".into());
    let flags = format!("-Zmiri-many-seeds=0..{seeds} -Zmiri-strict-provenance");
    // `cargo +nightly miri test <args>` with `miriflags`, in its own target dir.
    let miri_test = |args: &[&str], miriflags: String| {
        let mut cmd = Command::new("cargo");
        cmd.args(["+nightly", "miri", "test"])
            .args(args)
            .env("MIRIFLAGS", miriflags)
            .env("CARGO_TARGET_DIR", root.join("target/miri"));
        cmd
    };
    // The library's programs and witnesses, and the zoo's programs (its own `tests/miri.rs`).
    let mut cmd = miri_test(
        &[
            "-p",
            "synclab",
            "-p",
            "synclab-zoo",
            "--test",
            "miri",
            "--test",
            "sc_witness",
        ],
        flags.clone(),
    );
    let mut stage = run(root, &format!("miri ({seeds} seeds)"), &mut cmd);
    // The seed's Python pool keeps daemon threads that are never joined (its design), which
    // Miri's leak check reports at exit: its program runs in a pass of its own with the leak
    // check off (the race detector and weak memory stay on).
    let mut daemons = miri_test(
        &[
            "-p",
            "synclab-zoo",
            "--test",
            "miri",
            "seed_python_pool",
            "--",
            "--include-ignored",
        ],
        format!("{flags} -Zmiri-ignore-leaks"),
    );
    let daemons = run(root, "miri: seed Python pool (leaks allowed)", &mut daemons);
    // The `compile_fail` doc tests name the error each expects (the zoo's E0133: the
    // constructor is unsafe; E0277: not a `SharedArray`; the crate docs' E0639 / E0004:
    // `#[non_exhaustive]`); only nightly rustdoc checks those codes, so a test that fails to
    // compile for another reason (a typo) is caught here.
    let mut codes = Command::new("cargo");
    codes
        .args([
            "+nightly",
            "test",
            "-p",
            "synclab",
            "-p",
            "synclab-zoo",
            "--doc",
        ])
        .env("CARGO_TARGET_DIR", root.join("target/nightly"));
    let codes = run(
        root,
        "compile_fail error codes (nightly rustdoc)",
        &mut codes,
    );
    for extra in [daemons, codes] {
        stage.elapsed += extra.elapsed;
        if extra.outcome == Outcome::Failed {
            stage.outcome = Outcome::Failed;
        }
    }
    stage.name = format!("miri ({seeds} seeds) + doc error codes");
    Ok(stage)
}

/// The tests `cargo xtask tsan` runs: the real-thread stress loops of the pool and queue
/// models (issue 13's points 1, 3 and 4 among them), the event-count misuse tests and the
/// Miri programs, all on real threads. (package, test binary, libtest filters — empty: all.)
const TSAN_TESTS: &[(&str, &str, &[&str])] = &[
    ("synclab-verification", "models", &["pool::", "queue::"]),
    ("synclab", "event_count", &[]),
    ("synclab", "miri", &[]),
    ("synclab-zoo", "miri", &[]),
    // The negative control: TSan must be seen reporting the zoo's Relaxed-publish race.
    ("synclab-zoo", "tsan_control", &[]),
];

/// Runs the stress tests under ThreadSanitizer: nightly, `-Zsanitizer=thread`, and
/// `-Zbuild-std` so that std itself is instrumented (an uninstrumented std hides the
/// happens-before edges of its own atomics and reports false races). Installs `rust-src`
/// for nightly when `install` is set or `SYNCLAB_INSTALL_TSAN` is, as `miri` does.
///
/// TSan checks the happens-before edges of atomic *accesses*; it does not model
/// `fence(SeqCst)` (docs/verification.md, "ThreadSanitizer"): where a design's correctness
/// rests on those fences — every event count, the queue's full/empty checks, the pool's
/// searcher hand-off — TSan is blind, and loom (fences exhaustively) and Miri (weak memory,
/// store-buffering witnesses) carry the argument.
fn tsan(root: &Path, install: bool) -> Result<Stage, String> {
    let has_rust_src = || {
        Command::new("rustup")
            .args(["component", "list", "--toolchain", "nightly", "--installed"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).contains("rust-src"))
            .unwrap_or(false)
    };
    if !has_rust_src() && (install || std::env::var("SYNCLAB_INSTALL_TSAN").is_ok()) {
        eprintln!("==> installing rust-src for the sanitizer: rustup component add rust-src --toolchain nightly");
        let _ = Command::new("rustup")
            .args(["component", "add", "rust-src", "--toolchain", "nightly"])
            .status();
    }
    if !has_rust_src() {
        let why =
            "nightly with rust-src is not installed; `cargo xtask tsan` installs it".to_string();
        eprintln!("==> tsan: SKIPPED — {why}");
        return Err(why);
    }
    let host = Command::new("rustc")
        .args(["+nightly", "-vV"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".into());
    // One run for the binaries taken whole, one per filtered binary (a libtest filter would
    // apply to every binary of a run).
    let mut runs: Vec<Vec<&str>> = vec![Vec::new()];
    for (package, test, filters) in TSAN_TESTS {
        let args = ["-p", package, "--test", test];
        if filters.is_empty() {
            runs[0].extend(args);
        } else {
            let mut run = args.to_vec();
            run.push("--");
            run.extend(*filters);
            runs.push(run);
        }
    }
    let name = format!("tsan ({host})");
    let mut stage = Stage {
        name: name.clone(),
        outcome: Outcome::Passed,
        elapsed: Duration::ZERO,
    };
    for args in runs {
        let mut cmd = Command::new("cargo");
        cmd.args(["+nightly", "test", "-Zbuild-std", "--target", &host])
            .args(args)
            .env("RUSTFLAGS", "-Zsanitizer=thread")
            .env("CARGO_TARGET_DIR", root.join("target/tsan"))
            // The instrumented code runs 5-15x slower: widen the stress loops' hang deadline.
            .env("SYNCLAB_DEADLINE_SCALE", "10")
            // Fail the test binary on the first report instead of continuing; and let an
            // allocation too large to serve fail as the system allocator's does (null, so a
            // fallible reservation returns its typed error) rather than abort the binary: the
            // capacity models ask for the largest queue on purpose.
            .env(
                "TSAN_OPTIONS",
                "halt_on_error=1:allocator_may_return_null=1",
            )
            // Arms the negative control (`tests/tsan_control.rs`).
            .env("SYNCLAB_UNDER_TSAN", "1")
            // The Chase–Lev deque (and so the work-stealing pool) publishes each item with
            // `fence(Release)` and a Relaxed store, as the paper does: TSan, blind to fences,
            // reports the thief's first read of the item as a race. Those models skip this run
            // (the harness says so per model); loom and Miri check them.
            .env("SYNCLAB_TSAN_SKIP", "work_stealing,deque,WorkStealing");
        let part = run(root, &name, &mut cmd);
        stage.elapsed += part.elapsed;
        if part.outcome != Outcome::Passed {
            stage.outcome = part.outcome;
            break;
        }
    }
    Ok(stage)
}

/// Whether `valgrind` runs.
fn has_valgrind() -> bool {
    Command::new("valgrind")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Installs valgrind from the Debian packages when it is missing: `apt-get install -y
/// valgrind`, after `apt-get update` if the first attempt fails.
fn ensure_valgrind() -> Result<(), String> {
    if has_valgrind() {
        return Ok(());
    }
    eprintln!("==> valgrind is missing: apt-get install -y valgrind");
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "valgrind"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    if !install() {
        let _ = Command::new("apt-get").arg("update").status();
        install();
    }
    if has_valgrind() {
        Ok(())
    } else {
        Err("could not install valgrind (needs apt-get and root): run `apt-get install -y valgrind`".into())
    }
}

/// `cargo xtask icount [ARGS]`: valgrind installed if needed, then the instruction-count
/// table (`synclab compare --instructions --runs 0 ARGS`, e.g. `--filter locks`,
/// `--out DIR`).
fn icount(root: &Path, args: &[String]) -> Result<(), String> {
    ensure_valgrind()?;
    let mut cmd = cargo();
    cmd.args(["run", "--release", "-p", "synclab-cli", "--", "compare"])
        .args(["--instructions", "--runs", "0"])
        .args(args);
    summary(&[run(root, "instruction counts", &mut cmd)])
}

fn bench(root: &Path, args: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["bench", "-p", "synclab-benches"]);
    if let Some(group) = args.first() {
        cmd.args(["--bench", group]);
    }
    summary(&[run(root, "criterion", &mut cmd)])
}
