//! SVG charts for `synclab compare`, written by hand (no plotting dependency): a line chart of
//! the metric against thread count, a bar chart where a workload has a single thread count,
//! and a latency CDF where a workload recorded per-operation latencies.
//!
//! Styling: synclab designs are solid lines, anchors dashed, floors dotted, the seed's designs
//! dash-dotted; every chart has a title, labelled axes with units, and a legend.

use std::fmt::Write as _;
use std::path::Path;

use synclab_benches::Role;

use crate::compare::{fmt_value, Results};

const W: f64 = 1000.0;
const H: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 490.0; // legend column: long contender names fit
const TOP: f64 = 50.0;
const BOTTOM: f64 = 60.0;
const PALETTE: [&str; 12] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22", "#393b79", "#637939",
];

fn dash(role: Role) -> &'static str {
    match role {
        Role::Synclab => "",
        Role::Anchor => " stroke-dasharray=\"7 4\"",
        Role::Floor => " stroke-dasharray=\"2 3\"",
        Role::Seed => " stroke-dasharray=\"8 3 2 3\"",
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A "nice" upper bound for an axis starting at zero.
fn nice_max(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

struct Svg(String);

impl Svg {
    fn new(title: &str) -> Self {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\" text-anchor=\"start\">{}</text>",
            esc(title)
        );
        Svg(s)
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.0,
            "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" {style}/>"
        );
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, text: &str) {
        let _ = writeln!(
            self.0,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" {extra}>{}</text>",
            esc(text)
        );
    }

    fn axes(&mut self, x_label: &str, y_label: &str) {
        let (x0, y0, x1, y1) = (LEFT, H - BOTTOM, W - RIGHT, TOP);
        self.line(x0, y0, x1, y0, "stroke=\"black\"");
        self.line(x0, y0, x0, y1, "stroke=\"black\"");
        self.text((x0 + x1) / 2.0, H - 15.0, "middle", "", x_label);
        let _ = writeln!(
            self.0,
            "<text x=\"18\" y=\"{:.1}\" text-anchor=\"middle\" transform=\"rotate(-90 18 {:.1})\">{}</text>",
            (y0 + y1) / 2.0,
            (y0 + y1) / 2.0,
            esc(y_label)
        );
    }

    fn y_ticks(&mut self, max: f64) {
        for i in 0..=5 {
            let v = max * i as f64 / 5.0;
            let y = H - BOTTOM - (H - BOTTOM - TOP) * i as f64 / 5.0;
            self.line(LEFT - 4.0, y, W - RIGHT, y, "stroke=\"#ddd\"");
            self.text(LEFT - 8.0, y + 4.0, "end", "", &fmt_value(v));
        }
    }

    fn legend(&mut self, entries: &[(String, &str, Role)]) {
        for (i, (name, color, role)) in entries.iter().enumerate() {
            let y = TOP + 10.0 + 20.0 * i as f64;
            let x = W - RIGHT + 15.0;
            self.line(
                x,
                y,
                x + 28.0,
                y,
                &format!("stroke=\"{color}\" stroke-width=\"2.5\"{}", dash(*role)),
            );
            self.text(x + 34.0, y + 4.0, "start", "", name);
        }
    }

    fn finish(mut self) -> String {
        self.0.push_str("</svg>\n");
        self.0
    }
}

fn legend_name(name: &str, role: Role) -> String {
    match role {
        Role::Synclab => name.to_string(),
        Role::Anchor => format!("{name} (anchor)"),
        Role::Floor => format!("{name} (floor)"),
        Role::Seed => format!("{name} (seed)"),
    }
}

fn file_name(id: &str, suffix: &str) -> String {
    format!("{}{suffix}.svg", id.replace('/', "_"))
}

