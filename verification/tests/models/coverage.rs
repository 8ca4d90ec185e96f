//! The design-coverage check: every public design is registered once per concern.
//!
//! It discovers the designs from the library's source — every type that implements one of the
//! four traits (`RawLock`, `SharedArray`, `MpmcQueue`, `ThreadPool`), and every segment design
//! (`shm::Design` for a type in `Shm`) — and fails, naming each gap, when a design lacks:
//!
//! | concern | where | what counts |
//! |---|---|---|
//! | suite line | `verification/tests/models/**` | `raw_lock_suite!` / `shared_array_suite!` / `mpmc_queue_suite!` / `thread_pool_suite!` naming the type (or an alias of it) |
//! | model | `verification/tests/**` | the suite line (its scenarios are loom and shuttle models); a segment design: a model that runs it in a modelled segment (`ModelShm`) |
//! | benchmark contender | `synclab_benches::workloads()` | a synclab contender whose name names the type (a segment design: with `Shm`) |
//! | docs entry | `docs/designs.md` | the type's name |
//!
//! A type is named by itself or by a public alias of it (`FutexMutex` for `RawFutexMutex`,
//! `StdCondvarPool` for `CondvarPool<StdFamily>`, `ArrayQueue` for `ArrayQueueIn<T, Heap>`).
//! Real threads only: it reads files and the benchmark registry.
#![cfg(not(any(synclab_loom, synclab_shuttle)))]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The traits whose implementations are designs, and the suite macro of each.
const TRAITS: &[(&str, &str)] = &[
    ("RawLock", "raw_lock_suite"),
    ("SharedArray", "shared_array_suite"),
    ("MpmcQueue", "mpmc_queue_suite"),
    ("ThreadPool", "thread_pool_suite"),
];

/// What a segment design is marked with in the coverage table.
const SEGMENT: &str = "shm::Design";

/// Gaps known and accepted for now, each with its reason: (design, concern, why). The test
/// prints them; it fails on any gap not listed here, and on an entry here that is no longer a
/// gap — so this list can only shrink.
const KNOWN_GAPS: &[(&str, &str, &str)] = &[
    (
        "BlockingQueue",
        SEGMENT_MODEL,
        "the queue under it is modelled in a modelled segment (processes.rs); the blocking \
         layer's own segment paths (its event counts' bounded sleeps) are not yet",
    ),
    (
        "RawRobustMutex",
        BENCH,
        "the robust mutex is a segment's lock; its cost beside the heap locks is not measured yet",
    ),
    (
        "CondvarArray",
        SEGMENT_BENCH,
        "the processes workloads compare the lock-free and laned arrays; the condvar array in a \
         segment is not among them yet",
    ),
];

const SUITE: &str = "suite line";
const MODEL: &str = "model";
const SEGMENT_MODEL: &str = "model in a modelled segment";
const BENCH: &str = "benchmark contender";
const SEGMENT_BENCH: &str = "benchmark contender in a segment";
const DOCS: &str = "docs entry";

#[derive(Debug, Default)]
struct Design {
    /// What it implements: trait names, and [`SEGMENT`].
    kinds: BTreeSet<&'static str>,
    /// Where its implementations are.
    files: BTreeSet<PathBuf>,
    /// Its public aliases.
    aliases: BTreeSet<String>,
}

