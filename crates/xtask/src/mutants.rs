//! `cargo xtask mutants` — the semantic-mutation audit.
//!
//! The ordering audit (`audit.rs`) weakens one memory ordering at a time; this one plants the
//! bugs people write in this code — a wake to one sleeper instead of all, a re-check turned
//! into an `if`, a flag published before its value, an off-by-one in a lap or a count, a CAS
//! that is not atomic, a return before the wait — one at a time, with the operators of
//! `operators.rs`, in every library file under `crates/synclab/src` (the `sync` layer's
//! checker models excluded).
//!
//! Each mutant is built in a scratch copy of the workspace (`target/mutants/tree`) and run
//! against the models that cover its file (`harness::COVERING`): first loom; if loom does not
//! reject it, shuttle as a second leg. The verdicts:
//!
//! | verdict | meaning |
//! |---|---|
//! | `killed by loom` | a loom model failed |
//! | `killed by shuttle only` | loom passed (or ran out of time), a shuttle model failed |
//! | `SURVIVED` | both passed; `SURVIVED (timeout)` if a leg ran out of time |
//! | `invalid (does not compile)` | left out of the rate |
//! | `no covering model` | no model reaches the file (not compiled under the checkers) |
//!
//! Before the first mutant of a set of covering models runs, the unmutated tree must pass
//! those models (and run at least one): a kill against a failing baseline would mean nothing.
//! A baseline costs as much as a mutant, and a sample of one or two mutants per file has a set
//! of models per file: `--no-baseline` skips them for a tree whose models CI has just passed.
//! A mutant that loom does not kill is checked to be in code the loom build compiles at all
//! (`harness::compiled`); if not, it is recorded "no covering model", not a survivor.
//!
//! Results are kept in `docs/audit/semantic.tsv`, keyed as the ordering audit's are — the
//! function a mutant is in, its rank among that operator's mutants there, the mutation and a
//! hash of the function's code — so a moved function keeps its results and a changed one is
//! run again; `--resume` runs only what has no result. A survivor's reason is written by hand
//! in `docs/audit/survivors.md` (same key, without the hash); a reason that begins with
//! "equivalent" marks a mutant no test can kill (it changes no behaviour), counted apart and
//! left out of the rate. The generated table in `docs/verification.md` shows "unexplained" for
//! a survivor with no reason.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::harness::{self, Checker, Leg, Models, Record, Scratch, Store};
use crate::operators::{self, Mutation, OPERATORS};
use crate::source::{code_only, enclosing, functions};

/// The committed results and the hand-written reasons.
const RESULTS: &str = "docs/audit/semantic.tsv";
const REASONS: &str = "docs/audit/survivors.md";

/// One mutant: a mutation, where it is, and its identity.
#[derive(Debug, Clone)]
struct Mutant {
    file: PathBuf,
    /// The path under `crates/synclab/src`.
    rel: String,
    line: usize,
    function: String,
    /// Rank among the mutants of this operator in this function (from 1).
    nth: usize,
    fn_hash: String,
    mutation: Mutation,
    snippet: String,
}

impl Mutant {
    fn label(&self) -> String {
        self.mutation.label()
    }

    /// The identity across runs (see the module docs).
    fn key(&self) -> String {
        format!(
            "{}\t{}\t{}\t{}",
            self.function,
            self.nth,
            self.label(),
            self.fn_hash
        )
    }

    /// The key without the code hash: what a reason is written for.
    fn reason_key(&self) -> String {
        format!("{}\t{}\t{}", self.function, self.nth, self.label())
    }

    fn site(&self, root: &Path) -> String {
        format!("{}:{}", harness::rel(root, &self.file), self.line)
    }
}

