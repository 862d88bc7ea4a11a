//! Reading the contract's tables from PostgreSQL: one connection and one
//! read-only, repeatable-read transaction (every table from the same
//! snapshot), each table streamed with `COPY (SELECT …) TO STDOUT (FORMAT
//! binary)` and decoded into polars frames of at most `slice_rows` rows,
//! which `io::read`'s `TableReader` checks exactly as it checks a Parquet
//! slice. The connection lives on its own thread, which decodes the next
//! slice while the loader converts the current one. Owns the SQL (quoted
//! identifiers, casts, a deterministic ORDER BY) and the wire format; knows
//! nothing of features or of the contract's value rules (see `io::rules`).

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};

use polars::prelude::*;
use postgres::{Client, IsolationLevel};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
use crate::io::schema::{ColType, TableKind};
use crate::pg::PgUrl;

/// Days from 1970-01-01 to PostgreSQL's epoch, 2000-01-01.
const PG_EPOCH_DAYS: i32 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;
/// A `date` or `timestamp` of ±infinity arrives as this day, which the
/// loader reports as a bad date (see `TableReader::days`).
pub const INFINITE_DAY: [i32; 2] = [i32::MIN, i32::MAX];

/// How a column travels: its SQL cast and its binary form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    /// `::text`: ids, names, categories; numeric and real (exact decimal
    /// text, parsed as a CSV cell is); text holding dates or numbers.
    Text,
    /// `date`: days since 2000-01-01.
    Date,
    /// `timestamp` or `timestamptz`: microseconds since 2000-01-01 (UTC for
    /// timestamptz; a timestamp without zone is taken as UTC, as files do).
    Timestamp,
    Float8,
    /// Any integer, `::int8`.
    Int8,
}

/// One column of a table as the catalog describes it.
#[derive(Debug, Clone)]
struct DbColumn {
    name: String,
    wire: Wire,
}

/// A table found in the database, with the columns that will be read.
#[derive(Debug, Clone)]
pub struct DbTable {
    /// `schema.name`, as the catalog spells it.
    pub qualified: String,
    /// The same, quoted by the server (`format('%I.%I')`) for the SELECT.
    from: String,
    columns: Vec<DbColumn>,
}

impl DbTable {
    /// What a location names: `postgres table public.events`.
    pub fn location_name(&self) -> PathBuf {
        PathBuf::from(format!("postgres table {}", self.qualified))
    }
}

/// What the connection thread sends for one table.
enum Msg {
    Slice(DataFrame),
    /// The table is read: its rows and the sha256 of its COPY stream.
    Done {
        rows: usize,
        sha256: String,
    },
    Failed(Error),
}

struct Request {
    table: TableKind,
    slice_rows: usize,
    reply: SyncSender<Msg>,
}

