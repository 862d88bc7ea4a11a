//! Lifetimes and the stratified Kaplan–Meier model built on them, and the
//! per-account survival the queue reads from it.
//!
//! A lifetime is one merged paid period, as a churn label sees it: it runs
//! from the period's first paid day to its end (the churn date), and an
//! account that comes back after churning starts a new lifetime. A churn
//! counts only once the grace days after it are observed (a payment
//! resuming within them would have merged the periods); a period ending
//! later is censored at its end. Lifetimes are observed only from the start
//! of the observation window (delayed entry), censored at the data's end.
//! Plan strata follow the plan on each day (the plan scoring reads on the
//! as-of date), so a lifetime that changes plan moves between plan curves
//! as it goes; CRM attributes are as exported and stay put. This module
//! decides who is in which stratum, when observation starts and which curve
//! an account is read on; the curve maths is in `survival`.
//!
//! # Why delayed entry
//!
//! CRM and billing exports hold the accounts alive when the export's window
//! opened, with their subscription history going back years, plus the
//! accounts created since; accounts that churned before the window are
//! absent. Counting the survivors' pre-window years as churn-free time is
//! survivorship bias: on `datasets/demo` it made the implied 90-day churn
//! 0.033 against 0.072 observed. Each lifetime therefore enters the risk set
//! at its tenure on the window's first day (see [`observation_start`]).
//!
//! # Per-account survival: proportional hazards on the Kaplan–Meier baseline
//!
//! The plan curve knows the plan and the tenure, nothing of behaviour; the
//! churn model knows behaviour. An account's curve is the plan curve's
//! conditional survival raised to a power, `S_i(u | t) = S₀(u | t)^θᵢ`
//! (proportional hazards: θᵢ multiplies the baseline hazard at every
//! tenure), with θᵢ solved so that `1 − S_i(H | t)` equals the account's
//! churn risk over the model's horizon H. So `survival_90d` is exactly
//! `1 − churn_risk` when H is 90 days, and `expected_days_remaining` moves
//! with behaviour while keeping the plan curve's shape over tenure. We
//! chose this over a discrete-time hazard model because it reuses the
//! validated churn model and the Kaplan–Meier tables as they are (one more
//! number per account, no second fit to keep consistent with the first).
//! Where the baseline has no churn over (t, t + H] (θ undefined) the curve
//! is the constant hazard that gives the same risk, `(1 − risk)^(u / H)`.
//! The baseline is the plan curve where at least [`MIN_AT_RISK`] accounts
//! are at risk over the whole 730 days ahead, else the overall curve, and
//! every figure of an account is read off that one curve.

use serde::{Deserialize, Serialize};

use crate::account::plan_on;
use crate::dates::{format_day, Day};
use crate::io::load::Tables;
use crate::metrics::{concordance_index, horizon_calibration, HorizonCalibration};
use crate::models::curve_reader::CurveReader;
use crate::models::survival::{log_rank, KmCurve, Lifetime, LogRank};
use crate::snapshot::{FeatureFrame, FeatureSpec, PLAN};
use crate::timeline::Timeline;

/// The queue's `survival_90d` is P(still paying in this many days | paying
/// today at this tenure).
pub const SURVIVAL_HORIZON_DAYS: f64 = 90.0;

/// The queue's `expected_days_remaining` is a restricted mean over this many
/// days ahead, so it lies in [0, 730].
pub const REMAINING_WINDOW_DAYS: f64 = 730.0;

/// A curve is trusted for an estimate over (t, t + h] only if at least this
/// many accounts are at risk at every tenure in it (see
/// [`SurvivalModel::predict`]). With about 2.5% of accounts churning a month,
/// 50 at risk expect about 3–4 churns over 90 days: enough that one churn more
/// or less moves `survival_90d` by 0.02, not by 0.1.
pub const MIN_AT_RISK: u64 = 50;

/// One stratum's curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stratum {
    pub stratifier: String,
    pub level: String,
    pub curve: KmCurve,
}

/// Summary figures of one curve, for people.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveSummary {
    pub stratifier: String,
    pub level: String,
    pub n: u64,
    pub churned: u64,
    /// Days; `None` when the curve never reaches 0.5 (infinite median).
    pub median_days: Option<f64>,
    /// Survival at 90, 180, 365 and 730 days.
    pub survival_at: Vec<(u32, f64)>,
}

/// The survival part of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalModel {
    pub overall: KmCurve,
    pub strata: Vec<Stratum>,
    /// Log-rank test across the levels of each stratifier (risk sets with
    /// delayed entry, like the curves).
    pub log_rank: Vec<(String, Option<LogRank>)>,
    pub summaries: Vec<CurveSummary>,
    /// The stratifier used for per-account survival in the queue.
    pub queue_stratifier: Option<String>,
    /// The longest tenure observed, in days (the overall curve's last row).
    /// Not a horizon of any estimate: `expected_days_remaining` looks
    /// [`REMAINING_WINDOW_DAYS`] ahead.
    pub tau_days: f64,
    /// How the lifetimes were observed. Absent from bundles written before
    /// delayed entry (and then not written, so their content hash holds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<ObservationWindow>,
}

