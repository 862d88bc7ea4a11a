//! What moved since the previous run. Owns the previous run as a plain
//! value ([`Previous`]: its as-of date and, per account, the churn risk,
//! tier, name and ARR at risk it had), built from an earlier queue file
//! ([`Previous::read`]) or from rows a caller fetched elsewhere
//! ([`Previous::from_rows`], e.g. a database), and [`apply`], which fills
//! the queue's `prev_churn_risk`, `churn_risk_change`, `prev_risk_tier` and
//! `movement` and lists the accounts that left. Knows nothing of where the
//! previous run came from once it is built, nor of pages or manifests.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::dates::{format_day, Day};
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
use crate::queue::QueueRow;

/// How an account's churn risk tier moved since the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Movement {
    /// Not in the previous queue (not paying then, or not yet a customer).
    New,
    /// Its tier rose (low -> medium or high, medium -> high).
    Up,
    /// Its tier fell.
    Down,
    /// Same tier as before (its risk may still have changed).
    Same,
}

impl Movement {
    /// Every movement, in the order pages and manifests list them.
    pub const ALL: [Movement; 4] = [Movement::New, Movement::Up, Movement::Down, Movement::Same];

    pub fn as_str(self) -> &'static str {
        match self {
            Movement::New => "new",
            Movement::Up => "up",
            Movement::Down => "down",
            Movement::Same => "same",
        }
    }
}

/// A churn risk tier's order: higher is riskier. `None` for anything
/// else, including the empty tier of a queue scored without a churn model.
pub fn tier_rank(tier: &str) -> Option<u8> {
    match tier {
        "low" => Some(0),
        "medium" => Some(1),
        "high" => Some(2),
        _ => None,
    }
}

/// The movement of an account whose tier now is `tier`, given what the
/// previous queue held for it. `None` when it was queued before but one of
/// the two tiers is unknown (a run without a churn model): there is
/// nothing to compare, and nothing is claimed.
pub fn classify(previous: Option<&PreviousAccount>, tier: &str) -> Option<Movement> {
    let Some(p) = previous else {
        return Some(Movement::New);
    };
    let before = p.risk_tier.as_deref().and_then(tier_rank)?;
    let now = tier_rank(tier)?;
    Some(match now.cmp(&before) {
        std::cmp::Ordering::Greater => Movement::Up,
        std::cmp::Ordering::Less => Movement::Down,
        std::cmp::Ordering::Equal => Movement::Same,
    })
}

/// One account of the previous queue: what the comparison and the page
/// need of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreviousAccount {
    pub account_id: String,
    pub name: Option<String>,
    /// `None`: the previous run had no churn model.
    pub churn_risk: Option<f64>,
    pub risk_tier: Option<String>,
    pub arr_at_risk: Option<f64>,
}

/// The previous run: its as-of date, where it came from, and its accounts.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub as_of: Day,
    /// What it was read from, for the manifest and messages: a file path,
    /// or what the caller says (never a password).
    pub source: String,
    /// Sorted by account id, each once.
    accounts: Vec<PreviousAccount>,
}

impl Previous {
    /// A previous run from rows fetched anywhere. An account listed twice
    /// is bad data (exit 3), named with `source`.
    pub fn from_rows(
        as_of: Day,
        source: impl Into<String>,
        mut accounts: Vec<PreviousAccount>,
    ) -> Result<Previous> {
        let source = source.into();
        accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
        let mut problems = Problems::default();
        for w in accounts.windows(2) {
            if w[0].account_id == w[1].account_id {
                problems.push(Problem {
                    location: Location {
                        file: PathBuf::from(&source),
                        account_id: Some(w[0].account_id.clone()),
                        column: Some("account_id".into()),
                        ..Default::default()
                    },
                    kind: ProblemKind::DuplicateKey,
                    message: "the account is queued twice in the previous run".into(),
                });
            }
        }
        problems.into_result()?;
        Ok(Previous {
            as_of,
            source,
            accounts,
        })
    }

