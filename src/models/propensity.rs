//! Churn and expansion propensity: L2-penalized logistic regression
//! (linfa-logistic) on the frozen [`scale`](crate::models::scale)
//! preprocessing, with alpha tuned on the latest folds, copied into our own
//! serializable [`LogisticModel`]. It does not own the outer out-of-time
//! holdout or the validation metrics: the caller decides which rows [`fit`]
//! may see, and scores its holdout with the same [`LogisticModel::predict_proba`]
//! that scoring uses.
//!
//! [`fit`]: PropensityValidParams::fit
//!
//! # What linfa's `alpha` means
//!
//! linfa-logistic 0.8.1 minimizes (see `logistic_loss` in its `lib.rs`)
//!
//! ```text
//!     sum_i logloss_i(w, b)  +  alpha / 2 * ||w||^2
//! ```
//!
//! The penalty is added to the **sum** of the per-row log losses, not their
//! mean, and the intercept `b` is not penalized. That is scikit-learn's
//! objective `C * sum_i logloss_i + ||w||^2 / 2` divided by `C`, so
//! `alpha = 1 / C`: alpha 1 is sklearn's default `C = 1`. Per row, the
//! penalty is `alpha / n`, so a fixed alpha regularizes less as the data
//! grows (the Bayesian reading: a Gaussian prior on each standardized
//! coefficient with variance `1 / alpha`, whatever `n`). For a churn table
//! with a few percent positives, the curvature per standardized feature is
//! about `n * p * (1 - p)`; alpha only shrinks noticeably once it approaches
//! that, hence the default grid reaching up to 1000.
//!
//! # Calibration, not class weights
//!
//! We want a 0.2 to mean "about 20% of such accounts churn within the
//! horizon". Plain maximum likelihood gives that on average: because the
//! intercept is unpenalized, the optimum sets the intercept's gradient
//! `sum_i (p_i - y_i)` to zero, so the mean predicted probability on the
//! training rows equals the base rate for *every* alpha. Reweighting the
//! minority class would move the intercept and inflate every probability, so
//! we never reweight; ranking quality is unaffected by the base rate anyway.
//! A large alpha keeps that mean but pulls every score towards it
//! (under-confident extremes), which the held-out log loss penalizes, so the
//! search does not pick more shrinkage than the latest months support.
//!
//! # Convergence
//!
//! linfa runs argmin's L-BFGS but keeps only the best parameters: the
//! termination status (converged, iteration limit, line-search failure) and
//! the iteration count are dropped inside `Fit::fit`. We therefore check the
//! optimality condition ourselves: after each fit we compute the gradient of
//! the penalized objective at the returned solution, divided by `n`, and call
//! the fit converged when its Euclidean norm is at most `gradient_tolerance`
//! (linfa is given `gradient_tolerance * n`, the same criterion on its sum
//! scale). Only when that fails do we refit with `max_iterations + 1`: if the
//! solution moves, the optimizer had been stopped by the iteration limit;
//! if not, it had stopped earlier (line search could not make progress).
//! Either way the model is marked `converged: false` and a warning is
//! returned.
//!
//! # Cost
//!
//! A fit is a few dozen L-BFGS iterations, each one sequential pass over the
//! design computing `X w`, the loss and `X^T r` together; nothing else
//! scales with the rows. The design is row-major and holds only the
//! non-constant columns. linfa is the locally patched 0.8.1 in
//! `src/vendor/linfa-logistic` (see its `PATCH.md`): the published crate
//! copies the whole design for a gemm two or three times per iteration,
//! which took two thirds of a training run. The run's cost is therefore
//! the number of evaluations: the solver keeps [`LBFGS_MEMORY`] steps (not
//! linfa's 10), which on our collinear features saves ~30% of them.

use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::models::scale::{Preprocessor, Transform};

/// Settings for [`PropensityValidParams::fit`]; call [`Self::check`] to get
/// the only type that can fit.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(default)]
pub struct PropensityParams {
    /// L2 strengths to try, in linfa's units (penalty on the *sum* of log
    /// losses, `alpha = 1 / C` of scikit-learn). A single value skips the
    /// search. Default `[0.1, 1, 10, 100, 1000]`; each value costs one extra
    /// fit. Smaller values are left out: the penalty is on the sum over
    /// rows, so below 0.1 it is indistinguishable from none once there are
    /// more than a few thousand rows (measured on the demo data: 1e-4 to 0.1
    /// gave the same tuning log loss to 4 decimals).
    pub alphas: Vec<f64>,
    /// Iteration budget of the L-BFGS solver per fit. Default 200.
    pub max_iterations: u64,
    /// Convergence threshold on the Euclidean norm of the penalized
    /// objective's gradient divided by the number of rows (so it does not
    /// depend on data size). Default `1e-5`: on 100k accounts x 24 months
    /// it moved held-out AUC and Brier by less than 2e-5 against `1e-6`
    /// and halved the fitting time (the last iterations of L-BFGS on a
    /// weakly penalized fit buy digits nobody reads).
    pub gradient_tolerance: f64,
    /// Share of the distinct folds (latest first) held out to choose alpha;
    /// at least one fold is held out and at least one kept. Default 0.25.
    pub tuning_fraction: f64,
    /// Gap, in fold units, between the alpha search's fit rows and its
    /// tuning rows: a fit row needs `fold + embargo <= first tuning fold`.
    /// Training passes as-of days as folds and `horizon + grace days`, so
    /// no fit label reads past the moment the tuning rows pretend is "now"
    /// (as the outer backtest does). Default 0.
    pub embargo: u32,
}

impl Default for PropensityParams {
    fn default() -> Self {
        PropensityParams {
            alphas: vec![1e-1, 1.0, 10.0, 100.0, 1000.0],
            max_iterations: 200,
            gradient_tolerance: 1e-5,
            tuning_fraction: 0.25,
            embargo: 0,
        }
    }
}

impl PropensityParams {
    /// Defaults; see the field docs.
    pub fn new() -> Self {
        Self::default()
    }

    pub fn alphas(mut self, alphas: Vec<f64>) -> Self {
        self.alphas = alphas;
        self
    }

    pub fn max_iterations(mut self, max_iterations: u64) -> Self {
        self.max_iterations = max_iterations;
        self
    }

    pub fn gradient_tolerance(mut self, gradient_tolerance: f64) -> Self {
        self.gradient_tolerance = gradient_tolerance;
        self
    }

    pub fn tuning_fraction(mut self, tuning_fraction: f64) -> Self {
        self.tuning_fraction = tuning_fraction;
        self
    }

    pub fn embargo(mut self, embargo: u32) -> Self {
        self.embargo = embargo;
        self
    }

    /// Validate once; the alpha grid comes back sorted ascending without
    /// duplicates.
    pub fn check(self) -> Result<PropensityValidParams> {
        if self.alphas.is_empty() {
            return Err(Error::InvalidParam("alphas must not be empty".into()));
        }
        if let Some(a) = self.alphas.iter().find(|a| !(a.is_finite() && **a > 0.0)) {
            return Err(Error::InvalidParam(format!(
                "alphas must be finite and > 0, got {a}"
            )));
        }
        if self.max_iterations == 0 {
            return Err(Error::InvalidParam(
                "max_iterations must be > 0, got 0".into(),
            ));
        }
        let tol = self.gradient_tolerance;
        if !(tol.is_finite() && tol > 0.0) {
            return Err(Error::InvalidParam(format!(
                "gradient_tolerance must be finite and > 0, got {tol}"
            )));
        }
        let frac = self.tuning_fraction;
        if !(frac > 0.0 && frac < 1.0) {
            return Err(Error::InvalidParam(format!(
                "tuning_fraction must be in (0, 1), got {frac}"
            )));
        }
        let mut alphas = self.alphas;
        alphas.sort_by(f64::total_cmp);
        alphas.dedup();
        Ok(PropensityValidParams {
            alphas,
            max_iterations: self.max_iterations,
            gradient_tolerance: tol,
            tuning_fraction: frac,
            embargo: self.embargo,
        })
    }
}

/// Checked [`PropensityParams`]; only this type can fit.
#[derive(Clone, Debug, PartialEq)]
pub struct PropensityValidParams {
    alphas: Vec<f64>,
    max_iterations: u64,
    gradient_tolerance: f64,
    tuning_fraction: f64,
    embargo: u32,
}

/// Tuning losses within this relative difference are a tie, won by the
/// larger alpha, so the choice does not hinge on optimizer noise: at 100k
/// accounts the two smallest alphas agreed to 6 digits and a 1e-9 tie rule
/// let a tighter or looser tolerance flip the choice between them; on 20k
/// accounts a change of the solver's path alone (30 L-BFGS steps kept
/// instead of 10) moved two upgrade losses 3e-6 apart and flipped the
/// backtest's alpha under a 1e-6 rule. Solutions within the gradient
/// tolerance differ in loss by a few 1e-6 at most; 1e-5 is above that and
/// still far below any difference that matters for held-out quality.
pub const TIE: f64 = 1e-5;

