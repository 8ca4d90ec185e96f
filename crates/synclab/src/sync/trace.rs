//! What a design did, step by step, under a model checker: the trace behind a counterexample.
//!
//! Under `--cfg synclab_loom` or `--cfg synclab_shuttle` every primitive of this module's parent
//! records what it does while the verification harness has recording switched on: each atomic
//! access (the ordering, the value read, the value written, the result of a compare-and-swap),
//! each fence, each access to an [`UnsafeCell`](super::UnsafeCell), each futex wait (and how it
//! returned: woken, spuriously, timed out, or at once because the word differed) and wake (and
//! whom it woke), each lock, unlock, condvar wait and notify of the checker's own mutex and
//! condvar, each spawn, join, sleep and spin hint — with the thread, the object and the source
//! line that called it (`#[track_caller]`). The harness turns the execution that failed into a
//! table with a column per thread and a sequence diagram (see `synclab-verification`).
//!
//! In the plain build nothing here records anything, and [`label`] and [`note`] compile to
//! nothing: the real designs pay no instruction for being traceable.
//!
//! Objects are named for the reader, in this order of preference: a name given with [`label`];
//! the field the object was created for, read from the source line of its constructor
//! (`head: AtomicUsize::new(0)` names it `head`); a short alias (`atomic#3`).

use core::fmt;

/// Names `object` in the traces of the checkers (no effect in the plain build).
///
/// The label is keyed by the object's address, so give it where the object lives — after it
/// has been moved into its `Arc` or its parent, not to a local that is then moved. Without a
/// label an object is named after the field its constructor initialised, which is usually
/// what you want.
///
/// ```
/// use synclab::sync::{atomic::AtomicU32, trace, Arc};
///
/// let flag = Arc::new(AtomicU32::new(0));
/// trace::label(&*flag, "ready");
/// ```
#[inline(always)]
pub fn label<T: ?Sized>(object: &T, name: impl fmt::Display) {
    #[cfg(any(synclab_loom, synclab_shuttle))]
    recorder::label((object as *const T).cast::<()>() as usize, &name);
    #[cfg(not(any(synclab_loom, synclab_shuttle)))]
    let _ = (object, name);
}

/// Writes `text` into the trace as a step of the calling thread (no effect in the plain build):
/// an operation starting or returning, say, so that the table shows `push(1)` above the atomic
/// accesses it made. The linearizability recorder of the harness notes every operation.
#[inline(always)]
#[cfg_attr(any(synclab_loom, synclab_shuttle), track_caller)]
pub fn note(text: impl fmt::Display) {
    #[cfg(any(synclab_loom, synclab_shuttle))]
    recorder::note(&text);
    #[cfg(not(any(synclab_loom, synclab_shuttle)))]
    let _ = text;
}

/// The harness's one switch (not part of the API): `record(true)` starts recording a fresh
/// execution on this OS thread, dropping what was recorded, and returns an empty string;
/// `record(false)` stops recording and returns the execution recorded, one record per line (a
/// format private to this crate and the verification harness, which parses it).
#[cfg(any(synclab_loom, synclab_shuttle))]
#[doc(hidden)]
pub fn record(on: bool) -> String {
    let recorded = if on { String::new() } else { recorder::dump() };
    recorder::set_recording(on);
    recorded
}

/// The recorder behind the checkers' primitives: one execution's steps, kept per OS thread
/// (loom and shuttle run every model thread of an execution as a coroutine on the OS thread that
/// called the checker, and tests run on different OS threads, so a thread-local is exactly one
/// execution).
#[cfg(any(synclab_loom, synclab_shuttle))]
pub(crate) mod recorder {
    use core::cell::{Cell, RefCell};
    use core::fmt::{self, Write as _};
    use core::panic::Location;
    use std::collections::HashMap;

    use super::super::world::thread_key;
    use super::super::world::ThreadKey;

