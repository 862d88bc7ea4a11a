//! Kaplan–Meier curves and the log-rank test over account lifetimes; owns the
//! survival arithmetic only. Turning subscriptions into lifetimes (and
//! deciding when observation starts) is `lifetime`'s job, and the curve is
//! plain data so `bundle` can store it.
//!
//! Conventions follow Python lifelines' `KaplanMeierFitter.fit(durations,
//! event_observed, entry=...)` (checked to 1e-9 in the tests below), so a
//! notebook and this crate report the same curve:
//!
//! * At a tied time churns count before censorings: an account censored on
//!   day `t` is still at risk on day `t`.
//! * **Delayed entry** (left truncation): a lifetime that entered
//!   observation at `entry > 0` is at risk from just after `entry`, not at
//!   `entry` itself. lifelines computes the risk set for churns at `t` as
//!   `at_risk - entrance` of its event table (the `(entry, duration]`
//!   counting-process convention of R's `Surv(entry, duration, event)`).
//!   Entries at 0 are at risk at 0, so churns on the first paid day count,
//!   as without entry (lifelines: the first row keeps its entrants).
//! * Every distinct duration and every distinct entry time is a row,
//!   including days with only censorings or only entries; t = 0 is always a
//!   row (lifelines omits it when no entry and no duration is 0; S = 1 there).
//! * The 95% interval is Greenwood's variance on the log(−log) scale.
//!
//! Durations are days and must not be NaN: the caller filters NaN before
//! fitting (nothing here panics on NaN, but the result is meaningless).
//! Negative durations and entries are treated as 0.

use serde::{Deserialize, Serialize};

/// Φ⁻¹(0.975), the z of a two-sided 95% interval, as lifelines computes it
/// (`scipy.stats.norm.ppf(1 - 0.05 / 2)`), so our bounds match to the last bit
/// of the formula rather than to the 1.96 of printed tables.
pub const Z_95: f64 = 1.959963984540054;

/// Slack when asking whether S(t) <= 1/2. A product of factors (n − d)/n that
/// is exactly 1/2 in rationals can round to 0.5000000000000001; without slack
/// the median would jump to the next row.
const HALF_SLACK: f64 = 1e-12;

/// One lifetime on the tenure scale (days since the account's first paid
/// day): observed from `entry` to `duration`, ending in churn (`observed`)
/// or censored.
///
/// `entry > 0` is delayed entry: the account was already `entry` days old
/// when observation began and is in the data only because it lived that
/// long, so it says nothing about churn before `entry`. A lifetime with
/// `entry > 0` and `duration <= entry` was never at risk and is ignored by
/// [`KmCurve::fit`] and [`log_rank`] (lifelines raises on entry > duration,
/// and at entry = duration counts a churn against a risk set the account is
/// not in).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetime {
    pub entry: f64,
    pub duration: f64,
    pub observed: bool,
}

impl Lifetime {
    /// A lifetime observed from its first day (entry 0).
    pub fn from_start(duration: f64, observed: bool) -> Lifetime {
        Lifetime {
            entry: 0.0,
            duration,
            observed,
        }
    }
}

/// A lifetime as the estimators use it: clamped, or `None` when it is never
/// at risk. NaN entries count as 0.
fn usable(l: &Lifetime) -> Option<(f64, f64, bool)> {
    let duration = clamp_duration(l.duration);
    let entry = if l.entry > 0.0 { l.entry } else { 0.0 };
    // A NaN duration with a late entry is dropped too: it could never leave
    // the risk set it joins.
    if entry > 0.0 && (duration <= entry || duration.is_nan()) {
        return None;
    }
    Some((entry, duration, l.observed))
}

/// A fitted Kaplan–Meier curve: plain data so it can be serialized into our
/// model bundle without tying the file format to any library's types.
///
/// All vectors have one entry per row. Times must be finite to round-trip
/// through JSON (serde_json writes infinities as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmCurve {
    /// Event-table rows: first t = 0, then one row per distinct positive
    /// duration or entry time in ascending order. S = 1 on the t = 0 row
    /// unless some accounts churned at duration 0 (lifelines counts those on
    /// that row too).
    pub time: Vec<f64>,
    /// The risk set for churns at the row's time: accounts that entered
    /// before it (or at 0, on the 0 row) and had not left before it; those
    /// that churn or are censored at exactly that time count, those entering
    /// at it do not. This is lifelines' KM population; its event table's
    /// `at_risk` column is this plus `entered` on rows with t > 0.
    pub at_risk: Vec<u64>,
    /// Churns at exactly the row's time.
    pub observed: Vec<u64>,
    /// Censorings at exactly the row's time.
    pub censored: Vec<u64>,
    /// Lifetimes whose observation starts at exactly the row's time (on the
    /// 0 row: every lifetime without delayed entry). They join `at_risk` from
    /// the next row on, except on the 0 row where they are already in it:
    /// `at_risk[k+1] = at_risk[k] − observed[k] − censored[k] + entered[k]`
    /// for k >= 1, and `at_risk[1] = at_risk[0] − observed[0] − censored[0]`.
    /// Empty in bundles written before delayed entry (read as all 0, with
    /// `at_risk[0]` the whole sample, and written back without the column,
    /// so their content hash holds).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entered: Vec<u64>,
    /// S(t) just after the row's time (the curve is right-continuous).
    pub survival: Vec<f64>,
    /// Lower bound of the pointwise 95% interval (log(−log) Greenwood).
    pub ci_lower: Vec<f64>,
    /// Upper bound of the pointwise 95% interval (log(−log) Greenwood).
    pub ci_upper: Vec<f64>,
}

impl KmCurve {
    /// Fit the product-limit estimate and its 95% interval.
    ///
    /// Empty input gives the single row t = 0, S = 1, interval (1, 1).
    /// Costs one sort of the durations and one of the late entries.
    ///
    /// Unlike lifelines, a risk set that empties and refills (delayed
    /// entries after everyone at risk has left) is no error: rows with
    /// nobody at risk change nothing. lifelines raises a `StatError` when
    /// that happens in the first half of the table and returns NaN after
    /// it. Once S reaches 0 it stays 0; [`KmCurve::conditional_survival`]
    /// restarts from the later risk sets.
    pub fn fit(lifetimes: &[Lifetime]) -> KmCurve {
        let mut exits: Vec<(f64, bool)> = Vec::with_capacity(lifetimes.len());
        let mut late: Vec<f64> = Vec::new();
        for (entry, duration, observed) in lifetimes.iter().filter_map(usable) {
            if entry > 0.0 {
                late.push(entry);
            }
            exits.push((duration, observed));
        }
        exits.sort_by(|a, b| a.0.total_cmp(&b.0));
        late.sort_by(f64::total_cmp);

        let from_start = (exits.len() - late.len()) as u64;
        let mut curve = KmCurve {
            time: vec![0.0],
            at_risk: vec![from_start],
            observed: vec![0],
            censored: vec![0],
            entered: vec![from_start],
            survival: vec![1.0],
            ci_lower: vec![1.0],
            ci_upper: vec![1.0],
        };

        let mut at_risk = from_start;
        // S is kept as a running product of (n - d)/n rather than lifelines'
        // exp(sum of logs): equal to ~1e-16, and exact halves stay exact more often.
        let mut s = 1.0_f64;
        // Greenwood's sum of d / (n (n - d)).
        let mut var_sum = 0.0_f64;
        let (mut i, mut j) = (0, 0);
        loop {
            let t = match (exits.get(i), late.get(j)) {
                (None, None) => break,
                (Some(&(x, _)), None) => x,
                (None, Some(&e)) => e,
                (Some(&(x, _)), Some(&e)) => {
                    if x.total_cmp(&e).is_le() {
                        x
                    } else {
                        e
                    }
                }
            };
            let (mut d, mut c, mut e) = (0_u64, 0_u64, 0_u64);
            // total_cmp, not ==, so the loop always advances (even on NaN).
            while i < exits.len() && exits[i].0.total_cmp(&t).is_eq() {
                if exits[i].1 {
                    d += 1;
                } else {
                    c += 1;
                }
                i += 1;
            }
            while j < late.len() && late[j].total_cmp(&t).is_eq() {
                e += 1;
                j += 1;
            }
            // Every lifetime leaving at t entered before t (or at 0), so
            // d <= at_risk; the guard only keeps NaN input from dividing by 0.
            if d > 0 && at_risk >= d {
                s *= (at_risk - d) as f64 / at_risk as f64;
                // When everyone at risk churns, n - d = 0 and the term is
                // infinite; lifelines replaces it with 0 (S is 0 then anyway).
                if at_risk > d {
                    var_sum += d as f64 / (at_risk as f64 * (at_risk - d) as f64);
                }
            }
            let (lo, hi) = log_log_interval(s, var_sum);
            if t == 0.0 {
                // Durations are clamped to >= 0 and sorted and entries here
                // are > 0, so only the first group can sit at 0: it shares
                // the t = 0 row, as in lifelines.
                curve.observed[0] = d;
                curve.censored[0] = c;
                curve.survival[0] = s;
                curve.ci_lower[0] = lo;
                curve.ci_upper[0] = hi;
            } else {
                curve.time.push(t);
                curve.at_risk.push(at_risk);
                curve.observed.push(d);
                curve.censored.push(c);
                curve.entered.push(e);
                curve.survival.push(s);
                curve.ci_lower.push(lo);
                curve.ci_upper.push(hi);
            }
            at_risk = at_risk.saturating_sub(d + c) + e;
        }
        curve
    }

    /// Number of lifetimes the curve was fitted on.
    pub fn n(&self) -> u64 {
        if self.entered.is_empty() {
            self.at_risk.first().copied().unwrap_or(0)
        } else {
            self.entered.iter().sum()
        }
    }

    /// Lifetimes entering at row `k` that join the risk set after it (none
    /// on the 0 row, whose entrants are already in `at_risk[0]`).
    fn joining_after(&self, k: usize) -> u64 {
        if k == 0 {
            0
        } else {
            self.entered.get(k).copied().unwrap_or(0)
        }
    }

    /// The risk set strictly between row `k` and the next one.
    pub(crate) fn at_risk_after(&self, k: usize) -> u64 {
        let n = self.at_risk.get(k).copied().unwrap_or(0);
        let left =
            self.observed.get(k).copied().unwrap_or(0) + self.censored.get(k).copied().unwrap_or(0);
        n.saturating_sub(left) + self.joining_after(k)
    }

    /// The number of accounts at risk of churning at tenure `t`: how many
    /// lifetimes the curve's hazard at `t` rests on. 0 before 0, past the last
    /// row and for NaN.
    pub fn at_risk_at(&self, t: f64) -> u64 {
        if t.is_nan() || t < 0.0 {
            return 0;
        }
        let k = self.time.partition_point(|&x| x <= t);
        if k == 0 {
            return 0;
        }
        if self.time[k - 1] == t {
            self.at_risk.get(k - 1).copied().unwrap_or(0)
        } else {
            self.at_risk_after(k - 1)
        }
    }

    /// The smallest risk set at any tenure in (a, b]: what a conditional
    /// estimate over that stretch rests on at its thinnest. 0 when the
    /// stretch runs past the last row (nobody was observed that long) or is
    /// empty, or a bound is NaN.
    pub fn min_at_risk(&self, a: f64, b: f64) -> u64 {
        if a.is_nan() || b.is_nan() || b <= a {
            return 0;
        }
        let rows = self.time.len();
        let mut k = self.time.partition_point(|&x| x <= a);
        // Just after a: before row 0 nobody is at risk yet.
        let mut least = if k == 0 { 0 } else { self.at_risk_after(k - 1) };
        if k == 0 && self.time.first().is_some_and(|&t0| t0 <= b) {
            // a < 0 <= b: start counting from the 0 row itself.
            least = u64::MAX;
        }
        while k < rows && self.time[k] <= b {
            least = least.min(self.at_risk[k]);
            if self.time[k] < b {
                least = least.min(self.at_risk_after(k));
            }
            k += 1;
        }
        if least == u64::MAX {
            0
        } else {
            least
        }
    }

    /// The last row time at which at least `min` accounts were at risk, or
    /// `None` if the curve never had that many.
    pub fn last_time_with_at_risk(&self, min: u64) -> Option<f64> {
        let rows = self.time.len().min(self.at_risk.len());
        (0..rows)
            .rev()
            .find(|&k| self.at_risk[k] >= min)
            .map(|k| self.time[k])
    }

