//! `cargo xtask links` — every link in the repository's Markdown resolves.
//!
//! Read: every `*.md` file of the repository (the README, `docs/` and its notes, the crates'
//! READMEs, the CHANGELOG), outside fenced code blocks, inline code and HTML comments. Checked:
//!
//! * a relative link (`[text](path)`, `![alt](path)`, a reference definition `[label]: path`,
//!   an HTML `href`/`src`) names a file or folder that exists;
//! * an anchor (`path.md#anchor`, `#anchor`) names a heading of that page, by GitHub's rule for
//!   heading ids (lower case; letters, digits, `-`, `_` and spaces kept, spaces as `-`; a
//!   repeated heading gets `-1`, `-2`, …), or an explicit `<a id="…">`;
//! * a reference link `[text][label]` has its definition;
//! * a link to synclab's rustdoc on docs.rs (`https://docs.rs/synclab/latest/synclab/…`)
//!   names an item that exists: by default against the source — the module's file declares or
//!   re-exports the name, and `crates/synclab/src` declares it with the kind the page name says
//!   (`struct.X.html` → `pub struct X`); with `--rustdoc DIR` (after `cargo doc`) against the
//!   generated pages themselves, anchors included.
//!
//! Other links to the web are not fetched. The check runs in `cargo test` (this file's tests,
//! over the repository), so a rename that breaks a docs link fails the build it is made in.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The prefix of a link to synclab's rustdoc on docs.rs.
const DOCS_RS: &str = "https://docs.rs/synclab/latest/synclab/";

/// `cargo xtask links [--rustdoc DIR]`.
pub fn run(root: &Path, args: &[String]) -> Result<(), String> {
    let mut rustdoc = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--rustdoc" => {
                rustdoc = Some(PathBuf::from(
                    it.next()
                        .ok_or("--rustdoc needs a directory (e.g. target/doc)")?,
                ))
            }
            other => return Err(format!("unknown links option {other:?}")),
        }
    }
    let report = check(root, rustdoc.as_deref());
    for broken in &report.broken {
        eprintln!("{broken}");
    }
    println!(
        "links: {} files, {} relative links ({} anchors), {} rustdoc links checked{}; {} broken",
        report.files,
        report.relative,
        report.anchors,
        report.rustdoc,
        if rustdoc.is_some() {
            " against the generated pages"
        } else {
            " against the source"
        },
        report.broken.len()
    );
    if report.broken.is_empty() {
        Ok(())
    } else {
        Err(format!("{} broken link(s)", report.broken.len()))
    }
}

/// What a check found.
#[derive(Debug, Default)]
pub struct Report {
    pub files: usize,
    pub relative: usize,
    pub anchors: usize,
    pub rustdoc: usize,
    /// `path:line: target — why`, one per broken link.
    pub broken: Vec<String>,
}

/// Checks every Markdown file under `root`; rustdoc links against `rustdoc` (a `cargo doc`
/// output directory) if given, else against the source.
pub fn check(root: &Path, rustdoc: Option<&Path>) -> Report {
    let mut files = Vec::new();
    markdown_files(root, &mut files);
    files.sort();
    let mut report = Report {
        files: files.len(),
        ..Report::default()
    };
    let mut anchors_of: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let page = Page::parse(&text);
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (line, label) in &page.undefined_references {
            report.broken.push(format!(
                "{shown}:{line}: [{label}] — a reference link with no definition"
            ));
        }
        for link in &page.links {
            let target = link.target.as_str();
            let at = format!("{shown}:{}: {target}", link.line);
            if let Some(item) = target.strip_prefix(DOCS_RS) {
                report.rustdoc += 1;
                let verdict = match rustdoc {
                    Some(dir) => rustdoc_page(dir, item),
                    None => rustdoc_item(root, item),
                };
                if let Err(why) = verdict {
                    report.broken.push(format!("{at} — {why}"));
                }
                continue;
            }
            if is_external(target) || is_intra_doc(target) {
                continue;
            }
            report.relative += 1;
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target, None),
            };
            let resolved = if path.is_empty() {
                file.clone()
            } else {
                let base = file.parent().unwrap_or(root);
                normalize(&base.join(percent_decode(path)))
            };
            if !resolved.exists() {
                report.broken.push(format!("{at} — no such file"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if resolved.extension().is_none_or(|e| e != "md") {
                continue; // a line of a source file, say: GitHub's, not ours to check
            }
            report.anchors += 1;
            let anchors = anchors_of.entry(resolved.clone()).or_insert_with(|| {
                std::fs::read_to_string(&resolved)
                    .map(|t| Page::parse(&t).anchors)
                    .unwrap_or_default()
            });
            if !anchors.contains(&percent_decode(anchor)) {
                report
                    .broken
                    .push(format!("{at} — no heading or anchor #{anchor} there"));
            }
        }
    }
    report
}

