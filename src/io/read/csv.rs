//! Our CSV reader: file bytes -> text columns, each record tagged with the
//! line it starts on. Owns decoding (UTF-8, or Windows-1252 when the config
//! says so), quoting, blank lines and ragged lines; parses no cells (that is
//! `io::parse`'s job). Read by hand rather than through polars so that every
//! problem names its file and line in our words, and line numbers stay the
//! file's own even after blank lines and line breaks inside quoted fields.

use std::io::Read;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};

/// Text encoding of a CSV file (`encoding = "windows-1252"` in the config's
/// `[files]`). Nothing is guessed: the default is UTF-8 and a byte that is
/// not UTF-8 is a problem naming its line and column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Encoding {
    #[default]
    #[serde(rename = "utf-8", alias = "utf8", alias = "UTF-8")]
    Utf8,
    /// Excel's and older Windows tools' "ANSI" export (a superset of Latin-1).
    #[serde(rename = "windows-1252", alias = "cp1252")]
    Windows1252,
}

/// A CSV file read as text: one String column per header field (empty
/// cells are null), the line of every record, and how many blank lines
/// were skipped.
#[derive(Debug, Clone)]
pub struct CsvTable {
    pub df: DataFrame,
    pub lines: LineMap,
    pub blank_lines: usize,
}

/// The 1-based line each record starts on, stored as the rows where the
/// simple rule "row r is on line r + 2" stops holding (after a blank line
/// or a record spanning several lines): one entry per such jump, not per row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineMap {
    /// `(row, line)`, rows ascending.
    jumps: Vec<(usize, usize)>,
}

impl LineMap {
    fn push(&mut self, row: usize, line: usize) {
        if self.line(row) != line {
            self.jumps.push((row, line));
        }
    }

    /// The line record `row` (0-based, header excluded) starts on.
    pub fn line(&self, row: usize) -> usize {
        let i = self.jumps.partition_point(|&(r, _)| r <= row);
        match i {
            0 => row + 2,
            _ => {
                let (r, l) = self.jumps[i - 1];
                l + (row - r)
            }
        }
    }
}

/// CSV tables are read in chunks of about this many bytes per row of the
/// slice asked for (an events row runs 40 to 70 bytes): a slice of
/// [`crate::io::parquet::SLICE_ROWS`] rows is a 64 MiB chunk.
pub const BYTES_PER_ROW: usize = 64;

/// Reads `path` whole as CSV in `encoding` (see [`CsvStream`] for reading
/// in slices). `account_column` (the file's name for `account_id`) lets
/// problems name the account of their record. Fails with every problem
/// found (ragged lines, bytes that are not UTF-8, an unclosed quote, a
/// duplicate header name), up to the usual cap.
pub fn read(path: &Path, encoding: Encoding, account_column: Option<&str>) -> Result<CsvTable> {
    let mut s = CsvStream::open(path, encoding, account_column, usize::MAX)?;
    let slice = s.next_slice()?;
    let (df, lines) = match slice {
        Some(sl) => (sl.df, sl.lines),
        None => (s.empty_frame()?, LineMap::default()),
    };
    let blank_lines = s.finish()?;
    Ok(CsvTable {
        df,
        lines,
        blank_lines,
    })
}

fn problem(path: &Path, line: Option<usize>, kind: ProblemKind, message: String) -> Problem {
    Problem {
        location: Location {
            file: path.to_path_buf(),
            line,
            ..Default::default()
        },
        kind,
        message,
    }
}

/// Column buffers: all cells' text back to back and where each ends.
#[derive(Default)]
struct ColumnBuf {
    text: Vec<u8>,
    ends: Vec<usize>,
}

/// Records of one slice: text columns (empty cells null) and the line each
/// record starts on (row 0 is the slice's first row).
#[derive(Debug, Clone)]
pub struct CsvSlice {
    pub df: DataFrame,
    pub lines: LineMap,
}