/// The mutants of `operators` in the library files whose path contains `filter`, by file and
/// position.
fn collect(root: &Path, filter: Option<&str>, operators: &[&'static str]) -> Vec<Mutant> {
    let mut all = Vec::new();
    for file in harness::library_files(root, filter) {
        let Ok(src) = std::fs::read_to_string(&file) else {
            continue;
        };
        let lib = harness::library_part(&src);
        let code = code_only(lib);
        let fns = functions(lib);
        let mut rank: HashMap<(String, &str), usize> = HashMap::new();
        let mut found: Vec<Mutant> = Vec::new();
        for op in operators {
            let mut ms = operators::mutations(op, lib, &code);
            ms.sort_by_key(|m| m.at);
            for mutation in ms {
                let Some(f) = enclosing(&fns, mutation.at) else {
                    continue;
                };
                let n = rank.entry((f.name.clone(), *op)).or_insert(0);
                *n += 1;
                let line_start = lib[..mutation.at].rfind('\n').map_or(0, |p| p + 1);
                found.push(Mutant {
                    file: file.clone(),
                    rel: harness::rel_src(root, &file),
                    line: lib[..mutation.at].matches('\n').count() + 1,
                    function: f.name.clone(),
                    nth: *n,
                    fn_hash: f.hash.clone(),
                    snippet: lib[line_start..]
                        .lines()
                        .next()
                        .unwrap_or("")
                        .trim()
                        .chars()
                        .take(70)
                        .collect(),
                    mutation,
                });
            }
        }
        found.sort_by_key(|m| m.mutation.at);
        all.extend(found);
    }
    all
}

struct Options {
    filter: Option<String>,
    operators: Vec<&'static str>,
    list: bool,
    resume: bool,
    no_run: bool,
    write_docs: bool,
    timeout: Duration,
    limit: Option<usize>,
    per_file: Option<PerFile>,
    compile_only: bool,
    no_baseline: bool,
}

/// `--per-file N[,PATH=N…]`: at most `N` mutants of each file (`PATH=N` for the files whose
/// path contains `PATH`, the first such entry winning), spread over operators and functions.
#[derive(Debug, Clone, PartialEq)]
struct PerFile {
    default: usize,
    overrides: Vec<(String, usize)>,
}

impl PerFile {
    fn parse(v: &str) -> Result<PerFile, String> {
        let count = |c: &str| {
            c.parse::<usize>()
                .map_err(|_| format!("--per-file takes N[,PATH=N…], not {v:?}"))
        };
        let mut parts = v.split(',');
        let default = count(parts.next().unwrap_or(""))?;
        let overrides = parts
            .map(|p| {
                let (path, n) = p
                    .split_once('=')
                    .ok_or(format!("--per-file takes N[,PATH=N…], not {v:?}"))?;
                Ok((path.to_string(), count(n)?))
            })
            .collect::<Result<_, String>>()?;
        Ok(PerFile { default, overrides })
    }

    fn of(&self, rel: &str) -> usize {
        self.overrides
            .iter()
            .find(|(path, _)| rel.contains(path.as_str()))
            .map_or(self.default, |(_, n)| *n)
    }
}

/// At most `per_file.of(file)` mutants of each file, chosen so that a sample of a file shows
/// every operator it has before any operator twice (the operators rarest in `mutants` first), and within an operator every function
/// before any function twice (in order of position); the result keeps the file-and-position
/// order of `mutants`. The choice depends only on the source, not on the recorded results, so
/// a sample taken again with `--resume` runs only what it has not run.
fn spread(mutants: Vec<Mutant>, per_file: &PerFile) -> Vec<Mutant> {
    let mut keep = vec![false; mutants.len()];
    let mut by_rarity = OPERATORS.to_vec();
    by_rarity.sort_by_key(|op| {
        mutants
            .iter()
            .filter(|m| m.mutation.operator == *op)
            .count()
    });
    let mut start = 0;
    while start < mutants.len() {
        let rel = mutants[start].rel.clone();
        let end = start + mutants[start..].iter().take_while(|m| m.rel == rel).count();
        // Per operator (the rarest in the whole selection first, so a sample of one or two
        // does not always show the commonest), the file's mutants: first each function's
        // first, then each function's second, …
        let mut queues: Vec<Vec<usize>> = by_rarity
            .iter()
            .map(|op| {
                let mut q: Vec<usize> = (start..end)
                    .filter(|&i| mutants[i].mutation.operator == *op)
                    .collect();
                q.sort_by_key(|&i| (mutants[i].nth, mutants[i].mutation.at));
                q.reverse();
                q
            })
            .collect();
        let mut left = per_file.of(&rel);
        while left > 0 && queues.iter().any(|q| !q.is_empty()) {
            for q in &mut queues {
                if left == 0 {
                    break;
                }
                if let Some(i) = q.pop() {
                    keep[i] = true;
                    left -= 1;
                }
            }
        }
        start = end;
    }
    mutants
        .into_iter()
        .zip(keep)
        .filter_map(|(m, k)| k.then_some(m))
        .collect()
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        filter: None,
        operators: Vec::new(),
        list: false,
        resume: false,
        no_run: false,
        write_docs: false,
        timeout: Duration::from_secs(1200),
        limit: None,
        per_file: None,
        compile_only: false,
        no_baseline: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--filter" => o.filter = Some(value()?),
            "--operator" => {
                for name in value()?.split(',') {
                    let op = OPERATORS.iter().find(|op| **op == name).ok_or(format!(
                        "no operator {name:?}; the operators are {}",
                        OPERATORS.join(", ")
                    ))?;
                    o.operators.push(op);
                }
            }
            "--list" => o.list = true,
            "--compile-only" => o.compile_only = true,
            "--no-baseline" => o.no_baseline = true,
            "--resume" => o.resume = true,
            "--no-run" => o.no_run = true,
            "--write-docs" => o.write_docs = true,
            "--timeout" => {
                let v = value()?;
                o.timeout = Duration::from_secs(
                    v.parse()
                        .map_err(|_| format!("--timeout takes seconds, not {v:?}"))?,
                );
            }
            "--per-file" => o.per_file = Some(PerFile::parse(&value()?)?),
            "--limit" => {
                let v = value()?;
                o.limit = Some(
                    v.parse()
                        .map_err(|_| format!("--limit takes a count, not {v:?}"))?,
                );
            }
            other => return Err(format!("unknown mutants option {other:?}")),
        }
    }
    if o.operators.is_empty() {
        o.operators = OPERATORS.to_vec();
    }
    Ok(o)
}

