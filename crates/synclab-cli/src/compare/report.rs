//! Text for people: the tables printed by `synclab compare`, compare.md, the generated block
//! of docs/benchmarks.md and the README's "results at a glance". Everything here is a pure
//! function of a [`ResultsFile`], so the docs can be regenerated from the committed file and
//! checked against it.

use std::fmt::Write as _;

use super::analysis::{self, Agreement};
use super::results::{CellResult, InstructionRow, Instructions, ResultsFile, Run, TargetResult};
use super::stats::Verdict;

/// A number with about three significant digits.
pub fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        "—".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else if v.abs() >= 0.1 || v == 0.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// A ratio, two decimals.
fn fmt_ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}×")
    } else if v == f64::INFINITY {
        "∞×".into()
    } else {
        "—".into()
    }
}

/// "1 thread", "4 threads", "1 producer/consumer pair": `n` and the workload's label, which
/// is written in the plural.
pub fn count_label(n: usize, plural: &str) -> String {
    match (n, plural.strip_suffix('s')) {
        (1, Some(singular)) => format!("1 {singular}"),
        _ => format!("{n} {plural}"),
    }
}

/// A heading for a group id.
pub fn group_title(group: &str) -> String {
    match group {
        "floor" => "Physical floors".into(),
        "locks" => "Locks".into(),
        "queues" => "Queues".into(),
        "array" => "The shared array".into(),
        "pools" => "Thread pools".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

fn direction(higher_is_better: bool) -> &'static str {
    if higher_is_better {
        "higher is better"
    } else {
        "lower is better"
    }
}

fn short_commit(commit: &str) -> &str {
    commit.get(..10).unwrap_or(commit)
}

/// The groups of `file`'s workloads, in first-seen order.
fn groups(file: &ResultsFile) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for w in &file.workloads {
        if !out.contains(&w.group.as_str()) {
            out.push(&w.group);
        }
    }
    out
}

/// The per-cell tables of one workload in one run: contenders × thread counts, each entry
/// "median ±half-width% (× advantage)", then one line of rounds, seconds and noise per cell.
fn workload_table(file: &ResultsFile, run: &Run, wi: usize, heading: &str) -> String {
    let w = &file.workloads[wi];
    let cells: Vec<&CellResult> = run.cells_of(&w.id).collect();
    let mut out = String::new();
    if cells.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "{heading} {} (`{}`)\n\n{}, {}. Entry: median over rounds ± half the width of its 95 % interval; (×) the median per-round advantage over the best anchor, > 1 is better.\n",
        w.title,
        w.id,
        w.unit,
        direction(w.higher_is_better)
    );
    let mut header = "| contender | role |".to_string();
    let mut rule = "|---|---|".to_string();
    for c in &cells {
        let _ = write!(header, " {} |", count_label(c.threads, &w.threads_label));
        rule.push_str("---|");
    }
    let _ = writeln!(out, "{header}\n{rule}");
    for contender in &w.contenders {
        let mut row = format!("| {} | {} |", contender.name, contender.role);
        for cell in &cells {
            let entry = cell
                .series_of(&contender.name)
                .and_then(|s| analysis::value_estimate(s).map(|e| (s, e)));
            match entry {
                Some((series, e)) => {
                    let ratio = analysis::best_anchor(w, cell)
                        .and_then(|best| analysis::advantage(w, series, best))
                        .map(|a| format!(" ({})", fmt_ratio(a.median)))
                        .unwrap_or_default();
                    let _ = write!(
                        row,
                        " {} ±{:.0}%{} |",
                        fmt_value(e.median),
                        e.half_width_pct(),
                        ratio
                    );
                }
                None => row.push_str(" — |"),
            }
        }
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
    let mut notes = Vec::new();
    for c in &cells {
        let noise = match c.noise.foreign_share {
            Some(s) => format!("foreign load {:.0} %", s * 100.0),
            None => "foreign load unknown".into(),
        };
        let again = match c.noise.first_attempt_share {
            Some(s) => format!(", re-measured (first attempt {:.0} %)", s * 100.0),
            None => String::new(),
        };
        notes.push(format!(
            "{}: {} rounds, {:.1} s, {noise}{again}{}",
            count_label(c.threads, &w.threads_label),
            c.rounds,
            c.seconds,
            if c.noise.noisy { " — **noisy**" } else { "" }
        ));
    }
    let _ = writeln!(out, "Cells: {}.\n", notes.join("; "));
    for c in &cells {
        for warning in &c.warnings {
            let _ = writeln!(
                out,
                "- ⚠ {}: {warning}",
                count_label(c.threads, &w.threads_label)
            );
        }
    }
    if cells.iter().any(|c| !c.warnings.is_empty()) {
        out.push('\n');
    }
    out
}

