//! ebbflow-train end to end, and the properties training must keep.

use crate::workdir::{demo_data, demo_model, s, Workdir};
use ebbflow::bundle::Bundle;
use ebbflow::config::{Config, SnapshotParams};
use ebbflow::io::load::load_dir;
use ebbflow::snapshot::{history_dates, timelines};
use ebbflow::train::{backtest, TrainParams};

#[test]
fn retraining_reproduces_the_committed_demo_bundle() {
    let wd = Workdir::new();
    // Into a folder already holding a bundle (and a temporary file an older
    // version left): the new set replaces it whole.
    let out = wd.copy_dir(&demo_model(), "bundle");
    std::fs::write(out.join(".ebbflow-a1b2.tmp"), "left by a killed run").unwrap();
    let stdout = wd.ok(
        "ebbflow-train",
        &["--data", s(&demo_data()), "--out", s(&out), "--quiet"],
    );
    assert!(stdout.contains("churn (held out)"), "{stdout}");
    let fresh: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let committed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo_model().join("bundle.json")).unwrap()).unwrap();
    let strip = |mut v: serde_json::Value| {
        v["created_at"] = serde_json::Value::Null;
        v
    };
    assert_eq!(
        fresh["bundle_id"], committed["bundle_id"],
        "same data, parameters and seed give the same bundle"
    );
    assert_ne!(
        fresh["created_at"], committed["created_at"],
        "the bundle folder was replaced"
    );
    assert!(
        strip(fresh) == strip(committed),
        "bundle differs from models/demo beyond created_at"
    );
    for f in [
        "survival.csv",
        "coefficients.csv",
        "segments.csv",
        "metrics.json",
        "model_card.md",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let mut files: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "bundle.json",
            "coefficients.csv",
            "metrics.json",
            "model_card.md",
            "report.html",
            "segments.csv",
            "survival.csv"
        ]
    );
}

#[test]
fn held_out_months_never_touch_the_backtest_fit() {
    let cfg = Config::default();
    let mut tables = load_dir(&demo_data(), &cfg).unwrap();
    let params = TrainParams::new(SnapshotParams::default()).check().unwrap();
    let tl = timelines(&tables, 30);
    let dates = history_dates(&tables, tables.last_day, 90, 30, None).unwrap();
    let end = tables.last_day;
    let a = backtest(&tables, &tl, &dates, end, &params, &|_| {}).unwrap();
    // "Now" of the backtest is the first held-out month end: change every
    // event and ticket after it.
    let now = dates[dates.len() - 3];
    let ev = tables.events.as_mut().unwrap();
    for e in ev.rows.rows.iter_mut().filter(|e| e.day > now) {
        e.count *= 50.0;
    }
    for t in tables
        .tickets
        .as_mut()
        .unwrap()
        .rows
        .iter_mut()
        .filter(|t| t.day > now)
    {
        t.csat = 1.0;
    }
    let b = backtest(&tables, &tl, &dates, end, &params, &|_| {}).unwrap();
    let fitted = |r: &ebbflow::train::BacktestResult| {
        [&r.churn, &r.upgrade].map(|t| t.as_ref().expect("both targets fitted").clone())
    };
    for (x, y) in fitted(&a).iter().zip(&fitted(&b)) {
        assert_eq!(
            x.model, y.model,
            "held-out rows leaked into fitting, scaling or imputation"
        );
        assert_ne!(
            x.report, y.report,
            "the perturbation must reach the held-out rows"
        );
    }
    // The survival figures are measured on the held-out rows, so they
    // move with them; everything else about the backtest does not.
    let without_survival = |r: &ebbflow::train::BacktestResult| {
        let mut b = r.backtest.clone();
        b.survival = None;
        b
    };
    assert_eq!(without_survival(&a), without_survival(&b));
    assert_ne!(a.backtest.survival, b.backtest.survival);
}

