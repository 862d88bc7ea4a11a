//! `ebbflow-score --sink`: the run published to a real PostgreSQL (see
//! `pg`), each test in a database of its own. The queue rows equal the
//! queue file's; a rerun replaces its run; a drift-gated run writes only
//! its row; a reader sees the previous run or the new one, never half;
//! a newer layout is refused and an older one migrated; the password never
//! shows; the README's queries run.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use polars::prelude::*;
use postgres::Client;

use crate::pg::{without_password, TempDb};
use crate::workdir::{demo_data, demo_model, exe, root, s, Workdir};

const LAST_DAY: &str = "2025-12-31";
const EARLIER: &str = "2025-11-30";

fn args<'a>(url: &'a str, as_of: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "--model",
        s_static(demo_model()),
        "--data",
        s_static(demo_data()),
        "--out",
        "o",
        "--quiet",
        "--top",
        "0",
        "--as-of",
        as_of,
        "--sink",
        url,
    ];
    a.extend_from_slice(extra);
    a
}

fn s_static(p: std::path::PathBuf) -> &'static str {
    Box::leak(p.into_boxed_path()).to_str().unwrap()
}

fn score(wd: &Workdir, url: &str, as_of: &str, extra: &[&str]) -> Output {
    wd.run("ebbflow-score", &args(url, as_of, extra))
}

fn score_ok(wd: &Workdir, url: &str, as_of: &str) -> serde_json::Value {
    let out = score(wd, url, as_of, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    manifest(wd)
}

fn manifest(wd: &Workdir) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(wd.path("o/manifest.json")).unwrap()).unwrap()
}

fn count(c: &mut Client, sql: &str) -> i64 {
    c.query_one(sql, &[]).unwrap().get(0)
}

fn queue_count(c: &mut Client, run_id: &str) -> i64 {
    c.query_one(
        "SELECT count(*) FROM ebbflow_queue WHERE run_id = $1",
        &[&run_id],
    )
    .unwrap()
    .get(0)
}

/// (run_id, row count) of what the view shows; one run at a time.
fn latest(c: &mut Client) -> (Option<String>, i64) {
    let r = c
        .query_one(
            "SELECT min(run_id), max(run_id), count(*) FROM ebbflow_queue_latest",
            &[],
        )
        .unwrap();
    let (lo, hi): (Option<String>, Option<String>) = (r.get(0), r.get(1));
    assert_eq!(lo, hi, "the view holds one run");
    (lo, r.get(2))
}

/// A digest of every queue row, run ids included, to compare states.
fn queue_digest(c: &mut Client) -> String {
    c.query_one(
        "SELECT coalesce(md5(string_agg(q::text, E'\\n' ORDER BY run_id, account_id)), '')
         FROM ebbflow_queue q",
        &[],
    )
    .unwrap()
    .get(0)
}

fn read_parquet(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap())
        .finish()
        .unwrap()
}

/// Every column of the queue file equals the database's rows of `run_id`
/// (by rank); columns the file lacks are empty for this run.
fn assert_queue_equals_file(c: &mut Client, run_id: &str, file: &Path) {
    let df = read_parquet(file);
    let n = queue_count(c, run_id);
    assert_eq!(n as usize, df.height());
    let table: Vec<String> = c
        .query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'ebbflow_queue'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    for name in df.get_column_names() {
        assert!(table.iter().any(|t| t == name.as_str()), "column {name}");
    }
    for t in &table {
        if t == "run_id" || df.get_column_names().iter().any(|n| n.as_str() == t) {
            continue;
        }
        let filled = count(
            c,
            &format!(
                "SELECT count(\"{t}\") FROM ebbflow_queue WHERE run_id = '{}'",
                run_id.replace('\'', "''")
            ),
        );
        assert_eq!(filled, 0, "{t} is not a column of this queue, yet filled");
    }
    for col in df.columns() {
        let name = col.name().as_str();
        let sql = format!("SELECT \"{name}\" FROM ebbflow_queue WHERE run_id = $1 ORDER BY rank");
        let rows = c.query(&sql, &[&run_id]).unwrap();
        match col.dtype() {
            DataType::Float64 => {
                let db: Vec<Option<f64>> = rows.iter().map(|r| r.get(0)).collect();
                let file: Vec<Option<f64>> = col.f64().unwrap().iter().collect();
                let same = |a: &Option<f64>, b: &Option<f64>| match (a, b) {
                    (Some(a), Some(b)) => a == b || (a.is_nan() && b.is_nan()),
                    (None, None) => true,
                    _ => false,
                };
                assert!(
                    db.len() == file.len() && db.iter().zip(&file).all(|(a, b)| same(a, b)),
                    "column {name}"
                );
            }
            DataType::UInt32 => {
                let db: Vec<Option<i64>> = rows.iter().map(|r| r.get(0)).collect();
                let file: Vec<Option<i64>> = col
                    .u32()
                    .unwrap()
                    .iter()
                    .map(|v| v.map(i64::from))
                    .collect();
                assert_eq!(db, file, "column {name}");
            }
            DataType::String | DataType::Date => {
                let sql = sql.replace(&format!("\"{name}\""), &format!("\"{name}\"::text"));
                let db: Vec<Option<String>> = c
                    .query(&sql, &[&run_id])
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let text = col.cast(&DataType::String).unwrap();
                let file: Vec<Option<String>> = text
                    .str()
                    .unwrap()
                    .iter()
                    .map(|v| v.map(String::from))
                    .collect();
                assert_eq!(db, file, "column {name}");
            }
            other => panic!("queue column {name} has type {other}: extend this test"),
        }
    }
}

