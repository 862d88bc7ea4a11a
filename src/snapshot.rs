//! Point-in-time features: one row per account active at an as-of date S,
//! built only from rows dated on or before S. This is the only feature code:
//! training (over a monthly history) and scoring (at one date) both call
//! [`features_as_of`] with a frozen [`FeatureSpec`]. It never looks at
//! labels (see `labels`).

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::config::SnapshotParams;
use crate::dates::{format_day, month_ends_between, Day};
use crate::error::{Error, Location, Problem, ProblemKind, Problems, Result};
use crate::io::load::{Tables, NONE};
use crate::io::schema::{Priority, TableKind};
use crate::timeline::{seats_and_plan_at, Timeline};

/// How a model should treat a feature's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Heavy-tailed counts, days and money: modeled as signed `log1p`.
    Log,
    /// Already on a sensible scale (ratios, means, scores, trends).
    Linear,
    /// 0/1 indicator of a categorical level.
    Indicator,
}

/// One feature column: its name (part of the interface), kind and meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDef {
    pub name: String,
    pub kind: Kind,
    /// The table it comes from.
    pub source: TableKind,
    pub doc: String,
}

/// Frequent levels of one categorical attribute; any other value (and a
/// missing one) maps to `other`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CategoricalSpec {
    pub attribute: String,
    pub levels: Vec<String>,
}

/// The attribute name used for the plan of the account's biggest line.
pub const PLAN: &str = "plan";

/// The account's owner (success manager) is shown in the queue and used to
/// filter it, but is not a feature: it describes who calls the customer,
/// not the customer, and a driver like "owner is Gabriel" would blame a
/// colleague for a score (on the demo, owner has no effect on lifetimes:
/// log-rank p = 0.80).
pub const OWNER: &str = "owner";

/// What the features are, frozen at training and reused for scoring: which
/// tables were present, the K event types, the categorical levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpec {
    pub params: SnapshotParams,
    pub has_events: bool,
    pub has_users: bool,
    pub has_seats: bool,
    pub has_tickets: bool,
    pub has_surveys: bool,
    pub event_types: Vec<String>,
    pub categoricals: Vec<CategoricalSpec>,
    /// Every column, in order; derived from the fields above.
    pub features: Vec<FeatureDef>,
}

fn def(
    name: impl Into<String>,
    kind: Kind,
    source: TableKind,
    doc: impl Into<String>,
) -> FeatureDef {
    FeatureDef {
        name: name.into(),
        kind,
        source,
        doc: doc.into(),
    }
}

impl FeatureSpec {
    /// Freezes the spec from data dated on or before `cutoff` (the last
    /// training snapshot): event types ranked by volume (ties by name),
    /// categorical levels ranked by account count (ties by name), keeping at
    /// most `max_levels` with at least `min_level_share` of accounts and at
    /// least `min_level_accounts` accounts.
    pub fn fit(tables: &Tables, cutoff: Day, params: SnapshotParams) -> FeatureSpec {
        let mut event_types = Vec::new();
        if let Some(ev) = &tables.events {
            let mut volume = vec![0f64; ev.types.len()];
            for a in 0..tables.n_accounts() {
                for e in ev.rows.of_as_of(a, cutoff) {
                    volume[e.event_type as usize] += e.count as f64;
                }
            }
            let mut ranked: Vec<(usize, f64)> = volume
                .into_iter()
                .enumerate()
                .filter(|&(_, v)| v > 0.0)
                .collect();
            ranked.sort_by(|x, y| {
                y.1.total_cmp(&x.1)
                    .then_with(|| ev.types[x.0].cmp(&ev.types[y.0]))
            });
            event_types = ranked
                .into_iter()
                .take(params.top_event_types)
                .map(|(i, _)| ev.types[i].clone())
                .collect();
        }
        let seen: Vec<usize> = (0..tables.n_accounts())
            .filter(|&a| tables.accounts.created[a] <= cutoff)
            .collect();
        let mut categoricals = Vec::new();
        for attr in &tables.accounts.attributes {
            if attr.name == OWNER {
                continue;
            }
            let values = seen.iter().filter_map(|&a| attr.value(a));
            categoricals.push(CategoricalSpec {
                attribute: attr.name.clone(),
                levels: frequent_levels(values, seen.len(), &params),
            });
        }
        if !tables.plans.is_empty() && tables.accounts.attribute(PLAN).is_none() {
            let values = tables
                .lines
                .rows
                .iter()
                .filter(|l| l.start <= cutoff && l.plan != NONE);
            let n = values.clone().count();
            let levels = frequent_levels(
                values.map(|l| tables.plans[l.plan as usize].as_str()),
                n,
                &params,
            );
            categoricals.push(CategoricalSpec {
                attribute: PLAN.to_string(),
                levels,
            });
        }
        let mut spec = FeatureSpec {
            params,
            has_events: tables.events.is_some(),
            has_users: tables.events.as_ref().is_some_and(|e| e.has_users),
            has_seats: tables.has_seats,
            has_tickets: tables.tickets.is_some(),
            has_surveys: tables.surveys.is_some(),
            event_types,
            categoricals,
            features: Vec::new(),
        };
        spec.features = spec.derive_features();
        spec
    }

