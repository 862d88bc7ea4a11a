//! The files written beside `bundle.json` for people and notebooks:
//! `survival.csv`, `coefficients.csv`, `segments.csv`, `metrics.json` and
//! `model_card.md`. All are derived from the bundle; none is read back.
//! With `bundle.json` and `report.html` they are the bundle folder's set,
//! published as one switch (see `publish::folder`).

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::*;

use crate::bundle::{Bundle, Target};
use crate::error::{Error, Result};
use crate::io::write::{write_bytes, write_frame, Format};
use crate::metrics::BinaryReport;
use crate::models::lifetime::{MIN_AT_RISK, REMAINING_WINDOW_DAYS};
use crate::publish::{Contents, OutputFolder};

/// The names a bundle folder may hold.
pub const BUNDLE_FILES: Contents = Contents {
    what: "model bundle",
    names: &[
        "bundle.json",
        "survival.csv",
        "coefficients.csv",
        "segments.csv",
        "metrics.json",
        "model_card.md",
        "report.html",
    ],
};

/// Publishes the bundle, its side files and its page (`report.html`) into
/// `folder` as one set: a reader of the folder sees the previous bundle's
/// files or these, never a mix.
pub fn publish(bundle: &Bundle, page: &str, folder: &OutputFolder) -> Result<()> {
    let stage = folder.stage()?;
    stage.write(|dir| {
        write_all(bundle, dir)?;
        write_bytes(&dir.join("report.html"), page.as_bytes())
    })?;
    stage.publish()
}

/// Writes the bundle and every side file into `dir`, each atomically
/// (the bundle folder's set but its page; see [`publish`]).
pub fn write_all(bundle: &Bundle, dir: &Path) -> Result<()> {
    bundle.save(dir)?;
    let pe = |e| Error::polars(dir, e);
    write_frame(
        &dir.join("survival.csv"),
        &mut survival_frame(bundle).map_err(pe)?,
        Format::Csv,
    )?;
    write_frame(
        &dir.join("coefficients.csv"),
        &mut coefficients_frame(bundle).map_err(pe)?,
        Format::Csv,
    )?;
    write_frame(
        &dir.join("segments.csv"),
        &mut segments_frame(bundle).map_err(pe)?,
        Format::Csv,
    )?;
    let metrics = serde_json::json!({
        "bundle_id": bundle.bundle_id,
        "backtest": bundle.backtest,
        "churn": target_figures(bundle.churn.as_ref()),
        "upgrade": target_figures(bundle.upgrade.as_ref()),
        "skipped": bundle.skipped,
        "survival": bundle.survival.summaries,
        "log_rank": bundle.survival.log_rank,
    });
    write_bytes(
        &dir.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?.as_bytes(),
    )?;
    write_bytes(&dir.join("model_card.md"), model_card(bundle).as_bytes())
}

/// A target's figures for `metrics.json`; `null` for a skipped target.
fn target_figures(t: Option<&Target>) -> serde_json::Value {
    match t {
        Some(t) => serde_json::json!({
            "holdout": t.holdout,
            "baselines": t.baselines,
            "in_sample": t.in_sample,
            "separating_features": t.separating_features,
        }),
        None => serde_json::Value::Null,
    }
}

