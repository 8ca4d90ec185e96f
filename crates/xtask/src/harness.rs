//! What the two mutation audits share: which models cover a source file, the scratch copy of
//! the workspace a mutant is built in, the runner with a timeout, and the results store.
//!
//! * **Covering models** come from one table, [`COVERING`]: a source-path prefix (under
//!   `crates/synclab/src`) → the verification test binaries and libtest name filters whose
//!   models exercise that code. The longest matching prefix wins. When the verification tests
//!   are restructured, this table is the one place to change.
//! * **The scratch tree** (`target/<audit>/tree`) is a copy of the workspace; a mutant is
//!   written into it and the original restored afterwards, so the working tree is never
//!   modified. Each checker builds in its own target directory beside it.
//! * **The runner** puts each command in a process group of its own and, on timeout, kills the
//!   whole group: `cargo test` runs the test binary as a child, and killing `cargo` alone left
//!   the binary running. (Interrupting xtask does not reach that group either; the group id
//!   is printed when a run starts, for `kill -- -ID`.)
//! * **The results store** is a committed TSV, one row per mutant that has a result, keyed by
//!   the function the mutant is in, its rank there, the mutation and the function's code hash
//!   (see `source.rs`): a moved function keeps its results, a changed one runs again.

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Models in one verification test binary: `cargo test -p synclab-verification --test
/// BINARY -- FILTERS`.
#[derive(Debug, Clone, Copy)]
pub struct Models {
    pub binary: &'static str,
    /// libtest name filters (a test runs when its path contains any of them); empty: all.
    pub filters: &'static [&'static str],
}

