//! Training: monthly history -> out-of-time backtest -> refit on every
//! labeled month -> bundle. Features come from `snapshot::features_as_of`
//! (the same path scoring uses); labels from `labels`. Held-out months never
//! reach fitting, scaling or imputation: each fit sees only the rows it is
//! handed, and the backtest hands it training months only.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::bundle::{
    day_strings, Backtest, Bundle, DataFingerprint, Segments, SeparatingFeature, SkippedTarget,
    Target, TrainSettings, SCHEMA_VERSION,
};
use crate::config::SnapshotParams;
use crate::dates::{format_day, Day};
use crate::drift::Distribution;
use crate::error::{thousands, Error, Result};
use crate::io::load::Tables;
use crate::labels::{labels_for, Labels};
use crate::metrics::{evaluate, BinaryReport};
use crate::models::lifetime::SurvivalModel;
use crate::models::propensity::{LogisticModel, PropensityParams};
use crate::models::rfm::{profile, RfmParams};
use crate::models::scale::Transform;
use crate::snapshot::{features_as_of, history_dates, timelines, FeatureFrame, FeatureSpec, Kind};

/// RFM cut points and k-means are fitted on at most this many accounts.
pub const RFM_FIT_ROWS: usize = 20_000;

/// Calibration bins reported for every model.
pub const CALIBRATION_BINS: usize = 10;

/// Training parameters as given; [`TrainParams::check`] makes them usable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Labels and censoring stop here; default: the latest date in any table.
    pub as_of_end: Option<Day>,
    /// Keep only the last N labeled month ends; default: all.
    pub history_months: Option<usize>,
    /// Month ends held out for the out-of-time backtest.
    pub holdout_months: usize,
    pub seed: u64,
    /// RFM cluster count; default: chosen over 3..=8 by silhouette.
    pub rfm_k: Option<usize>,
    pub snapshot: SnapshotParams,
    pub propensity: PropensityParams,
    /// Propensity fits use at most this many rows: beyond it, a seeded
    /// uniform sample (by account and month, so independent of row order).
    /// A uniform sample keeps probabilities calibrated; validation always
    /// uses every held-out row.
    pub max_fit_rows: usize,
}

/// Checked training parameters; only this type can train.
#[derive(Debug, Clone)]
pub struct ValidTrainParams {
    p: TrainParams,
    rfm: crate::models::rfm::RfmValidParams,
    propensity: crate::models::propensity::PropensityValidParams,
}

impl TrainParams {
    pub fn new(snapshot: SnapshotParams) -> TrainParams {
        TrainParams {
            as_of_end: None,
            history_months: None,
            holdout_months: 3,
            seed: 42,
            rfm_k: None,
            snapshot,
            propensity: PropensityParams::default(),
            max_fit_rows: 100_000,
        }
    }

    pub fn check(self) -> Result<ValidTrainParams> {
        if !(1..=24).contains(&self.holdout_months) {
            return Err(Error::InvalidParam(format!(
                "holdout_months must be in 1..=24, got {}",
                self.holdout_months
            )));
        }
        if self.max_fit_rows < 1_000 {
            return Err(Error::InvalidParam(format!(
                "max_fit_rows must be >= 1000, got {}",
                self.max_fit_rows
            )));
        }
        if self.history_months == Some(0) {
            return Err(Error::InvalidParam(
                "history_months must be > 0, got 0".into(),
            ));
        }
        let mut rfm = RfmParams::new().seed(self.seed);
        if let Some(k) = self.rfm_k {
            rfm = rfm.k(k);
        }
        let rfm = rfm.check()?;
        // Folds are as-of days (see `folds`): the alpha search keeps the
        // same label gap as the backtest.
        let label_gap = self.snapshot.horizon_days + self.snapshot.grace_days;
        let propensity = self.propensity.clone().embargo(label_gap).check()?;
        Ok(ValidTrainParams {
            p: self,
            rfm,
            propensity,
        })
    }
}

/// Progress callback: one short line per step, called from whichever thread
/// runs the step (the backtest and the shipped fits run side by side).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

