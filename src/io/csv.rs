//! Our CSV reader: file bytes -> text columns, each record tagged with the
//! line it starts on. Owns decoding (UTF-8, or Windows-1252 when the config
//! says so), quoting, blank lines and ragged lines; parses no cells (that is
//! `load`'s job). Read by hand rather than through polars so that every
//! problem names its file and line in our words, and line numbers stay the
//! file's own even after blank lines and line breaks inside quoted fields.

use std::path::Path;

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

/// Reads `path` as CSV in `encoding`. `account_column` (the file's name for
/// `account_id`) lets problems name the account of their record. Fails with
/// every problem found (ragged lines, bytes that are not UTF-8, an unclosed
/// quote, a duplicate header name), up to the usual cap.
pub fn read(path: &Path, encoding: Encoding, account_column: Option<&str>) -> Result<CsvTable> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    match encoding {
        Encoding::Utf8 => {
            let body = raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&raw);
            parse(path, body, account_column)
        }
        Encoding::Windows1252 => parse(path, decode_windows_1252(&raw).as_bytes(), account_column),
    }
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

fn parse(path: &Path, bytes: &[u8], account_column: Option<&str>) -> Result<CsvTable> {
    let mut p = Parser {
        b: bytes,
        i: 0,
        line: 1,
    };
    let mut problems = Problems::default();
    let mut scratch = Vec::new();
    let mut ends = Vec::new();
    let mut blank_lines = 0usize;

    // The header: the first line that is not blank.
    let header_line = loop {
        match p.record(&mut scratch, &mut ends) {
            None => {
                return Err(Error::BadInput(one(problem(
                    path,
                    None,
                    ProblemKind::EmptyTable,
                    "the file is empty: expected a header line naming the columns".into(),
                ))))
            }
            Some(Err(open)) => return Err(Error::BadInput(one(unclosed(path, open, None)))),
            Some(Ok(r)) if r.blank => blank_lines += r.lines,
            Some(Ok(r)) => break r.line,
        }
    };
    let mut names: Vec<String> = Vec::with_capacity(ends.len());
    let mut start = 0;
    for (j, &end) in ends.iter().enumerate() {
        let cell = &scratch[start..end];
        start = end;
        match std::str::from_utf8(cell) {
            Ok(s) if s.is_empty() => names.push(format!("column_{}", j + 1)),
            Ok(s) => {
                if let Some(k) = names.iter().position(|n| n == s) {
                    problems.push(Problem {
                        location: Location {
                            file: path.to_path_buf(),
                            line: Some(header_line),
                            column: Some(s.to_string()),
                            ..Default::default()
                        },
                        kind: ProblemKind::DuplicateKey,
                        message: format!(
                            "the header names column {s:?} twice (fields {} and {})",
                            k + 1,
                            j + 1
                        ),
                    });
                }
                names.push(s.to_string());
            }
            Err(e) => {
                problems.push(problem(
                    path,
                    Some(header_line),
                    ProblemKind::Unreadable,
                    format!("the header {}", not_utf8(cell, &e)),
                ));
                names.push(format!("column_{}", j + 1));
            }
        }
    }
    let width = names.len();
    let account_idx = account_column.and_then(|a| names.iter().position(|n| n == a));

    // A valid UTF-8 file (the rule) needs no check per cell: cells split at
    // ASCII bytes stay valid. Otherwise every cell is checked, to name each
    // bad one.
    let check_cells = std::str::from_utf8(bytes).is_err();
    let mut cols: Vec<ColumnBuf> = (0..width).map(|_| ColumnBuf::default()).collect();
    let mut lines = LineMap::default();
    let mut rows = 0usize;
    // Ragged lines, and the first one's line and field count: when no line
    // matches the header, the header is what is wrong.
    let mut ragged = 0usize;
    let mut first_ragged: Option<(usize, usize)> = None;
    loop {
        let r = match p.record(&mut scratch, &mut ends) {
            None => break,
            Some(Err(open)) => {
                let column = names.get(open.field).cloned();
                problems.push(unclosed(path, open, column));
                break;
            }
            Some(Ok(r)) => r,
        };
        if r.blank {
            blank_lines += r.lines;
            continue;
        }
        let cell = |j: usize| &scratch[if j == 0 { 0 } else { ends[j - 1] }..ends[j]];
        let account = || {
            account_idx
                .filter(|&k| k < ends.len())
                .and_then(|k| std::str::from_utf8(cell(k)).ok())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        if ends.len() != width {
            ragged += 1;
            first_ragged.get_or_insert((r.line, ends.len()));
            problems.push(Problem {
                location: Location {
                    file: path.to_path_buf(),
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
                Some(e) => problems.push(Problem {
                    location: Location {
                        file: path.to_path_buf(),
                        line: Some(r.line),
                        account_id: account(),
                        column: Some(names[j].clone()),
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
    if let (0, Some((line, n))) = (rows, first_ragged) {
        if ragged > 1 {
            let mut only = Problems::default();
            only.push(Problem {
                location: Location {
                    file: path.to_path_buf(),
                    line: Some(header_line),
                    ..Default::default()
                },
                kind: ProblemKind::BadValue,
                message: format!(
                    "the header has {width} field{}, but no line below has as many (line {line} has {n}, \
                     and {} more lines differ): is the header line cut short or damaged?",
                    if width == 1 { "" } else { "s" },
                    crate::error::thousands(ragged - 1)
                ),
            });
            problems = only;
        }
    }
    problems.into_result()?;

    // One column at a time, each buffer dropped once polars holds its copy.
    let mut columns: Vec<Column> = Vec::with_capacity(width);
    for (name, col) in names.iter().zip(cols) {
        // Valid by construction (checked above, or a valid file cut at
        // ASCII bytes); checked once more per column, cheaply, not assumed.
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
        columns.push(StringChunked::from_iter_options(name.as_str().into(), cells).into_column());
    }
    let df = DataFrame::new(rows, columns).map_err(|_| {
        Error::BadInput(one(problem(
            path,
            Some(header_line),
            ProblemKind::BadValue,
            "the header's column names cannot be used together".into(),
        )))
    })?;
    Ok(CsvTable {
        df,
        lines,
        blank_lines,
    })
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
                        return Some(Ok(self.finish(first, scratch, ends, quoted)));
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
                        return Some(Ok(self.finish(first, scratch, ends, quoted)));
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

    fn finish(&self, first: usize, scratch: &[u8], ends: &[usize], quoted: bool) -> Record {
        let last = if self.i >= self.b.len() && self.b.last() != Some(&b'\n') {
            self.line
        } else {
            self.line - 1
        };
        Record {
            line: first,
            lines: last + 1 - first,
            blank: !quoted && ends.len() == 1 && scratch.iter().all(u8::is_ascii_whitespace),
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

    fn read_str(text: &[u8]) -> Result<CsvTable> {
        parse(Path::new("t.csv"), text, Some("id"))
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
