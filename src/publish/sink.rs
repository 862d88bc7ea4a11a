//! Publishing a scoring run to PostgreSQL (`--sink`): the run's row in
//! `ebbflow_runs`, its queue in `ebbflow_queue` and the view
//! `ebbflow_queue_latest`, written in one transaction so a reader sees the
//! previous run or this one, never half of it. Owns the tables' layout,
//! its recorded version and migrations, and the query for the latest
//! earlier run (the movers' previous run). Does not decide what a queue
//! holds: its columns and types come from the queue's own frame
//! (`queue::to_frame`), so a column the queue gains reaches the table.

use std::collections::BTreeMap;
use std::error::Error as StdError;

use polars::prelude::*;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::Client;

use crate::dates::{format_day, parse_day, Day};
use crate::error::{Error, Result};
use crate::pg::PgUrl;
use crate::queue::QueueRow;

/// The layout this binary writes. 1: runs, queue (the queue's columns
/// before issue 11), view. 2: the queue's movers columns
/// (`prev_churn_risk`, `churn_risk_change`, `prev_risk_tier`, `movement`).
/// A database at 1 is migrated in the run's transaction; one above this
/// is refused (exit 2): a newer ebbflow wrote it.
pub const SCHEMA_VERSION: i32 = 2;

/// Runs publishing to one database go one at a time (a transaction-scoped
/// advisory lock): creating tables, replacing a rerun's rows and the view
/// never race. The key spells "ebbflow".
const LOCK_KEY: i64 = 0x0065_6262_666c_6f77;

/// The queue table's columns in layout order: name, SQL type, version
/// that added it. `run_id` comes first and is not a queue column.
const QUEUE_COLUMNS: &[(&str, &str, i32)] = &[
    ("rank", "bigint", 1),
    ("account_id", "text", 1),
    ("name", "text", 1),
    ("owner", "text", 1),
    ("as_of", "date", 1),
    ("mrr", "double precision", 1),
    ("churn_risk", "double precision", 1),
    ("risk_tier", "text", 1),
    ("arr_at_risk", "double precision", 1),
    ("upgrade_propensity", "double precision", 1),
    ("upgrade_tier", "text", 1),
    ("rfm_code", "text", 1),
    ("segment", "text", 1),
    ("survival_90d", "double precision", 1),
    ("expected_days_remaining", "double precision", 1),
    ("churn_drivers", "text", 1),
    ("upgrade_drivers", "text", 1),
    ("suggested_play", "text", 1),
    ("model_version", "text", 1),
    ("prev_churn_risk", "double precision", 2),
    ("churn_risk_change", "double precision", 2),
    ("prev_risk_tier", "text", 2),
    ("movement", "text", 2),
];

const CREATE_RUNS: &str = "CREATE TABLE ebbflow_runs (
    run_id text PRIMARY KEY,
    as_of date NOT NULL,
    bundle_id text NOT NULL,
    model_version text NOT NULL,
    generated_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('ok', 'drift')),
    gate text,
    accounts bigint NOT NULL,
    scored bigint NOT NULL,
    skipped_inactive bigint NOT NULL,
    skipped_rows_unknown_account bigint NOT NULL,
    tier_high bigint,
    tier_medium bigint,
    tier_low bigint,
    ebbflow_version text NOT NULL,
    manifest jsonb NOT NULL
)";

/// The queue of the most recent successful run: latest as-of date, then
/// latest generation time (`run_id` breaks a tie within one second).
const CREATE_VIEW: &str = "CREATE OR REPLACE VIEW ebbflow_queue_latest AS
SELECT q.* FROM ebbflow_queue q
WHERE q.run_id = (
    SELECT r.run_id FROM ebbflow_runs r WHERE r.status = 'ok'
    ORDER BY r.as_of DESC, r.generated_at DESC, r.run_id DESC LIMIT 1
)";

/// A connection to the database a run publishes to, its layout checked.
pub struct Sink {
    url: PgUrl,
    client: Client,
    /// The schema the tables live in (`--sink-schema`, else the
    /// connection's current schema).
    schema: String,
}

/// Counts of the run's queue by churn tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierCounts {
    pub high: i64,
    pub medium: i64,
    pub low: i64,
}

impl TierCounts {
    pub fn of(rows: &[QueueRow]) -> TierCounts {
        let mut t = TierCounts::default();
        for r in rows {
            match r.risk_tier.as_str() {
                "high" => t.high += 1,
                "medium" => t.medium += 1,
                "low" => t.low += 1,
                _ => {}
            }
        }
        t
    }
}

