//! Seeded fuzzing of the input side. The demo tables (cut to their first
//! 120 accounts so a case loads in milliseconds) with one file damaged or
//! quirked per case, loaded through the library; a handful of cases go
//! through the real binary on the full demo data.
//!
//! Pass: no panic; damage fails with problems that name the file and a
//! line or row (or are about a whole file or column), in ebbflow's words;
//! quirks (BOM, CRLF, blank lines, quoting, commas, quotes and line breaks
//! in values, extra or reordered columns) read exactly the tables the clean
//! files read.

use std::collections::HashSet;
use std::path::Path;

use ebbflow::config::Config;
use ebbflow::error::{Error, ProblemKind};
use ebbflow::io::load::{load_dir, Tables};
use polars::prelude::*;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::workdir::{demo_data, demo_model, s, Workdir};

const SEED: u64 = 0x00eb_bf10;
const ACCOUNTS_KEPT: usize = 120;
const CSV_TABLES: [&str; 4] = ["accounts", "subscriptions", "tickets", "surveys"];

/// Library wording that must never reach a user (compared in lower case).
const FOREIGN: [&str; 10] = [
    "truncate_ragged_lines",
    "polars",
    "computeerror",
    "utf-8 sequence",
    "out of spec",
    "schemamismatch",
    "invalid operation",
    "panicked",
    "unwrap",
    "thrift",
];

/// The mini demo: file name -> bytes.
struct Mini {
    files: Vec<(String, Vec<u8>)>,
}

impl Mini {
    fn build() -> Mini {
        let demo = demo_data();
        let accounts = std::fs::read_to_string(demo.join("accounts.csv")).unwrap();
        let kept: Vec<&str> = accounts.lines().take(ACCOUNTS_KEPT + 1).collect();
        let ids: HashSet<String> = kept[1..]
            .iter()
            .map(|l| l.split(',').next().unwrap().to_string())
            .collect();
        let mut files = vec![(
            "accounts.csv".to_string(),
            (kept.join("\n") + "\n").into_bytes(),
        )];
        for t in ["subscriptions", "tickets", "surveys"] {
            let text = std::fs::read_to_string(demo.join(format!("{t}.csv"))).unwrap();
            let mut lines = text.lines();
            let mut out = lines.next().unwrap().to_string() + "\n";
            for l in lines.filter(|l| ids.contains(l.split(',').next().unwrap())) {
                out.push_str(l);
                out.push('\n');
            }
            files.push((format!("{t}.csv"), out.into_bytes()));
        }
        let events = read_parquet(&demo.join("events.parquet"));
        let mask: BooleanChunked = events
            .column("account_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.is_some_and(|v| ids.contains(v)))
            .collect();
        let mut events = events.filter(&mask).unwrap();
        files.push(("events.parquet".to_string(), parquet_bytes(&mut events)));
        Mini { files }
    }

    fn get(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| n == name).unwrap().1
    }

    /// A fresh directory with the mini demo, `name` replaced by `bytes`.
    fn dir_with(&self, name: &str, bytes: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (n, b) in &self.files {
            let b = if n == name { bytes } else { b };
            std::fs::write(dir.path().join(n), b).unwrap();
        }
        dir
    }
}

fn read_parquet(path: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

fn parquet_bytes(df: &mut DataFrame) -> Vec<u8> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf).finish(df).unwrap();
    buf
}

/// Everything a loaded data set holds, as text, apart from the file
/// fingerprints and warnings (which name the files and count what was
/// skipped) and the id index (a hash map; `ids` carries the same).
fn canon(t: &Tables) -> String {
    let a = &t.accounts;
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        a.ids,
        a.names,
        a.created,
        a.attributes,
        t.lines,
        t.plans,
        t.has_seats,
        t.events,
        t.tickets,
        t.surveys,
        (t.first_day, t.last_day),
        t.coverage_start
    )
}