/// `cargo xtask mutants [--filter PATH] [--operator NAME[,NAME]] [--list] [--compile-only]
/// [--resume] [--timeout SECS] [--per-file N[,PATH=N…]] [--limit N] [--no-baseline] [--no-run]
/// [--write-docs]`.
///
/// `--no-baseline` skips the run of the unmutated tree before each set of models: for a tree
/// whose models are known to pass (CI ran them on the same library and models), where the
/// baselines would cost as much as a mutant each. A set whose filters match no test is still
/// recorded "no covering model" (from the mutant's own run).
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    let mut selected = collect(root, o.filter.as_deref(), &o.operators);
    if let Some(per_file) = &o.per_file {
        selected = spread(selected, per_file);
    }
    let files = {
        let mut f: Vec<&str> = selected.iter().map(|m| m.rel.as_str()).collect();
        f.dedup();
        f.len()
    };
    eprintln!("mutants: {} mutants in {files} files", selected.len());
    if o.list {
        for m in &selected {
            eprintln!(
                "  {} {} #{} {}  `{}`",
                m.site(root),
                m.function,
                m.nth,
                m.label(),
                m.snippet
            );
        }
        println!("{}", counts(&selected));
        return Ok(());
    }
    if o.compile_only {
        return compile_only(root, &selected, o.limit);
    }
    let store = Store::new(root, RESULTS);
    let mut known = store.load();
    let mut todo: Vec<&Mutant> = selected
        .iter()
        .filter(|m| !(o.no_run || (o.resume && known.contains_key(&m.key()))))
        .collect();
    if let Some(limit) = o.limit {
        todo.truncate(limit);
    }
    eprintln!(
        "mutants: {} to run{}",
        todo.len(),
        if o.resume {
            " (--resume: results in docs/audit/semantic.tsv for unchanged functions are kept)"
        } else {
            ""
        }
    );
    if !todo.is_empty() {
        let scratch = Scratch::create(root, "mutants")?;
        let mut baselines = Baselines {
            tests: HashMap::new(),
            skip: o.no_baseline,
        };
        let mut compiled: HashMap<PathBuf, bool> = HashMap::new();
        for (k, m) in todo.iter().enumerate() {
            let record = run_one(root, &scratch, m, o.timeout, &mut baselines, &mut compiled)?;
            eprintln!(
                "[{}/{}] {} {} #{} {} — {} ({:.0} s)",
                k + 1,
                todo.len(),
                m.site(root),
                m.function,
                m.nth,
                m.label(),
                record.verdict,
                record.seconds
            );
            store.append(&m.key(), &m.site(root), &record);
            known.insert(m.key(), record);
        }
        let current = collect(root, None, &OPERATORS);
        store.compact(current.iter().map(|m| (m.key(), m.site(root))), &known)?;
    }
    // The published table covers every current mutant, whatever this run selected.
    let everything = if o.write_docs {
        collect(root, None, &OPERATORS)
    } else {
        selected
    };
    let reasons = load_reasons(&root.join(REASONS));
    if o.write_docs {
        // A reason whose mutant no longer exists (its function renamed, its code gone) is
        // never shown: say so, so the file can be kept in step.
        let current: std::collections::HashSet<String> =
            everything.iter().map(Mutant::reason_key).collect();
        for stale in reasons.keys().filter(|k| !current.contains(*k)) {
            eprintln!(
                "mutants: {REASONS} has a reason for no current mutant: {}",
                stale.replace('\t', " | ")
            );
        }
    }
    let table = render(root, &everything, &known, &reasons);
    println!("{table}");
    if o.write_docs {
        write_docs(root, &table)?;
    }
    Ok(())
}