const fn m(binary: &'static str, filters: &'static [&'static str]) -> Models {
    Models { binary, filters }
}

/// Which models cover which code: (source-path prefix under `crates/synclab/src`, models).
/// The longest matching prefix wins; a file no entry matches has no covering model, and its
/// mutants are recorded so. That is the case of what the checker builds leave out — the
/// segment itself (every file under `shm/` but `mod.rs`, and `array/segment.rs`,
/// `lock/segment.rs`: `synclab_plain` only) and the `lock_api` bridge (a build error under
/// the checkers); a mutant of a file that an entry names but the checker build leaves out is
/// caught at run time ([`compiled`]).
///
/// A file's models are those of its design and of the designs built on it where its own
/// models do not reach a path (the event count's sleeping through the blocking queue and the
/// lock-free pool; the owner word of `shm` through the laned array and the duplex ring). The
/// designs that the processes models run in a modelled segment (the futex mutex, the lock-free
/// array, the array queue, the duplex ring) add those models (owner tags, take-over); the
/// shuttle-only linearizability checks are listed for the designs they check (under loom that
/// binary has no tests, so it adds nothing there).
pub const COVERING: &[(&str, &[Models])] = &[
    ("array/", &[m("models", &["array::"])]),
    ("array/polling.rs", &[m("models", &["array::polling::"])]),
    (
        "array/condvar.rs",
        &[m(
            "models",
            &[
                "array::condvar::",
                "linearizability::condvar_array",
                "processes::condvar_publisher_killed",
            ],
        )],
    ),
    (
        "array/lock_free.rs",
        &[m(
            "models",
            &[
                "array::lock_free::",
                "linearizability::lock_free_array",
                "processes::publisher_killed",
            ],
        )],
    ),
    (
        "array/laned.rs",
        &[m(
            "models",
            &["array::laned::", "processes::lane_holder_killed"],
        )],
    ),
    // The slot both lock-free arrays are made of.
    (
        "array/slot.rs",
        &[m(
            "models",
            &[
                "array::lock_free::",
                "array::laned::",
                "linearizability::lock_free_array",
                "processes::publisher_killed",
                "processes::lane_holder_killed",
            ],
        )],
    ),
    // What a segment adds: only the death models run in tracked memory.
    (
        "array/tracked.rs",
        &[m(
            "models",
            &[
                "processes::publisher_killed",
                "processes::lane_holder_killed",
            ],
        )],
    ),
    (
        "array/fault.rs",
        &[m(
            "models",
            &[
                "processes::publisher_killed",
                "processes::lane_holder_killed",
                "processes::condvar_publisher_killed",
            ],
        )],
    ),
    ("lock/", &[m("models", &["lock::"])]),
    ("lock/condvar.rs", &[m("models", &["lock::condvar::"])]),
    // A family's wait and notify are called by the designs that sleep on its condvar (the
    // locked queue only locks): no lock model calls them.
    (
        "lock/family.rs",
        &[m("models", &["array::condvar::", "pool::condvar_pool::"])],
    ),
    (
        "lock/counting_mutex.rs",
        &[m("models", &["lock::counting_mutex::"])],
    ),
    (
        "lock/futex_mutex.rs",
        &[m("models", &["lock::futex_mutex::"])],
    ),
    (
        "lock/robust_mutex.rs",
        &[m(
            "models",
            &[
                "lock::robust_mutex::",
                "processes::mutex_holder_killed",
                "processes::robust_mutex",
            ],
        )],
    ),
    ("lock/spin.rs", &[m("models", &["lock::spin_mutex::"])]),
    ("queue/", &[m("models", &["queue::array_queue::"])]),
    (
        "queue/array_queue",
        &[m(
            "models",
            &[
                "queue::array_queue::",
                "queue::blocking::",
                "processes::producer_killed_after_claim",
                "processes::consumer_killed_after_claim",
                "linearizability::array_queue",
                "linearizability::blocking_",
            ],
        )],
    ),
    (
        "queue/blocking",
        &[m(
            "models",
            &[
                "queue::blocking::",
                "queue::array_queue::suite::blocking_",
                "queue::array_queue::suite::channel_",
                "linearizability::blocking_",
            ],
        )],
    ),
    (
        "queue/channel.rs",
        &[m(
            "models",
            &[
                "queue::blocking::channel_",
                "queue::array_queue::suite::channel_",
            ],
        )],
    ),
    (
        "queue/fault.rs",
        &[m(
            "models",
            &[
                "processes::producer_killed_after_claim",
                "processes::consumer_killed_after_claim",
                "processes::duplex_holder",
            ],
        )],
    ),
    (
        "queue/deque.rs",
        &[m("models", &["deque::", "linearizability::deque"])],
    ),
    (
        "queue/duplex",
        &[m("models", &["queue::duplex::", "processes::duplex"])],
    ),
    (
        "queue/event_count.rs",
        &[m(
            "models",
            &[
                "queue::event_count::",
                "queue::array_queue::suite::blocking_",
                "pool::lock_free::",
            ],
        )],
    ),
    (
        "queue/locked.rs",
        &[m(
            "models",
            &["queue::locked::", "linearizability::locked_queue"],
        )],
    ),
    ("pool/", &[m("models", &["pool::"])]),
    (
        "pool/condvar_pool.rs",
        &[m("models", &["pool::condvar_pool::"])],
    ),
    (
        "pool/injector.rs",
        &[m("models", &["pool::lock_free::", "pool::work_stealing::"])],
    ),
    ("pool/lock_free.rs", &[m("models", &["pool::lock_free::"])]),
    (
        "pool/state.rs",
        &[m("models", &["pool::lock_free::", "pool::work_stealing::"])],
    ),
    (
        "pool/work_stealing",
        &[m("models", &["pool::work_stealing::"])],
    ),
    (
        "shm/mod.rs",
        &[m(
            "models",
            &[
                "processes::",
                "array::laned::",
                "queue::duplex::",
                // `Memory`'s wait and wake, which every design generic over its memory calls.
                "lock::robust_mutex::",
                "lock::condvar::",
                "queue::event_count::",
            ],
        )],
    ),
];

/// The models that cover `rel`, a path under `crates/synclab/src` (`queue/deque.rs`): the
/// entry of [`COVERING`] with the longest prefix of it, or none.
pub fn covering(rel: &str) -> &'static [Models] {
    COVERING
        .iter()
        .filter(|(prefix, _)| rel.starts_with(prefix))
        .max_by_key(|(prefix, _)| prefix.len())
        .map_or(&[], |(_, models)| models)
}