/// An open connection with the tables found, shared by the loader's readers.
pub struct Session {
    pub url: PgUrl,
    pub tables: BTreeMap<TableKind, DbTable>,
    requests: Mutex<Option<Sender<Request>>>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Session {
    fn drop(&mut self) {
        // Closing the request channel ends the thread (and the transaction).
        self.requests.lock().map(|mut r| r.take()).ok();
        if let Some(w) = self.worker.lock().ok().and_then(|mut w| w.take()) {
            let _ = w.join();
        }
    }
}

/// Connects, starts a read-only repeatable-read transaction and finds the
/// tables (config `[tables]`, else the contract names in the search_path).
/// Returns the session and the problems found in the catalog (a missing
/// required table or column, a column of a type that cannot hold what it
/// should); `warnings` gets accounts columns left out as attributes and
/// notes on the password file.
pub fn open(
    url: &PgUrl,
    cfg: &Config,
    warnings: &mut Vec<String>,
) -> Result<(Arc<Session>, Problems)> {
    warnings.extend(url.password_notes().iter().cloned());
    let mut client = url.connect()?;
    let (cat_tx, cat_rx) = mpsc::channel();
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    let url2 = url.clone();
    let cfg2 = cfg.clone();
    let worker = std::thread::Builder::new()
        .name("ebbflow-pg".into())
        .spawn(move || serve(&mut client, &url2, &cfg2, cat_tx, req_rx))
        .map_err(|e| url.failure(&format!("cannot start the connection thread: {e}")))?;
    let catalog: Result<Catalog> = cat_rx.recv().unwrap_or_else(|_| {
        Err(url.failure("the connection thread stopped before reading the catalog"))
    });
    let catalog = match catalog {
        Ok(c) => c,
        Err(e) => {
            drop(req_tx);
            let _ = worker.join();
            return Err(e);
        }
    };
    warnings.extend(catalog.warnings);
    Ok((
        Arc::new(Session {
            url: url.clone(),
            tables: catalog.tables,
            requests: Mutex::new(Some(req_tx)),
            worker: Mutex::new(Some(worker)),
        }),
        catalog.problems,
    ))
}

struct Catalog {
    tables: BTreeMap<TableKind, DbTable>,
    problems: Problems,
    warnings: Vec<String>,
}

/// The connection thread: reads the catalog, then serves table reads in
/// one transaction until the session is dropped.
fn serve(
    client: &mut Client,
    url: &PgUrl,
    cfg: &Config,
    catalog: mpsc::Sender<Result<Catalog>>,
    requests: Receiver<Request>,
) {
    let fail = |what: &str, e: &postgres::Error| url.error(what, e);
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start();
    let mut tx = match tx {
        Ok(tx) => tx,
        Err(e) => {
            let _ = catalog.send(Err(fail("cannot start a read-only transaction", &e)));
            return;
        }
    };
    let cat = read_catalog(&mut tx, url, cfg).map_err(|e| fail("cannot read the catalog", &e));
    let tables = match &cat {
        Ok(c) => c.tables.clone(),
        Err(_) => Default::default(),
    };
    if catalog.send(cat).is_err() || tables.is_empty() {
        return;
    }
    for req in requests {
        let Some(t) = tables.get(&req.table) else {
            let _ = req.reply.send(Msg::Failed(Error::InvalidParam(format!(
                "table {} was not found in the database",
                req.table
            ))));
            continue;
        };
        copy_table(&mut tx, url, t, req.slice_rows, &req.reply);
    }
}

fn read_catalog(
    tx: &mut postgres::Transaction<'_>,
    url: &PgUrl,
    cfg: &Config,
) -> std::result::Result<Catalog, postgres::Error> {
    let mut out = Catalog {
        tables: BTreeMap::new(),
        problems: Problems::default(),
        warnings: Vec::new(),
    };
    for t in TableKind::ALL {
        let (wanted, named) = match cfg.tables.get(&t) {
            Some(n) => (n.quoted(), Some(String::from(n.clone()))),
            None => (format!("\"{}\"", t.name()), None),
        };
        let found = tx.query_opt(
            "SELECT n.nspname::text || '.' || c.relname::text, format('%I.%I', n.nspname, c.relname) \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
            &[&wanted],
        )?;
        let Some(row) = found else {
            if let Some(n) = named {
                out.problems.push(Problem {
                    location: Location {
                        file: PathBuf::from(format!("postgres table {n}")),
                        ..Default::default()
                    },
                    kind: ProblemKind::MissingTable,
                    message: format!(
                        "the config's [tables] names this table for {t}, but {url} has no such table or view"
                    ),
                });
            } else if t.required() {
                out.problems.push(Problem {
                    location: Location {
                        file: PathBuf::from(format!("postgres table {t}")),
                        ..Default::default()
                    },
                    kind: ProblemKind::MissingTable,
                    message: format!(
                        "required table {t} not found (expected a table or view {t} in the search_path of {url}, or one named in the config's [tables])"
                    ),
                });
            }
            continue;
        };
        let (qualified, from): (String, String) = (row.get(0), row.get(1));
        let rows = tx.query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), bt.typname::text, \
                    bt.typcategory::text \
             FROM pg_attribute a \
             JOIN pg_type t ON t.oid = a.atttypid \
             JOIN pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            &[&wanted],
        )?;
        let all: Vec<(String, String, String, String)> = rows
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect();
        let table = DbTable {
            qualified,
            from,
            columns: Vec::new(),
        };
        let loc = table.location_name();
        let mut columns = Vec::new();
        let mut used = Vec::new();
        for c in t.columns() {
            let src = cfg.source_column(t, c.name);
            let Some((name, shown, typ, cat)) = all.iter().find(|a| a.0 == src) else {
                if c.required {
                    let mapped = if src != c.name {
                        format!(" (mapped from {})", c.name)
                    } else {
                        String::new()
                    };
                    let have: Vec<&str> = all.iter().map(|a| a.0.as_str()).collect();
                    out.problems.push(Problem {
                        location: Location {
                            file: loc.clone(),
                            column: Some(src.to_string()),
                            ..Default::default()
                        },
                        kind: ProblemKind::MissingColumn,
                        message: format!(
                            "required column {src}{mapped} is missing; the table has: {}",
                            have.join(", ")
                        ),
                    });
                }
                continue;
            };
            used.push(name.clone());
            match wire_for(c.ty, typ, cat) {
                Some(wire) => columns.push(DbColumn {
                    name: name.clone(),
                    wire,
                }),
                None => out.problems.push(Problem {
                    location: Location {
                        file: loc.clone(),
                        column: Some(name.clone()),
                        ..Default::default()
                    },
                    kind: ProblemKind::BadValue,
                    message: format!(
                        "expected {}, found a column of type {shown} (every row; change the column's type or cast it in a view)",
                        expected_types(c.ty)
                    ),
                }),
            }
        }
        // Every other text column of accounts is a categorical attribute.
        if t == TableKind::Accounts {
            for (name, shown, typ, cat) in all.iter().filter(|a| !used.contains(&a.0)) {
                if cat == "S" || cat == "E" || typ == "uuid" {
                    columns.push(DbColumn {
                        name: name.clone(),
                        wire: Wire::Text,
                    });
                } else {
                    out.warnings.push(format!(
                        "{}: column {name} is not text ({shown}); ignored as an attribute",
                        loc.display()
                    ));
                }
            }
        }
        let mut table = DbTable { columns, ..table };
        order_columns(t, &mut table, cfg);
        out.tables.insert(t, table);
    }
    Ok(out)
}

