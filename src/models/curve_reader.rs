//! A Kaplan–Meier curve prepared for reading many accounts off it: range
//! minima of the risk set (a sparse table) and prefix sums of the log
//! product-limit factors, built once per run. Each account then costs a few
//! binary searches plus one pass over the curve rows ahead of its tenure,
//! where `KmCurve`'s own methods rescan the risk set and call `powf` per row
//! (at a million accounts that was most of the scoring time). The answers
//! are `KmCurve::min_at_risk`, `conditional_survival` and
//! `expected_remaining_ph` to rounding (tests compare them); the curve
//! itself stays the bundle's plain data.

use crate::models::survival::KmCurve;

/// One curve, prepared.
#[derive(Debug, Clone)]
pub struct CurveReader<'a> {
    pub curve: &'a KmCurve,
    /// `sparse[j][k]` = min of `both[k .. k + 2^j]`, where `both[k]` is the
    /// smaller of the risk set at row k and just after it.
    sparse: Vec<Vec<u64>>,
    /// The risk set strictly between row k and the next.
    after: Vec<u64>,
    /// `log_prefix[k]` = Σ ln(1 − d/n) over rows `< k` with a positive
    /// factor; `zero_prefix[k]` counts rows `< k` whose factor is 0 (the
    /// risk set churned to the last account). Both have `rows + 1` entries.
    log_prefix: Vec<f64>,
    zero_prefix: Vec<u32>,
}