/// What a case expects.
enum Expect {
    /// Damage: either loads, or fails with positioned problems in our words.
    LoadsOrPositioned,
    /// Damage that must fail, with this text in the message.
    Fails(String),
    /// A quirk: must read exactly these tables.
    Same(String),
}

struct Runner {
    mini: Mini,
    clean: String,
    cases: usize,
    failures: Vec<String>,
}

impl Runner {
    fn case(&mut self, name: String, file: &str, bytes: &[u8], expect: Expect) {
        self.cases += 1;
        let dir = self.mini.dir_with(file, bytes);
        let got = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            load_dir(dir.path(), &Config::default())
        }));
        let res = match got {
            Err(_) => {
                self.failures.push(format!("{name}: panicked"));
                return;
            }
            Ok(r) => r,
        };
        let prefix = format!("{}/", dir.path().display());
        if std::env::var_os("EBBFLOW_FUZZ_SHOW").is_some() {
            // To read what each case says: EBBFLOW_FUZZ_SHOW=1 cargo test --release --test it fuzz -- --nocapture
            let said = match &res {
                Ok(_) => "loaded".to_string(),
                Err(e) => e.to_string().replace(&prefix, ""),
            };
            eprintln!("--- {name}\n{said}");
        }
        let problem = match (&res, &expect) {
            (Ok(_), Expect::LoadsOrPositioned) => None,
            (Ok(_), Expect::Fails(want)) => {
                Some(format!("loaded, expected a failure with {want:?}"))
            }
            (Ok(t), Expect::Same(want)) => {
                (canon(t) != *want).then(|| "read different tables".into())
            }
            (Err(e), Expect::Same(_)) => Some(format!("failed: {e}")),
            (Err(e), Expect::LoadsOrPositioned) => check_error(e),
            (Err(e), Expect::Fails(want)) => check_error(e).or_else(|| {
                let text = e.to_string().replace(&prefix, "");
                (!text.contains(want.as_str())).then(|| format!("expected {want:?}"))
            }),
        };
        if let Some(p) = problem {
            let text = match &res {
                Err(e) => e.to_string().replace(&prefix, ""),
                Ok(_) => String::new(),
            };
            self.failures.push(format!("{name}: {p}\n{text}"));
        }
    }
}

/// Why an error breaks the contract, if it does.
fn check_error(e: &Error) -> Option<String> {
    let text = e.to_string();
    let lower = text.to_lowercase();
    if let Some(w) = FOREIGN.iter().find(|w| lower.contains(*w)) {
        return Some(format!("library wording {w:?}"));
    }
    let Some(ps) = e.problems() else {
        return Some("not a bad-input error".into());
    };
    for p in &ps.shown {
        let whole = matches!(
            p.kind,
            ProblemKind::MissingColumn
                | ProblemKind::MissingTable
                | ProblemKind::EmptyTable
                | ProblemKind::UnsupportedFormat
                | ProblemKind::Unreadable
        ) || p.message.contains("found a column of type");
        if p.location.file.file_name().is_none() || (p.location.line.is_none() && !whole) {
            return Some(format!("problem without a position: {p}"));
        }
    }
    None
}

/// A CSV file as header + rows of cells (the demo files hold no quotes).
fn table(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().split(',').map(String::from).collect();
    let rows = lines
        .map(|l| l.split(',').map(String::from).collect())
        .collect();
    (header, rows)
}

fn join(header: &[String], rows: &[Vec<String>], quote: impl Fn(usize, &str) -> String) -> Vec<u8> {
    let mut out = header.join(",") + "\n";
    for (i, r) in rows.iter().enumerate() {
        let cells: Vec<String> = r.iter().map(|c| quote(i, c)).collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out.into_bytes()
}

fn quoted(c: &str) -> String {
    format!("\"{}\"", c.replace('"', "\"\""))
}

/// Byte offsets where lines start (after the header).
fn line_starts(b: &[u8]) -> Vec<usize> {
    let mut v: Vec<usize> = b
        .iter()
        .enumerate()
        .filter(|(_, &c)| c == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    v.pop();
    v
}

/// Columns holding dates and amounts, per table.
fn columns_of(t: &str) -> (&'static [&'static str], &'static [&'static str]) {
    match t {
        "accounts" => (&["created_at"], &[]),
        "subscriptions" => (&["start_date", "end_date"], &["mrr", "seats"]),
        "tickets" => (&["created_at"], &["csat", "sentiment"]),
        _ => (&["responded_at"], &["score"]),
    }
}

