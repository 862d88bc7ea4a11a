//! Loading's entry points: finds each table of a folder (or opens a
//! PostgreSQL snapshot), loads them in order with the per-table rules of
//! `io::rules` into [`Tables`], and records where each came from
//! ([`SourceFile`]); problems of every table are reported together.
//! Scoring may ask for only the rows its date can read ([`Need::Window`]).
//! Reading is `io::read`'s, cell parsing `io::parse`'s, interning and
//! grouping `io::group`'s; nothing here computes features.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::dates::Day;
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
pub use crate::io::group::{Dated, FastMap, Grouped, NONE};
use crate::io::parse::problem;
pub use crate::io::read::csv::BYTES_PER_ROW;
pub use crate::io::read::parquet::SLICE_ROWS;
use crate::io::read::{Ahead, Input, TableReader};
use crate::io::rules::{
    exclude_attributes, finish_bounds, load_accounts, load_events, load_subscriptions,
    load_surveys, load_tickets,
};
use crate::io::schema::TableKind;
pub use crate::io::tables::{
    Accounts, Attribute, DataSource, Event, EventTable, Line, SourceFile, Survey, Tables, Ticket,
};
use crate::io::window::Window;

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
    /// order, and user ids are per account as always (the rows dropped
    /// take no id).
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
    // The other tables' first slices and sha256s, started while accounts
    // load (see `io::read::ahead`).
    let mut ahead = Ahead::start(
        paths,
        &[
            TableKind::Subscriptions,
            TableKind::Events,
            TableKind::Tickets,
            TableKind::Surveys,
        ],
        slice_rows,
    );
    // The other tables' account ids only mean something once accounts are
    // loaded, so a bad accounts table stops here; the rest are all checked.
    let index = load_accounts(&paths[&TableKind::Accounts], cfg, &mut tables)?;
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
        ahead.take(TableKind::Subscriptions),
        cfg,
        slice_rows,
        &index,
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
            ahead.take(TableKind::Events),
            cfg,
            slice_rows,
            window.as_mut(),
            &index,
            &mut tables,
        ))?;
    }
    if let Some(p) = paths.get(&TableKind::Tickets) {
        collect(load_tickets(
            p,
            ahead.take(TableKind::Tickets),
            cfg,
            slice_rows,
            window.as_mut(),
            &index,
            &mut tables,
        ))?;
    }
    if let Some(p) = paths.get(&TableKind::Surveys) {
        collect(load_surveys(
            p,
            ahead.take(TableKind::Surveys),
            cfg,
            slice_rows,
            &index,
            &mut tables,
        ))?;
    }
    problems.into_result()?;
    finish_bounds(&mut tables, window.as_ref());
    Ok(tables)
}

