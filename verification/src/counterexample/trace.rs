//! One recorded execution, parsed from the line format `synclab::sync::trace::record(false)`
//! returns, with its objects named for a reader.

use std::collections::HashMap;

use super::source::Sources;

/// What a step did (see `synclab::sync::trace`; the values' meaning depends on the kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `a` = value read.
    Load,
    /// `a` = value written.
    Store,
    /// `a` = written, `b` = read.
    Swap,
    /// `a` = expected, `b` = new, `c` = read.
    Cas {
        /// `compare_exchange_weak`.
        weak: bool,
        /// It wrote.
        ok: bool,
    },
    /// `a` = operand, `b` = value read.
    FetchAdd,
    /// `a` = operand, `b` = value read.
    FetchSub,
    /// `a` = operand, `b` = value read.
    FetchOr,
    /// `a` = operand, `b` = value read.
    FetchAnd,
    /// `a` = read, `b` = written.
    FetchUpdate {
        /// The closure gave a value.
        ok: bool,
    },
    /// A fence.
    Fence,
    /// A shared access to a cell.
    CellRead,
    /// An exclusive access to a cell.
    CellWrite,
    /// A futex wait that compared: `a` = expected, `b` = the word.
    FutexWait {
        /// The cross-process scope.
        cross_process: bool,
        /// A timed wait.
        timed: bool,
    },
    /// A futex wait that returned spuriously.
    FutexSpurious,
    /// A sleeping futex wait was woken.
    FutexWoken,
    /// A sleeping futex wait timed out.
    FutexTimedOut,
    /// `a` = woken, `b` = first woken thread + 1.
    FutexWake {
        /// The cross-process scope.
        cross_process: bool,
        /// `wake_all`.
        all: bool,
    },
    /// A lock taken (`a` = 1: the request, still waiting).
    Lock,
    /// A `try_lock`.
    TryLock {
        /// It took the lock.
        ok: bool,
    },
    /// A lock released.
    Unlock,
    /// A condvar wait began: `b` = the mutex's address.
    CondWait {
        /// `wait_timeout`.
        timed: bool,
    },
    /// A condvar wait returned.
    CondReturn {
        /// It timed out.
        timed_out: bool,
    },
    /// A condvar notify.
    Notify {
        /// `notify_all`.
        all: bool,
    },
    /// `a` = child.
    Spawn,
    /// `a` = joined thread, `b` = 1 while waiting.
    Join,
    /// `a` = milliseconds asked for.
    Sleep,
    /// A spin hint.
    Spin,
    /// `a` = note index.
    Note,
}

/// What an object is, for its value format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `AtomicBool`.
    Bool,
    /// Unsigned integer atomics.
    Unsigned,
    /// Signed integer atomics.
    Signed,
    /// `AtomicPtr`.
    Pointer,
    /// `UnsafeCell`.
    Cell,
    /// The checker's mutex.
    Mutex,
    /// The checker's condvar.
    Condvar,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Event {
    /// The thread's index (0 started the execution).
    pub thread: usize,
    /// The object's index, if the step touched one.
    pub object: Option<usize>,
    /// What it did.
    pub op: Op,
    /// Its memory ordering (0 none, 1 Relaxed, 2 Release, 3 Acquire, 4 AcqRel, 5 SeqCst).
    pub order: u8,
    /// A compare-and-swap's failure ordering.
    pub failure_order: u8,
    /// First value.
    pub a: u64,
    /// Second value.
    pub b: u64,
    /// Third value.
    pub c: u64,
    /// `file:line:column` of the caller.
    pub at: String,
}

/// An object a step touched.
#[derive(Debug, Clone)]
pub struct Object {
    /// Its kind.
    pub kind: Kind,
    /// Its address (for pairing a condvar wait's mutex).
    pub addr: u64,
    /// Where it was created, `file:line:column`.
    pub origin: Option<String>,
    /// Creation order.
    pub seq: u32,
    /// The name a design gave it.
    pub label: Option<String>,
    /// The name shown (filled by [`Trace::name_objects`]).
    pub name: String,
}

