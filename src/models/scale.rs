//! The frozen preprocessing in front of the linear models: per-column
//! transform, median imputation with missing-value flags, and
//! standardization, fitted on training rows only and stored as plain numbers.
//! It never sees labels and never decides which rows are training rows: the
//! caller hands it exactly the rows it may learn from (see `propensity`).
//!
//! Output layout: the `k` inputs first, in input order (output `j` is input
//! `j` for `j < k`), then one `<name>_missing` flag per input that had a
//! missing value in training, also in input order.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How a raw input is reshaped before imputation and standardization.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq)]
pub enum Transform {
    /// `sign(x) * ln(1 + |x|)`. Meant for counts and amounts, whose long
    /// right tail would otherwise let a few accounts dominate a linear model.
    /// Counts are never negative, but deltas (e.g. seat changes) can be; the
    /// signed form keeps such values finite, monotone and symmetric around 0
    /// instead of producing NaN for `x <= -1`.
    Log1p,
    /// The value as it is.
    Identity,
}

impl Transform {
    /// Apply the transform; NaN (missing) stays NaN.
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Transform::Log1p => x.signum() * x.abs().ln_1p(),
            Transform::Identity => x,
        }
    }
}

/// What was learned about one input column.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct InputSpec {
    pub name: String,
    pub transform: Transform,
    /// Median of the transformed, non-missing training values (0 when the
    /// column was entirely missing). Used for every missing value, in
    /// training and at scoring alike.
    pub median: f64,
    /// True when the column had at least one missing value in training, so
    /// an output column `<name>_missing` exists for it.
    pub has_missing_flag: bool,
}

/// Frozen preprocessing: everything needed to turn a raw row into the
/// standardized row a model was trained on. Plain numbers, safe to store in
/// the bundle.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Preprocessor {
    pub inputs: Vec<InputSpec>,
    /// Training mean of each output column, after transform and imputation.
    pub means: Vec<f64>,
    /// Training population standard deviation (divide by `n`) of each output
    /// column; 1 for a constant column, so that it maps to exactly 0.
    pub sds: Vec<f64>,
    pub output_names: Vec<String>,
}

impl Preprocessor {
    /// Fit on the training rows of a column-major design (NaN = missing).
    ///
    /// Medians, flags, means and sds come only from the rows passed in; the
    /// caller is responsible for passing training rows only.
    ///
    /// Missing flags are standardized like every other output column: all
    /// outputs then have training mean 0 and sd 1, so one L2 penalty treats
    /// them alike, and a coefficient times a standardized value reads as
    /// "log-odds relative to the average training row" for every feature,
    /// flags included.
    ///
    /// Errors on mismatched lengths, no rows or columns, an infinite value,
    /// or a flag name that collides with an input name.
    pub fn fit(names: &[String], transforms: &[Transform], columns: &[&[f64]]) -> Result<Self> {
        if names.len() != transforms.len() || names.len() != columns.len() {
            return Err(Error::Model(format!(
                "preprocessor: got {} names, {} transforms and {} columns; they must match",
                names.len(),
                transforms.len(),
                columns.len()
            )));
        }
        if columns.is_empty() {
            return Err(Error::Model("preprocessor: no input columns".into()));
        }
        let n = columns[0].len();
        for (name, col) in names.iter().zip(columns) {
            if col.len() != n {
                return Err(Error::Model(format!(
                    "preprocessor: column {name} has {} rows, column {} has {n}",
                    col.len(),
                    names[0]
                )));
            }
        }
        if n == 0 {
            return Err(Error::Model("preprocessor: no training rows".into()));
        }

        let k = names.len();
        let mut inputs = Vec::with_capacity(k);
        let mut means = Vec::with_capacity(k);
        let mut sds = Vec::with_capacity(k);
        let mut flag_means = Vec::new();
        let mut flag_sds = Vec::new();
        let mut transformed = vec![0.0; n];
        for ((name, &transform), col) in names.iter().zip(transforms).zip(columns) {
            let mut n_missing = 0usize;
            for (i, (t, &x)) in transformed.iter_mut().zip(col.iter()).enumerate() {
                if x.is_infinite() {
                    return Err(Error::Model(format!(
                        "preprocessor: column {name}, row index {i}: value is {x}; \
                         only finite numbers or NaN (missing) are allowed"
                    )));
                }
                *t = transform.apply(x);
                n_missing += t.is_nan() as usize;
            }
            let median = median_of_present(&transformed).unwrap_or(0.0);
            let (mean, sd) = mean_sd(
                transformed
                    .iter()
                    .map(|&t| if t.is_nan() { median } else { t }),
            );
            if !mean.is_finite() || !sd.is_finite() {
                return Err(Error::Model(format!(
                    "preprocessor: column {name}: values too large to standardize \
                     (mean {mean}, sd {sd})"
                )));
            }
            means.push(mean);
            sds.push(sd);
            if n_missing > 0 {
                let (m, s) = mean_sd(
                    transformed
                        .iter()
                        .map(|t| if t.is_nan() { 1.0 } else { 0.0 }),
                );
                flag_means.push(m);
                flag_sds.push(s);
            }
            inputs.push(InputSpec {
                name: name.clone(),
                transform,
                median,
                has_missing_flag: n_missing > 0,
            });
        }

        let mut output_names = names.to_vec();
        output_names.extend(
            inputs
                .iter()
                .filter(|s| s.has_missing_flag)
                .map(|s| format!("{}_missing", s.name)),
        );
        let mut seen = std::collections::HashSet::new();
        for name in &output_names {
            if !seen.insert(name.as_str()) {
                return Err(Error::Model(format!(
                    "preprocessor: output column name {name} appears twice \
                     (duplicate input name, or an input named like a missing flag)"
                )));
            }
        }
        means.extend(flag_means);
        sds.extend(flag_sds);
        Ok(Preprocessor {
            inputs,
            means,
            sds,
            output_names,
        })
    }