/// Every workload's table for one run, under group headings.
pub fn cell_tables(file: &ResultsFile, run: &Run, group_heading: &str, heading: &str) -> String {
    let mut out = String::new();
    for group in groups(file) {
        let _ = writeln!(out, "{group_heading} {}\n", group_title(group));
        for (wi, w) in file.workloads.iter().enumerate() {
            if w.group == group {
                out.push_str(&workload_table(file, run, wi, heading));
            }
        }
    }
    out
}

fn reference_label(t: &TargetResult) -> String {
    if t.absolute {
        "—".into()
    } else if t.reference == synclab_benches::BEST_ANCHOR {
        match &t.reference_used {
            Some(name) => format!("best anchor ({name})"),
            None => "best anchor".into(),
        }
    } else {
        t.reference.clone()
    }
}

fn required_label(t: &TargetResult) -> String {
    if t.absolute {
        format!(
            "{} {} {}",
            if t.higher_is_better { "≥" } else { "≤" },
            fmt_value(t.required),
            t.unit
        )
    } else {
        format!("≥ {}", fmt_ratio(t.required))
    }
}

/// "median [lo, hi]" of a target's estimate.
fn measured_label(t: &TargetResult) -> String {
    match &t.estimate {
        None => "—".into(),
        Some(e) if t.absolute => format!(
            "{} [{}, {}] {}",
            fmt_value(e.median),
            fmt_value(e.lo),
            fmt_value(e.hi),
            t.unit
        ),
        Some(e) => format!(
            "{} [{}, {}]",
            fmt_ratio(e.median),
            fmt_bound(e.lo),
            fmt_bound(e.hi)
        ),
    }
}

fn fmt_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "∞".into()
    } else {
        format!("{v:.2}")
    }
}

fn verdict_label(t: &TargetResult) -> String {
    let word = match t.verdict {
        Verdict::Met => "met".to_string(),
        Verdict::Missed => "**missed**".to_string(),
        Verdict::Undecided => "undecided".to_string(),
        Verdict::NotRun => "not run".to_string(),
    };
    if t.noisy && t.verdict != Verdict::NotRun {
        format!("{word} (noisy)")
    } else {
        word
    }
}

fn rounds_label(t: &TargetResult) -> String {
    t.estimate
        .map(|e| e.n.to_string())
        .unwrap_or_else(|| "—".into())
}

/// Whether target `i` belongs to a workload this file did not run (filtered out).
fn filtered_out(file: &ResultsFile, t: &TargetResult) -> bool {
    !file.workloads.iter().any(|w| w.id == t.workload)
}

fn filtered_note(file: &ResultsFile, run: &Run) -> String {
    let n = run.targets.iter().filter(|t| filtered_out(file, t)).count();
    if n == 0 {
        String::new()
    } else {
        format!("\n({n} targets not shown: their workloads were filtered out.)\n")
    }
}

/// One run's targets.
pub fn targets_table(file: &ResultsFile, run: &Run) -> String {
    let mut out = String::from(
        "| target | workload | threads | reference | required | measured [95 % interval] | rounds | verdict |\n|---|---|---|---|---|---|---|---|\n",
    );
    for t in run.targets.iter().filter(|t| !filtered_out(file, t)) {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} | {} |",
            t.claim,
            t.workload,
            t.threads,
            reference_label(t),
            required_label(t),
            measured_label(t),
            rounds_label(t),
            verdict_label(t)
        );
    }
    let _ = writeln!(out, "\n{}", tally_line(run));
    out.push_str(&filtered_note(file, run));
    out
}

/// "Run 1: met 3, missed 2, undecided 1 of 6 targets."
fn tally_line(run: &Run) -> String {
    let [met, missed, undecided, not_run] = analysis::tally(&run.targets);
    format!(
        "Run {}: met {met}, missed {missed}, undecided {undecided}{} of {} targets.",
        run.index,
        if not_run > 0 {
            format!(", not run {not_run}")
        } else {
            String::new()
        },
        run.targets.len()
    )
}