/// A CSV file read in slices of whole records, each from a chunk of about
/// `chunk_bytes` bytes (the whole file with `usize::MAX`): memory holds a
/// chunk and its columns, never the file. A record cut by the chunk's end
/// (a quoted field holding line breaks included) is carried over to the
/// next chunk, so records, line numbers and problems are those of reading
/// the file whole. Problems of the file's shape (ragged lines, bytes that
/// are not UTF-8, an unclosed quote, the header) are gathered across slices
/// and returned by [`CsvStream::finish`]; once there is one, slices carry
/// no columns (the file fails as a whole, as it did when read whole).
pub struct CsvStream {
    path: PathBuf,
    src: Box<dyn Read + Send>,
    encoding: Encoding,
    chunk_bytes: usize,
    /// Bytes the next read asks for: `chunk_bytes`, doubled each time a
    /// record is still cut (a quoted value running on for megabytes, or
    /// never closed), so a long record is not parsed over and over.
    next_read: usize,
    /// Decoded text not parsed yet; starts at a record's start.
    buf: Vec<u8>,
    eof: bool,
    /// The line `buf[0]` is on.
    line: usize,
    names: Vec<String>,
    header_line: usize,
    account_idx: Option<usize>,
    blank_lines: usize,
    /// Records kept (not ragged) so far.
    rows: usize,
    /// Ragged lines, and the first one's line and field count: when no
    /// line matches the header, the header is what is wrong.
    ragged: usize,
    first_ragged: Option<(usize, usize)>,
    problems: Problems,
    /// The file's size and the bytes read so far, for estimating its rows.
    len: Option<u64>,
    read_bytes: u64,
}

impl CsvStream {
    /// Opens `path` and reads its header.
    pub fn open(
        path: &Path,
        encoding: Encoding,
        account_column: Option<&str>,
        chunk_bytes: usize,
    ) -> Result<CsvStream> {
        let f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        let len = f.metadata().ok().map(|m| m.len());
        CsvStream::from_reader(
            path,
            Box::new(f),
            len,
            encoding,
            account_column,
            chunk_bytes,
        )
    }

    /// [`CsvStream::open`] over any reader; `path` names it in problems.
    pub fn from_reader(
        path: &Path,
        src: Box<dyn Read + Send>,
        len: Option<u64>,
        encoding: Encoding,
        account_column: Option<&str>,
        chunk_bytes: usize,
    ) -> Result<CsvStream> {
        let mut s = CsvStream {
            path: path.to_path_buf(),
            src,
            encoding,
            chunk_bytes: chunk_bytes.max(1),
            next_read: chunk_bytes.max(1),
            buf: Vec::new(),
            eof: false,
            line: 1,
            names: Vec::new(),
            header_line: 0,
            account_idx: None,
            blank_lines: 0,
            rows: 0,
            ragged: 0,
            first_ragged: None,
            problems: Problems::default(),
            len,
            read_bytes: 0,
        };
        if let (usize::MAX, Some(n)) = (s.chunk_bytes, len) {
            s.buf.reserve(n as usize);
        }
        while s.buf.len() < 3 && !s.eof {
            s.fill()?;
        }
        if encoding == Encoding::Utf8 && s.buf.starts_with(b"\xEF\xBB\xBF") {
            s.buf.drain(..3);
        }
        let (mut scratch, mut ends) = (Vec::new(), Vec::new());
        // The header: the first line that is not blank.
        let header_line = loop {
            let mut p = Parser {
                b: &s.buf,
                i: 0,
                line: s.line,
            };
            let r = p.record(&mut scratch, &mut ends);
            let (used, line) = (p.i, p.line);
            match r {
                None if s.eof => {
                    return Err(Error::BadInput(one(problem(
                        path,
                        None,
                        ProblemKind::EmptyTable,
                        "the file is empty: expected a header line naming the columns".into(),
                    ))))
                }
                Some(Err(open)) if s.eof => {
                    return Err(Error::BadInput(one(unclosed(path, open, None))))
                }
                Some(Ok(r)) if r.newline || s.eof => {
                    s.buf.drain(..used);
                    s.line = line;
                    if r.blank {
                        s.blank_lines += r.lines;
                        continue;
                    }
                    break r.line;
                }
                // Cut by the chunk's end: read on.
                _ => {
                    s.next_read = s.next_read.saturating_mul(2);
                    s.fill()?
                }
            }
        };
        let mut names: Vec<String> = Vec::with_capacity(ends.len());
        let mut start = 0;
        for (j, &end) in ends.iter().enumerate() {
            let cell = &scratch[start..end];
            start = end;
            match std::str::from_utf8(cell) {
                Ok(s) if s.is_empty() => names.push(format!("column_{}", j + 1)),
                Ok(text) => {
                    if let Some(k) = names.iter().position(|n| n == text) {
                        s.problems.push(Problem {
                            location: Location {
                                file: path.to_path_buf(),
                                line: Some(header_line),
                                column: Some(text.to_string()),
                                ..Default::default()
                            },
                            kind: ProblemKind::DuplicateKey,
                            message: format!(
                                "the header names column {text:?} twice (fields {} and {})",
                                k + 1,
                                j + 1
                            ),
                        });
                    }
                    names.push(text.to_string());
                }
                Err(e) => {
                    s.problems.push(problem(
                        path,
                        Some(header_line),
                        ProblemKind::Unreadable,
                        format!("the header {}", not_utf8(cell, &e)),
                    ));
                    names.push(format!("column_{}", j + 1));
                }
            }
        }
        s.next_read = s.chunk_bytes;
        s.account_idx = account_column.and_then(|a| names.iter().position(|n| n == a));
        s.names = names;
        s.header_line = header_line;
        Ok(s)
    }