/// One row per curve row. `entered` (last, so readers of the older columns
/// are unaffected) counts lifetimes whose observation starts at that time;
/// `at_risk` is the risk set for churns at it (see `KmCurve`).
fn survival_frame(b: &Bundle) -> PolarsResult<DataFrame> {
    let (mut strat, mut level, mut t, mut risk, mut obs, mut cens, mut s, mut lo, mut hi, mut ent) = (
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
        vec![],
    );
    let all = std::iter::once(("overall", "all", &b.survival.overall)).chain(
        b.survival
            .strata
            .iter()
            .map(|x| (x.stratifier.as_str(), x.level.as_str(), &x.curve)),
    );
    for (name, lvl, c) in all {
        for i in 0..c.time.len() {
            strat.push(name.to_string());
            level.push(lvl.to_string());
            t.push(c.time[i]);
            risk.push(c.at_risk[i]);
            obs.push(c.observed[i]);
            cens.push(c.censored[i]);
            s.push(c.survival[i]);
            lo.push(c.ci_lower[i]);
            hi.push(c.ci_upper[i]);
            // Bundles from before delayed entry: everyone entered at 0.
            ent.push(match c.entered.get(i) {
                Some(&e) => e,
                None if i == 0 && c.entered.is_empty() => c.at_risk[0],
                None => 0,
            });
        }
    }
    df!("stratifier" => strat, "level" => level, "time_days" => t, "at_risk" => risk, "observed" => obs,
        "censored" => cens, "survival" => s, "ci_lower" => lo, "ci_upper" => hi, "entered" => ent)
}

fn coefficients_frame(b: &Bundle) -> PolarsResult<DataFrame> {
    let (mut target, mut feature, mut coef) = (vec![], vec![], vec![]);
    for t in b.targets() {
        target.push(t.model.target.clone());
        feature.push("(intercept)".to_string());
        coef.push(t.model.intercept);
        for (n, c) in t.model.feature_names.iter().zip(&t.model.coefficients) {
            target.push(t.model.target.clone());
            feature.push(n.clone());
            coef.push(*c);
        }
    }
    df!("target" => target, "feature" => feature, "coefficient_per_sd" => coef)
}

fn segments_frame(b: &Bundle) -> PolarsResult<DataFrame> {
    let p = &b.segments.profiles;
    df!(
        "segment" => p.iter().map(|x| x.segment as u32).collect::<Vec<_>>(),
        "name" => p.iter().map(|x| x.name.clone()).collect::<Vec<_>>(),
        "size" => p.iter().map(|x| x.size as u64).collect::<Vec<_>>(),
        "share" => p.iter().map(|x| x.share).collect::<Vec<_>>(),
        "mean_mrr" => p.iter().map(|x| x.mean_mrr).collect::<Vec<_>>(),
        "mean_recency_days" => p.iter().map(|x| x.mean_recency_days).collect::<Vec<_>>(),
        "mean_active_days_90d" => p.iter().map(|x| x.mean_active_days_90d).collect::<Vec<_>>(),
        "churn_rate" => p.iter().map(|x| x.churn_rate).collect::<Vec<_>>(),
        "upgrade_rate" => p.iter().map(|x| x.upgrade_rate).collect::<Vec<_>>(),
    )
}

fn fmt_opt(x: Option<f64>) -> String {
    x.map_or("n/a".to_string(), |v| format!("{v:.3}"))
}

/// One table row of figures.
pub fn figures_row(name: &str, r: &BinaryReport) -> String {
    format!(
        "| {name} | {} | {} | {} | {} | {} |",
        fmt_opt(r.roc_auc),
        fmt_opt(r.pr_auc),
        fmt_opt(r.brier),
        fmt_opt(r.top_decile_lift),
        fmt_opt(r.ece)
    )
}

/// The strongest drivers in words: the largest coefficients per standard
/// deviation of the (transformed) feature.
pub fn strongest_drivers(t: &Target, n: usize) -> Vec<String> {
    let mut idx: Vec<usize> = (0..t.model.coefficients.len()).collect();
    idx.sort_by(|&a, &b| {
        t.model.coefficients[b]
            .abs()
            .total_cmp(&t.model.coefficients[a].abs())
            .then(a.cmp(&b))
    });
    idx.into_iter()
        .take(n)
        .map(|i| {
            let c = t.model.coefficients[i];
            let dir = if c > 0.0 { "raises" } else { "lowers" };
            format!(
                "{}: one standard deviation higher {dir} the odds of {} by a factor {:.2}",
                t.model.feature_names[i],
                t.model.target,
                c.exp()
            )
        })
        .collect()
}

