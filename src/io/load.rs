//! Loading: reads each table (CSV through our own reader in `io::csv`,
//! Parquet in row-group slices through `io::parquet`, by extension; or a
//! PostgreSQL table in slices through `io::pg`),
//! checks it against the contract in `io::schema`, and turns it into typed,
//! per-account columns ([`Tables`]) with `io::group`'s interning and
//! grouping. Every bad value becomes a [`Problem`]
//! naming file, line, account and column; up to 20 per table are reported
//! at once. Scoring may ask for only the rows its date can read
//! ([`Need::Window`]). Nothing here computes features.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::dates::{parse_day, Day};
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
pub use crate::io::csv::BYTES_PER_ROW;
use crate::io::csv::{CsvSlices, CsvStream};
#[cfg(test)]
use crate::io::group::BY_TEXT;
use crate::io::group::{for_each_view, intern_column, InternWorker, Interner, ViewCache, EMPTY};
pub use crate::io::group::{Dated, FastMap, Grouped, NONE};
pub use crate::io::parquet::SLICE_ROWS;
use crate::io::parquet::{parquet_slices, read_parquet, undecodable_rows};
use crate::io::read::{Session, TableStream};
use crate::io::schema::{Priority, TableKind};
use crate::pg::PgUrl;

/// A billing line. `end` is exclusive (`None` = open).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Line {
    pub start: Day,
    pub end: Option<Day>,
    pub mrr: f64,
    /// Index into [`Tables::plans`], or [`NONE`].
    pub plan: u32,
    /// NaN when unknown.
    pub seats: f64,
}

