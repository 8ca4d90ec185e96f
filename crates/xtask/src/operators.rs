//! The semantic mutation operators: each a small function from a source file (and its code
//! with comments and literals blanked, `source::code_only`) to the mutations it makes there.
//!
//! | operator | finds | mutates to |
//! |---|---|---|
//! | `wake-count` | a call of `wake_all`, `wake_one`, `notify_all`, `notify_one` | the other count |
//! | `wake-removed` | a call of `wake`, `wake_*`, `notify_*` (a definition excluded) | `()` |
//! | `recheck-if` | a `while` or `loop` whose own body waits or parks (`wait`, `wait_*`, `park*`) | `while` → `if`; where the body also breaks or continues (an `if` would not compile, or would leave another loop), or for a `loop` that already breaks without a value, a `break;` ending the body: either way one pass, no re-check after waking |
//! | `publish-early` | a `store`/`swap` ending a statement, with a Release, AcqRel or SeqCst ordering, or Relaxed after a release fence | moved above the nearest earlier statement of its block that touches a cell or slot's value (`with`, `with_mut`, `read`, `write`, or a Relaxed `store`: the data a flag publishes) |
//! | `compare-bound` | `<`, `<=`, `>`, `>=` with a counter or position on either side; the last one out, `x.fetch_sub(1, …) == 1` | `<=`, `<`, `>=`, `>`; `== 0` |
//! | `plus-one` | `x + 1` or `x.wrapping_add(1)` with a counter or position in `x` | `x` |
//! | `cas-split` | `a.compare_exchange(cur, new, s, f)` (and `_weak`) | `a.load`, compare, `a.store`: the same `Result`, not atomic |
//! | `rmw-split` | `a.fetch_add(v, o)`, `fetch_sub`, `fetch_or`, `fetch_and`, `swap` (the last argument an ordering) | `a.load`, then `a.store` of the combined value: the same previous value returned, not atomic |
//! | `early-exit` | a call that waits or parks | `return;` (a unit function), `break;` (in a loop that can break), or `return Default::default();` (a function returning `bool`, an integer or an `Option`), before the statement that waits |
//!
//! **Counters and positions** (the identifier rule of `compare-bound` and `plus-one`): an
//! identifier one of whose `_`-separated words is a position in a ring or log (`index`,
//! `idx`, `pos`, `position`, `head`, `tail`, `top`, `bottom`, `lap`, `stamp`, `seq`,
//! `sent`, `received`, `lane`, or the abbreviations `hix`, `tix`) or a count (`len`, `count`,
//! `capacity`, `cap`, `pending`, `waiters`, `signals`, `searching`, `notified`, `asleep`),
//! in any case (`ONE_LAP` counts). Comparisons of times (`now >= deadline`) and of tuning
//! rounds (`stalled >= STALL_ROUNDS`) are not mutated: they are not protocol state, and a
//! mutant there changes how long something spins, which no model can tell from correct.
//!
//! Nothing inside a macro call (`debug_assert!(…)`: the models run in release, where it is
//! compiled out) or outside a function body (constants) is mutated.
//!
//! **Why a text generator, not syn or cargo-mutants.** cargo-mutants mutates generic operators
//! and return values; it has no notion of a wake, a re-check loop or a publication, and it
//! offers no way to add operators. syn would give a full syntax tree, but each operator here
//! needs only a token or a balanced span (a call, its receiver, a statement of a block), and a
//! mutant is a text edit of the original file: with syn the edits would still be made as
//! text at the spans syn reports (printing a tree back loses the file's layout and comments),
//! and xtask would take a parser dependency for what `source.rs` already does for the
//! ordering audit. The cost is precision: a shape the scanner does not understand yields a
//! mutant that does not compile, which the audit records as `invalid` and leaves out of the
//! rate, or no mutant at all; the unit tests below pin each operator on the shapes the
//! library uses.

use crate::source::is_ident;

/// The operators' names, in the order they are listed and run.
pub const OPERATORS: [&str; 9] = [
    "wake-count",
    "wake-removed",
    "recheck-if",
    "publish-early",
    "compare-bound",
    "plus-one",
    "cas-split",
    "rmw-split",
    "early-exit",
];

/// One mutation of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Mutation {
    pub operator: &'static str,
    /// What changes, in words that do not depend on where the code is (`notify_all →
    /// notify_one`): with the function and the rank, the mutant's identity.
    pub detail: String,
    /// The byte offset that places the mutant (its function, rank and line).
    pub at: usize,
    /// Non-overlapping replacements of the original text: (start, end, new text).
    pub edits: Vec<(usize, usize, String)>,
}

impl Mutation {
    /// `operator: detail`, the mutation column of the results.
    pub fn label(&self) -> String {
        format!("{}: {}", self.operator, self.detail)
    }

    /// The mutated file.
    pub fn apply(&self, src: &str) -> String {
        let mut edits = self.edits.clone();
        edits.sort_by_key(|e| std::cmp::Reverse(e.0));
        let mut out = src.to_string();
        for (start, end, text) in edits {
            out.replace_range(start..end, &text);
        }
        out
    }
}