    /// Reads one more chunk (decoded to UTF-8) onto the text not parsed yet.
    fn fill(&mut self) -> Result<()> {
        if self.eof {
            return Ok(());
        }
        let want = self.next_read as u64;
        let mut take = (&mut self.src).take(want);
        let n = match self.encoding {
            Encoding::Utf8 => take.read_to_end(&mut self.buf),
            Encoding::Windows1252 => {
                let mut raw = Vec::new();
                let n = take.read_to_end(&mut raw);
                self.buf
                    .extend_from_slice(decode_windows_1252(&raw).as_bytes());
                n
            }
        }
        .map_err(|e| Error::io(&self.path, e))?;
        self.read_bytes += n as u64;
        if (n as u64) < want {
            self.eof = true;
        }
        Ok(())
    }

    /// Whether every record has been read.
    pub fn is_done(&self) -> bool {
        self.eof && self.buf.is_empty()
    }

    /// Whether a problem of the file's shape has been found so far.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// Rows of the whole file: exact once it is read, else estimated from
    /// the rows per byte so far (for sizing buffers, never for results).
    pub fn estimated_rows(&self) -> usize {
        let consumed = self.read_bytes.saturating_sub(self.buf.len() as u64);
        match self.len {
            Some(len) if !self.is_done() && consumed > 0 && self.rows > 0 => {
                ((self.rows as f64 * len as f64 / consumed as f64) as usize).max(self.rows)
            }
            _ => self.rows,
        }
    }

    /// The header's columns with no rows.
    pub fn empty_frame(&self) -> Result<DataFrame> {
        self.frame(self.names.iter().map(|_| ColumnBuf::default()).collect(), 0)
    }

    /// The next slice of at least one record, `None` after the last.
    pub fn next_slice(&mut self) -> Result<Option<CsvSlice>> {
        loop {
            if self.is_done() {
                return Ok(None);
            }
            self.fill()?;
            if let Some(slice) = self.parse_buf()? {
                return Ok(Some(slice));
            }
        }
    }

