//! Seeded synthetic SaaS data for tests, benches and `datasets/demo`: writes the
//! v1 input contract (accounts, subscriptions, events, tickets, surveys) from a
//! simulation whose ground truth is written down below. It never reads data and
//! knows nothing of features, labels or models: the loader, timeline and labels
//! must rediscover the truth from the files alone.
//!
//! # The simulation
//!
//! Every account is simulated month by month from its creation with its own
//! random streams, derived from `(seed, account index)`: accounts are made in
//! parallel, joined in account order, and the files are byte-identical for the
//! same parameters whatever the thread count or `chunk_accounts`.
//!
//! * **Arrivals.** 60% of the accounts already exist when the window opens
//!   (created up to five years before; their subscription history before the
//!   window is written, their events, tickets and surveys are not, and none of
//!   them churned before the window). The other 40% arrive evenly over the
//!   window, up to two weeks before its end, so short tenures exist. Account
//!   ids rise with `created_at`.
//! * **Latent health** `h` is an AR(1) around the account's own mean `mu`:
//!   `h' = 0.85 h + 0.15 mu + 0.3 e`, `mu ~ N(0, 0.45)` (tilted up by up to
//!   0.35 for accounts that have already survived up to two years).
//!   **Latent growth propensity** `g ~ N(0, 1)` is fixed; the account's seat
//!   *demand* `D` grows by `exp(0.012 + 0.02 g + 0.015 h + 0.03 e)` a month,
//!   slowing to nothing as it nears the account's ceiling (about 4x its first
//!   seat count).
//! * **Churn.** Each month an account enters *distress* with probability
//!   `sigmoid(-3.85 - 1.7 h + segment + plan + industry + channel + new)`:
//!   segment SMB +0.45, Mid-Market 0, Enterprise -0.6; plan Starter +0.3,
//!   Growth +0.1, Pro -0.1, Enterprise -0.3; Education and Retail +0.15;
//!   outbound +0.15, partner -0.1; first six months of a spell +0.4. Distress
//!   lasts 1, 2 or 3 months (20/40/40%) and ends on a day of that month in
//!   churn (72%: every line closes) or in recovery (health +1). In distress
//!   health falls a further 0.7 a month and demand shrinks 5% a month. About
//!   2.5% of active accounts churn per month.
//! * **What precedes churn.** Active users are `A = min(D, 1.25 seats) *
//!   sigmoid(1.2 + 1.5 h)`, times 0.6 for each month of distress; event rows
//!   are proportional to `A`, so churners show fewer rows, active days and
//!   distinct users for 1-3 months, fading to a quarter over the last 60 days.
//!   In distress the event mix shifts to `export_csv` (4x), `download_pdf`
//!   and `billing_view` (3x) and away from creating and inviting; tickets come
//!   `exp(-0.7 h)` times as often and 1.8x in distress, more often
//!   high/urgent, with lower csat and sentiment and more `cancellation`,
//!   `billing` and `data_export` topics; NPS answers follow `7.3 + 1.4 h`, 1.2 lower in distress.
//! * **Upgrades.** Seat pressure `P = D / seats` drives expansion, never in
//!   distress: monthly probability `sigmoid(-3.0 + 12 (P - 1.05) + 0.5 h +
//!   0.25 g)`. Before an upgrade, active users climb towards (and past) the
//!   seat count, rows rise, and while `P > 0.9` `invite_user` (4x),
//!   `permission_change` and `create_project` (2.5x) are boosted. An upgrade
//!   moves seats to 1.25-1.6x demand as a plan step up (healthy accounts,
//!   30%), an add-on seat-pack line (Mid-Market and Enterprise) or more seats
//!   on the main line. About 1.5% of active accounts upgrade per month; a few
//!   idle, unhealthy ones contract instead (~0.2%).
//! * **Subscription lines.** A change on day `d` closes the old line with
//!   `end_date = d` (exclusive) and opens the new one with `start_date = d`.
//!   At yearly anniversaries 45% of accounts split the main line with no change
//!   in MRR and 6% renew late: every line closes and identical lines reopen
//!   2-25 days later (a gap to merge). 15% of churned accounts come back 45-270
//!   days later on the same or a lower plan with fewer seats. Some accounts
//!   carry a flat-priced module line (`seats` 0) from the start.
//! * **Events** are daily aggregates, one row per (account, UTC day, event,
//!   user) with a `count`; the timestamp is the whole hour of the row's first
//!   event that day, around the working day of the account's region. Each
//!   month the first rows go round the active users, so distinct users track
//!   `A`.
//!
//! [`SynthSummary`] returns the exact counts of churns, upgrades,
//! contractions, reactivations and late renewals inside the window.

use std::fmt;
use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::dates::{self, Day};
use crate::error::{thousands, Error, Result};
use crate::io::write::{atomic_write, Format};

/// The five tables of the input contract, in the order they are written.
pub const TABLES: [&str; 5] = ["accounts", "subscriptions", "events", "tickets", "surveys"];

pub const SEGMENTS: [&str; 3] = ["SMB", "Mid-Market", "Enterprise"];
pub const INDUSTRIES: [&str; 8] = [
    "Software",
    "Retail",
    "Healthcare",
    "Financial Services",
    "Manufacturing",
    "Education",
    "Media",
    "Logistics",
];
pub const REGIONS: [&str; 4] = ["NA", "EMEA", "APAC", "LATAM"];
pub const CHANNELS: [&str; 3] = ["inbound", "outbound", "partner"];
pub const OWNERS: [&str; 12] = [
    "Ava Patel",
    "Ben Okafor",
    "Chloe Martin",
    "Diego Alvarez",
    "Emma Schmidt",
    "Farah Khan",
    "Gabriel Costa",
    "Hana Suzuki",
    "Isaac Levi",
    "Julia Novak",
    "Kofi Mensah",
    "Lena Fischer",
];
pub const PLANS: [&str; 4] = ["Starter", "Growth", "Pro", "Enterprise"];
pub const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
pub const TOPICS: [&str; 10] = [
    "how_to",
    "bug",
    "integration",
    "performance",
    "feature_request",
    "account_access",
    "onboarding",
    "billing",
    "data_export",
    "cancellation",
];
/// Event types, most frequent first (Zipf-like weights `1 / rank^1.07`).
pub const EVENT_TYPES: [&str; 30] = [
    "login",
    "view_dashboard",
    "search",
    "view_report",
    "api_call",
    "edit_record",
    "create_report",
    "comment",
    "filter_view",
    "upload_file",
    "share_link",
    "notification_open",
    "export_csv",
    "create_dashboard",
    "mobile_session",
    "invite_user",
    "schedule_report",
    "integration_sync",
    "create_project",
    "download_pdf",
    "archive_item",
    "create_alert",
    "bulk_edit",
    "webhook_fired",
    "template_use",
    "workflow_run",
    "permission_change",
    "settings_change",
    "billing_view",
    "api_key_created",
];

/// Price per seat and month of each plan, before the account's discount.
const PLAN_PRICE: [f64; 4] = [12.0, 25.0, 45.0, 75.0];
/// Flat monthly prices of module lines (seats 0).
const MODULE_PRICE: [f64; 4] = [29.0, 49.0, 99.0, 199.0];
/// Calibrates event rows so their mean per live account-day is close to
/// `events_per_account_day` (measured on the default account mix).
const ROWS_CALIBRATION: f64 = 0.066;
/// Monthly AR(1) of health: persistence and shock size.
const HEALTH_PHI: f64 = 0.85;
const HEALTH_SIGMA: f64 = 0.3;
/// Base log-odds of entering distress in a month (tuned for ~2.5% churn).
const DISTRESS_BASE: f64 = -3.85;
const DISTRESS_CHURNS: f64 = 0.72;
/// Share of active users left after each month of distress.
const DISENGAGE: f64 = 0.6;
/// Base log-odds of an upgrade at full seat pressure (tuned for ~1.5%).
const UPGRADE_BASE: f64 = -3.0;
/// Shortest and longest gap before a reactivation; the late-renewal gap.
const REACTIVATION_GAP: (i32, i32) = (45, 270);
const LATE_RENEWAL_GAP: (i32, i32) = (2, 25);
/// Default end of the data.
const DEFAULT_END: (i32, u32, u32) = (2025, 12, 31);

/// How the tables are written: `mixed` puts events in Parquet and the rest in
/// CSV, as most exports arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SynthFormat {
    #[default]
    Mixed,
    Csv,
    Parquet,
}

impl SynthFormat {
    /// The file format of `table` under this choice.
    pub fn format_of(self, table: &str) -> Format {
        match self {
            SynthFormat::Csv => Format::Csv,
            SynthFormat::Parquet => Format::Parquet,
            SynthFormat::Mixed if table == "events" => Format::Parquet,
            SynthFormat::Mixed => Format::Csv,
        }
    }
}