/// Every mutation `operator` makes in `src`; `code` is `source::code_only(src)`.
pub fn mutations(operator: &str, src: &str, code: &[u8]) -> Vec<Mutation> {
    let c = Code { src, code };
    match operator {
        "wake-count" => wake_count(&c),
        "wake-removed" => wake_removed(&c),
        "recheck-if" => recheck_if(&c),
        "publish-early" => publish_early(&c),
        "compare-bound" => compare_bound(&c),
        "plus-one" => plus_one(&c),
        "cas-split" => cas_split(&c),
        "rmw-split" => rmw_split(&c),
        "early-exit" => early_exit(&c),
        _ => Vec::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The operators.

fn wake_count(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (start, end) in c.calls() {
        let to = match c.text(start, end) {
            "wake_all" => "wake_one",
            "wake_one" => "wake_all",
            "notify_all" => "notify_one",
            "notify_one" => "notify_all",
            _ => continue,
        };
        out.push(Mutation {
            operator: "wake-count",
            detail: format!("{} → {to}", c.text(start, end)),
            at: start,
            edits: vec![(start, end, to.to_string())],
        });
    }
    out
}

fn is_wake(name: &str) -> bool {
    name == "wake" || name.starts_with("wake_") || name.starts_with("notify_")
}

fn wake_removed(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (start, end) in c.calls() {
        let name = c.text(start, end);
        if !is_wake(name) {
            continue;
        }
        let Some(close) = c.next_non_ws(end).and_then(|open| c.matching(open)) else {
            continue;
        };
        let from = c.receiver_start(start);
        out.push(Mutation {
            operator: "wake-removed",
            detail: format!("{name}(…) removed"),
            at: start,
            edits: vec![(from, close + 1, "()".to_string())],
        });
    }
    out
}

fn is_wait(name: &str) -> bool {
    name == "wait" || name.starts_with("wait_") || name == "park" || name.starts_with("park_")
}

fn recheck_if(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (start, end) in c.words() {
        let keyword = c.text(start, end);
        if keyword != "while" && keyword != "loop" {
            continue;
        }
        let Some(open) = c.body_open(end) else {
            continue;
        };
        let Some(close) = c.matching(open) else {
            continue;
        };
        // A loop that waits itself (a wait in a nested loop is that loop's).
        let waits = c
            .calls_in(open, close)
            .any(|(s, e)| is_wait(c.text(s, e)) && c.innermost_loop(s) == Some(open));
        if !waits {
            continue;
        }
        let labelled = c.prev_non_ws(start).is_some_and(|p| c.code[p] == b':');
        if keyword == "while" && !labelled && !c.exits_own_loop(open, close) {
            out.push(Mutation {
                operator: "recheck-if",
                detail: "while → if".to_string(),
                at: start,
                edits: vec![(start, end, "if".to_string())],
            });
            continue;
        }
        // A loop that also leaves or restarts from inside, or a `loop`: the same bug as a
        // `break` at the end of the body — one pass, no re-check after the wait. A `loop` must
        // already break without a value, or the `break` changes its type.
        if keyword == "loop" && !c.has_plain_break(open) {
            continue;
        }
        let Some(last) = c.prev_non_ws(close).filter(|&p| p > open) else {
            continue;
        };
        let separator = if matches!(c.code[last], b';' | b'}') {
            ""
        } else {
            ";"
        };
        let indent = c.indent_at(c.next_non_ws(open + 1).unwrap_or(close));
        out.push(Mutation {
            operator: "recheck-if",
            detail: format!("`break;` ending the `{keyword}` body"),
            at: start,
            edits: vec![(last + 1, last + 1, format!("{separator}\n{indent}break;"))],
        });
    }
    out
}

/// The ordering named by the last argument of the call whose `(` is at `open`, with the
/// number of arguments.
fn ordering_arg<'a>(c: &Code<'a>, open: usize) -> (&'a str, usize) {
    let args = c.args(open);
    let ordering = args.last().map_or("", |&(a, b)| last_segment(c.text(a, b)));
    (ordering, args.len())
}

fn publish_early(c: &Code) -> Vec<Mutation> {
    let releasing = |o: &str| matches!(o, "Release" | "AcqRel" | "SeqCst");
    // A statement that writes or reads a cell or slot's value: the cell accessors, or a plain
    // (Relaxed) atomic store of the data a flag publishes.
    let touches_value = |&(s, e): &(usize, usize)| {
        c.calls_in(s, e).any(|(a, b)| match c.text(a, b) {
            "with" | "with_mut" | "read" | "write" => true,
            "store" => c
                .next_non_ws(b)
                .is_some_and(|open| ordering_arg(c, open) == ("Relaxed", 2)),
            _ => false,
        })
    };
    let is_release_fence = |&(s, e): &(usize, usize)| {
        c.calls_in(s, e).any(|(a, b)| {
            c.text(a, b) == "fence"
                && c.next_non_ws(b)
                    .is_some_and(|open| releasing(ordering_arg(c, open).0))
        })
    };
    let mut out = Vec::new();
    for (start, end) in c.calls() {
        let name = c.text(start, end);
        if name != "store" && name != "swap" {
            continue;
        }
        let Some(open) = c.next_non_ws(end) else {
            continue;
        };
        let (ordering, arity) = ordering_arg(c, open);
        if arity != 2 {
            continue;
        }
        let Some(block) = c.enclosing_brace(start) else {
            continue;
        };
        let statements = c.statements(block);
        let Some(k) = statements
            .iter()
            .position(|&(s, e)| s <= start && start < e)
        else {
            continue;
        };
        let (flag_start, flag_end) = statements[k];
        if c.code[flag_end - 1] != b';' {
            continue; // a tail expression: moving it changes the block's type
        }
        let Some(j) = statements[..k].iter().rposition(touches_value) else {
            continue;
        };
        // The flag publishes by its own ordering, or by a release fence before it.
        let how = if releasing(ordering) {
            ordering.to_string()
        } else if statements[j + 1..k].iter().any(is_release_fence) {
            format!("{ordering} after a release fence")
        } else {
            continue;
        };
        let value_start = statements[j].0;
        let indent = c.indent_at(value_start);
        // Remove the statement with the line break and indentation before it.
        let cut_from = c.src[..flag_start]
            .trim_end_matches([' ', '\t'])
            .trim_end_matches('\n')
            .len()
            .max(value_start);
        out.push(Mutation {
            operator: "publish-early",
            detail: format!("{name}({how}) moved above the value's access"),
            at: start,
            edits: vec![
                (
                    value_start,
                    value_start,
                    format!("{}\n{indent}", &c.src[flag_start..flag_end]),
                ),
                (cut_from, flag_end, String::new()),
            ],
        });
    }
    out
}

const POSITIONS: [&str; 14] = [
    "index", "idx", "pos", "position", "head", "tail", "top", "bottom", "lap", "stamp", "seq",
    "sent", "received", "lane",
];
const COUNTS: [&str; 10] = [
    "len",
    "count",
    "capacity",
    "cap",
    "pending",
    "waiters",
    "signals",
    "searching",
    "notified",
    "asleep",
];

/// Whether `ident` names a counter or a position (the module docs' rule).
pub fn is_counter(ident: &str) -> bool {
    let lower = ident.to_ascii_lowercase();
    lower == "hix"
        || lower == "tix"
        || lower
            .split('_')
            .any(|w| POSITIONS.contains(&w) || COUNTS.contains(&w))
}

fn compare_bound(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    let b = c.code;
    for i in 1..b.len().saturating_sub(2) {
        let op: &str = match (b[i - 1], b[i], b[i + 1], b.get(i + 2)) {
            (b' ', b'<', b' ', _) => "<",
            (b' ', b'>', b' ', _) => ">",
            (b' ', b'<', b'=', Some(b' ')) => "<=",
            (b' ', b'>', b'=', Some(b' ')) => ">=",
            _ => continue,
        };
        if c.in_macro(i) {
            continue;
        }
        let left = c.operand_start(i - 1);
        let right = c.operand_end(i + op.len());
        let counter = c
            .words_in(left, right)
            .any(|(s, e)| is_counter(c.text(s, e)));
        if !counter {
            continue;
        }
        let to = match op {
            "<" => "<=",
            "<=" => "<",
            ">" => ">=",
            _ => ">",
        };
        out.push(Mutation {
            operator: "compare-bound",
            detail: format!("{op} → {to}"),
            at: i,
            edits: vec![(i, i + op.len(), to.to_string())],
        });
    }
    // The last one out: `count.fetch_sub(1, …) == 1` → `== 0`.
    for (start, end) in c.calls() {
        let name = c.text(start, end);
        if name != "fetch_sub" || c.in_macro(start) {
            continue;
        }
        let Some(close) = c.next_non_ws(end).and_then(|open| c.matching(open)) else {
            continue;
        };
        let Some(op) = c.next_non_ws(close + 1) else {
            continue;
        };
        let Some(one) = c.next_non_ws(op + 2) else {
            continue;
        };
        let is_eq = matches!(&b[op..op + 2], b"==" | b"!=");
        if !is_eq || b[one] != b'1' || b.get(one + 1).is_some_and(|&x| is_ident(x)) {
            continue;
        }
        out.push(Mutation {
            operator: "compare-bound",
            detail: format!("{name}(…) {} 1 → 0", c.text(op, op + 2)),
            at: op,
            edits: vec![(one, one + 1, "0".to_string())],
        });
    }
    out.sort_by_key(|m| m.at);
    out
}

fn plus_one(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    let b = c.code;
    // `x + 1`, the `1` ending a term (not `x + 1 * y`, `x + 10`, `x + 1.0`).
    for i in 1..b.len().saturating_sub(3) {
        if &b[i..i + 3] != b"+ 1" || b[i - 1] != b' ' {
            continue;
        }
        let after = b.get(i + 3).copied().unwrap_or(b' ');
        if is_ident(after) || after == b'.' {
            continue;
        }
        let next = c.next_non_ws(i + 3).map(|p| b[p]);
        if matches!(next, Some(b'*' | b'/' | b'%')) || c.in_macro(i) {
            continue;
        }
        let left = c.operand_start(i - 1);
        if !c.words_in(left, i).any(|(s, e)| is_counter(c.text(s, e))) {
            continue;
        }
        out.push(Mutation {
            operator: "plus-one",
            detail: "+ 1 dropped".to_string(),
            at: i,
            edits: vec![(i - 1, i + 3, String::new())],
        });
    }
    // `x.wrapping_add(1)`.
    for (start, end) in c.calls() {
        if c.text(start, end) != "wrapping_add" || c.in_macro(start) {
            continue;
        }
        let Some(open) = c.next_non_ws(end) else {
            continue;
        };
        let args = c.args(open);
        if args.len() != 1 || c.text(args[0].0, args[0].1) != "1" {
            continue;
        }
        let Some(close) = c.matching(open) else {
            continue;
        };
        let receiver = c.receiver_start(start);
        if !c
            .words_in(receiver, start)
            .any(|(s, e)| is_counter(c.text(s, e)))
        {
            continue;
        }
        // From the end of the receiver (the `.` may be on a line of its own) to the `)`.
        let Some(dot) = c.prev_non_ws(start) else {
            continue;
        };
        let dot = c.prev_non_ws(dot).map_or(dot, |p| p + 1);
        out.push(Mutation {
            operator: "plus-one",
            detail: ".wrapping_add(1) dropped".to_string(),
            at: start,
            edits: vec![(dot, close + 1, String::new())],
        });
    }
    out.sort_by_key(|m| m.at);
    out
}

/// The ordering a plain load and a plain store get in place of a CAS with these orderings:
/// each keeps its half (the load the acquire side, at least the failure ordering; the store
/// the release side), so the mutant changes atomicity only. A non-literal ordering gives
/// SeqCst to both.
fn split_orderings(success: &str, failure: &str) -> (&'static str, &'static str) {
    let load = match (success, failure) {
        ("SeqCst", _) | (_, "SeqCst") => "SeqCst",
        ("AcqRel" | "Acquire", _) | (_, "Acquire") => "Acquire",
        ("Release" | "Relaxed", "Relaxed") => "Relaxed",
        _ => "SeqCst",
    };
    let store = match success {
        "SeqCst" => "SeqCst",
        "AcqRel" | "Release" => "Release",
        "Acquire" | "Relaxed" => "Relaxed",
        _ => "SeqCst",
    };
    (load, store)
}

/// A method call `receiver.name(args)` found by [`Code::calls`]: where its receiver starts,
/// its closing parenthesis, and its arguments' spans.
struct MethodCall {
    from: usize,
    dot: usize,
    close: usize,
    args: Vec<(usize, usize)>,
}

impl MethodCall {
    /// The call whose name spans `start..end`, if it is a method call with a receiver.
    fn at(c: &Code, start: usize, end: usize) -> Option<MethodCall> {
        let dot = c.prev_non_ws(start).filter(|&p| c.code[p] == b'.')?;
        let open = c.next_non_ws(end)?;
        let (close, args) = (c.matching(open)?, c.args(open));
        let from = c.receiver_start(start);
        (from < dot).then_some(MethodCall {
            from,
            dot,
            close,
            args,
        })
    }

    fn arg<'a>(&self, c: &Code<'a>, k: usize) -> &'a str {
        c.src[self.args[k].0..self.args[k].1].trim()
    }

    fn receiver<'a>(&self, c: &Code<'a>) -> &'a str {
        c.src[self.from..self.dot].trim_end()
    }
}