/// The observation window behind the curves, for the model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationWindow {
    /// First day of observation (YYYY-MM-DD): lifetimes enter the risk set
    /// at their tenure on this day (see [`observation_start`]).
    pub observed_from: String,
    /// Lifetimes that began before `observed_from` and enter late.
    pub entered_late: u64,
    /// Lifetimes left out because they ended on or before `observed_from`:
    /// such accounts are in an export only by accident of how it was cut.
    pub ended_before_window: u64,
    /// The first churn date in the fitted lifetimes (YYYY-MM-DD): when it is
    /// far after `observed_from`, the export may hold no churned accounts
    /// before it, and the window should start later.
    pub first_churn: Option<String>,
}

/// Survival figures for one account in the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSurvival {
    /// P(still paying in [`SURVIVAL_HORIZON_DAYS`] | paying today at this tenure).
    pub survival_90d: f64,
    /// Expected paid days within the next [`REMAINING_WINDOW_DAYS`], in [0, 730].
    pub expected_days_remaining: f64,
    /// The account's hazard relative to its baseline curve, θ in
    /// `S_i = S₀^θ` (1: the plan curve as it is). NaN where the baseline
    /// has no churn over the horizon and the constant-hazard curve is used.
    pub hazard_ratio: f64,
    /// The tenure the baseline curve was read at (the account's own, or the
    /// oldest the curve supports); the page draws the account's curve from it.
    pub curve_tenure: f64,
    /// The queue-stratifier level whose curve `survival_90d` was read from;
    /// `None` when it came from the overall curve (unknown level, or too
    /// few accounts at risk in the level). Reports draw this curve.
    pub curve_level: Option<String>,
}

/// The first day of observation for survival: `tables.coverage_start`, the
/// first day every table present covers (capped at `end`).
///
/// Exports are cut as "accounts alive at the start of the window", and the
/// window's start is when the activity tables (events, tickets, surveys)
/// begin, while subscription history reaches back further; `coverage_start`
/// is the latest of the tables' first days, so it is that start or later. A
/// later start than the real cut is safe (it only discards information), an
/// earlier one is not (it leaves part of the bias), so the latest first day
/// is the right side to err on. With a subscriptions table alone,
/// `coverage_start` is the first subscription day, every entry is 0, and the
/// export is taken to hold the full history.
pub fn observation_start(tables: &Tables, end: Day) -> Day {
    tables.coverage_start.min(end)
}

/// Who is in the sample and who is not, with the reasons.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lifetimes {
    /// (account index, lifetime, first paid day of the lifetime).
    pub rows: Vec<(usize, Lifetime, Day)>,
    /// Lifetimes that began before the window start and enter late.
    pub entered_late: u64,
    /// Lifetimes that ended on or before the window start, left out.
    pub ended_before_window: u64,
}

/// Every lifetime (merged paid period) begun by `end`, observed from
/// `window_start`: one begun before it enters at its tenure that day
/// (`entry = window_start − first paid day`), one begun on it or later at 0.
/// A period ending at `c` is a churn when `c + grace_days <= end`; ending
/// later (or open) it is censored at `min(c, end)`: the grace days after it
/// are not observed, and a payment resuming within them would make it no
/// churn at all (the label's rule).
///
/// A lifetime that ended on or before `window_start` is left out and
/// counted: under delayed entry it would be at risk on the empty (entry,
/// duration]; such periods are in an export only by accident of how it was
/// cut (lifelines raises on entry > duration).
pub fn lifetimes(
    timelines: &[Timeline],
    window_start: Day,
    end: Day,
    grace_days: u32,
) -> Lifetimes {
    let mut out = Lifetimes::default();
    for (a, tl) in timelines.iter().enumerate() {
        for p in tl.periods.iter().filter(|p| p.start <= end) {
            let start = p.start;
            let (stop, observed) = match p.end {
                Some(c) if c + grace_days as Day <= end => (c, true),
                Some(c) if c <= end => (c, false),
                _ => (end, false),
            };
            let entry = (window_start - start).max(0);
            if entry > 0 {
                if stop <= window_start {
                    out.ended_before_window += 1;
                    continue;
                }
                out.entered_late += 1;
            }
            let lt = Lifetime {
                entry: entry as f64,
                duration: (stop - start) as f64,
                observed,
            };
            out.rows.push((a, lt, start));
        }
    }
    out
}

