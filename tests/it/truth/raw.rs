//! What the raw input tables say about each account as of S, recomputed
//! here from the files with polars and plain Rust. Shares no code with the
//! writer (`src/queue.rs`, `src/snapshot.rs`, `src/io/`): a fact computed
//! twice by one function agrees with itself whether or not it is true.
//! Does not judge sentences (see `catalog`).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;

/// Days since 1970-01-01 (UTC).
pub type Day = i32;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant,
/// "chrono-Compatible Low-Level Date Algorithms", days_from_civil).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` of a day (the same paper, civil_from_days).
pub fn ymd(day: Day) -> String {
    let z = day as i64 + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The UTC day of a date (`2024-03-01`) or an RFC 3339 datetime
/// (`2024-03-01T14:05:00Z`, `2024-03-01 23:30:00+02:00`; no offset = UTC).
pub fn utc_day(text: &str) -> Option<Day> {
    let t = text.trim();
    let b = t.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (y, m, d) = (num(&t[0..4])?, num(&t[5..7])?, num(&t[8..10])?);
    if !(1..=12).contains(&m) || d < 1 || d > 31 {
        return None;
    }
    let day = days_from_civil(y, m, d);
    let rest = &t[10..];
    if rest.is_empty() {
        return Some(day as Day);
    }
    let time = rest
        .strip_prefix(['T', 't', ' '])
        .filter(|r| r.len() >= 5 && &r[2..3] == ":")?;
    let (hh, mm) = (num(&time[0..2])?, num(&time[3..5])?);
    let mut off = &time[5..];
    if let Some(r) = off.strip_prefix(':') {
        num(r.get(0..2)?)?;
        off = &r[2..];
        if let Some(r) = off.strip_prefix('.') {
            off = r.trim_start_matches(|c: char| c.is_ascii_digit());
        }
    }
    let off_minutes = match off {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match &off[0..1] {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            let hm = off[1..].replace(':', "");
            let (h, m) = match hm.len() {
                2 => (num(&hm)?, 0),
                4 => (num(&hm[0..2])?, num(&hm[2..4])?),
                _ => return None,
            };
            sign * (h * 60 + m)
        }
    };
    let minutes = hh * 60 + mm - off_minutes;
    Some((day + minutes.div_euclid(1440)) as Day)
}

/// A table's file in `dir` (`<table>.csv` or `<table>.parquet`), read
/// whole. `None` when the table is absent.
pub fn read_table(dir: &Path, table: &str) -> Option<(PathBuf, DataFrame)> {
    ["csv", "parquet"]
        .iter()
        .map(|ext| dir.join(format!("{table}.{ext}")))
        .find(|p| p.exists())
        .map(|p| {
            let df = read_file(&p);
            (p, df)
        })
}

/// A CSV (every column as text) or Parquet file, by its extension.
pub fn read_file(path: &Path) -> DataFrame {
    let df = if path.extension().is_some_and(|e| e == "csv") {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
    } else {
        ParquetReader::new(std::fs::File::open(path).expect("open parquet")).finish()
    };
    df.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn series<'a>(df: &'a DataFrame, col: &str) -> Option<&'a Series> {
    df.column(col).ok().map(|c| c.as_materialized_series())
}

/// A column as text (numbers and dates rendered by polars); `None` when
/// the file has no such column.
pub fn text(df: &DataFrame, col: &str) -> Option<StringChunked> {
    let s = series(df, col)?;
    let s = s.cast(&DataType::String).expect("cast to text");
    Some(s.str().expect("text").clone())
}

/// An empty or blank cell is a missing value.
pub fn cell(v: Option<&str>) -> Option<&str> {
    v.filter(|s| !s.trim().is_empty())
}