    /// Parses the complete records in the buffer, keeping a cut one for the
    /// next chunk; `None` when they hold no row.
    fn parse_buf(&mut self) -> Result<Option<CsvSlice>> {
        let bytes = std::mem::take(&mut self.buf);
        let path = self.path.clone();
        let eof = self.eof;
        // A valid UTF-8 text (the rule) needs no check per cell: cells
        // split at ASCII bytes stay valid. A character cut by the chunk's
        // end is in the record carried over. Otherwise every cell is
        // checked, to name each bad one.
        let check_cells = match std::str::from_utf8(&bytes) {
            Ok(_) => false,
            Err(e) => eof || e.error_len().is_some(),
        };
        let width = self.names.len();
        let mut cols: Vec<ColumnBuf> = (0..width).map(|_| ColumnBuf::default()).collect();
        let mut lines = LineMap::default();
        let mut rows = 0usize;
        let (mut scratch, mut ends) = (Vec::new(), Vec::new());
        let mut p = Parser {
            b: &bytes,
            i: 0,
            line: self.line,
        };
        let (mut used, mut line_after) = (0, self.line);
        loop {
            let r = match p.record(&mut scratch, &mut ends) {
                None => break,
                Some(Err(open)) => {
                    if !eof {
                        break;
                    }
                    let column = self.names.get(open.field).cloned();
                    self.problems.push(unclosed(&path, open, column));
                    (used, line_after) = (bytes.len(), p.line);
                    break;
                }
                Some(Ok(r)) if !r.newline && !eof => break,
                Some(Ok(r)) => r,
            };
            (used, line_after) = (p.i, p.line);
            if r.blank {
                self.blank_lines += r.lines;
                continue;
            }
            let cell = |j: usize| &scratch[if j == 0 { 0 } else { ends[j - 1] }..ends[j]];
            let account = || {
                self.account_idx
                    .filter(|&k| k < ends.len())
                    .and_then(|k| std::str::from_utf8(cell(k)).ok())
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            if ends.len() != width {
                self.ragged += 1;
                self.first_ragged.get_or_insert((r.line, ends.len()));
                self.problems.push(Problem {
                    location: Location {
                        file: path.clone(),
                        line: Some(r.line),
                        account_id: account(),
                        ..Default::default()
                    },
                    kind: ProblemKind::BadValue,
                    message: format!(
                        "{} field{}, but the header has {width}{}",
                        ends.len(),
                        if ends.len() == 1 { "" } else { "s" },
                        if ends.len() > width {
                            " (an unquoted comma in a value?)"
                        } else {
                            ""
                        }
                    ),
                });
                continue;
            }
            for (j, col) in cols.iter_mut().enumerate() {
                let c = cell(j);
                let bad = check_cells.then(|| std::str::from_utf8(c).err()).flatten();
                match bad {
                    None => col.text.extend_from_slice(c),
                    Some(e) => self.problems.push(Problem {
                        location: Location {
                            file: path.clone(),
                            line: Some(r.line),
                            account_id: account(),
                            column: Some(self.names[j].clone()),
                            is_row: false,
                        },
                        kind: ProblemKind::Unreadable,
                        message: format!(
                            "the value {}: re-export the file as UTF-8, or set \
                             encoding = \"windows-1252\" for it in the config's [files]",
                            not_utf8(c, &e)
                        ),
                    }),
                }
                col.ends.push(col.text.len());
            }
            lines.push(rows, r.line);
            rows += 1;
        }
        self.buf = bytes;
        self.buf.drain(..used);
        self.next_read = match used {
            0 => self.next_read.saturating_mul(2),
            _ => self.chunk_bytes,
        };
        self.line = line_after;
        self.rows += rows;
        if rows == 0 {
            return Ok(None);
        }
        // Once the file has failed its columns are of no use.
        let df = if self.problems.is_empty() {
            self.frame(cols, rows)?
        } else {
            DataFrame::empty()
        };
        Ok(Some(CsvSlice { df, lines }))
    }

    /// Text columns from the buffers, one at a time, each buffer dropped
    /// once polars holds its copy.
    fn frame(&self, cols: Vec<ColumnBuf>, rows: usize) -> Result<DataFrame> {
        let path = &self.path;
        let mut columns: Vec<Column> = Vec::with_capacity(cols.len());
        for (name, col) in self.names.iter().zip(cols) {
            // Valid by construction (checked above, or a valid text cut
            // at ASCII bytes); checked once more per column, cheaply, not
            // assumed.
            let text = std::str::from_utf8(&col.text).map_err(|e| {
                Error::BadInput(one(problem(
                    path,
                    None,
                    ProblemKind::Unreadable,
                    format!("column {name}: the text {}", not_utf8(&col.text, &e)),
                )))
            })?;
            let mut start = 0;
            let cells = col.ends.iter().map(|&end| {
                let s = &text[start..end];
                start = end;
                (!s.is_empty()).then_some(s)
            });
            columns
                .push(StringChunked::from_iter_options(name.as_str().into(), cells).into_column());
        }
        DataFrame::new(rows, columns).map_err(|_| {
            Error::BadInput(one(problem(
                path,
                Some(self.header_line),
                ProblemKind::BadValue,
                "the header's column names cannot be used together".into(),
            )))
        })
    }

    /// Reads what is left for problems only (no columns are built once
    /// there is one), then returns the blank lines skipped, or every
    /// problem of the file's shape.
    pub fn finish(mut self) -> Result<usize> {
        self.read_to_end()
    }

    /// [`CsvStream::finish`] in place: a stream that has found a problem
    /// fails here.
    pub fn check(&mut self) -> Result<()> {
        if self.has_problems() {
            self.read_to_end()?;
        }
        Ok(())
    }

    fn read_to_end(&mut self) -> Result<usize> {
        while !self.is_done() {
            self.fill()?;
            // A slice read here is dropped: the caller stopped reading.
            let _ = self.parse_buf()?;
        }
        if let (0, Some((line, n))) = (self.rows, self.first_ragged) {
            if self.ragged > 1 {
                let width = self.names.len();
                self.problems = one(Problem {
                    location: Location {
                        file: self.path.clone(),
                        line: Some(self.header_line),
                        ..Default::default()
                    },
                    kind: ProblemKind::BadValue,
                    message: format!(
                        "the header has {width} field{}, but no line below has as many (line {line} has {n}, \
                         and {} more lines differ): is the header line cut short or damaged?",
                        if width == 1 { "" } else { "s" },
                        crate::error::thousands(self.ragged - 1)
                    ),
                });
            }
        }
        std::mem::take(&mut self.problems).into_result()?;
        Ok(self.blank_lines)
    }
}

/// A [`CsvStream`] whose next slice is parsed on its own thread while the
/// caller converts the current one (when `prefetch`; with one thread it is
/// parsed when asked for). A problem of the file's shape fails it as a
/// whole, as soon as a slice shows one (the rest is read for problems).
pub struct CsvSlices {
    stream: Option<CsvStream>,
    pending: Option<Pending>,
    prefetch: bool,
}

type Pending = std::thread::JoinHandle<(CsvStream, Result<Option<CsvSlice>>)>;

impl CsvSlices {
    pub fn new(stream: CsvStream, prefetch: bool) -> CsvSlices {
        let mut s = CsvSlices {
            stream: Some(stream),
            pending: None,
            prefetch,
        };
        s.start();
        s
    }