#[test]
fn a_run_publishes_its_row_its_queue_as_the_file_holds_it_and_the_view() {
    let db = TempDb::new("sink_basic");
    let wd = Workdir::new();
    let m = score_ok(&wd, &db.url, LAST_DAY);
    let run_id = format!("{LAST_DAY}/{}", m["bundle_id"].as_str().unwrap());
    assert_eq!(m["sink"]["run_id"], run_id.as_str());
    assert_eq!(m["sink"]["schema"], "public");
    let mut c = db.client();
    assert_eq!(
        count(&mut c, "SELECT max(version)::bigint FROM ebbflow_schema"),
        2
    );
    let r = c
        .query_one(
            "SELECT as_of::text, bundle_id, model_version, status, gate, accounts, scored,
                    skipped_inactive, skipped_rows_unknown_account,
                    tier_high + tier_medium + tier_low, manifest::text,
                    generated_at = $2::text::timestamptz
             FROM ebbflow_runs WHERE run_id = $1",
            &[&run_id, &m["generated_at"].as_str().unwrap()],
        )
        .unwrap();
    assert_eq!(r.get::<_, String>(0), LAST_DAY);
    assert_eq!(r.get::<_, String>(1), m["bundle_id"].as_str().unwrap());
    assert_eq!(r.get::<_, String>(3), "ok");
    assert_eq!(r.get::<_, Option<String>>(4), None);
    let counts = &m["counts"];
    assert_eq!(r.get::<_, i64>(5), counts["accounts"].as_i64().unwrap());
    assert_eq!(r.get::<_, i64>(6), counts["scored"].as_i64().unwrap());
    assert_eq!(
        r.get::<_, i64>(7),
        counts["skipped_inactive_at_as_of"].as_i64().unwrap()
    );
    assert_eq!(
        r.get::<_, i64>(8),
        counts["skipped_rows_unknown_account"].as_i64().unwrap()
    );
    let tiers: i64 = r.get(9);
    assert!(tiers > 0 && tiers <= counts["scored"].as_i64().unwrap());
    let stored: serde_json::Value = serde_json::from_str(&r.get::<_, String>(10)).unwrap();
    assert_eq!(stored, m, "the manifest as the file holds it");
    assert!(r.get::<_, bool>(11));

    assert_queue_equals_file(&mut c, &run_id, &wd.path("o/queue.parquet"));
    assert_eq!(
        latest(&mut c),
        (Some(run_id.clone()), counts["scored"].as_i64().unwrap())
    );
    // Typed columns, not text.
    let types: Vec<(String, String)> = c
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_name = 'ebbflow_queue' AND column_name IN ('as_of', 'mrr', 'rank', 'risk_tier')
             ORDER BY column_name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        types,
        [
            ("as_of".into(), "date".into()),
            ("mrr".into(), "double precision".into()),
            ("rank".into(), "bigint".into()),
            ("risk_tier".into(), "text".into()),
        ]
    );
}