/// Past steps the L-BFGS solver keeps (linfa's default is 10). The design
/// has ~70 standardized, partly collinear columns; with 10 steps the solver
/// keeps relearning the same curvature. Measured on 20k accounts x 24
/// months (four fits, backtest and shipped, with their alpha searches):
/// 1,208 loss-and-gradient evaluations at 10, 944 at 20, 846 at 30, 806 at
/// 50. Each step costs O(features) per iteration, nothing per row.
pub const LBFGS_MEMORY: usize = 30;

/// Held-out log loss of one alpha in the search.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AlphaScore {
    pub alpha: f64,
    /// Mean log loss (natural log) on the tuning rows.
    pub tuning_log_loss: f64,
    /// Whether the fit on the tuning-training rows converged.
    pub converged: bool,
}

/// What [`PropensityValidParams::fit`] returns.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct FitReport {
    /// Refit on all given rows with the chosen alpha.
    pub model: LogisticModel,
    /// One entry per alpha, ascending; empty when a single alpha was given.
    pub alpha_search: Vec<AlphaScore>,
    /// First fold of the tuning rows (`fold >= tuning_from_fold`); `None`
    /// when there was no search.
    pub tuning_from_fold: Option<u32>,
    /// Things a person should read before trusting the model, e.g. a fit
    /// that stopped at its iteration limit.
    pub warnings: Vec<String>,
}

/// A fitted propensity model: our own plain numbers, never linfa's types, so
/// the bundle format does not depend on linfa's version.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct LogisticModel {
    /// What is predicted, e.g. `churn`; used in messages.
    pub target: String,
    /// Names of the standardized features, the preprocessor's outputs.
    pub feature_names: Vec<String>,
    /// One log-odds coefficient per standardized feature, oriented so that
    /// positive means "more likely `true`".
    pub coefficients: Vec<f64>,
    pub intercept: f64,
    /// The L2 strength used, in linfa's units (see the module docs).
    pub alpha: f64,
    /// The iteration budget. linfa does not report how many iterations were
    /// used, only the budget is known.
    pub max_iterations: u64,
    /// Norm of the penalized objective's gradient per row at the solution.
    pub gradient_norm: f64,
    /// `gradient_norm <= gradient_tolerance` at the end of the fit.
    pub converged: bool,
    pub preprocessor: Preprocessor,
}

impl LogisticModel {
    /// Log-odds for one raw row (input order, NaN = missing).
    pub fn log_odds(&self, raw_row: &[f64]) -> f64 {
        let mut x = vec![0.0; self.preprocessor.n_outputs()];
        self.preprocessor.transform_row(raw_row, &mut x);
        self.linear(&x)
    }

    /// Probability of `true` for one raw row (input order, NaN = missing).
    pub fn predict_proba(&self, raw_row: &[f64]) -> f64 {
        sigmoid(self.log_odds(raw_row))
    }

    /// Probabilities for a column-major raw design, row by row through the
    /// same path as [`Self::predict_proba`].
    pub fn predict_proba_matrix(&self, columns: &[&[f64]]) -> Vec<f64> {
        self.log_odds_matrix(columns)
            .into_iter()
            .map(sigmoid)
            .collect()
    }

    /// Additive log-odds contributions `(output feature index, coefficient *
    /// standardized value)`, one per feature in output order. They sum, with
    /// the intercept, to [`Self::log_odds`]; since every feature is centred
    /// on its training mean, each says how far this row's value moves the
    /// score away from the average training row.
    pub fn contributions(&self, raw_row: &[f64]) -> Vec<(usize, f64)> {
        let mut x = vec![0.0; self.preprocessor.n_outputs()];
        self.preprocessor.transform_row(raw_row, &mut x);
        x.iter()
            .zip(&self.coefficients)
            .map(|(v, c)| c * v)
            .enumerate()
            .collect()
    }

    /// [`Self::predict_proba`] and [`Self::contributions`] of one row from
    /// one transform of it: the same numbers, bit for bit, as the two calls
    /// (scoring needs both for every account). The contributions come by
    /// output index (`parts[i]` is output i's), written over the
    /// standardized row once the score is taken: one vector per row, not
    /// two.
    pub fn predict_proba_and_contributions(&self, raw_row: &[f64]) -> (f64, Vec<f64>) {
        let mut x = vec![0.0; self.preprocessor.n_outputs()];
        self.preprocessor.transform_row(raw_row, &mut x);
        let p = sigmoid(self.linear(&x));
        x.truncate(self.coefficients.len());
        for (v, c) in x.iter_mut().zip(&self.coefficients) {
            *v *= c;
        }
        (p, x)
    }

    /// [`Self::predict_proba_matrix`] of `columns`, and the output features
    /// whose coefficient points the other way from their own association
    /// with `labels` on those rows (the difference of the standardized
    /// feature's mean between positive and negative rows). Under
    /// collinearity a model can give, say, `events_30d` a negative upgrade
    /// weight that only corrects for `active_days_90d`; its contribution is
    /// real arithmetic but "events down 40%" is no reason to expect an
    /// upgrade, so reason texts skip these ("suppressors"). Scores are
    /// unaffected.
    ///
    /// Both come from one standardization of each row: training reads both
    /// off every training row, and standardizing (a `ln_1p` per log
    /// feature) is most of the cost. The probabilities are
    /// [`Self::predict_proba_matrix`]'s to the bit (the same steps).
    pub fn predict_proba_and_suppressors(
        &self,
        columns: &[&[f64]],
        labels: &[bool],
    ) -> (Vec<f64>, Vec<String>) {
        assert_eq!(
            columns.len(),
            self.preprocessor.n_inputs(),
            "number of input columns"
        );
        assert!(
            columns.iter().all(|c| c.len() == labels.len()),
            "one label per row"
        );
        let p = self.preprocessor.n_outputs();
        let (mut sum_pos, mut sum_neg) = (vec![0.0; p], vec![0.0; p]);
        let (mut n_pos, mut n_neg) = (0usize, 0usize);
        let mut raw = vec![0.0; columns.len()];
        let mut x = vec![0.0; p];
        let mut probs = Vec::with_capacity(labels.len());
        for (i, &y) in labels.iter().enumerate() {
            for (r, c) in raw.iter_mut().zip(columns) {
                *r = c[i];
            }
            self.preprocessor.transform_row(&raw, &mut x);
            probs.push(sigmoid(self.linear(&x)));
            let (sum, n) = if y {
                (&mut sum_pos, &mut n_pos)
            } else {
                (&mut sum_neg, &mut n_neg)
            };
            for (s, v) in sum.iter_mut().zip(&x) {
                *s += v;
            }
            *n += 1;
        }
        if n_pos == 0 || n_neg == 0 {
            return (probs, Vec::new());
        }
        let suppressors = (0..p)
            .filter(|&j| {
                let d = sum_pos[j] / n_pos as f64 - sum_neg[j] / n_neg as f64;
                self.coefficients[j] * d < 0.0
            })
            .map(|j| self.feature_names[j].clone())
            .collect();
        (probs, suppressors)
    }

    /// Check that a deserialized model is internally consistent.
    pub fn validate(&self) -> Result<()> {
        self.preprocessor.validate()?;
        let p = self.preprocessor.n_outputs();
        if self.coefficients.len() != p || self.feature_names.len() != p {
            return Err(Error::Model(format!(
                "{}: {} coefficients and {} feature names for {p} preprocessed features",
                self.target,
                self.coefficients.len(),
                self.feature_names.len()
            )));
        }
        if !self.intercept.is_finite() || self.coefficients.iter().any(|c| !c.is_finite()) {
            return Err(Error::Model(format!(
                "{}: non-finite coefficient",
                self.target
            )));
        }
        Ok(())
    }

    fn linear(&self, x: &[f64]) -> f64 {
        self.intercept + dot(&self.coefficients, x)
    }

    fn log_odds_matrix(&self, columns: &[&[f64]]) -> Vec<f64> {
        assert_eq!(
            columns.len(),
            self.preprocessor.n_inputs(),
            "number of input columns"
        );
        let n = columns.first().map_or(0, |c| c.len());
        let mut raw = vec![0.0; columns.len()];
        let mut x = vec![0.0; self.preprocessor.n_outputs()];
        (0..n)
            .map(|i| {
                for (r, c) in raw.iter_mut().zip(columns) {
                    *r = c[i];
                }
                self.preprocessor.transform_row(&raw, &mut x);
                self.linear(&x)
            })
            .collect()
    }

