//! RFM segmentation of accounts at one snapshot: quintile scores and the
//! classic three-digit code ("545"), k-means segments with human names, and
//! per-segment profiles.
//!
//! Owns the fitted state as plain serializable values ([`RfmModel`]: cut
//! points, log-scaler, centroids, names) so that scoring new rows needs
//! neither the training data nor linfa. It does not compute recency,
//! frequency or MRR (the snapshot features do) and never builds labels;
//! [`profile`] only summarizes labels the caller already has.
//!
//! Inputs, per account, as three equal-length slices:
//! - `r`: recency in days since the last product event (lower is better),
//! - `f`: active days in the last 90 days (higher is better),
//! - `m`: MRR (higher is better).
//!
//! All must be finite and `>= 0`; the caller imputes missing values.
//!
//! # Quintile scores
//! Cut points are the 20th, 40th, 60th and 80th percentiles of the training
//! rows, with linear interpolation between order statistics (numpy's default
//! `method="linear"`, Hyndman & Fan type 7): for sorted `x[0..n]` the `p`-th
//! quantile sits at position `h = (n - 1) p`, and is
//! `x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`. Positions are
//! computed in exact integer arithmetic, so a cut that lands on an order
//! statistic equals that value exactly.
//!
//! **Tie rule.** A value's quintile is `1 + (number of cut points strictly
//! below the value)`, so a value equal to a cut point goes to the lower
//! quintile. F and M use that quintile as the score; R is reversed
//! (`6 - quintile`), so the most recent accounts score 5. With heavy ties
//! (say 60% of accounts have zero active days) several cut points coincide
//! and some scores are never used: there the zeros all score 1 and the next
//! score in use is 3. This is deliberate; inventing a split among identical
//! values would make the score depend on row order.
//!
//! **Constant columns** carry no information, so every row, in training and
//! later, gets the middle score 3 in that dimension. The model marks such a
//! column by an empty cut list.
//!
//! # Segments
//! k-means (linfa, k-means++ initialization, seeded `Xoshiro256Plus`) runs on
//! `log1p` of R, F and M, each standardized with the training mean and
//! population standard deviation (a constant column gets sd 1). The
//! centroids are copied out into [`RfmModel::centroids`] and sorted into a
//! canonical order (see [`RfmModel::centroids`]), so segment ids do not
//! depend on linfa's arbitrary labels. New rows go to the nearest centroid
//! ([`RfmModel::segment`]).
//!
//! **Choosing k.** With k fixed, that k is fitted. Otherwise every k in
//! `3..=8` (capped at the number of distinct rows) is fitted, with
//! `choice_runs` (default 3) restarts on at most `choice_rows` (default
//! 5,000) evenly spaced rows, and the one with the highest mean silhouette
//! wins, ties going to the smaller k; that k is then fitted on every row
//! with `n_runs` restarts for the centroids the model keeps. The
//! silhouette uses Euclidean distance in the standardized space on a
//! deterministic subsample: all rows if there are at most
//! `silhouette_sample` (default 2,000), else the evenly spaced rows
//! `i * n / s` for `i in 0..s`. A point alone in its cluster scores 0, as in
//! scikit-learn; a clustering whose sampled rows all fall in one cluster
//! scores -1. Every k tried is recorded with its score (of the choosing fit)
//! in [`RfmModel::k_selection`].
//!
//! **Names.** See [`ARCHETYPES`]: each centroid is described by its rank
//! position among the model's centroids in each dimension, and names are
//! matched to centroids greedily by distance to an archetype, so names are
//! unique and relative to the other segments of the same model.

use linfa::traits::Fit;
use linfa::DatasetBase;
use linfa_clustering::{KMeans, KMeansInit};
use ndarray::Array2;
use rand_xoshiro::rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256Plus;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Smallest k accepted, and the first k tried when choosing automatically.
pub const K_MIN: usize = 3;
/// Largest k accepted, and the last k tried when choosing automatically.
/// Also the number of [`ARCHETYPES`], so every segment gets its own name.
pub const K_MAX: usize = 8;
/// Fewest training rows accepted: below this a quintile holds one or two
/// accounts and the segments are noise.
pub const MIN_ROWS: usize = 10;

/// Segment names with their archetype in rank space, in tie-break order.
///
/// A centroid's rank space position is, per dimension, its rank among the
/// model's k centroids scaled to `[-1, 1]` (+1 best, -1 worst; equal values
/// share the average rank). "Best" means most recent for R and highest for
/// F and M, so the triple is (recency, frequency, monetary) goodness.
///
/// Naming is a greedy matching: over all (centroid, archetype) pairs not yet
/// used, take the pair with the smallest squared Euclidean distance (ties:
/// lower segment id, then earlier archetype in this list), give the centroid
/// that name, and repeat. With at most [`K_MAX`] segments and as many names,
/// every segment gets a distinct name.
///
/// Because positions are ranks, names are relative: with k = 3 and clusters
/// ordered alike in every dimension, they are Champions, Needs attention and
/// Hibernating, however close the clusters are.
pub const ARCHETYPES: [(&str, [f64; 3]); K_MAX] = [
    // Recent, active, high MRR.
    ("Champions", [1.0, 1.0, 1.0]),
    // Most active, fairly recent, middling MRR.
    ("Loyal", [0.5, 1.0, 0.0]),
    // MRR stands out; activity and recency are average.
    ("Big spenders", [0.0, 0.0, 1.0]),
    // Recent but little activity or MRR yet: new or light accounts.
    ("Promising", [1.0, -1.0, -1.0]),
    // In the middle of everything.
    ("Needs attention", [0.0, 0.0, 0.0]),
    // Was valuable (above-middle F and M) but is slipping on recency.
    ("At risk", [-0.5, 0.5, 0.5]),
    // Below the middle everywhere, not yet the bottom.
    ("About to sleep", [-0.5, -0.5, -0.5]),
    // Least recent, least active, lowest MRR.
    ("Hibernating", [-1.0, -1.0, -1.0]),
];

