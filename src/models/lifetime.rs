//! Account lifetimes and the stratified Kaplan–Meier model built on them:
//! a lifetime runs from the first paid day to the churn date (end of the
//! last merged paid period), censored at the data's end while active. The
//! curve maths is in `survival`; this module decides who is in which stratum.

use serde::{Deserialize, Serialize};

use crate::dates::Day;
use crate::io::load::{Tables, NONE};
use crate::models::survival::{log_rank, KmCurve, Lifetime, LogRank};
use crate::snapshot::{FeatureSpec, PLAN};
use crate::timeline::{seats_and_plan_at, Timeline};

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
    /// Log-rank test across the levels of each stratifier.
    pub log_rank: Vec<(String, Option<LogRank>)>,
    pub summaries: Vec<CurveSummary>,
    /// The stratifier used for per-account survival in the queue.
    pub queue_stratifier: Option<String>,
    /// Horizon used for expected remaining days (the longest observed time).
    pub tau_days: f64,
}

/// The lifetime of every account that was ever paid by `end`, and its index.
pub fn lifetimes(timelines: &[Timeline], end: Day) -> Vec<(usize, Lifetime, Day)> {
    timelines
        .iter()
        .enumerate()
        .filter_map(|(a, tl)| {
            let start = tl.first_active_day().filter(|&s| s <= end)?;
            let lt = match tl.churn_date() {
                Some(c) if c <= end => Lifetime::from_start((c - start) as f64, true),
                _ => Lifetime::from_start((end - start) as f64, false),
            };
            Some((a, lt, start))
        })
        .collect()
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
    /// frozen levels of `spec` (other values are `other`).
    pub fn fit(
        tables: &Tables,
        timelines: &[Timeline],
        spec: &FeatureSpec,
        end: Day,
    ) -> SurvivalModel {
        let lts = lifetimes(timelines, end);
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
            for &(a, lt, start) in &lts {
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
        SurvivalModel {
            overall,
            strata,
            log_rank: tests,
            summaries,
            queue_stratifier,
            tau_days,
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
}