impl Design {
    fn names<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> {
        std::iter::once(name).chain(self.aliases.iter().map(String::as_str))
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the verification crate sits in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The identifier at the start of `text` (after spaces).
fn ident(text: &str) -> &str {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// Whether `text` contains `word` bounded by non-identifier characters.
fn names_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// `impl<…> Trait<…> for Type<…>` on one line: (trait, type, the rest after the type name).
fn implementation(line: &str) -> Option<(&str, &str, &str)> {
    let line = line.trim_start();
    let line = line.strip_prefix("unsafe ").unwrap_or(line);
    let mut rest = line.strip_prefix("impl")?;
    if rest.starts_with('<') {
        // Skip the impl's own generics (which may nest).
        let mut depth = 0usize;
        let end = rest.char_indices().find_map(|(i, c)| {
            match c {
                '<' => depth += 1,
                '>' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                _ => {}
            }
            None
        })?;
        rest = &rest[end + 1..];
    } else if !rest.starts_with(' ') {
        return None;
    }
    let (head, target) = rest.split_once(" for ")?;
    // The trait: the last path segment, before its own generics.
    let path = head.trim().split('<').next()?;
    let trait_name = path.rsplit("::").next()?;
    let ty = ident(target);
    let after = target.trim_start();
    Some((trait_name, ty, &after[ty.len()..]))
}

/// The designs the library's source declares, by type name.
fn discover(src: &Path) -> BTreeMap<String, Design> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut designs: BTreeMap<String, Design> = BTreeMap::new();
    for path in &files {
        for line in read(path).lines() {
            let Some((trait_name, ty, rest)) = implementation(line) else {
                continue;
            };
            let kind = if let Some((t, _)) = TRAITS.iter().find(|(t, _)| *t == trait_name) {
                *t
            } else if trait_name == "Design" && names_word(rest, "Shm") {
                SEGMENT
            } else {
                continue;
            };
            let design = designs.entry(ty.to_string()).or_default();
            design.kinds.insert(kind);
            design
                .files
                .insert(path.strip_prefix(root()).unwrap_or(path).to_path_buf());
        }
    }
    // Public aliases: `pub type Alias<…> = Type<…>;` — and for a lock, `= Mutex<T, RawLock>`.
    for path in &files {
        for line in read(path).lines() {
            let Some(rest) = line.trim_start().strip_prefix("pub type ") else {
                continue;
            };
            let alias = ident(rest);
            let Some((_, rhs)) = rest.split_once('=') else {
                continue;
            };
            let mut target = ident(rhs);
            if target == "Mutex" {
                target = rhs.split_once(',').map_or("", |(_, lock)| ident(lock));
            }
            if let Some(design) = designs.get_mut(target) {
                design.aliases.insert(alias.to_string());
            }
        }
    }
    designs
}

/// The design a type written in a test file stands for: itself, a local `type X<…> = Y<…>;`
/// of that file, or a public alias.
fn resolve<'a>(
    written: &str,
    file_text: &str,
    designs: &'a BTreeMap<String, Design>,
) -> Option<&'a str> {
    let local = file_text.lines().find_map(|l| {
        let rest = l.trim_start().strip_prefix("type ")?;
        let rhs = rest.split_once('=')?.1;
        (ident(rest) == written).then(|| ident(rhs))
    });
    let written = local.unwrap_or(written);
    designs
        .iter()
        .find_map(|(name, d)| d.names(name).any(|n| n == written).then_some(name.as_str()))
}