    /// S(t): the survival of the last row with time <= t (right-continuous
    /// step function, as lifelines' `predict`).
    ///
    /// Before t = 0 everyone is alive, so negative t gives 1. Past the last
    /// row the last value is carried flat. NaN t gives NaN.
    pub fn survival_at(&self, t: f64) -> f64 {
        if t.is_nan() {
            return f64::NAN;
        }
        let k = self.time.partition_point(|&x| x <= t);
        if k == 0 {
            1.0
        } else {
            self.survival.get(k - 1).copied().unwrap_or(1.0)
        }
    }

    /// Median lifetime: the first row time with S(t) <= 0.5, or
    /// `f64::INFINITY` if the curve never gets that low.
    ///
    /// This is lifelines' definition. R's `survfit` differs when S is exactly
    /// 0.5 over an interval: it reports the midpoint of that flat stretch.
    /// lifelines computes S as exp(sum of logs), so an exact half can come out
    /// as 0.5000000000000001 and its median moves to the next row (e.g. 4 of 8
    /// churning on day 1: lifelines says 2); we allow 1e-12 of slack and say 1.
    pub fn median(&self) -> f64 {
        self.time
            .iter()
            .zip(&self.survival)
            .find(|(_, &s)| s <= 0.5 + HALF_SLACK)
            .map_or(f64::INFINITY, |(&t, _)| t)
    }

    /// The product-limit factor 1 − d/n of row `k` (1 with nobody at risk).
    pub(crate) fn factor(&self, k: usize) -> f64 {
        let d = self.observed.get(k).copied().unwrap_or(0);
        let n = self.at_risk.get(k).copied().unwrap_or(0);
        if d == 0 || n == 0 {
            1.0
        } else {
            n.saturating_sub(d) as f64 / n as f64
        }
    }

    /// P(T > t + h | T > t), the chance an account that has lasted t days
    /// lasts h more: the product-limit estimate restarted at t, ∏ (1 − d/n)
    /// over the rows in (t, t + h].
    ///
    /// That is S(t + h) / S(t) whenever S(t) > 0 (to rounding). Unlike the
    /// ratio it stays defined where S(t) = 0 because an earlier risk set
    /// churned to the last account, which delayed entry makes possible (a
    /// few early entrants all churn, later entrants refill the risk set).
    /// Where nobody is at risk in (t, t + h] the curve knows nothing and the
    /// answer is 1, as for a flat tail: check [`KmCurve::min_at_risk`] before
    /// trusting it. Negative h is treated as 0; NaN in gives NaN.
    pub fn conditional_survival(&self, t: f64, h: f64) -> f64 {
        if t.is_nan() || h.is_nan() {
            return f64::NAN;
        }
        let h = if h < 0.0 { 0.0 } else { h };
        let end = t + h;
        let first = self.time.partition_point(|&x| x <= t);
        let mut p = 1.0;
        for k in first..self.time.len() {
            if self.time[k] > end {
                break;
            }
            p *= self.factor(k);
        }
        p
    }

    /// Expected remaining lifetime, in days, of an account that has lasted t
    /// days, counted only up to the horizon `tau` (restricted mean residual
    /// life): ∫ₜ^τ P(T > u | T > t) du, the conditional survival restarted at
    /// t as in [`KmCurve::conditional_survival`] (= ∫ₜ^τ S(u) du / S(t) when
    /// S(t) > 0). It lies in [0, τ − t].
    ///
    /// Restricted because the Kaplan–Meier curve says nothing past its last
    /// row: unless it reached 0 there, the unrestricted mean depends on a tail
    /// nobody observed. Past the last row we carry the last value flat, as
    /// lifelines' `restricted_mean_survival_time` does; so with S > 0 at the
    /// end the answer grows with `tau`, and `tau` should be a business horizon
    /// (e.g. t + 730) with enough accounts at risk up to it (see
    /// [`KmCurve::min_at_risk`]). `tau` may be `f64::INFINITY` when the curve
    /// reaches 0.
    ///
    /// Returns 0 when `tau <= t`, NaN when t or `tau` is NaN.
    pub fn expected_remaining(&self, t: f64, tau: f64) -> f64 {
        self.expected_remaining_ph(t, tau, 1.0)
    }

    /// [`Self::expected_remaining`] for a curve under proportional hazards
    /// with ratio `theta`: ∫ₜ^τ P(T > u | T > t)^θ du (θ = 1 is the curve
    /// itself, bit for bit). Each step's value is raised to θ, so the
    /// integral stays exact on the step function.
    pub fn expected_remaining_ph(&self, t: f64, tau: f64, theta: f64) -> f64 {
        if t.is_nan() || tau.is_nan() || theta.is_nan() {
            return f64::NAN;
        }
        if tau <= t {
            return 0.0;
        }
        let raise = |v: f64| if theta == 1.0 { v } else { v.powf(theta) };
        let first = self.time.partition_point(|&x| x <= t);
        let (mut total, mut lo, mut value) = (0.0, t, 1.0);
        for k in first..self.time.len() {
            let hi = self.time[k];
            if hi >= tau {
                break;
            }
            total += raise(value) * (hi - lo);
            lo = hi;
            value *= self.factor(k);
        }
        // value > 0 guard: 0 * infinite width would be NaN.
        if value > 0.0 {
            total += raise(value) * (tau - lo);
        }
        total
    }
}

/// Treat negative (and −0.0) durations as 0: a lifetime cannot end before it
/// starts, and one bucket at 0 keeps the t = 0 row unique.
fn clamp_duration(d: f64) -> f64 {
    if d > 0.0 || d.is_nan() {
        d
    } else {
        0.0
    }
}

/// The 95% log(−log) interval from S and Greenwood's sum, written exactly as
/// lifelines' `KaplanMeierFitter._bounds`: with v = ln S,
/// exp(−exp(ln(−v) ∓ z·√var / v)). Unlike the plain S ± z·se interval it stays
/// inside [0, 1]. lifelines fills the 0/0 at S = 1 with 1; at S = 0 it is (0, 0).
fn log_log_interval(s: f64, var_sum: f64) -> (f64, f64) {
    if s >= 1.0 {
        return (1.0, 1.0);
    }
    if s <= 0.0 {
        return (0.0, 0.0);
    }
    let v = s.ln();
    let shift = Z_95 * var_sum.sqrt() / v;
    let lower = (-((-v).ln() - shift).exp()).exp();
    let upper = (-((-v).ln() + shift).exp()).exp();
    (lower, upper)
}

/// Result of a log-rank test: the chi-square statistic, its degrees of freedom
/// (non-empty groups − 1) and the p-value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogRank {
    pub statistic: f64,
    pub dof: usize,
    pub p_value: f64,
}

/// Log-rank test that k >= 2 groups share one survival curve, as lifelines'
/// `multivariate_logrank_test` computes it: U = Zᵀ V⁺ Z over the first k − 1
/// groups, Z = observed − expected churns, V the hypergeometric covariance,
/// V⁺ its pseudo-inverse (so a group never at risk at a churn time adds
/// nothing instead of failing), compared with chi-square on k − 1 dof.
///
/// Risk sets respect delayed entry exactly as [`KmCurve::fit`] does (a
/// lifetime entering at t > 0 is at risk from just after t): comparing
/// groups over years nobody observed would carry the survivorship bias into
/// the test. lifelines' test takes no entry times; with entries the
/// reference is statsmodels' `survdiff(..., entry=...)`, which counts risk
/// sets the same way (except that it leaves entrants at 0 out of the risk set
/// at 0, where nobody here churns in practice). With every entry 0 it is
/// lifelines' test.
///
/// Empty groups (and lifetimes never at risk) are dropped first, as they are
/// invisible to lifelines. Returns `None` when fewer than 2 groups are
/// non-empty or nobody churned.
pub fn log_rank(groups: &[&[Lifetime]]) -> Option<LogRank> {
    let groups: Vec<Vec<(f64, f64, bool)>> = groups
        .iter()
        .map(|g| g.iter().filter_map(usable).collect::<Vec<_>>())
        .filter(|g| !g.is_empty())
        .collect();
    let k = groups.len();
    if k < 2 {
        return None;
    }
    let mut exits: Vec<(f64, usize, bool)> = Vec::new();
    let mut late: Vec<(f64, usize)> = Vec::new();
    // Counts kept as f64: exact up to 2^53 and used only in f64 arithmetic.
    let mut at_risk = vec![0.0; k];
    for (j, g) in groups.iter().enumerate() {
        for &(entry, duration, observed) in g {
            exits.push((duration, j, observed));
            if entry > 0.0 {
                late.push((entry, j));
            } else {
                at_risk[j] += 1.0;
            }
        }
    }
    exits.sort_by(|a, b| a.0.total_cmp(&b.0));
    late.sort_by(|a, b| a.0.total_cmp(&b.0));

    let mut observed = vec![0.0; k];
    let mut expected = vec![0.0; k];
    let mut cov = vec![vec![0.0; k]; k];
    let mut deaths = vec![0.0; k];
    let mut removed = vec![0.0; k];
    let mut entering = vec![0.0; k];
    let mut any_event = false;

    let (mut i, mut e) = (0, 0);
    loop {
        let t = match (exits.get(i), late.get(e)) {
            (None, None) => break,
            (Some(x), None) => x.0,
            (None, Some(y)) => y.0,
            (Some(x), Some(y)) => {
                if x.0.total_cmp(&y.0).is_le() {
                    x.0
                } else {
                    y.0
                }
            }
        };
        deaths.iter_mut().for_each(|x| *x = 0.0);
        removed.iter_mut().for_each(|x| *x = 0.0);
        entering.iter_mut().for_each(|x| *x = 0.0);
        while i < exits.len() && exits[i].0.total_cmp(&t).is_eq() {
            let (_, j, obs) = exits[i];
            removed[j] += 1.0;
            if obs {
                deaths[j] += 1.0;
            }
            i += 1;
        }
        while e < late.len() && late[e].0.total_cmp(&t).is_eq() {
            entering[late[e].1] += 1.0;
            e += 1;
        }
        let n_t: f64 = at_risk.iter().sum();
        let d_t: f64 = deaths.iter().sum();
        if d_t > 0.0 && n_t > 0.0 {
            any_event = true;
            // (n - d)/(n - 1) is 0/0 when one account is at risk; lifelines
            // takes 1 there (the covariance terms are 0 then anyway).
            let ratio = if n_t > 1.0 {
                (n_t - d_t) / (n_t - 1.0)
            } else {
                1.0
            };
            let factor = ratio * d_t / (n_t * n_t);
            for j in 0..k {
                observed[j] += deaths[j];
                expected[j] += at_risk[j] * (d_t / n_t);
                for l in 0..k {
                    if j == l {
                        cov[j][j] += factor * at_risk[j] * (n_t - at_risk[j]);
                    } else {
                        cov[j][l] -= factor * at_risk[j] * at_risk[l];
                    }
                }
            }
        }
        for j in 0..k {
            at_risk[j] += entering[j] - removed[j];
        }
    }
    if !any_event {
        return None;
    }

    // Z and V sum to zero over groups, so one group is redundant: drop the
    // last, as lifelines does.
    let m = k - 1;
    let z: Vec<f64> = (0..m).map(|j| observed[j] - expected[j]).collect();
    let sub: Vec<Vec<f64>> = cov.iter().take(m).map(|row| row[..m].to_vec()).collect();
    let u = pinv_quadratic_form(sub, &z);
    // A PSD form can round to a hair below zero.
    let statistic = if u < 0.0 { 0.0 } else { u };
    Some(LogRank {
        statistic,
        dof: m,
        p_value: chi2_sf(statistic, m),
    })
}

/// zᵀ A⁺ z for symmetric A, with A⁺ the Moore–Penrose pseudo-inverse. Like
/// numpy's `pinv` (which lifelines calls), eigenvalues with
/// |λ| <= 1e-15 · max|λ| are treated as 0.
fn pinv_quadratic_form(a: Vec<Vec<f64>>, z: &[f64]) -> f64 {
    let (values, vectors) = symmetric_eigen(a);
    let largest = values.iter().fold(0.0_f64, |acc, v| acc.max(v.abs()));
    let cutoff = 1e-15 * largest;
    let n = values.len();
    let mut total = 0.0;
    for (c, &lambda) in values.iter().enumerate() {
        if lambda.abs() > cutoff {
            let proj: f64 = (0..n).map(|r| vectors[r][c] * z[r]).sum();
            total += proj * proj / lambda;
        }
    }
    total
}