/// The wire form of a column of PostgreSQL type `typ` (category `cat`)
/// holding a contract column of type `ty`; `None` when it cannot hold it.
fn wire_for(ty: ColType, typ: &str, cat: &str) -> Option<Wire> {
    let integer = matches!(typ, "int2" | "int4" | "int8");
    let text = cat == "S" || cat == "E";
    match ty {
        ColType::Id | ColType::Text => (text || integer || typ == "uuid").then_some(Wire::Text),
        ColType::Day => match typ {
            "date" => Some(Wire::Date),
            "timestamp" | "timestamptz" => Some(Wire::Timestamp),
            _ => text.then_some(Wire::Text),
        },
        ColType::Number => match typ {
            "float8" => Some(Wire::Float8),
            _ if integer => Some(Wire::Int8),
            "numeric" | "float4" => Some(Wire::Text),
            _ => text.then_some(Wire::Text),
        },
    }
}

fn expected_types(ty: ColType) -> &'static str {
    match ty {
        ColType::Id => "an id (text, varchar, uuid or an integer type)",
        ColType::Text => "text (text, varchar, an enum, uuid or an integer type)",
        ColType::Day => "dates (date, timestamp, timestamptz, or text holding dates)",
        ColType::Number => "numbers (numeric, double precision, real or an integer type)",
    }
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// `COPY (SELECT …) TO STDOUT (FORMAT binary)` for a table: the columns
/// with their casts, ordered by every column (account id and date first)
/// so that the same rows always arrive in the same order.
fn copy_sql(table: &DbTable) -> String {
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let q = quote_ident(&c.name);
            match c.wire {
                Wire::Text => format!("{q}::text AS {q}"),
                Wire::Int8 => format!("{q}::int8 AS {q}"),
                Wire::Date | Wire::Timestamp | Wire::Float8 => q,
            }
        })
        .collect();
    let order: Vec<String> = (1..=cols.len()).map(|i| i.to_string()).collect();
    format!(
        "COPY (SELECT {} FROM {} ORDER BY {}) TO STDOUT (FORMAT binary)",
        cols.join(", "),
        table.from,
        order.join(", ")
    )
}

