//! SVG charts of a results file, written by hand (no plotting dependency): a line chart of the
//! metric against thread count, a bar chart where a workload has one thread count, and a
//! latency distribution where a workload recorded per-operation latencies.
//!
//! Every chart says in its axis label the unit and which way is better, and in its caption
//! what the markers and whiskers are (the median over rounds and its 95 % interval) and which
//! run and commit it shows. The value axis is logarithmic when the values span more than
//! 20× (a busy-waiting seed pool beside pools that sleep), linear from zero otherwise. The
//! legend sits under the plot, so the plot takes the whole width.
//!
//! Styling: synclab designs are solid lines, anchors dashed, floors dotted, the seed's designs
//! dash-dotted; bars of synclab designs are opaque, the others lighter.

use std::fmt::Write as _;

use crate::compare::analysis;
use crate::compare::report::fmt_value;
use crate::compare::results::{ResultsFile, Run, WorkloadInfo};

const W: f64 = 960.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 74.0;
const PLOT_H: f64 = 300.0;
const AXIS_H: f64 = 52.0;
const LEGEND_ROW: f64 = 20.0;
const LEGEND_COLUMNS: usize = 2;
const PALETTE: [&str; 12] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22", "#393b79", "#637939",
];
/// Values spanning more than this factor get a logarithmic axis: on a linear one the small
/// values of a 20× span already sit on the zero line.
const LOG_SPAN: f64 = 20.0;

fn dash(role: &str) -> &'static str {
    match role {
        "synclab" => "",
        "anchor" => " stroke-dasharray=\"7 4\"",
        "floor" => " stroke-dasharray=\"2 3\"",
        _ => " stroke-dasharray=\"8 3 2 3\"",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn legend_name(name: &str, role: &str) -> String {
    match role {
        "synclab" => name.to_string(),
        other => format!("{name} ({other})"),
    }
}

/// A value axis: linear from zero to a round number, or logarithmic over whole decades.
#[derive(Debug, Clone, Copy)]
enum Axis {
    Linear { max: f64 },
    Log { lo: f64, hi: f64 },
}

impl Axis {
    /// An axis for values in `[min, max]` (positive values; others are ignored for the log
    /// test).
    fn fit(values: impl Iterator<Item = f64>) -> Axis {
        let (mut min, mut max) = (f64::INFINITY, 0.0f64);
        for v in values.filter(|v| v.is_finite()) {
            if v > 0.0 {
                min = min.min(v);
            }
            max = max.max(v);
        }
        if max <= 0.0 {
            return Axis::Linear { max: 1.0 };
        }
        if min.is_finite() && max / min > LOG_SPAN {
            Axis::Log {
                lo: min.log10().floor(),
                hi: max.log10().ceil(),
            }
        } else {
            Axis::Linear { max: nice_max(max) }
        }
    }

    /// Position of `v` in [0, 1] along the axis.
    fn frac(self, v: f64) -> f64 {
        match self {
            Axis::Linear { max } => (v / max).clamp(0.0, 1.0),
            Axis::Log { lo, hi } => {
                let v = v.max(10f64.powf(lo));
                ((v.log10() - lo) / (hi - lo).max(1.0)).clamp(0.0, 1.0)
            }
        }
    }

    /// Tick values.
    fn ticks(self) -> Vec<f64> {
        match self {
            Axis::Linear { max } => (0..=5).map(|i| max * i as f64 / 5.0).collect(),
            Axis::Log { lo, hi } => {
                let mut t = Vec::new();
                let decades = (hi - lo) as i32;
                for e in (lo as i32)..=(hi as i32) {
                    let p = 10f64.powi(e);
                    t.push(p);
                    if decades <= 2 && e < hi as i32 {
                        t.push(2.0 * p);
                        t.push(5.0 * p);
                    }
                }
                t
            }
        }
    }

    fn note(self) -> &'static str {
        match self {
            Axis::Linear { .. } => "",
            Axis::Log { .. } => ", log scale",
        }
    }
}