    /// Mean log loss on rows already standardized by this model's
    /// preprocessor (row-major, every output column), from the log-odds so
    /// that confident predictions do not round to `ln(0)`. The log-odds are
    /// [`Self::log_odds`]'s, without standardizing the rows again for
    /// every alpha of a search.
    fn mean_log_loss(&self, standardized: &Array2<f64>, labels: &[bool]) -> f64 {
        let total: f64 = standardized
            .rows()
            .into_iter()
            .zip(labels)
            .map(|(x, &y)| {
                let z = self.linear(x.as_slice().expect("row-major rows"));
                if y {
                    softplus(-z)
                } else {
                    softplus(z)
                }
            })
            .sum();
        total / labels.len() as f64
    }
}

/// The borrowed inputs of one [`PropensityValidParams::fit`] call.
struct Design<'a> {
    target: &'a str,
    names: &'a [String],
    transforms: &'a [Transform],
    columns: &'a [&'a [f64]],
}

/// The standardized training rows of one or more targets and the rows
/// that choose alpha, prepared once by [`PropensityValidParams::design`].
/// Churn and upgrade are fitted on the same rows with the same folds (only
/// their labels differ), so they share this: the preprocessor, the
/// standardized design and its copy for the alpha search are built once,
/// not once per target.
pub struct SharedDesign {
    rows: usize,
    search: Option<SearchDesign>,
    full: Prepared,
}

/// The alpha search's part of a [`SharedDesign`].
struct SearchDesign {
    cut: u32,
    embargo: u64,
    /// Rows the search fits on (`fold < cut` with the embargo) and scores
    /// on (`fold >= cut`).
    train: Vec<usize>,
    tune: Vec<usize>,
    /// The `tune` rows standardized by `prepared`'s preprocessor (every
    /// output column, row-major): each alpha's tuning loss reads them.
    tune_x: Array2<f64>,
    prepared: Prepared,
}

impl SharedDesign {
    /// Number of rows; labels must have this length.
    pub fn n_rows(&self) -> usize {
        self.rows
    }
}

/// The standardized training design of one fit.
struct Prepared {
    preprocessor: Preprocessor,
    /// The non-constant output columns, the only ones the solver sees. A
    /// column that is constant on the fitted rows standardizes to exactly 0
    /// (see [`Preprocessor`]), so its coefficient is 0 at the optimum and
    /// every pass over the design would only multiply zeros.
    active: Vec<usize>,
    /// The `active` columns, row-major: linfa (as patched in
    /// `src/vendor/linfa-logistic`) then computes the loss and gradient in
    /// one sequential pass over it per evaluation. Built once per design,
    /// not once per fit.
    x: Array2<f64>,
}

/// A starting point for the solver, in our orientation: the solution for a
/// neighbouring alpha or for nearly the same rows. L-BFGS then needs a few
/// iterations instead of a full descent from zero; the optimum it reaches
/// is the same (within the gradient tolerance) as from a cold start.
#[derive(Clone, Debug)]
struct Start {
    coefficients: Vec<f64>,
    intercept: f64,
    /// The standardization the coefficients refer to.
    preprocessor: Preprocessor,
}

impl Start {
    fn of(model: &LogisticModel) -> Start {
        Start {
            coefficients: model.coefficients.clone(),
            intercept: model.intercept,
            preprocessor: model.preprocessor.clone(),
        }
    }

    /// The same linear predictor in the standardized units of `to`:
    /// coefficient `c * sd_to / sd_from` and the intercept shifted by the
    /// change of means, per output name (an output the start lacks gets 0).
    /// A refit on more rows has slightly different means and sds; reusing
    /// the numbers as they are would start L-BFGS away from the solution by
    /// those differences times the coefficients, which under collinearity
    /// costs dozens of iterations.
    fn coefficients_for(&self, to: &Preprocessor) -> (Vec<f64>, f64) {
        let from = &self.preprocessor;
        if from == to {
            return (self.coefficients.clone(), self.intercept);
        }
        let mut intercept = self.intercept;
        let mut slope_of = std::collections::HashMap::new();
        for (j, name) in from.output_names.iter().enumerate() {
            let slope = self.coefficients[j] / from.sds[j];
            intercept -= slope * from.means[j];
            slope_of.insert(name.as_str(), slope);
        }
        let coefficients = to
            .output_names
            .iter()
            .enumerate()
            .map(|(j, name)| {
                let slope = slope_of.get(name.as_str()).copied().unwrap_or(0.0);
                intercept += slope * to.means[j];
                slope * to.sds[j]
            })
            .collect();
        (coefficients, intercept)
    }
}

/// Optimizer output in our orientation (positive = more likely `true`).
struct Solved {
    coefficients: Vec<f64>,
    intercept: f64,
    gradient_norm: f64,
    converged: bool,
    /// Only known when not converged: whether the iteration limit stopped it.
    hit_iteration_limit: Option<bool>,
}

impl PropensityValidParams {
    pub fn alphas(&self) -> &[f64] {
        &self.alphas
    }

    pub fn max_iterations(&self) -> u64 {
        self.max_iterations
    }

    pub fn gradient_tolerance(&self) -> f64 {
        self.gradient_tolerance
    }

    pub fn tuning_fraction(&self) -> f64 {
        self.tuning_fraction
    }

    /// Fit a propensity model for `target` on exactly the rows given.
    ///
    /// This function only ever sees the rows it is given: the caller must
    /// remove its outer out-of-time holdout (and anything later) *before*
    /// calling, or the holdout leaks into the preprocessor, the alpha choice
    /// and the coefficients.
    ///
    /// `columns` is column-major raw features (NaN = missing), `labels[i]`
    /// the outcome of row `i`, `fold[i]` its month index (rows are stacked
    /// monthly snapshots). Alpha is chosen out of time within these rows:
    /// preprocessor and model are fitted on rows with `fold < cut` and scored
    /// by mean log loss on rows with `fold >= cut`, where `cut` holds out the
    /// latest `tuning_fraction` of the distinct folds (at least one, never
    /// all). The lowest loss wins; losses within a relative [`TIE`] count as a
    /// tie and the larger alpha (more regularization) wins. The preprocessor
    /// and model are then refitted on all given rows with that alpha.
    ///
    /// Errors: no rows, mismatched lengths, a single class in `labels` (or
    /// in the tuning-training rows), fewer than two distinct folds with more
    /// than one alpha, infinite inputs, non-finite values after
    /// preprocessing, or a solver error.
    pub fn fit(
        &self,
        target: &str,
        names: &[String],
        transforms: &[Transform],
        columns: &[&[f64]],
        labels: &[bool],
        fold: &[u32],
    ) -> Result<FitReport> {
        let shapes = Design {
            target,
            names,
            transforms,
            columns,
        };
        shapes.check_names()?;
        if fold.len() != labels.len() {
            return Err(Error::Model(format!(
                "{target}: {} fold values for {} labels",
                fold.len(),
                labels.len()
            )));
        }
        shapes.check_rows(labels.len())?;
        if labels.is_empty() {
            return Err(Error::Model(format!(
                "{target}: no training rows; cannot fit"
            )));
        }
        check_two_classes(target, labels, "training rows", "fit")?;
        let design = self.design(target, names, transforms, columns, fold)?;
        self.fit_design(target, &design, labels)
    }

    /// Prepare the rows every target of [`Self::fit_design`] will be fitted
    /// on: the alpha search's split and standardized rows, and the
    /// standardized design of all rows. `what` names the targets in
    /// messages. Errors as [`Self::fit`], except the label checks.
    pub fn design(
        &self,
        what: &str,
        names: &[String],
        transforms: &[Transform],
        columns: &[&[f64]],
        fold: &[u32],
    ) -> Result<SharedDesign> {
        let design = Design {
            target: what,
            names,
            transforms,
            columns,
        };
        design.check_names()?;
        design.check_rows(fold.len())?;
        if fold.is_empty() {
            return Err(Error::Model(format!(
                "{what}: no training rows; cannot fit"
            )));
        }
        let search = if self.alphas.len() == 1 {
            None
        } else {
            let cut = tuning_cut(fold, self.tuning_fraction).ok_or_else(|| {
                Error::Model(format!(
                    "{what}: choosing alpha out of time needs at least 2 distinct folds \
                     (months), got 1 (fold {}); give a single alpha to skip the search",
                    fold[0]
                ))
            })?;
            let embargo = self.embargo as u64;
            let train: Vec<usize> = (0..fold.len())
                .filter(|&i| fold[i] < cut && fold[i] as u64 + embargo <= cut as u64)
                .collect();
            let tune: Vec<usize> = (0..fold.len()).filter(|&i| fold[i] >= cut).collect();
            if train.is_empty() {
                return Err(Error::Model(format!(
                    "{what}: no alpha-search training rows (folds < {cut} with fold + \
                     {embargo} <= {cut}); cannot tune alpha"
                )));
            }
            let prepared = prepare(&design, Some(&train))?;
            let tune_cols = gather_columns(columns, &tune);
            let tune_refs: Vec<&[f64]> = tune_cols.iter().map(Vec::as_slice).collect();
            Some(SearchDesign {
                cut,
                embargo,
                tune_x: prepared.preprocessor.transform(&tune_refs),
                train,
                tune,
                prepared,
            })
        };
        let full = prepare(&design, None)?;
        Ok(SharedDesign {
            rows: fold.len(),
            search,
            full,
        })
    }