/// The stretches of one lifetime by the plan on each day: the plan is read
/// where observation starts and on every day a billing line starts or ends
/// inside the observed stretch, and consecutive days on one plan form one
/// stretch. Each stretch is a lifetime of its own on the same tenure scale
/// (entering where the previous one is censored), the last one carrying the
/// churn: the counting-process form that lets Kaplan–Meier and log-rank
/// follow a plan that changes over a lifetime.
pub fn plan_stretches<'t>(
    tables: &'t Tables,
    account: usize,
    start: Day,
    lt: Lifetime,
) -> Vec<(Option<&'t str>, Lifetime)> {
    let (from, to) = (start + lt.entry as Day, start + lt.duration as Day);
    let mut days: Vec<Day> = tables
        .lines
        .of(account)
        .iter()
        .flat_map(|l| std::iter::once(l.start).chain(l.end))
        .filter(|&d| d > from && d < to)
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut out: Vec<(Option<&str>, Lifetime)> = Vec::new();
    // Observation may start inside a merged gap: the plan then is the one
    // the period began on.
    let first = plan_on(tables, account, from).or_else(|| plan_on(tables, account, start));
    let mut cur = (first, from);
    for d in days {
        // In a merged gap (a late renewal) no line is active: the account
        // is between renewals of the plan it had, not on another one.
        let plan = plan_on(tables, account, d).or(cur.0);
        if plan != cur.0 {
            out.push((
                cur.0,
                Lifetime {
                    entry: (cur.1 - start) as f64,
                    duration: (d - start) as f64,
                    observed: false,
                },
            ));
            cur = (plan, d);
        }
    }
    out.push((
        cur.0,
        Lifetime {
            entry: (cur.1 - start) as f64,
            duration: lt.duration,
            observed: lt.observed,
        },
    ));
    out
}

/// The stratum level of a value of `attribute` under the frozen spec: the
/// value when it is one of the spec's levels, else `other`.
pub fn stratum_level<'s>(spec: &'s FeatureSpec, attribute: &str, value: Option<&str>) -> &'s str {
    spec.categoricals
        .iter()
        .find(|c| c.attribute == attribute)
        .and_then(|c| value.and_then(|v| c.levels.iter().find(|l| l.as_str() == v)))
        .map_or("other", String::as_str)
}

fn summarize(stratifier: &str, level: &str, c: &KmCurve) -> CurveSummary {
    let m = c.median();
    CurveSummary {
        stratifier: stratifier.to_string(),
        level: level.to_string(),
        n: c.n(),
        churned: c.observed.iter().sum(),
        median_days: m.is_finite().then_some(m),
        survival_at: [90u32, 180, 365, 730]
            .iter()
            .map(|&t| (t, c.survival_at(t as f64)))
            .collect(),
    }
}

impl SurvivalModel {
    /// Fits the overall curve and one curve per level of `plan` (the plan
    /// on each day, see [`plan_stretches`]) and of each categorical
    /// attribute, using the frozen levels of `spec` (other values are
    /// `other`). Lifetimes are paid periods observed from
    /// [`observation_start`] (delayed entry) and censored at `end`.
    pub fn fit(
        tables: &Tables,
        timelines: &[Timeline],
        spec: &FeatureSpec,
        end: Day,
    ) -> SurvivalModel {
        let window_start = observation_start(tables, end);
        let sample = lifetimes(timelines, window_start, end, spec.params.grace_days);
        let lts = &sample.rows;
        let all: Vec<Lifetime> = lts.iter().map(|x| x.1).collect();
        let overall = KmCurve::fit(&all);
        let mut strata = Vec::new();
        let mut tests = Vec::new();
        let mut summaries = vec![summarize("overall", "all", &overall)];
        for c in &spec.categoricals {
            let index = |level: &str| {
                c.levels
                    .iter()
                    .position(|l| l == level)
                    .unwrap_or(c.levels.len())
            };
            let mut groups: Vec<Vec<Lifetime>> = vec![Vec::new(); c.levels.len() + 1];
            let by_day = c.attribute == PLAN && tables.accounts.attribute(PLAN).is_none();
            for &(a, lt, start) in lts {
                if by_day {
                    for (plan, piece) in plan_stretches(tables, a, start, lt) {
                        groups[index(stratum_level(spec, PLAN, plan))].push(piece);
                    }
                } else {
                    let value = tables
                        .accounts
                        .attribute(&c.attribute)
                        .and_then(|at| at.value(a));
                    groups[index(stratum_level(spec, &c.attribute, value))].push(lt);
                }
            }
            for (i, g) in groups.iter().enumerate() {
                if g.is_empty() {
                    continue;
                }
                let level = c.levels.get(i).map_or("other", String::as_str);
                let curve = KmCurve::fit(g);
                summaries.push(summarize(&c.attribute, level, &curve));
                strata.push(Stratum {
                    stratifier: c.attribute.clone(),
                    level: level.to_string(),
                    curve,
                });
            }
            let refs: Vec<&[Lifetime]> = groups.iter().map(Vec::as_slice).collect();
            tests.push((c.attribute.clone(), log_rank(&refs)));
        }
        let queue_stratifier = spec
            .categoricals
            .iter()
            .any(|c| c.attribute == PLAN)
            .then(|| PLAN.to_string());
        let tau_days = overall.time.last().copied().unwrap_or(0.0);
        let first_churn = lts
            .iter()
            .filter(|x| x.1.observed)
            .map(|&(_, lt, start)| start + lt.duration as Day)
            .min()
            .map(format_day);
        SurvivalModel {
            overall,
            strata,
            log_rank: tests,
            summaries,
            queue_stratifier,
            tau_days,
            window: Some(ObservationWindow {
                observed_from: format_day(window_start),
                entered_late: sample.entered_late,
                ended_before_window: sample.ended_before_window,
                first_churn,
            }),
        }
    }

