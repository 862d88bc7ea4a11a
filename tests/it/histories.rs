//! Histories real companies have: no upgrade ever, no churn in the window,
//! neither; a CRM column that gives the label away. Each is the demo data
//! with one table rewritten, trained and scored by the real binaries.

use std::collections::BTreeMap;
use std::path::Path;

use crate::workdir::{demo_data, s, Workdir};

/// The demo's subscription lines: (account, start, end, mrr, plan, seats),
/// as text except mrr, in file order.
fn demo_lines() -> (String, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(demo_data().join("subscriptions.csv")).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    assert_eq!(header, "account_id,start_date,end_date,mrr,plan,seats");
    let rows = lines
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .collect();
    (header, rows)
}

fn write_lines(dir: &Path, header: &str, rows: &[Vec<String>]) {
    let mut out = String::from(header);
    out.push('\n');
    for r in rows {
        out.push_str(&r.join(","));
        out.push('\n');
    }
    std::fs::write(dir.join("subscriptions.csv"), out).unwrap();
}

/// Per account, the union of its lines' paid spans as single lines at the
/// first line's MRR, plan and seats: MRR never rises above a paying day's
/// level, so no upgrade can happen, while every churn and return stays.
fn flat_mrr(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut by_account: BTreeMap<&str, Vec<&Vec<String>>> = BTreeMap::new();
    for r in rows {
        by_account.entry(&r[0]).or_default().push(r);
    }
    let mut out = Vec::new();
    for (_, mut lines) in by_account {
        let first = lines[0].clone();
        lines.sort_by(|a, b| a[1].cmp(&b[1]));
        // Dates are YYYY-MM-DD, so text order is date order; "" = open.
        let mut spans: Vec<(String, String)> = Vec::new();
        for l in lines {
            let (st, en) = (l[1].clone(), l[2].clone());
            match spans.last_mut() {
                Some(last) if last.1.is_empty() || st <= last.1 => {
                    if !last.1.is_empty() && (en.is_empty() || en > last.1) {
                        last.1 = en;
                    }
                }
                _ => spans.push((st, en)),
            }
        }
        for (st, en) in spans {
            out.push(vec![
                first[0].clone(),
                st,
                en,
                first[3].clone(),
                first[4].clone(),
                first[5].clone(),
            ]);
        }
    }
    out
}

/// One open line per account from its first paid day at its first MRR:
/// nobody ever stops paying or pays more.
fn one_open_line(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for r in flat_mrr(rows) {
        if seen.insert(r[0].clone()) {
            let mut r = r;
            r[2].clear();
            out.push(r);
        }
    }
    out
}

/// Every line left open: nobody ever stops paying.
fn never_ending(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            let mut r = r.clone();
            r[2].clear();
            r
        })
        .collect()
}

fn data_with(wd: &Workdir, rows: &[Vec<String>]) -> String {
    let dir = wd.copy_dir(&demo_data(), "data");
    let (header, _) = demo_lines();
    write_lines(&dir, &header, rows);
    s(&dir).to_string()
}

fn metrics(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("metrics.json")).unwrap()).unwrap()
}