impl<'a> CurveReader<'a> {
    pub fn new(curve: &'a KmCurve) -> CurveReader<'a> {
        let n = curve.time.len();
        let after: Vec<u64> = (0..n).map(|k| curve.at_risk_after(k)).collect();
        let both: Vec<u64> = (0..n)
            .map(|k| curve.at_risk.get(k).copied().unwrap_or(0).min(after[k]))
            .collect();
        let mut sparse = vec![both];
        let mut width = 1;
        while 2 * width <= n {
            let prev = sparse.last().expect("level 0");
            let next: Vec<u64> = (0..=n - 2 * width)
                .map(|k| prev[k].min(prev[k + width]))
                .collect();
            sparse.push(next);
            width *= 2;
        }
        let mut log_prefix = Vec::with_capacity(n + 1);
        let mut zero_prefix = Vec::with_capacity(n + 1);
        let (mut l, mut z) = (0.0, 0u32);
        log_prefix.push(l);
        zero_prefix.push(z);
        for k in 0..n {
            let f = curve.factor(k);
            if f > 0.0 {
                l += f.ln();
            } else {
                z += 1;
            }
            log_prefix.push(l);
            zero_prefix.push(z);
        }
        CurveReader {
            curve,
            sparse,
            after,
            log_prefix,
            zero_prefix,
        }
    }

    fn rows(&self) -> usize {
        self.curve.time.len()
    }

    /// Min of `both` over rows `lo..hi` (`u64::MAX` when empty).
    fn range_min(&self, lo: usize, hi: usize) -> u64 {
        if hi <= lo {
            return u64::MAX;
        }
        let j = (usize::BITS - 1 - (hi - lo).leading_zeros()) as usize;
        let level = &self.sparse[j];
        level[lo].min(level[hi - (1 << j)])
    }

    /// `KmCurve::min_at_risk`: the fewest accounts at risk at any tenure in
    /// (a, b].
    pub fn min_at_risk(&self, a: f64, b: f64) -> u64 {
        if a.is_nan() || b.is_nan() || b <= a {
            return 0;
        }
        let time = &self.curve.time;
        let k0 = time.partition_point(|&x| x <= a);
        let mut least = if k0 == 0 { 0 } else { self.after[k0 - 1] };
        if k0 == 0 && time.first().is_some_and(|&t0| t0 <= b) {
            least = u64::MAX;
        }
        let k1 = time.partition_point(|&x| x <= b);
        if k1 > k0 {
            let last = k1 - 1;
            if time[last] < b {
                least = least.min(self.range_min(k0, k1));
            } else {
                least = least.min(self.range_min(k0, last));
                least = least.min(self.curve.at_risk.get(last).copied().unwrap_or(0));
            }
        }
        if least == u64::MAX {
            0
        } else {
            least
        }
    }

    /// `P(T > t + h | T > t)^theta`, the product-limit estimate restarted
    /// at t (as `KmCurve::conditional_survival`) under proportional hazards.
    pub fn conditional_survival_ph(&self, t: f64, h: f64, theta: f64) -> f64 {
        if t.is_nan() || h.is_nan() || theta.is_nan() {
            return f64::NAN;
        }
        let h = if h < 0.0 { 0.0 } else { h };
        let time = &self.curve.time;
        let first = time.partition_point(|&x| x <= t);
        let end = time.partition_point(|&x| x <= t + h).max(first);
        if self.zero_prefix[end] > self.zero_prefix[first] {
            return if theta > 0.0 { 0.0 } else { 1.0 };
        }
        (theta * (self.log_prefix[end] - self.log_prefix[first])).exp()
    }

    /// `KmCurve::expected_remaining_ph`: ∫ₜ^τ P(T > u | T > t)^θ du on the
    /// step function, one pass over the rows in (t, τ).
    pub fn expected_remaining_ph(&self, t: f64, tau: f64, theta: f64) -> f64 {
        if t.is_nan() || tau.is_nan() || theta.is_nan() {
            return f64::NAN;
        }
        if tau <= t {
            return 0.0;
        }
        if theta == 0.0 {
            return tau - t;
        }
        let time = &self.curve.time;
        let first = time.partition_point(|&x| x <= t);
        let end = time.partition_point(|&x| x < tau).max(first);
        if end == first {
            return tau - t;
        }
        // Rows after the first zero factor add nothing.
        let z0 = self.zero_prefix[first];
        let stop = first + self.zero_prefix[first + 1..=end].partition_point(|&z| z == z0);
        let mut total = time[first] - t;
        if stop == first {
            return total;
        }
        let base = self.log_prefix[first];
        // Value after row k is exp(θ (log_prefix[k + 1] − base)), held until
        // the next row (or τ, or the zero row that ends the curve).
        let last = stop - 1;
        let logs = &self.log_prefix[first + 1..=last];
        let (starts, ends) = (&time[first..last], &time[first + 1..=last]);
        total += weighted_exp_sum(logs, starts, ends, theta, base);
        let until = if stop < end { time[stop] } else { tau };
        let tail = fast_exp(theta * (self.log_prefix[last + 1] - base));
        if tail > 0.0 {
            total += tail * (until - time[last]);
        }
        total
    }

    /// The last row time with at least `min` accounts at risk
    /// (`KmCurve::last_time_with_at_risk`).
    pub fn last_time_with_at_risk(&self, min: u64) -> Option<f64> {
        let rows = self.rows().min(self.curve.at_risk.len());
        (0..rows)
            .rev()
            .find(|&k| self.curve.at_risk[k] >= min)
            .map(|k| self.curve.time[k])
    }
}

/// Σ (ends[i] − starts[i]) · exp(θ (logs[i] − base)), in four interleaved
/// partial sums so the exponentials vectorize; the order is fixed, so the
/// result does not depend on anything but the inputs.
///
/// This loop is most of the scoring time at scale (some 700 curve rows per
/// account). On x86-64 with AVX2 it runs the same code compiled for 4-wide
/// vectors; without, for the 2-wide SSE2 every x86-64 has. Both do each lane
/// the same IEEE operations in the same order (no fused multiply-add: Rust
/// never contracts `a * b + c`), so the sum is the same to the bit whichever
/// runs (tested against the scalar form).
fn weighted_exp_sum(logs: &[f64], starts: &[f64], ends: &[f64], theta: f64, base: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU was just found to have AVX2, the only requirement
        // of `weighted_exp_sum_avx2`.
        return unsafe { weighted_exp_sum_avx2(logs, starts, ends, theta, base) };
    }
    weighted_exp_sum_lanes(logs, starts, ends, theta, base)
}

