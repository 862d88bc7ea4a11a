//! The risk queue a success manager reads: one row per active account,
//! its scores, tiers, segment, survival, the reasons behind each score in
//! plain words, and a suggested play. Builds rows; `score` decides which.

use std::fmt::Write as _;

use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::push_thousands;

/// One account in the queue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub rank: u32,
    pub account_id: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub as_of: String,
    pub mrr: f64,
    /// NaN (an empty cell in the queue files) when the bundle has no churn
    /// model (a single-class history; the manifest says why); likewise the
    /// tier (empty) and `arr_at_risk`.
    pub churn_risk: f64,
    pub risk_tier: String,
    /// churn_risk x mrr x 12.
    pub arr_at_risk: f64,
    /// NaN / empty without an upgrade model, as above.
    pub upgrade_propensity: f64,
    pub upgrade_tier: String,
    pub rfm_code: String,
    pub segment: String,
    pub survival_90d: f64,
    pub expected_days_remaining: f64,
    pub churn_drivers: String,
    pub upgrade_drivers: String,
    pub suggested_play: String,
    pub model_version: String,
    /// Days since the first paid day of the current paid period (a return
    /// after churn starts a new lifetime): the t at which `survival_90d` and
    /// `expected_days_remaining` read the survival curve. Not a queue
    /// column; the HTML report marks it on the account's curve.
    pub tenure_days: f64,
    /// Level of the bundle's queue stratifier (the plan) whose curve gave
    /// `survival_90d`; `None` or a level without a curve means the overall
    /// curve (`SurvivalModel::stratum_index`). Not a queue column, as above.
    pub survival_level: Option<String>,
    /// θ of the account's own curve `S₀^θ` on that baseline (NaN: the
    /// constant-hazard curve; see `models::lifetime`). Not a queue column;
    /// the report draws the account's curve from it.
    pub hazard_ratio: f64,
    /// The tenure that curve was read at: `tenure_days`, or the oldest the
    /// curve supports for older accounts. Not a queue column.
    pub curve_tenure: f64,
    /// The previous run's churn risk for this account (NaN, an empty cell:
    /// no previous run, not queued then, or no churn model then); see
    /// `movers`. Likewise `churn_risk_change` (now minus then).
    pub prev_churn_risk: f64,
    pub churn_risk_change: f64,
    /// The previous run's tier (empty: as above).
    pub prev_risk_tier: String,
    /// `None` (empty) without a previous run, or when a tier is unknown
    /// on one side.
    pub movement: Option<crate::movers::Movement>,
}

/// The play for an account, by the first rule that matches (README):
/// 1. churn tier high -> `save`; 2. upgrade tier high -> `expand`;
/// 3. churn tier medium -> `check-in`; 4. upgrade tier medium -> `nurture`;
/// 5. otherwise `monitor`.
pub fn suggested_play(risk_tier: &str, upgrade_tier: &str) -> &'static str {
    match (risk_tier, upgrade_tier) {
        ("high", _) => "save",
        (_, "high") => "expand",
        ("medium", _) => "check-in",
        (_, "medium") => "nurture",
        _ => "monitor",
    }
}

fn money(x: f64) -> String {
    let mut out = String::new();
    push_money(&mut out, x);
    out
}

/// `x` rounded to whole units with thousands separators, appended to `out`
/// (driver texts are written into one buffer per account).
fn push_money(out: &mut String, x: f64) {
    if x < 0.0 {
        out.push('-');
    }
    push_thousands(out, x.abs().round() as usize);
}

/// `n` rounded, then the word for that many ("1 seat", "3 seats").
fn push_plural(out: &mut String, n: f64, one: &str, many: &str) {
    let n = n.round();
    push_money(out, n);
    out.push(' ');
    out.push_str(if n == 1.0 { one } else { many });
}

/// What a group of model outputs says about an account. A reason is a
/// statement about the account's own value, so outputs that describe one
/// value speak as one: a numeric feature with its `_missing` flag, the
/// three event-volume features (one sentence compares the two windows), and
/// all indicators of one categorical attribute (one-hot levels).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A numeric feature and its missing flag: the value, or that it is missing.
    Value(String),
    /// `events_30d`, `events_prev_30d`, `events_trend`.
    Events,
    /// Every `<attribute>=<level>` indicator: the account's own level.
    Attribute(String),
}

impl Subject {
    /// The subject a model output speaks for.
    pub fn of_output(name: &str) -> Subject {
        let base = name.strip_suffix("_missing").unwrap_or(name);
        if let Some((attr, _)) = base.split_once('=') {
            Subject::Attribute(attr.to_string())
        } else if matches!(base, "events_30d" | "events_prev_30d" | "events_trend") {
            Subject::Events
        } else {
            Subject::Value(base.to_string())
        }
    }
}

