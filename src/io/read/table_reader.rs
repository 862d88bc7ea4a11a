//! One table read a slice at a time, whatever its source: [`Input`] says
//! where (a file, or a PostgreSQL table), [`TableReader`] opens it, checks
//! its header (required columns, an empty required table) and hands out its
//! slices in file order (`open`, `next_slice`; Parquet slices are decoded
//! ahead on another thread, `start_prefetch`). Converting the cells of a
//! slice is `io::parse`'s; what a table's values must be is `io::rules`'.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use super::ahead::{first_slice, Opening};
use super::csv::{CsvSlices, CsvStream, BYTES_PER_ROW};
use super::parquet::{read_parquet, undecodable_rows};
use super::postgres::{Session, TableStream};
use crate::config::Config;
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
use crate::io::parse::problem;
use crate::io::schema::TableKind;

/// Where one table is read from.
#[derive(Clone)]
pub(in crate::io) enum Input {
    File(PathBuf),
    Db(std::sync::Arc<Session>, TableKind),
}

impl Input {
    /// What locations and warnings name: the file, or `postgres table schema.name`.
    pub(in crate::io) fn path(&self) -> PathBuf {
        match self {
            Input::File(p) => p.clone(),
            Input::Db(s, t) => s.tables[t].location_name(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::io) enum FileKind {
    Csv,
    Parquet,
    Postgres,
}

/// When a CSV header reads as one column holding `;` or tabs, the file
/// was most likely exported with another separator (Excel does so in many
/// locales): say so rather than leave a puzzle.
pub(in crate::io) fn delimiter_hint(header: &[String]) -> String {
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

/// The sha256 of a file's bytes, as lowercase hex (for the sources'
/// fingerprint in bundles and manifests).
pub(in crate::io) fn sha256_file(path: &Path) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h).map_err(|e| Error::io(path, e))?;
    Ok(format!("{:x}", h.finalize()))
}

pub(in crate::io) fn file_kind(path: &Path) -> Result<FileKind> {
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

/// A Parquet slice being decoded ahead: the thread decoding it (none with
/// one thread: read when needed) and its row range `(offset, len)`.
pub(in crate::io) type Prefetch = (
    Option<std::thread::JoinHandle<Result<DataFrame>>>,
    (usize, usize),
);

/// One table being read, a slice at a time: its file, the current slice's
/// frame and the problems found so far (across slices). Row indices in the
/// methods are within the slice; locations add the slice's offset.
pub(in crate::io) struct TableReader<'a> {
    pub(in crate::io) table: TableKind,
    pub(in crate::io) path: PathBuf,
    pub(in crate::io) df: DataFrame,
    pub(in crate::io) kind: FileKind,
    /// Row ranges still to read after the current one (Parquet only).
    pub(in crate::io) rest: std::collections::VecDeque<(usize, usize)>,
    /// The next slice, being decoded on another thread while this one is
    /// converted: decoding (polars) and converting (ours) take about as
    /// long, so overlapping them hides most of the decoding. With one
    /// thread (`--threads 1`) it is read when needed instead.
    pub(in crate::io) prefetch: Option<Prefetch>,
    /// The table's slices as the connection sends them (PostgreSQL only).
    pub(in crate::io) stream: Option<TableStream>,
    /// The sha256 of the table's COPY stream, once read (PostgreSQL only).
    pub(in crate::io) fingerprint: Option<String>,
    /// The sha256 of the file's bytes, being computed on another thread
    /// while the table is read (files only, with more than one thread;
    /// else computed when asked for, see [`Self::file_sha256`]).
    pub(in crate::io) file_sha256: Option<std::sync::mpsc::Receiver<Result<String>>>,
    /// The rest of a CSV file, read a slice at a time (until its end).
    pub(in crate::io) csv: Option<crate::io::csv::CsvSlices>,
    /// The line of each row of the current slice (CSV only).
    pub(in crate::io) lines: crate::io::csv::LineMap,
    /// Blank lines skipped (CSV only).
    pub(in crate::io) blank_lines: usize,
    /// Columns reported as a whole (wrong type), so their cells are not
    /// also reported one by one.
    pub(in crate::io) bad_columns: std::collections::HashSet<&'static str>,
    /// File row of the current slice's first row.
    pub(in crate::io) offset: usize,
    /// Rows in the whole file (of a CSV file, estimated until it is read
    /// to its end: only buffer sizes read it before).
    pub(in crate::io) total: usize,
    pub(in crate::io) cfg: &'a Config,
    pub(in crate::io) problems: Problems,
    /// The account_id column as text, for locations in problem messages.
    pub(in crate::io) row_accounts: Option<StringChunked>,
    /// Cells already reported, so an unparseable value is not also
    /// reported as missing.
    pub(in crate::io) reported: std::collections::HashSet<(usize, &'static str)>,
}

impl<'a> TableReader<'a> {
    /// Opens `path` and reads its first slice: runs of whole row groups of
    /// at least `slice_rows` rows (Parquet), the records of a chunk of
    /// about `slice_rows` x [`BYTES_PER_ROW`] bytes (CSV); the whole file
    /// with `usize::MAX`. Missing required columns and an empty required
    /// table are problems.
    pub(in crate::io) fn open(
        table: TableKind,
        input: &Input,
        cfg: &'a Config,
        slice_rows: usize,
    ) -> Result<TableReader<'a>> {
        Self::open_with(table, input, cfg, slice_rows, Opening::default())
    }

    /// [`Self::open`] taking what was started early for the table
    /// (`crate::io::read::ahead`): its first slice and its file's sha256,
    /// which must be of `input` read in slices of `slice_rows` rows.
    pub(in crate::io) fn open_with(
        table: TableKind,
        input: &Input,
        cfg: &'a Config,
        slice_rows: usize,
        early: Opening,
    ) -> Result<TableReader<'a>> {
        let path = input.path();
        let kind = match input {
            Input::File(p) => file_kind(p)?,
            Input::Db(..) => FileKind::Postgres,
        };
        let file_sha256 = match (input, early.sha256) {
            (Input::File(_), Some(started)) => Some(started),
            (Input::File(p), None) if rayon::current_num_threads() > 1 => {
                let (tx, rx) = std::sync::mpsc::channel();
                let p = p.clone();
                std::thread::spawn(move || tx.send(sha256_file(&p)));
                Some(rx)
            }
            _ => None,
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
                // Started early, else (or if its thread is gone) here.
                let started = early.first.and_then(|rx| rx.recv().ok());
                let (slices, total, df) =
                    started.unwrap_or_else(|| first_slice(&path, slice_rows))?;
                let mut rest: std::collections::VecDeque<_> = slices.into();
                rest.pop_front();
                (df, rest, total)
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
            file_sha256,
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

    /// The sha256 of the file at `path` (this reader's), as lowercase hex.
    pub(in crate::io) fn file_sha256(&mut self, path: &Path) -> Result<String> {
        // Computed on another thread, else (or if it is gone) here.
        match self.file_sha256.take().and_then(|rx| rx.recv().ok()) {
            Some(sha256) => sha256,
            None => sha256_file(path),
        }
    }

    /// Rows in the current slice.
    pub(in crate::io) fn height(&self) -> usize {
        self.df.height()
    }

    /// Moves to the next slice; false when the file is done. Row indices
    /// restart at 0 in the new slice.
    pub(in crate::io) fn next_slice(&mut self) -> Result<bool> {
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
    pub(in crate::io) fn start_prefetch(&mut self) {
        if let Some(slice) = self.rest.pop_front() {
            let path = self.path.clone();
            let thread = (rayon::current_num_threads() > 1)
                .then(|| std::thread::spawn(move || read_parquet(&path, slice)));
            self.prefetch = Some((thread, slice));
        }
    }

    /// The problems found, if any; a CSV file's rest is read first, since
    /// a problem of its shape (a ragged line…) fails it as a whole.
    pub(in crate::io) fn finish(mut self) -> Result<()> {
        if let Some(csv) = self.csv.take() {
            csv.finish()?;
        }
        self.problems.into_result()
    }
}

#[cfg(test)]
mod slice_tests {
    use super::*;
    use crate::io::load::*;
    use crate::io::read::parquet::rewrite_with_column;
    use crate::synth::SynthFormat;
    use std::fs::File;

    /// 120 generated accounts over 8 months, in `format`.
    pub(super) fn small_synth(seed: u64, format: SynthFormat) -> tempfile::TempDir {
        crate::testutil::synth_dir(120, 8, seed, format)
    }

    /// A small synthetic data set, all Parquet, rewritten in row groups of
    /// 31 rows.
    fn many_row_groups() -> tempfile::TempDir {
        let dir = small_synth(3, SynthFormat::Parquet);
        crate::io::read::parquet::rewrite_in_row_groups(dir.path(), 31);
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
        // Writes `count` (in 100-row row groups) and returns the load's
        // error message, checked to name the bad row's file row, account
        // and column with `expected`.
        let fails_with = |df: &mut DataFrame, count: Float64Chunked, expected: &str| {
            rewrite_with_column(&path, df, "count", count.into_series(), 100);
            assert!(row_groups(&path) > 10);
            let msg = load_dir_sliced(dir.path(), &Config::default(), 150)
                .expect_err("must fail")
                .to_string();
            let want = format!(
                "events.parquet: row {} (account {account}), column count: {expected}",
                bad + 1
            );
            assert!(msg.contains(&want), "{msg}\nwanted: {want}");
            msg
        };
        let count = crate::testutil::floats_with(&df, "count", bad, -2.0);
        fails_with(&mut df, count, "expected a number >= 0, found -2");
        // A number that is not finite, in a column without nulls (read a
        // chunk at a time), deep in the file: its row and account too.
        let count: Float64Chunked = df
            .column("count")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, v)| match i {
                _ if i == bad => Some(f64::INFINITY),
                _ => Some(v.unwrap_or(1.0)),
            })
            .collect();
        let msg = fails_with(&mut df, count, "expected a number, found inf");
        assert!(msg.starts_with("1 problem"), "{msg}");
    }
}

#[cfg(test)]
mod csv_slice_tests {
    //! CSV files read in chunks give the tables of reading them whole, and
    //! a bad value in the last of many chunks still names its file line,
    //! account and column.
    use super::*;
    use crate::io::load::*;
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