/// `queue[array_queue|blocking_], processes` — for the results' models column.
pub fn describe(models: &[Models]) -> String {
    models
        .iter()
        .map(|m| {
            if m.filters.is_empty() {
                m.binary.to_string()
            } else {
                format!("{}[{}]", m.binary, m.filters.join("|"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The library's source files under `crates/synclab/src` whose relative path contains
/// `filter`, sorted; the `sync` layer (the checkers' own futex models) excluded.
pub fn library_files(root: &Path, filter: Option<&str>) -> Vec<PathBuf> {
    let src = root.join("crates/synclab/src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.retain(|f| {
        let rel = rel_src(root, f);
        !rel.starts_with("sync") && filter.is_none_or(|p| rel.contains(p))
    });
    files.sort();
    files
}

/// `file` relative to `crates/synclab/src` (`queue/deque.rs`).
pub fn rel_src(root: &Path, file: &Path) -> String {
    file.strip_prefix(root.join("crates/synclab/src"))
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned()
}

/// `p` relative to the workspace root.
pub fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The part of a source file that is the library: everything before its unit-test module (a
/// top-level `#[cfg(test)]` or `#[cfg(all(test, …))]`).
pub fn library_part(src: &str) -> &str {
    let mut at = 0;
    for line in src.split_inclusive('\n') {
        if line.starts_with("#[cfg(test)]") || line.starts_with("#[cfg(all(test") {
            return &src[..at];
        }
        at += line.len();
    }
    src
}

/// A copy of the workspace under `target/<name>/tree`, each checker's target directory beside
/// it.
pub struct Scratch {
    pub tree: PathBuf,
    dir: PathBuf,
}

impl Scratch {
    /// Brings the copy of the workspace (what the build needs, without `target/`) up to date:
    /// a file whose text is already there is left alone, so its timestamp, and the checkers'
    /// builds of it, stay valid; any other is written anew (a fresh timestamp: cargo rebuilds
    /// it, which matters for a file a killed run left mutated) and a file the workspace no
    /// longer has is removed.
    pub fn create(root: &Path, name: &str) -> Result<Scratch, String> {
        let dir = root.join("target").join(name);
        let tree = dir.join("tree");
        std::fs::create_dir_all(&tree).map_err(|e| format!("{}: {e}", tree.display()))?;
        let parts = [
            "Cargo.toml",
            "Cargo.lock",
            ".cargo",
            "crates",
            "verification",
            "benches",
            // Workspace members too (`examples/own-design`), or the scratch workspace is broken.
            "examples",
        ];
        // Anything at the top of the tree that is not a part is from an older layout.
        for e in std::fs::read_dir(&tree).into_iter().flatten().flatten() {
            if !parts.iter().any(|p| e.file_name() == *p) {
                remove(&e.path())?;
            }
        }
        for part in parts {
            sync(&root.join(part), &tree.join(part))?;
        }
        Ok(Scratch { tree, dir })
    }

    /// The target directory of one build flavour (`loom`, `shuttle`, `miri`).
    pub fn target(&self, flavour: &str) -> PathBuf {
        self.dir.join(flavour)
    }

    /// Writes `text` over `rel` (relative to the workspace root) in the tree until the returned
    /// guard drops, which puts the original back.
    pub fn mutate(&self, rel: &Path, text: &str) -> Result<Restore, String> {
        let path = self.tree.join(rel);
        let original =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Restore { path, original })
    }
}

/// Makes `to` a copy of `from` (a file or a folder, `target` folders left out), writing only
/// the files whose bytes differ.
fn sync(from: &Path, to: &Path) -> Result<(), String> {
    let err = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    if from.is_dir() {
        if to.exists() && !to.is_dir() {
            remove(to)?;
        }
        std::fs::create_dir_all(to).map_err(|e| err(to, e))?;
        let mut names = std::collections::HashSet::new();
        for e in std::fs::read_dir(from).map_err(|e| err(from, e))? {
            let e = e.map_err(|e| err(from, e))?;
            if e.file_name() == "target" {
                continue;
            }
            names.insert(e.file_name());
            sync(&e.path(), &to.join(e.file_name()))?;
        }
        for e in std::fs::read_dir(to).map_err(|e| err(to, e))?.flatten() {
            if !names.contains(&e.file_name()) {
                remove(&e.path())?;
            }
        }
        return Ok(());
    }
    let bytes = std::fs::read(from).map_err(|e| err(from, e))?;
    // A link in the copy (an older `cp -r` kept them) would write through to its target.
    if to.is_dir()
        || to
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
    {
        remove(to)?;
    }
    if std::fs::read(to).ok().as_deref() != Some(&bytes[..]) {
        std::fs::write(to, &bytes).map_err(|e| err(to, e))?;
    }
    Ok(())
}

fn remove(p: &Path) -> Result<(), String> {
    let r = if p.symlink_metadata().is_ok_and(|m| m.is_dir()) {
        std::fs::remove_dir_all(p)
    } else {
        std::fs::remove_file(p)
    };
    r.map_err(|e| format!("{}: {e}", p.display()))
}

/// Puts a scratch file's original text back when dropped.
pub struct Restore {
    path: PathBuf,
    original: String,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.path, &self.original) {
            eprintln!(
                "could not restore {} in the scratch tree: {e}",
                self.path.display()
            );
        }
    }
}

/// How a command ended.
pub enum Outcome {
    Passed(String),
    Failed(String),
    TimedOut,
}

/// Runs `cmd` (output captured) in a process group of its own; after `timeout` kills the whole
/// group — cargo and the test binaries it started — and reports `TimedOut`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Outcome {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out_path =
        std::env::temp_dir().join(format!("synclab-xtask-{}-{n}.log", std::process::id()));
    let Ok(file) = std::fs::File::create(&out_path) else {
        return Outcome::Failed(format!("cannot create {}", out_path.display()));
    };
    let err = file.try_clone().ok();
    cmd.stdout(file);
    if let Some(err) = err {
        cmd.stderr(err);
    }
    cmd.process_group(0);
    let mut child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return Outcome::Failed(format!("cannot spawn {cmd:?}: {e}")),
    };
    let start = Instant::now();
    let log = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let _ = std::fs::remove_file(path);
        text
    };
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let text = log(&out_path);
                return if status.success() {
                    Outcome::Passed(text)
                } else {
                    Outcome::Failed(text)
                };
            }
            Ok(None) if start.elapsed() > timeout => {
                // The group's id is the child's pid (`process_group(0)`).
                let _ = Command::new("kill")
                    .args(["-KILL", "--", &format!("-{}", child.id())])
                    .status();
                let _ = child.kill();
                let _ = child.wait();
                log(&out_path);
                return Outcome::TimedOut;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(200)),
            Err(e) => return Outcome::Failed(format!("wait failed: {e}")),
        }
    }
}