    /// Reads an earlier queue: a `queue.parquet`, `queue.csv` or
    /// `queue.json` file, or an earlier `--out` folder (its queue.parquet,
    /// else queue.csv, else queue.json). Needs the columns `account_id`,
    /// `as_of`, `churn_risk` and `risk_tier`; `name` and `arr_at_risk` are
    /// read when present. A path that is not there, or a folder without a
    /// queue, is a usage error (exit 2); a damaged file or one that lacks
    /// a column is bad input (exit 3) naming the file, and the row or line.
    pub fn read(path: &Path) -> Result<Previous> {
        let file = queue_file(path)?;
        let table = read_table(&file)?;
        from_table(&file, &table)
    }

    /// The previous run's row for `account_id`.
    pub fn get(&self, account_id: &str) -> Option<&PreviousAccount> {
        self.accounts
            .binary_search_by(|a| a.account_id.as_str().cmp(account_id))
            .ok()
            .map(|i| &self.accounts[i])
    }

    /// Accounts in the previous queue.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Refuses (exit 2) a previous run that is not strictly earlier than
    /// `as_of`: "what moved since" needs a before.
    pub fn check_before(&self, as_of: Day) -> Result<()> {
        if self.as_of < as_of {
            return Ok(());
        }
        Err(Error::InvalidParam(format!(
            "the previous run {} is as of {}, which is not before this run's as-of date {}: \
             --previous must name an earlier run's queue",
            self.source,
            format_day(self.as_of),
            format_day(as_of)
        )))
    }
}

/// How many accounts moved which way, and how many left the queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MovementCounts {
    pub new: usize,
    pub up: usize,
    pub down: usize,
    pub same: usize,
    /// Queued before and now, but a tier is unknown on one side (a run
    /// without a churn model): no movement is given.
    pub not_compared: usize,
    /// In the previous queue, not in this one: not paying on this as-of date.
    pub left: usize,
}

/// What [`apply`] found beyond the rows it filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Movers {
    pub previous_as_of: Day,
    pub source: String,
    pub counts: MovementCounts,
    /// The accounts that left the queue, largest previous ARR at risk first
    /// (then by account id; without a churn risk, last).
    pub left: Vec<PreviousAccount>,
}

/// Compares the queue `rows` (as of `as_of`) with the previous run: fills
/// each row's `prev_churn_risk`, `churn_risk_change` (now minus then),
/// `prev_risk_tier` and `movement`, and lists the accounts that left.
/// Refuses a previous run that is not strictly earlier (exit 2).
pub fn apply(previous: &Previous, as_of: Day, rows: &mut [QueueRow]) -> Result<Movers> {
    previous.check_before(as_of)?;
    let mut counts = MovementCounts::default();
    let mut queued: BTreeSet<&str> = BTreeSet::new();
    for r in rows.iter_mut() {
        let p = previous.get(&r.account_id);
        let m = classify(p, &r.risk_tier);
        let prev_risk = p.and_then(|p| p.churn_risk).unwrap_or(f64::NAN);
        r.prev_churn_risk = prev_risk;
        // NaN on either side (no model then or now) stays NaN: no change known.
        r.churn_risk_change = r.churn_risk - prev_risk;
        r.prev_risk_tier = p.and_then(|p| p.risk_tier.clone()).unwrap_or_default();
        r.movement = m;
        match m {
            Some(Movement::New) => counts.new += 1,
            Some(Movement::Up) => counts.up += 1,
            Some(Movement::Down) => counts.down += 1,
            Some(Movement::Same) => counts.same += 1,
            None => counts.not_compared += 1,
        }
    }
    for r in rows.iter() {
        queued.insert(&r.account_id);
    }
    let mut left: Vec<PreviousAccount> = previous
        .accounts
        .iter()
        .filter(|a| !queued.contains(a.account_id.as_str()))
        .cloned()
        .collect();
    left.sort_by(|a, b| {
        let key = |x: &PreviousAccount| x.arr_at_risk.filter(|v| v.is_finite());
        match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.account_id.cmp(&b.account_id))
    });
    counts.left = left.len();
    Ok(Movers {
        previous_as_of: previous.as_of,
        source: previous.source.clone(),
        counts,
        left,
    })
}

