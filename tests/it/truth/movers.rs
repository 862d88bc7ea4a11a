//! What the queue says moved since the previous run, re-derived from the
//! two queue files as written (polars and serde_json only; no `ebbflow::`
//! code) and, for "not paying" about the accounts that left, from the raw
//! tables (`raw`): the four movers columns of every row in every format,
//! the manifest's counts and every account the page's "Moved since"
//! section names.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use polars::prelude::*;
use serde_json::Value;

use super::raw::{nums, read_file, text, utc_day, Raw};
use crate::workdir::{demo_data, demo_model, s, Workdir};

const BEFORE: &str = "2025-11-30";
const NOW: &str = "2025-12-31";

/// One queue file's rows, by column name, as text and numbers.
struct Queue {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    risk: Vec<Option<f64>>,
    tier: Vec<Option<String>>,
    arr: Vec<Option<f64>>,
    name: Vec<Option<String>>,
    df: DataFrame,
}

fn strings(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    text(df, col)
        .unwrap_or_else(|| panic!("no column {col}"))
        .iter()
        .map(|v| v.filter(|s| !s.is_empty()).map(String::from))
        .collect()
}

impl Queue {
    fn read(path: &Path) -> Queue {
        let df = read_file(path);
        let ids: Vec<String> = strings(&df, "account_id")
            .into_iter()
            .map(|v| v.expect("an id"))
            .collect();
        let index = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.clone(), i))
            .collect();
        Queue {
            risk: nums(&df, "churn_risk", path).unwrap(),
            tier: strings(&df, "risk_tier"),
            arr: nums(&df, "arr_at_risk", path).unwrap(),
            name: strings(&df, "name"),
            ids,
            index,
            df,
        }
    }
}

fn rank(tier: &str) -> u8 {
    ["low", "medium", "high"]
        .iter()
        .position(|t| *t == tier)
        .unwrap_or_else(|| panic!("tier {tier:?}")) as u8
}

/// The movement the two files imply for row `i` of `now`.
fn expected_movement(before: &Queue, now: &Queue, i: usize) -> Option<&'static str> {
    let Some(&j) = before.index.get(&now.ids[i]) else {
        return Some("new");
    };
    let (a, b) = (before.tier[j].as_deref()?, now.tier[i].as_deref()?);
    Some(match rank(b).cmp(&rank(a)) {
        std::cmp::Ordering::Greater => "up",
        std::cmp::Ordering::Less => "down",
        std::cmp::Ordering::Equal => "same",
    })
}

