//! From per-round values to estimates and verdicts: the best anchor of a cell, paired
//! advantages, and every [`Target`] judged.
//!
//! **The best anchor.** For a [`BEST_ANCHOR`] target (and the "×" column of the tables) the
//! reference is the anchor with the best *median* value in that cell; the contender is then
//! paired with that one anchor round by round. Choosing the anchor from the same rounds
//! favours the anchor slightly (its median is the best of several), so the verdict errs
//! against the synclab design, never for it.

use synclab_benches::{Target, ABSOLUTE, BEST_ANCHOR};

use super::results::{CellResult, Run, Series, TargetResult, WorkloadInfo};
use super::stats::{self, Estimate, Verdict};

/// The median and interval of a contender's per-round values.
pub fn value_estimate(series: &Series) -> Option<Estimate> {
    stats::estimate(&series.finite())
}

/// Whether `a` is a better value than `b` in `w`'s metric.
fn better(w: &WorkloadInfo, a: f64, b: f64) -> bool {
    if w.higher_is_better {
        a > b
    } else {
        a < b
    }
}

/// The anchor with the best median in `cell`.
pub fn best_anchor<'a>(w: &WorkloadInfo, cell: &'a CellResult) -> Option<&'a Series> {
    cell.series
        .iter()
        .filter(|s| {
            w.contenders
                .iter()
                .any(|c| c.name == s.contender && c.role == "anchor")
        })
        .filter_map(|s| value_estimate(s).map(|e| (s, e.median)))
        .reduce(|a, b| if better(w, b.1, a.1) { b } else { a })
        .map(|(s, _)| s)
}

/// The per-round advantage of `contender` over `reference` (better-is-bigger), estimated.
pub fn advantage(w: &WorkloadInfo, contender: &Series, reference: &Series) -> Option<Estimate> {
    stats::estimate(&stats::paired_advantages(
        &contender.values,
        &reference.values,
        w.higher_is_better,
    ))
}

/// Judges `target` on `run`.
pub fn judge(workloads: &[WorkloadInfo], run: &Run, target: &Target) -> TargetResult {
    let w = workloads.iter().find(|w| w.id == target.workload);
    let cell = run.cell(target.workload, target.threads);
    let absolute = target.reference == ABSOLUTE;
    let mut result = TargetResult {
        claim: target.claim.to_string(),
        workload: target.workload.to_string(),
        threads: target.threads,
        contender: target.contender.to_string(),
        reference: target.reference.to_string(),
        reference_used: None,
        required: target.min_advantage,
        absolute,
        unit: w.map(|w| w.unit.clone()).unwrap_or_default(),
        higher_is_better: w.is_some_and(|w| w.higher_is_better),
        estimate: None,
        verdict: Verdict::NotRun,
        noisy: cell.is_some_and(|c| c.noise.noisy),
    };
    let (Some(w), Some(cell)) = (w, cell) else {
        return result;
    };
    let Some(contender) = cell.series_of(target.contender) else {
        return result;
    };
    let estimate = if absolute {
        value_estimate(contender)
    } else {
        let reference = if target.reference == BEST_ANCHOR {
            best_anchor(w, cell)
        } else {
            cell.series_of(target.reference)
        };
        let Some(reference) = reference else {
            return result;
        };
        result.reference_used = Some(reference.contender.clone());
        advantage(w, contender, reference)
    };
    let Some(estimate) = estimate else {
        return result;
    };
    // Ratios are better-is-bigger; an absolute bound is judged in the metric's direction.
    let higher = if absolute { w.higher_is_better } else { true };
    result.verdict = stats::judge(&estimate, target.min_advantage, higher);
    result.estimate = Some(estimate.into());
    result
}

/// Counts of each verdict among `targets`: (met, missed, undecided, not run).
pub fn tally(targets: &[TargetResult]) -> [usize; 4] {
    let mut t = [0; 4];
    for r in targets {
        t[match r.verdict {
            Verdict::Met => 0,
            Verdict::Missed => 1,
            Verdict::Undecided => 2,
            Verdict::NotRun => 3,
        }] += 1;
    }
    t
}

/// How two runs' verdicts on one target relate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Both decided, the same way.
    Agree,
    /// Both decided, differently.
    Disagree,
    /// At least one undecided (or not run): nothing to compare.
    NotBothDecided,
}

/// Compares two verdicts.
pub fn agreement(a: Verdict, b: Verdict) -> Agreement {
    let decided = |v| matches!(v, Verdict::Met | Verdict::Missed);
    if !decided(a) || !decided(b) {
        Agreement::NotBothDecided
    } else if a == b {
        Agreement::Agree
    } else {
        Agreement::Disagree
    }
}
