//! Mutant schemata: every mutant of an audit run compiled into one build, the one that acts
//! chosen when the models run.
//!
//! Building a mutant costs more than running the models that kill most of them: a release
//! build of the verification tests under loom takes a minute or two on this machine, and a
//! killed mutant's models fail within seconds. So, as in mutant-schema generation (Untch,
//! Offutt and Harrold, ISSTA 1993), the audit writes every site of the run as a choice made
//! at run time: an ordering becomes
//! `match crate::__mutant::active() { ID => weakened, …, _ => original }`, and a fence whose
//! removal is a mutant runs unless that mutant is the active one. `active()` reads
//! [`ENV`] once; unset (or 0), the build behaves as the unmutated tree. Each checker builds
//! the schema once, and each mutant then only runs its models, with [`ENV`] set to its id.
//!
//! The choice changes nothing a checker can see but the ordering itself: loom and Miri take
//! the ordering as a value at each access, and the extra read of `active()` is a plain
//! `OnceLock` outside every model's state.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use super::Mutant;
use crate::harness::{self, rel, Checker, Restore, Scratch};

/// The environment variable that names the active mutant.
pub const ENV: &str = "SYNCLAB_MUTANT";

/// What the schema appends to the library's `lib.rs` in the scratch tree.
const ACTIVE: &str = r#"
/// The ordering audit's active mutant (`SYNCLAB_MUTANT`; 0 or unset: none).
#[doc(hidden)]
pub mod __mutant {
    /// The active mutant's id, read once.
    pub fn active() -> u32 {
        static ACTIVE: ::std::sync::OnceLock<u32> = ::std::sync::OnceLock::new();
        *ACTIVE.get_or_init(|| {
            ::std::env::var("SYNCLAB_MUTANT")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
    }
}
"#;

const ORDERING: &str = "::core::sync::atomic::Ordering";

/// The schema written into a scratch tree: the id of every mutant, and the guards that put
/// the original files back when it is dropped.
pub struct Schema {
    ids: HashMap<String, u32>,
    _restore: Vec<Restore>,
}

impl Schema {
    /// The id the run gives `m` (0 if `m` is not in the schema).
    pub fn id(&self, m: &Mutant) -> u32 {
        self.ids.get(&super::key(m)).copied().unwrap_or(0)
    }
}

/// Writes the schema of `todo` into `scratch` and builds it under loom: `Ok(None)` (the tree
/// put back) if it does not compile, so the run falls back to a build per mutant.
pub fn install(root: &Path, scratch: &Scratch, todo: &[&Mutant]) -> Result<Option<Schema>, String> {
    let mut ids = HashMap::new();
    let mut per_file: BTreeMap<PathBuf, Vec<(u32, &Mutant)>> = BTreeMap::new();
    for (k, m) in todo.iter().enumerate() {
        let id = u32::try_from(k + 1).map_err(|_| "too many mutants for one schema")?;
        ids.insert(super::key(m), id);
        per_file
            .entry(PathBuf::from(rel(root, &m.site.file)))
            .or_default()
            .push((id, m));
    }
    let mut restore = Vec::new();
    let mut models = Vec::new();
    for (file, muts) in &per_file {
        let original = std::fs::read_to_string(scratch.tree.join(file))
            .map_err(|e| format!("{}: {e}", file.display()))?;
        restore.push(scratch.mutate(file, &write(&original, muts))?);
        models.extend_from_slice(harness::covering(&harness::rel_src(
            root,
            &muts[0].1.site.file,
        )));
    }
    let lib = Path::new("crates/synclab/src/lib.rs");
    let text = std::fs::read_to_string(scratch.tree.join(lib)).map_err(|e| e.to_string())?;
    restore.push(scratch.mutate(lib, &format!("{text}{ACTIVE}"))?);
    eprintln!(
        "audit: one build for {} mutants in {} files (mutant schemata)…",
        todo.len(),
        per_file.len()
    );
    if !harness::build(scratch, Checker::Loom, &models)? {
        eprintln!("audit: the schema does not compile: one build per mutant instead");
        return Ok(None);
    }
    Ok(Some(Schema {
        ids,
        _restore: restore,
    }))
}

/// `src` (one file) with each mutant of `muts` (id, mutant) written as a run-time choice.
pub fn write(src: &str, muts: &[(u32, &Mutant)]) -> String {
    let mut sites: BTreeMap<usize, Vec<(u32, &Mutant)>> = BTreeMap::new();
    for &(id, m) in muts {
        sites.entry(m.site.offset).or_default().push((id, m));
    }
    // Edits from the last site back, so every earlier offset stays valid.
    let mut out = src.to_string();
    for (offset, muts) in sites.into_iter().rev() {
        let token = &muts[0].1.site.token;
        let (start, end) = (path_start(src, offset), offset + token.len());
        let arms: String = muts
            .iter()
            .filter_map(|(id, m)| {
                m.replacement
                    .map(|to| format!("{id} => {ORDERING}::{to}, "))
            })
            .collect();
        let choice =
            format!("match crate::__mutant::active() {{ {arms}_ => {ORDERING}::{token} }}");
        match muts.iter().find(|(_, m)| m.replacement.is_none()) {
            None => out.replace_range(start..end, &choice),
            Some((removed, _)) => {
                let (call_start, call_end) = super::fence_call(src, offset);
                let call = format!("{}{choice}{}", &src[call_start..start], &src[end..call_end]);
                out.replace_range(
                    call_start..call_end,
                    &format!(
                        "{{ if crate::__mutant::active() == {removed} {{}} else {{ {call} }} }}"
                    ),
                );
            }
        }
    }
    out
}

/// Where the path that ends in the ordering token at `offset` starts (`Ordering::SeqCst`,
/// `atomic::Ordering::SeqCst`, or the bare token).
fn path_start(src: &str, offset: usize) -> usize {
    let b = src.as_bytes();
    let mut start = offset;
    while start >= 2 && &b[start - 2..start] == b"::" {
        let mut i = start - 2;
        while i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_') {
            i -= 1;
        }
        start = i;
    }
    start
}

#[cfg(test)]
mod tests {
    use super::super::{mutants, sites_in, Mutant};
    use super::write;