/// Agreement of all runs' verdicts on target `i` (runs compared pairwise with the first).
fn agreement_label(runs: &[Run], i: usize) -> &'static str {
    let first = runs[0].targets[i].verdict;
    let mut any_pair = false;
    for r in &runs[1..] {
        match analysis::agreement(first, r.targets[i].verdict) {
            Agreement::Disagree => return "**no**",
            Agreement::Agree => any_pair = true,
            Agreement::NotBothDecided => return "—",
        }
    }
    if any_pair {
        "yes"
    } else {
        "—"
    }
}

/// Counts over targets decided in every run: (decided in all runs, of which agree).
pub fn agreement_counts(runs: &[Run]) -> (usize, usize) {
    let n = runs.first().map_or(0, |r| r.targets.len());
    let mut decided = 0;
    let mut agree = 0;
    for i in 0..n {
        match agreement_label(runs, i) {
            "yes" => {
                decided += 1;
                agree += 1;
            }
            "**no**" => decided += 1,
            _ => {}
        }
    }
    (decided, agree)
}

/// Every target, every run side by side, and whether the verdicts agree.
pub fn targets_side_by_side(file: &ResultsFile) -> String {
    let runs = &file.runs;
    if runs.len() == 1 {
        return targets_table(file, &runs[0]);
    }
    let mut header = "| target | workload | threads | reference | required |".to_string();
    let mut rule = "|---|---|---|---|---|".to_string();
    for r in runs {
        let _ = write!(
            header,
            " run {} [95 % interval], rounds | verdict |",
            r.index
        );
        rule.push_str("---|---|");
    }
    header.push_str(" agree |");
    rule.push_str("---|");
    let mut out = format!("{header}\n{rule}\n");
    for (i, t) in runs[0].targets.iter().enumerate() {
        if filtered_out(file, t) {
            continue;
        }
        let mut row = format!(
            "| {} | `{}` | {} | {} | {} |",
            t.claim,
            t.workload,
            t.threads,
            reference_label(t),
            required_label(t)
        );
        for r in runs {
            let rt = &r.targets[i];
            let _ = write!(
                row,
                " {}, {} | {} |",
                measured_label(rt),
                rounds_label(rt),
                verdict_label(rt)
            );
        }
        let _ = write!(row, " {} |", agreement_label(runs, i));
        let _ = writeln!(out, "{row}");
    }
    out.push('\n');
    for r in runs {
        let _ = writeln!(out, "- {}", tally_line(r));
    }
    let (decided, agree) = agreement_counts(runs);
    let _ = writeln!(
        out,
        "- Decided in every run: {decided} targets; the verdicts agree on {agree} of them{}.",
        if decided > agree {
            format!(" and **differ on {}**", decided - agree)
        } else {
            String::new()
        }
    );
    out.push_str(&filtered_note(file, &runs[0]));
    out
}

/// The instruction-count table.
pub fn instructions_table(ins: &Instructions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Instructions per operation, counted by {} (callgrind) for n = {} and 2n operations; the figure is (Ir(2n) − Ir(n)) / n, so start-up and set-up cancel. {} independent measurements; \"differ\" is their largest difference as a share of their mean.\n",
        ins.valgrind, ins.n, ins.runs
    );
    let mut header = "| group | operation | contender | role | counted |".to_string();
    let mut rule = "|---|---|---|---|---|".to_string();
    for i in 0..ins.runs {
        let _ = write!(header, " measurement {} |", i + 1);
        rule.push_str("---|");
    }
    header.push_str(" differ |");
    rule.push_str("---|");
    let _ = writeln!(out, "{header}\n{rule}");
    for row in &ins.rows {
        let _ = writeln!(out, "{}", instruction_row(row));
    }
    let worst = ins
        .rows
        .iter()
        .map(InstructionRow::disagreement_pct)
        .fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "\nLargest difference between measurements: {worst:.2} %{}.",
        if worst <= 1.0 {
            " (within 1 %)"
        } else {
            " — **above 1 %**"
        }
    );
    out
}

fn instruction_row(row: &InstructionRow) -> String {
    let mut s = format!(
        "| {} | {} | {} | {} | {} |",
        row.group,
        row.operation,
        row.contender,
        row.role,
        if row.scope == "process" {
            "all threads"
        } else {
            "calling thread"
        }
    );
    for v in &row.per_op {
        let _ = write!(s, " {v:.1} |");
    }
    let _ = write!(s, " {:.2} % |", row.disagreement_pct());
    s
}