/// A checker world the models run in.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Checker {
    Loom,
    Shuttle,
}

impl Checker {
    pub fn name(self) -> &'static str {
        match self {
            Checker::Loom => "loom",
            Checker::Shuttle => "shuttle",
        }
    }
}

/// What the covering models said about the tree as it is.
#[derive(Debug)]
pub enum Leg {
    /// Every model passed; `tests` ran (0: the filters matched nothing in this world).
    Passed { tests: usize },
    /// A model failed: the failing tests' names.
    Failed { failing: Vec<String> },
    /// The tree does not compile (a mutant that is not Rust, or not well typed).
    Invalid,
    /// The models ran past the timeout.
    TimedOut,
}

fn cargo_test(scratch: &Scratch, checker: Checker, args: &[&str]) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&scratch.tree)
        .args(["test", "--release", "-q", "-p", "synclab-verification"])
        .args(args)
        .env("RUSTFLAGS", format!("--cfg synclab_{}", checker.name()))
        .env("CARGO_TARGET_DIR", scratch.target(checker.name()))
        // The zoo's expected failures are not models of the library: skip them.
        .env("SYNCLAB_AUDIT", "1")
        .env_remove("SYNCLAB_REPORT");
    cmd
}

/// Builds the test binaries of `models` in `scratch` for `checker` (at most 30 minutes):
/// `Ok(true)` if they build, `Ok(false)` if the code does not compile, `Err` for any other
/// failure (the environment's, not the code's).
pub fn build(scratch: &Scratch, checker: Checker, models: &[Models]) -> Result<bool, String> {
    let mut binaries: Vec<&str> = models.iter().map(|m| m.binary).collect();
    binaries.dedup();
    let mut args = vec!["--no-run"];
    for b in &binaries {
        args.extend(["--test", b]);
    }
    match run_with_timeout(
        cargo_test(scratch, checker, &args),
        Duration::from_secs(1800),
    ) {
        Outcome::Passed(_) => Ok(true),
        Outcome::Failed(log) if log.contains("could not compile") || log.contains("error[E") => {
            Ok(false)
        }
        Outcome::Failed(log) => Err(format!(
            "the {} build failed for another reason than the code:\n{}",
            checker.name(),
            tail(&log, 20)
        )),
        Outcome::TimedOut => Err(format!("the {} build took over 30 minutes", checker.name())),
    }
}

