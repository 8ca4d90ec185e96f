//! Reading Rust source without a parser: code with comments and literals blanked, and the
//! functions it defines, each with a name that survives moves and a hash of its body.
//!
//! The mutation audits key a mutant by *the function it is in* (`Type::method`, or
//! `<Type as Trait>::method`), the n-th site of its kind in that function, and a hash of the
//! function's code: moving a function to another file or another line keeps its recorded
//! results; changing its code runs its mutants again.

/// Whether `b` can be part of an identifier.
pub fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `src` with comments, string literals and char literals blanked to spaces (byte offsets and
/// newlines kept), so tokens and braces are found in code only.
pub fn code_only(src: &str) -> Vec<u8> {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for c in &mut out[from..to.min(b.len())] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    };
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = src[i..].find('\n').map_or(b.len(), |p| i + p);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..].find("*/").map_or(b.len(), |p| i + 2 + p + 2);
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'r'
            && matches!(b.get(i + 1), Some(b'"' | b'#'))
            && (i == 0 || !is_ident(b[i - 1]))
        {
            // A raw string: r"…", r#"…"#.
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            if b.get(i + 1 + hashes) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close = format!("\"{}", "#".repeat(hashes));
            let body = i + 2 + hashes;
            let end = src[body..]
                .find(&close)
                .map_or(b.len(), |p| body + p + close.len());
            blank(&mut out, i, end);
            i = end;
        } else if b[i] == b'"' {
            let mut j = i + 1;
            while j < b.len() && b[j] != b'"' {
                j += if b[j] == b'\\' { 2 } else { 1 };
            }
            blank(&mut out, i, j + 1);
            i = j + 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{7f}') — not a lifetime ('a, 'static).
            let end = if b.get(i + 1) == Some(&b'\\') {
                src[i + 2..]
                    .find('\'')
                    .map(|p| i + 2 + p + 1)
                    .filter(|&e| e - i <= 12)
            } else {
                let ch = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                (b.get(i + 1 + ch) == Some(&b'\'')).then_some(i + 2 + ch)
            };
            match end {
                Some(end) => {
                    blank(&mut out, i, end);
                    i = end;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    out
}

/// A function's span in a file, its name qualified by the impl or trait it is in, and a hash
/// of its code (whitespace and comments ignored).
#[derive(Debug, Clone)]
pub struct Function {
    /// `free_fn`, `Type::method`, `<Type as Trait>::method` or `Trait::default_method`; a
    /// second function of the same name in one file (cfg alternatives) gets `#2`, `#3`, ….
    pub name: String,
    /// Byte offsets of the body's braces.
    pub start: usize,
    pub end: usize,
    /// FNV-1a of the body's code without whitespace, in hex.
    pub hash: String,
}

/// Every function with a body in `src`, innermost last where they nest.
pub fn functions(src: &str) -> Vec<Function> {
    let code = code_only(src);
    let text = String::from_utf8_lossy(&code).into_owned();
    // What an opening brace opens: an impl or trait (with its name), a fn, or anything else.
    enum Open {
        Scope(String),
        Fn(usize),
        Other,
    }
    let mut stack: Vec<Open> = Vec::new();
    // A pending item header: the scope name or fn index waiting for its `{`.
    let mut pending: Option<Open> = None;
    let mut out: Vec<Function> = Vec::new();
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        if is_ident(c) && (i == 0 || !is_ident(code[i - 1])) {
            let mut j = i;
            while j < code.len() && is_ident(code[j]) {
                j += 1;
            }
            match &text[i..j] {
                "impl" | "trait" if pending.is_none() => {
                    let brace = text[j..].find(['{', ';']).map_or(code.len(), |p| j + p);
                    if code.get(brace) == Some(&b'{') {
                        pending = Some(Open::Scope(scope_name(&text[i..brace])));
                    }
                }
                "fn" => {
                    let name_start = j + text[j..].len() - text[j..].trim_start().len();
                    let mut k = name_start;
                    while k < code.len() && is_ident(code[k]) {
                        k += 1;
                    }
                    let name = &text[name_start..k];
                    if !name.is_empty() {
                        let scope = stack.iter().rev().find_map(|o| match o {
                            Open::Scope(s) => Some(s.clone()),
                            _ => None,
                        });
                        let qualified = match scope {
                            Some(s) if s.starts_with('<') => format!("{s}::{name}"),
                            Some(s) => format!("{s}::{name}"),
                            None => name.to_string(),
                        };
                        out.push(Function {
                            name: qualified,
                            start: 0,
                            end: 0,
                            hash: String::new(),
                        });
                        pending = Some(Open::Fn(out.len() - 1));
                    }
                }
                _ => {}
            }
            i = j;
            continue;
        }
        match c {
            b'{' => stack.push(pending.take().unwrap_or(Open::Other)),
            b';' if matches!(pending, Some(Open::Fn(_))) => {
                // A declaration without a body (a trait's required method).
                out.pop();
                pending = None;
            }
            b'}' => {
                if let Some(Open::Fn(k)) = stack.pop() {
                    out[k].end = i + 1;
                }
            }
            _ => {}
        }
        if c == b'{' {
            if let Some(Open::Fn(k)) = stack.last() {
                if out[*k].start == 0 && out[*k].end == 0 {
                    out[*k].start = i;
                }
            }
        }
        i += 1;
    }
    out.retain(|f| f.end > f.start);
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for f in &mut out {
        let n = seen.entry(f.name.clone()).or_insert(0);
        *n += 1;
        if *n > 1 {
            f.name = format!("{}#{n}", f.name);
        }
        f.hash = fnv(code[f.start..f.end]
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace()));
    }
    out
}

