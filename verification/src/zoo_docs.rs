//! The zoo's counterexamples in `docs/zoo.md`: each expected failure checks that the docs show
//! the counterexample it just produced, so the docs cannot drift from the code.
//!
//! An entry's block sits between `<!-- counterexample: KEY -->` and
//! `<!-- end counterexample -->`, where KEY is the test's path
//! (`models::pool::seed::seed_cpp_wait_data_race`).
//! Only the checker the docs show runs the check ([`Expect::docs_checker`]). With
//! `SYNCLAB_ZOO_DOCS_DIR` set the test writes its block into that folder instead, and
//! `synclab explain --write-docs` splices the folder into `docs/zoo.md` ([`splice`]).

use std::path::{Path, PathBuf};

use crate::expect::Expect;

const BEGIN: &str = "<!-- counterexamples: begin";
const END: &str = "<!-- counterexamples: end -->";

/// The marker that opens an entry's block.
pub fn open_marker(key: &str) -> String {
    format!("<!-- counterexample: {key} -->")
}

/// The marker that closes an entry's block.
pub const CLOSE_MARKER: &str = "<!-- end counterexample -->";

fn find_docs() -> Option<PathBuf> {
    let mut starts = Vec::new();
    if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
        starts.push(PathBuf::from(dir));
    }
    if let Ok(dir) = std::env::current_dir() {
        starts.push(dir);
    }
    starts.iter().find_map(|start| {
        start
            .ancestors()
            .map(|a| a.join("docs/zoo.md"))
            .find(|p| p.is_file())
    })
}

/// The block shown for `key` in `docs`, if any.
pub fn block_in(docs: &str, key: &str) -> Option<String> {
    let open = open_marker(key);
    let start = docs.find(&open)? + open.len();
    let rest = docs[start..].strip_prefix('\n').unwrap_or(&docs[start..]);
    let end = rest.find(CLOSE_MARKER)?;
    Some(rest[..end].to_string())
}

/// Checks (or writes, see the module docs) the block of the expected failure `test_path`.
pub(crate) fn check(test_path: &str, expect: Expect, counterexample: Option<&serde_json::Value>) {
    if expect.docs_checker() != synclab::sync::WORLD
        || std::env::var_os("SYNCLAB_AUDIT").is_some()
        || std::env::var("SYNCLAB_COUNTEREXAMPLE").as_deref() == Ok("0")
    {
        return;
    }
    let block = counterexample.and_then(|c| c["block"].as_str());
    let scaled = std::env::var("SYNCLAB_SHUTTLE_SCALE").is_ok_and(|s| s != "1")
        || std::env::var_os("SYNCLAB_LOOM_PREEMPTIONS").is_some();
    if scaled && std::env::var_os("SYNCLAB_ZOO_DOCS_DIR").is_none() {
        // Raised bounds search other executions; the docs show the default ones.
        return;
    }
    if let Some(dir) = std::env::var_os("SYNCLAB_ZOO_DOCS_DIR") {
        let dir = Path::new(&dir);
        let Some(block) = block else {
            panic!("{test_path}: the child printed no counterexample to write into the docs");
        };
        std::fs::create_dir_all(dir).expect("the docs folder can be created");
        let world = format!("{:?}", synclab::sync::WORLD).to_lowercase();
        std::fs::write(
            dir.join(format!("{}.md", test_path.replace("::", "--"))),
            format!("{test_path}\n{world}\n{block}"),
        )
        .expect("the block can be written");
        return;
    }
    let Some(path) = find_docs() else {
        return; // a crate outside synclab's workspace: no zoo docs to keep in step
    };
    let docs = std::fs::read_to_string(&path).unwrap_or_default();
    let regenerate = "regenerate with `cargo run -p synclab-cli -- explain --write-docs` \
                      (or `synclab explain --write-docs`)";
    let Some(block) = block else {
        panic!(
            "{test_path}: the child printed no counterexample, so {} cannot be checked; \
             see the child's output above",
            path.display()
        );
    };
    match block_in(&docs, test_path) {
        None => panic!(
            "{test_path}: {} shows no counterexample for this entry; {regenerate}",
            path.display()
        ),
        Some(shown) if shown != block => panic!(
            "{test_path}: the counterexample in {} drifted from the one the checker finds now; \
             {regenerate}.\n--- docs ---\n{shown}\n--- now ---\n{block}",
            path.display()
        ),
        Some(_) => {}
    }
}

/// Where an entry goes in the generated section: the seed's own bugs first, then by area.
fn rank(key: &str) -> (usize, usize, String) {
    let seed = ["seed_cpp", "seed_python", "polling"]
        .iter()
        .position(|s| key.contains(s))
        .unwrap_or(3);
    // The models binary's modules (`models::lock::…`), then the own-design example's `ring`.
    let file = key
        .strip_prefix("models::")
        .unwrap_or(key)
        .split("::")
        .next()
        .unwrap_or("");
    let area = [
        "futex_model",
        "lock",
        "queue",
        "deque",
        "array",
        "pool",
        "processes",
        "ring",
        "linearizability",
    ]
    .iter()
    .position(|f| *f == file)
    .unwrap_or(99);
    (seed, area, key.to_string())
}

/// Rewrites the generated section of `docs` from the blocks written into `dir` (each file:
/// the key, the checker, then the block).
pub fn splice(docs: &str, dir: &Path) -> Result<String, String> {
    let mut entries = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in listing.flatten() {
        let text = std::fs::read_to_string(entry.path()).map_err(|e| e.to_string())?;
        let mut parts = text.splitn(3, '\n');
        let (Some(key), Some(world), Some(block)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!(
                "{}: not a counterexample block",
                entry.path().display()
            ));
        };
        entries.push((
            rank(key),
            key.to_string(),
            world.to_string(),
            block.to_string(),
        ));
    }
    entries.sort();
    let mut section = format!(
        "{BEGIN} (written by `synclab explain --write-docs`; every zoo test checks its entry) -->\n\
         ## Counterexamples\n\n\
         What each entry's checker shows when it catches the bug, generated from the failing \
         execution itself (see [verification.md](verification.md#reading-a-failure)): a table \
         with one column per thread, in execution order, cut to the steps on the objects the \
         failure is about and the last steps of each thread, and the same steps as a sequence \
         diagram. Each row names the step (`object.operation(ordering) → value read`) and the \
         function it ran in. `synclab explain ENTRY` runs an entry again, prints the whole \
         thing and writes the diagram as SVG. How long each checker took to find and to shorten \
         its counterexample is in [verification.md](verification.md#expected-failures-the-zoo)'s \
         zoo table, beside the steps shown. The seed's own bugs come first.\n\n"
    );
    for (_, key, world, block) in &entries {
        section.push_str(&format!(
            "### `{key}` ({world})\n\n{}\n{block}{CLOSE_MARKER}\n\n",
            open_marker(key)
        ));
    }
    section.push_str(END);
    match (docs.find(BEGIN), docs.find(END)) {
        (Some(b), Some(e)) if e > b => {
            Ok(format!("{}{section}{}", &docs[..b], &docs[e + END.len()..]))
        }
        _ => Ok(format!("{}\n\n{section}\n", docs.trim_end())),
    }
}