    /// Number of raw inputs a row must have.
    pub fn n_inputs(&self) -> usize {
        self.inputs.len()
    }

    /// Number of standardized outputs (inputs plus missing flags).
    pub fn n_outputs(&self) -> usize {
        self.output_names.len()
    }

    /// Check that a deserialized preprocessor is internally consistent, so a
    /// corrupt bundle fails at load rather than panicking while scoring.
    pub fn validate(&self) -> Result<()> {
        let k = self.inputs.len();
        let p = k + self.inputs.iter().filter(|s| s.has_missing_flag).count();
        if self.means.len() != p || self.sds.len() != p || self.output_names.len() != p {
            return Err(Error::Model(format!(
                "preprocessor: {k} inputs imply {p} outputs, found {} means, {} sds, {} names",
                self.means.len(),
                self.sds.len(),
                self.output_names.len()
            )));
        }
        let bad_number = self.inputs.iter().any(|s| !s.median.is_finite())
            || self.means.iter().any(|m| !m.is_finite())
            || self.sds.iter().any(|s| !s.is_finite() || *s <= 0.0);
        if bad_number {
            return Err(Error::Model(
                "preprocessor: non-finite median/mean or non-positive sd".into(),
            ));
        }
        Ok(())
    }

    /// Transform one raw row (input order, NaN = missing) into `out`
    /// (output order, length [`Self::n_outputs`]).
    ///
    /// A missing value is replaced by the training median. If the column had
    /// no missing values in training there is no flag for it: the value is
    /// imputed and nothing records that it was missing, because the model
    /// never learned what missingness means for that column.
    ///
    /// Infinite inputs are not expected (the fit rejects them, loaders should
    /// too); at scoring they pass through as infinite outputs.
    ///
    /// # Panics
    /// If `row` or `out` has the wrong length: that is a caller bug, not data.
    pub fn transform_row(&self, row: &[f64], out: &mut [f64]) {
        assert_eq!(row.len(), self.inputs.len(), "raw row length");
        assert_eq!(out.len(), self.output_names.len(), "output row length");
        let mut flag = self.inputs.len();
        for (j, (spec, &raw)) in self.inputs.iter().zip(row).enumerate() {
            let t = spec.transform.apply(raw);
            let missing = t.is_nan();
            let v = if missing { spec.median } else { t };
            out[j] = (v - self.means[j]) / self.sds[j];
            if spec.has_missing_flag {
                let m = if missing { 1.0 } else { 0.0 };
                out[flag] = (m - self.means[flag]) / self.sds[flag];
                flag += 1;
            }
        }
    }

