//! What the failing execution shows: the racing accesses and the missing happens-before edge
//! of a data race; the sleepers and the wake that went nowhere of a deadlock; the steps that
//! matter for the cut.

use std::collections::{BTreeMap, BTreeSet};

use super::trace::{Event, Op, Trace};

/// How the execution failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// loom's "Causality violation": two accesses not ordered by happens-before.
    DataRace,
    /// Every thread blocked (loom's `deadlock;`, shuttle's `deadlock!`).
    Deadlock,
    /// loom's branch limit or shuttle's step limit: a thread that never stops (busy-waits).
    StepLimit,
    /// An assertion or another panic of the model.
    Panic,
}

impl FailureKind {
    /// Classifies a checker's failure message.
    pub fn of(message: &str) -> Self {
        if message.contains("Causality violation") {
            FailureKind::DataRace
        } else if message.contains("deadlock;") || message.contains("deadlock!") {
            FailureKind::Deadlock
        } else if message.contains("Model exceeded maximum number of branches")
            || message.contains("exceeded max_steps bound")
        {
            FailureKind::StepLimit
        } else {
            FailureKind::Panic
        }
    }

    /// A few words for headings.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::DataRace => "data race",
            FailureKind::Deadlock => "deadlock",
            FailureKind::StepLimit => "step limit (never stops)",
            FailureKind::Panic => "assertion",
        }
    }
}

/// What the renderer marks and keeps.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// Per step, what to say about it (`⚠ …`).
    pub marks: BTreeMap<usize, String>,
    /// Objects the failure is about: their steps are kept in the cut.
    pub objects: BTreeSet<usize>,
    /// Steps kept whatever the cut.
    pub keep: BTreeSet<usize>,
    /// A missing happens-before edge: from a step of one thread to a step of another.
    pub missing_edge: Option<(usize, usize)>,
    /// Sentences explaining the failure, for the summary.
    pub findings: Vec<String>,
}

/// The value a step left in its object, if it wrote one.
pub fn written(e: &Event) -> Option<u64> {
    match e.op {
        Op::Store => Some(e.a),
        Op::Swap => Some(e.a),
        Op::Cas { ok: true, .. } => Some(e.b),
        Op::FetchAdd => Some(e.b.wrapping_add(e.a)),
        Op::FetchSub => Some(e.b.wrapping_sub(e.a)),
        Op::FetchOr => Some(e.b | e.a),
        Op::FetchAnd => Some(e.b & e.a),
        Op::FetchUpdate { ok: true } => Some(e.b),
        _ => None,
    }
}

/// The value a step read from its object, if it read one.
pub fn read(e: &Event) -> Option<u64> {
    match e.op {
        Op::Load => Some(e.a),
        Op::Swap | Op::FetchAdd | Op::FetchSub | Op::FetchOr | Op::FetchAnd => Some(e.b),
        Op::Cas { .. } => Some(e.c),
        Op::FetchUpdate { .. } => Some(e.a),
        _ => None,
    }
}

/// The ordering's name.
pub fn order_name(order: u8) -> &'static str {
    match order {
        1 => "Relaxed",
        2 => "Release",
        3 => "Acquire",
        4 => "AcqRel",
        5 => "SeqCst",
        _ => "",
    }
}

fn releases(order: u8) -> bool {
    matches!(order, 2 | 4 | 5)
}

fn acquires(order: u8) -> bool {
    matches!(order, 3..=5)
}

fn blocking(e: &Event) -> bool {
    matches!(
        e.op,
        Op::FutexWait { .. } | Op::CondWait { .. } | Op::Lock | Op::Join
    )
}

