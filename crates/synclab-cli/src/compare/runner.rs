//! The measuring loop: for every (workload, thread count) *cell*, the contenders run in short
//! alternating rounds inside one time budget.
//!
//! 1. **Calibration.** Before anything is measured, every contender of every cell is called
//!    once and timed: that gives each cell's round length (below) and so what its minimum and
//!    maximum rounds cost.
//! 2. **Budget.** A run has one budget in seconds. Cells are measured in order; each gets its
//!    minimum rounds plus its weight's share of what is left after every remaining cell's
//!    minimum (a cell that carries a target weighs [`Plan::target_weight`], any other 1), at
//!    most its maximum. Shares are recomputed before every cell from the time actually left,
//!    so a cell that ran short or long moves the difference onto the ones after it, the run
//!    as a whole keeps to its budget, and a workload added later gets its share without anyone
//!    choosing a number for it. (If the minimums alone exceed the budget, the run says so and
//!    overruns rather than drop below the rounds an interval needs.)
//! 3. **Warm-up.** At the start of its cell each contender is called once more, untimed for
//!    the results: first calls pay for page faults, thread creation and cold caches. That
//!    call's wall time sizes the rounds: a contender whose call is shorter than [`Plan::round`]
//!    makes as many calls per round as fill it, and stops early if they take longer than that
//!    (a round's value is the mean of its calls' values).
//! 4. **Rounds.** Round `r` runs every contender once (its calls back to back) in the order of
//!    row `r` of a Williams design (a balanced Latin square: rows are rotations of
//!    0, 1, n−1, 2, n−2, …, and for odd `n` their mirror images too), so over a cycle of rounds
//!    each contender runs in every position equally often and right after every other one
//!    equally often: drift, and whatever a contender leaves behind for the next (a hot cache
//!    line, a thread still exiting), hit all alike. Rounds go on while the next one, at the
//!    pace so far, fits the cell's budget, from the plan's minimum to its maximum.
//! 5. **Noise.** Foreign CPU load over the rounds is measured ([`super::noise`]); a cell above
//!    [`Plan::noise_threshold`] is measured again once if the cell before it was quiet (a
//!    burst) and the run's re-measurement allowance lasts, and is marked noisy if the kept
//!    attempt is above the threshold.
//! 6. **Passes.** A run goes over the suite [`Plan::passes`] times, and every cell gets a
//!    `1/passes` share of its rounds in each pass (each pass starts with its own warm-up call
//!    and continues the cell's Williams rows where the last pass stopped). A cell's rounds are
//!    then spread over the whole run instead of a few seconds of it, so a state of the machine
//!    that lasts a few seconds or minutes (a neighbour's burst, a frequency step, where the
//!    scheduler happened to put the threads) reaches its interval as spread instead of moving
//!    its median: two runs' intervals then cover each other's slow and fast stretches, and a
//!    cell whose ratio drifts during the run is *undecided* instead of decided one way in one
//!    run and the other way in the next (`locks/window-cs` at 2 threads did exactly that with
//!    one pass: met in one run, missed in the next, each with a narrow interval).
//! 7. **Failures.** A contender call that panics (a thread that could not be spawned, a
//!    broken invariant) is caught: the cell keeps what it had, the failure is recorded with
//!    its message, and the run goes on; `synclab compare` exits non-zero at the end.

use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use synclab_benches::{Contender, Measurement, Params, Scale, Target, Workload};

use super::noise::Snapshot;
use super::results::{CellResult, Failure, Noise, Run, Series};
use crate::panics::{catching, QuietPanics};

/// How a run is planned.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per-call size.
    pub scale: Scale,
    /// Wall time the run is meant to take.
    pub budget: Duration,
    /// `--rounds`: this many rounds in every cell, whatever the budget.
    pub fixed_rounds: Option<usize>,
    /// How long each contender's part of a round should last.
    pub round: Duration,
    /// Fewest rounds: `[cell with a target, other cell]`.
    pub min_rounds: [usize; 2],
    /// Most rounds: `[cell with a target, other cell]`.
    pub max_rounds: [usize; 2],
    /// Budget weight of a cell that carries a target.
    pub target_weight: f64,
    /// Foreign load share above which a cell is re-measured or marked.
    pub noise_threshold: f64,
    /// Share of the budget that re-measuring noisy cells may take.
    pub remeasure_allowance: f64,
    /// Passes over the suite; every cell gets a share of its rounds in each (see the module
    /// docs).
    pub passes: usize,
}

