//! The failing execution drawn two ways: a table with one column per thread, in execution order
//! (Lincheck's shape), and a sequence diagram with the threads and the shared objects as
//! participants (the seed's shape), written as Mermaid and as SVG.

use std::collections::{BTreeSet, HashMap};
use std::fmt::Write as _;

use super::analysis::{order_name, Analysis};
use super::source::Sources;
use super::trace::{file_stem, Event, Kind, Op, Trace};

/// How much of the trace to show and how to point at the source.
#[derive(Debug, Clone, Copy)]
pub struct Cut {
    /// Show every step, not only those that matter.
    pub full: bool,
    /// How many of each thread's last steps to keep.
    pub last: usize,
    /// Point at `file:line` (`true`) or at the function (`false`: stable across edits, for
    /// generated docs).
    pub lines: bool,
}

impl Default for Cut {
    fn default() -> Self {
        Cut {
            full: false,
            last: 4,
            lines: true,
        }
    }
}

/// The steps to show, in order (indices into the trace).
pub fn shown(trace: &Trace, analysis: &Analysis, cut: Cut) -> Vec<usize> {
    if cut.full {
        return (0..trace.events.len()).collect();
    }
    let mut keep: BTreeSet<usize> = analysis.keep.clone();
    keep.extend(analysis.marks.keys().copied());
    for (i, e) in trace.events.iter().enumerate() {
        let on_object = e.object.is_some_and(|o| analysis.objects.contains(&o));
        if on_object || matches!(e.op, Op::Spawn | Op::Note) {
            keep.insert(i);
        }
    }
    for thread in 0..trace.threads {
        let mine: Vec<usize> = (0..trace.events.len())
            .filter(|&i| trace.events[i].thread == thread)
            .collect();
        keep.extend(mine.iter().rev().take(cut.last));
    }
    keep.into_iter().collect()
}

/// A value as its object's kind reads it.
fn value(trace: &Trace, e: &Event, v: u64, pointers: &mut HashMap<u64, usize>) -> String {
    let kind = e.object.and_then(|o| trace.objects.get(o)).map(|o| o.kind);
    match kind {
        Some(Kind::Bool) => (v != 0).to_string(),
        Some(Kind::Signed) => (v as i64).to_string(),
        Some(Kind::Pointer) => {
            if v == 0 {
                "null".to_string()
            } else {
                let next = pointers.len() + 1;
                format!("p{}", pointers.entry(v).or_insert(next))
            }
        }
        _ if v >= 0x1_0000 => format!("{v:#x}"),
        _ => v.to_string(),
    }
}