/// Cut points per dimension: the quantiles `j / 5` for `j in 1..=4`.
const N_CUTS: usize = 4;

/// Unchecked RFM parameters; [`RfmParams::check`] turns them into
/// [`RfmValidParams`], the only type that can fit.
///
/// ```ignore
/// let model = RfmParams::new().k(5).seed(7).check()?.fit(&r, &f, &m)?;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RfmParams(RfmValidParams);

/// Checked RFM parameters. Build with [`RfmParams`].
#[derive(Debug, Clone, PartialEq)]
pub struct RfmValidParams {
    k: Option<usize>,
    seed: u64,
    n_runs: usize,
    max_n_iterations: u64,
    tolerance: f64,
    silhouette_sample: usize,
    choice_rows: usize,
    choice_runs: usize,
}

impl Default for RfmParams {
    fn default() -> Self {
        Self::new()
    }
}

impl RfmParams {
    /// Automatic k, seed 42, 10 k-means runs of at most 300 iterations,
    /// tolerance 1e-4, silhouette on at most 2,000 rows; k chosen with 3
    /// runs per k on at most 5,000 rows.
    pub fn new() -> Self {
        RfmParams(RfmValidParams {
            k: None,
            seed: 42,
            n_runs: 10,
            max_n_iterations: 300,
            tolerance: 1e-4,
            silhouette_sample: 2_000,
            choice_rows: 5_000,
            choice_runs: 3,
        })
    }

    /// Fit exactly `k` segments (must be in `3..=8`).
    pub fn k(mut self, k: usize) -> Self {
        self.0.k = Some(k);
        self
    }

    /// Choose k in `3..=8` by mean silhouette (the default). Costs one
    /// k-means fit per k tried.
    pub fn auto_k(mut self) -> Self {
        self.0.k = None;
        self
    }

    /// Seed of the k-means++ initialization; same data and seed give
    /// identical centroids. Default 42.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }

    /// Independent k-means runs per k; the lowest inertia wins. Default 10.
    pub fn n_runs(mut self, n_runs: usize) -> Self {
        self.0.n_runs = n_runs;
        self
    }

    /// Iteration cap per k-means run. Default 300.
    pub fn max_n_iterations(mut self, max_n_iterations: u64) -> Self {
        self.0.max_n_iterations = max_n_iterations;
        self
    }

    /// Convergence threshold: a run stops when the centroids, taken as one
    /// flattened vector, move less than this (standardized units).
    /// Default 1e-4.
    pub fn tolerance(mut self, tolerance: f64) -> Self {
        self.0.tolerance = tolerance;
        self
    }

    /// Most rows used for the silhouette when choosing k. The silhouette
    /// costs O(s²) distances per k. Default 2,000.
    pub fn silhouette_sample(mut self, rows: usize) -> Self {
        self.0.silhouette_sample = rows;
        self
    }

    /// Most rows the k-means fits that choose k see (evenly spaced rows,
    /// as for the silhouette); the chosen k is then fitted once on every
    /// row. Default 5,000.
    pub fn choice_rows(mut self, rows: usize) -> Self {
        self.0.choice_rows = rows;
        self
    }

    /// Independent k-means runs per k while choosing k. Default 3.
    pub fn choice_runs(mut self, runs: usize) -> Self {
        self.0.choice_runs = runs;
        self
    }

    /// Validate the parameters once; only the result can fit.
    pub fn check(self) -> Result<RfmValidParams> {
        let p = &self.0;
        if let Some(k) = p.k {
            if !(K_MIN..=K_MAX).contains(&k) {
                return Err(Error::InvalidParam(format!(
                    "k must be in {K_MIN}..={K_MAX}, got {k}"
                )));
            }
        }
        if p.n_runs == 0 {
            return Err(Error::InvalidParam("n_runs must be >= 1, got 0".into()));
        }
        if p.choice_runs == 0 {
            return Err(Error::InvalidParam(
                "choice_runs must be >= 1, got 0".into(),
            ));
        }
        if p.choice_rows < MIN_ROWS {
            return Err(Error::InvalidParam(format!(
                "choice_rows must be >= {MIN_ROWS}, got {}",
                p.choice_rows
            )));
        }
        if p.max_n_iterations == 0 {
            return Err(Error::InvalidParam(
                "max_n_iterations must be >= 1, got 0".into(),
            ));
        }
        if !(p.tolerance.is_finite() && p.tolerance > 0.0) {
            return Err(Error::InvalidParam(format!(
                "tolerance must be a finite number > 0, got {}",
                p.tolerance
            )));
        }
        if p.silhouette_sample < MIN_ROWS {
            return Err(Error::InvalidParam(format!(
                "silhouette_sample must be >= {MIN_ROWS}, got {}",
                p.silhouette_sample
            )));
        }
        Ok(self.0)
    }
}

