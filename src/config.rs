//! The `ebbflow.toml` config: which file holds each table, how the user's
//! column names map to ours, and the snapshot parameters. Raw values are
//! read here and checked once into [`SnapshotParams`]; nothing downstream
//! re-validates them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::io::csv::Encoding;
use crate::io::schema::TableKind;

/// The config file as written by a user. Every section is optional.
///
/// ```toml
/// [snapshot]
/// grace_days = 30
/// horizon_days = 90
///
/// [files]
/// events = "usage_export.parquet"
/// accounts = { name = "crm.csv", encoding = "windows-1252" }
///
/// [columns.accounts]
/// account_id = "Id"          # our name = their name
/// created_at = "CreatedDate"
/// ```
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub snapshot: RawSnapshotParams,
    /// File name (and optionally encoding) per table, relative to the data directory.
    #[serde(default)]
    pub files: BTreeMap<TableKind, FileEntry>,
    /// Per table: our column name -> the name in the user's file.
    #[serde(default)]
    pub columns: BTreeMap<TableKind, BTreeMap<String, String>>,
    /// Which accounts columns may become features.
    #[serde(default)]
    pub features: FeaturesConfig,
    /// Database tables by table, when `--data` is a PostgreSQL URL
    /// (`events = "analytics.product_events"`); default: the contract name
    /// in the connection's search_path.
    #[serde(default)]
    pub tables: BTreeMap<TableKind, TableName>,
}

/// A database table named in `[tables]`: `name` or `schema.name`, each
/// part letters, digits, `_` or `$` (not starting with a digit), at most 63
/// bytes, taken exactly as written (case included). Anything else is
/// refused when the config is read, so names reach SQL only quoted and
/// only in this shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TableName {
    pub schema: Option<String>,
    pub name: String,
}

impl TableName {
    /// `"schema"."name"` (or `"name"`), safe to put in SQL.
    pub fn quoted(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        match &self.schema {
            Some(s) => format!("{}.{}", q(s), q(&self.name)),
            None => q(&self.name),
        }
    }
}

impl TryFrom<String> for TableName {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<TableName, String> {
        let part = |p: &str| {
            let mut c = p.chars();
            let first_ok = c.next().is_some_and(|f| f.is_alphabetic() || f == '_');
            (first_ok && p.len() <= 63 && c.all(|c| c.is_alphanumeric() || c == '_' || c == '$'))
                .then(|| p.to_string())
        };
        let parts: Vec<&str> = s.split('.').collect();
        let odd = || {
            format!(
                "table name {s:?} is not NAME or SCHEMA.NAME made of letters, digits, _ and $ \
                 (not starting with a digit, at most 63 bytes each)"
            )
        };
        match parts.as_slice() {
            [n] => Ok(TableName {
                schema: None,
                name: part(n).ok_or_else(odd)?,
            }),
            [sc, n] => Ok(TableName {
                schema: Some(part(sc).ok_or_else(odd)?),
                name: part(n).ok_or_else(odd)?,
            }),
            _ => Err(odd()),
        }
    }
}

impl From<TableName> for String {
    fn from(t: TableName) -> String {
        match t.schema {
            Some(s) => format!("{s}.{}", t.name),
            None => t.name,
        }
    }
}

/// `[features]`: accounts columns kept out of the models.
///
/// ```toml
/// [features]
/// exclude = ["status", "churn_reason"]
/// ```
///
/// A CRM column updated after the fact (a status set to "churned", a churn
/// reason) restates the label; training warns when one feature alone
/// separates the held-out label, and this is how to leave its column out.
/// Excluded columns are dropped when the accounts table is read, so they
/// reach neither features nor survival strata.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FeaturesConfig {
    /// Accounts column names (as in the file, after `[columns.accounts]` mapping).
    #[serde(default)]
    pub exclude: Vec<String>,
}