    /// Index in `strata` of `level` of the queue stratifier, if it has a
    /// curve (`None`: the overall curve). Scoring and the queue page find a
    /// level's curve through it.
    pub fn stratum_index(&self, level: Option<&str>) -> Option<usize> {
        let s = self.queue_stratifier.as_deref()?;
        let l = level?;
        self.strata
            .iter()
            .position(|x| x.stratifier == s && x.level == l)
    }

    /// The model prepared for reading many accounts (see
    /// [`SurvivalReader`]); build it once per run.
    pub fn reader(&self) -> SurvivalReader<'_> {
        SurvivalReader {
            model: self,
            overall: CurveReader::new(&self.overall),
            strata: self
                .strata
                .iter()
                .map(|s| CurveReader::new(&s.curve))
                .collect(),
        }
    }
}

/// A [`SurvivalModel`] prepared for scoring: every curve behind a
/// [`CurveReader`], so an account costs a few lookups and one pass over the
/// curve rows ahead of it.
pub struct SurvivalReader<'a> {
    model: &'a SurvivalModel,
    overall: CurveReader<'a>,
    strata: Vec<CurveReader<'a>>,
}

impl<'a> SurvivalReader<'a> {
    fn curve_for(&self, level: Option<&str>) -> &CurveReader<'a> {
        match self.model.stratum_index(level) {
            Some(i) => &self.strata[i],
            None => &self.overall,
        }
    }

    /// The curve and tenure to read an estimate over the next `horizon` days
    /// from, for an account at `tenure` in `level`:
    ///
    /// 1. the level's curve, if at least [`MIN_AT_RISK`] accounts are at risk at
    ///    every tenure in (tenure, tenure + horizon];
    /// 2. else the overall curve, if it has that many;
    /// 3. else, when the stretch runs past the tenures the overall curve
    ///    supports (the account is about as old as the oldest accounts in the
    ///    data, so the curve's tail rests on a handful of them, or on nobody
    ///    past the last row), the overall curve read at the oldest tenure it
    ///    supports, `last − horizon` (never below 0), where `last` is the last
    ///    row with [`MIN_AT_RISK`] at risk: such an account is scored like the
    ///    oldest accounts the data can vouch for;
    /// 4. else (a thin stretch inside the supported range, or a curve that
    ///    never has [`MIN_AT_RISK`] at risk) the overall curve as it is.
    pub fn supported_curve(
        &self,
        level: Option<&str>,
        tenure: f64,
        horizon: f64,
    ) -> (&CurveReader<'a>, f64) {
        let min = MIN_AT_RISK;
        let end = tenure + horizon;
        let stratum = self.curve_for(level);
        if stratum.min_at_risk(tenure, end) >= min {
            return (stratum, tenure);
        }
        let overall = &self.overall;
        if overall.min_at_risk(tenure, end) >= min {
            return (overall, tenure);
        }
        match overall.last_time_with_at_risk(min) {
            Some(last) if end > last => (overall, (last - horizon).max(0.0).min(tenure)),
            _ => (overall, tenure),
        }
    }

    /// The account's own curve: the baseline reading for the
    /// [`REMAINING_WINDOW_DAYS`] ahead ([`Self::supported_curve`]) and θ,
    /// the hazard multiplier that makes its churn over the model's horizon
    /// equal `risk` (`(risk, horizon days)`; `None`: the baseline as it is).
    /// Every figure of the account is read off this one curve, so
    /// `survival_90d`, `expected_days_remaining` and the curve the page
    /// draws tell one story.
    pub fn read(
        &self,
        level: Option<&str>,
        tenure: f64,
        risk: Option<(f64, f64)>,
    ) -> Reading<'_, 'a> {
        let tenure = if tenure > 0.0 { tenure } else { 0.0 };
        let (curve, t) = self.supported_curve(level, tenure, REMAINING_WINDOW_DAYS);
        let theta = match risk {
            None => 1.0,
            Some((r, horizon)) => {
                let base = curve.conditional_survival_ph(t, horizon, 1.0);
                let r = r.clamp(0.0, 1.0);
                if !(base < 1.0) || r.is_nan() {
                    f64::NAN
                } else if base <= 0.0 {
                    // Everyone at this tenure churned within the horizon:
                    // the baseline already says "gone"; keep its shape.
                    1.0
                } else {
                    (1.0 - r).ln() / base.ln()
                }
            }
        };
        Reading {
            curve,
            stratum: !std::ptr::eq(curve, &self.overall),
            t,
            theta,
            risk,
        }
    }

    /// `survival_90d` and `expected_days_remaining` for an account at
    /// `tenure` days in `level` of the queue stratifier, whose churn risk
    /// over `horizon` days is `risk` (`None`: no churn model, the plan
    /// curve as it is), both read off [`Self::read`]'s curve.
    ///
    /// `survival_90d` is S₀(90 | t)^θ, so `1 − churn_risk` when the horizon
    /// is 90 days; `expected_days_remaining` is ∫₀^730 S₀(u | t)^θ du,
    /// clamped into [0, 730] against rounding.
    pub fn predict(
        &self,
        level: Option<&str>,
        tenure: f64,
        risk: Option<(f64, f64)>,
    ) -> AccountSurvival {
        let r = self.read(level, tenure, risk);
        AccountSurvival {
            curve_level: level.filter(|_| r.stratum).map(str::to_string),
            survival_90d: r.survival(SURVIVAL_HORIZON_DAYS),
            expected_days_remaining: r.expected_days(),
            hazard_ratio: r.theta,
            curve_tenure: r.t,
        }
    }
}