/// Puts the contract's account id and date columns first (the ORDER BY
/// follows the column order), then the others as the catalog lists them.
fn order_columns(t: TableKind, table: &mut DbTable, cfg: &Config) {
    let first: Vec<&str> = t
        .columns()
        .iter()
        .filter(|c| c.name == "account_id" || c.ty == ColType::Day)
        .take(2)
        .map(|c| cfg.source_column(t, c.name))
        .collect();
    table.columns.sort_by_key(|c| {
        first
            .iter()
            .position(|f| *f == c.name)
            .unwrap_or(first.len())
    });
}

/// Reads `n` bytes, or fails (the stream ended early).
fn read_exact<R: Read>(r: &mut R, buf: &mut Vec<u8>, n: usize) -> std::io::Result<()> {
    buf.resize(n, 0);
    r.read_exact(buf)
}

/// A hashing reader: the sha256 of the COPY stream is the table's fingerprint.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

enum Builder {
    Text(StringChunkedBuilder),
    Day(Vec<Option<i32>>),
    Num(Vec<Option<f64>>),
}

fn builders(table: &DbTable, cap: usize) -> Vec<Builder> {
    table
        .columns
        .iter()
        .map(|c| match c.wire {
            Wire::Text => Builder::Text(StringChunkedBuilder::new(c.name.as_str().into(), cap)),
            Wire::Date | Wire::Timestamp => Builder::Day(Vec::with_capacity(cap)),
            Wire::Float8 | Wire::Int8 => Builder::Num(Vec::with_capacity(cap)),
        })
        .collect()
}

fn frame(table: &DbTable, bs: Vec<Builder>, height: usize) -> DataFrame {
    let cols: Vec<Column> = bs
        .into_iter()
        .zip(&table.columns)
        .map(|(b, c)| {
            let name: PlSmallStr = c.name.as_str().into();
            match b {
                Builder::Text(b) => b.finish().into_series().into(),
                Builder::Day(v) => Int32Chunked::from_slice_options(name, &v)
                    .into_date()
                    .into_series()
                    .into(),
                Builder::Num(v) => Float64Chunked::from_slice_options(name, &v)
                    .into_series()
                    .into(),
            }
        })
        .collect();
    DataFrame::new(height, cols).expect("columns of one height")
}

