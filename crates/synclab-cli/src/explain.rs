//! `synclab explain`: run a zoo entry under the checker that catches it and show the
//! counterexample — the failing interleaving as a table with a column per thread, the same
//! steps as a sequence diagram (Mermaid, and an SVG file) — or regenerate `docs/zoo.md`'s.
//!
//! This binary is a plain build, and a checker needs its own (`--cfg synclab_loom` changes
//! every crate of the build), so `explain` runs the entry's test through cargo, in the
//! checker's own target directory (`target/loom`, `target/shuttle`, as `cargo xtask verify`
//! does): the first run of a checker builds its test binaries (minutes), later runs reuse
//! them. The entries are the `zoo_test!`s under `verification/tests` (the `models` binary's
//! modules) and `examples/own-design/tests`, found by reading those files, so a new entry needs no
//! registration here.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clap::Args;

/// Options of `synclab explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The entry: a zoo test's name, its path (`pool::seed::seed_cpp_wait_data_race`), or a
    /// unique part of one (`seed_cpp_wait_data`).
    entry: Option<String>,
    /// The checker to run it under (default: the one docs/zoo.md shows — shuttle where it
    /// catches the bug, else loom).
    #[arg(long, value_parser = ["loom", "shuttle"])]
    checker: Option<String>,
    /// Show every step, not only those that matter.
    #[arg(long)]
    full: bool,
    /// Where to write the diagram files (default: target/<checker>/counterexamples).
    #[arg(long)]
    out: Option<PathBuf>,
    /// List the entries and the checker each is shown with.
    #[arg(long)]
    list: bool,
    /// Regenerate the counterexamples in docs/zoo.md (runs every zoo entry under both
    /// checkers; each zoo test checks its entry against the docs afterwards).
    #[arg(long)]
    write_docs: bool,
    /// With --write-docs: splice the blocks an earlier run wrote into DIR (a test run with
    /// `SYNCLAB_ZOO_DOCS_DIR=DIR`, such as `cargo xtask verify`'s) instead of running the
    /// entries again.
    #[arg(long, value_name = "DIR", requires = "write_docs")]
    docs_from: Option<PathBuf>,
}

/// One `zoo_test!`.
#[derive(Debug, Clone)]
struct Entry {
    package: &'static str,
    /// The test binary's name (`models` for `tests/models/main.rs`, `ring` for `tests/ring.rs`).
    file: String,
    /// The module inside the test binary (`pool::seed`; empty at its root).
    module: String,
    name: String,
    checker: &'static str,
}

impl Entry {
    /// The test's name inside its binary, as libtest filters it.
    fn test_name(&self) -> String {
        if self.module.is_empty() {
            self.name.clone()
        } else {
            format!("{}::{}", self.module, self.name)
        }
    }

    /// The key docs/zoo.md shows the entry under: the test's `module_path!()` and name.
    fn key(&self) -> String {
        format!("{}::{}", self.file, self.test_name())
    }
}

/// The `.rs` files under `dir`, at any depth, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(listing) = std::fs::read_dir(dir) else {
        return;
    };
    for path in listing.flatten().map(|e| e.path()) {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out.sort();
}

/// The test binary and the module inside it of a file under a `tests` folder: `ring.rs` is
/// binary `ring`; `models/main.rs` is binary `models`, `models/pool/seed.rs` its module
/// `pool::seed` and `models/pool/mod.rs` its module `pool`.
fn binary_and_module(relative: &Path) -> (String, String) {
    let parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let Some((binary, inner)) = parts.split_first() else {
        return (String::new(), String::new());
    };
    let inner: Vec<&str> = inner
        .iter()
        .map(String::as_str)
        .filter(|p| *p != "main" && *p != "mod")
        .collect();
    (binary.clone(), inner.join("::"))
}

/// The workspace this binary was built from, else the nearest ancestor of the current
/// directory that holds synclab's verification crate.
fn workspace_root() -> Result<PathBuf, String> {
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let candidates = std::iter::once(built).chain(
        std::env::current_dir()
            .map(|d| d.ancestors().map(Path::to_path_buf).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    for dir in candidates {
        if dir.join("verification/Cargo.toml").is_file() && dir.join("docs/zoo.md").is_file() {
            return Ok(dir.canonicalize().unwrap_or(dir));
        }
    }
    Err("cannot find synclab's workspace (run `synclab explain` inside a clone of synclab)".into())
}

/// The arguments of `Expect::both(..)` / `Expect::per_checker(.., ..)`, split at top-level
/// commas.
fn expect_args(text: &str) -> Vec<String> {
    let Some(open) = text.find('(') else {
        return Vec::new();
    };
    let mut depth = 0;
    let mut args = vec![String::new()];
    for c in text[open + 1..].chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' if depth == 0 => break,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push(c);
        }
    }
    args.into_iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect()
}

/// The checker the docs show an entry with, by the rule of `Expect::docs_checker`.
fn docs_checker(expect: &str) -> &'static str {
    let args = expect_args(expect);
    let shuttle = match args.as_slice() {
        [both] => both.as_str(),
        [_, shuttle, ..] => shuttle.as_str(),
        [] => "",
    };
    if shuttle.contains("Blind") {
        "loom"
    } else {
        "shuttle"
    }
}

