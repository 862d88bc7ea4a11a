//! Kaplan–Meier curves and the log-rank test over account lifetimes; owns the
//! survival arithmetic only. Turning subscriptions into lifetimes is
//! `timeline`'s job, and the curve is plain data so `bundle` can store it.
//!
//! Conventions follow Python lifelines' `KaplanMeierFitter` (checked to 1e-9
//! in the tests below), so a notebook and this crate report the same curve:
//!
//! * At a tied time churns count before censorings: an account censored on
//!   day `t` is still at risk on day `t`.
//! * Every distinct duration is a row, including days with only censorings.
//! * The 95% interval is Greenwood's variance on the log(−log) scale.
//!
//! Durations are days and must not be NaN: the caller filters NaN before
//! fitting (nothing here panics on NaN, but the result is meaningless).
//! Negative durations are treated as 0.

use serde::{Deserialize, Serialize};

/// Φ⁻¹(0.975), the z of a two-sided 95% interval, as lifelines computes it
/// (`scipy.stats.norm.ppf(1 - 0.05 / 2)`), so our bounds match to the last bit
/// of the formula rather than to the 1.96 of printed tables.
pub const Z_95: f64 = 1.959963984540054;

/// Slack when asking whether S(t) <= 1/2. A product of factors (n − d)/n that
/// is exactly 1/2 in rationals can round to 0.5000000000000001; without slack
/// the median would jump to the next row.
const HALF_SLACK: f64 = 1e-12;

/// One observed lifetime: duration in days (>= 0) and whether the end was
/// observed (churn) or censored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lifetime {
    pub duration: f64,
    pub observed: bool,
}