    /// Fit a propensity model for `target` with `labels` (one per row of
    /// `design`), as [`Self::fit`] describes.
    pub fn fit_design(
        &self,
        target: &str,
        design: &SharedDesign,
        labels: &[bool],
    ) -> Result<FitReport> {
        if labels.len() != design.rows {
            return Err(Error::Model(format!(
                "{target}: {} labels for a design of {} rows",
                labels.len(),
                design.rows
            )));
        }
        check_two_classes(target, labels, "training rows", "fit")?;

        let mut warnings = Vec::new();
        let (alpha, alpha_search, tuning_from_fold, alpha_search_start) = match &design.search {
            None => (self.alphas[0], Vec::new(), None, None),
            Some(search) => {
                let (alpha, scores, start) =
                    self.select_alpha(target, search, labels, &mut warnings)?;
                (alpha, scores, Some(search.cut), Some(start))
            }
        };
        // The final fit starts from the chosen alpha's search solution: the
        // same penalty on a superset of its rows.
        let start = alpha_search_start;

        let model = self.fit_prepared(
            target,
            &design.full,
            labels,
            alpha,
            "final fit",
            start.as_ref(),
            &mut warnings,
        )?;
        Ok(FitReport {
            model,
            alpha_search,
            tuning_from_fold,
            warnings,
        })
    }

    /// Run the out-of-time alpha search; returns the chosen alpha, one score
    /// per alpha (ascending) and the chosen alpha's solution (a warm start
    /// for the final fit).
    fn select_alpha(
        &self,
        target: &str,
        search: &SearchDesign,
        labels: &[bool],
        warnings: &mut Vec<String>,
    ) -> Result<(f64, Vec<AlphaScore>, Start)> {
        let SearchDesign {
            cut,
            embargo,
            train,
            tune,
            tune_x,
            prepared,
        } = search;
        let train_what =
            format!("alpha-search training rows (folds < {cut} with fold + {embargo} <= {cut})");
        let train_labels = gather_labels(labels, train);
        check_two_classes(target, &train_labels, &train_what, "tune alpha")?;
        let tune_labels = gather_labels(labels, tune);
        if tune_labels.iter().all(|&y| y == tune_labels[0]) {
            warnings.push(format!(
                "{target}: all {} tuning rows (folds >= {cut}) have label {}; \
                 the alpha choice is weakly informed",
                thousands(tune.len()),
                tune_labels[0]
            ));
        }

        // A regularization path: from the strongest penalty (a quick,
        // well-conditioned solve) down to the weakest, each fit starting
        // from the previous solution. That costs about one cold fit plus a
        // few iterations per further alpha, on one thread, where
        // independent cold fits cost one full fit each; callers run their
        // targets side by side instead. Deterministic: the path order is
        // fixed.
        let mut fits: Vec<(AlphaScore, Start, Vec<String>)> = Vec::with_capacity(self.alphas.len());
        for &alpha in self.alphas.iter().rev() {
            let what = format!(
                "alpha search (alpha {alpha}, folds < {cut}, {} rows)",
                thousands(train.len())
            );
            let mut w = Vec::new();
            let start = fits.last().map(|(_, s, _)| s);
            let model =
                self.fit_prepared(target, prepared, &train_labels, alpha, &what, start, &mut w)?;
            let score = AlphaScore {
                alpha,
                tuning_log_loss: model.mean_log_loss(tune_x, &tune_labels),
                converged: model.converged,
            };
            fits.push((score, Start::of(&model), w));
        }
        fits.reverse(); // grid order, ascending
        let mut search = Vec::with_capacity(fits.len());
        let mut starts = Vec::with_capacity(fits.len());
        for (score, start, w) in fits {
            search.push(score);
            starts.push(start);
            warnings.extend(w);
        }

        // Largest alpha first, so that a tie keeps the stronger penalty.
        let mut best = search.len() - 1;
        for (i, s) in search.iter().enumerate().rev().skip(1) {
            let b = &search[best];
            let better = s.tuning_log_loss < b.tuning_log_loss * (1.0 - TIE)
                || (b.tuning_log_loss.is_nan() && !s.tuning_log_loss.is_nan());
            if better {
                best = i;
            }
        }
        let alpha = search[best].alpha;
        let start = starts.swap_remove(best);
        if alpha == *self.alphas.last().expect("alphas is not empty") {
            warnings.push(format!(
                "{target}: the largest alpha in the grid ({alpha}) was chosen; \
                 a stronger penalty might do better"
            ));
        }
        Ok((alpha, search, start))
    }

    /// Solve for one alpha and wrap the result in our own model; adds a
    /// warning when the solver did not converge.
    #[allow(clippy::too_many_arguments)]
    fn fit_prepared(
        &self,
        target: &str,
        prepared: &Prepared,
        y: &[bool],
        alpha: f64,
        what: &str,
        start: Option<&Start>,
        warnings: &mut Vec<String>,
    ) -> Result<LogisticModel> {
        let start = start.map(|s| s.coefficients_for(&prepared.preprocessor));
        let mut solved = self.solve(target, prepared, y, alpha, start.as_ref())?;
        // Back to every output column; constant ones keep coefficient 0.
        let mut coefficients = vec![0.0; prepared.preprocessor.n_outputs()];
        for (&j, c) in prepared.active.iter().zip(&solved.coefficients) {
            coefficients[j] = *c;
        }
        solved.coefficients = coefficients;
        if !solved.converged {
            let why = match solved.hit_iteration_limit {
                Some(true) => format!(
                    "stopped at its iteration limit of {}; raise max_iterations",
                    self.max_iterations
                ),
                _ => "stopped before its iteration limit without meeting the tolerance \
                      (line search made no progress)"
                    .to_string(),
            };
            warnings.push(format!(
                "{target}: {what}: optimizer {why}; gradient norm per row {:.3e} > tolerance {:.1e}",
                solved.gradient_norm, self.gradient_tolerance
            ));
        }
        Ok(LogisticModel {
            target: target.to_string(),
            feature_names: prepared.preprocessor.output_names.clone(),
            coefficients: solved.coefficients,
            intercept: solved.intercept,
            alpha,
            max_iterations: self.max_iterations,
            gradient_norm: solved.gradient_norm,
            converged: solved.converged,
            preprocessor: prepared.preprocessor.clone(),
        })
    }

    /// Fit with linfa, orient the result, and check convergence (see the
    /// module docs).
    /// `start` is over every output column, the result over the active ones.
    fn solve(
        &self,
        target: &str,
        prepared: &Prepared,
        y: &[bool],
        alpha: f64,
        start: Option<&(Vec<f64>, f64)>,
    ) -> Result<Solved> {
        let x = &prepared.x;
        let start = start.map(|(c, b)| {
            let active: Vec<f64> = prepared.active.iter().map(|&j| c[j]).collect();
            (active, *b)
        });
        let start = start.as_ref();
        let (coefficients, intercept) =
            self.linfa_fit(target, x, y, alpha, self.max_iterations, start)?;
        let gradient_norm = mean_gradient_norm(x, y, &coefficients, intercept, alpha);
        let converged = gradient_norm <= self.gradient_tolerance;
        let hit_iteration_limit = if converged {
            None
        } else {
            let (c2, b2) = self.linfa_fit(target, x, y, alpha, self.max_iterations + 1, start)?;
            Some(c2 != coefficients || b2 != intercept)
        };
        Ok(Solved {
            coefficients,
            intercept,
            gradient_norm,
            converged,
            hit_iteration_limit,
        })
    }

