//! `ebbflow-score --shard K/N` and `ebbflow-score merge`: merged parts give
//! the bytes one run over every account gives (apart from timings and
//! `generated_at`), on the demo and on 50,000 generated accounts, with
//! N = 1, 3 and 7, on whole and on partitioned input; and merge refuses
//! parts that do not make one run.

use std::path::Path;

use crate::workdir::{demo_data, demo_model, s, Workdir};
use ebbflow::shard::bucket;
use serde_json::Value;

const AS_OF: &str = "2025-12-31";
const FORMATS: &str = "parquet,csv,json";

fn args<'a>(v: &'a [String]) -> Vec<&'a str> {
    v.iter().map(String::as_str).collect()
}

/// One run over every account into `out`.
fn single(wd: &Workdir, data: &Path, out: &str, extra: &[&str]) -> std::process::Output {
    let mut a: Vec<String> = [
        "--model",
        s(&demo_model()),
        "--data",
        s(data),
        "--as-of",
        AS_OF,
        "--out",
        out,
        "--format",
        FORMATS,
        "--top",
        "0",
        "--quiet",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(extra.iter().map(|x| x.to_string()));
    wd.run("ebbflow-score", &args(&a))
}

/// Shard `k` of `n` into `out`; `data` is whole, or bucket k's folder
/// with `--partitioned-input`.
fn shard(
    wd: &Workdir,
    data: &Path,
    k: u32,
    n: u32,
    out: &str,
    extra: &[&str],
) -> std::process::Output {
    let spec = format!("{k}/{n}");
    let mut a: Vec<String> = [
        "--model",
        s(&demo_model()),
        "--data",
        s(data),
        "--as-of",
        AS_OF,
        "--shard",
        &spec,
        "--out",
        out,
        "--quiet",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(extra.iter().map(|x| x.to_string()));
    wd.run("ebbflow-score", &args(&a))
}

fn merge(wd: &Workdir, out: &str, parts: &[String], extra: &[&str]) -> std::process::Output {
    let mut a: Vec<String> = [
        "merge",
        "--model",
        s(&demo_model()),
        "--out",
        out,
        "--format",
        FORMATS,
        "--top",
        "0",
        "--quiet",
    ]
    .iter()
    .map(|x| x.to_string())
    .collect();
    a.extend(extra.iter().map(|x| x.to_string()));
    a.extend(parts.iter().cloned());
    wd.run("ebbflow-score", &args(&a))
}

fn ok(out: std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed with {:?}:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Scores `data` in `n` shards and merges them into `out`. With
/// `partitioned`, shard k reads `partitioned/bucket=k` only.
fn shard_and_merge(wd: &Workdir, data: &Path, n: u32, partitioned: Option<&Path>, out: &str) {
    let mut parts = Vec::new();
    for k in 0..n {
        let part = format!("parts-{out}/{k}");
        let o = match partitioned {
            None => shard(wd, data, k, n, &part, &[]),
            Some(root) => shard(
                wd,
                &root.join(format!("bucket={k}")),
                k,
                n,
                &part,
                &["--partitioned-input"],
            ),
        };
        ok(o, &format!("shard {k}/{n}"));
        parts.push(part);
    }
    // Parts given in any order make the same queue.
    parts.reverse();
    ok(merge(wd, out, &parts, &[]), &format!("merge of {n}"));
}

fn generated_at_free(text: &str) -> String {
    // The page embeds the run's time once; the bundle's own creation time
    // is the same in both.
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("\"generated_at\":") {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let value_end = tail[15..].find('"').map(|q| {
            let start = 15 + q + 1;
            start + tail[start..].find('"').unwrap() + 1
        });
        out.push_str("\"generated_at\":<time>");
        rest = &tail[value_end.unwrap()..];
    }
    out.push_str(rest);
    out
}

/// The manifest without what may differ: the run's time, its timings and
/// the page's checksum (the page differs by that time only, checked apart).
fn manifest_without_times(dir: &Path) -> Value {
    let mut m: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let o = m.as_object_mut().unwrap();
    assert!(o.remove("generated_at").is_some());
    assert!(o.remove("timings").is_some());
    for f in m["outputs"].as_array_mut().unwrap() {
        if f["file"] == "report.html" {
            f.as_object_mut().unwrap().remove("sha256");
        }
    }
    m
}

/// Every output of `b` is the one of `a`, byte for byte apart from
/// `generated_at` and timings.
fn assert_same_outputs(a: &Path, b: &Path) {
    let names = |d: &Path| {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(a), names(b), "{} vs {}", a.display(), b.display());
    for name in names(a) {
        let (x, y) = (
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
        );
        match name.as_str() {
            "manifest.json" => assert_eq!(manifest_without_times(a), manifest_without_times(b)),
            "report.html" => {
                let (x, y) = (String::from_utf8(x).unwrap(), String::from_utf8(y).unwrap());
                assert!(x.contains("\"generated_at\":"), "the page names its time");
                assert!(
                    generated_at_free(&x) == generated_at_free(&y),
                    "report.html differs beyond generated_at"
                );
            }
            _ => assert!(
                x == y,
                "{name} differs between {} and {}",
                a.display(),
                b.display()
            ),
        }
    }
}

#[test]
fn merged_demo_shards_equal_the_single_run_for_1_3_and_7() {
    let wd = Workdir::new();
    ok(single(&wd, &demo_data(), "single", &[]), "single run");
    let rows = std::fs::read_to_string(wd.path("single/queue.csv"))
        .unwrap()
        .lines()
        .count();
    assert!(rows > 1000, "{rows} queue lines");
    for n in [1, 3, 7] {
        let out = format!("merged{n}");
        shard_and_merge(&wd, &demo_data(), n, None, &out);
        assert_same_outputs(&wd.path("single"), &wd.path(&out));
    }
    // The parts hold every active account once, each in its own bucket.
    let part: Value =
        serde_json::from_slice(&std::fs::read(wd.path("parts-merged3/1/part.json")).unwrap())
            .unwrap();
    assert_eq!(part["shard"]["k"], 1);
    assert_eq!(part["input"], "whole");
    let dropped = part["counts"]["other_buckets_dropped"].as_u64().unwrap();
    let accounts = part["counts"]["accounts"].as_u64().unwrap();
    assert_eq!(dropped + accounts, 2000, "the demo's accounts, split");
    assert!(
        accounts > 500 && accounts < 800,
        "about a third: {accounts}"
    );
}

#[test]
fn merge_applies_the_drift_gate_once_as_a_single_run_does() {
    // recency_days drifts on the demo with PSI 0.433: a 0.3 gate stops both.
    let wd = Workdir::new();
    let single_run = single(&wd, &demo_data(), "single", &["--fail-on-drift", "0.3"]);
    assert_eq!(single_run.status.code(), Some(5));
    shard_and_merge_gated(&wd);
    assert_same_outputs(&wd.path("single"), &wd.path("merged"));
    let m = manifest_without_times(&wd.path("merged"));
    assert_eq!(m["status"], "drift_gate");
    assert!(m["gate"].as_str().unwrap().contains("recency_days"), "{m}");
}

fn shard_and_merge_gated(wd: &Workdir) {
    let mut parts = Vec::new();
    for k in 0..3 {
        let part = format!("parts/{k}");
        ok(shard(wd, &demo_data(), k, 3, &part, &[]), "shard");
        parts.push(part);
    }
    let o = merge(wd, "merged", &parts, &["--fail-on-drift", "0.3"]);
    assert_eq!(
        o.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("PSI 0.433 > 0.3"));
}

#[test]
fn merge_compares_with_previous_as_a_single_run_does() {
    // Movers against an earlier run are part of the finishing step, so a
    // merge with --previous writes the single run's movement columns and
    // "Moved since" section.
    let wd = Workdir::new();
    let o = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&demo_data()),
            "--as-of",
            "2025-11-30",
            "--out",
            "nov",
            "--format",
            "csv",
            "--quiet",
        ],
    );
    ok(o, "previous run");
    ok(
        single(&wd, &demo_data(), "single", &["--previous", "nov"]),
        "single run",
    );
    let parts: Vec<String> = (0..3)
        .map(|k| {
            let part = format!("parts/{k}");
            ok(shard(&wd, &demo_data(), k, 3, &part, &[]), "shard");
            part
        })
        .collect();
    ok(
        merge(&wd, "merged", &parts, &["--previous", "nov"]),
        "merge",
    );
    assert_same_outputs(&wd.path("single"), &wd.path("merged"));
    let queue = std::fs::read_to_string(wd.path("merged/queue.csv")).unwrap();
    assert!(queue.lines().next().unwrap().ends_with(",movement"));
    let moved = |m: &str| {
        queue
            .lines()
            .filter(|l| l.ends_with(&format!(",{m}")))
            .count()
    };
    assert!(moved("up") > 10 && moved("down") > 10, "movements filled");
    refused(
        shard(&wd, &demo_data(), 0, 3, "p", &["--previous", "nov"]),
        2,
        &["--previous", "merge"],
    );
}

