//! The statistics behind every verdict: the median of per-round values or per-round ratios,
//! and a distribution-free confidence interval for it from binomial order statistics.
//!
//! # Why order statistics, not the bootstrap
//!
//! For `n` independent rounds of a continuous quantity with median `m`, the number of rounds
//! below `m` is Binomial(`n`, ½) whatever the distribution. So the interval between the
//! `(k+1)`-th smallest and the `(k+1)`-th largest value covers `m` with probability exactly
//! `1 − 2·P(B ≤ k)`, `B ~ Binomial(n, ½)`; we take the largest `k` that keeps this at or
//! above 95 %. The interval is exact for every `n` (no resampling, no asymptotics, no random
//! seed, so the same rounds always give the same interval), robust to the heavy tails a
//! shared 2-core machine produces (a round where a thread was descheduled moves the interval
//! by at most one rank), and it needs at least 6 rounds: with fewer, even [min, max] covers
//! the median with less than 95 % probability, and the verdict is *undecided*. The bootstrap
//! of a median is discrete and unreliable at the small round counts a time budget allows, and
//! assumes more than it gives back.

/// The confidence level of every interval.
pub const CONFIDENCE: f64 = 0.95;

/// The median of `values` (which need not be sorted; NaNs are ignored, infinities are
/// ordinary extremes); `None` when empty.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A median with its confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The sample median.
    pub median: f64,
    /// Lower end of the interval (the `k+1`-th smallest value).
    pub lo: f64,
    /// Upper end of the interval (the `k+1`-th largest value).
    pub hi: f64,
    /// How many values it is computed from.
    pub n: usize,
    /// The exact coverage of `[lo, hi]`, ≥ [`CONFIDENCE`] when `n ≥ 6`; below it otherwise
    /// (then `[lo, hi]` is `[min, max]` and no verdict is drawn from it).
    pub coverage: f64,
}

impl Estimate {
    /// Whether the interval reaches [`CONFIDENCE`].
    pub fn is_confident(&self) -> bool {
        self.coverage >= CONFIDENCE
    }

    /// Half the interval's width as a percentage of the median (the tables' "±").
    pub fn half_width_pct(&self) -> f64 {
        if self.median == 0.0 || !self.median.is_finite() {
            0.0
        } else {
            (self.hi - self.lo) / 2.0 / self.median.abs() * 100.0
        }
    }
}

/// `P(B ≤ k)` for `B ~ Binomial(n, ½)`, summed in log space so large `n` cannot underflow the
/// terms that matter.
fn binomial_half_cdf(n: usize, k: usize) -> f64 {
    let ln2 = std::f64::consts::LN_2;
    let mut ln_choose = 0.0f64; // ln C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        sum += (ln_choose - n as f64 * ln2).exp();
    }
    sum.min(1.0)
}

/// The median of `values` with its order-statistic interval (see the module docs); `None`
/// when there is no value. Order statistics need only an order, so an infinite ratio (a
/// reference that did nothing in a round) is a value like any other.
pub fn estimate(values: &[f64]) -> Option<Estimate> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = median(&v)?;
    // The largest k with 2·P(B ≤ k) ≤ 1 − CONFIDENCE; none when even k = 0 fails.
    let alpha = 1.0 - CONFIDENCE;
    let mut best: Option<usize> = None;
    let mut k = 0;
    while 2 * k < n {
        if 2.0 * binomial_half_cdf(n, k) <= alpha + 1e-12 {
            best = Some(k);
            k += 1;
        } else {
            break;
        }
    }
    let (k, coverage) = match best {
        Some(k) => (k, 1.0 - 2.0 * binomial_half_cdf(n, k)),
        None => (0, 1.0 - 2.0 * binomial_half_cdf(n, 0)),
    };
    Some(Estimate {
        median,
        lo: v[k],
        hi: v[n - 1 - k],
        n,
        coverage,
    })
}

/// A target's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// The whole interval is on the required side.
    Met,
    /// The whole interval is on the wrong side.
    Missed,
    /// The interval straddles the requirement, or there were too few rounds for one.
    Undecided,
    /// The workload or a contender was not run (filtered out, or it failed).
    #[serde(rename = "not run")]
    NotRun,
}

/// Judges an estimate against a requirement: with `higher_is_better`, the value must be at
/// least `required`; otherwise at most `required`.
pub fn judge(e: &Estimate, required: f64, higher_is_better: bool) -> Verdict {
    if !e.is_confident() {
        return Verdict::Undecided;
    }
    let (good, bad) = if higher_is_better {
        (e.lo >= required, e.hi < required)
    } else {
        (e.hi <= required, e.lo > required)
    };
    if good {
        Verdict::Met
    } else if bad {
        Verdict::Missed
    } else {
        Verdict::Undecided
    }
}