/// One run as the database records it.
pub struct SinkRun<'a> {
    pub as_of: Day,
    pub bundle_id: &'a str,
    pub generated_at: &'a str,
    /// Why the drift gate stopped the run: then only its `ebbflow_runs`
    /// row is written, with status `drift`.
    pub gate: Option<&'a str>,
    pub accounts: usize,
    pub scored: usize,
    pub skipped_inactive: usize,
    pub skipped_rows_unknown_account: usize,
    /// The queue as the files hold it; `None` for a gated run.
    pub queue: Option<(&'a DataFrame, TierCounts)>,
    /// `manifest.json`'s text.
    pub manifest: &'a str,
}

/// The run's id: `<as_of>/<bundle_id>`, so rerunning a date with the same
/// bundle replaces that run. A gated run is `<as_of>/<bundle_id>/drift`:
/// it never replaces the successful run of its date (whose queue the
/// files also keep), and a gated retry replaces the earlier gated row.
pub fn run_id(as_of: Day, bundle_id: &str, gated: bool) -> String {
    let id = format!("{}/{bundle_id}", format_day(as_of));
    if gated {
        id + "/drift"
    } else {
        id
    }
}

/// The latest earlier successful run's queue, as movers compare with it.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviousRun {
    pub run_id: String,
    pub as_of: Day,
    pub accounts: Vec<PreviousRow>,
}

/// One account of a previous run's queue: the movers' own type, so the
/// database and a queue file give the same `Previous`.
pub use crate::movers::PreviousAccount as PreviousRow;

impl Sink {
    /// Connects and checks the layout without changing anything, so a
    /// database this binary cannot use fails the run before scoring.
    pub fn open(url: PgUrl, schema: Option<&str>) -> Result<Sink> {
        let mut client = url.connect()?;
        if let Some(s) = schema {
            check_identifier("--sink-schema", s)?;
            client
                .batch_execute(&format!("SET search_path TO {}", quote(s)))
                .map_err(|e| url.error("cannot set the schema", &e))?;
        }
        let current: Option<String> = client
            .query_one("SELECT current_schema()", &[])
            .map_err(|e| url.error("cannot read the current schema", &e))?
            .get(0);
        let schema = match (current, schema) {
            (Some(c), _) => c,
            (None, Some(s)) => {
                return Err(Error::DatabaseSchema {
                    target: url.shown().to_string(),
                    message: format!(
                        "schema {s:?} does not exist (--sink-schema); create it first"
                    ),
                })
            }
            (None, None) => {
                return Err(Error::DatabaseSchema {
                    target: url.shown().to_string(),
                    message: "the connection has no current schema (search_path names none that \
                              exists); name one with --sink-schema"
                        .into(),
                })
            }
        };
        let mut sink = Sink {
            url,
            client,
            schema,
        };
        let version = read_version(&mut sink.client, &sink.url, &sink.schema)?;
        check_version(&sink.url, &sink.schema, version)?;
        Ok(sink)
    }

    /// The database as logs and manifests show it (no password).
    pub fn shown(&self) -> &str {
        self.url.shown()
    }

    pub fn schema(&self) -> &str {
        &self.schema
    }

    fn schema_error(&self, message: String) -> Error {
        schema_error(&self.url, message)
    }
}

fn schema_error(url: &PgUrl, message: String) -> Error {
    Error::DatabaseSchema {
        target: url.shown().to_string(),
        message,
    }
}

/// Refuses a layout this binary cannot write to.
fn check_version(url: &PgUrl, schema: &str, version: Layout) -> Result<()> {
    let fail = |m: String| Err(schema_error(url, m));
    match version {
        Layout::Foreign => fail(format!(
            "schema {schema} holds ebbflow_runs or ebbflow_queue but no ebbflow_schema: \
                 tables ebbflow did not make; rename them or use another --sink-schema"
        )),
        Layout::Version(v) if v > SCHEMA_VERSION => fail(format!(
            "schema {schema} holds ebbflow tables of schema version {v}, written by a newer \
                 ebbflow; this one knows versions up to {SCHEMA_VERSION}: upgrade ebbflow, \
                 or use another --sink-schema"
        )),
        Layout::Version(v) if v < 1 => fail(format!(
            "schema {schema} records ebbflow schema version {v}, which no ebbflow wrote"
        )),
        _ => Ok(()),
    }
}