/// A model's outputs grouped into [`Subject`]s, built once per run.
///
/// # Why groups, and why this is the truth about the account
///
/// A linear model's log-odds split exactly into per-output contributions
/// `coefficient × (x − training mean) / sd` (the Shapley values of a linear
/// model, since every output is centred on its training mean). A one-hot
/// level the account does *not* have still contributes (its 0 sits below the
/// mean), and so does a missing flag that is 0; read alone, such a term
/// would be printed as "segment is Enterprise" for an SMB account or "no NPS
/// answer yet" for one that answered. Summed over its group, the terms are
/// the Shapley value of the whole attribute (or value and flag): how much
/// *having this level*, or *this value or its absence*, moves the score
/// against the average training row. The sentence then names the account's
/// own level or value, which is true by construction.
///
/// Suppressors (outputs whose coefficient runs against their own
/// association with the label) count in the score but never as a reason:
/// their terms are left out of the group sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Reasons {
    subjects: Vec<Subject>,
    /// Per model output: its subject, `None` when silent (a suppressor).
    group: Vec<Option<usize>>,
}

impl Reasons {
    /// Groups the model outputs `names`; `silent[i]` marks suppressors.
    pub fn new(names: &[String], silent: &[bool]) -> Reasons {
        let mut subjects: Vec<Subject> = Vec::new();
        let group = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                if silent.get(i).copied().unwrap_or(false) {
                    return None;
                }
                let s = Subject::of_output(n);
                Some(match subjects.iter().position(|x| *x == s) {
                    Some(g) => g,
                    None => {
                        subjects.push(s);
                        subjects.len() - 1
                    }
                })
            })
            .collect();
        Reasons { subjects, group }
    }

    /// The `n` subjects whose contributions push this account's score up
    /// the most, as sentences joined by "; ". `contributions` are the
    /// model's log-odds by output index; `say` appends a subject in words
    /// from the account's own values to the buffer it is given and returns
    /// whether it had anything true to say (`false`: skipped, whatever it
    /// wrote is taken back). Ties go to the earlier subject; a sentence is
    /// given once.
    ///
    /// Sentences are written straight into the returned string: at a
    /// million accounts and two models, a `String` per candidate sentence
    /// and a vector to join them were most of the drivers' cost.
    pub fn top(
        &self,
        contributions: &[f64],
        n: usize,
        say: &dyn Fn(&Subject, &mut String) -> bool,
    ) -> String {
        let mut sums = vec![0.0; self.subjects.len()];
        for (i, &c) in contributions.iter().enumerate() {
            if let Some(Some(g)) = self.group.get(i) {
                sums[*g] += c;
            }
        }
        // Groups are taken largest first (earlier on ties, a total order),
        // until `n` sentences are found. One pass over the groups finds the
        // next few in that order (most rows need one pass for three
        // sentences); another pass follows only when some said nothing or
        // repeated one given. Collecting or sorting the groups per row was
        // a fifth of the drivers' cost. Only groups that push the score up
        // (sum > 0, never NaN) take part.
        const BATCH: usize = 4;
        let ahead = |a: usize, b: usize| sums[a] > sums[b] || (sums[a] == sums[b] && a < b);
        let mut out = String::new();
        // Where each sentence given sits in `out`, to give none twice.
        let mut given: Vec<(usize, usize)> = Vec::new();
        // The last group tried: the next pass looks only behind it.
        let mut last: Option<usize> = None;
        'passes: while given.len() < n {
            let mut batch = [0usize; BATCH];
            let mut len = 0;
            for (g, &v) in sums.iter().enumerate() {
                if v.is_nan() || v <= 0.0 || last.is_some_and(|l| !ahead(l, g)) {
                    continue;
                }
                let mut at = len;
                while at > 0 && ahead(g, batch[at - 1]) {
                    at -= 1;
                }
                if at == BATCH {
                    continue;
                }
                let end = len.min(BATCH - 1);
                batch.copy_within(at..end, at + 1);
                batch[at] = g;
                len = (len + 1).min(BATCH);
            }
            for &g in &batch[..len] {
                if given.len() == n {
                    break 'passes;
                }
                last = Some(g);
                let before = out.len();
                if !given.is_empty() {
                    out.push_str("; ");
                }
                let at = out.len();
                let said = say(&self.subjects[g], &mut out);
                if said && !given.iter().any(|&(a, b)| out[a..b] == out[at..]) {
                    given.push((at, out.len()));
                } else {
                    out.truncate(before);
                }
            }
            if len < BATCH {
                break;
            }
        }
        out
    }
}