/// [`weighted_exp_sum_lanes`] in AVX2 vectors: one 4-wide vector holds the
/// four partial sums, and [`fast_exp`]'s steps are done lane by lane in the
/// same order, so the bits are the scalar form's. Written with intrinsics
/// because LLVM vectorizes the lanes only 2-wide.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn weighted_exp_sum_avx2(logs: &[f64], starts: &[f64], ends: &[f64], theta: f64, base: f64) -> f64 {
    use std::arch::x86_64::*;
    let n = logs.len().min(starts.len()).min(ends.len());
    let (logs, starts, ends) = (&logs[..n], &starts[..n], &ends[..n]);
    let full = n - n % 4;
    let v = |a: &[f64]| _mm256_set_pd(a[3], a[2], a[1], a[0]);
    let c = _mm256_set1_pd;
    let (th, b) = (c(theta), c(base));
    let mut acc = _mm256_setzero_pd();
    for ((l, s), e) in logs[..full]
        .chunks_exact(4)
        .zip(starts[..full].chunks_exact(4))
        .zip(ends[..full].chunks_exact(4))
    {
        let x = _mm256_mul_pd(th, _mm256_sub_pd(v(l), b));
        // fast_exp, lane by lane.
        let small = _mm256_cmp_pd::<_CMP_LT_OQ>(x, c(-708.0));
        // `minpd` returns its second operand when the first is NaN, as
        // `f64::min(NaN, 0.0)` gives 0.
        let x = _mm256_max_pd(_mm256_min_pd(x, _mm256_setzero_pd()), c(-708.0));
        let y = _mm256_add_pd(_mm256_mul_pd(x, c(FE_LOG2E)), c(FE_SHIFT));
        let k = _mm256_sub_pd(y, c(FE_SHIFT));
        let r = _mm256_sub_pd(
            _mm256_sub_pd(x, _mm256_mul_pd(k, c(FE_LN2_HI))),
            _mm256_mul_pd(k, c(FE_LN2_LO)),
        );
        let mut p = c(FE_TAYLOR[0]);
        for &t in &FE_TAYLOR[1..] {
            p = _mm256_add_pd(_mm256_mul_pd(p, r), c(t));
        }
        let ki = _mm256_sub_epi64(
            _mm256_castpd_si256(y),
            _mm256_set1_epi64x(FE_SHIFT.to_bits() as i64),
        );
        let scale = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_add_epi64(
            ki,
            _mm256_set1_epi64x(1023),
        )));
        let ex = _mm256_andnot_pd(small, _mm256_mul_pd(p, scale));
        acc = _mm256_add_pd(acc, _mm256_mul_pd(_mm256_sub_pd(v(e), v(s)), ex));
    }
    let (lo, hi) = (_mm256_castpd256_pd128(acc), _mm256_extractf128_pd::<1>(acc));
    let lane =
        |x: __m128d, upper: bool| _mm_cvtsd_f64(if upper { _mm_unpackhi_pd(x, x) } else { x });
    let mut total = (lane(lo, false) + lane(lo, true)) + (lane(hi, false) + lane(hi, true));
    for k in full..n {
        total += (ends[k] - starts[k]) * fast_exp(theta * (logs[k] - base));
    }
    total
}

const FE_LOG2E: f64 = std::f64::consts::LOG2_E;
const FE_LN2_HI: f64 = 6.931_471_803_691_238e-1;
const FE_LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
/// 1.5 · 2^52: adding it rounds to an integer held in the low mantissa bits.
const FE_SHIFT: f64 = 6_755_399_441_055_744.0;
/// Horner's coefficients of exp's Taylor series to degree 13, highest first.
const FE_TAYLOR: [f64; 14] = [
    1.0 / 6_227_020_800.0,
    1.0 / 479_001_600.0,
    1.0 / 39_916_800.0,
    1.0 / 3_628_800.0,
    1.0 / 362_880.0,
    1.0 / 40_320.0,
    1.0 / 5_040.0,
    1.0 / 720.0,
    1.0 / 120.0,
    1.0 / 24.0,
    1.0 / 6.0,
    0.5,
    1.0,
    1.0,
];

