//! The HTML reports end to end: `ebbflow-score` writes report.html beside
//! the queue and `ebbflow-train` into the bundle; both are self-contained
//! and carry the data they show. (What a browser makes of them is
//! tests/browser/, which needs chromium.)

use std::collections::BTreeSet;
use std::path::Path;

use crate::workdir::{demo_data, demo_model, s, Workdir};
use polars::prelude::*;

/// The JSON a page renders from, read the way the page reads it.
fn page_data(html: &str) -> serde_json::Value {
    let open = "<script type=\"application/json\" id=\"report-data\">";
    let start = html.find(open).expect("data element") + open.len();
    let end = start + html[start..].find("</script>").expect("data element ends");
    serde_json::from_str(&html[start..end]).expect("data is JSON")
}

/// Every way a page could pull something from elsewhere. Written apart
/// from the library's own check, so the two cannot share a blind spot.
fn external_references(html: &str) -> Vec<String> {
    let lower = html.to_ascii_lowercase();
    let mut found = Vec::new();
    for attr in ["src=", "href=", "action=", "srcset=", "poster=", "data="] {
        for (i, _) in lower.match_indices(attr) {
            let value = lower[i + attr.len()..].trim_start_matches(['"', '\'']);
            if !(value.starts_with('#') || value.starts_with("data:")) {
                found.push(html[i..(i + 60).min(html.len())].to_string());
            }
        }
    }
    for pat in [
        "<link",
        "@import",
        "<iframe",
        "<object",
        "<embed",
        "<img",
        "fetch(",
        "xmlhttprequest",
        "websocket",
        "eventsource",
    ] {
        if lower.contains(pat) {
            found.push(pat.to_string());
        }
    }
    for (i, _) in lower.match_indices("url(") {
        let rest = &lower[i + 4..];
        if !(rest.starts_with('#') || rest.starts_with("`#") || rest.starts_with("data:")) {
            found.push(html[i..(i + 40).min(html.len())].to_string());
        }
    }
    // The SVG namespace is an identifier, never requested.
    let rest = lower.replace("http://www.w3.org/2000/svg", "");
    for scheme in ["http://", "https://", "//cdn", "ftp://"] {
        if rest.contains(scheme) {
            found.push(scheme.to_string());
        }
    }
    found
}

fn read_queue(path: &Path) -> DataFrame {
    CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(path.to_path_buf()))
        .unwrap()
        .finish()
        .unwrap()
}

fn strings(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or_default().to_string())
        .collect()
}

fn score(wd: &Workdir, data: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let model = demo_model();
    let mut args = vec![
        "--model",
        s(&model),
        "--data",
        s(data),
        "--out",
        out,
        "--quiet",
        "--top",
        "0",
    ];
    args.extend_from_slice(extra);
    wd.run("ebbflow-score", &args)
}

fn field(data: &serde_json::Value, name: &str) -> usize {
    data["fields"]
        .as_array()
        .unwrap()
        .iter()
        .position(|f| f == name)
        .unwrap_or_else(|| panic!("field {name}"))
}

