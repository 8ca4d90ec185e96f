//! `cargo xtask surface` — how big the library's public surface is, and whether two public
//! types share a name.
//!
//! The count is the plain reading of the source, line by line: every line of
//! `crates/synclab/src` that declares a `pub` item (`pub struct|enum|trait|type|fn|const|
//! static|mod|use`, `unsafe` and `const fn` forms included; `pub(crate)` and `pub(super)` are
//! not public). It over-counts on purpose — an item behind a cfg of one world counts once per
//! world file, a `pub fn` in a private type counts — so it can only overstate what users see.
//!
//! `--check` fails when the total is over [`CEILING`] or a public type name is declared twice
//! in the files the plain build compiles (the checker worlds' files, whose names mirror the
//! plain world's on purpose, are left out of that check). It runs in `cargo xtask test`.
//! [`BUDGET`] is the target the count is to reach; until it does, `CEILING` is the count
//! reached so far — lowered with every cut, never raised — so the surface cannot grow back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The target: half of the 525 public items the library had when the count was introduced.
pub const BUDGET: usize = 262;

/// The most public items the library may declare today: the count it has reached on its way
/// to [`BUDGET`]. Lower it with every cut; a new public item must replace one.
pub const CEILING: usize = 330;

const KINDS: [&str; 12] = [
    "struct",
    "enum",
    "trait",
    "type",
    "fn",
    "const",
    "static",
    "mod",
    "use",
    "unsafe fn",
    "unsafe trait",
    "const fn",
];

/// The public item a line declares, if it declares one: (kind, name).
fn declares(line: &str) -> Option<(&'static str, String)> {
    let rest = line.trim_start().strip_prefix("pub ")?;
    // Longest kinds first, so `unsafe fn` is not read as nothing and `const fn` not as `const`.
    let mut kinds = KINDS;
    kinds.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let kind = kinds.into_iter().find(|k| {
        rest.strip_prefix(k)
            .is_some_and(|after| after.starts_with(' '))
    })?;
    let after = rest[kind.len()..].trim_start();
    let name: String = after
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    Some((kind, name))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// A file compiled only under a model checker (its names mirror the plain world's):
/// the worlds' own files and `sync/traced.rs`, the recording wrappers over them.
fn checker_only(rel: &str) -> bool {
    rel.contains("loom") || rel.contains("shuttle") || rel.ends_with("sync/traced.rs")
}

/// The surface report, and whether it is within budget with no duplicate type names.
pub fn report(root: &Path) -> (String, bool) {
    let src = root.join("crates/synclab/src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    let mut per_module: BTreeMap<String, usize> = BTreeMap::new();
    let mut types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut total = 0;
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap_or(file)
            .display()
            .to_string();
        let module = rel
            .split('/')
            .next()
            .unwrap_or(&rel)
            .trim_end_matches(".rs")
            .to_string();
        let text = std::fs::read_to_string(file).unwrap_or_default();
        for (n, line) in text.lines().enumerate() {
            let Some((kind, name)) = declares(line) else {
                continue;
            };
            total += 1;
            *per_module.entry(module.clone()).or_default() += 1;
            let is_type = matches!(kind, "struct" | "enum" | "trait" | "type" | "unsafe trait");
            if is_type && !checker_only(&rel) {
                types
                    .entry(name)
                    .or_default()
                    .push(format!("{rel}:{}", n + 1));
            }
        }
    }
    let mut out = String::new();
    out.push_str("public items declared in crates/synclab/src, by module:\n");
    for (m, n) in &per_module {
        out.push_str(&format!("  {m:<10} {n:>4}\n"));
    }
    out.push_str(&format!(
        "  {:<10} {total:>4}  (ceiling {CEILING}; target {BUDGET}: {})\n",
        "total",
        if total <= BUDGET {
            "met".to_string()
        } else {
            format!("{} over", total - BUDGET)
        }
    ));
    let dups: Vec<_> = types.iter().filter(|(_, at)| at.len() > 1).collect();
    if dups.is_empty() {
        out.push_str("no two public types share a name\n");
    } else {
        out.push_str("public types that share a name:\n");
        for (name, at) in &dups {
            out.push_str(&format!("  {name}: {}\n", at.join(", ")));
        }
    }
    (out, total <= CEILING && dups.is_empty())
}

/// `cargo xtask surface [--check]`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let check = match args {
        [] => false,
        [a] if a == "--check" => true,
        _ => {
            return Err(format!(
                "usage: cargo xtask surface [--check] (got {args:?})"
            ))
        }
    };
    let (text, ok) = report(root);
    print!("{text}");
    if check && !ok {
        return Err(format!(
            "the public surface is over its ceiling of {CEILING} items or has duplicate type names"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::declares;

    #[test]
    fn reads_the_kind_and_name_of_a_public_declaration() {
        assert_eq!(
            declares("    pub fn push(&self)"),
            Some(("fn", "push".into()))
        );
        assert_eq!(
            declares("pub unsafe fn f()"),
            Some(("unsafe fn", "f".into()))
        );
        assert_eq!(
            declares("pub const fn new()"),
            Some(("const fn", "new".into()))
        );
        assert_eq!(
            declares("pub const MAX: usize = 1;"),
            Some(("const", "MAX".into()))
        );
        assert_eq!(declares("pub struct A<T>"), Some(("struct", "A".into())));
        assert_eq!(declares("pub use a::{b, c};"), Some(("use", "a".into())));
        assert_eq!(declares("pub(crate) fn hidden()"), None);
        assert_eq!(declares("// pub fn in a comment"), None);
        assert_eq!(declares("pub fnord"), None);
    }
}