/// Streams one table to `reply`: slices of at most `slice_rows` rows (one
/// empty slice when the table is empty), then `Done`. Stops quietly when
/// the reader hangs up (it found enough problems, or failed).
fn copy_table(
    tx: &mut postgres::Transaction<'_>,
    url: &PgUrl,
    table: &DbTable,
    slice_rows: usize,
    reply: &SyncSender<Msg>,
) {
    let sql = copy_sql(table);
    let where_ = |what: &str| format!("{what} {}", table.qualified);
    let reader = match tx.copy_out(sql.as_str()) {
        Ok(r) => r,
        Err(e) => {
            let _ = reply.send(Msg::Failed(url.error(&where_("cannot read table"), &e)));
            return;
        }
    };
    let mut r = BufReader::with_capacity(
        1 << 16,
        Hashing {
            inner: reader,
            hash: Sha256::new(),
        },
    );
    let io_fail =
        |e: std::io::Error| Msg::Failed(url.failure(&format!("{}: {e}", where_("reading table"))));
    let mut buf = Vec::new();
    // Header: signature, flags, extension area.
    let header = read_exact(&mut r, &mut buf, 19).and_then(|_| {
        if &buf[..11] != b"PGCOPY\n\xff\r\n\0" {
            return Err(std::io::Error::other("not a binary COPY stream"));
        }
        let ext = u32::from_be_bytes(buf[15..19].try_into().expect("4 bytes")) as usize;
        read_exact(&mut r, &mut buf, ext)
    });
    if let Err(e) = header {
        let _ = reply.send(io_fail(e));
        return;
    }
    let cap = slice_rows.min(1 << 16);
    let mut bs = builders(table, cap);
    let (mut rows, mut in_slice) = (0usize, 0usize);
    let mut sent_any = false;
    loop {
        let row = (|| -> std::io::Result<Option<()>> {
            read_exact(&mut r, &mut buf, 2)?;
            let n = i16::from_be_bytes([buf[0], buf[1]]);
            if n == -1 {
                return Ok(None);
            }
            if n as usize != bs.len() {
                return Err(std::io::Error::other(format!(
                    "a row has {n} fields, expected {}",
                    bs.len()
                )));
            }
            for (i, b) in bs.iter_mut().enumerate() {
                read_exact(&mut r, &mut buf, 4)?;
                let len = i32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
                if len < 0 {
                    match b {
                        Builder::Text(b) => b.append_null(),
                        Builder::Day(v) => v.push(None),
                        Builder::Num(v) => v.push(None),
                    }
                    continue;
                }
                read_exact(&mut r, &mut buf, len as usize)?;
                let fixed = |n: usize| {
                    (buf.len() == n)
                        .then_some(())
                        .ok_or_else(|| std::io::Error::other("a value of unexpected width"))
                };
                match (b, table.columns[i].wire) {
                    (Builder::Text(b), _) => match std::str::from_utf8(&buf) {
                        Ok(s) => b.append_value(s),
                        Err(_) => {
                            return Err(std::io::Error::new(
                                std::io::ErrorKind::InvalidData,
                                format!("column {}", table.columns[i].name),
                            ))
                        }
                    },
                    (Builder::Day(v), Wire::Date) => {
                        fixed(4)?;
                        let d = i32::from_be_bytes(buf[..4].try_into().expect("4 bytes"));
                        v.push(Some(if INFINITE_DAY.contains(&d) {
                            d
                        } else {
                            d.saturating_add(PG_EPOCH_DAYS)
                        }));
                    }
                    (Builder::Day(v), _) => {
                        fixed(8)?;
                        let us = i64::from_be_bytes(buf[..8].try_into().expect("8 bytes"));
                        v.push(Some(match us {
                            i64::MIN => i32::MIN,
                            i64::MAX => i32::MAX,
                            us => us.div_euclid(MICROS_PER_DAY) as i32 + PG_EPOCH_DAYS,
                        }));
                    }
                    (Builder::Num(v), Wire::Float8) => {
                        fixed(8)?;
                        v.push(Some(f64::from_be_bytes(
                            buf[..8].try_into().expect("8 bytes"),
                        )));
                    }
                    (Builder::Num(v), _) => {
                        fixed(8)?;
                        v.push(Some(
                            i64::from_be_bytes(buf[..8].try_into().expect("8 bytes")) as f64,
                        ));
                    }
                }
            }
            Ok(Some(()))
        })();
        match row {
            Ok(Some(())) => {
                rows += 1;
                in_slice += 1;
                if in_slice == slice_rows {
                    let df = frame(
                        table,
                        std::mem::replace(&mut bs, builders(table, cap)),
                        in_slice,
                    );
                    in_slice = 0;
                    sent_any = true;
                    if reply.send(Msg::Slice(df)).is_err() {
                        return;
                    }
                }
            }
            Ok(None) => break,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                let column = e.to_string().trim_start_matches("column ").to_string();
                let mut ps = Problems::default();
                ps.push(Problem {
                    location: Location {
                        file: table.location_name(),
                        line: Some(rows + 1),
                        is_row: true,
                        column: Some(column),
                        ..Default::default()
                    },
                    kind: ProblemKind::BadValue,
                    message: "the value is not valid UTF-8 (set the database's encoding, or the column's text, to UTF-8)".into(),
                });
                let _ = reply.send(Msg::Failed(Error::BadInput(ps)));
                return;
            }
            Err(e) => {
                let _ = reply.send(io_fail(e));
                return;
            }
        }
    }
    // Drain to the end of the stream, so the server's completion (or its
    // error) is seen before the table counts as read.
    let mut rest = Vec::new();
    if let Err(e) = r.read_to_end(&mut rest) {
        let _ = reply.send(io_fail(e));
        return;
    }
    if in_slice > 0 || !sent_any {
        let df = frame(table, bs, in_slice);
        if reply.send(Msg::Slice(df)).is_err() {
            return;
        }
    }
    let sha256 = format!("{:x}", r.into_inner().hash.finalize());
    let _ = reply.send(Msg::Done { rows, sha256 });
}

