//! `cargo xtask audit` — the ordering-mutation audit.
//!
//! For every atomic ordering and fence in `crates/synclab/src` (the sync layer's checker
//! models excluded; the zoo is a crate of its own and is not audited), build a mutant with
//! that one site weakened one step and run the loom models that cover the file; a mutant the
//! models reject is *killed*, one they accept *survived*. A survivor is either an ordering
//! stronger than needed, or a bug the models cannot see; docs/verification.md explains each
//! one.
//!
//! Weakening, one step, by the kind of operation the ordering belongs to:
//!
//! | operation | steps |
//! |---|---|
//! | load, CAS failure ordering | SeqCst → Acquire → Relaxed |
//! | store | SeqCst → Release → Relaxed |
//! | read-modify-write, CAS success ordering | SeqCst → AcqRel → {Acquire, Release} → Relaxed |
//! | fence | SeqCst → AcqRel; and every fence removed |
//!
//! Mutants run in a scratch copy of the workspace (`target/audit/tree`) with their own target
//! directory, so the working tree is never modified; the covering models, the scratch tree,
//! the runner and the results store are shared with `cargo xtask mutants` (`harness.rs`).
//!
//! **The Miri leg.** loom treats a SeqCst *access* as AcqRel (tokio-rs/loom#180), so a
//! mutant that weakens one is invisible to every loom model by construction. A mutant that
//! survives loom therefore runs a second leg: the Miri tests of the unsafe code
//! (`crates/synclab/tests/miri.rs`) and the store-buffering witnesses
//! (`crates/synclab/tests/sc_witness.rs`) under Miri's weak-memory emulation with
//! [`MIRI_SEEDS`] seeds. A failure there is recorded as `killed (Miri)`. The leg first runs
//! once on the unmutated tree and refuses to count anything if that fails. Without nightly
//! Miri the leg is skipped and the survivor stays a survivor.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{self, rel, Checker, Leg, Outcome, Record, Scratch, Store};
use crate::source::{code_only, enclosing, functions, is_ident};

mod schema;

/// One place an ordering appears.
#[derive(Debug, Clone)]
struct Site {
    file: PathBuf,
    line: usize,
    /// The function the site is in (see `source::Function::name`), the site's index among the
    /// ordering sites of that function, and the function's code hash: the site's identity.
    function: String,
    nth: usize,
    fn_hash: String,
    /// Byte offset of the ordering token (or of `fence`) in the file.
    offset: usize,
    token: String,
    kind: Kind,
    snippet: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Load,
    Store,
    Rmw,
    Fence,
}

#[derive(Debug, Clone)]
struct Mutant {
    site: Site,
    /// Replace `site.token` at `site.offset` by this; `None` = remove the whole fence call.
    replacement: Option<&'static str>,
    label: String,
}

const ORDERINGS: [&str; 4] = ["SeqCst", "AcqRel", "Acquire", "Release"];

/// Seeds of the Miri leg (`-Zmiri-many-seeds=0..MIRI_SEEDS`).
const MIRI_SEEDS: u32 = 32;
/// The Miri leg's test files (in `crates/synclab/tests`).
const MIRI_TESTS: [&str; 2] = ["miri", "sc_witness"];

/// The Miri leg in `tree`: the unsafe-code tests and the store-buffering witnesses, many seeds.
fn miri_leg(scratch: &Scratch, timeout: Duration) -> Outcome {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&scratch.tree)
        .args(["+nightly", "miri", "test", "-q", "-p", "synclab"])
        .env(
            "MIRIFLAGS",
            format!(
                "-Zmiri-many-seeds=0..{MIRI_SEEDS} -Zmiri-strict-provenance -Zmiri-env-forward={}",
                schema::ENV
            ),
        )
        .env("CARGO_TARGET_DIR", scratch.target("miri"));
    for t in MIRI_TESTS {
        cmd.args(["--test", t]);
    }
    harness::run_with_timeout(cmd, timeout)
}