impl Sink {
    /// Writes the run in one transaction: tables created or migrated when
    /// needed, the rows of an earlier run with the same id deleted, the
    /// run's row and queue rows inserted, the view brought up to date.
    /// On any failure nothing is written. Returns the run's id.
    pub fn write_run(&mut self, run: &SinkRun<'_>) -> Result<String> {
        let id = run_id(run.as_of, run.bundle_id, run.gate.is_some());
        // Scoring a large batch takes minutes; a server may have closed the
        // idle connection meanwhile.
        let alive = std::time::Duration::from_secs(10);
        if self.client.is_closed() || self.client.is_valid(alive).is_err() {
            self.client = self.url.connect()?;
            self.client
                .batch_execute(&format!("SET search_path TO {}", quote(&self.schema)))
                .map_err(|e| self.url.error("cannot set the schema", &e))?;
        }
        let Sink {
            url,
            client,
            schema,
        } = self;
        let doing = format!("cannot publish run {id}");
        let db = |e: postgres::Error| url.error(&doing, &e);
        let mut tx = client.transaction().map_err(db)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
            .map_err(db)?;
        // Re-read under the lock: another run may have created or
        // migrated the tables since `open`.
        let layout = read_version(&mut tx, url, schema)?;
        check_version(url, schema, layout)?;
        let columns = match &run.queue {
            Some((df, _)) => queue_columns(df)?,
            None => Vec::new(),
        };
        let mut changed = match layout {
            Layout::Absent => {
                create(&mut tx).map_err(db)?;
                true
            }
            Layout::Version(v) if v < SCHEMA_VERSION => {
                migrate(&mut tx, v).map_err(db)?;
                true
            }
            _ => false,
        };
        changed |= add_columns(&mut tx, url, schema, &columns)?;
        if changed {
            tx.batch_execute(CREATE_VIEW).map_err(db)?;
        }
        tx.execute("DELETE FROM ebbflow_queue WHERE run_id = $1", &[&id])
            .map_err(db)?;
        tx.execute("DELETE FROM ebbflow_runs WHERE run_id = $1", &[&id])
            .map_err(db)?;
        // The queue rows, then the run's row: a reader that finds the run
        // finds its queue (and, uncommitted, neither is visible anyway).
        if let Some((df, _)) = &run.queue {
            copy_queue(&mut tx, &id, df, &columns).map_err(|e| match e {
                CopyError::Db(e) => db(e),
                CopyError::Ours(e) => e,
            })?;
        }
        let n = |x: usize| x as i64;
        let tiers = run.queue.as_ref().map(|(_, t)| *t);
        let status = if run.gate.is_some() { "drift" } else { "ok" };
        tx.execute(
            "INSERT INTO ebbflow_runs (run_id, as_of, bundle_id, model_version, generated_at,
                status, gate, accounts, scored, skipped_inactive, skipped_rows_unknown_account,
                tier_high, tier_medium, tier_low, ebbflow_version, manifest)
             VALUES ($1, $2, $3, $4, $5::text::timestamptz, $6, $7, $8, $9, $10, $11,
                $12, $13, $14, $15, $16::text::jsonb)",
            &[
                &id,
                &PgDate(run.as_of),
                &run.bundle_id,
                &run.bundle_id,
                &run.generated_at,
                &status,
                &run.gate,
                &n(run.accounts),
                &n(run.scored),
                &n(run.skipped_inactive),
                &n(run.skipped_rows_unknown_account),
                &tiers.map(|t| t.high),
                &tiers.map(|t| t.medium),
                &tiers.map(|t| t.low),
                &env!("CARGO_PKG_VERSION"),
                &run.manifest,
            ],
        )
        .map_err(db)?;
        tx.commit().map_err(db)?;
        Ok(id)
    }

    /// The queue of the latest successful run dated before `as_of` (latest
    /// as-of date, then latest generation time), or `None` when there is
    /// none (or no tables yet): the previous run movers compare with.
    pub fn previous_run(&mut self, as_of: Day) -> Result<Option<PreviousRun>> {
        let url = self.url.clone();
        let db = |e: postgres::Error| url.error("cannot read the previous run", &e);
        if !matches!(
            read_version(&mut self.client, &self.url, &self.schema)?,
            Layout::Version(_)
        ) {
            return Ok(None);
        }
        let Some(run) = self
            .client
            .query_opt(
                "SELECT run_id, as_of::text FROM ebbflow_runs
                 WHERE status = 'ok' AND as_of < $1
                 ORDER BY as_of DESC, generated_at DESC, run_id DESC LIMIT 1",
                &[&PgDate(as_of)],
            )
            .map_err(db)?
        else {
            return Ok(None);
        };
        let run_id: String = run.get(0);
        let day: String = run.get(1);
        let as_of = parse_day(&day).ok_or_else(|| {
            self.schema_error(format!("run {run_id} has as_of {day:?}, not a date"))
        })?;
        let rows = self
            .client
            .query(
                "SELECT account_id, name, churn_risk, risk_tier, arr_at_risk
                 FROM ebbflow_queue WHERE run_id = $1 ORDER BY account_id",
                &[&run_id],
            )
            .map_err(db)?;
        let accounts = rows
            .iter()
            .map(|r| PreviousRow {
                account_id: r.get(0),
                name: r.get(1),
                churn_risk: r.get(2),
                risk_tier: r.get(3),
                arr_at_risk: r.get(4),
            })
            .collect();
        Ok(Some(PreviousRun {
            run_id,
            as_of,
            accounts,
        }))
    }
}