    #[test]
    fn every_site_becomes_a_choice_and_a_removed_fence_a_skip() {
        let dir = std::env::temp_dir().join(format!("synclab-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.rs");
        let src = "fn f(a: &AtomicU32) {\n    a.store(1, Ordering::Release);\n    atomic::fence(SeqCst);\n    let _ = a.load(Acquire);\n}\n";
        std::fs::write(&file, src).unwrap();
        let all: Vec<Mutant> = sites_in(&file).iter().flat_map(mutants).collect();
        let _ = std::fs::remove_dir_all(&dir);
        let labels: Vec<&str> = all.iter().map(|m| m.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "Release → Relaxed",
                "SeqCst → AcqRel",
                "fence(SeqCst) removed",
                "Acquire → Relaxed"
            ]
        );
        let ids: Vec<(u32, &Mutant)> = all.iter().zip(1..).map(|(m, id)| (id, m)).collect();
        let o = "::core::sync::atomic::Ordering";
        let pick = "match crate::__mutant::active()";
        assert_eq!(
            write(src, &ids),
            format!(
                "fn f(a: &AtomicU32) {{\n    a.store(1, {pick} {{ 1 => {o}::Relaxed, _ => {o}::Release }});\n    \
                 {{ if crate::__mutant::active() == 3 {{}} else {{ atomic::fence({pick} {{ 2 => {o}::AcqRel, _ => {o}::SeqCst }}) }} }};\n    \
                 let _ = a.load({pick} {{ 4 => {o}::Relaxed, _ => {o}::Acquire }});\n}}\n"
            )
        );
        // No mutant of a site: the site is left as it is.
        assert_eq!(write(src, &ids[..1]).matches("active()").count(), 1);
    }
}
