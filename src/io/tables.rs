//! What the loader produces: the typed rows of each table (billing lines,
//! events, tickets, surveys), the accounts, where each table came from, and
//! [`Tables`], all of them grouped by account. Holds data only: reading,
//! checking and grouping are `io::read`, `io::parse`, `io::rules` and
//! `io::group`.

use std::path::PathBuf;

use crate::dates::Day;
use crate::error::Result;
use crate::io::group::{Dated, Grouped};
use crate::io::schema::{Priority, TableKind};
use crate::pg::PgUrl;

/// A billing line. `end` is exclusive (`None` = open).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Line {
    pub start: Day,
    pub end: Option<Day>,
    pub mrr: f64,
    /// Index into [`Tables::plans`], or [`NONE`](crate::io::group::NONE).
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
    /// The user's id among its account's users (equal within an account
    /// exactly when the `user_id` texts are; unrelated across accounts:
    /// features count distinct users per account, see
    /// `io::group::AccountUsers`), or [`NONE`](crate::io::group::NONE).
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

/// A string attribute of accounts (segment, industry, owner…), each
/// account's value held as a number: such columns have few distinct
/// values, and a `String` per account and attribute was 5M allocations at
/// 1M accounts (0.4 s of the load, and as long again to free them).
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    /// The distinct values (trimmed, never empty), in first-seen order.
    pub levels: Vec<String>,
    /// Each account's value as an index into `levels`, or
    /// [`NONE`](crate::io::group::NONE) when it has none.
    pub codes: Vec<u32>,
}

impl Attribute {
    /// The value of `account`, if it has one.
    pub fn value(&self, account: usize) -> Option<&str> {
        self.levels
            .get(self.codes[account] as usize)
            .map(String::as_str)
    }

    /// Every account's value, in account order.
    pub fn values(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.codes.len()).map(|a| self.value(a))
    }
}

#[derive(Debug, Clone, Default)]
pub struct Accounts {
    pub ids: Vec<String>,
    pub names: Vec<Option<String>>,
    pub created: Vec<Day>,
    pub attributes: Vec<Attribute>,
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