/// Generator parameters as given; [`SynthParams::check`] validates them once.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthParams {
    /// Number of accounts (>= 1).
    pub accounts: usize,
    /// Length of the window in calendar months, ending with the month of `end` (1..=120).
    pub months: u32,
    /// Last day of the data (inclusive); nothing happens after it.
    pub end: Day,
    pub seed: u64,
    /// Mean event rows per live account-day (a day with a subscription);
    /// scales the events table and nothing else.
    pub events_per_account_day: f64,
    /// Accounts generated and written per batch; bounds memory, not output.
    pub chunk_accounts: usize,
}

impl Default for SynthParams {
    fn default() -> Self {
        let (y, m, d) = DEFAULT_END;
        SynthParams {
            accounts: 2_000,
            months: 24,
            end: dates::days_from_civil(y, m, d),
            seed: 42,
            events_per_account_day: 0.5,
            chunk_accounts: 5_000,
        }
    }
}

impl SynthParams {
    /// Validates the parameters; only [`ValidSynthParams`] can generate.
    pub fn check(&self) -> Result<ValidSynthParams> {
        let bad = |msg: String| Err(Error::InvalidParam(msg));
        if self.accounts == 0 || self.accounts > 99_999_999 {
            return bad(format!(
                "accounts must be in 1..=99999999, got {}",
                self.accounts
            ));
        }
        if !(1..=120).contains(&self.months) {
            return bad(format!("months must be in 1..=120, got {}", self.months));
        }
        let (y, _, _) = dates::civil_from_days(self.end);
        if !(1980..=2200).contains(&y) {
            return bad(format!(
                "end must fall in the years 1980..=2200, got {}",
                dates::format_day(self.end)
            ));
        }
        let epad = self.events_per_account_day;
        if !epad.is_finite() || epad <= 0.0 || epad > 1_000.0 {
            return bad(format!(
                "events_per_account_day must be in (0, 1000], got {epad}"
            ));
        }
        if self.chunk_accounts == 0 {
            return bad("chunk_accounts must be >= 1, got 0".into());
        }
        let (y, m, _) = dates::civil_from_days(self.end);
        let first = (y * 12 + m as i32 - 1) - (self.months as i32 - 1);
        let start =
            dates::days_from_civil(first.div_euclid(12), first.rem_euclid(12) as u32 + 1, 1);
        Ok(ValidSynthParams {
            params: self.clone(),
            start,
        })
    }
}

/// Checked parameters, with the window they imply.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSynthParams {
    params: SynthParams,
    start: Day,
}

impl ValidSynthParams {
    pub fn params(&self) -> &SynthParams {
        &self.params
    }
    /// First day of the window: the first of the month `months - 1` before `end`'s.
    pub fn start(&self) -> Day {
        self.start
    }
    pub fn end(&self) -> Day {
        self.params.end
    }
}

/// What a run produced: rows per table and the ground-truth counts inside the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthSummary {
    pub accounts: usize,
    pub subscriptions: usize,
    pub events: usize,
    pub tickets: usize,
    pub surveys: usize,
    /// Account-months of the window in which the account held a subscription
    /// on the month's first day: the denominator of the monthly rates.
    pub active_account_months: u64,
    pub churns: u64,
    pub upgrades: u64,
    pub contractions: u64,
    pub reactivations: u64,
    pub late_renewals: u64,
    pub first_day: Day,
    pub last_day: Day,
}

impl SynthSummary {
    /// Churns per active account-month.
    pub fn monthly_churn_rate(&self) -> f64 {
        self.churns as f64 / self.active_account_months.max(1) as f64
    }
    /// Upgrades per active account-month.
    pub fn monthly_upgrade_rate(&self) -> f64 {
        self.upgrades as f64 / self.active_account_months.max(1) as f64
    }
    fn add(&mut self, part: &SynthSummary, frames: &[DataFrame; 5]) {
        self.accounts += frames[0].height();
        self.subscriptions += frames[1].height();
        self.events += frames[2].height();
        self.tickets += frames[3].height();
        self.surveys += frames[4].height();
        self.active_account_months += part.active_account_months;
        self.churns += part.churns;
        self.upgrades += part.upgrades;
        self.contractions += part.contractions;
        self.reactivations += part.reactivations;
        self.late_renewals += part.late_renewals;
    }
    fn add_truth(&mut self, t: &Truth) {
        self.active_account_months += t.active_months;
        self.churns += t.churns;
        self.upgrades += t.upgrades;
        self.contractions += t.contractions;
        self.reactivations += t.reactivations;
        self.late_renewals += t.late_renewals;
    }
}

impl fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "synth {}..{}: {} accounts, {} subscription lines, {} events, {} tickets, {} surveys; \
             monthly churn {:.2}% ({} churns), upgrades {:.2}% ({}), {} contractions, {} reactivations, {} late renewals",
            dates::format_day(self.first_day),
            dates::format_day(self.last_day),
            thousands(self.accounts),
            thousands(self.subscriptions),
            thousands(self.events),
            thousands(self.tickets),
            thousands(self.surveys),
            100.0 * self.monthly_churn_rate(),
            thousands(self.churns as usize),
            100.0 * self.monthly_upgrade_rate(),
            thousands(self.upgrades as usize),
            thousands(self.contractions as usize),
            thousands(self.reactivations as usize),
            thousands(self.late_renewals as usize),
        )
    }
}

/// The five tables in memory, as [`generate_to_dir`] writes them in Parquet
/// (dates are `Date`, `events.timestamp` is `Datetime(ms, UTC)`).
pub struct SynthFrames {
    pub accounts: DataFrame,
    pub subscriptions: DataFrame,
    pub events: DataFrame,
    pub tickets: DataFrame,
    pub surveys: DataFrame,
    pub summary: SynthSummary,
}

/// Generates every table in memory. Holds all events at once: for tests and
/// benches; use [`generate_to_dir`] for large runs.
pub fn generate_frames(params: &ValidSynthParams) -> Result<SynthFrames> {
    let mut acc: [DataFrame; 5] = Default::default();
    let summary = run(params, false, |batch| {
        for (all, part) in acc.iter_mut().zip(batch.iter()) {
            all.vstack_mut(part)
                .map_err(|e| Error::polars("<memory>", e))?;
        }
        Ok(())
    })?;
    for df in acc.iter_mut() {
        df.rechunk_mut_par();
    }
    let [accounts, subscriptions, events, tickets, surveys] = acc;
    Ok(SynthFrames {
        accounts,
        subscriptions,
        events,
        tickets,
        surveys,
        summary,
    })
}

/// Writes the five tables into `dir` (created if missing) as
/// `<table>.<csv|parquet>`, streaming `chunk_accounts` accounts at a time.
/// Each file goes to a temporary file and is renamed into place only when
/// every table has been written, so a failed run leaves old files intact; a
/// table left in another format by an earlier run is then removed.
pub fn generate_to_dir(
    params: &ValidSynthParams,
    dir: &Path,
    format: SynthFormat,
) -> Result<SynthSummary> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let paths: Vec<PathBuf> = TABLES
        .iter()
        .map(|t| dir.join(format!("{t}.{}", format.format_of(t).extension())))
        .collect();
    let csv_events = format.format_of("events") == Format::Csv;
    // One temporary file per table, nested so all five stay open while
    // batches stream in; each is renamed only if everything succeeded.
    let mut summary = None;
    atomic_write(&paths[0], |f0| {
        atomic_write(&paths[1], |f1| {
            atomic_write(&paths[2], |f2| {
                atomic_write(&paths[3], |f3| {
                    atomic_write(&paths[4], |f4| {
                        let files = [f0, f1, f2, f3, f4];
                        summary = Some(write_tables(params, format, csv_events, &paths, files)?);
                        Ok(())
                    })
                })
            })
        })
    })?;
    // The same table in another format from an earlier run would make the
    // directory ambiguous to the loader.
    for (table, path) in TABLES.iter().zip(&paths) {
        for ext in ["csv", "parquet", "json"] {
            let other = dir.join(format!("{table}.{ext}"));
            if other != *path && other.is_file() {
                std::fs::remove_file(&other).map_err(|e| Error::io(&other, e))?;
            }
        }
    }
    Ok(summary.expect("set on success"))
}