/// Adds the queue's columns the table lacks (a queue column newer than
/// the layout) and refuses one whose type differs from the table's. True
/// when it added any.
fn add_columns(
    tx: &mut postgres::Transaction<'_>,
    url: &PgUrl,
    schema: &str,
    columns: &[QueueColumn<'_>],
) -> Result<bool> {
    let have = table_columns(tx, schema, "ebbflow_queue")
        .map_err(|e| url.error("cannot read the queue table's columns", &e))?;
    let mut added = false;
    for c in columns {
        match have.get(c.name) {
            Some(t) if t == c.sql => {}
            Some(t) => {
                return Err(schema_error(
                    url,
                    format!(
                        "column ebbflow_queue.{} is {t}, but this run writes {}; alter or drop \
                         the column, or use another --sink-schema",
                        c.name, c.sql
                    ),
                ))
            }
            None => {
                tx.batch_execute(&format!(
                    "ALTER TABLE ebbflow_queue ADD COLUMN \"{}\" {}",
                    c.name, c.sql
                ))
                .map_err(|e| url.error("cannot add a queue column", &e))?;
                added = true;
            }
        }
    }
    Ok(added)
}

/// What a schema holds of ebbflow's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// None of them: the first run creates them.
    Absent,
    /// ebbflow_runs or ebbflow_queue without ebbflow_schema.
    Foreign,
    Version(i32),
}

fn read_version(
    client: &mut impl postgres::GenericClient,
    url: &PgUrl,
    schema: &str,
) -> Result<Layout> {
    let db = |e: postgres::Error| url.error("cannot read the ebbflow schema version", &e);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.tables
             WHERE table_schema = $1
               AND table_name IN ('ebbflow_schema', 'ebbflow_runs', 'ebbflow_queue')",
            &[&schema],
        )
        .map_err(db)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if !tables.iter().any(|t| t == "ebbflow_schema") {
        return Ok(if tables.is_empty() {
            Layout::Absent
        } else {
            Layout::Foreign
        });
    }
    let v: Option<i32> = client
        .query_one("SELECT max(version) FROM ebbflow_schema", &[])
        .map_err(db)?
        .get(0);
    Ok(v.map_or(Layout::Foreign, Layout::Version))
}

/// Creates the current layout in an empty schema.
fn create(tx: &mut postgres::Transaction<'_>) -> std::result::Result<(), postgres::Error> {
    let cols: Vec<String> = QUEUE_COLUMNS
        .iter()
        .map(|(name, ty, _)| {
            let not_null = matches!(*name, "account_id" | "as_of");
            format!(
                "    \"{name}\" {ty}{}",
                if not_null { " NOT NULL" } else { "" }
            )
        })
        .collect();
    tx.batch_execute(&format!(
        "CREATE TABLE ebbflow_schema (version integer NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO ebbflow_schema (version) VALUES ({SCHEMA_VERSION});
         {CREATE_RUNS};
         CREATE TABLE ebbflow_queue (\n    run_id text NOT NULL,\n{},\n    PRIMARY KEY (run_id, account_id)\n);
         CREATE INDEX ebbflow_runs_latest ON ebbflow_runs (status, as_of, generated_at);",
        cols.join(",\n")
    ))
}