    /// One linfa fit; returns (coefficients, intercept) oriented so that
    /// positive means "more likely `true`".
    fn linfa_fit(
        &self,
        target: &str,
        x: &Array2<f64>,
        y: &[bool],
        alpha: f64,
        max_iterations: u64,
        start: Option<&(Vec<f64>, f64)>,
    ) -> Result<(Vec<f64>, f64)> {
        let model_err = |e: linfa_logistic::error::Error| Error::Model(format!("{target}: {e}"));
        // linfa labels the *more frequent* class +1 (ties: the first seen),
        // whatever its docs say about ordering, and its parameters give the
        // log-odds of that class. For churn that is usually `false`.
        let sign = if linfa_positive_is_true(y) { 1.0 } else { -1.0 };
        let mut params = LogisticRegression::<f64>::new()
            .alpha(alpha)
            .max_iterations(max_iterations)
            .gradient_tolerance(self.gradient_tolerance * y.len() as f64)
            .lbfgs_memory(LBFGS_MEMORY)
            .with_intercept(true);
        if let Some((coefficients, intercept)) = start {
            // linfa's parameter vector: the weights, then the intercept, in
            // its own orientation.
            let w: Array1<f64> = coefficients
                .iter()
                .chain(std::iter::once(intercept))
                .map(|v| sign * v)
                .collect();
            params = params.initial_params(w);
        }
        let params = params.check().map_err(model_err)?;
        debug_assert!(x.is_standard_layout(), "row-major design");
        let dataset = DatasetBase::new(x.view(), Array1::from(y.to_vec()));
        let fitted = params.fit(&dataset).map_err(model_err)?;
        debug_assert_eq!(fitted.labels().pos.class, sign > 0.0);
        let coefficients = fitted.params().iter().map(|w| sign * w).collect();
        Ok((coefficients, sign * fitted.intercept()))
    }
}

/// Which class linfa-logistic 0.8.1 calls positive (`label_classes` in its
/// `lib.rs`): the more frequent one, the first seen on a tie. We need it
/// before fitting to orient a warm start.
fn linfa_positive_is_true(y: &[bool]) -> bool {
    let trues = y.iter().filter(|&&v| v).count();
    let falses = y.len() - trues;
    trues > falses || (trues == falses && y.first() == Some(&true))
}

/// Fit the preprocessor on `rows` (all rows when `None`) and standardize
/// them; nothing outside `rows` is read.
fn prepare(design: &Design, rows: Option<&[usize]>) -> Result<Prepared> {
    let Design {
        target,
        names,
        transforms,
        columns,
        ..
    } = *design;
    let owned;
    let cols: Vec<&[f64]> = match rows {
        None => columns.to_vec(),
        Some(rows) => {
            owned = gather_columns(columns, rows);
            owned.iter().map(Vec::as_slice).collect()
        }
    };
    let preprocessor =
        Preprocessor::fit(names, transforms, &cols).map_err(|e| with_target(target, e))?;
    let rows_major = preprocessor.transform(&cols);
    if let Some((at, v)) = rows_major.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        let p = preprocessor.n_outputs();
        return Err(Error::Model(format!(
            "{target}: feature {} is {v} after preprocessing (row index {} of the fitted rows)",
            preprocessor.output_names[at % p],
            at / p
        )));
    }
    let active: Vec<usize> = (0..preprocessor.n_outputs())
        .filter(|&j| rows_major.column(j).iter().any(|&v| v != 0.0))
        .collect();
    let x = if active.len() == rows_major.ncols() {
        rows_major
    } else {
        // Compacted in place, row after row: an active entry only ever moves
        // to a lower index, so nothing is overwritten before it is read, and
        // no second n x p matrix is allocated (and faulted in) for a design
        // of up to max_fit_rows rows.
        let (n, p) = rows_major.dim();
        let (mut data, offset) = rows_major.into_raw_vec_and_offset();
        let start = offset.unwrap_or(0);
        let k = active.len();
        for i in 0..n {
            for (t, &j) in active.iter().enumerate() {
                data[i * k + t] = data[start + i * p + j];
            }
        }
        data.truncate(n * k);
        data.shrink_to_fit();
        Array2::from_shape_vec((n, k), data)
            .map_err(|e| Error::Model(format!("{target}: design of {n} rows x {k} columns: {e}")))?
    };
    Ok(Prepared {
        preprocessor,
        active,
        x,
    })
}

/// The first fold of the tuning rows: the latest `fraction` of the distinct
/// folds, rounded, at least one and never all. `None` with fewer than two
/// distinct folds.
fn tuning_cut(fold: &[u32], fraction: f64) -> Option<u32> {
    let mut distinct = fold.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let d = distinct.len();
    if d < 2 {
        return None;
    }
    let held_out = ((d as f64 * fraction).round() as usize).clamp(1, d - 1);
    Some(distinct[d - held_out])
}

impl Design<'_> {
    /// Names, transforms and columns agree and there is a column.
    fn check_names(&self) -> Result<()> {
        let Design {
            target,
            names,
            transforms,
            columns,
            ..
        } = *self;
        if names.len() != transforms.len() || names.len() != columns.len() {
            return Err(Error::Model(format!(
                "{target}: got {} feature names, {} transforms and {} columns; they must match",
                names.len(),
                transforms.len(),
                columns.len()
            )));
        }
        if columns.is_empty() {
            return Err(Error::Model(format!(
                "{target}: no feature columns; cannot fit"
            )));
        }
        Ok(())
    }

    /// Every column has `n` values.
    fn check_rows(&self, n: usize) -> Result<()> {
        let Design {
            target,
            names,
            columns,
            ..
        } = *self;
        for (name, col) in names.iter().zip(columns) {
            if col.len() != n {
                return Err(Error::Model(format!(
                    "{target}: column {name} has {} rows for {n} labels",
                    col.len()
                )));
            }
        }
        Ok(())
    }
}

/// "churn: all 5,000 training rows have label false; cannot fit".
fn check_two_classes(target: &str, labels: &[bool], what: &str, action: &str) -> Result<()> {
    match labels.first() {
        None => Err(Error::Model(format!(
            "{target}: no {what}; cannot {action}"
        ))),
        Some(&first) if labels.iter().all(|&y| y == first) => Err(Error::Model(format!(
            "{target}: all {} {what} have label {first}; cannot {action}",
            thousands(labels.len())
        ))),
        Some(_) => Ok(()),
    }
}

fn gather_columns(columns: &[&[f64]], rows: &[usize]) -> Vec<Vec<f64>> {
    columns
        .iter()
        .map(|c| rows.iter().map(|&i| c[i]).collect())
        .collect()
}

fn gather_labels(labels: &[bool], rows: &[usize]) -> Vec<bool> {
    rows.iter().map(|&i| labels[i]).collect()
}

fn with_target(target: &str, err: Error) -> Error {
    if let Error::Model(m) = err {
        Error::Model(format!("{target}: {m}"))
    } else {
        err
    }
}

/// Norm of the gradient of `sum_i logloss_i + alpha / 2 * ||w||^2` (with an
/// unpenalized intercept), divided by `n`.
/// `x` is the design, read row by row; this is written independently of
/// linfa's loss and gradient, as a check on them.
fn mean_gradient_norm(x: &Array2<f64>, y: &[bool], w: &[f64], b: f64, alpha: f64) -> f64 {
    let p = w.len();
    let mut g = vec![0.0; p + 1];
    // Rows as slices (the design is row-major): the per-entry update then
    // runs in vectors, where ndarray's row iterator kept it scalar (~3% of
    // a training run); the same operations, so the same bits.
    for (row, &yi) in x.rows().into_iter().zip(y) {
        let row = row.to_slice().expect("row-major design");
        let z = b + row.iter().zip(w).map(|(xij, wj)| xij * wj).sum::<f64>();
        let r = sigmoid(z) - if yi { 1.0 } else { 0.0 };
        for (gj, xij) in g[..p].iter_mut().zip(row) {
            *gj += xij * r;
        }
        g[p] += r;
    }
    for (gj, wj) in g.iter_mut().zip(w) {
        *gj += alpha * wj;
    }
    g.iter().map(|v| v * v).sum::<f64>().sqrt() / y.len() as f64
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}

/// `1 / (1 + e^-z)` without overflow: `e^-z` is only taken for `z >= 0`.
fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `ln(1 + e^t)` without overflow.
fn softplus(t: f64) -> f64 {
    t.max(0.0) + (-t.abs()).exp().ln_1p()
}