/// Whether nightly Miri is installed (`cargo xtask miri` installs it).
fn has_miri() -> bool {
    Command::new("cargo")
        .args(["+nightly", "miri", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The call the token at `pos` is an argument of: (method name, argument index).
fn enclosing_call(code: &[u8], pos: usize) -> Option<(String, usize)> {
    let mut depth = 0i32;
    let mut commas = 0;
    let mut i = pos;
    while i > 0 {
        i -= 1;
        match code[i] {
            b')' | b']' | b'}' => depth += 1,
            b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
            b'(' => {
                let mut j = i;
                while j > 0 && code[j - 1].is_ascii_whitespace() {
                    j -= 1;
                }
                let end = j;
                while j > 0 && is_ident(code[j - 1]) {
                    j -= 1;
                }
                return Some((String::from_utf8_lossy(&code[j..end]).into_owned(), commas));
            }
            b'{' | b'[' | b';' => return None,
            b',' if depth == 0 => commas += 1,
            _ => {}
        }
    }
    None
}

fn classify(method: &str, arg: usize) -> Option<Kind> {
    match method {
        "load" => Some(Kind::Load),
        "store" => Some(Kind::Store),
        "fence" => Some(Kind::Fence),
        m if m.starts_with("compare_exchange") => {
            Some(if arg >= 3 { Kind::Load } else { Kind::Rmw })
        }
        m if m == "swap" || m.starts_with("fetch_") => Some(Kind::Rmw),
        _ => None,
    }
}

fn sites_in(file: &Path) -> Vec<Site> {
    let Ok(src) = std::fs::read_to_string(file) else {
        return Vec::new();
    };
    // Unit tests inside a file are not the algorithm.
    let end = harness::library_part(&src).len();
    let code = code_only(&src[..end]);
    let fns = functions(&src[..end]);
    let mut per_fn: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut sites = Vec::new();
    let mut i = 0;
    while i < code.len() {
        if is_ident(code[i]) && (i == 0 || !is_ident(code[i - 1])) {
            let mut j = i;
            while j < code.len() && is_ident(code[j]) {
                j += 1;
            }
            let word = std::str::from_utf8(&code[i..j]).unwrap_or("");
            if ORDERINGS.contains(&word) {
                let line_start = src[..i].rfind('\n').map_or(0, |p| p + 1);
                let line_text = src[line_start..].lines().next().unwrap_or("").trim();
                if !line_text.starts_with("use ") && !line_text.contains("const ") {
                    if let Some((method, arg)) = enclosing_call(&code, i) {
                        if let Some(kind) = classify(&method, arg) {
                            let (function, fn_hash) = enclosing(&fns, i).map_or_else(
                                || ("(outside a function)".to_string(), String::new()),
                                |f| (f.name.clone(), f.hash.clone()),
                            );
                            let n = per_fn.entry(function.clone()).or_insert(0);
                            *n += 1;
                            sites.push(Site {
                                file: file.to_path_buf(),
                                line: src[..i].matches('\n').count() + 1,
                                function,
                                nth: *n,
                                fn_hash,
                                offset: i,
                                token: word.to_string(),
                                kind,
                                snippet: line_text.chars().take(70).collect(),
                            });
                        }
                    }
                }
            }
            i = j;
        } else {
            i += 1;
        }
    }
    sites
}

fn mutants(site: &Site) -> Vec<Mutant> {
    let steps: &[&'static str] = match (site.kind, site.token.as_str()) {
        (Kind::Load, "SeqCst") => &["Acquire"],
        (Kind::Load, "Acquire") => &["Relaxed"],
        (Kind::Store, "SeqCst") => &["Release"],
        (Kind::Store, "Release") => &["Relaxed"],
        (Kind::Rmw, "SeqCst") => &["AcqRel"],
        (Kind::Rmw, "AcqRel") => &["Acquire", "Release"],
        (Kind::Rmw, "Acquire" | "Release") => &["Relaxed"],
        (Kind::Fence, "SeqCst") => &["AcqRel"],
        _ => &[],
    };
    let mut out: Vec<Mutant> = steps
        .iter()
        .map(|to| Mutant {
            site: site.clone(),
            replacement: Some(to),
            label: format!("{} → {to}", site.token),
        })
        .collect();
    if site.kind == Kind::Fence {
        out.push(Mutant {
            site: site.clone(),
            replacement: None,
            label: format!("fence({}) removed", site.token),
        });
    }
    out
}

fn apply(src: &str, m: &Mutant) -> String {
    let at = m.site.offset;
    match m.replacement {
        Some(to) => format!("{}{}{}", &src[..at], to, &src[at + m.site.token.len()..]),
        None => {
            // Replace the whole `…fence(ORDERING)` call expression by `()`.
            let (start, close) = fence_call(src, at);
            format!("{}(){}", &src[..start], &src[close..])
        }
    }
}

/// The verdict of a mutant that loom did not reject and whose Miri leg has not run yet.
const MIRI_PENDING: &str = "SURVIVED loom (Miri leg pending)";

/// Sets the active mutant for the commands that follow and, for a build per mutant, returns
/// the mutated text of its file (read from the scratch copy, restored after every mutant, not
/// the working tree: the sites' offsets are those of the snapshot). With a schema the tree
/// already holds every mutant: nothing to write (a write, even of the same text, would make
/// cargo build again). xtask runs one command at a time, so the variable its children
/// inherit is this mutant's.
fn mutated(
    root: &Path,
    scratch: &Scratch,
    schema: Option<&schema::Schema>,
    m: &Mutant,
) -> Result<Option<String>, String> {
    std::env::set_var(schema::ENV, schema.map_or(0, |s| s.id(m)).to_string());
    if schema.is_some() {
        return Ok(None);
    }
    let rel_file = PathBuf::from(rel(root, &m.site.file));
    let original =
        std::fs::read_to_string(scratch.tree.join(&rel_file)).map_err(|e| e.to_string())?;
    Ok(Some(apply(&original, m)))
}

/// Writes a per-mutant build's mutated file (`None`: a schema's run, nothing to write).
fn plant(
    scratch: &Scratch,
    rel_file: &Path,
    mutated: &Option<String>,
) -> Result<Option<harness::Restore>, String> {
    mutated
        .as_ref()
        .map(|text| scratch.mutate(rel_file, text))
        .transpose()
}

/// The span of the `…fence(ORDERING)` call whose ordering token is at `at`, its path included.
fn fence_call(src: &str, at: usize) -> (usize, usize) {
    let start = src[..at].rfind("fence").unwrap_or(at);
    let start = src[..start]
        .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |p| p + 1);
    (start, at + src[at..].find(')').unwrap_or(0) + 1)
}

struct Row {
    mutant: Mutant,
    verdict: &'static str,
    tests: Vec<String>,
    seconds: f64,
}

/// Runs the audit; `filter` keeps only sites whose path contains it.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut filter: Option<String> = None;
    let mut timeout = Duration::from_secs(600);
    let mut write_docs = false;
    let mut list_only = false;
    let mut resume = false;
    // One build per mutant instead of one schema for the run (see `schema`).
    let mut no_schema = false;
    // Run nothing: only print (and with --write-docs, publish) the table of recorded results.
    let mut no_run = false;
    // Run only the covering models whose test name contains this (a new design's models in a
    // file whose other models take minutes under loom and cannot reach the new file).
    let mut only: Option<String> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--filter" => filter = it.next().cloned(),
            "--timeout" => {
                timeout = Duration::from_secs(
                    it.next()
                        .and_then(|s| s.parse().ok())
                        .ok_or("--timeout needs seconds")?,
                )
            }
            "--write-docs" => write_docs = true,
            "--list" => list_only = true,
            "--resume" => resume = true,
            "--no-schema" => no_schema = true,
            "--no-run" => no_run = true,
            "--only" => {
                only = Some(
                    it.next()
                        .cloned()
                        .ok_or("--only needs a test-name filter")?,
                )
            }
            other => return Err(format!("unknown audit option {other:?}")),
        }
    }
    let (all, files) = collect(root, filter.as_deref());
    eprintln!("audit: {} mutants over {files} files", all.len());
    if list_only {
        for m in &all {
            eprintln!(
                "  {}:{} {} #{} {:?} {}  `{}`",
                rel(root, &m.site.file),
                m.site.line,
                m.site.function,
                m.site.nth,
                m.site.kind,
                m.label,
                m.site.snippet
            );
        }
        return Ok(());
    }
    let store = Store::new(root, RESULTS);
    let mut known = store.load();
    let todo: Vec<&Mutant> = all
        .iter()
        .filter(|m| !(no_run || (resume && known.contains_key(&key(m)))))
        .collect();
    // Survivors of an earlier run's loom leg whose Miri leg has not run yet.
    let pending: Vec<&Mutant> = all
        .iter()
        .filter(|m| {
            !no_run
                && known
                    .get(&key(m))
                    .is_some_and(|r| r.verdict == MIRI_PENDING)
        })
        .collect();
    eprintln!(
        "audit: {} to run, {} waiting for their Miri leg{}",
        todo.len(),
        pending.len(),
        if resume {
            " (--resume: results already in docs/audit/ordering.tsv for unchanged functions are kept)"
        } else {
            ""
        }
    );
    let scratch = if todo.is_empty() && pending.is_empty() {
        None
    } else {
        Some(Scratch::create(root, "audit")?)
    };
    // One build for the whole run where the schema compiles (see `schema`); otherwise one
    // build per mutant.
    let in_schema: Vec<&Mutant> = todo.iter().chain(&pending).copied().collect();
    let schema = match &scratch {
        Some(scratch) if !no_schema => schema::install(root, scratch, &in_schema)?,
        _ => None,
    };
    let miri = has_miri();
    if !miri {
        eprintln!("audit: nightly Miri is not installed — the Miri leg is skipped");
    }
    // Whether the loom build compiles a file, asked once per file (each probe is a build).
    let mut compiled: std::collections::HashMap<PathBuf, bool> = Default::default();
    // First every mutant's loom leg (seconds for most, with a schema), then the Miri leg of
    // the loom survivors (minutes each): an interrupted run has loom's verdict on every
    // mutant it reached, and `--resume` runs the Miri legs still pending.
    let mut survivors: Vec<&Mutant> = pending;
    for (k, m) in todo.iter().enumerate() {
        let m: &Mutant = m;
        let Some(scratch) = &scratch else { break };
        let models = harness::covering(&harness::rel_src(root, &m.site.file));
        let rel_file = PathBuf::from(rel(root, &m.site.file));
        let mutated = mutated(root, scratch, schema.as_ref(), m)?;
        let start = Instant::now();
        let mut tests_run = harness::describe(models);
        if let Some(only) = &only {
            tests_run = format!("{tests_run} (tests named *{only}*)");
        }
        let verdict = if models.is_empty() {
            "no covering model"
        } else {
            let loom = {
                let _restore = plant(scratch, &rel_file, &mutated)?;
                harness::run_models(scratch, Checker::Loom, models, only.as_deref(), timeout)?
            };
            match loom {
                Leg::Passed { tests: 0 } => "no covering model",
                // A survivor in a file the loom build leaves out proves nothing.
                Leg::Passed { .. }
                    if !*match compiled.entry(rel_file.clone()) {
                        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::hash_map::Entry::Vacant(e) => e.insert(
                            harness::compiled(scratch, Checker::Loom, models, &rel_file)?,
                        ),
                    } =>
                {
                    "no covering model"
                }
                Leg::Passed { .. } if miri => {
                    survivors.push(m);
                    MIRI_PENDING
                }
                Leg::Passed { .. } => "SURVIVED",
                Leg::Invalid => "invalid (does not compile)",
                Leg::Failed { .. } => "killed",
                Leg::TimedOut => "killed (timeout)",
            }
        };
        let seconds = start.elapsed().as_secs_f64();
        eprintln!(
            "[{}/{}] {}:{} {} — {verdict} ({seconds:.0}s)",
            k + 1,
            todo.len(),
            rel_file.display(),
            m.site.line,
            m.label
        );
        let result = Record {
            verdict: verdict.to_string(),
            models: tests_run,
            seconds,
        };
        store.append(&key(m), &site(root, m), &result);
        known.insert(key(m), result);
    }
    if let (Some(scratch), true, false) = (&scratch, miri, survivors.is_empty()) {
        eprintln!("audit: Miri leg baseline (unmutated tree, {MIRI_SEEDS} seeds)…");
        std::env::set_var(schema::ENV, "0");
        if !matches!(miri_leg(scratch, timeout), Outcome::Passed(_)) {
            // The survivors keep their pending verdict: counted as survivors, run again later.
            eprintln!("audit: the Miri leg FAILS on the unmutated tree — not used");
            survivors.clear();
        }
        for (k, m) in survivors.iter().enumerate() {
            let rel_file = PathBuf::from(rel(root, &m.site.file));
            let mutated = mutated(root, scratch, schema.as_ref(), m)?;
            let start = Instant::now();
            let verdict = {
                let _restore = plant(scratch, &rel_file, &mutated)?;
                match miri_leg(scratch, timeout) {
                    Outcome::Passed(_) => "SURVIVED",
                    Outcome::Failed(out)
                        if out.contains("error[E") || out.contains("could not compile") =>
                    {
                        "invalid (does not compile)"
                    }
                    Outcome::Failed(_) => "killed (Miri)",
                    Outcome::TimedOut => "SURVIVED (Miri timed out)",
                }
            };
            let seconds = start.elapsed().as_secs_f64();
            eprintln!(
                "[Miri {}/{}] {}:{} {} — {verdict} ({seconds:.0}s)",
                k + 1,
                survivors.len(),
                rel_file.display(),
                m.site.line,
                m.label
            );
            let (models, loom_seconds) = known
                .get(&key(m))
                .map_or((String::new(), 0.0), |r| (r.models.clone(), r.seconds));
            let result = Record {
                verdict: verdict.to_string(),
                models: format!(
                    "{models}; Miri: {} ({MIRI_SEEDS} seeds)",
                    MIRI_TESTS.join(", ")
                ),
                seconds: loom_seconds + seconds,
            };
            store.append(&key(m), &site(root, m), &result);
            known.insert(key(m), result);
        }
    }
    std::env::remove_var(schema::ENV);
    // The table covers every current site: results from this run and earlier (--resume) ones;
    // the published one covers every file, whatever this run's filter.
    let everything = if write_docs && filter.is_some() {
        collect(root, None).0
    } else {
        all.clone()
    };
    let rows: Vec<Row> = everything
        .iter()
        .map(|m| {
            let r = known.get(&key(m));
            Row {
                mutant: m.clone(),
                verdict: r.map_or("not run", |r| leak(&r.verdict)),
                tests: r.map_or_else(Vec::new, |r| vec![r.models.clone()]),
                seconds: r.map_or(0.0, |r| r.seconds),
            }
        })
        .collect();
    if !todo.is_empty() {
        let current = collect(root, None).0;
        store.compact(current.iter().map(|m| (key(m), site(root, m))), &known)?;
    }
    let table = render(root, &rows);
    println!("{table}");
    if write_docs {
        write_region(root, &table)?;
    }
    Ok(())
}