/// Brings a layout of version `from` to [`SCHEMA_VERSION`].
fn migrate(
    tx: &mut postgres::Transaction<'_>,
    from: i32,
) -> std::result::Result<(), postgres::Error> {
    for (name, ty, since) in QUEUE_COLUMNS {
        if *since > from {
            tx.batch_execute(&format!(
                "ALTER TABLE ebbflow_queue ADD COLUMN IF NOT EXISTS \"{name}\" {ty}"
            ))?;
        }
    }
    tx.execute(
        "UPDATE ebbflow_schema SET version = $1, updated_at = now()",
        &[&SCHEMA_VERSION],
    )?;
    Ok(())
}

/// Column name -> SQL type (as `information_schema` spells it).
fn table_columns(
    tx: &mut postgres::Transaction<'_>,
    schema: &str,
    table: &str,
) -> std::result::Result<BTreeMap<String, String>, postgres::Error> {
    Ok(tx
        .query(
            "SELECT column_name::text, data_type::text FROM information_schema.columns
             WHERE table_schema = $1 AND table_name = $2",
            &[&schema, &table],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// `name` as an SQL identifier, quoted.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Names used in SQL text: ASCII letters, digits and `_`, not starting
/// with a digit, at most 63 bytes (PostgreSQL's limit).
fn check_identifier(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParam(format!(
            "{what}: {name:?} is not a plain SQL name (letters, digits and _)"
        )))
    }
}

/// A queue column as the database stores it.
struct QueueColumn<'a> {
    name: &'a str,
    /// The SQL type, as `information_schema` spells it.
    sql: &'static str,
    ty: Type,
    values: Values<'a>,
}

enum Values<'a> {
    Float(Vec<Option<f64>>),
    Int(Vec<Option<i32>>),
    BigInt(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Text(Vec<Option<&'a str>>),
    Date(Vec<Option<PgDate>>),
}

impl Values<'_> {
    fn get(&self, i: usize) -> &(dyn ToSql + Sync) {
        match self {
            Values::Float(v) => &v[i],
            Values::Int(v) => &v[i],
            Values::BigInt(v) => &v[i],
            Values::Bool(v) => &v[i],
            Values::Text(v) => &v[i],
            Values::Date(v) => &v[i],
        }
    }
}

/// The queue frame's columns with their SQL types: floats are `double
/// precision`, 32-bit integers `integer`, wider ones `bigint`, text
/// `text`, dates `date`; `as_of` is a date whether the frame holds it as a
/// date or as `YYYY-MM-DD` text. Any other type is refused (a bug: the
/// queue gained a column this mapping does not know).
fn queue_columns(df: &DataFrame) -> Result<Vec<QueueColumn<'_>>> {
    let bug = |m: String| Error::Model(format!("publishing the queue to PostgreSQL: {m}"));
    let pe = |e: PolarsError| bug(e.to_string());
    let mut out = Vec::new();
    for c in df.columns() {
        let name = c.name().as_str();
        check_identifier("queue column", name)?;
        let s = c.as_materialized_series();
        let (sql, ty, values) = match s.dtype() {
            DataType::Float64 | DataType::Float32 => {
                let s = s.cast(&DataType::Float64).map_err(pe)?;
                let v = s.f64().map_err(pe)?.iter().collect();
                ("double precision", Type::FLOAT8, Values::Float(v))
            }
            DataType::Int32 => {
                let v = s.i32().map_err(pe)?.iter().collect();
                ("integer", Type::INT4, Values::Int(v))
            }
            DataType::Int64 | DataType::UInt32 | DataType::UInt64 => {
                let s = s.cast(&DataType::Int64).map_err(pe)?;
                let v = s.i64().map_err(pe)?.iter().collect();
                ("bigint", Type::INT8, Values::BigInt(v))
            }
            DataType::Boolean => {
                let v = s.bool().map_err(pe)?.iter().collect();
                ("boolean", Type::BOOL, Values::Bool(v))
            }
            DataType::Date => {
                let v = s
                    .date()
                    .map_err(pe)?
                    .physical()
                    .iter()
                    .map(|d| d.map(PgDate))
                    .collect();
                ("date", Type::DATE, Values::Date(v))
            }
            DataType::String if name == "as_of" => {
                let v = s
                    .str()
                    .map_err(pe)?
                    .iter()
                    .map(|t| {
                        t.map(|t| {
                            parse_day(t)
                                .map(PgDate)
                                .ok_or_else(|| bug(format!("as_of holds {t:?}, not a date")))
                        })
                        .transpose()
                    })
                    .collect::<Result<_>>()?;
                ("date", Type::DATE, Values::Date(v))
            }
            DataType::String => {
                let v = s.str().map_err(pe)?.iter().collect();
                ("text", Type::TEXT, Values::Text(v))
            }
            other => {
                return Err(bug(format!(
                    "queue column {name} is {other}, with no SQL type"
                )))
            }
        };
        out.push(QueueColumn {
            name,
            sql,
            ty,
            values,
        });
    }
    Ok(out)
}