impl Dated for Line {
    fn day(&self) -> Day {
        self.start
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Event {
    pub day: Day,
    /// Index into [`EventTable::types`].
    pub event_type: u32,
    /// Interned user, or [`NONE`].
    pub user: u32,
    pub count: f32,
}

impl Dated for Event {
    fn day(&self) -> Day {
        self.day
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ticket {
    pub day: Day,
    pub priority: Priority,
    /// NaN when not rated.
    pub csat: f32,
    /// NaN when unknown.
    pub sentiment: f32,
}

impl Dated for Ticket {
    fn day(&self) -> Day {
        self.day
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Survey {
    pub day: Day,
    pub score: f32,
}

impl Dated for Survey {
    fn day(&self) -> Day {
        self.day
    }
}

/// A string attribute of accounts (segment, industry, owner…).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub values: Vec<Option<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub ids: Vec<String>,
    pub names: Vec<Option<String>>,
    pub created: Vec<Day>,
    pub attributes: Vec<Attribute>,
    pub index: FastMap<String, u32>,
}

impl Accounts {
    pub fn len(&self) -> usize {
        self.ids.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct EventTable {
    pub rows: Grouped<Event>,
    pub types: Vec<String>,
    /// Whether the file had a `user_id` column (else user features are absent).
    pub has_users: bool,
}

/// Where a table came from, for the bundle's and manifest's data fingerprint.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SourceFile {
    pub table: TableKind,
    /// The file name, or for a database the table as `schema.name`.
    pub file: String,
    /// Of the file's bytes, or for a database of the table's binary COPY
    /// stream (rows in their deterministic order).
    pub sha256: String,
    pub rows: usize,
    pub skipped_unknown_account: usize,
    /// The database's URL, redacted (never a password), for tables read
    /// from PostgreSQL; absent for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

/// Where `--data` points: a folder of files, or a PostgreSQL database
/// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`). Shown redacted.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    Folder(PathBuf),
    Postgres(PgUrl),
}

impl DataSource {
    /// A `postgres://` or `postgresql://` URL (checked: a malformed one is
    /// a usage error whose message holds no password), else a folder.
    pub fn parse(s: &str) -> Result<DataSource> {
        if crate::pg::is_postgres_url(s) {
            PgUrl::parse("--data", s).map(DataSource::Postgres)
        } else {
            Ok(DataSource::Folder(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for DataSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSource::Folder(p) => write!(f, "{}", p.display()),
            DataSource::Postgres(u) => write!(f, "{u}"),
        }
    }
}

/// Where one table is read from.
#[derive(Clone)]
enum Input {
    File(PathBuf),
    Db(std::sync::Arc<Session>, TableKind),
}

impl Input {
    /// What locations and warnings name: the file, or `postgres table schema.name`.
    fn path(&self) -> PathBuf {
        match self {
            Input::File(p) => p.clone(),
            Input::Db(s, t) => s.tables[t].location_name(),
        }
    }
}

/// All tables, typed and grouped by account.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    pub accounts: Accounts,
    pub lines: Grouped<Line>,
    pub plans: Vec<String>,
    /// Whether the subscriptions file had a `seats` column.
    pub has_seats: bool,
    pub events: Option<EventTable>,
    pub tickets: Option<Grouped<Ticket>>,
    pub surveys: Option<Grouped<Survey>>,
    /// Earliest and latest date in any table (start, created, events,
    /// tickets, surveys and end dates).
    pub first_day: Day,
    pub last_day: Day,
    /// The first day covered by every table present: before it some table
    /// (typically the events export) had not started, and snapshots would
    /// show silence that was only missing data.
    pub coverage_start: Day,
    pub sources: Vec<SourceFile>,
    /// Non-fatal findings (skipped rows), in words.
    pub warnings: Vec<String>,
}

impl Tables {
    pub fn n_accounts(&self) -> usize {
        self.accounts.len()
    }
}

/// Finds the file for `table` in `dir`: the config's name, else
/// `<table>.csv` or `<table>.parquet`. `Ok(None)` when absent.
fn find_file(dir: &Path, table: TableKind, cfg: &Config) -> Result<Option<PathBuf>> {
    if let Some(name) = cfg.file_name(table) {
        let p = dir.join(name);
        return if p.is_file() {
            Ok(Some(p))
        } else {
            Err(problem(
                Location {
                    file: p,
                    ..Default::default()
                },
                ProblemKind::MissingTable,
                format!("the config names this file for table {table}, but it does not exist"),
            ))
        };
    }
    let mut found: Vec<PathBuf> = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut names: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        if p.file_stem().and_then(|s| s.to_str()) == Some(table.name()) && p.is_file() {
            found.push(p);
        }
    }
    match found.len() {
        0 => Ok(None),
        1 => Ok(found.pop()),
        _ => {
            Err(problem(
                Location {
                    file: dir.to_path_buf(),
                    ..Default::default()
                },
                ProblemKind::UnsupportedFormat,
                format!(
                "several files for table {table}: {}; keep one or name it in the config's [files]",
                found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
            ))
        }
    }
}

pub(crate) fn problem(location: Location, kind: ProblemKind, message: String) -> Error {
    let mut ps = Problems::default();
    ps.push(Problem {
        location,
        kind,
        message,
    });
    Error::BadInput(ps)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Csv,
    Parquet,
    Postgres,
}

/// A column as text (numbers and dates rendered as text); None for types
/// that have no sensible text form here (lists, structs, binary).
fn as_text(s: &Series) -> Option<StringChunked> {
    match s.dtype() {
        DataType::List(_) | DataType::Struct(_) | DataType::Binary | DataType::BinaryOffset => None,
        _ => s.cast(&DataType::String).ok()?.str().ok().cloned(),
    }
}

/// A number as a message shows it: as written at everyday sizes, in
/// exponent form when huge or tiny (`1e300`, not 301 digits).
fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// When a CSV header reads as one column holding `;` or tabs, the file
/// was most likely exported with another separator (Excel does so in many
/// locales): say so rather than leave a puzzle.
fn delimiter_hint(header: &[String]) -> String {
    match header {
        [only] if only.contains(';') => {
            " (the values seem to be separated by ';': export the file with commas)".into()
        }
        [only] if only.contains('\t') => {
            " (the values seem to be separated by tabs: export the file with commas)".into()
        }
        _ => String::new(),
    }
}

/// How a polars type reads in a message.
fn dtype_words(dt: &DataType) -> String {
    match dt {
        DataType::List(_) => "list".into(),
        DataType::Struct(_) => "struct".into(),
        DataType::Binary | DataType::BinaryOffset => "binary".into(),
        DataType::Null => "null".into(),
        other => other.to_string(),
    }
}

fn file_kind(path: &Path) -> Result<FileKind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("csv") => Ok(FileKind::Csv),
        Some("parquet") | Some("pq") => Ok(FileKind::Parquet),
        _ => Err(problem(
            Location {
                file: path.to_path_buf(),
                ..Default::default()
            },
            ProblemKind::UnsupportedFormat,
            "expected a .csv or .parquet file".to_string(),
        )),
    }
}

fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", h.finalize()))
}

/// The cells of one column, whatever its physical type.
enum Cells {
    Text(StringChunked),
    Date(Int32Chunked),
    Datetime(Int64Chunked, i64),
    Num(Float64Chunked),
    /// A type we cannot read as any of those (list, struct, binary); the
    /// column was reported.
    Unsupported,
}

/// One table being read, a slice at a time: its file, the current slice's
/// frame and the problems found so far (across slices). Row indices in the
/// methods are within the slice; locations add the slice's offset.
struct TableReader<'a> {
    table: TableKind,
    path: PathBuf,
    df: DataFrame,
    kind: FileKind,
    /// Row ranges still to read after the current one (Parquet only).
    rest: std::collections::VecDeque<(usize, usize)>,
    /// The next slice, being decoded on another thread while this one is
    /// converted: decoding (polars) and converting (ours) take about as
    /// long, so overlapping them hides most of the decoding. With one
    /// thread (`--threads 1`) it is read when needed instead.
    prefetch: Option<(
        Option<std::thread::JoinHandle<Result<DataFrame>>>,
        (usize, usize),
    )>,
    /// The table's slices as the connection sends them (PostgreSQL only).
    stream: Option<TableStream>,
    /// The sha256 of the table's COPY stream, once read (PostgreSQL only).
    fingerprint: Option<String>,
    /// The rest of a CSV file, read a slice at a time (until its end).
    csv: Option<crate::io::csv::CsvSlices>,
    /// The line of each row of the current slice (CSV only).
    lines: crate::io::csv::LineMap,
    /// Blank lines skipped (CSV only).
    blank_lines: usize,
    /// Columns reported as a whole (wrong type), so their cells are not
    /// also reported one by one.
    bad_columns: std::collections::HashSet<&'static str>,
    /// File row of the current slice's first row.
    offset: usize,
    /// Rows in the whole file (of a CSV file, estimated until it is read
    /// to its end: only buffer sizes read it before).
    total: usize,
    cfg: &'a Config,
    problems: Problems,
    /// The account_id column as text, for locations in problem messages.
    row_accounts: Option<StringChunked>,
    /// Cells already reported, so an unparseable value is not also
    /// reported as missing.
    reported: std::collections::HashSet<(usize, &'static str)>,
}

impl<'a> TableReader<'a> {
    /// Opens `path` and reads its first slice: runs of whole row groups of
    /// at least `slice_rows` rows (Parquet), the records of a chunk of
    /// about `slice_rows` x [`BYTES_PER_ROW`] bytes (CSV); the whole file
    /// with `usize::MAX`. Missing required columns and an empty required
    /// table are problems.
    fn open(
        table: TableKind,
        input: &Input,
        cfg: &'a Config,
        slice_rows: usize,
    ) -> Result<TableReader<'a>> {
        let path = input.path();
        let kind = match input {
            Input::File(p) => file_kind(p)?,
            Input::Db(..) => FileKind::Postgres,
        };
        let mut lines = Default::default();
        let mut blank_lines = 0;
        let mut stream = None;
        let mut csv = None;
        let (df, rest, total) = match kind {
            FileKind::Postgres => {
                let Input::Db(session, t) = input else {
                    unreachable!("a database table")
                };
                let mut s = session.stream(*t, slice_rows)?;
                // Row count known at the end; until then, the rows seen.
                let df = s.next()?.unwrap_or_default();
                stream = Some(s);
                let n = df.height();
                (df, Default::default(), n)
            }
            FileKind::Csv => {
                let account = cfg.source_column(table, "account_id");
                let chunk = slice_rows.saturating_mul(BYTES_PER_ROW);
                let mut s = CsvStream::open(&path, cfg.encoding(table), Some(account), chunk)?;
                let first = s.next_slice()?;
                s.check()?;
                let df = match first {
                    Some(first) => {
                        lines = first.lines;
                        first.df
                    }
                    None => s.empty_frame()?,
                };
                let total = s.estimated_rows();
                if s.is_done() {
                    blank_lines = s.finish()?;
                } else {
                    csv = Some(CsvSlices::new(s, rayon::current_num_threads() > 1));
                }
                (df, Default::default(), total)
            }
            FileKind::Parquet => {
                let (slices, total) = parquet_slices(&path, slice_rows)?;
                let mut rest: std::collections::VecDeque<_> = slices.into();
                let first = rest.pop_front().expect("at least one slice");
                (read_parquet(&path, first)?, rest, total)
            }
        };
        let mut r = TableReader {
            table,
            path,
            df,
            kind,
            rest,
            prefetch: None,
            stream,
            fingerprint: None,
            csv,
            lines,
            blank_lines,
            bad_columns: Default::default(),
            offset: 0,
            total,
            cfg,
            problems: Problems::default(),
            row_accounts: None,
            reported: Default::default(),
        };
        for c in table.columns().iter().filter(|c| c.required) {
            let src = cfg.source_column(table, c.name);
            if r.df.column(src).is_err() {
                let have: Vec<String> =
                    r.df.get_column_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                let mapped = if src != c.name {
                    format!(" (mapped from {})", c.name)
                } else {
                    String::new()
                };
                r.problems.push(Problem {
                    location: Location {
                        file: r.path.clone(),
                        column: Some(src.to_string()),
                        ..Default::default()
                    },
                    kind: ProblemKind::MissingColumn,
                    message: format!(
                        "required column {src}{mapped} is missing; the file has: {}{}",
                        have.join(", "),
                        delimiter_hint(&have)
                    ),
                });
            }
        }
        r.start_prefetch();
        if r.problems.is_empty() && r.total == 0 && table.required() {
            r.problems.push(Problem {
                location: Location {
                    file: r.path.clone(),
                    ..Default::default()
                },
                kind: ProblemKind::EmptyTable,
                message: format!("table {table} is required and has no rows"),
            });
        }
        Ok(r)
    }

    /// Rows in the current slice.
    fn height(&self) -> usize {
        self.df.height()
    }

    /// Moves to the next slice; false when the file is done. Row indices
    /// restart at 0 in the new slice.
    fn next_slice(&mut self) -> Result<bool> {
        if let Some(s) = self.stream.as_mut() {
            let Some(df) = s.next()? else {
                if let Some((rows, sha256)) = s.done.clone() {
                    self.total = rows;
                    self.fingerprint = Some(sha256);
                }
                return Ok(false);
            };
            self.offset += self.df.height();
            self.row_accounts = None;
            self.reported.clear();
            self.df = df;
            return Ok(true);
        }
        if let Some(csv) = self.csv.as_mut() {
            let Some(next) = csv.next()? else {
                self.blank_lines = self.csv.take().map_or(Ok(0), CsvSlices::finish)?;
                self.total = self.offset + self.df.height();
                return Ok(false);
            };
            self.offset += self.df.height();
            self.df = next.df;
            self.lines = next.lines;
            self.row_accounts = None;
            self.reported.clear();
            return Ok(true);
        }
        let Some((next, slice)) = self.prefetch.take() else {
            return Ok(false);
        };
        self.offset += self.df.height();
        // Drop the current slice before taking the next one.
        self.df = DataFrame::empty();
        self.row_accounts = None;
        self.reported.clear();
        self.df = match next {
            Some(next) => next
                .join()
                .unwrap_or_else(|_| Err(undecodable_rows(&self.path, slice)))?,
            None => read_parquet(&self.path, slice)?,
        };
        self.start_prefetch();
        Ok(true)
    }

    /// Starts decoding the next slice, if any, on its own thread (when the
    /// pool this runs in has more than one).
    fn start_prefetch(&mut self) {
        if let Some(slice) = self.rest.pop_front() {
            let path = self.path.clone();
            let thread = (rayon::current_num_threads() > 1)
                .then(|| std::thread::spawn(move || read_parquet(&path, slice)));
            self.prefetch = Some((thread, slice));
        }
    }

    fn has(&self, ours: &str) -> bool {
        self.df
            .column(self.cfg.source_column(self.table, ours))
            .is_ok()
    }

    fn location(&self, row: usize, ours: &str) -> Location {
        let at = row;
        let row = self.offset + row;
        let line = match self.kind {
            FileKind::Csv => self.lines.line(at),
            FileKind::Parquet | FileKind::Postgres => row + 1,
        };
        Location {
            file: self.path.clone(),
            line: Some(line),
            is_row: self.kind != FileKind::Csv,
            account_id: self
                .row_accounts
                .as_ref()
                .and_then(|v| v.get(at))
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string),
            column: Some(self.cfg.source_column(self.table, ours).to_string()),
        }
    }

    fn report(&mut self, row: usize, ours: &'static str, kind: ProblemKind, message: String) {
        if self.bad_columns.contains(ours) {
            return;
        }
        self.reported.insert((row, ours));
        if self.problems.shown.len() < crate::error::MAX_PROBLEMS {
            let location = self.location(row, ours);
            self.problems.push(Problem {
                location,
                kind,
                message,
            });
        } else {
            self.problems.more += 1;
        }
    }

    /// The column `ours` as polars holds it, or None when the file has no such column.
    fn series(&self, ours: &str) -> Option<Series> {
        let src = self.cfg.source_column(self.table, ours);
        let col = self.df.column(src).ok()?;
        Some(col.as_materialized_series().clone())
    }

    /// Reports a whole column that cannot hold what we expect (a Parquet
    /// column of the wrong type): once, not once per slice or per row.
    fn bad_column(&mut self, ours: &'static str, found: &str, expected: &str) {
        if self.bad_columns.insert(ours) {
            self.problems.push(Problem {
                location: Location {
                    file: self.path.clone(),
                    column: Some(self.cfg.source_column(self.table, ours).to_string()),
                    ..Default::default()
                },
                kind: ProblemKind::BadValue,
                message: format!(
                    "expected {expected}, found a column of type {found} (every row; fix the column's type in the export)"
                ),
            });
        }
    }

    fn cells(&mut self, ours: &'static str, expected: &str) -> Option<Cells> {
        let s = self.series(ours)?;
        let cells = match s.dtype() {
            DataType::String => s.str().ok().map(|c| Cells::Text(c.clone())),
            DataType::Date => s.date().ok().map(|c| Cells::Date(c.physical().clone())),
            DataType::Datetime(tu, _) => {
                let per_day: i64 = match tu {
                    TimeUnit::Nanoseconds => 86_400_000_000_000,
                    TimeUnit::Microseconds => 86_400_000_000,
                    TimeUnit::Milliseconds => 86_400_000,
                };
                s.datetime()
                    .ok()
                    .map(|c| Cells::Datetime(c.physical().clone(), per_day))
            }
            dt if dt.is_primitive_numeric() || dt == &DataType::Boolean => s
                .cast(&DataType::Float64)
                .ok()
                .and_then(|c| c.f64().ok().cloned())
                .map(Cells::Num),
            _ => as_text(&s).map(Cells::Text),
        };
        Some(cells.unwrap_or_else(|| {
            self.bad_column(ours, &dtype_words(s.dtype()), expected);
            Cells::Unsupported
        }))
    }

    /// Text values (numbers and dates rendered as text); empty strings are
    /// None. One String per row: for small tables (accounts, plans,
    /// priorities); large columns go through [`Self::interned`].
    fn texts(&mut self, ours: &'static str) -> Result<Option<Vec<Option<String>>>> {
        Ok(self.text_column(ours)?.map(|ca| {
            ca.iter()
                .map(|v| {
                    v.map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(str::to_string)
                })
                .collect()
        }))
    }

    /// Days; empty cells are None (callers decide whether that is allowed).
    fn days(&mut self, ours: &'static str) -> Result<Option<Vec<Option<Day>>>> {
        let Some(cells) = self.cells(ours, "dates") else {
            return Ok(None);
        };
        let n = self.height();
        let mut out = Vec::with_capacity(n);
        match cells {
            Cells::Text(ca) => {
                for (i, v) in ca.iter().enumerate() {
                    match v.map(str::trim).filter(|v| !v.is_empty()) {
                        None => out.push(None),
                        Some(t) => match parse_day(t) {
                            Some(d) => out.push(Some(d)),
                            None => {
                                self.report(i, ours, ProblemKind::BadDate, format!(
                                    "expected a date YYYY-MM-DD or an RFC 3339 datetime, found {t:?}"
                                ));
                                out.push(None);
                            }
                        },
                    }
                }
            }
            Cells::Date(ca) if self.kind == FileKind::Postgres => {
                // PostgreSQL's ±infinity dates and timestamps.
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        Some(d) if crate::io::read::postgres::INFINITE_DAY.contains(&d) => {
                            let sign = if d < 0 { "-" } else { "" };
                            self.report(i, ours, ProblemKind::BadDate, format!(
                                "expected a date YYYY-MM-DD or an RFC 3339 datetime, found {sign}infinity"
                            ));
                            out.push(None);
                        }
                        v => out.push(v),
                    }
                }
            }
            Cells::Date(ca) => out.extend(ca.iter()),
            Cells::Datetime(ca, per_day) => {
                out.extend(ca.iter().map(|v| v.map(|t| t.div_euclid(per_day) as Day)))
            }
            Cells::Num(_) => {
                let found = self.series(ours).map(|s| dtype_words(s.dtype()));
                self.bad_column(ours, &found.unwrap_or_default(), "dates");
                out.resize(n, None);
            }
            Cells::Unsupported => out.resize(n, None),
        }
        Ok(Some(out))
    }