    /// What one step did. The meaning of an event's three values depends on its kind.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Op {
        /// `a` = value read.
        Load,
        /// `a` = value written.
        Store,
        /// `a` = value written, `b` = value read.
        Swap,
        /// `a` = expected, `b` = new, `c` = value read; `ok` whether it wrote.
        Cas {
            weak: bool,
            ok: bool,
        },
        /// `a` = operand, `b` = value read (the new value is computed by the renderer).
        FetchAdd,
        FetchSub,
        FetchOr,
        FetchAnd,
        /// `a` = value read, `b` = value written; `ok` whether the closure gave one.
        FetchUpdate {
            ok: bool,
        },
        Fence,
        CellRead,
        CellWrite,
        /// A futex wait that compared: `a` = expected, `b` = the word's value; it sleeps if
        /// they are equal (then `Woken` or `TimedOut` follows), else returns at once.
        FutexWait {
            cross_process: bool,
            timed: bool,
        },
        /// A futex wait that returned spuriously before comparing; `a` = expected.
        FutexSpurious,
        FutexWoken,
        FutexTimedOut,
        /// `a` = how many it woke, `b` = the first woken thread's index + 1 (0: none).
        FutexWake {
            cross_process: bool,
            all: bool,
        },
        Lock,
        /// `ok` whether it took the lock.
        TryLock {
            ok: bool,
        },
        Unlock,
        /// Releases the mutex `b` (an object index) and sleeps on the condvar.
        CondWait {
            timed: bool,
        },
        /// `ok`: timed out.
        CondReturn {
            timed_out: bool,
        },
        Notify {
            all: bool,
        },
        /// `a` = the child's thread index.
        Spawn,
        /// `a` = the joined thread's index.
        Join,
        /// `a` = requested milliseconds.
        Sleep,
        Spin,
        /// `a` = index into the notes.
        Note,
    }

    /// What kind of object a step touched, for its alias and its value format.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(crate) enum Kind {
        Bool,
        Unsigned,
        Signed,
        Pointer,
        Cell,
        Mutex,
        Condvar,
        None,
    }

    impl Kind {
        fn name(self) -> &'static str {
            match self {
                Kind::Bool => "bool",
                Kind::Unsigned => "uint",
                Kind::Signed => "int",
                Kind::Pointer => "ptr",
                Kind::Cell => "cell",
                Kind::Mutex => "mutex",
                Kind::Condvar => "condvar",
                Kind::None => "-",
            }
        }
    }

    /// Where and when an object was made: kept in each traced object (checker builds only), so
    /// that the trace can name it after the field its constructor initialised.
    #[derive(Debug, Clone, Copy)]
    pub(crate) struct Origin {
        pub(crate) at: &'static Location<'static>,
        pub(crate) seq: u32,
    }

    impl Origin {
        /// The origin of an object created here, now.
        #[track_caller]
        pub(crate) fn here() -> Self {
            let seq = ON.with(|on| {
                if on.get() {
                    RECORDER.with(|r| {
                        let mut r = r.borrow_mut();
                        r.created += 1;
                        r.created
                    })
                } else {
                    0
                }
            });
            Origin {
                at: Location::caller(),
                seq,
            }
        }
    }

    struct Event {
        thread: u16,
        op: Op,
        object: u32,
        order: u8,
        failure_order: u8,
        a: u64,
        b: u64,
        c: u64,
        at: &'static Location<'static>,
    }

    struct Object {
        addr: usize,
        kind: Kind,
        origin: Option<Origin>,
        label: Option<String>,
    }

    #[derive(Default)]
    struct Recorder {
        events: Vec<Event>,
        objects: Vec<Object>,
        /// The object living at an address now.
        by_addr: HashMap<usize, u32>,
        labels: HashMap<usize, String>,
        threads: Vec<ThreadKey>,
        /// Per thread, the event it is blocked in (a futex sleep, a lock, a join, …), if any.
        blocked: Vec<Option<usize>>,
        notes: Vec<String>,
        /// Objects created since recording started (their `Origin::seq`).
        created: u32,
    }

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static RECORDER: RefCell<Recorder> = RefCell::new(Recorder::default());
    }

    pub(crate) fn set_recording(on: bool) {
        ON.with(|flag| flag.set(on));
        RECORDER.with(|r| {
            let mut r = r.borrow_mut();
            r.events.clear();
            r.objects.clear();
            r.by_addr.clear();
            r.labels.clear();
            r.threads.clear();
            r.blocked.clear();
            r.notes.clear();
            r.created = 0;
        });
    }

    /// Whether a step should be recorded now: recording is on and the thread is not unwinding
    /// (a checker tearing down a failed execution drops guards; their unlock is not a step, and
    /// asking the checker which thread runs could panic again).
    #[inline]
    pub(crate) fn on() -> bool {
        ON.with(Cell::get) && !std::thread::panicking()
    }

    fn ordering(order: core::sync::atomic::Ordering) -> u8 {
        use core::sync::atomic::Ordering::*;
        match order {
            Relaxed => 1,
            Release => 2,
            Acquire => 3,
            AcqRel => 4,
            SeqCst => 5,
            _ => 0,
        }
    }

    impl Recorder {
        fn thread_index(&mut self, key: ThreadKey) -> usize {
            if let Some(i) = self.threads.iter().position(|k| *k == key) {
                return i;
            }
            self.threads.push(key);
            self.blocked.push(None);
            self.threads.len() - 1
        }

        fn object(&mut self, addr: usize, kind: Kind, origin: Option<Origin>) -> u32 {
            if let Some(&i) = self.by_addr.get(&addr) {
                let known = &self.objects[i as usize];
                let same = match (known.origin, origin) {
                    (Some(a), Some(b)) => a.seq == b.seq && core::ptr::eq(a.at, b.at),
                    _ => known.kind == kind,
                };
                if same {
                    return i;
                }
            }
            let i = self.objects.len() as u32;
            self.objects.push(Object {
                addr,
                kind,
                origin,
                label: self.labels.get(&addr).cloned(),
            });
            self.by_addr.insert(addr, i);
            i
        }
    }

    /// One step of the calling model thread on the object at `addr`.
    pub(crate) struct Step {
        pub(crate) op: Op,
        pub(crate) addr: usize,
        pub(crate) kind: Kind,
        pub(crate) origin: Option<Origin>,
        pub(crate) order: Option<core::sync::atomic::Ordering>,
        pub(crate) failure_order: Option<core::sync::atomic::Ordering>,
        pub(crate) values: [u64; 3],
    }

    impl Step {
        pub(crate) fn new(op: Op) -> Self {
            Step {
                op,
                addr: 0,
                kind: Kind::None,
                origin: None,
                order: None,
                failure_order: None,
                values: [0; 3],
            }
        }

        pub(crate) fn on(mut self, addr: usize, kind: Kind, origin: Option<Origin>) -> Self {
            self.addr = addr;
            self.kind = kind;
            self.origin = origin;
            self
        }

        pub(crate) fn order(mut self, order: core::sync::atomic::Ordering) -> Self {
            self.order = Some(order);
            self
        }

        pub(crate) fn orders(
            mut self,
            success: core::sync::atomic::Ordering,
            failure: core::sync::atomic::Ordering,
        ) -> Self {
            self.order = Some(success);
            self.failure_order = Some(failure);
            self
        }

        pub(crate) fn values(mut self, a: u64, b: u64, c: u64) -> Self {
            self.values = [a, b, c];
            self
        }

        /// Records the step for the calling model thread; returns the event's index.
        pub(crate) fn record(self, at: &'static Location<'static>) -> Option<usize> {
            if !on() {
                return None;
            }
            let key = thread_key();
            RECORDER.with(|r| {
                let mut r = r.borrow_mut();
                let thread = r.thread_index(key);
                let object = if self.addr == 0 {
                    u32::MAX
                } else {
                    r.object(self.addr, self.kind, self.origin)
                };
                r.events.push(Event {
                    thread: thread as u16,
                    op: self.op,
                    object,
                    order: self.order.map_or(0, ordering),
                    failure_order: self.failure_order.map_or(0, ordering),
                    a: self.values[0],
                    b: self.values[1],
                    c: self.values[2],
                    at,
                });
                Some(r.events.len() - 1)
            })
        }
    }

    /// Records `step`, the end of a blocking step that began with event `began`: in place of
    /// it if nothing happened in between (it did not block), else as a step of its own.
    pub(crate) fn finish(began: Option<usize>, step: Step, at: &'static Location<'static>) {
        let Some(began) = began else {
            step.record(at);
            return;
        };
        let last = RECORDER.with(|r| r.borrow().events.len().checked_sub(1));
        if last == Some(began) {
            RECORDER.with(|r| {
                r.borrow_mut().events.pop();
            });
        }
        step.record(at);
    }

    /// Marks the calling thread as blocked in event `event` (`Some`) or running again (`None`).
    pub(crate) fn blocked(event: Option<usize>) {
        if !on() {
            return;
        }
        let key = thread_key();
        RECORDER.with(|r| {
            let mut r = r.borrow_mut();
            let thread = r.thread_index(key);
            r.blocked[thread] = event;
        });
    }

    /// The trace index of a model thread (registering it if new).
    pub(crate) fn thread_index(key: ThreadKey) -> usize {
        RECORDER.with(|r| r.borrow_mut().thread_index(key))
    }

    /// Fills in value `slot` of event `event` (the child of a spawn, known only afterwards).
    pub(crate) fn patch(event: Option<usize>, slot: usize, value: u64) {
        if let Some(event) = event {
            RECORDER.with(|r| {
                if let Some(e) = r.borrow_mut().events.get_mut(event) {
                    match slot {
                        0 => e.a = value,
                        1 => e.b = value,
                        _ => e.c = value,
                    }
                }
            });
        }
    }

    pub(crate) fn label(addr: usize, name: &dyn fmt::Display) {
        if !ON.with(Cell::get) {
            return;
        }
        let name = name.to_string();
        RECORDER.with(|r| {
            let mut r = r.borrow_mut();
            if let Some(&i) = r.by_addr.get(&addr) {
                r.objects[i as usize].label = Some(name.clone());
            }
            r.labels.insert(addr, name);
        });
    }

    #[track_caller]
    pub(crate) fn note(text: &dyn fmt::Display) {
        if !on() {
            return;
        }
        let text = text.to_string();
        let index = RECORDER.with(|r| {
            let mut r = r.borrow_mut();
            r.notes.push(text);
            r.notes.len() as u64 - 1
        });
        Step::new(Op::Note)
            .values(index, 0, 0)
            .record(Location::caller());
    }

    /// Text without the line format's separators.
    fn clean(text: &str) -> String {
        text.replace(['\t', '\n', '\r'], " ")
    }

    fn location(at: &Location<'_>) -> String {
        format!("{}:{}:{}", clean(at.file()), at.line(), at.column())
    }

    fn op_text(op: Op) -> String {
        match op {
            Op::Cas { weak, ok } => format!("cas {} {}", u8::from(weak), u8::from(ok)),
            Op::FetchUpdate { ok } => format!("fetch_update {}", u8::from(ok)),
            Op::FutexWait {
                cross_process,
                timed,
            } => format!("futex_wait {} {}", u8::from(cross_process), u8::from(timed)),
            Op::FutexWake { cross_process, all } => {
                format!("futex_wake {} {}", u8::from(cross_process), u8::from(all))
            }
            Op::TryLock { ok } => format!("try_lock {}", u8::from(ok)),
            Op::CondWait { timed } => format!("cond_wait {}", u8::from(timed)),
            Op::CondReturn { timed_out } => format!("cond_return {}", u8::from(timed_out)),
            Op::Notify { all } => format!("notify {}", u8::from(all)),
            other => {
                let name = match other {
                    Op::Load => "load",
                    Op::Store => "store",
                    Op::Swap => "swap",
                    Op::FetchAdd => "fetch_add",
                    Op::FetchSub => "fetch_sub",
                    Op::FetchOr => "fetch_or",
                    Op::FetchAnd => "fetch_and",
                    Op::Fence => "fence",
                    Op::CellRead => "cell_read",
                    Op::CellWrite => "cell_write",
                    Op::FutexSpurious => "futex_spurious",
                    Op::FutexWoken => "futex_woken",
                    Op::FutexTimedOut => "futex_timed_out",
                    Op::Lock => "lock",
                    Op::Unlock => "unlock",
                    Op::Spawn => "spawn",
                    Op::Join => "join",
                    Op::Sleep => "sleep",
                    Op::Spin => "spin",
                    _ => "note",
                };
                name.to_string()
            }
        }
    }

    /// The recorded execution, one record per line, fields separated by tabs:
    ///
    /// * `T  index` — a model thread (0 is the one that started the execution);
    /// * `O  index  kind  address  origin-location  origin-seq  label` — an object;
    /// * `E  thread  object  op-and-flags  order  failure-order  a  b  c  location` — a step,
    ///   in execution order (`object` is `-` for none; orders are 0 none, 1 Relaxed,
    ///   2 Release, 3 Acquire, 4 AcqRel, 5 SeqCst);
    /// * `B  thread  event` — a thread blocked in that step when the trace was taken;
    /// * `N  index  text` — a note's text.
    pub(crate) fn dump() -> String {
        RECORDER.with(|r| {
            let r = r.borrow();
            let mut out = String::new();
            for i in 0..r.threads.len() {
                let _ = writeln!(out, "T\t{i}");
            }
            for (i, o) in r.objects.iter().enumerate() {
                let (origin, seq) = match o.origin {
                    Some(origin) => (location(origin.at), origin.seq),
                    None => ("-".to_string(), 0),
                };
                let _ = writeln!(
                    out,
                    "O\t{i}\t{}\t{:#x}\t{origin}\t{seq}\t{}",
                    o.kind.name(),
                    o.addr,
                    o.label.as_deref().map(clean).unwrap_or_default()
                );
            }
            for e in &r.events {
                let object = if e.object == u32::MAX {
                    "-".to_string()
                } else {
                    e.object.to_string()
                };
                let _ = writeln!(
                    out,
                    "E\t{}\t{object}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    e.thread,
                    op_text(e.op),
                    e.order,
                    e.failure_order,
                    e.a,
                    e.b,
                    e.c,
                    location(e.at)
                );
            }
            for (thread, blocked) in r.blocked.iter().enumerate() {
                if let Some(event) = blocked {
                    let _ = writeln!(out, "B\t{thread}\t{event}");
                }
            }
            for (i, note) in r.notes.iter().enumerate() {
                let _ = writeln!(out, "N\t{i}\t{}", clean(note));
            }
            out
        })
    }
}