enum CopyError {
    Db(postgres::Error),
    Ours(Error),
}

/// The queue rows, by binary COPY (faster than multi-row INSERTs here:
/// see the README's figures).
fn copy_queue(
    tx: &mut postgres::Transaction<'_>,
    id: &str,
    df: &DataFrame,
    columns: &[QueueColumn<'_>],
) -> std::result::Result<(), CopyError> {
    let names: Vec<String> = columns.iter().map(|c| format!("\"{}\"", c.name)).collect();
    let mut types = vec![Type::TEXT];
    types.extend(columns.iter().map(|c| c.ty.clone()));
    let sink = tx
        .copy_in(&format!(
            "COPY ebbflow_queue (run_id, {}) FROM STDIN (FORMAT binary)",
            names.join(", ")
        ))
        .map_err(CopyError::Db)?;
    let mut w = postgres::binary_copy::BinaryCopyInWriter::new(sink, &types);
    let mut row: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(types.len());
    for i in 0..df.height() {
        row.clear();
        row.push(&id);
        row.extend(columns.iter().map(|c| c.values.get(i)));
        w.write(&row).map_err(CopyError::Db)?;
    }
    let n = w.finish().map_err(CopyError::Db)?;
    if n != df.height() as u64 {
        return Err(CopyError::Ours(Error::Model(format!(
            "COPY wrote {n} queue rows of {}",
            df.height()
        ))));
    }
    Ok(())
}

/// A day number as PostgreSQL's binary `date`: days since 2000-01-01.
#[derive(Debug, Clone, Copy)]
struct PgDate(Day);

/// 2000-01-01 in days since 1970-01-01.
const PG_EPOCH: Day = 10_957;

impl ToSql for PgDate {
    fn to_sql(
        &self,
        _: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
        out.extend_from_slice(&(self.0 - PG_EPOCH).to_be_bytes());
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rerun_has_its_runs_id_and_a_gated_run_its_own() {
        let d = parse_day("2025-12-31").unwrap();
        assert_eq!(run_id(d, "b1", false), "2025-12-31/b1");
        assert_eq!(run_id(d, "b1", true), "2025-12-31/b1/drift");
    }

    #[test]
    fn the_layout_lists_every_queue_column_once_and_adds_none_before_version_1() {
        let mut names: Vec<_> = QUEUE_COLUMNS.iter().map(|c| c.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), QUEUE_COLUMNS.len());
        assert!(QUEUE_COLUMNS
            .iter()
            .all(|c| (1..=SCHEMA_VERSION).contains(&c.2)));
    }

    #[test]
    fn queue_columns_get_sql_types_from_their_polars_types() {
        let df = df!(
            "rank" => [1u32, 2],
            "as_of" => ["2025-12-31", "2025-12-31"],
            "mrr" => [10.0, f64::NAN],
            "risk_tier" => [Some("high"), None],
            "flag" => [true, false],
            "n" => [1i32, 2],
        )
        .unwrap();
        let cols = queue_columns(&df).unwrap();
        let types: Vec<_> = cols.iter().map(|c| (c.name, c.sql)).collect();
        assert_eq!(
            types,
            [
                ("rank", "bigint"),
                ("as_of", "date"),
                ("mrr", "double precision"),
                ("risk_tier", "text"),
                ("flag", "boolean"),
                ("n", "integer"),
            ]
        );
        let Values::Date(d) = &cols[1].values else {
            panic!("as_of is a date")
        };
        // 2025-12-31 is day 9496 after 2000-01-01.
        assert_eq!(d[0].unwrap().0 - PG_EPOCH, 9496);
    }

    #[test]
    fn names_in_sql_text_are_plain() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert!(check_identifier("x", "analytics_2").is_ok());
        for bad in ["", "1abc", "a\"b", "a b", "a;drop"] {
            assert!(check_identifier("x", bad).is_err(), "{bad}");
        }
    }
}
