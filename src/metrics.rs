//! Validation metrics; computed on held-out rows only — the caller guarantees
//! that. This module owns ROC AUC, PR AUC (average precision), Brier score,
//! lift and calibration for one binary model, and the concordance index and
//! censoring-aware calibration at a horizon for a survival prediction; it
//! does not choose rows, fit models or pick thresholds (the Kaplan–Meier
//! arithmetic it borrows lives in `models::survival`).
//!
//! Conventions shared by every function here, so that no input can panic and
//! every answer is deterministic:
//!
//! - **Mismatched lengths.** Scores and labels are paired row by row; when the
//!   slices differ in length only the first `min(len)` rows are used. Nothing
//!   asserts, because a metric must never take a validation run down; the
//!   `n` in [`BinaryReport`] shows how many rows were actually scored.
//! - **NaN scores.** For the ranking metrics ([`roc_auc`], [`pr_auc`],
//!   [`top_decile_lift`], [`lift_curve`]) a NaN score ranks below every number,
//!   `-inf` included, and all NaNs tie with each other: a model that failed to
//!   score a row is treated as the least confident about it.
//! - **Probabilities.** [`brier`], [`calibration`] and [`horizon_calibration`]
//!   read their input as probabilities: NaN becomes 0.0 (the lowest
//!   probability, matching the rule above) and anything outside [0, 1] is
//!   clamped into it. scikit-learn raises on such input instead; we prefer a
//!   number the report can carry.
//! - **Survival rows.** [`concordance_index`] and [`horizon_calibration`]
//!   leave out rows whose time is NaN (lifelines raises): they cannot be
//!   placed in time.
//! - **Undefined metrics are `None`,** never NaN, so a [`BinaryReport`]
//!   survives JSON (serde_json writes NaN as `null`, which then fails to read
//!   back as `f64`). Without serde_json's `float_roundtrip` feature a float
//!   may come back one ULP off.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::models::survival::{KmCurve, Lifetime};

/// One point of a cumulative gains / lift curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiftPoint {
    /// Fraction of rows targeted: `k / n` for the top `k` rows by score. This
    /// is the fraction actually taken, which can exceed the nominal one when
    /// `n` does not divide evenly, so `lift == captured / fraction` holds.
    pub fraction: f64,
    /// Positive rate among the top `k` rows divided by the overall base rate.
    pub lift: f64,
    /// Fraction of all positives that fall in the top `k` rows.
    pub captured: f64,
}

/// One non-empty bin of a reliability diagram over equal-count bins (see
/// [`calibration`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationBin {
    /// Lower edge of the bin: a percentile of the scores (the 0th, i.e. the
    /// lowest score, for the first bin). Rows exactly on it belong to the bin
    /// below, except in the first bin. Bundles written before equal-count
    /// bins hold uniform edges here (0.0, 0.1, …) in the same fields.
    pub lower: f64,
    /// Upper edge of the bin, included: the next percentile (the highest
    /// score for the last bin). `lower == upper` when many rows share one
    /// score (a constant-score baseline has a single such bin).
    pub upper: f64,
    /// Rows whose probability fell in the bin (never 0: empty bins are
    /// omitted). About `n / bins`, but rows tied at an edge all go to the
    /// bin below it, so counts can be uneven.
    pub count: usize,
    /// Mean predicted probability of those rows.
    pub mean_predicted: f64,
    /// Fraction of those rows that are positive.
    pub observed_rate: f64,
}

/// Everything we report for one binary model on one set of held-out rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinaryReport {
    /// Rows scored (the shorter of the two inputs).
    pub n: usize,
    /// Rows labelled positive.
    pub positives: usize,
    /// `positives / n`; 0.0 when there are no rows.
    pub base_rate: f64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub brier: Option<f64>,
    pub top_decile_lift: Option<f64>,
    /// Non-empty equal-count bins (score deciles for 10 bins), lowest first.
    pub calibration: Vec<CalibrationBin>,
    /// Expected calibration error over `calibration`; `None` when it is empty.
    pub ece: Option<f64>,
    /// Lift curve at [`LIFT_POINTS`] depths (every 5% of rows), for the
    /// model report's lift chart: the curve needs the row-level scores,
    /// which exist only while validating, so it is recorded here or never.
    /// Bundles written before it was added read back with an empty curve;
    /// an empty curve is not written, so their content ids still match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lift: Vec<LiftPoint>,
}

/// Depths of the recorded lift curve: 20 gives every 5% of rows, and the
/// second point is exactly the top decile (see [`lift_curve`]).
pub const LIFT_POINTS: usize = 20;

/// Compute every metric for one model on one set of held-out rows.
///
/// `probs` are the model's probabilities (they double as ranking scores),
/// `bins` is the number of equal-count calibration bins (10, score deciles,
/// is the usual choice; 0 gives no calibration and `ece: None`). Cost: one
/// sort per ranking metric and one for the bin edges, O(n log n) time and
/// O(n) extra memory.
pub fn evaluate(probs: &[f64], labels: &[bool], bins: usize) -> BinaryReport {
    let (probs, labels) = paired(probs, labels);
    let n = labels.len();
    let positives = count_true(labels);
    let base_rate = if n == 0 {
        0.0
    } else {
        positives as f64 / n as f64
    };
    let calibration = calibration(probs, labels, bins);
    let ece = if calibration.is_empty() {
        None
    } else {
        Some(expected_calibration_error(&calibration))
    };
    BinaryReport {
        n,
        positives,
        base_rate,
        roc_auc: roc_auc(probs, labels),
        pr_auc: pr_auc(probs, labels),
        brier: brier(probs, labels),
        top_decile_lift: top_decile_lift(probs, labels),
        calibration,
        ece,
        lift: lift_curve(probs, labels, LIFT_POINTS),
    }
}

/// Area under the ROC curve: the probability that a random positive scores
/// above a random negative, ties counting one half (Mann–Whitney U with
/// average ranks). Equal to `sklearn.metrics.roc_auc_score`.
///
/// `None` when either class is absent: the statistic compares the two.
/// Pairs are counted in integers and divided once, so the answer is exact up
/// to that one rounding. O(n log n).
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let (scores, labels) = paired(scores, labels);
    let mut positives_above: u128 = 0;
    // Twice the Mann–Whitney U, so the half-counted ties stay integers.
    let mut twice_u: u128 = 0;
    for (pos, neg) in tie_groups_descending(scores, labels) {
        twice_u += 2 * positives_above * neg + pos * neg;
        positives_above += pos;
    }
    let p = count_true(labels) as u128;
    let q = labels.len() as u128 - p;
    if p == 0 || q == 0 {
        return None;
    }
    Some(twice_u as f64 / (2 * p * q) as f64)
}

/// Average precision: the step-wise area under the precision–recall curve,
/// `sum over thresholds of (recall_k - recall_{k-1}) * precision_k`, with one
/// threshold per distinct score (tied rows enter together). Equal to
/// `sklearn.metrics.average_precision_score`.
///
/// `None` when there are no positives (scikit-learn returns 0.0 with a
/// warning; a number there would read as "a useless model" rather than
/// "nothing to measure"). O(n log n).
pub fn pr_auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let (scores, labels) = paired(scores, labels);
    let p = count_true(labels);
    if p == 0 {
        return None;
    }
    let (mut tp, mut fp) = (0u128, 0u128);
    let mut ap = 0.0;
    for (pos, neg) in tie_groups_descending(scores, labels) {
        tp += pos;
        fp += neg;
        if pos > 0 {
            let precision = tp as f64 / (tp + fp) as f64;
            ap += pos as f64 / p as f64 * precision;
        }
    }
    Some(ap)
}

/// Brier score: mean squared difference between probability and outcome
/// (1 for positive, 0 for negative). Equal to `sklearn.metrics.brier_score_loss`
/// for probabilities in [0, 1]; NaN and out-of-range inputs are handled as the
/// module doc says. `None` when there are no rows.
pub fn brier(probs: &[f64], labels: &[bool]) -> Option<f64> {
    let (probs, labels) = paired(probs, labels);
    if labels.is_empty() {
        return None;
    }
    let sum: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let d = as_probability(p) - if y { 1.0 } else { 0.0 };
            d * d
        })
        .sum();
    Some(sum / labels.len() as f64)
}