    /// Numbers; empty cells are None.
    fn numbers(&mut self, ours: &'static str) -> Result<Option<Vec<Option<f64>>>> {
        let Some(cells) = self.cells(ours, "numbers") else {
            return Ok(None);
        };
        let n = self.height();
        let mut out = Vec::with_capacity(n);
        match cells {
            Cells::Num(ca) => {
                for (i, v) in ca.iter().enumerate() {
                    match v {
                        Some(x) if !x.is_finite() => {
                            self.report(
                                i,
                                ours,
                                ProblemKind::BadNumber,
                                format!("expected a number, found {}", shown(x)),
                            );
                            out.push(None);
                        }
                        v => out.push(v),
                    }
                }
            }
            Cells::Text(ca) => {
                for (i, v) in ca.iter().enumerate() {
                    match v.map(str::trim).filter(|v| !v.is_empty()) {
                        None => out.push(None),
                        Some(t) => match t.parse::<f64>() {
                            Ok(x) if x.is_finite() => out.push(Some(x)),
                            _ => {
                                self.report(
                                    i,
                                    ours,
                                    ProblemKind::BadNumber,
                                    format!("expected a number, found {t:?}"),
                                );
                                out.push(None);
                            }
                        },
                    }
                }
            }
            Cells::Date(_) | Cells::Datetime(..) => {
                let found = self.series(ours).map(|s| dtype_words(s.dtype()));
                self.bad_column(ours, &found.unwrap_or_default(), "numbers");
                out.resize(n, None);
            }
            Cells::Unsupported => out.resize(n, None),
        }
        Ok(Some(out))
    }

    /// Requires a value in every row of a required column.
    fn require<T>(&mut self, ours: &'static str, vals: &[Option<T>], what: &str) {
        for (i, v) in vals.iter().enumerate() {
            if v.is_none() && !self.reported.contains(&(i, ours)) {
                self.report(
                    i,
                    ours,
                    ProblemKind::MissingValue,
                    format!("expected {what}, found an empty value"),
                );
            }
        }
    }

    /// Range check on present values.
    fn check_range(
        &mut self,
        ours: &'static str,
        vals: &[Option<f64>],
        lo: f64,
        hi: f64,
        what: &str,
    ) {
        for (i, v) in vals.iter().enumerate() {
            if let Some(x) = v {
                if !(lo..=hi).contains(x) {
                    self.report(
                        i,
                        ours,
                        ProblemKind::OutOfRange,
                        format!("expected {what}, found {}", shown(*x)),
                    );
                }
            }
        }
    }

    /// The column `ours` as text (numbers and dates rendered as text).
    fn text_column(&mut self, ours: &'static str) -> Result<Option<StringChunked>> {
        let Some(s) = self.series(ours) else {
            return Ok(None);
        };
        Ok(Some(as_text(&s).unwrap_or_else(|| {
            self.bad_column(ours, &dtype_words(s.dtype()), "text");
            StringChunked::full_null(s.name().clone(), s.len())
        })))
    }

    /// Maps account_id to account indices without copying the ids: unknown
    /// ids are [`NONE`] (skipped and counted by the caller), empty ids are
    /// problems and [`EMPTY`]. Each distinct string view of a column chunk
    /// is looked up once (see [`ViewCache`]), not every row.
    fn account_keys(&mut self, accounts: &FastMap<String, u32>) -> Result<Vec<u32>> {
        let ids = self.text_column("account_id")?.unwrap_or_default();
        let mut out = Vec::with_capacity(ids.len());
        let mut cache = ViewCache::default();
        let mut empty = Vec::new();
        for_each_view(&ids, &mut cache, &mut out, |v| match v.map(str::trim) {
            None | Some("") => EMPTY,
            Some(id) => accounts.get(id).copied().unwrap_or(NONE),
        });
        for (i, &k) in out.iter().enumerate() {
            if k == EMPTY {
                empty.push(i);
            }
        }
        self.row_accounts = Some(ids);
        for i in empty {
            self.report(
                i,
                "account_id",
                ProblemKind::EmptyKey,
                "expected an account id, found an empty value".into(),
            );
        }
        Ok(out)
    }

    /// Interns a text column to dense ids in `interner` (first-seen order,
    /// so slices read in file order give the ids a whole-file pass would)
    /// without a string per row; empty cells are [`NONE`] and, when
    /// `required`, problems. Rows where `wanted` is false are only checked
    /// (empty when required) and get [`NONE`]: their strings are never
    /// interned. Each distinct string view of a chunk is hashed once.
    fn interned(
        &mut self,
        ours: &'static str,
        required: Option<&str>,
        interner: &mut Interner,
        wanted: Option<&[bool]>,
    ) -> Result<Option<Vec<u32>>> {
        let Some(ca) = self.text_column(ours)? else {
            return Ok(None);
        };
        let ids = intern_column(&ca, wanted, interner);
        let mut missing = Vec::new();
        match wanted {
            None => {
                if required.is_some() {
                    missing.extend(
                        ids.iter()
                            .enumerate()
                            .filter(|(_, &id)| id == NONE)
                            .map(|(i, _)| i),
                    );
                }
            }
            Some(_) => {
                // Empty or not, per view; interned only where wanted.
                let mut empty = Vec::with_capacity(ca.len());
                let mut cache = ViewCache::default();
                for_each_view(&ca, &mut cache, &mut empty, |v| {
                    u32::from(v.map(str::trim).is_none_or(str::is_empty))
                });
                if required.is_some() {
                    missing.extend(
                        empty
                            .iter()
                            .enumerate()
                            .filter(|(_, &e)| e == 1)
                            .map(|(i, _)| i),
                    );
                }
            }
        }
        if let Some(what) = required {
            for i in missing {
                self.report(
                    i,
                    ours,
                    ProblemKind::MissingValue,
                    format!("expected {what}, found an empty value"),
                );
            }
        }
        // After the first of several slices, size the map for the whole
        // file at the same rate of new strings per row, instead of letting
        // it double (and rehash every key) a dozen times.
        if self.offset == 0 && self.total > ids.len() && !ids.is_empty() && wanted.is_none() {
            let per_row = interner.len() as f64 / ids.len() as f64;
            let expected = (per_row * self.total as f64) as usize;
            interner.reserve(expected.saturating_sub(interner.len()));
        }
        Ok(Some(ids))
    }

    /// The problems found, if any; a CSV file's rest is read first, since
    /// a problem of its shape (a ragged line…) fails it as a whole.
    fn finish(mut self) -> Result<()> {
        if let Some(csv) = self.csv.take() {
            csv.finish()?;
        }
        self.problems.into_result()
    }
}

/// Appends `row(i)`, tagged with its account, for every row of the current
/// slice whose account is known and that is `wanted` (all when `None`;
/// the others go to `dropped`); rows of unknown accounts are counted in
/// `skipped`, rows with an empty id were already reported as problems.
fn keep<T: Dated + Copy>(
    keys: &[u32],
    wanted: Option<&[bool]>,
    tagged: &mut Vec<(u32, T)>,
    dropped: &mut Dropped<T>,
    skipped: &mut usize,
    row: impl Fn(usize) -> T,
) {
    for (i, &a) in keys.iter().enumerate() {
        if a == NONE || a == EMPTY {
            *skipped += usize::from(a == NONE);
            continue;
        }
        match wanted {
            Some(w) if !w[i] => dropped.see(a, row(i)),
            _ => tagged.push((a, row(i))),
        }
    }
}

/// Drops the accounts columns `[features] exclude` names; a name the
/// table does not have is a warning (a typo must not pass silently).
fn exclude_attributes(tables: &mut Tables, exclude: &[String], file: &Path) {
    for name in exclude {
        let before = tables.accounts.attributes.len();
        tables.accounts.attributes.retain(|a| &a.name != name);
        if tables.accounts.attributes.len() == before {
            tables.warnings.push(format!(
                "[features] exclude names {name:?}, which {} has not as a categorical column; nothing excluded",
                file.display()
            ));
        }
    }
}

/// Which rows of the dated tables a caller needs kept in memory. Every row
/// is read and checked either way: problems and counts do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Need {
    /// Every row (training: monthly histories reach back to the start).
    #[default]
    Everything,
    /// Scoring as of one date S: of events and tickets, the rows dated
    /// S-(days-1) or later, and each account's latest row before them
    /// (what `recency_days` and `days_since_last_ticket` read; an event
    /// row kept for that carries no user). Features as of S are the same
    /// as from every row when `days` covers the longest window (90).
    /// `as_of: None` is the data's last day ([`Tables::last_day`]). Bounds
    /// (`first_day`, `last_day`, `coverage_start`), sources and warnings
    /// are those of the whole files; event type ids keep their first-seen
    /// order, user ids do not (only distinct counts are read).
    Window { as_of: Option<Day>, days: u32 },
}

/// How to load: Parquet slice size and which rows to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Parquet tables are read in runs of whole row groups of at least this
    /// many rows; the result does not depend on it.
    pub slice_rows: usize,
    pub need: Need,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            slice_rows: SLICE_ROWS,
            need: Need::Everything,
        }
    }
}

/// Loads and checks every table in `dir`. Fails with every problem found
/// (up to 20 per table) if any table breaks the contract.
pub fn load_dir(dir: &Path, cfg: &Config) -> Result<Tables> {
    load_dir_with(dir, cfg, &LoadOptions::default())
}

