//! A small SVG renderer for [`Diagram`]: participants in boxes along the top, a dashed
//! lifeline under each, one row per arrow or note. No layout engine and no network service:
//! text widths are estimated from the character count (monospace), which is all a sequence
//! diagram needs.

use std::fmt::Write as _;

use super::render::{Arrow, Diagram, Item};

const CHAR: f64 = 7.2; // width of a character at 12px monospace
const ROW: f64 = 30.0;
const NOTE_ROW: f64 = 24.0;
const TOP: f64 = 20.0;
const BOX_H: f64 = 30.0;
const MARGIN: f64 = 20.0;
const MIN_GAP: f64 = 90.0;

fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * CHAR
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('*', "")
}

/// Renders `d` as a standalone SVG document.
pub fn svg(d: &Diagram) -> String {
    let n = d.participants.len().max(1);
    // Half-widths of the participant boxes, then the gaps between neighbouring lifelines,
    // widened until every arrow's label and every note fits.
    let half: Vec<f64> = d
        .participants
        .iter()
        .map(|p| (text_width(p) + 20.0) / 2.0)
        .collect();
    let mut gaps: Vec<f64> = (0..n.saturating_sub(1))
        .map(|i| (half[i] + half[i + 1] + 20.0).max(MIN_GAP))
        .collect();
    for item in &d.items {
        let (lo, hi, need) = match item {
            Item::Message { from, to, text, .. } => {
                let (lo, hi) = ((*from).min(*to), (*from).max(*to));
                (lo, hi, text_width(text) + 24.0)
            }
            Item::Note { from, to, text } => {
                let (lo, hi) = ((*from).min(*to), (*from).max(*to));
                (lo, hi, text_width(text) + 16.0)
            }
        };
        if hi > lo {
            let have: f64 = gaps[lo..hi].iter().sum();
            if have < need {
                gaps[hi - 1] += need - have;
            }
        }
    }
    // A note over one participant (or an arrow to itself) may need room on both sides.
    let mut left_pad: f64 = 0.0;
    let mut right_pad: f64 = 0.0;
    for item in &d.items {
        let (p, need) = match item {
            Item::Note { from, to, text } if from == to => (*from, text_width(text) / 2.0 + 10.0),
            Item::Message { from, to, text, .. } if from == to => (*from, text_width(text) + 40.0),
            _ => continue,
        };
        if p == 0 {
            left_pad = left_pad.max(need);
        }
        if p + 1 == n {
            right_pad = right_pad.max(need);
        }
        if p > 0 {
            gaps[p - 1] = gaps[p - 1].max(need + half[p - 1].min(40.0));
        }
        if p + 1 < n {
            gaps[p] = gaps[p].max(need + half[p + 1].min(40.0));
        }
    }
    let first = MARGIN + half.first().copied().unwrap_or(40.0).max(left_pad);
    let mut x = vec![first];
    for g in &gaps {
        let last = *x.last().unwrap_or(&first);
        x.push(last + g);
    }
    let width = x.last().copied().unwrap_or(first)
        + half.last().copied().unwrap_or(40.0).max(right_pad)
        + MARGIN;
    let rows: f64 = d
        .items
        .iter()
        .map(|i| match i {
            Item::Message { from, to, .. } if from == to => ROW + 14.0,
            Item::Message { .. } => ROW,
            Item::Note { .. } => NOTE_ROW + 4.0,
        })
        .sum();
    let body_top = TOP + BOX_H + 16.0;
    let height = body_top + rows + 20.0 + BOX_H + MARGIN;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="monospace" font-size="12">"#
    );
    out.push_str(
        r##"<defs><marker id="head" markerWidth="10" markerHeight="8" refX="9" refY="4" orient="auto"><path d="M0,0 L10,4 L0,8 z" fill="#333"/></marker></defs>
<rect width="100%" height="100%" fill="white"/>
"##,
    );
    let bottom = height - MARGIN - BOX_H;
    for (i, p) in d.participants.iter().enumerate() {
        let cx = x[i];
        let _ = writeln!(
            out,
            r##"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{bottom:.1}" stroke="#999" stroke-dasharray="4,3"/>"##,
            TOP + BOX_H
        );
        for y in [TOP, bottom] {
            let _ = writeln!(
                out,
                r##"<rect x="{:.1}" y="{y:.1}" width="{:.1}" height="{BOX_H:.1}" rx="4" fill="#eef3fb" stroke="#4a6fa5"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                cx - half[i],
                2.0 * half[i],
                y + BOX_H / 2.0 + 4.0,
                escape(p)
            );
        }
    }
    let mut y = body_top;
    for item in &d.items {
        match item {
            Item::Message {
                from,
                to,
                text,
                arrow,
            } => {
                let (x1, x2) = (x[*from], x[*to]);
                let (dash, color) = match arrow {
                    Arrow::Solid => ("", "#333"),
                    Arrow::Dotted => (r#" stroke-dasharray="5,4""#, "#333"),
                    Arrow::Lost => (r#" stroke-dasharray="5,4""#, "#c0392b"),
                };
                let label_color = if *arrow == Arrow::Lost {
                    "#c0392b"
                } else {
                    "#111"
                };
                if from == to {
                    let _ = writeln!(
                        out,
                        r##"<path d="M{x1:.1},{:.1} h30 v14 h-28" fill="none" stroke="{color}"{dash} marker-end="url(#head)"/><text x="{:.1}" y="{:.1}" fill="{label_color}">{}</text>"##,
                        y + 4.0,
                        x1 + 36.0,
                        y + 14.0,
                        escape(text)
                    );
                    y += ROW + 14.0;
                } else {
                    let line_y = y + 18.0;
                    let end = if *arrow == Arrow::Lost {
                        // A cross where the arrow should have arrived.
                        let cx = x2 - (x2 - x1).signum() * 6.0;
                        format!(
                            r##"<path d="M{:.1},{:.1} l8,8 M{:.1},{:.1} l-8,8" stroke="{color}" stroke-width="2"/>"##,
                            cx - 4.0,
                            line_y - 4.0,
                            cx + 4.0,
                            line_y - 4.0
                        )
                    } else {
                        String::new()
                    };
                    let marker = if *arrow == Arrow::Lost {
                        ""
                    } else {
                        r#" marker-end="url(#head)""#
                    };
                    let _ = writeln!(
                        out,
                        r##"<line x1="{x1:.1}" y1="{line_y:.1}" x2="{x2:.1}" y2="{line_y:.1}" stroke="{color}"{dash}{marker}/>{end}<text x="{:.1}" y="{:.1}" text-anchor="middle" fill="{label_color}">{}</text>"##,
                        (x1 + x2) / 2.0,
                        line_y - 4.0,
                        escape(text)
                    );
                    y += ROW;
                }
            }
            Item::Note { from, to, text } => {
                let (lo, hi) = (x[(*from).min(*to)], x[(*from).max(*to)]);
                let w = (hi - lo + 40.0).max(text_width(text) + 16.0);
                let cx = (lo + hi) / 2.0;
                let warn = text.contains('⚠') || text.contains('‖');
                let (fill, stroke) = if warn {
                    ("#fdecea", "#c0392b")
                } else {
                    ("#fff8dc", "#b8a040")
                };
                let _ = writeln!(
                    out,
                    r##"<rect x="{:.1}" y="{:.1}" width="{w:.1}" height="{NOTE_ROW:.1}" fill="{fill}" stroke="{stroke}"/><text x="{cx:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                    cx - w / 2.0,
                    y + 2.0,
                    y + 18.0,
                    escape(text)
                );
                y += NOTE_ROW + 4.0;
            }
        }
    }
    out.push_str("</svg>\n");
    out
}