    fn start(&mut self) {
        if !self.prefetch || self.stream.as_ref().is_none_or(CsvStream::is_done) {
            return;
        }
        if let Some(mut s) = self.stream.take() {
            self.pending = Some(std::thread::spawn(move || {
                let r = s.next_slice();
                (s, r)
            }));
        }
    }

    /// The slice being parsed on the other thread, once parsed.
    fn join(&mut self) -> Option<Result<Option<CsvSlice>>> {
        let (s, r) = self
            .pending
            .take()?
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        self.stream = Some(s);
        Some(r)
    }

    /// The next slice, `None` after the last.
    pub fn next(&mut self) -> Result<Option<CsvSlice>> {
        let r = match self.join() {
            Some(r) => r,
            None => self
                .stream
                .as_mut()
                .expect("the stream is here when nothing is pending")
                .next_slice(),
        }?;
        if self.stream.as_ref().is_some_and(CsvStream::has_problems) {
            let s = self.stream.take().expect("checked above");
            s.finish()?;
            return Ok(None);
        }
        if r.is_some() {
            self.start();
        }
        Ok(r)
    }

    /// Reads the rest for problems (see [`CsvStream::finish`]).
    pub fn finish(mut self) -> Result<usize> {
        if let Some(r) = self.join() {
            r?;
        }
        match self.stream.take() {
            Some(s) => s.finish(),
            None => Ok(0),
        }
    }
}

fn one(p: Problem) -> Problems {
    let mut ps = Problems::default();
    ps.push(p);
    ps
}

fn unclosed(path: &Path, open: Open, column: Option<String>) -> Problem {
    Problem {
        location: Location {
            file: path.to_path_buf(),
            line: Some(open.line),
            column,
            ..Default::default()
        },
        kind: ProblemKind::BadValue,
        message: "a quoted value opens here and is never closed (the file ends inside it)".into(),
    }
}

/// "is not valid UTF-8 (byte 0xE9 after "Caf")", for a cell that failed.
fn not_utf8(cell: &[u8], e: &std::str::Utf8Error) -> String {
    let ok = e.valid_up_to();
    let before = std::str::from_utf8(&cell[..ok]).unwrap_or_default();
    let tail: String = {
        let chars: Vec<char> = before.chars().collect();
        chars[chars.len().saturating_sub(20)..].iter().collect()
    };
    let byte = cell.get(ok).copied().unwrap_or(0);
    if tail.is_empty() {
        format!("is not valid UTF-8 (byte 0x{byte:02X} at its start)")
    } else {
        format!("is not valid UTF-8 (byte 0x{byte:02X} after {tail:?})")
    }
}

/// Where a quoted field that never closes opened.
struct Open {
    line: usize,
    field: usize,
}

/// A record just read into the scratch buffer.
struct Record {
    /// The line it starts on.
    line: usize,
    /// Lines it spans (more than one with line breaks inside quotes).
    lines: usize,
    /// A line holding nothing but whitespace.
    blank: bool,
    /// Ended by a line break (else by the end of the input, which may be
    /// a chunk's end that cut it).
    newline: bool,
}

/// RFC 4180 records over bytes: `,` between fields, `\n` or `\r\n` after
/// each record, `"` around a field that holds either (doubled inside it).
/// Text after a closing quote is kept as it is, as most readers do.
struct Parser<'a> {
    b: &'a [u8],
    i: usize,
    /// The line the next byte is on.
    line: usize,
}