/// Whether the checker build of `models` compiles the library file `rel` (relative to the
/// workspace root) at all: a `compile_error!` appended to it must break the build. A file the
/// build leaves out (a cfg, a feature) can hide no mutant from the models — nor show one.
pub fn compiled(
    scratch: &Scratch,
    checker: Checker,
    models: &[Models],
    rel: &Path,
) -> Result<bool, String> {
    let path = scratch.tree.join(rel);
    let original =
        std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let probe = format!("{original}\ncompile_error!(\"is this file compiled?\");\n");
    let _restore = scratch.mutate(rel, &probe)?;
    Ok(!build(scratch, checker, models)?)
}

/// Builds the covering test binaries in `scratch` for `checker`, then runs `models` (with
/// `only` as the only name filter, if given). The build has its own limit (30 minutes);
/// `timeout` bounds the models' run. `Err` is an environment failure (not the mutant's).
pub fn run_models(
    scratch: &Scratch,
    checker: Checker,
    models: &[Models],
    only: Option<&str>,
    timeout: Duration,
) -> Result<Leg, String> {
    if !build(scratch, checker, models)? {
        return Ok(Leg::Invalid);
    }
    let deadline = Instant::now() + timeout;
    let mut tests = 0;
    for m in models {
        let mut args = vec!["--test", m.binary, "--", "--test-threads=2"];
        match only {
            Some(only) => args.push(only),
            None => args.extend(m.filters),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match run_with_timeout(cargo_test(scratch, checker, &args), left) {
            Outcome::Passed(log) => tests += passed_count(&log),
            // The build succeeded above, so this is a model failing — perhaps by aborting the
            // whole binary (a loom deadlock panics in a destructor: loom#291).
            Outcome::Failed(log) => {
                return Ok(Leg::Failed {
                    failing: failing_tests(&log),
                })
            }
            Outcome::TimedOut => return Ok(Leg::TimedOut),
        }
    }
    Ok(Leg::Passed { tests })
}

/// The sum of libtest's "test result: ok. N passed" counts.
fn passed_count(log: &str) -> usize {
    log.lines()
        .filter_map(|l| l.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// The tests that failed: those libtest reports (`---- NAME stdout ----`), or, when the
/// binary aborted before its report, the threads that panicked (`thread 'NAME' … panicked`),
/// marked "(aborted)".
fn failing_tests(log: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let push = |names: &mut Vec<String>, name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    };
    for line in log.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            push(&mut names, name);
        }
    }
    if names.is_empty() {
        for line in log.lines() {
            if let Some(name) = line
                .strip_prefix("thread '")
                .and_then(|l| l.split_once('\''))
                .filter(|(_, rest)| rest.contains("panicked"))
                .map(|(name, _)| name)
            {
                push(&mut names, name);
            }
        }
        if log.contains("SIGABRT") {
            names.push("(aborted)".into());
        }
    }
    names
}