/// Lift in the top decile: the positive rate among the top 10% of rows by
/// score, divided by the overall base rate. 2.0 means targeting that decile
/// finds twice as many churners as targeting at random.
///
/// Tie rule: the top `k = ceil(n / 10)` rows by score, highest first; when
/// the cut falls inside a group of tied scores, the rows taken from that
/// group count its *average* positive rate (the expected hits if ties were
/// broken at random). So the answer does not depend on row order, and a
/// constant score (the base-rate baseline) has a lift of exactly 1. NaN
/// scores sort last and tie with each other (see the module doc).
///
/// `None` when there are no rows or no positives (no base rate to divide by).
pub fn top_decile_lift(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let (scores, labels) = paired(scores, labels);
    let n = labels.len();
    let p = count_true(labels);
    if n == 0 || p == 0 {
        return None;
    }
    let k = n.div_ceil(10);
    let ranked = Ranked::new(scores, labels);
    Some(lift(ranked.expected_hits(k), k, p, n))
}

/// Rows by score, highest first, with the positives before each position
/// and the tie group around it: what [`Ranked::expected_hits`] needs.
struct Ranked {
    /// `positives_before[i]`: positives among the first `i` ranked rows.
    positives_before: Vec<usize>,
    /// `group[i]`: `(start, end)` of the tie group holding ranked row `i`.
    group: Vec<(usize, usize)>,
}

impl Ranked {
    fn new(scores: &[f64], labels: &[bool]) -> Ranked {
        let order = order_descending(scores);
        let n = order.len();
        let mut positives_before = Vec::with_capacity(n + 1);
        positives_before.push(0);
        for &i in &order {
            positives_before.push(positives_before.last().unwrap() + usize::from(labels[i]));
        }
        let mut group = vec![(0, 0); n];
        let mut start = 0;
        while start < n {
            let mut end = start + 1;
            while end < n && score_cmp(scores[order[end]], scores[order[start]]) == Ordering::Equal
            {
                end += 1;
            }
            group[start..end].fill((start, end));
            start = end;
        }
        Ranked {
            positives_before,
            group,
        }
    }

    /// Expected positives among the top `k` rows when ties at the cut are
    /// broken at random: every positive above the cut's tie group, plus the
    /// group's positive rate times the rows taken from it.
    fn expected_hits(&self, k: usize) -> f64 {
        if k == 0 {
            return 0.0;
        }
        let (start, end) = self.group[k - 1];
        let above = self.positives_before[start] as f64;
        let in_group = (self.positives_before[end] - self.positives_before[start]) as f64;
        above + in_group * (k - start) as f64 / (end - start) as f64
    }
}

/// Cumulative gains and lift at `points` evenly spaced depths.
///
/// Point `i` (1-based) targets the top `k = ceil(i * n / points)` rows, with
/// the same tie rule as [`top_decile_lift`], so with `points == 10`
/// the first point's lift equals it exactly. The last point always targets
/// every row (lift 1, captured 1). When `points > n` the curve has one point
/// per row (`n` points) rather than repeating depths.
///
/// Empty when `points == 0`, there are no rows, or there are no positives.
pub fn lift_curve(scores: &[f64], labels: &[bool], points: usize) -> Vec<LiftPoint> {
    let (scores, labels) = paired(scores, labels);
    let n = labels.len();
    let p = count_true(labels);
    if n == 0 || p == 0 || points == 0 {
        return Vec::new();
    }
    // With points >= n the depths ceil(i * n / points) step by at most one,
    // so they are exactly 1..=n; with points <= n they strictly increase.
    let points = points.min(n);
    let ranked = Ranked::new(scores, labels);
    let mut curve = Vec::with_capacity(points);
    for i in 1..=points {
        // i * n <= n * n: computed in u128 so it cannot overflow.
        let k = ((i as u128 * n as u128).div_ceil(points as u128)) as usize;
        let hits = ranked.expected_hits(k);
        curve.push(LiftPoint {
            fraction: k as f64 / n as f64,
            lift: lift(hits, k, p, n),
            captured: hits / p as f64,
        });
    }
    curve
}

/// Reliability diagram over `bins` equal-count bins of the predicted
/// probability (score deciles for 10), like
/// `sklearn.calibration.calibration_curve(strategy="quantile")`, with counts
/// and edges.
///
/// Equal-count rather than uniform bins: at a 5% base rate nearly every row
/// falls below 0.1, so ten bins of width 0.1 put almost all of them in the
/// first bin and say nothing about the range where the model works.
///
/// Bin edges are `numpy.percentile(p, numpy.linspace(0, 1, bins + 1) * 100)`
/// (linear interpolation) reproduced bit for bit, so the first edge is the
/// lowest probability and the last the highest. A row goes to the bin
/// `numpy.searchsorted(edges[1:-1], p)` gives it: bins are `(lower, upper]`,
/// the first also holding its lower edge. Rows tied at an edge all go to the
/// bin below it, so with many tied scores some bins are empty; empty bins
/// are omitted, lowest bin first. Probabilities are cleaned as the module
/// doc says (NaN is 0.0, the rest clamped into [0, 1]).
///
/// Empty when `bins == 0` or there are no rows. Costs one sort of the
/// probabilities; memory grows with the rows and the non-empty bins, not
/// with `bins`.
pub fn calibration(probs: &[f64], labels: &[bool], bins: usize) -> Vec<CalibrationBin> {
    let (probs, labels) = paired(probs, labels);
    let Some(edges) = QuantileEdges::new(probs.iter().map(|&p| as_probability(p)), bins) else {
        return Vec::new();
    };
    // bin index -> (count, sum of probabilities, positives); sums run in row
    // order, as numpy.bincount does.
    let mut acc: BTreeMap<usize, (usize, f64, usize)> = BTreeMap::new();
    for (&p, &y) in probs.iter().zip(labels) {
        let p = as_probability(p);
        let entry = acc.entry(edges.bin_of(p)).or_insert((0, 0.0, 0));
        entry.0 += 1;
        entry.1 += p;
        entry.2 += usize::from(y);
    }
    acc.into_iter()
        .map(|(b, (count, sum, pos))| CalibrationBin {
            lower: edges.lower(b),
            upper: edges.upper(b),
            count,
            mean_predicted: sum / count as f64,
            observed_rate: pos as f64 / count as f64,
        })
        .collect()
}

/// Expected calibration error: the count-weighted mean of
/// `|mean_predicted - observed_rate|` over the bins, i.e. how far, on average
/// over rows, the predicted probability sits from what happened.
///
/// Returns 0.0 for no bins (or only zero-count bins), since there is nothing
/// miscalibrated to measure; [`evaluate`] reports that case as `None`.
pub fn expected_calibration_error(bins: &[CalibrationBin]) -> f64 {
    let total: usize = bins.iter().map(|b| b.count).sum();
    if total == 0 {
        return 0.0;
    }
    let weighted: f64 = bins
        .iter()
        .map(|b| b.count as f64 * (b.mean_predicted - b.observed_rate).abs())
        .sum();
    weighted / total as f64
}

/// Harrell's concordance index of a survival prediction, exactly as
/// `lifelines.utils.concordance_index(event_times, predicted_scores,
/// event_observed)` computes it: a **higher** prediction means a **longer**
/// expected survival (pass minus a risk score, or a predicted lifetime).
///
/// A pair of rows is comparable when the one that left first churned: row
/// `i` with `observed[i]` and a later row `j` (`times[j] > times[i]`, churned
/// or censored). At a tied time a censored row counts as having lived
/// longer than a churned one (it was still there when the other churned),
/// so that pair is comparable too; two churns at the same time are not, nor
/// is any pair whose earlier row is censored. A comparable pair is concordant
/// when the longer-lived row has the higher prediction, and counts 0.5 when
/// the predictions tie. The index is (concordant + ties / 2) / comparable.
///
/// `None` when no pair is comparable (lifelines raises ZeroDivisionError):
/// no churn at all, or every churn at the last time. Lengths follow the
/// module doc (the shortest of the three slices). lifelines refuses NaN;
/// here a row with a NaN time is left out (it cannot be ordered), and NaN
/// predictions rank below every number and tie with each other, as for the
/// ranking metrics. Counts are integers, divided once.
///
/// O(n log n): rows by time, churns' predictions counted in a Fenwick tree
/// over their ranks; O(n) extra memory.
pub fn concordance_index(times: &[f64], predicted: &[f64], observed: &[bool]) -> Option<f64> {
    let n = times.len().min(predicted.len()).min(observed.len());
    let mut rows: Vec<usize> = (0..n).filter(|&i| !times[i].is_nan()).collect();
    rows.sort_by(|&i, &j| times[i].total_cmp(&times[j]));
    // The churns' distinct predictions, lowest first: the Fenwick tree's keys.
    let mut keys: Vec<f64> = rows
        .iter()
        .filter(|&&i| observed[i])
        .map(|&i| predicted[i])
        .collect();
    keys.sort_by(|&a, &b| score_cmp(a, b));
    keys.dedup_by(|a, b| score_cmp(*a, *b) == Ordering::Equal);
    // Rank of a prediction among the keys: the first key not below it.
    let key_of = |p: f64| keys.partition_point(|&x| score_cmp(x, p) == Ordering::Less);
    let mut churned = Fenwick::new(keys.len());
    let (mut pairs, mut concordant, mut tied) = (0u64, 0u64, 0u64);
    // Compare the row predicted `p` with every churn in the tree, all of
    // which left before it: those predicted lower are concordant.
    let mut compare = |tree: &Fenwick, p: f64| {
        let k = key_of(p);
        let below = tree.prefix(k);
        let equal = match keys.get(k) {
            Some(&x) if score_cmp(x, p) == Ordering::Equal => tree.prefix(k + 1) - below,
            _ => 0,
        };
        pairs += tree.total;
        concordant += below;
        tied += equal;
    };
    let mut start = 0;
    while start < rows.len() {
        // Rows tied in time; -0.0 and 0.0 tie, as lifelines' `==` has it.
        let t = times[rows[start]];
        let end = start + rows[start..].partition_point(|&i| times[i] == t);
        let group = &rows[start..end];
        // Churns at t are compared with churns strictly before t, then join
        // the tree; rows censored at t are compared with churns up to t.
        for &i in group.iter().filter(|&&i| observed[i]) {
            compare(&churned, predicted[i]);
        }
        for &i in group.iter().filter(|&&i| observed[i]) {
            churned.add(key_of(predicted[i]));
        }
        for &i in group.iter().filter(|&&i| !observed[i]) {
            compare(&churned, predicted[i]);
        }
        start = end;
    }
    if pairs == 0 {
        return None;
    }
    Some((2 * concordant as u128 + tied as u128) as f64 / (2 * pairs as u128) as f64)
}