/// A subject in words from the account's own values, appended to `out`:
/// `value(name)` reads a feature of the account's row (NaN = missing),
/// `attribute(name)` its categorical value on the as-of date. `false` when
/// there is nothing true to say (`out` may then hold a partial sentence
/// for the caller to take back, as [`Reasons::top`] does). Every sentence
/// is decided by the same value it states, so it is true of the account it
/// is printed on (`tests/it/truth.rs` re-derives each one from the raw
/// tables).
pub fn say<'v>(
    subject: &Subject,
    value: &dyn Fn(&str) -> Option<f64>,
    attribute: &dyn Fn(&str) -> Option<&'v str>,
    out: &mut String,
) -> bool {
    match subject {
        Subject::Attribute(attr) => {
            out.push_str(attr);
            match attribute(attr) {
                Some(v) => {
                    out.push_str(" is ");
                    out.push_str(v);
                }
                None => out.push_str(" not recorded"),
            }
            true
        }
        Subject::Events => describe("events_30d", value, out),
        Subject::Value(name) => match value(name) {
            Some(v) if v.is_nan() => missing(name, value, out),
            Some(_) => describe(name, value, out),
            None => false,
        },
    }
}

/// What a missing value means, in words true of the account (as [`say`]).
fn missing(feature: &str, value: &dyn Fn(&str) -> Option<f64>, out: &mut String) -> bool {
    let text = match feature {
        "last_nps" => "no NPS answer yet",
        "mean_csat_90d" => "no rated tickets in 90 days",
        "mean_sentiment_90d" => "no ticket sentiment in 90 days",
        "days_since_last_ticket" => "never opened a ticket",
        "seats" => "seat count unknown",
        // Utilization is missing when the seat count is unknown or zero.
        "seat_utilization" => match value("seats") {
            Some(s) if s.is_nan() => "seat count unknown",
            Some(s) => {
                push_plural(out, s, "seat", "seats");
                return true;
            }
            None => return false,
        },
        _ => return false,
    };
    out.push_str(text);
    true
}

/// A present numeric feature in words with the account's own values,
/// appended to `out`; `value(name)` reads another feature of the same row.
/// `false` for features with no phrase or values that say nothing true
/// (`out` may then hold a partial sentence, as [`say`]).
pub fn describe(feature: &str, value: &dyn Fn(&str) -> Option<f64>, out: &mut String) -> bool {
    let Some(v) = value(feature) else {
        return false;
    };
    if v.is_nan() {
        return false;
    }
    // `write!` into a `String` cannot fail.
    match feature {
        "events_30d" | "events_prev_30d" | "events_trend" => {
            let (Some(now), Some(prev)) = (value("events_30d"), value("events_prev_30d")) else {
                return false;
            };
            if prev == 0.0 && now == 0.0 {
                out.push_str("no events in 60 days");
            } else if prev == 0.0 {
                push_money(out, now);
                out.push_str(" events in 30 days, none in the 30 before");
            } else {
                if now == prev {
                    out.push_str("events flat vs prior 30 days (");
                } else {
                    let pct = (now - prev) / prev * 100.0;
                    let dir = if pct < 0.0 { "down" } else { "up" };
                    let _ = write!(out, "events {dir} {:.0}% vs prior 30 days (", pct.abs());
                }
                push_money(out, now);
                out.push_str(" vs ");
                push_money(out, prev);
                out.push(')');
            }
        }
        "recency_days" => {
            // Recency counts from `created_at` when there is no event at
            // all; 0 then means "created today", not "active today".
            let any_event = value("active_days_90d").is_some_and(|d| d > 0.0);
            match (v == 0.0, any_event) {
                (true, true) => out.push_str("active today"),
                (true, false) => return false,
                _ => {
                    out.push_str("no activity for ");
                    push_plural(out, v, "day", "days");
                }
            }
        }
        "active_days_30d" => {
            let _ = write!(out, "active on {} of the last 30 days", v as i64);
        }
        "active_days_90d" => {
            let _ = write!(out, "active on {} of the last 90 days", v as i64);
        }
        "active_users_30d" => {
            push_plural(out, v, "active user", "active users");
            out.push_str(" in 30 days");
        }
        "seat_utilization" => match value("seats") {
            Some(s) if s > 0.0 => {
                let _ = write!(out, "{:.0}% of ", v * 100.0);
                push_plural(out, s, "seat", "seats");
                out.push_str(" in use");
            }
            _ => return false,
        },
        "seats" => push_plural(out, v, "seat", "seats"),
        "distinct_event_types_30d" => {
            push_plural(out, v, "event type", "event types");
            out.push_str(" used in 30 days");
        }
        "tickets_90d" => {
            push_plural(out, v, "ticket", "tickets");
            out.push_str(" in 90 days");
        }
        "high_priority_tickets_90d" => {
            push_plural(out, v, "high/urgent ticket", "high/urgent tickets");
            out.push_str(" in 90 days");
        }
        "mean_csat_90d" => {
            let _ = write!(out, "mean CSAT {v:.1} over 90 days");
        }
        "mean_sentiment_90d" => {
            let _ = write!(out, "ticket sentiment {v:+.2} over 90 days");
        }
        "days_since_last_ticket" => {
            out.push_str("last ticket ");
            push_plural(out, v, "day", "days");
            out.push_str(" ago");
        }
        "last_nps" => {
            let _ = write!(out, "last NPS {}", v as i64);
        }
        "mrr" => {
            out.push_str("MRR ");
            push_money(out, v);
        }
        "mrr_change_90d" => {
            // MRR sums billing lines; two sets of lines with the same total
            // can differ in the last bits, which is no change at all.
            if v.abs() < 1e-6 {
                out.push_str("MRR flat over 90 days");
            } else {
                out.push_str(if v < 0.0 { "MRR down " } else { "MRR up " });
                push_money(out, v.abs());
                out.push_str(" over 90 days");
            }
        }
        "tenure_days" => {
            out.push_str("customer for ");
            push_plural(out, v, "day", "days");
        }
        f => match f
            .strip_prefix("event_")
            .and_then(|x| x.strip_suffix("_30d"))
        {
            Some(t) => {
                push_money(out, v);
                out.push(' ');
                out.push_str(t);
                out.push_str(" events in 30 days");
            }
            None => return false,
        },
    }
    true
}