/// The innermost function whose body holds `offset`.
pub fn enclosing(functions: &[Function], offset: usize) -> Option<&Function> {
    functions
        .iter()
        .filter(|f| f.start <= offset && offset < f.end)
        .min_by_key(|f| f.end - f.start)
}

/// `Type` for `impl<…> Type<…>`, `<Type as Trait>` for `impl<…> Trait<…> for Type<…>`,
/// `Trait` for `trait Trait`.
fn scope_name(header: &str) -> String {
    let header = header.split(" where ").next().unwrap_or(header);
    let header = header.trim_start_matches("unsafe").trim();
    let (is_trait, rest) = match header.strip_prefix("trait") {
        Some(rest) => (true, rest),
        None => (false, header.strip_prefix("impl").unwrap_or(header)),
    };
    let rest = skip_generics(rest.trim());
    if is_trait {
        // `trait Memory: Send + Sync` → `Memory`: the name, without generics or supertraits.
        let end = rest
            .find(|c: char| !is_ident(c as u8))
            .unwrap_or(rest.len());
        return rest[..end].to_string();
    }
    match split_for(rest) {
        Some((trait_part, ty)) => format!("<{} as {}>", base_name(ty), base_name(trait_part)),
        None => base_name(rest),
    }
}

/// `rest` without a leading `<…>` (balanced).
fn skip_generics(rest: &str) -> &str {
    if !rest.starts_with('<') {
        return rest;
    }
    let mut depth = 0;
    for (k, ch) in rest.char_indices() {
        match ch {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return rest[k + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    rest
}

/// Splits `Trait<…> for Type<…>` at the ` for ` outside angle brackets.
fn split_for(rest: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    let b = rest.as_bytes();
    for k in 0..b.len() {
        match b[k] {
            b'<' => depth += 1,
            b'>' => depth -= 1,
            b'f' if depth == 0
                && rest[k..].starts_with("for")
                && k > 0
                && b[k - 1].is_ascii_whitespace()
                && b.get(k + 3).is_some_and(|c| c.is_ascii_whitespace()) =>
            {
                return Some((&rest[..k], &rest[k + 3..]));
            }
            _ => {}
        }
    }
    None
}

/// The last path segment of a type, without generics or references: `crate::a::B<T>` → `B`.
fn base_name(ty: &str) -> String {
    let ty = ty
        .trim()
        .trim_start_matches('&')
        .trim_start_matches("mut ")
        .trim();
    let head = ty.split('<').next().unwrap_or(ty).trim();
    head.rsplit("::").next().unwrap_or(head).trim().to_string()
}

fn fnv(bytes: impl Iterator<Item = u8>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = r#"
impl<T, M: Memory> ArrayQueue<T, M> {
    pub fn push(&self) { let c = '{'; self.x.store(1, Release); }
    fn pop(&self) -> u8 { "}"; self.y.load(Acquire) }
}
unsafe impl<T> MpmcQueue<T> for ArrayQueue<T, Heap> where T: Send {
    fn try_push(&self) { inner(|| { a.swap(1, AcqRel) }) }
}
trait Waits: Send + 'static { fn wait(&self); fn twice(&self) { self.wait(); } }
fn free() { fn nested() {} }
#[cfg(a)] fn alt() {}
#[cfg(b)] fn alt() { x(); }
"#;

    #[test]
    fn names_functions_by_their_scope() {
        let names: Vec<String> = functions(SRC).into_iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "ArrayQueue::push",
                "ArrayQueue::pop",
                "<ArrayQueue as MpmcQueue>::try_push",
                "Waits::twice",
                "free",
                "nested",
                "alt",
                "alt#2",
            ]
        );
    }

    #[test]
    fn finds_the_innermost_function_and_hashes_code_only() {
        let fs = functions(SRC);
        let at = SRC.find("Release").unwrap();
        assert_eq!(enclosing(&fs, at).unwrap().name, "ArrayQueue::push");
        let at = SRC.find("fn nested() {}").unwrap() + 12;
        assert_eq!(enclosing(&fs, at).unwrap().name, "nested");
        // Comments and whitespace do not change a hash; code does.
        let a = functions("fn f() { x.load(Acquire); }");
        let b = functions("fn f() {\n    // why\n    x.load(Acquire);\n}");
        let c = functions("fn f() { x.load(Relaxed); }");
        assert_eq!(a[0].hash, b[0].hash);
        assert_ne!(a[0].hash, c[0].hash);
    }
}
