//! Account lifetimes and the stratified Kaplan–Meier model built on them:
//! a lifetime runs from the first paid day to the churn date (end of the
//! last merged paid period), censored at the data's end while active, and is
//! observed only from the start of the observation window (delayed entry).
//! This module decides who is in which stratum, when observation starts, and
//! which curve an account is scored on; the curve maths is in `survival`.
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

use serde::{Deserialize, Serialize};

use crate::dates::{format_day, Day};
use crate::io::load::{Tables, NONE};
use crate::models::survival::{log_rank, KmCurve, Lifetime, LogRank};
use crate::snapshot::{FeatureSpec, PLAN};
use crate::timeline::{seats_and_plan_at, Timeline};

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
    /// (account index, lifetime, first paid day).
    pub rows: Vec<(usize, Lifetime, Day)>,
    /// Lifetimes that began before the window start and enter late.
    pub entered_late: u64,
    /// Lifetimes that ended on or before the window start, left out.
    pub ended_before_window: u64,
}

/// The lifetime of every account that was ever paid by `end`, observed from
/// `window_start`: an account first paid before it enters at its tenure that
/// day (`entry = window_start − first paid day`), one first paid on it or
/// later at 0.
///
/// A lifetime that ended on or before `window_start` (churn date <= window
/// start: the account was not paying on that day) is left out and counted:
/// under delayed entry it would be at risk on the empty (entry, duration].
/// Keeping it with entry = duration would count a churn that nobody in the
/// export could have been at risk for; such accounts are in an export only by
/// accident of how it was cut (lifelines raises on entry > duration).
pub fn lifetimes(timelines: &[Timeline], window_start: Day, end: Day) -> Lifetimes {
    let mut out = Lifetimes::default();
    for (a, tl) in timelines.iter().enumerate() {
        let Some(start) = tl.first_active_day().filter(|&s| s <= end) else {
            continue;
        };
        let (stop, observed) = match tl.churn_date() {
            Some(c) if c <= end => (c, true),
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
    out
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
    /// on the first paid day) and of each categorical attribute, using the
    /// frozen levels of `spec` (other values are `other`). Lifetimes are
    /// observed from [`observation_start`] (delayed entry) and censored at
    /// `end`.
    pub fn fit(
        tables: &Tables,
        timelines: &[Timeline],
        spec: &FeatureSpec,
        end: Day,
    ) -> SurvivalModel {
        let window_start = observation_start(tables, end);
        let sample = lifetimes(timelines, window_start, end);
        let lts = &sample.rows;
        let all: Vec<Lifetime> = lts.iter().map(|x| x.1).collect();
        let overall = KmCurve::fit(&all);
        let mut strata = Vec::new();
        let mut tests = Vec::new();
        let mut summaries = vec![summarize("overall", "all", &overall)];
        for c in &spec.categoricals {
            let level_of = |a: usize, start: Day| -> usize {
                let value: Option<String> =
                    if c.attribute == PLAN && tables.accounts.attribute(PLAN).is_none() {
                        let (_, p) = seats_and_plan_at(tables.lines.of(a), start);
                        (p != NONE).then(|| tables.plans[p as usize].clone())
                    } else {
                        tables
                            .accounts
                            .attribute(&c.attribute)
                            .and_then(|at| at.values[a].clone())
                    };
                value
                    .and_then(|v| c.levels.iter().position(|l| *l == v))
                    .unwrap_or(c.levels.len())
            };
            let mut groups: Vec<Vec<Lifetime>> = vec![Vec::new(); c.levels.len() + 1];
            for &(a, lt, start) in lts {
                groups[level_of(a, start)].push(lt);
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

    /// The curve for an account in `level` of the queue stratifier, falling
    /// back to the overall curve.
    pub fn curve_for(&self, level: Option<&str>) -> &KmCurve {
        match (&self.queue_stratifier, level) {
            (Some(s), Some(l)) => self
                .strata
                .iter()
                .find(|x| &x.stratifier == s && x.level == l)
                .map_or(&self.overall, |x| &x.curve),
            _ => &self.overall,
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
    ) -> (&KmCurve, f64) {
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

    /// `survival_90d` and `expected_days_remaining` for an account at
    /// `tenure` days in `level` of the queue stratifier, each read from
    /// [`SurvivalModel::supported_curve`] for its own horizon.
    ///
    /// `survival_90d` is P(T > t + 90 | T > t); `expected_days_remaining` is
    /// ∫ₜ^{t+730} P(T > u | T > t) du, clamped into [0, 730] against rounding.
    pub fn predict(&self, level: Option<&str>, tenure: f64) -> AccountSurvival {
        let tenure = if tenure > 0.0 { tenure } else { 0.0 };
        let (c90, t90) = self.supported_curve(level, tenure, SURVIVAL_HORIZON_DAYS);
        let (cr, tr) = self.supported_curve(level, tenure, REMAINING_WINDOW_DAYS);
        let curve_level = level
            .filter(|_| !std::ptr::eq(c90, &self.overall))
            .map(str::to_string);
        AccountSurvival {
            curve_level,
            survival_90d: c90
                .conditional_survival(t90, SURVIVAL_HORIZON_DAYS)
                .clamp(0.0, 1.0),
            expected_days_remaining: cr
                .expected_remaining(tr, tr + REMAINING_WINDOW_DAYS)
                .clamp(0.0, REMAINING_WINDOW_DAYS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load::Line;

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
        let got = lifetimes(&tls, 100, 300);
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
        let plain = lifetimes(&tls, 0, 300);
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

    #[test]
    fn predict_uses_the_stratum_only_where_enough_are_at_risk() {
        let all = sample(400);
        // A big stratum: its own curve wherever it has 50 at risk.
        let big = model(&all, &all[..200]);
        let pro = &big.strata[0].curve;
        assert!(pro.min_at_risk(100.0, 190.0) >= MIN_AT_RISK);
        let got = big.predict(Some("Pro"), 100.0);
        assert_eq!(got.survival_90d, pro.conditional_survival(100.0, 90.0));
        // A stratum of 20: the overall curve instead, for both figures.
        let small = model(&all, &all[..20]);
        let got = small.predict(Some("Pro"), 100.0);
        assert_eq!(
            got.survival_90d,
            small.overall.conditional_survival(100.0, 90.0)
        );
        // 730 days ahead runs past every curve here (the longest lifetime is
        // 599 days): the overall curve read at max(0, last − 730) = 0.
        assert_eq!(
            got.expected_days_remaining,
            small.overall.expected_remaining(0.0, 730.0)
        );
        // An unknown level or no level: the overall curve.
        assert_eq!(
            small.predict(None, 100.0),
            small.predict(Some("Gold"), 100.0)
        );
    }

    #[test]
    fn predict_reads_old_accounts_at_the_oldest_supported_tenure() {
        let m = model(&sample(400), &[]);
        let last = m.overall.last_time_with_at_risk(MIN_AT_RISK).unwrap();
        assert!(last < 599.0);
        // Older than the curve supports for 90 days ahead: read at last − 90.
        for tenure in [last - 50.0, 599.0, 5000.0] {
            let got = m.predict(Some("Pro"), tenure);
            assert_eq!(
                got.survival_90d,
                m.overall.conditional_survival(last - 90.0, 90.0),
                "tenure {tenure}"
            );
            assert!(got.survival_90d < 1.0, "not the empty tail's 1");
        }
        // 730 days ahead is past the curve for everyone: read at tenure 0.
        assert_eq!(
            m.predict(None, 300.0).expected_days_remaining,
            m.overall.expected_remaining(0.0, 730.0)
        );
    }

    #[test]
    fn predict_stays_in_range() {
        let m = model(&sample(400), &sample(60));
        for tenure in (0..3000).step_by(7).map(f64::from).chain([-5.0, f64::NAN]) {
            for level in [Some("Pro"), None] {
                let got = m.predict(level, tenure);
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
            tiny.predict(None, 10.0).survival_90d,
            tiny.overall.conditional_survival(10.0, 90.0)
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