pub(in crate::io) fn record_source(
    tables: &mut Tables,
    table: TableKind,
    input: &Input,
    rows: usize,
    skipped: usize,
    r: &mut TableReader<'_>,
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
            r.file_sha256(p)?,
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

#[cfg(test)]
mod read_path_tests {
    //! The read path's shortcuts change nothing: strings looked up once per
    //! view give the tables of a lookup per row, and a scoring window gives
    //! the features (and bounds, sources, warnings) of every row.
    use super::*;
    use crate::config::SnapshotParams;
    use crate::io::group::{BY_TEXT, GLOBAL_USERS};
    use crate::snapshot::{features_as_of, timelines, FeatureSpec, LONGEST_WINDOW_DAYS};
    use crate::synth::SynthFormat;
    use polars::prelude::*;
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
        let dir = crate::testutil::synth_dir(150, 10, 11, SynthFormat::Parquet);
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
                // Null users, and user ids too long for a 16-byte key.
                replace_text(&mut df, "user_id", |i, v| match i % 13 {
                    3 => None,
                    5 | 8 => v.map(|v| format!("user-with-a-long-id-{v}")),
                    _ => v.map(str::to_string),
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

    fn global_users<T>(f: impl FnOnce() -> T) -> T {
        GLOBAL_USERS.with(|b| b.set(true));
        let out = f();
        GLOBAL_USERS.with(|b| b.set(false));
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

    /// User ids numbered per account give the tables of one interner of
    /// every user string (as the loader had before), but for the ids
    /// themselves: within each account the two numberings map one to one
    /// (equal strings, equal ids; none stays none). And the same features.
    #[test]
    fn user_ids_per_account_give_the_features_of_one_interner() {
        let dir = edge_cases();
        let cfg = Config::default();
        let params = SnapshotParams::default();
        let window = Need::Window {
            as_of: None,
            days: LONGEST_WINDOW_DAYS,
        };
        for (data, slice_rows, need) in [
            (dir.path().to_path_buf(), 100, Need::Everything),
            (dir.path().to_path_buf(), usize::MAX, Need::Everything),
            (dir.path().to_path_buf(), 40, window),
            (demo(), SLICE_ROWS, Need::Everything),
            (demo(), SLICE_ROWS, window),
        ] {
            let opts = LoadOptions { slice_rows, need };
            let old = global_users(|| load_dir_with(&data, &cfg, &opts).unwrap());
            let new = load_dir_with(&data, &cfg, &opts).unwrap();
            same_outside_the_window(&new, &old);
            assert_eq!(format!("{:?}", new.tickets), format!("{:?}", old.tickets));
            let (eo, en) = (old.events.as_ref().unwrap(), new.events.as_ref().unwrap());
            assert_eq!(eo.rows.offsets, en.rows.offsets);
            let mut several = 0;
            for a in 0..new.n_accounts() {
                let (ro, rn) = (eo.rows.of(a), en.rows.of(a));
                let mut to_new: FastMap<u32, u32> = FastMap::default();
                let mut to_old: FastMap<u32, u32> = FastMap::default();
                for (o, n) in ro.iter().zip(rn) {
                    assert_eq!(Event { user: 0, ..*o }, Event { user: 0, ..*n });
                    assert_eq!(o.user == NONE, n.user == NONE, "account {a}");
                    assert_eq!(
                        *to_new.entry(o.user).or_insert(n.user),
                        n.user,
                        "account {a}"
                    );
                    assert_eq!(
                        *to_old.entry(n.user).or_insert(o.user),
                        o.user,
                        "account {a}"
                    );
                }
                several += usize::from(to_new.len() > 2);
            }
            assert!(several > 10, "{several} accounts with several users");
            let s = new.last_day;
            let spec = FeatureSpec::fit(&old, s, params);
            let want = features_as_of(&old, &timelines(&old, params.grace_days), &[s], &spec);
            let got = features_as_of(&new, &timelines(&new, params.grace_days), &[s], &spec);
            assert!(spec.has_users);
            assert_eq!(
                format!("{got:?}"),
                format!("{want:?}"),
                "{}",
                data.display()
            );
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

    /// Datetimes in any unit (read a chunk at a time, divided by the
    /// unit's constant) give the same days, before 1970 too; with nulls
    /// (a missing timestamp) too.
    #[test]
    fn datetimes_give_the_same_days_in_every_unit() {
        let dir = edge_cases();
        let path = dir.path().join("events.parquet");
        let mut df = read(&path);
        let ms: Int64Chunked = df
            .column("timestamp")
            .unwrap()
            .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
            .unwrap()
            .datetime()
            .unwrap()
            .physical()
            .iter()
            .enumerate()
            .map(|(i, v)| if i == 3 { Some(-1) } else { v })
            .collect();
        let cfg = Config::default();
        let mut tables = Vec::new();
        for (unit, per_ms) in [
            (TimeUnit::Milliseconds, 1),
            (TimeUnit::Microseconds, 1_000),
            (TimeUnit::Nanoseconds, 1_000_000),
        ] {
            let ts = (&ms * per_ms)
                .into_datetime(unit, None)
                .into_series()
                .with_name("timestamp".into());
            df.replace("timestamp", ts.into()).unwrap();
            write(&path, &mut df, 31);
            let mut t = load_dir_sliced(dir.path(), &cfg, 100).unwrap();
            // The files' bytes (so their sha256) differ with the unit.
            t.sources.iter_mut().for_each(|s| s.sha256.clear());
            tables.push(t);
        }
        let days: Vec<_> = tables[0]
            .events
            .as_ref()
            .unwrap()
            .rows
            .rows
            .iter()
            .map(|e| e.day)
            .collect();
        assert!(days.contains(&-1), "1969-12-31 read as day -1");
        for t in &tables[1..] {
            assert_eq!(format!("{t:?}"), format!("{:?}", tables[0]));
        }
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