    /// Where each of this spec's columns is among `built`'s, when rows
    /// built with `built` hold every column of this spec with the values
    /// this spec would give them; `None` otherwise. That is so when the two
    /// specs differ at most in the order of their event types and of each
    /// categorical's levels (ranked by volume and by account count, the
    /// ranks swap as months pass while the sets stay): an event column
    /// counts its own type ([`Maps`] finds its slot by name), and a level
    /// column is 1 for its own level, with `other` for every value outside
    /// the same set of levels. Training builds its rows once with the
    /// shipped spec and hands the backtest these columns of them.
    pub fn columns_in(&self, built: &FeatureSpec) -> Option<Vec<usize>> {
        let same_set = |a: &[String], b: &[String]| {
            let (mut a, mut b) = (a.to_vec(), b.to_vec());
            a.sort();
            b.sort();
            a == b
        };
        let same_shape = self.params == built.params
            && self.has_events == built.has_events
            && self.has_users == built.has_users
            && self.has_seats == built.has_seats
            && self.has_tickets == built.has_tickets
            && self.has_surveys == built.has_surveys
            && same_set(&self.event_types, &built.event_types)
            && self.categoricals.len() == built.categoricals.len()
            && self
                .categoricals
                .iter()
                .zip(&built.categoricals)
                .all(|(a, b)| a.attribute == b.attribute && same_set(&a.levels, &b.levels));
        if !same_shape || self.features.len() != built.features.len() {
            return None;
        }
        self.features
            .iter()
            .map(|f| built.features.iter().position(|g| g == f))
            .collect()
    }

    pub(crate) fn derive_features(&self) -> Vec<FeatureDef> {
        use Kind::*;
        use TableKind::*;
        let mut f = vec![
            def("tenure_days", Log, Accounts, "days since created_at"),
            def(
                "mrr",
                Log,
                Subscriptions,
                "MRR at S: sum of lines with start_date <= S < end_date",
            ),
            def(
                "mrr_change_90d",
                Log,
                Subscriptions,
                "MRR(S) - MRR(S - 90), in currency",
            ),
        ];
        if self.has_seats {
            f.push(def(
                "seats",
                Log,
                Subscriptions,
                "seats on lines active at S (missing if none stated)",
            ));
        }
        if self.has_events {
            f.extend([
                def(
                    "recency_days",
                    Log,
                    Events,
                    "days since the last event on or before S; since created_at if none",
                ),
                def(
                    "events_30d",
                    Log,
                    Events,
                    "events (sum of count) dated S-29..S",
                ),
                def(
                    "events_prev_30d",
                    Log,
                    Events,
                    "events dated S-59..S-30 (days 31-60 before S, counting S as day 1)",
                ),
                def(
                    "events_trend",
                    Linear,
                    Events,
                    "ln((events_30d + 1) / (events_prev_30d + 1))",
                ),
                def(
                    "active_days_30d",
                    Linear,
                    Events,
                    "distinct days with an event in S-29..S",
                ),
                def(
                    "active_days_90d",
                    Linear,
                    Events,
                    "distinct days with an event in S-89..S (RFM frequency)",
                ),
                def(
                    "distinct_event_types_30d",
                    Linear,
                    Events,
                    "distinct event types in S-29..S",
                ),
            ]);
            if self.has_users {
                f.push(def(
                    "active_users_30d",
                    Log,
                    Events,
                    "distinct user_id in S-29..S",
                ));
                if self.has_seats {
                    f.push(def(
                        "seat_utilization",
                        Linear,
                        Events,
                        "active_users_30d / seats (missing without seats)",
                    ));
                }
            }
            for t in &self.event_types {
                f.push(def(
                    format!("event_{t}_30d"),
                    Log,
                    Events,
                    format!("count of {t} events in S-29..S"),
                ));
            }
        }
        if self.has_tickets {
            f.extend([
                def("tickets_90d", Log, Tickets, "tickets opened S-89..S"),
                def(
                    "high_priority_tickets_90d",
                    Log,
                    Tickets,
                    "high or urgent tickets opened S-89..S",
                ),
                def(
                    "mean_csat_90d",
                    Linear,
                    Tickets,
                    "mean csat of rated tickets S-89..S (missing if none)",
                ),
                def(
                    "mean_sentiment_90d",
                    Linear,
                    Tickets,
                    "mean sentiment of tickets S-89..S (missing if none)",
                ),
                def(
                    "days_since_last_ticket",
                    Log,
                    Tickets,
                    "days since the last ticket on or before S (missing if none)",
                ),
            ]);
        }
        if self.has_surveys {
            f.push(def(
                "last_nps",
                Linear,
                Surveys,
                "score of the last NPS answer on or before S (missing if none)",
            ));
        }
        for c in &self.categoricals {
            let source = if c.attribute == PLAN {
                Subscriptions
            } else {
                Accounts
            };
            for l in c.levels.iter().map(String::as_str).chain(["other"]) {
                f.push(def(
                    format!("{}={l}", c.attribute),
                    Indicator,
                    source,
                    format!("1 if {} is {l} at S", c.attribute),
                ));
            }
        }
        f
    }

    pub fn names(&self) -> Vec<String> {
        self.features.iter().map(|f| f.name.clone()).collect()
    }