/// The queue as a table, columns in the documented order; `name` and
/// `owner` only when the data has them. `as_of` is a date (Parquet keeps it
/// typed; see [`with_text_dates`] for the text formats).
pub fn to_frame(rows: &[QueueRow], with_name: bool, with_owner: bool) -> PolarsResult<DataFrame> {
    // Each column is built on its own, all at once: copying a million
    // rows' texts into polars' buffers was a second or more of one core
    // while the other waited.
    type Build<'r> = Box<dyn Fn() -> PolarsResult<Column> + Send + Sync + 'r>;
    // Text columns borrow the rows' strings: polars copies them once into
    // its own buffers, with no per-row `String` in between.
    let s = |name: &'static str, f: fn(&QueueRow) -> &str| -> Build<'_> {
        Box::new(move || {
            Ok(Column::new(
                name.into(),
                rows.iter().map(f).collect::<Vec<&str>>(),
            ))
        })
    };
    let x = |name: &'static str, f: fn(&QueueRow) -> f64| -> Build<'_> {
        Box::new(move || {
            Ok(Column::new(
                name.into(),
                rows.iter().map(f).collect::<Vec<_>>(),
            ))
        })
    };
    // A model the bundle does not have leaves its columns empty (null).
    let ox = |name: &'static str, f: fn(&QueueRow) -> f64| -> Build<'_> {
        Box::new(move || {
            Ok(Column::new(
                name.into(),
                rows.iter()
                    .map(|r| Some(f(r)).filter(|v| !v.is_nan()))
                    .collect::<Vec<_>>(),
            ))
        })
    };
    let os = |name: &'static str, f: fn(&QueueRow) -> &str| -> Build<'_> {
        Box::new(move || {
            Ok(Column::new(
                name.into(),
                rows.iter()
                    .map(|r| Some(f(r)).filter(|v| !v.is_empty()))
                    .collect::<Vec<_>>(),
            ))
        })
    };
    let mut cols: Vec<Build<'_>> = vec![
        Box::new(|| {
            Ok(Column::new(
                "rank".into(),
                rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
            ))
        }),
        s("account_id", |r| &r.account_id),
    ];
    if with_name {
        cols.push(Box::new(|| {
            Ok(Column::new(
                "name".into(),
                rows.iter().map(|r| r.name.as_deref()).collect::<Vec<_>>(),
            ))
        }));
    }
    if with_owner {
        cols.push(Box::new(|| {
            Ok(Column::new(
                "owner".into(),
                rows.iter().map(|r| r.owner.as_deref()).collect::<Vec<_>>(),
            ))
        }));
    }
    cols.extend([
        Box::new(|| Column::new("as_of".into(), days(rows)).cast(&DataType::Date)) as Build<'_>,
        x("mrr", |r| r.mrr),
        ox("churn_risk", |r| r.churn_risk),
        os("risk_tier", |r| &r.risk_tier),
        ox("arr_at_risk", |r| r.arr_at_risk),
        ox("upgrade_propensity", |r| r.upgrade_propensity),
        os("upgrade_tier", |r| &r.upgrade_tier),
        s("rfm_code", |r| &r.rfm_code),
        s("segment", |r| &r.segment),
        x("survival_90d", |r| r.survival_90d),
        x("expected_days_remaining", |r| r.expected_days_remaining),
        s("churn_drivers", |r| &r.churn_drivers),
        s("upgrade_drivers", |r| &r.upgrade_drivers),
        s("suggested_play", |r| &r.suggested_play),
        s("model_version", |r| &r.model_version),
        ox("prev_churn_risk", |r| r.prev_churn_risk),
        ox("churn_risk_change", |r| r.churn_risk_change),
        os("prev_risk_tier", |r| &r.prev_risk_tier),
        Box::new(|| {
            Ok(Column::new(
                "movement".into(),
                rows.iter()
                    .map(|r| r.movement.map(|m| m.as_str()))
                    .collect::<Vec<_>>(),
            ))
        }),
    ]);
    let cols = cols
        .into_par_iter()
        .map(|build| build())
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new_infer_height(cols)
}