fn settings_line(file: &ResultsFile) -> String {
    let s = &file.settings;
    let rounds = match s.fixed_rounds {
        Some(n) => format!("{n} rounds per cell (fixed)"),
        None => format!(
            "{}–{} rounds per cell that carries a target, {}–{} for the others, within the budget",
            s.min_rounds[0], s.max_rounds[0], s.min_rounds[1], s.max_rounds[1]
        ),
    };
    let passes = if s.passes > 1 {
        format!(
            "; every cell's rounds split over {} passes over the suite (each with its own warm-up call)",
            s.passes
        )
    } else {
        String::new()
    };
    format!(
        "{} sizes; budget {:.0} s per run (a cell with a target weighs {}× another); each contender's part of a round ~{:.0} ms; {rounds}{passes}; warm-up call per contender discarded; foreign-load threshold {:.0} % of the machine; {:.0} % intervals from order statistics{}{}.",
        if s.quick { "quick" } else { "full" },
        s.budget_seconds,
        s.target_weight,
        s.round_ms,
        s.noise_threshold * 100.0,
        s.confidence * 100.0,
        if s.filter.is_empty() {
            String::new()
        } else {
            format!("; filter {:?}", s.filter)
        },
        match &s.threads {
            Some(t) => format!("; threads {t:?}"),
            None => String::new(),
        }
    )
}

fn run_line(run: &Run) -> String {
    let rounds: usize = run.cells.iter().map(|c| c.rounds).sum();
    let noisy = run.cells.iter().filter(|c| c.noise.noisy).count();
    let remeasured = run
        .cells
        .iter()
        .filter(|c| c.noise.first_attempt_share.is_some())
        .count();
    format!(
        "run {} (started {}): {:.0} s, {} cells, {rounds} rounds, {remeasured} cells re-measured, {noisy} marked noisy{}",
        run.index,
        run.started,
        run.seconds,
        run.cells.len(),
        if run.failures.is_empty() {
            String::new()
        } else {
            format!(", **{} failed calls**", run.failures.len())
        }
    )
}

/// Provenance lines (Markdown list).
pub fn provenance(file: &ResultsFile) -> String {
    let m = &file.meta;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "- Commit `{}`{}; {}; {} ({} CPUs), Linux {}; {}.",
        short_commit(&m.commit),
        if m.dirty {
            " (**dirty**: uncommitted changes)"
        } else {
            " (clean)"
        },
        m.date,
        m.machine.cpu,
        m.machine.cores,
        m.machine.kernel,
        m.rustc
    );
    let _ = writeln!(
        out,
        "- Command: `{}` ({})",
        m.command,
        super::reproduce::build_label(&m.features)
    );
    let _ = writeln!(out, "- Plan: {}", settings_line(file));
    for run in &file.runs {
        let _ = writeln!(out, "- {}.", capitalise(&run_line(run)));
    }
    out
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn failures_section(run: &Run) -> String {
    let mut out = String::new();
    if !run.failures.is_empty() {
        let _ = writeln!(out, "Failed calls in run {}:\n", run.index);
        for f in &run.failures {
            let _ = writeln!(
                out,
                "- `{}` @ {} threads, {}: {}",
                f.workload, f.threads, f.contender, f.message
            );
        }
        out.push('\n');
    }
    out
}

/// What `synclab compare` prints at the end.
pub fn terminal(file: &ResultsFile) -> String {
    let mut out = String::new();
    for run in &file.runs {
        if file.runs.len() > 1 {
            let _ = writeln!(out, "## Run {}\n", run.index);
        }
        out.push_str(&cell_tables(file, run, "##", "###"));
        out.push_str(&failures_section(run));
    }
    if !file.runs.is_empty() {
        out.push_str("## Targets\n\n");
        out.push_str(&targets_side_by_side(file));
    }
    if let Some(ins) = &file.instructions {
        out.push_str("\n## Instruction counts\n\n");
        out.push_str(&instructions_table(ins));
    }
    out
}

/// Every round's value of every contender, cell by cell (compare.md's appendix).
fn rounds_appendix(file: &ResultsFile) -> String {
    let mut out = String::from(
        "## Every round\n\nEach contender's value in each round, in round order (the workload's unit; — where a call failed).\n\n",
    );
    for run in &file.runs {
        let _ = writeln!(out, "### Run {}\n", run.index);
        for cell in &run.cells {
            let unit = file
                .workloads
                .iter()
                .find(|w| w.id == cell.workload)
                .map_or("", |w| w.unit.as_str());
            let _ = writeln!(
                out,
                "`{}` @ {} ({unit}, {} rounds):\n",
                cell.workload, cell.threads, cell.rounds
            );
            for s in &cell.series {
                let values: Vec<String> = s
                    .values
                    .iter()
                    .map(|v| v.map_or("—".into(), fmt_value))
                    .collect();
                let _ = writeln!(
                    out,
                    "- {} ({} call(s) a round): {}",
                    s.contender,
                    s.calls_per_round,
                    values.join(" ")
                );
            }
            out.push('\n');
        }
    }
    out
}