/// One step in words, without its thread (the column says it).
pub fn describe(trace: &Trace, e: &Event, pointers: &mut HashMap<u64, usize>) -> String {
    let o = trace.object_name(e.object).to_string();
    let ord = order_name(e.order);
    let mut v = |x: u64| value(trace, e, x, pointers);
    match e.op {
        Op::Load => format!("{o}.load({ord}) → {}", v(e.a)),
        Op::Store => format!("{o}.store({}, {ord})", v(e.a)),
        Op::Swap => format!("{o}.swap({}, {ord}) → {}", v(e.a), v(e.b)),
        Op::Cas { weak, ok } => {
            let name = if weak { "cas_weak" } else { "cas" };
            let (expected, new, seen) = (v(e.a), v(e.b), v(e.c));
            if ok {
                format!("{o}.{name}({expected} → {new}, {ord}) ✓")
            } else {
                format!(
                    "{o}.{name}({expected} → {new}, {}) ✗ saw {seen}",
                    order_name(e.failure_order)
                )
            }
        }
        Op::FetchAdd => format!("{o}.fetch_add({}, {ord}) → {}", v(e.a), v(e.b)),
        Op::FetchSub => format!("{o}.fetch_sub({}, {ord}) → {}", v(e.a), v(e.b)),
        Op::FetchOr => format!("{o}.fetch_or({}, {ord}) → {}", v(e.a), v(e.b)),
        Op::FetchAnd => format!("{o}.fetch_and({}, {ord}) → {}", v(e.a), v(e.b)),
        Op::FetchUpdate { ok: true } => {
            format!("{o}.fetch_update({ord}) {} → {}", v(e.a), v(e.b))
        }
        Op::FetchUpdate { ok: false } => format!("{o}.fetch_update({ord}) ✗ saw {}", v(e.a)),
        Op::Fence => format!("fence({ord})"),
        Op::CellRead => format!("read {o}"),
        Op::CellWrite => format!("write {o}"),
        Op::FutexWait {
            cross_process,
            timed,
        } => {
            let name = if timed { "wait_timeout" } else { "wait" };
            let scope = if cross_process {
                " [cross-process]"
            } else {
                ""
            };
            if e.a == e.b {
                format!("futex {name}({o} == {}){scope}: sleeps", e.a)
            } else {
                format!("futex {name}({o} == {}){scope}: is {}, returns", e.a, e.b)
            }
        }
        Op::FutexSpurious => format!("futex wait({o} == {}): returns spuriously", e.a),
        Op::FutexWoken => format!("futex wait({o}): woken"),
        Op::FutexTimedOut => format!("futex wait({o}): timed out"),
        Op::FutexWake { cross_process, all } => {
            let name = if all { "wake_all" } else { "wake_one" };
            let scope = if cross_process {
                " [cross-process]"
            } else {
                ""
            };
            match (e.a, e.b) {
                (0, _) => format!("futex {name}({o}){scope}: woke nobody"),
                (1, t) if t > 0 => {
                    format!(
                        "futex {name}({o}){scope}: woke {}",
                        Trace::thread_name(t as usize - 1)
                    )
                }
                (n, _) => format!("futex {name}({o}){scope}: woke {n}"),
            }
        }
        Op::Lock if e.a == 1 => format!("lock {o}: waits"),
        Op::Lock => format!("lock {o}"),
        Op::TryLock { ok: true } => format!("try_lock {o} ✓"),
        Op::TryLock { ok: false } => format!("try_lock {o} ✗ held"),
        Op::Unlock => format!("unlock {o}"),
        Op::CondWait { timed } => {
            let mutex = trace
                .objects
                .iter()
                .find(|m| m.addr == e.b)
                .map_or("its mutex", |m| m.name.as_str());
            let name = if timed { "wait_timeout" } else { "wait" };
            format!("{o}.{name}: unlocks {mutex}, sleeps")
        }
        Op::CondReturn { timed_out: false } => format!("{o}.wait returns (locked again)"),
        Op::CondReturn { timed_out: true } => format!("{o}.wait_timeout: timed out"),
        Op::Notify { all } => {
            let name = if all { "notify_all" } else { "notify_one" };
            format!("{o}.{name}()")
        }
        Op::Spawn => format!("spawn {}", Trace::thread_name(e.a as usize)),
        Op::Join if e.b == 1 => format!("join {}: waits", Trace::thread_name(e.a as usize)),
        Op::Join => format!("join {}", Trace::thread_name(e.a as usize)),
        Op::Sleep => format!("sleep({} ms): a yield under the checker", e.a),
        Op::Spin => "spin hint: yields".to_string(),
        Op::Note => format!(
            "▶ {}",
            trace.notes.get(e.a as usize).map_or("", String::as_str)
        ),
    }
}

/// Where a step ran: `file.rs:line`, or `function` (for docs that must survive edits).
pub fn place(at: &str, lines: bool, sources: &mut Sources) -> String {
    let file = file_stem(at);
    if lines {
        match super::source::split(at) {
            Some((_, line, _)) => format!("{file}.rs:{line}"),
            None => at.to_string(),
        }
    } else {
        sources
            .function_at(at)
            .unwrap_or_else(|| format!("{file}.rs"))
    }
}

