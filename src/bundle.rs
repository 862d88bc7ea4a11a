//! The versioned model bundle: `bundle.json` is the single source of truth
//! (parameters, frozen feature spec, coefficients, cut points, centroids,
//! KM tables, validation figures, training distributions). It holds
//! parameters and aggregates only, never account ids, names or rows. Saving
//! is atomic; loading refuses other schema versions and damaged files.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::dates::Day;
use crate::drift::Distribution;
use crate::error::{Error, Result};
use crate::io::load::SourceFile;
use crate::metrics::BinaryReport;
use crate::models::lifetime::{SurvivalModel, SurvivalValidation};
use crate::models::propensity::{AlphaScore, LogisticModel};
use crate::models::rfm::{RfmModel, SegmentProfile};
use crate::snapshot::FeatureSpec;

/// Bumped whenever a field changes meaning or shape; other versions are refused.
/// 2: a target may be skipped (single class); lifetimes are paid periods and
/// plan strata follow the plan on each day; survival validation figures.
pub const SCHEMA_VERSION: u32 = 2;

/// What the bundle was trained on, without any row of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataFingerprint {
    pub sources: Vec<SourceFile>,
    pub first_day: String,
    pub last_day: String,
    /// The end used for labels and censoring (`--as-of-end` or `last_day`).
    pub end: String,
    pub accounts: usize,
}

/// The training parameters, as used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSettings {
    pub horizon_days: u32,
    pub holdout_months: usize,
    pub history_months: Option<usize>,
    pub seed: u64,
    pub rfm_k: Option<usize>,
    pub max_fit_rows: usize,
    /// Month ends stacked for the shipped fit.
    pub snapshot_dates: Vec<String>,
}

/// Risk tiers: a score at or above `high` is high, at or above `medium` is
/// medium, else low. Cut at the 90th and 70th percentiles of the shipped
/// model's scores on the last training snapshot, so a tier means the same
/// thing every night whatever today's batch looks like.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tiers {
    pub high: f64,
    pub medium: f64,
}

impl Tiers {
    pub fn of(&self, p: f64) -> &'static str {
        if p >= self.high {
            "high"
        } else if p >= self.medium {
            "medium"
        } else {
            "low"
        }
    }
}

/// One propensity target: the shipped model and its honest figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub model: LogisticModel,
    pub tiers: Tiers,
    /// Out-of-time figures: fitted on months before the holdout, measured on
    /// the holdout months only.
    pub holdout: BinaryReport,
    /// Baselines on the same holdout rows.
    pub baselines: Vec<(String, BinaryReport)>,
    /// The shipped model (refit on all months) measured on its own training
    /// rows: in-sample, for comparison only, never a validation figure.
    pub in_sample: BinaryReport,
    pub alpha_search: Vec<AlphaScore>,
    pub warnings: Vec<String>,
    /// Features whose coefficient opposes their own association with the
    /// label on the training rows ([`LogisticModel::predict_proba_and_suppressors`]): they
    /// count in the score but are never given as a reason.
    #[serde(default)]
    pub suppressors: Vec<String>,
    /// Features that alone separate the held-out label: leakage suspects
    /// (see `train::separating`).
    #[serde(default)]
    pub separating_features: Vec<SeparatingFeature>,
}

/// A feature whose values alone rank the held-out label almost perfectly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeparatingFeature {
    pub feature: String,
    /// Its held-out ROC AUC by itself (near 0: separates the other way).
    pub roc_auc: f64,
}

/// A target with nothing to learn in the training rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedTarget {
    pub target: String,
    /// e.g. "all 2,011 training rows have label false (no upgrade in the history)".
    pub reason: String,
    pub rows: usize,
    pub positives: usize,
}

/// The RFM part of the bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segments {
    pub model: RfmModel,
    pub profiles: Vec<SegmentProfile>,
}