/// A cell to measure.
struct CellPlan<'a> {
    workload: &'a Workload,
    threads: usize,
    carries_target: bool,
}

/// Progress: a bar on a terminal, one line per cell otherwise (a log, CI, a pipe).
struct Progress {
    bar: Option<ProgressBar>,
    label: String,
}

impl Progress {
    fn new(cells: usize, label: String) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(cells as u64);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} cell passes {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress { bar, label }
    }

    fn start(&self, cell: &CellPlan<'_>) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!(
                "{} [{} {}]",
                cell.workload.id, cell.threads, cell.workload.threads_label
            ));
        }
    }

    /// Slot `index` of `total` (one pass of one cell) is measured.
    fn done(
        &self,
        index: usize,
        total: usize,
        cell: &CellResult,
        planned: &CellPlan<'_>,
        (pass, passes): (usize, usize),
    ) {
        match &self.bar {
            Some(bar) => bar.inc(1),
            None => eprintln!(
                "{}[{:>3}/{total}]{} {} @ {}: {} contenders × {} rounds in {:.1} s (budget {:.1} s){}{}",
                self.label,
                index + 1,
                if passes > 1 {
                    format!(" pass {}/{passes}", pass + 1)
                } else {
                    String::new()
                },
                cell.workload,
                super::report::count_label(cell.threads, planned.workload.threads_label),
                planned.workload.contenders.len(),
                cell.rounds,
                cell.seconds,
                cell.budget_seconds,
                match cell.noise.foreign_share {
                    Some(s) => format!(", foreign load {:.0} %", s * 100.0),
                    None => String::new(),
                },
                if cell.noise.noisy { " — NOISY" } else { "" }
            ),
        }
    }

    fn note(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(format!("{}{text}", self.label)),
            None => eprintln!("{}{text}", self.label),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Measures every cell of `workloads` once; `label` prefixes progress lines (e.g. "run 1/2 ").
pub fn run_suite(
    workloads: &[Workload],
    targets: &[Target],
    plan: &Plan,
    index: usize,
    label: String,
) -> Run {
    let _quiet = QuietPanics::install();
    let started_at = super::meta::utc_now();
    let started = Instant::now();
    let cells: Vec<CellPlan<'_>> = workloads
        .iter()
        .flat_map(|w| {
            w.threads.iter().map(move |&threads| CellPlan {
                workload: w,
                threads,
                carries_target: targets
                    .iter()
                    .any(|t| t.workload == w.id && t.threads == threads),
            })
        })
        .collect();
    let passes = plan.passes.max(1);
    let progress = Progress::new(cells.len() * passes, label);
    // Calibration: one call of every contender of every cell, so the budget can be split
    // knowing what each cell's rounds cost (failures surface again in the cell's warm-up).
    progress.note(&format!(
        "calibrating: one call of each contender in {} cells",
        cells.len()
    ));
    let costs: Vec<CellCost> = cells
        .iter()
        .map(|cell| {
            let times: Vec<Duration> = cell
                .workload
                .contenders
                .iter()
                .map(|c| {
                    call(
                        c,
                        &Params {
                            threads: cell.threads,
                            scale: plan.scale,
                        },
                    )
                    .map_or(Duration::ZERO, |(_, t)| t)
                })
                .collect();
            CellCost::new(cell, plan, &times)
        })
        .collect();
    let minimum: f64 = costs.iter().map(|c| c.min).sum();
    let left = plan.budget.saturating_sub(started.elapsed()).as_secs_f64();
    if plan.fixed_rounds.is_none() {
        progress.note(&format!(
            "calibrated in {:.1} s: the cells' minimum rounds need about {minimum:.0} s of the {left:.0} s left{}",
            started.elapsed().as_secs_f64(),
            if minimum > left {
                " — more than the budget: the run will overrun it rather than drop below the rounds an interval needs"
            } else {
                ""
            }
        ));
    }
    // Every (pass, cell) is one slot, in the order they run; the budget is split over slots.
    let slots: Vec<(usize, usize)> = (0..passes)
        .flat_map(|pass| (0..cells.len()).map(move |i| (pass, i)))
        .collect();
    let slot_costs: Vec<CellCost> = slots
        .iter()
        .map(|&(_, i)| costs[i].per_pass(passes))
        .collect();
    let mut merged: Vec<Option<Measured>> = (0..cells.len()).map(|_| None).collect();
    let mut failures = Vec::new();
    let mut remeasured = Duration::ZERO;
    let allowance = plan.budget.mul_f64(plan.remeasure_allowance);
    let mut previous_quiet = false;
    for (k, &(pass, i)) in slots.iter().enumerate() {
        let cell = &cells[i];
        progress.start(cell);
        let budget = Duration::from_secs_f64(cell_budget(
            &slot_costs[k..],
            plan.budget.saturating_sub(started.elapsed()).as_secs_f64(),
        ));
        let part = PassPlan {
            pass,
            passes,
            first_round: merged[i].as_ref().map_or(0, |m| m.result.rounds),
            budget,
        };
        let mut measured = run_cell(cell, plan, &part, &mut failures);
        // A burst of foreign load is worth waiting out once; a machine that stays busy is
        // not (the second attempt would be as noisy): re-measure only after a quiet cell.
        if measured.result.noise.noisy
            && previous_quiet
            && remeasured + Duration::from_secs_f64(measured.result.seconds) <= allowance
        {
            let first = measured.result.noise.foreign_share;
            let first_seconds = measured.result.seconds;
            remeasured += Duration::from_secs_f64(measured.result.seconds);
            measured = run_cell(cell, plan, &part, &mut failures);
            measured.result.noise.first_attempt_share = first;
            measured.result.seconds += first_seconds;
        }
        previous_quiet = !measured.result.noise.noisy;
        progress.done(k, slots.len(), &measured.result, cell, (pass, passes));
        let whole = match merged[i].take() {
            None => measured,
            Some(before) => before.merge(measured, plan.noise_threshold),
        };
        merged[i] = Some(whole);
    }
    progress.finish();
    let results = merged.into_iter().flatten().map(Measured::finish).collect();
    Run {
        index,
        started: started_at,
        seconds: started.elapsed().as_secs_f64(),
        cells: results,
        targets: Vec::new(),
        failures,
    }
}

/// Which part of a cell's rounds one pass measures.
struct PassPlan {
    /// This pass (from 0).
    pass: usize,
    /// Passes in the run.
    passes: usize,
    /// Rounds the cell measured in earlier passes: this pass's Williams rows start there.
    first_round: usize,
    /// This pass's budget for the cell.
    budget: Duration,
}

/// A cell measured in one or more passes, its latency samples not yet reduced to quantiles.
struct Measured {
    result: CellResult,
    samples: Vec<Vec<u64>>,
}

impl Measured {
    /// This cell's rounds followed by `later`'s (a later pass of the same cell).
    fn merge(mut self, later: Measured, noise_threshold: f64) -> Measured {
        let (a, b) = (&mut self.result, later.result);
        let (sa, sb) = (a.seconds, b.seconds);
        // The cell's foreign load is the seconds-weighted mean over its passes, judged by the
        // same threshold as one pass's.
        a.noise.foreign_share = match (a.noise.foreign_share, b.noise.foreign_share) {
            (Some(x), Some(y)) if sa + sb > 0.0 => Some((x * sa + y * sb) / (sa + sb)),
            (x, y) => x.or(y),
        };
        a.noise.first_attempt_share = a.noise.first_attempt_share.or(b.noise.first_attempt_share);
        a.noise.noisy = a.noise.foreign_share.is_some_and(|s| s > noise_threshold);
        a.rounds += b.rounds;
        a.seconds += sb;
        a.budget_seconds += b.budget_seconds;
        for (sa, sb) in a.series.iter_mut().zip(b.series) {
            sa.calls_per_round = sa.calls_per_round.max(sb.calls_per_round);
            sa.warmup_call_ms = sa.warmup_call_ms.max(sb.warmup_call_ms);
            sa.values.extend(sb.values);
        }
        for w in b.warnings {
            if !a.warnings.contains(&w) {
                a.warnings.push(w);
            }
        }
        for (mine, theirs) in self.samples.iter_mut().zip(later.samples) {
            mine.extend(theirs);
        }
        self
    }

    fn finish(mut self) -> CellResult {
        for (series, samples) in self.result.series.iter_mut().zip(&mut self.samples) {
            series.latency_quantiles_ns = latency_quantiles(samples);
        }
        self.result
    }
}

/// What a cell's rounds cost, from the calibration calls (seconds).
#[derive(Debug, Clone, Copy)]
struct CellCost {
    /// Its warm-up plus its minimum rounds.
    min: f64,
    /// Its warm-up plus its maximum rounds.
    max: f64,
    /// Its budget weight.
    weight: f64,
    /// One warm-up call of every contender.
    warm_up: f64,
}

impl CellCost {
    fn new(cell: &CellPlan<'_>, plan: &Plan, times: &[Duration]) -> Self {
        let calls = calls_per_round(plan, times);
        let round: f64 = times
            .iter()
            .zip(&calls)
            .map(|(t, k)| t.as_secs_f64() * *k as f64)
            .sum();
        let warm_up: f64 = times.iter().map(Duration::as_secs_f64).sum();
        let which = usize::from(!cell.carries_target);
        let (min, max) = match plan.fixed_rounds {
            Some(n) => (n, n),
            None => (plan.min_rounds[which], plan.max_rounds[which]),
        };
        CellCost {
            min: warm_up + round * min as f64,
            max: warm_up + round * max as f64,
            weight: if cell.carries_target {
                plan.target_weight
            } else {
                1.0
            },
            warm_up,
        }
    }
}

impl CellCost {
    /// One pass's share of the cell when the run makes `passes` passes: its own warm-up
    /// call, and a `1/passes` share of the rounds (rounded up).
    fn per_pass(self, passes: usize) -> Self {
        if passes <= 1 {
            return self;
        }
        let warm_up = self.warm_up;
        let rounds = |total: f64| warm_up + (total - warm_up) / passes as f64;
        CellCost {
            min: rounds(self.min),
            max: rounds(self.max),
            ..self
        }
    }
}

/// The budget of the first of `costs` when `left` seconds remain for all of them: its minimum,
/// plus its weight's share of what the others' minimums leave over, at most its maximum.
fn cell_budget(costs: &[CellCost], left: f64) -> f64 {
    let slack = left - costs.iter().map(|c| c.min).sum::<f64>();
    let weights: f64 = costs.iter().map(|c| c.weight).sum();
    let this = costs[0];
    let share = if slack > 0.0 && weights > 0.0 {
        slack * this.weight / weights
    } else {
        0.0
    };
    (this.min + share).min(this.max)
}

/// Calls per round for each contender: enough to fill [`Plan::round`].
fn calls_per_round(plan: &Plan, times: &[Duration]) -> Vec<usize> {
    times
        .iter()
        .map(|t| {
            let t = t.as_secs_f64().max(1e-6);
            ((plan.round.as_secs_f64() / t).ceil() as usize).clamp(1, 100_000)
        })
        .collect()
}

/// One call of `c`: its measurement and wall time, or the panic message.
fn call(c: &Contender, params: &Params) -> Result<(Measurement, Duration), String> {
    let start = Instant::now();
    catching(|| (c.run)(params)).map(|m| (m, start.elapsed()))
}

/// Quantiles of pooled latency samples at 0, 1, …, 100 % of 0.999.
fn latency_quantiles(samples: &mut [u64]) -> Option<Vec<f64>> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let last = (samples.len() - 1) as f64;
    Some(
        (0..=100)
            .map(|k| samples[(last * 0.999 * k as f64 / 100.0).round() as usize] as f64)
            .collect(),
    )
}