/// compare.md.
pub fn compare_md(file: &ResultsFile) -> String {
    let mut out = String::from("# synclab compare\n\n");
    out.push_str(&provenance(file));
    out.push('\n');
    out.push_str(&terminal(file));
    if !file.runs.is_empty() {
        out.push('\n');
        out.push_str(&rounds_appendix(file));
    }
    out
}

/// The marker lines around a generated block.
pub const BEGIN: &str =
    "<!-- BEGIN GENERATED by `synclab compare --write-docs` from docs/benchmarks/compare.json: do not edit by hand -->";
/// See [`BEGIN`].
pub const END: &str = "<!-- END GENERATED -->";

/// The generated part of docs/benchmarks.md; `appendix` (the reproductions, another build's
/// tables) goes before the instruction counts.
pub fn docs_block(file: &ResultsFile, charts: &[(String, String)], appendix: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN}\n");
    let _ = writeln!(
        out,
        "## The runs\n\nEvery figure below comes from [`benchmarks/compare.json`](benchmarks/compare.json) ({} written by one `synclab compare` invocation):\n",
        if file.runs.len() == 1 {
            "one run,".to_string()
        } else {
            format!("{} back-to-back runs,", file.runs.len())
        }
    );
    out.push_str(&provenance(file));
    out.push('\n');
    if !file.runs.is_empty() {
        out.push_str("## Targets\n\n");
        out.push_str(&targets_side_by_side(file));
        out.push('\n');
        for run in &file.runs {
            out.push_str(&failures_section(run));
        }
        let first = &file.runs[0];
        let _ = writeln!(
            out,
            "## Every cell\n\nThe tables are run {}'s{}; the charts show the same run (markers at the median, whiskers the 95 % interval of the median).\n",
            first.index,
            if file.runs.len() > 1 {
                "; the other runs' tables follow them, folded"
            } else {
                ""
            }
        );
        for group in groups(file) {
            let _ = writeln!(out, "### {}\n", group_title(group));
            for (wi, w) in file.workloads.iter().enumerate() {
                if w.group != group {
                    continue;
                }
                out.push_str(&workload_table(file, first, wi, "####"));
                for (id, path) in charts {
                    if id == &w.id {
                        let _ = writeln!(out, "![{}]({path})\n", w.title);
                    }
                }
            }
        }
        for run in &file.runs[1..] {
            let _ = writeln!(
                out,
                "<details><summary>Run {}'s tables</summary>\n",
                run.index
            );
            out.push_str(&cell_tables(file, run, "####", "#####"));
            out.push_str("</details>\n\n");
        }
    }
    out.push_str(appendix);
    out.push_str("## Instruction counts\n\n");
    match &file.instructions {
        Some(ins) => out.push_str(&instructions_table(ins)),
        None => {
            out.push_str("Not measured in this results file (`synclab compare --instructions`).\n")
        }
    }
    let _ = writeln!(out, "\n{END}");
    out
}