fn write_tables(
    params: &ValidSynthParams,
    format: SynthFormat,
    csv_events: bool,
    paths: &[PathBuf],
    files: [&mut File; 5],
) -> Result<SynthSummary> {
    let empty = frames_of(&[], csv_events).map_err(|e| Error::polars("<schema>", e))?;
    let mut writers = Vec::with_capacity(5);
    for (((table, file), path), df) in TABLES.iter().zip(files).zip(paths).zip(empty.iter()) {
        let w = TableWriter::new(file, format.format_of(table), df)
            .map_err(|e| Error::polars(path, e))?;
        writers.push(w);
    }
    let summary = run(params, csv_events, |batch| {
        for ((w, df), path) in writers.iter_mut().zip(batch.iter()).zip(paths) {
            w.write(df).map_err(|e| Error::polars(path, e))?;
        }
        Ok(())
    })?;
    for (w, path) in writers.iter_mut().zip(paths) {
        w.finish().map_err(|e| Error::polars(path, e))?;
    }
    Ok(summary)
}

/// Rows per Parquet row group. Batches are regrouped to this size so the
/// bytes do not depend on `chunk_accounts` or the thread count.
const ROW_GROUP: usize = 1 << 20;

/// A streaming writer for one table.
#[allow(clippy::large_enum_variant)] // one per output table, never in a hot collection
enum TableWriter<'f> {
    Csv(polars::io::csv::write::BatchedWriter<&'f mut File>),
    Parquet {
        writer: polars::io::parquet::write::BatchedWriter<&'f mut File>,
        pending: DataFrame,
    },
}

impl<'f> TableWriter<'f> {
    fn new(file: &'f mut File, format: Format, empty: &DataFrame) -> PolarsResult<Self> {
        Ok(match format {
            Format::Parquet => TableWriter::Parquet {
                writer: ParquetWriter::new(file).batched(empty.schema())?,
                pending: empty.clone(),
            },
            _ => TableWriter::Csv(
                CsvWriter::new(file)
                    .include_header(true)
                    .batched(empty.schema())?,
            ),
        })
    }

