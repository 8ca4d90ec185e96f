//! Counterexamples you can read: a failing execution as a table and a sequence diagram.
//!
//! When a model fails under a checker, the harness ([`crate::Model::check`]) takes the trace of
//! the execution that failed (recorded by `synclab::sync`, see `synclab::sync::trace`), looks
//! for a shorter one (loom: the lowest preemption bound at which the failure appears; shuttle:
//! a shrunk schedule, with its replay string), and prints it:
//!
//! * a **table** with one column per thread, in execution order — Lincheck's shape — cut to
//!   what matters: the steps on the objects the failure is about, the last few steps of every
//!   thread, every operation noted with `synclab::sync::trace::note` (set
//!   `SYNCLAB_TRACE_FULL=1` for every step);
//! * a **sequence diagram** with the threads and the shared objects as participants — the
//!   seed's shape — as Mermaid text and as an SVG file.
//!
//! A data race marks the two racing accesses and the reads-from that did not synchronise (the
//! missing happens-before edge); a deadlock marks each sleeper and the wake that went nowhere.
//! The files go to `<target dir>/counterexamples/` (or `SYNCLAB_TRACE_DIR`).

pub mod analysis;
pub mod render;
pub mod source;
pub mod svg;
pub mod trace;

use std::fmt::Write as _;
use std::path::PathBuf;

pub use analysis::{Analysis, FailureKind};
pub use render::{Cut, Diagram};
pub use trace::Trace;

/// How the shown execution was found and made short.
#[derive(Debug, Clone)]
pub enum Search {
    /// loom explored executions in its order; the failure first appears at `bound`
    /// preemptions (`None`: only without a bound).
    Loom {
        /// The lowest preemption bound that shows the failure.
        bound: Option<usize>,
        /// The bound the model was run with.
        model_bound: Option<usize>,
        /// Whether the failing pass made the first futex wait on each word return spuriously.
        spurious: bool,
    },
    /// shuttle found a failing schedule, then shrank it.
    Shuttle {
        /// Scheduling steps and preemptions of the schedule first found.
        found: (usize, usize),
        /// Scheduling steps and preemptions of the schedule shown.
        shown: (usize, usize),
        /// Candidate schedules run while shrinking.
        runs: usize,
        /// The shown schedule, for `Model::replay` or `shuttle::replay`.
        replay: String,
    },
    /// A schedule given to `Model::replay`.
    Replay {
        /// The schedule.
        replay: String,
    },
}

/// A failing execution, ready to print.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// `loom` or `shuttle`.
    pub checker: &'static str,
    /// The model's name.
    pub model: String,
    /// How it failed.
    pub kind: FailureKind,
    /// The checker's failure message (first line).
    pub message: String,
    /// The lines after the first, when there are a few (a minimal failing history, say).
    pub details: Vec<String>,
    /// The execution.
    pub trace: Trace,
    /// What it shows.
    pub analysis: Analysis,
    /// How it was found.
    pub search: Search,
    /// Seconds to find the failure, and to make it short.
    pub seconds: (f64, f64),
}

/// The rendered forms of a counterexample.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// The steps shown.
    pub shown: usize,
    /// The table.
    pub table: String,
    /// The Mermaid diagram.
    pub mermaid: String,
    /// The SVG diagram.
    pub svg: String,
    /// A heading paragraph: checker, failure, findings, search.
    pub summary: String,
}

impl Counterexample {
    /// Builds a counterexample from a trace dump and the failure message.
    pub fn new(
        checker: &'static str,
        model: &str,
        message: &str,
        dump: &str,
        search: Search,
        seconds: (f64, f64),
    ) -> Result<Self, String> {
        let mut trace = Trace::parse(dump)?;
        let mut sources = source::Sources::new();
        trace.name_objects(&mut sources);
        let kind = FailureKind::of(message);
        let analysis = analysis::analyse(&trace, kind);
        Ok(Counterexample {
            checker,
            model: model.to_string(),
            kind,
            message: message
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .trim_end_matches(':')
                .to_string(),
            details: {
                let rest: Vec<String> = message.lines().skip(1).map(str::to_string).collect();
                if rest.len() <= 12 && !kind_is_checker(kind) {
                    rest
                } else {
                    Vec::new()
                }
            },
            trace,
            analysis,
            search,
            seconds,
        })
    }

    /// The failure in a few words (stable: no addresses, no thread states).
    pub fn failure_text(&self) -> String {
        match self.kind {
            FailureKind::Panic => format!("assertion: {}", self.message),
            FailureKind::DataRace => self.message.clone(),
            other => other.describe().to_string(),
        }
    }