/// Eigen-decomposition of a small symmetric matrix by cyclic Jacobi rotations
/// (Numerical Recipes §11.1). Returns the eigenvalues and a matrix whose
/// columns are the eigenvectors. The matrices here are (groups − 1) square,
/// so simplicity beats speed.
fn symmetric_eigen(mut a: Vec<Vec<f64>>) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    let mut q: Vec<Vec<f64>> = (0..n)
        .map(|r| (0..n).map(|c| if r == c { 1.0 } else { 0.0 }).collect())
        .collect();
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut diag = 0.0;
        for (r, row) in a.iter().enumerate() {
            diag += row[r] * row[r];
            off += row[r + 1..].iter().map(|x| x * x).sum::<f64>();
        }
        // Stop once the off-diagonal part is negligible (or NaN, whose
        // comparison is false: the sweep cap ends that case).
        if off <= f64::EPSILON * f64::EPSILON * diag {
            break;
        }
        for p in 0..n {
            for r in (p + 1)..n {
                let apr = a[p][r];
                if apr == 0.0 {
                    continue;
                }
                let theta = (a[r][r] - a[p][p]) / (2.0 * apr);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in a.iter_mut() {
                    let (x, y) = (row[p], row[r]);
                    row[p] = c * x - s * y;
                    row[r] = s * x + c * y;
                }
                // p < r, so row p lives in `head` and row r starts `tail`.
                let (head, tail) = a.split_at_mut(r);
                for (x, y) in head[p].iter_mut().zip(tail[0].iter_mut()) {
                    let (xv, yv) = (*x, *y);
                    *x = c * xv - s * yv;
                    *y = s * xv + c * yv;
                }
                for row in q.iter_mut() {
                    let (x, y) = (row[p], row[r]);
                    row[p] = c * x - s * y;
                    row[r] = s * x + c * y;
                }
            }
        }
    }
    let values = (0..n).map(|r| a[r][r]).collect();
    (values, q)
}

/// Survival function of the chi-square distribution, P(X > x) for `dof`
/// degrees of freedom: the regularized upper incomplete gamma Q(dof/2, x/2).
///
/// Returns 1 for x <= 0, 0 for x = +∞, NaN for NaN. With `dof` = 0 (a point
/// mass at 0) it returns 0 for x > 0; scipy returns NaN there.
pub fn chi2_sf(x: f64, dof: usize) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if dof == 0 || x == f64::INFINITY {
        return 0.0;
    }
    gamma_q(dof as f64 / 2.0, x / 2.0)
}

/// Regularized upper incomplete gamma Q(a, x) for a > 0, x > 0: the series
/// for P when x < a + 1 (where it converges fast), else Lentz's continued
/// fraction for Q (Numerical Recipes §6.2, `gser`/`gcf`).
fn gamma_q(a: f64, x: f64) -> f64 {
    if x < a + 1.0 {
        1.0 - gamma_p_series(a, x)
    } else {
        gamma_q_continued_fraction(a, x)
    }
}

const GAMMA_MAX_ITER: usize = 10_000;