/// One recorded execution.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// How many model threads took part.
    pub threads: usize,
    /// The objects, by index.
    pub objects: Vec<Object>,
    /// The steps, in execution order.
    pub events: Vec<Event>,
    /// Threads blocked when the trace was taken, with the step they block in.
    pub blocked: Vec<(usize, usize)>,
    /// The notes' texts.
    pub notes: Vec<String>,
}

fn op(text: &str) -> Option<Op> {
    let mut words = text.split(' ');
    let name = words.next()?;
    let mut flag = || words.next().map(|w| w == "1");
    Some(match name {
        "load" => Op::Load,
        "store" => Op::Store,
        "swap" => Op::Swap,
        "cas" => Op::Cas {
            weak: flag()?,
            ok: flag()?,
        },
        "fetch_add" => Op::FetchAdd,
        "fetch_sub" => Op::FetchSub,
        "fetch_or" => Op::FetchOr,
        "fetch_and" => Op::FetchAnd,
        "fetch_update" => Op::FetchUpdate { ok: flag()? },
        "fence" => Op::Fence,
        "cell_read" => Op::CellRead,
        "cell_write" => Op::CellWrite,
        "futex_wait" => Op::FutexWait {
            cross_process: flag()?,
            timed: flag()?,
        },
        "futex_spurious" => Op::FutexSpurious,
        "futex_woken" => Op::FutexWoken,
        "futex_timed_out" => Op::FutexTimedOut,
        "futex_wake" => Op::FutexWake {
            cross_process: flag()?,
            all: flag()?,
        },
        "lock" => Op::Lock,
        "try_lock" => Op::TryLock { ok: flag()? },
        "unlock" => Op::Unlock,
        "cond_wait" => Op::CondWait { timed: flag()? },
        "cond_return" => Op::CondReturn { timed_out: flag()? },
        "notify" => Op::Notify { all: flag()? },
        "spawn" => Op::Spawn,
        "join" => Op::Join,
        "sleep" => Op::Sleep,
        "spin" => Op::Spin,
        "note" => Op::Note,
        _ => return None,
    })
}

fn kind(text: &str) -> Option<Kind> {
    Some(match text {
        "bool" => Kind::Bool,
        "uint" => Kind::Unsigned,
        "int" => Kind::Signed,
        "ptr" => Kind::Pointer,
        "cell" => Kind::Cell,
        "mutex" => Kind::Mutex,
        "condvar" => Kind::Condvar,
        _ => return None,
    })
}

impl Trace {
    /// Parses `synclab::sync::trace::record(false)`'s output; a line it does not understand is an
    /// error naming the line.
    pub fn parse(text: &str) -> Result<Trace, String> {
        let mut trace = Trace::default();
        for (n, line) in text.lines().enumerate() {
            let f: Vec<&str> = line.split('\t').collect();
            let bad = || format!("trace line {}: cannot read {line:?}", n + 1);
            let num = |i: usize| -> Result<u64, String> {
                f.get(i).and_then(|s| s.parse().ok()).ok_or_else(bad)
            };
            match f.first().copied() {
                Some("T") => trace.threads = trace.threads.max(num(1)? as usize + 1),
                Some("O") => {
                    let addr = f
                        .get(3)
                        .and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                        .ok_or_else(bad)?;
                    trace.objects.push(Object {
                        kind: f.get(2).and_then(|k| kind(k)).ok_or_else(bad)?,
                        addr,
                        origin: f.get(4).filter(|s| **s != "-").map(|s| s.to_string()),
                        seq: num(5)? as u32,
                        label: f.get(6).filter(|s| !s.is_empty()).map(|s| s.to_string()),
                        name: String::new(),
                    });
                }
                Some("E") => {
                    let object = match f.get(2) {
                        Some(&"-") => None,
                        Some(s) => Some(s.parse().map_err(|_| bad())?),
                        None => return Err(bad()),
                    };
                    trace.events.push(Event {
                        thread: num(1)? as usize,
                        object,
                        op: f.get(3).and_then(|o| op(o)).ok_or_else(bad)?,
                        order: num(4)? as u8,
                        failure_order: num(5)? as u8,
                        a: num(6)?,
                        b: num(7)?,
                        c: num(8)?,
                        at: f.get(9).ok_or_else(bad)?.to_string(),
                    });
                }
                Some("B") => trace.blocked.push((num(1)? as usize, num(2)? as usize)),
                Some("N") => trace.notes.push(f.get(2).unwrap_or(&"").to_string()),
                Some("") | None => {}
                Some(_) => return Err(bad()),
            }
        }
        Ok(trace)
    }

