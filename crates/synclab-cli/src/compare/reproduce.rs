//! Reproductions: a fresh run's verdicts beside a published results file's, target by target
//! (`synclab compare --reproduce FILE`), and the record of every published run's agreement
//! with the one it replaced (`docs/benchmarks/reproductions.json`, a table in
//! docs/benchmarks.md that grows with each published run).
//!
//! A target is matched by workload, thread count, contender and reference. It *agrees* when
//! every pair of a published and a fresh run that both decided it (met or missed) decided it
//! the same way, and it *flips* when some such pair differs; a target that no pair decided
//! (undecided or not run on either side), or that the published file does not have, is not
//! compared.

use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::analysis::{self, Agreement};
use super::results::{Machine, ResultsFile, TargetResult};
use super::stats::Verdict;

/// The committed record of reproductions, relative to the repository root.
pub const RECORD: &str = "docs/benchmarks/reproductions.json";

/// One reproduction: a run compared with the results file it reproduces.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Reproduction {
    /// When the fresh run started, UTC.
    pub date: String,
    /// The machine of the fresh run.
    pub machine: Machine,
    /// The commit the fresh run was built from (and whether its tree was dirty).
    pub commit: String,
    /// Whether that tree had uncommitted changes.
    pub dirty: bool,
    /// The build's extra cargo features (empty: the README's build; `None`: not recorded).
    #[serde(default)]
    pub features: Option<Vec<String>>,
    /// Runs of the suite in the fresh invocation.
    pub runs: usize,
    /// The reproduced file: its commit and date.
    pub published_commit: String,
    /// When the reproduced file's invocation started.
    pub published_date: String,
    /// Targets present on both sides.
    pub compared: usize,
    /// Of those, targets some published and some fresh run both decided.
    pub decided: usize,
    /// Of those, targets every such pair decided the same way.
    pub agree: usize,
    /// The targets some pair decided differently: "claim @ threads (published → fresh)".
    pub flips: Vec<String>,
}

/// A target's key across files.
fn key(t: &TargetResult) -> (&str, usize, &str, &str) {
    (&t.workload, t.threads, &t.contender, &t.reference)
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Met => "met",
        Verdict::Missed => "missed",
        Verdict::Undecided => "undecided",
        Verdict::NotRun => "not run",
    }
}

/// A target's verdict and median ratio, for the table.
fn verdict_cell(t: &TargetResult) -> String {
    match &t.estimate {
        Some(e) if !t.absolute => format!("{} {:.2}×", verdict_word(t.verdict), e.median),
        Some(e) => format!("{} {:.3}", verdict_word(t.verdict), e.median),
        None => verdict_word(t.verdict).to_string(),
    }
}

/// One target's comparison: the published runs' verdicts, the fresh runs', and how they relate.
struct Row<'a> {
    target: &'a TargetResult,
    published: Vec<&'a TargetResult>,
    fresh: Vec<&'a TargetResult>,
    agreement: Agreement,
}

fn rows<'a>(published: &'a ResultsFile, fresh: &'a ResultsFile) -> Vec<Row<'a>> {
    let Some(first) = fresh.runs.first() else {
        return Vec::new();
    };
    first
        .targets
        .iter()
        .enumerate()
        .filter_map(|(i, target)| {
            let published: Vec<&TargetResult> = published
                .runs
                .iter()
                .filter_map(|r| r.targets.iter().find(|p| key(p) == key(target)))
                .collect();
            if published.is_empty() {
                return None;
            }
            let fresh: Vec<&TargetResult> = fresh.runs.iter().map(|r| &r.targets[i]).collect();
            let mut agreement = Agreement::NotBothDecided;
            for p in &published {
                for f in &fresh {
                    match analysis::agreement(p.verdict, f.verdict) {
                        Agreement::Disagree => agreement = Agreement::Disagree,
                        Agreement::Agree if agreement == Agreement::NotBothDecided => {
                            agreement = Agreement::Agree;
                        }
                        _ => {}
                    }
                }
            }
            Some(Row {
                target,
                published,
                fresh,
                agreement,
            })
        })
        .collect()
}

/// Compares `fresh` with `published`.
pub fn compare(published: &ResultsFile, fresh: &ResultsFile) -> Reproduction {
    let rows = rows(published, fresh);
    let decided = rows
        .iter()
        .filter(|r| r.agreement != Agreement::NotBothDecided)
        .count();
    let flips: Vec<String> = rows
        .iter()
        .filter(|r| r.agreement == Agreement::Disagree)
        .map(|r| {
            let words = |ts: &[&TargetResult]| {
                ts.iter()
                    .map(|t| verdict_word(t.verdict))
                    .collect::<Vec<_>>()
                    .join("/")
            };
            format!(
                "{} @ {} ({} → {})",
                r.target.claim,
                r.target.threads,
                words(&r.published),
                words(&r.fresh)
            )
        })
        .collect();
    Reproduction {
        date: fresh.meta.date.clone(),
        machine: fresh.meta.machine.clone(),
        commit: fresh.meta.commit.clone(),
        dirty: fresh.meta.dirty,
        features: fresh.meta.features.clone(),
        runs: fresh.runs.len(),
        published_commit: published.meta.commit.clone(),
        published_date: published.meta.date.clone(),
        compared: rows.len(),
        decided,
        agree: decided - flips.len(),
        flips,
    }
}