#[test]
fn damaged_and_quirky_inputs_never_panic_and_fail_in_our_words() {
    let started = std::time::Instant::now();
    let mini = Mini::build();
    let clean_tables = {
        let dir = mini.dir_with("", b"");
        load_dir(dir.path(), &Config::default()).expect("the mini demo loads")
    };
    let clean = canon(&clean_tables);
    let mut r = Runner {
        mini,
        clean: clean.clone(),
        cases: 0,
        failures: Vec::new(),
    };
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(SEED);

    for t in CSV_TABLES {
        let file = format!("{t}.csv");
        let orig = r.mini.get(&file).to_vec();
        let (header, rows) = table(&orig);
        let starts = line_starts(&orig);
        let same = || Expect::Same(clean.clone());

        // Damage: byte flips, cuts, NUL bytes.
        for k in 0..8 {
            let mut b = orig.clone();
            for _ in 0..rng.gen_range(1..=4) {
                let i = rng.gen_range(0..b.len());
                b[i] = rng.gen();
            }
            r.case(
                format!("{file} byte flips #{k}"),
                &file,
                &b,
                Expect::LoadsOrPositioned,
            );
        }
        for k in 0..4 {
            let mut b = orig.clone();
            let mut at = rng.gen_range(b.len() / 2..b.len() - 1);
            while b[at - 1] == b'\n' {
                at += 1;
            }
            b.truncate(at);
            r.case(
                format!("{file} cut mid-line #{k}"),
                &file,
                &b,
                Expect::LoadsOrPositioned,
            );
        }
        for k in 0..3 {
            let mut b = orig.clone();
            for _ in 0..rng.gen_range(1..=3) {
                let i = rng.gen_range(0..b.len());
                b.insert(i, 0);
            }
            r.case(
                format!("{file} NUL bytes #{k}"),
                &file,
                &b,
                Expect::LoadsOrPositioned,
            );
        }
        // A line cut short in the middle of the file: named by its line.
        let row = rng.gen_range(1..rows.len());
        let mut short = rows.clone();
        short[row].pop();
        r.case(
            format!("{file} ragged line"),
            &file,
            &join(&header, &short, |_, c| c.to_string()),
            Expect::Fails(format!(
                "{file}: line {} (account {}): {} fields, but the header has {}",
                row + 2,
                rows[row][0],
                header.len() - 1,
                header.len()
            )),
        );
        // Header damage: cut, a required name misspelt, a name twice, gone.
        let header_len = orig.iter().position(|&c| c == b'\n').unwrap();
        let last_comma = orig[..header_len].iter().rposition(|&c| c == b',').unwrap();
        let mut b = orig.clone();
        b.drain(rng.gen_range(header_len / 2..=last_comma)..header_len);
        r.case(
            format!("{file} header cut"),
            &file,
            &b,
            Expect::Fails(format!(
                "but no line below has as many (line 2 has {}",
                header.len()
            )),
        );
        let mut h = header.clone();
        h[0] = "acount_id".into();
        r.case(
            format!("{file} header misspelt"),
            &file,
            &join(&h, &rows, |_, c| c.to_string()),
            Expect::Fails(format!(
                "{file}: column account_id: required column account_id is missing"
            )),
        );
        let mut h = header.clone();
        h[1] = h[0].clone();
        r.case(
            format!("{file} header name twice"),
            &file,
            &join(&h, &rows, |_, c| c.to_string()),
            Expect::Fails(format!(
                "{file}: line 1, column account_id: the header names column \"account_id\" twice"
            )),
        );
        r.case(
            format!("{file} header gone"),
            &file,
            &orig[header_len + 1..],
            Expect::LoadsOrPositioned,
        );
        // Not UTF-8: a Windows-1252 café, named by line and column.
        let row = rng.gen_range(0..rows.len());
        let col = header.len() - 1;
        let mut b = Vec::new();
        for (i, line) in std::str::from_utf8(&orig).unwrap().lines().enumerate() {
            b.extend_from_slice(line.as_bytes());
            if i == row + 1 {
                b.extend_from_slice(b"Caf\xE9");
            }
            b.push(b'\n');
        }
        r.case(
            format!("{file} windows-1252 byte"),
            &file,
            &b,
            Expect::Fails(format!(
                "{file}: line {} (account {}), column {}: the value is not valid UTF-8",
                row + 2,
                rows[row][0],
                header[col]
            )),
        );

        // Impossible dates, dates before 1970, huge numbers, NaN and inf.
        let (dates, amounts) = columns_of(t);
        for (k, bad) in ["2025-02-30", "2023-02-29", "2025-13-01", "2024-00-10"]
            .iter()
            .enumerate()
        {
            let c = dates[k % dates.len()];
            let j = header.iter().position(|h| h == c).unwrap();
            let row = rng.gen_range(0..rows.len());
            let mut m = rows.clone();
            m[row][j] = bad.to_string();
            r.case(
                format!("{file} impossible date {bad}"),
                &file,
                &join(&header, &m, |_, c| c.to_string()),
                Expect::Fails(format!(
                    "{file}: line {} (account {}), column {c}: expected a date",
                    row + 2,
                    rows[row][0]
                )),
            );
        }
        for (k, old) in ["1969-12-31", "1900-01-01"].iter().enumerate() {
            let c = dates[k % dates.len()];
            let j = header.iter().position(|h| h == c).unwrap();
            let mut m = rows.clone();
            let row = rng.gen_range(0..rows.len());
            m[row][j] = old.to_string();
            r.case(
                format!("{file} date {old} in {c}"),
                &file,
                &join(&header, &m, |_, c| c.to_string()),
                Expect::LoadsOrPositioned,
            );
        }
        for &c in amounts {
            let j = header.iter().position(|h| h == c).unwrap();
            for bad in ["NaN", "inf", "-inf", "1e400"] {
                let row = rng.gen_range(0..rows.len());
                let mut m = rows.clone();
                m[row][j] = bad.to_string();
                r.case(
                    format!("{file} {c} = {bad}"),
                    &file,
                    &join(&header, &m, |_, c| c.to_string()),
                    Expect::Fails(format!(
                        "{file}: line {} (account {}), column {c}: expected a number, found \"{bad}\"",
                        row + 2,
                        rows[row][0]
                    )),
                );
            }
            for huge in ["1e300", "123456789012345678901234567890"] {
                let mut m = rows.clone();
                m[rng.gen_range(0..rows.len())][j] = huge.to_string();
                r.case(
                    format!("{file} {c} = {huge}"),
                    &file,
                    &join(&header, &m, |_, c| c.to_string()),
                    Expect::LoadsOrPositioned,
                );
            }
        }

        // Quirks: the same tables as the clean files.
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(&orig);
        r.case(format!("{file} BOM"), &file, &b, same());
        let crlf = String::from_utf8(orig.clone())
            .unwrap()
            .replace('\n', "\r\n");
        r.case(format!("{file} CRLF"), &file, crlf.as_bytes(), same());
        for k in 0..3 {
            let mut at: Vec<usize> = (0..6).map(|_| *starts.choose(&mut rng).unwrap()).collect();
            at.sort_unstable();
            let mut b = orig.clone();
            for &i in at.iter().rev() {
                let blank: &[u8] = [&b"\n"[..], b"   \n", b"\t\r\n"][rng.gen_range(0..3)];
                b.splice(i..i, blank.iter().copied());
            }
            b.splice(0..0, b"\n".iter().copied());
            b.extend_from_slice(b"\n\n");
            r.case(format!("{file} blank lines #{k}"), &file, &b, same());
        }
        r.case(
            format!("{file} every value quoted"),
            &file,
            &join(&header, &rows, |_, c| quoted(c)),
            same(),
        );
        let pick: Vec<bool> = (0..rows.len() * header.len())
            .map(|_| rng.gen_bool(0.3))
            .collect();
        let w = header.len();
        let some_quoted = {
            let mut out = header.join(",") + "\n";
            for (i, row) in rows.iter().enumerate() {
                let cells: Vec<String> = row
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        if pick[i * w + j] {
                            quoted(c)
                        } else {
                            c.clone()
                        }
                    })
                    .collect();
                out.push_str(&cells.join(","));
                out.push('\n');
            }
            out
        };
        r.case(
            format!("{file} some values quoted"),
            &file,
            some_quoted.as_bytes(),
            same(),
        );
        // An extra column: numbers, so not an attribute of accounts either.
        let mut h = header.clone();
        h.push("exported_row".into());
        let m: Vec<Vec<String>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| r.iter().cloned().chain([i.to_string()]).collect())
            .collect();
        r.case(
            format!("{file} extra column"),
            &file,
            &join(&h, &m, |_, c| c.to_string()),
            same(),
        );
        // Reordered columns (for accounts, attributes keep their order:
        // it is the order of the features they become).
        let mut order: Vec<usize> = (0..header.len()).collect();
        if t == "accounts" {
            order.rotate_left(1);
        } else {
            order.shuffle(&mut rng);
        }
        let h: Vec<String> = order.iter().map(|&j| header[j].clone()).collect();
        let m: Vec<Vec<String>> = rows
            .iter()
            .map(|r| order.iter().map(|&j| r[j].clone()).collect())
            .collect();
        r.case(
            format!("{file} reordered columns"),
            &file,
            &join(&h, &m, |_, c| c.to_string()),
            same(),
        );
        // All at once.
        let all = String::from_utf8(join(&header, &rows, |_, c| quoted(c)))
            .unwrap()
            .replace('\n', "\r\n\r\n");
        let mut b = b"\xEF\xBB\xBF".to_vec();
        b.extend_from_slice(all.as_bytes());
        r.case(
            format!("{file} BOM, CRLF, blank lines, quotes"),
            &file,
            &b,
            same(),
        );
    }

    // Commas, quotes and line breaks inside names: read as written.
    let orig = r.mini.get("accounts.csv").to_vec();
    let (header, rows) = table(&orig);
    let jn = header.iter().position(|h| h == "name").unwrap();
    for k in 0..3 {
        let mut m = rows.clone();
        let mut names = clean_tables.accounts.names.clone();
        for _ in 0..5 {
            let i = rng.gen_range(0..rows.len());
            let v = format!("{}, \"Inc\"\n(Branch {k})\r\nNorth", rows[i][jn]);
            names[i] = Some(v.clone());
            m[i][jn] = quoted(&v);
        }
        let mut expected = clean_tables.clone();
        expected.accounts.names = names;
        r.case(
            format!("accounts.csv names with commas, quotes and line breaks #{k}"),
            "accounts.csv",
            &join(&header, &m, |_, c| c.to_string()),
            Expect::Same(canon(&expected)),
        );
    }
    // A line after a value with line breaks keeps its own line number.
    let mut m = rows.clone();
    m[3][jn] = quoted("two\nline name");
    m[9][1] = "2025-02-30".into();
    r.case(
        "accounts.csv line number after a multi-line value".into(),
        "accounts.csv",
        &join(&header, &m, |_, c| c.to_string()),
        Expect::Fails(format!(
            "accounts.csv: line 12 (account {}), column created_at",
            rows[9][0]
        )),
    );

    // Parquet: columns of the wrong type, bad values by row, damage.
    let events = r.mini.get("events.parquet").to_vec();
    let df = ParquetReader::new(std::io::Cursor::new(events.clone()))
        .finish()
        .unwrap();
    let n = df.height();
    let bad_row = rng.gen_range(0..n);
    let account = df
        .column("account_id")
        .unwrap()
        .str()
        .unwrap()
        .get(bad_row)
        .unwrap()
        .to_string();
    let with = |name: &str, col: Column| {
        let mut d = df.clone();
        d.with_column(col.with_name(name.into())).unwrap();
        parquet_bytes(&mut d)
    };
    let counts: Vec<Option<String>> = (0..n)
        .map(|i| {
            Some(if i == bad_row {
                "a few".into()
            } else {
                "1".into()
            })
        })
        .collect();
    r.case(
        "events.parquet count as text".into(),
        "events.parquet",
        &with("count", Column::new("count".into(), counts)),
        Expect::Fails(format!(
            "events.parquet: row {} (account {account}), column count: expected a number, found \"a few\"",
            bad_row + 1
        )),
    );
    for (label, x) in [("NaN", f64::NAN), ("inf", f64::INFINITY)] {
        let counts: Vec<f64> = (0..n).map(|i| if i == bad_row { x } else { 1.0 }).collect();
        r.case(
            format!("events.parquet count {label}"),
            "events.parquet",
            &with("count", Column::new("count".into(), counts)),
            Expect::Fails(format!(
                "events.parquet: row {} (account {account}), column count: expected a number, found {label}",
                bad_row + 1
            )),
        );
    }
    let ints: Vec<i64> = (0..n as i64).collect();
    r.case(
        "events.parquet timestamp as integers".into(),
        "events.parquet",
        &with("timestamp", Column::new("timestamp".into(), ints.clone())),
        Expect::Fails(
            "events.parquet: column timestamp: expected dates, found a column of type i64".into(),
        ),
    );
    let lists: Vec<Series> = (0..n)
        .map(|i| Series::new("".into(), &[i as i64]))
        .collect();
    r.case(
        "events.parquet event as lists".into(),
        "events.parquet",
        &with("event", Column::new("event".into(), lists.clone())),
        Expect::Fails(
            "events.parquet: column event: expected text, found a column of type list".into(),
        ),
    );
    r.case(
        "events.parquet count as lists".into(),
        "events.parquet",
        &with("count", Column::new("count".into(), lists)),
        Expect::Fails(
            "events.parquet: column count: expected numbers, found a column of type list".into(),
        ),
    );
    let dates: Vec<Option<String>> = (0..n)
        .map(|i| {
            Some(if i == bad_row {
                "2025-02-30".into()
            } else {
                "2024-05-01".into()
            })
        })
        .collect();
    r.case(
        "events.parquet timestamp as text with an impossible date".into(),
        "events.parquet",
        &with("timestamp", Column::new("timestamp".into(), dates)),
        Expect::Fails(format!(
            "events.parquet: row {} (account {account}), column timestamp: expected a date",
            bad_row + 1
        )),
    );
    r.case(
        "events.parquet account_id as integers".into(),
        "events.parquet",
        &with("account_id", Column::new("account_id".into(), ints)),
        Expect::LoadsOrPositioned,
    );
    for k in 0..6 {
        let mut b = events.clone();
        for _ in 0..rng.gen_range(1..=8) {
            let i = rng.gen_range(0..b.len());
            b[i] = rng.gen();
        }
        r.case(
            format!("events.parquet byte flips #{k}"),
            "events.parquet",
            &b,
            Expect::LoadsOrPositioned,
        );
    }
    for (label, keep) in [
        ("half", events.len() / 2),
        ("footer cut", events.len() - 9),
        ("empty", 0),
    ] {
        r.case(
            format!("events.parquet cut ({label})"),
            "events.parquet",
            &events[..keep],
            Expect::Fails("events.parquet: ".into()),
        );
    }

    let elapsed = started.elapsed();
    eprintln!(
        "fuzz: {} cases (seed {SEED:#x}) in {:.1}s",
        r.cases,
        elapsed.as_secs_f64()
    );
    assert!(r.cases >= 150, "{} cases", r.cases);
    assert!(
        r.failures.is_empty(),
        "{} of {} cases failed:\n\n{}",
        r.failures.len(),
        r.cases,
        r.failures.join("\n\n")
    );
    assert_eq!(clean, r.clean);
}