/// Rows and months behind the figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backtest {
    pub train_months: Vec<String>,
    pub holdout_months: Vec<String>,
    pub train_rows: usize,
    pub holdout_rows: usize,
    /// Training rows are limited to S + horizon + grace days <= first
    /// holdout month, so no training label looks past the point the
    /// backtest pretends is "now".
    pub embargo_days: u32,
    /// Per-account survival measured on the held-out months.
    #[serde(default)]
    pub survival: Option<SurvivalValidation>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bundle {
    pub schema_version: u32,
    pub ebbflow_version: String,
    /// Content hash (sha256 of the bundle with `bundle_id` and `created_at`
    /// blank): equal ids mean equal models.
    pub bundle_id: String,
    /// Creation time (UTC, RFC 3339); the only field that differs between
    /// two trainings on the same inputs.
    pub created_at: String,
    pub data: DataFingerprint,
    pub settings: TrainSettings,
    pub spec: FeatureSpec,
    /// `None` when the training rows held a single class for the target
    /// (see `skipped`): scoring then leaves that model's columns empty.
    pub churn: Option<Target>,
    pub upgrade: Option<Target>,
    /// Targets not modelled, and why.
    pub skipped: Vec<SkippedTarget>,
    pub segments: Segments,
    pub survival: SurvivalModel,
    pub backtest: Backtest,
    /// Training distribution of every feature, for drift checks at scoring.
    pub distributions: Vec<Distribution>,
    /// Rows per month end in the shipped fit, and base rates.
    pub rows: usize,
    pub churn_base_rate: f64,
    pub upgrade_base_rate: f64,
}

impl Bundle {
    /// The content hash, ignoring `bundle_id` and `created_at`.
    pub fn content_id(&self) -> Result<String> {
        let mut b = self.clone();
        b.bundle_id.clear();
        b.created_at.clear();
        let bytes = serde_json::to_vec(&b)?;
        Ok(format!("{:x}", Sha256::digest(&bytes))[..16].to_string())
    }

    /// Writes `bundle.json` atomically into `dir`.
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        crate::io::write::write_bytes(&dir.join("bundle.json"), text.as_bytes())
    }

    /// Reads `bundle.json` from `dir` (or the file itself), refusing other
    /// schema versions, damaged JSON and a tampered content.
    pub fn load(path: &Path) -> Result<Bundle> {
        let file = if path.is_dir() {
            path.join("bundle.json")
        } else {
            path.to_path_buf()
        };
        let bad = |message: String| Error::Bundle {
            path: file.clone(),
            message,
        };
        let text =
            std::fs::read_to_string(&file).map_err(|e| bad(format!("cannot be read: {e}")))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad(format!("is not valid JSON ({e}); is the file truncated?")))?;
        let version = value.get("schema_version").and_then(|v| v.as_u64());
        if version != Some(SCHEMA_VERSION as u64) {
            return Err(bad(format!(
                "has schema version {}, this ebbflow ({}) reads version {SCHEMA_VERSION}; retrain with this version",
                version.map_or("(none)".to_string(), |v| v.to_string()),
                env!("CARGO_PKG_VERSION")
            )));
        }
        let bundle: Bundle = serde_json::from_value(value).map_err(|e| {
            bad(format!(
                "does not match schema version {SCHEMA_VERSION}: {e}"
            ))
        })?;
        let id = bundle.content_id()?;
        if id != bundle.bundle_id {
            return Err(bad(format!(
                "content does not match its bundle_id ({} recorded, {id} computed): it was edited or damaged after training",
                bundle.bundle_id
            )));
        }
        bundle.check().map_err(|e| bad(e.to_string()))?;
        Ok(bundle)
    }

    /// The fitted targets, churn first.
    pub fn targets(&self) -> impl Iterator<Item = &Target> {
        self.churn.iter().chain(self.upgrade.iter())
    }

    /// Why `target` has no model, if it has none.
    pub fn skip_reason(&self, target: &str) -> Option<&str> {
        self.skipped
            .iter()
            .find(|s| s.target == target)
            .map(|s| s.reason.as_str())
    }

    /// Internal consistency: the models' inputs are the spec's features.
    pub fn check(&self) -> Result<()> {
        let names = self.spec.names();
        if self.churn.is_none() && self.upgrade.is_none() {
            return Err(Error::Model("the bundle holds no model".into()));
        }
        for t in self.targets() {
            let inputs: Vec<&str> = t
                .model
                .preprocessor
                .inputs
                .iter()
                .map(|i| i.name.as_str())
                .collect();
            if inputs != names.iter().map(String::as_str).collect::<Vec<_>>() {
                return Err(Error::Model(format!(
                    "the {} model's inputs do not match the feature spec ({} inputs, {} features)",
                    t.model.target,
                    inputs.len(),
                    names.len()
                )));
            }
            t.model.validate()?;
        }
        self.segments.model.check()?;
        Ok(())
    }
}

/// Formats a day list for the bundle.
pub fn day_strings(days: &[Day]) -> Vec<String> {
    days.iter().map(|&d| crate::dates::format_day(d)).collect()
}