/// Counts over ranks `0..len` with O(log n) add and prefix sum.
struct Fenwick {
    tree: Vec<u64>,
    total: u64,
}

impl Fenwick {
    fn new(len: usize) -> Fenwick {
        Fenwick {
            tree: vec![0; len + 1],
            total: 0,
        }
    }

    fn add(&mut self, rank: usize) {
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += 1;
            i += i & i.wrapping_neg();
        }
        self.total += 1;
    }

    /// Count at ranks `0..k`.
    fn prefix(&self, k: usize) -> u64 {
        let mut i = k.min(self.tree.len() - 1);
        let mut sum = 0;
        while i > 0 {
            sum += self.tree[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }
}

/// One non-empty bin of [`horizon_calibration`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonBin {
    /// Edges of the bin, as in [`CalibrationBin`]: percentiles of the
    /// predicted churn probability, rows on `lower` in the bin below except
    /// in the first bin.
    pub lower: f64,
    pub upper: f64,
    /// Rows in the bin (never 0).
    pub count: usize,
    /// Mean predicted probability of churn within the horizon.
    pub mean_predicted: f64,
    /// Churn by the horizon estimated by Kaplan–Meier over the bin's rows:
    /// 1 − S(horizon), churns on the horizon day included. With no row
    /// censored before the horizon this is the plain fraction that churned.
    pub observed: f64,
    /// Rows still followed (at risk) on the horizon day: what `observed`
    /// rests on at its end. Past the bin's last observed time KM carries its
    /// last value, so a bin with 0 here says less than its `count` suggests.
    pub at_risk: u64,
}

/// Calibration of a churn-within-horizon prediction when some rows are
/// censored before the horizon. Plain data, stored in the bundle's metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonCalibration {
    /// The horizon, in the unit of the times (days), as passed. Only a
    /// finite horizon round-trips through JSON (NaN is written as `null`);
    /// the caller's horizon comes from validated settings.
    pub horizon: f64,
    /// Rows used: the shortest input, less rows with a NaN time.
    pub n: usize,
    /// Mean predicted churn over all rows; `None` without rows.
    pub mean_predicted: Option<f64>,
    /// 1 − KM(horizon) over all rows (one curve, not a mean of the bins');
    /// `None` without rows or with a NaN horizon.
    pub observed: Option<f64>,
    /// Non-empty equal-count bins of the prediction, lowest first.
    pub bins: Vec<HorizonBin>,
    /// Σ count/n · |mean_predicted − observed| over the bins, the ECE of
    /// [`expected_calibration_error`] with KM in place of the plain rate;
    /// `None` when there are no bins.
    pub ece: Option<f64>,
}

/// Compare a predicted P(churn within `horizon`) with what happened, when
/// some rows were censored before the horizon.
///
/// `predicted_churn[i]` is row i's predicted probability of churning within
/// `horizon` days of its snapshot; `times[i]` the days from that snapshot to
/// its churn (`observed[i]`) or to the end of its observation (censored).
/// Rows go into `bins` equal-count bins of the prediction, exactly as in
/// [`calibration`]; in each bin the observed churn by the horizon is
/// 1 − S(horizon) of the bin's Kaplan–Meier curve ([`KmCurve::fit`], so
/// lifelines' conventions: a churn on the horizon day counts, a row censored
/// on a churn day was still at risk). A row censored before the horizon
/// counts for as long as it was seen, instead of as a non-churner (which
/// would bias the observed rate down) or not at all (up).
///
/// Predictions are cleaned as probabilities (module doc); lengths follow the
/// shortest slice; a row with a NaN time is left out. A NaN horizon gives no
/// bins and `None` figures. Costs one sort per bin and one overall.
pub fn horizon_calibration(
    predicted_churn: &[f64],
    times: &[f64],
    observed: &[bool],
    horizon: f64,
    bins: usize,
) -> HorizonCalibration {
    let n_all = predicted_churn.len().min(times.len()).min(observed.len());
    let rows: Vec<(f64, Lifetime)> = (0..n_all)
        .filter(|&i| !times[i].is_nan())
        .map(|i| {
            (
                as_probability(predicted_churn[i]),
                Lifetime::from_start(times[i], observed[i]),
            )
        })
        .collect();
    let n = rows.len();
    let churned_by = |lifetimes: &[Lifetime]| {
        let km = KmCurve::fit(lifetimes);
        (1.0 - km.survival_at(horizon), km.at_risk_at(horizon))
    };
    let mut report = HorizonCalibration {
        horizon,
        n,
        mean_predicted: None,
        observed: None,
        bins: Vec::new(),
        ece: None,
    };
    if n == 0 {
        return report;
    }
    report.mean_predicted = Some(rows.iter().map(|r| r.0).sum::<f64>() / n as f64);
    if horizon.is_nan() {
        return report;
    }
    let all: Vec<Lifetime> = rows.iter().map(|r| r.1).collect();
    report.observed = Some(churned_by(&all).0);
    let Some(edges) = QuantileEdges::new(rows.iter().map(|r| r.0), bins) else {
        return report;
    };
    // bin index -> (sum of predictions, lifetimes), rows in input order.
    let mut acc: BTreeMap<usize, (f64, Vec<Lifetime>)> = BTreeMap::new();
    for &(p, lifetime) in &rows {
        let entry = acc.entry(edges.bin_of(p)).or_insert((0.0, Vec::new()));
        entry.0 += p;
        entry.1.push(lifetime);
    }
    report.bins = acc
        .into_iter()
        .map(|(b, (sum, lifetimes))| {
            let (observed, at_risk) = churned_by(&lifetimes);
            HorizonBin {
                lower: edges.lower(b),
                upper: edges.upper(b),
                count: lifetimes.len(),
                mean_predicted: sum / lifetimes.len() as f64,
                observed,
                at_risk,
            }
        })
        .collect();
    let gap: f64 = report
        .bins
        .iter()
        .map(|b| b.count as f64 * (b.mean_predicted - b.observed).abs())
        .sum();
    report.ece = Some(gap / n as f64);
    report
}

/// The first `min(len)` rows of both slices (see the module doc).
fn paired<'a>(scores: &'a [f64], labels: &'a [bool]) -> (&'a [f64], &'a [bool]) {
    let n = scores.len().min(labels.len());
    (&scores[..n], &labels[..n])
}

fn count_true(labels: &[bool]) -> usize {
    labels.iter().filter(|&&y| y).count()
}

/// `(hits / k) / (positives / n)`, written once so the curve and the top
/// decile agree to the bit.
fn lift(hits: f64, k: usize, positives: usize, n: usize) -> f64 {
    (hits / k as f64) / (positives as f64 / n as f64)
}

/// NaN is the lowest probability; everything else is clamped into [0, 1].
fn as_probability(p: f64) -> f64 {
    if p.is_nan() {
        0.0
    } else {
        p.clamp(0.0, 1.0)
    }
}

/// Score order with NaN below everything and all NaNs equal. Not
/// `f64::total_cmp`, which would split -0.0 from 0.0 and order NaNs by sign.
fn score_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
        (false, false) => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// Row indices by score, highest first; the sort is stable, so tied rows keep