fn cas_split(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (start, end) in c.calls() {
        let name = c.text(start, end);
        if name != "compare_exchange" && name != "compare_exchange_weak" {
            continue;
        }
        let Some(call) = MethodCall::at(c, start, end) else {
            continue;
        };
        if call.args.len() != 4 {
            continue;
        }
        let arg = |k: usize| call.arg(c, k);
        let (load, store) = split_orderings(last_segment(arg(2)), last_segment(arg(3)));
        let (from, close, receiver) = (call.from, call.close, call.receiver(c));
        let ordering = "::core::sync::atomic::Ordering";
        let replacement = format!(
            "{{ let (cas_atomic, cas_current, cas_new) = (&{receiver}, {}, {}); \
             let cas_seen = cas_atomic.load({ordering}::{load}); \
             if cas_seen == cas_current {{ cas_atomic.store(cas_new, {ordering}::{store}); \
             Ok(cas_seen) }} else {{ Err(cas_seen) }} }}",
            arg(0),
            arg(1)
        );
        out.push(Mutation {
            operator: "cas-split",
            detail: format!("{name} → load({load}) + store({store})"),
            at: start,
            edits: vec![(from, close + 1, replacement)],
        });
    }
    out
}

/// Whether `arg` reads as a memory ordering: a literal one, or a name with `order` in it.
fn is_ordering(arg: &str) -> bool {
    let last = last_segment(arg);
    matches!(
        last,
        "Relaxed" | "Acquire" | "Release" | "AcqRel" | "SeqCst"
    ) || last.to_ascii_lowercase().contains("order")
}