/// The queue file at `path`: the file itself, or a folder's queue.parquet,
/// else queue.csv, else queue.json.
fn queue_file(path: &Path) -> Result<PathBuf> {
    let usage = |why: &str| {
        Error::InvalidParam(format!(
            "--previous {}: {why}; it takes an earlier run's queue.parquet, queue.csv or \
             queue.json, or the --out folder that holds one",
            path.display()
        ))
    };
    if path.is_dir() {
        ["queue.parquet", "queue.csv", "queue.json"]
            .iter()
            .map(|n| path.join(n))
            .find(|p| p.is_file())
            .ok_or_else(|| usage("the folder holds no queue file"))
    } else if path.is_file() {
        Ok(path.to_path_buf())
    } else {
        Err(usage("no such file or folder"))
    }
}

fn bad(file: &Path, row: Option<(usize, bool)>, kind: ProblemKind, message: String) -> Problem {
    Problem {
        location: Location {
            file: file.to_path_buf(),
            line: row.map(|r| r.0),
            is_row: row.is_some_and(|r| r.1),
            ..Default::default()
        },
        kind,
        message,
    }
}

fn one(p: Problem) -> Error {
    let mut ps = Problems::default();
    ps.push(p);
    Error::BadInput(ps)
}

/// A queue file as a table, and where each row sits (CSV: its line).
struct Table {
    df: DataFrame,
    line: Box<dyn Fn(usize) -> (usize, bool)>,
}

fn read_table(file: &Path) -> Result<Table> {
    let ext = file
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let by_row = |i: usize| (i + 1, true);
    match ext.as_str() {
        "parquet" => {
            let (slices, rows) = crate::io::parquet::parquet_slices(file, usize::MAX)?;
            let df = crate::io::parquet::read_parquet(file, (0, rows.max(slices[0].1)))?;
            Ok(Table {
                df,
                line: Box::new(by_row),
            })
        }
        "csv" => {
            let t = crate::io::csv::read(file, Default::default(), Some("account_id"))?;
            let lines = t.lines;
            Ok(Table {
                df: t.df,
                line: Box::new(move |i| (lines.line(i), false)),
            })
        }
        "json" => {
            let f = std::fs::File::open(file).map_err(|e| Error::io(file, e))?;
            let df = crate::io::parquet::guarded(|| {
                JsonReader::new(f)
                    .with_json_format(JsonFormat::Json)
                    .finish()
            })
            .map_err(|_| {
                one(bad(
                    file,
                    None,
                    ProblemKind::Unreadable,
                    "not a queue in JSON: expected an array of objects, one per account \
                     (is the file cut short or damaged?)"
                        .into(),
                ))
            })?;
            Ok(Table {
                df,
                line: Box::new(by_row),
            })
        }
        _ => Err(one(bad(
            file,
            None,
            ProblemKind::UnsupportedFormat,
            "not a queue file: expected queue.parquet, queue.csv or queue.json".into(),
        ))),
    }
}

/// One column's cells as text or numbers, each failure positioned.
enum Cells {
    Text(Vec<Option<String>>),
    Numbers(Vec<Option<f64>>),
    Days(Vec<Option<Day>>),
}

