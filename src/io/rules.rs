//! The per-table rules of the contract in `io::schema`: one `load_<table>`
//! per table, which reads it slice by slice (`io::read`), converts its cells
//! (`io::parse`), checks what its values must be (unique account ids,
//! non-negative mrr, end after start, known priorities, scores in range…)
//! and groups the rows per account into [`Tables`]; and the data's bounds.
//! Does not find files or decide which tables there are (see `io::load`).

use std::path::Path;

use polars::prelude::*;

use crate::config::Config;
use crate::dates::Day;
use crate::error::{ProblemKind, Result};
use crate::io::group::{
    for_each_view, AccountIndex, Grouped, Interner, UserJob, UserWorker, ViewCache, NONE,
};
use crate::io::load::record_source;
use crate::io::parse::{as_text, shown};
use crate::io::read::ahead::Opening;
use crate::io::read::{Input, TableReader};
use crate::io::schema::{Priority, TableKind};
use crate::io::tables::{Accounts, Attribute, Event, EventTable, Line, Survey, Tables, Ticket};
use crate::io::window::{keep, keep_dated, Dropped, Window};

/// Drops the accounts columns `[features] exclude` names; a name the
/// table does not have is a warning (a typo must not pass silently).
pub(in crate::io) fn exclude_attributes(tables: &mut Tables, exclude: &[String], file: &Path) {
    for name in exclude {
        let before = tables.accounts.attributes.len();
        tables.accounts.attributes.retain(|a| &a.name != name);
        if tables.accounts.attributes.len() == before {
            tables.warnings.push(format!(
                "[features] exclude names {name:?}, which {} has not as a categorical column; nothing excluded",
                file.display()
            ));
        }
    }
}

/// Loads accounts into `tables` and returns the index the other tables
/// look their account ids up in.
pub(in crate::io) fn load_accounts(
    input: &Input,
    cfg: &Config,
    tables: &mut Tables,
) -> Result<AccountIndex> {
    let path = &input.path();
    // Read whole: uniqueness of ids is checked across the table, and one
    // row per account is small next to the event tables.
    let mut r = TableReader::open(TableKind::Accounts, input, cfg, usize::MAX)?;
    if !r.problems.is_empty() {
        // Never Ok: there are problems.
        return r.finish().map(|()| AccountIndex::with_capacity(0));
    }
    let cells = r.text_column("account_id")?.unwrap_or_default();
    r.row_accounts = Some(cells.clone());
    let created = r.days("created_at")?.unwrap_or_default();
    r.require("created_at", &created, "a date");
    // One owned copy of each id (`ids`); the index other tables look ids
    // up in is built here, in row order, and is what finds duplicates.
    let n = cells.len();
    let mut index = AccountIndex::with_capacity(n);
    let mut ids: Vec<String> = Vec::with_capacity(n);
    // The row each account is first on, by account index: a duplicate
    // names it.
    let mut first_row: Vec<usize> = Vec::with_capacity(n);
    let trimmed: Vec<Option<&str>> = cells
        .iter()
        .map(|v| v.map(str::trim).filter(|v| !v.is_empty()))
        .collect();
    for (i, &id) in trimmed.iter().enumerate() {
        // Some rows ahead, so that memory is not waited for one id at a time.
        if let Some(&Some(ahead)) = trimmed.get(i + 16) {
            index.prefetch(ahead);
        }
        match id {
            None => r.report(
                i,
                "account_id",
                ProblemKind::EmptyKey,
                "expected a non-empty account id".into(),
            ),
            Some(id) => match index.push(id) {
                Ok(_) => {
                    first_row.push(i);
                    ids.push(id.to_string());
                }
                Err(a) => {
                    let first = r.location(first_row[a as usize], "account_id");
                    let first = first.line.unwrap_or(0);
                    r.report(
                        i,
                        "account_id",
                        ProblemKind::DuplicateKey,
                        format!("account_id {id:?} is not unique: it is also on line {first}"),
                    );
                }
            },
        }
    }
    let names = if r.has("name") {
        r.texts("name")?.unwrap_or_default()
    } else {
        vec![None; n]
    };
    // Every other column holding text is a categorical attribute; a column
    // whose values all parse as numbers is not a category and is ignored.
    let mapped: Vec<&str> = ["account_id", "created_at", "name"]
        .iter()
        .map(|c| cfg.source_column(TableKind::Accounts, c))
        .collect();
    let mut attributes = Vec::new();
    let others: Vec<String> =
        r.df.get_column_names()
            .iter()
            .map(|s| s.to_string())
            .filter(|c| !mapped.contains(&c.as_str()))
            .collect();
    for name in others {
        let text = r.df.column(&name).ok().and_then(|col| {
            let is_text = matches!(col.dtype(), DataType::String | DataType::Categorical(..));
            is_text
                .then(|| as_text(col.as_materialized_series()))
                .flatten()
        });
        let Some(text) = text else {
            tables.warnings.push(format!(
                "{}: column {name} is not text; ignored as an attribute",
                path.display()
            ));
            continue;
        };
        // Numbered by distinct string (see `Attribute`), each distinct view
        // looked at once.
        let mut interner = Interner::default();
        let mut codes = Vec::with_capacity(text.len());
        for_each_view(&text, &mut ViewCache::default(), &mut codes, |v| {
            match v.map(str::trim).filter(|v| !v.is_empty()) {
                Some(v) => interner.id(v),
                None => NONE,
            }
        });
        let levels = interner.into_names();
        let numeric = !levels.is_empty() && levels.iter().all(|v| v.parse::<f64>().is_ok());
        if numeric {
            tables.warnings.push(format!(
                "{}: column {name} holds numbers; ignored as an attribute",
                path.display()
            ));
            continue;
        }
        attributes.push(Attribute {
            name,
            levels,
            codes,
        });
    }
    if !r.problems.is_empty() {
        // Never Ok: there are problems.
        return r.finish().map(|()| AccountIndex::with_capacity(0));
    }
    tables.accounts = Accounts {
        ids,
        names,
        created: created.into_iter().map(|d| d.unwrap_or_default()).collect(),
        attributes,
    };
    // A database table is read to its end (its row count and fingerprint).
    while r.next_slice()? {}
    record_source(tables, TableKind::Accounts, input, n, 0, &mut r)?;
    Ok(index)
}