fn transforms(spec: &FeatureSpec) -> Vec<Transform> {
    spec.features
        .iter()
        .map(|f| {
            if f.kind == Kind::Log {
                Transform::Log1p
            } else {
                Transform::Identity
            }
        })
        .collect()
}

/// The as-of day of every row, as the fold for alpha selection: the
/// search tunes on the latest month ends and, with its embargo in days,
/// fits only on rows whose labels were known by then.
fn folds(frame: &FeatureFrame) -> Vec<u32> {
    frame.as_of.iter().map(|&d| d.max(0) as u32).collect()
}

/// The rows every propensity model of one frame is fitted on, backtest and
/// shipped alike: all, or the seeded sample of [`fit_sample`] beyond
/// `max_fit_rows` (it depends on the rows, not on labels, so churn and
/// upgrade share it), and their standardized design, built once for both
/// targets. The recency baseline fits on the same rows (`frame`).
struct FitRows<'a> {
    frame: Cow<'a, FeatureFrame>,
    keep: Option<Vec<bool>>,
    design: crate::models::propensity::SharedDesign,
}

impl FitRows<'_> {
    /// The labels of the fit rows.
    fn labels<'b>(&self, labels: &'b [bool]) -> Cow<'b, [bool]> {
        match &self.keep {
            Some(k) => Cow::Owned(pick(labels, k)),
            None => Cow::Borrowed(labels),
        }
    }
}

/// `rows` picks the training rows out of `frame` (None: all); only the
/// fit rows among them are copied, never all training rows. `columns`
/// picks and orders `frame`'s columns as `spec` has them (None: as they
/// are; see [`FeatureSpec::columns_in`]).
fn fit_rows<'a>(
    p: &ValidTrainParams,
    spec: &FeatureSpec,
    frame: &'a FeatureFrame,
    rows: Option<&[bool]>,
    columns: Option<&[usize]>,
) -> Result<FitRows<'a>> {
    let (max, seed) = (p.p.max_fit_rows, p.p.seed);
    let keep = match rows {
        None => fit_sample(&frame.account, &frame.as_of, max, seed),
        Some(r) => fit_sample(&pick(&frame.account, r), &pick(&frame.as_of, r), max, seed),
    };
    // The fit rows as a mask over `frame`: the training rows, thinned by
    // `keep` (which has one entry per training row).
    let mask = match (rows, &keep) {
        (None, None) => None,
        (None, Some(k)) => Some(k.clone()),
        (Some(r), None) => Some(r.to_vec()),
        (Some(r), Some(k)) => {
            let mut k = k.iter();
            Some(
                r.iter()
                    .map(|&t| t && *k.next().expect("one per training row"))
                    .collect(),
            )
        }
    };
    let frame = match (&mask, columns) {
        (Some(m), Some(c)) => Cow::Owned(frame.select(m, c)),
        (None, Some(c)) => Cow::Owned(frame.select(&vec![true; frame.n_rows()], c)),
        (Some(m), None) => Cow::Owned(frame.filter(m)),
        (None, None) => Cow::Borrowed(frame),
    };
    let design = p.propensity.design(
        "churn and upgrade",
        &frame.names,
        &transforms(spec),
        &frame.column_slices(),
        &folds(&frame),
    )?;
    Ok(FitRows {
        frame,
        keep,
        design,
    })
}

/// The one fit step of every propensity model: the fit on the shared rows
/// with alpha chosen out of time.
fn fit_step(
    p: &ValidTrainParams,
    target: &str,
    rows: &FitRows,
    labels: &[bool],
) -> Result<crate::models::propensity::FitReport> {
    p.propensity
        .fit_design(target, &rows.design, &rows.labels(labels))
}