/// Analyses `trace` for a failure of `kind`; `culprit` is the thread whose panic failed the
/// execution, when known.
pub fn analyse(trace: &Trace, kind: FailureKind) -> Analysis {
    let mut out = Analysis::default();
    let name = |t: usize| Trace::thread_name(t);
    match kind {
        FailureKind::DataRace => {
            data_race(trace, &mut out);
            // Which lock each racing access held (or did not) is the story: keep the locks.
            for (i, o) in trace.objects.iter().enumerate() {
                if o.kind == super::trace::Kind::Mutex {
                    out.objects.insert(i);
                }
            }
        }
        FailureKind::Deadlock => deadlock(trace, &mut out),
        FailureKind::StepLimit => {
            if let Some(last) = trace.events.last() {
                out.findings.push(format!(
                    "{} never stops: the last steps of each thread repeat without end",
                    name(last.thread)
                ));
            }
        }
        FailureKind::Panic if !trace.notes.is_empty() => {
            // The model noted its operations (a history checker's): they are what failed.
        }
        FailureKind::Panic => {
            // The panicking thread's last steps name the objects of the failed check.
            if let Some(last) = trace.events.last() {
                let culprit = last.thread;
                for (i, e) in trace.events.iter().enumerate().rev() {
                    if e.thread != culprit {
                        continue;
                    }
                    if let Some(o) = e.object {
                        out.objects.insert(o);
                    }
                    out.keep.insert(i);
                    if out.keep.len() >= 3 {
                        break;
                    }
                }
            }
        }
    }
    // Timed-out and spurious returns are what many failures turn on: say so where they are.
    for (i, e) in trace.events.iter().enumerate() {
        match e.op {
            Op::FutexSpurious => {
                out.marks
                    .entry(i)
                    .or_insert_with(|| "↯ returned spuriously".to_string());
            }
            Op::FutexTimedOut | Op::CondReturn { timed_out: true } => {
                out.marks
                    .entry(i)
                    .or_insert_with(|| "◷ timed out".to_string());
            }
            _ => {}
        }
    }
    out
}

fn data_race(trace: &Trace, out: &mut Analysis) {
    // loom panics inside the second access, after the trace recorded it: it is the last cell
    // access.
    let Some(b) = trace
        .events
        .iter()
        .rposition(|e| matches!(e.op, Op::CellRead | Op::CellWrite))
    else {
        return;
    };
    let eb = &trace.events[b];
    let Some(cell) = eb.object else { return };
    out.objects.insert(cell);
    let b_writes = eb.op == Op::CellWrite;
    let a = trace.events[..b].iter().rposition(|e| {
        e.object == Some(cell)
            && e.thread != eb.thread
            && (b_writes || e.op == Op::CellWrite)
            && matches!(e.op, Op::CellRead | Op::CellWrite)
    });
    let cell_name = trace.object_name(Some(cell));
    let tb = Trace::thread_name(eb.thread);
    let Some(a) = a else {
        out.marks.insert(b, "⚠ data race".to_string());
        out.findings.push(format!(
            "{tb}'s access to `{cell_name}` races with an access the trace does not show"
        ));
        return;
    };
    let ea = &trace.events[a];
    let ta = Trace::thread_name(ea.thread);
    let access = |e: &Event| {
        if e.op == Op::CellWrite {
            "write"
        } else {
            "read"
        }
    };
    out.marks.insert(a, format!("⚠ races with #{}", b + 1));
    out.marks.insert(b, format!("⚠ DATA RACE with #{}", a + 1));
    out.keep.extend([a, b]);
    out.findings.push(format!(
        "data race on `{cell_name}`: {ta}'s {} (#{}) and {tb}'s {} (#{}) are not ordered by happens-before",
        access(ea),
        a + 1,
        access(eb),
        b + 1
    ));
    // The edge that should have ordered them: a load of B's thread, before B, that read a
    // value A's thread wrote after A — a reads-from that did not synchronise.
    let mut edge = None;
    for (j, load) in trace.events[..b].iter().enumerate().rev() {
        if load.thread != eb.thread {
            continue;
        }
        let (Some(object), Some(v)) = (load.object, read(load)) else {
            continue;
        };
        let store = trace.events[a + 1..j.max(a + 1)]
            .iter()
            .enumerate()
            .rev()
            .find(|(_, s)| {
                s.thread == ea.thread && s.object == Some(object) && written(s) == Some(v)
            })
            .map(|(k, _)| a + 1 + k);
        if let Some(s) = store {
            edge = Some((s, j));
            break;
        }
    }
    match edge {
        Some((s, l)) => {
            let es = &trace.events[s];
            let el = &trace.events[l];
            let object = trace.object_name(es.object);
            let what = match (releases(es.order), acquires(el.order)) {
                (false, false) => "neither is a Release/Acquire pair",
                (false, true) => "the store is not a Release",
                (true, false) => "the load is not an Acquire",
                (true, true) => "yet the pair does not order the race (another write intervened)",
            };
            out.marks.insert(
                s,
                format!(
                    "⚠ no happens-before: {} store, read by #{}",
                    order_name(es.order),
                    l + 1
                ),
            );
            out.marks.insert(
                l,
                format!(
                    "⚠ no happens-before: {} load of #{}",
                    order_name(el.order),
                    s + 1
                ),
            );
            out.keep.extend([s, l]);
            if let Some(o) = es.object {
                out.objects.insert(o);
            }
            out.missing_edge = Some((s, l));
            out.findings.push(format!(
                "missing happens-before edge: {tb} read `{object}` (#{}) as written by {ta} (#{}), \
                 but {what}, so {ta}'s {} before it is not ordered before {tb}'s {}",
                l + 1,
                s + 1,
                access(ea),
                access(eb)
            ));
        }
        None => out.findings.push(format!(
            "nothing {tb} did before #{} synchronised with {ta} after #{}",
            b + 1,
            a + 1
        )),
    }
}