/// A date or datetime column as UTC days, whatever its type.
fn days(df: &DataFrame, col: &str, path: &Path) -> Vec<Option<Day>> {
    let s = series(df, col).unwrap_or_else(|| panic!("{}: no column {col}", path.display()));
    match s.dtype() {
        DataType::Date => s.date().unwrap().physical().iter().collect(),
        DataType::Datetime(tu, _) => {
            let per_day: i64 = match tu {
                TimeUnit::Nanoseconds => 86_400_000_000_000,
                TimeUnit::Microseconds => 86_400_000_000,
                TimeUnit::Milliseconds => 86_400_000,
            };
            let phys = s.datetime().unwrap().physical().clone();
            phys.iter()
                .map(|v| v.map(|v| v.div_euclid(per_day) as Day))
                .collect()
        }
        _ => text(df, col)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                cell(v).map(|v| {
                    utc_day(v).unwrap_or_else(|| {
                        panic!(
                            "{}: row {}, column {col}: not a date: {v:?}",
                            path.display(),
                            i + 1
                        )
                    })
                })
            })
            .collect(),
    }
}

/// A numeric column as f64, whatever its type; empty cells are `None`.
/// `None` for the whole column when the file has no such column.
pub fn nums(df: &DataFrame, col: &str, path: &Path) -> Option<Vec<Option<f64>>> {
    let s = series(df, col)?;
    Some(if s.dtype().is_primitive_numeric() {
        s.cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .collect()
    } else {
        text(df, col)
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                cell(v).map(|v| {
                    v.trim().parse::<f64>().unwrap_or_else(|_| {
                        panic!(
                            "{}: row {}, column {col}: not a number: {v:?}",
                            path.display(),
                            i + 1
                        )
                    })
                })
            })
            .collect()
    })
}

/// One account as the accounts table has it.
pub struct Account {
    pub id: String,
    pub created: Day,
    pub name: Option<String>,
    pub owner: Option<String>,
    /// Values of the categorical attributes, in `Raw::attr_names` order.
    pub attrs: Vec<Option<String>>,
}

/// A subscription line.
struct Line {
    start: Day,
    end: Option<Day>,
    mrr: f64,
    plan: Option<String>,
    seats: Option<f64>,
}

impl Line {
    fn active_on(&self, d: Day) -> bool {
        self.start <= d && self.end.is_none_or(|e| d < e)
    }
}

/// An event row inside the 90-day window.
struct Event {
    day: Day,
    kind: u32,
    user: Option<u32>,
    count: f64,
}

/// A ticket row inside the 90-day window.
struct Ticket {
    high: bool,
    csat: Option<f64>,
    sentiment: Option<f64>,
}

/// The raw tables of one data directory, grouped by account once, keeping
/// only what facts as of `s` need.
pub struct Raw {
    pub s: Day,
    pub attr_names: Vec<String>,
    pub accounts: Vec<Account>,
    pub index: HashMap<String, usize>,
    subs: Vec<Vec<Line>>,
    /// Optional tables that are absent hold no rows.
    events: EventRows,
    tickets: TicketRows,
    /// Last survey on or before S per account: (day, score).
    surveys: Vec<Option<(Day, f64)>>,
}

struct EventRows {
    kinds: Vec<String>,
    window: Vec<Vec<Event>>,
    last: Vec<Option<Day>>,
}

struct TicketRows {
    window: Vec<Vec<Ticket>>,
    last: Vec<Option<Day>>,
}

/// Columns of accounts that are not categorical attributes.
const NOT_ATTRIBUTES: [&str; 4] = ["account_id", "created_at", "name", "owner"];