/// The sibling of `cas-split` for the other read-modify-writes: `a.fetch_add(v, o)` becomes a
/// load of `a`, a store of the combined value, and the loaded value as the result, so two
/// threads that both run it between each other's load and store lose one update (a count
/// off by one, a flag erased by a store of the value read before it was set). The block is
/// parenthesised: an RMW that begins a statement (`x.swap(v, o) == old`) stays an expression.
fn rmw_split(c: &Code) -> Vec<Mutation> {
    let mut out = Vec::new();
    for (start, end) in c.calls() {
        let name = c.text(start, end);
        let combine = match name {
            "fetch_add" => "rmw_seen.wrapping_add(rmw_operand)",
            "fetch_sub" => "rmw_seen.wrapping_sub(rmw_operand)",
            "fetch_or" => "rmw_seen | rmw_operand",
            "fetch_and" => "rmw_seen & rmw_operand",
            "swap" => "rmw_operand",
            _ => continue,
        };
        if c.in_macro(start) {
            continue;
        }
        let Some(call) = MethodCall::at(c, start, end) else {
            continue;
        };
        let arg = |k: usize| call.arg(c, k);
        if call.args.len() != 2 || !is_ordering(arg(1)) {
            continue;
        }
        // An RMW's one ordering splits as a CAS's success ordering with a Relaxed failure.
        let (load, store) = split_orderings(last_segment(arg(1)), "Relaxed");
        let (from, close, receiver) = (call.from, call.close, call.receiver(c));
        let ordering = "::core::sync::atomic::Ordering";
        let replacement = format!(
            "({{ let (rmw_atomic, rmw_operand) = (&{receiver}, {}); \
             let rmw_seen = rmw_atomic.load({ordering}::{load}); \
             rmw_atomic.store({combine}, {ordering}::{store}); rmw_seen }})",
            arg(0)
        );
        out.push(Mutation {
            operator: "rmw-split",
            detail: format!("{name} → load({load}) + store({store})"),
            at: start,
            edits: vec![(from, close + 1, replacement)],
        });
    }
    out
}

fn early_exit(c: &Code) -> Vec<Mutation> {
    let functions = crate::source::functions(c.src);
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (start, end) in c.calls() {
        if !is_wait(c.text(start, end)) || c.preceded_by_fn(start) {
            continue;
        }
        let Some(f) = crate::source::enclosing(&functions, start) else {
            continue;
        };
        // The statement that waits, in the innermost block that holds statements (a match's
        // arms are not statements: take the statement the `match` is in).
        let mut block = c.enclosing_brace(start);
        while let Some(open) = block {
            if c.head_keyword(open) == Some("match") {
                block = c.enclosing_brace(open);
            } else {
                break;
            }
        }
        let Some(open) = block else { continue };
        if open < f.start || c.inside_closure(open, f.start) {
            continue;
        }
        let Some(&(stmt, _)) = c
            .statements(open)
            .iter()
            .find(|&&(s, e)| s <= start && start < e)
        else {
            continue;
        };
        if seen.contains(&stmt) {
            continue; // one exit per statement, however many waits it holds
        }
        let exit = match c.loop_around(open, f.start) {
            Some((kind, lopen)) if kind != "loop" || c.has_plain_break(lopen) => "break;",
            _ => match return_type(c, f.start) {
                None => "return;",
                Some(t)
                    if t == "bool"
                        || t.starts_with("Option<")
                        || matches!(
                            t.as_str(),
                            "usize" | "u32" | "u64" | "isize" | "i32" | "i64"
                        ) =>
                {
                    "return Default::default();"
                }
                Some(_) => continue,
            },
        };
        seen.push(stmt);
        let indent = c.indent_at(stmt);
        out.push(Mutation {
            operator: "early-exit",
            detail: format!("`{exit}` before {}(…)", c.text(start, end)),
            at: start,
            edits: vec![(stmt, stmt, format!("{exit}\n{indent}"))],
        });
    }
    out
}

/// The return type of the function whose body opens at `body`, or `None` for `()`.
fn return_type(c: &Code, body: usize) -> Option<String> {
    // The header: from the `fn` keyword before the body.
    let before = std::str::from_utf8(&c.code[..body]).ok()?;
    let header = &before[before.rfind("fn ")?..];
    let header = header.split(" where ").next().unwrap_or(header);
    // The last `->` outside parentheses (a parameter of type `impl Fn() -> T` has one inside).
    let mut depth = 0i32;
    let mut arrow = None;
    let hb = header.as_bytes();
    for k in 0..hb.len() {
        match hb[k] {
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'-' if depth == 0 && hb.get(k + 1) == Some(&b'>') => arrow = Some(k),
            _ => {}
        }
    }
    let t = header[arrow? + 2..].trim();
    (!t.is_empty() && t != "()").then(|| t.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path).trim()
}

// ---------------------------------------------------------------------------------------------
// Reading blanked code: tokens, balanced spans, blocks and statements.

struct Code<'a> {
    src: &'a str,
    code: &'a [u8],
}