/// One account's own survival curve (see [`SurvivalReader::read`]).
pub struct Reading<'r, 'a> {
    curve: &'r CurveReader<'a>,
    /// Whether `curve` is the level's own (else the overall curve).
    stratum: bool,
    /// The tenure the baseline is read at: the account's, or the oldest the
    /// curve supports for accounts older than that.
    pub t: f64,
    /// θ; NaN where the baseline has no churn over the horizon ahead, and
    /// the curve is the constant hazard with the same risk.
    pub theta: f64,
    risk: Option<(f64, f64)>,
}

impl Reading<'_, '_> {
    /// P(still paying in `u` days), u within the [`REMAINING_WINDOW_DAYS`].
    pub fn survival(&self, u: f64) -> f64 {
        if self.theta.is_nan() {
            let (r, h) = self.risk.unwrap_or((0.0, 1.0));
            return (1.0 - r.clamp(0.0, 1.0)).powf(u / h);
        }
        self.curve
            .conditional_survival_ph(self.t, u, self.theta)
            .clamp(0.0, 1.0)
    }

    /// Expected paid days in the next [`REMAINING_WINDOW_DAYS`].
    pub fn expected_days(&self) -> f64 {
        let w = REMAINING_WINDOW_DAYS;
        let e = if self.theta.is_nan() {
            // ∫₀^W (1 − r)^(u / H) du in closed form.
            let (r, h) = self.risk.unwrap_or((0.0, 1.0));
            let k = -(1.0 - r.clamp(0.0, 1.0)).ln() / h;
            if k > 0.0 {
                (1.0 - (-k * w).exp()) / k
            } else {
                w
            }
        } else {
            self.curve
                .expected_remaining_ph(self.t, self.t + w, self.theta)
        };
        e.clamp(0.0, w)
    }
}

/// How per-account survival did on the held-out months of the backtest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurvivalValidation {
    /// Held-out account-months scored.
    pub rows: usize,
    /// Of those, churns observed before the follow-up ended.
    pub churns: usize,
    /// Follow-up runs from each month end to this day (the data's end).
    pub follow_up_end: String,
    /// Harrell's concordance of `expected_days_remaining` with the observed
    /// time to churn, per method (lifelines' `concordance_index`).
    pub concordance: Vec<MethodFigure>,
    /// Predicted against observed churn (Kaplan–Meier within score deciles)
    /// at 90 and 180 days, per method.
    pub calibration: Vec<HorizonFigures>,
}

/// One method's concordance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodFigure {
    /// `behaviour + plan curve` (what the queue prints), `plan curve only`,
    /// or `churn risk` (the logistic score alone, for reference).
    pub method: String,
    pub concordance: Option<f64>,
}

/// One method's calibration at one horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HorizonFigures {
    pub method: String,
    pub horizon_days: u32,
    pub calibration: HorizonCalibration,
}

/// Names of the methods in [`SurvivalValidation`].
pub const BEHAVIOUR: &str = "behaviour + plan curve";
pub const PLAN_ONLY: &str = "plan curve only";
pub const RISK_ONLY: &str = "churn risk";

/// Timelines from the billing lines known on `now`: lines that start after
/// it are dropped and end dates after it are not yet known (open), so a
/// survival model fitted on them to `now` reads nothing from later.
pub fn timelines_as_of(tables: &Tables, grace_days: u32, now: Day) -> Vec<Timeline> {
    use rayon::prelude::*;
    (0..tables.n_accounts())
        .into_par_iter()
        .map(|a| {
            let lines: Vec<crate::io::load::Line> = tables
                .lines
                .of_as_of(a, now)
                .iter()
                .map(|l| crate::io::load::Line {
                    end: l.end.filter(|&e| e <= now),
                    ..*l
                })
                .collect();
            Timeline::build(&lines, grace_days)
        })
        .collect()
}