fn model_card(b: &Bundle) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Model card: ebbflow bundle {}\n", b.bundle_id);
    let _ = writeln!(
        s,
        "Trained with ebbflow {} (bundle schema {}).\n",
        b.ebbflow_version, b.schema_version
    );
    let _ = writeln!(s, "## Data\n");
    let _ = writeln!(
        s,
        "- {} accounts; data from {} to {}; labels and censoring end {}.",
        b.data.accounts, b.data.first_day, b.data.last_day, b.data.end
    );
    for src in &b.data.sources {
        let _ = writeln!(
            s,
            "- {} (`{}`): {} rows, sha256 {}…",
            src.table,
            src.file,
            src.rows,
            &src.sha256[..12]
        );
    }
    let _ = writeln!(
        s,
        "- {} monthly snapshots ({} to {}), {} account-months; horizon {} days; churn base rate {:.3}, upgrade base rate {:.3}.\n",
        b.settings.snapshot_dates.len(),
        b.settings.snapshot_dates.first().map_or("", String::as_str),
        b.settings.snapshot_dates.last().map_or("", String::as_str),
        b.rows,
        b.settings.horizon_days,
        b.churn_base_rate,
        b.upgrade_base_rate
    );
    let _ = writeln!(s, "## Out-of-time validation\n");
    let _ = writeln!(
        s,
        "Fitted on {} month ends ({} rows, each with S + {} days (horizon and grace) on or before the first held-out month), measured on the {} held-out month ends {} ({} rows). Lift is the positive rate in the top 10% of scores (rows tied at the cut count their group's average rate) over the base rate. Calibration bins are score deciles (equal counts).\n",
        b.backtest.train_months.len(),
        b.backtest.train_rows,
        b.backtest.embargo_days,
        b.backtest.holdout_months.len(),
        b.backtest.holdout_months.join(", "),
        b.backtest.holdout_rows
    );
    for skip in &b.skipped {
        let _ = writeln!(s, "### {} (not modelled)\n\n{}\n", skip.target, skip.reason);
    }
    for t in b.targets() {
        let _ = writeln!(s, "### {}\n", t.model.target);
        let _ = writeln!(s, "| model | ROC AUC | PR AUC | Brier | top-decile lift | ECE |\n|---|---|---|---|---|---|");
        let _ = writeln!(s, "{}", figures_row("logistic (held out)", &t.holdout));
        for (name, r) in &t.baselines {
            let _ = writeln!(s, "{}", figures_row(&format!("baseline: {name}"), r));
        }
        let _ = writeln!(
            s,
            "{}",
            figures_row("shipped fit, in-sample (not validation)", &t.in_sample)
        );
        let _ = writeln!(
            s,
            "\nStrongest drivers (shipped model, L2 alpha {}):\n",
            t.model.alpha
        );
        for d in strongest_drivers(t, 5) {
            let _ = writeln!(s, "- {d}");
        }
        if !t.suppressors.is_empty() {
            let _ = writeln!(
                s,
                "- never given as a reason in the queue (the coefficient opposes the feature's own \
                 association with {}, a correction for correlated features): {}",
                t.model.target,
                t.suppressors.join(", ")
            );
        }
        for f in &t.separating_features {
            let _ = writeln!(
                s,
                "- leakage suspect: `{}` alone separates the held-out label (ROC AUC {:.3}); exclude its source column unless it is known at the as-of date",
                f.feature, f.roc_auc
            );
        }
        for w in &t.warnings {
            let _ = writeln!(s, "- warning: {w}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(
        s,
        "## Features from the accounts table
"
    );
    let attrs: Vec<&str> = b
        .spec
        .categoricals
        .iter()
        .map(|c| c.attribute.as_str())
        .collect();
    let _ = writeln!(
        s,
        "Categorical features (one indicator per frequent level): {}. Each is an accounts column, except `plan`, which comes from billing (the biggest line on the day) unless the accounts table has a `plan` column. `owner` never is a feature; `[features] exclude` in the config leaves out any other accounts column.\n",
        if attrs.is_empty() { "none".to_string() } else { attrs.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ") }
    );
    if let Some(v) = &b.backtest.survival {
        let _ = writeln!(s, "## Per-account survival, held out\n");
        let _ = writeln!(
            s,
            "{} held-out account-months, {} churns observed by {}. Harrell's concordance of expected days remaining with the observed time to churn (1 = perfect ranking, 0.5 = chance):\n",
            v.rows, v.churns, v.follow_up_end
        );
        for m in &v.concordance {
            let _ = writeln!(s, "- {}: {}", m.method, fmt_opt(m.concordance));
        }
        let _ = writeln!(s, "\n| method | horizon | mean predicted churn | observed (Kaplan–Meier) | ECE |\n|---|---|---|---|---|");
        for c in &v.calibration {
            let _ = writeln!(
                s,
                "| {} | {} d | {} | {} | {} |",
                c.method,
                c.horizon_days,
                fmt_opt(c.calibration.mean_predicted),
                fmt_opt(c.calibration.observed),
                fmt_opt(c.calibration.ece)
            );
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "## Segments\n\n| segment | size | mean MRR | churn rate | upgrade rate |\n|---|---|---|---|---|");
    for p in &b.segments.profiles {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            p.name,
            p.size,
            fmt_opt(p.mean_mrr),
            fmt_opt(p.churn_rate),
            fmt_opt(p.upgrade_rate)
        );
    }
    let _ = writeln!(s, "\n## Survival\n");
    let sv = &b.survival;
    let o = sv.summaries.first();
    if let Some(o) = o {
        let _ = writeln!(
            s,
            "{} lifetimes, {} churned; median lifetime {} days (the first time S(t) <= 0.5, as lifelines; infinite if never reached).\n",
            o.n,
            o.churned,
            o.median_days.map_or("not reached".to_string(), |m| format!("{m:.0}"))
        );
    }
    if let Some(w) = &sv.window {
        let _ = writeln!(
            s,
            "Observed from {} (the first day every table covers), with delayed entry: {} accounts already paying then enter the risk set at their tenure on that day, so their earlier, necessarily churn-free years do not count; {} lifetimes that had ended by then are left out. First churn in the data: {}.\n",
            w.observed_from,
            w.entered_late,
            w.ended_before_window,
            w.first_churn.as_deref().unwrap_or("none")
        );
    }
    for (name, lr) in &b.survival.log_rank {
        if let Some(lr) = lr {
            let _ = writeln!(
                s,
                "- log-rank across {name}: chi2 {:.2} on {} df, p = {:.3e}",
                lr.statistic, lr.dof, lr.p_value
            );
        }
    }
    let _ = writeln!(s, "\n## Known limits\n");
    let _ = writeln!(s, "- Account attributes (segment, owner, …) are taken as they are today, not as of each snapshot: CRM exports carry no history.");
    let _ = writeln!(s, "- Probabilities are calibrated to the training period's base rate; a shift in the business (pricing, a new market) needs a retrain. Watch the drift report.");
    let _ = writeln!(
        s,
        "- Expected days remaining is a restricted mean over the next {:.0} days (between 0 and {:.0}) of the account's own curve: its plan's Kaplan–Meier curve under proportional hazards, scaled so that its churn over the horizon equals the churn risk (so survival_90d = 1 − churn_risk at a 90-day horizon). The longest tenure observed is {:.0} days.",
        REMAINING_WINDOW_DAYS, REMAINING_WINDOW_DAYS, b.survival.tau_days
    );
    let _ = writeln!(
        s,
        "- survival_90d and expected days remaining are read off one curve per account: the plan's where at least {} accounts are at risk over the whole 730 days ahead, else the overall curve; accounts older than the overall curve supports are read at the oldest tenure it does (their tail rests on a handful of accounts).",
        MIN_AT_RISK
    );
    s
}
