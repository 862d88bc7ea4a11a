//! Parquet files read in slices of whole row groups through polars, and
//! polars' failures said in our words (a file that is not Parquet, cut
//! short or damaged; a column type this build cannot read). Knows nothing of
//! the contract's columns (see `io::rules`).

use std::path::Path;

use polars::prelude::*;

use crate::error::{Error, Location, ProblemKind, Result};
use crate::io::parse::problem;

/// Large Parquet tables are read in slices of whole row groups of about
/// this many rows, and each slice is turned into our 16-byte rows before
/// the next is read: peak memory is one slice of polars columns plus our
/// own rows, not the whole table as polars columns (at 100M events that is
/// the difference between ~16 GB and ~5 GB).
pub const SLICE_ROWS: usize = 1 << 20;

/// A Parquet file whose footer (the schema and row-group index) cannot be
/// read, in our words: polars' and parquet's own are about their internals.
pub(crate) fn unreadable_parquet(path: &Path) -> Error {
    // The first and last four bytes; the file may be gigabytes.
    let ends = || -> std::io::Result<(bool, bool)> {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(path)?;
        let n = f.metadata()?.len();
        let mut head = [0u8; 4];
        let mut tail = [0u8; 4];
        if n < 12 {
            let mut all = Vec::new();
            f.read_to_end(&mut all)?;
            return Ok((all.starts_with(b"PAR1"), false));
        }
        f.read_exact(&mut head)?;
        f.seek(SeekFrom::End(-4))?;
        f.read_exact(&mut tail)?;
        Ok((&head == b"PAR1", &tail == b"PAR1"))
    };
    let (head, tail) = ends().unwrap_or_default();
    let why = match (head, tail) {
        (false, _) => "not a Parquet file: it does not start with the Parquet marker PAR1",
        (true, false) => "cut short: the Parquet file does not end with its footer (was the copy or export interrupted?)",
        (true, true) => "damaged: the Parquet footer (schema and row-group index) cannot be decoded",
    };
    problem(
        Location {
            file: path.to_path_buf(),
            ..Default::default()
        },
        ProblemKind::Unreadable,
        why.to_string(),
    )
}

/// Rows `offset..offset + len` of a Parquet file could not be decoded.
pub(crate) fn undecodable_rows(path: &Path, (offset, len): (usize, usize)) -> Error {
    problem(
        Location {
            file: path.to_path_buf(),
            line: Some(offset + 1),
            is_row: true,
            ..Default::default()
        },
        ProblemKind::Unreadable,
        format!(
            "cannot be decoded from here through row {} (damaged Parquet data: corrupt or cut short)",
            crate::error::thousands(offset + len.max(1))
        ),
    )
}

/// Why a polars read failed, for the caller to word.
pub(crate) enum ReadFailure {
    /// Damage (or a panic inside the reader, which damaged input can cause).
    Damaged,
    /// A column type this build cannot read (decimal, time, …).
    UnsupportedType,
}

/// Runs a polars read, turning a panic inside it into a failure like an
/// error. polars' text is looked at, never shown.
pub(crate) fn guarded<T>(read: impl FnOnce() -> PolarsResult<T>) -> Result<T, ReadFailure> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => {
            let text = e.to_string().to_ascii_lowercase();
            let unsupported = [
                "not supported",
                "not yet implemented",
                "unsupported",
                "not implemented",
            ]
            .iter()
            .any(|w| text.contains(w));
            Err(if unsupported {
                ReadFailure::UnsupportedType
            } else {
                ReadFailure::Damaged
            })
        }
        Err(_) => Err(ReadFailure::Damaged),
    }
}

/// Row ranges `(offset, len)` covering a Parquet file in runs of whole row
/// groups of at least `max_rows` rows (one range for the whole file when
/// `max_rows` is `usize::MAX`), and the file's row count. Never empty: an
/// empty file gives `[(0, 0)]`, which still reads the schema.
pub(crate) fn parquet_slices(path: &Path, max_rows: usize) -> Result<(Vec<(usize, usize)>, usize)> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut reader = ParquetReader::new(f);
    let md = guarded(|| reader.get_metadata().cloned()).map_err(|_| unreadable_parquet(path))?;
    let mut slices = Vec::new();
    let (mut start, mut len) = (0, 0);
    for g in &md.row_groups {
        len += g.num_rows();
        if len >= max_rows {
            slices.push((start, len));
            start += len;
            len = 0;
        }
    }
    if len > 0 || slices.is_empty() {
        slices.push((start, len));
    }
    Ok((slices, md.num_rows))
}

pub(crate) fn read_parquet(path: &Path, (offset, len): (usize, usize)) -> Result<DataFrame> {
    let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    match guarded(|| {
        ParquetReader::new(f)
            .with_slice(Some((offset, len)))
            .finish()
    }) {
        Ok(df) if df.height() == len => Ok(df),
        Ok(_) | Err(ReadFailure::Damaged) => Err(undecodable_rows(path, (offset, len))),
        Err(ReadFailure::UnsupportedType) => Err(problem(
            Location {
                file: path.to_path_buf(),
                ..Default::default()
            },
            ProblemKind::Unreadable,
            "a column has a type ebbflow cannot read (decimal, time or another type that is not \
             text, a number, a boolean, a date or a datetime): export it as one of those"
                .into(),
        )),
    }
}

/// Tests only: rewrites every table of a generated Parquet data set in
/// `dir` in row groups of `rows` rows, so that slices, accounts spanning
/// row groups and read-ahead are exercised on small data.
#[cfg(test)]
pub(crate) fn rewrite_in_row_groups(dir: &Path, rows: usize) {
    for table in ["accounts", "subscriptions", "events", "tickets", "surveys"] {
        let path = dir.join(format!("{table}.parquet"));
        let mut df = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        ParquetWriter::new(std::fs::File::create(&path).unwrap())
            .with_row_group_size(Some(rows))
            .finish(&mut df)
            .unwrap();
    }
}

/// Tests only: replaces column `name` of `df` (a table read from `path`)
/// with `values` and writes `df` back to `path` in row groups of `rows`
/// rows: a bad value planted deep in a file of many row groups.
#[cfg(test)]
pub(crate) fn rewrite_with_column(
    path: &Path,
    df: &mut DataFrame,
    name: &str,
    values: Series,
    rows: usize,
) {
    df.replace(name, values.with_name(name.into()).into())
        .unwrap();
    ParquetWriter::new(std::fs::File::create(path).unwrap())
        .with_row_group_size(Some(rows))
        .finish(df)
        .unwrap();
}