impl RfmValidParams {
    /// The fixed k, or `None` when k is chosen automatically.
    pub fn k(&self) -> Option<usize> {
        self.k
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn n_runs(&self) -> usize {
        self.n_runs
    }

    pub fn max_n_iterations(&self) -> u64 {
        self.max_n_iterations
    }

    pub fn tolerance(&self) -> f64 {
        self.tolerance
    }

    pub fn silhouette_sample(&self) -> usize {
        self.silhouette_sample
    }

    pub fn choice_rows(&self) -> usize {
        self.choice_rows
    }

    pub fn choice_runs(&self) -> usize {
        self.choice_runs
    }

    /// Fit cut points, scaler and segments on the training rows.
    ///
    /// Errors: [`Error::InvalidParam`] when the slices differ in length or
    /// hold a negative or non-finite value; [`Error::Model`] with fewer than
    /// [`MIN_ROWS`] rows or fewer distinct (standardized) rows than k
    /// (3 when k is automatic). Holds the standardized rows in memory. With
    /// k automatic, runs `choice_runs` k-means fits per k tried on at most
    /// `choice_rows` rows, then `n_runs` fits of the chosen k on all rows.
    pub fn fit(&self, r: &[f64], f: &[f64], m: &[f64]) -> Result<RfmModel> {
        check_rows(r, f, m)?;
        let n = r.len();
        if n < MIN_ROWS {
            return Err(Error::Model(format!(
                "RFM needs at least {MIN_ROWS} rows, got {n}"
            )));
        }

        let cols = [r, f, m];
        let [r_cuts, f_cuts, m_cuts] = cols.map(fit_cuts);
        let mut means = [0.0; 3];
        let mut sds = [1.0; 3];
        for (d, col) in cols.iter().enumerate() {
            (means[d], sds[d]) = log_scaler(col);
        }
        let scaler = Scaler { means, sds };
        let rows: Vec<[f64; 3]> = (0..n).map(|i| scaler.transform(r[i], f[i], m[i])).collect();

        let distinct = count_distinct(&rows);
        let ks: Vec<usize> = match self.k {
            Some(k) if distinct < k => {
                return Err(Error::Model(format!(
                    "k = {k} needs at least {k} distinct (recency, active days, MRR) rows, \
                     got {distinct}"
                )));
            }
            Some(k) => vec![k],
            None if distinct < K_MIN => {
                return Err(Error::Model(format!(
                    "choosing k needs at least {K_MIN} distinct (recency, active days, MRR) \
                     rows, got {distinct}"
                )));
            }
            None => (K_MIN..=K_MAX.min(distinct)).collect(),
        };

        let sample: Vec<[f64; 3]> = sample_indices(n, self.silhouette_sample)
            .into_iter()
            .map(|i| rows[i])
            .collect();
        let silhouette = |centroids: &[[f64; 3]], k: usize| {
            let labels: Vec<usize> = sample.iter().map(|p| nearest(centroids, p)).collect();
            mean_silhouette(&sample, &labels, k)
        };
        let mut k_selection = Vec::with_capacity(ks.len());
        let k = if let [k] = ks[..] {
            k
        } else {
            // The silhouette ranks the k's on a subsample already; k-means
            // on an evenly spaced subsample with fewer restarts ranks them
            // at a fraction of the cost (6 k's x 10 runs on every row took
            // about 4 s on 13k rows).
            let choice_rows: Vec<[f64; 3]> = sample_indices(n, self.choice_rows)
                .into_iter()
                .map(|i| rows[i])
                .collect();
            let mut best: Option<(f64, usize)> = None;
            for k in ks {
                let centroids = self.kmeans(&choice_rows, k, self.choice_runs)?;
                let score = silhouette(&centroids, k);
                k_selection.push((k, score));
                // Strictly greater: ties keep the smaller k.
                if best.is_none_or(|(s, _)| score > s) {
                    best = Some((score, k));
                }
            }
            let Some((_, k)) = best else {
                return Err(Error::Model("no k was tried".into()));
            };
            k
        };
        let centroids = self.kmeans(&rows, k, self.n_runs)?;
        if k_selection.is_empty() {
            k_selection.push((k, silhouette(&centroids, k)));
        }

        Ok(RfmModel {
            r_cuts,
            f_cuts,
            m_cuts,
            means,
            sds,
            k: centroids.len(),
            names: name_segments(&centroids),
            centroids,
            k_selection,
        })
    }

    /// One seeded linfa k-means fit; returns our own centroids in canonical
    /// order. k-means++ is chosen explicitly: linfa's k-means|| seeds its
    /// per-thread RNGs in rayon scheduling order and is not reproducible.
    fn kmeans(&self, rows: &[[f64; 3]], k: usize, n_runs: usize) -> Result<Vec<[f64; 3]>> {
        let flat: Vec<f64> = rows.iter().flatten().copied().collect();
        let records = Array2::from_shape_vec((rows.len(), 3), flat)
            .map_err(|e| Error::Model(format!("k-means input: {e}")))?;
        let dataset = DatasetBase::from(records);
        let fitted = KMeans::params_with_rng(k, Xoshiro256Plus::seed_from_u64(self.seed))
            .n_runs(n_runs)
            .max_n_iterations(self.max_n_iterations)
            .tolerance(self.tolerance)
            .init_method(KMeansInit::KMeansPlusPlus)
            .fit(&dataset)
            .map_err(|e| Error::Model(format!("k-means with k = {k}: {e}")))?;
        let mut centroids: Vec<[f64; 3]> = fitted
            .centroids()
            .rows()
            .into_iter()
            .map(|c| [c[0], c[1], c[2]])
            .collect();
        if centroids.iter().flatten().any(|v| !v.is_finite()) {
            return Err(Error::Model(format!(
                "k-means with k = {k} produced a non-finite centroid"
            )));
        }
        centroids.sort_by(canonical_order);
        if centroids.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::Model(format!(
                "k-means with k = {k} produced two identical centroids; try a smaller k"
            )));
        }
        Ok(centroids)
    }
}

/// A fitted RFM model: everything scoring needs, in plain values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RfmModel {
    /// Recency cut points (20/40/60/80th percentiles of the training rows,
    /// ascending), or empty when recency was constant in training.
    pub r_cuts: Vec<f64>,
    /// Active-days cut points, as `r_cuts`.
    pub f_cuts: Vec<f64>,
    /// MRR cut points, as `r_cuts`.
    pub m_cuts: Vec<f64>,
    /// Training mean of `log1p` of R, F, M.
    pub means: [f64; 3],
    /// Training population sd of `log1p` of R, F, M; 1 for a constant column.
    pub sds: [f64; 3],
    /// Centroids in standardized `log1p` space, as (r, f, m): low r is
    /// recent. Sorted by value, `f + m - r` descending (ties: r, f, m
    /// ascending), so segment 0 is the most valuable cluster.
    pub centroids: Vec<[f64; 3]>,
    /// One unique name per centroid (see [`ARCHETYPES`]).
    pub names: Vec<String>,
    /// Number of segments, `centroids.len()`.
    pub k: usize,
    /// Every k fitted with its mean silhouette, in the order tried.
    pub k_selection: Vec<(usize, f64)>,
}