/// Writes every chart for `r` into `dir`; returns how many were written.
pub fn write_all(r: &Results, dir: &Path) -> Result<usize, String> {
    let mut count = 0;
    for (wi, w) in r.workloads.iter().enumerate() {
        let threads = r.thread_counts(wi);
        let svg = if threads.len() > 1 {
            line_chart(r, wi, &threads)
        } else {
            bar_chart(r, wi, threads[0])
        };
        let path = dir.join(file_name(w.id, ""));
        std::fs::write(&path, svg).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        count += 1;
        if r.cells
            .iter()
            .any(|c| c.workload == wi && !c.samples_ns.is_empty())
        {
            let path = dir.join(file_name(w.id, "_latency"));
            std::fs::write(&path, cdf_chart(r, wi))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            count += 1;
        }
    }
    Ok(count)
}

fn line_chart(r: &Results, wi: usize, threads: &[usize]) -> String {
    let w = &r.workloads[wi];
    let ymax = nice_max(
        r.cells
            .iter()
            .filter(|c| c.workload == wi)
            .map(|c| c.max())
            .fold(0.0, f64::max),
    );
    let mut svg = Svg::new(w.title);
    svg.y_ticks(ymax);
    svg.axes(w.threads_label, w.metric.unit());
    let n = threads.len();
    let x_of =
        |i: usize| LEFT + 30.0 + (W - RIGHT - LEFT - 60.0) * i as f64 / (n - 1).max(1) as f64;
    let y_of = |v: f64| H - BOTTOM - (H - BOTTOM - TOP) * (v / ymax).clamp(0.0, 1.0);
    for (i, t) in threads.iter().enumerate() {
        svg.text(x_of(i), H - BOTTOM + 18.0, "middle", "", &t.to_string());
    }
    let mut legend = Vec::new();
    for (ci, c) in w.contenders.iter().enumerate() {
        let color = PALETTE[ci % PALETTE.len()];
        let mut points = String::new();
        for (i, &t) in threads.iter().enumerate() {
            if let Some(cell) = r.cells_of(wi, t).find(|cell| cell.contender == ci) {
                let (x, y) = (x_of(i), y_of(cell.median()));
                let _ = write!(points, "{x:.1},{y:.1} ");
                svg.line(
                    x,
                    y_of(cell.min()),
                    x,
                    y_of(cell.max()),
                    &format!("stroke=\"{color}\" stroke-width=\"1\""),
                );
                let _ = writeln!(
                    svg.0,
                    "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{color}\"/>"
                );
            }
        }
        let _ = writeln!(
            svg.0,
            "<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2.5\"{}/>",
            dash(c.role)
        );
        legend.push((legend_name(c.name, c.role), color, c.role));
    }
    svg.legend(&legend);
    svg.finish()
}

fn bar_chart(r: &Results, wi: usize, threads: usize) -> String {
    let w = &r.workloads[wi];
    let cells: Vec<_> = r.cells_of(wi, threads).collect();
    let xmax = nice_max(cells.iter().map(|c| c.max()).fold(0.0, f64::max));
    let mut svg = Svg::new(&format!("{} ({threads} {})", w.title, w.threads_label));
    // Horizontal bars: the value axis is x.
    let (x0, x1) = (LEFT + 150.0, W - 40.0);
    let y0 = TOP + 10.0;
    let bar_h = ((H - BOTTOM - y0) / cells.len().max(1) as f64).min(36.0);
    let x_of = |v: f64| x0 + (x1 - x0) * (v / xmax).clamp(0.0, 1.0);
    for i in 0..=5 {
        let v = xmax * i as f64 / 5.0;
        let x = x_of(v);
        svg.line(x, y0, x, H - BOTTOM, "stroke=\"#ddd\"");
        svg.text(x, H - BOTTOM + 16.0, "middle", "", &fmt_value(v));
    }
    svg.line(x0, H - BOTTOM, x1, H - BOTTOM, "stroke=\"black\"");
    svg.text(
        (x0 + x1) / 2.0,
        H - 15.0,
        "middle",
        "",
        &format!(
            "{} ({}; whiskers: min–max of {} repetitions)",
            w.metric.unit(),
            if w.metric.higher_is_better() {
                "higher is better"
            } else {
                "lower is better"
            },
            r.reps
        ),
    );
    for (i, cell) in cells.iter().enumerate() {
        let c = &w.contenders[cell.contender];
        let color = PALETTE[cell.contender % PALETTE.len()];
        let y = y0 + bar_h * i as f64;
        let _ = writeln!(
            svg.0,
            "<rect x=\"{x0:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{color}\" fill-opacity=\"{}\"/>",
            y + 3.0,
            (x_of(cell.median()) - x0).max(1.0),
            bar_h - 6.0,
            if c.role == Role::Synclab { "0.9" } else { "0.45" }
        );
        let mid = y + bar_h / 2.0;
        svg.line(
            x_of(cell.min()),
            mid,
            x_of(cell.max()),
            mid,
            "stroke=\"black\"",
        );
        svg.text(x0 - 6.0, mid + 4.0, "end", "", &legend_name(c.name, c.role));
        svg.text(
            x_of(cell.median()) + 4.0,
            mid - 6.0,
            "start",
            "font-size=\"10\"",
            &fmt_value(cell.median()),
        );
    }
    svg.finish()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx] as f64
}