    /// Refuses data that lacks a table or column this spec was trained with.
    pub fn check_tables(&self, tables: &Tables) -> Result<()> {
        let mut ps = Problems::default();
        let mut need = |present: bool, table: TableKind, what: &str| {
            if !present {
                ps.push(Problem {
                    location: Location {
                        file: format!("{table}.csv|parquet").into(),
                        ..Default::default()
                    },
                    kind: ProblemKind::MissingTable,
                    message: format!("the model was trained with {what}, but the data has none"),
                });
            }
        };
        need(
            !self.has_events || tables.events.is_some(),
            TableKind::Events,
            "an events table",
        );
        need(
            !self.has_users || tables.events.as_ref().is_some_and(|e| e.has_users),
            TableKind::Events,
            "events.user_id",
        );
        need(
            !self.has_seats || tables.has_seats,
            TableKind::Subscriptions,
            "subscriptions.seats",
        );
        need(
            !self.has_tickets || tables.tickets.is_some(),
            TableKind::Tickets,
            "a tickets table",
        );
        need(
            !self.has_surveys || tables.surveys.is_some(),
            TableKind::Surveys,
            "a surveys table",
        );
        ps.into_result()
    }
}

fn frequent_levels<'a>(
    values: impl Iterator<Item = &'a str>,
    n: usize,
    p: &SnapshotParams,
) -> Vec<String> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> =
        counts.into_iter().filter(|&(l, _)| l != "other").collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let min = ((p.min_level_share * n as f64).ceil() as usize).max(p.min_level_accounts);
    ranked
        .into_iter()
        .filter(|&(_, c)| c >= min)
        .take(p.max_levels)
        .map(|(l, _)| l.to_string())
        .collect()
}

/// Features of many (account, as-of) rows, column-major; NaN = missing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureFrame {
    pub names: Vec<String>,
    pub account: Vec<u32>,
    pub as_of: Vec<Day>,
    pub columns: Vec<Vec<f64>>,
}

impl FeatureFrame {
    pub fn n_rows(&self) -> usize {
        self.account.len()
    }

    pub fn column(&self, name: &str) -> Option<&[f64]> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| self.columns[i].as_slice())
    }

    pub fn column_slices(&self) -> Vec<&[f64]> {
        self.columns.iter().map(Vec::as_slice).collect()
    }

    /// Column positions by name, built once: training (RFM inputs) and
    /// scoring (reasons, RFM, plan) read features by name through it
    /// instead of scanning the ~80 names per lookup.
    pub fn index(&self) -> FeatureIndex<'_> {
        FeatureIndex {
            positions: self
                .names
                .iter()
                .enumerate()
                .map(|(j, n)| (n.as_str(), j))
                .collect(),
        }
    }

    /// The values of row `i`, in column order.
    pub fn row(&self, i: usize) -> Vec<f64> {
        self.columns.iter().map(|c| c[i]).collect()
    }

    /// [`Self::row`] into `out` (cleared first): scoring reads a million
    /// rows through one buffer per thread.
    pub fn row_into(&self, i: usize, out: &mut Vec<f64>) {
        out.clear();
        out.extend(self.columns.iter().map(|c| c[i]));
    }

    /// The rows where `keep` is true, in order, with the columns at
    /// `columns` in that order (see [`FeatureSpec::columns_in`]).
    pub fn select(&self, keep: &[bool], columns: &[usize]) -> FeatureFrame {
        let pick = |v: &[f64]| {
            v.iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(x, _)| *x)
                .collect::<Vec<_>>()
        };
        FeatureFrame {
            names: columns.iter().map(|&j| self.names[j].clone()).collect(),
            account: self
                .account
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(a, _)| *a)
                .collect(),
            as_of: self
                .as_of
                .iter()
                .zip(keep)
                .filter(|(_, &k)| k)
                .map(|(d, _)| *d)
                .collect(),
            columns: columns.iter().map(|&j| pick(&self.columns[j])).collect(),
        }
    }

    /// Keeps the rows where `keep` is true, in order.
    pub fn filter(&self, keep: &[bool]) -> FeatureFrame {
        let all: Vec<usize> = (0..self.columns.len()).collect();
        self.select(keep, &all)
    }
}

/// Feature positions by name (see [`FeatureFrame::index`]).
pub struct FeatureIndex<'a> {
    positions: crate::io::load::FastMap<&'a str, usize>,
}

impl FeatureIndex<'_> {
    /// The column of feature `name`, if the frame has it.
    pub fn get(&self, name: &str) -> Option<usize> {
        self.positions.get(name).copied()
    }

    /// Feature `name` of a row laid out in column order.
    pub fn value(&self, row: &[f64], name: &str) -> Option<f64> {
        self.get(name).map(|j| row[j])
    }
}

/// Lookups from the data's own ids to the spec's columns, built once per
/// (tables, spec) pair.
struct Maps {
    event_slot: Vec<u32>,
    /// Per categorical: per account, the level index (levels.len() = other).
    account_levels: Vec<Option<Vec<u16>>>,
    /// Per categorical: per data plan id, the level index (for `plan`).
    plan_levels: Vec<Option<Vec<u16>>>,
}