/// [`load_dir`] reading Parquet tables in runs of whole row groups of at
/// least `slice_rows` rows; the result does not depend on it.
pub fn load_dir_sliced(dir: &Path, cfg: &Config, slice_rows: usize) -> Result<Tables> {
    load_dir_with(
        dir,
        cfg,
        &LoadOptions {
            slice_rows,
            ..LoadOptions::default()
        },
    )
}

/// While a [`Need::Window`] load runs: where the window starts so far and
/// what was dropped before it.
#[derive(Debug, Clone)]
struct Window {
    as_of: Option<Day>,
    days: u32,
    /// Latest day seen so far in any table, on rows of known accounts: a
    /// lower bound of the data's last day, so the window's start only ever
    /// errs early (keeping more rows), never late.
    seen: Day,
    /// Earliest day of the rows dropped, per dated table (for the bounds).
    dropped_first: FastMap<TableKind, Day>,
}

impl Window {
    /// Rows dated before this day may be dropped.
    fn start(&self) -> Day {
        let s = self.as_of.unwrap_or(self.seen);
        s.saturating_sub(self.days.saturating_sub(1) as Day)
    }

    /// Which rows of a slice to keep (and extends `seen` first).
    fn wanted(&mut self, keys: &[u32], day: &[Option<Day>]) -> Vec<bool> {
        let known = |i: usize| keys[i] != NONE && keys[i] != EMPTY;
        if let Some(m) = (0..day.len())
            .filter(|&i| known(i))
            .filter_map(|i| day[i])
            .max()
        {
            self.seen = self.seen.max(m);
        }
        let start = self.start();
        day.iter().map(|d| d.is_none_or(|d| d >= start)).collect()
    }
}

/// Each account's latest row among those dropped, and the earliest day
/// dropped, while a table is read with a [`Window`].
struct Dropped<T> {
    latest: Vec<Option<T>>,
    first: Option<Day>,
}

impl<T: Dated + Copy> Dropped<T> {
    fn new(n_accounts: usize) -> Dropped<T> {
        Dropped {
            latest: vec![None; n_accounts],
            first: None,
        }
    }

    fn see(&mut self, account: u32, row: T) {
        let d = row.day();
        self.first = Some(self.first.map_or(d, |f| f.min(d)));
        let slot = &mut self.latest[account as usize];
        if slot.is_none_or(|r| d >= r.day()) {
            *slot = Some(row);
        }
    }

    /// Adds each account's latest dropped row to `tagged`; records the
    /// earliest dropped day for the bounds.
    fn finish(self, table: TableKind, w: &mut Window, tagged: &mut Vec<(u32, T)>) {
        tagged.extend(
            self.latest
                .into_iter()
                .enumerate()
                .filter_map(|(a, r)| r.map(|r| (a as u32, r))),
        );
        if let Some(f) = self.first {
            w.dropped_first.insert(table, f);
        }
    }
}

/// [`load_dir`] with options: slice size and which rows to keep.
pub fn load_dir_with(dir: &Path, cfg: &Config, opts: &LoadOptions) -> Result<Tables> {
    if !dir.is_dir() {
        return Err(Error::io(
            dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "data directory not found"),
        ));
    }
    let mut all = Problems::default();
    let mut paths: HashMap<TableKind, Input> = HashMap::new();
    for t in TableKind::ALL {
        match find_file(dir, t, cfg) {
            Ok(Some(p)) => {
                paths.insert(t, Input::File(p));
            }
            Ok(None) if t.required() => all.push(Problem {
                location: Location {
                    file: dir.join(format!("{}.csv", t.name())),
                    ..Default::default()
                },
                kind: ProblemKind::MissingTable,
                message: format!(
                    "required table {t} not found (expected {t}.csv or {t}.parquet in {})",
                    dir.display()
                ),
            }),
            Ok(None) => {}
            Err(Error::BadInput(ps)) => all.extend(ps),
            Err(e) => return Err(e),
        }
    }
    all.into_result()?;
    load_inputs(&paths, cfg, opts, Vec::new())
}

/// Loads where `source` points: a folder ([`load_dir_with`]) or a
/// PostgreSQL database (every table from one read-only snapshot, streamed
/// in slices of `opts.slice_rows` rows and checked as files are).
pub fn load_source_with(source: &DataSource, cfg: &Config, opts: &LoadOptions) -> Result<Tables> {
    match source {
        DataSource::Folder(dir) => load_dir_with(dir, cfg, opts),
        DataSource::Postgres(url) => {
            let mut warnings = Vec::new();
            let (session, problems) = crate::io::read::postgres::open(url, cfg, &mut warnings)?;
            problems.into_result()?;
            let inputs = session
                .tables
                .keys()
                .map(|&t| (t, Input::Db(session.clone(), t)))
                .collect();
            load_inputs(&inputs, cfg, opts, warnings)
        }
    }
}

/// Loads the tables found (accounts and subscriptions are there).
fn load_inputs(
    paths: &HashMap<TableKind, Input>,
    cfg: &Config,
    opts: &LoadOptions,
    warnings: Vec<String>,
) -> Result<Tables> {
    let slice_rows = opts.slice_rows;
    let mut tables = Tables {
        warnings,
        ..Tables::default()
    };
    // The other tables' account ids only mean something once accounts are
    // loaded, so a bad accounts table stops here; the rest are all checked.
    load_accounts(&paths[&TableKind::Accounts], cfg, &mut tables)?;
    exclude_attributes(
        &mut tables,
        &cfg.features.exclude,
        &paths[&TableKind::Accounts].path(),
    );
    let mut problems = Problems::default();
    let mut collect = |r: Result<()>| -> Result<()> {
        match r {
            Err(Error::BadInput(ps)) => {
                problems.extend(ps);
                Ok(())
            }
            other => other,
        }
    };
    collect(load_subscriptions(
        &paths[&TableKind::Subscriptions],
        cfg,
        slice_rows,
        &mut tables,
    ))?;
    let mut window = match opts.need {
        Need::Everything => None,
        Need::Window { as_of, days } => {
            let lines = tables.lines.rows.iter();
            let seen = lines
                .flat_map(|l| [Some(l.start), l.end])
                .flatten()
                .chain(tables.accounts.created.iter().copied())
                .max()
                .unwrap_or(Day::MIN);
            Some(Window {
                as_of,
                days,
                seen,
                dropped_first: FastMap::default(),
            })
        }
    };
    if let Some(p) = paths.get(&TableKind::Events) {
        collect(load_events(
            p,
            cfg,
            slice_rows,
            window.as_mut(),
            &mut tables,
        ))?;
    }
    if let Some(p) = paths.get(&TableKind::Tickets) {
        collect(load_tickets(
            p,
            cfg,
            slice_rows,
            window.as_mut(),
            &mut tables,
        ))?;
    }
    if let Some(p) = paths.get(&TableKind::Surveys) {
        collect(load_surveys(p, cfg, slice_rows, &mut tables))?;
    }
    problems.into_result()?;
    finish_bounds(&mut tables, window.as_ref());
    Ok(tables)
}

fn record_source(
    tables: &mut Tables,
    table: TableKind,
    input: &Input,
    rows: usize,
    skipped: usize,
    r: &TableReader<'_>,
) -> Result<()> {
    let blank_lines = r.blank_lines;
    let path = &input.path();
    if blank_lines > 0 {
        tables.warnings.push(format!(
            "{}: skipped {} blank line{}",
            path.display(),
            crate::error::thousands(blank_lines),
            if blank_lines == 1 { "" } else { "s" }
        ));
    }
    let (file, sha256, database) = match input {
        Input::File(p) => (
            p.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default(),
            sha256_file(p)?,
            None,
        ),
        Input::Db(s, t) => (
            s.tables[t].qualified.clone(),
            r.fingerprint.clone().unwrap_or_default(),
            Some(s.url.to_string()),
        ),
    };
    if skipped > 0 {
        tables.warnings.push(format!(
            "{}: skipped {} row{} whose account_id is not in accounts",
            path.display(),
            crate::error::thousands(skipped),
            if skipped == 1 { "" } else { "s" }
        ));
    }
    tables.sources.push(SourceFile {
        table,
        file,
        sha256,
        rows,
        skipped_unknown_account: skipped,
        database,
    });
    Ok(())
}

fn load_accounts(input: &Input, cfg: &Config, tables: &mut Tables) -> Result<()> {
    let path = &input.path();
    // Read whole: uniqueness of ids is checked across the table, and one
    // row per account is small next to the event tables.
    let mut r = TableReader::open(TableKind::Accounts, input, cfg, usize::MAX)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let ids = r.texts("account_id")?.unwrap_or_default();
    r.row_accounts = r.text_column("account_id")?;
    let created = r.days("created_at")?.unwrap_or_default();
    r.require("created_at", &created, "a date");
    let mut index: FastMap<String, u32> = FastMap::default();
    index.reserve(ids.len());
    let mut first_line: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        match id {
            None => r.report(
                i,
                "account_id",
                ProblemKind::EmptyKey,
                "expected a non-empty account id".into(),
            ),
            Some(id) => {
                if let Some(&j) = first_line.get(id.as_str()) {
                    let first = r.location(j, "account_id").line.unwrap_or(0);
                    r.report(
                        i,
                        "account_id",
                        ProblemKind::DuplicateKey,
                        format!("account_id {id:?} is not unique: it is also on line {first}"),
                    );
                } else {
                    first_line.insert(id.as_str(), i);
                    index.insert(id.clone(), index.len() as u32);
                }
            }
        }
    }
    let names = if r.has("name") {
        r.texts("name")?.unwrap_or_default()
    } else {
        vec![None; ids.len()]
    };
    // Every other column holding text is a categorical attribute; a column
    // whose values all parse as numbers is not a category and is ignored.
    let mapped: Vec<&str> = ["account_id", "created_at", "name"]
        .iter()
        .map(|c| cfg.source_column(TableKind::Accounts, c))
        .collect();
    let mut attributes = Vec::new();
    let others: Vec<String> =
        r.df.get_column_names()
            .iter()
            .map(|s| s.to_string())
            .filter(|c| !mapped.contains(&c.as_str()))
            .collect();
    for name in others {
        let text = r.df.column(&name).ok().and_then(|col| {
            let is_text = matches!(col.dtype(), DataType::String | DataType::Categorical(..));
            is_text
                .then(|| as_text(col.as_materialized_series()))
                .flatten()
        });
        let Some(text) = text else {
            tables.warnings.push(format!(
                "{}: column {name} is not text; ignored as an attribute",
                path.display()
            ));
            continue;
        };
        let vals: Vec<Option<String>> = text
            .iter()
            .map(|v| {
                v.map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            })
            .collect();
        let numeric = vals.iter().flatten().all(|v| v.parse::<f64>().is_ok())
            && vals.iter().any(Option::is_some);
        if numeric {
            tables.warnings.push(format!(
                "{}: column {name} holds numbers; ignored as an attribute",
                path.display()
            ));
            continue;
        }
        attributes.push(Attribute { name, values: vals });
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let n = ids.len();
    tables.accounts = Accounts {
        ids: ids.into_iter().map(|v| v.unwrap_or_default()).collect(),
        names,
        created: created.into_iter().map(|d| d.unwrap_or_default()).collect(),
        attributes,
        index,
    };
    // A database table is read to its end (its row count and fingerprint).
    while r.next_slice()? {}
    record_source(tables, TableKind::Accounts, input, n, 0, &r)
}