fn cdf_chart(r: &Results, wi: usize) -> String {
    let w = &r.workloads[wi];
    let mut series = Vec::new();
    for cell in r
        .cells
        .iter()
        .filter(|c| c.workload == wi && !c.samples_ns.is_empty())
    {
        let mut s = cell.samples_ns.clone();
        s.sort_unstable();
        series.push((cell.contender, cell.threads, s));
    }
    let lo = series
        .iter()
        .map(|(_, _, s)| s[0].max(1))
        .min()
        .unwrap_or(1) as f64;
    let hi = series
        .iter()
        .map(|(_, _, s)| percentile(s, 0.999).max(2.0))
        .fold(2.0, f64::max);
    let (llo, lhi) = (
        lo.log10().floor(),
        hi.log10().ceil().max(lo.log10().floor() + 1.0),
    );
    let mut svg = Svg::new(&format!("{} — latency distribution", w.title));
    svg.axes(
        "latency (ns, log scale)",
        "fraction of operations ≤ latency (%)",
    );
    let x_of = |v: f64| {
        LEFT + (W - RIGHT - LEFT) * ((v.max(1.0).log10() - llo) / (lhi - llo)).clamp(0.0, 1.0)
    };
    let y_of = |p: f64| H - BOTTOM - (H - BOTTOM - TOP) * p;
    for e in (llo as i32)..=(lhi as i32) {
        let x = x_of(10f64.powi(e));
        svg.line(x, TOP, x, H - BOTTOM, "stroke=\"#ddd\"");
        svg.text(x, H - BOTTOM + 16.0, "middle", "", &format!("1e{e}"));
    }
    for i in 0..=4 {
        let p = i as f64 / 4.0;
        svg.text(
            LEFT - 8.0,
            y_of(p) + 4.0,
            "end",
            "",
            &format!("{:.0}", p * 100.0),
        );
        svg.line(LEFT, y_of(p), W - RIGHT, y_of(p), "stroke=\"#eee\"");
    }
    let mut legend = Vec::new();
    for (ci, threads, s) in &series {
        let c = &w.contenders[*ci];
        let color = PALETTE[ci % PALETTE.len()];
        let mut points = String::new();
        let steps = 100;
        for k in 0..=steps {
            let p = k as f64 / steps as f64 * 0.999;
            let _ = write!(points, "{:.1},{:.1} ", x_of(percentile(s, p)), y_of(p));
        }
        let _ = writeln!(
            svg.0,
            "<polyline points=\"{points}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\"{}/>",
            dash(c.role)
        );
        let name = if r.thread_counts(wi).len() > 1 {
            format!("{} @{threads}", legend_name(c.name, c.role))
        } else {
            legend_name(c.name, c.role)
        };
        legend.push((name, color, c.role));
    }
    svg.legend(&legend);
    svg.finish()
}