/// A fitted Kaplan–Meier curve: plain data so it can be serialized into our
/// model bundle without tying the file format to any library's types.
///
/// All vectors have one entry per row. Times must be finite to round-trip
/// through JSON (serde_json writes infinities as `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KmCurve {
    /// Event-table rows: first t = 0, then one row per distinct positive
    /// duration in ascending order. S = 1 on the t = 0 row unless some
    /// accounts churned at duration 0 (lifelines counts those on that row too).
    pub time: Vec<f64>,
    /// Accounts still at risk at the row's time, counting those that churn or
    /// are censored at exactly that time.
    pub at_risk: Vec<u64>,
    /// Churns at exactly the row's time.
    pub observed: Vec<u64>,
    /// Censorings at exactly the row's time.
    pub censored: Vec<u64>,
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
    /// Costs one sort of the input.
    pub fn fit(lifetimes: &[Lifetime]) -> KmCurve {
        let mut items: Vec<(f64, bool)> = lifetimes
            .iter()
            .map(|l| (clamp_duration(l.duration), l.observed))
            .collect();
        items.sort_by(|a, b| a.0.total_cmp(&b.0));

        let n = items.len() as u64;
        let mut curve = KmCurve {
            time: vec![0.0],
            at_risk: vec![n],
            observed: vec![0],
            censored: vec![0],
            survival: vec![1.0],
            ci_lower: vec![1.0],
            ci_upper: vec![1.0],
        };

        let mut at_risk = n;
        // S is kept as a running product of (n - d)/n rather than lifelines'
        // exp(sum of logs): equal to ~1e-16, and exact halves stay exact more often.
        let mut s = 1.0_f64;
        // Greenwood's sum of d / (n (n - d)).
        let mut var_sum = 0.0_f64;
        let mut i = 0;
        while i < items.len() {
            let t = items[i].0;
            let (mut d, mut c) = (0_u64, 0_u64);
            // total_cmp, not ==, so the loop always advances (even on NaN).
            while i < items.len() && items[i].0.total_cmp(&t).is_eq() {
                if items[i].1 {
                    d += 1;
                } else {
                    c += 1;
                }
                i += 1;
            }
            if d > 0 {
                s *= (at_risk - d) as f64 / at_risk as f64;
                // When everyone at risk churns, n - d = 0 and the term is
                // infinite; lifelines replaces it with 0 (S is 0 then anyway).
                if at_risk > d {
                    var_sum += d as f64 / (at_risk as f64 * (at_risk - d) as f64);
                }
            }
            let (lo, hi) = log_log_interval(s, var_sum);
            if t == 0.0 {
                // Durations are clamped to >= 0 and sorted, so only the first
                // group can sit at 0: it shares the t = 0 row, as in lifelines.
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
                curve.survival.push(s);
                curve.ci_lower.push(lo);
                curve.ci_upper.push(hi);
            }
            at_risk -= d + c;
        }
        curve
    }

    /// Number of subjects the curve was fitted on.
    pub fn n(&self) -> u64 {
        self.at_risk.first().copied().unwrap_or(0)
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

    /// P(T > t + h | T > t) = S(t + h) / S(t), the chance an account that has
    /// lasted t days lasts h more. Returns 0 when S(t) = 0 (nobody is left to
    /// condition on). Negative h is treated as 0, since the answer is a probability.
    pub fn conditional_survival(&self, t: f64, h: f64) -> f64 {
        let h = if h < 0.0 { 0.0 } else { h };
        let s_t = self.survival_at(t);
        if s_t == 0.0 {
            return 0.0;
        }
        self.survival_at(t + h) / s_t
    }

    /// Expected remaining lifetime, in days, of an account that has lasted t
    /// days, counted only up to the horizon `tau` (restricted mean residual
    /// life): ∫ₜ^τ S(u) du / S(t).
    ///
    /// Restricted because the Kaplan–Meier curve says nothing past its last
    /// row: unless it reached 0 there, the unrestricted mean depends on a tail
    /// nobody observed. Past the last row we carry the last value flat, as
    /// lifelines' `restricted_mean_survival_time` does; so with S > 0 at the
    /// end the answer grows with `tau`, and `tau` should be a business horizon
    /// (e.g. 365) not far beyond the longest observed duration. `tau` may be
    /// `f64::INFINITY` when the curve reaches 0.
    ///
    /// Returns 0 when `tau <= t` or S(t) = 0, NaN when t or `tau` is NaN.
    pub fn expected_remaining(&self, t: f64, tau: f64) -> f64 {
        if t.is_nan() || tau.is_nan() {
            return f64::NAN;
        }
        if tau <= t {
            return 0.0;
        }
        let s_t = self.survival_at(t);
        if s_t == 0.0 {
            return 0.0;
        }
        self.integral(t, tau) / s_t
    }

    /// ∫ₐᵇ S(u) du over the step function (1 before the first row, flat after
    /// the last), for a < b.
    fn integral(&self, a: f64, b: f64) -> f64 {
        let rows = self.time.len().min(self.survival.len());
        let mut total = 0.0;
        let mut lo = f64::NEG_INFINITY;
        let mut value = 1.0;
        for k in 0..=rows {
            let hi = if k < rows {
                self.time[k]
            } else {
                f64::INFINITY
            };
            let width = b.min(hi) - a.max(lo);
            // value > 0 guard: 0 * infinite width would be NaN.
            if width > 0.0 && value > 0.0 {
                total += value * width;
            }
            if k < rows {
                lo = hi;
                value = self.survival[k];
            }
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
/// Empty groups are dropped first, as they are invisible to lifelines. Returns
/// `None` when fewer than 2 groups are non-empty or nobody churned.
pub fn log_rank(groups: &[&[Lifetime]]) -> Option<LogRank> {
    let groups: Vec<&[Lifetime]> = groups.iter().copied().filter(|g| !g.is_empty()).collect();
    let k = groups.len();
    if k < 2 {
        return None;
    }
    let mut pooled: Vec<(f64, usize, bool)> = groups
        .iter()
        .enumerate()
        .flat_map(|(j, g)| {
            g.iter()
                .map(move |l| (clamp_duration(l.duration), j, l.observed))
        })
        .collect();
    pooled.sort_by(|a, b| a.0.total_cmp(&b.0));

    // Counts kept as f64: exact up to 2^53 and used only in f64 arithmetic.
    let mut at_risk: Vec<f64> = groups.iter().map(|g| g.len() as f64).collect();
    let mut observed = vec![0.0; k];
    let mut expected = vec![0.0; k];
    let mut cov = vec![vec![0.0; k]; k];
    let mut deaths = vec![0.0; k];
    let mut removed = vec![0.0; k];
    let mut any_event = false;

    let mut i = 0;
    while i < pooled.len() {
        let t = pooled[i].0;
        deaths.iter_mut().for_each(|x| *x = 0.0);
        removed.iter_mut().for_each(|x| *x = 0.0);
        while i < pooled.len() && pooled[i].0.total_cmp(&t).is_eq() {
            let (_, j, obs) = pooled[i];
            removed[j] += 1.0;
            if obs {
                deaths[j] += 1.0;
            }
            i += 1;
        }
        let n_t: f64 = at_risk.iter().sum();
        let d_t: f64 = deaths.iter().sum();
        if d_t > 0.0 {
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
            at_risk[j] -= removed[j];
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
            .map(|(&duration, &o)| Lifetime {
                duration,
                observed: o == 1,
            })
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
    fn conditional_survival_is_zero_once_the_curve_hits_zero() {
        let curve = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0], &[1; 4]));
        assert_eq!(curve.conditional_survival(4.0, 10.0), 0.0);
        assert_eq!(curve.conditional_survival(100.0, 0.0), 0.0);
        assert_close(
            curve.conditional_survival(1.0, 2.0),
            1.0 / 3.0,
            1e-12,
            "3|1",
        );
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
    fn expected_remaining_is_zero_without_a_window_or_survivors() {
        let curve = KmCurve::fit(&lifetimes(&[1.0, 2.0, 3.0, 4.0], &[1; 4]));
        assert_eq!(curve.expected_remaining(3.0, 3.0), 0.0);
        assert_eq!(curve.expected_remaining(3.0, 1.0), 0.0);
        assert_eq!(curve.expected_remaining(4.0, 10.0), 0.0);
        assert!(curve.expected_remaining(f64::NAN, 10.0).is_nan());
        // Unrestricted mean of 1, 2, 3, 4 all observed is 2.5.
        assert_close(
            curve.expected_remaining(0.0, f64::INFINITY),
            2.5,
            1e-12,
            "mean",
        );
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
        let broken = KmCurve {
            time: vec![0.0, 1.0],
            at_risk: vec![],
            observed: vec![],
            censored: vec![],
            survival: vec![0.5],
            ci_lower: vec![],
            ci_upper: vec![],
        };
        let _ = (broken.n(), broken.median(), broken.survival_at(2.0));
        let _ = broken.expected_remaining(0.0, 3.0);
    }
}