fn tail(log: &str, lines: usize) -> String {
    let all: Vec<&str> = log.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// One mutant's recorded outcome.
#[derive(Debug, Clone)]
pub struct Record {
    pub verdict: String,
    pub models: String,
    pub seconds: f64,
}

/// A committed results file: a header line, then one row per mutant with a result — its key
/// (function, rank, mutation, code hash: four tab-separated columns), where it was
/// (`file:line`, for reading), the verdict, the models and the seconds.
pub struct Store {
    pub path: PathBuf,
}

const HEADER: &str = "# function\tnth\tmutation\tcode hash\tsite\tverdict\tmodels\tseconds";

impl Store {
    pub fn new(root: &Path, rel: &str) -> Store {
        Store {
            path: root.join(rel),
        }
    }

    /// Every recorded result by key; a later row for a key replaces an earlier one.
    pub fn load(&self) -> HashMap<String, Record> {
        let mut map = HashMap::new();
        for line in std::fs::read_to_string(&self.path)
            .unwrap_or_default()
            .lines()
        {
            let f: Vec<&str> = line.split('\t').collect();
            if f.len() == 8 && !line.starts_with('#') {
                map.insert(
                    f[..4].join("\t"),
                    Record {
                        verdict: f[5].to_string(),
                        models: f[6].to_string(),
                        seconds: f[7].parse().unwrap_or(0.0),
                    },
                );
            }
        }
        map
    }

    fn row(key: &str, site: &str, r: &Record) -> String {
        format!(
            "{key}\t{site}\t{}\t{}\t{:.1}",
            r.verdict,
            r.models.replace(['\t', '\n'], " "),
            r.seconds
        )
    }

    /// Appends one result (so an interrupted run keeps what it finished).
    pub fn append(&self, key: &str, site: &str, r: &Record) {
        use std::io::Write as _;
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let fresh = !self.path.exists();
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
        {
            if fresh {
                let _ = writeln!(f, "{HEADER}");
            }
            let _ = writeln!(f, "{}", Store::row(key, site, r));
        }
    }

    /// Rewrites the file with one row per *current* mutant (key, site) that has a result, in
    /// the order given: rows of mutants that changed or no longer exist are dropped.
    pub fn compact(
        &self,
        current: impl Iterator<Item = (String, String)>,
        known: &HashMap<String, Record>,
    ) -> Result<(), String> {
        let mut text = format!("{HEADER}\n");
        for (key, site) in current {
            if let Some(r) = known.get(&key) {
                text.push_str(&Store::row(&key, &site, r));
                text.push('\n');
            }
        }
        std::fs::write(&self.path, text).map_err(|e| format!("{}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scratch_copy_rewrites_only_what_changed() {
        let base = std::env::temp_dir().join(format!("xtask-sync-{}", std::process::id()));
        let (from, to) = (base.join("from"), base.join("to"));
        std::fs::create_dir_all(from.join("src/target")).unwrap();
        std::fs::write(from.join("src/same.rs"), "same").unwrap();
        std::fs::write(from.join("src/changed.rs"), "new").unwrap();
        std::fs::write(from.join("src/target/big"), "build output").unwrap();
        std::fs::create_dir_all(to.join("src")).unwrap();
        std::fs::write(to.join("src/same.rs"), "same").unwrap();
        std::fs::write(to.join("src/changed.rs"), "mutant left by a killed run").unwrap();
        std::fs::write(to.join("src/gone.rs"), "old").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        for f in ["src/same.rs", "src/changed.rs"] {
            std::fs::File::options()
                .write(true)
                .open(to.join(f))
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
        sync(&from, &to).unwrap();
        let mtime = |f: &str| std::fs::metadata(to.join(f)).unwrap().modified().unwrap();
        assert_eq!(
            mtime("src/same.rs"),
            old,
            "an unchanged file keeps its timestamp"
        );
        assert!(mtime("src/changed.rs") > old, "a changed file is rewritten");
        assert_eq!(
            std::fs::read_to_string(to.join("src/changed.rs")).unwrap(),
            "new"
        );
        assert!(!to.join("src/gone.rs").exists());
        assert!(!to.join("src/target").exists());
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn the_longest_prefix_picks_the_models() {
        assert_eq!(
            describe(covering("queue/deque.rs")),
            "models[deque::|linearizability::deque]"
        );
        // A file that becomes a folder keeps its entry.
        assert_eq!(
            covering("queue/array_queue/tracked.rs")[0].filters[0],
            "queue::array_queue::"
        );
        assert_eq!(describe(covering("pool/handle.rs")), "models[pool::]");
        assert_eq!(
            describe(covering("pool/work_stealing/registry.rs")),
            "models[pool::work_stealing::]"
        );
        assert!(covering("shm/segment.rs").is_empty());
        assert!(covering("nowhere.rs").is_empty());
    }

    #[test]
    fn every_covering_entry_names_an_existing_test_binary() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (prefix, models) in COVERING {
            for m in *models {
                let tests = root.join("verification/tests");
                assert!(
                    tests.join(format!("{}.rs", m.binary)).is_file()
                        || tests.join(m.binary).join("main.rs").is_file(),
                    "{prefix}: no verification/tests/{}.rs or {}/main.rs",
                    m.binary,
                    m.binary
                );
            }
        }
    }

    #[test]
    fn reads_libtest_counts_and_failures() {
        let log = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed\n\
                   running 2 tests\n---- a::b stdout ----\npanicked\n\
                   test result: ok. 2 passed; 0 failed\n";
        assert_eq!(passed_count(log), 5);
        assert_eq!(failing_tests(log), ["a::b"]);
        let aborted = "thread 'locks_model' (4928) panicked at src/x.rs:1:1:\n\
                       panic in a destructor during cleanup\n\
                       thread 'locks_model' (4928) panicked at src/y.rs:2:2:\n\
                       process didn't exit successfully: `locks` (signal: 6, SIGABRT)";
        assert_eq!(failing_tests(aborted), ["locks_model", "(aborted)"]);
    }

    #[test]
    fn the_library_part_stops_at_the_test_module() {
        let src = "fn a() {}\n    #[cfg(test)]\n    fn b() {}\n#[cfg(test)]\nmod tests {}\n";
        assert_eq!(
            library_part(src),
            "fn a() {}\n    #[cfg(test)]\n    fn b() {}\n"
        );
        assert_eq!(library_part("fn a() {}"), "fn a() {}");
    }

    #[test]
    fn a_timeout_kills_the_children_too() {
        // A shell whose child outlives it unless the whole group is killed.
        let marker = std::env::temp_dir().join(format!("xtask-group-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(format!("(sleep 2; touch {}) & sleep 30", marker.display()));
        let start = Instant::now();
        assert!(matches!(
            run_with_timeout(cmd, Duration::from_millis(300)),
            Outcome::TimedOut
        ));
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_secs(3));
        assert!(!marker.exists(), "the grandchild survived the timeout");
    }
}