/// Each row's `as_of` as a day number. A queue's rows share one date, so
/// the text is parsed again only where it differs from the row before
/// (a million parses were a fifth of building the frame).
fn days(rows: &[QueueRow]) -> Vec<Option<i32>> {
    let mut last: Option<(&str, Option<i32>)> = None;
    rows.iter()
        .map(|r| match last {
            Some((text, day)) if text == r.as_of => day,
            _ => {
                let day = crate::dates::parse_day(&r.as_of);
                last = Some((&r.as_of, day));
                day
            }
        })
        .collect()
}

/// The queue with its date columns as `YYYY-MM-DD` text, as CSV and JSON
/// write them (a reader of those formats sees the same text as before
/// dates were typed).
pub fn with_text_dates(df: &DataFrame) -> PolarsResult<DataFrame> {
    let cols = df
        .columns()
        .iter()
        .map(|c| match c.dtype() {
            DataType::Date => date_text(c),
            _ => Ok(c.clone()),
        })
        .collect::<PolarsResult<Vec<_>>>()?;
    DataFrame::new_infer_height(cols)
}

/// A date column as polars' own cast to text writes it, with each distinct
/// date formatted once: a queue's rows share one date, and formatting it a
/// million times with chrono's strftime was some 0.15 s on the main thread
/// before the files could start. The distinct dates go through the same
/// cast, so the text is the cast's to the byte.
fn date_text(c: &Column) -> PolarsResult<Column> {
    let days = c.as_materialized_series().date()?.physical().clone();
    // Position of each distinct date in `distinct`, in order of appearance.
    let mut distinct: Vec<i32> = Vec::new();
    let mut slot = std::collections::HashMap::<i32, usize>::new();
    let mut last: Option<(i32, usize)> = None;
    let at: Vec<Option<usize>> = days
        .iter()
        .map(|d| {
            let d = d?;
            Some(match last {
                Some((v, k)) if v == d => k,
                _ => {
                    let k = *slot.entry(d).or_insert_with(|| {
                        distinct.push(d);
                        distinct.len() - 1
                    });
                    last = Some((d, k));
                    k
                }
            })
        })
        .collect();
    let texts = Column::new(c.name().clone(), distinct)
        .cast(&DataType::Date)?
        .cast(&DataType::String)?;
    let texts = texts.str()?;
    let texts: Vec<Option<&str>> = texts.iter().collect();
    Ok(Column::new(
        c.name().clone(),
        at.iter()
            .map(|k| k.and_then(|k| texts[k]))
            .collect::<Vec<Option<&str>>>(),
    ))
}