/// their original order.
fn order_descending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&i, &j| score_cmp(scores[j], scores[i]));
    order
}

/// `(positives, negatives)` for each distinct score, highest score first.
fn tie_groups_descending(scores: &[f64], labels: &[bool]) -> Vec<(u128, u128)> {
    let mut groups = Vec::new();
    let mut current: Option<(f64, u128, u128)> = None;
    for i in order_descending(scores) {
        let s = scores[i];
        let (pos, neg) = if labels[i] { (1, 0) } else { (0, 1) };
        current = match current {
            Some((g, p, q)) if score_cmp(g, s) == Ordering::Equal => Some((g, p + pos, q + neg)),
            Some((_, p, q)) => {
                groups.push((p, q));
                Some((s, pos, neg))
            }
            None => Some((s, pos, neg)),
        };
    }
    if let Some((_, p, q)) = current {
        groups.push((p, q));
    }
    groups
}

/// Equal-count bin edges over a set of values: `bins + 1` percentiles as
/// `numpy.percentile(values, numpy.linspace(0, 1, bins + 1) * 100)` computes
/// them (numpy 2.4.6, method "linear"), each edge computed when asked so a
/// huge `bins` costs no memory. Values must not be NaN.
struct QuantileEdges {
    sorted: Vec<f64>,
    bins: usize,
}

impl QuantileEdges {
    /// `None` when there are no values or no bins.
    fn new(values: impl Iterator<Item = f64>, bins: usize) -> Option<QuantileEdges> {
        let mut sorted: Vec<f64> = values.collect();
        if sorted.is_empty() || bins == 0 {
            return None;
        }
        sorted.sort_by(f64::total_cmp);
        Some(QuantileEdges { sorted, bins })
    }

    /// Edge `k` (0 ..= bins), step by step as numpy takes it:
    /// `linspace` gives `k * (1 / bins)` with the last exactly 1.0, percentile
    /// multiplies by 100 and divides by 100 again, the virtual index is
    /// `(n - 1) * q`, and `_lerp` interpolates between its neighbours from
    /// the nearer side (`b - (b - a) * (1 - t)` when `t >= 0.5`).
    fn edge(&self, k: usize) -> f64 {
        let n = self.sorted.len();
        let lin = if k >= self.bins {
            1.0
        } else {
            k as f64 * (1.0 / self.bins as f64)
        };
        let q = (lin * 100.0) / 100.0;
        let last = (n - 1) as f64;
        let virtual_index = last * q;
        if virtual_index >= last {
            return self.sorted[n - 1];
        }
        let below = virtual_index.floor();
        let t = virtual_index - below;
        let (a, b) = (self.sorted[below as usize], self.sorted[below as usize + 1]);
        let diff = b - a;
        if t >= 0.5 {
            b - diff * (1.0 - t)
        } else {
            a + diff * t
        }
    }

    fn lower(&self, bin: usize) -> f64 {
        self.edge(bin)
    }

    fn upper(&self, bin: usize) -> f64 {
        self.edge(bin + 1)
    }