/// Why a target cannot be modelled on `labels` (one class only), if so.
fn single_class(target: &str, labels: &[bool], what: &str) -> Option<SkippedTarget> {
    let positives = labels.iter().filter(|&&y| y).count();
    if positives > 0 && positives < labels.len() {
        return None;
    }
    let reason = if positives == 0 {
        format!(
            "all {} {what} have label false (no {target} within the horizon); \
             the {target} model is skipped",
            thousands(labels.len())
        )
    } else {
        format!(
            "all {} {what} have label true (every row is a {target}); the {target} model is skipped",
            thousands(labels.len())
        )
    };
    Some(SkippedTarget {
        target: target.to_string(),
        reason,
        rows: labels.len(),
        positives,
    })
}

/// Rows kept for fitting when there are more than `max` (None: all). Each
/// row is kept by a hash of (seed, account, as-of) against the sampling
/// rate, so the sample does not depend on row order or thread count.
fn fit_sample(account: &[u32], as_of: &[Day], max: usize, seed: u64) -> Option<Vec<bool>> {
    let n = account.len();
    if n <= max {
        return None;
    }
    let threshold = (max as f64 / n as f64 * u64::MAX as f64) as u64;
    Some(
        account
            .iter()
            .zip(as_of)
            .map(|(&a, &d)| splitmix64(seed ^ ((a as u64) << 32) ^ (d as u32 as u64)) < threshold)
            .collect(),
    )
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Keeps the values where `keep` is true.
fn pick<T: Copy>(v: &[T], keep: &[bool]) -> Vec<T> {
    v.iter()
        .zip(keep)
        .filter(|(_, &k)| k)
        .map(|(x, _)| *x)
        .collect()
}

/// The one-feature recency model, the naive baseline a churn model must beat.
/// `train`/`y` are the full model's fit rows ([`fit_rows`]).
fn recency_baseline(
    train: &FeatureFrame,
    y: &[bool],
    holdout: &FeatureFrame,
    y_hold: &[bool],
) -> Result<Option<BinaryReport>> {
    let (Some(r), Some(rh)) = (train.column("recency_days"), holdout.column("recency_days")) else {
        return Ok(None);
    };
    let single = PropensityParams {
        alphas: vec![1.0],
        ..PropensityParams::default()
    }
    .check()?;
    let fold = vec![0u32; y.len()];
    let fit = single.fit(
        "churn (recency only)",
        &["recency_days".to_string()],
        &[Transform::Log1p],
        &[r],
        y,
        &fold,
    )?;
    let probs = fit.model.predict_proba_matrix(&[rh]);
    Ok(Some(evaluate(&probs, y_hold, CALIBRATION_BINS)))
}

/// Trains every model on `tables` and returns the bundle. `progress` gets
/// one line per step.
pub fn train(tables: &Tables, p: &ValidTrainParams, progress: Progress) -> Result<Bundle> {
    let sp = p.p.snapshot;
    let h = sp.horizon_days;
    let end = p.p.as_of_end.unwrap_or(tables.last_day);
    if end > tables.last_day || end < tables.first_day {
        return Err(Error::InvalidParam(format!(
            "as_of_end {} is outside the data ({} to {})",
            format_day(end),
            format_day(tables.first_day),
            format_day(tables.last_day)
        )));
    }
    let tl = timelines(tables, sp.grace_days);
    let dates = history_dates(tables, end, h, sp.grace_days, p.p.history_months)?;
    // The shipped models' rows (every labeled month end, spec frozen at the
    // last) are built first: when the backtest's spec comes out the same,
    // its rows are these rows of its month ends, and are not built again.
    let last = *dates.last().expect("non-empty");
    progress(&format!(
        "features: {} month ends {} to {}",
        dates.len(),
        format_day(dates[0]),
        format_day(last)
    ));
    let spec = FeatureSpec::fit(tables, last, sp);
    let frame = features_as_of(tables, &tl, &dates, &spec)?;
    let all_labels = labels_for(&frame, &tl, h);
    let built = Built {
        spec: &spec,
        frame: &frame,
        labels: &all_labels,
    };
    let (churned, upgraded) = (&all_labels.churned, &all_labels.upgraded);

    // --- The shipped models: refit on every labeled month. They need
    // nothing from the backtest but whether it skipped a target, so they run
    // beside it: on 2 cores the four fits (of different lengths), segments
    // and survival then keep both cores busy. A shipped fit of a target the
    // backtest skips is thrown away, errors included; results are joined in
    // a fixed order, so the bundle does not depend on the scheduling.
    let is_last: Vec<bool> = frame.as_of.iter().map(|&d| d == last).collect();
    let latest = frame.filter(&is_last);
    progress(&format!(
        "final fit, beside the backtest: churn and upgrade on {} rows ({} month ends {} to \
         {}); segments (RFM quintiles and k-means on the last snapshot) and survival \
         (Kaplan–Meier overall and per stratum)",
        frame.n_rows(),
        dates.len(),
        format_day(dates[0]),
        format_day(last)
    ));
    // The shared design is built only when some target can be fitted.
    let fit_rows =
        if single_class("", churned, "").is_none() || single_class("", upgraded, "").is_none() {
            Some(fit_rows(p, &spec, &frame, None, None)?)
        } else {
            None
        };
    let fit_shipped = |target: &str, y: &[bool]| -> Result<Result<Shipped, SkippedTarget>> {
        if let Some(skip) = single_class(target, y, "training rows") {
            return Ok(Err(skip));
        }
        let rows = fit_rows.as_ref().expect("built when a target is modelled");
        let fit = fit_step(p, target, rows, y)?;
        let (probs, suppressors) = fit
            .model
            .predict_proba_and_suppressors(&frame.column_slices(), y);
        let in_sample = evaluate(&probs, y, CALIBRATION_BINS);
        // The last snapshot's rows are `frame`'s rows of that month end.
        let tiers = tiers(pick(&probs, &is_last));
        Ok(Ok(Shipped {
            fit,
            in_sample,
            tiers,
            suppressors,
        }))
    };
    let (r, f, m) = rfm_inputs(&latest);
    let (yc, yu) = (pick(churned, &is_last), pick(upgraded, &is_last));
    let segments_and_survival = || -> (Result<Segments>, SurvivalModel) {
        let segments = (|| {
            // k-means costs seconds per 10k rows; an evenly spaced sample
            // of at most RFM_FIT_ROWS rows fixes the cut points and
            // centroids, and every row is profiled.
            let step = r.len().div_ceil(RFM_FIT_ROWS).max(1);
            let every = |v: &[f64]| v.iter().step_by(step).copied().collect::<Vec<_>>();
            let model = p.rfm.fit(&every(&r), &every(&f), &every(&m))?;
            let profiles = profile(&model, &r, &f, &m, Some(&yc), Some(&yu))?;
            Ok(Segments { model, profiles })
        })();
        (segments, SurvivalModel::fit(tables, &tl, &spec, end))
    };
    let (bt, ((churn_fit, upgrade_fit), (segments, survival))) = rayon::join(
        || backtest_with(tables, &tl, &dates, end, p, Some(built), progress),
        || {
            rayon::join(
                || {
                    rayon::join(
                        || fit_shipped("churn", churned),
                        || fit_shipped("upgrade", upgraded),
                    )
                },
                segments_and_survival,
            )
        },
    );
    let bt = bt?;
    let ship = |bt: Result<BacktestTarget, SkippedTarget>,
                shipped: Result<Result<Shipped, SkippedTarget>>|
     -> Result<Result<Target, SkippedTarget>> {
        let bt = match bt {
            Ok(bt) => bt,
            Err(skip) => return Ok(Err(skip)),
        };
        let Shipped {
            fit,
            in_sample,
            tiers,
            suppressors,
        } = match shipped? {
            Ok(s) => s,
            Err(skip) => return Ok(Err(skip)),
        };
        let mut warnings = fit.warnings;
        warnings.extend(bt.warnings);
        Ok(Ok(Target {
            model: fit.model,
            tiers,
            holdout: bt.report,
            baselines: bt.baselines,
            in_sample,
            alpha_search: fit.alpha_search,
            warnings,
            suppressors,
            separating_features: bt.separating,
        }))
    };
    let (churn, upgrade) = (ship(bt.churn, churn_fit), ship(bt.upgrade, upgrade_fit));
    let mut skipped = Vec::new();
    let mut keep = |r: Result<Target, SkippedTarget>| match r {
        Ok(t) => Some(t),
        Err(s) => {
            skipped.push(s);
            None
        }
    };
    let (churn, upgrade) = (keep(churn?), keep(upgrade?));
    if churn.is_none() && upgrade.is_none() {
        return Err(Error::NoSignal(format!(
            "neither churn nor upgrade can be modelled: {}",
            skipped
                .iter()
                .map(|s| s.reason.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        )));
    }

    let segments = segments?;

    let distributions = frame
        .names
        .iter()
        .zip(&latest.columns)
        .map(|(n, c)| Distribution::fit(n, c))
        .collect();
    let rate = |y: &[bool]| y.iter().filter(|&&v| v).count() as f64 / y.len().max(1) as f64;
    let mut bundle = Bundle {
        schema_version: SCHEMA_VERSION,
        ebbflow_version: env!("CARGO_PKG_VERSION").to_string(),
        bundle_id: String::new(),
        created_at: String::new(),
        data: DataFingerprint {
            sources: tables.sources.clone(),
            first_day: format_day(tables.first_day),
            last_day: format_day(tables.last_day),
            end: format_day(end),
            accounts: tables.n_accounts(),
        },
        settings: TrainSettings {
            horizon_days: h,
            holdout_months: p.p.holdout_months,
            history_months: p.p.history_months,
            seed: p.p.seed,
            rfm_k: p.p.rfm_k,
            max_fit_rows: p.p.max_fit_rows,
            snapshot_dates: day_strings(&dates),
        },
        spec,
        churn_base_rate: rate(churned),
        upgrade_base_rate: rate(upgraded),
        rows: frame.n_rows(),
        churn,
        upgrade,
        skipped,
        segments,
        survival,
        backtest: bt.backtest,
        distributions,
    };
    bundle.bundle_id = bundle.content_id()?;
    Ok(bundle)
}

/// R, F, M of one row from a feature lookup: recency_days, active_days_90d
/// and mrr. Without an events table R is the tenure and F is zero (a
/// constant column scores 3). Training and scoring both read them here.
pub fn rfm_of(value: &dyn Fn(&str) -> Option<f64>) -> [f64; 3] {
    [
        value("recency_days")
            .or_else(|| value("tenure_days"))
            .unwrap_or(0.0),
        value("active_days_90d").unwrap_or(0.0),
        value("mrr").unwrap_or(0.0),
    ]
}

/// [`rfm_of`] for every row of a frame, as three columns.
pub fn rfm_inputs(frame: &FeatureFrame) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let index = frame.index();
    let (mut r, mut f, mut m) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..frame.n_rows() {
        let value = |n: &str| index.get(n).map(|j| frame.columns[j][i]);
        let [a, b, c] = rfm_of(&value);
        r.push(a);
        f.push(b);
        m.push(c);
    }
    (r, f, m)
}

/// Tier cut points from the 90th and 70th percentiles (nearest rank) of
/// the model's scores `p` on the last training snapshot.
fn tiers(mut p: Vec<f64>) -> crate::bundle::Tiers {
    p.sort_by(f64::total_cmp);
    let q = |x: f64| {
        if p.is_empty() {
            1.0
        } else {
            p[((x * p.len() as f64) as usize).min(p.len() - 1)]
        }
    };
    crate::bundle::Tiers {
        high: q(0.9),
        medium: q(0.7),
    }
}

/// One target's out-of-time result.
#[derive(Debug, Clone)]
pub struct BacktestTarget {
    /// The model fitted on training months only.
    pub model: LogisticModel,
    pub report: BinaryReport,
    pub baselines: Vec<(String, BinaryReport)>,
    pub warnings: Vec<String>,
    /// Features that alone separate the held-out label (see [`separating`]).
    pub separating: Vec<SeparatingFeature>,
}

/// A shipped model before it is joined with its backtest: the fit and
/// what is read off it on the training rows.
struct Shipped {
    fit: crate::models::propensity::FitReport,
    in_sample: BinaryReport,
    tiers: crate::bundle::Tiers,
    suppressors: Vec<String>,
}

/// The out-of-time backtest, per target: its result, or why it was skipped.
#[derive(Debug, Clone)]
pub struct BacktestResult {
    pub backtest: Backtest,
    pub churn: Result<BacktestTarget, SkippedTarget>,
    pub upgrade: Result<BacktestTarget, SkippedTarget>,
}

/// A single feature at or above this held-out ROC AUC (either direction)
/// by itself is suspect: real churn signals are weak one at a time, a
/// column that restates the outcome (a CRM `status` or `churn_reason`
/// updated after the fact) is not.
pub const SEPARATION_AUC: f64 = 0.95;

/// Features whose values alone rank the held-out label with ROC AUC >=
/// [`SEPARATION_AUC`] (or <= 1 − it); rows where the feature is missing
/// are left out. Likely label leakage: exclude the source column
/// (`[features] exclude` in the config) unless it is known at the as-of
/// date.
pub fn separating(frame: &FeatureFrame, labels: &[bool]) -> Vec<SeparatingFeature> {
    frame
        .names
        .iter()
        .zip(&frame.columns)
        .filter_map(|(name, col)| {
            let (x, y): (Vec<f64>, Vec<bool>) = col
                .iter()
                .zip(labels)
                .filter(|(v, _)| !v.is_nan())
                .map(|(&v, &l)| (v, l))
                .unzip();
            let auc = crate::metrics::roc_auc(&x, &y)?;
            let strength = auc.max(1.0 - auc);
            (strength >= SEPARATION_AUC).then(|| SeparatingFeature {
                feature: name.clone(),
                roc_auc: auc,
            })
        })
        .collect()
}

/// Fits on month ends S with S + H + grace <= the first held-out month end
/// ("now" of the backtest) and measures on the last `holdout_months` month
/// ends. The spec is frozen as of "now"; fitting, scaling and imputation
/// see the training rows only. A target whose training rows hold a single
/// class is skipped. Survival is validated here too (see
/// [`crate::models::lifetime::validate`]).
pub fn backtest(
    tables: &Tables,
    tl: &[crate::timeline::Timeline],
    dates: &[Day],
    end: Day,
    p: &ValidTrainParams,
    progress: Progress,
) -> Result<BacktestResult> {
    backtest_with(tables, tl, dates, end, p, None, progress)
}

/// Feature rows of every labeled month end (`dates` of [`backtest`]) with
/// their labels, built with `spec`.
#[derive(Clone, Copy)]
struct Built<'a> {
    spec: &'a FeatureSpec,
    frame: &'a FeatureFrame,
    labels: &'a Labels,
}