/// A "nice" upper bound for an axis starting at zero.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

fn tick_label(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-2) {
        format!("{v:.0e}")
    } else if v == v.round() {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').to_string()
    }
}

/// A power of ten of nanoseconds as a time: "100 ns", "10 µs", "1 s".
fn time_label(ns: f64) -> String {
    let (value, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    format!("{} {unit}", tick_label(value))
}

struct Svg {
    body: String,
}

impl Svg {
    fn new(height: f64, title: &str, subtitle: &str) -> Self {
        let mut body = String::new();
        let _ = writeln!(
            body,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{height:.0}\" viewBox=\"0 0 {W} {height:.0}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"12\" y=\"26\" font-size=\"16\" font-weight=\"bold\">{}</text>\n<text x=\"12\" y=\"46\" font-size=\"12\" fill=\"#444\">{}</text>",
            esc(title),
            esc(subtitle)
        );
        Svg { body }
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" {style}/>"
        );
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" {extra}>{}</text>",
            esc(text)
        );
    }

    fn vertical_text(&mut self, x: f64, y: f64, text: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 {x:.1} {y:.1})\">{}</text>",
            esc(text)
        );
    }

    /// Legend entries in columns from `top`, full width.
    fn legend(&mut self, top: f64, entries: &[(String, &str, String)]) {
        let column_w = (W - LEFT - RIGHT) / LEGEND_COLUMNS as f64;
        for (i, (name, color, role)) in entries.iter().enumerate() {
            let x = LEFT + column_w * (i % LEGEND_COLUMNS) as f64;
            let y = top + LEGEND_ROW * (i / LEGEND_COLUMNS) as f64;
            self.line(
                x,
                y,
                x + 30.0,
                y,
                &format!("stroke=\"{color}\" stroke-width=\"2.5\"{}", dash(role)),
            );
            self.text(x + 38.0, y + 4.0, "start", "", name);
        }
    }

    fn finish(mut self) -> String {
        self.body.push_str("</svg>\n");
        self.body
    }
}

fn legend_height(entries: usize) -> f64 {
    entries.div_ceil(LEGEND_COLUMNS) as f64 * LEGEND_ROW + 16.0
}

fn axis_label(w: &WorkloadInfo, axis: Axis) -> String {
    format!(
        "{} ({}{})",
        w.unit,
        if w.higher_is_better {
            "higher is better"
        } else {
            "lower is better"
        },
        axis.note()
    )
}

fn caption(file: &ResultsFile, run: &Run, rounds: &str, marks: &str) -> String {
    format!(
        "Run {} of commit {}{}: {marks} at the median over {rounds} rounds, whiskers the 95 % interval of that median.",
        run.index,
        file.meta.commit.get(..10).unwrap_or(&file.meta.commit),
        if file.meta.dirty { " (dirty)" } else { "" }
    )
}

fn rounds_text(run: &Run, id: &str) -> String {
    let r: Vec<usize> = run.cells_of(id).map(|c| c.rounds).collect();
    match (r.iter().min(), r.iter().max()) {
        (Some(a), Some(b)) if a == b => a.to_string(),
        (Some(a), Some(b)) => format!("{a}–{b}"),
        _ => "0".into(),
    }
}

/// Every chart of `run`: `(workload id, file name, SVG)`.
pub fn render_all(file: &ResultsFile, run: &Run) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for w in &file.workloads {
        let threads: Vec<usize> = run.cells_of(&w.id).map(|c| c.threads).collect();
        if threads.is_empty() {
            continue;
        }
        let svg = if threads.len() > 1 {
            line_chart(file, run, w, &threads)
        } else {
            bar_chart(file, run, w, threads[0])
        };
        out.push((w.id.clone(), file_name(&w.id, ""), svg));
        if run
            .cells_of(&w.id)
            .any(|c| c.series.iter().any(|s| s.latency_quantiles_ns.is_some()))
        {
            out.push((
                w.id.clone(),
                file_name(&w.id, "_latency"),
                cdf_chart(file, run, w),
            ));
        }
    }
    out
}