/// Splits a CSV data folder into `root/bucket=K/` by each row's account,
/// as a Spark job partitioning by pmod(xxhash64(account_id), n) would.
fn partition_csv(data: &Path, root: &Path, n: u32) {
    for e in std::fs::read_dir(data).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_none_or(|x| x != "csv") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // The generator quotes nothing, so splitting on commas is exact.
        assert!(!text.contains('"'), "{} has quoted fields", path.display());
        let mut lines = text.lines();
        let header = lines.next().unwrap();
        let col = header.split(',').position(|c| c == "account_id").unwrap();
        let mut out: Vec<String> = (0..n).map(|_| format!("{header}\n")).collect();
        for line in lines {
            let id = line.split(',').nth(col).unwrap();
            let b = bucket(id, n) as usize;
            out[b].push_str(line);
            out[b].push('\n');
        }
        for (k, text) in out.iter().enumerate() {
            let dir = root.join(format!("bucket={k}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
        }
    }
}

#[test]
fn merged_shards_of_50k_generated_accounts_equal_the_single_run() {
    // All CSV, so the test can partition it; a tenth of the default event
    // volume (600k rows, not 6M), since 15 runs each read every table.
    let wd = Workdir::new();
    wd.ok(
        "ebbflow-synth",
        &[
            "--out",
            "data",
            "--accounts",
            "50000",
            "--months",
            "12",
            "--seed",
            "7",
            "--format",
            "csv",
            "--events-per-account-day",
            "0.05",
        ],
    );
    let data = wd.path("data");
    ok(single(&wd, &data, "single", &[]), "single run");
    // N = 1 and 3 read whole tables; N = 7 reads tables partitioned by bucket.
    for n in [1, 3] {
        let out = format!("merged{n}");
        shard_and_merge(&wd, &data, n, None, &out);
        assert_same_outputs(&wd.path("single"), &wd.path(&out));
    }
    let root = wd.path("by-bucket");
    partition_csv(&data, &root, 7);
    shard_and_merge(&wd, &data, 7, Some(&root), "merged7");
    let m = manifest_without_times(&wd.path("merged7"));
    let whole = manifest_without_times(&wd.path("single"));
    // Partitioned input lists each bucket's files: only `data` may differ,
    // and its unknown-account counts add up to the whole files'.
    for key in ["counts", "drift", "outputs", "as_of", "bundle_id", "status"] {
        assert_eq!(m[key], whole[key], "{key}");
    }
    assert_eq!(
        m["data"].as_array().unwrap().len(),
        7 * whole["data"].as_array().unwrap().len()
    );
    for name in ["queue.csv", "queue.parquet", "queue.json"] {
        assert!(
            std::fs::read(wd.path("single").join(name)).unwrap()
                == std::fs::read(wd.path("merged7").join(name)).unwrap(),
            "{name}"
        );
    }
    let scored = whole["counts"]["scored"].as_u64().unwrap();
    assert!(scored > 20_000, "{scored}");
}

/// Parts of the demo in 3 shards under `parts/`.
fn demo_parts(wd: &Workdir) -> Vec<String> {
    (0..3)
        .map(|k| {
            let part = format!("parts/{k}");
            ok(shard(wd, &demo_data(), k, 3, &part, &[]), "shard");
            part
        })
        .collect()
}

fn refused(o: std::process::Output, code: i32, says: &[&str]) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for s in says {
        assert!(err.contains(s), "{s:?} not in: {err}");
    }
}