    /// Transform a column-major design into a row-major, contiguous
    /// `n x n_outputs` matrix, row by row through [`Self::transform_row`] so
    /// there is a single code path.
    ///
    /// # Panics
    /// If the number of columns is wrong or the columns differ in length.
    pub fn transform(&self, columns: &[&[f64]]) -> Array2<f64> {
        assert_eq!(columns.len(), self.inputs.len(), "number of input columns");
        let n = columns.first().map_or(0, |c| c.len());
        assert!(
            columns.iter().all(|c| c.len() == n),
            "input columns differ in length"
        );
        let p = self.n_outputs();
        let mut data = vec![0.0; n * p];
        let mut row = vec![0.0; columns.len()];
        for (i, out) in data.chunks_exact_mut(p.max(1)).enumerate().take(n) {
            for (r, c) in row.iter_mut().zip(columns) {
                *r = c[i];
            }
            self.transform_row(&row, &mut out[..p]);
        }
        Array2::from_shape_vec((n, p), data).expect("n * p elements")
    }
}

/// Median of the non-NaN values (mean of the two middle ones for an even
/// count); `None` when every value is missing.
fn median_of_present(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    let mid = v.len() / 2;
    let even = v.len() == 2 * mid;
    let (left, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    if even {
        let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((lower + m) / 2.0)
    } else {
        Some(m)
    }
}

/// Mean and population sd, two-pass for accuracy. A constant column gets its
/// value as mean and sd 1, so it standardizes to exactly 0 rather than to
/// rounding noise divided by a tiny sd.
fn mean_sd(values: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let (mut n, mut sum) = (0usize, 0.0);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.clone() {
        n += 1;
        sum += v;
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if n == 0 || lo == hi {
        return (if n == 0 { 0.0 } else { lo }, 1.0);
    }
    let mean = sum / n as f64;
    let var = values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let sd = var.sqrt();
    (mean, if sd > 0.0 { sd } else { 1.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn median_and_standardization_match_hand_calculation() {
        // Hand calculation: present values 1, 2, 3, 10 -> median (2 + 3) / 2
        // = 2.5; imputed column 1, 3, 2.5, 2, 10 -> mean 18.5 / 5 = 3.7,
        // squared deviations 7.29 + 0.49 + 1.44 + 2.89 + 39.69 = 51.8,
        // population sd sqrt(10.36).
        let a = [1.0, 3.0, f64::NAN, 2.0, 10.0];
        let p = Preprocessor::fit(&names(&["a"]), &[Transform::Identity], &[&a]).unwrap();
        assert_eq!(p.inputs[0].median, 2.5);
        assert!((p.means[0] - 3.7).abs() < 1e-12);
        assert!((p.sds[0] - 10.36f64.sqrt()).abs() < 1e-12);
        // Flag: 1 of 5 missing -> mean 0.2, sd sqrt(0.2 * 0.8) = 0.4.
        assert_eq!(p.output_names, names(&["a", "a_missing"]));
        assert!((p.means[1] - 0.2).abs() < 1e-12);
        assert!((p.sds[1] - 0.4).abs() < 1e-12);

        let x = p.transform(&[&a]);
        assert_eq!(x.dim(), (5, 2));
        assert!(x.is_standard_layout());
        assert!((x[[2, 0]] - (2.5 - 3.7) / 10.36f64.sqrt()).abs() < 1e-12);
        assert!((x[[2, 1]] - (1.0 - 0.2) / 0.4).abs() < 1e-12);
        assert!((x[[0, 1]] - (0.0 - 0.2) / 0.4).abs() < 1e-12);
        let col_mean = x.column(0).sum() / 5.0;
        assert!(col_mean.abs() < 1e-12);
    }

    #[test]
    fn log1p_is_sign_symmetric() {
        assert_eq!(Transform::Log1p.apply(0.0), 0.0);
        assert!((Transform::Log1p.apply(9.0) - 10f64.ln()).abs() < 1e-15);
        assert_eq!(Transform::Log1p.apply(-9.0), -Transform::Log1p.apply(9.0));
        assert!(Transform::Log1p.apply(-5.0).is_finite());
        assert!(Transform::Log1p.apply(f64::NAN).is_nan());
    }

    #[test]
    fn missing_flag_added_only_when_training_had_missing() {
        let a = [1.0, f64::NAN, 3.0];
        let b = [4.0, 5.0, 6.0];
        let p = Preprocessor::fit(
            &names(&["a", "b"]),
            &[Transform::Identity, Transform::Log1p],
            &[&a, &b],
        )
        .unwrap();
        assert_eq!(p.output_names, names(&["a", "b", "a_missing"]));
        assert!(p.inputs[0].has_missing_flag);
        assert!(!p.inputs[1].has_missing_flag);
    }

    #[test]
    fn unseen_missing_is_imputed_without_flag() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let p = Preprocessor::fit(&names(&["a"]), &[Transform::Identity], &[&a]).unwrap();
        assert_eq!(p.n_outputs(), 1);
        let mut out = [f64::NAN];
        p.transform_row(&[f64::NAN], &mut out);
        let mut at_median = [f64::NAN];
        p.transform_row(&[2.5], &mut at_median);
        assert_eq!(out, at_median);
    }

    #[test]
    fn all_missing_column_imputes_zero_and_constant_maps_to_zero() {
        let a = [f64::NAN, f64::NAN];
        let c = [7.0, 7.0];
        let p = Preprocessor::fit(
            &names(&["a", "c"]),
            &[Transform::Identity, Transform::Identity],
            &[&a, &c],
        )
        .unwrap();
        assert_eq!(p.inputs[0].median, 0.0);
        assert_eq!(p.sds, vec![1.0, 1.0, 1.0]);
        let x = p.transform(&[&a, &c]);
        assert!(x.iter().all(|&v| v == 0.0));
        p.validate().unwrap();
    }

    #[test]
    fn rejects_infinite_values_and_bad_shapes() {
        let a = [1.0, f64::INFINITY];
        let err = Preprocessor::fit(&names(&["a"]), &[Transform::Identity], &[&a]).unwrap_err();
        assert!(matches!(err, Error::Model(ref m) if m.contains("column a, row index 1")));
        let b = [1.0];
        let err = Preprocessor::fit(
            &names(&["a", "b"]),
            &[Transform::Identity, Transform::Identity],
            &[&[1.0, 2.0], &b],
        )
        .unwrap_err();
        assert!(matches!(err, Error::Model(_)));
        let empty: [f64; 0] = [];
        let err = Preprocessor::fit(&names(&["a"]), &[Transform::Identity], &[&empty]).unwrap_err();
        assert!(matches!(err, Error::Model(ref m) if m.contains("no training rows")));
    }

    #[test]
    fn rejects_flag_name_collision() {
        let a = [1.0, f64::NAN];
        let a_missing = [0.0, 1.0];
        let err = Preprocessor::fit(
            &names(&["a", "a_missing"]),
            &[Transform::Identity, Transform::Identity],
            &[&a, &a_missing],
        )
        .unwrap_err();
        assert!(matches!(err, Error::Model(ref m) if m.contains("appears twice")));
    }

    #[test]
    fn roundtrips_through_json() {
        let a = [1.0, f64::NAN, 3.5, 0.25];
        let p = Preprocessor::fit(&names(&["a"]), &[Transform::Log1p], &[&a]).unwrap();
        let back: Preprocessor = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        back.validate().unwrap();
        assert_eq!(back.output_names, p.output_names);
        let (x, y) = (p.transform(&[&a]), back.transform(&[&a]));
        assert!(x.iter().zip(y.iter()).all(|(u, v)| (u - v).abs() < 1e-12));
    }
}
