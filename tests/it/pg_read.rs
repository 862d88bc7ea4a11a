//! `--data postgres://…` end to end against a real PostgreSQL (see
//! `pg.rs`): the demo tables loaded with real column types read exactly as
//! the files do (same bundle apart from the source fields, same queue
//! bytes), rows dated after the as-of date change nothing, bad rows get the
//! files' positioned messages, and the password never shows anywhere.

use std::io::Write;
use std::path::Path;

use ebbflow::config::Config;
use ebbflow::io::load::{load_dir, load_source_with, DataSource};
use polars::prelude::*;
use postgres::Client;

use crate::pg::{without_password, TempDb};
use crate::workdir::{demo_data, s, Workdir};

fn copy_in(c: &mut Client, sql: &str, data: &[u8]) {
    let mut w = c.copy_in(sql).expect("COPY FROM STDIN");
    w.write_all(data).expect("send rows");
    w.finish().expect("COPY done");
}

/// The demo tables in PostgreSQL with the types a real schema has, loaded
/// by SQL alone (no ebbflow code): ids as varchar and text, dates as date,
/// timestamp and timestamptz, amounts as numeric, double, real and
/// integer, NULL where a CSV cell is empty; events from the Parquet file's
/// millisecond timestamps.
fn load_demo(db: &TempDb) {
    let mut c = db.client();
    c.batch_execute(
        "SET TIME ZONE 'UTC';
         CREATE TYPE region_t AS ENUM ('NA', 'EMEA', 'APAC', 'LATAM');
         CREATE TABLE accounts (account_id varchar(16) PRIMARY KEY, created_at date NOT NULL,
             name text, segment text, industry varchar(40), region region_t, channel text, owner text);
         CREATE TABLE subscriptions (line_id serial PRIMARY KEY, account_id varchar(16) NOT NULL,
             start_date date, end_date date, mrr numeric(12,2), plan text, seats integer);
         CREATE TABLE tickets (ticket_id serial PRIMARY KEY, account_id text, created_at timestamp,
             priority text, csat smallint, sentiment double precision, topic text);
         CREATE TABLE surveys (account_id text, responded_at timestamptz, score real);
         CREATE TABLE events (account_id varchar(16), \"timestamp\" timestamptz, event text,
             user_id text, count integer);
         CREATE TEMP TABLE events_ms (account_id text, ms bigint, event text, user_id text, count bigint);",
    )
    .unwrap();
    let csv = |t: &str| std::fs::read(demo_data().join(format!("{t}.csv"))).unwrap();
    copy_in(
        &mut c,
        "COPY accounts FROM STDIN (FORMAT csv, HEADER true)",
        &csv("accounts"),
    );
    copy_in(
        &mut c,
        "COPY subscriptions (account_id, start_date, end_date, mrr, plan, seats) FROM STDIN (FORMAT csv, HEADER true)",
        &csv("subscriptions"),
    );
    copy_in(
        &mut c,
        "COPY tickets (account_id, created_at, priority, csat, sentiment, topic) FROM STDIN (FORMAT csv, HEADER true)",
        &csv("tickets"),
    );
    copy_in(
        &mut c,
        "COPY surveys FROM STDIN (FORMAT csv, HEADER true)",
        &csv("surveys"),
    );
    let f = std::fs::File::open(demo_data().join("events.parquet")).unwrap();
    let mut ev = ParquetReader::new(f).finish().unwrap();
    let ms = ev
        .column("timestamp")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .into_owned();
    ev.with_column(ms.into()).unwrap();
    let mut buf = Vec::new();
    CsvWriter::new(&mut buf)
        .include_header(true)
        .finish(&mut ev)
        .unwrap();
    copy_in(
        &mut c,
        "COPY events_ms (account_id, ms, event, user_id, count) FROM STDIN (FORMAT csv, HEADER true)",
        &buf,
    );
    c.batch_execute(
        "INSERT INTO events SELECT account_id, timestamptz 'epoch' + ms * interval '1 millisecond',
             event, user_id, count FROM events_ms;",
    )
    .unwrap();
    // Readers in another time zone still get UTC days.
    c.batch_execute(&format!(
        "ALTER DATABASE \"{}\" SET timezone = 'Pacific/Auckland'",
        db.name
    ))
    .unwrap();
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Every byte a run left behind: the files of `dirs` and its stdout and stderr.
fn everything(dirs: &[&Path], outs: &[&std::process::Output]) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for d in dirs {
        for e in walk(d) {
            all.push((e.display().to_string(), std::fs::read(&e).unwrap()));
        }
    }
    for (i, o) in outs.iter().enumerate() {
        all.push((format!("run {i} stdout"), o.stdout.clone()));
        all.push((format!("run {i} stderr"), o.stderr.clone()));
    }
    all
}