fn score(wd: &Workdir, out: &str, extra: &[&str]) {
    let (model, data) = (demo_model(), demo_data());
    let mut args = vec![
        "--model",
        s(&model),
        "--data",
        s(&data),
        "--out",
        out,
        "--format",
        "parquet,csv,json",
        "--report-rows",
        "0",
        "--top",
        "0",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    wd.ok("ebbflow-score", &args);
}

/// The data embedded in a report.html.
pub fn page_data(html: &Path) -> Value {
    let text = std::fs::read_to_string(html).unwrap();
    let start = r#"<script type="application/json" id="report-data">"#;
    let from = text.find(start).expect("data element") + start.len();
    let len = text[from..].find("</script>").expect("end of data");
    serde_json::from_str(&text[from..from + len]).expect("page data is JSON")
}

fn manifest(wd: &Workdir, out: &str) -> Value {
    serde_json::from_slice(&std::fs::read(wd.path(&format!("{out}/manifest.json"))).unwrap())
        .unwrap()
}

/// The JSON queue as a list of objects.
fn json_rows(path: &Path) -> Vec<Value> {
    serde_json::from_slice::<Value>(&std::fs::read(path).unwrap())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= tol,
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn a_first_run_leaves_the_movers_columns_empty_and_types_as_of() {
    let wd = Workdir::new();
    score(&wd, "q", &[]);
    let pq = read_file(&wd.path("q/queue.parquet"));
    assert_eq!(pq.column("as_of").unwrap().dtype(), &DataType::Date);
    let csv = std::fs::read_to_string(wd.path("q/queue.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    assert_eq!(
        &header[header.len() - 4..],
        [
            "prev_churn_risk",
            "churn_risk_change",
            "prev_risk_tier",
            "movement"
        ]
    );
    let at = header.iter().position(|h| *h == "as_of").unwrap();
    let first = csv.lines().nth(1).unwrap();
    assert_eq!(first.split(',').nth(at), Some(NOW), "CSV keeps ISO text");
    for col in [
        "prev_churn_risk",
        "churn_risk_change",
        "prev_risk_tier",
        "movement",
    ] {
        assert_eq!(
            pq.column(col).unwrap().null_count(),
            pq.height(),
            "{col} is empty on a first run"
        );
    }
    for row in json_rows(&wd.path("q/queue.json")) {
        assert_eq!(row["as_of"], NOW, "JSON keeps ISO text");
        assert!(row["movement"].is_null() && row["prev_churn_risk"].is_null());
    }
    assert!(manifest(&wd, "q")["previous"].is_null());
    let page = page_data(&wd.path("q/report.html"));
    assert!(page["movers"].is_null());
}

#[test]
fn movers_agree_with_both_queue_files_on_every_row_and_the_page() {
    let wd = Workdir::new();
    score(&wd, "nov", &["--as-of", BEFORE]);
    let nov = s(&wd.path("nov")).to_string();
    score(&wd, "dec", &["--previous", &nov]);
    let before = Queue::read(&wd.path("nov/queue.parquet"));
    let now = Queue::read(&wd.path("dec/queue.parquet"));
    assert!(before.df.height() > 1000 && now.df.height() > 1000);
    let prev_risk = nums(&now.df, "prev_churn_risk", Path::new("dec")).unwrap();
    let change = nums(&now.df, "churn_risk_change", Path::new("dec")).unwrap();
    let prev_tier = strings(&now.df, "prev_risk_tier");
    let movement = strings(&now.df, "movement");

    let mut problems: Vec<String> = Vec::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for i in 0..now.df.height() {
        let id = &now.ids[i];
        let j = before.index.get(id).copied();
        let want = expected_movement(&before, &now, i);
        *counts.entry(want.unwrap_or("not_compared")).or_default() += 1;
        if movement[i].as_deref() != want {
            problems.push(format!(
                "{id}: movement {:?}, the files say {want:?}",
                movement[i]
            ));
        }
        let then = j.and_then(|j| before.risk[j]);
        if prev_risk[i].map(f64::to_bits) != then.map(f64::to_bits) {
            problems.push(format!(
                "{id}: prev_churn_risk {:?}, was {then:?}",
                prev_risk[i]
            ));
        }
        let delta = then.and_then(|t| now.risk[i].map(|n| n - t));
        if change[i].map(f64::to_bits) != delta.map(f64::to_bits) {
            problems.push(format!(
                "{id}: churn_risk_change {:?}, files give {delta:?}",
                change[i]
            ));
        }
        let tier_then = j.and_then(|j| before.tier[j].clone());
        if prev_tier[i] != tier_then {
            problems.push(format!(
                "{id}: prev_risk_tier {:?}, was {tier_then:?}",
                prev_tier[i]
            ));
        }
    }
    let left: Vec<usize> = (0..before.df.height())
        .filter(|&j| !now.index.contains_key(&before.ids[j]))
        .collect();
    assert!(
        problems.is_empty(),
        "{} rows disagree with the two queue files:\n{}",
        problems.len(),
        problems[..problems.len().min(20)].join("\n")
    );
    for m in ["new", "up", "down", "same"] {
        assert!(
            counts.get(m).copied().unwrap_or(0) > 0,
            "the demo has {m} accounts: {counts:?}"
        );
    }
    assert!(
        !left.is_empty(),
        "some demo accounts stop paying in December"
    );

    // Every account that left the queue is not paying on the as-of date,
    // by the raw subscriptions.
    let raw = Raw::load(&demo_data(), utc_day(NOW).unwrap());
    for &j in &left {
        let id = &before.ids[j];
        if let Some(&a) = raw.index.get(id.as_str()) {
            let mrr = raw.mrr_on(a, raw.s);
            assert!(mrr <= 0.0, "{id} left the queue but pays {mrr} on {NOW}");
        }
    }

    // The manifest's counts.
    let m = manifest(&wd, "dec");
    let p = &m["previous"];
    assert_eq!(p["as_of"], BEFORE);
    assert!(
        p["source"].as_str().unwrap().ends_with("nov/queue.parquet"),
        "{p}"
    );
    for k in ["new", "up", "down", "same", "not_compared"] {
        assert_eq!(
            p["movement"][k].as_u64().unwrap() as usize,
            counts.get(k).copied().unwrap_or(0),
            "manifest count {k}"
        );
    }
    assert_eq!(p["movement"]["left"].as_u64().unwrap() as usize, left.len());

    // The CSV and JSON queues say the same as the Parquet one.
    let csv = Queue::read(&wd.path("dec/queue.csv"));
    assert_eq!(csv.ids, now.ids);
    assert_eq!(strings(&csv.df, "movement"), movement);
    assert_eq!(strings(&csv.df, "prev_risk_tier"), prev_tier);
    let csv_prev = nums(&csv.df, "prev_churn_risk", Path::new("csv")).unwrap();
    assert!(csv_prev
        .iter()
        .zip(&prev_risk)
        .all(|(a, b)| close(*a, *b, 1e-15)));
    for (i, row) in json_rows(&wd.path("dec/queue.json")).iter().enumerate() {
        assert_eq!(row["account_id"], now.ids[i].as_str());
        assert_eq!(row["as_of"], NOW);
        assert_eq!(row["movement"].as_str(), movement[i].as_deref());
        assert!(close(row["churn_risk_change"].as_f64(), change[i], 1e-15));
    }

    // The page: every account it names under "Moved since", and each figure.
    let d = page_data(&wd.path("dec/report.html"));
    let mv = &d["movers"];
    assert_eq!(mv["previous_as_of"], BEFORE);
    assert_eq!(mv["counts"], p["movement"]);
    let ids = |list: &Value| -> Vec<String> {
        list["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["account_id"].as_str().unwrap().to_string())
            .collect()
    };
    let listed = mv["newly_high"]["rows"].as_array().unwrap().len();
    // Newly high: high now, and not high before (risen, or new).
    let newly_high: Vec<String> = (0..now.df.height())
        .filter(|&i| {
            now.tier[i].as_deref() == Some("high")
                && match before.index.get(&now.ids[i]) {
                    None => true,
                    Some(&j) => before.tier[j].as_deref().is_some_and(|t| rank(t) < 2),
                }
        })
        .map(|i| now.ids[i].clone())
        .collect();
    assert_eq!(mv["newly_high"]["total"], newly_high.len());
    assert_eq!(ids(&mv["newly_high"]), newly_high[..listed]);
    assert!(listed > 0, "the demo has accounts newly in the high tier");
    // Risers: the largest rises in churn risk, largest first.
    let mut risers: Vec<usize> = (0..now.df.height())
        .filter(|&i| change[i].is_some_and(|c| c > 0.0))
        .collect();
    risers.sort_by(|&a, &b| {
        change[b]
            .unwrap()
            .total_cmp(&change[a].unwrap())
            .then(a.cmp(&b))
    });
    let listed = mv["risers"]["rows"].as_array().unwrap().len();
    assert_eq!(mv["risers"]["total"], risers.len());
    let want: Vec<String> = risers[..listed]
        .iter()
        .map(|&i| now.ids[i].clone())
        .collect();
    assert_eq!(ids(&mv["risers"]), want);
    // Left: largest previous ARR at risk first.
    let mut gone = left.clone();
    gone.sort_by(|&a, &b| {
        before.arr[b]
            .unwrap()
            .total_cmp(&before.arr[a].unwrap())
            .then(before.ids[a].cmp(&before.ids[b]))
    });
    let listed = mv["left"]["rows"].as_array().unwrap().len();
    assert_eq!(mv["left"]["total"], left.len());
    let want: Vec<String> = gone[..listed]
        .iter()
        .map(|&j| before.ids[j].clone())
        .collect();
    assert_eq!(ids(&mv["left"]), want);
    for r in mv["left"]["rows"].as_array().unwrap() {
        let j = before.index[r["account_id"].as_str().unwrap()];
        assert_eq!(r["prev_risk_tier"].as_str(), before.tier[j].as_deref());
        assert_eq!(r["name"].as_str(), before.name[j].as_deref());
        assert!(close(
            r["prev_churn_risk"].as_f64(),
            before.risk[j],
            5e-5 + 1e-12
        ));
        assert!(close(
            r["prev_arr_at_risk"].as_f64(),
            before.arr[j],
            0.5 + 1e-9
        ));
    }
    // Every figure shown for an account now is its own, now and then.
    for list in ["newly_high", "risers"] {
        for r in mv[list]["rows"].as_array().unwrap() {
            let id = r["account_id"].as_str().unwrap();
            let i = now.index[id];
            let j = before.index.get(id).copied();
            assert_eq!(
                r["movement"].as_str(),
                expected_movement(&before, &now, i),
                "{id}"
            );
            assert_eq!(r["risk_tier"].as_str(), now.tier[i].as_deref(), "{id}");
            assert_eq!(r["name"].as_str(), now.name[i].as_deref(), "{id}");
            assert_eq!(
                r["prev_risk_tier"].as_str(),
                j.and_then(|j| before.tier[j].as_deref()),
                "{id}"
            );
            let tol = 5e-5 + 1e-12;
            assert!(close(r["churn_risk"].as_f64(), now.risk[i], tol), "{id}");
            assert!(close(
                r["prev_churn_risk"].as_f64(),
                j.and_then(|j| before.risk[j]),
                tol
            ));
            assert!(
                close(r["arr_at_risk"].as_f64(), now.arr[i], 0.5 + 1e-9),
                "{id}"
            );
        }
    }
    // The page's rows carry the same movement per account (for the filter).
    let fields: Vec<&str> = d["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let (fid, fmove) = (
        fields.iter().position(|f| *f == "account_id").unwrap(),
        fields.iter().position(|f| *f == "movement").unwrap(),
    );
    let names: Vec<&str> = d["dicts"]["movement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut seen = HashSet::new();
    for row in d["rows"].as_array().unwrap() {
        let id = row[fid].as_str().unwrap();
        let i = now.index[id];
        let m = row[fmove].as_u64().map(|k| names[k as usize]);
        assert_eq!(m, movement[i].as_deref(), "{id} on the page");
        seen.insert(id.to_string());
    }
    assert_eq!(
        seen.len(),
        now.df.height(),
        "--report-rows 0 shows every account"
    );
}

#[test]
fn a_damaged_or_incomplete_previous_queue_exits_3_naming_the_file() {
    let wd = Workdir::new();
    score(&wd, "nov", &["--as-of", BEFORE]);
    let good = std::fs::read(wd.path("nov/queue.parquet")).unwrap();
    let cut = wd.path("cut.parquet");
    std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
    let csv = std::fs::read_to_string(wd.path("nov/queue.csv")).unwrap();
    let no_tier = wd.path("no_tier.csv");
    // Drop the risk_tier column by renaming it.
    std::fs::write(&no_tier, csv.replacen("risk_tier", "tier", 1)).unwrap();
    let bad_cell = wd.path("bad_cell.csv");
    let mut lines: Vec<String> = csv.lines().map(String::from).collect();
    let id = lines[3].split(',').nth(1).unwrap().to_string();
    lines[3] = lines[3].replacen(&format!(",{BEFORE},"), ",2025-13-45,", 1);
    std::fs::write(&bad_cell, lines.join("\n") + "\n").unwrap();
    let cases = [
        (&cut, "cut short".to_string()),
        (
            &no_tier,
            "column risk_tier: missing from the previous queue".to_string(),
        ),
        (
            &bad_cell,
            format!("bad_cell.csv: line 4 (account {id}), column as_of: expected a date"),
        ),
    ];
    for (file, says) in cases {
        let out = wd.run(
            "ebbflow-score",
            &[
                "--model",
                s(&demo_model()),
                "--data",
                s(&demo_data()),
                "--out",
                "dec",
                "--previous",
                s(file),
                "--quiet",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{}: {err}", file.display());
        assert!(err.contains(s(file)), "names the file: {err}");
        assert!(err.contains(&says), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!wd.path("dec").exists(), "nothing written");
}

#[test]
fn a_previous_run_not_before_this_one_is_refused_with_exit_2() {
    let wd = Workdir::new();
    score(&wd, "dec", &[]);
    let prev = wd.path("dec");
    for as_of in [NOW, BEFORE] {
        let out = wd.run(
            "ebbflow-score",
            &[
                "--model",
                s(&demo_model()),
                "--data",
                s(&demo_data()),
                "--out",
                "again",
                "--as-of",
                as_of,
                "--previous",
                s(&prev),
                "--quiet",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!(
                "is as of {NOW}, which is not before this run's as-of date {as_of}"
            )),
            "{err}"
        );
    }
    let out = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&demo_data()),
            "--previous",
            s(&wd.path("nowhere")),
            "--out",
            "again",
            "--quiet",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing --previous is a usage error"
    );
    assert!(!wd.path("again").exists());
}

#[test]
fn movers_do_not_depend_on_threads_or_batch_size() {
    let wd = Workdir::new();
    score(&wd, "nov", &["--as-of", BEFORE, "--format", "csv"]);
    let nov = s(&wd.path("nov/queue.csv")).to_string();
    for (dir, threads, batch) in [("a", "1", "7"), ("b", "3", "100000")] {
        score(
            &wd,
            dir,
            &[
                "--previous",
                &nov,
                "--threads",
                threads,
                "--batch-size",
                batch,
            ],
        );
    }
    for f in ["queue.csv", "queue.parquet", "queue.json"] {
        let a = std::fs::read(wd.path(&format!("a/{f}"))).unwrap();
        assert_eq!(a, std::fs::read(wd.path(&format!("b/{f}"))).unwrap(), "{f}");
    }
    let page = |d: &str| {
        let mut v = page_data(&wd.path(&format!("{d}/report.html")));
        v["generated_at"] = Value::Null;
        v
    };
    assert_eq!(page("a"), page("b"));
}