#[test]
fn demo_models_recover_the_generated_effects() {
    let bundle = Bundle::load(&demo_model()).unwrap();
    struct Both<'a> {
        churn: &'a ebbflow::bundle::Target,
        upgrade: &'a ebbflow::bundle::Target,
    }
    let b = Both {
        churn: bundle.churn.as_ref().unwrap(),
        upgrade: bundle.upgrade.as_ref().unwrap(),
    };
    let coef = |t: &ebbflow::bundle::Target, name: &str| {
        let i = t
            .model
            .feature_names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no {name}"));
        t.model.coefficients[i]
    };
    // Churn follows falling usage and sour tickets (src/synth.rs ground truth).
    assert!(coef(b.churn, "events_trend") < 0.0);
    assert!(coef(b.churn, "mean_sentiment_90d") < 0.0);
    // Upgrades follow seat pressure.
    assert!(coef(b.upgrade, "seat_utilization") > 0.0);
    let auc = |r: &ebbflow::metrics::BinaryReport| r.roc_auc.unwrap();
    let recency = &b
        .churn
        .baselines
        .iter()
        .find(|(n, _)| n == "recency only")
        .unwrap()
        .1;
    assert!(
        auc(&b.churn.holdout) > 0.75,
        "churn AUC {}",
        auc(&b.churn.holdout)
    );
    assert!(
        auc(&b.churn.holdout) > auc(recency) + 0.03,
        "churn must beat recency alone"
    );
    assert!(
        auc(&b.upgrade.holdout) > 0.70,
        "upgrade AUC {}",
        auc(&b.upgrade.holdout)
    );
    // Calibrated: mean predicted within a few points of the observed rate on held-out months.
    for t in [b.churn, b.upgrade] {
        let (n, pred): (usize, f64) = t.holdout.calibration.iter().fold((0, 0.0), |(n, p), c| {
            (n + c.count, p + c.mean_predicted * c.count as f64)
        });
        let mean_pred = pred / n as f64;
        assert!(
            (mean_pred - t.holdout.base_rate).abs() < 0.03,
            "{}: mean {mean_pred} vs rate {}",
            t.model.target,
            t.holdout.base_rate
        );
    }
}

#[test]
fn bundle_holds_no_account_ids_or_names() {
    let text = std::fs::read_to_string(demo_model().join("bundle.json")).unwrap();
    let tables = load_dir(&demo_data(), &Config::default()).unwrap();
    for (i, id) in tables.accounts.ids.iter().enumerate() {
        assert!(
            !text.contains(&format!("\"{id}\"")),
            "account id {id} in the bundle"
        );
        if let Some(name) = &tables.accounts.names[i] {
            assert!(
                !text.contains(name.as_str()),
                "account name {name} in the bundle"
            );
        }
    }
}

#[test]
fn train_rejects_bad_parameters_with_usage_exit_code() {
    let wd = Workdir::new();
    let out = wd.run(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--holdout-months",
            "0",
            "--out",
            s(&wd.path("b")),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holdout_months must be in 1..=24, got 0")
    );
    assert!(!wd.path("b").exists(), "a failed run writes nothing");
}

#[test]
fn bundle_round_trips_through_save_and_load() {
    let b = Bundle::load(&demo_model()).unwrap();
    let wd = Workdir::new();
    b.save(&wd.path("copy")).unwrap();
    let again = Bundle::load(&wd.path("copy")).unwrap();
    assert_eq!(again, b);
    assert_eq!(
        std::fs::read(wd.path("copy/bundle.json")).unwrap(),
        std::fs::read(demo_model().join("bundle.json")).unwrap(),
        "saving a loaded bundle gives the same bytes"
    );
}

#[test]
fn one_thread_trains_the_bundle_of_many() {
    let wd = Workdir::new();
    let bundle = |threads: &str, dir: &str| -> serde_json::Value {
        let out = wd.path(dir);
        wd.ok(
            "ebbflow-train",
            &[
                "--data",
                s(&demo_data()),
                "--out",
                s(&out),
                "--threads",
                threads,
                "--quiet",
            ],
        );
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
        v["created_at"] = serde_json::Value::Null;
        v
    };
    let one = bundle("1", "one");
    let two = bundle("2", "two");
    assert!(one == two, "the bundle depends on --threads");
    assert_eq!(one["bundle_id"], two["bundle_id"]);

    let zero = wd.run(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            s(&wd.path("zero")),
            "--threads",
            "0",
        ],
    );
    assert_eq!(zero.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&zero.stderr).contains("--threads must be > 0, got 0"));
}
