//! `report.html` in the bundle directory: the model's validation figures
//! against its baselines, calibration and lift charts, coefficients,
//! Kaplan–Meier curves per stratifier with log-rank tests, segment
//! profiles, and optionally what changed since an older bundle. It reads
//! the bundle only, so it holds aggregates only, like the bundle (a test
//! checks that no demo account id or name reaches the page).

use serde::Serialize;
use serde_json::{json, Value};

use crate::bundle::{Bundle, Target};
use crate::error::Result;
use crate::models::lifetime::CurveSummary;
use crate::report::compare::Comparison;
use crate::report::data::{curves, figure_rows, steps, Steps};
use crate::report::html::{json_for_script, page};

pub(crate) const TRAIN_JS: &str = include_str!("assets/train.js");

#[derive(Debug, Serialize)]
struct Level<'a> {
    level: &'a str,
    summary: Option<&'a CurveSummary>,
    #[serde(flatten)]
    steps: Steps,
}

fn summary<'a>(b: &'a Bundle, stratifier: &str, level: &str) -> Option<&'a CurveSummary> {
    b.survival
        .summaries
        .iter()
        .find(|s| s.stratifier == stratifier && s.level == level)
}

fn target(t: &Target) -> Value {
    let m = &t.model;
    let mut coefs: Vec<(&str, f64)> = m
        .feature_names
        .iter()
        .map(String::as_str)
        .zip(m.coefficients.iter().copied())
        .collect();
    // Strongest first; ties by name so the order is fixed.
    coefs.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then_with(|| a.0.cmp(b.0)));
    json!({
        "target": m.target,
        "figures": figure_rows(t),
        "curves": curves(t),
        "tiers": t.tiers,
        "alpha": m.alpha,
        "converged": m.converged,
        "alpha_search": t.alpha_search,
        "warnings": t.warnings,
        "intercept": m.intercept,
        "coefficients": coefs,
    })
}

/// The page's data as one JSON value (what [`render`] embeds).
pub fn data(b: &Bundle, previous: Option<&Bundle>) -> Value {
    let stratifiers: Vec<Value> = b
        .survival
        .log_rank
        .iter()
        .map(|(name, test)| {
            let levels: Vec<Level> = b
                .survival
                .strata
                .iter()
                .filter(|s| &s.stratifier == name)
                .map(|s| Level {
                    level: &s.level,
                    summary: summary(b, name, &s.level),
                    steps: steps(&s.curve),
                })
                .collect();
            json!({ "name": name, "log_rank": test, "levels": levels })
        })
        .collect();
    let dates = &b.settings.snapshot_dates;
    json!({
        "generated_at": b.created_at,
        "bundle": {
            "id": b.bundle_id,
            "created_at": b.created_at,
            "ebbflow_version": b.ebbflow_version,
            "schema_version": b.schema_version,
        },
        "data": {
            "accounts": b.data.accounts,
            "first_day": b.data.first_day,
            "last_day": b.data.last_day,
            "end": b.data.end,
            "sources": b.data.sources.iter().map(|s| json!({
                "table": s.table, "file": s.file, "rows": s.rows,
                "skipped_unknown_account": s.skipped_unknown_account,
            })).collect::<Vec<_>>(),
        },
        "settings": {
            "horizon_days": b.settings.horizon_days,
            "holdout_months": b.settings.holdout_months,
            "seed": b.settings.seed,
            "max_fit_rows": b.settings.max_fit_rows,
            "snapshots": dates.len(),
            "first_snapshot": dates.first(),
            "last_snapshot": dates.last(),
        },
        "backtest": b.backtest,
        "rows": b.rows,
        "churn_base_rate": b.churn_base_rate,
        "upgrade_base_rate": b.upgrade_base_rate,
        "targets": b.targets().map(target).collect::<Vec<_>>(),
        "skipped": b.skipped,
        "survival": {
            "overall": { "summary": summary(b, "overall", "all"), "steps": steps(&b.survival.overall) },
            "stratifiers": stratifiers,
            "queue_stratifier": b.survival.queue_stratifier,
        },
        "segments": {
            "k": b.segments.model.k,
            "k_selection": b.segments.model.k_selection,
            "profiles": b.segments.profiles,
        },
        "compare": previous.map(|old| Comparison::of(b, old)),
    })
}

/// The complete page for `b`, compared with `previous` when given. The
/// page is a function of the bundles alone: its time stamp is the bundle's
/// `created_at`, so retraining on the same inputs changes nothing else.
pub fn render(b: &Bundle, previous: Option<&Bundle>) -> Result<String> {
    let json = json_for_script(&data(b, previous))?;
    Ok(page(
        &format!("ebbflow model report, bundle {}", b.bundle_id),
        &json,
        TRAIN_JS,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::io::load::load_dir;

    fn root() -> std::path::PathBuf {
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn the_model_page_holds_no_account_id_or_name() {
        let b = Bundle::load(&root().join("models/demo")).unwrap();
        let html = render(&b, Some(&b)).unwrap();
        let tables = load_dir(&root().join("datasets/demo"), &Config::default()).unwrap();
        assert!(tables.accounts.ids.len() > 1000);
        for id in &tables.accounts.ids {
            assert!(!html.contains(id.as_str()), "account id {id} in the page");
        }
        for name in tables.accounts.names.iter().flatten() {
            assert!(
                !html.contains(name.as_str()),
                "account name {name} in the page"
            );
        }
    }

    #[test]
    fn the_model_page_is_a_function_of_the_bundle() {
        let b = Bundle::load(&root().join("models/demo")).unwrap();
        let a = render(&b, None).unwrap();
        assert_eq!(a, render(&b, None).unwrap());
        let mut later = b.clone();
        later.created_at = "2099-01-01T00:00:00Z".into();
        assert_eq!(
            a.replace(&b.created_at, "T"),
            render(&later, None)
                .unwrap()
                .replace("2099-01-01T00:00:00Z", "T")
        );
    }

    #[test]
    fn every_stratifier_brings_its_curves_and_log_rank_test() {
        let b = Bundle::load(&root().join("models/demo")).unwrap();
        let d = data(&b, None);
        let strat = d["survival"]["stratifiers"].as_array().unwrap();
        assert_eq!(strat.len(), b.survival.log_rank.len());
        let plan = strat.iter().find(|s| s["name"] == "plan").unwrap();
        let p = b
            .survival
            .log_rank
            .iter()
            .find(|(n, _)| n == "plan")
            .unwrap()
            .1
            .unwrap();
        assert_eq!(plan["log_rank"]["p_value"], p.p_value);
        let levels = plan["levels"].as_array().unwrap();
        assert_eq!(
            levels.len(),
            b.survival
                .strata
                .iter()
                .filter(|s| s.stratifier == "plan")
                .count()
        );
        for l in levels {
            assert!(l["t"].as_array().unwrap().len() > 10, "{}", l["level"]);
            assert!(l["summary"]["n"].as_u64().unwrap() > 0);
        }
        assert!(d["compare"].is_null());
        // Coefficients strongest first.
        let c = d["targets"][0]["coefficients"].as_array().unwrap();
        let mag = |i: usize| c[i][1].as_f64().unwrap().abs();
        assert!((1..c.len()).all(|i| mag(i - 1) >= mag(i)));
    }
}