/// The terminal report of `--reproduce`: every target both files have, the published verdicts
/// beside the fresh ones, and whether they agree; then the counts.
pub fn terminal(published: &ResultsFile, fresh: &ResultsFile, path: &Path) -> String {
    let mut out = format!(
        "## Reproduction of {} (commit `{}`, {})\n\n",
        path.display(),
        short(&published.meta.commit),
        published.meta.date
    );
    out.push_str(
        "| target | workload | threads | published | fresh | agree |\n|---|---|---|---|---|---|\n",
    );
    for r in rows(published, fresh) {
        let cells = |ts: &[&TargetResult]| {
            ts.iter()
                .map(|t| verdict_cell(t))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} |",
            r.target.claim,
            r.target.workload,
            r.target.threads,
            cells(&r.published),
            cells(&r.fresh),
            match r.agreement {
                Agreement::Agree => "yes",
                Agreement::Disagree => "**no**",
                Agreement::NotBothDecided => "—",
            }
        );
    }
    let summary = compare(published, fresh);
    let _ = writeln!(
        out,
        "\n{} targets in both files; decided on both sides: {}; agree: {}; flips: {}.",
        summary.compared,
        summary.decided,
        summary.agree,
        summary.flips.len()
    );
    for flip in &summary.flips {
        let _ = writeln!(out, "- flip: {flip}");
    }
    out
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

/// Reads the record under `root` (empty if there is none yet).
pub fn load_record(root: &Path) -> Result<Vec<Reproduction>, String> {
    let path = root.join(RECORD);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a reproductions record: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Appends `entry` to the record under `root`.
pub fn append_record(root: &Path, entry: Reproduction) -> Result<(), String> {
    let mut record = load_record(root)?;
    record.push(entry);
    let path = root.join(RECORD);
    let mut text = serde_json::to_string_pretty(&record)
        .map_err(|e| format!("cannot serialise the reproductions: {e}"))?;
    text.push('\n');
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// The generated table of docs/benchmarks.md.
pub fn docs_section(record: &[Reproduction]) -> String {
    let mut out = String::from("## Reproductions\n\n");
    if record.is_empty() {
        out.push_str("None recorded yet: every published run (`--write-docs`) adds a row, comparing its verdicts with the results file it replaces.\n\n");
        return out;
    }
    out.push_str("Every published run (`--write-docs`) compared with the results file it replaced, target by target (`synclab compare --reproduce FILE` prints the same comparison for any run): a target *agrees* when every published and fresh run that both decided it decided it the same way.\n\n");
    out.push_str("| date | machine | commit (build) | runs | reproduces | targets in both | decided on both sides | agree | flips |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in record {
        let _ = writeln!(
            out,
            "| {} | {} ({} CPUs) | `{}`{} ({}) | {} | `{}` ({}) | {} | {} | {} | {} |",
            r.date,
            r.machine.cpu,
            r.machine.cores,
            short(&r.commit),
            if r.dirty { ", dirty" } else { "" },
            build_label(&r.features),
            r.runs,
            short(&r.published_commit),
            r.published_date,
            r.compared,
            r.decided,
            r.agree,
            if r.flips.is_empty() {
                "none".to_string()
            } else {
                r.flips.join("; ")
            }
        );
    }
    out.push('\n');
    out
}

/// "the README's build" for no extra features, else the features.
pub fn build_label(features: &Option<Vec<String>>) -> String {
    match features {
        None => "build not recorded".to_string(),
        Some(f) if f.is_empty() => "the README's build".to_string(),
        Some(f) => format!("`--features {}`", f.join(",")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_file_reproduces_itself() {
        let root = super::super::meta::workspace_root();
        let file = ResultsFile::load(&root.join(super::super::docs::RESULTS)).unwrap();
        let r = compare(&file, &file);
        assert!(r.compared > 0);
        // Against itself, a target decided in both of its runs can still flip (the two runs
        // disagree); every other decided target agrees.
        assert_eq!(r.agree + r.flips.len(), r.decided);
        let text = terminal(&file, &file, Path::new("compare.json"));
        assert!(text.contains("decided on both sides"));
        assert!(docs_section(&[r]).contains("| date |"));
    }
}
