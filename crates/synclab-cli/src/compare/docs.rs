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

/// The results files of other builds (`docs/benchmarks/compare-<features>.json`), by path.
fn other_builds(root: &Path) -> Result<Vec<(PathBuf, ResultsFile)>, String> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(CHARTS_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("compare-") && n.ends_with(".json"))
        })
        .collect();
    found.sort();
    found
        .into_iter()
        .map(|p| ResultsFile::load(&p).map(|f| (p, f)))
        .collect()
}

/// Where a results file of a build with extra features is kept (relative to the root).
pub fn other_build_path(features: &[String]) -> PathBuf {
    Path::new(CHARTS_DIR).join(format!("compare-{}.json", features.join("-")))
}

/// The section of another build's tables: marked as that build, with its provenance.
fn other_build_section(root: &Path, path: &Path, file: &ResultsFile) -> String {
    let rel = path.strip_prefix(root.join("docs")).unwrap_or(path);
    let mut out = format!(
        "## Another build: {}

Not the README's build, so none of the verdicts above comes from it: these tables are from [`{}`]({}), a separate binary built with those features, and show the rows only it has beside the contenders it ran.

",
        super::reproduce::build_label(&file.meta.features),
        rel.display(),
        rel.display()
    );
    out.push_str(&report::provenance(file));
    out.push('\n');
    if let Some(run) = file.runs.first() {
        out.push_str(&report::cell_tables(file, run, "###", "####"));
    }
    out
}

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
    let mut appendix = super::reproduce::docs_section(&super::reproduce::load_record(root)?);
    for (path, other) in other_builds(root)? {
        appendix.push_str(&other_build_section(root, &path, &other));
    }
    let md = report::splice(
        &read(BENCHMARKS_MD)?,
        &report::docs_block(file, &links, &appendix),
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
///
/// A results file from a build with extra features is not published as the suite's figures:
/// it is kept beside them as another build's (`compare-<features>.json`, a section of its own
/// in docs/benchmarks.md), and the docs are regenerated from the committed file.
pub fn write(root: &Path, file: &ResultsFile) -> Result<usize, String> {
    if let Some(features) = file.meta.features.as_ref().filter(|f| !f.is_empty()) {
        let path = root.join(other_build_path(features));
        std::fs::write(&path, file.to_json()?)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let published = ResultsFile::load(&root.join(RESULTS))?;
        return write_published(root, &published).map(|n| n + 1);
    }
    write_published(root, file)
}

fn write_published(root: &Path, file: &ResultsFile) -> Result<usize, String> {
    let generated = generate(root, file)?;
    std::fs::create_dir_all(root.join(CHARTS_DIR))
        .map_err(|e| format!("cannot create {}: {e}", root.join(CHARTS_DIR).display()))?;
    let json = root.join(RESULTS);
    // Regenerating from the committed file itself leaves it as it is (byte for byte).
    if ResultsFile::load(&json).ok().as_ref() != Some(file) {
        std::fs::write(&json, file.to_json()?)
            .map_err(|e| format!("cannot write {}: {e}", json.display()))?;
    }
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