fn queue(dir: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("queue.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    // Columns up to `survival_90d` hold no commas (names and drivers may).
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Scores `data` with the bundle in `m` into `q` (CSV) and reads the queue.
fn score_queue(wd: &Workdir, data: &str) -> Vec<BTreeMap<String, String>> {
    wd.ok(
        "ebbflow-score",
        &[
            "--model", "m", "--data", data, "--out", "q", "--format", "csv", "--quiet",
        ],
    );
    queue(&wd.path("q"))
}

#[test]
fn a_history_without_upgrades_trains_and_scores_churn_alone() {
    let wd = Workdir::new();
    let (_, rows) = demo_lines();
    let data = data_with(&wd, &flat_mrr(&rows));
    let out = wd.run("ebbflow-train", &["--data", &data, "--out", "m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("upgrade") && stderr.contains("have label false"),
        "the skip is a warning naming the target and the counts: {stderr}"
    );
    let m = metrics(&wd.path("m"));
    assert!(m["upgrade"].is_null());
    assert_eq!(m["skipped"][0]["target"], "upgrade");
    assert_eq!(m["skipped"][0]["positives"], 0);
    // The churn model keeps its quality (the demo's is 0.85 held out).
    let auc = m["churn"]["holdout"]["roc_auc"].as_f64().unwrap();
    assert!(auc > 0.8, "churn AUC {auc}");

    let q = score_queue(&wd, &data);
    assert!(!q.is_empty());
    for r in &q {
        assert_eq!(r["upgrade_propensity"], "", "upgrade columns stay empty");
        assert_eq!(r["upgrade_tier"], "");
        assert!(!r["churn_risk"].is_empty());
    }
    let manifest = std::fs::read_to_string(wd.path("q/manifest.json")).unwrap();
    assert!(
        manifest.contains("have label false"),
        "the manifest says why"
    );
    let page = std::fs::read_to_string(wd.path("q/report.html")).unwrap();
    assert!(page.contains("have label false"), "the page says why");
}

#[test]
fn a_history_without_churn_trains_and_scores_upgrade_alone() {
    let wd = Workdir::new();
    let (_, rows) = demo_lines();
    let data = data_with(&wd, &never_ending(&rows));
    let out = wd.run("ebbflow-train", &["--data", &data, "--out", "m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let m = metrics(&wd.path("m"));
    assert!(m["churn"].is_null());
    assert_eq!(m["skipped"][0]["target"], "churn");
    let q = score_queue(&wd, &data);
    for r in &q {
        assert_eq!(r["churn_risk"], "");
        assert_eq!(r["arr_at_risk"], "");
        assert!(!r["upgrade_propensity"].is_empty());
    }
    // Without a churn model the queue is ordered by MRR.
    let mrr: Vec<f64> = q.iter().map(|r| r["mrr"].parse().unwrap()).collect();
    assert!(mrr.windows(2).all(|w| w[0] >= w[1]));
}

#[test]
fn a_history_with_nothing_to_learn_exits_3() {
    let wd = Workdir::new();
    let (_, rows) = demo_lines();
    let data = data_with(&wd, &one_open_line(&rows));
    let out = wd.run("ebbflow-train", &["--data", &data, "--out", "m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("neither churn nor upgrade can be modelled"),
        "{stderr}"
    );
    assert!(!wd.path("m").exists(), "a failed run writes nothing");
}

/// The demo's accounts with a CRM `status` that tells the outcome: "churned"
/// when the account is not paying on the data's last day.
fn accounts_with_status(dir: &Path) {
    let (_, rows) = demo_lines();
    let last = "2025-12-31";
    let mut paying: std::collections::HashSet<&str> = Default::default();
    for r in &rows {
        if r[1].as_str() <= last && (r[2].is_empty() || r[2].as_str() > last) {
            paying.insert(&r[0]);
        }
    }
    let text = std::fs::read_to_string(demo_data().join("accounts.csv")).unwrap();
    let mut out = String::new();
    for (i, l) in text.lines().enumerate() {
        let id = l.split(',').next().unwrap();
        let status = match (i, paying.contains(id)) {
            (0, _) => "status",
            (_, true) => "active",
            (_, false) => "churned",
        };
        out.push_str(&format!("{l},{status}\n"));
    }
    std::fs::write(dir.join("accounts.csv"), out).unwrap();
}

#[test]
fn a_column_that_gives_the_label_away_is_flagged_and_can_be_excluded() {
    let wd = Workdir::new();
    let dir = wd.copy_dir(&demo_data(), "data");
    accounts_with_status(&dir);
    let out = wd.run("ebbflow-train", &["--data", s(&dir), "--out", "m"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("status=churned alone separates the held-out label"),
        "{stderr}"
    );
    let card = std::fs::read_to_string(wd.path("m/model_card.md")).unwrap();
    assert!(card.contains("leakage suspect: `status=churned`"), "{card}");
    assert!(
        card.contains("`status`"),
        "the card lists status as a feature"
    );

    std::fs::write(
        wd.path("ebbflow.toml"),
        "[features]\nexclude = [\"status\"]\n",
    )
    .unwrap();
    let out = wd.run(
        "ebbflow-train",
        &["--data", s(&dir), "--config", "ebbflow.toml", "--out", "m2"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("separates"), "{stderr}");
    let bundle = std::fs::read_to_string(wd.path("m2/bundle.json")).unwrap();
    assert!(!bundle.contains("status="), "status is no feature");
}