/// Validates per-account survival on the backtest's held-out rows `ho`
/// (frame as of month ends after `now`), with `churn_probs` from the
/// backtest churn model over `horizon_days` (`None` when it was skipped).
/// The baseline curves are fitted as of `now` only ([`timelines_as_of`]);
/// outcomes are followed to `end`: a churn at `c` is observed when
/// `c + grace <= end`, else the row is censored at `min(c, end)`.
#[allow(clippy::too_many_arguments)]
pub fn validate(
    tables: &Tables,
    timelines: &[Timeline],
    spec: &FeatureSpec,
    ho: &FeatureFrame,
    churn_probs: Option<&[f64]>,
    now: Day,
    end: Day,
    horizon_days: u32,
) -> SurvivalValidation {
    let grace = spec.params.grace_days as Day;
    let known = timelines_as_of(tables, spec.params.grace_days, now);
    let fitted = SurvivalModel::fit(tables, &known, spec, now);
    let model = fitted.reader();
    let n = ho.n_rows();
    let (mut times, mut observed) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut preds: [Vec<[f64; 3]>; 2] = [Vec::with_capacity(n), Vec::with_capacity(n)];
    for i in 0..n {
        let (a, s) = (ho.account[i] as usize, ho.as_of[i]);
        let view = crate::account::AccountView::new(tables, timelines, a, s);
        let level = fitted
            .queue_stratifier
            .as_deref()
            .map(|q| stratum_level(spec, q, view.attribute(q)));
        let tenure = view.tenure_days();
        let risk = churn_probs.map(|p| (p[i], horizon_days as f64));
        for (k, r) in [risk, None].into_iter().enumerate() {
            let own = model.read(level, tenure, r);
            preds[k].push([
                own.expected_days(),
                1.0 - own.survival(90.0),
                1.0 - own.survival(180.0),
            ]);
        }
        let (t, o) = match timelines[a].churn_after(s) {
            Some(c) if c + grace <= end => (c - s, true),
            Some(c) if c <= end => (c - s, false),
            _ => (end - s, false),
        };
        times.push(t as f64);
        observed.push(o);
    }
    let col = |k: usize, j: usize| preds[k].iter().map(|p| p[j]).collect::<Vec<f64>>();
    // Without a churn model the queue reads the plan curve alone: one method.
    let methods: &[(usize, &str)] = if churn_probs.is_some() {
        &[(0, BEHAVIOUR), (1, PLAN_ONLY)]
    } else {
        &[(1, PLAN_ONLY)]
    };
    let mut concordance: Vec<MethodFigure> = methods
        .iter()
        .map(|&(k, method)| MethodFigure {
            method: method.into(),
            concordance: concordance_index(&times, &col(k, 0), &observed),
        })
        .collect();
    if let Some(p) = churn_probs {
        let neg: Vec<f64> = p.iter().map(|x| -x).collect();
        concordance.push(MethodFigure {
            method: RISK_ONLY.into(),
            concordance: concordance_index(&times, &neg, &observed),
        });
    }
    let mut calibration = Vec::new();
    for &(k, method) in methods {
        for (j, h) in [(1, 90u32), (2, 180)] {
            calibration.push(HorizonFigures {
                method: method.into(),
                horizon_days: h,
                calibration: horizon_calibration(&col(k, j), &times, &observed, h as f64, 10),
            });
        }
    }
    SurvivalValidation {
        rows: n,
        churns: observed.iter().filter(|&&o| o).count(),
        follow_up_end: format_day(end),
        concordance,
        calibration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load::{Line, NONE};

    fn timeline(start: Day, end: Option<Day>) -> Timeline {
        let line = Line {
            start,
            end,
            mrr: 10.0,
            plan: NONE,
            seats: f64::NAN,
        };
        Timeline::build(&[line], 30)
    }

    #[test]
    fn lifetimes_enter_at_their_tenure_on_the_window_start() {
        // Window opens on day 100, data end on day 300.
        let tls = [
            timeline(0, None),        // paying since 0: enters at 100, censored at 300
            timeline(50, Some(150)),  // enters at 50, churns at tenure 100
            timeline(10, Some(90)),   // ended before the window: left out
            timeline(10, Some(100)),  // not paying on day 100: left out
            timeline(200, Some(250)), // created in the window: entry 0
            timeline(100, None),      // first paid on the window's first day: entry 0
            timeline(400, None),      // after the end: not in the sample
            timeline(20, Some(101)),  // paying on day 100, churns the next day
        ];
        let got = lifetimes(&tls, 100, 300, 0);
        let want = [
            (0, 100.0, 300.0, false, 0),
            (1, 50.0, 100.0, true, 50),
            (4, 0.0, 50.0, true, 200),
            (5, 0.0, 200.0, false, 100),
            (7, 80.0, 81.0, true, 20),
        ];
        let rows: Vec<(usize, f64, f64, bool, Day)> = got
            .rows
            .iter()
            .map(|&(a, l, s)| (a, l.entry, l.duration, l.observed, s))
            .collect();
        assert_eq!(rows, want);
        assert_eq!(got.entered_late, 3);
        assert_eq!(got.ended_before_window, 2);
        // A window start at or before every first paid day is the plain fit.
        let plain = lifetimes(&tls, 0, 300, 0);
        assert!(plain.rows.iter().all(|r| r.1.entry == 0.0));
        assert_eq!((plain.rows.len(), plain.ended_before_window), (7, 0));
    }

    /// `n` lifetimes observed from 0: durations 10, 17, 24, … wrapping at
    /// 600, every third a churn.
    fn sample(n: usize) -> Vec<Lifetime> {
        (0..n)
            .map(|i| Lifetime::from_start(10.0 + ((i * 7) % 590) as f64, i % 3 == 0))
            .collect()
    }

    fn model(overall: &[Lifetime], pro: &[Lifetime]) -> SurvivalModel {
        SurvivalModel {
            overall: KmCurve::fit(overall),
            strata: vec![Stratum {
                stratifier: PLAN.to_string(),
                level: "Pro".to_string(),
                curve: KmCurve::fit(pro),
            }],
            log_rank: vec![],
            summaries: vec![],
            queue_stratifier: Some(PLAN.to_string()),
            tau_days: 599.0,
            window: None,
        }
    }

    /// The reader sums logs where the curve multiplies factors: equal to
    /// rounding.
    fn close(got: f64, want: f64) {
        assert!(
            (got - want).abs() < 1e-12 * (1.0 + want.abs()),
            "{got} vs {want}"
        );
    }

    /// `n` lifetimes observed from 0, durations 10 … 1999 days, every third
    /// a churn: long enough for a 730-day reading from tenure 100.
    fn long(n: usize) -> Vec<Lifetime> {
        (0..n)
            .map(|i| Lifetime::from_start(10.0 + ((i * 7) % 1990) as f64, i % 3 == 0))
            .collect()
    }

    #[test]
    fn predict_uses_the_stratum_only_where_enough_are_at_risk() {
        let all = long(1200);
        // A big stratum: its own curve when 50 are at risk over all 730 days ahead.
        let big = model(&all, &all[..600]);
        let pro = &big.strata[0].curve;
        assert!(pro.min_at_risk(100.0, 830.0) >= MIN_AT_RISK);
        let got = big.reader().predict(Some("Pro"), 100.0, None);
        close(got.survival_90d, pro.conditional_survival(100.0, 90.0));
        close(
            got.expected_days_remaining,
            pro.expected_remaining(100.0, 830.0),
        );
        assert_eq!(got.curve_level.as_deref(), Some("Pro"));
        // A stratum of 20: the overall curve instead, for every figure.
        let small = model(&all, &all[..20]);
        let got = small.reader().predict(Some("Pro"), 100.0, None);
        close(
            got.survival_90d,
            small.overall.conditional_survival(100.0, 90.0),
        );
        close(
            got.expected_days_remaining,
            small.overall.expected_remaining(100.0, 830.0),
        );
        assert_eq!(got.curve_level, None);
        // An unknown level or no level: the overall curve.
        assert_eq!(
            small.reader().predict(None, 100.0, None),
            small.reader().predict(Some("Gold"), 100.0, None)
        );
    }

    #[test]
    fn predict_reads_old_accounts_at_the_oldest_supported_tenure() {
        let m = model(&sample(400), &[]);
        let last = m.overall.last_time_with_at_risk(MIN_AT_RISK).unwrap();
        assert!(
            last < 599.0,
            "the curve must stop short of 730 days for this test, got {last}"
        );
        // 730 days ahead runs past what the curve supports for everyone:
        // read at max(0, last − 730) = 0, the same curve for every figure.
        for tenure in [last - 50.0, 300.0, 599.0, 5000.0] {
            let got = m.reader().predict(Some("Pro"), tenure, None);
            close(got.survival_90d, m.overall.conditional_survival(0.0, 90.0));
            close(
                got.expected_days_remaining,
                m.overall.expected_remaining(0.0, 730.0),
            );
            assert_eq!(got.curve_tenure, 0.0);
        }
    }

    #[test]
    fn predict_stays_in_range() {
        let m = model(&sample(400), &sample(60));
        for tenure in (0..3000).step_by(7).map(f64::from).chain([-5.0, f64::NAN]) {
            for level in [Some("Pro"), None] {
                let got = m.reader().predict(level, tenure, None);
                assert!((0.0..=1.0).contains(&got.survival_90d), "{tenure}: {got:?}");
                assert!(
                    (0.0..=REMAINING_WINDOW_DAYS).contains(&got.expected_days_remaining),
                    "{tenure}: {got:?}"
                );
            }
        }
        // A model whose curve never has 50 at risk is used as it is.
        let tiny = model(&sample(30), &[]);
        assert_eq!(
            tiny.reader().predict(None, 10.0, None).survival_90d,
            tiny.overall.conditional_survival(10.0, 90.0)
        );
    }

    fn lines_timeline(lines: &[(Day, Option<Day>)]) -> Timeline {
        let lines: Vec<Line> = lines
            .iter()
            .map(|&(start, end)| Line {
                start,
                end,
                mrr: 10.0,
                plan: NONE,
                seats: f64::NAN,
            })
            .collect();
        Timeline::build(&lines, 30)
    }

    #[test]
    fn a_return_after_churn_starts_a_new_lifetime() {
        // Paid 0..100, back 200..260 (a 100-day gap: churn and return),
        // then paid from 300 on. Data to 400, grace 30.
        let tls = [lines_timeline(&[
            (0, Some(100)),
            (200, Some(260)),
            (300, None),
        ])];
        let got = lifetimes(&tls, 0, 400, 30);
        let rows: Vec<(f64, f64, bool, Day)> = got
            .rows
            .iter()
            .map(|&(_, l, s)| (l.entry, l.duration, l.observed, s))
            .collect();
        assert_eq!(
            rows,
            [
                (0.0, 100.0, true, 0),
                (0.0, 60.0, true, 200),
                (0.0, 100.0, false, 300)
            ]
        );
    }

    #[test]
    fn a_churn_is_counted_only_once_its_grace_days_are_seen() {
        // Ends on day 380; data to 400 with 30 grace days: a payment could
        // still resume by 410, so it is censored at 380, not a churn.
        let tls = [lines_timeline(&[(100, Some(380))])];
        let got = lifetimes(&tls, 0, 400, 30);
        assert_eq!(
            got.rows[0].1,
            Lifetime {
                entry: 0.0,
                duration: 280.0,
                observed: false
            }
        );
        let got = lifetimes(&tls, 0, 410, 30);
        assert!(got.rows[0].1.observed);
    }

    #[test]
    fn own_curve_agrees_with_the_churn_risk() {
        let m = model(&sample(400), &sample(400));
        let plain = m.reader().predict(Some("Pro"), 100.0, None);
        assert_eq!(plain.hazard_ratio, 1.0);
        for risk in [0.01, 0.05, 0.2, 0.6, 0.95] {
            let got = m.reader().predict(Some("Pro"), 100.0, Some((risk, 90.0)));
            assert!(
                (1.0 - got.survival_90d - risk).abs() < 1e-12,
                "{risk}: {got:?}"
            );
        }
        // More risk, fewer days left; the plan curve sits in between.
        let days = |r: f64| {
            m.reader()
                .predict(Some("Pro"), 100.0, Some((r, 90.0)))
                .expected_days_remaining
        };
        assert!(days(0.01) > days(0.05) && days(0.05) > days(0.2) && days(0.2) > days(0.6));
        let base = 1.0 - plain.survival_90d;
        assert!(days(base * 0.5) > plain.expected_days_remaining);
        assert!(days((base * 2.0).min(0.99)) < plain.expected_days_remaining);
        // The risk of the plan curve itself gives the plan curve back.
        let same = m.reader().predict(Some("Pro"), 100.0, Some((base, 90.0)));
        assert!((same.hazard_ratio - 1.0).abs() < 1e-9);
        assert!((same.expected_days_remaining - plain.expected_days_remaining).abs() < 1e-6);
    }

    #[test]
    fn a_baseline_without_churn_ahead_uses_the_constant_hazard() {
        // Nobody churns: S₀ = 1 everywhere, θ is undefined.
        let flat: Vec<Lifetime> = (0..200)
            .map(|i| Lifetime::from_start(500.0 + i as f64, false))
            .collect();
        let m = model(&flat, &[]);
        let got = m.reader().predict(None, 10.0, Some((0.1, 90.0)));
        assert!(got.hazard_ratio.is_nan());
        assert!((got.survival_90d - 0.9).abs() < 1e-12);
        // ∫₀^730 0.9^(u/90) du.
        let k = -(0.9f64).ln() / 90.0;
        assert!((got.expected_days_remaining - (1.0 - (-k * 730.0).exp()) / k).abs() < 1e-9);
    }

    #[test]
    fn expected_remaining_ph_is_the_integral_of_the_powered_steps() {
        // Survival 1 until 10, 0.5 until 20, 0.25 after; from t = 0 to 30
        // with θ = 2: 10·1 + 10·0.25 + 10·0.0625.
        let lts = [
            Lifetime::from_start(10.0, true),
            Lifetime::from_start(20.0, true),
            Lifetime::from_start(40.0, false),
            Lifetime::from_start(40.0, false),
        ];
        let c = KmCurve::fit(&lts);
        assert_eq!(c.survival_at(15.0), 0.75);
        let want = 10.0 + 10.0 * 0.75f64.powi(2) + 10.0 * (0.75f64 * 2.0 / 3.0).powi(2);
        assert!((c.expected_remaining_ph(0.0, 30.0, 2.0) - want).abs() < 1e-12);
        assert_eq!(
            c.expected_remaining_ph(0.0, 30.0, 1.0),
            c.expected_remaining(0.0, 30.0)
        );
    }

    #[test]
    fn survival_model_written_before_delayed_entry_reads_and_writes_unchanged() {
        // Bundles are checked against a hash of their re-serialized content,
        // so a bundle without the new fields must serialize without them.
        let mut m = model(&sample(100), &sample(10));
        m.overall.entered.clear();
        m.strata[0].curve.entered.clear();
        let text = serde_json::to_string(&m).unwrap();
        assert!(
            !text.contains("entered") && !text.contains("window"),
            "{text}"
        );
        let back: SurvivalModel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
        // And a new one keeps them.
        let mut new = model(&sample(100), &sample(10));
        new.window = Some(ObservationWindow {
            observed_from: "2024-01-01".into(),
            entered_late: 3,
            ended_before_window: 1,
            first_churn: None,
        });
        let back: SurvivalModel =
            serde_json::from_str(&serde_json::to_string(&new).unwrap()).unwrap();
        assert_eq!(back, new);
    }
}