fn load_subscriptions(
    input: &Input,
    cfg: &Config,
    slice_rows: usize,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open(TableKind::Subscriptions, input, cfg, slice_rows)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut plans = Interner::default();
    let has_seats = r.has("seats");
    let mut tagged = Vec::with_capacity(r.total);
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(&tables.accounts.index)?;
        let start = r.days("start_date")?.unwrap_or_default();
        r.require("start_date", &start, "a date");
        let end = r.days("end_date")?.unwrap_or_default();
        let mrr = r.numbers("mrr")?.unwrap_or_default();
        r.require("mrr", &mrr, "a number >= 0");
        for (i, v) in mrr.iter().enumerate() {
            if let Some(x) = v {
                if *x < 0.0 {
                    r.report(
                        i,
                        "mrr",
                        ProblemKind::OutOfRange,
                        format!("expected a number >= 0, found {}", shown(*x)),
                    );
                }
            }
        }
        for i in 0..r.height() {
            if let (Some(s), Some(e)) = (start[i], end[i]) {
                if e < s {
                    r.report(
                        i,
                        "end_date",
                        ProblemKind::EndBeforeStart,
                        format!(
                            "end_date {} is before start_date {}",
                            crate::dates::format_day(e),
                            crate::dates::format_day(s)
                        ),
                    );
                }
            }
        }
        let plan = r.interned("plan", None, &mut plans, None)?;
        let seats = r.numbers("seats")?;
        if let Some(seats) = &seats {
            for (i, v) in seats.iter().enumerate() {
                if let Some(x) = v {
                    if *x < 0.0 || x.fract() != 0.0 {
                        r.report(
                            i,
                            "seats",
                            ProblemKind::OutOfRange,
                            format!("expected a whole number >= 0, found {}", shown(*x)),
                        );
                    }
                }
            }
        }
        // After a problem, later slices are still checked (for the count of
        // problems) but no longer kept.
        if r.problems.is_empty() {
            keep(
                &keys,
                None,
                &mut tagged,
                &mut Dropped::new(0),
                &mut skipped,
                |i| Line {
                    start: start[i].unwrap_or_default(),
                    end: end[i],
                    mrr: mrr[i].unwrap_or(0.0),
                    plan: plan.as_ref().map_or(NONE, |p| p[i]),
                    seats: seats.as_ref().and_then(|s| s[i]).unwrap_or(f64::NAN),
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let rows = r.total;
    tables.lines = Grouped::build(tables.accounts.len(), tagged);
    tables.plans = plans.into_names();
    tables.has_seats = has_seats;
    record_source(tables, TableKind::Subscriptions, input, rows, skipped, &r)
}

fn load_events(
    input: &Input,
    cfg: &Config,
    slice_rows: usize,
    mut window: Option<&mut Window>,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open(TableKind::Events, input, cfg, slice_rows)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut types = Interner::default();
    // User ids (millions at 1M accounts) are interned on a thread of their
    // own, a slice behind: each slice's rows are kept once the next one is
    // converted.
    let mut users = InternWorker::new(rayon::current_num_threads() > 1);
    let mut pending: Option<PendingEvents> = None;
    let has_users = r.has("user_id");
    let mut tagged = Vec::with_capacity(if window.is_some() { 0 } else { r.total });
    let mut dropped = Dropped::new(if window.is_some() {
        tables.accounts.len()
    } else {
        0
    });
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(&tables.accounts.index)?;
        let day = r.days("timestamp")?.unwrap_or_default();
        r.require("timestamp", &day, "a date or datetime");
        let wanted = window.as_mut().map(|w| w.wanted(&keys, &day));
        let event = r
            .interned("event", Some("an event type name"), &mut types, None)?
            .unwrap_or_default();
        let user = r.text_column("user_id")?;
        let has_user = user.is_some();
        if let Some(ca) = user {
            let first = (r.offset == 0).then_some(r.total);
            users.send(ca, wanted.clone(), first);
        }
        let count = r.numbers("count")?;
        if let Some(c) = &count {
            r.check_range("count", c, 0.0, f64::MAX, "a number >= 0");
        }
        if let Some(p) = pending.take() {
            p.keep(
                &mut users,
                r.problems.is_empty(),
                &mut tagged,
                &mut dropped,
                &mut skipped,
            );
        }
        pending = Some(PendingEvents {
            keys,
            day,
            wanted,
            event,
            has_user,
            count,
        });
        if !r.next_slice()? {
            break;
        }
    }
    if let Some(p) = pending.take() {
        p.keep(
            &mut users,
            r.problems.is_empty(),
            &mut tagged,
            &mut dropped,
            &mut skipped,
        );
    }
    // Only distinct counts of users are read: the interner's strings are
    // not kept.
    drop(users.finish());
    if !r.problems.is_empty() {
        return r.finish();
    }
    if let Some(w) = window {
        dropped.finish(TableKind::Events, w, &mut tagged);
    }
    let rows = r.total;
    tables.events = Some(EventTable {
        rows: Grouped::build(tables.accounts.len(), tagged),
        types: types.into_names(),
        has_users,
    });
    record_source(tables, TableKind::Events, input, rows, skipped, &r)
}

/// A slice of events converted but for its user ids (being interned).
struct PendingEvents {
    keys: Vec<u32>,
    day: Vec<Option<Day>>,
    wanted: Option<Vec<bool>>,
    event: Vec<u32>,
    has_user: bool,
    count: Option<Vec<Option<f64>>>,
}

impl PendingEvents {
    /// Takes the slice's user ids from `users` and keeps its rows (unless
    /// a problem was found: the table then fails).
    fn keep(
        self,
        users: &mut InternWorker,
        ok: bool,
        tagged: &mut Vec<(u32, Event)>,
        dropped: &mut Dropped<Event>,
        skipped: &mut usize,
    ) {
        let user = self.has_user.then(|| users.recv());
        if !ok {
            return;
        }
        let row = |i: usize| Event {
            day: self.day[i].unwrap_or_default(),
            event_type: self.event[i],
            user: user.as_ref().map_or(NONE, |u| u[i]),
            count: self.count.as_ref().and_then(|c| c[i]).unwrap_or(1.0) as f32,
        };
        keep(
            &self.keys,
            self.wanted.as_deref(),
            tagged,
            dropped,
            skipped,
            row,
        );
    }
}

fn load_tickets(
    input: &Input,
    cfg: &Config,
    slice_rows: usize,
    mut window: Option<&mut Window>,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open(TableKind::Tickets, input, cfg, slice_rows)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut tagged = Vec::with_capacity(if window.is_some() { 0 } else { r.total });
    let mut dropped = Dropped::new(if window.is_some() {
        tables.accounts.len()
    } else {
        0
    });
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(&tables.accounts.index)?;
        let day = r.days("created_at")?.unwrap_or_default();
        r.require("created_at", &day, "a date or datetime");
        let wanted = window.as_mut().map(|w| w.wanted(&keys, &day));
        let prio_txt = r.texts("priority")?;
        let mut priority = vec![Priority::Unknown; r.height()];
        if let Some(p) = &prio_txt {
            for (i, v) in p.iter().enumerate() {
                if let Some(t) = v {
                    match Priority::parse(t) {
                        Some(pr) => priority[i] = pr,
                        None => r.report(
                            i,
                            "priority",
                            ProblemKind::OutOfRange,
                            format!("expected one of low, normal, high, urgent, found {t:?}"),
                        ),
                    }
                }
            }
        }
        let csat = r.numbers("csat")?;
        if let Some(c) = &csat {
            r.check_range("csat", c, 1.0, 5.0, "a score 1..5");
        }
        let sentiment = r.numbers("sentiment")?;
        if let Some(s) = &sentiment {
            r.check_range("sentiment", s, -1.0, 1.0, "a value in -1..1");
        }
        if r.problems.is_empty() {
            keep(
                &keys,
                wanted.as_deref(),
                &mut tagged,
                &mut dropped,
                &mut skipped,
                |i| {
                    let get = |v: &Option<Vec<Option<f64>>>| {
                        v.as_ref().and_then(|v| v[i]).map_or(f32::NAN, |x| x as f32)
                    };
                    Ticket {
                        day: day[i].unwrap_or_default(),
                        priority: priority[i],
                        csat: get(&csat),
                        sentiment: get(&sentiment),
                    }
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    if let Some(w) = window {
        dropped.finish(TableKind::Tickets, w, &mut tagged);
    }
    let rows = r.total;
    tables.tickets = Some(Grouped::build(tables.accounts.len(), tagged));
    record_source(tables, TableKind::Tickets, input, rows, skipped, &r)
}

fn load_surveys(input: &Input, cfg: &Config, slice_rows: usize, tables: &mut Tables) -> Result<()> {
    let mut r = TableReader::open(TableKind::Surveys, input, cfg, slice_rows)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut tagged = Vec::with_capacity(r.total);
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(&tables.accounts.index)?;
        let day = r.days("responded_at")?.unwrap_or_default();
        r.require("responded_at", &day, "a date or datetime");
        let score = r.numbers("score")?.unwrap_or_default();
        r.require("score", &score, "an NPS score 0..10");
        r.check_range("score", &score, 0.0, 10.0, "an NPS score 0..10");
        if r.problems.is_empty() {
            keep(
                &keys,
                None,
                &mut tagged,
                &mut Dropped::new(0),
                &mut skipped,
                |i| Survey {
                    day: day[i].unwrap_or_default(),
                    score: score[i].unwrap_or_default() as f32,
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let rows = r.total;
    tables.surveys = Some(Grouped::build(tables.accounts.len(), tagged));
    record_source(tables, TableKind::Surveys, input, rows, skipped, &r)
}

/// The earliest and latest day in any table, and the first day every
/// present table covers.
fn finish_bounds(t: &mut Tables, window: Option<&Window>) {
    // Rows a window dropped still count for the bounds.
    let dropped = |table: TableKind| window.and_then(|w| w.dropped_first.get(&table).copied());
    let mut lo = Day::MAX;
    let mut hi = Day::MIN;
    let mut see = |d: Day| {
        lo = lo.min(d);
        hi = hi.max(d);
    };
    t.accounts.created.iter().for_each(|&d| see(d));
    for l in &t.lines.rows {
        see(l.start);
        if let Some(e) = l.end {
            see(e);
        }
    }
    let first = |days: &mut dyn Iterator<Item = Day>| days.min();
    let mut starts = vec![t.lines.rows.iter().map(|l| l.start).min()];
    if let Some(e) = &t.events {
        let d = dropped(TableKind::Events);
        e.rows
            .rows
            .iter()
            .map(|r| r.day)
            .chain(d)
            .for_each(&mut see);
        starts.push(first(&mut e.rows.rows.iter().map(|r| r.day).chain(d)));
    }
    if let Some(tk) = &t.tickets {
        let d = dropped(TableKind::Tickets);
        tk.rows.iter().map(|r| r.day).chain(d).for_each(&mut see);
        starts.push(first(&mut tk.rows.iter().map(|r| r.day).chain(d)));
    }
    if let Some(s) = &t.surveys {
        s.rows.iter().for_each(|r| see(r.day));
        starts.push(first(&mut s.rows.iter().map(|r| r.day)));
    }
    t.first_day = lo;
    t.last_day = hi;
    t.coverage_start = starts.into_iter().flatten().max().unwrap_or(lo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::*;

    #[test]
    fn grouping_is_stable_and_sorted_by_day() {
        let tagged = vec![
            (1, Survey { day: 5, score: 1.0 }),
            (0, Survey { day: 9, score: 2.0 }),
            (1, Survey { day: 3, score: 3.0 }),
            (1, Survey { day: 5, score: 4.0 }),
        ];
        let g = Grouped::build(3, tagged);
        assert_eq!(g.of(0).iter().map(|s| s.score).collect::<Vec<_>>(), [2.0]);
        assert_eq!(
            g.of(1).iter().map(|s| s.score).collect::<Vec<_>>(),
            [3.0, 1.0, 4.0]
        );
        assert!(g.of(2).is_empty());
        assert_eq!(g.of_as_of(1, 4).len(), 1);
        assert_eq!(g.of_as_of(1, 5).len(), 3);
    }

    /// Loads a fixture with some files replaced and returns the error text
    /// and the problems' kinds.
    fn fail(files: &[(&str, &str)]) -> (String, Vec<ProblemKind>) {
        let mut all: Vec<(&str, &str)> = vec![
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            ("events.csv", EVENTS),
            ("tickets.csv", TICKETS),
            ("surveys.csv", SURVEYS),
        ];
        for (name, text) in files {
            all.retain(|(n, _)| n != name);
            if !text.is_empty() {
                all.push((name, text));
            }
        }
        let dir = data_dir(&all);
        let err = load_dir(dir.path(), &Config::default()).expect_err("must fail");
        let kinds = err
            .problems()
            .map(|p| p.shown.iter().map(|p| p.kind).collect())
            .unwrap_or_default();
        // Paths differ per run; show them relative to the data directory.
        let text = err
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        (text, kinds)
    }

    #[test]
    fn loads_the_fixture_and_counts_rows() {
        let dir = fixture();
        let t = load(dir.path());
        assert_eq!(t.n_accounts(), 5);
        assert_eq!(t.lines.len(), 9);
        assert_eq!(t.events.as_ref().unwrap().rows.len(), 8);
        assert_eq!(t.sources.len(), 5);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.first_day, day("2023-06-01"));
    }

    #[test]
    fn rejects_missing_required_table() {
        let (msg, kinds) = fail(&[("subscriptions.csv", "")]);
        assert_eq!(kinds, [ProblemKind::MissingTable]);
        assert!(
            msg.contains("subscriptions.csv: required table subscriptions not found"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_missing_column_and_lists_what_is_there() {
        let (msg, kinds) = fail(&[(
            "subscriptions.csv",
            "account_id,start_date,end_date,plan\nA1,2024-01-01,,Pro\n",
        )]);
        assert_eq!(kinds, [ProblemKind::MissingColumn]);
        assert!(msg.contains("subscriptions.csv: column mrr: required column mrr is missing; the file has: account_id, start_date, end_date, plan"), "{msg}");
    }

    #[test]
    fn a_semicolon_separated_file_is_named_as_such() {
        let (msg, kinds) = fail(&[(
            "surveys.csv",
            "account_id;responded_at;score\nA1;2024-02-01;9\n",
        )]);
        assert_eq!(kinds, [ProblemKind::MissingColumn; 3]);
        assert!(
            msg.contains("the file has: account_id;responded_at;score (the values seem to be separated by ';': export the file with commas)"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_unparseable_date_with_line_account_and_value() {
        let bad = SUBSCRIPTIONS.replace("A2,2024-03-31,,500", "A2,31/03/2024,,500");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::BadDate]);
        assert!(msg.contains("subscriptions.csv: line 4 (account A2), column start_date: expected a date YYYY-MM-DD or an RFC 3339 datetime, found \"31/03/2024\""), "{msg}");
    }

    #[test]
    fn rejects_unparseable_number() {
        let bad = SUBSCRIPTIONS.replace("A3,2024-02-20,,50", "A3,2024-02-20,,fifty");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::BadNumber]);
        assert!(msg.contains("subscriptions.csv: line 7 (account A3), column mrr: expected a number, found \"fifty\""), "{msg}");
    }

    #[test]
    fn rejects_negative_mrr() {
        let bad = SUBSCRIPTIONS.replace("A1,2024-01-01,,100", "A1,2024-01-01,,-12.5");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        assert!(
            msg.contains("line 2 (account A1), column mrr: expected a number >= 0, found -12.5"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_end_before_start() {
        let bad = SUBSCRIPTIONS.replace("A5,2024-01-01,2024-03-31", "A5,2024-01-01,2023-12-31");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::EndBeforeStart]);
        assert!(msg.contains("line 10 (account A5), column end_date: end_date 2023-12-31 is before start_date 2024-01-01"), "{msg}");
    }

    #[test]
    fn rejects_duplicate_account_id() {
        let bad = format!("{ACCOUNTS}A3,2024-01-01,Again,SMB\n");
        let (msg, kinds) = fail(&[("accounts.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::DuplicateKey]);
        assert!(msg.contains("accounts.csv: line 7 (account A3), column account_id: account_id \"A3\" is not unique: it is also on line 4"), "{msg}");
    }

    #[test]
    fn rejects_out_of_range_csat_sentiment_and_nps() {
        let tickets = TICKETS.replace("urgent,2,-0.5", "urgent,6,-1.5");
        let surveys = SURVEYS.replace("2024-03-30,3", "2024-03-30,11");
        let (msg, kinds) = fail(&[("tickets.csv", &tickets), ("surveys.csv", &surveys)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange; 3]);
        assert!(
            msg.contains(
                "tickets.csv: line 2 (account A1), column csat: expected a score 1..5, found 6"
            ),
            "{msg}"
        );
        assert!(msg.contains("tickets.csv: line 2 (account A1), column sentiment: expected a value in -1..1, found -1.5"), "{msg}");
        assert!(msg.contains("surveys.csv: line 3 (account A1), column score: expected an NPS score 0..10, found 11"), "{msg}");
    }

    #[test]
    fn rejects_unknown_priority() {
        let (msg, kinds) = fail(&[("tickets.csv", &TICKETS.replace("low,,0.5", "p3,,0.5"))]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        assert!(
            msg.contains(
                "column priority: expected one of low, normal, high, urgent, found \"p3\""
            ),
            "{msg}"
        );
    }

    #[test]
    fn rejects_empty_required_table() {
        let (msg, kinds) = fail(&[("subscriptions.csv", "account_id,start_date,end_date,mrr\n")]);
        assert_eq!(kinds, [ProblemKind::EmptyTable]);
        assert!(
            msg.contains("subscriptions.csv: table subscriptions is required and has no rows"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_a_file_that_is_not_csv_or_parquet() {
        let (msg, kinds) = fail(&[("surveys.csv", ""), ("surveys.xlsx", "PK\u{3}\u{4}")]);
        assert_eq!(kinds, [ProblemKind::UnsupportedFormat]);
        assert!(
            msg.contains("surveys.xlsx: expected a .csv or .parquet file"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_a_corrupt_parquet_file() {
        let (msg, kinds) = fail(&[
            ("surveys.csv", ""),
            ("surveys.parquet", "not parquet at all"),
        ]);
        assert_eq!(kinds, [ProblemKind::Unreadable]);
        assert!(
            msg.contains("surveys.parquet: not a Parquet file: it does not start with the Parquet marker PAR1"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_empty_account_ids_in_other_tables() {
        let (msg, kinds) = fail(&[("events.csv", &format!("{EVENTS},2024-03-01,login,u1,1\n"))]);
        assert_eq!(kinds, [ProblemKind::EmptyKey]);
        assert!(
            msg.contains("events.csv: line 10, column account_id: expected an account id"),
            "{msg}"
        );
    }

    #[test]
    fn reports_up_to_twenty_problems_and_counts_the_rest() {
        let mut bad = String::from("account_id,start_date,end_date,mrr\n");
        for i in 1..=45 {
            bad.push_str(&format!("A1,2024-01-{:02},,-{i}\n", i % 28 + 1));
        }
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds.len(), 20);
        assert!(msg.starts_with("45 problems in the input data:"), "{msg}");
        assert!(msg.ends_with("… and 25 more like this"), "{msg}");
    }

    #[test]
    fn problems_in_several_tables_are_reported_together() {
        let events = EVENTS.replace("2024-03-15,report", "2024-13-15,report");
        let surveys = SURVEYS.replace("2024-03-30,3", "2024-03-30,x");
        let (msg, kinds) = fail(&[("events.csv", &events), ("surveys.csv", &surveys)]);
        assert_eq!(kinds, [ProblemKind::BadDate, ProblemKind::BadNumber]);
        assert!(
            msg.contains("events.csv: line 3 (account A1), column timestamp"),
            "{msg}"
        );
        assert!(
            msg.contains("surveys.csv: line 3 (account A1), column score"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_accounts_are_skipped_counted_and_warned() {
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            (
                "events.csv",
                &format!("{EVENTS}ZZ,2024-03-01,login,u1,1\nZZ,2024-03-02,login,u1,1\n"),
            ),
        ]);
        let t = load(dir.path());
        assert_eq!(t.events.as_ref().unwrap().rows.len(), 8);
        let src = t
            .sources
            .iter()
            .find(|s| s.table == TableKind::Events)
            .unwrap();
        assert_eq!(src.skipped_unknown_account, 2);
        assert!(
            t.warnings[0]
                .ends_with("events.csv: skipped 2 rows whose account_id is not in accounts"),
            "{:?}",
            t.warnings
        );
    }

    #[test]
    fn windows_1252_names_load_when_the_config_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = b"account_id,created_at,name,segment\n".to_vec();
        accounts.extend_from_slice(b"A1,2024-01-01,Caf\xE9 du Nord,SMB\n");
        std::fs::write(dir.path().join("accounts.csv"), &accounts).unwrap();
        std::fs::write(
            dir.path().join("subscriptions.csv"),
            "account_id,start_date,end_date,mrr\nA1,2024-01-01,,10\n",
        )
        .unwrap();
        let err = load_dir(dir.path(), &Config::default()).expect_err("not UTF-8");
        assert_eq!(
            err.problems().unwrap().shown[0].kind,
            ProblemKind::Unreadable
        );
        assert!(
            err.to_string().contains(
                "accounts.csv: line 2 (account A1), column name: the value is not valid UTF-8"
            ),
            "{err}"
        );
        let cfg: Config =
            toml::from_str("[files]\naccounts = { encoding = \"windows-1252\" }\n").unwrap();
        let t = load_dir(dir.path(), &cfg).unwrap();
        assert_eq!(t.accounts.names[0].as_deref(), Some("Café du Nord"));
    }

    #[test]
    fn blank_lines_are_skipped_warned_and_later_lines_keep_their_numbers() {
        let tickets = TICKETS.replace("A1,2024-01-01,high", "\nA1,2024-01-01,high");
        let tickets = tickets.replace("low,,0.5", "p3,,0.5") + "\n\n";
        let (msg, kinds) = fail(&[("tickets.csv", &tickets)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        // The bad row is the file's line 5: the blank line 3 counts.
        assert!(
            msg.contains("tickets.csv: line 5 (account A1), column priority"),
            "{msg}"
        );
        let tickets = TICKETS.replace("A1,2024-01-01,high", "\nA1,2024-01-01,high") + "\n";
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            ("tickets.csv", &tickets),
        ]);
        let t = load(dir.path());
        assert_eq!(t.tickets.as_ref().unwrap().len(), 4);
        assert!(
            t.warnings[0].ends_with("tickets.csv: skipped 2 blank lines"),
            "{:?}",
            t.warnings
        );
    }

    #[test]
    fn config_maps_user_column_names() {
        let dir = data_dir(&[
            (
                "accounts.csv",
                &ACCOUNTS.replace("account_id,created_at", "Id,CreatedDate"),
            ),
            ("subscriptions.csv", SUBSCRIPTIONS),
        ]);
        let cfg: Config = toml::from_str(
            "[columns.accounts]\naccount_id = \"Id\"\ncreated_at = \"CreatedDate\"\n",
        )
        .unwrap();
        let t = load_dir(dir.path(), &cfg).unwrap();
        assert_eq!(t.n_accounts(), 5);
        assert!(t.accounts.attribute("segment").is_some());
        assert!(
            t.accounts.attribute("Id").is_none(),
            "mapped key is not an attribute"
        );
    }
}

#[cfg(test)]
mod slice_tests {
    use super::*;
    use crate::synth::{generate_to_dir, SynthFormat, SynthParams};
    use std::fs::File;

    /// 120 generated accounts over 8 months, in `format`.
    pub(super) fn small_synth(seed: u64, format: SynthFormat) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = SynthParams {
            accounts: 120,
            months: 8,
            seed,
            ..SynthParams::default()
        };
        generate_to_dir(&p.check().unwrap(), dir.path(), format).unwrap();
        dir
    }

    /// A small synthetic data set, all Parquet, rewritten in row groups of
    /// 31 rows.
    fn many_row_groups() -> tempfile::TempDir {
        let dir = small_synth(3, SynthFormat::Parquet);
        for table in ["accounts", "subscriptions", "events", "tickets", "surveys"] {
            let path = dir.path().join(format!("{table}.parquet"));
            let mut df = ParquetReader::new(File::open(&path).unwrap())
                .finish()
                .unwrap();
            ParquetWriter::new(File::create(&path).unwrap())
                .with_row_group_size(Some(31))
                .finish(&mut df)
                .unwrap();
        }
        dir
    }

    fn row_groups(path: &Path) -> usize {
        let mut r = ParquetReader::new(File::open(path).unwrap());
        r.get_metadata().unwrap().row_groups.len()
    }

    #[test]
    fn slices_do_not_change_the_tables() {
        let dir = many_row_groups();
        assert!(row_groups(&dir.path().join("events.parquet")) > 10);
        assert!(row_groups(&dir.path().join("subscriptions.parquet")) > 2);
        let cfg = Config::default();
        let whole = load_dir_sliced(dir.path(), &cfg, usize::MAX).unwrap();
        for slice_rows in [1, 500, 4_000] {
            let sliced = load_dir_sliced(dir.path(), &cfg, slice_rows).unwrap();
            // Everything, interned ids and their first-seen order included.
            assert_eq!(
                format!("{sliced:?}"),
                format!("{whole:?}"),
                "slice_rows {slice_rows}"
            );
        }
        let events = whole.events.as_ref().unwrap();
        assert!(events.rows.len() > 1_000, "{}", events.rows.len());
        assert!(events.has_users);
        assert!(whole.has_seats);
    }

    #[test]
    fn a_bad_value_in_a_later_slice_names_its_file_row_and_account() {
        let dir = many_row_groups();
        let path = dir.path().join("events.parquet");
        let mut df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        let n = df.height();
        let bad = n - 5; // 0-based, well past the first slices
        let account = df
            .column("account_id")
            .unwrap()
            .str()
            .unwrap()
            .get(bad)
            .unwrap()
            .to_string();
        let count: Float64Chunked = df
            .column("count")
            .unwrap()
            .cast(&DataType::Float64)
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| if i == bad { Some(-2.0) } else { v })
            .collect();
        df.replace(
            "count",
            count.into_series().with_name("count".into()).into(),
        )
        .unwrap();
        ParquetWriter::new(File::create(&path).unwrap())
            .with_row_group_size(Some(100))
            .finish(&mut df)
            .unwrap();
        assert!(row_groups(&path) > 10);
        let err = load_dir_sliced(dir.path(), &Config::default(), 150).expect_err("must fail");
        let msg = err.to_string();
        let want = format!(
            "events.parquet: row {} (account {account}), column count: expected a number >= 0, found -2",
            bad + 1
        );
        assert!(msg.contains(&want), "{msg}\nwanted: {want}");
    }
}

#[cfg(test)]
mod csv_slice_tests {
    //! CSV files read in chunks give the tables of reading them whole, and
    //! a bad value in the last of many chunks still names its file line,
    //! account and column.
    use super::*;
    use crate::synth::SynthFormat;

    fn csv_data() -> tempfile::TempDir {
        super::slice_tests::small_synth(5, SynthFormat::Csv)
    }

    /// Rewrites `table`.csv with a quoted field holding a line break in its
    /// first row and blank lines every 500 lines (so file lines are not
    /// rows + 1), then `edit` on each data record (0-based) and its fields.
    fn rewrite(dir: &Path, table: &str, edit: impl Fn(usize, &mut Vec<String>)) {
        let path = dir.join(format!("{table}.csv"));
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            if i == 0 {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            let mut fields: Vec<String> = line.split(',').map(str::to_string).collect();
            if i == 1 {
                fields[0] = format!("\"{}\"", fields[0]);
                let last = fields.len() - 1;
                fields[last] = format!("\"{}\r\n\"", fields[last]);
            }
            edit(i - 1, &mut fields);
            out.push_str(&fields.join(","));
            out.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
            if i % 500 == 0 {
                out.push_str("\n  \n");
            }
        }
        std::fs::write(&path, out).unwrap();
    }

    #[test]
    fn chunks_do_not_change_the_tables() {
        let dir = csv_data();
        // The quoted line break goes into a user id and a ticket's priority
        // would not parse: only events get it.
        rewrite(dir.path(), "events", |_, _| {});
        let cfg = Config::default();
        let whole = load_dir_sliced(dir.path(), &cfg, usize::MAX).unwrap();
        let events = whole.events.as_ref().unwrap();
        assert!(events.rows.len() > 5_000, "{}", events.rows.len());
        assert!(whole.warnings.iter().any(|w| w.contains("blank line")));
        for slice_rows in [1, 37, 2_000] {
            let sliced = load_dir_sliced(dir.path(), &cfg, slice_rows).unwrap();
            assert_eq!(
                format!("{sliced:?}"),
                format!("{whole:?}"),
                "slice_rows {slice_rows}"
            );
        }
        // And in one thread, where no slice is read ahead.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let one = pool.install(|| load_dir_sliced(dir.path(), &cfg, 37).unwrap());
        assert_eq!(format!("{one:?}"), format!("{whole:?}"));
    }

    #[test]
    fn a_bad_value_in_the_last_chunk_names_its_file_line_account_and_column() {
        let dir = csv_data();
        let path = dir.path().join("events.csv");
        let n = std::fs::read_to_string(&path).unwrap().lines().count() - 1;
        let bad = n - 3; // 0-based record, in the last chunk
        rewrite(dir.path(), "events", |i, f| {
            if i == bad {
                f[4] = "-2".into();
            }
        });
        // Its line: header, records, the quoted line break, blank lines.
        let text = std::fs::read_to_string(&path).unwrap();
        let line = 1 + text
            .split_inclusive('\n')
            .position(|l| l.contains(",-2"))
            .unwrap();
        let account = text.split_inclusive('\n').nth(line - 1).unwrap();
        let account = account.split(',').next().unwrap();
        assert!(line > bad + 2 + 2, "line {line}, record {bad}");
        for slice_rows in [usize::MAX, 40] {
            let err =
                load_dir_sliced(dir.path(), &Config::default(), slice_rows).expect_err("must fail");
            let msg = err.to_string();
            let want = format!(
                "events.csv: line {line} (account {account}), column count: expected a number >= 0, found -2"
            );
            assert!(msg.contains(&want), "{msg}\nwanted: {want}");
            assert!(msg.starts_with("1 problem"), "{msg}");
        }
        // A ragged line near the end fails the file as a whole, as when
        // it was read whole: the bad value is not reported beside it.
        let dir = csv_data();
        rewrite(dir.path(), "events", |i, f| {
            if i == bad {
                f[4] = "-2".into();
            }
            if i == n - 2 {
                f.push("extra".into());
            }
        });
        for slice_rows in [usize::MAX, 40] {
            let msg = load_dir_sliced(dir.path(), &Config::default(), slice_rows)
                .expect_err("must fail")
                .to_string();
            assert!(msg.starts_with("1 problem"), "{msg}");
            assert!(msg.contains("6 fields, but the header has 5"), "{msg}");
        }
    }
}

#[cfg(test)]
mod read_path_tests {
    //! The read path's shortcuts change nothing: strings looked up once per
    //! view give the tables of a lookup per row, and a scoring window gives
    //! the features (and bounds, sources, warnings) of every row.
    use super::*;
    use crate::config::SnapshotParams;
    use crate::snapshot::{features_as_of, timelines, FeatureSpec, LONGEST_WINDOW_DAYS};
    use crate::synth::{generate_to_dir, SynthFormat, SynthParams};
    use std::fs::File;

    fn read(path: &Path) -> DataFrame {
        ParquetReader::new(File::open(path).unwrap())
            .finish()
            .unwrap()
    }

    fn write(path: &Path, df: &mut DataFrame, row_group: usize) {
        ParquetWriter::new(File::create(path).unwrap())
            .with_row_group_size(Some(row_group))
            .finish(df)
            .unwrap();
    }

    fn replace_text(
        df: &mut DataFrame,
        name: &str,
        f: impl Fn(usize, Option<&str>) -> Option<String>,
    ) {
        let ca: StringChunked = df
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| f(i, v))
            .collect();
        df.replace(name, ca.into_series().with_name(name.into()).into())
            .unwrap();
    }

    /// Generated Parquet data with what a real export throws at the reader:
    /// account ids longer than 12 bytes (string views that point into
    /// buffers, not inline), rows in no particular order, row groups of 31
    /// rows (accounts span many; polars writes dictionary pages for the
    /// repetitive columns and plain ones where a dictionary does not pay),
    /// null users and counts, rows of unknown accounts and an account with
    /// no events at all before a long silence.
    fn edge_cases() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = SynthParams {
            accounts: 150,
            months: 10,
            seed: 11,
            ..SynthParams::default()
        };
        generate_to_dir(&p.check().unwrap(), dir.path(), SynthFormat::Parquet).unwrap();
        let long = |_: usize, v: Option<&str>| v.map(|v| format!("customer-account-{v}"));
        for table in ["accounts", "subscriptions", "events", "tickets", "surveys"] {
            let path = dir.path().join(format!("{table}.parquet"));
            let mut df = read(&path);
            replace_text(&mut df, "account_id", long);
            if table == "events" || table == "tickets" {
                // A fixed shuffle: every 7th row first, then the rest backwards.
                let n = df.height() as u32;
                let order: Vec<u32> = (0..n)
                    .step_by(7)
                    .chain((0..n).rev().filter(|i| i % 7 != 0))
                    .collect();
                df = df.take(&IdxCa::from_vec("i".into(), order)).unwrap();
                // Rows of an account that is not in accounts.
                replace_text(&mut df, "account_id", |i, v| {
                    if i % 97 == 5 {
                        Some("customer-account-unknown".into())
                    } else {
                        v.map(str::to_string)
                    }
                });
            }
            if table == "events" {
                replace_text(&mut df, "user_id", |i, v| {
                    if i % 13 == 3 {
                        None
                    } else {
                        v.map(str::to_string)
                    }
                });
                let count: Float64Chunked = df
                    .column("count")
                    .unwrap()
                    .cast(&DataType::Float64)
                    .unwrap()
                    .f64()
                    .unwrap()
                    .iter()
                    .enumerate()
                    .map(|(i, v)| if i % 11 == 4 { None } else { v })
                    .collect();
                df.replace(
                    "count",
                    count.into_series().with_name("count".into()).into(),
                )
                .unwrap();
            }
            write(&path, &mut df, 31);
        }
        dir
    }

    fn by_text<T>(f: impl FnOnce() -> T) -> T {
        BY_TEXT.with(|b| b.set(true));
        let out = f();
        BY_TEXT.with(|b| b.set(false));
        out
    }

    fn demo() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("datasets/demo")
    }

    #[test]
    fn strings_looked_up_once_per_view_give_the_tables_of_a_lookup_per_row() {
        let dir = edge_cases();
        let cfg = Config::default();
        for (data, slice_rows) in [
            (dir.path().to_path_buf(), 100),
            (dir.path().to_path_buf(), usize::MAX),
            (demo(), SLICE_ROWS),
        ] {
            let old = by_text(|| load_dir_sliced(&data, &cfg, slice_rows).unwrap());
            let new = load_dir_sliced(&data, &cfg, slice_rows).unwrap();
            assert_eq!(format!("{new:?}"), format!("{old:?}"), "{}", data.display());
        }
        let t = load_dir(dir.path(), &cfg).unwrap();
        let ev = t.events.as_ref().unwrap();
        assert!(
            ev.rows.rows.iter().any(|e| e.user == NONE),
            "null users kept as none"
        );
        assert!(t.sources.iter().all(|s| s.table == TableKind::Accounts
            || s.table == TableKind::Subscriptions
            || s.table == TableKind::Surveys
            || s.skipped_unknown_account > 0));
    }

    /// User ids interned on their own thread (a slice behind) give the
    /// tables of interning them inline, as `--threads 1` does: edge cases
    /// in slices of 100 rows, whole, in a scoring window, and the demo.
    #[test]
    fn the_interning_thread_gives_the_tables_of_one_thread() {
        let dir = edge_cases();
        let cfg = Config::default();
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        let window = Need::Window {
            as_of: None,
            days: LONGEST_WINDOW_DAYS,
        };
        for (data, slice_rows, need) in [
            (dir.path().to_path_buf(), 100, Need::Everything),
            (dir.path().to_path_buf(), usize::MAX, Need::Everything),
            (dir.path().to_path_buf(), 100, window),
            (demo(), SLICE_ROWS, Need::Everything),
        ] {
            let opts = LoadOptions { slice_rows, need };
            let one = pool(1).install(|| load_dir_with(&data, &cfg, &opts).unwrap());
            let two = pool(2).install(|| load_dir_with(&data, &cfg, &opts).unwrap());
            assert_eq!(format!("{two:?}"), format!("{one:?}"), "{}", data.display());
            assert!(two
                .events
                .as_ref()
                .unwrap()
                .rows
                .rows
                .iter()
                .any(|e| e.user != NONE));
        }
    }

    /// Every field but the rows a window drops (and the user ids it does
    /// not intern): bounds, sources, warnings, accounts, lines, surveys.
    fn same_outside_the_window(win: &Tables, all: &Tables) {
        assert_eq!(
            (win.first_day, win.last_day, win.coverage_start),
            (all.first_day, all.last_day, all.coverage_start)
        );
        assert_eq!(win.sources, all.sources);
        assert_eq!(win.warnings, all.warnings);
        assert_eq!(format!("{:?}", win.accounts), format!("{:?}", all.accounts));
        assert_eq!(format!("{:?}", win.lines), format!("{:?}", all.lines));
        assert_eq!(format!("{:?}", win.surveys), format!("{:?}", all.surveys));
        assert_eq!(
            win.events.as_ref().map(|e| &e.types),
            all.events.as_ref().map(|e| &e.types)
        );
    }

    #[test]
    fn a_scoring_window_gives_the_features_of_every_row() {
        let dir = edge_cases();
        let cfg = Config::default();
        let all = load_dir(dir.path(), &cfg).unwrap();
        let params = SnapshotParams::default();
        let tl = timelines(&all, params.grace_days);
        for (as_of, slice_rows) in [
            (None, SLICE_ROWS),
            (None, 40),
            (Some(all.last_day), 40),
            (Some(all.last_day - 75), 40),
            (Some(all.last_day - 200), SLICE_ROWS),
        ] {
            let need = Need::Window {
                as_of,
                days: LONGEST_WINDOW_DAYS,
            };
            let win = load_dir_with(dir.path(), &cfg, &LoadOptions { slice_rows, need }).unwrap();
            same_outside_the_window(&win, &all);
            let n_win = win.events.as_ref().unwrap().rows.len();
            let n_all = all.events.as_ref().unwrap().rows.len();
            assert!(n_win < n_all, "the window keeps {n_win} of {n_all} events");
            let s = as_of.unwrap_or(win.last_day);
            let spec = FeatureSpec::fit(&all, s, params.clone());
            let want = features_as_of(&all, &tl, &[s], &spec).unwrap();
            let got =
                features_as_of(&win, &timelines(&win, params.grace_days), &[s], &spec).unwrap();
            assert!(want.n_rows() > 50);
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "as of {s}");
        }
    }

    #[test]
    fn the_demo_scores_the_same_from_its_window() {
        let cfg = Config::default();
        let bundle = crate::bundle::Bundle::load(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo"),
        )
        .unwrap();
        let all = load_dir(&demo(), &cfg).unwrap();
        let need = Need::Window {
            as_of: None,
            days: LONGEST_WINDOW_DAYS,
        };
        let win = load_dir_with(
            &demo(),
            &cfg,
            &LoadOptions {
                need,
                ..LoadOptions::default()
            },
        )
        .unwrap();
        same_outside_the_window(&win, &all);
        let p = crate::score::ScoreParams::new(all.last_day, 512).unwrap();
        let a = crate::score::score(&all, &bundle, p).unwrap();
        let b = crate::score::score(&win, &bundle, p).unwrap();
        assert!(!a.rows.is_empty());
        assert_eq!(format!("{:?}", b.rows), format!("{:?}", a.rows));
        assert_eq!(format!("{:?}", b.frame), format!("{:?}", a.frame));
    }
}