impl RfmModel {
    /// Check a model read from disk before scoring with it: cut lists hold
    /// 0 or 4 ascending finite values, sds are positive, and k, centroids
    /// and names agree.
    pub fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::Model(format!("RFM model: {what}")));
        for (name, cuts) in [
            ("r_cuts", &self.r_cuts),
            ("f_cuts", &self.f_cuts),
            ("m_cuts", &self.m_cuts),
        ] {
            if !(cuts.is_empty() || cuts.len() == N_CUTS) {
                return bad(format!(
                    "{name} must hold 0 or {N_CUTS} values, got {}",
                    cuts.len()
                ));
            }
            if cuts.iter().any(|c| !c.is_finite()) || cuts.windows(2).any(|w| w[0] > w[1]) {
                return bad(format!("{name} must be finite and ascending, got {cuts:?}"));
            }
        }
        if self.means.iter().any(|v| !v.is_finite())
            || self.sds.iter().any(|s| !(s.is_finite() && *s > 0.0))
        {
            return bad(format!(
                "scaler must be finite with sd > 0, got means {:?}, sds {:?}",
                self.means, self.sds
            ));
        }
        if self.k != self.centroids.len() || self.k != self.names.len() || self.k == 0 {
            return bad(format!(
                "k = {} but {} centroids and {} names",
                self.k,
                self.centroids.len(),
                self.names.len()
            ));
        }
        if self.centroids.iter().flatten().any(|v| !v.is_finite()) {
            return bad("centroids must be finite".into());
        }
        Ok(())
    }

    /// Quintile scores 1-5 as (R, F, M) with the frozen cut points; R is
    /// reversed so the most recent accounts score 5. See the module docs for
    /// ties and constant columns. A NaN or negative input counts as 0.
    pub fn scores(&self, r: f64, f: f64, m: f64) -> (u8, u8, u8) {
        (
            6 - quintile(&self.r_cuts, clean(r)),
            quintile(&self.f_cuts, clean(f)),
            quintile(&self.m_cuts, clean(m)),
        )
    }

    /// The classic RFM code: R, F and M scores as three digits, e.g. "545".
    pub fn code(&self, r: f64, f: f64, m: f64) -> String {
        let (rs, fs, ms) = self.scores(r, f, m);
        format!("{rs}{fs}{ms}")
    }

    /// Map a row to the standardized `log1p` space of the centroids.
    pub fn standardize(&self, r: f64, f: f64, m: f64) -> [f64; 3] {
        self.scaler().transform(r, f, m)
    }

    /// Segment id of a row: its nearest centroid (squared Euclidean distance
    /// in standardized space; ties go to the lower id). Plain arithmetic, so
    /// scoring does not need linfa.
    pub fn segment(&self, r: f64, f: f64, m: f64) -> usize {
        nearest(&self.centroids, &self.standardize(r, f, m))
    }

    /// Human name of a segment id; "unknown" for an id the model lacks.
    pub fn segment_name(&self, idx: usize) -> &str {
        self.names.get(idx).map_or("unknown", String::as_str)
    }

    /// Each centroid mapped back to original units (`expm1` of the
    /// de-standardized value): a geometric-style centre, not the arithmetic
    /// mean of the segment's rows.
    pub fn centroids_raw(&self) -> Vec<[f64; 3]> {
        self.centroids
            .iter()
            .map(|c| std::array::from_fn(|d| (c[d] * self.sds[d] + self.means[d]).exp_m1()))
            .collect()
    }

    fn scaler(&self) -> Scaler {
        Scaler {
            means: self.means,
            sds: self.sds,
        }
    }
}

/// What one segment looks like on a set of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentProfile {
    pub segment: usize,
    pub name: String,
    /// Rows assigned to the segment.
    pub size: usize,
    /// `size` over all rows profiled; 0 when no rows were given.
    pub share: f64,
    /// Mean MRR of the segment's rows; `None` when the segment is empty.
    pub mean_mrr: Option<f64>,
    /// Mean recency in days; `None` when the segment is empty.
    pub mean_recency_days: Option<f64>,
    /// Mean active days in the last 90; `None` when the segment is empty.
    pub mean_active_days_90d: Option<f64>,
    /// Share of the segment's rows labelled churned; `None` without churn
    /// labels or when the segment is empty.
    pub churn_rate: Option<f64>,
    /// Share labelled upgraded; `None` without upgrade labels or when empty.
    pub upgrade_rate: Option<f64>,
    /// The centroid in original units (recency days, active days, MRR); see
    /// [`RfmModel::centroids_raw`].
    pub centroid_raw: [f64; 3],
}

/// Profile every segment of `model` on the given rows (training or
/// validation), one entry per segment in id order, empty segments included.
///
/// `churn` and `upgrade`, when given, are per-row labels aligned with the
/// rows. Errors with [`Error::InvalidParam`] when any slice differs in
/// length from `r`.
pub fn profile(
    model: &RfmModel,
    r: &[f64],
    f: &[f64],
    m: &[f64],
    churn: Option<&[bool]>,
    upgrade: Option<&[bool]>,
) -> Result<Vec<SegmentProfile>> {
    let n = r.len();
    let lens = [
        ("active_days_90d", Some(f.len())),
        ("mrr", Some(m.len())),
        ("churn", churn.map(<[bool]>::len)),
        ("upgrade", upgrade.map(<[bool]>::len)),
    ];
    for (name, len) in lens {
        if let Some(len) = len.filter(|&len| len != n) {
            return Err(Error::InvalidParam(format!(
                "{name} must have one value per row ({n} recency values), got {len}"
            )));
        }
    }

    #[derive(Default, Clone)]
    struct Acc {
        size: usize,
        sums: [f64; 3],
        churned: usize,
        upgraded: usize,
    }
    let mut acc = vec![Acc::default(); model.centroids.len()];
    for i in 0..n {
        let Some(a) = acc.get_mut(model.segment(r[i], f[i], m[i])) else {
            continue;
        };
        a.size += 1;
        a.sums[0] += r[i];
        a.sums[1] += f[i];
        a.sums[2] += m[i];
        a.churned += usize::from(churn.is_some_and(|c| c[i]));
        a.upgraded += usize::from(upgrade.is_some_and(|u| u[i]));
    }

    let raw = model.centroids_raw();
    Ok(acc
        .into_iter()
        .zip(raw)
        .enumerate()
        .map(|(segment, (a, centroid_raw))| {
            let mean = |sum: f64| (a.size > 0).then(|| sum / a.size as f64);
            let rate = |given: bool, hits: usize| given.then(|| mean(hits as f64)).flatten();
            SegmentProfile {
                segment,
                name: model.segment_name(segment).to_string(),
                size: a.size,
                share: if n == 0 {
                    0.0
                } else {
                    a.size as f64 / n as f64
                },
                mean_mrr: mean(a.sums[2]),
                mean_recency_days: mean(a.sums[0]),
                mean_active_days_90d: mean(a.sums[1]),
                churn_rate: rate(churn.is_some(), a.churned),
                upgrade_rate: rate(upgrade.is_some(), a.upgraded),
                centroid_raw,
            }
        })
        .collect())
}

