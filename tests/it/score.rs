//! ebbflow-score end to end: the queue, its determinism, the drift gate and
//! the exit-code contract.

use crate::workdir::{demo_data, demo_model, s, Workdir};
use ebbflow::bundle::Bundle;
use ebbflow::config::Config;
use ebbflow::dates::parse_day;
use ebbflow::io::load::load_dir;
use ebbflow::score::{score, ScoreParams};
use ebbflow::snapshot::{features_as_of, timelines};
use polars::prelude::*;

fn read_csv(path: &std::path::Path) -> DataFrame {
    CsvReadOptions::default()
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

fn strings(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

fn score_demo(wd: &Workdir, out: &str, extra: &[&str]) -> std::process::Output {
    let (model, data) = (demo_model(), demo_data());
    let mut args = vec![
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        out,
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let args: Vec<String> = args.into_iter().map(String::from).collect();
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    wd.run("ebbflow-score", &refs)
}

#[test]
fn queue_has_the_documented_columns_order_and_tiers() {
    let wd = Workdir::new();
    let out = score_demo(&wd, "q", &["--format", "parquet,csv,json", "--top", "5"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.lines().count() == 6, "header + 5 rows:\n{stdout}");
    let q = read_csv(&wd.path("q/queue.csv"));
    let names: Vec<String> = q.get_column_names().iter().map(|s| s.to_string()).collect();
    assert_eq!(
        names,
        [
            "rank",
            "account_id",
            "name",
            "owner",
            "as_of",
            "mrr",
            "churn_risk",
            "risk_tier",
            "arr_at_risk",
            "upgrade_propensity",
            "upgrade_tier",
            "rfm_code",
            "segment",
            "survival_90d",
            "expected_days_remaining",
            "churn_drivers",
            "upgrade_drivers",
            "suggested_play",
            "model_version",
            "prev_churn_risk",
            "churn_risk_change",
            "prev_risk_tier",
            "movement"
        ]
    );
    assert!(
        q.height() > 500,
        "most demo accounts are active: {}",
        q.height()
    );
    let arr: Vec<f64> = q
        .column("arr_at_risk")
        .unwrap()
        .f64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert!(
        arr.windows(2).all(|w| w[0] >= w[1]),
        "sorted by arr_at_risk descending"
    );
    let rank: Vec<i64> = q
        .column("rank")
        .unwrap()
        .cast(&DataType::Int64)
        .unwrap()
        .i64()
        .unwrap()
        .into_no_null_iter()
        .collect();
    assert_eq!(rank, (1..=q.height() as i64).collect::<Vec<_>>());
    let tiers = strings(&q, "risk_tier");
    let high = tiers.iter().filter(|t| *t == "high").count();
    assert!(tiers
        .iter()
        .all(|t| ["high", "medium", "low"].contains(&t.as_str())));
    assert!(
        high > 0 && high < q.height() / 3,
        "high tier is a minority: {high}"
    );
    let churn = q.column("churn_risk").unwrap().f64().unwrap().clone();
    assert!(churn.into_no_null_iter().all(|p| (0.0..=1.0).contains(&p)));
    // Drivers: present, in words, with numbers, for the accounts a CSM will call first.
    for d in strings(&q, "churn_drivers").iter().take(20) {
        assert!(
            !d.is_empty() && d.chars().any(|c| c.is_ascii_digit() || c.is_alphabetic()),
            "driver {d:?}"
        );
    }
    for (t, p) in tiers.iter().zip(strings(&q, "suggested_play")) {
        if t == "high" {
            assert_eq!(p, "save");
        }
    }
    let surv = q.column("survival_90d").unwrap().f64().unwrap().clone();
    assert!(surv.into_no_null_iter().all(|x| (0.0..=1.0).contains(&x)));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wd.path("q/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "ok");
    assert_eq!(
        manifest["counts"]["scored"].as_u64().unwrap() as usize,
        q.height()
    );
    // Three queue formats and report.html (written by default).
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 4);
    assert!(wd.path("q/queue.parquet").is_file() && wd.path("q/queue.json").is_file());
}

#[test]
fn outputs_do_not_depend_on_threads_or_batch_size() {
    let wd = Workdir::new();
    for (dir, threads, batch) in [("a", "1", "7"), ("b", "2", "100000"), ("c", "3", "64")] {
        let out = score_demo(
            &wd,
            dir,
            &[
                "--threads",
                threads,
                "--batch-size",
                batch,
                "--format",
                "parquet,csv,json",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in ["queue.csv", "queue.parquet", "queue.json"] {
        let a = std::fs::read(wd.path(&format!("a/{f}"))).unwrap();
        assert_eq!(a, std::fs::read(wd.path(&format!("b/{f}"))).unwrap(), "{f}");
        assert_eq!(a, std::fs::read(wd.path(&format!("c/{f}"))).unwrap(), "{f}");
    }
}

#[test]
fn scoring_the_last_training_snapshot_reproduces_training_probabilities() {
    let bundle = Bundle::load(&demo_model()).unwrap();
    let tables = load_dir(&demo_data(), &Config::default()).unwrap();
    let tl = timelines(&tables, bundle.spec.params.grace_days);
    // Training stacked every month end; take its rows for the last one.
    let dates: Vec<i32> = bundle
        .settings
        .snapshot_dates
        .iter()
        .map(|d| parse_day(d).unwrap())
        .collect();
    let last = *dates.last().unwrap();
    let stacked = features_as_of(&tables, &tl, &dates, &bundle.spec).unwrap();
    let keep: Vec<bool> = stacked.as_of.iter().map(|&d| d == last).collect();
    let train_rows = stacked.filter(&keep);
    let expected = bundle
        .churn
        .as_ref()
        .unwrap()
        .model
        .predict_proba_matrix(&train_rows.column_slices());
    let scored = score(&tables, &bundle, ScoreParams::new(last, 333).unwrap()).unwrap();
    assert_eq!(scored.frame.account, train_rows.account);
    for (i, &a) in train_rows.account.iter().enumerate() {
        let row = scored
            .rows
            .iter()
            .find(|r| r.account_id == tables.accounts.ids[a as usize])
            .unwrap();
        assert_eq!(
            row.churn_risk.to_bits(),
            expected[i].to_bits(),
            "account {}",
            row.account_id
        );
    }
}

/// A copy of the demo data with every subscription's MRR multiplied by 20.
fn shifted_demo(wd: &Workdir) -> std::path::PathBuf {
    let dir = wd.copy_dir(&demo_data(), "shifted");
    let p = dir.join("subscriptions.csv");
    let mut df = read_csv(&p);
    let mrr = df.column("mrr").unwrap().cast(&DataType::Float64).unwrap();
    let scaled: Float64Chunked = mrr
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.map(|x| x * 20.0))
        .collect();
    df.replace("mrr", scaled.into_series().with_name("mrr".into()).into())
        .unwrap();
    CsvWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    dir
}

#[test]
fn drift_gate_fires_on_shifted_data_and_stays_quiet_on_training_data() {
    let wd = Workdir::new();
    let quiet = score_demo(&wd, "q", &["--fail-on-drift", "0.5"]);
    assert!(
        quiet.status.success(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let before = std::fs::read(wd.path("q/queue.csv")).unwrap();
    let shifted = shifted_demo(&wd);
    let out = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&shifted),
            "--out",
            "q",
            "--fail-on-drift",
            "0.5",
            "--quiet",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("feature mrr has PSI"));
    assert_eq!(
        std::fs::read(wd.path("q/queue.csv")).unwrap(),
        before,
        "previous queue left in place"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wd.path("q/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["status"], "drift_gate");
}

#[test]
fn bad_bundles_exit_with_code_4_and_say_why() {
    let wd = Workdir::new();
    let good = std::fs::read_to_string(demo_model().join("bundle.json")).unwrap();
    let cases = [
        (
            "truncated",
            good[..good.len() / 2].to_string(),
            "is not valid JSON",
        ),
        (
            "version",
            good.replacen("\"schema_version\": 2", "\"schema_version\": 99", 1),
            "has schema version 99",
        ),
        (
            "tampered",
            good.replacen("\"events_30d\"", "\"events_31d\"", 1),
            "does not match its bundle_id",
        ),
    ];
    for (name, text, expect) in cases {
        let dir = wd.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("bundle.json"), text).unwrap();
        let out = wd.run(
            "ebbflow-score",
            &[
                "--model",
                s(&dir),
                "--data",
                s(&demo_data()),
                "--out",
                "o",
                "--quiet",
            ],
        );
        assert_eq!(out.status.code(), Some(4), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{name}: {err}");
    }
    assert!(
        !wd.path("o").exists(),
        "nothing written when the bundle is refused"
    );
}

#[test]
fn bad_data_exits_with_code_3_naming_file_line_and_column() {
    let wd = Workdir::new();
    let dir = wd.copy_dir(&demo_data(), "bad");
    let p = dir.join("subscriptions.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let col = header.iter().position(|c| *c == "mrr").unwrap();
    let mut cells: Vec<String> = lines[5].split(',').map(String::from).collect();
    cells[col] = "-12.5".into();
    lines[5] = cells.join(",");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&dir),
            "--out",
            "o",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("subscriptions.csv: line 6 (account ")
            && err.contains("column mrr: expected a number >= 0, found -12.5"),
        "{err}"
    );
}

#[test]
fn json_logs_are_one_object_per_line() {
    let wd = Workdir::new();
    let out = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&demo_data()),
            "--out",
            "o",
            "--log-format",
            "json",
            "--top",
            "0",
        ],
    );
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().count() >= 2);
    for line in err.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(v["msg"].is_string() && v["level"].is_string());
    }
    assert!(out.stdout.is_empty(), "--top 0 prints no rows");
}

#[test]
fn survival_agrees_with_churn_risk_on_every_row() {
    // The queue's 90-day survival is the account's own curve, scaled so
    // that its churn over the bundle's 90-day horizon is the churn risk.
    let bundle = Bundle::load(&demo_model()).unwrap();
    assert_eq!(bundle.settings.horizon_days, 90);
    let tables = load_dir(&demo_data(), &Config::default()).unwrap();
    let scored = score(
        &tables,
        &bundle,
        ScoreParams::new(tables.last_day, 4096).unwrap(),
    )
    .unwrap();
    let mut by_risk: Vec<(f64, f64)> = Vec::new();
    for r in &scored.rows {
        assert!(
            (1.0 - r.survival_90d - r.churn_risk).abs() < 1e-9,
            "{}: survival_90d {} vs churn_risk {}",
            r.account_id,
            r.survival_90d,
            r.churn_risk
        );
        assert!((0.0..=730.0).contains(&r.expected_days_remaining));
        by_risk.push((r.churn_risk, r.expected_days_remaining));
    }
    // Days left move with behaviour: across the queue they fall as risk
    // rises (Spearman-like check on the top and bottom deciles).
    by_risk.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = by_risk.len() / 10;
    let mean = |s: &[(f64, f64)]| s.iter().map(|x| x.1).sum::<f64>() / s.len() as f64;
    let (low, high) = (mean(&by_risk[..n]), mean(&by_risk[by_risk.len() - n..]));
    assert!(
        low > high + 100.0,
        "days left: lowest-risk decile {low}, highest {high}"
    );
}