    fn write(&mut self, df: &DataFrame) -> PolarsResult<()> {
        match self {
            TableWriter::Csv(w) if df.height() > 0 => w.write_batch(df),
            TableWriter::Csv(_) => Ok(()),
            TableWriter::Parquet { writer, pending } => {
                pending.vstack_mut(df)?;
                // Copy one row group at a time into a single chunk (one chunk
                // is one row group); the rest stays a zero-copy slice.
                while pending.height() >= ROW_GROUP {
                    let mut group = pending.slice(0, ROW_GROUP);
                    group.rechunk_mut_par();
                    writer.write_batch(&group)?;
                    *pending = pending.slice(ROW_GROUP as i64, usize::MAX);
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self) -> PolarsResult<()> {
        match self {
            TableWriter::Csv(w) => w.finish(),
            TableWriter::Parquet { writer, pending } => {
                if pending.height() > 0 {
                    pending.rechunk_mut_par();
                    writer.write_batch(pending)?;
                }
                writer.finish().map(|_| ())
            }
        }
    }
}

/// Simulates accounts chunk by chunk (in parallel within a chunk, joined in
/// account order) and hands each chunk's five frames to `sink`.
fn run<F>(params: &ValidSynthParams, csv_events: bool, mut sink: F) -> Result<SynthSummary>
where
    F: FnMut(&[DataFrame; 5]) -> Result<()>,
{
    let p = &params.params;
    let cx = Context::new(params);
    let mut summary = SynthSummary {
        first_day: params.start,
        last_day: p.end,
        ..Default::default()
    };
    for from in (0..p.accounts).step_by(p.chunk_accounts) {
        let to = (from + p.chunk_accounts).min(p.accounts);
        let accounts: Vec<Account> = (from..to)
            .into_par_iter()
            .map(|i| Sim::run(&cx, i))
            .collect();
        let mut part = SynthSummary::default();
        for a in &accounts {
            part.add_truth(&a.truth);
        }
        let frames = frames_par(&accounts, csv_events).map_err(|e| Error::polars("<memory>", e))?;
        drop(accounts);
        sink(&frames)?;
        summary.add(&part, &frames);
    }
    Ok(summary)
}

// ---------------------------------------------------------------------------
// Simulation

/// What every account's simulation shares.
struct Context {
    seed: u64,
    accounts: usize,
    /// Accounts `0..existing` were created before the window.
    existing: usize,
    start: Day,
    end: Day,
    rows_scale: f64,
    event_tables: [Vec<f64>; 3],
}

impl Context {
    fn new(params: &ValidSynthParams) -> Self {
        let p = &params.params;
        let existing = ((p.accounts as f64 * 0.6).round() as usize).clamp(1, p.accounts);
        Context {
            seed: p.seed,
            accounts: p.accounts,
            existing,
            start: params.start,
            end: p.end,
            rows_scale: p.events_per_account_day * ROWS_CALIBRATION,
            event_tables: [
                event_weights(Mode::Normal),
                event_weights(Mode::Distress),
                event_weights(Mode::Expansion),
            ],
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Normal,
    Distress,
    Expansion,
}

/// Cumulative event-type weights: Zipf-like, shifted by the account's state.
fn event_weights(mode: Mode) -> Vec<f64> {
    let mut total = 0.0;
    EVENT_TYPES
        .iter()
        .enumerate()
        .map(|(rank, name)| {
            let mut w = 1.0 / ((rank + 1) as f64).powf(1.07);
            w *= match (mode, *name) {
                (Mode::Distress, "export_csv") => 4.0,
                (Mode::Distress, "download_pdf" | "billing_view") => 3.0,
                (
                    Mode::Distress,
                    "create_report" | "create_dashboard" | "create_project" | "invite_user",
                ) => 0.4,
                (Mode::Expansion, "invite_user") => 4.0,
                (Mode::Expansion, "permission_change" | "create_project") => 2.5,
                _ => 1.0,
            };
            total += w;
            total
        })
        .collect()
}

/// Mean of the count on one event row, before the engagement factor.
fn count_mean(kind: usize) -> f64 {
    match EVENT_TYPES[kind] {
        "api_call" => 8.0,
        "webhook_fired" | "integration_sync" => 4.0,
        "view_dashboard" | "view_report" | "search" | "edit_record" => 2.0,
        "login" | "mobile_session" => 0.5,
        _ => 1.0,
    }
}

struct Line {
    start: Day,
    end: Option<Day>,
    mrr: f64,
    plan: u8,
    seats: u32,
    kind: LineKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum LineKind {
    Main,
    SeatPack,
    Module,
}

struct EventRow {
    ts_ms: i64,
    user: u32,
    kind: u8,
    count: u32,
}

struct TicketRow {
    day: Day,
    priority: u8,
    csat: Option<u8>,
    sentiment: f64,
    topic: u8,
}

struct SurveyRow {
    day: Day,
    score: u8,
}

/// Ground-truth tallies of one account inside the window.
#[derive(Default)]
struct Truth {
    active_months: u64,
    churns: u64,
    upgrades: u64,
    contractions: u64,
    reactivations: u64,
    late_renewals: u64,
}

struct Account {
    index: usize,
    created_at: Day,
    segment: u8,
    industry: u8,
    region: u8,
    channel: u8,
    owner: u8,
    name: String,
    lines: Vec<Line>,
    events: Vec<EventRow>,
    tickets: Vec<TicketRow>,
    surveys: Vec<SurveyRow>,
    truth: Truth,
}

/// What shapes a month's usage besides health and demand.
#[derive(Clone, Copy)]
struct Usage {
    /// Seats held when the month began (also in a month whose change closed them).
    seats: u32,
    mode: Mode,
    /// Share of users still around after the months of distress so far.
    disengage: f64,
    /// The planned churn day, if distress is heading there.
    churn_day: Option<Day>,
}

enum State {
    Alive,
    /// Heading for `day`, when the account churns (if `churns`) or recovers.
    Distress {
        day: Day,
        churns: bool,
        from: Day,
    },
    /// Without a subscription until `back` (a reactivation), if ever.
    Churned {
        back: Option<Day>,
    },
}

struct Sim<'a> {
    cx: &'a Context,
    /// Latent dynamics and subscriptions.
    rng: Xoshiro256PlusPlus,
    /// Event rows.
    usage_rng: Xoshiro256PlusPlus,
    /// Tickets and surveys.
    touch_rng: Xoshiro256PlusPlus,
    acc: Account,
    mu: f64,
    growth: f64,
    /// Users the customer could ever bring: demand saturates there.
    ceiling: f64,
    health: f64,
    demand: f64,
    discount: f64,
    plan: u8,
    main: usize,
    state: State,
    /// Day the current subscription spell began (creation or reactivation).
    since: Day,
    survey_phase: i32,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// One of the account's own random streams: independent of chunking and
/// thread count. Dynamics, events and tickets/surveys draw from separate
/// streams so that `events_per_account_day` changes the events and nothing else.
fn account_rng(seed: u64, index: usize, stream: u64) -> Xoshiro256PlusPlus {
    let key = splitmix64(index as u64).wrapping_add(stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    Xoshiro256PlusPlus::seed_from_u64(splitmix64(seed ^ splitmix64(key)))
}

fn normal(rng: &mut impl Rng) -> f64 {
    // Box-Muller; one draw per call keeps streams simple to reason about.
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(rng: &mut impl Rng, lambda: f64) -> u32 {
    if lambda <= 0.0 {
        0
    } else if lambda < 30.0 {
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p: f64 = rng.gen();
        while p > limit {
            k += 1;
            p *= rng.gen::<f64>();
        }
        k
    } else {
        (lambda + lambda.sqrt() * normal(rng)).round().max(0.0) as u32
    }
}

fn pick(rng: &mut impl Rng, weights: &[f64]) -> u8 {
    let total: f64 = weights.iter().sum();
    let mut u = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if u < *w {
            return i as u8;
        }
        u -= w;
    }
    (weights.len() - 1) as u8
}

fn pick_cumulative(rng: &mut impl Rng, cumulative: &[f64]) -> usize {
    let u = rng.gen::<f64>() * cumulative[cumulative.len() - 1];
    cumulative
        .partition_point(|c| *c <= u)
        .min(cumulative.len() - 1)
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn month_start(d: Day) -> Day {
    let (y, m, _) = dates::civil_from_days(d);
    dates::days_from_civil(y, m, 1)
}

/// The first day of the month `k` months after the one holding `d`.
fn add_months(d: Day, k: u32) -> Day {
    let mut s = month_start(d);
    for _ in 0..k {
        s = dates::month_end(s) + 1;
    }
    s
}

/// A day in `[lo, hi]`, uniformly.
fn day_in(rng: &mut impl Rng, lo: Day, hi: Day) -> Day {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..=hi)
    }
}

/// Monday = 0 … Sunday = 6 (1970-01-01 was a Thursday).
fn weekday(d: Day) -> i32 {
    (d + 3).rem_euclid(7)
}

impl<'a> Sim<'a> {
    fn run(cx: &'a Context, index: usize) -> Account {
        let mut sim = Sim::new(cx, index);
        let mut ms = month_start(sim.acc.created_at);
        while ms <= cx.end {
            let me = dates::month_end(ms).min(cx.end);
            sim.month(ms, me);
            ms = dates::month_end(ms) + 1;
        }
        sim.acc
    }

    fn new(cx: &'a Context, index: usize) -> Self {
        let mut rng = account_rng(cx.seed, index, 0);
        let created_at = created_at(cx, index, &mut rng);
        let segment = pick(&mut rng, &[0.55, 0.30, 0.15]);
        let industry = pick(&mut rng, &[0.22, 0.14, 0.12, 0.12, 0.12, 0.10, 0.09, 0.09]);
        let region = pick(&mut rng, &[0.45, 0.30, 0.15, 0.10]);
        let channel = pick(&mut rng, &[0.5, 0.3, 0.2]);
        let owner = rng.gen_range(0..OWNERS.len()) as u8;
        let name = company_name(&mut rng);
        let plan = match segment {
            0 => pick(&mut rng, &[0.55, 0.35, 0.10, 0.0]),
            1 => pick(&mut rng, &[0.10, 0.45, 0.40, 0.05]),
            _ => pick(&mut rng, &[0.0, 0.10, 0.45, 0.45]),
        };
        let (median, spread, cap) =
            [(4.0, 0.5, 40.0), (15.0, 0.5, 150.0), (60.0, 0.6, 800.0)][segment as usize];
        let seats = (median * (spread * normal(&mut rng)).exp())
            .round()
            .clamp(1.0, cap) as u32;
        let discount = match segment {
            0 => {
                if rng.gen_bool(0.15) {
                    0.9
                } else {
                    1.0
                }
            }
            1 => rng.gen_range(0.85..1.0),
            _ => rng.gen_range(0.7..0.9),
        };
        // Accounts already there when the window opens are survivors: the
        // unhealthy ones among their cohort left before, so their mean health
        // is tilted up the longer they have been around.
        let survived = ((cx.start - created_at) as f64 / 730.0).clamp(0.0, 1.0);
        let mu = 0.35 * survived + 0.45 * normal(&mut rng);
        let growth = normal(&mut rng);
        let ceiling = seats as f64 * (1.4 + 0.6 * normal(&mut rng)).exp();
        let health = mu + 0.5 * normal(&mut rng);
        let demand = seats as f64 * rng.gen_range(0.5..0.95);
        let survey_phase = rng.gen_range(0..3);
        let acc = Account {
            index,
            created_at,
            segment,
            industry,
            region,
            channel,
            owner,
            name,
            lines: Vec::new(),
            events: Vec::new(),
            tickets: Vec::new(),
            surveys: Vec::new(),
            truth: Truth::default(),
        };
        let mut sim = Sim {
            cx,
            rng,
            usage_rng: account_rng(cx.seed, index, 1),
            touch_rng: account_rng(cx.seed, index, 2),
            acc,
            mu,
            growth,
            ceiling,
            health,
            demand,
            discount,
            plan,
            main: 0,
            state: State::Alive,
            since: created_at,
            survey_phase,
        };
        sim.open(created_at, LineKind::Main, plan, seats);
        let module_share = [0.06, 0.15, 0.25][segment as usize];
        if sim.rng.gen_bool(module_share) {
            let price = MODULE_PRICE[sim.rng.gen_range(0..MODULE_PRICE.len())];
            sim.acc.lines.push(Line {
                start: created_at,
                end: None,
                mrr: price,
                plan,
                seats: 0,
                kind: LineKind::Module,
            });
        }
        sim
    }

    fn price(&self, plan: u8, seats: u32) -> f64 {
        round2(seats as f64 * PLAN_PRICE[plan as usize] * self.discount)
    }

    fn open(&mut self, day: Day, kind: LineKind, plan: u8, seats: u32) {
        let mrr = self.price(plan, seats);
        self.acc.lines.push(Line {
            start: day,
            end: None,
            mrr,
            plan,
            seats,
            kind,
        });
        if kind == LineKind::Main {
            self.main = self.acc.lines.len() - 1;
        }
    }

    fn seats(&self) -> u32 {
        self.acc
            .lines
            .iter()
            .filter(|l| l.end.is_none())
            .map(|l| l.seats)
            .sum::<u32>()
            .max(1)
    }

    /// Latest start among open lines: a change must come strictly after it.
    fn latest_start(&self) -> Day {
        self.acc
            .lines
            .iter()
            .filter(|l| l.end.is_none())
            .map(|l| l.start)
            .max()
            .unwrap_or(Day::MIN)
    }

    fn close_all(&mut self, day: Day) {
        for l in self.acc.lines.iter_mut().filter(|l| l.end.is_none()) {
            l.end = Some(day);
        }
    }

    fn replace_main(&mut self, day: Day, plan: u8, seats: u32) {
        self.acc.lines[self.main].end = Some(day);
        self.open(day, LineKind::Main, plan, seats);
    }

    /// One month `[ms, me]`: latent state, at most one subscription change,
    /// then (inside the window) the month's events, tickets and surveys.
    fn month(&mut self, ms: Day, me: Day) {
        let cx = self.cx;
        let created_now = ms <= self.acc.created_at;
        let in_window = ms >= cx.start;
        let mut live_from = ms.max(self.acc.created_at);
        let mut live_to = me;
        let mut changed = created_now;
        if let State::Churned { back } = self.state {
            match back {
                Some(b) if b <= me => {
                    self.reactivate(b, in_window);
                    live_from = b;
                    changed = true;
                }
                _ => return,
            }
        } else if !created_now {
            self.evolve();
            if in_window {
                self.acc.truth.active_months += 1;
            }
        }
        let distress = matches!(self.state, State::Distress { .. });
        let seats_before = self.seats();
        let mut churn_day = None;
        // Users drift away month by month once distress sets in.
        let mut disengage = 1.0;
        if let State::Distress { day, churns, from } = self.state {
            disengage = DISENGAGE.powi(((ms - from) / 28).max(1));
            if churns {
                churn_day = Some(day);
            }
            if day <= me {
                if churns {
                    self.churn(day);
                    live_to = day - 1;
                } else {
                    self.health += 1.0;
                    self.state = State::Alive;
                }
            }
        } else if !changed && self.rng.gen_bool(self.distress_probability(ms)) {
            let k = 1 + pick(&mut self.rng, &[0.2, 0.4, 0.4]) as u32;
            let target = add_months(ms, k);
            let day = target + self.rng.gen_range(0..28);
            let churns = self.rng.gen_bool(DISTRESS_CHURNS) && day >= cx.start;
            self.state = State::Distress {
                day,
                churns,
                from: ms,
            };
        } else if !changed {
            self.maybe_change_lines(ms, me, in_window);
        }
        if in_window && live_from <= live_to {
            let mode = if distress {
                Mode::Distress
            } else if self.demand > 0.9 * seats_before as f64 {
                Mode::Expansion
            } else {
                Mode::Normal
            };
            let usage = Usage {
                seats: seats_before,
                mode,
                disengage,
                churn_day,
            };
            self.emit(ms, live_from, live_to, &usage);
        }
    }

    fn evolve(&mut self) {
        let distress = matches!(self.state, State::Distress { .. });
        let shock = normal(&mut self.rng);
        self.health =
            HEALTH_PHI * self.health + (1.0 - HEALTH_PHI) * self.mu + HEALTH_SIGMA * shock;
        if distress {
            self.health -= 0.7;
        }
        let mut rate = 0.012
            + 0.02 * self.growth
            + 0.015 * self.health.clamp(-2.0, 2.0)
            + 0.03 * normal(&mut self.rng);
        if rate > 0.0 {
            rate *= (1.0 - self.demand / self.ceiling).max(0.0);
        }
        if distress {
            rate -= 0.05;
        }
        self.demand = (self.demand * rate.exp()).clamp(1.0, 50_000.0);
    }

    fn distress_probability(&self, ms: Day) -> f64 {
        let a = &self.acc;
        let segment = [0.45, 0.0, -0.6][a.segment as usize];
        let plan = [0.3, 0.1, -0.1, -0.3][self.plan as usize];
        let industry = if INDUSTRIES[a.industry as usize] == "Education"
            || INDUSTRIES[a.industry as usize] == "Retail"
        {
            0.15
        } else {
            0.0
        };
        let channel = [0.0, 0.15, -0.1][a.channel as usize];
        let new = if ms - self.since < 183 { 0.4 } else { 0.0 };
        sigmoid(DISTRESS_BASE - 1.7 * self.health + segment + plan + industry + channel + new)
    }

    fn churn(&mut self, day: Day) {
        self.close_all(day);
        if day >= self.cx.start {
            self.acc.truth.churns += 1;
        }
        let back = if self.rng.gen_bool(0.15) {
            Some(day + self.rng.gen_range(REACTIVATION_GAP.0..=REACTIVATION_GAP.1))
        } else {
            None
        };
        self.state = State::Churned { back };
    }

    fn reactivate(&mut self, day: Day, in_window: bool) {
        if self.plan > 0 && self.rng.gen_bool(0.5) {
            self.plan -= 1;
        }
        let before = self.acc.lines[self.main].seats as f64;
        let seats = (before * self.rng.gen_range(0.5..0.9)).round().max(1.0) as u32;
        self.open(day, LineKind::Main, self.plan, seats);
        self.demand = seats as f64 * 0.7;
        self.health = self.mu + 0.4;
        self.state = State::Alive;
        self.since = day;
        if in_window {
            self.acc.truth.reactivations += 1;
        }
    }

    /// Upgrade, contraction or renewal paperwork for a healthy month.
    fn maybe_change_lines(&mut self, ms: Day, me: Day, in_window: bool) {
        let seats = self.seats();
        let pressure = self.demand / seats as f64;
        let first = ms.max(self.latest_start() + 1);
        if first > me {
            return;
        }
        let up = sigmoid(
            UPGRADE_BASE + 12.0 * (pressure - 1.05) + 0.5 * self.health + 0.25 * self.growth,
        );
        if self.rng.gen_bool(up) {
            let day = day_in(&mut self.rng, first, me);
            let target =
                ((self.demand * self.rng.gen_range(1.25..1.6)).ceil() as u32).max(seats + 1);
            let extra = target - seats;
            let main_seats = self.acc.lines[self.main].seats;
            let r: f64 = self.rng.gen();
            if self.plan < 3 && self.health > 0.2 && r < 0.3 {
                self.replace_main(day, self.plan + 1, main_seats + extra);
                self.plan += 1;
            } else if self.acc.segment > 0 && r < 0.65 {
                let pack = extra.div_ceil(5) * 5;
                self.open(day, LineKind::SeatPack, self.plan, pack);
            } else {
                self.replace_main(day, self.plan, main_seats + extra);
            }
            if in_window {
                self.acc.truth.upgrades += 1;
            }
            return;
        }
        if pressure < 0.55 && self.health < 0.0 && self.rng.gen_bool(0.06) {
            let day = day_in(&mut self.rng, first, me);
            let pack = self
                .acc
                .lines
                .iter()
                .position(|l| l.end.is_none() && l.kind == LineKind::SeatPack);
            let main_seats = self.acc.lines[self.main].seats;
            let fewer = ((self.demand * 1.1).ceil() as u32).max(1);
            let done = if let Some(i) = pack {
                self.acc.lines[i].end = Some(day);
                true
            } else if fewer < main_seats {
                self.replace_main(day, self.plan, fewer);
                true
            } else {
                false
            };
            if done && in_window {
                self.acc.truth.contractions += 1;
            }
            return;
        }
        // Yearly renewal on the creation anniversary: paperwork, same MRR.
        let (_, cm, cd) = dates::civil_from_days(self.acc.created_at);
        let (y, m, _) = dates::civil_from_days(ms);
        if m != cm || ms <= self.acc.created_at {
            return;
        }
        let day = dates::days_from_civil(y, m, cd.min(dates::days_in_month(y, m)));
        if day < first || day > me {
            return;
        }
        let r: f64 = self.rng.gen();
        if r < 0.45 {
            let main_seats = self.acc.lines[self.main].seats;
            self.replace_main(day, self.plan, main_seats);
        } else if r < 0.51 && day + 30 < self.cx.end {
            let gap = self.rng.gen_range(LATE_RENEWAL_GAP.0..=LATE_RENEWAL_GAP.1);
            let open: Vec<usize> = (0..self.acc.lines.len())
                .filter(|&i| self.acc.lines[i].end.is_none())
                .collect();
            for i in open {
                let l = &mut self.acc.lines[i];
                l.end = Some(day);
                let copy = Line {
                    start: day + gap,
                    end: None,
                    mrr: l.mrr,
                    plan: l.plan,
                    seats: l.seats,
                    kind: l.kind,
                };
                self.acc.lines.push(copy);
                if i == self.main {
                    self.main = self.acc.lines.len() - 1;
                }
            }
            if in_window {
                self.acc.truth.late_renewals += 1;
            }
        }
    }

    /// Events, tickets and surveys for the live days `[from, to]` of the month starting `ms`.
    fn emit(&mut self, ms: Day, from: Day, to: Day, usage: &Usage) {
        let Usage {
            seats,
            mode,
            disengage,
            churn_day,
        } = *usage;
        let seats = seats as f64;
        let engaged = sigmoid(1.2 + 1.5 * self.health);
        let active = (self.demand.min(1.25 * seats) * engaged * disengage)
            .round()
            .max(1.0);
        let months_live = (ms - month_start(self.since)) / 28;
        let ramp = match months_live {
            0 => 0.45,
            1 => 0.75,
            _ => 1.0,
        };
        let base = self.cx.rows_scale * active * ramp;
        let count_scale = 0.5 + engaged;
        let table = match mode {
            Mode::Normal => 0,
            Mode::Distress => 1,
            Mode::Expansion => 2,
        };
        let center = [17 * 60, 11 * 60, 3 * 60, 15 * 60][self.acc.region as usize] as f64;
        let users = active as u32;
        // The month's first rows go round the active users, so each shows up
        // once if rows allow; later rows favour power users.
        let offset = self.usage_rng.gen_range(0..users);
        let mut round = 0;
        let mut day_rows: Vec<(u32, u8, u32, u32)> = Vec::new();
        for d in from..=to {
            // Weekend and weekday weights (mean 1 over a week), not 1/pi and 4/pi.
            #[allow(clippy::approx_constant)]
            let wd = if weekday(d) >= 5 { 0.318 } else { 1.273 };
            let fade = match churn_day {
                Some(c) if c - d < 60 => 0.25 + 0.75 * (c - d).max(0) as f64 / 60.0,
                _ => 1.0,
            };
            let n = poisson(&mut self.usage_rng, base * wd * fade);
            if n == 0 {
                continue;
            }
            day_rows.clear();
            for _ in 0..n {
                let user = if round < users {
                    round += 1;
                    1 + (offset + round) % users
                } else {
                    1 + (active * self.usage_rng.gen::<f64>().powf(1.7)) as u32
                };
                let kind = pick_cumulative(&mut self.usage_rng, &self.cx.event_tables[table]);
                let mean = count_mean(kind) * count_scale;
                let count = 1 + poisson(&mut self.usage_rng, mean);
                // Whole hours around the working day of the account's region.
                let hour =
                    (center + 150.0 * normal(&mut self.usage_rng)).rem_euclid(1440.0) as u32 / 60;
                day_rows.push((user, kind as u8, count, hour * 60));
            }
            // One row per (user, event) and day: merge repeats, keep the earliest time.
            day_rows.sort_unstable_by_key(|r| (r.0, r.1));
            day_rows.dedup_by(|later, kept| {
                if later.0 == kept.0 && later.1 == kept.1 {
                    kept.2 += later.2;
                    kept.3 = kept.3.min(later.3);
                    true
                } else {
                    false
                }
            });
            day_rows.sort_unstable_by_key(|r| (r.3, r.0, r.1));
            let day_ms = d as i64 * 86_400_000;
            for &(user, kind, count, minute) in &day_rows {
                self.acc.events.push(EventRow {
                    ts_ms: day_ms + minute as i64 * 60_000,
                    user,
                    kind,
                    count,
                });
            }
        }
        self.emit_tickets(ms, from, to, distress_flag(mode), months_live);
        self.emit_survey(ms, from, to, distress_flag(mode));
    }

    fn emit_tickets(&mut self, ms: Day, from: Day, to: Day, distress: f64, months_live: i32) {
        let days = (dates::month_end(ms) - ms + 1) as f64;
        let live = (to - from + 1) as f64 / days;
        let base = [0.25, 0.6, 1.2][self.acc.segment as usize];
        let onboarding = if months_live == 0 { 1.5 } else { 1.0 };
        let lambda = base * (-0.7 * self.health).exp() * (1.0 + 0.8 * distress) * onboarding * live;
        let n = poisson(&mut self.touch_rng, lambda);
        let start = self.acc.tickets.len();
        for _ in 0..n {
            let day = day_in(&mut self.touch_rng, from, to);
            let h = self.health;
            let z = -0.6 * h + 0.7 * distress + normal(&mut self.touch_rng);
            let priority = if z > 2.2 {
                3
            } else if z > 1.2 {
                2
            } else if z > -0.6 {
                1
            } else {
                0
            };
            let csat = if self.touch_rng.gen_bool(0.4) {
                let v = 4.1 + 0.7 * h - 0.6 * distress + 0.9 * normal(&mut self.touch_rng);
                Some(v.round().clamp(1.0, 5.0) as u8)
            } else {
                None
            };
            let s = (0.2 + 0.5 * h - 0.5 * distress + 0.4 * normal(&mut self.touch_rng)).tanh();
            let sentiment = round2(s.clamp(-1.0, 1.0));
            let onboard = if months_live == 0 { 12.0 } else { 2.0 };
            // In `TOPICS` order.
            let weights = [
                25.0,
                20.0,
                12.0,
                10.0,
                12.0,
                8.0,
                onboard,
                8.0 + 6.0 * distress,
                3.0 + 5.0 * distress,
                0.5 + 8.0 * distress,
            ];
            let topic = pick(&mut self.touch_rng, &weights);
            self.acc.tickets.push(TicketRow {
                day,
                priority,
                csat,
                sentiment,
                topic,
            });
        }
        self.acc.tickets[start..].sort_by_key(|t| t.day);
    }

    fn emit_survey(&mut self, ms: Day, from: Day, to: Day, distress: f64) {
        let (y, m, _) = dates::civil_from_days(ms);
        if (y * 12 + m as i32 + self.survey_phase) % 3 != 0 {
            return;
        }
        if !self.touch_rng.gen_bool(0.35 - 0.1 * distress) {
            return;
        }
        let day = day_in(&mut self.touch_rng, from, to);
        let v = 7.3 + 1.4 * self.health - 1.2 * distress + 1.4 * normal(&mut self.touch_rng);
        self.acc.surveys.push(SurveyRow {
            day,
            score: v.round().clamp(0.0, 10.0) as u8,
        });
    }
}

fn distress_flag(mode: Mode) -> f64 {
    if mode == Mode::Distress {
        1.0
    } else {
        0.0
    }
}

/// Creation day by index, so ids rise with time: the first 60% are spread
/// over the five years before the window (denser recently), the rest evenly
/// over the window up to two weeks before its end.
fn created_at(cx: &Context, index: usize, rng: &mut impl Rng) -> Day {
    let jitter: f64 = rng.gen();
    if index < cx.existing {
        let x = ((cx.existing - index) as f64 - jitter) / cx.existing as f64;
        cx.start - 1 - (1_825.0 * x.powf(1.6)) as Day
    } else {
        let span = (cx.end - 14 - cx.start + 1).max(1) as f64;
        let x = ((index - cx.existing) as f64 + jitter) / (cx.accounts - cx.existing) as f64;
        cx.start + (span * x) as Day
    }
}

fn company_name(rng: &mut impl Rng) -> String {
    const FIRST: [&str; 32] = [
        "Acme",
        "Blue",
        "Bright",
        "Cedar",
        "Clear",
        "Copper",
        "Crest",
        "Delta",
        "Ember",
        "Evergreen",
        "Falcon",
        "Granite",
        "Harbor",
        "Iron",
        "Juniper",
        "Keystone",
        "Lumen",
        "Maple",
        "Nimbus",
        "North",
        "Oak",
        "Orbit",
        "Pine",
        "Quartz",
        "Red",
        "River",
        "Sage",
        "Silver",
        "Summit",
        "Terra",
        "Vertex",
        "Willow",
    ];
    const SECOND: [&str; 20] = [
        "Analytics",
        "Bio",
        "Cloud",
        "Dynamics",
        "Foods",
        "Freight",
        "Health",
        "Labs",
        "Logistics",
        "Media",
        "Networks",
        "Partners",
        "Retail",
        "Robotics",
        "Software",
        "Solar",
        "Systems",
        "Ventures",
        "Works",
        "Data",
    ];
    const SUFFIX: [&str; 6] = ["Inc", "LLC", "Ltd", "GmbH", "Co", "Group"];
    let a = FIRST[rng.gen_range(0..FIRST.len())];
    let b = SECOND[rng.gen_range(0..SECOND.len())];
    let c = SUFFIX[rng.gen_range(0..SUFFIX.len())];
    format!("{a} {b} {c}")
}

// ---------------------------------------------------------------------------
// Frames

fn account_id(index: usize) -> String {
    format!("A-{:06}", index + 1)
}

/// The five frames of a batch of accounts, events split across threads.
fn frames_par(accounts: &[Account], csv_events: bool) -> PolarsResult<[DataFrame; 5]> {
    let parts = rayon::current_num_threads().max(1) * 2;
    let per = accounts.len().div_ceil(parts).max(1);
    let (small, events) = rayon::join(
        || -> PolarsResult<_> {
            Ok((
                accounts_frame(accounts)?,
                subscriptions_frame(accounts)?,
                tickets_frame(accounts)?,
                surveys_frame(accounts)?,
            ))
        },
        || -> PolarsResult<DataFrame> {
            let pieces: Vec<DataFrame> = accounts
                .par_chunks(per)
                .map(|c| events_frame(c, csv_events))
                .collect::<PolarsResult<_>>()?;
            // Left in aligned chunks: writers and callers rechunk as they need.
            let mut all = events_frame(&[], csv_events)?;
            for p in pieces {
                all.vstack_mut_owned(p)?;
            }
            Ok(all)
        },
    );
    let (a, s, t, v) = small?;
    Ok([a, s, events?, t, v])
}

fn frames_of(accounts: &[Account], csv_events: bool) -> PolarsResult<[DataFrame; 5]> {
    Ok([
        accounts_frame(accounts)?,
        subscriptions_frame(accounts)?,
        events_frame(accounts, csv_events)?,
        tickets_frame(accounts)?,
        surveys_frame(accounts)?,
    ])
}

fn date_column(name: &str, days: Vec<Day>) -> Column {
    Int32Chunked::from_vec(name.into(), days)
        .into_date()
        .into_column()
}

fn str_column<'s>(name: &str, n: usize, values: impl Iterator<Item = &'s str>) -> Column {
    let mut b = StringChunkedBuilder::new(name.into(), n);
    for v in values {
        b.append_value(v);
    }
    b.finish().into_column()
}

/// `account_id` repeated for each of an account's `n` rows.
fn id_column<'a>(
    name: &str,
    rows: usize,
    per_account: impl Iterator<Item = (&'a Account, usize)>,
) -> Column {
    let mut b = StringChunkedBuilder::new(name.into(), rows);
    for (a, n) in per_account {
        let id = account_id(a.index);
        for _ in 0..n {
            b.append_value(&id);
        }
    }
    b.finish().into_column()
}

fn accounts_frame(accs: &[Account]) -> PolarsResult<DataFrame> {
    let n = accs.len();
    let cols = vec![
        id_column("account_id", n, accs.iter().map(|a| (a, 1))),
        date_column("created_at", accs.iter().map(|a| a.created_at).collect()),
        str_column("name", n, accs.iter().map(|a| a.name.as_str())),
        str_column(
            "segment",
            n,
            accs.iter().map(|a| SEGMENTS[a.segment as usize]),
        ),
        str_column(
            "industry",
            n,
            accs.iter().map(|a| INDUSTRIES[a.industry as usize]),
        ),
        str_column("region", n, accs.iter().map(|a| REGIONS[a.region as usize])),
        str_column(
            "channel",
            n,
            accs.iter().map(|a| CHANNELS[a.channel as usize]),
        ),
        str_column("owner", n, accs.iter().map(|a| OWNERS[a.owner as usize])),
    ];
    DataFrame::new(n, cols)
}

fn subscriptions_frame(accs: &[Account]) -> PolarsResult<DataFrame> {
    // Lines in start order per account (a late renewal's copies come after
    // lines opened later in the simulation only if they start later).
    let ordered: Vec<(&Account, Vec<&Line>)> = accs
        .iter()
        .map(|a| {
            let mut ls: Vec<&Line> = a.lines.iter().collect();
            ls.sort_by_key(|l| (l.start, l.end.unwrap_or(Day::MAX)));
            (a, ls)
        })
        .collect();
    let lines = || ordered.iter().flat_map(|(_, ls)| ls.iter());
    let n = lines().count();
    let cols = vec![
        id_column(
            "account_id",
            n,
            ordered.iter().map(|(a, ls)| (*a, ls.len())),
        ),
        date_column("start_date", lines().map(|l| l.start).collect()),
        Int32Chunked::from_iter_options("end_date".into(), lines().map(|l| l.end))
            .into_date()
            .into_column(),
        Float64Chunked::from_vec("mrr".into(), lines().map(|l| l.mrr).collect()).into_column(),
        str_column("plan", n, lines().map(|l| PLANS[l.plan as usize])),
        Int64Chunked::from_vec("seats".into(), lines().map(|l| l.seats as i64).collect())
            .into_column(),
    ];
    DataFrame::new(n, cols)
}

fn events_frame(accs: &[Account], csv: bool) -> PolarsResult<DataFrame> {
    let n: usize = accs.iter().map(|a| a.events.len()).sum();
    let rows = || accs.iter().flat_map(|a| a.events.iter());
    let ts = Int64Chunked::from_vec("timestamp".into(), rows().map(|e| e.ts_ms).collect());
    let timestamp = if csv {
        let mut b = StringChunkedBuilder::new("timestamp".into(), n);
        let mut buf = String::with_capacity(20);
        for e in rows() {
            buf.clear();
            rfc3339_minutes(&mut buf, e.ts_ms);
            b.append_value(&buf);
        }
        b.finish().into_column()
    } else {
        ts.into_datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
            .into_column()
    };
    let mut users = StringChunkedBuilder::new("user_id".into(), n);
    let mut buf = String::with_capacity(16);
    for a in accs {
        for e in &a.events {
            use std::fmt::Write;
            buf.clear();
            let _ = write!(buf, "U-{:06}-{:02}", a.index + 1, e.user);
            users.append_value(&buf);
        }
    }
    let cols = vec![
        id_column("account_id", n, accs.iter().map(|a| (a, a.events.len()))),
        timestamp,
        str_column("event", n, rows().map(|e| EVENT_TYPES[e.kind as usize])),
        users.finish().into_column(),
        Int64Chunked::from_vec("count".into(), rows().map(|e| e.count as i64).collect())
            .into_column(),
    ];
    DataFrame::new(n, cols)
}

/// `2024-03-01T14:05:00Z` for a millisecond timestamp on a whole minute.
fn rfc3339_minutes(buf: &mut String, ts_ms: i64) {
    use std::fmt::Write;
    let day = ts_ms.div_euclid(86_400_000) as Day;
    let minute = ts_ms.rem_euclid(86_400_000) / 60_000;
    let (y, m, d) = dates::civil_from_days(day);
    let _ = write!(
        buf,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:00Z",
        minute / 60,
        minute % 60
    );
}

fn tickets_frame(accs: &[Account]) -> PolarsResult<DataFrame> {
    let n: usize = accs.iter().map(|a| a.tickets.len()).sum();
    let rows = || accs.iter().flat_map(|a| a.tickets.iter());
    let cols = vec![
        id_column("account_id", n, accs.iter().map(|a| (a, a.tickets.len()))),
        date_column("created_at", rows().map(|t| t.day).collect()),
        str_column(
            "priority",
            n,
            rows().map(|t| PRIORITIES[t.priority as usize]),
        ),
        Int64Chunked::from_iter_options("csat".into(), rows().map(|t| t.csat.map(i64::from)))
            .into_column(),
        Float64Chunked::from_vec("sentiment".into(), rows().map(|t| t.sentiment).collect())
            .into_column(),
        str_column("topic", n, rows().map(|t| TOPICS[t.topic as usize])),
    ];
    DataFrame::new(n, cols)
}

fn surveys_frame(accs: &[Account]) -> PolarsResult<DataFrame> {
    let n: usize = accs.iter().map(|a| a.surveys.len()).sum();
    let rows = || accs.iter().flat_map(|a| a.surveys.iter());
    let cols = vec![
        id_column("account_id", n, accs.iter().map(|a| (a, a.surveys.len()))),
        date_column("responded_at", rows().map(|s| s.day).collect()),
        Int64Chunked::from_vec("score".into(), rows().map(|s| s.score as i64).collect())
            .into_column(),
    ];
    DataFrame::new(n, cols)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn params(accounts: usize, months: u32, seed: u64, epad: f64) -> ValidSynthParams {
        SynthParams {
            accounts,
            months,
            seed,
            events_per_account_day: epad,
            ..SynthParams::default()
        }
        .check()
        .unwrap()
    }

    fn days(df: &DataFrame, col: &str) -> Vec<Option<Day>> {
        df.column(col)
            .unwrap()
            .date()
            .unwrap()
            .physical()
            .iter()
            .collect()
    }

    fn strs<'a>(df: &'a DataFrame, col: &str) -> Vec<&'a str> {
        df.column(col)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(Option::unwrap)
            .collect()
    }

    /// Churns, upgrades and active account-months per window month, measured
    /// the way a consumer of the files would: MRR summed over lines with
    /// `start_date <= d < end_date`, spells merged across gaps under 30 days,
    /// churn = a spell ending inside the data, upgrade = MRR rising inside a spell.
    struct Measured {
        active: u64,
        churns: u64,
        upgrades: u64,
    }

    fn measure(subs: &DataFrame, start: Day, end: Day) -> Measured {
        let ids = strs(subs, "account_id");
        let starts = days(subs, "start_date");
        let ends = days(subs, "end_date");
        let mrr: Vec<f64> = subs
            .column("mrr")
            .unwrap()
            .f64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let mut deltas: BTreeMap<&str, BTreeMap<Day, i64>> = BTreeMap::new();
        for i in 0..ids.len() {
            let cents = (mrr[i] * 100.0).round() as i64;
            let d = deltas.entry(ids[i]).or_default();
            *d.entry(starts[i].unwrap()).or_default() += cents;
            if let Some(e) = ends[i] {
                *d.entry(e).or_default() -= cents;
            }
        }
        let (mut spells, mut churns, mut upgrades) = (Vec::new(), Vec::new(), Vec::new());
        for steps in deltas.values() {
            let mut level = 0;
            let mut own: Vec<(Day, Option<Day>)> = Vec::new();
            let mut changes = Vec::new();
            for (&d, &delta) in steps {
                let was = level;
                level += delta;
                assert!(level >= 0, "MRR went negative");
                if was == 0 && level > 0 {
                    match own.last_mut() {
                        Some((_, Some(e))) if d - *e < 30 => own.last_mut().unwrap().1 = None,
                        _ => own.push((d, None)),
                    }
                } else if was > 0 && level == 0 {
                    own.last_mut().unwrap().1 = Some(d);
                }
                if level > 0 {
                    changes.push((d, level));
                }
            }
            let spell_starts: Vec<Day> = own.iter().map(|s| s.0).collect();
            for w in changes.windows(2) {
                if w[1].1 > w[0].1 && !spell_starts.contains(&w[1].0) {
                    upgrades.push(w[1].0);
                }
            }
            churns.extend(own.iter().filter_map(|s| s.1));
            spells.extend(own);
        }
        let mut m = Measured {
            active: 0,
            churns: 0,
            upgrades: 0,
        };
        for ms in dates::month_ends_between(start, end)
            .into_iter()
            .map(month_start)
        {
            let me = dates::month_end(ms);
            m.active += spells
                .iter()
                .filter(|(a, b)| *a <= ms && b.is_none_or(|b| b > ms))
                .count() as u64;
            m.churns += churns.iter().filter(|&&d| d >= ms && d <= me).count() as u64;
            m.upgrades += upgrades.iter().filter(|&&d| d >= ms && d <= me).count() as u64;
        }
        m
    }

    #[test]
    fn rejects_out_of_range_params() {
        let ok = SynthParams::default();
        for bad in [
            SynthParams {
                accounts: 0,
                ..ok.clone()
            },
            SynthParams {
                months: 0,
                ..ok.clone()
            },
            SynthParams {
                months: 121,
                ..ok.clone()
            },
            SynthParams {
                events_per_account_day: 0.0,
                ..ok.clone()
            },
            SynthParams {
                events_per_account_day: f64::NAN,
                ..ok.clone()
            },
            SynthParams {
                chunk_accounts: 0,
                ..ok.clone()
            },
        ] {
            assert!(
                matches!(bad.check(), Err(Error::InvalidParam(_))),
                "{bad:?}"
            );
        }
        let p = ok.check().unwrap();
        assert_eq!(dates::format_day(p.start()), "2024-01-01");
    }

    #[test]
    fn same_seed_same_frames() {
        let a = generate_frames(&params(300, 6, 9, 0.3)).unwrap();
        let b = generate_frames(&params(300, 6, 9, 0.3)).unwrap();
        assert!(a.events.height() > 1_000);
        assert_eq!(a.accounts, b.accounts);
        assert_eq!(a.subscriptions, b.subscriptions);
        assert_eq!(a.events, b.events);
        assert_eq!(a.tickets, b.tickets);
        assert_eq!(a.surveys, b.surveys);
        assert_eq!(a.summary, b.summary);
    }

    #[test]
    fn different_seed_differs() {
        let a = generate_frames(&params(300, 6, 9, 0.3)).unwrap();
        let b = generate_frames(&params(300, 6, 10, 0.3)).unwrap();
        assert_ne!(a.accounts, b.accounts);
        assert_ne!(a.subscriptions, b.subscriptions);
        assert_ne!(a.events, b.events);
    }

    #[test]
    fn event_volume_changes_only_events() {
        let a = generate_frames(&params(300, 12, 9, 0.3)).unwrap();
        let b = generate_frames(&params(300, 12, 9, 0.6)).unwrap();
        assert_eq!(a.subscriptions, b.subscriptions);
        assert_eq!(a.tickets, b.tickets);
        let ratio = b.events.height() as f64 / a.events.height() as f64;
        assert!((1.8..2.2).contains(&ratio), "{ratio}");
    }

    /// One 2,000-account run (the demo's size and seed) checked for both
    /// monthly rates, so the frames are generated once.
    #[test]
    fn monthly_churn_and_upgrade_rates_in_range() {
        let p = params(2_000, 24, 42, 0.01);
        let f = generate_frames(&p).unwrap();
        let m = measure(&f.subscriptions, p.start(), p.end());
        let churn = m.churns as f64 / m.active as f64;
        assert!(
            (0.02..=0.03).contains(&churn),
            "measured monthly churn {churn:.4}"
        );
        // The files carry the truth the summary reports (exposure differs
        // only for accounts starting on a month's first day).
        assert_eq!(m.churns, f.summary.churns);
        assert!((f.summary.monthly_churn_rate() - churn).abs() < 0.002);
        let upgrades = m.upgrades as f64 / m.active as f64;
        assert!(
            (0.01..=0.02).contains(&upgrades),
            "measured monthly upgrades {upgrades:.4}"
        );
        assert_eq!(m.upgrades, f.summary.upgrades);
    }

    #[test]
    fn mrr_never_negative_and_end_after_start() {
        let p = params(1_000, 36, 5, 0.05);
        let f = generate_frames(&p).unwrap();
        let s = &f.subscriptions;
        let mrr = s.column("mrr").unwrap().f64().unwrap();
        assert!(mrr.into_no_null_iter().all(|m| m > 0.0));
        let seats = s.column("seats").unwrap().i64().unwrap();
        assert!(seats.into_no_null_iter().all(|n| n >= 0));
        for (st, en) in days(s, "start_date").into_iter().zip(days(s, "end_date")) {
            let st = st.unwrap();
            assert!(st <= p.end());
            if let Some(en) = en {
                assert!(en > st && en <= p.end(), "{st} {en}");
            }
        }
        let counts = f.events.column("count").unwrap().i64().unwrap();
        assert!(counts.into_no_null_iter().all(|c| c >= 1));
        let ts = f.events.column("timestamp").unwrap().datetime().unwrap();
        let (lo, hi) = (
            p.start() as i64 * 86_400_000,
            (p.end() as i64 + 1) * 86_400_000,
        );
        assert!(ts.physical().into_no_null_iter().all(|t| t >= lo && t < hi));
        let csat = f.tickets.column("csat").unwrap().i64().unwrap();
        assert!(csat.iter().flatten().all(|c| (1..=5).contains(&c)));
        assert!(csat.null_count() > 0, "csat is often empty");
        let sentiment = f.tickets.column("sentiment").unwrap().f64().unwrap();
        assert!(sentiment
            .into_no_null_iter()
            .all(|x| (-1.0..=1.0).contains(&x)));
        let score = f.surveys.column("score").unwrap().i64().unwrap();
        assert!(score.into_no_null_iter().all(|x| (0..=10).contains(&x)));
    }

    #[test]
    fn ids_unique() {
        let f = generate_frames(&params(1_500, 12, 3, 0.05)).unwrap();
        let ids = strs(&f.accounts, "account_id");
        let set: std::collections::HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(set.len(), ids.len());
        assert_eq!(ids[0], "A-000001");
        for table in [&f.subscriptions, &f.events, &f.tickets, &f.surveys] {
            assert!(strs(table, "account_id").iter().all(|id| set.contains(id)));
        }
        let users = strs(&f.events, "user_id");
        for (acc, user) in strs(&f.events, "account_id").iter().zip(users) {
            assert_eq!(&user[2..8], &acc[2..], "{user} belongs to {acc}");
        }
    }

    #[test]
    fn files_do_not_depend_on_chunking_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = SynthParams {
            accounts: 200,
            months: 6,
            seed: 1,
            ..SynthParams::default()
        };
        let mut bytes = Vec::new();
        for (i, chunk) in [7, 10_000].into_iter().enumerate() {
            p.chunk_accounts = chunk;
            let out = dir.path().join(format!("run{i}"));
            generate_to_dir(&p.check().unwrap(), &out, SynthFormat::Mixed).unwrap();
            let files: Vec<Vec<u8>> = [
                "accounts.csv",
                "subscriptions.csv",
                "events.parquet",
                "tickets.csv",
                "surveys.csv",
            ]
            .iter()
            .map(|f| std::fs::read(out.join(f)).unwrap())
            .collect();
            bytes.push(files);
        }
        assert_eq!(bytes[0], bytes[1]);
        let frames = generate_frames(&p.check().unwrap()).unwrap();
        let events =
            ParquetReader::new(File::open(dir.path().join("run0/events.parquet")).unwrap())
                .finish()
                .unwrap();
        assert_eq!(events, frames.events);
        assert_eq!(
            events.column("timestamp").unwrap().dtype(),
            &DataType::Datetime(TimeUnit::Milliseconds, Some(TimeZone::UTC))
        );
    }

    #[test]
    fn rewriting_in_another_format_leaves_one_file_per_table() {
        let dir = tempfile::tempdir().unwrap();
        let p = SynthParams {
            accounts: 20,
            months: 2,
            ..SynthParams::default()
        }
        .check()
        .unwrap();
        generate_to_dir(&p, dir.path(), SynthFormat::Csv).unwrap();
        generate_to_dir(&p, dir.path(), SynthFormat::Mixed).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "accounts.csv",
                "events.parquet",
                "subscriptions.csv",
                "surveys.csv",
                "tickets.csv"
            ]
        );
    }

    #[test]
    fn csv_timestamps_are_rfc3339() {
        let dir = tempfile::tempdir().unwrap();
        let p = SynthParams {
            accounts: 20,
            months: 2,
            ..SynthParams::default()
        }
        .check()
        .unwrap();
        let s = generate_to_dir(&p, dir.path(), SynthFormat::Csv).unwrap();
        let text = std::fs::read_to_string(dir.path().join("events.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("account_id,timestamp,event,user_id,count")
        );
        assert_eq!(lines.clone().count(), s.events);
        for line in lines {
            let ts = line.split(',').nth(1).unwrap();
            assert!(
                ts.len() == 20 && ts.ends_with(":00Z") && dates::parse_day(ts).is_some(),
                "{ts}"
            );
        }
    }
}
