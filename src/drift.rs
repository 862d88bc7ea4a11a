//! Feature distributions frozen at training and the population stability
//! index (PSI) of a scoring batch against them. Aggregates only: bin edges
//! and shares, never rows.

use serde::{Deserialize, Serialize};

/// Where a feature's training values fell: decile bins plus a missing share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    pub feature: String,
    /// Ascending, distinct inner edges; bin i holds values in
    /// `(edges[i-1], edges[i]]` (first bin unbounded below, last above).
    pub edges: Vec<f64>,
    /// Share of non-missing training values per bin (`edges.len() + 1`).
    pub shares: Vec<f64>,
    /// Share of training rows where the feature was missing.
    pub missing: f64,
}

/// Features that drift by construction as time passes, so their PSI says
/// nothing about the data: `tenure_days` grows by one every day for every
/// account, and a scoring batch months after training is older than the
/// training snapshot even when nothing changed. Their PSI is reported but
/// neither warned about nor gated on.
pub const DRIFTS_WITH_TIME: &[&str] = &["tenure_days"];

/// Whether `feature` is one of [`DRIFTS_WITH_TIME`].
pub fn drifts_with_time(feature: &str) -> bool {
    DRIFTS_WITH_TIME.contains(&feature)
}

/// Shares below this are floored so an empty bin does not make PSI infinite.
const FLOOR: f64 = 1e-4;

impl Distribution {
    /// Decile edges (nearest-rank) of the non-missing values, deduplicated.
    pub fn fit(feature: &str, values: &[f64]) -> Distribution {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        v.sort_by(f64::total_cmp);
        let mut edges: Vec<f64> = Vec::new();
        if !v.is_empty() {
            for q in 1..10 {
                let e = v[(q * v.len() / 10).min(v.len() - 1)];
                if edges.last().is_none_or(|&l| e > l) && e < v[v.len() - 1] {
                    edges.push(e);
                }
            }
        }
        let missing = if values.is_empty() {
            0.0
        } else {
            1.0 - v.len() as f64 / values.len() as f64
        };
        let shares = bin_shares(&edges, values);
        Distribution {
            feature: feature.to_string(),
            edges,
            shares,
            missing,
        }
    }

    /// PSI = sum over bins (and the missing bucket) of (a - e) ln(a / e),
    /// with shares of all rows. Rules of thumb: < 0.1 stable, 0.1-0.2
    /// moderate, > 0.2 a shift worth a look. NaN for an empty batch: no
    /// rows is not "no drift", it is nothing measured.
    pub fn psi(&self, values: &[f64]) -> f64 {
        self.psi_of(&self.histogram(values))
    }

    /// Counts of a batch's values on this distribution's bins: what PSI
    /// reads, and what shards of one batch can add up (`Histogram::add`)
    /// so the PSI of the whole is that of one run over every row.
    pub fn histogram(&self, values: &[f64]) -> Histogram {
        let mut bins = vec![0u64; self.edges.len() + 1];
        let mut missing = 0u64;
        for &x in values {
            if x.is_nan() {
                missing += 1;
            } else {
                // The edges are ascending, so the count of those below x is
                // `partition_point(|e| e < x)`; counting them has no
                // branch to mispredict, which at a million rows per feature
                // was the cost of the search.
                bins[self.edges.iter().filter(|&&e| e < x).count()] += 1;
            }
        }
        Histogram {
            feature: self.feature.clone(),
            bins,
            missing,
        }
    }

    /// [`Distribution::psi`] of the batch `h` counts (NaN for no rows).
    pub fn psi_of(&self, h: &Histogram) -> f64 {
        let n: u64 = h.bins.iter().sum();
        let total = n + h.missing;
        if total == 0 {
            return f64::NAN;
        }
        let actual_missing = h.missing as f64 / total as f64;
        let mut psi = term(actual_missing, self.missing);
        for (c, e) in h.bins.iter().zip(&self.shares) {
            let a = if n == 0 { 0.0 } else { *c as f64 / n as f64 };
            psi += term(a * (1.0 - actual_missing), e * (1.0 - self.missing));
        }
        psi
    }
}

/// A batch's counts on a [`Distribution`]'s bins: per bin (`edges.len() +
/// 1`), plus the rows where the feature was missing. Aggregates only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    pub feature: String,
    pub bins: Vec<u64>,
    pub missing: u64,
}