/// The chart file name of a workload id.
pub fn file_name(id: &str, suffix: &str) -> String {
    format!("{}{suffix}.svg", id.replace('/', "_"))
}

/// (median, lo, hi) of a contender in a cell.
fn point(run: &Run, id: &str, threads: usize, contender: &str) -> Option<(f64, f64, f64)> {
    let cell = run.cell(id, threads)?;
    let e = analysis::value_estimate(cell.series_of(contender)?)?;
    Some((e.median, e.lo, e.hi))
}

fn line_chart(file: &ResultsFile, run: &Run, w: &WorkloadInfo, threads: &[usize]) -> String {
    let points: Vec<Vec<Option<(f64, f64, f64)>>> = w
        .contenders
        .iter()
        .map(|c| {
            threads
                .iter()
                .map(|&t| point(run, &w.id, t, &c.name))
                .collect()
        })
        .collect();
    let axis = Axis::fit(
        points
            .iter()
            .flatten()
            .flatten()
            .flat_map(|&(m, lo, hi)| [m, lo, hi]),
    );
    let legend_top = TOP + PLOT_H + AXIS_H;
    let height = legend_top + legend_height(w.contenders.len());
    let mut svg = Svg::new(
        height,
        w.title.as_str(),
        &caption(file, run, &rounds_text(run, &w.id), "markers"),
    );
    let (x0, x1) = (LEFT, W - RIGHT);
    let y_of = |v: f64| TOP + PLOT_H * (1.0 - axis.frac(v));
    for v in axis.ticks() {
        let y = y_of(v);
        svg.line(x0 - 4.0, y, x1, y, "stroke=\"#e4e4e4\"");
        svg.text(x0 - 8.0, y + 4.0, "end", "", &tick_label(v));
    }
    svg.line(x0, TOP + PLOT_H, x1, TOP + PLOT_H, "stroke=\"black\"");
    svg.line(x0, TOP, x0, TOP + PLOT_H, "stroke=\"black\"");
    svg.vertical_text(16.0, TOP + PLOT_H / 2.0, &axis_label(w, axis));
    let n = threads.len();
    let x_of = |i: usize| x0 + 40.0 + (x1 - x0 - 80.0) * i as f64 / (n - 1).max(1) as f64;
    for (i, t) in threads.iter().enumerate() {
        svg.text(x_of(i), TOP + PLOT_H + 18.0, "middle", "", &t.to_string());
    }
    svg.text(
        (x0 + x1) / 2.0,
        TOP + PLOT_H + 40.0,
        "middle",
        "",
        &w.threads_label,
    );
    let mut legend = Vec::new();
    for (ci, c) in w.contenders.iter().enumerate() {
        let color = PALETTE[ci % PALETTE.len()];
        // A small sideways offset per contender keeps overlapping whiskers apart.
        let offset = (ci as f64 - (w.contenders.len() as f64 - 1.0) / 2.0) * 3.0;
        let mut polyline = String::new();
        for (i, p) in points[ci].iter().enumerate() {
            let Some((m, lo, hi)) = *p else { continue };
            let x = x_of(i) + offset;
            let _ = write!(polyline, "{x:.1},{:.1} ", y_of(m));
            svg.line(
                x,
                y_of(lo),
                x,
                y_of(hi),
                &format!("stroke=\"{color}\" stroke-width=\"1.2\""),
            );
            svg.line(
                x - 3.0,
                y_of(lo),
                x + 3.0,
                y_of(lo),
                &format!("stroke=\"{color}\""),
            );
            svg.line(
                x - 3.0,
                y_of(hi),
                x + 3.0,
                y_of(hi),
                &format!("stroke=\"{color}\""),
            );
            let _ = writeln!(
                svg.body,
                "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"/>",
                y_of(m)
            );
        }
        let _ = writeln!(
            svg.body,
            "<polyline points=\"{polyline}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.2\"{}/>",
            dash(&c.role)
        );
        legend.push((legend_name(&c.name, &c.role), color, c.role.clone()));
    }
    svg.legend(legend_top, &legend);
    svg.finish()
}