/// The same contract through the real binary, on the full demo data: the
/// tester's cases from issue 12 and a few that reach scoring.
#[test]
fn damaged_demo_files_through_the_binary() {
    let wd = Workdir::new();
    let run = |name: &str, file: &str, edit: &dyn Fn(Vec<u8>) -> Vec<u8>| {
        let dir = wd.copy_dir(&demo_data(), name);
        let p = dir.join(file);
        std::fs::write(&p, edit(std::fs::read(&p).unwrap())).unwrap();
        let out = wd.run(
            "ebbflow-score",
            &[
                "--model",
                s(&demo_model()),
                "--data",
                s(&dir),
                "--out",
                &format!("{name}-out"),
                "--quiet",
                "--top",
                "0",
            ],
        );
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !err.contains("internal error") && !err.contains("panicked"),
            "{name}: {err}"
        );
        for w in FOREIGN {
            assert!(!err.to_lowercase().contains(w), "{name}: {w:?} in {err}");
        }
        (out.status.code(), err)
    };
    let replace_line = |b: Vec<u8>, line: usize, f: &dyn Fn(&str) -> String| {
        let text = String::from_utf8(b).unwrap();
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        lines[line - 1] = f(&lines[line - 1]);
        (lines.join("\n") + "\n").into_bytes()
    };

    // A blank line at the end of tickets.csv is skipped, with a warning.
    let (code, err) = run("blank", "tickets.csv", &|mut b| {
        b.extend_from_slice(b"\n");
        b
    });
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("tickets.csv: skipped 1 blank line"), "{err}");

    // A café exported as Windows-1252.
    let (code, err) = run("cafe", "accounts.csv", &|b| {
        let mut out = Vec::new();
        let text = String::from_utf8(b).unwrap();
        for (i, line) in text.lines().enumerate() {
            let line = if i == 9 {
                let mut c: Vec<String> = line.split(',').map(String::from).collect();
                c[2] = format!("Caf\u{e9} {}", c[2]);
                c.join(",")
            } else {
                line.to_string()
            };
            out.extend(line.chars().map(|c| if c == 'é' { 0xE9 } else { c as u8 }));
            out.push(b'\n');
        }
        out
    });
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains("accounts.csv: line 10 (account A-000009), column name: the value is not valid UTF-8 (byte 0xE9 after \"Caf\")")
            && err.contains("windows-1252"),
        "{err}"
    );

    // A cut header line.
    let (code, err) = run("header", "subscriptions.csv", &|b| {
        replace_line(b, 1, &|l| l[..l.len() - 8].to_string())
    });
    assert_eq!(code, Some(3), "{err}");
    assert!(
        err.contains(
            "subscriptions.csv: line 1: the header has 5 fields, but no line below has as many (line 2 has 6"
        ),
        "{err}"
    );

    // A huge amount, and dates before 1970: scored or refused, never a crash.
    let (code, err) = run("huge", "subscriptions.csv", &|b| {
        replace_line(b, 3, &|l| {
            let mut c: Vec<&str> = l.split(',').collect();
            c[3] = "1e300";
            c.join(",")
        })
    });
    assert!(matches!(code, Some(0) | Some(3)), "{code:?} {err}");
    let (code, err) = run("old", "accounts.csv", &|b| {
        replace_line(b, 5, &|l| {
            let mut c: Vec<&str> = l.split(',').collect();
            c[1] = "1900-01-01";
            c.join(",")
        })
    });
    assert!(matches!(code, Some(0) | Some(3)), "{code:?} {err}");
}