fn is_external(target: &str) -> bool {
    target.contains("://") || target.starts_with("mailto:") || target.starts_with("data:")
}

/// An intra-doc link of rustdoc (`mod@array`, `crate::sync`, `Mutex::lock`): the crates'
/// READMEs are also their rustdoc front pages, where rustdoc resolves these.
fn is_intra_doc(target: &str) -> bool {
    let path_like = |t: &str| {
        t.split("::")
            .all(|seg| !seg.is_empty() && seg.chars().all(|c| c.is_alphanumeric() || c == '_'))
    };
    match target.split_once('@') {
        Some((kind, path)) => kind.chars().all(|c| c.is_ascii_lowercase()) && path_like(path),
        None => target.contains("::") && path_like(target.trim_end_matches("()")),
    }
}

/// Every `*.md` under `dir`, skipping build output and hidden folders.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                markdown_files(&path, out);
            }
        } else if name.ends_with(".md") {
            out.push(path);
        }
    }
}

/// `a/b/../c` → `a/c`, without touching the file system (a link may go through a folder that
/// a symlink would resolve differently; GitHub resolves it as text).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// `%20` and friends, as a browser would decode them.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// One link of a page.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
}

/// What a Markdown page holds that the check needs.
#[derive(Debug, Default)]
struct Page {
    links: Vec<Link>,
    anchors: BTreeSet<String>,
    /// `[text][label]` uses whose label has no definition: (line, label).
    undefined_references: Vec<(usize, String)>,
}

impl Page {
    fn parse(text: &str) -> Page {
        let mut page = Page::default();
        let mut fence: Option<String> = None;
        let mut in_comment = false;
        let mut slugs: BTreeMap<String, usize> = BTreeMap::new();
        let mut definitions = BTreeSet::new();
        let mut uses = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line_no = i + 1;
            let trimmed = raw.trim_start();
            if let Some(open) = &fence {
                if trimmed.starts_with(open.as_str()) {
                    fence = None;
                }
                continue;
            }
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                let marker: String = trimmed
                    .chars()
                    .take_while(|c| *c == '`' || *c == '~')
                    .collect();
                fence = Some(marker);
                continue;
            }
            let line = strip_comments(raw, &mut in_comment);
            let line = strip_code_spans(&line);
            for id in html_attributes(&line, &["id", "name"]) {
                page.anchors.insert(id);
            }
            if let Some(heading) = atx_heading(&line) {
                let base = slug(heading);
                let n = slugs.entry(base.clone()).or_insert(0);
                let id = if *n == 0 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                };
                *n += 1;
                page.anchors.insert(id);
            }
            if let Some((label, target)) = reference_definition(&line) {
                definitions.insert(label.to_lowercase());
                page.links.push(Link {
                    line: line_no,
                    target,
                });
                continue;
            }
            for target in inline_links(&line) {
                page.links.push(Link {
                    line: line_no,
                    target,
                });
            }
            for target in html_attributes(&line, &["href", "src"]) {
                page.links.push(Link {
                    line: line_no,
                    target,
                });
            }
            for label in reference_uses(&line) {
                uses.push((line_no, label));
            }
        }
        page.undefined_references = uses
            .into_iter()
            .filter(|(_, label)| !definitions.contains(&label.to_lowercase()))
            .collect();
        page
    }
}