fn walk(d: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed with {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn demo_from_postgres_gives_the_bundle_and_queue_of_the_files_and_never_shows_the_password() {
    let db = TempDb::new("demo");
    load_demo(&db);
    let (bare, password) = without_password(&db.url);
    assert!(password.len() >= 8, "the test cluster has a real password");
    let wd = Workdir::new();
    let demo = s(&demo_data()).to_string();

    // Train from the files, and from the database with the password from
    // PGPASSWORD.
    let files_model = wd.path("model_files");
    ok(
        &wd.run(
            "ebbflow-train",
            &["--data", &demo, "--out", s(&files_model), "--quiet"],
        ),
        "train from files",
    );
    let db_model = wd.path("model_db");
    let train_db = wd.run_env(
        "ebbflow-train",
        &["--data", &bare, "--out", s(&db_model)],
        &[("PGPASSWORD", &password)],
    );
    ok(&train_db, "train from the database");

    // Same bundle apart from data.sources (which names the source) and so
    // bundle_id (a hash that includes it) and created_at.
    let (mut bf, mut bd) = (
        json(&files_model.join("bundle.json")),
        json(&db_model.join("bundle.json")),
    );
    let (sf, sd) = (bf["data"]["sources"].take(), bd["data"]["sources"].take());
    for v in [&mut bf, &mut bd] {
        v["bundle_id"] = serde_json::Value::Null;
        v["created_at"] = serde_json::Value::Null;
    }
    assert!(
        bf == bd,
        "the bundle from PostgreSQL differs from the files' beyond its sources"
    );
    let (sf, sd) = (sf.as_array().unwrap(), sd.as_array().unwrap());
    assert_eq!(sf.len(), 5);
    assert_eq!(sd.len(), 5);
    let redacted = bare.replacen("postgres://", "postgres://", 1);
    let host_db = redacted.split_once('@').unwrap().1;
    for (f, d) in sf.iter().zip(sd) {
        assert_eq!(f["table"], d["table"]);
        assert_eq!(f["rows"], d["rows"], "{}", d["table"]);
        assert_eq!(f["skipped_unknown_account"], d["skipped_unknown_account"]);
        assert_eq!(
            d["file"],
            format!("public.{}", d["table"].as_str().unwrap())
        );
        assert_eq!(d["sha256"].as_str().unwrap().len(), 64);
        let url = d["database"].as_str().unwrap();
        assert!(url.ends_with(host_db) && !url.contains(":***@"), "{url}");
        assert!(f.get("database").is_none());
    }

    // Score the files and the database with the files' bundle: the same
    // queue, byte for byte. The password comes from ~/.pgpass this time.
    // A home of its own, outside the run's folder (whose every file is
    // searched for the password below).
    let home_dir = tempfile::tempdir().unwrap();
    let home = home_dir.path().to_path_buf();
    let pgpass = home.join(".pgpass");
    let u = ebbflow::pg::PgUrl::parse("--data", &bare).unwrap();
    std::fs::write(
        &pgpass,
        format!(
            "# ours\nelsewhere:*:*:*:wrong\n{}:{}:*:{}:{}\n",
            u.host(),
            u.port(),
            u.user(),
            password.replace('\\', "\\\\").replace(':', "\\:")
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let score = |data: &str, out: &str, env: &[(&str, &str)]| {
        let mut cmd = std::process::Command::new(crate::workdir::exe("ebbflow-score"));
        cmd.args([
            "--model",
            s(&files_model),
            "--data",
            data,
            "--out",
            s(&wd.path(out)),
            "--format",
            "parquet,csv,json",
            "--threads",
            "2",
        ])
        .env_remove("PGPASSWORD")
        .env_remove("PGPASSFILE")
        .current_dir(wd.path(""));
        for (k, v) in env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        ok(&o, &format!("score {out}"));
        o
    };
    let score_files = score(&demo, "q_files", &[]);
    let score_db = score(&bare, "q_db", &[("HOME", s(&home))]);
    for f in ["queue.csv", "queue.parquet", "queue.json"] {
        assert!(
            std::fs::read(wd.path("q_files").join(f)).unwrap()
                == std::fs::read(wd.path("q_db").join(f)).unwrap(),
            "{f} from PostgreSQL differs from the files'"
        );
    }
    assert_eq!(score_files.stdout, score_db.stdout, "the top of the queue");
    // The manifests differ in data (the sources) and the run's own times.
    let (mut mf, mut md) = (
        json(&wd.path("q_files/manifest.json")),
        json(&wd.path("q_db/manifest.json")),
    );
    for m in [&mut mf, &mut md] {
        m["data"] = serde_json::Value::Null;
        m["generated_at"] = serde_json::Value::Null;
        m["timings"] = serde_json::Value::Null;
        m["outputs"] = serde_json::Value::Null;
    }
    assert_eq!(mf, md);

    // A password in the URL, and a password file readable by others
    // (ignored with a warning, as libpq does): then no password at all.
    let score_url = score(&db.url, "q_url", &[]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = wd.run_env(
            "ebbflow-score",
            &[
                "--model",
                s(&files_model),
                "--data",
                &bare,
                "--out",
                s(&wd.path("q_nopw")),
            ],
            &[("HOME", s(&home)), ("PGPASSWORD", "")],
        );
        assert_eq!(
            o.status.code(),
            Some(6),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("readable by group or others; ignored"),
            "{err}"
        );
        assert!(err.contains("cannot connect"), "{err}");
    }
    // A wrong password: exit 6, said without it.
    let wrong = bare.replacen('@', ":Wr0ngPassw0rd@", 1);
    let o = wd.run(
        "ebbflow-score",
        &[
            "--model",
            s(&files_model),
            "--data",
            &wrong,
            "--out",
            s(&wd.path("q_wrong")),
        ],
    );
    assert_eq!(o.status.code(), Some(6));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("cannot connect")
            && err.contains(&format!(
                "postgres://{}@{}:{}/",
                u.user(),
                u.host(),
                u.port()
            )),
        "{err}"
    );
    assert!(!err.contains("Wr0ngPassw0rd"), "{err}");
    // A malformed URL: exit 2, said without the password.
    let bad_port = db.url.replacen(&format!(":{}/", u.port()), ":notaport/", 1);
    let o = wd.run(
        "ebbflow-train",
        &["--data", &bad_port, "--out", s(&wd.path("m_bad"))],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a valid PostgreSQL URL"));

    // Nowhere a password: not in a bundle, a queue, a manifest, a page, a
    // log line or an error.
    let all = everything(
        &[&wd.path("")],
        &[&train_db, &score_files, &score_db, &score_url, &o],
    );
    assert!(all.len() > 20);
    for (name, bytes) in &all {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains(&password), "the password appears in {name}");
    }
    let stderr = String::from_utf8_lossy(&score_url.stderr);
    // One shown form, wherever the password came from (so a bundle's
    // sources do not depend on it).
    assert!(
        stderr.contains(&format!(
            "postgres://{}@{}:{}/",
            u.user(),
            u.host(),
            u.port()
        )),
        "URLs are shown without their password: {stderr}"
    );

    // Point in time: rows dated after the as-of date never reach features.
    let as_of = json(&wd.path("q_db/manifest.json"))["as_of"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(as_of, "2025-12-31", "the demo's last day");
    let mut c = db.client();
    c.batch_execute(
        "SET TIME ZONE 'UTC';
         -- The demo spans 2019-01-02..2025-12-31 (events, tickets and
         -- surveys from 2024): every row below is dated 2026 or later.
         INSERT INTO events SELECT account_id, \"timestamp\" + interval '2 years', 'future_event', 'U-x', 1000 FROM events;
         INSERT INTO tickets (account_id, created_at, priority, csat, sentiment, topic)
             SELECT account_id, created_at + interval '2 years', 'urgent', 1, -1, 'future' FROM tickets;
         INSERT INTO surveys SELECT account_id, responded_at + interval '2 years', 0 FROM surveys;
         INSERT INTO subscriptions (account_id, start_date, end_date, mrr, plan, seats)
             SELECT account_id, start_date + interval '7 years', NULL, 99999, 'Future', 1 FROM subscriptions;",
    )
    .unwrap();
    let o = std::process::Command::new(crate::workdir::exe("ebbflow-score"))
        .args([
            "--model",
            s(&files_model),
            "--data",
            &bare,
            "--as-of",
            &as_of,
            "--out",
            s(&wd.path("q_future")),
            "--format",
            "parquet,csv,json",
        ])
        .env("PGPASSWORD", &password)
        .output()
        .unwrap();
    ok(&o, "score with future rows");
    // They were read (and checked), every one of them.
    let rows = |m: &str| -> Vec<u64> {
        json(&wd.path(m).join("manifest.json"))["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["rows"].as_u64().unwrap())
            .collect()
    };
    let (before, after) = (rows("q_db"), rows("q_future"));
    assert_eq!(after[0], before[0], "accounts");
    for i in 1..5 {
        assert_eq!(after[i], 2 * before[i], "table {i}");
    }
    for f in ["queue.csv", "queue.parquet", "queue.json"] {
        assert!(
            std::fs::read(wd.path("q_files").join(f)).unwrap()
                == std::fs::read(wd.path("q_future").join(f)).unwrap(),
            "{f}: rows after {as_of} changed the queue"
        );
    }
}

/// A small data set with integer account ids, in files and in a database
/// (bigint ids, numeric amounts, timestamptz events).
const ACCOUNTS: &str = "account_id,created_at,name,segment
1,2024-01-01,Acme,SMB
2,2023-03-31,Beta,Enterprise
3,2023-06-01,Gamma,SMB
";
const SUBSCRIPTIONS: &str = "account_id,start_date,end_date,mrr,plan,seats
1,2024-01-01,,100,Growth,10
2,2023-03-31,,500,Pro,50
3,2023-06-01,2024-02-01,50,Starter,5
";
const EVENTS: &str = "account_id,timestamp,event,user_id,count
1,2024-03-31T22:00:00Z,login,u1,2
2,2024-03-15T10:00:00Z,report,u2,1
3,2024-01-20T08:30:00Z,login,u7,
";

fn small_db(db: &TempDb, subscriptions: &str, events: &str) {
    let mut c = db.client();
    c.batch_execute(
        "SET TIME ZONE 'UTC';
         CREATE TABLE accounts (account_id bigint PRIMARY KEY, created_at date, name text, segment text);
         CREATE TABLE subscriptions (account_id bigint, start_date date, end_date date,
             mrr numeric, plan text, seats integer);
         CREATE TABLE events (account_id bigint, \"timestamp\" timestamptz, event text, user_id text,
             count double precision);",
    )
    .unwrap();
    for (t, text) in [
        ("accounts", ACCOUNTS),
        ("subscriptions", subscriptions),
        ("events", events),
    ] {
        copy_in(
            &mut c,
            &format!("COPY {t} FROM STDIN (FORMAT csv, HEADER true)"),
            text.as_bytes(),
        );
    }
}

/// The problems of a load, each without its location's file or table and
/// line or row: `(account 1), column mrr: expected …`.
fn messages(r: &ebbflow::error::Result<ebbflow::io::load::Tables>) -> Vec<String> {
    match r {
        Ok(t) => t
            .warnings
            .iter()
            .map(|w| w.split_once(": ").map_or(w.clone(), |x| x.1.to_string()))
            .collect(),
        Err(e) => e
            .problems()
            .unwrap_or_else(|| panic!("bad input expected, got {e}"))
            .shown
            .iter()
            .map(|p| {
                let loc = p.location.to_string();
                let tail = loc.split_once(" (").map_or("", |x| x.1);
                format!("({tail}: {}", p.message)
            })
            .collect(),
    }
}

#[test]
fn bad_rows_in_the_database_get_the_files_positioned_messages() {
    let cases: [(&str, &str, &str); 4] = [
        (
            "null in a required column",
            &SUBSCRIPTIONS.replacen("2,2023-03-31,,500", "2,2023-03-31,,", 1),
            EVENTS,
        ),
        (
            "negative amount",
            &SUBSCRIPTIONS.replacen(",500,", ",-12.5,", 1),
            EVENTS,
        ),
        (
            "timestamp before 1970",
            SUBSCRIPTIONS,
            &EVENTS.replacen("2024-01-20T08:30:00Z", "1969-12-31T23:30:00Z", 1),
        ),
        (
            "unknown account",
            SUBSCRIPTIONS,
            &format!("{EVENTS}9,2024-03-01T00:00:00Z,login,u9,1\n"),
        ),
    ];
    for (what, subs, events) in cases {
        let dir = tempfile::tempdir().unwrap();
        for (f, t) in [
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", subs),
            ("events.csv", events),
        ] {
            std::fs::write(dir.path().join(f), t).unwrap();
        }
        let from_files = load_dir(dir.path(), &Config::default());
        let db = TempDb::new("bad");
        small_db(&db, subs, events);
        let src = DataSource::parse(&db.url).unwrap();
        let from_db = load_source_with(&src, &Config::default(), &Default::default());
        assert_eq!(from_files.is_ok(), from_db.is_ok(), "{what}");
        let (mf, md) = (messages(&from_files), messages(&from_db));
        assert_eq!(mf, md, "{what}");
        if let Err(e) = &from_db {
            let text = e.to_string();
            assert!(text.contains("postgres table public."), "{what}: {text}");
            assert!(text.contains(": row "), "{what}: {text}");
        }
        match what {
            "null in a required column" => assert_eq!(
                md,
                ["(account 2), column mrr: expected a number >= 0, found an empty value"]
            ),
            "negative amount" => assert_eq!(
                md,
                ["(account 2), column mrr: expected a number >= 0, found -12.5"]
            ),
            "timestamp before 1970" => {
                // Files read it as the UTC day 1969-12-31; so does the
                // database (not 1970-01-01, as truncating toward zero would).
                let (t, f) = (from_db.as_ref().unwrap(), from_files.as_ref().unwrap());
                let ev = t.events.as_ref().unwrap();
                assert_eq!(ev.rows.rows, f.events.as_ref().unwrap().rows.rows);
                assert_eq!(t.first_day, -1);
            }
            "unknown account" => {
                assert_eq!(md, ["skipped 1 row whose account_id is not in accounts"])
            }
            _ => unreachable!(),
        }
        // The binaries exit 3 on bad data, from the database as from files.
        if from_db.is_err() {
            let wd = Workdir::new();
            let o = wd.run(
                "ebbflow-train",
                &["--data", &db.url, "--out", s(&wd.path("m")), "--quiet"],
            );
            assert_eq!(o.status.code(), Some(3), "{what}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                err.contains("postgres table public.subscriptions: row 2 (account 2), column mrr"),
                "{what}: {err}"
            );
        }
    }
}

#[test]
fn unsupported_types_and_missing_tables_are_named() {
    let db = TempDb::new("types");
    let mut c = db.client();
    c.batch_execute(
        "CREATE SCHEMA crm;
         CREATE TABLE crm.accts (id uuid PRIMARY KEY, created_at date, active boolean);
         CREATE TABLE subscriptions (account_id uuid, start_date date, end_date boolean,
             mrr interval, plan text);",
    )
    .unwrap();
    let cfg: Config = toml::from_str(
        "[tables]\naccounts = \"crm.accts\"\n[columns.accounts]\naccount_id = \"id\"",
    )
    .unwrap();
    let src = DataSource::parse(&db.url).unwrap();
    let err = load_source_with(&src, &cfg, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("postgres table public.subscriptions: column end_date: expected dates (date, timestamp, timestamptz, or text holding dates), found a column of type boolean"),
        "{err}"
    );
    assert!(
        err.contains("postgres table public.subscriptions: column mrr: expected numbers (numeric, double precision, real or an integer type), found a column of type interval"),
        "{err}"
    );
    // The config's table is found in its schema; an absent one is named.
    assert!(!err.contains("crm.accts"), "{err}");
    let cfg: Config = toml::from_str("[tables]\nevents = \"analytics.product_events\"").unwrap();
    let err = load_source_with(&src, &cfg, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("postgres table analytics.product_events: the config's [tables] names this table for events"),
        "{err}"
    );
    assert!(err.contains("required table accounts not found"), "{err}");
    let (_, password) = without_password(&db.url);
    assert!(!err.contains(&password));
}