    /// Renders the table, the diagram and the summary.
    pub fn render(&self, cut: Cut) -> Rendered {
        let mut sources = source::Sources::new();
        let rows = render::shown(&self.trace, &self.analysis, cut);
        let table = render::table(&self.trace, &self.analysis, &rows, cut, &mut sources);
        let diagram = render::diagram(&self.trace, &self.analysis, &rows);
        let failure = self.failure_text();
        let mut summary = format!(
            "**{}** — {}{} {} of {} steps shown, {} threads.",
            self.checker,
            failure,
            if failure.ends_with('.') { "" } else { "." },
            rows.len(),
            self.trace.events.len(),
            self.trace.threads
        );
        match &self.search {
            Search::Loom {
                bound, spurious, ..
            } => {
                let _ = write!(
                    summary,
                    " First appears at preemption bound {}{}.",
                    bound.map_or("none (unbounded only)".to_string(), |b| b.to_string()),
                    if *spurious {
                        ", in the pass where each word's first futex wait returns spuriously"
                    } else {
                        ""
                    }
                );
            }
            Search::Shuttle {
                found,
                shown,
                runs,
                replay,
            } => {
                let _ = write!(
                    summary,
                    " Schedule shrunk from {} steps ({} preemptions) to {} ({}) in {runs} runs",
                    found.0, found.1, shown.0, shown.1
                );
                let replay: String = replay.split_whitespace().collect();
                if replay.len() <= 200 {
                    let _ = write!(summary, "; replay: `{replay}`.");
                } else {
                    let _ = write!(
                        summary,
                        "; its replay string is {} characters long (in the failing run's output).",
                        replay.len()
                    );
                }
            }
            Search::Replay { replay } => {
                let _ = write!(summary, " Replayed schedule `{replay}`.");
            }
        }
        if !self.details.is_empty() {
            let _ = write!(summary, "\n\n```text\n{}\n```", self.details.join("\n"));
        }
        for finding in &self.analysis.findings {
            let _ = write!(summary, "\n- {finding}");
        }
        Rendered {
            shown: rows.len(),
            table,
            mermaid: render::mermaid(&diagram),
            svg: svg::svg(&diagram),
            summary,
        }
    }

    /// What the harness prints: the summary, the table, the diagram, and where the files are.
    pub fn report(&self, files: Option<&(PathBuf, PathBuf)>) -> String {
        let cut = Cut {
            full: std::env::var_os("SYNCLAB_TRACE_FULL").is_some(),
            ..Cut::default()
        };
        let r = self.render(cut);
        let mut out = format!(
            "\n==== counterexample: {} ({}) ====\n{}\n\n{}\n```mermaid\n{}```\n",
            self.model, self.checker, r.summary, r.table, r.mermaid
        );
        let _ = writeln!(
            out,
            "found in {:.2} s, made short in {:.2} s{}",
            self.seconds.0,
            self.seconds.1,
            if cut.full {
                ""
            } else {
                "; every step: SYNCLAB_TRACE_FULL=1"
            }
        );
        if let Search::Shuttle { replay, .. } = &self.search {
            let replay: String = replay.split_whitespace().collect();
            if replay.len() > 200 {
                let _ = writeln!(out, "replay: {replay}");
            }
        }
        if let Some((mmd, svg)) = files {
            let _ = writeln!(out, "diagram: {} and {}", mmd.display(), svg.display());
        }
        out.push_str("==== end of counterexample ====\n");
        out
    }

    /// The block `docs/zoo.md` shows for this entry: stable across edits that do not change
    /// the execution (functions instead of line numbers, no timings).
    pub fn docs_block(&self) -> String {
        let r = self.render(Cut {
            lines: false,
            ..Cut::default()
        });
        format!(
            "{}\n\n{}\n<details><summary>Sequence diagram</summary>\n\n```mermaid\n{}```\n\n</details>\n",
            r.summary, r.table, r.mermaid
        )
    }

    /// Writes the Mermaid and SVG files of the diagram; returns their paths.
    pub fn write_files(&self) -> std::io::Result<(PathBuf, PathBuf)> {
        let dir = output_dir();
        std::fs::create_dir_all(&dir)?;
        let slug: String = self
            .model
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let slug = format!(
            "{}-{}",
            slug.chars().take(80).collect::<String>(),
            self.checker
        );
        let r = self.render(Cut::default());
        let mmd = dir.join(format!("{slug}.mmd"));
        let svg = dir.join(format!("{slug}.svg"));
        std::fs::write(&mmd, &r.mermaid)?;
        std::fs::write(&svg, &r.svg)?;
        Ok((mmd, svg))
    }
}

