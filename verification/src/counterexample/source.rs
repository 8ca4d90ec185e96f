//! Reading the source lines a trace points at: the field an object was created for, and the
//! function a step ran in.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Source files, read once, found relative to the workspace of the running test (the paths
/// `#[track_caller]` records are relative to it for workspace crates, absolute otherwise).
#[derive(Debug, Default)]
pub struct Sources {
    roots: Vec<PathBuf>,
    files: HashMap<String, Option<Vec<String>>>,
}

impl Sources {
    /// Looks for files under the current directory and its ancestors (a test runs in its
    /// package's directory, a workspace member's paths start at the workspace root).
    pub fn new() -> Self {
        let mut roots = Vec::new();
        if let Ok(dir) = std::env::current_dir() {
            roots.extend(dir.ancestors().map(Path::to_path_buf));
        }
        if let Ok(dir) = std::env::var("CARGO_MANIFEST_DIR") {
            roots.extend(Path::new(&dir).ancestors().map(Path::to_path_buf));
        }
        Sources {
            roots,
            files: HashMap::new(),
        }
    }

    fn lines(&mut self, file: &str) -> Option<&Vec<String>> {
        if !self.files.contains_key(file) {
            let path = Path::new(file);
            let text = if path.is_absolute() {
                std::fs::read_to_string(path).ok()
            } else {
                self.roots
                    .iter()
                    .find_map(|root| std::fs::read_to_string(root.join(path)).ok())
            };
            self.files.insert(
                file.to_string(),
                text.map(|t| t.lines().map(str::to_string).collect()),
            );
        }
        self.files.get(file).and_then(Option::as_ref)
    }

    /// The field (or `let` binding) an object created at `at` (`file:line:column`) was made
    /// for: in `head: AtomicUsize::new(0)` or `let head = Arc::new(AtomicUsize::new(0))`, the
    /// constructor's column points at `AtomicUsize`, and what precedes it names the object.
    pub fn field_created_at(&mut self, at: &str) -> Option<String> {
        let (file, line, column) = split(at)?;
        let text = self.lines(file)?.get(line.checked_sub(1)?)?;
        let prefix: String = text.chars().take(column.saturating_sub(1)).collect();
        name_before(&prefix)
    }

    /// The function a step at `at` ran in: the nearest `fn name` at or above its line.
    pub fn function_at(&mut self, at: &str) -> Option<String> {
        let (file, line, _) = split(at)?;
        let lines = self.lines(file)?;
        let upto = line.min(lines.len());
        lines[..upto].iter().rev().find_map(|l| fn_name(l))
    }
}

/// `file:line:column` → its parts.
pub fn split(at: &str) -> Option<(&str, usize, usize)> {
    let mut parts = at.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    Some((parts.next()?, line, column))
}

fn fn_name(line: &str) -> Option<String> {
    let code = line.split("//").next()?;
    let at = code.find("fn ")?;
    if at > 0
        && code[..at]
            .chars()
            .last()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    {
        return None;
    }
    let name: String = code[at + 3..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

fn trailing_ident(s: &str) -> Option<&str> {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)?;
    let ident = &s[start..];
    (!ident.is_empty() && !ident.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .then_some(ident)
}

/// What names the expression that starts where `prefix` ends (see
/// [`Sources::field_created_at`]); wrapper calls (`Arc::new(`, `CachePadded::new(`) are
/// looked through.
fn name_before(prefix: &str) -> Option<String> {
    let mut s = prefix.trim_end();
    loop {
        if let Some(rest) = s.strip_suffix('(') {
            // A wrapper call: drop its path (`Arc::new`, `Box::new`, `CachePadded::new`).
            let rest = rest.trim_end();
            let keep = rest.trim_end_matches(|c: char| {
                c.is_alphanumeric() || c == '_' || c == ':' || c == '<' || c == '>'
            });
            s = keep.trim_end();
            continue;
        }
        if let Some(rest) = s.strip_suffix(':') {
            if rest.ends_with(':') {
                return None;
            }
            return trailing_ident(rest).map(str::to_string);
        }
        if let Some(rest) = s.strip_suffix('=') {
            if rest.ends_with(['=', '!', '<', '>']) {
                return None;
            }
            // `let name = …`, `let mut name: Type = …`, `name = …`.
            let lhs = rest.trim_end();
            let lhs = match lhs.rfind(':') {
                Some(i) if !lhs[..i].ends_with(':') && lhs.contains("let ") => &lhs[..i],
                _ => lhs,
            };
            return trailing_ident(lhs)
                .filter(|n| *n != "mut" && *n != "let")
                .map(str::to_string);
        }
        return None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fields_and_bindings() {
        assert_eq!(name_before("    head: ").as_deref(), Some("head"));
        assert_eq!(
            name_before("    tail: CachePadded::new(").as_deref(),
            Some("tail")
        );
        assert_eq!(
            name_before("    let word = Arc::new(").as_deref(),
            Some("word")
        );
        assert_eq!(name_before("    let mut w: Foo = ").as_deref(), Some("w"));
        assert_eq!(
            name_before("Slot { stamp: AtomicUsize::new(i), value: ").as_deref(),
            Some("value")
        );
        assert_eq!(name_before("(0..n).map(|_| "), None);
        assert_eq!(name_before("    foo::bar::"), None);
    }

    #[test]
    fn finds_the_enclosing_function() {
        assert_eq!(fn_name("    pub fn push(&self) {").as_deref(), Some("push"));
        assert_eq!(fn_name("    let f = 1; // fn not").as_deref(), None);
        assert_eq!(fn_name("fn_call();"), None);
    }

    #[test]
    fn splits_locations() {
        assert_eq!(split("a/b.rs:10:5"), Some(("a/b.rs", 10, 5)));
    }
}