/// `5000` -> `5,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut groups: Vec<&str> = digits
        .as_bytes()
        .rchunks(3)
        .map(|g| std::str::from_utf8(g).expect("ASCII digits"))
        .collect();
    groups.reverse();
    groups.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64 (Steele, Lea & Flood 2014): a tiny seeded generator so
    /// tests need no `rand`.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [0, 1).
        fn uniform(&mut self) -> f64 {
            (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal by Box-Muller.
        fn normal(&mut self) -> f64 {
            let u1 = 1.0 - self.uniform();
            let u2 = self.uniform();
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

    /// linfa's fused loss and gradient (see the vendored `PATCH.md`) runs
    /// AVX2 code where the CPU has it; it must give the portable build's
    /// bits, or bundles would depend on the machine that trained them.
    /// Widths around the 4-wide vectors and row counts around the groups of
    /// 8 and sweeps of 4, margins of both signs and large enough that
    /// `exp(-|m|)` underflows.
    #[test]
    fn avx2_loss_and_gradient_match_portable_bit_for_bit() {
        let mut rng = Rng(7);
        let mut compared = 0;
        for p in [1, 2, 3, 4, 5, 7, 8, 9, 31, 70] {
            for n in [1, 3, 4, 7, 8, 9, 13, 100, 1001] {
                let scale = if n == 100 { 400.0 } else { 3.0 };
                let xs: Vec<f64> = (0..n * p).map(|_| rng.normal() * scale).collect();
                let ys: Vec<f64> = (0..n)
                    .map(|_| if rng.uniform() < 0.3 { 1.0 } else { -1.0 })
                    .collect();
                let ws: Vec<f64> = (0..=p).map(|_| rng.normal()).collect();
                let builds = linfa_logistic::fused_loss_and_grad_builds(&xs, p, &ys, 0.7, &ws);
                let bits = |(loss, grad): &(f64, Array1<f64>)| {
                    let mut b = vec![loss.to_bits()];
                    b.extend(grad.iter().map(|g| g.to_bits()));
                    b
                };
                assert!(builds[0].0.is_finite() && builds[0].0 > 0.0);
                for other in &builds[1..] {
                    assert_eq!(bits(&builds[0]), bits(other), "p {p}, n {n}");
                    compared += 1;
                }
            }
        }
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            assert_eq!(compared, 90, "every case compared with the AVX2 build");
        }
    }

    struct Data {
        names: Vec<String>,
        transforms: Vec<Transform>,
        columns: Vec<Vec<f64>>,
        labels: Vec<bool>,
        fold: Vec<u32>,
    }

    impl Data {
        fn cols(&self) -> Vec<&[f64]> {
            self.columns.iter().map(Vec::as_slice).collect()
        }

        fn fit(&self, params: PropensityParams) -> Result<FitReport> {
            params.check()?.fit(
                "churn",
                &self.names,
                &self.transforms,
                &self.cols(),
                &self.labels,
                &self.fold,
            )
        }

        fn base_rate(&self) -> f64 {
            self.labels.iter().filter(|&&y| y).count() as f64 / self.labels.len() as f64
        }
    }

    /// Standard-normal features, `y ~ Bernoulli(sigmoid(b0 + x . betas))`,
    /// folds `0..n_folds` interleaved.
    fn simulate(n: usize, b0: f64, betas: &[f64], n_folds: u32, seed: u64) -> Data {
        let mut rng = Rng(seed);
        let k = betas.len();
        let mut columns = vec![Vec::with_capacity(n); k];
        let mut labels = Vec::with_capacity(n);
        for _ in 0..n {
            let mut z = b0;
            for (col, beta) in columns.iter_mut().zip(betas) {
                let x = rng.normal();
                z += beta * x;
                col.push(x);
            }
            labels.push(rng.uniform() < sigmoid(z));
        }
        Data {
            names: (1..=k).map(|j| format!("x{j}")).collect(),
            transforms: vec![Transform::Identity; k],
            columns,
            labels,
            fold: (0..n as u32).map(|i| i % n_folds).collect(),
        }
    }

    #[test]
    fn recovers_known_coefficients_signs_and_ranking() {
        let betas = [1.5, -0.8, 0.3, 0.0];
        let data = simulate(20_000, -1.0, &betas, 12, 7);

        // Closeness: with a negligible penalty the fit is the MLE, whose
        // standard errors are about 0.02 at n = 20k; 0.08 is ~4 of them.
        let weak = data
            .fit(PropensityParams::new().alphas(vec![1e-3]))
            .unwrap();
        let m = &weak.model;
        assert!(m.converged, "{:?}", weak.warnings);
        assert_eq!(m.feature_names, ["x1", "x2", "x3", "x4"]);
        // Back to raw units: coefficient / training sd.
        let raw: Vec<f64> = (0..4)
            .map(|j| m.coefficients[j] / m.preprocessor.sds[j])
            .collect();
        for (r, b) in raw.iter().zip(&betas) {
            assert!((r - b).abs() < 0.08, "estimated {raw:?}, true {betas:?}");
        }
        // Intercept in standardized space: b0 + sum_j beta_j * mean_j ~ b0.
        assert!(
            (m.intercept + 1.0).abs() < 0.08,
            "intercept {}",
            m.intercept
        );

        // Signs and ranking survive the tuned penalty (the search may pick
        // some shrinkage; here it chose alpha 100).
        let tuned = data.fit(PropensityParams::default()).unwrap();
        assert_eq!(tuned.alpha_search.len(), 5);
        assert_eq!(tuned.tuning_from_fold, Some(9));
        let c = &tuned.model.coefficients;
        assert!(c[0] > 0.0 && c[1] < 0.0 && c[2] > 0.0, "{c:?}");
        let abs: Vec<f64> = c.iter().map(|c| c.abs()).collect();
        assert!(
            abs[0] > abs[1] && abs[1] > abs[2] && abs[2] > abs[3],
            "{c:?}"
        );
    }

    #[test]
    fn predict_proba_matches_manual_formula() {
        let mut data = simulate(2_000, -0.5, &[1.0, -1.0], 4, 11);
        // Make x2 a count with some missing values, to exercise log1p and a flag.
        for (i, v) in data.columns[1].iter_mut().enumerate() {
            *v = if i % 10 == 3 {
                f64::NAN
            } else {
                (v.abs() * 5.0).floor()
            };
        }
        data.transforms[1] = Transform::Log1p;
        let m = data
            .fit(PropensityParams::new().alphas(vec![1.0]))
            .unwrap()
            .model;
        assert_eq!(m.feature_names, ["x1", "x2", "x2_missing"]);

        let pp = &m.preprocessor;
        for raw in [[0.3, 7.0], [-1.2, f64::NAN], [2.0, 0.0]] {
            // By hand: transform, impute, flag, standardize, linear, sigmoid.
            let x1 = (raw[0] - pp.means[0]) / pp.sds[0];
            let t2 = if raw[1].is_nan() {
                pp.inputs[1].median
            } else {
                (1.0 + raw[1]).ln()
            };
            let x2 = (t2 - pp.means[1]) / pp.sds[1];
            let flag = if raw[1].is_nan() { 1.0 } else { 0.0 };
            let x3 = (flag - pp.means[2]) / pp.sds[2];
            let z = m.intercept
                + m.coefficients[0] * x1
                + m.coefficients[1] * x2
                + m.coefficients[2] * x3;
            let p = 1.0 / (1.0 + (-z).exp());
            assert!((m.predict_proba(&raw) - p).abs() < 1e-12);

            let sum: f64 = m.contributions(&raw).iter().map(|(_, c)| c).sum();
            assert!((m.intercept + sum - z).abs() < 1e-12);

            // Scoring's one-transform form gives the two calls' bits.
            let (both_p, both_parts) = m.predict_proba_and_contributions(&raw);
            assert_eq!(both_p.to_bits(), m.predict_proba(&raw).to_bits());
            let bits = |v: Vec<(usize, f64)>| -> Vec<(usize, u64)> {
                v.into_iter().map(|(i, c)| (i, c.to_bits())).collect()
            };
            let both_parts = both_parts.into_iter().enumerate().collect();
            assert_eq!(bits(both_parts), bits(m.contributions(&raw)));
        }

        let matrix = m.predict_proba_matrix(&data.cols());
        let row7 = [data.columns[0][7], data.columns[1][7]];
        assert_eq!(matrix[7], m.predict_proba(&row7));

        // Extreme log-odds stay finite and in [0, 1].
        let mut extreme = m.clone();
        extreme.intercept = 800.0;
        assert_eq!(extreme.predict_proba(&[0.0, 1.0]), 1.0);
        extreme.intercept = -800.0;
        let p = extreme.predict_proba(&[0.0, 1.0]);
        assert!((0.0..1e-300).contains(&p));
    }

    #[test]
    fn shared_design_fits_as_separate_fits_do() {
        // Two targets on the same rows: one design, two label vectors, and
        // each report equals what a fit of its own gives.
        let a = simulate(3_000, -1.0, &[1.0, -0.5], 6, 11);
        let b = simulate(3_000, 0.5, &[-0.3, 0.8], 6, 12);
        let params = PropensityParams::new()
            .alphas(vec![0.1, 10.0])
            .check()
            .unwrap();
        let cols = a.cols();
        let design = params
            .design("both", &a.names, &a.transforms, &cols, &a.fold)
            .unwrap();
        assert_eq!(design.n_rows(), 3_000);
        for labels in [&a.labels, &b.labels] {
            let shared = params.fit_design("t", &design, labels).unwrap();
            let own = params
                .fit("t", &a.names, &a.transforms, &cols, labels, &a.fold)
                .unwrap();
            assert_eq!(shared, own);
        }
        let err = params.fit_design("t", &design, &a.labels[1..]).unwrap_err();
        assert!(
            matches!(&err, Error::Model(m) if m == "t: 2999 labels for a design of 3000 rows"),
            "{err}"
        );
    }

    #[test]
    fn preprocessor_uses_training_medians_only() {
        let mut data = simulate(4_000, -0.5, &[1.0, 0.5], 8, 3);
        let cut = tuning_cut(&data.fold, 0.25).unwrap();
        assert_eq!(cut, 6);
        let train: Vec<usize> = (0..4_000).filter(|&i| data.fold[i] < cut).collect();
        let fit_train = |d: &Data| {
            let cols = d.cols();
            let design = Design {
                target: "churn",
                names: &d.names,
                transforms: &d.transforms,
                columns: &cols,
            };
            prepare(&design, Some(&train)).unwrap()
        };
        let before = fit_train(&data);

        // The training median, computed independently by sorting.
        let mut v: Vec<f64> = train.iter().map(|&i| data.columns[0][i]).collect();
        v.sort_by(f64::total_cmp);
        let median = (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0;
        assert_eq!(before.preprocessor.inputs[0].median, median);

        // Wreck every tuning row: huge values and missing values.
        for i in (0..4_000).filter(|&i| data.fold[i] >= cut) {
            data.columns[0][i] = 1e9;
            data.columns[1][i] = f64::NAN;
            data.labels[i] = !data.labels[i];
        }
        let after = fit_train(&data);
        assert_eq!(before.preprocessor, after.preprocessor);
        assert_eq!(before.x, after.x);
        assert_eq!(after.preprocessor.output_names, ["x1", "x2"]);
    }

    #[test]
    fn missing_flag_added_only_when_training_had_missing() {
        let mut data = simulate(1_000, 0.0, &[1.0, 1.0], 4, 5);
        data.columns[0][17] = f64::NAN;
        let m = data
            .fit(PropensityParams::new().alphas(vec![1.0]))
            .unwrap()
            .model;
        assert_eq!(m.feature_names, ["x1", "x2", "x1_missing"]);
        // x2 never missing in training: at scoring it is imputed, no flag.
        let p_missing = m.predict_proba(&[0.5, f64::NAN]);
        let p_median = m.predict_proba(&[0.5, m.preprocessor.inputs[1].median]);
        assert_eq!(p_missing, p_median);
    }

    #[test]
    fn alpha_search_keeps_its_embargo() {
        // Folds 0..8, tuning from 6; with embargo 2 the fit rows are folds
        // 0..=4: flipping every label in fold 5 (inside the gap) must leave
        // the search bit-identical, and without the embargo it does not.
        let data = simulate(4_000, -1.0, &[1.5, -0.5], 8, 5);
        let flipped = Data {
            labels: data
                .labels
                .iter()
                .zip(&data.fold)
                .map(|(&y, &f)| if f == 5 { !y } else { y })
                .collect(),
            names: data.names.clone(),
            transforms: data.transforms.clone(),
            columns: data.columns.clone(),
            fold: data.fold.clone(),
        };
        let grid = PropensityParams::new().alphas(vec![1.0, 100.0]);
        let with = |d: &Data, e: u32| d.fit(grid.clone().embargo(e)).unwrap();
        assert_eq!(with(&data, 2).tuning_from_fold, Some(6));
        assert_eq!(with(&data, 2).alpha_search, with(&flipped, 2).alpha_search);
        assert_ne!(with(&data, 0).alpha_search, with(&flipped, 0).alpha_search);
    }

    #[test]
    fn alpha_selected_on_latest_folds() {
        // Months 100..=107; the latest quarter (106, 107) is the tuning set.
        // In `drifted`, x predicts churn in months 100-105 but is pure noise
        // in 106-107, so only a strong penalty does well on the tuning rows;
        // tuning on any earlier months would pick the weak penalty instead.
        let make = |drift: bool| {
            let mut rng = Rng(21);
            let n = 8_000;
            let mut x = Vec::with_capacity(n);
            let mut labels = Vec::with_capacity(n);
            let fold: Vec<u32> = (0..n as u32).map(|i| 100 + (i * 5) % 8).collect();
            for &f in &fold {
                let xi = rng.normal();
                let slope = if drift && f >= 106 { 0.0 } else { 3.0 };
                labels.push(rng.uniform() < sigmoid(-1.0 + slope * xi));
                x.push(xi);
            }
            Data {
                names: vec!["x".into()],
                transforms: vec![Transform::Identity],
                columns: vec![x],
                labels,
                fold,
            }
        };
        let grid = PropensityParams::new().alphas(vec![1e-2, 1e5]);

        let drifted = make(true).fit(grid.clone()).unwrap();
        assert_eq!(drifted.tuning_from_fold, Some(106));
        assert_eq!(drifted.alpha_search.len(), 2);
        assert!(drifted.alpha_search[1].tuning_log_loss < drifted.alpha_search[0].tuning_log_loss);
        assert_eq!(drifted.model.alpha, 1e5);

        let stable = make(false).fit(grid).unwrap();
        assert_eq!(stable.model.alpha, 1e-2);
    }

    #[test]
    fn warm_started_path_reaches_the_cold_optimum() {
        // The grid's final fit starts from its search solution; a single
        // alpha fits from zero. Both must land on the same optimum (within
        // what the gradient tolerance allows), for churn-like imbalance
        // where linfa's positive class is `false`.
        let data = simulate(20_000, -2.5, &[1.0, -0.5, 0.25, 0.0], 8, 5);
        let grid = data
            .fit(PropensityParams::new().alphas(vec![0.1, 10.0, 1000.0]))
            .unwrap();
        let cold = data
            .fit(PropensityParams::new().alphas(vec![grid.model.alpha]))
            .unwrap();
        assert!(grid.model.converged && cold.model.converged);
        for (w, c) in grid.model.coefficients.iter().zip(&cold.model.coefficients) {
            assert!(
                (w - c).abs() < 1e-3,
                "{:?} vs {:?}",
                grid.model.coefficients,
                cold.model.coefficients
            );
        }
        assert!((grid.model.intercept - cold.model.intercept).abs() < 1e-3);
        // ...and the orientation helper agrees with linfa's rule.
        assert!(!linfa_positive_is_true(&data.labels));
        assert!(linfa_positive_is_true(&[true, false]));
        assert!(!linfa_positive_is_true(&[false, true]));
        assert!(linfa_positive_is_true(&[true, true, false]));
    }

    #[test]
    fn warm_start_keeps_its_linear_predictor_under_another_standardization() {
        // A model standardized on one half of the rows, restated for the
        // preprocessor of the other half: same log-odds on every raw row.
        let data = simulate(2_000, -1.0, &[1.0, -0.5, 0.3], 4, 23);
        let model = data
            .fit(PropensityParams::new().alphas(vec![1.0]))
            .unwrap()
            .model;
        let half: Vec<usize> = (0..1_000).collect();
        let other = Preprocessor::fit(
            &data.names,
            &data.transforms,
            &gather_columns(&data.cols(), &half)
                .iter()
                .map(Vec::as_slice)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_ne!(other, model.preprocessor);
        let (coefficients, intercept) = Start::of(&model).coefficients_for(&other);
        let moved = LogisticModel {
            coefficients,
            intercept,
            preprocessor: other,
            ..model.clone()
        };
        for i in [0, 17, 1_500, 1_999] {
            let row: Vec<f64> = data.columns.iter().map(|c| c[i]).collect();
            assert!((moved.log_odds(&row) - model.log_odds(&row)).abs() < 1e-12);
        }
    }

    #[test]
    fn constant_columns_are_left_out_of_the_solve() {
        // x2 is constant on the fitted rows: the solver never sees it and
        // its coefficient is exactly 0; x1 is fitted as usual.
        let mut data = simulate(4_000, -1.0, &[1.0, 0.0], 4, 29);
        data.columns[1].iter_mut().for_each(|v| *v = 3.0);
        let cols = data.cols();
        let design = Design {
            target: "churn",
            names: &data.names,
            transforms: &data.transforms,
            columns: &cols,
        };
        let prepared = prepare(&design, None).unwrap();
        assert_eq!(prepared.active, [0]);
        assert_eq!(prepared.x.ncols(), 1);
        let m = data
            .fit(PropensityParams::new().alphas(vec![0.1, 10.0]))
            .unwrap()
            .model;
        assert!(m.converged);
        assert_eq!(m.coefficients[1], 0.0);
        assert!(m.coefficients[0] > 0.5, "{:?}", m.coefficients);
    }

    #[test]
    fn suppressors_are_coefficients_against_their_own_association() {
        // x2 is x1 plus a little noise; the truth is 2·x1 − 1·x2, so x2 on
        // its own goes with the label (through x1) but its coefficient is
        // negative: a suppressor. x1 and the independent x3 are not.
        let mut rng = Rng(17);
        let n = 20_000;
        let (mut x1, mut x2, mut x3, mut labels) = (vec![], vec![], vec![], vec![]);
        for _ in 0..n {
            let a = rng.normal();
            let b = a + 0.5 * rng.normal();
            let c = rng.normal();
            labels.push(rng.uniform() < sigmoid(-1.0 + 2.0 * a - b + 0.8 * c));
            x1.push(a);
            x2.push(b);
            x3.push(c);
        }
        let data = Data {
            names: vec!["x1".into(), "x2".into(), "x3".into()],
            transforms: vec![Transform::Identity; 3],
            columns: vec![x1, x2, x3],
            labels,
            fold: (0..n as u32).map(|i| i % 4).collect(),
        };
        let model = data
            .fit(PropensityParams::new().alphas(vec![1.0]))
            .unwrap()
            .model;
        assert!(model.coefficients[1] < 0.0, "{:?}", model.coefficients);
        let (probs, suppressors) = model.predict_proba_and_suppressors(&data.cols(), &data.labels);
        assert_eq!(suppressors, ["x2"]);
        let each = model.predict_proba_matrix(&data.cols());
        let bits = |v: &[f64]| v.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            bits(&probs),
            bits(&each),
            "the same probabilities to the bit"
        );
    }

    #[test]
    fn ties_prefer_larger_alpha() {
        // A constant feature standardizes to 0, so every alpha gives the same
        // model and the same tuning loss.
        let mut data = simulate(1_000, -1.0, &[0.0], 4, 9);
        data.columns[0].iter_mut().for_each(|v| *v = 2.0);
        let report = data
            .fit(PropensityParams::new().alphas(vec![0.1, 1.0, 10.0]))
            .unwrap();
        let losses: Vec<f64> = report
            .alpha_search
            .iter()
            .map(|s| s.tuning_log_loss)
            .collect();
        assert!(losses.iter().all(|&l| l == losses[0]), "{losses:?}");
        assert_eq!(report.model.alpha, 10.0);
    }

    #[test]
    fn reports_non_convergence() {
        let data = simulate(5_000, -1.0, &[1.5, -0.8], 4, 13);
        let report = data
            .fit(
                PropensityParams::new()
                    .alphas(vec![0.1, 1.0])
                    .max_iterations(1),
            )
            .unwrap();
        assert!(!report.model.converged);
        assert!(report.model.gradient_norm > 1e-6);
        assert!(report.alpha_search.iter().all(|s| !s.converged));
        assert_eq!(
            report
                .warnings
                .iter()
                .filter(|w| w.contains("iteration limit of 1"))
                .count(),
            3
        );
        assert!(report.warnings.iter().any(|w| w.contains("final fit")));

        let ok = data.fit(PropensityParams::new().alphas(vec![1.0])).unwrap();
        assert!(
            ok.model.converged && ok.warnings.is_empty(),
            "{:?}",
            ok.warnings
        );
    }

    #[test]
    fn calibrated_under_imbalance() {
        let (b0, betas) = (-4.0, [0.8, 0.5]);
        let train = simulate(20_000, b0, &betas, 8, 17);
        let base = train.base_rate();
        assert!((0.02..0.045).contains(&base), "base rate {base}");
        let m = train.fit(PropensityParams::default()).unwrap().model;
        let p = m.predict_proba_matrix(&train.cols());
        let mean = p.iter().sum::<f64>() / p.len() as f64;
        assert!(
            (mean - base).abs() < 0.005,
            "mean {mean} vs base rate {base}"
        );

        // Reliability on a fresh sample: in each fifth of the predictions,
        // the observed rate is within 3 binomial standard errors (+0.005) of
        // the mean prediction.
        let fresh = simulate(40_000, b0, &betas, 8, 18);
        let q = m.predict_proba_matrix(&fresh.cols());
        let mut order: Vec<usize> = (0..q.len()).collect();
        order.sort_by(|&a, &b| q[a].total_cmp(&q[b]));
        for bin in order.chunks(q.len() / 5) {
            let k = bin.len() as f64;
            let pred = bin.iter().map(|&i| q[i]).sum::<f64>() / k;
            let obs = bin.iter().filter(|&&i| fresh.labels[i]).count() as f64 / k;
            let se = (pred * (1.0 - pred) / k).sqrt();
            assert!(
                (obs - pred).abs() < 3.0 * se + 0.005,
                "bin: predicted {pred}, observed {obs}"
            );
        }
        let fresh_mean = q.iter().sum::<f64>() / q.len() as f64;
        assert!((fresh_mean - fresh.base_rate()).abs() < 0.005);
    }

    #[test]
    fn rejects_single_class() {
        let mut data = simulate(5_000, 0.0, &[1.0], 4, 1);
        data.labels.iter_mut().for_each(|y| *y = false);
        let err = data.fit(PropensityParams::default()).unwrap_err();
        assert!(
            matches!(err, Error::Model(ref m) if m == "churn: all 5,000 training rows have label false; cannot fit"),
            "{err}"
        );
    }

    #[test]
    fn rejects_single_class_in_tuning_training_rows() {
        let mut data = simulate(1_000, 0.0, &[1.0], 4, 2);
        for i in 0..1_000 {
            data.labels[i] = data.fold[i] == 3 && (i / 4) % 2 == 0;
        }
        let err = data.fit(PropensityParams::default()).unwrap_err();
        assert!(
            matches!(err, Error::Model(ref m) if m.contains("alpha-search training rows (folds < 3 with fold + 0 <= 3)")),
            "{err}"
        );
    }

    #[test]
    fn rejects_bad_shapes_and_empty_input() {
        let data = simulate(100, 0.0, &[1.0], 4, 3);
        let params = PropensityParams::default().check().unwrap();
        let err = params
            .fit(
                "churn",
                &data.names,
                &data.transforms,
                &data.cols(),
                &data.labels[..99],
                &data.fold[..99],
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::Model(ref m) if m.contains("column x1 has 100 rows for 99 labels"))
        );
        let err = params
            .fit(
                "churn",
                &data.names,
                &data.transforms,
                &data.cols(),
                &data.labels,
                &data.fold[..5],
            )
            .unwrap_err();
        assert!(matches!(err, Error::Model(_)));
        let empty: [f64; 0] = [];
        let err = params
            .fit("churn", &data.names, &data.transforms, &[&empty], &[], &[])
            .unwrap_err();
        assert!(matches!(err, Error::Model(ref m) if m == "churn: no training rows; cannot fit"));
    }

    #[test]
    fn rejects_single_fold_with_a_grid() {
        let mut data = simulate(500, 0.0, &[1.0], 4, 4);
        data.fold.iter_mut().for_each(|f| *f = 7);
        let err = data.fit(PropensityParams::default()).unwrap_err();
        assert!(matches!(err, Error::Model(ref m) if m.contains("at least 2 distinct folds")));
        // A single alpha needs no search.
        let report = data.fit(PropensityParams::new().alphas(vec![1.0])).unwrap();
        assert!(report.alpha_search.is_empty() && report.tuning_from_fold.is_none());
    }

    #[test]
    fn check_rejects_bad_params() {
        let bad = [
            PropensityParams::new().alphas(vec![]),
            PropensityParams::new().alphas(vec![1.0, -1.0]),
            PropensityParams::new().alphas(vec![f64::NAN]),
            PropensityParams::new().max_iterations(0),
            PropensityParams::new().gradient_tolerance(0.0),
            PropensityParams::new().tuning_fraction(1.0),
        ];
        for p in bad {
            assert!(matches!(p.check(), Err(Error::InvalidParam(_))));
        }
        let ok = PropensityParams::new()
            .alphas(vec![10.0, 0.1, 10.0])
            .check()
            .unwrap();
        assert_eq!(ok.alphas(), [0.1, 10.0]);
    }

    #[test]
    fn tuning_cut_holds_out_latest_quarter() {
        let folds = |d: u32| (0..d).flat_map(|f| [f, f]).collect::<Vec<u32>>();
        assert_eq!(tuning_cut(&folds(12), 0.25), Some(9));
        assert_eq!(tuning_cut(&folds(4), 0.25), Some(3));
        assert_eq!(tuning_cut(&folds(2), 0.25), Some(1));
        assert_eq!(tuning_cut(&[5, 3, 9, 3], 0.25), Some(9));
        assert_eq!(tuning_cut(&[4, 4], 0.25), None);
    }

    #[test]
    fn model_roundtrips_through_json() {
        let data = simulate(1_000, -1.0, &[1.0, 0.5], 4, 8);
        let m = data
            .fit(PropensityParams::new().alphas(vec![1.0]))
            .unwrap()
            .model;
        let back: LogisticModel =
            serde_json::from_str(&serde_json::to_string(&m).unwrap()).unwrap();
        back.validate().unwrap();
        let row = [0.4, -0.2];
        // serde_json without `float_roundtrip` may move a float by one ulp.
        assert!((back.predict_proba(&row) - m.predict_proba(&row)).abs() < 1e-12);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(5), "5");
        assert_eq!(thousands(5_000), "5,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