/// Whether the failure message is the checker's own (whose later lines are thread states and
/// backtraces, not the model's words).
fn kind_is_checker(kind: FailureKind) -> bool {
    kind != FailureKind::Panic
}

/// `SYNCLAB_TRACE_DIR`, else `counterexamples/` in the target directory of the running test
/// binary (`target/<checker>/release/deps/…` → `target/<checker>/counterexamples`).
pub fn output_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SYNCLAB_TRACE_DIR") {
        return PathBuf::from(dir);
    }
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(|p| p.join("counterexamples")))
        .unwrap_or_else(|| std::env::temp_dir().join("synclab-counterexamples"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-written trace of the classic missing Release: main writes a cell, publishes a
    /// flag with a Relaxed store; t1 reads the flag with a Relaxed load, then the cell.
    const RACE: &str = "T\t0\nT\t1\n\
        O\t0\tcell\t0x10\tsrc/x.rs:3:20\t1\t\n\
        O\t1\tuint\t0x20\tsrc/x.rs:4:20\t2\tready\n\
        E\t0\t-\tspawn\t0\t0\t1\t0\t0\tsrc/x.rs:5:5\n\
        E\t0\t0\tcell_write\t0\t0\t0\t0\t0\tsrc/x.rs:6:5\n\
        E\t0\t1\tstore\t1\t0\t1\t0\t0\tsrc/x.rs:7:5\n\
        E\t1\t1\tload\t1\t0\t1\t0\t0\tsrc/x.rs:9:5\n\
        E\t1\t0\tcell_read\t0\t0\t0\t0\t0\tsrc/x.rs:10:5\n";

    #[test]
    fn a_data_race_marks_both_accesses_and_the_missing_edge() {
        let c = Counterexample::new(
            "loom",
            "race",
            "Causality violation: Concurrent read and write accesses.",
            RACE,
            Search::Loom {
                bound: Some(0),
                model_bound: None,
                spurious: false,
            },
            (0.0, 0.0),
        )
        .unwrap();
        assert_eq!(c.kind, FailureKind::DataRace);
        assert_eq!(c.analysis.missing_edge, Some((2, 3)));
        let r = c.render(Cut::default());
        assert!(
            r.table.contains("write cell#1 **⚠ races with #5**"),
            "{}",
            r.table
        );
        assert!(
            r.table.contains("read cell#1 **⚠ DATA RACE with #2**"),
            "{}",
            r.table
        );
        assert!(
            r.table
                .contains("ready.store(1, Relaxed) **⚠ no happens-before"),
            "{}",
            r.table
        );
        assert!(r.mermaid.contains("--x"), "{}", r.mermaid);
        assert!(r.svg.starts_with("<svg"));
    }

    /// A sleeper whose wake came first: t1 sleeps on `w` after main's wake found nobody.
    const LOST: &str = "T\t0\nT\t1\n\
        O\t0\tuint\t0x20\tsrc/x.rs:4:20\t1\tw\n\
        E\t0\t-\tspawn\t0\t0\t1\t0\t0\tsrc/x.rs:5:5\n\
        E\t0\t0\tfutex_wake 0 0\t0\t0\t0\t0\t0\tsrc/x.rs:6:5\n\
        E\t1\t0\tfutex_wait 0 0\t0\t0\t0\t0\t0\tsrc/x.rs:9:5\n\
        E\t0\t-\tjoin\t0\t0\t1\t1\t0\tsrc/x.rs:7:5\n\
        B\t0\t3\nB\t1\t2\n";

    #[test]
    fn a_deadlock_marks_the_sleepers_and_the_lost_wake() {
        let c = Counterexample::new(
            "shuttle",
            "lost",
            "deadlock! blocked tasks: [main-thread, t1]",
            LOST,
            Search::Replay {
                replay: "91".into(),
            },
            (0.0, 0.0),
        )
        .unwrap();
        assert_eq!(c.kind, FailureKind::Deadlock);
        let r = c.render(Cut::default());
        assert!(
            r.table
                .contains("futex wake_one(w): woke nobody **⚠ LOST WAKE-UP"),
            "{}",
            r.table
        );
        assert!(
            r.table.contains("‖ asleep in a futex wait on `w`"),
            "{}",
            r.table
        );
        assert!(
            r.summary.contains("went to sleep after it"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn a_bad_trace_line_is_an_error() {
        assert!(Trace::parse("E\tnot a number\n").is_err());
        assert!(Trace::parse("Q\t1\n").is_err());
    }
}