fn column(
    file: &Path,
    t: &Table,
    name: &str,
    want: &str,
    problems: &mut Problems,
) -> Option<Cells> {
    let col = t.df.column(name).ok()?.as_materialized_series().clone();
    let mut wrong = |found: &DataType| {
        problems.push(Problem {
            location: Location {
                file: file.to_path_buf(),
                column: Some(name.into()),
                ..Default::default()
            },
            kind: ProblemKind::BadValue,
            message: format!("expected {want}, found a column of type {found}"),
        });
        None
    };
    let n = col.len();
    match col.dtype() {
        DataType::Null => Some(Cells::Text(vec![None; n])),
        DataType::String => Some(Cells::Text(
            col.str()
                .ok()?
                .iter()
                .map(|v| v.map(String::from))
                .collect(),
        )),
        DataType::Date => Some(Cells::Days(
            col.date().ok()?.physical().iter().collect::<Vec<_>>(),
        )),
        d if d.is_primitive_numeric() => Some(Cells::Numbers(
            col.cast(&DataType::Float64)
                .ok()?
                .f64()
                .ok()?
                .iter()
                .collect(),
        )),
        d => wrong(d),
    }
}

/// A text column's value at row `i` (empty text is no value).
fn text_at(c: &Cells, i: usize) -> Option<String> {
    match c {
        Cells::Text(v) => v[i].clone().filter(|s| !s.is_empty()),
        Cells::Numbers(v) => v[i].map(|x| x.to_string()),
        Cells::Days(v) => v[i].map(format_day),
    }
}

fn from_table(file: &Path, t: &Table) -> Result<Previous> {
    let mut problems = Problems::default();
    let have: Vec<String> =
        t.df.get_column_names()
            .iter()
            .map(|s| s.to_string())
            .collect();
    let missing: Vec<&str> = ["account_id", "as_of", "churn_risk", "risk_tier"]
        .into_iter()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect();
    if !missing.is_empty() {
        return Err(one(Problem {
            location: Location {
                file: file.to_path_buf(),
                column: Some(missing.join(", ")),
                ..Default::default()
            },
            kind: ProblemKind::MissingColumn,
            message: format!(
                "missing from the previous queue, which has the columns {}",
                have.join(", ")
            ),
        }));
    }
    let ids = column(file, t, "account_id", "account ids as text", &mut problems);
    let dates = column(file, t, "as_of", "dates (YYYY-MM-DD)", &mut problems);
    let risk = column(file, t, "churn_risk", "numbers", &mut problems);
    let tiers = column(file, t, "risk_tier", "tiers as text", &mut problems);
    let names = column(file, t, "name", "names as text", &mut problems);
    let arr = column(file, t, "arr_at_risk", "numbers", &mut problems);
    problems.clone().into_result()?;
    let (Some(ids), Some(dates), Some(risk), Some(tiers)) = (ids, dates, risk, tiers) else {
        unreachable!("required columns were checked present")
    };

    let mut as_of: Option<Day> = None;
    let mut accounts = Vec::with_capacity(t.df.height());
    for i in 0..t.df.height() {
        let at = (t.line)(i);
        let id = text_at(&ids, i);
        let mut push = |column: &str, kind: ProblemKind, message: String| {
            let mut p = bad(file, Some(at), kind, message);
            p.location.account_id = id.clone();
            p.location.column = Some(column.into());
            problems.push(p);
        };
        let Some(id) = id.clone() else {
            push(
                "account_id",
                ProblemKind::EmptyKey,
                "expected an account id, found an empty cell".into(),
            );
            continue;
        };
        let day = match &dates {
            Cells::Days(v) => v[i],
            c => text_at(c, i).and_then(|s| crate::dates::parse_day(&s)),
        };
        match (day, as_of) {
            (None, _) => push(
                "as_of",
                ProblemKind::BadDate,
                format!(
                    "expected a date (YYYY-MM-DD), found {:?}",
                    text_at(&dates, i).unwrap_or_default()
                ),
            ),
            (Some(d), Some(first)) if d != first => push(
                "as_of",
                ProblemKind::BadValue,
                format!(
                    "expected one as-of date for the whole queue ({}, as on its first row), found {}",
                    format_day(first),
                    format_day(d)
                ),
            ),
            (Some(d), _) => as_of = Some(d),
        }
        let number =
            |c: &Cells, column: &str, push: &mut dyn FnMut(&str, ProblemKind, String)| match c {
                Cells::Numbers(v) => v[i].filter(|x| !x.is_nan()),
                c => {
                    let s = text_at(c, i)?;
                    match s.trim().parse::<f64>() {
                        Ok(x) if x.is_finite() => Some(x),
                        _ => {
                            push(
                                column,
                                ProblemKind::BadNumber,
                                format!("expected a number, found {s:?}"),
                            );
                            None
                        }
                    }
                }
            };
        let churn_risk = number(&risk, "churn_risk", &mut push);
        if churn_risk.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            push(
                "churn_risk",
                ProblemKind::OutOfRange,
                format!(
                    "expected a probability 0..1, found {}",
                    churn_risk.unwrap_or_default()
                ),
            );
        }
        let risk_tier = text_at(&tiers, i);
        if let Some(tier) = &risk_tier {
            if tier_rank(tier).is_none() {
                push(
                    "risk_tier",
                    ProblemKind::BadValue,
                    format!("expected high, medium or low, found {tier:?}"),
                );
            }
        }
        let arr_at_risk = arr
            .as_ref()
            .and_then(|c| number(c, "arr_at_risk", &mut push));
        accounts.push(PreviousAccount {
            account_id: id,
            name: names.as_ref().and_then(|c| text_at(c, i)),
            churn_risk,
            risk_tier,
            arr_at_risk,
        });
    }
    problems.into_result()?;
    let as_of = match as_of {
        Some(d) => d,
        None => manifest_as_of(file).ok_or_else(|| {
            one(bad(
                file,
                None,
                ProblemKind::EmptyTable,
                "the previous queue holds no account, and no manifest.json beside it gives its \
                 as-of date"
                    .into(),
            ))
        })?,
    };
    Previous::from_rows(as_of, file.display().to_string(), accounts)
}