    /// The bin holding `p`: the number of interior edges (1 ..= bins - 1)
    /// strictly below it, which is `numpy.searchsorted(edges[1:-1], p,
    /// side="left")`. A binary search over edges computed on the fly
    /// (percentiles never decrease with `k`).
    fn bin_of(&self, p: f64) -> usize {
        // First interior edge >= p, searched in [1, bins); `bins` if none.
        let (mut lo, mut hi) = (1, self.bins);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.edge(mid) < p {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answers below come from scikit-learn 1.9.1 (numpy 2.4.6) and
    // lifelines 0.30.3, computed by a script that calls roc_auc_score,
    // average_precision_score, brier_score_loss and
    // calibration_curve(strategy="quantile", n_bins=10) on exactly these rows
    // (concordance and KM calls are quoted beside their tests). Values are
    // Python's repr of the float64 result. To reproduce (y a bool array, p a
    // float array; seeded rows as in `seeded_case`, with `& (2**64 - 1)` after
    // each wrapping step):
    //
    //   from sklearn.metrics import roc_auc_score, average_precision_score, brier_score_loss
    //   from sklearn.calibration import calibration_curve
    //   roc_auc_score(y, p); average_precision_score(y, p); brier_score_loss(y, p)
    //   prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    //   edges = np.percentile(p, np.linspace(0, 1, 11) * 100)
    //   ids = np.searchsorted(edges[1:-1], p); counts = np.bincount(ids)
    const TOL: f64 = 1e-12;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= TOL
    }

    fn assert_close(actual: Option<f64>, expected: f64) {
        match actual {
            Some(a) => assert!(close(a, expected), "got {a:?}, expected {expected:?}"),
            None => panic!("got None, expected {expected:?}"),
        }
    }

    /// Ties in scores, and probabilities exactly on bin edges (0.0, 0.1, 0.3,
    /// 0.4, 0.5, 1.0).
    fn ties_case() -> (Vec<f64>, Vec<bool>) {
        let p = vec![
            0.1, 0.4, 0.35, 0.8, 0.4, 0.35, 0.9, 0.1, 0.6, 0.6, 0.3, 0.5, 1.0, 0.0, 0.5,
        ];
        let y = [0, 0, 1, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1];
        (p, y.iter().map(|&v| v == 1).collect())
    }

    fn all_equal_case() -> (Vec<f64>, Vec<bool>) {
        let y = [1, 0, 0, 1, 0, 0, 0, 1];
        (vec![0.5; 8], y.iter().map(|&v| v == 1).collect())
    }

    fn splitmix64(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 200 rows from SplitMix64 seeded 20240601, replicated in the Python
    /// script: scores on a 0.01 grid (so ties occur), label ~ Bernoulli(score).
    /// Both languages do the same integer steps and exact divisions.
    fn seeded_case() -> (Vec<f64>, Vec<bool>) {
        let mut s = 20_240_601u64;
        (0..200)
            .map(|_| {
                let a = splitmix64(&mut s);
                let b = splitmix64(&mut s);
                let p = ((a >> 33) % 101) as f64 / 100.0;
                let u = (b >> 11) as f64 / (1u64 << 53) as f64;
                (p, u < p)
            })
            .unzip()
    }

    #[test]
    fn seeded_case_replicates_the_python_generator() {
        // Printed by the Python script: first six scores and labels.
        let (p, y) = seeded_case();
        assert_eq!(p[..6], [0.55, 0.13, 0.97, 0.28, 0.26, 0.46]);
        assert_eq!(y[..6], [false, false, true, false, true, true]);
        assert_eq!(count_true(&y), 102);
    }

    #[test]
    fn roc_auc_matches_sklearn_with_ties() {
        let (p, y) = ties_case();
        assert_close(roc_auc(&p, &y), 0.7857142857142857);
    }

    #[test]
    fn roc_auc_is_one_half_for_all_equal_scores() {
        let (p, y) = all_equal_case();
        assert_close(roc_auc(&p, &y), 0.5);
    }

    #[test]
    fn roc_auc_matches_sklearn_on_seeded_rows() {
        let (p, y) = seeded_case();
        assert_close(roc_auc(&p, &y), 0.8237795118047219);
    }

    #[test]
    fn roc_auc_equals_brute_force_pair_count() {
        // Independent of sklearn: count every (positive, negative) pair.
        let (p, y) = seeded_case();
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &yi) in y.iter().enumerate() {
            for (j, &yj) in y.iter().enumerate() {
                if yi && !yj {
                    pairs += 1.0;
                    wins += match p[i].partial_cmp(&p[j]) {
                        Some(Ordering::Greater) => 1.0,
                        Some(Ordering::Equal) => 0.5,
                        _ => 0.0,
                    };
                }
            }
        }
        assert_close(roc_auc(&p, &y), wins / pairs);
    }

    #[test]
    fn roc_auc_none_for_single_class() {
        // scikit-learn 1.9.1 returns nan with a warning here; we return None.
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3], &[true, true, true]), None);
        assert_eq!(roc_auc(&[0.1, 0.2, 0.3], &[false, false, false]), None);
        assert_eq!(roc_auc(&[], &[]), None);
    }

    #[test]
    fn pr_auc_matches_sklearn() {
        let (p, y) = ties_case();
        assert_close(pr_auc(&p, &y), 0.8104978354978355);
        // All scores equal: one threshold, so AP is the base rate 3/8.
        let (p, y) = all_equal_case();
        assert_close(pr_auc(&p, &y), 0.375);
        let (p, y) = seeded_case();
        assert_close(pr_auc(&p, &y), 0.832560398467706);
    }

    #[test]
    fn pr_auc_none_without_positives() {
        // scikit-learn 1.9.1 returns 0.0 with a warning here.
        assert_eq!(pr_auc(&[0.1, 0.2, 0.3, 0.4], &[false; 4]), None);
        assert_eq!(pr_auc(&[], &[]), None);
    }

    #[test]
    fn brier_matches_sklearn() {
        let (p, y) = ties_case();
        assert_close(brier(&p, &y), 0.17633333333333334);
        let (p, y) = all_equal_case();
        assert_close(brier(&p, &y), 0.25);
        let (p, y) = seeded_case();
        assert_close(brier(&p, &y), 0.171143);
    }

    #[test]
    fn brier_none_for_no_rows() {
        assert_eq!(brier(&[], &[]), None);
    }

    /// `edges` are every edge numpy printed (bins + 1 of them); `bin_ids` the
    /// non-empty bins. Edges must match to the bit: they are the same
    /// arithmetic, not an approximation of it.
    fn assert_bins(
        got: &[CalibrationBin],
        edges: &[f64],
        bin_ids: &[usize],
        counts: &[usize],
        pred: &[f64],
        obs: &[f64],
    ) {
        assert_eq!(got.len(), bin_ids.len(), "{got:?}");
        for (i, b) in got.iter().enumerate() {
            let id = bin_ids[i];
            assert_eq!((b.lower, b.upper), (edges[id], edges[id + 1]), "bin {id}");
            assert_eq!(b.count, counts[i], "bin {id}");
            assert!(close(b.mean_predicted, pred[i]), "bin {id}: {b:?}");
            assert!(close(b.observed_rate, obs[i]), "bin {id}: {b:?}");
        }
    }

    #[test]
    fn calibration_bins_match_sklearn_quantile_strategy() {
        // Edges are numpy.percentile(p, numpy.linspace(0, 1, 11) * 100) as
        // printed by numpy 2.4.6; bin ids and counts from
        // numpy.searchsorted(edges[1:-1], p) and bincount, the steps
        // calibration_curve(strategy="quantile") takes; prob_pred/prob_true
        // from calibration_curve(y, p, n_bins=10, strategy="quantile") itself.
        let (p, y) = ties_case();
        assert_bins(
            &calibration(&p, &y, 10),
            &[
                0.0,
                0.1,
                0.26000000000000006,
                0.35,
                0.38,
                0.4,
                0.5,
                0.5799999999999998,
                0.6400000000000002,
                0.86,
                1.0,
            ],
            &[0, 2, 4, 5, 7, 8, 9],
            &[3, 3, 2, 2, 2, 1, 2],
            &[
                0.06666666666666667,
                0.3333333333333333,
                0.4,
                0.5,
                0.6,
                0.8,
                0.95,
            ],
            &[0.0, 0.6666666666666666, 0.5, 0.5, 0.5, 1.0, 1.0],
        );
        // A constant score: every edge is 0.5 and every row sits in bin 0.
        let (p, y) = all_equal_case();
        assert_bins(
            &calibration(&p, &y, 10),
            &[0.5; 11],
            &[0],
            &[8],
            &[0.5],
            &[0.375],
        );
        let (p, y) = seeded_case();
        assert_bins(
            &calibration(&p, &y, 10),
            &[
                0.0,
                0.05800000000000004,
                0.17,
                0.28,
                0.4360000000000001,
                0.545,
                0.62,
                0.7029999999999997,
                0.8220000000000002,
                0.93,
                1.0,
            ],
            &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
            &[20, 21, 20, 19, 20, 21, 19, 20, 23, 17],
            &[
                0.019,
                0.1285714285714286,
                0.244,
                0.35894736842105257,
                0.48949999999999994,
                0.5804761904761906,
                0.6589473684210526,
                0.7565,
                0.8943478260869567,
                0.9729411764705882,
            ],
            &[
                0.05,
                0.19047619047619047,
                0.3,
                0.3684210526315789,
                0.55,
                0.47619047619047616,
                0.5789473684210527,
                0.75,
                0.8695652173913043,
                1.0,
            ],
        );
    }

    #[test]
    fn calibration_rows_on_an_edge_fall_in_the_bin_below() {
        // Hand computation: three rows, two bins; the median edge is 0.2
        // itself, and 0.2 goes below it: bins (0.1..0.2] with 2 rows and
        // (0.2..0.3] with 1.
        let bins = calibration(&[0.3, 0.1, 0.2], &[true, false, false], 2);
        let got: Vec<(f64, f64, usize)> =
            bins.iter().map(|b| (b.lower, b.upper, b.count)).collect();
        assert_eq!(got, [(0.1, 0.2, 2), (0.2, 0.3, 1)]);
        // One bin holds everything, from the lowest score to the highest.
        let one = calibration(&[0.3, 0.1, 0.2], &[true; 3], 1);
        assert_eq!((one[0].lower, one[0].upper, one[0].count), (0.1, 0.3, 3));
    }

    #[test]
    fn calibration_bins_hold_about_equal_counts_at_a_low_base_rate() {
        // The reason for equal-count bins: 1,000 rows scored below 0.1 (a 5%
        // base rate) fill ten bins of 100, where uniform bins of width 0.1
        // would have put them all in one.
        let p: Vec<f64> = (0..1000).map(|i| 0.0001 * i as f64).collect();
        let y: Vec<bool> = (0..1000).map(|i| i % 20 == 0).collect();
        let bins = calibration(&p, &y, 10);
        assert_eq!(bins.len(), 10);
        assert!(bins.iter().all(|b| b.count == 100), "{bins:?}");
        assert!(bins.windows(2).all(|w| w[0].upper == w[1].lower));
        assert_eq!((bins[0].lower, bins[9].upper), (0.0, p[999]));
    }

    #[test]
    fn ece_matches_numpy_over_sklearn_bins() {
        // numpy 2.4.6: sum(counts / n * |prob_pred - prob_true|) over the
        // calibration_curve(strategy="quantile") outputs above.
        let (p, y) = ties_case();
        assert!(close(
            expected_calibration_error(&calibration(&p, &y, 10)),
            0.12666666666666668
        ));
        let (p, y) = all_equal_case();
        assert!(close(
            expected_calibration_error(&calibration(&p, &y, 10)),
            0.125
        ));
        let (p, y) = seeded_case();
        assert!(close(
            expected_calibration_error(&calibration(&p, &y, 10)),
            0.04650000000000005
        ));
        assert_eq!(expected_calibration_error(&[]), 0.0);
    }

    /// n = 20, so the top decile is k = ceil(20 / 10) = 2 rows. Row 3 scores
    /// 0.9; rows 5 and 7 tie at 0.8 for the second place. 4 positives, base
    /// rate 4/20 = 0.2.
    fn tie_at_cut(positive_rows: &[usize]) -> (Vec<f64>, Vec<bool>) {
        let p = vec![
            0.3, 0.1, 0.2, 0.9, 0.1, 0.8, 0.2, 0.8, 0.1, 0.3, 0.2, 0.1, 0.4, 0.1, 0.2, 0.5, 0.1,
            0.2, 0.1, 0.1,
        ];
        let y = (0..20).map(|i| positive_rows.contains(&i)).collect();
        (p, y)
    }

    #[test]
    fn lift_top_decile_ties_at_the_cut_count_their_average() {
        // Hand computation. Positives at rows 0, 7, 12, 15: row 3 (0.9, a
        // negative) is taken, then one of rows 5 and 7 (tied at 0.8, one
        // positive between them): expected hits 0 + 1/2, lift =
        // (0.5/2) / 0.2 = 1.25.
        let (p, y) = tie_at_cut(&[0, 7, 12, 15]);
        assert_close(top_decile_lift(&p, &y), 1.25);
        // Which tied row holds the positive does not matter.
        let (p, y) = tie_at_cut(&[0, 5, 12, 15]);
        assert_close(top_decile_lift(&p, &y), 1.25);
        // A constant score is worth exactly random targeting.
        let (p, y) = all_equal_case();
        assert_eq!(top_decile_lift(&p, &y), Some(1.0));
        let y: Vec<bool> = (0..1000).map(|i| i % 7 == 0).collect();
        assert_close(top_decile_lift(&[0.07; 1000], &y), 1.0);
    }

    #[test]
    fn lift_top_decile_matches_hand_and_numpy() {
        // Ties case, n = 15: k = ceil(1.5) = 2, rows 12 (1.0) and 6 (0.9), both
        // positive; base rate 8/15: lift = 1 / (8/15) = 1.875.
        let (p, y) = ties_case();
        assert_close(top_decile_lift(&p, &y), 1.875);
        // Seeded case, k = 20: 17 rows score above 0.93 and four tie at 0.93
        // (two positives), so 3 of those four count 2/4 each. Computed in
        // Python with exact fractions: 18.5 expected hits, lift
        // (18.5 / 20) / (102 / 200) = 1.8137254901960784.
        let (p, y) = seeded_case();
        assert_close(top_decile_lift(&p, &y), 1.8137254901960784);
    }

    #[test]
    fn top_decile_lift_none_without_rows_or_positives() {
        assert_eq!(top_decile_lift(&[], &[]), None);
        assert_eq!(top_decile_lift(&[0.9, 0.1], &[false, false]), None);
    }

    #[test]
    fn lift_curve_matches_hand_computation() {
        // Sorted by score the rows are 1, 3, 5, 7, 9, 8, 6, 4, 2, 0 with labels
        // 1, 1, 0, 1, 0, 0, 1, 0, 0, 0: 4 positives, base rate 0.4. Five points
        // target k = 2, 4, 6, 8, 10 rows, catching 2, 3, 3, 4, 4 positives:
        // lift = (hits / k) / 0.4, captured = hits / 4.
        let p = [0.05, 0.95, 0.15, 0.85, 0.25, 0.75, 0.35, 0.65, 0.45, 0.55];
        let y: Vec<bool> = [0, 1, 0, 1, 0, 0, 1, 1, 0, 0]
            .iter()
            .map(|&v| v == 1)
            .collect();
        let curve = lift_curve(&p, &y, 5);
        let expected = [
            (0.2, 2.5, 0.5),
            (0.4, 1.875, 0.75),
            (0.6, 1.25, 0.75),
            (0.8, 1.25, 1.0),
            (1.0, 1.0, 1.0),
        ];
        assert_eq!(curve.len(), expected.len());
        for (pt, &(fraction, lift, captured)) in curve.iter().zip(&expected) {
            assert!(close(pt.fraction, fraction), "{pt:?}");
            assert!(close(pt.lift, lift), "{pt:?}");
            assert!(close(pt.captured, captured), "{pt:?}");
        }
    }

    #[test]
    fn lift_curve_reports_the_fraction_actually_targeted() {
        // n = 7, 3 points: k = ceil(7/3) = 3, ceil(14/3) = 5, 7.
        let p = [0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1];
        let curve = lift_curve(&p, &[true, false, false, false, false, false, true], 3);
        let fractions: Vec<f64> = curve.iter().map(|pt| pt.fraction).collect();
        assert_eq!(fractions, [3.0 / 7.0, 5.0 / 7.0, 1.0]);
        for pt in &curve {
            assert!(close(pt.lift, pt.captured / pt.fraction), "{pt:?}");
        }
    }

    #[test]
    fn lift_curve_first_point_is_top_decile_lift() {
        for (p, y) in [ties_case(), seeded_case(), tie_at_cut(&[0, 5, 12, 15])] {
            let first = lift_curve(&p, &y, 10)[0].lift;
            assert_eq!(Some(first), top_decile_lift(&p, &y));
        }
    }

    #[test]
    fn lift_curve_with_more_points_than_rows_has_one_point_per_row() {
        let (p, y) = all_equal_case();
        let curve = lift_curve(&p, &y, 1000);
        assert_eq!(curve.len(), 8);
        assert_eq!(lift_curve(&p, &y, usize::MAX).len(), 8);
        assert!(lift_curve(&p, &y, 0).is_empty());
        assert!(lift_curve(&p, &[false; 8], 10).is_empty());
    }

    #[test]
    fn nan_scores_rank_lowest() {
        // NaN on the positive row ranks it below the negative: AUC 0.
        assert_eq!(roc_auc(&[f64::NAN, 0.2], &[true, false]), Some(0.0));
        // NaN ranks below -inf too.
        assert_eq!(
            roc_auc(&[f64::NEG_INFINITY, f64::NAN], &[true, false]),
            Some(1.0)
        );
        // Two NaNs tie with each other.
        assert_eq!(roc_auc(&[f64::NAN, f64::NAN], &[true, false]), Some(0.5));
        // In the top decile a NaN row is never taken ahead of a scored one.
        let mut p = vec![0.0; 10];
        p[0] = f64::NAN;
        let mut y = vec![false; 10];
        y[0] = true;
        y[9] = true;
        // k = 1 is taken from the nine rows tied at 0.0 (one positive), not
        // from the NaN row: lift = (1/9) / (2/10) = 5/9.
        assert_close(top_decile_lift(&p, &y), 5.0 / 9.0);
        // As a probability NaN is 0.0: squared error 1 for a positive.
        assert_eq!(brier(&[f64::NAN], &[true]), Some(1.0));
        assert_eq!(calibration(&[f64::NAN], &[true], 10)[0].mean_predicted, 0.0);
    }

    #[test]
    fn negative_zero_ties_with_zero() {
        assert_eq!(roc_auc(&[-0.0, 0.0], &[true, false]), Some(0.5));
    }

    #[test]
    fn out_of_range_probabilities_are_clamped() {
        assert_eq!(brier(&[1.5, -2.0], &[true, false]), Some(0.0));
        let bins = calibration(&[1.5, f64::INFINITY, -0.5], &[true, true, false], 10);
        assert_eq!(bins.len(), 2);
        assert_eq!((bins[0].lower, bins[0].mean_predicted), (0.0, 0.0));
        assert_eq!((bins[1].upper, bins[1].count), (1.0, 2));
    }

    #[test]
    fn mismatched_lengths_use_the_shorter_input() {
        let (p, y) = ties_case();
        let longer: Vec<f64> = p.iter().copied().chain([0.99, 0.01]).collect();
        assert_eq!(evaluate(&longer, &y, 10), evaluate(&p, &y, 10));
        let short = &y[..5];
        assert_eq!(evaluate(&p, short, 10), evaluate(&p[..5], short, 10));
        assert_eq!(evaluate(&p, short, 10).n, 5);
    }

    #[test]
    fn degenerate_inputs_do_not_panic() {
        let empty = evaluate(&[], &[], 10);
        assert_eq!(empty.n, 0);
        assert_eq!(empty.base_rate, 0.0);
        assert_eq!(empty.ece, None);
        assert!(empty.calibration.is_empty());
        assert_eq!(evaluate(&[0.5], &[true], 0).ece, None);
        // A huge bin count allocates only the non-empty bins.
        let bins = calibration(&[0.0, 0.5, 1.0], &[true, false, true], usize::MAX);
        assert_eq!(bins.len(), 3);
        assert_eq!(bins[2].upper, 1.0);
        let weird = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e308];
        let r = evaluate(&weird, &[true, false, true, false, true], 7);
        assert_eq!(r.n, 5);
        assert!(r.roc_auc.is_some() && r.pr_auc.is_some() && r.brier.is_some());
    }

    #[test]
    fn evaluate_agrees_with_the_individual_metrics() {
        let (p, y) = seeded_case();
        let r = evaluate(&p, &y, 10);
        assert_eq!((r.n, r.positives), (200, 102));
        assert_eq!(r.base_rate, 0.51);
        assert_eq!(r.roc_auc, roc_auc(&p, &y));
        assert_eq!(r.pr_auc, pr_auc(&p, &y));
        assert_eq!(r.brier, brier(&p, &y));
        assert_eq!(r.top_decile_lift, top_decile_lift(&p, &y));
        assert_eq!(r.calibration, calibration(&p, &y, 10));
        assert_eq!(r.ece, Some(expected_calibration_error(&r.calibration)));
        assert_eq!(r.lift, lift_curve(&p, &y, LIFT_POINTS));
        // 20 depths with 200 rows: the second targets the top 20 rows, the
        // top decile, so the recorded curve and the headline lift agree.
        assert_eq!(r.lift[1].fraction, 0.1);
        assert_eq!(Some(r.lift[1].lift), r.top_decile_lift);
    }

    #[test]
    fn a_report_without_a_lift_curve_reads_back_and_writes_the_same_bytes() {
        // Bundles written before the lift curve was recorded must load with
        // an unchanged content id: the missing field reads as empty and an
        // empty curve is not written back.
        let (p, y) = seeded_case();
        let mut r = evaluate(&p, &y, 10);
        r.lift.clear();
        let json = serde_json::to_string(&r).unwrap();
        assert!(!json.contains("\"lift\""), "{json}");
        let back: BinaryReport = serde_json::from_str(&json).unwrap();
        assert!(back.lift.is_empty());
        assert_eq!(serde_json::to_string(&back).unwrap(), json);
    }

    /// Field-by-field equality, floats within a relative 1e-15. Not `==`:
    /// serde_json without its `float_roundtrip` feature may read a float back
    /// one ULP off (seen here: 0.37000000000000005 came back 0.3700000000000001).
    fn same_report(a: &BinaryReport, b: &BinaryReport) -> bool {
        let f = |x: f64, y: f64| (x - y).abs() <= 1e-15 * x.abs().max(y.abs());
        let o = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => f(x, y),
            (x, y) => x.is_none() && y.is_none(),
        };
        a.n == b.n
            && a.positives == b.positives
            && f(a.base_rate, b.base_rate)
            && o(a.roc_auc, b.roc_auc)
            && o(a.pr_auc, b.pr_auc)
            && o(a.brier, b.brier)
            && o(a.top_decile_lift, b.top_decile_lift)
            && o(a.ece, b.ece)
            && a.lift.len() == b.lift.len()
            && a.lift.iter().zip(&b.lift).all(|(x, y)| {
                f(x.fraction, y.fraction) && f(x.lift, y.lift) && f(x.captured, y.captured)
            })
            && a.calibration.len() == b.calibration.len()
            && a.calibration.iter().zip(&b.calibration).all(|(x, y)| {
                x.count == y.count
                    && f(x.lower, y.lower)
                    && f(x.upper, y.upper)
                    && f(x.mean_predicted, y.mean_predicted)
                    && f(x.observed_rate, y.observed_rate)
            })
    }

    #[test]
    fn report_round_trips_through_json() {
        for (p, y) in [
            seeded_case(),
            (vec![0.2, 0.4], vec![false, false]),
            (vec![], vec![]),
        ] {
            let r = evaluate(&p, &y, 10);
            let json = serde_json::to_string(&r).expect("serialize");
            let back: BinaryReport = serde_json::from_str(&json).expect("deserialize");
            assert!(same_report(&back, &r), "{json}");
        }
    }

    /// 200 survival rows from SplitMix64 seeded 20261202 (three draws a row),
    /// replicated in the Python script: times 1..=30 days (many ties), about
    /// 70% churned, and a prediction on a coarse integer grid (many ties)
    /// that tracks the time: `(time + c % 21) / 3`, rounded down.
    fn survival_case() -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let mut s = 20_261_202u64;
        let (mut t, mut p, mut e) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..200 {
            let a = splitmix64(&mut s);
            let b = splitmix64(&mut s);
            let c = splitmix64(&mut s);
            let time = 1 + (a >> 33) % 30;
            t.push(time as f64);
            e.push((b >> 40) % 10 < 7);
            p.push(((time + (c >> 33) % 21) / 3) as f64);
        }
        (t, p, e)
    }

    /// The definition, pair by pair, written independently of the fast
    /// version: `i` churned and left first, or at the same time as a
    /// censored `j`.
    fn brute_force_concordance(t: &[f64], p: &[f64], e: &[bool]) -> Option<f64> {
        let (mut pairs, mut score) = (0.0, 0.0);
        for i in 0..t.len() {
            for j in 0..t.len() {
                let comparable = e[i] && (t[i] < t[j] || (t[i] == t[j] && !e[j]));
                if comparable {
                    pairs += 1.0;
                    score += match score_cmp(p[j], p[i]) {
                        Ordering::Greater => 1.0,
                        Ordering::Equal => 0.5,
                        Ordering::Less => 0.0,
                    };
                }
            }
        }
        (pairs > 0.0).then(|| score / pairs)
    }

    #[test]
    fn survival_case_replicates_the_python_generator() {
        // Printed by the Python script: first five rows and the churn count.
        let (t, p, e) = survival_case();
        assert_eq!(t[..5], [17.0, 5.0, 1.0, 3.0, 20.0]);
        assert_eq!(p[..5], [12.0, 4.0, 1.0, 2.0, 11.0]);
        assert_eq!(e[..5], [true, true, false, true, true]);
        assert_eq!(count_true(&e), 142);
    }

    #[test]
    fn concordance_matches_lifelines_on_a_hand_case() {
        // lifelines 0.30.3: concordance_index([1, 2, 2, 3, 3], [1, 2, 2, 1.5, 9],
        // [1, 1, 0, 1, 1]) = 0.7857142857142857. By hand: churn at 1 is before
        // all four others (predictions 2, 2, 1.5, 9 all above 1: 4 concordant);
        // churn at 2 is before the censored row at 2 (tied prediction: 0.5)
        // and both rows at 3 (1.5 below 2: discordant; 9: concordant); the two
        // churns at 3 are not comparable. (4 + 1.5) / 7.
        let got = concordance_index(
            &[1.0, 2.0, 2.0, 3.0, 3.0],
            &[1.0, 2.0, 2.0, 1.5, 9.0],
            &[true, true, false, true, true],
        );
        assert_close(got, 0.7857142857142857);
        assert_close(got, 5.5 / 7.0);
        // Tied times of both kinds and tied predictions. lifelines 0.30.3:
        // concordance_index([2, 2, 2, 3, 3, 5, 5, 1, 4, 4],
        //   [3, 3, 1, 2, 2, 5, 4, 0.5, 2, 3], [1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
        let got = concordance_index(
            &[2.0, 2.0, 2.0, 3.0, 3.0, 5.0, 5.0, 1.0, 4.0, 4.0],
            &[3.0, 3.0, 1.0, 2.0, 2.0, 5.0, 4.0, 0.5, 2.0, 3.0],
            &[
                true, false, true, true, false, true, true, false, true, false,
            ],
        );
        assert_close(got, 0.7727272727272727);
    }

    #[test]
    fn concordance_counts_a_row_censored_at_a_churn_time_as_longer_lived() {
        // lifelines 0.30.3: concordance_index([1, 1], [1, 2], [1, 0]) = 1.0 and
        // concordance_index([1, 1], [2, 1], [1, 0]) = 0.0.
        assert_eq!(
            concordance_index(&[1.0, 1.0], &[1.0, 2.0], &[true, false]),
            Some(1.0)
        );
        assert_eq!(
            concordance_index(&[1.0, 1.0], &[2.0, 1.0], &[true, false]),
            Some(0.0)
        );
        // Predictions tied: one half.
        assert_eq!(
            concordance_index(&[1.0, 1.0], &[3.0, 3.0], &[true, false]),
            Some(0.5)
        );
        // -0.0 and 0.0 are the same time (and the same prediction).
        assert_eq!(
            concordance_index(&[-0.0, 0.0], &[0.0, -0.0], &[true, false]),
            Some(0.5)
        );
    }

    #[test]
    fn concordance_none_when_no_pair_is_comparable() {
        // lifelines 0.30.3 raises ZeroDivisionError("No admissable pairs in
        // the dataset.") for each of these.
        // Two churns at the same time.
        assert_eq!(
            concordance_index(&[1.0, 1.0], &[1.0, 2.0], &[true, true]),
            None
        );
        // Everyone censored.
        assert_eq!(
            concordance_index(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[false; 3]),
            None
        );
        // The only churn is the last to leave.
        assert_eq!(
            concordance_index(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[false, false, true]),
            None
        );
        assert_eq!(concordance_index(&[], &[], &[]), None);
    }

    #[test]
    fn concordance_matches_lifelines_on_seeded_rows() {
        // lifelines 0.30.3: concordance_index(t, p, e) on `survival_case`.
        let (t, p, e) = survival_case();
        assert_close(concordance_index(&t, &p, &e), 0.793756434769819);
        assert_eq!(
            concordance_index(&t, &p, &e),
            brute_force_concordance(&t, &p, &e)
        );
    }

    #[test]
    fn concordance_equals_brute_force_with_many_ties() {
        // Times and predictions from a handful of values each, so almost
        // every kind of tie occurs; sizes from 0 to 120.
        let mut s = 7u64;
        for round in 0..60 {
            let n = (round * 2) as usize;
            let (mut t, mut p, mut e) = (Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                t.push((splitmix64(&mut s) % 6) as f64);
                p.push((splitmix64(&mut s) % 4) as f64 / 2.0);
                e.push(splitmix64(&mut s) % 3 != 0);
            }
            let fast = concordance_index(&t, &p, &e);
            let slow = brute_force_concordance(&t, &p, &e);
            match (fast, slow) {
                (Some(a), Some(b)) => assert!((a - b).abs() <= 1e-12, "n = {n}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b, "n = {n}"),
            }
        }
    }

    #[test]
    fn concordance_leaves_out_nan_times_and_ranks_nan_predictions_lowest() {
        // A NaN time drops its row: the same as without it.
        assert_eq!(
            concordance_index(
                &[1.0, f64::NAN, 2.0],
                &[1.0, 0.0, 2.0],
                &[true, true, false]
            ),
            concordance_index(&[1.0, 2.0], &[1.0, 2.0], &[true, false])
        );
        // A NaN prediction is the shortest predicted life.
        assert_eq!(
            concordance_index(&[1.0, 2.0], &[f64::NAN, -1e300], &[true, true]),
            Some(1.0)
        );
        assert_eq!(
            concordance_index(&[1.0, 2.0], &[f64::NAN, f64::NAN], &[true, true]),
            Some(0.5)
        );
        // Mismatched lengths use the shortest slice.
        assert_eq!(
            concordance_index(&[1.0, 2.0, 3.0], &[1.0, 2.0], &[true, true, true]),
            Some(1.0)
        );
    }

    /// Rows of the hand case below: predictions, times, churned.
    fn horizon_case() -> (Vec<f64>, Vec<f64>, Vec<bool>) {
        let p = vec![0.1, 0.1, 0.2, 0.2, 0.5, 0.6, 0.7, 0.8];
        let t = vec![20.0, 25.0, 40.0, 50.0, 5.0, 12.0, 30.0, 31.0];
        let e = [0, 1, 0, 1, 1, 0, 1, 1].iter().map(|&v| v == 1).collect();
        (p, t, e)
    }

    #[test]
    fn horizon_calibration_uses_kaplan_meier_when_censored_before_the_horizon() {
        // Two bins split at the median prediction (numpy.percentile: 0.35).
        // Low bin: censored on day 20, churn on day 25 among the 3 still at
        // risk: S(30) = 2/3, churn 1/3 (the plain fraction 1/4 would count the
        // row censored on day 20 as a stayer). High bin: churn on day 5 (4 at
        // risk), censored on day 12, churn on day 30 — the horizon day counts —
        // among 2: S(30) = 3/4 · 1/2, churn 0.625. All rows: 1 − 7/8 · 4/5 · 3/4
        // = 0.475. lifelines 0.30.3, per bin and overall:
        //   1 - KaplanMeierFitter().fit(t[m], e[m]).survival_function_at_times(30)
        // gives 0.33333333333333337, 0.625 and 0.47499999999999987.
        let (p, t, e) = horizon_case();
        let h = horizon_calibration(&p, &t, &e, 30.0, 2);
        assert_eq!((h.horizon, h.n), (30.0, 8));
        assert_close(h.mean_predicted, 0.4);
        assert_close(h.observed, 0.47499999999999987);
        assert_eq!(h.bins.len(), 2);
        let [low, high] = [&h.bins[0], &h.bins[1]];
        assert_eq!((low.lower, low.upper, low.count), (0.1, 0.35, 4));
        assert_eq!((high.lower, high.upper, high.count), (0.35, 0.8, 4));
        assert!(close(low.mean_predicted, 0.15000000000000002), "{low:?}");
        assert!(close(low.observed, 0.33333333333333337), "{low:?}");
        assert!(close(high.mean_predicted, 0.65), "{high:?}");
        assert!(close(high.observed, 0.625), "{high:?}");
        // Still followed on day 30: low bin days 40 and 50, high bin days 30
        // and 31.
        assert_eq!((low.at_risk, high.at_risk), (2, 2));
        // (4 · |0.15 − 1/3| + 4 · |0.65 − 0.625|) / 8, as numpy gave it.
        assert_close(h.ece, 0.10416666666666669);
    }

    #[test]
    fn horizon_calibration_without_censoring_is_the_plain_fraction() {
        // Everyone churns, some after the horizon: churn by day 30 is the
        // share with time <= 30 (day 30 included). Three bins at the edges
        // numpy.percentile gives (0.18333333333333332, 0.46666666666666645):
        // times (3, 40, 12), (90, 31, 30), (5, 7, 100), so 2/3, 1/3, 2/3.
        // lifelines 0.30.3 (1 - KaplanMeierFitter().fit(...)
        // .survival_function_at_times(30) per bin) agrees to 1e-16.
        let p = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.6, 0.9, 0.9];
        let t = [3.0, 40.0, 12.0, 90.0, 31.0, 30.0, 5.0, 7.0, 100.0];
        let h = horizon_calibration(&p, &t, &[true; 9], 30.0, 3);
        let observed: Vec<f64> = h.bins.iter().map(|b| b.observed).collect();
        for (got, want) in observed.iter().zip([2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0]) {
            assert!(close(*got, want), "{observed:?}");
        }
        let edges: Vec<(f64, f64)> = h.bins.iter().map(|b| (b.lower, b.upper)).collect();
        assert_eq!(
            edges,
            [
                (0.05, 0.18333333333333332),
                (0.18333333333333332, 0.46666666666666645),
                (0.46666666666666645, 0.9)
            ]
        );
        assert_close(h.observed, 5.0 / 9.0);
        assert_close(h.ece, 0.24444444444444444);
        // The bins are exactly those of `calibration` on "churned by day 30".
        let by_horizon: Vec<bool> = t.iter().map(|&d| d <= 30.0).collect();
        let plain = calibration(&p, &by_horizon, 3);
        for (a, b) in h.bins.iter().zip(&plain) {
            assert_eq!((a.lower, a.upper, a.count), (b.lower, b.upper, b.count));
            assert_eq!(a.mean_predicted, b.mean_predicted);
            assert!(close(a.observed, b.observed_rate));
        }
        assert!(close(h.ece.unwrap(), expected_calibration_error(&plain)));
    }

    #[test]
    fn horizon_calibration_matches_lifelines_on_seeded_rows() {
        // `survival_case` with predicted churn (20 - p) / 20, horizon 15 days,
        // 5 bins: edges from numpy.percentile(pc, np.linspace(0, 1, 6) * 100),
        // per bin 1 - KaplanMeierFitter().fit(t[m], e[m])
        // .survival_function_at_times(15) (lifelines 0.30.3).
        let (t, p, e) = survival_case();
        let pc: Vec<f64> = p.iter().map(|&x| (20.0 - x) / 20.0).collect();
        let h = horizon_calibration(&pc, &t, &e, 15.0, 5);
        let want = [
            (0.2, 0.45, 49, 0.3704081632653062, 0.08163265306122447),
            (0.45, 0.55, 38, 0.5223684210526316, 0.15959252971137505),
            (0.55, 0.65, 45, 0.6266666666666667, 0.3721388648924877),
            (0.65, 0.75, 30, 0.7166666666666666, 0.7841884444444445),
            (0.75, 1.0, 38, 0.8763157894736843, 1.0),
        ];
        assert_eq!(h.bins.len(), want.len());
        for (b, &(lower, upper, count, pred, obs)) in h.bins.iter().zip(&want) {
            assert_eq!((b.lower, b.upper, b.count), (lower, upper, count), "{b:?}");
            assert!(close(b.mean_predicted, pred), "{b:?}");
            assert!((b.observed - obs).abs() <= 1e-9, "{b:?}");
        }
        assert_close(h.mean_predicted, 0.605);
        assert!((h.observed.unwrap() - 0.38202926513426183).abs() <= 1e-9);
        assert!((h.ece.unwrap() - 0.23057444142069572).abs() <= 1e-9);
    }

    #[test]
    fn horizon_calibration_degenerate_inputs() {
        let empty = horizon_calibration(&[], &[], &[], 30.0, 10);
        assert_eq!(
            (empty.n, empty.mean_predicted, empty.observed),
            (0, None, None)
        );
        assert!(empty.bins.is_empty() && empty.ece.is_none());
        let (p, t, e) = horizon_case();
        // No bins: the overall figures only.
        let none = horizon_calibration(&p, &t, &e, 30.0, 0);
        assert!(none.bins.is_empty() && none.ece.is_none() && none.observed.is_some());
        // A NaN horizon measures nothing.
        let nan = horizon_calibration(&p, &t, &e, f64::NAN, 2);
        assert!(nan.bins.is_empty() && nan.observed.is_none() && nan.ece.is_none());
        // A NaN time drops its row; NaN predictions are 0.0.
        let h = horizon_calibration(&[f64::NAN, 0.5], &[10.0, f64::NAN], &[true, true], 30.0, 10);
        assert_eq!(h.n, 1);
        assert_eq!(h.bins[0].mean_predicted, 0.0);
        assert_eq!(h.bins[0].observed, 1.0);
    }

    #[test]
    fn horizon_calibration_round_trips_through_json() {
        let (p, t, e) = horizon_case();
        let h = horizon_calibration(&p, &t, &e, 30.0, 2);
        let back: HorizonCalibration =
            serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.bins.len(), h.bins.len());
        assert_eq!(back.n, h.n);
        for (a, b) in back.bins.iter().zip(&h.bins) {
            assert!(close(a.observed, b.observed) && a.count == b.count && a.at_risk == b.at_risk);
        }
        // The empty report has no NaN to lose: `None` reads back as `None`.
        let empty = horizon_calibration(&[], &[], &[], 30.0, 10);
        let json = serde_json::to_string(&empty).unwrap();
        assert_eq!(
            serde_json::from_str::<HorizonCalibration>(&json).unwrap(),
            empty
        );
    }
}
