//! The published figures are generated: docs/benchmarks.md's generated block, its charts and
//! the README's "results at a glance" must be exactly what docs/benchmarks/compare.json
//! generates. (Regenerate with `synclab compare --write-docs --from docs/benchmarks/compare.json`,
//! or from a new run.)

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn check(docs_root: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
        .args(["compare", "--check-docs", "--docs-root"])
        .arg(docs_root)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn committed_docs_are_what_the_committed_results_generate() {
    let (ok, err) = check(&root());
    assert!(ok, "{err}");
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Every kind of drift is caught, and `--write-docs --from` repairs it.
#[test]
fn drift_is_caught_and_repaired() {
    let tmp = std::env::temp_dir().join(format!("synclab-docs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_tree(&root().join("docs"), &tmp.join("docs"));
    std::fs::copy(root().join("README.md"), tmp.join("README.md")).unwrap();
    assert!(check(&tmp).0, "{}", check(&tmp).1);

    let edit = |rel: &str, f: &dyn Fn(&str) -> String| {
        let path = tmp.join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, f(&text)).unwrap();
    };
    let repair = || {
        let out = Command::new(env!("CARGO_BIN_EXE_synclab"))
            .args(["compare", "--write-docs", "--from"])
            .arg(tmp.join("docs/benchmarks/compare.json"))
            .arg("--docs-root")
            .arg(&tmp)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(check(&tmp).0, "{}", check(&tmp).1);
    };

    // A hand-edited figure in the README block.
    edit("README.md", &|t| {
        let at = t.find("<!-- BEGIN GENERATED").unwrap();
        format!(
            "{}| a | hand-copied | 2.07× |\n{}",
            &t[..at + 300],
            &t[at + 300..]
        )
    });
    let (ok, err) = check(&tmp);
    assert!(!ok && err.contains("README.md differs"), "{err}");
    repair();

    // Prose outside the generated block is the authors': editing it is not drift.
    edit("docs/benchmarks.md", &|t| {
        t.replacen("# Benchmarks", "# Benchmarks!", 1)
    });
    assert!(check(&tmp).0, "{}", check(&tmp).1);

    // A changed word in docs/benchmarks.md's generated block.
    edit("docs/benchmarks.md", &|t| {
        let at = t.find("<!-- BEGIN GENERATED").unwrap();
        format!("{}{}", &t[..at], t[at..].replacen(" rounds", " roundz", 1))
    });
    let (ok, err) = check(&tmp);
    assert!(!ok && err.contains("docs/benchmarks.md differs"), "{err}");
    repair();

    // A chart nobody generated, and a generated one altered.
    std::fs::write(tmp.join("docs/benchmarks/old_figure.svg"), "<svg/>").unwrap();
    let (ok, err) = check(&tmp);
    assert!(
        !ok && err.contains("old_figure.svg is not generated"),
        "{err}"
    );
    repair();
    assert!(!tmp.join("docs/benchmarks/old_figure.svg").exists());

    // The results file itself changed: everything it generates must follow.
    edit("docs/benchmarks/compare.json", &|t| {
        t.replacen("\"seconds\": ", "\"seconds\": 1", 1)
    });
    let (ok, err) = check(&tmp);
    assert!(!ok, "a changed results file went unnoticed: {err}");
    repair();

    let _ = std::fs::remove_dir_all(&tmp);
}