/// The order of round `r` over `n` contenders: row `r` of a Williams design (see the module
/// docs). Its rows repeat every `n` rounds for even `n`, every `2n` for odd `n`.
pub fn round_order(n: usize, r: usize) -> Vec<usize> {
    if n == 0 {
        return Vec::new();
    }
    // 0, 1, n−1, 2, n−2, …
    let base = (0..n).map(|k| {
        if k % 2 == 1 {
            k.div_ceil(2)
        } else {
            (n - k / 2) % n
        }
    });
    let cycle = if n % 2 == 0 { n } else { 2 * n };
    let row = r % cycle;
    let mut order: Vec<usize> = base.map(|b| (b + row % n) % n).collect();
    if row >= n {
        order.reverse();
    }
    order
}

/// Pass `pass`'s share of `total` rounds over `passes` passes (the shares add up to `total`).
fn pass_share(total: usize, pass: usize, passes: usize) -> usize {
    total * (pass + 1) / passes - total * pass / passes
}

fn run_cell(
    cell: &CellPlan<'_>,
    plan: &Plan,
    part: &PassPlan,
    failures: &mut Vec<Failure>,
) -> Measured {
    let budget = part.budget;
    let w = cell.workload;
    let params = Params {
        threads: cell.threads,
        scale: plan.scale,
    };
    let started = Instant::now();
    let n = w.contenders.len();
    let mut failed = vec![false; n];
    let mut warnings = Vec::new();
    let mut fail = |ci: usize, message: String, failed: &mut Vec<bool>| {
        failed[ci] = true;
        failures.push(Failure {
            workload: w.id.to_string(),
            threads: cell.threads,
            contender: w.contenders[ci].name.to_string(),
            message,
        });
    };

    // Warm-up, which also sizes the rounds.
    let mut call_time = vec![Duration::ZERO; n];
    for (ci, c) in w.contenders.iter().enumerate() {
        match call(c, &params) {
            Ok((_, t)) => call_time[ci] = t,
            Err(message) => fail(ci, message, &mut failed),
        }
    }
    let calls = calls_per_round(plan, &call_time);
    let slow = plan.round.mul_f64(10.0).max(Duration::from_millis(150));
    for (ci, t) in call_time.iter().enumerate() {
        if *t > slow {
            warnings.push(format!(
                "one call of {} takes {:.0} ms (rounds are meant to be ~{:.0} ms): its per-call size is too large for short rounds",
                w.contenders[ci].name,
                t.as_secs_f64() * 1e3,
                plan.round.as_secs_f64() * 1e3
            ));
        }
    }
    let which = usize::from(!cell.carries_target);
    let share = |total: usize| pass_share(total, part.pass, part.passes).max(1);
    let (min, max) = (share(plan.min_rounds[which]), share(plan.max_rounds[which]));
    // Not planned from the warm-up (one slow call would cut the cell short): rounds go on
    // until the next one would overrun the budget at the pace so far, up to the maximum.
    let rounds = plan.fixed_rounds.map_or(max, share);

    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(rounds); n];
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); n];
    let before = Snapshot::now();
    let rounds_started = Instant::now();
    let mut done = 0;
    for r in 0..rounds {
        for ci in round_order(n, part.first_round + r) {
            if failed[ci] {
                values[ci].push(None);
                continue;
            }
            let mut sum = 0.0;
            let mut count = 0usize;
            // Up to the calibrated number of calls, but no longer than the round's share once
            // one call is in: a machine that got busier must not stretch every round.
            let slot = Instant::now();
            for _ in 0..calls[ci] {
                if count > 0 && slot.elapsed() >= plan.round {
                    break;
                }
                match call(&w.contenders[ci], &params) {
                    Ok((m, _)) => {
                        let v = w.metric.value(&m);
                        if v.is_finite() {
                            sum += v;
                            count += 1;
                        }
                        samples[ci].extend_from_slice(&m.samples_ns);
                    }
                    Err(message) => {
                        fail(ci, message, &mut failed);
                        break;
                    }
                }
            }
            values[ci].push((count > 0).then(|| sum / count as f64));
        }
        done = r + 1;
        // Calibration can be off (the machine got busier, a first call was faster than the
        // rest): once the minimum is in, stop when another round at the pace so far would
        // overrun the budget; and stop a cell that runs far past it even before.
        let elapsed = started.elapsed();
        if plan.fixed_rounds.is_none() {
            let pace = rounds_started.elapsed() / done as u32;
            if done >= min && elapsed + pace > budget {
                break;
            }
            if elapsed > budget.mul_f64(3.0) + Duration::from_secs(2) && done < min {
                warnings.push(format!(
                    "stopped after {done} rounds, short of the minimum {min}: they took {:.1} s against a budget of {:.1} s (calls far slower than calibrated)",
                    elapsed.as_secs_f64(),
                    budget.as_secs_f64()
                ));
                break;
            }
        }
    }
    let foreign_share = before.foreign_share(&Snapshot::now());
    if failed.iter().any(|f| *f) {
        warnings.push("a contender failed; see the failures".into());
    }
    let result = CellResult {
        workload: w.id.to_string(),
        threads: cell.threads,
        carries_target: cell.carries_target,
        rounds: done,
        seconds: started.elapsed().as_secs_f64(),
        budget_seconds: budget.as_secs_f64(),
        noise: Noise {
            foreign_share,
            first_attempt_share: None,
            noisy: foreign_share.is_some_and(|s| s > plan.noise_threshold),
        },
        series: w
            .contenders
            .iter()
            .enumerate()
            .map(|(ci, c)| Series {
                contender: c.name.to_string(),
                calls_per_round: calls[ci],
                warmup_call_ms: call_time[ci].as_secs_f64() * 1e3,
                values: std::mem::take(&mut values[ci]),
                latency_quantiles_ns: None,
            })
            .collect(),
        warnings,
    };
    Measured { result, samples }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_orders_balance_positions_and_predecessors() {
        for n in 1..=9 {
            let cycle = if n % 2 == 0 { n } else { 2 * n };
            let mut position = vec![vec![0; n]; n];
            let mut follows = vec![vec![0; n]; n];
            for r in 0..cycle {
                let order = round_order(n, r);
                let mut sorted = order.clone();
                sorted.sort_unstable();
                assert_eq!(
                    sorted,
                    (0..n).collect::<Vec<_>>(),
                    "n={n} r={r}: a permutation"
                );
                for (p, &c) in order.iter().enumerate() {
                    position[c][p] += 1;
                }
                for pair in order.windows(2) {
                    follows[pair[1]][pair[0]] += 1;
                }
            }
            let per_position = cycle / n;
            for c in 0..n {
                assert!(
                    position[c].iter().all(|&k| k == per_position),
                    "n={n}: {position:?}"
                );
                for d in (0..n).filter(|&d| d != c) {
                    assert_eq!(
                        follows[c][d],
                        cycle / n,
                        "n={n}: {c} after {d}: {follows:?}"
                    );
                }
            }
            assert_eq!(
                round_order(n, cycle),
                round_order(n, 0),
                "n={n}: rows repeat"
            );
        }
    }

    #[test]
    fn pass_shares_add_up_to_the_total() {
        for total in 0..40 {
            for passes in 1..=8 {
                let shares: Vec<usize> =
                    (0..passes).map(|p| pass_share(total, p, passes)).collect();
                assert_eq!(shares.iter().sum::<usize>(), total, "{total} over {passes}");
                let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
                assert!(hi - lo <= 1, "{total} over {passes}: {shares:?}");
            }
        }
    }

    #[test]
    fn a_later_pass_appends_its_rounds_and_weighs_its_noise() {
        let part =
            |values: Vec<Option<f64>>, seconds: f64, share: f64, samples: Vec<u64>| Measured {
                result: CellResult {
                    workload: "w".into(),
                    threads: 2,
                    carries_target: true,
                    rounds: values.len(),
                    seconds,
                    budget_seconds: seconds,
                    noise: Noise {
                        foreign_share: Some(share),
                        first_attempt_share: None,
                        noisy: share > 0.1,
                    },
                    series: vec![Series {
                        contender: "c".into(),
                        calls_per_round: 1,
                        warmup_call_ms: 1.0,
                        values,
                        latency_quantiles_ns: None,
                    }],
                    warnings: vec!["w1".into()],
                },
                samples: vec![samples],
            };
        let first = part(vec![Some(1.0), Some(2.0)], 1.0, 0.0, vec![5, 1]);
        let second = part(vec![Some(3.0), None, Some(4.0)], 3.0, 0.2, vec![3]);
        let whole = first.merge(second, 0.1).finish();
        assert_eq!(whole.rounds, 5);
        assert_eq!(
            whole.series[0].values,
            vec![Some(1.0), Some(2.0), Some(3.0), None, Some(4.0)]
        );
        assert!((whole.seconds - 4.0).abs() < 1e-12);
        // (0 × 1 s + 0.2 × 3 s) / 4 s = 0.15, above the threshold.
        assert!((whole.noise.foreign_share.unwrap() - 0.15).abs() < 1e-12);
        assert!(whole.noise.noisy);
        assert_eq!(whole.warnings, vec!["w1".to_string()]);
        let q = whole.series[0].latency_quantiles_ns.as_ref().unwrap();
        assert_eq!((q[0], q[100]), (1.0, 5.0));
    }

    #[test]
    fn latency_quantiles_span_the_samples() {
        let mut s: Vec<u64> = (1..=1000).rev().collect();
        let q = latency_quantiles(&mut s).unwrap();
        assert_eq!(q.len(), 101);
        assert_eq!(q[0], 1.0);
        assert!((q[50] - 500.0).abs() <= 1.0, "{}", q[50]);
        assert!(q[100] >= 998.0);
        assert!(latency_quantiles(&mut []).is_none());
    }
}