/// `--compile-only`: checks that each mutant compiles (`cargo check -p synclab`, the plain
/// build, where every library file is compiled) and lists those that do not; runs no model and
/// records nothing. For working on the operators.
fn compile_only(root: &Path, mutants: &[Mutant], limit: Option<usize>) -> Result<(), String> {
    let scratch = Scratch::create(root, "mutants")?;
    let check = || {
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(&scratch.tree)
            .args(["check", "-q", "-p", "synclab", "--lib"])
            .env("CARGO_TARGET_DIR", scratch.target("check"));
        harness::run_with_timeout(cmd, Duration::from_secs(1800))
    };
    if !matches!(check(), harness::Outcome::Passed(_)) {
        return Err("the unmutated library does not compile".into());
    }
    let mut invalid = 0;
    let take = limit.unwrap_or(mutants.len()).min(mutants.len());
    for m in &mutants[..take] {
        let rel_file = PathBuf::from(harness::rel(root, &m.file));
        let original = std::fs::read_to_string(scratch.tree.join(&rel_file))
            .map_err(|e| format!("{}: {e}", rel_file.display()))?;
        let _restore = scratch.mutate(&rel_file, &m.mutation.apply(&original))?;
        match check() {
            harness::Outcome::Passed(_) => {}
            harness::Outcome::Failed(log) => {
                invalid += 1;
                let error = log
                    .lines()
                    .find(|l| l.starts_with("error"))
                    .unwrap_or("")
                    .to_string();
                eprintln!(
                    "does not compile: {} {} #{} {} — {error}",
                    m.site(root),
                    m.function,
                    m.nth,
                    m.label()
                );
            }
            harness::Outcome::TimedOut => return Err("cargo check took over 30 minutes".into()),
        }
    }
    println!(
        "{} of {take} mutants compile ({invalid} do not)",
        take - invalid
    );
    Ok(())
}