impl Raw {
    /// Reads every table in `dir` once; rows of accounts not in the
    /// accounts table are skipped, as the contract says.
    pub fn load(dir: &Path, s: Day) -> Raw {
        let (attr_names, accounts) = load_accounts(dir);
        let index: HashMap<String, usize> = accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (a.id.clone(), i))
            .collect();
        let grouped = Grouping { index: &index, s };
        Raw {
            s,
            subs: grouped.subscriptions(dir),
            events: grouped.events(dir),
            tickets: grouped.tickets(dir),
            surveys: grouped.surveys(dir),
            attr_names,
            accounts,
            index,
        }
    }

    /// MRR of account `a` on day `d`.
    pub fn mrr_on(&self, a: usize, d: Day) -> f64 {
        self.subs[a]
            .iter()
            .filter(|l| l.active_on(d))
            .map(|l| l.mrr)
            .sum()
    }

    /// Accounts with MRR > 0 at S, in accounts-file order.
    pub fn active_ids(&self) -> HashSet<&str> {
        (0..self.accounts.len())
            .filter(|&a| self.mrr_on(a, self.s) > 0.0)
            .map(|a| self.accounts[a].id.as_str())
            .collect()
    }

    /// Every fact the catalog can state about account `a` as of S.
    pub fn facts(&self, a: usize) -> Facts<'_> {
        let s = self.s;
        let account = &self.accounts[a];
        let active: Vec<&Line> = self.subs[a].iter().filter(|l| l.active_on(s)).collect();
        let stated: Vec<f64> = active.iter().filter_map(|l| l.seats).collect();
        let mut plan: Option<(&str, f64)> = None;
        for l in &active {
            if let Some(p) = l.plan.as_deref() {
                if plan.is_none_or(|(_, m)| l.mrr > m) {
                    plan = Some((p, l.mrr));
                }
            }
        }
        let events = {
            let ev = &self.events;
            let rows = &ev.window[a];
            let in30 = |d: Day| d > s - 30;
            let mut by_kind: HashMap<&str, f64> = HashMap::new();
            let (mut sum30, mut prev30) = (0.0, 0.0);
            let (mut days30, mut days90) = (HashSet::new(), HashSet::new());
            let (mut users30, mut kinds30) = (HashSet::new(), HashSet::new());
            for e in rows {
                days90.insert(e.day);
                if in30(e.day) {
                    sum30 += e.count;
                    days30.insert(e.day);
                    kinds30.insert(e.kind);
                    if let Some(u) = e.user {
                        users30.insert(u);
                    }
                    *by_kind
                        .entry(ev.kinds[e.kind as usize].as_str())
                        .or_default() += e.count;
                } else if e.day > s - 60 {
                    prev30 += e.count;
                }
            }
            EventFacts {
                sum30,
                prev30,
                last_day: ev.last[a],
                days30: days30.len(),
                days90: days90.len(),
                users30: users30.len(),
                kinds30: kinds30.len(),
                by_kind30: by_kind,
            }
        };
        let tickets = {
            let t = &self.tickets;
            let rows = &t.window[a];
            let mean = |v: Vec<f64>| {
                (!v.is_empty()).then(|| (v.iter().sum::<f64>() / v.len() as f64, v.len()))
            };
            TicketFacts {
                n90: rows.len(),
                high90: rows.iter().filter(|t| t.high).count(),
                csat90: mean(rows.iter().filter_map(|t| t.csat).collect()),
                sentiment90: mean(rows.iter().filter_map(|t| t.sentiment).collect()),
                last_day: t.last[a],
            }
        };
        Facts {
            s,
            account,
            attr_names: &self.attr_names,
            mrr: self.mrr_on(a, s),
            mrr_90_ago: self.mrr_on(a, s - 90),
            seats: (!stated.is_empty()).then(|| stated.iter().sum()),
            plan: plan.map(|(p, _)| p),
            events,
            tickets,
            nps: self.surveys[a],
        }
    }
}

/// The accounts table: attribute names and one `Account` per row.
fn load_accounts(dir: &Path) -> (Vec<String>, Vec<Account>) {
    let (path, df) = read_table(dir, "accounts").expect("accounts table");
    let ids = text(&df, "account_id").expect("account_id");
    let created = days(&df, "created_at", &path);
    let (name, owner) = (text(&df, "name"), text(&df, "owner"));
    let attr_names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| !NOT_ATTRIBUTES.contains(&c.as_str()))
        .collect();
    let attr_cols: Vec<StringChunked> = attr_names.iter().map(|c| text(&df, c).unwrap()).collect();
    let own =
        |c: Option<&StringChunked>, i: usize| c.and_then(|c| cell(c.get(i)).map(str::to_string));
    let accounts = (0..df.height())
        .map(|i| Account {
            id: ids.get(i).expect("account_id").to_string(),
            created: created[i].expect("created_at"),
            name: own(name.as_ref(), i),
            owner: own(owner.as_ref(), i),
            attrs: attr_cols.iter().map(|c| own(Some(c), i)).collect(),
        })
        .collect();
    (attr_names, accounts)
}

