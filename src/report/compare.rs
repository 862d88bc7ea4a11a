//! What changed between two bundles, for the model report's comparison
//! section: validation figures, base rates, coefficients, segment sizes
//! and the data behind them, each with a verdict (better, worse, about the
//! same, or just changed). Reads two loaded bundles; loading, and refusing
//! other schema versions, is `Bundle::load`'s job.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::bundle::{Bundle, Target};
use crate::metrics::BinaryReport;

/// Differences in a validation figure smaller than this are "about the
/// same": on a few thousand held-out rows the third decimal of an AUC is
/// noise, and calling it better or worse would send people chasing it.
pub const SAME_WITHIN: f64 = 0.001;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Better,
    Worse,
    Same,
    /// A value with no better direction (a base rate, a count).
    Changed,
    /// Present in only one bundle, or not measurable in one.
    Missing,
}

/// One number in both bundles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Delta {
    pub group: String,
    pub name: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
    /// `new - old` when both exist.
    pub delta: Option<f64>,
    /// "higher" or "lower" is better; `None` for values with no better
    /// direction (base rates, counts), which are only ever "changed".
    pub better: Option<&'static str>,
    pub verdict: Verdict,
}

/// Which way a figure improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

fn delta(
    group: &str,
    name: &str,
    old: Option<f64>,
    new: Option<f64>,
    better: Better,
    tol: f64,
) -> Delta {
    let d = match (old, new) {
        (Some(o), Some(n)) => Some(n - o),
        _ => None,
    };
    let verdict = match (d, better) {
        (None, _) => Verdict::Missing,
        (Some(d), _) if d.abs() < tol => Verdict::Same,
        (Some(_), Better::Neither) => Verdict::Changed,
        (Some(d), Better::Higher) if d > 0.0 => Verdict::Better,
        (Some(d), Better::Lower) if d < 0.0 => Verdict::Better,
        (Some(_), _) => Verdict::Worse,
    };
    Delta {
        group: group.to_string(),
        name: name.to_string(),
        old,
        new,
        delta: d,
        better: match better {
            Better::Higher => Some("higher"),
            Better::Lower => Some("lower"),
            Better::Neither => None,
        },
        verdict,
    }
}

/// A coefficient per standard deviation in either bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoefDelta {
    pub target: String,
    pub feature: String,
    pub old: Option<f64>,
    pub new: Option<f64>,
    pub delta: Option<f64>,
}

/// A segment (by name) in either bundle.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentDelta {
    pub name: String,
    pub old_size: Option<usize>,
    pub new_size: Option<usize>,
    pub old_share: Option<f64>,
    pub new_share: Option<f64>,
    pub old_churn_rate: Option<f64>,
    pub new_churn_rate: Option<f64>,
}

/// The older bundle as the page names it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OldBundle {
    pub bundle_id: String,
    pub created_at: String,
    pub ebbflow_version: String,
    pub first_day: String,
    pub last_day: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub old: OldBundle,
    /// Caveats a reader needs before trusting a verdict.
    pub notes: Vec<String>,
    /// Held-out figures per target, then base rates and data size.
    pub figures: Vec<Delta>,
    /// Sorted by the size of the change, largest first.
    pub coefficients: Vec<CoefDelta>,
    pub segments: Vec<SegmentDelta>,
}

fn figures(target: &str, old: &BinaryReport, new: &BinaryReport) -> Vec<Delta> {
    let g = format!("{target} (held out)");
    vec![
        delta(
            &g,
            "ROC AUC",
            old.roc_auc,
            new.roc_auc,
            Better::Higher,
            SAME_WITHIN,
        ),
        delta(
            &g,
            "PR AUC",
            old.pr_auc,
            new.pr_auc,
            Better::Higher,
            SAME_WITHIN,
        ),
        delta(
            &g,
            "Brier score",
            old.brier,
            new.brier,
            Better::Lower,
            SAME_WITHIN,
        ),
        delta(
            &g,
            "top-decile lift",
            old.top_decile_lift,
            new.top_decile_lift,
            Better::Higher,
            0.01,
        ),
        delta(
            &g,
            "calibration error (ECE)",
            old.ece,
            new.ece,
            Better::Lower,
            SAME_WITHIN,
        ),
        delta(
            &g,
            "held-out base rate",
            Some(old.base_rate),
            Some(new.base_rate),
            Better::Neither,
            1e-9,
        ),
    ]
}