fn bar_chart(file: &ResultsFile, run: &Run, w: &WorkloadInfo, threads: usize) -> String {
    let rows: Vec<(usize, (f64, f64, f64))> = w
        .contenders
        .iter()
        .enumerate()
        .filter_map(|(ci, c)| point(run, &w.id, threads, &c.name).map(|p| (ci, p)))
        .collect();
    let axis = Axis::fit(rows.iter().flat_map(|(_, (m, lo, hi))| [*m, *lo, *hi]));
    let longest = w
        .contenders
        .iter()
        .map(|c| legend_name(&c.name, &c.role).chars().count())
        .max()
        .unwrap_or(10);
    let label_w = (longest as f64 * 6.8).clamp(120.0, 360.0);
    let bar_h = 28.0;
    let plot_h = bar_h * rows.len().max(1) as f64;
    let height = TOP + plot_h + AXIS_H + 8.0;
    let mut svg = Svg::new(
        height,
        &format!(
            "{} ({})",
            w.title,
            crate::compare::report::count_label(threads, &w.threads_label)
        ),
        &caption(file, run, &rounds_text(run, &w.id), "bars end"),
    );
    let (x0, x1) = (12.0 + label_w + 8.0, W - RIGHT - 40.0);
    let x_of = |v: f64| x0 + (x1 - x0) * axis.frac(v);
    let bottom = TOP + plot_h;
    for v in axis.ticks() {
        let x = x_of(v);
        svg.line(x, TOP, x, bottom + 4.0, "stroke=\"#e4e4e4\"");
        svg.text(x, bottom + 17.0, "middle", "", &tick_label(v));
    }
    svg.line(x0, bottom, x1, bottom, "stroke=\"black\"");
    svg.line(x0, TOP, x0, bottom, "stroke=\"black\"");
    svg.text(
        (x0 + x1) / 2.0,
        bottom + 38.0,
        "middle",
        "",
        &axis_label(w, axis),
    );
    for (i, (ci, (m, lo, hi))) in rows.iter().enumerate() {
        let c = &w.contenders[*ci];
        let color = PALETTE[ci % PALETTE.len()];
        let y = TOP + bar_h * i as f64;
        let _ = writeln!(
            svg.body,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"{}\"/>",
            y + 4.0,
            (x_of(*m) - x0).max(1.0),
            bar_h - 8.0,
            if c.role == "synclab" { "0.9" } else { "0.45" }
        );
        let mid = y + bar_h / 2.0;
        svg.line(x_of(*lo), mid, x_of(*hi), mid, "stroke=\"black\"");
        svg.line(
            x_of(*lo),
            mid - 4.0,
            x_of(*lo),
            mid + 4.0,
            "stroke=\"black\"",
        );
        svg.line(
            x_of(*hi),
            mid - 4.0,
            x_of(*hi),
            mid + 4.0,
            "stroke=\"black\"",
        );
        svg.text(
            x0 - 6.0,
            mid + 4.0,
            "end",
            "",
            &legend_name(&c.name, &c.role),
        );
        svg.text(
            x_of(*hi).max(x_of(*m)) + 6.0,
            mid + 4.0,
            "start",
            "font-size=\"11\"",
            &fmt_value(*m),
        );
    }
    svg.finish()
}