/// An empty queue says no date: its run's manifest.json, beside it, does.
fn manifest_as_of(file: &Path) -> Option<Day> {
    let m = file.parent()?.join("manifest.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(m).ok()?).ok()?;
    crate::dates::parse_day(v["as_of"].as_str()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dates::parse_day;

    fn prev(id: &str, risk: Option<f64>, tier: Option<&str>) -> PreviousAccount {
        PreviousAccount {
            account_id: id.into(),
            name: None,
            churn_risk: risk,
            risk_tier: tier.map(String::from),
            arr_at_risk: risk.map(|r| r * 1200.0),
        }
    }

    fn day(s: &str) -> Day {
        parse_day(s).unwrap()
    }

    #[test]
    fn tiers_order_low_medium_high() {
        assert!(tier_rank("low") < tier_rank("medium"));
        assert!(tier_rank("medium") < tier_rank("high"));
        assert_eq!(tier_rank(""), None);
        assert_eq!(
            tier_rank("High"),
            None,
            "tiers are lower case in every queue"
        );
    }

    #[test]
    fn movement_is_new_up_down_or_same() {
        let p = |t: &str| prev("A", Some(0.1), Some(t));
        assert_eq!(classify(None, "high"), Some(Movement::New));
        assert_eq!(classify(None, ""), Some(Movement::New), "new needs no tier");
        assert_eq!(classify(Some(&p("low")), "medium"), Some(Movement::Up));
        assert_eq!(classify(Some(&p("low")), "high"), Some(Movement::Up));
        assert_eq!(classify(Some(&p("medium")), "high"), Some(Movement::Up));
        assert_eq!(classify(Some(&p("high")), "medium"), Some(Movement::Down));
        assert_eq!(classify(Some(&p("medium")), "low"), Some(Movement::Down));
        for t in ["low", "medium", "high"] {
            assert_eq!(classify(Some(&p(t)), t), Some(Movement::Same));
        }
        // No churn model on one side: nothing to compare, nothing claimed.
        assert_eq!(classify(Some(&prev("A", None, None)), "high"), None);
        assert_eq!(classify(Some(&p("low")), ""), None);
    }

    fn row(id: &str, risk: f64, tier: &str) -> QueueRow {
        QueueRow {
            account_id: id.into(),
            churn_risk: risk,
            risk_tier: tier.into(),
            arr_at_risk: risk * 1200.0,
            ..QueueRow::default()
        }
    }

    #[test]
    fn apply_fills_the_four_columns_and_lists_who_left() {
        let before = Previous::from_rows(
            day("2025-11-30"),
            "old/queue.csv",
            vec![
                prev("C", Some(0.5), Some("high")),
                prev("A", Some(0.1), Some("low")),
                prev("B", Some(0.2), Some("medium")),
                prev("L2", Some(0.05), Some("low")),
                prev("L1", Some(0.4), Some("high")),
            ],
        )
        .unwrap();
        let mut rows = vec![
            row("A", 0.35, "high"),
            row("B", 0.2, "medium"),
            row("C", 0.25, "medium"),
            row("N", 0.02, "low"),
        ];
        let m = apply(&before, day("2025-12-31"), &mut rows).unwrap();
        let got: Vec<_> = rows.iter().map(|r| r.movement).collect();
        use Movement::*;
        assert_eq!(got, [Some(Up), Some(Same), Some(Down), Some(New)]);
        assert_eq!(rows[0].prev_churn_risk, 0.1);
        assert!((rows[0].churn_risk_change - 0.25).abs() < 1e-12);
        assert_eq!(rows[0].prev_risk_tier, "low");
        assert_eq!(rows[1].churn_risk_change, 0.0);
        assert!(rows[3].prev_churn_risk.is_nan() && rows[3].churn_risk_change.is_nan());
        assert_eq!(rows[3].prev_risk_tier, "");
        assert_eq!(
            m.counts,
            MovementCounts {
                new: 1,
                up: 1,
                down: 1,
                same: 1,
                not_compared: 0,
                left: 2
            }
        );
        let left: Vec<&str> = m.left.iter().map(|a| a.account_id.as_str()).collect();
        assert_eq!(left, ["L1", "L2"], "largest previous ARR at risk first");
        assert_eq!(m.previous_as_of, day("2025-11-30"));
    }

    #[test]
    fn a_previous_run_on_or_after_this_date_is_refused() {
        let p = Previous::from_rows(day("2025-12-31"), "out/queue.parquet", vec![]).unwrap();
        for as_of in ["2025-12-31", "2025-12-30"] {
            let err = apply(&p, day(as_of), &mut []).unwrap_err();
            assert!(matches!(err, Error::InvalidParam(_)), "{err}");
            assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
            let text = err.to_string();
            assert!(
                text.contains("out/queue.parquet") && text.contains("is as of 2025-12-31"),
                "{text}"
            );
        }
        assert!(apply(&p, day("2026-01-01"), &mut []).is_ok());
    }

    #[test]
    fn an_account_twice_in_the_previous_rows_is_bad_data() {
        let err = Previous::from_rows(
            day("2025-11-30"),
            "db run 7",
            vec![prev("A", None, None), prev("A", None, None)],
        )
        .unwrap_err();
        let p = &err.problems().unwrap().shown[0];
        assert_eq!(p.kind, ProblemKind::DuplicateKey);
        assert_eq!(p.location.account_id.as_deref(), Some("A"));
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn reads_a_csv_queue_and_names_the_line_of_a_bad_cell() {
        let dir = tempfile::tempdir().unwrap();
        let ok = write(
            dir.path(),
            "queue.csv",
            "rank,account_id,name,as_of,churn_risk,risk_tier,arr_at_risk\n\
             1,A-1,Acme,2025-11-30,0.5,high,600\n\
             2,A-2,,2025-11-30,,,\n",
        );
        let p = Previous::read(dir.path()).unwrap();
        assert_eq!(
            p.source,
            ok.display().to_string(),
            "a folder reads its queue"
        );
        assert_eq!(p.as_of, day("2025-11-30"));
        let a = p.get("A-1").unwrap();
        assert_eq!(
            (a.name.as_deref(), a.churn_risk, a.risk_tier.as_deref()),
            (Some("Acme"), Some(0.5), Some("high"))
        );
        assert_eq!(p.get("A-2").unwrap().churn_risk, None);
        write(
            dir.path(),
            "queue.csv",
            "rank,account_id,as_of,churn_risk,risk_tier\n\
             1,A-1,2025-11-30,0.5,high\n\
             2,A-2,2025-11-30,lots,high\n",
        );
        let err = Previous::read(&ok).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::BadInput);
        assert_eq!(
            err.problems().unwrap().shown[0].to_string(),
            format!(
                "{}: line 3 (account A-2), column churn_risk: expected a number, found \"lots\"",
                ok.display()
            )
        );
    }

    #[test]
    fn reads_json_queues_and_older_parquet_queues_with_text_dates() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(
            dir.path(),
            "queue.json",
            r#"[{"rank":1,"account_id":"A-1","as_of":"2025-11-30","churn_risk":0.5,"risk_tier":"high"},
                {"rank":2,"account_id":"A-2","as_of":"2025-11-30","churn_risk":null,"risk_tier":null}]"#,
        );
        let p = Previous::read(&f).unwrap();
        assert_eq!((p.as_of, p.len()), (day("2025-11-30"), 2));
        assert_eq!(p.get("A-1").unwrap().churn_risk, Some(0.5));
        assert_eq!(p.get("A-2").unwrap().risk_tier, None);
        // Queues written before `as_of` became a Parquet date hold it as text.
        let mut df = df!(
            "account_id" => ["A-9"],
            "as_of" => ["2025-10-31"],
            "churn_risk" => [0.25f64],
            "risk_tier" => ["medium"],
        )
        .unwrap();
        let f = dir.path().join("queue.parquet");
        ParquetWriter::new(std::fs::File::create(&f).unwrap())
            .finish(&mut df)
            .unwrap();
        let p = Previous::read(&f).unwrap();
        assert_eq!(p.as_of, day("2025-10-31"));
        assert_eq!(p.get("A-9").unwrap().risk_tier.as_deref(), Some("medium"));
        // An empty queue takes its date from the manifest beside it.
        let f = write(
            dir.path(),
            "queue.csv",
            "rank,account_id,as_of,churn_risk,risk_tier\n",
        );
        assert!(
            Previous::read(&f).is_err(),
            "no rows and no manifest: no date"
        );
        write(dir.path(), "manifest.json", r#"{"as_of": "2025-09-30"}"#);
        let p = Previous::read(&f).unwrap();
        assert_eq!((p.as_of, p.len()), (day("2025-09-30"), 0));
    }

    #[test]
    fn a_queue_without_the_needed_columns_or_damaged_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "queue.csv", "account_id,mrr\nA-1,10\n");
        let err = Previous::read(&f).unwrap_err();
        let p = &err.problems().unwrap().shown[0];
        assert_eq!(p.kind, ProblemKind::MissingColumn);
        assert!(
            p.to_string().contains("as_of, churn_risk, risk_tier"),
            "{p}"
        );
        let f = write(dir.path(), "queue.parquet", "PAR1 not really");
        let err = Previous::read(&f).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::BadInput);
        assert!(err.to_string().contains("queue.parquet"), "{err}");
        let f = write(
            dir.path(),
            "queue.json",
            "[{\"account_id\": \"A-1\", \"as_of",
        );
        let err = Previous::read(&f).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::BadInput);
        assert!(err.to_string().contains("queue.json"), "{err}");
        let err = Previous::read(&dir.path().join("nope")).unwrap_err();
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
    }
}