impl Parser<'_> {
    /// Reads the next record's unescaped cells into `scratch`, with the end
    /// of each cell in `ends`. `None` at the end of the input.
    fn record(
        &mut self,
        scratch: &mut Vec<u8>,
        ends: &mut Vec<usize>,
    ) -> Option<std::result::Result<Record, Open>> {
        let b = self.b;
        if self.i >= b.len() {
            return None;
        }
        scratch.clear();
        ends.clear();
        let first = self.line;
        let mut quoted = false;
        loop {
            if b.get(self.i) == Some(&b'"') {
                quoted = true;
                let open = Open {
                    line: self.line,
                    field: ends.len(),
                };
                self.i += 1;
                loop {
                    let rest = &b[self.i..];
                    let Some(k) = rest.iter().position(|&c| c == b'"') else {
                        return Some(Err(open));
                    };
                    self.line += rest[..k].iter().filter(|&&c| c == b'\n').count();
                    scratch.extend_from_slice(&rest[..k]);
                    self.i += k + 1;
                    if b.get(self.i) == Some(&b'"') {
                        scratch.push(b'"');
                        self.i += 1;
                    } else {
                        break;
                    }
                }
            }
            // Unquoted text (or what follows a closing quote) up to the
            // next comma or end of line.
            loop {
                let rest = &b[self.i..];
                let k = rest
                    .iter()
                    .position(|&c| matches!(c, b',' | b'\n' | b'\r'))
                    .unwrap_or(rest.len());
                scratch.extend_from_slice(&rest[..k]);
                self.i += k;
                match b.get(self.i) {
                    None => {
                        ends.push(scratch.len());
                        return Some(Ok(self.finish(first, scratch, ends, quoted, false)));
                    }
                    Some(b',') => {
                        ends.push(scratch.len());
                        self.i += 1;
                        break;
                    }
                    Some(b'\n') => {
                        ends.push(scratch.len());
                        self.i += 1;
                        self.line += 1;
                        return Some(Ok(self.finish(first, scratch, ends, quoted, true)));
                    }
                    // '\r': dropped before a line end, kept elsewhere.
                    Some(_) => {
                        if !matches!(b.get(self.i + 1), None | Some(b'\n')) {
                            scratch.push(b'\r');
                        }
                        self.i += 1;
                    }
                }
            }
        }
    }

    fn finish(
        &self,
        first: usize,
        scratch: &[u8],
        ends: &[usize],
        quoted: bool,
        newline: bool,
    ) -> Record {
        let last = if newline { self.line - 1 } else { self.line };
        Record {
            line: first,
            lines: last + 1 - first,
            blank: !quoted && ends.len() == 1 && scratch.iter().all(u8::is_ascii_whitespace),
            newline,
        }
    }
}