#[test]
fn the_default_run_writes_a_self_contained_page_of_the_whole_queue() {
    let wd = Workdir::new();
    let out = score(&wd, &demo_data(), "q", &["--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html =
        std::fs::read_to_string(wd.path("q/report.html")).expect("report.html beside the queue");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(external_references(&html), Vec::<String>::new());
    assert!(
        html.contains("default-src 'none'"),
        "the page forbids fetching"
    );

    // Every queue row is in the page, in rank order, with its tier.
    let q = read_queue(&wd.path("q/queue.csv"));
    let d = page_data(&html);
    let rows = d["rows"].as_array().unwrap();
    assert_eq!(rows.len(), q.height());
    assert_eq!(d["counts"]["scored"].as_u64().unwrap() as usize, q.height());
    let (id, rank, tier) = (
        field(&d, "account_id"),
        field(&d, "rank"),
        field(&d, "risk_tier"),
    );
    let ids = strings(&q, "account_id");
    let tiers = strings(&q, "risk_tier");
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r[id].as_str().unwrap(), ids[i]);
        assert_eq!(r[rank].as_u64().unwrap() as usize, i + 1);
        let t = d["dicts"]["tier"][r[tier].as_u64().unwrap() as usize]
            .as_str()
            .unwrap();
        assert_eq!(t, tiers[i], "row {i}");
    }
    // Each row points at a survival curve that exists and has steps.
    let curve = field(&d, "curve");
    let curves = d["curves"].as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| (r[curve].as_u64().unwrap() as usize) < curves.len()));
    assert!(curves.iter().all(|c| c["t"].as_array().unwrap().len() > 10));
    assert_eq!(d["validation"][0][0], "churn");

    // Recorded in the manifest like the queue files.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wd.path("q/manifest.json")).unwrap()).unwrap();
    let files: Vec<&str> = manifest["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["queue.csv", "report.html"]);
    let rec = &manifest["outputs"][1];
    assert_eq!(rec["bytes"].as_u64().unwrap() as usize, html.len());
    assert!(
        html.contains(manifest["generated_at"].as_str().unwrap()),
        "page and manifest share the generation time"
    );
}