#[test]
fn a_rerun_replaces_its_run_and_the_view_follows_the_latest_date() {
    let db = TempDb::new("sink_rerun");
    let wd = Workdir::new();
    let mut c = db.client();
    let first = score_ok(&wd, &db.url, LAST_DAY);
    let bundle = first["bundle_id"].as_str().unwrap().to_string();
    let runs = |c: &mut Client| count(c, "SELECT count(*) FROM ebbflow_runs");
    let (n_runs, n_rows, digest) = (
        runs(&mut c),
        count(&mut c, "SELECT count(*) FROM ebbflow_queue"),
        queue_digest(&mut c),
    );
    let again = score_ok(&wd, &db.url, LAST_DAY);
    assert_eq!(runs(&mut c), n_runs);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ebbflow_queue"), n_rows);
    assert_eq!(queue_digest(&mut c), digest, "the same rows, once");
    let generated: String = c
        .query_one(
            "SELECT to_char(generated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             FROM ebbflow_runs",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        generated,
        again["generated_at"].as_str().unwrap(),
        "the rerun's row"
    );

    // An earlier date published later: the view keeps the latest date.
    let earlier = score_ok(&wd, &db.url, EARLIER);
    assert_eq!(runs(&mut c), 2);
    let last_id = format!("{LAST_DAY}/{bundle}");
    assert_eq!(
        latest(&mut c),
        (Some(last_id), first["counts"]["scored"].as_i64().unwrap())
    );
    let earlier_id = format!("{EARLIER}/{bundle}");
    assert_queue_equals_file(&mut c, &earlier_id, &wd.path("o/queue.parquet"));
    assert_eq!(
        queue_count(&mut c, &earlier_id),
        earlier["counts"]["scored"].as_i64().unwrap()
    );
}

#[test]
fn the_previous_run_for_movers_is_the_latest_earlier_successful_one() {
    let db = TempDb::new("sink_prev");
    let wd = Workdir::new();
    let url = ebbflow::pg::PgUrl::parse("--sink", &db.url).unwrap();
    let mut sink = ebbflow::publish::sink::Sink::open(url, None).unwrap();
    let day = |d: &str| ebbflow::dates::parse_day(d).unwrap();
    assert_eq!(
        sink.previous_run(day(LAST_DAY)).unwrap(),
        None,
        "no tables yet"
    );
    score_ok(&wd, &db.url, EARLIER);
    let earlier_queue = read_parquet(&wd.path("o/queue.parquet"));
    let m = score_ok(&wd, &db.url, LAST_DAY);
    // A gated run dated between them is not a previous run.
    let gated = score(&wd, &db.url, "2025-12-15", &["--fail-on-drift", "0.0001"]);
    assert_eq!(gated.status.code(), Some(5));

    assert_eq!(sink.previous_run(day(EARLIER)).unwrap(), None);
    let prev = sink.previous_run(day(LAST_DAY)).unwrap().unwrap();
    assert_eq!(prev.as_of, day(EARLIER));
    assert_eq!(
        prev.run_id,
        format!("{EARLIER}/{}", m["bundle_id"].as_str().unwrap())
    );
    let sorted = earlier_queue
        .sort(["account_id"], SortMultipleOptions::default())
        .unwrap();
    let ids: Vec<&str> = sorted
        .column("account_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    let got: Vec<&str> = prev
        .accounts
        .iter()
        .map(|a| a.account_id.as_str())
        .collect();
    assert_eq!(got, ids);
    let risk: Vec<Option<f64>> = sorted
        .column("churn_risk")
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .collect();
    let tier: Vec<Option<String>> = sorted
        .column("risk_tier")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|t| t.map(String::from))
        .collect();
    assert_eq!(
        prev.accounts
            .iter()
            .map(|a| a.churn_risk)
            .collect::<Vec<_>>(),
        risk
    );
    assert_eq!(
        prev.accounts
            .iter()
            .map(|a| a.risk_tier.clone())
            .collect::<Vec<_>>(),
        tier
    );
    // A later date sees the last day's run.
    let prev = sink.previous_run(day("2026-01-31")).unwrap().unwrap();
    assert_eq!(prev.as_of, day(LAST_DAY));
}