/// The line without `<!-- … -->` (which may span lines: `in_comment` carries the state).
fn strip_comments(line: &str, in_comment: &mut bool) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        if *in_comment {
            match rest.find("-->") {
                Some(end) => {
                    rest = &rest[end + 3..];
                    *in_comment = false;
                }
                None => return out,
            }
        } else {
            match rest.find("<!--") {
                Some(start) => {
                    out.push_str(&rest[..start]);
                    rest = &rest[start + 4..];
                    *in_comment = true;
                }
                None => {
                    out.push_str(rest);
                    return out;
                }
            }
        }
    }
}

/// The line with every code span (`` `…` ``, ``` ``…`` ```) blanked out: links inside code
/// are not links. A run of backticks with no closing run of the same length is literal.
fn strip_code_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == '`').count();
        let mut j = i + run;
        let mut close = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let r = chars[j..].iter().take_while(|c| **c == '`').count();
                if r == run {
                    close = Some(j);
                    break;
                }
                j += r;
            } else {
                j += 1;
            }
        }
        match close {
            Some(j) => {
                // Keep the span's text for headings (GitHub's ids include it), without links.
                let inner: String = chars[i + run..j].iter().collect();
                out.push_str(&inner.replace(['[', ']', '(', ')'], " "));
                i = j + run;
            }
            None => {
                for _ in 0..run {
                    out.push('`');
                }
                i += run;
            }
        }
    }
    out
}

/// The text of an ATX heading (`## Text ##`), if the line is one.
fn atx_heading(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let hashes = trimmed.chars().take_while(|c| *c == '#').count();
    if !(1..=6).contains(&hashes) {
        return None;
    }
    let rest = &trimmed[hashes..];
    if !rest.is_empty() && !rest.starts_with(' ') && !rest.starts_with('\t') {
        return None;
    }
    Some(rest.trim().trim_end_matches('#').trim_end())
}

/// GitHub's id for a heading with this text.
fn slug(heading: &str) -> String {
    // What renders: link text without its target, no emphasis markers, no HTML tags.
    let mut text = String::new();
    let mut rest = heading;
    while let Some(open) = rest.find('[') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find("](") {
            Some(close) => {
                text.push_str(&after[..close]);
                let tail = &after[close + 2..];
                rest = tail.find(')').map_or("", |end| &tail[end + 1..]);
            }
            None => {
                text.push('[');
                rest = after;
            }
        }
    }
    text.push_str(rest);
    let mut no_tags = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => no_tags.push(c),
            _ => {}
        }
    }
    no_tags
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// `[label]: target` at the start of a line.
fn reference_definition(line: &str) -> Option<(String, String)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let rest = trimmed.strip_prefix('[')?;
    let close = rest.find("]:")?;
    let label = &rest[..close];
    if label.is_empty() || label.contains('[') || label.contains(']') {
        return None;
    }
    let target = rest[close + 2..].split_whitespace().next()?;
    let target = target.trim_start_matches('<').trim_end_matches('>');
    Some((label.to_string(), target.to_string()))
}