/// A mutant's identity across runs: the function it is in, its index among that function's
/// ordering sites, the mutation, and the function's code hash. Moving a function keeps its
/// results; changing its code runs its mutants again.
fn key(m: &Mutant) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        m.site.function, m.site.nth, m.label, m.site.fn_hash
    )
}

/// The committed results file (see `harness::Store`).
const RESULTS: &str = "docs/audit/ordering.tsv";

/// Where a mutant's site is, for reading: `file:line`.
fn site(root: &Path, m: &Mutant) -> String {
    format!("{}:{}", rel(root, &m.site.file), m.site.line)
}

/// Verdicts are a handful of fixed strings; keeping them `&'static` keeps `Row` simple.
fn leak(s: &str) -> &'static str {
    match s {
        "killed" => "killed",
        "killed (timeout)" => "killed (timeout)",
        "killed (Miri)" => "killed (Miri)",
        "SURVIVED (Miri timed out)" => "SURVIVED (Miri timed out)",
        "SURVIVED" => "SURVIVED",
        MIRI_PENDING => MIRI_PENDING,
        "no covering model" => "no covering model",
        "invalid (does not compile)" => "invalid (does not compile)",
        _ => "unknown",
    }
}

fn render(root: &Path, rows: &[Row]) -> String {
    let valid: Vec<_> = rows
        .iter()
        .filter(|r| r.verdict.starts_with("SURVIVED") || r.verdict.starts_with("killed"))
        .collect();
    let killed = valid
        .iter()
        .filter(|r| r.verdict.starts_with("killed"))
        .count();
    let not_run = rows.iter().filter(|r| r.verdict == "not run").count();
    let pending = rows.iter().filter(|r| r.verdict == MIRI_PENDING).count();
    let mut out = format!(
        "Kill rate: **{killed} of {} mutants killed ({:.0} %)**, over the mutants with a result ({pending} of the survivors have survived loom and not run their Miri leg yet); {not_run} of the {} current mutants have no result for their site as it is now (not run since it changed) and {} are invalid or uncovered.\n\n| site | function (n-th ordering) | code | mutation | verdict | models | seconds |\n|---|---|---|---|---|---|---|\n",
        valid.len(),
        if valid.is_empty() { 0.0 } else { killed as f64 * 100.0 / valid.len() as f64 },
        rows.len(),
        rows.len() - valid.len() - not_run
    );
    for r in rows {
        out.push_str(&format!(
            "| `{}:{}` | `{}` ({}) | `{}` | {} | {} | {} | {:.0} |\n",
            rel(root, &r.mutant.site.file),
            r.mutant.site.line,
            r.mutant.site.function.replace('|', "\\|"),
            r.mutant.site.nth,
            r.mutant.site.snippet.replace('|', "\\|").replace('`', "'"),
            r.mutant.label,
            r.verdict,
            r.tests.join(", "),
            r.seconds
        ));
    }
    out
}

