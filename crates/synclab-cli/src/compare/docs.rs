//! The published figures, generated from one committed results file.
//!
//! `docs/benchmarks/compare.json` is the source; from it come the generated block of
//! `docs/benchmarks.md` (between [`report::BEGIN`] and [`report::END`]), the charts
//! `docs/benchmarks/*.svg`, and the "results at a glance" block of `README.md`. Prose outside
//! the blocks is written by hand and carries no figures. [`check`] regenerates everything in
//! memory and reports every file that differs: the drift test runs it.

use std::path::{Path, PathBuf};

use super::report;
use super::results::ResultsFile;

/// The committed results file, relative to the repository root.
pub const RESULTS: &str = "docs/benchmarks/compare.json";
const BENCHMARKS_MD: &str = "docs/benchmarks.md";
const README: &str = "README.md";
const CHARTS_DIR: &str = "docs/benchmarks";

/// Everything generated, as (path relative to the root, full text).
fn generate(root: &Path, file: &ResultsFile) -> Result<Vec<(PathBuf, String)>, String> {
    let mut out = Vec::new();
    let charts = match file.runs.first() {
        Some(run) => crate::charts::render_all(file, run),
        None => Vec::new(),
    };
    let links: Vec<(String, String)> = charts
        .iter()
        .map(|(id, name, _)| (id.clone(), format!("benchmarks/{name}")))
        .collect();
    let read = |rel: &str| {
        std::fs::read_to_string(root.join(rel))
            .map_err(|e| format!("cannot read {}: {e}", root.join(rel).display()))
    };
    let md = report::splice(
        &read(BENCHMARKS_MD)?,
        &report::docs_block(file, &links),
        BENCHMARKS_MD,
    )?;
    out.push((PathBuf::from(BENCHMARKS_MD), md));
    let readme = report::splice(&read(README)?, &report::readme_block(file, &links), README)?;
    out.push((PathBuf::from(README), readme));
    for (_, name, svg) in charts {
        out.push((Path::new(CHARTS_DIR).join(name), svg));
    }
    Ok(out)
}

/// SVG files in the charts folder.
fn existing_charts(root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(CHARTS_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "svg"))
        .filter_map(|p| p.strip_prefix(root).ok().map(Path::to_path_buf))
        .collect();
    found.sort();
    found
}

/// Writes the results file and everything it generates under `root`; removes charts it no
/// longer generates. Returns how many files were written.
pub fn write(root: &Path, file: &ResultsFile) -> Result<usize, String> {
    let generated = generate(root, file)?;
    std::fs::create_dir_all(root.join(CHARTS_DIR))
        .map_err(|e| format!("cannot create {}: {e}", root.join(CHARTS_DIR).display()))?;
    let json = root.join(RESULTS);
    std::fs::write(&json, file.to_json()?)
        .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    for stale in existing_charts(root) {
        if !generated.iter().any(|(p, _)| *p == stale) {
            std::fs::remove_file(root.join(&stale))
                .map_err(|e| format!("cannot remove {}: {e}", stale.display()))?;
        }
    }
    // The old hand-kept copy of the terminal tables: compare.json is the record now.
    let _ = std::fs::remove_file(root.join(CHARTS_DIR).join("compare.md"));
    for (rel, text) in &generated {
        let path = root.join(rel);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(generated.len() + 1)
}

/// Checks that every generated file under `root` is what the committed results file
/// generates, and that no chart lies around that it does not.
pub fn check(root: &Path) -> Result<(), String> {
    let file = ResultsFile::load(&root.join(RESULTS))?;
    let generated = generate(root, &file)?;
    let mut problems = Vec::new();
    for (rel, text) in &generated {
        match std::fs::read_to_string(root.join(rel)) {
            Ok(on_disk) if on_disk == *text => {}
            Ok(on_disk) => problems.push(format!(
                "{} differs from what {RESULTS} generates (first difference at line {})",
                rel.display(),
                first_difference(&on_disk, text)
            )),
            Err(_) => problems.push(format!("{} is missing", rel.display())),
        }
    }
    for chart in existing_charts(root) {
        if !generated.iter().any(|(p, _)| *p == chart) {
            problems.push(format!(
                "{} is not generated from {RESULTS} (a stale chart)",
                chart.display()
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the published figures drifted from {RESULTS}:\n  {}\nRegenerate them with `cargo run --release -p synclab-cli -- compare --write-docs --from {RESULTS}` (or from a new run's results).",
            problems.join("\n  ")
        ))
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()))
        + 1
}