fn cell_text(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The table: a row per shown step (a `…` row where steps were cut), a column per thread.
pub fn table(
    trace: &Trace,
    analysis: &Analysis,
    rows: &[usize],
    cut: Cut,
    sources: &mut Sources,
) -> String {
    let threads = trace.threads.max(1);
    let mut pointers = HashMap::new();
    let mut grid: Vec<Vec<String>> = Vec::new();
    let mut header = vec!["#".to_string()];
    header.extend((0..threads).map(Trace::thread_name));
    let mut last = None::<usize>;
    for &i in rows {
        if let Some(prev) = last {
            if i > prev + 1 {
                let mut row = vec!["…".to_string()];
                row.extend((0..threads).map(|_| String::new()));
                row[1] = format!("({} steps not shown)", i - prev - 1);
                grid.push(row);
            }
        } else if i > 0 {
            let mut row = vec!["…".to_string()];
            row.extend((0..threads).map(|_| String::new()));
            row[1] = format!("({i} steps not shown)");
            grid.push(row);
        }
        last = Some(i);
        let e = &trace.events[i];
        let mut text = describe(trace, e, &mut pointers);
        if let Some(mark) = analysis.marks.get(&i) {
            text = format!("{text} **{mark}**");
        }
        if e.op != Op::Note {
            text = format!("{text} · {}", place(&e.at, cut.lines, sources));
        }
        let mut row = vec![(i + 1).to_string()];
        row.extend((0..threads).map(|t| {
            if t == e.thread {
                cell_text(&text)
            } else {
                String::new()
            }
        }));
        grid.push(row);
    }
    if let Some(prev) = last {
        if prev + 1 < trace.events.len() {
            let mut row = vec!["…".to_string()];
            row.extend((0..threads).map(|_| String::new()));
            row[1] = format!("({} steps not shown)", trace.events.len() - prev - 1);
            grid.push(row);
        }
    }
    // Columns padded to their widest cell, so the Markdown reads as a table in a terminal too.
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in &grid {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (cell, w) in cells.iter().zip(&widths) {
            let _ = write!(s, " {cell}{} |", " ".repeat(w - width(cell)));
        }
        s
    };
    let mut out = line(&header);
    out.push('\n');
    out.push('|');
    for w in &widths {
        let _ = write!(out, "{}|", "-".repeat(w + 2));
    }
    out.push('\n');
    for row in &grid {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}

/// A sequence diagram, the model both the Mermaid text and the SVG are drawn from.
#[derive(Debug, Clone, Default)]
pub struct Diagram {
    /// Participants, left to right: the threads, then the objects in order of first use.
    pub participants: Vec<String>,
    /// The arrows and notes, top to bottom.
    pub items: Vec<Item>,
}

/// How an arrow is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrow {
    /// An operation (`->>`).
    Solid,
    /// A reply or a wake reaching its sleeper (`-->>`).
    Dotted,
    /// Something that did not arrive: a lost wake-up, a missing happens-before edge (`--x`).
    Lost,
}

/// One line of a sequence diagram.
#[derive(Debug, Clone)]
pub enum Item {
    /// An arrow from one participant to another, with its text.
    Message {
        /// Participant index.
        from: usize,
        /// Participant index.
        to: usize,
        /// Label.
        text: String,
        /// Style.
        arrow: Arrow,
    },
    /// A note over the participants `from..=to`.
    Note {
        /// First participant.
        from: usize,
        /// Last participant.
        to: usize,
        /// Text.
        text: String,
    },
}

/// Builds the diagram of the shown steps.
pub fn diagram(trace: &Trace, analysis: &Analysis, rows: &[usize]) -> Diagram {
    let threads = trace.threads.max(1);
    let mut d = Diagram {
        participants: (0..threads).map(Trace::thread_name).collect(),
        items: Vec::new(),
    };
    let mut objects: HashMap<usize, usize> = HashMap::new();
    let mut pointers = HashMap::new();
    let mut last = None::<usize>;
    for &i in rows {
        let skipped = match last {
            Some(prev) => i.saturating_sub(prev + 1),
            None => i,
        };
        if skipped > 0 {
            d.items.push(Item::Note {
                from: 0,
                to: threads - 1,
                text: format!("… {skipped} steps not shown"),
            });
        }
        last = Some(i);
        let e = &trace.events[i];
        let t = e.thread;
        let mut text = format!("#{} {}", i + 1, describe(trace, e, &mut pointers));
        // The object's name is the arrow's target: drop it from the text's front.
        if let Some(o) = e.object {
            let name = &trace.objects[o].name;
            for prefix in [format!("{name}."), format!("{name} ")] {
                if let Some(rest) = text.strip_prefix(&format!("#{} {prefix}", i + 1)) {
                    text = format!("#{} {rest}", i + 1);
                }
            }
        }
        let mark = analysis.marks.get(&i).cloned();
        match (e.op, e.object) {
            (Op::Note, _) => d.items.push(Item::Note {
                from: t,
                to: t,
                text,
            }),
            (Op::Spawn, _) | (Op::Join, _) => {
                let other = e.a as usize;
                let waiting = e.op == Op::Join && e.b == 1;
                if other < threads && other != t && !waiting {
                    let (from, to, arrow) = if e.op == Op::Spawn {
                        (t, other, Arrow::Solid)
                    } else {
                        (other, t, Arrow::Dotted)
                    };
                    if e.op == Op::Join {
                        text = format!("#{} joined", i + 1);
                    }
                    d.items.push(Item::Message {
                        from,
                        to,
                        text,
                        arrow,
                    });
                } else {
                    d.items.push(Item::Note {
                        from: t,
                        to: t,
                        text,
                    });
                }
            }
            (_, Some(o)) => {
                let next = d.participants.len();
                let p = *objects.entry(o).or_insert_with(|| {
                    d.participants.push(trace.objects[o].name.clone());
                    next
                });
                let lost = matches!(&mark, Some(m) if m.contains("LOST"));
                d.items.push(Item::Message {
                    from: t,
                    to: p,
                    text,
                    arrow: if lost { Arrow::Lost } else { Arrow::Solid },
                });
                if let Op::FutexWake { .. } = e.op {
                    if e.b > 0 && ((e.b - 1) as usize) < threads {
                        d.items.push(Item::Message {
                            from: p,
                            to: (e.b - 1) as usize,
                            text: "wakes".to_string(),
                            arrow: Arrow::Dotted,
                        });
                    }
                }
            }
            (_, None) => d.items.push(Item::Note {
                from: t,
                to: t,
                text,
            }),
        }
        if let Some(mark) = mark {
            let over = match (e.object, objects.get(&e.object.unwrap_or(usize::MAX))) {
                (Some(_), Some(&p)) => (t.min(p), t.max(p)),
                _ => (t, t),
            };
            d.items.push(Item::Note {
                from: over.0,
                to: over.1,
                text: mark,
            });
        }
        if let Some((s, l)) = analysis.missing_edge {
            if i == l {
                let from = trace.events[s].thread;
                d.items.push(Item::Message {
                    from,
                    to: t,
                    text: format!("no happens-before from #{} to #{}", s + 1, l + 1),
                    arrow: Arrow::Lost,
                });
            }
        }
    }
    if let Some(prev) = last {
        if prev + 1 < trace.events.len() {
            d.items.push(Item::Note {
                from: 0,
                to: threads - 1,
                text: format!("… {} steps not shown", trace.events.len() - prev - 1),
            });
        }
    }
    d
}

fn mermaid_text(text: &str) -> String {
    let mut s = String::new();
    for c in text.chars() {
        match c {
            '#' => s.push_str("#35;"),
            ';' => s.push_str("#59;"),
            '\n' => s.push(' '),
            '*' => {}
            c => s.push(c),
        }
    }
    s
}

/// The diagram as a Mermaid `sequenceDiagram`.
pub fn mermaid(d: &Diagram) -> String {
    let mut out = String::from("sequenceDiagram\n");
    for (i, p) in d.participants.iter().enumerate() {
        let _ = writeln!(out, "    participant P{i} as {}", mermaid_text(p));
    }
    for item in &d.items {
        match item {
            Item::Message {
                from,
                to,
                text,
                arrow,
            } => {
                let a = match arrow {
                    Arrow::Solid => "->>",
                    Arrow::Dotted => "-->>",
                    Arrow::Lost => "--x",
                };
                let _ = writeln!(out, "    P{from}{a}P{to}: {}", mermaid_text(text));
            }
            Item::Note { from, to, text } => {
                if from == to {
                    let _ = writeln!(out, "    Note over P{from}: {}", mermaid_text(text));
                } else {
                    let _ = writeln!(out, "    Note over P{from},P{to}: {}", mermaid_text(text));
                }
            }
        }
    }
    out
}