#[test]
fn merge_refuses_parts_that_are_not_one_run() {
    let wd = Workdir::new();
    let parts = demo_parts(&wd);
    let p = |i: usize| parts[i].clone();

    // Missing bucket.
    refused(
        merge(&wd, "out", &[p(0), p(2)], &[]),
        2,
        &["bucket 1 of 0..3 missing"],
    );
    // Duplicate bucket.
    let copy = wd.copy_dir(&wd.path(&p(1)), "copy-of-1");
    refused(
        merge(&wd, "out", &[p(0), p(1), s(&copy).to_string(), p(2)], &[]),
        2,
        &["bucket 1 given twice", "parts/1 and", "copy-of-1"],
    );
    // Mixed as-of dates.
    let o = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&demo_model()),
            "--data",
            s(&demo_data()),
            "--as-of",
            "2025-12-30",
            "--shard",
            "1/3",
            "--out",
            "early",
            "--quiet",
        ],
    );
    ok(o, "shard as of another day");
    refused(
        merge(&wd, "out", &[p(0), "early".into(), p(2)], &[]),
        2,
        &[
            "different as-of dates",
            "2025-12-30 (early)",
            "2025-12-31 (parts/0, parts/2)",
        ],
    );
    // Mixed bundles.
    wd.ok(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            "other-bundle",
            "--seed",
            "43",
            "--quiet",
        ],
    );
    let o = wd.run(
        "ebbflow-score",
        &[
            "--model",
            "other-bundle",
            "--data",
            s(&demo_data()),
            "--as-of",
            AS_OF,
            "--shard",
            "1/3",
            "--out",
            "other",
            "--quiet",
        ],
    );
    ok(o, "shard with another bundle");
    let other_id =
        serde_json::from_slice::<Value>(&std::fs::read(wd.path("other/part.json")).unwrap())
            .unwrap()["bundle_id"]
            .as_str()
            .unwrap()
            .to_string();
    refused(
        merge(&wd, "out", &[p(0), "other".into(), p(2)], &[]),
        2,
        &["different bundles", &format!("{other_id} (other)")],
    );
    // Mixed N.
    ok(shard(&wd, &demo_data(), 0, 2, "half", &[]), "shard of 2");
    refused(
        merge(&wd, "out", &[p(0), p(1), p(2), "half".into()], &[]),
        2,
        &["different shard counts N", "2 (half)"],
    );
    // Parts of another bundle than --model's.
    let mut a = vec!["merge", "--model", "other-bundle", "--out", "out"];
    a.extend(parts.iter().map(String::as_str));
    refused(
        wd.run("ebbflow-score", &a),
        2,
        &[&format!("--model is bundle {other_id}")],
    );
    assert!(
        !wd.path("out/queue.csv").exists(),
        "a refused merge publishes nothing"
    );
    // And the three that are one run merge.
    ok(merge(&wd, "out", &parts, &[]), "merge");
}