impl Histogram {
    /// Adds another batch's counts on the same bins; `Err` names what differs.
    pub fn add(&mut self, other: &Histogram) -> Result<(), String> {
        if other.feature != self.feature || other.bins.len() != self.bins.len() {
            return Err(format!(
                "histogram of {} with {} bins cannot be added to {} with {} bins",
                other.feature,
                other.bins.len(),
                self.feature,
                self.bins.len()
            ));
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a += b;
        }
        self.missing += other.missing;
        Ok(())
    }
}

fn term(a: f64, e: f64) -> f64 {
    if a == 0.0 && e == 0.0 {
        return 0.0;
    }
    let (a, e) = (a.max(FLOOR), e.max(FLOOR));
    (a - e) * (a / e).ln()
}

fn bin_shares(edges: &[f64], values: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    let mut n = 0usize;
    for &x in values.iter().filter(|x| !x.is_nan()) {
        counts[edges.partition_point(|&e| e < x)] += 1;
        n += 1;
    }
    counts
        .into_iter()
        .map(|c| if n == 0 { 0.0 } else { c as f64 / n as f64 })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_sample_has_zero_psi() {
        let v: Vec<f64> = (0..1000).map(|i| (i % 97) as f64).collect();
        let d = Distribution::fit("x", &v);
        assert!(d.psi(&v).abs() < 1e-12);
        assert!((d.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn empty_batch_is_not_measured_as_no_drift() {
        let d = Distribution::fit("x", &[0.0, 1.0, 2.0]);
        assert!(d.psi(&[]).is_nan());
        assert!(drifts_with_time("tenure_days") && !drifts_with_time("mrr"));
    }

    #[test]
    fn shifted_sample_has_large_psi() {
        let v: Vec<f64> = (0..1000).map(|i| i as f64).collect();
        let d = Distribution::fit("x", &v);
        let shifted: Vec<f64> = v.iter().map(|x| x + 500.0).collect();
        assert!(d.psi(&shifted) > 0.2, "{}", d.psi(&shifted));
    }

    #[test]
    fn psi_of_added_histograms_is_the_psi_of_all_rows_bit_for_bit() {
        let train: Vec<f64> = (0..1000).map(|i| ((i * 37) % 101) as f64).collect();
        let d = Distribution::fit("x", &train);
        let batch: Vec<f64> = (0..997)
            .map(|i| {
                if i % 13 == 0 {
                    f64::NAN
                } else {
                    ((i * 7) % 130) as f64
                }
            })
            .collect();
        let whole = d.psi(&batch);
        for parts in [1, 3, 7] {
            let mut h = d.histogram(&[]);
            for chunk in batch.chunks(batch.len().div_ceil(parts)) {
                h.add(&d.histogram(chunk)).unwrap();
            }
            assert_eq!(d.psi_of(&h).to_bits(), whole.to_bits(), "{parts} parts");
        }
        let other = Distribution::fit("y", &train).histogram(&batch);
        assert!(h_err(d.histogram(&batch), &other).contains("y with"));
    }

    fn h_err(mut h: Histogram, other: &Histogram) -> String {
        h.add(other).unwrap_err()
    }

    #[test]
    fn histogram_puts_edge_values_in_the_bin_they_close() {
        // Bins (-inf, 1], (1, 2], (2, 3], (3, inf), by the doc's rule.
        let d = Distribution {
            feature: "x".into(),
            edges: vec![1.0, 2.0, 3.0],
            shares: vec![0.25; 4],
            missing: 0.0,
        };
        let v = [
            f64::NEG_INFINITY,
            -5.0,
            1.0,
            1.0 + f64::EPSILON,
            2.0,
            2.5,
            3.0,
            3.5,
            f64::INFINITY,
            f64::NAN,
            -0.0,
        ];
        let h = d.histogram(&v);
        assert_eq!(h.bins, [4, 2, 2, 2]);
        assert_eq!(h.missing, 1);
    }

    #[test]
    fn hand_computed_psi_with_missing_bucket() {
        // Training: 0,0,1,1 -> edges [0], shares [0.5, 0.5], no missing.
        let d = Distribution::fit("x", &[0.0, 0.0, 1.0, 1.0]);
        assert_eq!(d.edges, [0.0]);
        // Batch: 0, 1, 1, NaN -> shares of all rows 0.25, 0.5, missing 0.25.
        let psi = d.psi(&[0.0, 1.0, 1.0, f64::NAN]);
        let expect =
            (0.25 - 1e-4) * (0.25f64 / 1e-4).ln() + (0.25 - 0.5) * (0.25f64 / 0.5).ln() + 0.0;
        assert!((psi - expect).abs() < 1e-12, "{psi} vs {expect}");
    }
}
