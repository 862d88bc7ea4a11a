//! Cells -> typed values: a slice's columns read as text, days, numbers,
//! account keys or interned ids (methods of `io::read`'s [`TableReader`]),
//! every failure a [`Problem`] positioned by file, line, account and column,
//! up to [`crate::error::MAX_PROBLEMS`] per table. Says nothing of which
//! columns a table has or what ranges its values keep (see `io::rules`).

use polars::prelude::*;

use crate::dates::{parse_day, Day};
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
use crate::io::group::{
    for_each_view, intern_column_into, AccountIndex, Interner, ViewCache, EMPTY, NONE,
};
use crate::io::read::{FileKind, TableReader};

pub(crate) fn problem(location: Location, kind: ProblemKind, message: String) -> Error {
    let mut ps = Problems::default();
    ps.push(Problem {
        location,
        kind,
        message,
    });
    Error::BadInput(ps)
}

/// A column as text (numbers and dates rendered as text); None for types
/// that have no sensible text form here (lists, structs, binary).
pub(in crate::io) fn as_text(s: &Series) -> Option<StringChunked> {
    match s.dtype() {
        DataType::List(_) | DataType::Struct(_) | DataType::Binary | DataType::BinaryOffset => None,
        _ => s.cast(&DataType::String).ok()?.str().ok().cloned(),
    }
}

const NS_PER_DAY: i64 = 86_400_000_000_000;
const US_PER_DAY: i64 = 86_400_000_000;
const MS_PER_DAY: i64 = 86_400_000;

/// A number as a message shows it: as written at everyday sizes, in
/// exponent form when huge or tiny (`1e300`, not 301 digits).
pub(in crate::io) fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// How a polars type reads in a message.
pub(in crate::io) fn dtype_words(dt: &DataType) -> String {
    match dt {
        DataType::List(_) => "list".into(),
        DataType::Struct(_) => "struct".into(),
        DataType::Binary | DataType::BinaryOffset => "binary".into(),
        DataType::Null => "null".into(),
        other => other.to_string(),
    }
}

/// The cells of one column, whatever its physical type.
pub(in crate::io) enum Cells {
    Text(StringChunked),
    Date(Int32Chunked),
    Datetime(Int64Chunked, i64),
    Num(Float64Chunked),
    /// A type we cannot read as any of those (list, struct, binary); the
    /// column was reported.
    Unsupported,
}