const BEGIN: &str = "<!-- audit:begin (generated by `cargo xtask audit --write-docs`) -->";
const END: &str = "<!-- audit:end -->";

const README_BEGIN: &str =
    "<!-- audit:summary (generated by `cargo xtask audit --write-docs`: do not edit by hand) -->";
const README_END: &str = "<!-- audit:summary-end -->";

/// Writes the table into docs/verification.md and its kill-rate line into the README, each
/// stamped with the commit it was generated on.
fn write_region(root: &Path, table: &str) -> Result<(), String> {
    let stamp = crate::report::stamp(root);
    let headline = table.lines().next().unwrap_or_default();
    crate::report::replace_region(
        &root.join("docs/verification.md"),
        BEGIN,
        END,
        &format!("Generated on {stamp} from [`docs/audit/ordering.tsv`](audit/ordering.tsv) (a result is kept for a site while the code of the function it is in is unchanged, wherever the function moves; a function that changed has its sites run again).\n\n{table}"),
    )?;
    crate::report::replace_region(
        &root.join("README.md"),
        README_BEGIN,
        README_END,
        &format!(
            "The ordering-mutation audit (`cargo xtask audit`: each ordering weakened one step, \
             run under loom, then under Miri for what loom cannot see), generated on {stamp}: \
             {headline} Each survivor and why it stands: \
             [docs/verification.md](docs/verification.md#how-strong-is-the-evidence-the-ordering-mutation-audit)."
        ),
    )
}

/// Every mutant of every audited file whose path (under `crates/synclab/src`) contains
/// `filter`, and how many files that is. The sync layer is not audited.
fn collect(root: &Path, filter: Option<&str>) -> (Vec<Mutant>, usize) {
    let files = harness::library_files(root, filter);
    let all = files
        .iter()
        .flat_map(|f| sites_in(f))
        .flat_map(|s| mutants(&s))
        .collect();
    (all, files.len())
}