/// [`backtest`], reusing `built` when its spec is the one the backtest
/// freezes at "now", or differs from it only in the order of event types
/// and levels ([`FeatureSpec::columns_in`]; the backtest then picks its
/// columns out of `built`'s). `features_as_of` builds each (account, month
/// end) row from that spec and the data up to its month end alone, and
/// `labels_for` labels each row from its own account and month end, so
/// the backtest's rows are then exactly `built`'s rows of the backtest's
/// month ends, in the same order (date-major, accounts ascending).
fn backtest_with(
    tables: &Tables,
    tl: &[crate::timeline::Timeline],
    dates: &[Day],
    end: Day,
    p: &ValidTrainParams,
    built: Option<Built>,
    progress: Progress,
) -> Result<BacktestResult> {
    let (sp, holdout) = (p.p.snapshot, p.p.holdout_months);
    let h = sp.horizon_days;
    if dates.len() <= holdout {
        return Err(Error::InvalidParam(format!(
            "{} labeled month ends leave none for training after holding out {holdout}; \
             use fewer --holdout-months or more history",
            dates.len()
        )));
    }
    let hold_dates = &dates[dates.len() - holdout..];
    let now = hold_dates[0];
    // A training label is known at "now" only once its horizon and the
    // grace days after it are observed.
    let gap = h as Day + sp.grace_days as Day;
    let train_dates: Vec<Day> = dates.iter().copied().filter(|&d| d + gap <= now).collect();
    if train_dates.is_empty() {
        return Err(Error::InvalidParam(format!(
            "no training month end S with S + {h} + {} grace days <= {} (the first held-out month); need more history",
            sp.grace_days,
            format_day(now)
        )));
    }

    // --- Out-of-time backtest: everything frozen as of `now`.
    progress(&format!(
        "backtest: training on {} month ends up to {}, measuring on {} held-out month ends from {}",
        train_dates.len(),
        format_day(*train_dates.last().expect("non-empty")),
        hold_dates.len(),
        format_day(now)
    ));
    let spec_bt = FeatureSpec::fit(tables, now, sp);
    // Rows of month ends between the last training one and "now" (inside
    // the label gap) are in neither set.
    // With the shipped spec's event types or levels in another order (see
    // `FeatureSpec::columns_in`) they are those rows' columns in the
    // backtest's order, picked where rows are picked (`columns_bt`).
    let owned;
    let mut columns_bt = None;
    let reuse = built.map(|b| {
        let columns = (*b.spec != spec_bt).then(|| spec_bt.columns_in(b.spec));
        (b, columns)
    });
    let (frame_bt, labels_bt) = match reuse {
        Some((b, None)) => (b.frame, b.labels),
        Some((b, Some(Some(columns)))) => {
            columns_bt = Some(columns);
            (b.frame, b.labels)
        }
        _ => {
            let bt_dates: Vec<Day> = train_dates.iter().chain(hold_dates).copied().collect();
            let frame = features_as_of(tables, tl, &bt_dates, &spec_bt)?;
            let labels = labels_for(&frame, tl, h);
            owned = (frame, labels);
            (&owned.0, &owned.1)
        }
    };
    let is_train: Vec<bool> = frame_bt.as_of.iter().map(|&d| d + gap <= now).collect();
    let is_hold: Vec<bool> = frame_bt.as_of.iter().map(|&d| d >= now).collect();
    let train_rows = is_train.iter().filter(|&&t| t).count();
    let ho = match &columns_bt {
        Some(c) => frame_bt.select(&is_hold, c),
        None => frame_bt.filter(&is_hold),
    };
    progress(&format!(
        "backtest: fitting churn and upgrade side by side on {} rows, then survival \
         against what happened after each held-out month end",
        train_rows
    ));
    // Each target's alpha path runs on one thread (see `propensity`), so the
    // two targets share the cores; the results do not depend on it.
    let train_labels = |y_all: &[bool]| pick(y_all, &is_train);
    let bt_rows = if [&labels_bt.churned, &labels_bt.upgraded]
        .iter()
        .any(|y| single_class("", &train_labels(y), "").is_none())
    {
        Some(fit_rows(
            p,
            &spec_bt,
            frame_bt,
            Some(&is_train),
            columns_bt.as_deref(),
        )?)
    } else {
        None
    };
    // A modelled target comes back with its held-out probabilities.
    type Run = Result<(BacktestTarget, Vec<f64>), SkippedTarget>;
    let run = |target: &str, y_all: &[bool]| -> Result<Run> {
        let (y, y_hold) = (train_labels(y_all), pick(y_all, &is_hold));
        if let Some(skip) = single_class(target, &y, "backtest training rows") {
            return Ok(Err(skip));
        }
        let rows = bt_rows.as_ref().expect("built when a target is modelled");
        let fit = fit_step(p, target, rows, &y)?;
        let probs = fit.model.predict_proba_matrix(&ho.column_slices());
        let report = evaluate(&probs, &y_hold, CALIBRATION_BINS);
        let base = y.iter().filter(|&&v| v).count() as f64 / y.len().max(1) as f64;
        let mut baselines = vec![(
            "base rate".to_string(),
            evaluate(&vec![base; y_hold.len()], &y_hold, CALIBRATION_BINS),
        )];
        if target == "churn" {
            if let Some(r) = recency_baseline(&rows.frame, &rows.labels(&y), &ho, &y_hold)? {
                baselines.push(("recency only".to_string(), r));
            }
        }
        let separating = separating(&ho, &y_hold);
        let mut warnings = Vec::new();
        for s in &separating {
            warnings.push(format!(
                "{target}: feature {} alone separates the held-out label (ROC AUC {:.3}); \
                 if its source column is updated after the fact (a CRM status or churn reason), \
                 exclude it with [features] exclude in the config",
                s.feature, s.roc_auc
            ));
        }
        Ok(Ok((
            BacktestTarget {
                model: fit.model,
                report,
                baselines,
                warnings,
                separating,
            },
            probs,
        )))
    };
    // Survival is validated (with the churn scores) while the upgrade fit
    // still runs.
    let churn_then_survival = || {
        let churn = run("churn", &labels_bt.churned)?;
        let churn_probs = churn.as_ref().ok().map(|(_, probs)| probs.as_slice());
        let survival =
            crate::models::lifetime::validate(tables, tl, &spec_bt, &ho, churn_probs, now, end, h);
        Ok::<_, Error>((churn.map(|(t, _)| t), survival))
    };
    let (churn, upgrade) = rayon::join(churn_then_survival, || run("upgrade", &labels_bt.upgraded));
    let ((churn, survival), upgrade) = (churn?, upgrade?.map(|(t, _)| t));
    let backtest = Backtest {
        train_months: day_strings(&train_dates),
        holdout_months: day_strings(hold_dates),
        train_rows,
        holdout_rows: ho.n_rows(),
        embargo_days: gap as u32,
        survival: Some(survival),
    };
    Ok(BacktestResult {
        backtest,
        churn,
        upgrade,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::io::load::load_dir;

    /// `train` hands the backtest the shipped rows when the backtest's spec
    /// equals the shipped one; the result must be what the backtest gets
    /// from building its own rows (the public [`backtest`]), to the last bit.
    #[test]
    fn backtest_on_the_shipped_rows_equals_its_own_build() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
        let tables = load_dir(&dir, &Config::default()).unwrap();
        let p = TrainParams::new(SnapshotParams::default()).check().unwrap();
        let sp = p.p.snapshot;
        let tl = timelines(&tables, sp.grace_days);
        let end = tables.last_day;
        let dates = history_dates(&tables, end, sp.horizon_days, sp.grace_days, None).unwrap();
        let spec = FeatureSpec::fit(&tables, *dates.last().unwrap(), sp);
        let now = dates[dates.len() - p.p.holdout_months];
        assert_eq!(
            spec,
            FeatureSpec::fit(&tables, now, sp),
            "on the demo the two specs agree, so the shared rows are used"
        );
        let frame = features_as_of(&tables, &tl, &dates, &spec).unwrap();
        let labels = labels_for(&frame, &tl, sp.horizon_days);
        let built = Built {
            spec: &spec,
            frame: &frame,
            labels: &labels,
        };
        let shared = backtest_with(&tables, &tl, &dates, end, &p, Some(built), &|_| {});
        let own = backtest(&tables, &tl, &dates, end, &p, &|_| {});
        let (shared, own) = (shared.unwrap(), own.unwrap());
        assert!(shared.churn.is_ok() && shared.upgrade.is_ok());
        // Debug prints every float exactly (shortest round-trip form).
        assert_eq!(format!("{shared:?}"), format!("{own:?}"));

        // Shipped rows built with the event types and levels in another
        // order (ranks that swapped after "now"): the backtest picks their
        // columns in its own order and gets what its own build gives.
        let other = crate::snapshot::tests::reordered(&spec);
        assert!(spec.columns_in(&other).is_some() && other != spec);
        let frame = features_as_of(&tables, &tl, &dates, &other).unwrap();
        let built = Built {
            spec: &other,
            frame: &frame,
            labels: &labels,
        };
        let picked = backtest_with(&tables, &tl, &dates, end, &p, Some(built), &|_| {});
        assert_eq!(format!("{:?}", picked.unwrap()), format!("{own:?}"));
    }
}