/// The top `n` rows as a fixed-width table for a terminal.
pub fn render_top(rows: &[QueueRow], n: usize) -> String {
    let mut s = format!(
        "{:>4}  {:<12} {:<22} {:>9} {:>6} {:<6} {:>11} {:>7} {:<16} {:<9} {}\n",
        "rank",
        "account",
        "name",
        "mrr",
        "churn",
        "tier",
        "arr_at_risk",
        "upgrade",
        "segment",
        "play",
        "top churn driver"
    );
    // A model the bundle lacks prints as a dash, not NaN.
    let num = |x: f64, w: usize| {
        if x.is_nan() {
            format!("{:>w$}", "–")
        } else {
            format!("{x:>w$.3}")
        }
    };
    let ok_money = |x: f64| {
        if x.is_nan() {
            "–".to_string()
        } else {
            money(x)
        }
    };
    for r in rows.iter().take(n) {
        let name: String = r.name.as_deref().unwrap_or("").chars().take(22).collect();
        let driver = r.churn_drivers.split("; ").next().unwrap_or("");
        s.push_str(&format!(
            "{:>4}  {:<12} {:<22} {:>9} {} {:<6} {:>11} {} {:<16} {:<9} {}\n",
            r.rank,
            r.account_id,
            name,
            money(r.mrr),
            num(r.churn_risk, 6),
            r.risk_tier,
            ok_money(r.arr_at_risk),
            num(r.upgrade_propensity, 7),
            r.segment,
            r.suggested_play,
            driver
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_dates_are_polars_cast_to_the_byte() {
        // Repeats, runs, nulls, a date before 1970 and years outside
        // 0..=9999, whose text chrono writes its own way.
        let days = [
            Some(20_453),
            Some(20_453),
            None,
            Some(-1),
            Some(20_453),
            Some(3_000_000),
            Some(-800_000),
            None,
            Some(-1),
        ];
        let date = Column::new("as_of".into(), days.to_vec())
            .cast(&DataType::Date)
            .unwrap();
        let df = DataFrame::new_infer_height(vec![
            Column::new("n".into(), (0..days.len() as i32).collect::<Vec<_>>()),
            date.clone(),
        ])
        .unwrap();
        let got = with_text_dates(&df).unwrap();
        let want = date.cast(&DataType::String).unwrap();
        assert_eq!(got.column("as_of").unwrap(), &want);
        assert_eq!(got.column("n").unwrap(), df.column("n").unwrap());
        let texts: Vec<Option<&str>> = want.str().unwrap().iter().collect();
        assert_eq!(texts[0], Some("2025-12-31"));
        assert_eq!(texts[2], None);
    }

    fn values<'a>(pairs: &'a [(&'a str, f64)]) -> impl Fn(&str) -> Option<f64> + 'a {
        move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    }

    /// What a writer appended to an empty buffer, `None` when it said no.
    fn text(write: impl FnOnce(&mut String) -> bool) -> Option<String> {
        let mut out = String::new();
        write(&mut out).then_some(out)
    }

    /// `describe` as a value, for the assertions below.
    fn described(feature: &str, value: &dyn Fn(&str) -> Option<f64>) -> Option<String> {
        text(|out| describe(feature, value, out))
    }

    /// A `say` for [`Reasons::top`] from one that returns its sentence;
    /// when it has nothing to say it leaves half a sentence behind, which
    /// `top` must take back.
    fn writer(say: impl Fn(&Subject) -> Option<String>) -> impl Fn(&Subject, &mut String) -> bool {
        move |s, out| match say(s) {
            Some(p) => {
                out.push_str(&p);
                true
            }
            None => {
                out.push_str("half a sent");
                false
            }
        }
    }

    #[test]
    fn events_trend_reads_as_a_percentage_of_the_prior_window() {
        let v = values(&[
            ("events_30d", 36.0),
            ("events_prev_30d", 100.0),
            ("events_trend", -1.0),
        ]);
        assert_eq!(
            described("events_trend", &v).unwrap(),
            "events down 64% vs prior 30 days (36 vs 100)"
        );
    }

    #[test]
    fn tickets_and_seats_read_in_words() {
        let v = values(&[
            ("high_priority_tickets_90d", 3.0),
            ("seats", 10.0),
            ("seat_utilization", 0.9),
        ]);
        assert_eq!(
            described("high_priority_tickets_90d", &v).unwrap(),
            "3 high/urgent tickets in 90 days"
        );
        assert_eq!(
            described("seat_utilization", &v).unwrap(),
            "90% of 10 seats in use"
        );
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    fn no_attributes(_: &str) -> Option<&'static str> {
        None
    }

    /// Picking the largest group one at a time gives the order a full sort
    /// of the groups gave (the code before), ties and duplicates included.
    #[test]
    fn drivers_are_picked_in_the_sorted_order() {
        let reference =
            |rs: &Reasons, c: &[f64], n: usize, say: &dyn Fn(&Subject) -> Option<String>| {
                let mut sums = vec![0.0; rs.subjects.len()];
                for (i, &c) in c.iter().enumerate() {
                    if let Some(Some(g)) = rs.group.get(i) {
                        sums[*g] += c;
                    }
                }
                let mut order: Vec<usize> = (0..sums.len()).filter(|&g| sums[g] > 0.0).collect();
                order.sort_by(|&a, &b| sums[b].total_cmp(&sums[a]).then(a.cmp(&b)));
                let mut out: Vec<String> = Vec::new();
                for g in order {
                    if out.len() == n {
                        break;
                    }
                    if let Some(p) = say(&rs.subjects[g]) {
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
                out.join("; ")
            };
        let names: Vec<String> = (0..24).map(|i| format!("f{i}")).collect();
        let rs = Reasons::new(&names, &[]);
        // Some subjects say nothing, some say the same as another.
        let say = |s: &Subject| match s {
            Subject::Value(v) if v.ends_with('3') => None,
            Subject::Value(v) => Some(format!("about {}", &v[..v.len().min(2)])),
            _ => Some("other".to_string()),
        };
        let mut rng = crate::testutil::Lcg::new(5);
        for _ in 0..500 {
            let c: Vec<f64> = (0..names.len())
                .map(|_| {
                    // Few distinct values, so ties are common.
                    ((rng.step() >> 60) as f64 - 6.0) * 0.25
                })
                .collect();
            for n in [0, 1, 3, 30] {
                assert_eq!(
                    rs.top(&c, n, &writer(say)),
                    reference(&rs, &c, n, &say),
                    "{c:?} {n}"
                );
            }
        }
    }

    #[test]
    fn drivers_keep_the_strongest_positive_distinct_phrases() {
        let names = names(&[
            "events_30d",
            "events_trend",
            "recency_days",
            "mrr",
            "tickets_90d",
            "active_days_90d",
        ]);
        let v = values(&[
            ("events_30d", 1.0),
            ("events_prev_30d", 4.0),
            ("events_trend", -0.9),
            ("recency_days", 12.0),
            ("mrr", 99.0),
            ("tickets_90d", 2.0),
            ("active_days_90d", 5.0),
        ]);
        let say = |s: &Subject, out: &mut String| say(s, &v, &no_attributes, out);
        let c = [0.5, 0.9, 0.3, -2.0, 0.1, -0.1];
        assert_eq!(
            Reasons::new(&names, &[]).top(&c, 3, &say),
            "events down 75% vs prior 30 days (1 vs 4); no activity for 12 days; 2 tickets in 90 days"
        );
        // Suppressors still count in the score but are never named.
        let silent = [true, true, false, false, false, false];
        assert_eq!(
            Reasons::new(&names, &silent).top(&c, 3, &say),
            "no activity for 12 days; 2 tickets in 90 days"
        );
    }

    #[test]
    fn a_level_the_account_lacks_never_speaks_for_it() {
        // An SMB account: the Enterprise indicator is 0 and, with a negative
        // coefficient, contributes +0.4. Summed over the attribute, SMB
        // pushes the score up by 0.4 + 0.3 − 0.2 = 0.5, and the sentence
        // names the account's own level.
        let names = names(&["segment=SMB", "segment=Enterprise", "segment=other"]);
        let v = values(&[]);
        let attr = |a: &str| (a == "segment").then_some("SMB");
        let say = |s: &Subject, out: &mut String| say(s, &v, &attr, out);
        let c = [0.3, 0.4, -0.2];
        assert_eq!(Reasons::new(&names, &[]).top(&c, 3, &say), "segment is SMB");
        // Summing to a pull downwards, the attribute is no reason at all.
        let c = [-0.5, 0.4, -0.2];
        assert_eq!(Reasons::new(&names, &[]).top(&c, 3, &say), "");
        let none = |_: &str| None;
        let say = |s: &Subject, out: &mut String| super::say(s, &v, &none, out);
        let c = [0.3, 0.4, -0.2];
        assert_eq!(
            Reasons::new(&names, &[]).top(&c, 3, &say),
            "segment not recorded"
        );
    }

    #[test]
    fn a_missing_flag_speaks_only_when_the_value_is_missing() {
        let names = names(&[
            "last_nps",
            "mean_sentiment_90d",
            "last_nps_missing",
            "mean_sentiment_90d_missing",
        ]);
        // NPS answered (6): its flag's 0 contributes +0.3 but the sentence
        // is about the answer; sentiment missing: the flag speaks.
        let v = values(&[("last_nps", 6.0), ("mean_sentiment_90d", f64::NAN)]);
        let say = |s: &Subject, out: &mut String| say(s, &v, &no_attributes, out);
        let c = [0.1, 0.0, 0.3, 0.2];
        assert_eq!(
            Reasons::new(&names, &[]).top(&c, 3, &say),
            "last NPS 6; no ticket sentiment in 90 days"
        );
    }

    #[test]
    fn missing_values_read_as_what_is_missing() {
        let v = values(&[("seats", f64::NAN), ("seat_utilization", f64::NAN)]);
        let s = |n: &str| text(|out| say(&Subject::Value(n.into()), &v, &no_attributes, out));
        assert_eq!(s("seats").unwrap(), "seat count unknown");
        assert_eq!(s("seat_utilization").unwrap(), "seat count unknown");
        let v = values(&[("seats", 0.0), ("seat_utilization", f64::NAN)]);
        let s = |n: &str| text(|out| say(&Subject::Value(n.into()), &v, &no_attributes, out));
        assert_eq!(s("seat_utilization").unwrap(), "0 seats");
    }

    #[test]
    fn recency_zero_without_events_is_not_activity() {
        let v = values(&[("recency_days", 0.0), ("active_days_90d", 0.0)]);
        assert_eq!(described("recency_days", &v), None);
        let v = values(&[("recency_days", 0.0), ("active_days_90d", 1.0)]);
        assert_eq!(described("recency_days", &v).unwrap(), "active today");
        let v = values(&[("events_30d", 7.0), ("events_prev_30d", 7.0)]);
        assert_eq!(
            described("events_30d", &v).unwrap(),
            "events flat vs prior 30 days (7 vs 7)"
        );
    }

    #[test]
    fn as_of_days_match_a_parse_of_every_row() {
        let row = |d: &str| QueueRow {
            as_of: d.to_string(),
            ..Default::default()
        };
        let rows = [
            row("2025-01-02"),
            row("2025-01-02"),
            row("2025-03-04"),
            row("not a day"),
            row("2025-01-02"),
        ];
        let want: Vec<Option<i32>> = rows
            .iter()
            .map(|r| crate::dates::parse_day(&r.as_of))
            .collect();
        assert!(want[0] != want[2] && want[3].is_none(), "{want:?}");
        assert_eq!(days(&rows), want);
    }

    /// The frame's text columns hold each row's text, empty tiers and
    /// missing names or owners as nulls, over texts both shorter and
    /// longer than polars keeps inline in a view (12 bytes).
    #[test]
    fn frame_texts_match_the_rows() {
        let rows: Vec<QueueRow> = (0..53)
            .map(|i| QueueRow {
                rank: i as u32 + 1,
                account_id: format!("A-{i:06}"),
                name: (i % 3 != 0).then(|| format!("Account number {i} of many")),
                owner: (i % 4 == 1).then(|| format!("Owner {i}")),
                as_of: "2025-12-31".into(),
                risk_tier: ["", "high", "low"][i % 3].into(),
                churn_drivers: format!("{} reasons in a long sentence", i * 7),
                model_version: "d765a83dde702f65".into(),
                ..Default::default()
            })
            .collect();
        let df = to_frame(&rows, true, true).unwrap();
        let texts = |name: &str| -> Vec<Option<String>> {
            let c = df.column(name).unwrap();
            assert_eq!(c.dtype(), &DataType::String, "{name}");
            c.str()
                .unwrap()
                .iter()
                .map(|v| v.map(str::to_string))
                .collect()
        };
        let want = |f: fn(&QueueRow) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
        assert_eq!(texts("account_id"), want(|r| Some(r.account_id.clone())));
        assert_eq!(texts("name"), want(|r| r.name.clone()));
        assert_eq!(texts("owner"), want(|r| r.owner.clone()));
        assert_eq!(
            texts("risk_tier"),
            want(|r| Some(r.risk_tier.clone()).filter(|t| !t.is_empty()))
        );
        assert_eq!(
            texts("churn_drivers"),
            want(|r| Some(r.churn_drivers.clone()))
        );
        assert_eq!(
            texts("model_version"),
            want(|r| Some(r.model_version.clone()))
        );
        assert_eq!(texts("upgrade_tier"), want(|_| None));
        let days = df.column("as_of").unwrap();
        assert_eq!(days.dtype(), &DataType::Date);
        assert_eq!(days.null_count(), 0);
    }

    #[test]
    fn plays_follow_the_documented_rule_order() {
        assert_eq!(suggested_play("high", "high"), "save");
        assert_eq!(suggested_play("medium", "high"), "expand");
        assert_eq!(suggested_play("medium", "low"), "check-in");
        assert_eq!(suggested_play("low", "medium"), "nurture");
        assert_eq!(suggested_play("low", "low"), "monitor");
    }
}