/// Per-round advantages of `contender` over `reference` in better-is-bigger form: the ratio
/// contender / reference for a higher-is-better metric, reference / contender otherwise.
/// A zero is a value (a starved thread's fairness, an idle pool's CPU): over a positive one
/// it gives 0 or +∞, which order statistics rank like any other ratio. Rounds where either
/// value is missing, negative or not finite, or both are zero, are skipped.
pub fn paired_advantages(
    contender: &[Option<f64>],
    reference: &[Option<f64>],
    higher_is_better: bool,
) -> Vec<f64> {
    contender
        .iter()
        .zip(reference)
        .filter_map(|(c, r)| match (c, r) {
            (Some(c), Some(r)) if c.is_finite() && r.is_finite() && *c >= 0.0 && *r >= 0.0 => {
                let (num, den) = if higher_is_better { (c, r) } else { (r, c) };
                match (*num == 0.0, *den == 0.0) {
                    (true, true) => None,
                    (false, true) => Some(f64::INFINITY),
                    _ => Some(num / den),
                }
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_cdf_matches_hand_values() {
        assert!((binomial_half_cdf(6, 0) - 1.0 / 64.0).abs() < 1e-15);
        assert!((binomial_half_cdf(10, 1) - 11.0 / 1024.0).abs() < 1e-15);
        assert!((binomial_half_cdf(4, 4) - 1.0).abs() < 1e-12);
        // No underflow at large n: P(B ≤ n/2) ≈ ½.
        let half = binomial_half_cdf(5000, 2500);
        assert!((half - 0.5).abs() < 0.01, "{half}");
    }

    #[test]
    fn interval_ranks_are_the_textbook_ones() {
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let e = estimate(&v).unwrap();
        // n = 10: k = 1, [x(2), x(9)], coverage 1 − 2·11/1024 = 97.85 %.
        assert_eq!((e.lo, e.hi), (2.0, 9.0));
        assert!((e.coverage - (1.0 - 22.0 / 1024.0)).abs() < 1e-12);
        let v: Vec<f64> = (1..=6).map(f64::from).collect();
        let e = estimate(&v).unwrap();
        assert_eq!((e.lo, e.hi), (1.0, 6.0));
        assert!(e.is_confident());
        let e = estimate(&[3.0, 1.0, 2.0, 5.0, 4.0]).unwrap();
        assert!(!e.is_confident(), "5 values cannot give a 95 % interval");
        // n = 20: k = 5 (2·P(B ≤ 5) = 4.1 %), [x(6), x(15)].
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        let e = estimate(&v).unwrap();
        assert_eq!((e.lo, e.hi), (6.0, 15.0));
    }

    /// The interval's coverage, checked by simulation on a skewed distribution: it must cover
    /// the true median in about (at least) 95 % of samples.
    #[test]
    fn interval_covers_the_true_median() {
        // xorshift: a fixed seed, no dependency.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        // Exponential(1): median ln 2.
        let true_median = std::f64::consts::LN_2;
        for n in [6, 11, 30] {
            let trials = 4000;
            let mut covered = 0;
            for _ in 0..trials {
                let v: Vec<f64> = (0..n).map(|_| -(1.0 - uniform()).ln()).collect();
                let e = estimate(&v).unwrap();
                if e.lo <= true_median && true_median <= e.hi {
                    covered += 1;
                }
            }
            let rate = covered as f64 / trials as f64;
            assert!(rate > 0.94, "n = {n}: coverage {rate}");
        }
    }

    #[test]
    fn verdicts_follow_the_interval() {
        let e = |lo, hi| Estimate {
            median: (lo + hi) / 2.0,
            lo,
            hi,
            n: 20,
            coverage: 0.96,
        };
        assert_eq!(judge(&e(1.1, 1.3), 1.0, true), Verdict::Met);
        assert_eq!(judge(&e(0.8, 0.95), 1.0, true), Verdict::Missed);
        assert_eq!(judge(&e(0.9, 1.1), 1.0, true), Verdict::Undecided);
        // Lower is better (an absolute ceiling): all of it at or under the bound.
        assert_eq!(judge(&e(0.04, 0.07), 5.0, false), Verdict::Met);
        assert_eq!(judge(&e(6.0, 9.0), 5.0, false), Verdict::Missed);
        let few = Estimate {
            coverage: 0.9,
            ..e(2.0, 3.0)
        };
        assert_eq!(judge(&few, 1.0, true), Verdict::Undecided);
    }

    #[test]
    fn advantages_pair_rounds_and_respect_direction() {
        let c = [Some(2.0), None, Some(3.0), Some(0.0), Some(0.0)];
        let r = [Some(1.0), Some(1.0), Some(6.0), Some(1.0), Some(0.0)];
        assert_eq!(paired_advantages(&c, &r, true), vec![2.0, 0.5, 0.0]);
        assert_eq!(
            paired_advantages(&c, &r, false),
            vec![0.5, 2.0, f64::INFINITY]
        );
        // Infinite ratios are ranked, not dropped.
        let e = estimate(&[1.0, 2.0, f64::INFINITY, 3.0, 4.0, 5.0, f64::INFINITY]).unwrap();
        assert_eq!(e.median, 4.0);
        assert_eq!(e.hi, f64::INFINITY);
    }
}