impl<'a> Code<'a> {
    fn text(&self, start: usize, end: usize) -> &'a str {
        std::str::from_utf8(&self.code[start..end]).unwrap_or("")
    }

    /// Every identifier or keyword: (start, end).
    fn words(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.words_in(0, self.code.len())
    }

    fn words_in(&self, from: usize, to: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let b = self.code;
        let mut i = from;
        std::iter::from_fn(move || {
            while i < to {
                if is_ident(b[i]) && (i == 0 || !is_ident(b[i - 1])) {
                    let start = i;
                    while i < b.len() && is_ident(b[i]) {
                        i += 1;
                    }
                    // A number is not a word; a lifetime or label (`'a`) is not either.
                    if b[start].is_ascii_digit() || (start > 0 && b[start - 1] == b'\'') {
                        continue;
                    }
                    return Some((start, i));
                }
                i += 1;
            }
            None
        })
    }

    /// Every identifier that is called (`name(`, `.name(`, `path::name(`), not defined.
    fn calls(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.calls_in(0, self.code.len())
    }

    fn calls_in(&self, from: usize, to: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.words_in(from, to).filter(move |&(s, e)| {
            self.next_non_ws(e).is_some_and(|p| self.code[p] == b'(')
                && !self.preceded_by_fn(s)
                && !self.in_macro_name(e)
        })
    }

    /// Whether the word starting at `start` is the name in a `fn` item.
    fn preceded_by_fn(&self, start: usize) -> bool {
        let Some(p) = self.prev_non_ws(start).filter(|&p| is_ident(self.code[p])) else {
            return false;
        };
        let mut s = p;
        while s > 0 && is_ident(self.code[s - 1]) {
            s -= 1;
        }
        self.text(s, p + 1) == "fn"
    }

    fn in_macro_name(&self, end: usize) -> bool {
        self.code.get(end) == Some(&b'!')
    }

    fn next_non_ws(&self, from: usize) -> Option<usize> {
        (from..self.code.len()).find(|&k| !self.code[k].is_ascii_whitespace())
    }

    fn prev_non_ws(&self, before: usize) -> Option<usize> {
        (0..before)
            .rev()
            .find(|&k| !self.code[k].is_ascii_whitespace())
    }

    /// The bracket that closes the one at `open` (`(`, `[` or `{`).
    fn matching(&self, open: usize) -> Option<usize> {
        if !matches!(self.code.get(open), Some(b'(' | b'[' | b'{')) {
            return None;
        }
        let mut depth = 0usize;
        for k in open..self.code.len() {
            match self.code[k] {
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The bracket that opens the one that closes at `close`.
    fn matching_back(&self, close: usize) -> Option<usize> {
        let mut depth = 0usize;
        for k in (0..=close).rev() {
            match self.code[k] {
                b')' | b']' | b'}' => depth += 1,
                b'(' | b'[' | b'{' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(k);
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The unmatched bracket of any kind before `pos`, innermost first.
    fn enclosing_open(&self, pos: usize) -> impl Iterator<Item = usize> + '_ {
        let mut k = pos;
        std::iter::from_fn(move || {
            let mut depth = 0usize;
            while k > 0 {
                k -= 1;
                match self.code[k] {
                    b')' | b']' | b'}' => depth += 1,
                    b'(' | b'[' | b'{' if depth > 0 => depth -= 1,
                    b'(' | b'[' | b'{' => return Some(k),
                    _ => {}
                }
            }
            None
        })
    }

    /// The `{` of the innermost block around `pos`.
    fn enclosing_brace(&self, pos: usize) -> Option<usize> {
        self.enclosing_open(pos).find(|&k| self.code[k] == b'{')
    }

    /// Whether `pos` is inside the arguments of a macro call (`name!(…)`, `name![…]`).
    fn in_macro(&self, pos: usize) -> bool {
        self.enclosing_open(pos).any(|k| {
            self.prev_non_ws(k)
                .is_some_and(|p| self.code[p] == b'!' && p > 0 && is_ident(self.code[p - 1]))
        })
    }

    /// The `{` that opens the body of the construct whose keyword ends at `from` (the first
    /// `{` outside brackets).
    fn body_open(&self, from: usize) -> Option<usize> {
        let mut k = from;
        while k < self.code.len() {
            match self.code[k] {
                b'{' => return Some(k),
                b'(' | b'[' => k = self.matching(k)?,
                b';' | b'}' => return None,
                _ => {}
            }
            k += 1;
        }
        None
    }

    /// The keyword that heads the block opening at `open` (`match`, `while`, `loop`, `for`,
    /// `if`, `else`, `unsafe`, `fn`, `impl`, …), found walking back over its head to the
    /// previous statement; `=>` for a match arm's block, `|` for a closure's, `None` for a
    /// plain block or a struct literal.
    fn head_keyword(&self, open: usize) -> Option<&'a str> {
        let b = self.code;
        let mut k = open;
        let mut seen_token = false;
        let mut saw_for = false;
        while k > 0 {
            k -= 1;
            match b[k] {
                c if c.is_ascii_whitespace() => {}
                b')' | b']' => {
                    k = self.matching_back(k)?;
                    seen_token = true;
                }
                b'}' | b';' | b'{' | b',' => break,
                b'>' if k > 0 && b[k - 1] == b'=' => return Some("=>"),
                b'|' if !seen_token => return Some("|"),
                c if is_ident(c) => {
                    let end = k + 1;
                    while k > 0 && is_ident(b[k - 1]) {
                        k -= 1;
                    }
                    match self.text(k, end) {
                        // `for` heads a loop unless it is `impl Trait for Type`.
                        "for" => saw_for = true,
                        word @ ("impl" | "match" | "while" | "loop" | "if" | "else" | "unsafe"
                        | "fn" | "trait" | "mod" | "struct" | "enum") => return Some(word),
                        _ => {}
                    }
                    seen_token = true;
                }
                _ => seen_token = true,
            }
        }
        saw_for.then_some("for")
    }

    /// Whether a closure's body lies between the block at `open` and the function body at
    /// `fn_open` (a `return` there would leave the closure, not the function).
    fn inside_closure(&self, open: usize, fn_open: usize) -> bool {
        let mut block = Some(open);
        while let Some(b) = block.filter(|&b| b > fn_open) {
            if self.head_keyword(b) == Some("|") {
                return true;
            }
            block = self.enclosing_brace(b);
        }
        false
    }

    /// The innermost loop (`loop`, `while`, `for`) whose body holds the block at `open`,
    /// inside the function whose body opens at `fn_open`: (keyword, its body's `{`). A closure
    /// stops the search.
    fn loop_around(&self, open: usize, fn_open: usize) -> Option<(&'a str, usize)> {
        let mut block = Some(open);
        while let Some(b) = block {
            if b <= fn_open {
                return None;
            }
            match self.head_keyword(b) {
                Some(kw @ ("loop" | "while" | "for")) => return Some((kw, b)),
                Some("|") => return None,
                _ => block = self.enclosing_brace(b),
            }
        }
        None
    }

    /// Whether the `loop` whose body opens at `open` has a `break` with no value of its own
    /// (so inserting one keeps its type).
    fn has_plain_break(&self, open: usize) -> bool {
        let Some(close) = self.matching(open) else {
            return false;
        };
        self.words_in(open, close).any(|(s, e)| {
            self.text(s, e) == "break"
                && self
                    .next_non_ws(e)
                    .is_some_and(|p| matches!(self.code[p], b';' | b'}'))
                && self.innermost_loop(s) == Some(open)
        })
    }

    /// The body `{` of the innermost loop around `pos` (closures stop the search).
    fn innermost_loop(&self, pos: usize) -> Option<usize> {
        let mut block = self.enclosing_brace(pos);
        while let Some(b) = block {
            match self.head_keyword(b) {
                Some("loop" | "while" | "for") => return Some(b),
                Some("|" | "fn") => return None,
                _ => block = self.enclosing_brace(b),
            }
        }
        None
    }

    /// Whether the loop body `open..close` holds a `break` or `continue` of this loop (one in
    /// a nested loop or closure does not count).
    fn exits_own_loop(&self, open: usize, close: usize) -> bool {
        self.words_in(open, close).any(|(s, e)| {
            matches!(self.text(s, e), "break" | "continue") && self.innermost_loop(s) == Some(open)
        })
    }

    /// The statements of the block opening at `open`: (start, end) spans, each ending after
    /// its `;`, or after the `}` of a block-like statement, or at the block's end.
    fn statements(&self, open: usize) -> Vec<(usize, usize)> {
        let Some(close) = self.matching(open) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut start = None;
        let mut k = open + 1;
        while k < close {
            let ch = self.code[k];
            if start.is_none() && !ch.is_ascii_whitespace() {
                start = Some(k);
            }
            match ch {
                b'(' | b'[' => k = self.matching(k).unwrap_or(close),
                b'{' => {
                    k = self.matching(k).unwrap_or(close);
                    // A block-like statement ends at its `}` unless the expression goes on.
                    let next = self.next_non_ws(k + 1).unwrap_or(close);
                    let goes_on = next == close
                        || matches!(self.code[next], b'.' | b'?' | b';')
                        || self.text(next, (next + 4).min(close)) == "else";
                    if !goes_on {
                        if let Some(s) = start.take() {
                            out.push((s, k + 1));
                        }
                    }
                }
                b';' => {
                    if let Some(s) = start.take() {
                        out.push((s, k + 1));
                    }
                }
                _ => {}
            }
            k += 1;
        }
        if let Some(s) = start {
            let end = self.prev_non_ws(close).map_or(close, |p| p + 1);
            out.push((s, end.max(s)));
        }
        out
    }

    /// Where the operand that ends at `before` (exclusive) starts: back over balanced brackets
    /// to an unmatched bracket, `,`, `;`, `=` (an assignment or `let`), `&&`, `||`, `|`, `=>`,
    /// another comparison, or a keyword that starts an expression.
    fn operand_start(&self, before: usize) -> usize {
        let b = self.code;
        let mut k = before;
        while k > 0 {
            let ch = b[k - 1];
            match ch {
                b')' | b']' | b'}' => match self.matching_back(k - 1) {
                    Some(o) => k = o,
                    None => return k,
                },
                b'(' | b'[' | b'{' | b',' | b';' | b'|' => return k,
                b'&' if k > 1 && b[k - 2] == b'&' => return k,
                b'=' if k > 1 && !matches!(b[k - 2], b'=' | b'!' | b'<' | b'>') => return k,
                b'=' | b'<' | b'>' if k > 1 && b[k - 2] == b' ' && b.get(k) == Some(&b' ') => {
                    return k
                }
                b'>' if k > 1 && b[k - 2] == b'=' => return k,
                c if is_ident(c) => {
                    let mut s = k - 1;
                    while s > 0 && is_ident(b[s - 1]) {
                        s -= 1;
                    }
                    if matches!(
                        self.text(s, k),
                        "if" | "while" | "return" | "let" | "match" | "in" | "else"
                    ) {
                        return k;
                    }
                    k = s;
                    continue;
                }
                _ => {}
            }
            k -= 1;
        }
        k
    }

    /// Where the operand that starts at `from` ends: forward over balanced brackets to an
    /// unmatched bracket, `,`, `;`, `&&`, `||`, a block's `{`, or `=>`.
    fn operand_end(&self, from: usize) -> usize {
        let b = self.code;
        let mut k = from;
        while k < b.len() {
            match b[k] {
                b'(' | b'[' => match self.matching(k) {
                    Some(c) => k = c,
                    None => return k,
                },
                b')' | b']' | b'}' | b'{' | b',' | b';' => return k,
                b'&' if b.get(k + 1) == Some(&b'&') => return k,
                b'|' if b.get(k + 1) == Some(&b'|') => return k,
                b'=' if b.get(k + 1) == Some(&b'>') => return k,
                _ => {}
            }
            k += 1;
        }
        k
    }

    /// Where the receiver of the method or path call whose name starts at `name` begins:
    /// back over `.segment`, `::segment`, calls and indexing (`self.gates().not_empty.` in
    /// `self.gates().not_empty.notify_one()`), across line breaks before a `.`; a
    /// parenthesized receiver (`(stamp & MASK).`) is taken whole.
    fn receiver_start(&self, name: usize) -> usize {
        let b = self.code;
        let mut k = name;
        loop {
            let Some(p) = self.prev_non_ws(k) else {
                return k;
            };
            let joint = if b[p] == b'.' {
                p
            } else if b[p] == b':' && p > 0 && b[p - 1] == b':' {
                p - 1
            } else {
                return k;
            };
            let Some(mut q) = self.prev_non_ws(joint) else {
                return k;
            };
            // Calls and indexing: `gates()`, `slots[i]`; a bare group is the whole receiver.
            while matches!(b[q], b')' | b']') {
                let Some(o) = self.matching_back(q) else {
                    return k;
                };
                if o == 0 || !(is_ident(b[o - 1]) || matches!(b[o - 1], b')' | b']')) {
                    return o;
                }
                q = o - 1;
            }
            if !is_ident(b[q]) {
                return k;
            }
            while q > 0 && is_ident(b[q - 1]) {
                q -= 1;
            }
            k = q;
        }
    }

    /// The comma-separated arguments of the call whose `(` is at `open`, trimmed spans.
    fn args(&self, open: usize) -> Vec<(usize, usize)> {
        let Some(close) = self.matching(open) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut start = open + 1;
        let mut k = open + 1;
        while k <= close {
            match self.code[k] {
                b'(' | b'[' | b'{' if k < close => k = self.matching(k).unwrap_or(close),
                b',' => {
                    out.push((start, k));
                    start = k + 1;
                }
                _ if k == close => out.push((start, k)),
                _ => {}
            }
            k += 1;
        }
        out.into_iter()
            .map(|(s, e)| {
                let s = self.next_non_ws(s).unwrap_or(s).min(e);
                let e = self.prev_non_ws(e).map_or(e, |p| p + 1).max(s);
                (s, e)
            })
            .filter(|(s, e)| e > s)
            .collect()
    }

    /// The indentation of the line `pos` is on.
    fn indent_at(&self, pos: usize) -> &'a str {
        let line = self.src[..pos].rfind('\n').map_or(0, |p| p + 1);
        let text = &self.src[line..pos];
        &text[..text.len() - text.trim_start().len()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::code_only;

    /// The mutated texts `operator` makes of `src`.
    fn mutate(operator: &str, src: &str) -> Vec<String> {
        let code = code_only(src);
        mutations(operator, src, &code)
            .iter()
            .map(|m| m.apply(src))
            .collect()
    }

    #[test]
    fn wake_count_swaps_one_and_all_in_calls_only() {
        let src = "fn notify_one(&self) { self.cv.notify_all(); M::wake_one(&w); }\n\
                   fn f() { futex::wake_all(&w); x.notify_one_after_fence(); }";
        assert_eq!(
            mutate("wake-count", src),
            [
                src.replace("cv.notify_all", "cv.notify_one"),
                src.replace("M::wake_one", "M::wake_all"),
                src.replace("futex::wake_all", "futex::wake_one"),
            ]
        );
    }

    #[test]
    fn wake_removed_replaces_the_whole_call_with_unit() {
        let src = "fn f() {\n    self.gates()\n        .not_empty\n        .notify_one();\n    \
                   F::notify_all(&self.idle);\n    let n = wake(x);\n}";
        assert_eq!(
            mutate("wake-removed", src),
            [
                "fn f() {\n    ();\n    F::notify_all(&self.idle);\n    let n = wake(x);\n}",
                "fn f() {\n    self.gates()\n        .not_empty\n        .notify_one();\n    ();\n    let n = wake(x);\n}",
                "fn f() {\n    self.gates()\n        .not_empty\n        .notify_one();\n    F::notify_all(&self.idle);\n    let n = ();\n}",
            ]
        );
    }

    #[test]
    fn recheck_if_turns_waiting_loops_into_one_pass() {
        let src = "fn f() {\n    while condition(&mut *guard) {\n        guard = F::wait(cv, guard);\n    }\n    \
                   while x { spin(); }\n    \
                   while let Some(j) = q.pop() { for k in j { if k { break; } } self.done.wait(key); }\n}";
        let out = mutate("recheck-if", src);
        assert_eq!(out.len(), 2, "{out:#?}");
        assert!(out[0].contains("    if condition(&mut *guard) {"));
        assert!(out[1].contains("if let Some(j) = q.pop()"));
        // A loop that breaks or continues itself, or a `loop` that breaks: one pass.
        let src =
            "fn g() {\n    while a {\n        if b { continue; }\n        park()\n    }\n    \
                   loop {\n        if ok() { break; }\n        self.cv.wait(g);\n    }\n}";
        assert_eq!(
            mutate("recheck-if", src),
            [
                src.replace("park()\n", "park();\n        break;\n"),
                src.replace("wait(g);\n", "wait(g);\n        break;\n"),
            ]
        );
        // A `loop` left only by `return`: a `break` would change its type.
        assert!(mutate(
            "recheck-if",
            "fn h() -> u8 { loop { if ok() { return 1; } wait(); } }"
        )
        .is_empty());
    }

    #[test]
    fn publish_early_moves_the_release_above_the_value_write() {
        let src = "fn push(&self) {\n    let slot = &self.slots[i];\n    \
                   slot.value.with_mut(|p| unsafe { p.write(v) });\n    \
                   count += 1;\n    \
                   slot.stamp.store(tail + 1, Ordering::Release);\n    \
                   self.other.store(1, Relaxed);\n}";
        assert_eq!(
            mutate("publish-early", src),
            ["fn push(&self) {\n    let slot = &self.slots[i];\n    \
              slot.stamp.store(tail + 1, Ordering::Release);\n    \
              slot.value.with_mut(|p| unsafe { p.write(v) });\n    \
              count += 1;\n    \
              self.other.store(1, Relaxed);\n}"]
        );
        // A swap whose result is used moves with its `let`; nothing before it: no mutant.
        let src = "fn p(&self) {\n    self.value.with_mut(|p| w(p));\n    let before = self.state.swap(READY, Release);\n}";
        assert_eq!(
            mutate("publish-early", src),
            ["fn p(&self) {\n    let before = self.state.swap(READY, Release);\n    self.value.with_mut(|p| w(p));\n}"]
        );
        assert!(mutate("publish-early", "fn q() { x.store(1, Release); }").is_empty());
        // A Relaxed flag after a release fence, publishing a Relaxed slot store.
        let src = "fn r() {\n    slot.store(v, Relaxed);\n    fence(Ordering::Release);\n    bottom.store(b, Relaxed);\n}";
        assert_eq!(
            mutate("publish-early", src),
            ["fn r() {\n    bottom.store(b, Relaxed);\n    slot.store(v, Relaxed);\n    fence(Ordering::Release);\n}"]
        );
    }

    #[test]
    fn compare_bound_needs_a_counter_or_a_position() {
        let src =
            "fn f() {\n    if index + 1 < self.buffer().len() {}\n    if now >= deadline {}\n    \
                   while signed_len(bottom, top) > 0 {}\n    let v: Vec<u8> = x;\n    \
                   debug_assert!(index < len);\n    if self.waiters.load(Relaxed) <= 0 {}\n}";
        let out = mutate("compare-bound", src);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert!(out[0].contains("index + 1 <= self.buffer().len()"));
        assert!(out[1].contains("signed_len(bottom, top) >= 0"));
        assert!(out[2].contains("self.waiters.load(Relaxed) < 0"));
        // The last one out.
        let src = "fn drop(&mut self) { if self.running.fetch_sub(1, Release) == 1 { wake(); } }";
        assert_eq!(
            mutate("compare-bound", src),
            [src.replace(") == 1", ") == 0")]
        );
    }

    #[test]
    fn the_identifier_rule() {
        for yes in [
            "tail",
            "new_tail",
            "ONE_LAP",
            "hix",
            "peer_received",
            "len",
            "lane",
            "waiters",
        ] {
            assert!(is_counter(yes), "{yes}");
        }
        for no in [
            "now",
            "deadline",
            "stalled",
            "STALL_ROUNDS",
            "round",
            "lanes",
            "tails",
        ] {
            assert!(!is_counter(no), "{no}");
        }
    }

    #[test]
    fn plus_one_drops_the_increment_of_a_position() {
        let src = "fn f() {\n    slot.stamp.store(tail + 1, Release);\n    let x = a + 1 * b;\n    \
                   let y = tail + 10;\n    let n = self\n        .sent\n        .wrapping_add(1);\n    \
                   z.wrapping_add(1);\n    let k = (position + 1) | MARK;\n}";
        let out = mutate("plus-one", src);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert!(out[0].contains("store(tail, Release)"));
        assert!(out[1].contains("let n = self\n        .sent;"));
        assert!(out[2].contains("(position) | MARK"));
    }

    #[test]
    fn cas_split_keeps_each_half_of_the_orderings() {
        let src = "fn f() {\n    match self.ends().tail.compare_exchange_weak(\n        tail,\n        next(tail),\n        Ordering::SeqCst,\n        Ordering::Relaxed,\n    ) {}\n    \
                   let _ = slot\n        .stamp\n        .compare_exchange(a, b, AcqRel, Relaxed);\n}";
        let out = mutate("cas-split", src);
        assert_eq!(out.len(), 2);
        assert!(out[0].contains(
            "match { let (cas_atomic, cas_current, cas_new) = (&self.ends().tail, tail, next(tail)); \
             let cas_seen = cas_atomic.load(::core::sync::atomic::Ordering::SeqCst); \
             if cas_seen == cas_current { cas_atomic.store(cas_new, ::core::sync::atomic::Ordering::SeqCst); \
             Ok(cas_seen) } else { Err(cas_seen) } } {}"
        ), "{}", out[0]);
        assert!(out[1].contains("(&slot\n        .stamp, a, b)"));
        assert!(out[1].contains("load(::core::sync::atomic::Ordering::Acquire)"));
        assert!(out[1].contains("store(cas_new, ::core::sync::atomic::Ordering::Release)"));
        assert_eq!(
            split_orderings("Release", "Relaxed"),
            ("Relaxed", "Release")
        );
        assert_eq!(
            split_orderings("Acquire", "Relaxed"),
            ("Acquire", "Relaxed")
        );
        assert_eq!(split_orderings("order", "Relaxed"), ("SeqCst", "SeqCst"));
    }

    #[test]
    fn rmw_split_loads_and_stores_the_combined_value() {
        let src = "fn f(&self) {\n    let previous = self.state.fetch_add(PENDING_ONE, Ordering::Relaxed);\n    \
                   if self.closed.swap(true, AcqRel) {}\n    \
                   let n = w.fetch_or(CLOSED, order);\n    \
                   self.slots.swap(i, j);\n    \
                   debug_assert!(x.fetch_sub(1, SeqCst) > 0);\n}";
        let out = mutate("rmw-split", src);
        assert_eq!(out.len(), 3, "{out:#?}");
        assert!(out[0].contains(
            "let previous = ({ let (rmw_atomic, rmw_operand) = (&self.state, PENDING_ONE); \
             let rmw_seen = rmw_atomic.load(::core::sync::atomic::Ordering::Relaxed); \
             rmw_atomic.store(rmw_seen.wrapping_add(rmw_operand), ::core::sync::atomic::Ordering::Relaxed); \
             rmw_seen });"
        ), "{}", out[0]);
        assert!(out[1].contains("(&self.closed, true)"));
        assert!(out[1].contains("load(::core::sync::atomic::Ordering::Acquire)"));
        assert!(out[1].contains("store(rmw_operand, ::core::sync::atomic::Ordering::Release)"));
        assert!(out[2]
            .contains("store(rmw_seen | rmw_operand, ::core::sync::atomic::Ordering::SeqCst)"));
        // A slice's swap (no ordering) and anything inside a macro are left alone.
        assert!(out.iter().all(|m| m.contains("self.slots.swap(i, j)")));
        assert!(out.iter().all(|m| m.contains("x.fetch_sub(1, SeqCst)")));
        // An RMW that begins a statement stays an expression.
        let out = mutate(
            "rmw-split",
            "fn s() -> bool { unsafe { (*this).state.swap(SET, AcqRel) == SLEEPING } }",
        );
        assert!(out[0].starts_with("fn s() -> bool { unsafe { ({ let (rmw_atomic, rmw_operand) = (&(*this).state, SET);"), "{}", out[0]);
        assert!(
            out[0].ends_with("rmw_seen }) == SLEEPING } }"),
            "{}",
            out[0]
        );
    }

    #[test]
    fn early_exit_picks_an_exit_that_type_checks() {
        // A unit function: `return;`.
        let src = "fn a(&self) {\n    let key = self.prepare();\n    self.done.wait(key);\n}";
        assert_eq!(
            mutate("early-exit", src),
            ["fn a(&self) {\n    let key = self.prepare();\n    return;\n    self.done.wait(key);\n}"]
        );
        // A `while` loop: `break;`; a wait inside a match arm: before the `match`.
        let src = "fn b(&self) -> Guard {\n    while busy {\n        let x = match d {\n            None => M::wait(&s, 1),\n            Some(t) => M::wait_timeout(&s, 1, t),\n        };\n    }\n    g\n}";
        assert_eq!(
            mutate("early-exit", src),
            ["fn b(&self) -> Guard {\n    while busy {\n        break;\n        let x = match d {\n            None => M::wait(&s, 1),\n            Some(t) => M::wait_timeout(&s, 1, t),\n        };\n    }\n    g\n}"]
        );
        // A `loop` that only returns, in a function returning a bool: `return Default::default();`.
        let src = "fn c(&self) -> bool {\n    loop {\n        if ok() { return true; }\n        if x.wait_until(k, d).timed_out() { return false; }\n    }\n}";
        let out = mutate("early-exit", src);
        assert_eq!(out.len(), 1);
        assert!(out[0].contains("        return Default::default();\n        if x.wait_until"));
        // A guard-returning function with no loop: no mutant; nor a definition named `wait`.
        assert!(mutate(
            "early-exit",
            "fn wait(&self, g: G) -> G { self.cv.wait(g) }"
        )
        .is_empty());
    }

    #[test]
    fn statements_split_blocks_and_block_like_expressions() {
        let src = "fn f() { let a = 1; if a { b(); } else { c(); } match x { _ => {} } d.e(|p| { q; }); tail }";
        let code = code_only(src);
        let c = Code { src, code: &code };
        let open = src.find('{').unwrap();
        let parts: Vec<&str> = c
            .statements(open)
            .iter()
            .map(|&(s, e)| &src[s..e])
            .collect();
        assert_eq!(
            parts,
            [
                "let a = 1;",
                "if a { b(); } else { c(); }",
                "match x { _ => {} }",
                "d.e(|p| { q; });",
                "tail"
            ]
        );
    }
}