fn cdf_chart(file: &ResultsFile, run: &Run, w: &WorkloadInfo) -> String {
    let multi = run.cells_of(&w.id).count() > 1;
    let mut series = Vec::new();
    for cell in run.cells_of(&w.id) {
        for s in &cell.series {
            if let Some(q) = &s.latency_quantiles_ns {
                let ci = w
                    .contenders
                    .iter()
                    .position(|c| c.name == s.contender)
                    .unwrap_or(0);
                series.push((ci, cell.threads, q.clone()));
            }
        }
    }
    let lo = series
        .iter()
        .map(|(_, _, q)| q[0].max(1.0))
        .fold(f64::INFINITY, f64::min);
    let hi = series
        .iter()
        .map(|(_, _, q)| q.last().copied().unwrap_or(1.0))
        .fold(2.0, f64::max);
    let (llo, lhi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let legend_top = TOP + PLOT_H + AXIS_H;
    let height = legend_top + legend_height(series.len());
    let mut svg = Svg::new(
        height,
        &format!("{} — latency distribution", w.title),
        &format!(
            "Run {} of commit {}: every sample of every round pooled, up to the 99.9th percentile.",
            run.index,
            file.meta.commit.get(..10).unwrap_or(&file.meta.commit)
        ),
    );
    let (x0, x1) = (LEFT, W - RIGHT);
    let x_of = |v: f64| x0 + (x1 - x0) * ((v.max(1.0).log10() - llo) / (lhi - llo)).clamp(0.0, 1.0);
    let y_of = |p: f64| TOP + PLOT_H * (1.0 - p);
    for e in (llo as i32)..=(lhi as i32) {
        let x = x_of(10f64.powi(e));
        svg.line(x, TOP, x, TOP + PLOT_H, "stroke=\"#e4e4e4\"");
        svg.text(
            x,
            TOP + PLOT_H + 18.0,
            "middle",
            "",
            &time_label(10f64.powi(e)),
        );
    }
    for i in 0..=4 {
        let p = i as f64 / 4.0;
        svg.line(x0, y_of(p), x1, y_of(p), "stroke=\"#eeeeee\"");
        svg.text(
            x0 - 8.0,
            y_of(p) + 4.0,
            "end",
            "",
            &format!("{:.0}", p * 100.0),
        );
    }
    svg.line(x0, TOP + PLOT_H, x1, TOP + PLOT_H, "stroke=\"black\"");
    svg.line(x0, TOP, x0, TOP + PLOT_H, "stroke=\"black\"");
    svg.text(
        (x0 + x1) / 2.0,
        TOP + PLOT_H + 40.0,
        "middle",
        "",
        "latency (log scale; further left is better)",
    );
    svg.vertical_text(16.0, TOP + PLOT_H / 2.0, "operations at or below, %");
    let mut legend = Vec::new();
    for (ci, threads, q) in &series {
        let c = &w.contenders[*ci];
        let color = PALETTE[ci % PALETTE.len()];
        let mut points = String::new();
        for (k, v) in q.iter().enumerate() {
            let p = k as f64 / (q.len() - 1).max(1) as f64 * 0.999;
            let _ = write!(points, "{:.1},{:.1} ", x_of(*v), y_of(p));
        }
        let _ = writeln!(
            svg.body,
            "<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{}/>",
            dash(&c.role)
        );
        let name = if multi {
            format!("{} @{threads}", legend_name(&c.name, &c.role))
        } else {
            legend_name(&c.name, &c.role)
        };
        legend.push((name, color, c.role.clone()));
    }
    svg.legend(legend_top, &legend);
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_go_logarithmic_past_a_twentyfold_span() {
        assert!(matches!(
            Axis::fit([0.05, 0.06, 1985.0].into_iter()),
            Axis::Log { lo, hi } if lo == -2.0 && hi == 4.0
        ));
        assert!(matches!(
            Axis::fit([5.0, 40.0, 90.0].into_iter()),
            Axis::Linear { max } if max == 100.0
        ));
        assert!(matches!(
            Axis::fit([0.5, 31.0].into_iter()),
            Axis::Log { .. }
        ));
        let log = Axis::Log { lo: -2.0, hi: 4.0 };
        assert!((log.frac(1.0) - 2.0 / 6.0).abs() < 1e-12);
        assert_eq!(log.frac(1e-9), 0.0);
    }

    #[test]
    fn nice_maxima_are_round_and_tight() {
        assert_eq!(nice_max(7.2), 8.0);
        assert_eq!(nice_max(101.0), 120.0);
        assert_eq!(nice_max(0.0), 1.0);
    }
}