impl Maps {
    fn new(tables: &Tables, spec: &FeatureSpec) -> Maps {
        let event_slot = match &tables.events {
            Some(ev) => ev
                .types
                .iter()
                .map(|t| {
                    spec.event_types
                        .iter()
                        .position(|s| s == t)
                        .map_or(NONE, |p| p as u32)
                })
                .collect(),
            None => Vec::new(),
        };
        let level_of = |c: &CategoricalSpec, v: Option<&str>| -> u16 {
            v.and_then(|v| c.levels.iter().position(|l| l == v))
                .unwrap_or(c.levels.len()) as u16
        };
        let mut account_levels = Vec::new();
        let mut plan_levels = Vec::new();
        for c in &spec.categoricals {
            match tables.accounts.attribute(&c.attribute) {
                Some(attr) => {
                    // Each distinct value's level once, then each account's
                    // by its value's number.
                    let of_value: Vec<u16> =
                        attr.levels.iter().map(|l| level_of(c, Some(l))).collect();
                    let of_none = level_of(c, None);
                    account_levels.push(Some(
                        attr.codes
                            .iter()
                            .map(|&k| of_value.get(k as usize).copied().unwrap_or(of_none))
                            .collect(),
                    ));
                    plan_levels.push(None);
                }
                None if c.attribute == PLAN => {
                    account_levels.push(None);
                    plan_levels.push(Some(
                        tables.plans.iter().map(|p| level_of(c, Some(p))).collect(),
                    ));
                }
                // An attribute the data no longer has: every account is `other`.
                None => {
                    account_levels.push(Some(vec![c.levels.len() as u16; tables.n_accounts()]));
                    plan_levels.push(None);
                }
            }
        }
        Maps {
            event_slot,
            account_levels,
            plan_levels,
        }
    }
}

/// The longest window a feature at S reads of events and tickets: S-89..S
/// (besides each table's last row on or before S, for recency). Scoring
/// loads only these rows ([`crate::io::load::Need::Window`]).
pub const LONGEST_WINDOW_DAYS: u32 = 90;
const W90: Day = LONGEST_WINDOW_DAYS as Day - 1;

/// Builds every account's timeline once (parallel, order-preserving).
pub fn timelines(tables: &Tables, grace_days: u32) -> Vec<Timeline> {
    (0..tables.n_accounts())
        .into_par_iter()
        .map(|a| Timeline::build(tables.lines.of(a), grace_days))
        .collect()
}

/// Features for every account active at each date in `dates` (active =
/// MRR > 0 that day), rows ordered by date then account. Every value at S
/// reads only rows dated on or before S.
pub fn features_as_of(
    tables: &Tables,
    timelines: &[Timeline],
    dates: &[Day],
    spec: &FeatureSpec,
) -> Result<FeatureFrame> {
    spec.check_tables(tables)?;
    if timelines.len() != tables.n_accounts() {
        return Err(Error::InvalidParam(format!(
            "timelines for {} accounts given for {} accounts",
            timelines.len(),
            tables.n_accounts()
        )));
    }
    let maps = Maps::new(tables, spec);
    let p = spec.features.len();
    let mut frame = FeatureFrame {
        names: spec.names(),
        columns: vec![Vec::new(); p],
        ..Default::default()
    };
    const CHUNK: usize = 4096;
    for &s in dates {
        let chunks: Vec<(Vec<u32>, Vec<f64>)> = (0..tables.n_accounts())
            .into_par_iter()
            .step_by(CHUNK)
            .map(|lo| {
                let hi = (lo + CHUNK).min(tables.n_accounts());
                let mut ids = Vec::new();
                let mut vals = Vec::new();
                let mut scratch = Scratch::default();
                for (a, tl) in timelines.iter().enumerate().take(hi).skip(lo) {
                    if tl.is_active(s) {
                        ids.push(a as u32);
                        account_row(tables, tl, a, s, spec, &maps, &mut scratch, &mut vals);
                    }
                }
                (ids, vals)
            })
            .collect();
        // Sized once: grown a row at a time, each column was reallocated
        // and copied some 20 times at a million accounts, into fresh pages.
        let rows: usize = chunks.iter().map(|(ids, _)| ids.len()).sum();
        frame.account.reserve(rows);
        frame.as_of.reserve(rows);
        for col in &mut frame.columns {
            col.reserve(rows);
        }
        for (ids, vals) in chunks {
            frame.account.extend_from_slice(&ids);
            frame.as_of.extend(std::iter::repeat_n(s, ids.len()));
            for (j, col) in frame.columns.iter_mut().enumerate() {
                col.extend(vals.iter().skip(j).step_by(p.max(1)).take(ids.len()));
            }
        }
    }
    Ok(frame)
}

#[derive(Default)]
struct Scratch {
    users: Vec<u32>,
    types: Vec<u32>,
    per_type: Vec<f64>,
}