/// Training-time `log1p` standardization, frozen into the model.
struct Scaler {
    means: [f64; 3],
    sds: [f64; 3],
}

impl Scaler {
    fn transform(&self, r: f64, f: f64, m: f64) -> [f64; 3] {
        let raw = [r, f, m];
        std::array::from_fn(|d| (clean(raw[d]).ln_1p() - self.means[d]) / self.sds[d])
    }
}

/// Scoring is total so one bad row cannot stop a batch: NaN and negative
/// values count as 0 (the input schema rejects them before this point), and
/// -0.0 becomes 0.0 so equal values have equal bits.
fn clean(v: f64) -> f64 {
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

fn check_rows(r: &[f64], f: &[f64], m: &[f64]) -> Result<()> {
    if r.len() != f.len() || r.len() != m.len() {
        return Err(Error::InvalidParam(format!(
            "recency_days, active_days_90d and mrr must have the same length, got {}, {} and {}",
            r.len(),
            f.len(),
            m.len()
        )));
    }
    for (name, col) in [("recency_days", r), ("active_days_90d", f), ("mrr", m)] {
        if let Some((i, v)) = col
            .iter()
            .enumerate()
            .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
        {
            return Err(Error::InvalidParam(format!(
                "{name}[{i}] must be a finite number >= 0, got {v}"
            )));
        }
    }
    Ok(())
}

/// Cut points at the 20/40/60/80th percentiles (type 7), or empty for a
/// constant column. `col` is non-empty and finite.
fn fit_cuts(col: &[f64]) -> Vec<f64> {
    let mut s = col.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if s[0] == s[n - 1] {
        return Vec::new();
    }
    let mut cuts: Vec<f64> = (1..=N_CUTS)
        .map(|j| {
            // h = (n - 1) * j / 5, split exactly into whole and fraction.
            let lo = (n - 1) * j / (N_CUTS + 1);
            let frac = ((n - 1) * j % (N_CUTS + 1)) as f64 / (N_CUTS + 1) as f64;
            let hi = (lo + 1).min(n - 1);
            s[lo] + frac * (s[hi] - s[lo])
        })
        .collect();
    // Guard against rounding making neighbouring cuts step backwards.
    for j in 1..cuts.len() {
        cuts[j] = cuts[j].max(cuts[j - 1]);
    }
    cuts
}

/// `1 + (cut points strictly below v)`, capped at 5; 3 for a constant column.
fn quintile(cuts: &[f64], v: f64) -> u8 {
    if cuts.is_empty() {
        return 3;
    }
    let below = cuts.iter().filter(|&&c| c < v).count().min(N_CUTS);
    1 + below as u8
}

/// Mean and population sd of `log1p(col)`; a constant column gets its own
/// value as mean and sd 1, so it standardizes to exactly 0 in training and
/// rounding noise cannot blow up later rows.
fn log_scaler(col: &[f64]) -> (f64, f64) {
    let logs: Vec<f64> = col.iter().map(|v| v.ln_1p()).collect();
    let (lo, hi) = logs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    if lo == hi {
        return (lo, 1.0);
    }
    let n = logs.len() as f64;
    let mean = logs.iter().sum::<f64>() / n;
    let var = logs.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    (mean, if sd > 0.0 { sd } else { 1.0 })
}

/// Number of distinct standardized rows, which is what k-means sees.
fn count_distinct(rows: &[[f64; 3]]) -> usize {
    let mut keys: Vec<[u64; 3]> = rows
        .iter()
        .map(|p| p.map(|v| (v + 0.0).to_bits()))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys.len()
}

/// All rows when `n <= cap`, else the evenly spaced rows `i * n / cap`.
fn sample_indices(n: usize, cap: usize) -> Vec<usize> {
    if n <= cap {
        (0..n).collect()
    } else {
        (0..cap).map(|i| i * n / cap).collect()
    }
}

fn sq_dist(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    (0..3).map(|d| (a[d] - b[d]).powi(2)).sum()
}

/// Index of the nearest centroid; ties go to the lower index.
fn nearest(centroids: &[[f64; 3]], p: &[f64; 3]) -> usize {
    let mut best = (0, f64::INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let d = sq_dist(c, p);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

/// Value first (`f + m - r` descending), then r, f, m ascending.
fn canonical_order(a: &[f64; 3], b: &[f64; 3]) -> std::cmp::Ordering {
    let value = |c: &[f64; 3]| c[1] + c[2] - c[0];
    value(b)
        .total_cmp(&value(a))
        .then_with(|| a[0].total_cmp(&b[0]))
        .then_with(|| a[1].total_cmp(&b[1]))
        .then_with(|| a[2].total_cmp(&b[2]))
}

/// Mean silhouette (Euclidean) of `points` labelled `labels` in `0..k`.
/// A point alone in its cluster scores 0; if all points share one cluster
/// the clustering scores -1.
fn mean_silhouette(points: &[[f64; 3]], labels: &[usize], k: usize) -> f64 {
    let mut counts = vec![0usize; k];
    for &l in labels {
        counts[l] += 1;
    }
    if counts.iter().filter(|&&c| c > 0).count() < 2 {
        return -1.0;
    }
    let mut sums = vec![0.0; k];
    let mut total = 0.0;
    for (i, p) in points.iter().enumerate() {
        sums.iter_mut().for_each(|s| *s = 0.0);
        for (j, q) in points.iter().enumerate() {
            if i != j {
                sums[labels[j]] += sq_dist(p, q).sqrt();
            }
        }
        let own = labels[i];
        if counts[own] < 2 {
            continue;
        }
        let a = sums[own] / (counts[own] - 1) as f64;
        let b = (0..k)
            .filter(|&c| c != own && counts[c] > 0)
            .map(|c| sums[c] / counts[c] as f64)
            .fold(f64::INFINITY, f64::min);
        let denom = a.max(b);
        if denom > 0.0 {
            total += (b - a) / denom;
        }
    }
    total / points.len() as f64
}

/// Unique names by greedy matching of rank positions to [`ARCHETYPES`].
fn name_segments(centroids: &[[f64; 3]]) -> Vec<String> {
    let k = centroids.len();
    // Goodness per dimension: recent (low r) is good.
    let good: Vec<[f64; 3]> = centroids.iter().map(|c| [-c[0], c[1], c[2]]).collect();
    let pos: Vec<[f64; 3]> = good
        .iter()
        .map(|g| {
            std::array::from_fn(|d| {
                if k < 2 {
                    return 0.0;
                }
                let worse = good.iter().filter(|o| o[d] < g[d]).count() as f64;
                let equal = good.iter().filter(|o| o[d] == g[d]).count() as f64 - 1.0;
                2.0 * (worse + 0.5 * equal) / (k - 1) as f64 - 1.0
            })
        })
        .collect();

    let mut names: Vec<Option<&str>> = vec![None; k];
    let mut used = [false; K_MAX];
    for _ in 0..k.min(K_MAX) {
        let mut best: Option<(f64, usize, usize)> = None;
        for (c, p) in pos.iter().enumerate().filter(|(c, _)| names[*c].is_none()) {
            for (a, (_, proto)) in ARCHETYPES.iter().enumerate().filter(|(a, _)| !used[*a]) {
                let d = sq_dist(p, proto);
                if best.is_none_or(|(bd, _, _)| d < bd) {
                    best = Some((d, c, a));
                }
            }
        }
        if let Some((_, c, a)) = best {
            names[c] = Some(ARCHETYPES[a].0);
            used[a] = true;
        }
    }
    names
        .into_iter()
        .enumerate()
        .map(|(c, n)| n.map_or_else(|| format!("Segment {c}"), str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> RfmParams {
        RfmParams::new().n_runs(3)
    }

    /// Three well-separated groups of `per` accounts each, with a small
    /// deterministic multiplicative jitter: recent/active/high-MRR,
    /// middling, and dormant/low.
    fn blobs(per: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let centres = [
            [2.0, 80.0, 5_000.0],
            [30.0, 20.0, 300.0],
            [300.0, 1.0, 20.0],
        ];
        let (mut r, mut f, mut m) = (vec![], vec![], vec![]);
        for c in centres {
            for i in 0..per {
                let jitter = 1.0 + ((i * 37 % 11) as f64 - 5.0) / 50.0;
                r.push(c[0] * jitter);
                f.push((c[1] * jitter).round());
                m.push(c[2] / jitter);
            }
        }
        (r, f, m)
    }

    #[test]
    fn quintiles_with_ties_follow_documented_rule() {
        // Hand computation, type 7 (numpy.percentile's default): sorted F
        // = [0,0,0,0,0,0,5,10,15,30], n = 10, h = 9p.
        //   p=.2: h=1.8 -> x1 + .8(x2-x1) = 0
        //   p=.4: h=3.6 -> x3 + .6(x4-x3) = 0
        //   p=.6: h=5.4 -> x5 + .4(x6-x5) = 0 + .4*5  = 2
        //   p=.8: h=7.2 -> x7 + .2(x8-x7) = 10 + .2*5 = 11
        let f = [0.0, 5.0, 0.0, 30.0, 0.0, 10.0, 0.0, 15.0, 0.0, 0.0];
        let r: Vec<f64> = f.iter().map(|v| v + 1.0).collect();
        let m: Vec<f64> = (1..=10).map(f64::from).collect();
        let model = params().k(3).check().unwrap().fit(&r, &f, &m).unwrap();
        assert_eq!(model.f_cuts, vec![0.0, 0.0, 2.0, 11.0]);
        assert_eq!(model.r_cuts, vec![1.0, 1.0, 3.0, 12.0]);

        // score = 1 + #cuts strictly below; equal to a cut goes lower.
        let fs = |v: f64| model.scores(10.0, v, 5.0).1;
        assert_eq!(fs(0.0), 1); // equals the two tied cuts at 0
        assert_eq!(fs(1.0), 3); // above both zero cuts: score 2 is unused
        assert_eq!(fs(2.0), 3); // equals the cut at 2
        assert_eq!(fs(2.5), 4);
        assert_eq!(fs(11.0), 4); // equals the cut at 11
        assert_eq!(fs(11.5), 5);
        // R is the same count, reversed: most recent scores 5.
        let rs = |v: f64| model.scores(v, 0.0, 5.0).0;
        assert_eq!(rs(1.0), 5);
        assert_eq!(rs(2.0), 3);
        assert_eq!(rs(3.0), 3);
        assert_eq!(rs(12.0), 2);
        assert_eq!(rs(12.5), 1);
        // M: x = 1..10 -> cuts 2.8, 4.6, 6.4, 8.2 (1 + 9p).
        for (want, got) in [2.8, 4.6, 6.4, 8.2].iter().zip(&model.m_cuts) {
            assert!((want - got).abs() < 1e-12, "{want} vs {got}");
        }
    }

    #[test]
    fn constant_column_scores_middle() {
        let (r, f, _) = blobs(4);
        let m = vec![99.0; r.len()];
        let model = params().k(3).check().unwrap().fit(&r, &f, &m).unwrap();
        assert!(model.m_cuts.is_empty());
        assert_eq!(model.sds[2], 1.0);
        for v in [0.0, 99.0, 1e6] {
            assert_eq!(model.scores(2.0, 80.0, v).2, 3);
        }
        // Reversal keeps the middle: a constant recency also scores 3.
        let r_const = vec![7.0; r.len()];
        let m2: Vec<f64> = (0..r.len()).map(|i| i as f64).collect();
        let model = params()
            .k(3)
            .check()
            .unwrap()
            .fit(&r_const, &f, &m2)
            .unwrap();
        assert!(model.r_cuts.is_empty());
        assert_eq!(model.scores(0.0, 0.0, 0.0).0, 3);
        assert_eq!(model.scores(500.0, 0.0, 0.0).0, 3);
    }

    #[test]
    fn code_is_r_then_f_then_m() {
        let model = RfmModel {
            r_cuts: vec![10.0, 20.0, 30.0, 40.0],
            f_cuts: vec![10.0, 20.0, 30.0, 40.0],
            m_cuts: vec![10.0, 20.0, 30.0, 40.0],
            means: [0.0; 3],
            sds: [1.0; 3],
            centroids: vec![[0.0; 3]],
            names: vec!["Needs attention".into()],
            k: 1,
            k_selection: vec![],
        };
        // R 5 (most recent), F 1 (fewest days), M 3 (middle).
        assert_eq!(model.scores(5.0, 5.0, 25.0), (5, 1, 3));
        assert_eq!(model.code(5.0, 5.0, 25.0), "513");
        assert_eq!(model.code(45.0, 45.0, 45.0), "155");
    }

    #[test]
    fn kmeans_is_deterministic_under_seed() {
        let (r, f, m) = blobs(8);
        let p = params().seed(7).check().unwrap();
        let a = p.fit(&r, &f, &m).unwrap();
        let b = p.fit(&r, &f, &m).unwrap();
        assert_eq!(a, b);
        // Fresh params with the same seed too, not just a reused value.
        let c = params().seed(7).check().unwrap().fit(&r, &f, &m).unwrap();
        assert_eq!(a, c);
    }

    #[test]
    fn kmeans_recovers_separated_clusters() {
        let (r, f, m) = blobs(10);
        let model = params().check().unwrap().fit(&r, &f, &m).unwrap();
        let tried: Vec<usize> = model.k_selection.iter().map(|(k, _)| *k).collect();
        assert_eq!(tried, (3..=8).collect::<Vec<_>>());
        assert_eq!(model.k, 3, "{:?}", model.k_selection);
        // Each blob is one segment, in canonical (most valuable first) order.
        for (blob, want) in [(0, 0), (1, 1), (2, 2)] {
            for i in blob * 10..(blob + 1) * 10 {
                assert_eq!(model.segment(r[i], f[i], m[i]), want, "row {i}");
            }
        }
        assert_eq!(model.names, ["Champions", "Needs attention", "Hibernating"]);
        let raw = model.centroids_raw();
        assert!((raw[0][2] / 5_000.0 - 1.0).abs() < 0.1, "{raw:?}");
    }

    #[test]
    fn k_chosen_on_a_subsample_then_fitted_on_every_row() {
        let (r, f, m) = blobs(300);
        let full = params()
            .choice_rows(r.len())
            .choice_runs(3)
            .check()
            .unwrap()
            .fit(&r, &f, &m)
            .unwrap();
        let sub = params()
            .choice_rows(90)
            .choice_runs(1)
            .check()
            .unwrap()
            .fit(&r, &f, &m)
            .unwrap();
        assert_eq!(full.k, 3, "{:?}", full.k_selection);
        assert_eq!(sub.k, 3, "{:?}", sub.k_selection);
        // The kept centroids come from the same fit on every row.
        assert_eq!(sub.centroids, full.centroids);
        assert_eq!(sub.k_selection.len(), 6);
        // A fixed k still records its silhouette.
        let fixed = params().k(4).check().unwrap().fit(&r, &f, &m).unwrap();
        assert_eq!(fixed.k_selection.len(), 1);
        assert_eq!(fixed.k_selection[0].0, 4);
    }

    #[test]
    fn names_are_unique_and_follow_ranks() {
        // Standardized (r, f, m); low r = recent. Ranks (goodness, +1 best):
        //   c0: most recent, most active, top MRR    -> Champions
        //   c1: 2nd recent, below-middle F and M      -> Needs attention
        //   c2: 3rd recent, above-middle F and M      -> At risk
        //   c3: least recent, lowest F and M          -> Hibernating
        let centroids = [
            [-1.0, 1.0, 1.0],
            [-0.5, -0.5, -0.5],
            [0.5, 0.5, 0.5],
            [1.0, -1.0, -1.0],
        ];
        // Positions: c1 = (1/3, -1/3, -1/3), c2 = (-1/3, 1/3, 1/3).
        // c2 is nearest "At risk" (-.5,.5,.5): 3/36 = .083.
        // c1: Needs attention 3/9 = .33 beats Promising .44+.44+.44 = 1.33.
        assert_eq!(
            name_segments(&centroids),
            ["Champions", "Needs attention", "At risk", "Hibernating"]
        );

        // Identical centroids share the average rank, (0, 0, 0), yet get
        // distinct names: Needs attention (d = 0), then At risk and About to
        // sleep (both d = .75; the earlier archetype goes to the lower id).
        let twins = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]];
        assert_eq!(
            name_segments(&twins),
            ["Needs attention", "At risk", "About to sleep"]
        );

        // Eight segments use all eight names once.
        let eight: Vec<[f64; 3]> = (0..8)
            .map(|i| {
                let x = i as f64;
                [x, (x * 3.0) % 8.0, (x * 5.0) % 8.0]
            })
            .collect();
        let mut names = name_segments(&eight);
        names.sort();
        let mut all: Vec<String> = ARCHETYPES.iter().map(|(n, _)| n.to_string()).collect();
        all.sort();
        assert_eq!(names, all);
    }

    #[test]
    fn new_rows_use_frozen_cut_points() {
        let (r, f, m) = blobs(4);
        let model = params().k(3).check().unwrap().fit(&r, &f, &m).unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let loaded: RfmModel = serde_json::from_str(&json).unwrap();
        loaded.check().unwrap();
        // serde_json without its `float_roundtrip` feature may parse a float
        // one ulp off, so compare values closely, not bit for bit.
        let close = |a: &[f64], b: &[f64]| {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0))
        };
        assert!(close(&loaded.m_cuts, &model.m_cuts));
        assert!(close(&loaded.r_cuts, &model.r_cuts));
        assert!(close(
            loaded.centroids.as_flattened(),
            model.centroids.as_flattened()
        ));
        assert_eq!(loaded.names, model.names);

        // Score a new population that is ten times richer: refitting would
        // spread it over all five M scores, the frozen cuts put it all at 5.
        let rich: Vec<f64> = m.iter().map(|v| v * 10.0 + 50_000.0).collect();
        for (i, &v) in rich.iter().enumerate() {
            assert_eq!(loaded.scores(r[i], f[i], v).2, 5);
            assert_eq!(
                loaded.segment(r[i], f[i], m[i]),
                model.segment(r[i], f[i], m[i])
            );
        }
        // A value equal to a frozen cut takes the lower quintile.
        let c = model.m_cuts[1];
        assert_eq!(loaded.scores(0.0, 0.0, c).2, 2);
    }

    #[test]
    fn profile_counts_sizes_and_rates() {
        let (r, f, m) = blobs(5);
        let model = params().k(3).check().unwrap().fit(&r, &f, &m).unwrap();
        // Churn: 2 of 5 in the dormant blob; upgrade: all of the first blob.
        let churn: Vec<bool> = (0..15).map(|i| i == 10 || i == 11).collect();
        let upgrade: Vec<bool> = (0..15).map(|i| i < 5).collect();
        let prof = profile(&model, &r, &f, &m, Some(&churn), Some(&upgrade)).unwrap();
        assert_eq!(prof.len(), 3);
        assert_eq!(prof.iter().map(|p| p.size).collect::<Vec<_>>(), [5, 5, 5]);
        assert_eq!(prof[2].churn_rate, Some(0.4));
        assert_eq!(prof[0].churn_rate, Some(0.0));
        assert_eq!(prof[0].upgrade_rate, Some(1.0));
        assert!((prof[0].share - 1.0 / 3.0).abs() < 1e-12);
        let want_mrr = m[..5].iter().sum::<f64>() / 5.0;
        assert!((prof[0].mean_mrr.unwrap() - want_mrr).abs() < 1e-9);

        let bare = profile(&model, &r, &f, &m, None, None).unwrap();
        assert!(bare
            .iter()
            .all(|p| p.churn_rate.is_none() && p.upgrade_rate.is_none()));
        let empty = profile(&model, &[], &[], &[], None, None).unwrap();
        assert!(empty.iter().all(|p| p.size == 0 && p.mean_mrr.is_none()));
        let err = profile(&model, &r, &f, &m, Some(&churn[..3]), None).unwrap_err();
        assert!(matches!(err, Error::InvalidParam(msg) if msg.starts_with("churn must")));
    }

    #[test]
    fn rejects_bad_k() {
        for k in [0, 2, 9, 12] {
            let err = RfmParams::new().k(k).check().unwrap_err();
            let want = format!("k must be in 3..=8, got {k}");
            assert!(
                matches!(&err, Error::InvalidParam(msg) if *msg == want),
                "{err}"
            );
        }
        let err = RfmParams::new().n_runs(0).check().unwrap_err();
        assert!(matches!(err, Error::InvalidParam(msg) if msg == "n_runs must be >= 1, got 0"));
        let err = RfmParams::new().choice_runs(0).check().unwrap_err();
        assert!(
            matches!(err, Error::InvalidParam(msg) if msg == "choice_runs must be >= 1, got 0")
        );
    }

    #[test]
    fn rejects_fewer_distinct_rows_than_k() {
        // 12 rows but only 3 distinct accounts.
        let r: Vec<f64> = (0..12).map(|i| [1.0, 10.0, 100.0][i % 3]).collect();
        let f: Vec<f64> = (0..12).map(|i| [60.0, 20.0, 0.0][i % 3]).collect();
        let m: Vec<f64> = (0..12).map(|i| [900.0, 90.0, 9.0][i % 3]).collect();
        let err = params().k(4).check().unwrap().fit(&r, &f, &m).unwrap_err();
        assert!(
            matches!(&err, Error::Model(msg) if msg.ends_with("distinct (recency, active days, MRR) rows, got 3")),
            "{err}"
        );
        // Automatic k only tries what the data can support.
        let model = params().check().unwrap().fit(&r, &f, &m).unwrap();
        assert_eq!(model.k_selection.len(), 1);
        assert_eq!(model.k, 3);
    }

    #[test]
    fn rejects_empty_short_mismatched_and_negative_input() {
        let p = params().check().unwrap();
        let err = p.fit(&[], &[], &[]).unwrap_err();
        assert!(matches!(err, Error::Model(msg) if msg == "RFM needs at least 10 rows, got 0"));
        let err = p.fit(&[1.0; 9], &[1.0; 9], &[1.0; 9]).unwrap_err();
        assert!(matches!(err, Error::Model(_)));
        let err = p.fit(&[1.0; 10], &[1.0; 9], &[1.0; 10]).unwrap_err();
        assert!(matches!(err, Error::InvalidParam(msg) if msg.ends_with("got 10, 9 and 10")));
        let mut m = vec![1.0; 10];
        m[4] = -2.0;
        let err = p.fit(&[1.0; 10], &[1.0; 10], &m).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidParam(msg) if msg == "mrr[4] must be a finite number >= 0, got -2"),
            "{err}"
        );
    }
}