#[test]
fn every_design_has_its_suite_line_model_benchmark_and_docs() {
    let root = root();
    let designs = discover(&root.join("crates/synclab/src"));
    assert!(
        designs.len() >= 10,
        "the scan found only {} designs ({:?}): is it still reading the library?",
        designs.len(),
        designs.keys().collect::<Vec<_>>()
    );

    // Suite lines and models in the verification tests.
    let mut tests = Vec::new();
    rust_files(&root.join("verification/tests"), &mut tests);
    let mut suites: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut segment_models: BTreeSet<&str> = BTreeSet::new();
    for path in &tests {
        let text = read(path);
        // A suite line: `suite!(module, Type …)`, on one line or formatted over several.
        for (trait_name, suite) in TRAITS {
            for (at, _) in text.match_indices(&format!("{suite}!(")) {
                let args = &text[at + suite.len() + 2..];
                let Some((_, ty)) = args.split_once(',') else {
                    continue;
                };
                if let Some(name) = resolve(ident(ty), &text, &designs) {
                    suites.entry(name).or_default().insert(trait_name);
                }
            }
        }
        for line in text.lines() {
            if names_word(line, "ModelShm") {
                for (name, design) in &designs {
                    let local = text.lines().filter_map(|l| {
                        let rest = l.trim_start().strip_prefix("type ")?;
                        let (alias, rhs) = (ident(rest), rest.split_once('=')?.1);
                        design.names(name).any(|n| ident(rhs) == n).then_some(alias)
                    });
                    let mut names = design.names(name).chain(local);
                    if names.any(|n| names_word(line, n)) {
                        segment_models.insert(name);
                    }
                }
            }
        }
    }

    // Benchmark contenders: synclab's own, in every timed workload.
    let contenders: BTreeSet<&str> = synclab_benches::workloads()
        .into_iter()
        .flat_map(|w| w.contenders)
        // The seed's own design (the polling array) is a contender as `Seed`.
        .filter(|c| {
            matches!(
                c.role,
                synclab_benches::Role::Synclab | synclab_benches::Role::Seed
            )
        })
        .map(|c| c.name)
        .collect();

    let designs_md = read(&root.join("docs/designs.md"));

    let mut gaps = Vec::new();
    let mut known = Vec::new();
    for (name, design) in &designs {
        let named = |text: &str| design.names(name).any(|n| names_word(text, n));
        // (concern, where to add it)
        let mut missing: Vec<(&str, String)> = Vec::new();
        for (trait_name, suite) in TRAITS {
            if design.kinds.contains(trait_name)
                && !suites
                    .get(name.as_str())
                    .is_some_and(|s| s.contains(trait_name))
            {
                missing.push((SUITE, format!("{suite}! in verification/tests/models")));
                missing.push((MODEL, format!("{trait_name}: its suite line runs them")));
            }
        }
        let segment = design.kinds.contains(SEGMENT);
        if segment && !segment_models.contains(name.as_str()) {
            missing.push((SEGMENT_MODEL, "ModelShm in verification/tests".into()));
        }
        let has_trait = design.kinds.iter().any(|k| *k != SEGMENT);
        if has_trait && !contenders.iter().any(|c| named(c)) {
            missing.push((BENCH, "synclab_benches::workloads()".into()));
        }
        if segment && !contenders.iter().any(|c| named(c) && names_word(c, "Shm")) {
            missing.push((SEGMENT_BENCH, "a workload's `…<Shm>` contender".into()));
        }
        if !named(&designs_md) {
            missing.push((DOCS, "docs/designs.md".into()));
        }
        let (accepted, new): (Vec<_>, Vec<_>) = missing
            .into_iter()
            .partition(|(concern, _)| KNOWN_GAPS.iter().any(|(d, c, _)| d == name && c == concern));
        known.extend(
            accepted
                .iter()
                .map(|(concern, _)| (name.as_str(), *concern)),
        );
        if !new.is_empty() {
            let also: Vec<&str> = design.aliases.iter().map(String::as_str).collect();
            gaps.push(format!(
                "{name}{} [{}] ({}): {}",
                if also.is_empty() {
                    String::new()
                } else {
                    format!(" (alias {})", also.join(", "))
                },
                design.kinds.iter().copied().collect::<Vec<_>>().join(", "),
                design
                    .files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                new.iter()
                    .map(|(concern, place)| format!("no {concern} ({place})"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    for (design, concern, why) in KNOWN_GAPS {
        if known.contains(&(*design, *concern)) {
            eprintln!("design coverage: known gap: {design} has no {concern}: {why}");
        } else {
            gaps.push(format!(
                "{design}: KNOWN_GAPS lists no {concern}, but that gap is closed (or the design \
                 is gone): remove the entry"
            ));
        }
    }
    eprintln!(
        "design coverage: {} designs: {}",
        designs.len(),
        designs
            .iter()
            .map(|(n, d)| format!(
                "{n} [{}]",
                d.kinds.iter().copied().collect::<Vec<_>>().join(", ")
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    assert!(
        gaps.is_empty(),
        "design coverage: {} of {} designs lack a registration:\n  {}",
        gaps.len(),
        designs.len(),
        gaps.join("\n  ")
    );
}