/// Appends one account's feature values at `s` to `out`, in spec order.
#[allow(clippy::too_many_arguments)]
fn account_row(
    tables: &Tables,
    tl: &Timeline,
    a: usize,
    s: Day,
    spec: &FeatureSpec,
    maps: &Maps,
    scratch: &mut Scratch,
    out: &mut Vec<f64>,
) {
    let start_len = out.len();
    let created = tables.accounts.created[a];
    out.push((s - created).max(0) as f64);
    let mrr = tl.mrr_at(s);
    out.push(mrr);
    out.push(mrr - tl.mrr_at(s - 90));
    let lines = tables.lines.of_as_of(a, s);
    let (seats, plan) = seats_and_plan_at(lines, s);
    if spec.has_seats {
        out.push(seats);
    }
    if let Some(ev) = tables.events.as_ref().filter(|_| spec.has_events) {
        let rows = ev.rows.of_as_of(a, s);
        let recency = rows.last().map_or((s - created).max(0), |e| s - e.day) as f64;
        let w90 = &rows[rows.partition_point(|e| e.day < s - W90)..];
        let w60 = &w90[w90.partition_point(|e| e.day < s - 59)..];
        let split = w60.partition_point(|e| e.day < s - 29);
        let (prev30, last30) = w60.split_at(split);
        let e30: f64 = last30.iter().map(|e| e.count as f64).sum();
        let eprev: f64 = prev30.iter().map(|e| e.count as f64).sum();
        let days = |w: &[crate::io::load::Event]| {
            w.windows(2).filter(|p| p[0].day != p[1].day).count() + usize::from(!w.is_empty())
        };
        scratch.types.clear();
        scratch.types.extend(last30.iter().map(|e| e.event_type));
        scratch.types.sort_unstable();
        scratch.types.dedup();
        out.extend([
            recency,
            e30,
            eprev,
            ((e30 + 1.0) / (eprev + 1.0)).ln(),
            days(last30) as f64,
            days(w90) as f64,
            scratch.types.len() as f64,
        ]);
        if spec.has_users {
            scratch.users.clear();
            scratch
                .users
                .extend(last30.iter().map(|e| e.user).filter(|&u| u != NONE));
            scratch.users.sort_unstable();
            scratch.users.dedup();
            let users = scratch.users.len() as f64;
            out.push(users);
            if spec.has_seats {
                out.push(if seats > 0.0 { users / seats } else { f64::NAN });
            }
        }
        scratch.per_type.clear();
        scratch.per_type.resize(spec.event_types.len(), 0.0);
        for e in last30 {
            let slot = maps.event_slot[e.event_type as usize];
            if slot != NONE {
                scratch.per_type[slot as usize] += e.count as f64;
            }
        }
        out.extend_from_slice(&scratch.per_type);
    }
    if let Some(tk) = tables.tickets.as_ref().filter(|_| spec.has_tickets) {
        let rows = tk.of_as_of(a, s);
        let w = &rows[rows.partition_point(|t| t.day < s - W90)..];
        let high = w.iter().filter(|t| t.priority >= Priority::High).count();
        let mean = |f: fn(&crate::io::load::Ticket) -> f32| {
            let (sum, n) = w
                .iter()
                .map(f)
                .filter(|x| !x.is_nan())
                .fold((0.0, 0usize), |(s, n), x| (s + x as f64, n + 1));
            if n == 0 {
                f64::NAN
            } else {
                sum / n as f64
            }
        };
        out.extend([
            w.len() as f64,
            high as f64,
            mean(|t| t.csat),
            mean(|t| t.sentiment),
            rows.last().map_or(f64::NAN, |t| (s - t.day) as f64),
        ]);
    }
    if let Some(sv) = tables.surveys.as_ref().filter(|_| spec.has_surveys) {
        out.push(
            sv.of_as_of(a, s)
                .last()
                .map_or(f64::NAN, |r| r.score as f64),
        );
    }
    for (i, c) in spec.categoricals.iter().enumerate() {
        let level = match (&maps.account_levels[i], &maps.plan_levels[i]) {
            (Some(acc), _) => acc[a] as usize,
            (None, Some(plans)) if plan != NONE => plans[plan as usize] as usize,
            _ => c.levels.len(),
        };
        for l in 0..=c.levels.len() {
            out.push(if l == level { 1.0 } else { 0.0 });
        }
    }
    debug_assert_eq!(out.len() - start_len, spec.features.len());
}

/// Days every table must already cover before a snapshot (the longest
/// comparison window, events_prev_30d, reaches 60 days back).
pub const COVERAGE_WARMUP_DAYS: Day = 59;