impl TableReader<'_> {
    pub(in crate::io) fn has(&self, ours: &str) -> bool {
        self.df
            .column(self.cfg.source_column(self.table, ours))
            .is_ok()
    }

    pub(in crate::io) fn location(&self, row: usize, ours: &str) -> Location {
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

    pub(in crate::io) fn report(
        &mut self,
        row: usize,
        ours: &'static str,
        kind: ProblemKind,
        message: String,
    ) {
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
    pub(in crate::io) fn series(&self, ours: &str) -> Option<Series> {
        let src = self.cfg.source_column(self.table, ours);
        let col = self.df.column(src).ok()?;
        Some(col.as_materialized_series().clone())
    }

    /// Reports a whole column that cannot hold what we expect (a Parquet
    /// column of the wrong type): once, not once per slice or per row.
    pub(in crate::io) fn bad_column(&mut self, ours: &'static str, found: &str, expected: &str) {
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

    pub(in crate::io) fn cells(&mut self, ours: &'static str, expected: &str) -> Option<Cells> {
        let s = self.series(ours)?;
        let cells = match s.dtype() {
            DataType::String => s.str().ok().map(|c| Cells::Text(c.clone())),
            DataType::Date => s.date().ok().map(|c| Cells::Date(c.physical().clone())),
            DataType::Datetime(tu, _) => {
                let per_day: i64 = match tu {
                    TimeUnit::Nanoseconds => NS_PER_DAY,
                    TimeUnit::Microseconds => US_PER_DAY,
                    TimeUnit::Milliseconds => MS_PER_DAY,
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
    pub(in crate::io) fn texts(
        &mut self,
        ours: &'static str,
    ) -> Result<Option<Vec<Option<String>>>> {
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
    pub(in crate::io) fn days(&mut self, ours: &'static str) -> Result<Option<Vec<Option<Day>>>> {
        let mut out = Vec::new();
        Ok(self.days_into(ours, &mut out)?.then_some(out))
    }

    /// [`Self::days`] into `out` (cleared first; its memory is reused, so
    /// a large table's slices do not each fault in fresh pages); false
    /// when the file has no such column.
    pub(in crate::io) fn days_into(
        &mut self,
        ours: &'static str,
        out: &mut Vec<Option<Day>>,
    ) -> Result<bool> {
        out.clear();
        let Some(cells) = self.cells(ours, "dates") else {
            return Ok(false);
        };
        let n = self.height();
        out.reserve(n);
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
                // One loop per unit, so each divides by a constant (a
                // multiply, not a division per row).
                fn days_of<const PER_DAY: i64>(ca: &Int64Chunked, out: &mut Vec<Option<Day>>) {
                    let day = |t: i64| t.div_euclid(PER_DAY) as Day;
                    if ca.null_count() == 0 {
                        for arr in ca.downcast_iter() {
                            out.extend(arr.values().iter().map(|&t| Some(day(t))));
                        }
                    } else {
                        out.extend(ca.iter().map(|v| v.map(day)));
                    }
                }
                match per_day {
                    NS_PER_DAY => days_of::<NS_PER_DAY>(&ca, out),
                    US_PER_DAY => days_of::<US_PER_DAY>(&ca, out),
                    MS_PER_DAY => days_of::<MS_PER_DAY>(&ca, out),
                    _ => out.extend(ca.iter().map(|v| v.map(|t| t.div_euclid(per_day) as Day))),
                }
            }
            Cells::Num(_) => {
                let found = self.series(ours).map(|s| dtype_words(s.dtype()));
                self.bad_column(ours, &found.unwrap_or_default(), "dates");
                out.resize(n, None);
            }
            Cells::Unsupported => out.resize(n, None),
        }
        Ok(true)
    }

    /// Numbers; empty cells are None.
    pub(in crate::io) fn numbers(
        &mut self,
        ours: &'static str,
    ) -> Result<Option<Vec<Option<f64>>>> {
        let mut out = Vec::new();
        Ok(self.numbers_into(ours, &mut out)?.then_some(out))
    }

    /// [`Self::numbers`] into `out` (cleared first, its memory reused);
    /// false when the file has no such column.
    pub(in crate::io) fn numbers_into(
        &mut self,
        ours: &'static str,
        out: &mut Vec<Option<f64>>,
    ) -> Result<bool> {
        out.clear();
        let Some(cells) = self.cells(ours, "numbers") else {
            return Ok(false);
        };
        let n = self.height();
        out.reserve(n);
        match cells {
            Cells::Num(ca) => {
                if ca.null_count() == 0 {
                    for arr in ca.downcast_iter() {
                        out.extend(arr.values().iter().map(|&x| Some(x)));
                    }
                } else {
                    out.extend(ca.iter());
                }
                for (i, v) in out.iter_mut().enumerate() {
                    if let Some(x) = *v {
                        if !x.is_finite() {
                            self.report(
                                i,
                                ours,
                                ProblemKind::BadNumber,
                                format!("expected a number, found {}", shown(x)),
                            );
                            *v = None;
                        }
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
        Ok(true)
    }

    /// [`Self::numbers_into`] then [`Self::check_range`] `lo..=hi` (finite
    /// bounds), each number (none for an empty cell) stored as `value`
    /// makes it (the form its rows keep: a large table's column of
    /// `Option<f64>` was 16 bytes a row to write and read again). In one
    /// pass over the column's own values when it has no nulls and every
    /// value is in range (so finite), as a large table's columns have: no
    /// cast to a new column, no pass per check. Else (a value out of range,
    /// a null, another type) the two row by row, which report the same
    /// problems at the same rows.
    pub(in crate::io) fn numbers_in_range_into<O>(
        &mut self,
        ours: &'static str,
        (lo, hi): (f64, f64),
        what: &str,
        value: impl Fn(Option<f64>) -> O,
        out: &mut Vec<O>,
    ) -> Result<bool> {
        out.clear();
        if let Some(s) = self.series(ours) {
            if all_in_range(&s, lo, hi, &value, out) {
                return Ok(true);
            }
        }
        out.clear();
        let mut numbers = Vec::new();
        if !self.numbers_into(ours, &mut numbers)? {
            return Ok(false);
        }
        self.check_range(ours, &numbers, lo, hi, what);
        out.extend(numbers.into_iter().map(value));
        Ok(true)
    }

    /// Requires a value in every row of a required column.
    pub(in crate::io) fn require<T>(&mut self, ours: &'static str, vals: &[Option<T>], what: &str) {
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
    pub(in crate::io) fn check_range(
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
    pub(in crate::io) fn text_column(
        &mut self,
        ours: &'static str,
    ) -> Result<Option<StringChunked>> {
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
    pub(in crate::io) fn account_keys(&mut self, accounts: &AccountIndex) -> Result<Vec<u32>> {
        let mut out = Vec::new();
        self.account_keys_into(accounts, &mut out)?;
        Ok(out)
    }

    /// [`Self::account_keys`] into `out` (cleared first, its memory reused).
    pub(in crate::io) fn account_keys_into(
        &mut self,
        accounts: &AccountIndex,
        out: &mut Vec<u32>,
    ) -> Result<()> {
        let ids = self.text_column("account_id")?.unwrap_or_default();
        out.clear();
        out.reserve(ids.len());
        let mut cache = ViewCache::default();
        let mut empty = Vec::new();
        // Rows sorted by account meet the accounts in their table's order.
        let mut near = 0;
        for_each_view(&ids, &mut cache, out, |v| match v.map(str::trim) {
            None | Some("") => EMPTY,
            Some(id) => match accounts.get_near(id, near) {
                Some(i) => {
                    near = i + 1;
                    i
                }
                None => NONE,
            },
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
        Ok(())
    }

    /// Interns a text column to dense ids in `interner` (first-seen order,
    /// so slices read in file order give the ids a whole-file pass would)
    /// without a string per row; empty cells are [`NONE`] and, when
    /// `required`, problems. Rows where `wanted` is false are only checked
    /// (empty when required) and get [`NONE`]: their strings are never
    /// interned. Each distinct string view of a chunk is hashed once.
    pub(in crate::io) fn interned(
        &mut self,
        ours: &'static str,
        required: Option<&str>,
        interner: &mut Interner,
        wanted: Option<&[bool]>,
    ) -> Result<Option<Vec<u32>>> {
        let mut ids = Vec::new();
        Ok(self
            .interned_into(ours, required, interner, wanted, &mut ids)?
            .then_some(ids))
    }

    /// [`Self::interned`] into `ids` (cleared first, its memory reused);
    /// false when the file has no such column.
    pub(in crate::io) fn interned_into(
        &mut self,
        ours: &'static str,
        required: Option<&str>,
        interner: &mut Interner,
        wanted: Option<&[bool]>,
        ids: &mut Vec<u32>,
    ) -> Result<bool> {
        ids.clear();
        let Some(ca) = self.text_column(ours)? else {
            return Ok(false);
        };
        intern_column_into(&ca, wanted, interner, ids);
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
        Ok(true)
    }
}

/// The values of `s` (a null-free numeric column) into `out` as `value`
/// makes them, if every one lies in `lo..=hi`; false otherwise and for
/// other columns (`out` then holds a part, to be cleared).
fn all_in_range<O>(
    s: &Series,
    lo: f64,
    hi: f64,
    value: &impl Fn(Option<f64>) -> O,
    out: &mut Vec<O>,
) -> bool {
    fn fill<'a, T: Copy + 'a, O>(
        chunks: impl Iterator<Item = &'a [T]>,
        f: impl Fn(T) -> f64,
        (lo, hi): (f64, f64),
        value: &impl Fn(Option<f64>) -> O,
        out: &mut Vec<O>,
    ) -> bool {
        let mut ok = true;
        for values in chunks {
            out.extend(values.iter().map(|&v| {
                let x = f(v);
                // Not `&&`: no branch per row. NaN is in no range.
                ok &= (lo <= x) & (x <= hi);
                value(Some(x))
            }));
        }
        ok
    }
    if s.null_count() > 0 {
        return false;
    }
    out.reserve(s.len());
    let range = (lo, hi);
    match s.dtype() {
        DataType::Int64 => s.i64().is_ok_and(|ca| {
            let chunks = ca.downcast_iter().map(|a| a.values().as_slice());
            fill(chunks, |v| v as f64, range, value, out)
        }),
        DataType::Int32 => s.i32().is_ok_and(|ca| {
            let chunks = ca.downcast_iter().map(|a| a.values().as_slice());
            fill(chunks, f64::from, range, value, out)
        }),
        DataType::Float64 => s.f64().is_ok_and(|ca| {
            let chunks = ca.downcast_iter().map(|a| a.values().as_slice());
            fill(chunks, |v| v, range, value, out)
        }),
        DataType::Float32 => s.f32().is_ok_and(|ca| {
            let chunks = ca.downcast_iter().map(|a| a.values().as_slice());
            fill(chunks, f64::from, range, value, out)
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::io::load::load_dir_sliced;
    use crate::io::read::parquet::rewrite_with_column;
    use crate::synth::SynthFormat;
    use std::fs::File;

    /// A column of `values` in chunks of 3, cast to `dtype`.
    fn column(values: &[Option<f64>], dtype: DataType) -> Series {
        let mut s = Float64Chunked::from_slice_options("x".into(), &values[..3]).into_series();
        for part in values[3..].chunks(3) {
            s.append(&Float64Chunked::from_slice_options("x".into(), part).into_series())
                .unwrap();
        }
        assert!(s.n_chunks() > 2);
        s.cast(&dtype).unwrap()
    }

    #[test]
    fn values_in_range_are_read_off_every_numeric_type_without_a_cast() {
        let good: Vec<Option<f64>> = [0.0, 3.0, 1.0, 5.0, 2.0, 4.0, 0.0, 5.0].map(Some).to_vec();
        for dtype in [
            DataType::Int64,
            DataType::Int32,
            DataType::Float64,
            DataType::Float32,
        ] {
            let mut out = Vec::new();
            assert!(all_in_range(
                &column(&good, dtype.clone()),
                0.0,
                5.0,
                &|v| v,
                &mut out
            ));
            assert_eq!(out, good, "{dtype}");
            // A value out of range (either side), a null: the slow way.
            for (i, bad) in [(6, Some(-1.0)), (7, Some(6.0)), (2, None)] {
                let mut vals = good.clone();
                vals[i] = bad;
                let mut out = Vec::new();
                assert!(
                    !all_in_range(&column(&vals, dtype.clone()), 0.0, 5.0, &|v| v, &mut out),
                    "{dtype} {bad:?}"
                );
            }
        }
        for x in [f64::NAN, f64::INFINITY] {
            let mut vals = good.clone();
            vals[4] = Some(x);
            let s = column(&vals, DataType::Float64);
            assert!(
                !all_in_range(&s, 0.0, f64::MAX, &|v| v, &mut Vec::new()),
                "{x}"
            );
        }
        let text = column(&good, DataType::String);
        assert!(!all_in_range(&text, 0.0, 5.0, &|v| v, &mut Vec::new()));
    }

    /// Counts as integers without nulls (the type the fast path reads),
    /// with two out of range, one in the first slice and one deep in the
    /// file: both named by row and account, in file order, as the row by
    /// row check named them; in range, the tables of a float column.
    #[test]
    fn an_out_of_range_integer_deep_in_a_file_names_its_row_and_account() {
        let dir = crate::testutil::synth_dir(60, 6, 4, SynthFormat::Parquet);
        let path = dir.path().join("events.parquet");
        let mut df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        assert_eq!(df.column("count").unwrap().dtype(), &DataType::Int64);
        let n = df.height();
        let ids = df.column("account_id").unwrap().str().unwrap().clone();
        let counts = df.column("count").unwrap().i64().unwrap().clone();
        let mut write = |count: Int64Chunked| {
            rewrite_with_column(&path, &mut df, "count", count.into_series(), 100)
        };
        let cfg = Config::default();
        let ints = load_dir_sliced(dir.path(), &cfg, 150).unwrap();
        let (early, deep) = (40, n - 7);
        let bad: Int64Chunked = counts
            .iter()
            .enumerate()
            .map(|(i, v)| if i == early || i == deep { Some(-3) } else { v })
            .collect();
        write(bad);
        let msg = load_dir_sliced(dir.path(), &cfg, 150)
            .expect_err("must fail")
            .to_string();
        assert!(msg.starts_with("2 problems"), "{msg}");
        let at = |row: usize| {
            let want = format!(
                "events.parquet: row {} (account {}), column count: expected a number >= 0, found -3",
                row + 1,
                ids.get(row).unwrap()
            );
            msg.find(&want)
                .unwrap_or_else(|| panic!("{msg}\nwanted: {want}"))
        };
        assert!(at(early) < at(deep), "{msg}");
        // In range, as floats with a null (the slow way): the same tables
        // but for the null's count and the files' sha256.
        let with_null: Float64Chunked = counts
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 5 { None } else { v.map(|v| v as f64) })
            .collect();
        rewrite_with_column(&path, &mut df, "count", with_null.into_series(), 100);
        let slow = load_dir_sliced(dir.path(), &cfg, 150).unwrap();
        let (a, b) = (ints.events.unwrap().rows, slow.events.unwrap().rows);
        assert_eq!(a.offsets, b.offsets);
        let differ = a.rows.iter().zip(&b.rows).filter(|(x, y)| x != y).count();
        assert!(differ <= 1, "{differ} rows differ");
    }
}