pub(in crate::io) fn load_subscriptions(
    input: &Input,
    early: Opening,
    cfg: &Config,
    slice_rows: usize,
    index: &AccountIndex,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open_with(TableKind::Subscriptions, input, cfg, slice_rows, early)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut plans = Interner::default();
    let has_seats = r.has("seats");
    let mut tagged = Vec::with_capacity(r.total);
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(index)?;
        let start = r.days("start_date")?.unwrap_or_default();
        r.require("start_date", &start, "a date");
        let end = r.days("end_date")?.unwrap_or_default();
        let mrr = r.numbers("mrr")?.unwrap_or_default();
        r.require("mrr", &mrr, "a number >= 0");
        for (i, v) in mrr.iter().enumerate() {
            if let Some(x) = v {
                if *x < 0.0 {
                    r.report(
                        i,
                        "mrr",
                        ProblemKind::OutOfRange,
                        format!("expected a number >= 0, found {}", shown(*x)),
                    );
                }
            }
        }
        for i in 0..r.height() {
            if let (Some(s), Some(e)) = (start[i], end[i]) {
                if e < s {
                    r.report(
                        i,
                        "end_date",
                        ProblemKind::EndBeforeStart,
                        format!(
                            "end_date {} is before start_date {}",
                            crate::dates::format_day(e),
                            crate::dates::format_day(s)
                        ),
                    );
                }
            }
        }
        let plan = r.interned("plan", None, &mut plans, None)?;
        let seats = r.numbers("seats")?;
        if let Some(seats) = &seats {
            for (i, v) in seats.iter().enumerate() {
                if let Some(x) = v {
                    if *x < 0.0 || x.fract() != 0.0 {
                        r.report(
                            i,
                            "seats",
                            ProblemKind::OutOfRange,
                            format!("expected a whole number >= 0, found {}", shown(*x)),
                        );
                    }
                }
            }
        }
        // After a problem, later slices are still checked (for the count of
        // problems) but no longer kept.
        if r.problems.is_empty() {
            keep(
                &keys,
                None,
                &mut tagged,
                &mut Dropped::new(0),
                &mut skipped,
                |i| Line {
                    start: start[i].unwrap_or_default(),
                    end: end[i],
                    mrr: mrr[i].unwrap_or(0.0),
                    plan: plan.as_ref().map_or(NONE, |p| p[i]),
                    seats: seats.as_ref().and_then(|s| s[i]).unwrap_or(f64::NAN),
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let rows = r.total;
    tables.lines = Grouped::build(tables.accounts.len(), tagged);
    tables.plans = plans.into_names();
    tables.has_seats = has_seats;
    record_source(
        tables,
        TableKind::Subscriptions,
        input,
        rows,
        skipped,
        &mut r,
    )
}

pub(in crate::io) fn load_events(
    input: &Input,
    early: Opening,
    cfg: &Config,
    slice_rows: usize,
    mut window: Option<&mut Window>,
    index: &AccountIndex,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open_with(TableKind::Events, input, cfg, slice_rows, early)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut types = Interner::default();
    // User ids (millions at 1M accounts) are looked up per account on a
    // thread of their own, a slice behind: each slice's rows are kept once
    // the next one is converted.
    let mut users = UserWorker::new(rayon::current_num_threads() > 1);
    let mut pending: Option<EventSlice> = None;
    let has_users = r.has("user_id");
    let mut tagged = Vec::with_capacity(if window.is_some() { 0 } else { r.total });
    let mut dropped = Dropped::new(if window.is_some() {
        tables.accounts.len()
    } else {
        0
    });
    let mut skipped = 0;
    let mut sized = false;
    // The buffers of the slice kept last, for the next one.
    let mut spare: Option<EventSlice> = None;
    loop {
        let mut s = spare.take().unwrap_or_default();
        r.account_keys_into(index, &mut s.job.accounts)?;
        r.days_into("timestamp", &mut s.day)?;
        r.require("timestamp", &s.day, "a date or datetime");
        match window.as_mut() {
            Some(w) => {
                let wanted = s.job.wanted.get_or_insert_with(Vec::new);
                w.wanted_into(&s.job.accounts, &s.day, wanted);
            }
            None => s.job.wanted = None,
        }
        r.interned_into(
            "event",
            Some("an event type name"),
            &mut types,
            None,
            &mut s.event,
        )?;
        s.job.users = r.text_column("user_id")?;
        s.has_user = s.job.users.is_some();
        if s.has_user {
            // The keys and wanted rows go with the column and come back.
            users.send(std::mem::take(&mut s.job));
        }
        // A row's count as it keeps it: 1 when empty.
        let count = |v: Option<f64>| v.unwrap_or(1.0) as f32;
        let range = (0.0, f64::MAX);
        s.has_count =
            r.numbers_in_range_into("count", range, "a number >= 0", count, &mut s.count)?;
        if let Some(mut p) = pending.take() {
            p.keep(
                &mut users,
                r.problems.is_empty(),
                &mut tagged,
                &mut dropped,
                &mut skipped,
            );
            spare = Some(p);
            if window.is_some() && !sized {
                // Rows kept in a window are a like share of every slice
                // (rows come by account): size for the whole file at the
                // first slice's rate, with room, rather than double a
                // dozen times (each a copy of every row kept so far,
                // beside it). Untouched room costs no memory.
                sized = true;
                let expected = tagged.len() as f64 * r.total as f64 / r.offset.max(1) as f64;
                tagged.reserve(((expected * 1.25) as usize).saturating_sub(tagged.len()));
            }
        }
        pending = Some(s);
        if !r.next_slice()? {
            break;
        }
    }
    if let Some(mut p) = pending.take() {
        p.keep(
            &mut users,
            r.problems.is_empty(),
            &mut tagged,
            &mut dropped,
            &mut skipped,
        );
    }
    users.finish();
    if !r.problems.is_empty() {
        return r.finish();
    }
    let latest_dropped = window.map_or_else(Vec::new, |w| dropped.finish(TableKind::Events, w));
    let rows = r.total;
    tables.events = Some(EventTable {
        rows: Grouped::build_parts(tables.accounts.len(), tagged, latest_dropped),
        types: types.into_names(),
        has_users,
    });
    record_source(tables, TableKind::Events, input, rows, skipped, &mut r)
}

/// A slice of events converted but for its user ids (being looked up with
/// its account keys and wanted rows, in `job`). Its vectors are reused
/// from slice to slice: fresh ones per slice (with the tickets' columns,
/// about 0.7 GB at 100M events) were fresh pages for the kernel to fault
/// in and zero.
#[derive(Default)]
struct EventSlice {
    job: UserJob,
    day: Vec<Option<Day>>,
    event: Vec<u32>,
    has_user: bool,
    /// Counts as rows keep them (1 when empty).
    count: Vec<f32>,
    has_count: bool,
}

impl EventSlice {
    /// Takes the slice's user ids from `users` and keeps its rows (unless
    /// a problem was found: the table then fails).
    fn keep(
        &mut self,
        users: &mut UserWorker,
        ok: bool,
        tagged: &mut Vec<(u32, Event)>,
        dropped: &mut Dropped<Event>,
        skipped: &mut usize,
    ) {
        if self.has_user {
            self.job = users.recv();
        }
        if !ok {
            return;
        }
        let (user, count) = (self.has_user, self.has_count);
        let day = |i: usize| self.day[i].unwrap_or_default();
        let row = |i: usize| Event {
            day: day(i),
            event_type: self.event[i],
            user: if user { self.job.ids[i] } else { NONE },
            count: if count { self.count[i] } else { 1.0 },
        };
        keep_dated(
            &self.job.accounts,
            self.job.wanted.as_deref(),
            tagged,
            dropped,
            skipped,
            day,
            row,
        );
    }
}

/// Every priority, to turn a code (`Priority as u32`) back into one.
const PRIORITIES: [Priority; 5] = [
    Priority::Unknown,
    Priority::Low,
    Priority::Normal,
    Priority::High,
    Priority::Urgent,
];

pub(in crate::io) fn load_tickets(
    input: &Input,
    early: Opening,
    cfg: &Config,
    slice_rows: usize,
    mut window: Option<&mut Window>,
    index: &AccountIndex,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open_with(TableKind::Tickets, input, cfg, slice_rows, early)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut tagged = Vec::with_capacity(if window.is_some() { 0 } else { r.total });
    let mut dropped = Dropped::new(if window.is_some() {
        tables.accounts.len()
    } else {
        0
    });
    let mut skipped = 0;
    // Reused from slice to slice (fresh ones are fresh pages to fault in).
    let (mut keys, mut day, mut wanted_rows) = (Vec::new(), Vec::new(), Vec::new());
    let (mut priority, mut codes) = (Vec::new(), Vec::new());
    let (mut csat, mut sentiment) = (Vec::new(), Vec::new());
    loop {
        r.account_keys_into(index, &mut keys)?;
        r.days_into("created_at", &mut day)?;
        r.require("created_at", &day, "a date or datetime");
        let wanted = match window.as_mut() {
            Some(w) => {
                w.wanted_into(&keys, &day, &mut wanted_rows);
                Some(wanted_rows.as_slice())
            }
            None => None,
        };
        priority.clear();
        priority.resize(r.height(), Priority::Unknown);
        if let Some(ca) = r.text_column("priority")? {
            // Parsed once per distinct view of a chunk, not a string per row.
            codes.clear();
            codes.reserve(ca.len());
            let mut cache = ViewCache::default();
            for_each_view(&ca, &mut cache, &mut codes, |v| {
                match v.map(str::trim).filter(|t| !t.is_empty()) {
                    None => Priority::Unknown as u32,
                    Some(t) => Priority::parse(t).map_or(NONE, |p| p as u32),
                }
            });
            for (i, &code) in codes.iter().enumerate() {
                match PRIORITIES.iter().find(|p| **p as u32 == code) {
                    Some(&p) => priority[i] = p,
                    None => {
                        let t = ca.get(i).map(str::trim).unwrap_or_default();
                        r.report(
                            i,
                            "priority",
                            ProblemKind::OutOfRange,
                            format!("expected one of low, normal, high, urgent, found {t:?}"),
                        )
                    }
                }
            }
        }
        // As rows keep them: NaN when empty.
        let score = |v: Option<f64>| v.map_or(f32::NAN, |x| x as f32);
        let has_csat =
            r.numbers_in_range_into("csat", (1.0, 5.0), "a score 1..5", score, &mut csat)?;
        let has_sentiment = r.numbers_in_range_into(
            "sentiment",
            (-1.0, 1.0),
            "a value in -1..1",
            score,
            &mut sentiment,
        )?;
        if r.problems.is_empty() {
            keep_dated(
                &keys,
                wanted,
                &mut tagged,
                &mut dropped,
                &mut skipped,
                |i| day[i].unwrap_or_default(),
                |i| {
                    let get = |has: bool, v: &[f32]| if has { v[i] } else { f32::NAN };
                    Ticket {
                        day: day[i].unwrap_or_default(),
                        priority: priority[i],
                        csat: get(has_csat, &csat),
                        sentiment: get(has_sentiment, &sentiment),
                    }
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let latest_dropped = window.map_or_else(Vec::new, |w| dropped.finish(TableKind::Tickets, w));
    let rows = r.total;
    tables.tickets = Some(Grouped::build_parts(
        tables.accounts.len(),
        tagged,
        latest_dropped,
    ));
    record_source(tables, TableKind::Tickets, input, rows, skipped, &mut r)
}

pub(in crate::io) fn load_surveys(
    input: &Input,
    early: Opening,
    cfg: &Config,
    slice_rows: usize,
    index: &AccountIndex,
    tables: &mut Tables,
) -> Result<()> {
    let mut r = TableReader::open_with(TableKind::Surveys, input, cfg, slice_rows, early)?;
    if !r.problems.is_empty() {
        return r.finish();
    }
    let mut tagged = Vec::with_capacity(r.total);
    let mut skipped = 0;
    loop {
        let keys = r.account_keys(index)?;
        let day = r.days("responded_at")?.unwrap_or_default();
        r.require("responded_at", &day, "a date or datetime");
        let score = r.numbers("score")?.unwrap_or_default();
        r.require("score", &score, "an NPS score 0..10");
        r.check_range("score", &score, 0.0, 10.0, "an NPS score 0..10");
        if r.problems.is_empty() {
            keep(
                &keys,
                None,
                &mut tagged,
                &mut Dropped::new(0),
                &mut skipped,
                |i| Survey {
                    day: day[i].unwrap_or_default(),
                    score: score[i].unwrap_or_default() as f32,
                },
            );
        }
        if !r.next_slice()? {
            break;
        }
    }
    if !r.problems.is_empty() {
        return r.finish();
    }
    let rows = r.total;
    tables.surveys = Some(Grouped::build(tables.accounts.len(), tagged));
    record_source(tables, TableKind::Surveys, input, rows, skipped, &mut r)
}

/// The earliest and latest day in any table, and the first day every
/// present table covers.
pub(in crate::io) fn finish_bounds(t: &mut Tables, window: Option<&Window>) {
    // Rows a window dropped still count for the bounds.
    let dropped = |table: TableKind| window.and_then(|w| w.dropped_first.get(&table).copied());
    let mut lo = Day::MAX;
    let mut hi = Day::MIN;
    let mut see = |d: Day| {
        lo = lo.min(d);
        hi = hi.max(d);
    };
    t.accounts.created.iter().for_each(|&d| see(d));
    for l in &t.lines.rows {
        see(l.start);
        if let Some(e) = l.end {
            see(e);
        }
    }
    let first = |days: &mut dyn Iterator<Item = Day>| days.min();
    let mut starts = vec![t.lines.rows.iter().map(|l| l.start).min()];
    if let Some(e) = &t.events {
        let d = dropped(TableKind::Events);
        e.rows
            .rows
            .iter()
            .map(|r| r.day)
            .chain(d)
            .for_each(&mut see);
        starts.push(first(&mut e.rows.rows.iter().map(|r| r.day).chain(d)));
    }
    if let Some(tk) = &t.tickets {
        let d = dropped(TableKind::Tickets);
        tk.rows.iter().map(|r| r.day).chain(d).for_each(&mut see);
        starts.push(first(&mut tk.rows.iter().map(|r| r.day).chain(d)));
    }
    if let Some(s) = &t.surveys {
        s.rows.iter().for_each(|r| see(r.day));
        starts.push(first(&mut s.rows.iter().map(|r| r.day)));
    }
    t.first_day = lo;
    t.last_day = hi;
    t.coverage_start = starts.into_iter().flatten().max().unwrap_or(lo);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load::*;
    use crate::testutil::*;

    /// Loads a fixture with some files replaced and returns the error text
    /// and the problems' kinds.
    fn fail(files: &[(&str, &str)]) -> (String, Vec<ProblemKind>) {
        let mut all: Vec<(&str, &str)> = vec![
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            ("events.csv", EVENTS),
            ("tickets.csv", TICKETS),
            ("surveys.csv", SURVEYS),
        ];
        for (name, text) in files {
            all.retain(|(n, _)| n != name);
            if !text.is_empty() {
                all.push((name, text));
            }
        }
        let dir = data_dir(&all);
        let err = load_dir(dir.path(), &Config::default()).expect_err("must fail");
        let kinds = err
            .problems()
            .map(|p| p.shown.iter().map(|p| p.kind).collect())
            .unwrap_or_default();
        // Paths differ per run; show them relative to the data directory.
        let text = err
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        (text, kinds)
    }

    #[test]
    fn loads_the_fixture_and_counts_rows() {
        let dir = fixture();
        let t = load(dir.path());
        assert_eq!(t.n_accounts(), 5);
        assert_eq!(t.lines.len(), 9);
        assert_eq!(t.events.as_ref().unwrap().rows.len(), 8);
        assert_eq!(t.sources.len(), 5);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.first_day, day("2023-06-01"));
    }

    #[test]
    fn rejects_missing_required_table() {
        let (msg, kinds) = fail(&[("subscriptions.csv", "")]);
        assert_eq!(kinds, [ProblemKind::MissingTable]);
        assert!(
            msg.contains("subscriptions.csv: required table subscriptions not found"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_missing_column_and_lists_what_is_there() {
        let (msg, kinds) = fail(&[(
            "subscriptions.csv",
            "account_id,start_date,end_date,plan\nA1,2024-01-01,,Pro\n",
        )]);
        assert_eq!(kinds, [ProblemKind::MissingColumn]);
        assert!(msg.contains("subscriptions.csv: column mrr: required column mrr is missing; the file has: account_id, start_date, end_date, plan"), "{msg}");
    }

    #[test]
    fn a_semicolon_separated_file_is_named_as_such() {
        let (msg, kinds) = fail(&[(
            "surveys.csv",
            "account_id;responded_at;score\nA1;2024-02-01;9\n",
        )]);
        assert_eq!(kinds, [ProblemKind::MissingColumn; 3]);
        assert!(
            msg.contains("the file has: account_id;responded_at;score (the values seem to be separated by ';': export the file with commas)"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_unparseable_date_with_line_account_and_value() {
        let bad = SUBSCRIPTIONS.replace("A2,2024-03-31,,500", "A2,31/03/2024,,500");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::BadDate]);
        assert!(msg.contains("subscriptions.csv: line 4 (account A2), column start_date: expected a date YYYY-MM-DD or an RFC 3339 datetime, found \"31/03/2024\""), "{msg}");
    }

    #[test]
    fn rejects_unparseable_number() {
        let bad = SUBSCRIPTIONS.replace("A3,2024-02-20,,50", "A3,2024-02-20,,fifty");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::BadNumber]);
        assert!(msg.contains("subscriptions.csv: line 7 (account A3), column mrr: expected a number, found \"fifty\""), "{msg}");
    }

    #[test]
    fn rejects_negative_mrr() {
        let bad = SUBSCRIPTIONS.replace("A1,2024-01-01,,100", "A1,2024-01-01,,-12.5");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        assert!(
            msg.contains("line 2 (account A1), column mrr: expected a number >= 0, found -12.5"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_end_before_start() {
        let bad = SUBSCRIPTIONS.replace("A5,2024-01-01,2024-03-31", "A5,2024-01-01,2023-12-31");
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::EndBeforeStart]);
        assert!(msg.contains("line 10 (account A5), column end_date: end_date 2023-12-31 is before start_date 2024-01-01"), "{msg}");
    }

    #[test]
    fn rejects_duplicate_account_id() {
        let bad = format!("{ACCOUNTS}A3,2024-01-01,Again,SMB\n");
        let (msg, kinds) = fail(&[("accounts.csv", &bad)]);
        assert_eq!(kinds, [ProblemKind::DuplicateKey]);
        assert!(msg.contains("accounts.csv: line 7 (account A3), column account_id: account_id \"A3\" is not unique: it is also on line 4"), "{msg}");
    }

    #[test]
    fn rejects_out_of_range_csat_sentiment_and_nps() {
        let tickets = TICKETS.replace("urgent,2,-0.5", "urgent,6,-1.5");
        let surveys = SURVEYS.replace("2024-03-30,3", "2024-03-30,11");
        let (msg, kinds) = fail(&[("tickets.csv", &tickets), ("surveys.csv", &surveys)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange; 3]);
        assert!(
            msg.contains(
                "tickets.csv: line 2 (account A1), column csat: expected a score 1..5, found 6"
            ),
            "{msg}"
        );
        assert!(msg.contains("tickets.csv: line 2 (account A1), column sentiment: expected a value in -1..1, found -1.5"), "{msg}");
        assert!(msg.contains("surveys.csv: line 3 (account A1), column score: expected an NPS score 0..10, found 11"), "{msg}");
    }

    #[test]
    fn rejects_unknown_priority() {
        let (msg, kinds) = fail(&[("tickets.csv", &TICKETS.replace("low,,0.5", "p3,,0.5"))]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        assert!(
            msg.contains(
                "column priority: expected one of low, normal, high, urgent, found \"p3\""
            ),
            "{msg}"
        );
    }

    #[test]
    fn rejects_empty_required_table() {
        let (msg, kinds) = fail(&[("subscriptions.csv", "account_id,start_date,end_date,mrr\n")]);
        assert_eq!(kinds, [ProblemKind::EmptyTable]);
        assert!(
            msg.contains("subscriptions.csv: table subscriptions is required and has no rows"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_a_file_that_is_not_csv_or_parquet() {
        let (msg, kinds) = fail(&[("surveys.csv", ""), ("surveys.xlsx", "PK\u{3}\u{4}")]);
        assert_eq!(kinds, [ProblemKind::UnsupportedFormat]);
        assert!(
            msg.contains("surveys.xlsx: expected a .csv or .parquet file"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_a_corrupt_parquet_file() {
        let (msg, kinds) = fail(&[
            ("surveys.csv", ""),
            ("surveys.parquet", "not parquet at all"),
        ]);
        assert_eq!(kinds, [ProblemKind::Unreadable]);
        assert!(
            msg.contains("surveys.parquet: not a Parquet file: it does not start with the Parquet marker PAR1"),
            "{msg}"
        );
    }

    #[test]
    fn rejects_empty_account_ids_in_other_tables() {
        let (msg, kinds) = fail(&[("events.csv", &format!("{EVENTS},2024-03-01,login,u1,1\n"))]);
        assert_eq!(kinds, [ProblemKind::EmptyKey]);
        assert!(
            msg.contains("events.csv: line 10, column account_id: expected an account id"),
            "{msg}"
        );
    }

    #[test]
    fn reports_up_to_twenty_problems_and_counts_the_rest() {
        let mut bad = String::from("account_id,start_date,end_date,mrr\n");
        for i in 1..=45 {
            bad.push_str(&format!("A1,2024-01-{:02},,-{i}\n", i % 28 + 1));
        }
        let (msg, kinds) = fail(&[("subscriptions.csv", &bad)]);
        assert_eq!(kinds.len(), 20);
        assert!(msg.starts_with("45 problems in the input data:"), "{msg}");
        assert!(msg.ends_with("… and 25 more like this"), "{msg}");
    }

    #[test]
    fn problems_in_several_tables_are_reported_together() {
        let events = EVENTS.replace("2024-03-15,report", "2024-13-15,report");
        let surveys = SURVEYS.replace("2024-03-30,3", "2024-03-30,x");
        let (msg, kinds) = fail(&[("events.csv", &events), ("surveys.csv", &surveys)]);
        assert_eq!(kinds, [ProblemKind::BadDate, ProblemKind::BadNumber]);
        assert!(
            msg.contains("events.csv: line 3 (account A1), column timestamp"),
            "{msg}"
        );
        assert!(
            msg.contains("surveys.csv: line 3 (account A1), column score"),
            "{msg}"
        );
    }

    #[test]
    fn unknown_accounts_are_skipped_counted_and_warned() {
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            (
                "events.csv",
                &format!("{EVENTS}ZZ,2024-03-01,login,u1,1\nZZ,2024-03-02,login,u1,1\n"),
            ),
        ]);
        let t = load(dir.path());
        assert_eq!(t.events.as_ref().unwrap().rows.len(), 8);
        let src = t
            .sources
            .iter()
            .find(|s| s.table == TableKind::Events)
            .unwrap();
        assert_eq!(src.skipped_unknown_account, 2);
        assert!(
            t.warnings[0]
                .ends_with("events.csv: skipped 2 rows whose account_id is not in accounts"),
            "{:?}",
            t.warnings
        );
    }

    /// Attributes are numbered by distinct trimmed value; an empty cell
    /// has none; a column of numbers is not an attribute (a warning).
    /// Independent of the loader: every value is read back from the file's
    /// own text.
    #[test]
    fn attributes_hold_each_accounts_trimmed_value() {
        let dir = tempfile::tempdir().unwrap();
        let long = "a segment name longer than fifteen bytes";
        let rows = [
            ("A1", " SMB ", "3"),
            ("A2", long, "4"),
            ("A3", "", "5"),
            ("A4", "SMB", ""),
            ("A5", "Mid", "6"),
            ("A6", long, "7"),
        ];
        let mut accounts = String::from("account_id,created_at,segment,employees\n");
        for (id, segment, employees) in rows {
            accounts.push_str(&format!("{id},2024-01-01,{segment},{employees}\n"));
        }
        std::fs::write(dir.path().join("accounts.csv"), accounts).unwrap();
        std::fs::write(
            dir.path().join("subscriptions.csv"),
            "account_id,start_date,end_date,mrr\nA1,2024-01-01,,10\n",
        )
        .unwrap();
        let t = load_dir(dir.path(), &Config::default()).unwrap();
        let names: Vec<&str> = t
            .accounts
            .attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect();
        assert_eq!(names, ["segment"]);
        assert!(
            t.warnings
                .iter()
                .any(|w| w.ends_with("column employees holds numbers; ignored as an attribute")),
            "{:?}",
            t.warnings
        );
        let segment = t.accounts.attribute("segment").unwrap();
        let want: Vec<Option<&str>> = rows
            .iter()
            .map(|r| Some(r.1.trim()).filter(|v| !v.is_empty()))
            .collect();
        assert_eq!(segment.values().collect::<Vec<_>>(), want);
        assert_eq!(segment.levels, ["SMB", long, "Mid"]);
        assert_eq!(segment.codes[2], NONE);
    }

    #[test]
    fn windows_1252_names_load_when_the_config_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut accounts = b"account_id,created_at,name,segment\n".to_vec();
        accounts.extend_from_slice(b"A1,2024-01-01,Caf\xE9 du Nord,SMB\n");
        std::fs::write(dir.path().join("accounts.csv"), &accounts).unwrap();
        std::fs::write(
            dir.path().join("subscriptions.csv"),
            "account_id,start_date,end_date,mrr\nA1,2024-01-01,,10\n",
        )
        .unwrap();
        let err = load_dir(dir.path(), &Config::default()).expect_err("not UTF-8");
        assert_eq!(
            err.problems().unwrap().shown[0].kind,
            ProblemKind::Unreadable
        );
        assert!(
            err.to_string().contains(
                "accounts.csv: line 2 (account A1), column name: the value is not valid UTF-8"
            ),
            "{err}"
        );
        let cfg: Config =
            toml::from_str("[files]\naccounts = { encoding = \"windows-1252\" }\n").unwrap();
        let t = load_dir(dir.path(), &cfg).unwrap();
        assert_eq!(t.accounts.names[0].as_deref(), Some("Café du Nord"));
    }

    #[test]
    fn blank_lines_are_skipped_warned_and_later_lines_keep_their_numbers() {
        let tickets = TICKETS.replace("A1,2024-01-01,high", "\nA1,2024-01-01,high");
        let tickets = tickets.replace("low,,0.5", "p3,,0.5") + "\n\n";
        let (msg, kinds) = fail(&[("tickets.csv", &tickets)]);
        assert_eq!(kinds, [ProblemKind::OutOfRange]);
        // The bad row is the file's line 5: the blank line 3 counts.
        assert!(
            msg.contains("tickets.csv: line 5 (account A1), column priority"),
            "{msg}"
        );
        let tickets = TICKETS.replace("A1,2024-01-01,high", "\nA1,2024-01-01,high") + "\n";
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
            ("tickets.csv", &tickets),
        ]);
        let t = load(dir.path());
        assert_eq!(t.tickets.as_ref().unwrap().len(), 4);
        assert!(
            t.warnings[0].ends_with("tickets.csv: skipped 2 blank lines"),
            "{:?}",
            t.warnings
        );
    }

    #[test]
    fn config_maps_user_column_names() {
        let dir = data_dir(&[
            (
                "accounts.csv",
                &ACCOUNTS.replace("account_id,created_at", "Id,CreatedDate"),
            ),
            ("subscriptions.csv", SUBSCRIPTIONS),
        ]);
        let cfg: Config = toml::from_str(
            "[columns.accounts]\naccount_id = \"Id\"\ncreated_at = \"CreatedDate\"\n",
        )
        .unwrap();
        let t = load_dir(dir.path(), &cfg).unwrap();
        assert_eq!(t.n_accounts(), 5);
        assert!(t.accounts.attribute("segment").is_some());
        assert!(
            t.accounts.attribute("Id").is_none(),
            "mapped key is not an attribute"
        );
    }
}