/// The month ends to snapshot for training: every month end S with
/// `S + horizon + grace <= end` (so each label is fully observed: a paid
/// period that ends inside the horizon is a churn only if no payment
/// resumes within the grace days after it, which the data must show) from the first
/// month end at least 60 days after every table has started (so the
/// 60-day event windows are covered); the last `history_months` of them
/// when given.
pub fn history_dates(
    tables: &Tables,
    end: Day,
    horizon_days: u32,
    grace_days: u32,
    history_months: Option<usize>,
) -> Result<Vec<Day>> {
    let last = end - horizon_days as Day - grace_days as Day;
    let from = tables.coverage_start + COVERAGE_WARMUP_DAYS;
    let mut dates = month_ends_between(from, last);
    if dates.is_empty() {
        return Err(Error::InvalidParam(format!(
            "no month end S in {}..={} (every table covered for {COVERAGE_WARMUP_DAYS} days, S + {horizon_days} + {grace_days} grace days <= {}); \
             need a longer history or a shorter horizon",
            format_day(from),
            format_day(last),
            format_day(end),
        )));
    }
    if let Some(n) = history_months {
        if n == 0 {
            return Err(Error::InvalidParam(
                "history_months must be > 0, got 0".into(),
            ));
        }
        let skip = dates.len().saturating_sub(n);
        dates.drain(..skip);
    }
    Ok(dates)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::*;

    fn frame_at(tables: &Tables, s: Day) -> (FeatureSpec, FeatureFrame) {
        let spec = FeatureSpec::fit(tables, s, params());
        let tl = timelines(tables, 30);
        let f = features_as_of(tables, &tl, &[s], &spec).unwrap();
        (spec, f)
    }

    fn value(f: &FeatureFrame, tables: &Tables, account: &str, name: &str) -> f64 {
        let a = tables
            .accounts
            .ids
            .iter()
            .position(|x| x == account)
            .unwrap() as u32;
        let row = f
            .account
            .iter()
            .position(|&x| x == a)
            .unwrap_or_else(|| panic!("{account} has no row"));
        f.column(name)
            .unwrap_or_else(|| panic!("no feature {name}"))[row]
    }

    /// The demo's spec with its event types and every categorical's levels
    /// in reverse order: what a later cutoff gives when ranks swap.
    pub(crate) fn reordered(spec: &FeatureSpec) -> FeatureSpec {
        let mut r = spec.clone();
        r.event_types.reverse();
        for c in &mut r.categoricals {
            c.levels.reverse();
        }
        r.features = r.derive_features();
        r
    }

    #[test]
    fn columns_in_a_reordered_spec_hold_the_same_values() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/demo");
        let tables = crate::io::load::load_dir(&dir, &crate::config::Config::default()).unwrap();
        let end = tables.last_day;
        let p = params();
        let dates = history_dates(&tables, end, p.horizon_days, p.grace_days, None).unwrap();
        let spec = FeatureSpec::fit(&tables, *dates.last().unwrap(), p);
        let other = reordered(&spec);
        assert!(spec.event_types.len() > 1 && spec.categoricals.iter().any(|c| c.levels.len() > 1));
        assert_ne!(other.features, spec.features, "the columns move");
        let identity: Vec<usize> = (0..spec.features.len()).collect();
        assert_eq!(spec.columns_in(&spec), Some(identity));
        let tl = timelines(&tables, p.grace_days);
        let built = features_as_of(&tables, &tl, &dates, &other).unwrap();
        let own = features_as_of(&tables, &tl, &dates, &spec).unwrap();
        let cols = spec.columns_in(&other).expect("same sets");
        let picked = built.select(&vec![true; built.n_rows()], &cols);
        assert_eq!(picked.names, own.names);
        assert_eq!((&picked.account, &picked.as_of), (&own.account, &own.as_of));
        let bits = |f: &FeatureFrame| -> Vec<Vec<u64>> {
            f.columns
                .iter()
                .map(|c| c.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert_eq!(bits(&picked), bits(&own));

        // Another set of levels or event types, or other parameters: rebuild.
        let mut fewer = spec.clone();
        fewer.event_types.pop();
        fewer.features = fewer.derive_features();
        assert_eq!(fewer.columns_in(&spec), None);
        let mut level = spec.clone();
        let c = level
            .categoricals
            .iter_mut()
            .find(|c| !c.levels.is_empty())
            .unwrap();
        c.levels[0] = "Unheard of".into();
        level.features = level.derive_features();
        assert_eq!(level.columns_in(&spec), None);
        assert_eq!(spec.columns_in(&level), None);
        let mut wider = spec.clone();
        wider.params.horizon_days += 1;
        assert_eq!(wider.columns_in(&spec), None);
    }

    #[test]
    fn owner_is_shown_but_never_a_feature() {
        let accounts = ACCOUNTS
            .replace("name,segment", "name,segment,owner")
            .replace(",SMB\n", ",SMB,Ann\n")
            .replace(",Enterprise\n", ",Enterprise,Bo\n")
            .replace(",Mid\n", ",Mid,Ann\n");
        let dir = data_dir(&[
            ("accounts.csv", accounts.as_str()),
            ("subscriptions.csv", SUBSCRIPTIONS),
            ("events.csv", EVENTS),
            ("tickets.csv", TICKETS),
            ("surveys.csv", SURVEYS),
        ]);
        let t = load(dir.path());
        let owner = t
            .accounts
            .attribute(OWNER)
            .expect("owner loaded for the queue");
        assert_eq!(owner.value(1), Some("Bo"));
        let (spec, f) = frame_at(&t, day("2024-03-31"));
        assert!(spec.categoricals.iter().all(|c| c.attribute != OWNER));
        assert!(spec.categoricals.iter().any(|c| c.attribute == "segment"));
        assert!(
            f.names.iter().all(|n| !n.starts_with("owner")),
            "{:?}",
            f.names
        );
    }

    #[test]
    fn only_accounts_active_at_s_get_a_row() {
        let dir = fixture();
        let t = load(dir.path());
        let (_, f) = frame_at(&t, day("2024-03-31"));
        let ids: Vec<&str> = f
            .account
            .iter()
            .map(|&a| t.accounts.ids[a as usize].as_str())
            .collect();
        // A5's only line ends on S (exclusive): not active.
        assert_eq!(ids, ["A1", "A2", "A3", "A4"]);
    }

    #[test]
    fn event_features_match_hand_computation() {
        let dir = fixture();
        let t = load(dir.path());
        let (spec, f) = frame_at(&t, day("2024-03-31"));
        let v = |n: &str| value(&f, &t, "A1", n);
        assert_eq!(v("recency_days"), 0.0);
        assert_eq!(v("events_30d"), 4.0); // 2 + 1 + 1
        assert_eq!(v("events_prev_30d"), 5.0); // 4 (03-01) + 1 (02-01)
        assert_eq!(v("events_trend"), (5.0f64 / 6.0).ln());
        assert_eq!(v("active_days_30d"), 3.0);
        assert_eq!(v("active_days_90d"), 6.0);
        assert_eq!(v("distinct_event_types_30d"), 2.0);
        assert_eq!(v("active_users_30d"), 2.0);
        assert_eq!(v("seat_utilization"), 0.2); // 2 users / 10 seats
                                                // Types ranked by volume up to S: login 8, then export 1 and report 1 by name.
        assert_eq!(spec.event_types, ["login", "export", "report"]);
        assert_eq!(v("event_login_30d"), 3.0);
        assert_eq!(v("event_report_30d"), 1.0);
        assert_eq!(v("event_export_30d"), 0.0);
        // A3: one event 11 days before S, count defaulted to 1.
        assert_eq!(value(&f, &t, "A3", "recency_days"), 11.0);
        assert_eq!(value(&f, &t, "A3", "events_30d"), 1.0);
    }

    #[test]
    fn revenue_and_tenure_features_match_hand_computation() {
        let dir = fixture();
        let t = load(dir.path());
        let (_, f) = frame_at(&t, day("2024-03-31"));
        assert_eq!(value(&f, &t, "A1", "tenure_days"), 90.0);
        assert_eq!(value(&f, &t, "A1", "mrr"), 120.0); // base + add-on line
        assert_eq!(value(&f, &t, "A1", "mrr_change_90d"), 20.0); // 100 on 01-01
        assert_eq!(value(&f, &t, "A1", "seats"), 10.0); // add-on states no seats
        assert_eq!(value(&f, &t, "A1", "plan=Growth"), 1.0);
        assert_eq!(value(&f, &t, "A1", "segment=SMB"), 1.0);
        // A3 reactivated 19 days after a lapse: MRR back to 50.
        assert_eq!(value(&f, &t, "A3", "mrr"), 50.0);
        assert_eq!(value(&f, &t, "A3", "mrr_change_90d"), 0.0);
    }

    #[test]
    fn account_created_on_s_has_zero_tenure_and_no_activity() {
        let dir = fixture();
        let t = load(dir.path());
        let (_, f) = frame_at(&t, day("2024-03-31"));
        let v = |n: &str| value(&f, &t, "A2", n);
        assert_eq!(v("tenure_days"), 0.0);
        assert_eq!(v("recency_days"), 0.0);
        assert_eq!(v("mrr"), 500.0);
        assert_eq!(v("mrr_change_90d"), 500.0);
        assert_eq!(v("events_30d"), 0.0);
        assert_eq!(v("seat_utilization"), 0.0);
        assert_eq!(v("tickets_90d"), 0.0);
        assert!(v("mean_csat_90d").is_nan(), "no tickets: missing, not zero");
        assert!(v("days_since_last_ticket").is_nan());
        assert!(v("last_nps").is_nan());
    }

    #[test]
    fn ticket_and_survey_features_match_hand_computation() {
        let dir = fixture();
        let t = load(dir.path());
        let (_, f) = frame_at(&t, day("2024-03-31"));
        let v = |n: &str| value(&f, &t, "A1", n);
        assert_eq!(v("tickets_90d"), 2.0); // 03-10 and 02-15; 01-01 is S-90
        assert_eq!(v("high_priority_tickets_90d"), 1.0);
        assert_eq!(v("mean_csat_90d"), 2.0); // the low ticket is unrated
        assert_eq!(v("mean_sentiment_90d"), 0.0); // (-0.5 + 0.5) / 2
        assert_eq!(v("days_since_last_ticket"), 21.0);
        assert_eq!(v("last_nps"), 3.0);
    }

    #[test]
    fn missing_optional_tables_mean_absent_features() {
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
        ]);
        let t = load(dir.path());
        let (spec, f) = frame_at(&t, day("2024-03-31"));
        assert!(!spec.has_events && !spec.has_tickets && !spec.has_surveys);
        for absent in [
            "events_30d",
            "recency_days",
            "tickets_90d",
            "last_nps",
            "seat_utilization",
        ] {
            assert!(
                f.column(absent).is_none(),
                "{absent} must be absent, not zero"
            );
        }
        assert!(f.column("mrr").is_some());
    }

    #[test]
    fn scoring_data_without_a_trained_table_is_refused() {
        let full = fixture();
        let (spec, _) = frame_at(&load(full.path()), day("2024-03-31"));
        let dir = data_dir(&[
            ("accounts.csv", ACCOUNTS),
            ("subscriptions.csv", SUBSCRIPTIONS),
        ]);
        let t = load(dir.path());
        let err = features_as_of(&t, &timelines(&t, 30), &[day("2024-03-31")], &spec).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("trained with an events table"), "{msg}");
        assert!(err
            .problems()
            .unwrap()
            .shown
            .iter()
            .all(|p| p.kind == ProblemKind::MissingTable));
    }

    fn bits(f: &FeatureFrame) -> Vec<Vec<u64>> {
        f.columns
            .iter()
            .map(|c| c.iter().map(|x| x.to_bits()).collect())
            .collect()
    }

    #[test]
    fn snapshot_ignores_future_rows() {
        let s = day("2024-03-31");
        let base = fixture();
        let t0 = load(base.path());
        let (spec0, f0) = frame_at(&t0, s);
        // Rows dated after S in every table, a new account, and an open line
        // that later gets an end date.
        let future = data_dir(&[
            ("accounts.csv", &format!("{ACCOUNTS}A6,2024-04-02,Zeta,Enterprise\n")),
            (
                "subscriptions.csv",
                &format!(
                    "{}A1,2024-04-01,,900,Enterprise,99\nA6,2024-04-02,,70,Pro,3\n",
                    SUBSCRIPTIONS.replace("A3,2024-02-20,,50", "A3,2024-02-20,2024-04-10,50")
                ),
            ),
            ("events.csv", &format!("{EVENTS}A1,2024-04-01T00:00:00Z,export,u9,50\nA2,2024-05-01,login,u4,3\nA6,2024-04-03,login,u5,1\n")),
            ("tickets.csv", &format!("{TICKETS}A2,2024-04-01,urgent,1,-1,bug\n")),
            ("surveys.csv", &format!("{SURVEYS}A2,2024-04-01,0\n")),
        ]);
        let t1 = load(future.path());
        let (spec1, _) = frame_at(&t1, s);
        assert_eq!(
            spec1, spec0,
            "the frozen spec only reads rows up to its cutoff"
        );
        let f1 = features_as_of(&t1, &timelines(&t1, 30), &[s], &spec0).unwrap();
        assert_eq!(f1.account, f0.account);
        assert_eq!(bits(&f1), bits(&f0));
    }

    #[test]
    fn csv_and_parquet_give_identical_snapshots() {
        use polars::prelude::*;
        let s = day("2024-03-31");
        let csv = fixture();
        let t_csv = load(csv.path());
        let (spec, f_csv) = frame_at(&t_csv, s);
        // The same tables as typed Parquet: Date, Datetime(ms) and Float64 columns.
        let pq = tempfile::tempdir().unwrap();
        // (table, date columns, datetime columns, number columns)
        type Typed<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let typed: &[Typed] = &[
            ("accounts", &["created_at"], &[], &[]),
            (
                "subscriptions",
                &["start_date", "end_date"],
                &[],
                &["mrr", "seats"],
            ),
            ("events", &[], &["timestamp"], &["count"]),
            ("tickets", &["created_at"], &[], &["csat", "sentiment"]),
            ("surveys", &["responded_at"], &[], &["score"]),
        ];
        for (table, dates, datetimes, numbers) in typed {
            let mut df = CsvReadOptions::default()
                .with_infer_schema_length(Some(0))
                .try_into_reader_with_file_path(Some(csv.path().join(format!("{table}.csv"))))
                .unwrap()
                .finish()
                .unwrap();
            let names: Vec<String> = df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect();
            for name in names {
                let txt: Vec<Option<String>> = df
                    .column(&name)
                    .unwrap()
                    .str()
                    .unwrap()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect();
                let col: Column = if dates.contains(&name.as_str()) {
                    let d: Int32Chunked = txt
                        .iter()
                        .map(|v| v.as_deref().and_then(crate::dates::parse_day))
                        .collect();
                    d.into_series()
                        .cast(&DataType::Date)
                        .unwrap()
                        .with_name(name.as_str().into())
                        .into()
                } else if datetimes.contains(&name.as_str()) {
                    let ms: Int64Chunked = txt
                        .iter()
                        .map(|v| {
                            v.as_deref()
                                .and_then(crate::dates::parse_day)
                                .map(|d| d as i64 * 86_400_000 + 3_600_000)
                        })
                        .collect();
                    ms.into_series()
                        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
                        .unwrap()
                        .with_name(name.as_str().into())
                        .into()
                } else if numbers.contains(&name.as_str()) {
                    let x: Float64Chunked = txt
                        .iter()
                        .map(|v| v.as_deref().and_then(|v| v.parse::<f64>().ok()))
                        .collect();
                    x.into_series().with_name(name.as_str().into()).into()
                } else {
                    continue;
                };
                df.replace(&name, col).unwrap();
            }
            let f = std::fs::File::create(pq.path().join(format!("{table}.parquet"))).unwrap();
            ParquetWriter::new(f).finish(&mut df).unwrap();
        }
        let t_pq = load(pq.path());
        let f_pq = features_as_of(&t_pq, &timelines(&t_pq, 30), &[s], &spec).unwrap();
        assert_eq!(f_pq.account, f_csv.account);
        assert_eq!(bits(&f_pq), bits(&f_csv));
    }

    #[test]
    fn history_dates_keep_labels_fully_observed() {
        let dir = fixture();
        let t = load(dir.path());
        // Data ends 2024-08-01; S + 90 <= end gives month ends up to 2024-04-30.
        assert_eq!(t.last_day, day("2024-08-01"));
        // Every table covered from 2024-02-01 (the first survey); + 59 days.
        assert_eq!(t.coverage_start, day("2024-02-01"));
        let d = history_dates(&t, t.last_day, 90, 0, None).unwrap();
        assert_eq!(d, [day("2024-03-31"), day("2024-04-30")]);
        assert_eq!(
            history_dates(&t, t.last_day, 90, 0, Some(1)).unwrap(),
            [day("2024-04-30")]
        );
        // With 30 grace days a churn in (S, S + 90] is only known 30 days
        // later: 2024-04-30 + 120 = 2024-08-28 is past the end.
        let d = history_dates(&t, t.last_day, 90, 30, None).unwrap();
        assert_eq!(d, [day("2024-03-31")]);
        assert!(history_dates(&t, t.last_day, 700, 0, None).is_err());
    }
}