#[test]
fn a_drift_gated_run_writes_only_its_row_and_the_view_keeps_the_last_good_run() {
    let db = TempDb::new("sink_drift");
    let wd = Workdir::new();
    let mut c = db.client();
    let good = score_ok(&wd, &db.url, LAST_DAY);
    let bundle = good["bundle_id"].as_str().unwrap();
    let before = queue_digest(&mut c);
    // The same date and bundle, gated: the successful run stays.
    let out = score(&wd, &db.url, LAST_DAY, &["--fail-on-drift", "0.0001"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{err}");
    let m = manifest(&wd);
    assert_eq!(m["status"], "drift_gate");
    let gated_id = format!("{LAST_DAY}/{bundle}/drift");
    assert_eq!(m["sink"]["run_id"], gated_id.as_str());
    let r = c
        .query_one(
            "SELECT status, gate, tier_high, manifest->>'status' FROM ebbflow_runs WHERE run_id = $1",
            &[&gated_id],
        )
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "drift");
    assert_eq!(r.get::<_, Option<String>>(1).as_deref(), m["gate"].as_str());
    assert_eq!(r.get::<_, Option<i64>>(2), None);
    assert_eq!(r.get::<_, String>(3), "drift_gate");
    assert_eq!(queue_count(&mut c, &gated_id), 0);
    assert_eq!(queue_digest(&mut c), before, "no queue row changed");
    assert_eq!(count(&mut c, "SELECT count(*) FROM ebbflow_runs"), 2);
    let good_id = format!("{LAST_DAY}/{bundle}");
    assert_eq!(latest(&mut c).0, Some(good_id.clone()));
    // A gated retry replaces the gated row, not the good run.
    assert_eq!(
        score(&wd, &db.url, LAST_DAY, &["--fail-on-drift", "0.0001"])
            .status
            .code(),
        Some(5)
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM ebbflow_runs"), 2);
    assert_eq!(latest(&mut c).0, Some(good_id));
}

/// Waits until the ebbflow connection to `db` waits on a lock in a
/// statement starting with `statement`. Panics (a deadlock guard, not a
/// timing check) after two minutes.
fn wait_until_blocked(c: &mut Client, db: &str, statement: &str) {
    let t = Instant::now();
    loop {
        let n = count(
            c,
            &format!(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = '{db}' AND application_name = 'ebbflow'
                   AND wait_event_type = 'Lock' AND query LIKE '%{statement}%'"
            ),
        );
        if n > 0 {
            return;
        }
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "the run never reached {statement}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_reader_sees_the_previous_run_or_the_new_one_never_half() {
    let db = TempDb::new("sink_tx");
    let wd = Workdir::new();
    let mut reader = db.client();
    let old = score_ok(&wd, &db.url, EARLIER);
    let bundle = old["bundle_id"].as_str().unwrap().to_string();
    let old_id = format!("{EARLIER}/{bundle}");
    let old_n = old["counts"]["scored"].as_i64().unwrap();
    let old_manifest = std::fs::read(wd.path("o/manifest.json")).unwrap();
    let new_id = format!("{LAST_DAY}/{bundle}");

    // Another session inserts the new run's id and keeps its transaction
    // open: the run writes its queue rows, then waits on that key at its
    // own runs row, its transaction open with every queue row in it.
    let mut holder = db.client();
    let mut tx = holder.transaction().unwrap();
    tx.execute(
        "INSERT INTO ebbflow_runs (run_id, as_of, bundle_id, model_version, generated_at,
            status, accounts, scored, skipped_inactive, skipped_rows_unknown_account,
            ebbflow_version, manifest)
         VALUES ($1, '2025-12-31', 'x', 'x', now(), 'ok', 0, 0, 0, 0, 'x', '{}')",
        &[&new_id],
    )
    .unwrap();
    let child = Command::new(exe("ebbflow-score"))
        .args(args(&db.url, LAST_DAY, &[]))
        .current_dir(wd.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until_blocked(&mut reader, &db.name, "INSERT INTO ebbflow_runs");
    assert_eq!(
        queue_count(&mut reader, &new_id),
        0,
        "no uncommitted row shows"
    );
    assert_eq!(latest(&mut reader), (Some(old_id), old_n));
    assert_eq!(
        std::fs::read(wd.path("o/manifest.json")).unwrap(),
        old_manifest,
        "the files switch only after the database commit"
    );
    tx.rollback().unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = manifest(&wd);
    let new_n = new["counts"]["scored"].as_i64().unwrap();
    assert_ne!(new_n, old_n, "the two runs are told apart by size");
    assert_eq!(latest(&mut reader), (Some(new_id.clone()), new_n));
    assert_eq!(queue_count(&mut reader, &new_id), new_n);
}

#[test]
fn a_failed_database_write_exits_6_and_leaves_both_sides_as_they_were() {
    let db = TempDb::new("sink_fail");
    let wd = Workdir::new();
    let mut c = db.client();
    score_ok(&wd, &db.url, EARLIER);
    let files = std::fs::read(wd.path("o/queue.parquet")).unwrap();
    let (runs, digest) = (
        count(&mut c, "SELECT count(*) FROM ebbflow_runs"),
        queue_digest(&mut c),
    );
    // A constraint every queue row breaks: the COPY fails mid-transaction.
    c.batch_execute("ALTER TABLE ebbflow_queue ADD CONSTRAINT never CHECK (mrr < 0) NOT VALID")
        .unwrap();
    let out = score(&wd, &db.url, LAST_DAY, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("cannot publish run 2025-12-31/"), "{err}");
    assert!(err.contains("keeps its previous set"), "{err}");
    assert_eq!(std::fs::read(wd.path("o/queue.parquet")).unwrap(), files);
    assert_eq!(count(&mut c, "SELECT count(*) FROM ebbflow_runs"), runs);
    assert_eq!(queue_digest(&mut c), digest);
}

/// The layout before the movers columns (schema version 1), as an older
/// ebbflow would have made it.
const VERSION_1: &str = "
CREATE TABLE ebbflow_schema (version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
INSERT INTO ebbflow_schema (version) VALUES (1);
CREATE TABLE ebbflow_runs (
    run_id text PRIMARY KEY, as_of date NOT NULL, bundle_id text NOT NULL,
    model_version text NOT NULL, generated_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('ok', 'drift')), gate text,
    accounts bigint NOT NULL, scored bigint NOT NULL, skipped_inactive bigint NOT NULL,
    skipped_rows_unknown_account bigint NOT NULL, tier_high bigint, tier_medium bigint,
    tier_low bigint, ebbflow_version text NOT NULL, manifest jsonb NOT NULL);
CREATE TABLE ebbflow_queue (
    run_id text NOT NULL, rank bigint, account_id text NOT NULL, name text, owner text,
    as_of date NOT NULL, mrr double precision, churn_risk double precision, risk_tier text,
    arr_at_risk double precision, upgrade_propensity double precision, upgrade_tier text,
    rfm_code text, segment text, survival_90d double precision,
    expected_days_remaining double precision, churn_drivers text, upgrade_drivers text,
    suggested_play text, model_version text, PRIMARY KEY (run_id, account_id));
CREATE VIEW ebbflow_queue_latest AS SELECT q.* FROM ebbflow_queue q WHERE q.run_id = (
    SELECT r.run_id FROM ebbflow_runs r WHERE r.status = 'ok'
    ORDER BY r.as_of DESC, r.generated_at DESC, r.run_id DESC LIMIT 1);
INSERT INTO ebbflow_runs VALUES ('2025-10-31/old', '2025-10-31', 'old', 'old', now(), 'ok',
    NULL, 1, 1, 0, 0, 1, 0, 0, '0.0.1', '{}');
INSERT INTO ebbflow_queue (run_id, rank, account_id, as_of, mrr)
    VALUES ('2025-10-31/old', 1, 'A-000001', '2025-10-31', 100);
";

#[test]
fn a_version_1_layout_is_migrated_in_the_runs_transaction() {
    let db = TempDb::new("sink_migrate");
    let wd = Workdir::new();
    let mut c = db.client();
    c.batch_execute(VERSION_1).unwrap();
    let m = score_ok(&wd, &db.url, LAST_DAY);
    assert_eq!(
        count(&mut c, "SELECT max(version)::bigint FROM ebbflow_schema"),
        2
    );
    let view_columns = |c: &mut Client| -> Vec<String> {
        c.query(
            "SELECT column_name::text FROM information_schema.columns
             WHERE table_name = 'ebbflow_queue_latest' ORDER BY ordinal_position",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
    };
    let cols = view_columns(&mut c);
    assert_eq!(
        cols[cols.len() - 4..],
        [
            "prev_churn_risk",
            "churn_risk_change",
            "prev_risk_tier",
            "movement"
        ],
        "the view shows the new columns"
    );
    let run_id = format!("{LAST_DAY}/{}", m["bundle_id"].as_str().unwrap());
    assert_queue_equals_file(&mut c, &run_id, &wd.path("o/queue.parquet"));
    assert_eq!(queue_count(&mut c, "2025-10-31/old"), 1, "older runs kept");
    assert_eq!(latest(&mut c).0, Some(run_id));
}

#[test]
fn a_layout_from_a_newer_ebbflow_or_foreign_tables_are_refused_with_exit_2() {
    let db = TempDb::new("sink_newer");
    let wd = Workdir::new();
    let mut c = db.client();
    c.batch_execute(
        "CREATE TABLE ebbflow_schema (version integer NOT NULL);
         INSERT INTO ebbflow_schema VALUES (3);",
    )
    .unwrap();
    let out = score(&wd, &db.url, LAST_DAY, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(
            "schema version 3, written by a newer ebbflow; this one knows versions up to 2"
        ),
        "{err}"
    );
    assert!(
        !wd.path("o/queue.parquet").exists(),
        "refused before scoring"
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ebbflow_runs'"
        ),
        0
    );
    // Tables of that name that ebbflow did not make.
    c.batch_execute("DROP TABLE ebbflow_schema; CREATE TABLE ebbflow_runs (x int);")
        .unwrap();
    let out = score(&wd, &db.url, LAST_DAY, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("tables ebbflow did not make"), "{err}");
}

#[test]
fn the_sink_schema_flag_puts_the_tables_in_that_schema() {
    let db = TempDb::new("sink_schema");
    let wd = Workdir::new();
    let mut c = db.client();
    let out = score(&wd, &db.url, LAST_DAY, &["--sink-schema", "analytics"]);
    assert_eq!(out.status.code(), Some(2), "the schema must exist");
    c.batch_execute("CREATE SCHEMA analytics").unwrap();
    let out = score(&wd, &db.url, LAST_DAY, &["--sink-schema", "analytics"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(manifest(&wd)["sink"]["schema"], "analytics");
    assert!(
        count(
            &mut c,
            "SELECT count(*) FROM analytics.ebbflow_queue_latest"
        ) > 0
    );
    assert_eq!(
        count(
            &mut c,
            "SELECT count(*) FROM information_schema.tables
             WHERE table_schema = 'public' AND table_name LIKE 'ebbflow%'"
        ),
        0
    );
}

#[test]
fn the_password_is_never_printed_stored_or_echoed() {
    let db = TempDb::new("sink_secret");
    let (bare, password) = without_password(&db.url);
    assert!(password.len() >= 8, "the test cluster has a real password");
    let wd = Workdir::new();
    let check = |out: &Output, what: &str| {
        for text in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(text).contains(&password),
                "{what}: the password was printed"
            );
        }
        if let Ok(m) = std::fs::read_to_string(wd.path("o/manifest.json")) {
            assert!(!m.contains(&password), "{what}: the manifest holds it");
        }
    };
    // In the URL, with progress lines on.
    let mut a = args(&db.url, LAST_DAY, &[]);
    a.retain(|x| *x != "--quiet");
    let out = wd.run("ebbflow-score", &a);
    assert_eq!(out.status.code(), Some(0));
    check(&out, "URL");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&bare[..bare.find('@').unwrap()]));
    // From PGPASSWORD.
    let out = wd.run_env(
        "ebbflow-score",
        &args(&bare, LAST_DAY, &[]),
        &[("PGPASSWORD", &password)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&out, "PGPASSWORD");
    // From ~/.pgpass (mode 0600).
    let home = wd.path("home");
    std::fs::create_dir(&home).unwrap();
    let pgpass = home.join(".pgpass");
    std::fs::write(&pgpass, format!("*:*:*:*:{password}\n")).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let out = wd.run_env(
        "ebbflow-score",
        &args(&bare, LAST_DAY, &[]),
        &[("HOME", s(&home))],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&out, "~/.pgpass");
    // A wrong password: refused (exit 6), neither password echoed.
    let wrong = bare.replacen('@', ":wrong-pw-123@", 1);
    let out = score(&wd, &wrong, LAST_DAY, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(!err.contains("wrong-pw-123"), "{err}");
    check(&out, "wrong password");
    // Nor does the database keep it.
    let mut c = db.client();
    let stored: String = c
        .query_one(
            "SELECT string_agg(manifest::text, '') FROM ebbflow_runs",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(!stored.contains(&password));
}

/// The ```sql blocks of the README's PostgreSQL section.
fn readme_queries() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = text
        .find("### Publishing to PostgreSQL")
        .expect("README has the section");
    let section = &text[start..];
    let section = &section[..section[4..].find("\n## ").map_or(section.len(), |i| i + 4)];
    section
        .split("```sql\n")
        .skip(1)
        .map(|b| b[..b.find("```").unwrap()].to_string())
        .collect()
}

#[test]
fn the_readme_queries_run_and_answer() {
    let db = TempDb::new("sink_readme");
    let wd = Workdir::new();
    score_ok(&wd, &db.url, EARLIER);
    let last = score_ok(&wd, &db.url, LAST_DAY);
    let queries = readme_queries();
    assert_eq!(queries.len(), 2, "top ARR at risk, tiers per day");
    let mut c = db.client();
    // Top accounts by ARR at risk: the queue file's first rows.
    let rows = c.query(queries[0].as_str(), &[]).unwrap();
    assert!(!rows.is_empty());
    let file = read_parquet(&wd.path("o/queue.parquet"));
    let by_arr = file
        .sort(
            ["arr_at_risk"],
            SortMultipleOptions::default()
                .with_order_descending(true)
                .with_nulls_last(true),
        )
        .unwrap();
    let top: Vec<&str> = by_arr
        .column("account_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .take(rows.len())
        .map(Option::unwrap)
        .collect();
    let got: Vec<String> = rows.iter().map(|r| r.get("account_id")).collect();
    assert_eq!(got, top);
    // Tier counts per day: both days, summing to each run's tiered rows.
    let rows = c.query(queries[1].as_str(), &[]).unwrap();
    let days: std::collections::BTreeSet<String> = rows
        .iter()
        .map(|r| r.get::<_, chrono_free::Day>("as_of").0)
        .collect();
    assert_eq!(days.len(), 2, "{days:?}");
    let total_last: i64 = rows
        .iter()
        .filter(|r| r.get::<_, chrono_free::Day>("as_of").0 == LAST_DAY)
        .map(|r| r.get::<_, i64>("accounts"))
        .sum();
    let tiered = file
        .column("risk_tier")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .filter(|t| t.is_some())
        .count() as i64;
    assert_eq!(total_last, tiered);
    assert_eq!(
        last["counts"]["scored"].as_i64().unwrap(),
        file.height() as i64
    );
}

/// Reads a `date` as its text (the driver has no date type without a
/// chrono feature; the README's query returns a date as a BI tool sees it).
mod chrono_free {
    use postgres::types::{FromSql, Type};

    pub struct Day(pub String);

    impl<'a> FromSql<'a> for Day {
        fn from_sql(
            _: &Type,
            raw: &'a [u8],
        ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
            let n = i32::from_be_bytes(raw.try_into()?);
            Ok(Day(ebbflow::dates::format_day(n + 10_957)))
        }
        fn accepts(ty: &Type) -> bool {
            *ty == Type::DATE
        }
    }
}

#[test]
fn a_queue_column_the_layout_lacks_is_added_and_a_conflicting_type_refused() {
    use ebbflow::publish::sink::{Sink, SinkRun};
    let db = TempDb::new("sink_columns");
    let open = || Sink::open(ebbflow::pg::PgUrl::parse("--sink", &db.url).unwrap(), None).unwrap();
    let run = |df: &DataFrame, bundle: &str| {
        open().write_run(&SinkRun {
            as_of: ebbflow::dates::parse_day(LAST_DAY).unwrap(),
            bundle_id: bundle,
            generated_at: "2026-01-01T00:00:00Z",
            gate: None,
            accounts: 2,
            scored: 2,
            skipped_inactive: 0,
            skipped_rows_unknown_account: 0,
            queue: Some((df, Default::default())),
            manifest: "{}",
        })
    };
    // A queue that gained a column (as movers' did): it reaches the table
    // and the view, typed from the frame.
    let df = df!(
        "rank" => [1u32, 2],
        "account_id" => ["A-1", "A-2"],
        "as_of" => [LAST_DAY, LAST_DAY],
        "mrr" => [10.0, 20.0],
        "seats_change" => [Some(3i64), None],
    )
    .unwrap();
    assert_eq!(run(&df, "b1").unwrap(), format!("{LAST_DAY}/b1"));
    let mut c = db.client();
    let got: Vec<(String, Option<i64>)> = c
        .query(
            "SELECT account_id, seats_change FROM ebbflow_queue_latest ORDER BY rank",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(got, [("A-1".into(), Some(3)), ("A-2".into(), None)]);
    // The same name with another type: refused (exit 2), nothing written.
    let df = df!(
        "rank" => [1u32],
        "account_id" => ["A-1"],
        "as_of" => [LAST_DAY],
        "mrr" => ["ten"],
    )
    .unwrap();
    let err = run(&df, "b2").unwrap_err();
    assert_eq!(err.exit_code(), ebbflow::error::ExitCode::Usage, "{err}");
    assert!(
        err.to_string()
            .contains("column ebbflow_queue.mrr is double precision, but this run writes text"),
        "{err}"
    );
    assert_eq!(count(&mut c, "SELECT count(*) FROM ebbflow_runs"), 1);
}

#[test]
fn a_connection_the_server_closed_while_scoring_is_opened_again() {
    use ebbflow::publish::sink::{Sink, SinkRun};
    let db = TempDb::new("sink_reconnect");
    let mut sink = Sink::open(ebbflow::pg::PgUrl::parse("--sink", &db.url).unwrap(), None).unwrap();
    let mut c = db.client();
    // What an idle_session_timeout or a restarted pooler does.
    let killed = count(
        &mut c,
        &format!(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = '{}' AND application_name = 'ebbflow'",
            db.name
        ),
    );
    assert_eq!(killed, 1);
    let df = df!("rank" => [1u32], "account_id" => ["A-1"], "as_of" => [LAST_DAY]).unwrap();
    sink.write_run(&SinkRun {
        as_of: ebbflow::dates::parse_day(LAST_DAY).unwrap(),
        bundle_id: "b1",
        generated_at: "2026-01-01T00:00:00Z",
        gate: None,
        accounts: 1,
        scored: 1,
        skipped_inactive: 0,
        skipped_rows_unknown_account: 0,
        queue: Some((&df, Default::default())),
        manifest: "{}",
    })
    .unwrap();
    assert_eq!(queue_count(&mut c, &format!("{LAST_DAY}/b1")), 1);
}

#[test]
fn without_previous_the_sink_compares_with_its_latest_earlier_run_as_a_file_would() {
    let db = TempDb::new("sink_movers");
    let wd = Workdir::new();
    score_ok(&wd, &db.url, EARLIER);
    // Keep the earlier run's queue file to compare through --previous.
    std::fs::create_dir(wd.path("earlier")).unwrap();
    std::fs::copy(wd.path("o/queue.parquet"), wd.path("earlier/queue.parquet")).unwrap();
    let m = score_ok(&wd, &db.url, LAST_DAY);
    let source = m["previous"]["source"].as_str().unwrap();
    assert!(
        source.contains(&format!("run {EARLIER}/")),
        "the previous run is named by its run id: {source}"
    );
    let (_, password) = without_password(&db.url);
    assert!(!source.contains(&password), "no password in the manifest");

    let file = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s_static(demo_model()),
            "--data",
            s_static(demo_data()),
            "--out",
            "f",
            "--quiet",
            "--top",
            "0",
            "--as-of",
            LAST_DAY,
            "--previous",
            "earlier",
        ],
    );
    assert_eq!(
        file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&file.stderr)
    );
    // Same movers, whichever way the previous run came.
    assert_eq!(
        std::fs::read(wd.path("o/queue.csv")).unwrap(),
        std::fs::read(wd.path("f/queue.csv")).unwrap()
    );
    assert_eq!(
        m["previous"]["movement"],
        manifest_at(&wd, "f")["previous"]["movement"]
    );
    let mut c = db.client();
    let moved = count(
        &mut c,
        &format!(
            "SELECT count(*) FROM ebbflow_queue WHERE run_id LIKE '{LAST_DAY}/%' AND movement IS NOT NULL"
        ),
    );
    assert!(moved > 0, "the database's queue carries the movers too");
}

fn manifest_at(wd: &Workdir, dir: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(wd.path(&format!("{dir}/manifest.json"))).unwrap())
        .unwrap()
}