/// The targets of `[text](target "title")` and `![alt](target)` on a line.
fn inline_links(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let inside = after[..end].trim();
        let target = if let Some(angled) = inside.strip_prefix('<') {
            angled.split('>').next().unwrap_or("")
        } else {
            inside.split_whitespace().next().unwrap_or("")
        };
        if !target.is_empty() {
            out.push(target.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The labels of full reference links, `[text][label]` (`[text][]` uses the text).
fn reference_uses(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i + 1 < chars.len() {
        if chars[i] == ']' && chars[i + 1] == '[' {
            let start = i + 2;
            if let Some(len) = chars[start..].iter().position(|c| *c == ']') {
                let label: String = chars[start..start + len].iter().collect();
                let label = if label.is_empty() {
                    // `[text][]`: the label is the text before.
                    let open = chars[..i].iter().rposition(|c| *c == '[');
                    open.map(|o| chars[o + 1..i].iter().collect())
                        .unwrap_or_default()
                } else {
                    label
                };
                if !label.is_empty() && !label.contains('(') {
                    out.push(label);
                }
                i = start + len;
                continue;
            }
        }
        i += 1;
    }
    out
}

/// The values of the named attributes (`href="…"`, `id='…'`) of HTML tags on a line.
fn html_attributes(line: &str, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('<') {
        let tag = &rest[open + 1..];
        let end = tag.find('>').unwrap_or(tag.len());
        let inside = &tag[..end];
        if inside.starts_with(|c: char| c.is_ascii_alphabetic()) {
            for name in names {
                let mut search = inside;
                while let Some(at) = search.find(name) {
                    let before_ok = at == 0 || search[..at].ends_with(|c: char| c.is_whitespace());
                    let after = search[at + name.len()..].trim_start();
                    if before_ok {
                        if let Some(value) = after.strip_prefix('=') {
                            let value = value.trim_start();
                            if let Some(q) =
                                value.chars().next().filter(|q| *q == '"' || *q == '\'')
                            {
                                if let Some(len) = value[1..].find(q) {
                                    out.push(value[1..1 + len].to_string());
                                }
                            }
                        }
                    }
                    search = &search[at + name.len()..];
                }
            }
        }
        rest = &tag[end.min(tag.len())..];
    }
    out
}

/// A docs.rs page of synclab's (the part after `…/synclab/`), checked against `cargo doc`'s
/// output in `dir`.
fn rustdoc_page(dir: &Path, item: &str) -> Result<(), String> {
    let (path, anchor) = match item.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (item, None),
    };
    let page = dir
        .join("synclab")
        .join(if path.is_empty() { "index.html" } else { path });
    let html = std::fs::read_to_string(&page)
        .map_err(|_| format!("no page {} in the generated rustdoc", page.display()))?;
    match anchor {
        Some(a) if !html.contains(&format!("id=\"{a}\"")) => {
            Err(format!("no #{a} on that rustdoc page"))
        }
        _ => Ok(()),
    }
}

/// A docs.rs page of synclab's, checked against the source: the module exists, and a named
/// item is declared with that kind in the module's folder and declared or re-exported by the
/// module's own file.
fn rustdoc_item(root: &Path, item: &str) -> Result<(), String> {
    let path = item.split('#').next().unwrap_or("");
    let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let page = segments.pop().unwrap_or("index.html");
    let src = root.join("crates/synclab/src");
    let (module_file, module_dir) = module_source(&src, &segments).ok_or_else(|| {
        format!(
            "no public module `{}` in crates/synclab/src",
            segments.join("::")
        )
    })?;
    if page == "index.html" {
        return Ok(());
    }
    let (kind, name) = page
        .strip_suffix(".html")
        .and_then(|p| p.split_once('.'))
        .ok_or_else(|| format!("not a rustdoc item page: {page}"))?;
    let keywords: &[&str] = match kind {
        "struct" => &["struct"],
        "enum" => &["enum"],
        "trait" => &["trait", "unsafe trait"],
        "type" => &["type"],
        "fn" => &["fn", "const fn", "unsafe fn"],
        "constant" => &["const"],
        "static" => &["static"],
        "macro" => return Ok(()),
        other => return Err(format!("unknown rustdoc page kind `{other}`")),
    };
    let mut files = Vec::new();
    rust_files(&module_dir, &mut files);
    if !files.contains(&module_file) {
        files.push(module_file.clone());
    }
    let declared = files.iter().any(|f| {
        std::fs::read_to_string(f).is_ok_and(|text| {
            text.lines().any(|l| {
                let l = l.trim_start();
                keywords.iter().any(|k| {
                    l.strip_prefix("pub ")
                        .and_then(|r| r.strip_prefix(k))
                        .and_then(|r| r.strip_prefix(' '))
                        .is_some_and(|r| starts_with_word(r, name))
                })
            })
        })
    });
    if !declared {
        return Err(format!(
            "no `pub {} {name}` in crates/synclab/src/{}",
            keywords[0],
            segments.join("/")
        ));
    }
    let module_text = std::fs::read_to_string(&module_file).unwrap_or_default();
    if !(declares_or_reexports(&module_text, name)) {
        return Err(format!(
            "`{name}` is neither declared nor re-exported by {}",
            module_file
                .strip_prefix(root)
                .unwrap_or(&module_file)
                .display()
        ));
    }
    Ok(())
}

/// The file of public module `segments` (`a/b` → `a/b.rs` or `a/b/mod.rs`, or an inline
/// `pub mod b { … }` in `a`'s file) and the folder its submodules live in; the crate root for
/// no segments. A module its parent declares without `pub` has no rustdoc page: `None`.
fn module_source(src: &Path, segments: &[&str]) -> Option<(PathBuf, PathBuf)> {
    let mut file = src.join("lib.rs");
    let mut dir = src.to_path_buf();
    for segment in segments {
        let parent = std::fs::read_to_string(&file).ok()?;
        let declared = parent.lines().map(str::trim_start).find_map(|l| {
            let rest = l.strip_prefix("pub mod ")?;
            starts_with_word(rest, segment)
                .then(|| rest[segment.len()..].trim_start().starts_with('{'))
        })?;
        if declared {
            // Inline: its items are in the parent's file.
            dir = dir.join(segment);
            continue;
        }
        dir = dir.join(segment);
        let as_file = dir.with_extension("rs");
        file = if dir.join("mod.rs").is_file() {
            dir.join("mod.rs")
        } else if as_file.is_file() {
            as_file
        } else {
            return None;
        };
    }
    Some((file, dir))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

fn starts_with_word(text: &str, word: &str) -> bool {
    text.strip_prefix(word)
        .is_some_and(|r| !r.starts_with(|c: char| c.is_alphanumeric() || c == '_'))
}

/// Whether a module's source declares `name` publicly or names it in a `pub use`.
fn declares_or_reexports(text: &str, name: &str) -> bool {
    let mut in_use = false;
    for line in text.lines() {
        let l = line.trim_start();
        if l.starts_with("//") {
            continue;
        }
        if l.starts_with("pub use ") {
            in_use = true;
        }
        if in_use {
            if contains_word(l, name) {
                return true;
            }
            if l.contains(';') {
                in_use = false;
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix("pub ") {
            let rest = rest
                .trim_start_matches("unsafe ")
                .trim_start_matches("const ");
            if let Some((_, after)) = rest.split_once(' ') {
                if starts_with_word(after.trim_start(), name) {
                    return true;
                }
            }
        }
    }
    false
}

fn contains_word(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        crate::workspace_root()
    }

    /// The repository's own docs: every link resolves.
    #[test]
    fn repository_links_resolve() {
        let report = check(&root(), None);
        assert!(
            report.broken.is_empty(),
            "{} broken link(s):\n{}",
            report.broken.len(),
            report.broken.join("\n")
        );
        // A parser that found nothing would pass too: the docs hold hundreds of links.
        assert!(report.files >= 10, "{report:?}");
        assert!(report.relative >= 100, "{report:?}");
        assert!(report.anchors >= 40, "{report:?}");
        assert!(report.rustdoc >= 20, "{report:?}");
    }

    /// `docs/README.md` is the index of `docs/`: a page it does not link is a page nobody
    /// finds.
    #[test]
    fn docs_index_lists_every_page() {
        let docs = root().join("docs");
        let index = std::fs::read_to_string(docs.join("README.md")).unwrap();
        let linked: BTreeSet<PathBuf> = Page::parse(&index)
            .links
            .iter()
            .map(|l| normalize(&docs.join(l.target.split('#').next().unwrap_or(""))))
            .collect();
        let mut pages = Vec::new();
        markdown_files(&docs, &mut pages);
        let missing: Vec<String> = pages
            .iter()
            .filter(|p| {
                p.file_name().is_some_and(|n| n != "README.md") || p.parent() != Some(&*docs)
            })
            .filter(|p| !linked.contains(*p))
            .map(|p| p.strip_prefix(&docs).unwrap_or(p).display().to_string())
            .collect();
        assert!(
            missing.is_empty(),
            "docs/README.md does not list: {missing:?} (add a line: the page and the question it answers)"
        );
    }

    #[test]
    fn github_heading_ids() {
        assert_eq!(slug("How to read the tables"), "how-to-read-the-tables");
        assert_eq!(
            slug("The duplex ring (`verification/tests/queue.rs`)"),
            "the-duplex-ring-verificationtestsqueuers"
        );
        assert_eq!(
            slug("Uncontended lock + increment + unlock (`locks/uncontended`)"),
            "uncontended-lock--increment--unlock-locksuncontended"
        );
        assert_eq!(slug("~200 µs tasks, then wait"), "200-µs-tasks-then-wait");
        assert_eq!(slug("A [linked](x.md) *word*"), "a-linked-word");
        assert_eq!(slug("fetch_add's cost"), "fetch_adds-cost");
    }

    #[test]
    fn links_are_found_where_markdown_has_them() {
        let page = Page::parse(
            "# Title\n\
             [a](a.md) and ![b](img/b.svg \"title\") and `[not](code.md)`\n\
             <!-- [hidden](x.md) -->\n\
             ```\n[in a fence](fence.md)\n```\n\
             [ref]: target.md#title\n\
             <a id=\"here\"></a><img src=\"pic.svg\">\n\
             [text][ref] [broken][nowhere]\n\
             ## Title\n",
        );
        let targets: Vec<&str> = page.links.iter().map(|l| l.target.as_str()).collect();
        assert_eq!(targets, ["a.md", "img/b.svg", "target.md#title", "pic.svg"]);
        assert!(page.anchors.contains("title"));
        assert!(
            page.anchors.contains("title-1"),
            "a repeated heading gets -1"
        );
        assert!(page.anchors.contains("here"));
        assert_eq!(page.undefined_references, [(9, "nowhere".to_string())]);
    }

    /// The check is seen failing: a missing file, a missing anchor, a reference with no
    /// definition and a rustdoc item that does not exist are each reported.
    #[test]
    fn broken_links_are_reported() {
        let dir = std::env::temp_dir().join(format!("synclab-links-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("docs")).unwrap();
        std::fs::create_dir_all(dir.join("crates/synclab/src/lock")).unwrap();
        std::fs::write(
            dir.join("crates/synclab/src/lib.rs"),
            "pub mod lock;\nmod hidden;\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("crates/synclab/src/hidden.rs"),
            "pub struct Inside;\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("crates/synclab/src/lock/mod.rs"),
            "mod spin;\npub use spin::{\n    RawSpinLock,\n};\npub type Alias = u8;\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("crates/synclab/src/lock/spin.rs"),
            "pub struct RawSpinLock;\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("docs/page.md"),
            "# Page\n\n## A section\n\n\
             [ok](#a-section) [ok](page.md#page) [ok](../docs/) [missing](nope.md)\n\
             [bad anchor](#no-such-section) [undefined][label]\n\
             [ok]: https://docs.rs/synclab/latest/synclab/lock/struct.RawSpinLock.html\n\
             [ok2]: https://docs.rs/synclab/latest/synclab/lock/type.Alias.html\n\
             [ok3]: https://docs.rs/synclab/latest/synclab/lock/index.html\n\
             [kind]: https://docs.rs/synclab/latest/synclab/lock/type.RawSpinLock.html\n\
             [gone]: https://docs.rs/synclab/latest/synclab/lock/struct.Gone.html\n\
             [module]: https://docs.rs/synclab/latest/synclab/queue/index.html\n\
             [private]: https://docs.rs/synclab/latest/synclab/hidden/struct.Inside.html\n\
             [rustdoc's own](mod@lock) [also](crate::lock::RawSpinLock)\n",
        )
        .unwrap();
        let report = check(&dir, None);
        let _ = std::fs::remove_dir_all(&dir);
        let broken = report.broken.join("\n");
        assert_eq!(report.broken.len(), 7, "{broken}");
        for needle in [
            "nope.md — no such file",
            "#no-such-section — no heading",
            "[label] — a reference link with no definition",
            "type.RawSpinLock.html — no `pub type RawSpinLock`",
            "struct.Gone.html — no `pub struct Gone`",
            "queue/index.html — no public module `queue`",
            "hidden/struct.Inside.html — no public module `hidden`",
        ] {
            assert!(broken.contains(needle), "missing {needle:?} in:\n{broken}");
        }
    }
}