/// Windows-1252 to UTF-8: bytes below 0x80 are ASCII, 0xA0..=0xFF are the
/// same code points (Latin-1), and 0x80..=0x9F map through this table (the
/// five unassigned bytes map to the C1 controls of the same value, as the
/// WHATWG encoding standard does).
pub fn decode_windows_1252(bytes: &[u8]) -> String {
    const HIGH: [char; 32] = [
        '\u{20AC}', '\u{81}', '\u{201A}', '\u{192}', '\u{201E}', '\u{2026}', '\u{2020}',
        '\u{2021}', '\u{2C6}', '\u{2030}', '\u{160}', '\u{2039}', '\u{152}', '\u{8D}', '\u{17D}',
        '\u{8F}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201C}', '\u{201D}', '\u{2022}', '\u{2013}',
        '\u{2014}', '\u{2DC}', '\u{2122}', '\u{161}', '\u{203A}', '\u{153}', '\u{9D}', '\u{17E}',
        '\u{178}',
    ];
    bytes
        .iter()
        .map(|&b| match b {
            0x80..=0x9F => HIGH[(b - 0x80) as usize],
            _ => b as char,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` in chunks of `chunk` bytes, its slices joined into one
    /// table (line numbers per row of the whole).
    fn read_chunked(text: &[u8], chunk: usize, encoding: Encoding) -> Result<CsvTable> {
        let src = Box::new(std::io::Cursor::new(text.to_vec()));
        let len = Some(text.len() as u64);
        let mut s =
            CsvStream::from_reader(Path::new("t.csv"), src, len, encoding, Some("id"), chunk)?;
        let mut df = s.empty_frame().unwrap_or_default();
        let mut lines = LineMap::default();
        while let Some(slice) = s.next_slice()? {
            for r in 0..slice.df.height() {
                lines.push(df.height() + r, slice.lines.line(r));
            }
            if s.has_problems() {
                continue; // a failed file's slices carry no columns
            }
            df.vstack_mut(&slice.df).unwrap();
        }
        let blank_lines = s.finish()?;
        Ok(CsvTable {
            df,
            lines,
            blank_lines,
        })
    }

    /// What the rows and errors look like, to compare readings.
    fn shown(t: &Result<CsvTable>) -> String {
        match t {
            Ok(t) => {
                let lines: Vec<usize> = (0..t.df.height()).map(|r| t.lines.line(r)).collect();
                let cols: Vec<(String, Vec<Option<String>>)> =
                    t.df.get_column_names()
                        .iter()
                        .map(|c| (c.to_string(), cells(t, c)))
                        .collect();
                format!("{cols:?} {lines:?} {}", t.blank_lines)
            }
            Err(e) => e.to_string(),
        }
    }

    /// Reads `text` whole, and checks that every chunk size (cutting
    /// records, quoted line breaks, CRLF pairs and UTF-8 characters
    /// anywhere) reads the same rows, lines and problems.
    fn read_str(text: &[u8]) -> Result<CsvTable> {
        read_enc(text, Encoding::Utf8)
    }

    fn read_enc(text: &[u8], encoding: Encoding) -> Result<CsvTable> {
        let whole = read_chunked(text, usize::MAX, encoding);
        for chunk in [1, 2, 3, 4, 5, 7, 11, 16, 64] {
            let cut = read_chunked(text, chunk, encoding);
            assert_eq!(shown(&cut), shown(&whole), "chunks of {chunk} bytes");
        }
        whole
    }

    fn cells(t: &CsvTable, col: &str) -> Vec<Option<String>> {
        t.df.column(col)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    #[test]
    fn quotes_commas_and_line_breaks_inside_fields() {
        let t = read_str(b"id,name\nA1,\"Smith, \"\"Jr\"\"\"\nA2,\"two\nlines\"\nA3,x\n").unwrap();
        assert_eq!(
            cells(&t, "name"),
            [
                Some("Smith, \"Jr\"".into()),
                Some("two\nlines".into()),
                Some("x".into())
            ]
        );
        assert_eq!(
            (t.lines.line(0), t.lines.line(1), t.lines.line(2)),
            (2, 3, 5)
        );
    }

    #[test]
    fn blank_lines_are_skipped_counted_and_keep_line_numbers() {
        let t = read_str(b"\nid,n\r\n\r\nA1,1\r\n  \nA2,\r\nA3,3\n\n").unwrap();
        assert_eq!(t.blank_lines, 4);
        assert_eq!(cells(&t, "id").len(), 3);
        assert_eq!(cells(&t, "n"), [Some("1".into()), None, Some("3".into())]);
        assert_eq!(
            (t.lines.line(0), t.lines.line(1), t.lines.line(2)),
            (4, 6, 7)
        );
    }

    #[test]
    fn ragged_lines_name_line_account_and_counts() {
        let err = read_str(b"id,a,b\nA1,1,2\nA2,1\nA3,1,2,3\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("t.csv: line 3 (account A2): 2 fields, but the header has 3"),
            "{msg}"
        );
        assert!(msg.contains("t.csv: line 4 (account A3): 4 fields, but the header has 3 (an unquoted comma in a value?)"), "{msg}");
    }

    #[test]
    fn a_cut_header_is_named_once_not_on_every_line() {
        let err = read_str(b"id,a,b,c\nA1,1,2,3,4\nA2,1,2,3,4\nA3,1,2,3,4\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("1 problem in the input data:"), "{msg}");
        assert!(
            msg.contains("t.csv: line 1: the header has 4 fields, but no line below has as many (line 2 has 5, and 2 more lines differ): is the header line cut short or damaged?"),
            "{msg}"
        );
    }

    #[test]
    fn invalid_utf8_names_line_column_and_the_way_out() {
        let err = read_str(b"id,name\nA1,ok\nA2,Caf\xE9 Bleu\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("t.csv: line 3 (account A2), column name: the value is not valid UTF-8 (byte 0xE9 after \"Caf\"): re-export the file as UTF-8"), "{msg}");
        assert!(msg.contains("windows-1252"), "{msg}");
        assert_eq!(
            err.problems().unwrap().shown[0].kind,
            ProblemKind::Unreadable
        );
    }

    #[test]
    #[ignore = "timing on a file named by EBBFLOW_CSV_TIMING; prints, asserts nothing"]
    fn timing_against_polars() {
        let Some(path) = std::env::var_os("EBBFLOW_CSV_TIMING") else {
            return;
        };
        let path = std::path::PathBuf::from(path);
        let t = std::time::Instant::now();
        let ours = read(&path, Encoding::Utf8, None).unwrap();
        let ours_s = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let theirs = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.clone()))
            .unwrap()
            .finish()
            .unwrap();
        let theirs_s = t.elapsed().as_secs_f64();
        eprintln!(
            "ours {ours_s:.2}s, polars {theirs_s:.2}s, {} rows",
            ours.df.height()
        );
        assert!(ours.df.equals_missing(&theirs));
    }

    #[test]
    fn a_bom_crlf_and_windows_1252_read_the_same_in_any_chunks() {
        let t = read_str(b"\xEF\xBB\xBFid,name\r\nA1,\"a\r\nb\"\r\n\r\nA2,\xC3\xA9t\xC3\xA9\r\n")
            .unwrap();
        assert_eq!(cells(&t, "id"), [Some("A1".into()), Some("A2".into())]);
        assert_eq!(
            cells(&t, "name"),
            [Some("a\r\nb".into()), Some("\u{e9}t\u{e9}".into())]
        );
        assert_eq!((t.lines.line(0), t.lines.line(1), t.blank_lines), (2, 5, 1));
        let t = read_enc(b"id,name\r\nA1,Caf\xE9 \x80\r\n", Encoding::Windows1252).unwrap();
        assert_eq!(cells(&t, "name"), [Some("Caf\u{e9} \u{20ac}".into())]);
        // A file that does not end with a line break.
        let t = read_str(b"id,n\nA1,1\nA2,\"2\"").unwrap();
        assert_eq!(cells(&t, "n"), [Some("1".into()), Some("2".into())]);
    }

    #[test]
    fn a_record_longer_than_many_chunks_is_read_whole() {
        let long = "x\n".repeat(5_000);
        let text = format!("id,note\nA1,\"{long}\"\nA2,y\n");
        let src = Box::new(std::io::Cursor::new(text.into_bytes()));
        let mut s = CsvStream::from_reader(Path::new("t.csv"), src, None, Encoding::Utf8, None, 16)
            .unwrap();
        let (mut notes, mut lines) = (Vec::new(), Vec::new());
        while let Some(slice) = s.next_slice().unwrap() {
            let col = slice.df.column("note").unwrap().str().unwrap().clone();
            for r in 0..slice.df.height() {
                notes.push(col.get(r).unwrap().to_string());
                lines.push(slice.lines.line(r));
            }
        }
        assert_eq!(notes, [long, "y".to_string()]);
        assert_eq!(lines, [2, 5_003]);
    }

    #[test]
    fn small_chunks_give_several_slices_with_their_own_lines() {
        let mut text = b"id,n\n".to_vec();
        for i in 0..200 {
            text.extend_from_slice(format!("A{i},\"x\ny\"\n").as_bytes());
        }
        let src = Box::new(std::io::Cursor::new(text));
        let mut s =
            CsvStream::from_reader(Path::new("t.csv"), src, None, Encoding::Utf8, None, 100)
                .unwrap();
        let (mut slices, mut rows) = (0, 0);
        while let Some(slice) = s.next_slice().unwrap() {
            assert_eq!(slice.lines.line(0), 2 + 2 * rows, "slice {slices}");
            slices += 1;
            rows += slice.df.height();
        }
        assert_eq!(rows, 200);
        assert!(slices >= 15, "{slices} slices");
        assert_eq!(s.finish().unwrap(), 0);
    }

    #[test]
    fn a_problem_in_the_last_chunk_fails_the_file_and_names_its_line() {
        let mut text = b"id,n\n".to_vec();
        for i in 0..300 {
            text.extend_from_slice(format!("A{i},{i}\n").as_bytes());
        }
        text.extend_from_slice(b"A300,1,2\nA301,\xFF\n");
        let err = read_str(&text).unwrap_err().to_string();
        assert!(
            err.contains("t.csv: line 302 (account A300): 3 fields"),
            "{err}"
        );
        assert!(
            err.contains("t.csv: line 303 (account A301), column n: the value is not valid UTF-8"),
            "{err}"
        );
    }

    #[test]
    fn windows_1252_decodes_cafe_euro_and_quotes() {
        assert_eq!(
            decode_windows_1252(b"Caf\xE9 \x80 \x96 \x93\x9F\x94"),
            "Café € – “Ÿ”"
        );
    }

    #[test]
    fn unclosed_quote_names_where_it_opens() {
        let err = read_str(b"id,name\nA1,ok\nA2,\"never\nA3,closed\n").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "t.csv: line 3, column name: a quoted value opens here and is never closed"
            ),
            "{msg}"
        );
    }

    #[test]
    fn empty_file_and_duplicate_header_names() {
        let msg = read_str(b"").unwrap_err().to_string();
        assert!(msg.contains("t.csv: the file is empty"), "{msg}");
        let msg = read_str(b"id,a,a\n1,2,3\n").unwrap_err().to_string();
        assert!(
            msg.contains(
                "t.csv: line 1, column a: the header names column \"a\" twice (fields 2 and 3)"
            ),
            "{msg}"
        );
    }

    /// The demo files read exactly as polars' own reader reads them (all
    /// columns as text, empty cells null), which loaded them before.
    #[test]
    fn demo_files_read_as_polars_reads_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
        for name in ["accounts", "subscriptions", "tickets", "surveys"] {
            let path = dir.join(format!("{name}.csv"));
            let ours = read(&path, Encoding::Utf8, None).unwrap();
            let theirs = CsvReadOptions::default()
                .with_has_header(true)
                .with_infer_schema_length(Some(0))
                .try_into_reader_with_file_path(Some(path.clone()))
                .unwrap()
                .finish()
                .unwrap();
            assert!(ours.df.equals_missing(&theirs), "{name}");
            assert_eq!(ours.blank_lines, 0);
            assert_eq!(ours.lines.line(ours.df.height() - 1), ours.df.height() + 1);
        }
    }
}