fn entries(root: &Path) -> Result<Vec<Entry>, String> {
    let mut found = Vec::new();
    for (package, dir) in [
        ("synclab-verification", "verification/tests"),
        ("own-design", "examples/own-design/tests"),
    ] {
        let dir = root.join(dir);
        let mut files = Vec::new();
        rust_files(&dir, &mut files);
        for path in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let (file, module) = binary_and_module(path.strip_prefix(&dir).unwrap_or(&path));
            for block in text.split("zoo_test!").skip(1) {
                let Some(at) = block.find("fn ") else {
                    continue;
                };
                let rest = &block[at + 3..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let Some(expect_at) = rest.find("expect ") else {
                    continue;
                };
                let expect = &rest[expect_at + 7..];
                let end = expect.find("=>").unwrap_or(expect.len());
                let expect = expect[..end].split(", shows").next().unwrap_or("");
                found.push(Entry {
                    package,
                    file: file.clone(),
                    module: module.clone(),
                    name,
                    checker: docs_checker(expect),
                });
            }
        }
    }
    Ok(found)
}

fn pick<'a>(all: &'a [Entry], wanted: &str) -> Result<&'a Entry, String> {
    if let Some(e) = all
        .iter()
        .find(|e| e.name == wanted || e.key() == wanted || e.test_name() == wanted)
    {
        return Ok(e);
    }
    let matches: Vec<&Entry> = all.iter().filter(|e| e.key().contains(wanted)).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(format!(
            "no zoo entry matches {wanted:?}; `synclab explain --list` shows them"
        )),
        many => Err(format!(
            "{wanted:?} matches {} entries: {}",
            many.len(),
            many.iter().map(|e| e.key()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// `cargo test --release` under `checker`, in its own target directory.
fn cargo_test(root: &Path, checker: &str) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    let flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    cmd.current_dir(root)
        .args(["test", "--release"])
        .env(
            "RUSTFLAGS",
            format!("{flags} --cfg synclab_{checker}").trim(),
        )
        .env("CARGO_TARGET_DIR", root.join("target").join(checker))
        .env_remove("SYNCLAB_REPORT");
    cmd
}

/// Runs `synclab explain`.
pub fn run(args: ExplainArgs) -> Result<(), String> {
    let root = workspace_root()?;
    let all = entries(&root)?;
    if args.list {
        for e in &all {
            println!("{:<60} {}", e.key(), e.checker);
        }
        println!("{} entries", all.len());
        return Ok(());
    }
    if args.write_docs {
        return match &args.docs_from {
            Some(dir) => splice_docs(&root, dir, &all),
            None => write_docs(&root, &all),
        };
    }
    let Some(wanted) = args.entry.as_deref() else {
        return Err(
            "name an entry (`synclab explain --list` shows them), or give --write-docs".into(),
        );
    };
    let entry = pick(&all, wanted)?;
    let checker = args.checker.as_deref().unwrap_or(entry.checker);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| root.join("target").join(checker).join("counterexamples"));
    eprintln!(
        "synclab explain: {} under {checker} (building its test binary in target/{checker} if needed; the first build takes minutes)",
        entry.key()
    );
    let mut cmd = cargo_test(&root, checker);
    cmd.args([
        "-p",
        entry.package,
        "--test",
        &entry.file,
        "--",
        &entry.test_name(),
    ])
    .args(["--exact", "--nocapture", "--test-threads=1"])
    .env("SYNCLAB_EXPLAIN", "1")
    .env("SYNCLAB_TRACE_DIR", &out)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if args.full {
        cmd.env("SYNCLAB_TRACE_FULL", "1");
    }
    let output = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let start = text.find("==== counterexample");
    let end = text.rfind("==== end of counterexample ====");
    match (start, end) {
        (Some(s), Some(e)) if e > s => {
            println!("{}", &text[s..e + "==== end of counterexample ====".len()]);
            if !output.status.success() {
                eprintln!("(the entry's test failed: its expectation no longer holds; see `cargo test` output)");
            }
            Ok(())
        }
        _ => Err(format!(
            "{} printed no counterexample under {checker} (does {checker} catch it? the docs' \
             checker is {}). Its output:\n{text}",
            entry.key(),
            entry.checker
        )),
    }
}

/// Runs every zoo entry under both checkers (each test file's entries in one run, selected by
/// name), collecting their blocks, and splices them into docs/zoo.md.
fn write_docs(root: &Path, all: &[Entry]) -> Result<(), String> {
    let dir = root.join("target/zoo-docs");
    let _ = std::fs::remove_dir_all(&dir);
    let mut files: Vec<(&'static str, &str)> =
        all.iter().map(|e| (e.package, e.file.as_str())).collect();
    files.dedup();
    for checker in ["loom", "shuttle"] {
        for &(package, file) in &files {
            eprintln!("synclab explain --write-docs: {file}'s zoo entries under {checker}");
            let names: Vec<String> = all
                .iter()
                .filter(|e| e.package == package && e.file == file)
                .map(Entry::test_name)
                .collect();
            let output = cargo_test(root, checker)
                .args(["-p", package, "--test", file, "--"])
                .args(&names)
                .args(["--exact", "--test-threads=1"])
                .env("SYNCLAB_ZOO_DOCS_DIR", &dir)
                .output()
                .map_err(|e| format!("cannot run cargo: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "a zoo entry of {file} failed under {checker} (its expectation no longer holds):\n{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
    }
    splice_docs(root, &dir, all)
}

/// Splices the blocks written into `dir` into docs/zoo.md, after checking that every entry
/// wrote one (a partial run would drop entries from the docs).
fn splice_docs(root: &Path, dir: &Path, all: &[Entry]) -> Result<(), String> {
    let missing: Vec<String> = all
        .iter()
        .map(Entry::key)
        .filter(|key| {
            !dir.join(format!("{}.md", key.replace("::", "--")))
                .is_file()
        })
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} wrote no counterexample for {}: run every entry (without a filter) first",
            dir.display(),
            missing.join(", ")
        ));
    }
    let path = root.join("docs/zoo.md");
    let docs = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let written = synclab_verification::zoo_docs::splice(&docs, dir)?;
    std::fs::write(&path, &written).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "wrote {} counterexamples into {}",
        all.len(),
        path.display()
    );
    let guide = root.join(OWN_DESIGNS);
    let text = std::fs::read_to_string(&guide).map_err(|e| format!("{}: {e}", guide.display()))?;
    std::fs::write(&guide, own_designs_sample(&text, &written)?)
        .map_err(|e| format!("{}: {e}", guide.display()))?;
    println!("wrote the sample counterexample into {}", guide.display());
    Ok(())
}

/// The user's guide, whose "Read a failure" shows the own-design example's counterexample.
const OWN_DESIGNS: &str = "docs/own-designs.md";
/// The zoo entry the guide shows.
const SAMPLE: &str = "ring::broken_pop_without_recheck";
const SAMPLE_END: &str = "<!-- end own-design sample -->";

fn sample_open() -> String {
    format!("<!-- own-design sample: filled from docs/zoo.md's entry `{SAMPLE}` -->")
}

/// `guide` with its sample replaced by the block `zoo` (docs/zoo.md's text) shows for
/// [`SAMPLE`].
fn own_designs_sample(guide: &str, zoo: &str) -> Result<String, String> {
    let block = synclab_verification::zoo_docs::block_in(zoo, SAMPLE)
        .ok_or_else(|| format!("docs/zoo.md shows no counterexample for {SAMPLE}"))?;
    let open = sample_open();
    let start = guide
        .find(&open)
        .ok_or_else(|| format!("{OWN_DESIGNS} has no {open:?} marker"))?
        + open.len();
    let end = guide[start..]
        .find(SAMPLE_END)
        .map_or(start, |e| start + e + SAMPLE_END.len());
    Ok(format!(
        "{}\n{block}{SAMPLE_END}{}",
        &guide[..start],
        &guide[end..]
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_docs_checker() {
        assert_eq!(docs_checker("Expect::both(Failure::Deadlock)"), "shuttle");
        assert_eq!(
            docs_checker("Expect::per_checker(Failure::DataRace, Failure::Assertion(\"x, y\"))"),
            "shuttle"
        );
        assert_eq!(
            docs_checker("Expect::per_checker(Failure::Deadlock, Failure::Blind)"),
            "loom"
        );
    }

    /// The guide shows the own-design example's counterexample as docs/zoo.md does (which
    /// the zoo test keeps in step with the checker).
    #[test]
    fn own_designs_shows_the_zoo_sample() {
        let root = workspace_root().unwrap();
        let guide = std::fs::read_to_string(root.join(OWN_DESIGNS)).unwrap();
        let zoo = std::fs::read_to_string(root.join("docs/zoo.md")).unwrap();
        assert_eq!(
            own_designs_sample(&guide, &zoo).unwrap(),
            guide,
            "{OWN_DESIGNS}'s sample drifted from docs/zoo.md; regenerate with \
             `cargo run -p synclab-cli -- explain --write-docs`"
        );
    }

    #[test]
    fn finds_every_zoo_entry() {
        let root = workspace_root().unwrap();
        let all = entries(&root).unwrap();
        assert!(all
            .iter()
            .any(|e| e.key() == "models::pool::seed::seed_cpp_wait_data_race"
                && e.test_name() == "pool::seed::seed_cpp_wait_data_race"
                && e.checker == "loom"));
        assert!(all
            .iter()
            .any(|e| e.key() == "ring::broken_pop_without_recheck"));
        let mut files = Vec::new();
        rust_files(&root.join("verification/tests/models/lock"), &mut files);
        let in_lock: usize = files
            .iter()
            .map(|f| {
                std::fs::read_to_string(f)
                    .unwrap()
                    .matches("zoo_test! {")
                    .count()
            })
            .sum();
        assert!(in_lock > 0);
        assert_eq!(
            all.iter()
                .filter(|e| e.file == "models" && e.module.starts_with("lock::"))
                .count(),
            in_lock
        );
    }
}