impl Config {
    /// Reads a config file; unknown keys are errors, so typos do not pass silently.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let cfg: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        for (table, map) in &cfg.columns {
            for ours in map.keys() {
                if !table.columns().iter().any(|c| c.name == ours) {
                    let known: Vec<&str> = table.columns().iter().map(|c| c.name).collect();
                    return Err(Error::Config {
                        path: path.to_path_buf(),
                        message: format!(
                            "[columns.{table}] maps unknown column {ours:?}; ours are: {}",
                            known.join(", ")
                        ),
                    });
                }
            }
        }
        Ok(cfg)
    }

    /// The config from `path` if given, else the defaults.
    pub fn load(path: Option<&Path>) -> Result<Config> {
        path.map_or_else(|| Ok(Config::default()), Config::from_file)
    }

    /// The file the config names for `table`, if any.
    pub fn file_name(&self, table: TableKind) -> Option<&Path> {
        match self.files.get(&table)? {
            FileEntry::Name(p) => Some(p),
            FileEntry::Spec(s) => s.name.as_deref(),
        }
    }

    /// The text encoding of `table`'s CSV file (UTF-8 unless the config says otherwise).
    pub fn encoding(&self, table: TableKind) -> Encoding {
        match self.files.get(&table) {
            Some(FileEntry::Spec(s)) => s.encoding,
            _ => Encoding::Utf8,
        }
    }

    /// The user's name for our column `ours` in `table`.
    pub fn source_column<'a>(&'a self, table: TableKind, ours: &'a str) -> &'a str {
        self.columns
            .get(&table)
            .and_then(|m| m.get(ours))
            .map_or(ours, String::as_str)
    }
}

/// A table's entry in `[files]`: a file name (`events = "usage.parquet"`),
/// or a name and an encoding (`accounts = { name = "crm.csv", encoding =
/// "windows-1252" }`; the name may be left out to keep `accounts.csv`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum FileEntry {
    Name(PathBuf),
    Spec(FileSpec),
}

/// By hand rather than `untagged`, so a typo inside the table is named
/// ("unknown field `nmae`, expected `name` or `encoding`") instead of
/// "data did not match any variant".
impl<'de> Deserialize<'de> for FileEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = FileEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a file name, or { name = \"...\", encoding = \"...\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<FileEntry, E> {
                Ok(FileEntry::Name(PathBuf::from(v)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> std::result::Result<FileEntry, A::Error> {
                FileSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(FileEntry::Spec)
            }
        }
        d.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileSpec {
    #[serde(default)]
    pub name: Option<PathBuf>,
    /// `"utf-8"` (default) or `"windows-1252"`; applies to CSV files.
    #[serde(default)]
    pub encoding: Encoding,
}

/// Snapshot parameters as written in the config; see [`SnapshotParams`].
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RawSnapshotParams {
    pub grace_days: i64,
    pub horizon_days: i64,
    pub top_event_types: i64,
    pub max_levels: i64,
    pub min_level_share: f64,
    pub min_level_accounts: i64,
}

impl Default for RawSnapshotParams {
    fn default() -> Self {
        RawSnapshotParams {
            grace_days: 30,
            horizon_days: 90,
            top_event_types: 20,
            max_levels: 10,
            min_level_share: 0.01,
            min_level_accounts: 5,
        }
    }
}

/// Checked snapshot parameters; only this type reaches the feature code.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SnapshotParams {
    /// Gaps of at most this many inactive days between paid periods are merged.
    pub grace_days: u32,
    /// Label horizon H: churn/upgrade within (S, S+H].
    pub horizon_days: u32,
    /// K: per-event-type 30-day counts for the K most frequent types.
    pub top_event_types: usize,
    /// At most this many levels per categorical attribute; the rest are `other`.
    pub max_levels: usize,
    /// A level needs at least this share of accounts to get its own column.
    pub min_level_share: f64,
    /// ... and at least this many accounts, so that no level kept in a
    /// shared bundle can point at a single customer.
    pub min_level_accounts: usize,
}

impl RawSnapshotParams {
    pub fn check(&self) -> Result<SnapshotParams> {
        let bad = |m: String| Err(Error::InvalidParam(m));
        if !(0..=365).contains(&self.grace_days) {
            return bad(format!(
                "grace_days must be in 0..=365, got {}",
                self.grace_days
            ));
        }
        if !(1..=730).contains(&self.horizon_days) {
            return bad(format!(
                "horizon_days must be in 1..=730, got {}",
                self.horizon_days
            ));
        }
        if !(0..=200).contains(&self.top_event_types) {
            return bad(format!(
                "top_event_types must be in 0..=200, got {}",
                self.top_event_types
            ));
        }
        if !(1..=100).contains(&self.max_levels) {
            return bad(format!(
                "max_levels must be in 1..=100, got {}",
                self.max_levels
            ));
        }
        if !(0.0..1.0).contains(&self.min_level_share) {
            return bad(format!(
                "min_level_share must be in [0, 1), got {}",
                self.min_level_share
            ));
        }
        if !(1..=1_000_000).contains(&self.min_level_accounts) {
            return bad(format!(
                "min_level_accounts must be in 1..=1000000, got {}",
                self.min_level_accounts
            ));
        }
        Ok(SnapshotParams {
            grace_days: self.grace_days as u32,
            horizon_days: self.horizon_days as u32,
            top_event_types: self.top_event_types as usize,
            max_levels: self.max_levels as usize,
            min_level_share: self.min_level_share,
            min_level_accounts: self.min_level_accounts as usize,
        })
    }
}

impl Default for SnapshotParams {
    fn default() -> Self {
        RawSnapshotParams::default()
            .check()
            .expect("defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mapping_and_params() {
        let cfg: Config = toml::from_str(
            r#"
            [snapshot]
            horizon_days = 60
            [files]
            events = "usage.parquet"
            [columns.accounts]
            account_id = "Id"
            "#,
        )
        .unwrap();
        assert_eq!(cfg.source_column(TableKind::Accounts, "account_id"), "Id");
        assert_eq!(
            cfg.source_column(TableKind::Accounts, "created_at"),
            "created_at"
        );
        assert_eq!(cfg.snapshot.check().unwrap().horizon_days, 60);
        assert_eq!(cfg.snapshot.grace_days, 30);
        assert_eq!(
            cfg.file_name(TableKind::Events),
            Some(Path::new("usage.parquet"))
        );
        assert_eq!(cfg.encoding(TableKind::Events), Encoding::Utf8);
    }

    #[test]
    fn files_take_an_encoding_with_or_without_a_name() {
        let cfg: Config = toml::from_str(
            r#"
            [files]
            accounts = { name = "crm.csv", encoding = "windows-1252" }
            tickets = { encoding = "windows-1252" }
            "#,
        )
        .unwrap();
        assert_eq!(
            cfg.file_name(TableKind::Accounts),
            Some(Path::new("crm.csv"))
        );
        assert_eq!(cfg.encoding(TableKind::Accounts), Encoding::Windows1252);
        assert_eq!(cfg.file_name(TableKind::Tickets), None);
        assert_eq!(cfg.encoding(TableKind::Tickets), Encoding::Windows1252);
        let err = toml::from_str::<Config>("[files]\naccounts = { encoding = \"latin-9\" }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown variant `latin-9`"), "{err}");
        let err = toml::from_str::<Config>("[files]\naccounts = { nmae = \"x.csv\" }")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `nmae`"), "{err}");
    }