/// One table being read: the slices as the connection thread sends them.
pub struct TableStream {
    rx: Receiver<Msg>,
    /// Rows and fingerprint, once the last slice was taken.
    pub done: Option<(usize, String)>,
    pending: Option<DataFrame>,
}

impl TableStream {
    /// The next slice, `None` once the table is read.
    pub fn next(&mut self) -> Result<Option<DataFrame>> {
        if let Some(df) = self.pending.take() {
            return Ok(Some(df));
        }
        if self.done.is_some() {
            return Ok(None);
        }
        match self.rx.recv() {
            Ok(Msg::Slice(df)) => Ok(Some(df)),
            Ok(Msg::Done { rows, sha256 }) => {
                self.done = Some((rows, sha256));
                Ok(None)
            }
            Ok(Msg::Failed(e)) => Err(e),
            Err(_) => Err(Error::io(
                "postgres",
                std::io::Error::other("the connection thread stopped while reading a table"),
            )),
        }
    }

    /// Whether another slice follows the ones taken so far (waits for it).
    pub fn has_more(&mut self) -> Result<bool> {
        if self.pending.is_none() {
            self.pending = self.next()?;
        }
        Ok(self.pending.is_some())
    }
}

impl Session {
    /// Starts streaming `table` in slices of at most `slice_rows` rows.
    pub fn stream(&self, table: TableKind, slice_rows: usize) -> Result<TableStream> {
        // One slice decoded ahead of the one being converted.
        let (tx, rx) = mpsc::sync_channel(1);
        let sent = self
            .requests
            .lock()
            .ok()
            .and_then(|r| {
                r.as_ref().map(|r| {
                    r.send(Request {
                        table,
                        slice_rows: slice_rows.max(1),
                        reply: tx,
                    })
                })
            })
            .is_some_and(|r| r.is_ok());
        if !sent {
            return Err(self
                .url
                .failure("the connection was lost before reading a table"));
        }
        Ok(TableStream {
            rx,
            done: None,
            pending: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_follow_the_contract_types() {
        assert_eq!(wire_for(ColType::Id, "uuid", "U"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Id, "int8", "N"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Id, "varchar", "S"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Id, "bool", "B"), None);
        assert_eq!(
            wire_for(ColType::Day, "timestamptz", "D"),
            Some(Wire::Timestamp)
        );
        assert_eq!(wire_for(ColType::Day, "date", "D"), Some(Wire::Date));
        assert_eq!(wire_for(ColType::Day, "text", "S"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Day, "int4", "N"), None);
        assert_eq!(wire_for(ColType::Number, "numeric", "N"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Number, "float4", "N"), Some(Wire::Text));
        assert_eq!(wire_for(ColType::Number, "float8", "N"), Some(Wire::Float8));
        assert_eq!(wire_for(ColType::Number, "int4", "N"), Some(Wire::Int8));
        assert_eq!(wire_for(ColType::Number, "interval", "T"), None);
        assert_eq!(
            wire_for(ColType::Text, "priority_level", "E"),
            Some(Wire::Text)
        );
    }

    #[test]
    fn sql_quotes_identifiers_and_orders_by_every_column() {
        let table = DbTable {
            qualified: "public.events".into(),
            from: "public.events".into(),
            columns: vec![
                DbColumn {
                    name: "acc\"id".into(),
                    wire: Wire::Text,
                },
                DbColumn {
                    name: "ts".into(),
                    wire: Wire::Timestamp,
                },
                DbColumn {
                    name: "n".into(),
                    wire: Wire::Int8,
                },
            ],
        };
        assert_eq!(
            copy_sql(&table),
            "COPY (SELECT \"acc\"\"id\"::text AS \"acc\"\"id\", \"ts\", \"n\"::int8 AS \"n\" \
             FROM public.events ORDER BY 1, 2, 3) TO STDOUT (FORMAT binary)"
        );
    }
}