/// Groups a table's rows by account in one pass, keeping what facts as of
/// `s` need.
struct Grouping<'a> {
    index: &'a HashMap<String, usize>,
    s: Day,
}

impl Grouping<'_> {
    fn account(&self, id: Option<&str>) -> Option<usize> {
        id.and_then(|id| self.index.get(id)).copied()
    }

    fn per_account<T>(&self) -> Vec<Vec<T>> {
        (0..self.index.len()).map(|_| Vec::new()).collect()
    }

    /// First day of the 90-day window.
    fn first(&self) -> Day {
        self.s - 89
    }

    /// Every line, in file order (plan ties go to the earliest).
    fn subscriptions(&self, dir: &Path) -> Vec<Vec<Line>> {
        let (path, df) = read_table(dir, "subscriptions").expect("subscriptions table");
        let ids = text(&df, "account_id").unwrap();
        let start = days(&df, "start_date", &path);
        let end = days(&df, "end_date", &path);
        let mrr = nums(&df, "mrr", &path).expect("mrr");
        let plan = text(&df, "plan");
        let seats = nums(&df, "seats", &path);
        let mut subs = self.per_account();
        for (i, id) in ids.iter().enumerate() {
            let Some(a) = self.account(id) else { continue };
            subs[a].push(Line {
                start: start[i].expect("start_date"),
                end: end[i],
                mrr: mrr[i].expect("mrr"),
                plan: plan
                    .as_ref()
                    .and_then(|p| cell(p.get(i)).map(str::to_string)),
                seats: seats.as_ref().and_then(|c| c[i]),
            });
        }
        subs
    }

    /// Rows of the 90-day window and the last day on or before S; an
    /// absent table has no rows.
    fn events(&self, dir: &Path) -> EventRows {
        let mut rows = EventRows {
            kinds: Vec::new(),
            window: self.per_account(),
            last: vec![None; self.index.len()],
        };
        let Some((path, df)) = read_table(dir, "events") else {
            return rows;
        };
        let ids = text(&df, "account_id").unwrap();
        let day = days(&df, "timestamp", &path);
        let kind = text(&df, "event").expect("event");
        let user = text(&df, "user_id");
        let count = nums(&df, "count", &path);
        let mut kind_ids: HashMap<&str, u32> = HashMap::new();
        let mut user_ids: HashMap<&str, u32> = HashMap::new();
        for (i, id) in ids.iter().enumerate() {
            let Some(a) = self.account(id) else { continue };
            let d = day[i].expect("timestamp");
            if d > self.s {
                continue;
            }
            rows.last[a] = Some(rows.last[a].map_or(d, |l| l.max(d)));
            if d < self.first() {
                continue;
            }
            let k = kind.get(i).unwrap_or("");
            let next = kind_ids.len() as u32;
            let k = *kind_ids.entry(k).or_insert_with(|| {
                rows.kinds.push(k.to_string());
                next
            });
            let u = user.as_ref().and_then(|u| cell(u.get(i))).map(|u| {
                let next = user_ids.len() as u32;
                *user_ids.entry(u).or_insert(next)
            });
            rows.window[a].push(Event {
                day: d,
                kind: k,
                user: u,
                count: count.as_ref().and_then(|c| c[i]).unwrap_or(1.0),
            });
        }
        rows
    }

    /// As for events.
    fn tickets(&self, dir: &Path) -> TicketRows {
        let mut rows = TicketRows {
            window: self.per_account(),
            last: vec![None; self.index.len()],
        };
        let Some((path, df)) = read_table(dir, "tickets") else {
            return rows;
        };
        let ids = text(&df, "account_id").unwrap();
        let day = days(&df, "created_at", &path);
        let priority = text(&df, "priority");
        let csat = nums(&df, "csat", &path);
        let sentiment = nums(&df, "sentiment", &path);
        for (i, id) in ids.iter().enumerate() {
            let Some(a) = self.account(id) else { continue };
            let d = day[i].expect("created_at");
            if d > self.s {
                continue;
            }
            rows.last[a] = Some(rows.last[a].map_or(d, |l| l.max(d)));
            if d < self.first() {
                continue;
            }
            let p = priority.as_ref().and_then(|p| cell(p.get(i))).unwrap_or("");
            rows.window[a].push(Ticket {
                high: ["high", "urgent"].contains(&p.trim()),
                csat: csat.as_ref().and_then(|c| c[i]),
                sentiment: sentiment.as_ref().and_then(|c| c[i]),
            });
        }
        rows
    }

    /// The last answer on or before S: (day, score); on one day the later
    /// row in file order wins.
    fn surveys(&self, dir: &Path) -> Vec<Option<(Day, f64)>> {
        let mut last: Vec<Option<(Day, f64)>> = vec![None; self.index.len()];
        let Some((path, df)) = read_table(dir, "surveys") else {
            return last;
        };
        let ids = text(&df, "account_id").unwrap();
        let day = days(&df, "responded_at", &path);
        let score = nums(&df, "score", &path).expect("score");
        for (i, id) in ids.iter().enumerate() {
            let Some(a) = self.account(id) else { continue };
            let (Some(d), Some(v)) = (day[i], score[i]) else {
                continue;
            };
            if d <= self.s && last[a].is_none_or(|(l, _)| d >= l) {
                last[a] = Some((d, v));
            }
        }
        last
    }
}