#[test]
fn no_report_skips_the_page_and_report_turns_it_back_on() {
    let wd = Workdir::new();
    let out = score(&wd, &demo_data(), "q", &["--format", "csv", "--no-report"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!wd.path("q/report.html").exists());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(wd.path("q/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["outputs"].as_array().unwrap().len(), 1);
    // The last of --report / --no-report wins, as with any on/off pair.
    let out = score(
        &wd,
        &demo_data(),
        "q",
        &["--format", "csv", "--no-report", "--report"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(wd.path("q/report.html").is_file());
}

#[test]
fn the_page_is_the_same_for_the_same_inputs_apart_from_its_time() {
    let wd = Workdir::new();
    let mut pages = Vec::new();
    for (dir, threads, batch) in [("a", "1", "7"), ("b", "3", "100000")] {
        let out = score(
            &wd,
            &demo_data(),
            dir,
            &[
                "--format",
                "csv",
                "--threads",
                threads,
                "--batch-size",
                batch,
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let html = std::fs::read_to_string(wd.path(&format!("{dir}/report.html"))).unwrap();
        let at = page_data(&html)["generated_at"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(html.matches(&at).count(), 1, "the time appears once");
        pages.push(html.replace(&at, "GENERATED"));
    }
    assert!(
        pages[0] == pages[1],
        "report.html depends on threads or batch size"
    );
}

#[test]
fn an_account_named_like_a_script_tag_stays_text() {
    let wd = Workdir::new();
    let dir = wd.copy_dir(&demo_data(), "evil");
    let p = dir.join("accounts.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let evil = "</script><script>document.title='pwned'</script><!--";
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let name_col = header.iter().position(|c| *c == "name").unwrap();
    // Every account: whichever is active shows up in the queue.
    for line in lines.iter_mut().skip(1) {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        cells[name_col] = format!("{evil} {}", cells[0]);
        *line = cells.join(",");
    }
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = score(&wd, &dir, "q", &["--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(wd.path("q/report.html")).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        3,
        "data, common.js and the page script only"
    );
    assert!(!html.contains("pwned'</script>") && !html.contains("<!--"));
    let d = page_data(&html);
    let (name, id) = (field(&d, "name"), field(&d, "account_id"));
    let r = &d["rows"][0];
    assert_eq!(
        r[name].as_str().unwrap(),
        format!("{evil} {}", r[id].as_str().unwrap())
    );
}

#[test]
fn a_drift_gate_leaves_yesterdays_page_in_place() {
    let wd = Workdir::new();
    let out = score(&wd, &demo_data(), "q", &["--format", "csv"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let before = std::fs::read(wd.path("q/report.html")).unwrap();
    // Every MRR twenty times larger: the mrr feature drifts.
    let dir = wd.copy_dir(&demo_data(), "shifted");
    let p = dir.join("subscriptions.csv");
    let mut df = read_queue(&p);
    let mrr: Float64Chunked = df
        .column("mrr")
        .unwrap()
        .cast(&DataType::Float64)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.map(|x| x * 20.0))
        .collect();
    df.replace("mrr", mrr.into_series().with_name("mrr".into()).into())
        .unwrap();
    CsvWriter::new(std::fs::File::create(&p).unwrap())
        .finish(&mut df)
        .unwrap();
    let out = score(
        &wd,
        &dir,
        "q",
        &["--format", "csv", "--fail-on-drift", "0.5"],
    );
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(wd.path("q/report.html")).unwrap(), before);
}

#[test]
fn training_writes_a_model_page_that_compares_with_the_older_bundle() {
    let wd = Workdir::new();
    let out = wd.path("b");
    // A shorter history than the demo bundle: a different model to compare.
    wd.ok(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            s(&out),
            "--history-months",
            "12",
            "--compare",
            s(&demo_model()),
            "--quiet",
        ],
    );
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html in the bundle");
    assert_eq!(external_references(&html), Vec::<String>::new());
    let d = page_data(&html);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("bundle.json")).unwrap()).unwrap();
    let old: serde_json::Value =
        serde_json::from_slice(&std::fs::read(demo_model().join("bundle.json")).unwrap()).unwrap();
    assert_eq!(d["bundle"]["id"], bundle["bundle_id"]);
    assert_eq!(
        d["generated_at"], bundle["created_at"],
        "the page is stamped with the bundle's time"
    );
    // Charts' data: calibration and a 20-point lift curve per target, KM per stratifier.
    for t in d["targets"].as_array().unwrap() {
        assert!(!t["curves"]["calibration"].as_array().unwrap().is_empty());
        assert_eq!(t["curves"]["lift"].as_array().unwrap().len(), 20);
    }
    assert_eq!(
        d["survival"]["stratifiers"].as_array().unwrap().len(),
        bundle["survival"]["log_rank"].as_array().unwrap().len()
    );

    // The comparison names the old bundle and its figures.
    let c = &d["compare"];
    assert_eq!(c["old"]["bundle_id"], old["bundle_id"]);
    let auc = c["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["group"] == "churn (held out)" && f["name"] == "ROC AUC")
        .unwrap();
    assert_eq!(auc["old"], old["churn"]["holdout"]["roc_auc"]);
    assert_eq!(auc["new"], bundle["churn"]["holdout"]["roc_auc"]);
    let rows = c["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "account-months")
        .unwrap();
    assert_eq!(
        rows["verdict"], "changed",
        "12 months of history give fewer account-months: {rows}"
    );

    // Aggregates only: no account id or name of the training data.
    let accounts = read_queue(&demo_data().join("accounts.csv"));
    let names: BTreeSet<String> = strings(&accounts, "account_id")
        .into_iter()
        .chain(strings(&accounts, "name"))
        .collect();
    assert!(names.len() > 2000);
    for n in &names {
        assert!(!html.contains(n.as_str()), "{n} in the model page");
    }
}

#[test]
fn compare_refuses_a_bundle_of_another_schema_version_before_training() {
    let wd = Workdir::new();
    let old = wd.path("old");
    std::fs::create_dir_all(&old).unwrap();
    let text = std::fs::read_to_string(demo_model().join("bundle.json")).unwrap();
    std::fs::write(
        old.join("bundle.json"),
        text.replacen("\"schema_version\": 2", "\"schema_version\": 1", 1),
    )
    .unwrap();
    let out = wd.run(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            "new",
            "--compare",
            s(&old),
            "--quiet",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("has schema version 1") && err.contains("--compare"),
        "{err}"
    );
    assert!(!wd.path("new").exists(), "nothing written");
    // Refused before the data is even read: no progress line about it.
    let out = wd.run(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            "new",
            "--compare",
            s(&old),
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("to compare with"), "{err}");
    assert!(
        !err.contains(&format!("loading {}", s(&demo_data()))),
        "{err}"
    );
}
