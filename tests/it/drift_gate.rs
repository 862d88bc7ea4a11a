//! The drift gate's edge cases: an empty batch is not "no drift", and
//! tenure_days (which grows with the calendar) is reported but not gated.

use crate::workdir::{demo_data, demo_model, s, Workdir};

fn score(wd: &Workdir, data: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let model = demo_model();
    let mut args = vec![
        "--model",
        s(&model),
        "--data",
        s(data),
        "--out",
        "o",
        "--quiet",
        "--top",
        "0",
    ];
    args.extend_from_slice(extra);
    wd.run("ebbflow-score", &args)
}

fn manifest(wd: &Workdir) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(wd.path("o/manifest.json")).unwrap()).unwrap()
}

#[test]
fn an_empty_batch_fails_the_gate_and_keeps_the_previous_queue() {
    let wd = Workdir::new();
    let out = score(&wd, &demo_data(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let yesterday = std::fs::read(wd.path("o/queue.parquet")).unwrap();
    // Nobody is active before the data begins.
    let out = score(
        &wd,
        &demo_data(),
        &["--as-of", "2000-01-01", "--fail-on-drift", "0.2"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(
        err.contains("no account is active as of 2000-01-01, so drift cannot be measured"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(wd.path("o/queue.parquet")).unwrap(),
        yesterday
    );
    let m = manifest(&wd);
    assert_eq!(m["status"], "drift_gate");
    assert_eq!(m["drift"]["measured"], false);
}

#[test]
fn without_a_gate_an_empty_batch_is_reported_as_not_measured() {
    let wd = Workdir::new();
    let out = score(&wd, &demo_data(), &["--as-of", "2000-01-01"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("no account is active as of 2000-01-01"),
        "{err}"
    );
    let m = manifest(&wd);
    assert_eq!(m["counts"]["scored"], 0);
    assert_eq!(m["drift"]["measured"], false);
    assert_eq!(
        m["drift"]["features"].as_array().unwrap().len(),
        0,
        "no PSI of 0 for nothing"
    );
}

#[test]
fn tenure_days_is_reported_but_neither_warned_about_nor_gated() {
    let wd = Workdir::new();
    // Every account 1,500 days older: tenure shifts, nothing else does.
    let dir = wd.copy_dir(&demo_data(), "aged");
    let p = dir.join("accounts.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for l in lines.iter_mut().skip(1) {
        let mut c: Vec<String> = l.split(',').map(String::from).collect();
        let d = ebbflow::dates::parse_day(&c[1]).unwrap() - 1500;
        c[1] = ebbflow::dates::format_day(d);
        *l = c.join(",");
    }
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    // The demo's recency_days already drifts by 0.43 between the last
    // training snapshot and the last day (year-end quiet); tenure alone
    // would be far above that once every account is 1,500 days older.
    let out = score(&wd, &dir, &["--fail-on-drift", "0.5"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("tenure_days"), "{err}");
    let m = manifest(&wd);
    let d = &m["drift"];
    assert_eq!(d["not_gated"], serde_json::json!(["tenure_days"]));
    let tenure = d["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["feature"] == "tenure_days")
        .unwrap();
    assert!(tenure["psi"].as_f64().unwrap() > 1.0, "{tenure}");
    assert!(d["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["feature"] != "tenure_days"));
}