fn coefficients(old: &Target, new: &Target) -> Vec<CoefDelta> {
    let get = |t: &Target, f: &str| {
        t.model
            .feature_names
            .iter()
            .position(|n| n == f)
            .map(|i| t.model.coefficients[i])
    };
    let names: BTreeSet<&str> = old
        .model
        .feature_names
        .iter()
        .chain(&new.model.feature_names)
        .map(String::as_str)
        .collect();
    let mut out: Vec<CoefDelta> = std::iter::once("(intercept)")
        .chain(names)
        .map(|f| {
            let (o, n) = if f == "(intercept)" {
                (Some(old.model.intercept), Some(new.model.intercept))
            } else {
                (get(old, f), get(new, f))
            };
            CoefDelta {
                target: new.model.target.clone(),
                feature: f.to_string(),
                old: o,
                new: n,
                delta: o.zip(n).map(|(o, n)| n - o),
            }
        })
        .collect();
    // Features in only one bundle first, then by how much they moved;
    // ties by name so the order never depends on anything else.
    let size = |c: &CoefDelta| c.delta.map_or(f64::INFINITY, f64::abs);
    out.sort_by(|a, b| {
        size(b)
            .total_cmp(&size(a))
            .then_with(|| a.feature.cmp(&b.feature))
    });
    out
}