#[test]
fn shard_flags_and_damaged_parts_are_refused() {
    let wd = Workdir::new();
    let (demo, model) = (demo_data(), demo_model());
    let base = [
        "--model",
        s(&model),
        "--data",
        s(&demo),
        "--out",
        "p",
        "--quiet",
    ];
    let with = |extra: &[&str]| {
        let mut a: Vec<&str> = base.to_vec();
        a.extend_from_slice(extra);
        wd.run("ebbflow-score", &a)
    };
    refused(with(&["--shard", "0/3"]), 2, &["--as-of"]);
    refused(with(&["--shard", "3/3", "--as-of", AS_OF]), 2, &["0..3"]);
    refused(
        with(&["--shard", "0/3", "--as-of", AS_OF, "--fail-on-drift", "0.2"]),
        2,
        &["merge"],
    );
    // Whole input read as if partitioned: an account of another bucket is
    // named, not silently dropped.
    refused(
        with(&["--shard", "0/3", "--as-of", AS_OF, "--partitioned-input"]),
        3,
        &["other buckets", "(bucket "],
    );

    let parts = demo_parts(&wd);
    let rows = wd.path("parts/2/rows.cbor");
    let mut bytes = std::fs::read(&rows).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    std::fs::write(&rows, bytes).unwrap();
    refused(merge(&wd, "out", &parts, &[]), 3, &["rows.cbor", "sha256"]);
}