    /// A thread's name: `main` for the one that started the execution, `t1`, `t2`, … for the
    /// others in the order they appeared.
    pub fn thread_name(thread: usize) -> String {
        if thread == 0 {
            "main".to_string()
        } else {
            format!("t{thread}")
        }
    }

    /// Names every object: its label; else the field its constructor initialised (read from
    /// the source line), qualified by the file when two creation sites share it and indexed
    /// by creation order when one site made several; else `kind#n`.
    pub fn name_objects(&mut self, sources: &mut Sources) {
        let fields: Vec<Option<String>> = self
            .objects
            .iter()
            .map(|o| {
                o.label.clone().or_else(|| {
                    o.origin
                        .as_deref()
                        .and_then(|at| sources.field_created_at(at))
                })
            })
            .collect();
        // Which creation sites (file:line:column) each field name came from.
        let mut sites: HashMap<&str, Vec<&str>> = HashMap::new();
        for (o, field) in self.objects.iter().zip(&fields) {
            if let (Some(field), None) = (field, &o.label) {
                let site = o.origin.as_deref().unwrap_or("");
                let list = sites.entry(field.as_str()).or_default();
                if !list.contains(&site) {
                    list.push(site);
                }
            }
        }
        let mut names = Vec::with_capacity(self.objects.len());
        let mut aliases: HashMap<&'static str, usize> = HashMap::new();
        for (o, field) in self.objects.iter().zip(&fields) {
            let name = match (&o.label, field) {
                (Some(label), _) => label.clone(),
                (None, Some(field)) => {
                    let site = o.origin.as_deref().unwrap_or("");
                    let qualified = if sites[field.as_str()].len() > 1 {
                        format!("{}.{field}", file_stem(site))
                    } else {
                        field.clone()
                    };
                    // Several objects from one site: index them by creation order.
                    let mut same: Vec<u32> = self
                        .objects
                        .iter()
                        .zip(&fields)
                        .filter(|(p, f)| {
                            p.label.is_none() && f.as_ref() == Some(field) && p.origin == o.origin
                        })
                        .map(|(p, _)| p.seq)
                        .collect();
                    same.sort_unstable();
                    same.dedup();
                    if same.len() > 1 {
                        let k = same.iter().position(|s| *s == o.seq).unwrap_or(0);
                        format!("{qualified}[{k}]")
                    } else {
                        qualified
                    }
                }
                (None, None) => {
                    let kind = match o.kind {
                        Kind::Bool => "flag",
                        Kind::Unsigned | Kind::Signed => "word",
                        Kind::Pointer => "ptr",
                        Kind::Cell => "cell",
                        Kind::Mutex => "mutex",
                        Kind::Condvar => "condvar",
                    };
                    let n = aliases.entry(kind).or_insert(0);
                    *n += 1;
                    format!("{kind}#{n}")
                }
            };
            names.push(name);
        }
        // Two different objects must never show one name.
        let mut seen: HashMap<String, usize> = HashMap::new();
        for name in &mut names {
            let n = seen.entry(name.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                *name = format!("{name}'{n}");
            }
        }
        for (o, name) in self.objects.iter_mut().zip(names) {
            o.name = name;
        }
    }

    /// The object's shown name.
    pub fn object_name(&self, object: Option<usize>) -> &str {
        object
            .and_then(|o| self.objects.get(o))
            .map_or("?", |o| o.name.as_str())
    }
}

/// `crates/synclab/src/queue/array_queue.rs:10:5` → `array_queue`.
pub fn file_stem(at: &str) -> &str {
    let path = at.split(':').next().unwrap_or(at);
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".rs").unwrap_or(file)
}