/// e^(−x) x^a / Γ(a), the factor shared by the series and the fraction.
fn gamma_prefactor(a: f64, x: f64) -> f64 {
    (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_p_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut term = 1.0 / a;
    let mut sum = term;
    for _ in 0..GAMMA_MAX_ITER {
        ap += 1.0;
        term *= x / ap;
        sum += term;
        if term.abs() < sum.abs() * f64::EPSILON {
            break;
        }
    }
    sum * gamma_prefactor(a, x)
}

fn gamma_q_continued_fraction(a: f64, x: f64) -> f64 {
    let tiny = f64::MIN_POSITIVE / f64::EPSILON;
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / tiny;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..GAMMA_MAX_ITER {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < tiny {
            d = tiny;
        }
        c = b + an / c;
        if c.abs() < tiny {
            c = tiny;
        }
        d = 1.0 / d;
        let delta = d * c;
        h *= delta;
        if (delta - 1.0).abs() < f64::EPSILON {
            break;
        }
    }
    gamma_prefactor(a, x) * h
}

/// ln Γ(x) for x > 0 by the Lanczos approximation (g = 7, 9 terms), good to
/// about 1e-15 relative: enough for p-values to 1e-12.
fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x) Γ(1 − x) = π / sin(πx).
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, &c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOL: f64 = 1e-9;

    fn lifetimes(durations: &[f64], observed: &[u8]) -> Vec<Lifetime> {
        assert_eq!(durations.len(), observed.len());
        durations
            .iter()
            .zip(observed)
            .map(|(&duration, &o)| Lifetime::from_start(duration, o == 1))
            .collect()
    }

    fn assert_close(got: f64, want: f64, tol: f64, what: &str) {
        let ok = if want.is_infinite() {
            got == want
        } else {
            (got - want).abs() <= tol
        };
        assert!(ok, "{what}: got {got:?}, want {want:?} (tol {tol:e})");
    }

    fn assert_rel(got: f64, want: f64, rel: f64, what: &str) {
        let ok = (got - want).abs() <= rel * want.abs();
        assert!(ok, "{what}: got {got:?}, want {want:?} (rel {rel:e})");
    }

    fn assert_all_close(got: &[f64], want: &[f64], tol: f64, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert_close(g, w, tol, &format!("{what}[{i}]"));
        }
    }

    /// One lifelines case: the event table exactly, S and the interval to 1e-9.
    struct Expected<'a> {
        time: &'a [f64],
        at_risk: &'a [u64],
        observed: &'a [u64],
        censored: &'a [u64],
        survival: &'a [f64],
        lower: &'a [f64],
        upper: &'a [f64],
        median: f64,
    }

    fn check(curve: &KmCurve, want: &Expected) {
        assert_eq!(curve.time, want.time, "time");
        assert_eq!(curve.at_risk, want.at_risk, "at_risk");
        assert_eq!(curve.observed, want.observed, "observed");
        assert_eq!(curve.censored, want.censored, "censored");
        assert_all_close(&curve.survival, want.survival, TOL, "survival");
        assert_all_close(&curve.ci_lower, want.lower, TOL, "ci_lower");
        assert_all_close(&curve.ci_upper, want.upper, TOL, "ci_upper");
        assert_close(curve.median(), want.median, 0.0, "median");
    }

    // Reference numbers below marked "lifelines" come from lifelines 0.30.3
    // KaplanMeierFitter (scipy 1.17.1, numpy 2.4.6), computed by a script that
    // fits each case with KaplanMeierFitter().fit(durations, observed) and prints
    // repr() of survival_function_, confidence_interval_ (default alpha 0.05),
    // event_table and median_survival_time_; restricted_mean_survival_time(kmf,
    // t) and predict(t) for the RMST and step checks; and
    // statistics.multivariate_logrank_test(T, group, E) for the log-rank cases.

    #[test]
    fn km_hand_computed_with_ties_and_censoring() {
        // durations 1, 2, 2, 2+, 3+, 4, 5+  (+ = censored)
        //
        //  t  n  d  c   S                      Greenwood Σ d/(n(n-d))
        //  0  7  0  0   1                      0
        //  1  7  1  0   6/7                    1/42
        //  2  6  2  1   6/7 · 4/6 = 4/7        1/42 + 2/24 = 3/28
        //  3  3  0  1   4/7                    3/28
        //  4  2  1  0   4/7 · 1/2 = 2/7        3/28 + 1/2 = 17/28
        //  5  1  0  1   2/7                    17/28
        //
        // The one censored at 2 is still at risk at 2 (n = 6, not 5).
        // Median: S(2) = 4/7 > 1/2, S(4) = 2/7 <= 1/2, so 4.
        // Bounds: v = ln S, exp(-exp(ln(-v) ∓ 1.959963984540054 √Σ / v)),
        // evaluated with Python's math module from the fractions above, e.g.
        // t = 2: v = ln(4/7), √(3/28) → (0.17186601552877515, 0.8370827803491805).
        let curve = KmCurve::fit(&lifetimes(
            &[1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[1, 1, 1, 0, 0, 1, 0],
        ));
        check(
            &curve,
            &Expected {
                time: &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                at_risk: &[7, 7, 6, 3, 2, 1],
                observed: &[0, 1, 2, 0, 1, 0],
                censored: &[0, 0, 1, 1, 0, 1],
                survival: &[1.0, 6.0 / 7.0, 4.0 / 7.0, 4.0 / 7.0, 2.0 / 7.0, 2.0 / 7.0],
                lower: &[
                    1.0,
                    0.3340538792922221,
                    0.17186601552877515,
                    0.17186601552877515,
                    0.014416943873052325,
                    0.014416943873052325,
                ],
                upper: &[
                    1.0,
                    0.9785610585261755,
                    0.8370827803491805,
                    0.8370827803491805,
                    0.6905950123655418,
                    0.6905950123655418,
                ],
                median: 4.0,
            },
        );
        assert_eq!(curve.n(), 7);
    }

    #[test]
    fn km_matches_textbook_6mp_arm() {
        // Freireich et al. (1963) leukaemia trial, 6-MP arm: the standard worked
        // example, e.g. Klein & Moeschberger, Survival Analysis (2nd ed.),
        // Table 4.1A, which prints S = 0.857, 0.807, 0.753, 0.690, 0.627,
        // 0.538, 0.448 at the churn times 6, 7, 10, 13, 16, 22, 23.
        // Exactly: 6/7, ·16/17, ·14/15, ·11/12, ·10/11, ·6/7, ·5/6
        // = 6/7, 96/119, 64/85, 176/255, 32/51, 64/119, 160/357. Median 23.
        let curve = KmCurve::fit(&lifetimes(
            &[
                6.0, 6.0, 6.0, 6.0, 7.0, 9.0, 10.0, 10.0, 11.0, 13.0, 16.0, 17.0, 19.0, 20.0, 22.0,
                23.0, 25.0, 32.0, 32.0, 34.0, 35.0,
            ],
            &[
                1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0,
            ],
        ));
        let printed = [
            (6.0, 0.857, 6.0 / 7.0),
            (7.0, 0.807, 96.0 / 119.0),
            (10.0, 0.753, 64.0 / 85.0),
            (13.0, 0.690, 176.0 / 255.0),
            (16.0, 0.627, 32.0 / 51.0),
            (22.0, 0.538, 64.0 / 119.0),
            (23.0, 0.448, 160.0 / 357.0),
        ];
        for (t, table, exact) in printed {
            assert_close(curve.survival_at(t), table, 5e-4, &format!("table S({t})"));
            assert_close(curve.survival_at(t), exact, 1e-12, &format!("exact S({t})"));
        }
        assert_eq!(curve.median(), 23.0);
        // lifelines: interval at t = 23 (and after).
        assert_close(curve.survival_at(35.0), 160.0 / 357.0, 1e-12, "S(35)");
        assert_close(
            *curve.ci_lower.last().unwrap(),
            0.18805200595923233,
            TOL,
            "lower",
        );
        assert_close(
            *curve.ci_upper.last().unwrap(),
            0.6801426284952412,
            TOL,
            "upper",
        );
    }

    #[test]
    fn km_matches_lifelines_churn_and_censor_tied() {
        // lifelines: durations [3,3,3,5,5,8,8,8,10], observed [1,0,1,1,0,0,1,0,0].
        let curve = KmCurve::fit(&lifetimes(
            &[3.0, 3.0, 3.0, 5.0, 5.0, 8.0, 8.0, 8.0, 10.0],
            &[1, 0, 1, 1, 0, 0, 1, 0, 0],
        ));
        check(
            &curve,
            &Expected {
                time: &[0.0, 3.0, 5.0, 8.0, 10.0],
                at_risk: &[9, 9, 6, 4, 1],
                observed: &[0, 2, 1, 1, 0],
                censored: &[0, 1, 1, 2, 1],
                survival: &[
                    1.0,
                    0.7777777777777776,
                    0.6481481481481479,
                    0.48611111111111105,
                    0.48611111111111105,
                ],
                lower: &[
                    1.0,
                    0.3647512311654739,
                    0.25317459438599577,
                    0.12813695074109674,
                    0.12813695074109674,
                ],
                upper: &[
                    1.0,
                    0.9392964424866017,
                    0.87206762779799,
                    0.7762895839458677,
                    0.7762895839458677,
                ],
                median: 8.0,
            },
        );
    }

    #[test]
    fn km_matches_lifelines_all_censored() {
        // lifelines: durations [2,4,6], observed [0,0,0]; censoring-only times are rows.
        let curve = KmCurve::fit(&lifetimes(&[2.0, 4.0, 6.0], &[0, 0, 0]));
        check(
            &curve,
            &Expected {
                time: &[0.0, 2.0, 4.0, 6.0],
                at_risk: &[3, 3, 2, 1],
                observed: &[0, 0, 0, 0],
                censored: &[0, 1, 1, 1],
                survival: &[1.0; 4],
                lower: &[1.0; 4],
                upper: &[1.0; 4],
                median: f64::INFINITY,
            },
        );
    }

    #[test]
    fn km_matches_lifelines_single_subject() {
        // lifelines: durations [7], observed [1] -> S drops to 0, interval (0, 0).
        let churned = KmCurve::fit(&lifetimes(&[7.0], &[1]));
        check(
            &churned,
            &Expected {
                time: &[0.0, 7.0],
                at_risk: &[1, 1],
                observed: &[0, 1],
                censored: &[0, 0],
                survival: &[1.0, 0.0],
                lower: &[1.0, 0.0],
                upper: &[1.0, 0.0],
                median: 7.0,
            },
        );
        // lifelines: durations [7], observed [0].
        let censored = KmCurve::fit(&lifetimes(&[7.0], &[0]));
        check(
            &censored,
            &Expected {
                time: &[0.0, 7.0],
                at_risk: &[1, 1],
                observed: &[0, 0],
                censored: &[0, 1],
                survival: &[1.0, 1.0],
                lower: &[1.0, 1.0],
                upper: &[1.0, 1.0],
                median: f64::INFINITY,
            },
        );
    }

    #[test]
    fn km_matches_lifelines_zero_durations() {
        // lifelines: durations [0,0,0,1,2,2,3], observed [1,0,1,1,0,1,1]. Churns
        // at 0 land on the t = 0 row, so S(0) = 5/7, not 1.
        let curve = KmCurve::fit(&lifetimes(
            &[0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0],
            &[1, 0, 1, 1, 0, 1, 1],
        ));
        check(
            &curve,
            &Expected {
                time: &[0.0, 1.0, 2.0, 3.0],
                at_risk: &[7, 4, 3, 1],
                observed: &[2, 1, 1, 1],
                censored: &[1, 0, 1, 0],
                survival: &[
                    0.7142857142857143,
                    0.5357142857142858,
                    0.3571428571428571,
                    0.0,
                ],
                lower: &[
                    0.2581536654587949,
                    0.13198817696263862,
                    0.051976519457499495,
                    0.0,
                ],
                upper: &[
                    0.9197974560448583,
                    0.8249970420397139,
                    0.6987130319850487,
                    0.0,
                ],
                median: 2.0,
            },
        );
    }

    #[test]
    fn km_matches_lifelines_down_to_zero() {
        // lifelines: durations [1,2,3,4], all observed. S(2) = 0.5 exactly.
        let curve = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 1, 1]));
        check(
            &curve,
            &Expected {
                time: &[0.0, 1.0, 2.0, 3.0, 4.0],
                at_risk: &[4, 4, 3, 2, 1],
                observed: &[0, 1, 1, 1, 1],
                censored: &[0; 5],
                survival: &[1.0, 0.7500000000000001, 0.5, 0.25, 0.0],
                lower: &[
                    1.0,
                    0.12794691759514565,
                    0.05784708299514455,
                    0.008947824416603157,
                    0.0,
                ],
                upper: &[
                    1.0,
                    0.9605486422850785,
                    0.844861281190374,
                    0.6653253427888655,
                    0.0,
                ],
                median: 2.0,
            },
        );
    }

    /// 50 whole-day durations: numpy default_rng(20240611), round(exponential(120)),
    /// observed = random() < 0.7 (so ties and mixed tied rows occur).
    const RANDOM50_DURATIONS: [f64; 50] = [
        82.0, 216.0, 57.0, 70.0, 266.0, 323.0, 495.0, 8.0, 55.0, 123.0, 292.0, 13.0, 88.0, 46.0,
        514.0, 98.0, 34.0, 132.0, 25.0, 28.0, 286.0, 110.0, 57.0, 135.0, 126.0, 93.0, 57.0, 79.0,
        141.0, 133.0, 32.0, 33.0, 363.0, 206.0, 61.0, 35.0, 253.0, 88.0, 7.0, 206.0, 264.0, 38.0,
        57.0, 200.0, 180.0, 188.0, 224.0, 58.0, 173.0, 28.0,
    ];
    const RANDOM50_OBSERVED: [u8; 50] = [
        1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 0, 1, 0, 1, 1,
        1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 0, 1, 1,
    ];

    #[test]
    fn km_matches_lifelines_random_50() {
        let curve = KmCurve::fit(&lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED));
        check(
            &curve,
            &Expected {
                time: &[
                    0.0, 7.0, 8.0, 13.0, 25.0, 28.0, 32.0, 33.0, 34.0, 35.0, 38.0, 46.0, 55.0,
                    57.0, 58.0, 61.0, 70.0, 79.0, 82.0, 88.0, 93.0, 98.0, 110.0, 123.0, 126.0,
                    132.0, 133.0, 135.0, 141.0, 173.0, 180.0, 188.0, 200.0, 206.0, 216.0, 224.0,
                    253.0, 264.0, 266.0, 286.0, 292.0, 323.0, 363.0, 495.0, 514.0,
                ],
                at_risk: &[
                    50, 50, 49, 48, 47, 46, 44, 43, 42, 41, 40, 39, 38, 37, 33, 32, 31, 30, 29, 28,
                    26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 11, 10, 9, 8, 7, 6, 5,
                    4, 3, 2, 1,
                ],
                observed: &[
                    0, 1, 0, 1, 0, 2, 1, 1, 1, 1, 0, 1, 0, 4, 0, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 0,
                    1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1,
                ],
                censored: &[
                    0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 0, 1,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0,
                ],
                survival: &[
                    1.0,
                    0.98,
                    0.98,
                    0.9595833333333329,
                    0.9595833333333329,
                    0.9178623188405791,
                    0.8970018115942024,
                    0.8761413043478258,
                    0.855280797101449,
                    0.834420289855072,
                    0.834420289855072,
                    0.8130248978075061,
                    0.8130248978075061,
                    0.7251303142607487,
                    0.7251303142607487,
                    0.7024699919401004,
                    0.679809669619452,
                    0.679809669619452,
                    0.6563679568739534,
                    0.6329262441284552,
                    0.6329262441284552,
                    0.6329262441284552,
                    0.6065543172897695,
                    0.580182390451084,
                    0.5538104636123983,
                    0.5538104636123983,
                    0.5261199404317783,
                    0.49842941725115847,
                    0.47073889407053865,
                    0.44304837088991866,
                    0.4153578477092988,
                    0.3876673245286788,
                    0.35997680134805893,
                    0.3045957549868191,
                    0.27690523180619925,
                    0.24921470862557932,
                    0.2215241854449593,
                    0.1938336622643394,
                    0.1661431390837195,
                    0.1661431390837195,
                    0.1661431390837195,
                    0.12460735431278964,
                    0.08307156954185975,
                    0.04153578477092987,
                    0.0,
                ],
                lower: &[
                    1.0,
                    0.8663855670726912,
                    0.8663855670726912,
                    0.8478829365086346,
                    0.8478829365086346,
                    0.7956864016227436,
                    0.7699766809950594,
                    0.7448013297020066,
                    0.7201416312894804,
                    0.6959579857496654,
                    0.6959579857496654,
                    0.671297550760101,
                    0.671297550760101,
                    0.573654859919348,
                    0.573654859919348,
                    0.549286533750059,
                    0.5253458544696549,
                    0.5253458544696549,
                    0.5006859156318636,
                    0.4764716541674181,
                    0.4764716541674181,
                    0.4764716541674181,
                    0.44854635881022153,
                    0.42131939851011174,
                    0.3947357418940409,
                    0.3947357418940409,
                    0.36698764652442534,
                    0.3399545768754247,
                    0.3136007454157933,
                    0.287901880145347,
                    0.26284355124777053,
                    0.23842020323562624,
                    0.21463476401207524,
                    0.16903314432289876,
                    0.1472694192051197,
                    0.1262521753703952,
                    0.10604258937184623,
                    0.08672419512322353,
                    0.06841222857682551,
                    0.06841222857682551,
                    0.06841222857682551,
                    0.03940439546837998,
                    0.017297640971306965,
                    0.0034133174281508454,
                    0.0,
                ],
                upper: &[
                    1.0,
                    0.9971583161607277,
                    0.9971583161607277,
                    0.9897382501451091,
                    0.9897382501451091,
                    0.9683699876473496,
                    0.9558060529312855,
                    0.9423849887515687,
                    0.9282675674375728,
                    0.91356414206995,
                    0.91356414206995,
                    0.8980698137319976,
                    0.8980698137319976,
                    0.8303704481117148,
                    0.8303704481117148,
                    0.8120760065101466,
                    0.7934223722078922,
                    0.7934223722078922,
                    0.7739465176455361,
                    0.7541148212774033,
                    0.7541148212774033,
                    0.7541148212774033,
                    0.7321485262399152,
                    0.709713437659913,
                    0.686827676094328,
                    0.686827676094328,
                    0.6626848890003268,
                    0.6380420420126856,
                    0.6129072412044279,
                    0.5872835750702214,
                    0.5611693648177416,
                    0.5345581459309044,
                    0.5074383907994522,
                    0.4515981258311061,
                    0.422822325400689,
                    0.3934239857158348,
                    0.3633485449638394,
                    0.33252382506004385,
                    0.30085285250545646,
                    0.30085285250545646,
                    0.30085285250545646,
                    0.26154019278923846,
                    0.21744952532729986,
                    0.1683561146981723,
                    0.0,
                ],
                median: 135.0,
            },
        );
        assert_eq!(curve.n(), 50);
    }

    #[test]
    fn km_empty_input_is_the_t0_row() {
        let curve = KmCurve::fit(&[]);
        assert_eq!(curve.time, vec![0.0]);
        assert_eq!(curve.at_risk, vec![0]);
        assert_eq!(curve.survival, vec![1.0]);
        assert_eq!((curve.ci_lower[0], curve.ci_upper[0]), (1.0, 1.0));
        assert_eq!(curve.n(), 0);
        assert_eq!(curve.median(), f64::INFINITY);
        assert_eq!(curve.survival_at(10.0), 1.0);
        assert_eq!(curve.expected_remaining(0.0, 30.0), 30.0);
    }

    #[test]
    fn km_ignores_input_order() {
        let mut rows = lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED);
        let forward = KmCurve::fit(&rows);
        rows.reverse();
        rows.rotate_left(17);
        assert_eq!(KmCurve::fit(&rows), forward);
    }

    #[test]
    fn km_treats_negative_durations_as_zero() {
        let negative = KmCurve::fit(&lifetimes(&[-3.0, -0.0, 2.0], &[1, 0, 1]));
        let zero = KmCurve::fit(&lifetimes(&[0.0, 0.0, 2.0], &[1, 0, 1]));
        assert_eq!(negative, zero);
        assert_eq!(negative.time, vec![0.0, 2.0]);
    }

    #[test]
    fn km_curve_round_trips_through_json() {
        let curve = KmCurve::fit(&lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED));
        let text = serde_json::to_string(&curve).unwrap();
        let back: KmCurve = serde_json::from_str(&text).unwrap();
        // Counts and times survive exactly. serde_json's default float parser
        // may be one ulp off (exact parsing needs its `float_roundtrip`
        // feature), so probabilities are compared to 1e-15.
        assert_eq!(back.time, curve.time);
        assert_eq!(back.at_risk, curve.at_risk);
        assert_eq!(back.observed, curve.observed);
        assert_eq!(back.censored, curve.censored);
        assert_all_close(&back.survival, &curve.survival, 1e-15, "survival");
        assert_all_close(&back.ci_lower, &curve.ci_lower, 1e-15, "ci_lower");
        assert_all_close(&back.ci_upper, &curve.ci_upper, 1e-15, "ci_upper");
    }

    #[test]
    fn survival_at_is_a_right_continuous_step() {
        // lifelines: predict([0, 0.5, 2, 2.5, 4, 50, 1000]) on the hand table
        // gives [1, 1, 4/7, 4/7, 2/7, 2/7, 2/7].
        let curve = KmCurve::fit(&lifetimes(
            &[1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[1, 1, 1, 0, 0, 1, 0],
        ));
        let want = [
            (0.0, 1.0),
            (0.5, 1.0),
            (2.0, 4.0 / 7.0),
            (2.5, 4.0 / 7.0),
            (4.0, 2.0 / 7.0),
            (50.0, 2.0 / 7.0),
            (1000.0, 2.0 / 7.0),
        ];
        for (t, s) in want {
            assert_close(curve.survival_at(t), s, 1e-12, &format!("S({t})"));
        }
        assert_close(
            curve.survival_at(1.999_999),
            6.0 / 7.0,
            1e-12,
            "just before 2",
        );
        assert_eq!(curve.survival_at(-5.0), 1.0);
        assert!(curve.survival_at(f64::NAN).is_nan());
    }

    #[test]
    fn median_infinite_when_never_half() {
        // 1 churn in 4: S bottoms out at 3/4.
        let curve = KmCurve::fit(&lifetimes(&[5.0, 9.0, 9.0, 12.0], &[1, 0, 0, 0]));
        assert_eq!(curve.median(), f64::INFINITY);
        // S = 0.5 + 1/18 stays above the slack too.
        let near = KmCurve::fit(&lifetimes(&[1.0; 9], &[1, 1, 1, 1, 0, 0, 0, 0, 0]));
        assert_close(near.survival_at(1.0), 5.0 / 9.0, 1e-15, "S(1)");
        assert_eq!(near.median(), f64::INFINITY);
    }

    #[test]
    fn median_takes_first_time_at_exact_half() {
        // 4 of 8 churn on day 1, the rest on days 2..5: S(1) = 1/2 exactly, so
        // the median is 1. lifelines 0.30.3 reports 2.0 here: exp(ln 4 − ln 8)
        // is 0.5000000000000001 > 0.5. R's survfit would report 1.5 (the
        // midpoint of the flat stretch at exactly 1/2).
        let curve = KmCurve::fit(&lifetimes(
            &[1.0, 1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            &[1; 8],
        ));
        assert_eq!(curve.median(), 1.0);
        // 1..6 all churn: S(3) = 5/6 · 4/5 · 3/4 = 1/2 (lifelines: 4.0, same cause).
        let chain = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[1; 6]));
        assert_eq!(chain.median(), 3.0);
    }

    #[test]
    fn conditional_survival_is_ratio_of_curve_values() {
        // Hand table: P(T > 4 | T > 1) = (2/7) / (6/7) = 1/3; P(T > 3 | T > 2) = 1.
        let curve = KmCurve::fit(&lifetimes(
            &[1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[1, 1, 1, 0, 0, 1, 0],
        ));
        assert_close(
            curve.conditional_survival(1.0, 3.0),
            1.0 / 3.0,
            1e-12,
            "4|1",
        );
        assert_close(curve.conditional_survival(2.0, 1.0), 1.0, 1e-12, "3|2");
        assert_close(
            curve.conditional_survival(0.0, 2.0),
            4.0 / 7.0,
            1e-12,
            "2|0",
        );
        assert_close(
            curve.conditional_survival(2.0, -1.0),
            1.0,
            1e-12,
            "negative h",
        );
    }

    #[test]
    fn conditional_survival_past_the_last_churn_carries_no_information() {
        // 1, 2, 3, 4 all churn: S(4) = 0 and nobody is at risk after 4. The
        // estimate restarted at 4 has no factor left, so it is 1 (a flat
        // tail), and min_at_risk says it rests on nobody. (Before delayed
        // entry this returned 0: S(4 + h) / S(4) with S(4) = 0.)
        let curve = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0], &[1; 4]));
        assert_eq!(curve.conditional_survival(4.0, 10.0), 1.0);
        assert_eq!(curve.min_at_risk(4.0, 14.0), 0);
        assert_eq!(curve.conditional_survival(100.0, 0.0), 1.0);
        assert_close(
            curve.conditional_survival(1.0, 2.0),
            1.0 / 3.0,
            1e-12,
            "3|1",
        );
        assert!(curve.conditional_survival(f64::NAN, 1.0).is_nan());
    }

    #[test]
    fn expected_remaining_hand_computed() {
        // Hand table, t = 2.5, tau = 5: ∫ S = 4/7 · 1.5 + 2/7 · 1 = 8/7, / S(2.5) = 4/7 → 2.
        let curve = KmCurve::fit(&lifetimes(
            &[1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[1, 1, 1, 0, 0, 1, 0],
        ));
        assert_close(curve.expected_remaining(2.5, 5.0), 2.0, 1e-12, "2.5..5");
        // From 0 to 1.5: 1 · 1 + 6/7 · 0.5.
        assert_close(
            curve.expected_remaining(0.0, 1.5),
            1.0 + 3.0 / 7.0,
            1e-12,
            "0..1.5",
        );
        // Past the last row (5) S = 2/7 is carried flat: from 5 to 15 that is 10 days.
        assert_close(
            curve.expected_remaining(5.0, 15.0),
            10.0,
            1e-12,
            "flat tail",
        );
    }

    #[test]
    fn expected_remaining_matches_lifelines_rmst() {
        // lifelines restricted_mean_survival_time(kmf, t) = ∫₀ᵗ S; so
        // expected_remaining(t, tau) = (RMST(tau) − RMST(t)) / S(t).
        // Hand table: RMST(2.5) = 2.142857142857143, RMST(5) = 3.2857142857142856,
        // RMST(100) = 30.428571428571427.
        let hand = KmCurve::fit(&lifetimes(
            &[1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0],
            &[1, 1, 1, 0, 0, 1, 0],
        ));
        assert_close(
            hand.expected_remaining(0.0, 5.0),
            3.2857142857142856,
            TOL,
            "0..5",
        );
        assert_close(
            hand.expected_remaining(0.0, 100.0),
            30.428571428571427,
            TOL,
            "0..100",
        );
        assert_close(
            hand.expected_remaining(2.5, 100.0),
            (30.428571428571427 - 2.142857142857143) / (4.0 / 7.0),
            TOL,
            "2.5..100",
        );
        // Zero durations: S(0) = 5/7, RMST(2.5) = 1.4285714285714286, RMST(100) =
        // 1.6071428571428572 (the curve reaches 0 at 3, so tau = ∞ is finite).
        let zeros = KmCurve::fit(&lifetimes(
            &[0.0, 0.0, 0.0, 1.0, 2.0, 2.0, 3.0],
            &[1, 0, 1, 1, 0, 1, 1],
        ));
        let s0 = 0.7142857142857143;
        assert_close(
            zeros.expected_remaining(0.0, 2.5) * s0,
            1.4285714285714286,
            TOL,
            "zeros 2.5",
        );
        assert_close(
            zeros.expected_remaining(0.0, f64::INFINITY) * s0,
            1.6071428571428572,
            TOL,
            "zeros inf",
        );
        // Random 50: RMST(100) = 80.60931014341664, RMST(250) = 144.5243120296552,
        // S(100) = 0.6329262441284552.
        let random = KmCurve::fit(&lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED));
        assert_close(
            random.expected_remaining(0.0, 250.0),
            144.5243120296552,
            TOL,
            "0..250",
        );
        assert_close(
            random.expected_remaining(100.0, 250.0),
            (144.5243120296552 - 80.60931014341664) / 0.6329262441284552,
            TOL,
            "100..250",
        );
    }

    #[test]
    fn expected_remaining_is_zero_without_a_window() {
        let curve = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0], &[1; 4]));
        assert_eq!(curve.expected_remaining(3.0, 3.0), 0.0);
        assert_eq!(curve.expected_remaining(3.0, 1.0), 0.0);
        assert!(curve.expected_remaining(f64::NAN, 10.0).is_nan());
        // Nobody at risk after 4: flat at 1, like conditional_survival.
        assert_eq!(curve.expected_remaining(4.0, 10.0), 6.0);
        // Unrestricted mean of 1, 2, 3, 4 all observed is 2.5.
        assert_close(
            curve.expected_remaining(0.0, f64::INFINITY),
            2.5,
            1e-12,
            "mean",
        );
        // Never more than the window, even over many rows.
        let random = KmCurve::fit(&lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED));
        for t in [0.0, 7.0, 33.5, 100.0, 513.0, 600.0] {
            let r = random.expected_remaining(t, t + 730.0);
            assert!((0.0..=730.0).contains(&r), "t = {t}: {r}");
        }
    }

    fn check_log_rank(groups: &[&[Lifetime]], statistic: f64, dof: usize, p: f64) {
        let got = log_rank(groups).expect("a result");
        assert_rel(got.statistic, statistic, 1e-9, "statistic");
        assert_eq!(got.dof, dof);
        assert_rel(got.p_value, p, 1e-9, "p_value");
    }

    fn group_a() -> Vec<Lifetime> {
        lifetimes(
            &[1.0, 2.0, 2.0, 3.0, 4.0, 5.0, 8.0, 9.0],
            &[1, 1, 0, 1, 0, 1, 1, 0],
        )
    }
    fn group_b() -> Vec<Lifetime> {
        lifetimes(
            &[2.0, 3.0, 5.0, 6.0, 7.0, 9.0, 11.0, 12.0, 15.0],
            &[1, 0, 1, 1, 0, 1, 1, 0, 1],
        )
    }
    fn group_c() -> Vec<Lifetime> {
        lifetimes(&[1.0, 1.0, 2.0, 3.0, 3.0, 4.0, 6.0], &[1, 1, 1, 0, 1, 1, 1])
    }

    #[test]
    fn log_rank_matches_lifelines_two_groups() {
        // lifelines: multivariate_logrank_test on groups A (0) and B (1).
        let (a, b) = (group_a(), group_b());
        check_log_rank(&[&a, &b], 1.8846758940053179, 1, 0.169803652217187);
    }

    #[test]
    fn log_rank_matches_lifelines_three_groups() {
        // lifelines: multivariate_logrank_test on groups A (0), B (1), C (2).
        let (a, b, c) = (group_a(), group_b(), group_c());
        check_log_rank(&[&a, &b, &c], 7.687577010507985, 2, 0.021412326775243868);
        // The statistic does not depend on which group is dropped.
        check_log_rank(&[&c, &a, &b], 7.687577010507985, 2, 0.021412326775243868);
    }

    #[test]
    fn log_rank_matches_lifelines_four_groups() {
        // lifelines: groups A, B, C and D = [4,4,7,10,10,13], observed [0,1,1,1,0,1].
        let (a, b, c) = (group_a(), group_b(), group_c());
        let d = lifetimes(&[4.0, 4.0, 7.0, 10.0, 10.0, 13.0], &[0, 1, 1, 1, 0, 1]);
        check_log_rank(
            &[&a, &b, &c, &d],
            11.800236540479027,
            3,
            0.008099753910484111,
        );
    }

    #[test]
    fn log_rank_matches_lifelines_random_three_groups() {
        // lifelines: the random 50 split into rows 0..17, 17..34, 34..50.
        let all = lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED);
        let (g0, g1, g2) = (&all[0..17], &all[17..34], &all[34..]);
        check_log_rank(&[g0, g1, g2], 2.5719563964984467, 2, 0.27638009683184356);
    }

    #[test]
    fn log_rank_matches_lifelines_tiny_p_value() {
        // lifelines: [1,1,2,2,3,3,4,4,5,5]×3 vs [50,60,...,140]×3, all observed.
        let early: Vec<f64> = (0..30)
            .map(|i| [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0][i % 10])
            .collect();
        let late: Vec<f64> = (0..30).map(|i| 50.0 + 10.0 * (i % 10) as f64).collect();
        let (a, b) = (lifetimes(&early, &[1; 30]), lifetimes(&late, &[1; 30]));
        check_log_rank(&[&a, &b], 65.12406659262973, 1, 7.032790501206475e-16);
    }

    #[test]
    fn log_rank_matches_lifelines_when_a_group_is_never_at_risk() {
        // lifelines: [1] censored vs [2,3,4] churned -> statistic 0, p 1
        // (the pseudo-inverse of a zero variance is 0).
        let a = lifetimes(&[1.0], &[0]);
        let b = lifetimes(&[2.0, 3.0, 4.0], &[1, 1, 1]);
        check_log_rank(&[&a, &b], 0.0, 1, 1.0);
    }

    #[test]
    fn log_rank_matches_lifelines_singular_covariance_in_three_groups() {
        // lifelines: [0.5] censored, A, B -> the same statistic as A vs B but
        // on 2 dof (numpy's pinv drops the zero direction, the dof stays).
        let never = lifetimes(&[0.5], &[0]);
        let (a, b) = (group_a(), group_b());
        check_log_rank(&[&never, &a, &b], 1.884675894005317, 2, 0.38971563493531924);
    }

    #[test]
    fn log_rank_none_for_one_group_or_no_events() {
        let a = group_a();
        let empty: Vec<Lifetime> = Vec::new();
        assert_eq!(log_rank(&[]), None);
        assert_eq!(log_rank(&[&a]), None);
        assert_eq!(log_rank(&[&a, &empty]), None);
        let c1 = lifetimes(&[1.0, 2.0], &[0, 0]);
        let c2 = lifetimes(&[3.0], &[0]);
        assert_eq!(log_rank(&[&c1, &c2]), None);
    }

    #[test]
    fn log_rank_drops_empty_groups() {
        let (a, b) = (group_a(), group_b());
        let empty: Vec<Lifetime> = Vec::new();
        check_log_rank(&[&a, &empty, &b], 1.8846758940053179, 1, 0.169803652217187);
    }

    #[test]
    fn log_rank_of_identical_groups_is_zero() {
        let a = group_a();
        let got = log_rank(&[&a, &a, &a]).unwrap();
        assert!(got.statistic.abs() < 1e-12, "{got:?}");
        assert_close(got.p_value, 1.0, 1e-12, "p");
        assert_eq!(got.dof, 2);
    }

    #[test]
    fn chi2_sf_known_values() {
        // scipy 1.17.1 stats.chi2.sf(x, dof), repr() of the result.
        let known = [
            (3.841458820694124, 1, 0.04999999999999989),
            (1.0, 1, 0.31731050786291115),
            (5.991464547107979, 2, 0.05000000000000007),
            (10.0, 3, 0.01856613546304325),
            (0.5, 4, 0.9735009788392561),
            (30.0, 5, 1.4748581038443073e-05),
            (100.0, 2, 1.9287498479639183e-22),
            (200.0, 1, 2.0884875837625688e-45),
            (1e-3, 7, 0.9999999999997597),
            (25.0, 10, 0.005345505487134069),
        ];
        for (x, dof, p) in known {
            assert_rel(chi2_sf(x, dof), p, 1e-12, &format!("chi2_sf({x}, {dof})"));
        }
        // Closed form: with 2 dof the chi-square is exponential with mean 2.
        for x in [0.1, 1.0, 7.5, 40.0] {
            assert_rel(
                chi2_sf(x, 2),
                (-x / 2.0).exp(),
                1e-13,
                &format!("2 dof at {x}"),
            );
        }
    }

    #[test]
    fn chi2_sf_edge_cases() {
        assert_eq!(chi2_sf(0.0, 3), 1.0);
        assert_eq!(chi2_sf(-1.0, 3), 1.0);
        assert_eq!(chi2_sf(f64::INFINITY, 3), 0.0);
        assert_eq!(chi2_sf(2.0, 0), 0.0);
        assert!(chi2_sf(f64::NAN, 3).is_nan());
        assert_eq!(chi2_sf(1e6, 1), 0.0);
    }

    // ---- Delayed entry (left truncation) ----
    //
    // Reference numbers below come from lifelines 0.30.3 (numpy 2.4.6, pandas
    // 2.3.3, scipy 1.17.1), Python 3.11.7:
    //
    //     from lifelines import KaplanMeierFitter
    //     from lifelines.utils import restricted_mean_survival_time
    //     kmf = KaplanMeierFitter().fit(durations, observed, entry=entry)
    //     et = kmf.event_table          # index, at_risk, entrance, observed, censored
    //     kmf.survival_function_, kmf.confidence_interval_, kmf.median_survival_time_
    //     restricted_mean_survival_time(kmf, t), kmf.predict(times)
    //
    // printing repr(float(x)) of every value. lifelines' event table counts
    // entrants at t in `at_risk` but its KM uses `at_risk - entrance` (except
    // on its first row); our `at_risk` is that KM population, so
    // `check_entry` compares at_risk + entered with lifelines' at_risk on
    // rows t > 0, and adds the t = 0 row lifelines omits when nobody enters
    // or leaves at 0. The log-rank references with entries come from
    // statsmodels 0.15.0 `statsmodels.duration.survfunc.survdiff(time,
    // status, group, entry=entry)` (lifelines' test takes no entry), whose
    // risk sets leave entrants at t out at t as ours do.

    fn with_entries(entry: &[f64], durations: &[f64], observed: &[u8]) -> Vec<Lifetime> {
        assert_eq!(entry.len(), durations.len());
        lifetimes(durations, observed)
            .into_iter()
            .zip(entry)
            .map(|(l, &entry)| Lifetime { entry, ..l })
            .collect()
    }

    /// One lifelines fit with entry, its columns verbatim.
    struct Lifelines<'a> {
        time: &'a [f64],
        at_risk: &'a [u64],
        entrance: &'a [u64],
        observed: &'a [u64],
        censored: &'a [u64],
        survival: &'a [f64],
        lower: &'a [f64],
        upper: &'a [f64],
        median: f64,
    }

    fn check_entry(curve: &KmCurve, lf: &Lifelines) {
        // lifelines has a t = 0 row only when someone enters or leaves at 0.
        let skip = usize::from(lf.time[0] > 0.0);
        if skip == 1 {
            assert_eq!(curve.time[0], 0.0);
            assert_eq!(
                (
                    curve.at_risk[0],
                    curve.entered[0],
                    curve.observed[0],
                    curve.censored[0]
                ),
                (0, 0, 0, 0),
                "empty t = 0 row"
            );
            assert_eq!(
                (curve.survival[0], curve.ci_lower[0], curve.ci_upper[0]),
                (1.0, 1.0, 1.0)
            );
        }
        assert_eq!(&curve.time[skip..], lf.time, "time");
        assert_eq!(&curve.entered[skip..], lf.entrance, "entered");
        assert_eq!(&curve.observed[skip..], lf.observed, "observed");
        assert_eq!(&curve.censored[skip..], lf.censored, "censored");
        let lifelines_at_risk: Vec<u64> = (0..curve.time.len())
            .skip(skip)
            .map(|k| {
                if curve.time[k] == 0.0 {
                    curve.at_risk[k]
                } else {
                    curve.at_risk[k] + curve.entered[k]
                }
            })
            .collect();
        assert_eq!(lifelines_at_risk, lf.at_risk, "at_risk + entered");
        assert_all_close(&curve.survival[skip..], lf.survival, TOL, "survival");
        assert_all_close(&curve.ci_lower[skip..], lf.lower, TOL, "ci_lower");
        assert_all_close(&curve.ci_upper[skip..], lf.upper, TOL, "ci_upper");
        assert_close(curve.median(), lf.median, 0.0, "median");
        // The at_risk recurrence the doc comment promises.
        for k in 1..curve.time.len() {
            let before = curve.at_risk[k - 1] - curve.observed[k - 1] - curve.censored[k - 1];
            let joined = if k == 1 { 0 } else { curve.entered[k - 1] };
            assert_eq!(curve.at_risk[k], before + joined, "recurrence at row {k}");
        }
        assert_eq!(curve.n(), curve.entered.iter().sum::<u64>());
    }

    /// Nine lifetimes with churns, censorings and entries on the same days.
    fn hand_with_entries() -> Vec<Lifetime> {
        with_entries(
            &[0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 3.0, 4.0],
            &[2.0, 3.0, 5.0, 3.0, 4.0, 5.0, 6.0, 6.0, 7.0],
            &[1, 0, 1, 1, 0, 1, 1, 0, 1],
        )
    }

    #[test]
    fn km_with_entry_matches_lifelines_hand_case() {
        // entry [0,0,0,1,1,2,2,3,4], durations [2,3,5,3,4,5,6,6,7],
        // observed [1,0,1,1,0,1,1,0,1]. By hand (entrants at t join after t):
        //
        //  t  at risk (KM)            d  c  entered  S
        //  0  3 (the entry-0 three)   0  0  3        1
        //  1  3                       0  0  2        1
        //  2  5                       1  0  2        4/5
        //  3  6                       1  1  1        4/5 · 5/6 = 2/3
        //  4  5                       0  1  1        2/3
        //  5  5                       2  0  0        2/3 · 3/5 = 2/5
        //  6  3                       1  1  0        2/5 · 2/3 = 4/15
        //  7  1                       1  0  0        0
        //
        // statsmodels' SurvfuncRight(entry=...) agrees: n_risk [5, 6, 5, 3, 1]
        // at the churn times, surv_prob [0.8, 2/3, 0.4, 4/15, 0].
        let curve = KmCurve::fit(&hand_with_entries());
        check_entry(
            &curve,
            &Lifelines {
                time: &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                at_risk: &[3, 5, 7, 7, 6, 5, 3, 1],
                entrance: &[3, 2, 2, 1, 1, 0, 0, 0],
                observed: &[0, 0, 1, 1, 0, 2, 1, 1],
                censored: &[0, 0, 0, 1, 1, 0, 1, 0],
                survival: &[
                    1.0,
                    1.0,
                    0.8,
                    0.6666666666666666,
                    0.6666666666666666,
                    0.4000000000000001,
                    0.2666666666666667,
                    0.0,
                ],
                lower: &[
                    1.0,
                    1.0,
                    0.20380926326763904,
                    0.19461663680623478,
                    0.19461663680623478,
                    0.08374750755842197,
                    0.03650377287757278,
                    0.0,
                ],
                upper: &[
                    1.0,
                    1.0,
                    0.9691797888667427,
                    0.9044341643225163,
                    0.9044341643225163,
                    0.7128025589912184,
                    0.5899296196149802,
                    0.0,
                ],
                median: 5.0,
            },
        );
        assert_eq!(curve.at_risk, vec![3, 3, 5, 6, 5, 5, 3, 1]);
        assert_eq!(curve.n(), 9);
        // lifelines predict([0, 1, 2, 2.5, 3, 4.5, 5, 6, 7, 9]).
        let predicted = [
            (0.0, 1.0),
            (1.0, 1.0),
            (2.0, 0.8),
            (2.5, 0.8),
            (3.0, 0.6666666666666666),
            (4.5, 0.6666666666666666),
            (5.0, 0.4000000000000001),
            (6.0, 0.2666666666666667),
            (7.0, 0.0),
            (9.0, 0.0),
        ];
        for (t, s) in predicted {
            assert_close(curve.survival_at(t), s, TOL, &format!("S({t})"));
        }
        // RMST(3.5) = 3.1333333333333333, RMST(7) = RMST(10) = 4.800000000000001.
        assert_close(
            curve.expected_remaining(0.0, 3.5),
            3.1333333333333333,
            TOL,
            "0..3.5",
        );
        assert_close(
            curve.expected_remaining(0.0, 10.0),
            4.800000000000001,
            TOL,
            "0..10",
        );
        assert_close(
            curve.expected_remaining(3.5, 7.0),
            (4.800000000000001 - 3.1333333333333333) / 0.6666666666666666,
            TOL,
            "3.5..7",
        );
        assert_close(curve.conditional_survival(2.0, 3.0), 0.5, TOL, "5|2");
    }

    #[test]
    fn km_with_entry_matches_lifelines_when_nobody_starts_at_zero() {
        // lifelines: entry [2,2,3,5,1], durations [4,6,5,9,3], observed
        // [1,0,1,1,0]. Its table starts at 1 and counts that row's entrant as
        // at risk (its first-row rule); S and the bounds do not depend on it.
        let curve = KmCurve::fit(&with_entries(
            &[2.0, 2.0, 3.0, 5.0, 1.0],
            &[4.0, 6.0, 5.0, 9.0, 3.0],
            &[1, 0, 1, 1, 0],
        ));
        check_entry(
            &curve,
            &Lifelines {
                time: &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 9.0],
                at_risk: &[1, 3, 4, 3, 3, 2, 1],
                entrance: &[1, 2, 1, 0, 1, 0, 0],
                observed: &[0, 0, 0, 1, 1, 0, 1],
                censored: &[0, 0, 1, 0, 0, 1, 0],
                survival: &[
                    1.0,
                    1.0,
                    1.0,
                    0.6666666666666666,
                    0.3333333333333333,
                    0.3333333333333333,
                    0.0,
                ],
                lower: &[
                    1.0,
                    1.0,
                    1.0,
                    0.05407342678651668,
                    0.008961628330979068,
                    0.008961628330979068,
                    0.0,
                ],
                upper: &[
                    1.0,
                    1.0,
                    1.0,
                    0.945206387272047,
                    0.7741486503608327,
                    0.7741486503608327,
                    0.0,
                ],
                median: 5.0,
            },
        );
        assert_eq!(curve.n(), 5);
    }

    #[test]
    fn km_with_zero_entries_is_the_plain_fit() {
        // lifelines: the hand table with entry=[0]*7 gives the same event
        // table and curve as without entry (checked above to 1e-9).
        let durations = [1.0, 2.0, 2.0, 2.0, 3.0, 4.0, 5.0];
        let observed = [1, 1, 1, 0, 0, 1, 0];
        let plain = KmCurve::fit(&lifetimes(&durations, &observed));
        check_entry(
            &plain,
            &Lifelines {
                time: &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
                at_risk: &[7, 7, 6, 3, 2, 1],
                entrance: &[7, 0, 0, 0, 0, 0],
                observed: &[0, 1, 2, 0, 1, 0],
                censored: &[0, 0, 1, 1, 0, 1],
                survival: &[
                    1.0,
                    0.8571428571428572,
                    0.5714285714285714,
                    0.5714285714285714,
                    0.2857142857142857,
                    0.2857142857142857,
                ],
                lower: &[
                    1.0,
                    0.3340538792922218,
                    0.17186601552877515,
                    0.17186601552877515,
                    0.014416943873052325,
                    0.014416943873052325,
                ],
                upper: &[
                    1.0,
                    0.9785610585261756,
                    0.8370827803491805,
                    0.8370827803491805,
                    0.6905950123655418,
                    0.6905950123655418,
                ],
                median: 4.0,
            },
        );
        // Explicit zeros, negative entries (treated as 0) and NaN entries give
        // exactly the curve of the plain fit, for the random 50 as well.
        for fill in [0.0, -3.0, f64::NAN] {
            let e = vec![fill; durations.len()];
            assert_eq!(
                KmCurve::fit(&with_entries(&e, &durations, &observed)),
                plain
            );
            let e50 = vec![fill; 50];
            assert_eq!(
                KmCurve::fit(&with_entries(&e50, &RANDOM50_DURATIONS, &RANDOM50_OBSERVED)),
                KmCurve::fit(&lifetimes(&RANDOM50_DURATIONS, &RANDOM50_OBSERVED)),
            );
        }
        // A bundle written before delayed entry has no `entered` column.
        let mut old = plain.clone();
        old.entered.clear();
        assert_eq!(old.n(), 7);
        assert_eq!(old.at_risk_at(2.5), plain.at_risk_at(2.5));
        assert_eq!(old.min_at_risk(0.0, 5.0), plain.min_at_risk(0.0, 5.0));
        // Written back without the column, so its content hash holds.
        let json = serde_json::to_string(&old).unwrap();
        assert!(!json.contains("entered"), "{json}");
        assert_eq!(serde_json::from_str::<KmCurve>(&json).unwrap(), old);
    }

    /// 60 whole-day lifetimes, half with delayed entry: numpy
    /// default_rng(20250101); entry = where(random(60) < 0.5, 0,
    /// integers(1, 200, 60)); duration = entry + max(1, round(exponential(150)));
    /// observed = random() < 0.65.
    const R60_ENTRY: [f64; 60] = [
        0.0, 77.0, 0.0, 72.0, 0.0, 0.0, 58.0, 0.0, 0.0, 43.0, 161.0, 40.0, 0.0, 196.0, 87.0, 35.0,
        28.0, 20.0, 186.0, 21.0, 47.0, 84.0, 76.0, 79.0, 0.0, 29.0, 0.0, 0.0, 137.0, 0.0, 132.0,
        158.0, 0.0, 0.0, 12.0, 58.0, 19.0, 92.0, 0.0, 43.0, 183.0, 0.0, 0.0, 0.0, 0.0, 3.0, 0.0,
        68.0, 165.0, 170.0, 0.0, 197.0, 118.0, 75.0, 0.0, 0.0, 0.0, 0.0, 0.0, 198.0,
    ];
    const R60_DURATION: [f64; 60] = [
        260.0, 141.0, 265.0, 190.0, 129.0, 206.0, 64.0, 42.0, 236.0, 87.0, 253.0, 77.0, 182.0,
        269.0, 253.0, 112.0, 51.0, 333.0, 813.0, 165.0, 219.0, 219.0, 670.0, 166.0, 114.0, 89.0,
        20.0, 370.0, 148.0, 270.0, 277.0, 363.0, 133.0, 69.0, 281.0, 104.0, 87.0, 143.0, 32.0,
        109.0, 393.0, 107.0, 57.0, 97.0, 78.0, 77.0, 2.0, 148.0, 477.0, 339.0, 301.0, 237.0, 177.0,
        165.0, 9.0, 74.0, 270.0, 528.0, 116.0, 618.0,
    ];
    const R60_OBSERVED: [u8; 60] = [
        0, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 1, 1,
        0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1,
    ];

    fn random60() -> Vec<Lifetime> {
        with_entries(&R60_ENTRY, &R60_DURATION, &R60_OBSERVED)
    }

    #[test]
    fn km_with_entry_matches_lifelines_random_60() {
        let curve = KmCurve::fit(&random60());
        check_entry(
            &curve,
            &Lifelines {
                time: &[
                    0.0, 2.0, 3.0, 9.0, 12.0, 19.0, 20.0, 21.0, 28.0, 29.0, 32.0, 35.0, 40.0, 42.0,
                    43.0, 47.0, 51.0, 57.0, 58.0, 64.0, 68.0, 69.0, 72.0, 74.0, 75.0, 76.0, 77.0,
                    78.0, 79.0, 84.0, 87.0, 89.0, 92.0, 97.0, 104.0, 107.0, 109.0, 112.0, 114.0,
                    116.0, 118.0, 129.0, 132.0, 133.0, 137.0, 141.0, 143.0, 148.0, 158.0, 161.0,
                    165.0, 166.0, 170.0, 177.0, 182.0, 183.0, 186.0, 190.0, 196.0, 197.0, 198.0,
                    206.0, 219.0, 236.0, 237.0, 253.0, 260.0, 265.0, 269.0, 270.0, 277.0, 281.0,
                    301.0, 333.0, 339.0, 363.0, 370.0, 393.0, 477.0, 528.0, 618.0, 670.0, 813.0,
                ],
                at_risk: &[
                    25, 25, 25, 25, 25, 26, 27, 27, 28, 29, 29, 29, 30, 30, 31, 32, 32, 31, 32, 32,
                    32, 32, 32, 32, 32, 33, 34, 32, 32, 33, 34, 32, 32, 32, 31, 30, 29, 28, 27, 26,
                    26, 26, 26, 26, 26, 26, 25, 24, 23, 24, 25, 23, 23, 23, 22, 22, 23, 23, 23, 24,
                    25, 25, 24, 22, 21, 20, 18, 17, 16, 15, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
                    1,
                ],
                entrance: &[
                    25, 0, 1, 0, 1, 1, 1, 1, 1, 1, 0, 1, 1, 0, 2, 1, 0, 0, 2, 0, 1, 0, 1, 0, 1, 1,
                    1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 0,
                    1, 0, 0, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    0, 0, 0, 0, 0,
                ],
                observed: &[
                    0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0,
                    0, 1, 0, 0, 2, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1, 0, 0, 2, 1,
                    0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0,
                    1, 1, 1, 1, 0,
                ],
                censored: &[
                    0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0,
                    2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
                    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1, 1,
                    0, 0, 0, 0, 1,
                ],
                survival: &[
                    1.0,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.9600000000000003,
                    0.926896551724138,
                    0.926896551724138,
                    0.926896551724138,
                    0.8960000000000001,
                    0.8960000000000001,
                    0.8960000000000001,
                    0.8680000000000001,
                    0.8400000000000002,
                    0.8400000000000002,
                    0.8137500000000002,
                    0.8137500000000002,
                    0.7883203125000002,
                    0.7883203125000002,
                    0.7883203125000002,
                    0.7883203125000002,
                    0.7883203125000002,
                    0.7883203125000002,
                    0.7636853027343752,
                    0.7636853027343752,
                    0.7636853027343752,
                    0.717401344992898,
                    0.69498255296187,
                    0.69498255296187,
                    0.6732643481818115,
                    0.6515461434017531,
                    0.6298279386216947,
                    0.6298279386216947,
                    0.60733408367092,
                    0.60733408367092,
                    0.5839750804528075,
                    0.5839750804528075,
                    0.5615145004353916,
                    0.5615145004353916,
                    0.5399177888801842,
                    0.5399177888801842,
                    0.5191517200771,
                    0.4983856512740162,
                    0.4776195824709321,
                    0.4776195824709321,
                    0.4776195824709321,
                    0.43781795059835443,
                    0.4187823875288609,
                    0.4187823875288609,
                    0.4005744576363018,
                    0.3823665277437426,
                    0.3823665277437426,
                    0.3823665277437426,
                    0.36574189610271035,
                    0.36574189610271035,
                    0.36574189610271035,
                    0.36574189610271035,
                    0.35111222025860206,
                    0.3364825444144936,
                    0.3211878833047438,
                    0.30589322219499404,
                    0.30589322219499404,
                    0.30589322219499404,
                    0.30589322219499404,
                    0.30589322219499404,
                    0.2855003407153277,
                    0.2855003407153277,
                    0.2617086456557171,
                    0.2617086456557171,
                    0.2355377810901454,
                    0.2355377810901454,
                    0.20609555845387723,
                    0.20609555845387723,
                    0.20609555845387723,
                    0.16487644676310179,
                    0.12365733507232639,
                    0.0824382233815509,
                    0.04121911169077545,
                    0.04121911169077545,
                ],
                lower: &[
                    1.0,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7483850241947562,
                    0.7373002053426633,
                    0.7373002053426633,
                    0.7373002053426633,
                    0.7104734884486201,
                    0.7104734884486201,
                    0.7104734884486201,
                    0.6846373179629707,
                    0.6567624643790402,
                    0.6567624643790402,
                    0.631096799099988,
                    0.631096799099988,
                    0.6062833020184364,
                    0.6062833020184364,
                    0.6062833020184364,
                    0.6062833020184364,
                    0.6062833020184364,
                    0.6062833020184364,
                    0.5824424113756371,
                    0.5824424113756371,
                    0.5824424113756371,
                    0.5386745691347176,
                    0.5177003205293259,
                    0.5177003205293259,
                    0.4976383579271822,
                    0.47759803578014665,
                    0.4576152522198791,
                    0.4576152522198791,
                    0.436757393252572,
                    0.436757393252572,
                    0.41497296591605465,
                    0.41497296591605465,
                    0.39450115236963673,
                    0.39450115236963673,
                    0.3752254616009801,
                    0.3752254616009801,
                    0.35704692369954255,
                    0.33898380591346655,
                    0.321048514601285,
                    0.321048514601285,
                    0.321048514601285,
                    0.2874753100221499,
                    0.27179150827556375,
                    0.27179150827556375,
                    0.25706937213312653,
                    0.24243457907436158,
                    0.24243457907436158,
                    0.24243457907436158,
                    0.22947413450973697,
                    0.22947413450973697,
                    0.22947413450973697,
                    0.22947413450973697,
                    0.21847256515391386,
                    0.2074970039363791,
                    0.19593379299788835,
                    0.18442491070076092,
                    0.18442491070076092,
                    0.18442491070076092,
                    0.18442491070076092,
                    0.18442491070076092,
                    0.16793425701685855,
                    0.16793425701685855,
                    0.1481552203101344,
                    0.1481552203101344,
                    0.12646197215327842,
                    0.12646197215327842,
                    0.10228649333627975,
                    0.10228649333627975,
                    0.10228649333627975,
                    0.06735618590892653,
                    0.038864864086613986,
                    0.017090876721304923,
                    0.003379936377755552,
                    0.003379936377755552,
                ],
                upper: &[
                    1.0,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9942669507488379,
                    0.9812682611621165,
                    0.9812682611621165,
                    0.9812682611621165,
                    0.9653357438338439,
                    0.9653357438338439,
                    0.9653357438338439,
                    0.9484792887871291,
                    0.9302477802799912,
                    0.9302477802799912,
                    0.9118459275715549,
                    0.9118459275715549,
                    0.8931026457818099,
                    0.8931026457818099,
                    0.8931026457818099,
                    0.8931026457818099,
                    0.8931026457818099,
                    0.8931026457818099,
                    0.8741799303423735,
                    0.8741799303423735,
                    0.8741799303423735,
                    0.8366921584698905,
                    0.8178252150163676,
                    0.8178252150163676,
                    0.7991004035766252,
                    0.7800810834792947,
                    0.7607833277024777,
                    0.7607833277024777,
                    0.7406708671548964,
                    0.7406708671548964,
                    0.7196725859489903,
                    0.7196725859489903,
                    0.6990151111748197,
                    0.6990151111748197,
                    0.678727685066515,
                    0.678727685066515,
                    0.6588325495236648,
                    0.6387281684533321,
                    0.6184158098725587,
                    0.6184158098725587,
                    0.6184158098725587,
                    0.5785455697164882,
                    0.5590286027681591,
                    0.5590286027681591,
                    0.5400286942128767,
                    0.5208763140816326,
                    0.5208763140816326,
                    0.5208763140816326,
                    0.5029296825427803,
                    0.5029296825427803,
                    0.5029296825427803,
                    0.5029296825427803,
                    0.486660530488713,
                    0.47029932533940266,
                    0.4532333667215054,
                    0.4360596029967531,
                    0.4360596029967531,
                    0.4360596029967531,
                    0.4360596029967531,
                    0.4360596029967531,
                    0.4145013146954375,
                    0.4145013146954375,
                    0.3902029688597952,
                    0.3902029688597952,
                    0.363851280374603,
                    0.363851280374603,
                    0.33483652794082924,
                    0.33483652794082924,
                    0.33483652794082924,
                    0.2998678918847548,
                    0.2604596321742673,
                    0.2163943384066489,
                    0.16743423761040716,
                    0.16743423761040716,
                ],
                median: 143.0,
            },
        );
        assert_eq!(curve.n(), 60);
        // lifelines: RMST(100) = 86.27222221257695, RMST(300) = 167.0766284311669,
        // RMST(1000) = 243.70099424947605; predict(50, 100, 150, 300) =
        // 0.8960000000000001, 0.6732643481818115, 0.4776195824709321, 0.2617086456557171.
        assert_close(
            curve.expected_remaining(0.0, 1000.0),
            243.70099424947605,
            TOL,
            "0..1000",
        );
        assert_close(
            curve.expected_remaining(100.0, 300.0),
            (167.0766284311669 - 86.27222221257695) / 0.6732643481818115,
            TOL,
            "100..300",
        );
        assert_close(
            curve.conditional_survival(50.0, 100.0),
            0.4776195824709321 / 0.8960000000000001,
            TOL,
            "150|50",
        );
        assert_close(
            curve.conditional_survival(100.0, 200.0),
            0.2617086456557171 / 0.6732643481818115,
            TOL,
            "300|100",
        );
    }

    #[test]
    fn km_with_entry_ignores_lifetimes_never_at_risk() {
        // Entry at or after the end: never at risk over (entry, duration].
        // lifelines raises on entry > duration and, at entry = duration > 0,
        // counts the churn against a risk set the account is not in.
        let mut rows = hand_with_entries();
        let plain = KmCurve::fit(&rows);
        rows.push(Lifetime {
            entry: 3.0,
            duration: 3.0,
            observed: true,
        });
        rows.push(Lifetime {
            entry: 5.0,
            duration: 2.0,
            observed: false,
        });
        rows.push(Lifetime {
            entry: 4.0,
            duration: f64::NAN,
            observed: true,
        });
        assert_eq!(KmCurve::fit(&rows), plain);
        // Entry 0 with duration 0 is a real churn on the first day.
        rows.push(Lifetime::from_start(0.0, true));
        let with_day0 = KmCurve::fit(&rows);
        assert_eq!((with_day0.at_risk[0], with_day0.observed[0]), (4, 1));
        assert_close(with_day0.survival[0], 0.75, 1e-15, "S(0)");
    }

    #[test]
    fn at_risk_counts_follow_entries_and_exits() {
        // Hand case: at risk 3 at 0 and 1, 5 from 1+ to 2, 6 on (2, 3], 5 on
        // (3, 5], 3 on (5, 6], 1 on (6, 7], 0 after 7.
        let curve = KmCurve::fit(&hand_with_entries());
        let want = [
            (-1.0, 0),
            (0.0, 3),
            (0.5, 3),
            (1.0, 3),
            (1.5, 5),
            (2.0, 5),
            (2.5, 6),
            (3.0, 6),
            (3.5, 5),
            (5.0, 5),
            (5.5, 3),
            (6.0, 3),
            (6.5, 1),
            (7.0, 1),
            (7.5, 0),
        ];
        for (t, n) in want {
            assert_eq!(curve.at_risk_at(t), n, "at_risk_at({t})");
        }
        assert_eq!(curve.at_risk_at(f64::NAN), 0);
        assert_eq!(curve.min_at_risk(2.0, 5.0), 5);
        assert_eq!(curve.min_at_risk(2.0, 6.0), 3);
        assert_eq!(curve.min_at_risk(0.0, 7.0), 1);
        assert_eq!(curve.min_at_risk(-5.0, 1.0), 3);
        assert_eq!(curve.min_at_risk(6.0, 8.0), 0, "past the last row");
        assert_eq!(curve.min_at_risk(3.0, 3.0), 0, "empty stretch");
        assert_eq!(curve.last_time_with_at_risk(5), Some(5.0));
        assert_eq!(curve.last_time_with_at_risk(6), Some(3.0));
        assert_eq!(curve.last_time_with_at_risk(7), None);
    }

    #[test]
    fn conditional_survival_restarts_where_an_emptied_risk_set_refills() {
        // entry [0,0,5,5], durations [2,3,9,12], observed [1,1,1,0]: both early
        // accounts churn, so S = 0 from day 3 on, though two accounts are
        // observed on (5, 12]. lifelines raises here (StatError: "too few early
        // truncation times"). The estimate restarted at 5 uses them:
        // P(T > 10 | T > 5) = 1 − 1/2.
        let curve = KmCurve::fit(&with_entries(
            &[0.0, 0.0, 5.0, 5.0],
            &[2.0, 3.0, 9.0, 12.0],
            &[1, 1, 1, 0],
        ));
        assert_eq!(curve.time, vec![0.0, 2.0, 3.0, 5.0, 9.0, 12.0]);
        assert_eq!(curve.at_risk, vec![2, 2, 1, 0, 2, 1]);
        assert_eq!(curve.entered, vec![2, 0, 0, 2, 0, 0]);
        assert_eq!(curve.survival, vec![1.0, 0.5, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(curve.conditional_survival(5.0, 5.0), 0.5);
        assert_eq!(curve.conditional_survival(3.0, 10.0), 0.5);
        // 4 days at 1, then 3 at 1/2.
        assert_eq!(curve.expected_remaining(5.0, 12.0), 5.5);
        assert_eq!(curve.min_at_risk(5.0, 10.0), 1);
        assert_eq!(curve.min_at_risk(3.0, 10.0), 0, "nobody at risk on (3, 5]");
    }

    #[test]
    fn log_rank_with_entry_matches_statsmodels() {
        // statsmodels 0.15.0: survdiff(T, E, G, entry=En) with A = entry
        // [0,0,1,2,3,0], durations [2,4,5,6,8,9], observed [1,0,1,1,1,0] and
        // B = entry [0,1,1,4,0,2,5], durations [3,3,6,7,9,10,12], observed
        // [1,0,1,1,1,0,1] -> 0.3759126414011895, p 0.5397988801786386.
        let a = with_entries(
            &[0.0, 0.0, 1.0, 2.0, 3.0, 0.0],
            &[2.0, 4.0, 5.0, 6.0, 8.0, 9.0],
            &[1, 0, 1, 1, 1, 0],
        );
        let b = with_entries(
            &[0.0, 1.0, 1.0, 4.0, 0.0, 2.0, 5.0],
            &[3.0, 3.0, 6.0, 7.0, 9.0, 10.0, 12.0],
            &[1, 0, 1, 1, 1, 0, 1],
        );
        check_log_rank(&[&a, &b], 0.3759126414011895, 1, 0.5397988801786386);
        // The random 60 split by row index mod 3: groups {0, 1} ->
        // 2.0658971700629016, p 0.15062625983370692; {0, 1, 2} ->
        // 2.450627083530348, p 0.29366560945356124.
        let all = random60();
        let group = |g: usize| -> Vec<Lifetime> {
            all.iter()
                .enumerate()
                .filter(|(i, _)| i % 3 == g)
                .map(|(_, l)| *l)
                .collect()
        };
        let (g0, g1, g2) = (group(0), group(1), group(2));
        check_log_rank(&[&g0, &g1], 2.0658971700629016, 1, 0.15062625983370692);
        check_log_rank(&[&g0, &g1, &g2], 2.450627083530348, 2, 0.29366560945356124);
        // Without entries the same split is lifelines' multivariate_logrank_test
        // (0.8375583534477908, p 0.6578494476998924; statsmodels agrees).
        let strip = |g: &[Lifetime]| -> Vec<Lifetime> {
            g.iter()
                .map(|l| Lifetime::from_start(l.duration, l.observed))
                .collect()
        };
        let (s0, s1, s2) = (strip(&g0), strip(&g1), strip(&g2));
        check_log_rank(&[&s0, &s1, &s2], 0.8375583534477908, 2, 0.6578494476998924);
    }

    #[test]
    fn log_rank_with_zero_entries_is_the_plain_test() {
        let (a, b, c) = (group_a(), group_b(), group_c());
        let zero = |g: &[Lifetime]| -> Vec<Lifetime> {
            g.iter().map(|l| Lifetime { entry: 0.0, ..*l }).collect()
        };
        assert_eq!(
            log_rank(&[&zero(&a), &zero(&b), &zero(&c)]),
            log_rank(&[&a, &b, &c])
        );
        // A group whose lifetimes are all never at risk is an empty group.
        let never = vec![Lifetime {
            entry: 5.0,
            duration: 5.0,
            observed: true,
        }];
        assert_eq!(log_rank(&[&a, &never, &b]), log_rank(&[&a, &b]));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let odd = lifetimes(
            &[f64::NAN, f64::INFINITY, -1.0, 0.0, 3.0, f64::NAN],
            &[1, 0, 1, 1, 0, 0],
        );
        let curve = KmCurve::fit(&odd);
        let _ = (curve.median(), curve.n());
        for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 2.0] {
            let _ = curve.survival_at(t);
            let _ = curve.conditional_survival(t, 1.0);
            let _ = curve.conditional_survival(1.0, t);
            let _ = curve.expected_remaining(t, 5.0);
            let _ = curve.expected_remaining(0.0, t);
        }
        let _ = log_rank(&[&odd, &odd[1..]]);
        let odd_entries = with_entries(
            &[f64::NAN, 2.0, f64::INFINITY, -1.0, 5.0, 0.5],
            &[f64::NAN, f64::INFINITY, 3.0, 0.0, 3.0, f64::NAN],
            &[1, 0, 1, 1, 0, 1],
        );
        let curve = KmCurve::fit(&odd_entries);
        let _ = (curve.median(), curve.n(), curve.at_risk_at(2.5));
        for t in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 2.0] {
            let _ = curve.conditional_survival(t, 1.0);
            let _ = curve.expected_remaining(t, 5.0);
            let _ = curve.min_at_risk(t, 5.0);
            let _ = curve.min_at_risk(0.0, t);
        }
        let _ = log_rank(&[&odd_entries, &odd]);
        let broken = KmCurve {
            time: vec![0.0, 1.0],
            at_risk: vec![],
            observed: vec![],
            censored: vec![],
            entered: vec![],
            survival: vec![0.5],
            ci_lower: vec![],
            ci_upper: vec![],
        };
        let _ = (broken.n(), broken.median(), broken.survival_at(2.0));
        let _ = broken.expected_remaining(0.0, 3.0);
    }
}