/// The body of [`weighted_exp_sum`]: lanes of four with no branch inside
/// (see [`fast_exp`]), which LLVM turns into vector code.
#[inline(always)]
fn weighted_exp_sum_lanes(
    logs: &[f64],
    starts: &[f64],
    ends: &[f64],
    theta: f64,
    base: f64,
) -> f64 {
    let n = logs.len().min(starts.len()).min(ends.len());
    let (logs, starts, ends) = (&logs[..n], &starts[..n], &ends[..n]);
    let full = n - n % 4;
    let mut acc = [0.0f64; 4];
    for ((l, s), e) in logs[..full]
        .chunks_exact(4)
        .zip(starts[..full].chunks_exact(4))
        .zip(ends[..full].chunks_exact(4))
    {
        for j in 0..4 {
            acc[j] += (e[j] - s[j]) * fast_exp(theta * (l[j] - base));
        }
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in full..n {
        total += (ends[k] - starts[k]) * fast_exp(theta * (logs[k] - base));
    }
    total
}

/// `exp(x)` for `x <= 0` without a libm call, so loops over it vectorize:
/// `x = k ln 2 + r` with |r| <= ln 2 / 2, `exp(r)` by its Taylor series to
/// degree 13 (truncation below 1e-17), times `2^k` built from the exponent
/// bits. Relative error below 1e-15 against `f64::exp` (tested); values
/// under e^−708 (far below anything a survival curve can tell) read as 0.
/// Positive x reads as 0 (exp 1), NaN as 1.
///
/// Written without branches (clamps and a bit mask instead of `if`), so a
/// loop over it compiles to vector code.
#[inline(always)]
pub fn fast_exp(x: f64) -> f64 {
    // All ones where the answer is kept, zero where x < −708 (NaN: kept).
    let keep = ((x < -708.0) as u64).wrapping_sub(1);
    // NaN: `min` gives 0; below −708: −708, whose answer is masked out.
    // (Not `clamp`: it keeps NaN.)
    #[allow(clippy::manual_clamp)]
    let x = x.min(0.0).max(-708.0);
    let y = x * FE_LOG2E + FE_SHIFT;
    let k = y - FE_SHIFT;
    let r = (x - k * FE_LN2_HI) - k * FE_LN2_LO;
    let mut p = FE_TAYLOR[0];
    for &c in &FE_TAYLOR[1..] {
        p = p * r + c;
    }
    let ki = (y.to_bits() as i64).wrapping_sub(FE_SHIFT.to_bits() as i64);
    let scale = f64::from_bits(((ki + 1023) << 52) as u64);
    f64::from_bits((p * scale).to_bits() & keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::survival::Lifetime;

    fn curve(seed: u64, n: usize, late: bool) -> KmCurve {
        let mut rng = crate::testutil::Lcg::new(seed);
        let mut next = || (rng.step() >> 33) as f64 / (1u64 << 31) as f64;
        let lts: Vec<Lifetime> = (0..n)
            .map(|_| {
                let d = (next() * 900.0).floor();
                let e = if late { (next() * d).floor() } else { 0.0 };
                Lifetime {
                    entry: e,
                    duration: d,
                    observed: next() < 0.4,
                }
            })
            .collect();
        KmCurve::fit(&lts)
    }

    /// The scalar forms the vector code replaced (commit 801608e), kept to
    /// prove the new ones give the same bits: the queue's figures must not
    /// move when the code that computes them gets faster.
    fn reference_fast_exp(x: f64) -> f64 {
        const LOG2E: f64 = std::f64::consts::LOG2_E;
        const LN2_HI: f64 = 6.931_471_803_691_238e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
        const SHIFT: f64 = 6_755_399_441_055_744.0;
        let small = x < -708.0;
        let x = if small { -708.0 } else { x.min(0.0) };
        let y = x * LOG2E + SHIFT;
        let k = y - SHIFT;
        let r = (x - k * LN2_HI) - k * LN2_LO;
        let mut p = 1.0 / 6_227_020_800.0;
        for c in [
            1.0 / 479_001_600.0,
            1.0 / 39_916_800.0,
            1.0 / 3_628_800.0,
            1.0 / 362_880.0,
            1.0 / 40_320.0,
            1.0 / 5_040.0,
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = p * r + c;
        }
        let ki = (y.to_bits() as i64).wrapping_sub(SHIFT.to_bits() as i64);
        let scale = f64::from_bits(((ki + 1023) << 52) as u64);
        if small {
            0.0
        } else {
            p * scale
        }
    }

    #[allow(clippy::needless_range_loop)]
    fn reference_weighted_exp_sum(
        logs: &[f64],
        starts: &[f64],
        ends: &[f64],
        theta: f64,
        base: f64,
    ) -> f64 {
        let mut acc = [0.0f64; 4];
        let n = logs.len();
        let full = n - n % 4;
        for i in (0..full).step_by(4) {
            for j in 0..4 {
                let k = i + j;
                acc[j] += (ends[k] - starts[k]) * reference_fast_exp(theta * (logs[k] - base));
            }
        }
        let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for k in full..n {
            total += (ends[k] - starts[k]) * reference_fast_exp(theta * (logs[k] - base));
        }
        total
    }

    #[test]
    fn fast_exp_gives_the_scalar_forms_bits() {
        let mut xs = vec![
            0.0,
            -0.0,
            1.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -708.0,
            -708.0 - 1e-12,
            -707.999,
            -745.2,
            -1e300,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
        ];
        let mut x = 0.0;
        while x > -712.0 {
            xs.push(x);
            x -= 0.001_37;
        }
        for x in xs {
            let (got, want) = (fast_exp(x), reference_fast_exp(x));
            assert_eq!(got.to_bits(), want.to_bits(), "{x}: {got} vs {want}");
        }
    }

    #[test]
    fn weighted_sum_gives_the_scalar_forms_bits_on_every_path() {
        let mut rng = crate::testutil::Lcg::new(11);
        let mut next = || (rng.step() >> 11) as f64 / (1u64 << 53) as f64;
        for n in [0usize, 1, 3, 4, 5, 7, 8, 64, 701, 733] {
            // A falling log-survival with flat runs, integer-day steps.
            let (mut logs, mut time, mut l, mut t) = (Vec::new(), vec![0.0], 0.0, 0.0);
            for _ in 0..n {
                if next() < 0.7 {
                    l -= next() * 0.01;
                }
                t += (1.0 + next() * 3.0).floor();
                logs.push(l);
                time.push(t);
            }
            let (starts, ends) = (&time[..n], &time[1..]);
            for theta in [1.0, 0.37, 2.9, 40.0, 1e5, f64::INFINITY] {
                let base = -next() * 0.01;
                let want = reference_weighted_exp_sum(&logs, starts, ends, theta, base);
                let got = weighted_exp_sum(&logs, starts, ends, theta, base);
                assert_eq!(got.to_bits(), want.to_bits(), "{n} {theta}");
                let got = weighted_exp_sum_lanes(&logs, starts, ends, theta, base);
                assert_eq!(got.to_bits(), want.to_bits(), "{n} {theta} (SSE2)");
            }
        }
    }

    #[test]
    fn fast_exp_matches_libm() {
        let mut x = 0.0;
        while x > -710.0 {
            let (got, want) = (fast_exp(x), x.exp());
            if x >= -708.0 {
                assert!(((got - want) / want).abs() < 1e-15, "{x}: {got} vs {want}");
            } else {
                assert!(got == 0.0 || ((got - want) / want).abs() < 1e-15, "{x}");
            }
            x -= 0.0137;
        }
        assert_eq!(fast_exp(0.0), 1.0);
        assert_eq!(fast_exp(-1e9), 0.0);
        assert_eq!(fast_exp(f64::NEG_INFINITY), 0.0);
    }

    #[test]
    fn reader_answers_as_the_curve_does() {
        for (seed, late) in [(1, false), (2, true), (3, true)] {
            let c = curve(seed, 400, late);
            let r = CurveReader::new(&c);
            for t in (0..1000)
                .step_by(7)
                .map(f64::from)
                .chain([-3.0, 0.5, 899.0])
            {
                for h in [0.0, 1.0, 30.0, 90.0, 730.0, 5000.0] {
                    assert_eq!(r.min_at_risk(t, t + h), c.min_at_risk(t, t + h), "{t} {h}");
                    for theta in [0.0, 0.3, 1.0, 2.5] {
                        let want = c.conditional_survival(t, h).powf(theta);
                        let got = r.conditional_survival_ph(t, h, theta);
                        assert!(
                            (got - want).abs() < 1e-12,
                            "{t} {h} {theta}: {got} vs {want}"
                        );
                        let want = c.expected_remaining_ph(t, t + h, theta);
                        let got = r.expected_remaining_ph(t, t + h, theta);
                        assert!(
                            (got - want).abs() < 1e-9 * (1.0 + want),
                            "{t} {h} {theta}: {got} vs {want}"
                        );
                    }
                }
            }
            assert_eq!(r.last_time_with_at_risk(50), c.last_time_with_at_risk(50));
        }
    }

    #[test]
    fn reader_restarts_where_an_emptied_risk_set_refills() {
        // Two early entrants churn to the last one at 5 (S reaches 0), then
        // later entrants refill the risk set: read from t = 10 the curve
        // knows only the later rows, as `conditional_survival` does.
        let lts = [
            Lifetime {
                entry: 0.0,
                duration: 3.0,
                observed: true,
            },
            Lifetime {
                entry: 0.0,
                duration: 5.0,
                observed: true,
            },
            Lifetime {
                entry: 8.0,
                duration: 20.0,
                observed: true,
            },
            Lifetime {
                entry: 8.0,
                duration: 40.0,
                observed: false,
            },
        ];
        let c = KmCurve::fit(&lts);
        let r = CurveReader::new(&c);
        assert_eq!(c.survival_at(6.0), 0.0);
        for (t, h) in [(10.0, 30.0), (0.0, 4.0), (0.0, 30.0), (4.0, 50.0)] {
            assert!(
                (r.conditional_survival_ph(t, h, 1.0) - c.conditional_survival(t, h)).abs() < 1e-12
            );
            assert!(
                (r.expected_remaining_ph(t, t + h, 1.7) - c.expected_remaining_ph(t, t + h, 1.7))
                    .abs()
                    < 1e-9,
                "{t} {h}"
            );
        }
    }
}