impl Comparison {
    /// `new` against `old`.
    pub fn of(new: &Bundle, old: &Bundle) -> Comparison {
        let mut notes = Vec::new();
        if new.bundle_id == old.bundle_id {
            notes.push(
                "Both bundles have the same content id: the models are identical.".to_string(),
            );
        }
        if new.settings.horizon_days != old.settings.horizon_days {
            notes.push(format!(
                "The horizons differ ({} days before, {} now): the figures measure different questions and are not comparable.",
                old.settings.horizon_days, new.settings.horizon_days
            ));
        }
        if new.backtest.holdout_months != old.backtest.holdout_months {
            notes.push(format!(
                "The held-out months differ ({} before, {} now): the figures come from different accounts and months, so a change may come from the data rather than the model.",
                old.backtest.holdout_months.join(", "),
                new.backtest.holdout_months.join(", ")
            ));
        }
        let mut figs = Vec::new();
        let pairs = [(&old.churn, &new.churn), (&old.upgrade, &new.upgrade)];
        let both = pairs.iter().filter_map(|(o, n)| o.as_ref().zip(n.as_ref()));
        for (o, n) in both.clone() {
            figs.extend(figures(&n.model.target, &o.holdout, &n.holdout));
        }
        let g = "training data";
        figs.push(delta(
            g,
            "churn base rate",
            Some(old.churn_base_rate),
            Some(new.churn_base_rate),
            Better::Neither,
            1e-9,
        ));
        figs.push(delta(
            g,
            "upgrade base rate",
            Some(old.upgrade_base_rate),
            Some(new.upgrade_base_rate),
            Better::Neither,
            1e-9,
        ));
        figs.push(delta(
            g,
            "accounts",
            Some(old.data.accounts as f64),
            Some(new.data.accounts as f64),
            Better::Neither,
            0.5,
        ));
        figs.push(delta(
            g,
            "account-months",
            Some(old.rows as f64),
            Some(new.rows as f64),
            Better::Neither,
            0.5,
        ));
        figs.push(delta(
            g,
            "median lifetime, days (all accounts)",
            finite(old.survival.overall.median()),
            finite(new.survival.overall.median()),
            Better::Neither,
            0.5,
        ));
        let coefs: Vec<_> = both.flat_map(|(o, n)| coefficients(o, n)).collect();

        let names: BTreeSet<&str> = old
            .segments
            .profiles
            .iter()
            .chain(&new.segments.profiles)
            .map(|p| p.name.as_str())
            .collect();
        // Segments keep their archetype order (Champions first), not the
        // alphabet: the order people already know from the profiles table.
        let order = |n: &str| {
            crate::models::rfm::ARCHETYPES
                .iter()
                .position(|(a, _)| *a == n)
                .unwrap_or(usize::MAX)
        };
        let mut names: Vec<&str> = names.into_iter().collect();
        names.sort_by_key(|n| (order(n), n.to_string()));
        let segments = names
            .into_iter()
            .map(|name| {
                let o = old.segments.profiles.iter().find(|p| p.name == name);
                let n = new.segments.profiles.iter().find(|p| p.name == name);
                SegmentDelta {
                    name: name.to_string(),
                    old_size: o.map(|p| p.size),
                    new_size: n.map(|p| p.size),
                    old_share: o.map(|p| p.share),
                    new_share: n.map(|p| p.share),
                    old_churn_rate: o.and_then(|p| p.churn_rate),
                    new_churn_rate: n.and_then(|p| p.churn_rate),
                }
            })
            .collect();
        Comparison {
            old: OldBundle {
                bundle_id: old.bundle_id.clone(),
                created_at: old.created_at.clone(),
                ebbflow_version: old.ebbflow_version.clone(),
                first_day: old.data.first_day.clone(),
                last_day: old.data.last_day.clone(),
            },
            notes,
            figures: figs,
            coefficients: coefs,
            segments,
        }
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> Bundle {
        Bundle::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo")).unwrap()
    }

    fn find<'a>(c: &'a Comparison, group: &str, name: &str) -> &'a Delta {
        c.figures
            .iter()
            .find(|d| d.group == group && d.name == name)
            .unwrap_or_else(|| panic!("{group} / {name}"))
    }

    #[test]
    fn verdicts_follow_the_direction_each_figure_improves_in() {
        let d = |o, n, b| delta("g", "x", Some(o), Some(n), b, SAME_WITHIN).verdict;
        assert_eq!(d(0.80, 0.82, Better::Higher), Verdict::Better);
        assert_eq!(d(0.80, 0.78, Better::Higher), Verdict::Worse);
        assert_eq!(d(0.050, 0.040, Better::Lower), Verdict::Better);
        assert_eq!(d(0.050, 0.060, Better::Lower), Verdict::Worse);
        assert_eq!(d(0.8000, 0.8004, Better::Higher), Verdict::Same);
        assert_eq!(d(0.06, 0.07, Better::Neither), Verdict::Changed);
        assert_eq!(
            delta("g", "x", None, Some(1.0), Better::Higher, 0.0).verdict,
            Verdict::Missing
        );
    }

    #[test]
    fn a_bundle_compared_with_itself_is_the_same_everywhere() {
        let b = demo();
        let c = Comparison::of(&b, &b);
        assert!(c.notes[0].contains("identical"), "{:?}", c.notes);
        assert!(
            c.figures.iter().all(|d| d.verdict == Verdict::Same),
            "{:?}",
            c.figures
        );
        assert!(c.coefficients.iter().all(|d| d.delta == Some(0.0)));
        assert!(c.segments.iter().all(|s| s.old_size == s.new_size));
    }

    #[test]
    fn deltas_say_which_way_the_model_moved() {
        let old = demo();
        let mut new = old.clone();
        // A better churn model on the same rows, a worse upgrade model,
        // one coefficient changed, one feature gone, one segment renamed.
        let (oc, ou) = (old.churn.as_ref().unwrap(), old.upgrade.as_ref().unwrap());
        let nc = new.churn.as_mut().unwrap();
        nc.holdout.roc_auc = oc.holdout.roc_auc.map(|x| x + 0.02);
        nc.holdout.brier = oc.holdout.brier.map(|x| x - 0.004);
        new.upgrade.as_mut().unwrap().holdout.roc_auc = ou.holdout.roc_auc.map(|x| x - 0.05);
        new.churn_base_rate = old.churn_base_rate + 0.01;
        let nc = new.churn.as_mut().unwrap();
        nc.model.coefficients[1] += 0.5;
        let gone = nc.model.feature_names.pop().unwrap();
        nc.model.coefficients.pop();
        new.segments.profiles[0].name = "Renamed".into();
        new.bundle_id = "different".into();

        let c = Comparison::of(&new, &old);
        assert!(c.notes.is_empty(), "{:?}", c.notes);
        let auc = find(&c, "churn (held out)", "ROC AUC");
        assert_eq!(auc.verdict, Verdict::Better);
        assert!((auc.delta.unwrap() - 0.02).abs() < 1e-12);
        assert_eq!(
            find(&c, "churn (held out)", "Brier score").verdict,
            Verdict::Better
        );
        assert_eq!(
            find(&c, "upgrade (held out)", "ROC AUC").verdict,
            Verdict::Worse
        );
        assert_eq!(
            find(&c, "training data", "churn base rate").verdict,
            Verdict::Changed
        );
        assert_eq!(
            find(&c, "upgrade (held out)", "PR AUC").verdict,
            Verdict::Same
        );

        // The removed feature comes first (it is in one bundle only), then
        // the coefficient that moved by 0.5.
        let churn: Vec<&CoefDelta> = c
            .coefficients
            .iter()
            .filter(|d| d.target == "churn")
            .collect();
        assert_eq!(churn[0].feature, gone);
        assert_eq!((churn[0].old.is_some(), churn[0].new), (true, None));
        assert_eq!(
            churn[1].feature,
            old.churn.as_ref().unwrap().model.feature_names[1]
        );
        assert!((churn[1].delta.unwrap() - 0.5).abs() < 1e-12);

        let renamed = c.segments.iter().find(|s| s.name == "Renamed").unwrap();
        assert_eq!((renamed.old_size, renamed.new_size.is_some()), (None, true));
        let old_name = &old.segments.profiles[0].name;
        let was = c.segments.iter().find(|s| &s.name == old_name).unwrap();
        assert_eq!((was.old_size.is_some(), was.new_size), (true, None));
    }

    #[test]
    fn different_horizons_and_holdouts_are_called_out() {
        let old = demo();
        let mut new = old.clone();
        new.settings.horizon_days = 60;
        new.backtest.holdout_months = vec!["2026-01-31".into()];
        new.bundle_id = "x".into();
        let c = Comparison::of(&new, &old);
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        assert!(c.notes[0].contains("not comparable"));
        assert!(c.notes[1].contains("different accounts and months"));
    }
}