/// The baselines of a run: the tests the unmutated tree ran per set of models and checker.
struct Baselines {
    tests: HashMap<(String, &'static str), usize>,
    /// `--no-baseline`: none is run (see [`run`]).
    skip: bool,
}

/// The number of tests the unmutated tree ran under `checker` with `models` (once per set and
/// checker; the mutant, if any, is taken out meanwhile); an error if it does not pass, since no
/// mutant of that set could then be judged. `None` under `--no-baseline`.
fn baseline(
    scratch: &Scratch,
    checker: Checker,
    models: &[Models],
    timeout: Duration,
    cache: &mut Baselines,
) -> Result<Option<usize>, String> {
    if cache.skip {
        return Ok(None);
    }
    let key = (harness::describe(models), checker.name());
    if let Some(&tests) = cache.tests.get(&key) {
        return Ok(Some(tests));
    }
    eprintln!(
        "mutants: baseline — the unmutated tree under {} ({})…",
        checker.name(),
        key.0
    );
    let start = Instant::now();
    let tests = match harness::run_models(scratch, checker, models, None, timeout)? {
        Leg::Passed { tests } => tests,
        Leg::Failed { failing } => {
            return Err(format!(
                "the unmutated tree fails {} models ({}): {}",
                checker.name(),
                key.0,
                failing.join(", ")
            ))
        }
        Leg::Invalid => return Err("the unmutated tree does not compile".into()),
        Leg::TimedOut => {
            return Err(format!(
                "the unmutated tree's {} models ({}) take longer than --timeout ({} s): raise it",
                checker.name(),
                key.0,
                timeout.as_secs()
            ))
        }
    };
    eprintln!(
        "mutants: baseline passed, {tests} tests, {:.0} s",
        start.elapsed().as_secs_f64()
    );
    cache.tests.insert(key, tests);
    Ok(Some(tests))
}

/// Builds and runs one mutant: loom, then shuttle if loom did not kill it.
fn run_one(
    root: &Path,
    scratch: &Scratch,
    m: &Mutant,
    timeout: Duration,
    baselines: &mut Baselines,
    compiled: &mut HashMap<PathBuf, bool>,
) -> Result<Record, String> {
    let models = harness::covering(&m.rel);
    if models.is_empty() {
        return Ok(Record {
            verdict: "no covering model".into(),
            models: String::new(),
            seconds: 0.0,
        });
    }
    let described = harness::describe(models);
    if baseline(scratch, Checker::Loom, models, timeout, baselines)? == Some(0) {
        return Ok(Record {
            verdict: "no covering model".into(),
            models: format!("loom: {described} (no test in the loom build)"),
            seconds: 0.0,
        });
    }
    // Offsets are the snapshot's: the scratch copy must hold the text they were taken from.
    let rel_file = PathBuf::from(harness::rel(root, &m.file));
    let original = std::fs::read_to_string(scratch.tree.join(&rel_file))
        .map_err(|e| format!("{}: {e}", rel_file.display()))?;
    let now = std::fs::read_to_string(&m.file).unwrap_or_default();
    if original != now {
        return Err(format!(
            "{} changed since the run started: run again",
            rel_file.display()
        ));
    }
    let mutated = m.mutation.apply(&original);
    let start = Instant::now();
    let loom = {
        let _restore = scratch.mutate(&rel_file, &mutated)?;
        harness::run_models(scratch, Checker::Loom, models, None, timeout)?
    };
    let mut notes = format!("loom: {described}");
    let verdict = match loom {
        Leg::Invalid => "invalid (does not compile)".to_string(),
        Leg::Failed { failing } => {
            notes.push_str(&failed(&failing));
            "killed by loom".to_string()
        }
        // Without a baseline, the first sign that the filters match nothing under loom.
        Leg::Passed { tests: 0 } => {
            return Ok(Record {
                verdict: "no covering model".into(),
                models: format!("loom: {described} (no test in the loom build)"),
                seconds: start.elapsed().as_secs_f64(),
            })
        }
        Leg::Passed { .. } | Leg::TimedOut => {
            // A survivor in a file the loom build leaves out proves nothing.
            let before = start.elapsed();
            if !is_compiled(scratch, Checker::Loom, models, &rel_file, compiled)? {
                return Ok(Record {
                    verdict: "no covering model".into(),
                    models: format!("loom: {described} (the loom build does not compile the file)"),
                    seconds: before.as_secs_f64(),
                });
            }
            let loom_timed_out = matches!(loom, Leg::TimedOut);
            if loom_timed_out {
                notes.push_str(&format!(" — timed out after {} s", timeout.as_secs()));
            }
            // The shuttle baseline runs on the unmutated tree (outside the time counted).
            let shuttle_tests = baseline(scratch, Checker::Shuttle, models, timeout, baselines)?;
            let resumed = Instant::now();
            notes.push_str("; shuttle");
            let shuttle = {
                let _restore = scratch.mutate(&rel_file, &mutated)?;
                harness::run_models(scratch, Checker::Shuttle, models, None, timeout)?
            };
            if shuttle_tests == Some(0) || matches!(shuttle, Leg::Passed { tests: 0 }) {
                notes.push_str(": no shuttle test");
            }
            let verdict = match shuttle {
                Leg::Failed { failing } => {
                    notes.push_str(&failed(&failing));
                    "killed by shuttle only".to_string()
                }
                Leg::Invalid => "invalid (does not compile)".to_string(),
                Leg::TimedOut => {
                    notes.push_str(&format!(" — timed out after {} s", timeout.as_secs()));
                    "SURVIVED (timeout)".to_string()
                }
                Leg::Passed { .. } if loom_timed_out => "SURVIVED (timeout)".to_string(),
                Leg::Passed { .. } => "SURVIVED".to_string(),
            };
            return Ok(Record {
                verdict,
                models: notes,
                seconds: (before + resumed.elapsed()).as_secs_f64(),
            });
        }
    };
    Ok(Record {
        verdict,
        models: notes,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Whether the `checker` build compiles `rel` (probed once per file and run, on the unmutated
/// tree).
fn is_compiled(
    scratch: &Scratch,
    checker: Checker,
    models: &[Models],
    rel: &Path,
    cache: &mut HashMap<PathBuf, bool>,
) -> Result<bool, String> {
    if let Some(&known) = cache.get(rel) {
        return Ok(known);
    }
    eprintln!(
        "mutants: is {} compiled under {}?",
        rel.display(),
        checker.name()
    );
    let yes = harness::compiled(scratch, checker, models, rel)?;
    cache.insert(rel.to_path_buf(), yes);
    Ok(yes)
}

/// ` — failed: a, b` (at most three names).
fn failed(failing: &[String]) -> String {
    let mut names: Vec<&str> = failing.iter().take(3).map(String::as_str).collect();
    if failing.len() > 3 {
        names.push("…");
    }
    format!(" — failed: {}", names.join(", "))
}

/// The count of mutants per file and operator, for `--list`.
fn counts(mutants: &[Mutant]) -> String {
    let mut files: Vec<&str> = mutants.iter().map(|m| m.rel.as_str()).collect();
    files.dedup();
    let short = |op: &str| op.to_string();
    let mut out = format!(
        "| file | {} | total |\n|---|{}---|\n",
        OPERATORS.map(short).join(" | "),
        "---|".repeat(OPERATORS.len())
    );
    let row = |name: &str, of: &dyn Fn(&Mutant) -> bool| {
        let cells: Vec<String> = OPERATORS
            .iter()
            .map(|op| {
                mutants
                    .iter()
                    .filter(|m| of(m) && m.mutation.operator == *op)
                    .count()
                    .to_string()
            })
            .collect();
        let total = mutants.iter().filter(|m| of(m)).count();
        format!("| {name} | {} | {total} |\n", cells.join(" | "))
    };
    for f in &files {
        out.push_str(&row(&format!("`{f}`"), &|m: &Mutant| m.rel == *f));
    }
    out.push_str(&row("**all**", &|_| true));
    out
}

/// A reason for a survivor, from the survivors file.
struct Reason {
    /// The code hash it was written for (may be empty).
    hash: String,
    text: String,
}

/// Reads the table rows of the survivors file: `| function | n | mutation | code hash |
/// reason |`, keyed by function, n and mutation.
fn load_reasons(path: &Path) -> HashMap<String, Reason> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines() {
        let line = line.trim();
        if !line.starts_with('|') || line.starts_with("|---") {
            continue;
        }
        // Split at `|` not escaped as `\|`.
        let cells: Vec<String> = line
            .replace("\\|", "\u{0}")
            .trim_matches('|')
            .split('|')
            .map(|c| c.replace('\u{0}', "|").trim().trim_matches('`').to_string())
            .collect();
        if cells.len() != 5 || cells[0] == "function" || cells[1].parse::<usize>().is_err() {
            continue;
        }
        out.insert(
            format!("{}\t{}\t{}", cells[0], cells[1], cells[2]),
            Reason {
                hash: cells[3].clone(),
                text: cells[4].clone(),
            },
        );
    }
    out
}

/// How a result counts in the table.
#[derive(Clone, Copy, PartialEq)]
enum Class {
    Loom,
    Shuttle,
    Survived,
    Equivalent,
    Invalid,
    NoModel,
    NotRun,
}

fn classify(verdict: Option<&str>, reason: Option<&Reason>) -> Class {
    match verdict {
        None => Class::NotRun,
        Some("killed by loom") => Class::Loom,
        Some("killed by shuttle only") => Class::Shuttle,
        Some(v) if v.starts_with("SURVIVED") => {
            if reason.is_some_and(|r| r.text.to_ascii_lowercase().starts_with("equivalent")) {
                Class::Equivalent
            } else {
                Class::Survived
            }
        }
        Some(v) if v.starts_with("invalid") => Class::Invalid,
        Some("no covering model") => Class::NoModel,
        Some(_) => Class::NotRun,
    }
}

const CLASSES: [(Class, &str); 7] = [
    (Class::Loom, "killed by loom"),
    (Class::Shuttle, "by shuttle only"),
    (Class::Survived, "surviving"),
    (Class::Equivalent, "equivalent"),
    (Class::Invalid, "invalid"),
    (Class::NoModel, "no model"),
    (Class::NotRun, "not run"),
];

fn percent(part: usize, whole: usize) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.0} %", part as f64 * 100.0 / whole as f64)
    }
}

/// The generated table: the headline rates, mutants per file and per operator, and every
/// survivor with its reason.
fn render(
    root: &Path,
    mutants: &[Mutant],
    known: &HashMap<String, Record>,
    reasons: &HashMap<String, Reason>,
) -> String {
    let classes: Vec<Class> = mutants
        .iter()
        .map(|m| {
            classify(
                known.get(&m.key()).map(|r| r.verdict.as_str()),
                reasons.get(&m.reason_key()),
            )
        })
        .collect();
    let n = |c: Class| classes.iter().filter(|&&x| x == c).count();
    let (loom, shuttle, survived) = (n(Class::Loom), n(Class::Shuttle), n(Class::Survived));
    let judged = loom + shuttle + survived;
    let unexplained = mutants
        .iter()
        .zip(&classes)
        .filter(|(m, c)| **c == Class::Survived && !reasons.contains_key(&m.reason_key()))
        .count();
    let mut out = format!(
        "**Loom alone killed {loom} of {judged} mutants ({}); loom and shuttle together {} ({}).** \
         {survived} survive ({unexplained} unexplained); {} are equivalent (they change no \
         behaviour; left out of the rate), {} invalid, {} without a covering model, and {} of \
         the {} current mutants have no result for their code as it is now (not run).\n\n",
        percent(loom, judged),
        loom + shuttle,
        percent(loom + shuttle, judged),
        n(Class::Equivalent),
        n(Class::Invalid),
        n(Class::NoModel),
        n(Class::NotRun),
        mutants.len(),
    );
    let header = |first: &str| {
        format!(
            "| {first} | mutants | {} |\n|---|---|{}\n",
            CLASSES.map(|(_, name)| name).join(" | "),
            "---|".repeat(CLASSES.len())
        )
    };
    let row = |name: String, of: &dyn Fn(&Mutant) -> bool| {
        let picked: Vec<Class> = mutants
            .iter()
            .zip(&classes)
            .filter(|(m, _)| of(m))
            .map(|(_, c)| *c)
            .collect();
        let cells: Vec<String> = CLASSES
            .iter()
            .map(|(c, _)| picked.iter().filter(|&&x| x == *c).count().to_string())
            .collect();
        format!("| {name} | {} | {} |\n", picked.len(), cells.join(" | "))
    };
    out.push_str(&header("file"));
    let mut files: Vec<&str> = mutants.iter().map(|m| m.rel.as_str()).collect();
    files.dedup();
    for f in &files {
        out.push_str(&row(format!("`{f}`"), &|m: &Mutant| m.rel == *f));
    }
    out.push_str(&row("**all**".into(), &|_| true));
    out.push('\n');
    out.push_str(&header("operator"));
    for op in OPERATORS {
        out.push_str(&row(format!("`{op}`"), &|m: &Mutant| {
            m.mutation.operator == op
        }));
    }
    out.push_str(
        "\nSurvivors, the equivalent ones included (reasons from \
         [`docs/audit/survivors.md`](audit/survivors.md)):\n\n",
    );
    let survivors: Vec<(&Mutant, Class)> = mutants
        .iter()
        .zip(&classes)
        .filter(|(_, c)| matches!(c, Class::Survived | Class::Equivalent))
        .map(|(m, c)| (m, *c))
        .collect();
    if survivors.is_empty() {
        out.push_str("None.\n");
        return out;
    }
    out.push_str(
        "| site | function (n) | mutation | code | verdict | reason |\n|---|---|---|---|---|---|\n",
    );
    let cell = |s: &str| s.replace('|', "\\|").replace('`', "'");
    for (m, _) in survivors {
        let reason = match reasons.get(&m.reason_key()) {
            None => "**unexplained**".to_string(),
            Some(r) if !r.hash.is_empty() && r.hash != m.fn_hash => format!(
                "{} (written for an earlier version of the function: code hash {})",
                r.text, r.hash
            ),
            Some(r) => r.text.clone(),
        };
        let verdict = known.get(&m.key()).map_or("", |r| r.verdict.as_str());
        out.push_str(&format!(
            "| `{}` | `{}` ({}) | {} | `{}` | {verdict} | {} |\n",
            m.site(root),
            cell(&m.function),
            m.nth,
            cell(&m.label()),
            cell(&m.snippet),
            reason.replace('|', "\\|")
        ));
    }
    out
}

const BEGIN: &str = "<!-- mutants:begin (generated by `cargo xtask mutants --write-docs`) -->";
const END: &str = "<!-- mutants:end -->";

fn write_docs(root: &Path, table: &str) -> Result<(), String> {
    let stamp = crate::report::stamp(root);
    crate::report::replace_region(
        &root.join("docs/verification.md"),
        BEGIN,
        END,
        &format!(
            "Generated on {stamp} from [`docs/audit/semantic.tsv`](audit/semantic.tsv) (a \
             result is kept while the function the mutant is in keeps its name and its code, \
             wherever it moves).\n\n{table}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mutant(function: &str, op: &'static str, rel: &str) -> Mutant {
        Mutant {
            file: PathBuf::from(format!("/r/crates/synclab/src/{rel}")),
            rel: rel.to_string(),
            line: 7,
            function: function.to_string(),
            nth: 1,
            fn_hash: "h1".into(),
            mutation: Mutation {
                operator: op,
                detail: "x → y".into(),
                at: 0,
                edits: Vec::new(),
            },
            snippet: "a | b".into(),
        }
    }

    fn record(verdict: &str) -> Record {
        Record {
            verdict: verdict.into(),
            models: String::new(),
            seconds: 1.0,
        }
    }

    #[test]
    fn a_survivor_without_a_reason_is_unexplained() {
        let ms = [
            mutant("Q::push", "wake-count", "queue/q.rs"),
            mutant("Q::pop", "wake-count", "queue/q.rs"),
            mutant("Q::len", "plus-one", "queue/q.rs"),
            mutant("L::lock", "cas-split", "lock/l.rs"),
            mutant("L::unlock", "cas-split", "lock/l.rs"),
        ];
        let mut known = HashMap::new();
        known.insert(ms[0].key(), record("killed by loom"));
        known.insert(ms[1].key(), record("SURVIVED"));
        known.insert(ms[2].key(), record("SURVIVED"));
        known.insert(ms[3].key(), record("killed by shuttle only"));
        let reasons_md = "# Survivors\n\n| function | n | mutation | code hash | reason |\n\
                          |---|---|---|---|---|\n\
                          | `Q::len` | 1 | plus-one: x → y | h0 | equivalent: a \\| b |\n";
        let path = std::env::temp_dir().join(format!("xtask-reasons-{}.md", std::process::id()));
        std::fs::write(&path, reasons_md).unwrap();
        let reasons = load_reasons(&path);
        let _ = std::fs::remove_file(&path);
        let table = render(Path::new("/r"), &ms, &known, &reasons);
        assert!(
            table.starts_with("**Loom alone killed 1 of 3 mutants (33 %); loom and shuttle together 2 (67 %).** 1 survive (1 unexplained); 1 are equivalent"),
            "{table}"
        );
        assert!(
            table.contains("| `queue/q.rs` | 3 | 1 | 0 | 1 | 1 | 0 | 0 | 0 |"),
            "{table}"
        );
        assert!(
            table.contains("| `lock/l.rs` | 2 | 0 | 1 | 0 | 0 | 0 | 0 | 1 |"),
            "{table}"
        );
        assert!(
            table.contains(
                "| `Q::pop` (1) | wake-count: x → y | `a \\| b` | SURVIVED | **unexplained** |"
            ),
            "{table}"
        );
        assert!(table.contains("equivalent: a \\| b (written for an earlier version of the function: code hash h0)"), "{table}");
    }

    #[test]
    fn a_sample_per_file_shows_every_operator_and_function_first() {
        let at = |mut m: Mutant, nth: usize, at: usize| {
            m.nth = nth;
            m.mutation.at = at;
            m
        };
        let ms = vec![
            at(mutant("Q::push", "compare-bound", "queue/q.rs"), 1, 10),
            at(mutant("Q::push", "compare-bound", "queue/q.rs"), 2, 20),
            at(mutant("Q::pop", "compare-bound", "queue/q.rs"), 1, 30),
            at(mutant("Q::pop", "cas-split", "queue/q.rs"), 1, 40),
            at(mutant("L::lock", "wake-count", "lock/l.rs"), 1, 10),
            at(mutant("L::lock", "wake-count", "lock/l.rs"), 2, 20),
        ];
        let per_file = PerFile::parse("3,lock/=1").unwrap();
        assert_eq!(per_file.of("queue/q.rs"), 3);
        assert_eq!(per_file.of("lock/l.rs"), 1);
        let picked: Vec<(String, usize, usize)> = spread(ms, &per_file)
            .into_iter()
            .map(|m| (m.function, m.nth, m.mutation.at))
            .collect();
        // Both operators of q.rs, then the other function's compare-bound before push's second.
        assert_eq!(
            picked,
            [
                ("Q::push".to_string(), 1, 10),
                ("Q::pop".to_string(), 1, 30),
                ("Q::pop".to_string(), 1, 40),
                ("L::lock".to_string(), 1, 10),
            ]
        );
        assert!(PerFile::parse("x").is_err());
        assert!(PerFile::parse("2,lock").is_err());
    }

    #[test]
    fn options_name_real_operators() {
        let args = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(parse(&args("--operator wake-count,cas-split")).is_ok());
        assert!(parse(&args("--operator nope")).is_err());
        assert!(parse(&args("--timeout x")).is_err());
        assert!(parse(&args("--bogus")).is_err());
    }

    #[test]
    fn ranks_count_per_function_and_operator_and_keys_survive_moves() {
        let dir = std::env::temp_dir().join(format!("xtask-mutants-{}", std::process::id()));
        let src_dir = dir.join("crates/synclab/src/queue");
        std::fs::create_dir_all(&src_dir).unwrap();
        let body = "impl Q {\n    fn close(&self) {\n        self.a.notify_all();\n        self.b.notify_all();\n    }\n}\n";
        std::fs::write(src_dir.join("q.rs"), body).unwrap();
        let first = collect(&dir, None, &["wake-count"]);
        assert_eq!(first.len(), 2);
        assert_eq!((first[0].nth, first[1].nth), (1, 2));
        assert_eq!(first[0].function, "Q::close");
        // The same function further down another file: the same keys.
        std::fs::remove_file(src_dir.join("q.rs")).unwrap();
        std::fs::write(src_dir.join("moved.rs"), format!("\n\n// moved\n{body}")).unwrap();
        let moved = collect(&dir, None, &["wake-count"]);
        assert_eq!(
            first.iter().map(Mutant::key).collect::<Vec<_>>(),
            moved.iter().map(Mutant::key).collect::<Vec<_>>()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