    #[test]
    fn table_names_are_checked_and_quoted() {
        let cfg: Config =
            toml::from_str("[tables]\nevents = \"analytics.product_events\"\naccounts = \"Crm\"")
                .unwrap();
        let ev = &cfg.tables[&TableKind::Events];
        assert_eq!(ev.quoted(), "\"analytics\".\"product_events\"");
        assert_eq!(cfg.tables[&TableKind::Accounts].quoted(), "\"Crm\"");
        for odd in [
            "a.b.c",
            "x; DROP TABLE accounts",
            "\"quoted\"",
            "1st",
            "",
            "a.",
            "has space",
        ] {
            let err = toml::from_str::<Config>(&format!("[tables]\nevents = {odd:?}"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("is not NAME or SCHEMA.NAME"), "{odd}: {err}");
        }
        assert!(toml::from_str::<Config>("[tables]\nevent = \"x\"").is_err());
    }

    #[test]
    fn rejects_zero_horizon() {
        let raw = RawSnapshotParams {
            horizon_days: 0,
            ..Default::default()
        };
        let err = raw.check().unwrap_err().to_string();
        assert!(
            err.contains("horizon_days must be in 1..=730, got 0"),
            "{err}"
        );
    }

    #[test]
    fn rejects_unknown_keys_and_columns() {
        assert!(toml::from_str::<Config>("[snapshot]\nhorizon = 3").is_err());
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.toml");
        std::fs::write(&p, "[columns.accounts]\nacount_id = \"Id\"\n").unwrap();
        let err = Config::from_file(&p).unwrap_err().to_string();
        assert!(err.contains("unknown column \"acount_id\""), "{err}");
    }
}