/// Event facts of one account as of S.
pub struct EventFacts<'a> {
    /// Sum of `count` over S-29..S and S-59..S-30.
    pub sum30: f64,
    pub prev30: f64,
    /// Last event day on or before S (any age).
    pub last_day: Option<Day>,
    pub days30: usize,
    pub days90: usize,
    pub users30: usize,
    pub kinds30: usize,
    pub by_kind30: HashMap<&'a str, f64>,
}

/// Ticket facts of one account as of S; means come with how many rated.
pub struct TicketFacts {
    pub n90: usize,
    pub high90: usize,
    pub csat90: Option<(f64, usize)>,
    pub sentiment90: Option<(f64, usize)>,
    pub last_day: Option<Day>,
}

/// Everything the catalog can say about one account as of S. An absent
/// optional table counts as an empty one.
pub struct Facts<'a> {
    pub s: Day,
    pub account: &'a Account,
    pub attr_names: &'a [String],
    pub mrr: f64,
    pub mrr_90_ago: f64,
    pub seats: Option<f64>,
    pub plan: Option<&'a str>,
    pub events: EventFacts<'a>,
    pub tickets: TicketFacts,
    /// Last survey on or before S: (day, score).
    pub nps: Option<(Day, f64)>,
}

impl Facts<'_> {
    /// The account's own value of a categorical attribute (`plan`: the
    /// plan at S); outer `None` when there is no such attribute.
    pub fn attr(&self, name: &str) -> Option<Option<&str>> {
        if name == "plan" {
            return Some(self.plan);
        }
        let i = self.attr_names.iter().position(|a| a == name)?;
        Some(self.account.attrs[i].as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_datetimes_count_on_their_utc_day() {
        assert_eq!(utc_day("1970-01-01"), Some(0));
        assert_eq!(utc_day("2025-12-31"), Some(20_453));
        assert_eq!(ymd(20_453), "2025-12-31");
        assert_eq!(utc_day("2024-03-01T14:05:00Z"), utc_day("2024-03-01"));
        assert_eq!(utc_day("2024-03-01 23:30:00+02:00"), utc_day("2024-03-01"));
        assert_eq!(utc_day("2024-03-01 01:30:00+02:00"), utc_day("2024-02-29"));
        assert_eq!(
            utc_day("2025-12-31T23:30:00.250-02:00"),
            utc_day("2026-01-01")
        );
        assert_eq!(utc_day("2024-03-01T23:59:59"), utc_day("2024-03-01"));
        assert_eq!(utc_day("2024-13-01"), None);
    }
}