fn deadlock(trace: &Trace, out: &mut Analysis) {
    let mut asleep_on = BTreeSet::new();
    for &(thread, event) in &trace.blocked {
        let Some(e) = trace.events.get(event) else {
            continue;
        };
        out.keep.insert(event);
        let t = Trace::thread_name(thread);
        let what = match e.op {
            Op::FutexWait { .. } => format!(
                "asleep in a futex wait on `{}`",
                trace.object_name(e.object)
            ),
            Op::CondWait { .. } => format!("asleep on condvar `{}`", trace.object_name(e.object)),
            Op::Lock => format!("blocked locking `{}`", trace.object_name(e.object)),
            Op::Join => format!("blocked joining {}", Trace::thread_name(e.a as usize)),
            _ => "blocked".to_string(),
        };
        out.marks.insert(event, format!("‖ {what}, never woken"));
        out.findings
            .push(format!("{t} is {what} (#{}), forever", event + 1));
        if let Some(o) = e.object {
            out.objects.insert(o);
            asleep_on.insert(o);
            if let Op::CondWait { .. } = e.op {
                // The condvar's mutex matters too.
                if let Some(m) = trace.objects.iter().position(|x| x.addr == e.b) {
                    out.objects.insert(m);
                }
            }
        }
    }
    // The wakes that went nowhere, on an object somebody sleeps on by the end: a futex wake
    // that found nobody queued (too early, or in the other scope), or a condvar notify that no
    // wait returned from (a thread that has announced its wait is not yet waiting: the
    // checkers switch threads before a condvar wait releases its mutex).
    for (i, e) in trace.events.iter().enumerate() {
        let Some(o) = e.object else { continue };
        if !asleep_on.contains(&o) {
            continue;
        }
        let lost = match e.op {
            Op::FutexWake { .. } => e.a == 0,
            Op::Notify { .. } => !trace.events[i + 1..]
                .iter()
                .any(|r| r.object == Some(o) && matches!(r.op, Op::CondReturn { .. })),
            _ => false,
        };
        if !lost {
            continue;
        }
        let sleeper = trace
            .blocked
            .iter()
            .find(|(_, ev)| trace.events.get(*ev).is_some_and(|s| s.object == Some(o)));
        let scope_mismatch = match (e.op, sleeper.map(|(_, ev)| trace.events[*ev].op)) {
            (
                Op::FutexWake { cross_process, .. },
                Some(Op::FutexWait {
                    cross_process: sleeper_scope,
                    ..
                }),
            ) => cross_process != sleeper_scope,
            _ => false,
        };
        let sleeper_name =
            sleeper.map_or("the sleeper".to_string(), |(t, _)| Trace::thread_name(*t));
        let announced = sleeper.is_some_and(|(_, ev)| *ev < i);
        let why = if scope_mismatch {
            "wrong scope: it cannot reach the sleeper".to_string()
        } else if matches!(e.op, Op::Notify { .. }) && announced {
            format!("{sleeper_name} had announced its wait but was not waiting yet")
        } else if announced {
            "nobody waiting".to_string()
        } else {
            format!("nobody waiting yet: {sleeper_name} went to sleep after it")
        };
        out.marks
            .insert(i, format!("⚠ LOST WAKE-UP: reached nobody ({why})"));
        out.keep.insert(i);
        out.findings.push(format!(
            "{}'s wake of `{}` (#{}) went nowhere: {why}",
            Trace::thread_name(e.thread),
            trace.object_name(Some(o)),
            i + 1
        ));
    }
    // A sleeper nobody tried to wake after it slept.
    for &(thread, event) in &trace.blocked {
        let Some(e) = trace.events.get(event) else {
            continue;
        };
        if !blocking(e) || e.op == Op::Join {
            continue;
        }
        let woken_later = trace.events[event + 1..].iter().any(|w| {
            w.object == e.object && matches!(w.op, Op::FutexWake { .. } | Op::Notify { .. })
        });
        if !woken_later && e.op != Op::Lock {
            out.findings.push(format!(
                "nobody woke `{}` after {} went to sleep on it",
                trace.object_name(e.object),
                Trace::thread_name(thread)
            ));
        }
    }
}