/// The README's "results at a glance" block; `charts` as for [`docs_block`], paths relative
/// to the docs folder.
pub fn readme_block(file: &ResultsFile, charts: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{BEGIN}\n");
    let m = &file.meta;
    let _ = writeln!(
        out,
        "From [docs/benchmarks/compare.json](docs/benchmarks/compare.json): {} of the whole suite on commit `{}`{}, {}, {} ({} CPUs). Each target is judged on the per-round ratios of paired, alternating rounds: *met* when its whole 95 % interval is on the required side, *missed* when it is all on the wrong side, *undecided* otherwise. Every table, interval and chart: [docs/benchmarks.md](docs/benchmarks.md).\n",
        if file.runs.len() == 1 {
            "one run".to_string()
        } else {
            format!("{} back-to-back runs", file.runs.len())
        },
        short_commit(&m.commit),
        if m.dirty { " (dirty)" } else { "" },
        m.date,
        m.machine.cpu,
        m.machine.cores
    );
    if !file.runs.is_empty() {
        let mut header = "| group | targets |".to_string();
        let mut rule = "|---|---|".to_string();
        for r in &file.runs {
            let _ = write!(header, " run {}: met / missed / undecided |", r.index);
            rule.push_str("---|");
        }
        if file.runs.len() > 1 {
            header.push_str(" decided in every run: agree |");
            rule.push_str("---|");
        }
        let cells: usize = file.runs.iter().map(|r| r.cells.len()).sum();
        let noisy: usize = file
            .runs
            .iter()
            .flat_map(|r| &r.cells)
            .filter(|c| c.noise.noisy)
            .count();
        if noisy > 0 {
            let _ = writeln!(
                out,
                "{noisy} of {cells} cells were measured while other processes used more than {:.0} % of the machine (marked *noisy*): read their verdicts as what a busy machine showed.\n",
                file.settings.noise_threshold * 100.0
            );
        }
        let _ = writeln!(out, "{header}\n{rule}");
        let mut group_names: Vec<&str> = Vec::new();
        for t in &file.runs[0].targets {
            let g = t.workload.split('/').next().unwrap_or("");
            if !group_names.contains(&g) {
                group_names.push(g);
            }
        }
        for g in group_names {
            let pick = |run: &Run| -> Vec<TargetResult> {
                run.targets
                    .iter()
                    .filter(|t| t.workload.split('/').next() == Some(g))
                    .cloned()
                    .collect()
            };
            let first = pick(&file.runs[0]);
            let mut row = format!("| {} | {} |", group_title(g), first.len());
            for r in &file.runs {
                let [met, missed, undecided, not_run] = analysis::tally(&pick(r));
                let _ = write!(
                    row,
                    " {met} / {missed} / {undecided}{} |",
                    if not_run > 0 {
                        format!(" ({not_run} not run)")
                    } else {
                        String::new()
                    }
                );
            }
            if file.runs.len() > 1 {
                let sub: Vec<Run> = file
                    .runs
                    .iter()
                    .map(|r| Run {
                        targets: pick(r),
                        ..r.clone()
                    })
                    .collect();
                let (decided, agree) = agreement_counts(&sub);
                let _ = write!(row, " {agree} of {decided} |");
            }
            let _ = writeln!(out, "{row}");
        }
        out.push('\n');
    }
    if let Some(ins) = &file.instructions {
        let locks: Vec<String> = ins
            .rows
            .iter()
            .filter(|r| r.group == "locks")
            .map(|r| {
                let mean = r.per_op.iter().sum::<f64>() / r.per_op.len().max(1) as f64;
                format!("{} {mean:.0}", r.contender)
            })
            .collect();
        if !locks.is_empty() {
            let _ = writeln!(
                out,
                "Instructions per uncontended lock + increment + unlock (callgrind, measurements within {:.2} % of each other): {}.\n",
                ins.rows
                    .iter()
                    .map(InstructionRow::disagreement_pct)
                    .fold(0.0, f64::max),
                locks.join(", ")
            );
        }
    }
    // The chart of the workload that carries the most targets.
    if let Some(run) = file.runs.first() {
        let mut best: Option<(&str, usize)> = None;
        for w in &file.workloads {
            let n = run.targets.iter().filter(|t| t.workload == w.id).count();
            if n > best.map_or(0, |b| b.1) {
                best = Some((&w.id, n));
            }
        }
        if let Some((id, _)) = best {
            if let Some((_, path)) = charts.iter().find(|(wid, _)| wid == id) {
                let title = file
                    .workloads
                    .iter()
                    .find(|w| w.id == id)
                    .map_or("", |w| w.title.as_str());
                let _ = writeln!(out, "![{title}](docs/{path})\n");
            }
        }
    }
    let _ = writeln!(out, "{END}");
    out
}

/// Replaces the block between [`BEGIN`] and [`END`] in `text` (markers included) with
/// `block`; an error when the markers are missing.
pub fn splice(text: &str, block: &str, what: &str) -> Result<String, String> {
    let begin = text
        .find(BEGIN)
        .ok_or_else(|| format!("{what} has no generated block (a line `{BEGIN}` … `{END}`)"))?;
    let end_rel = text[begin..]
        .find(END)
        .ok_or_else(|| format!("{what}: the generated block has no end marker `{END}`"))?;
    let end = begin + end_rel + END.len();
    let rest = text[end..].strip_prefix('\n').unwrap_or(&text[end..]);
    Ok(format!("{}{block}{rest}", &text[..begin]))
}
