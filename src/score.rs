//! Scoring: a bundle applied to the data as of a date. Features come from
//! `snapshot::features_as_of` with the bundle's frozen spec (the path
//! training used); rows are scored in rayon batches joined in input order,
//! so results do not depend on thread count or batch size.

use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::account::AccountView;
use crate::bundle::Bundle;
use crate::dates::{format_day, Day};
use crate::drift::Histogram;
use crate::error::{Error, Result};
use crate::io::load::Tables;
use crate::models::lifetime::stratum_level;
use crate::queue::{say, suggested_play, QueueRow, Reasons, Subject};
use crate::snapshot::{features_as_of, timelines, FeatureFrame, FeatureIndex};
use crate::timeline::Timeline;
use crate::train::rfm_of;

pub use crate::models::lifetime::REMAINING_WINDOW_DAYS;

/// Checked scoring parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreParams {
    pub as_of: Day,
    pub batch_size: usize,
}

impl ScoreParams {
    pub fn new(as_of: Day, batch_size: usize) -> Result<ScoreParams> {
        if batch_size == 0 {
            return Err(Error::InvalidParam("batch_size must be > 0, got 0".into()));
        }
        Ok(ScoreParams { as_of, batch_size })
    }
}

/// PSI of one feature against its training distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    pub feature: String,
    pub psi: f64,
}

/// Where time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    pub features_s: f64,
    pub scoring_s: f64,
}

/// The queue and what a manifest needs to say about it.
#[derive(Debug, Clone)]
pub struct Scored {
    pub rows: Vec<QueueRow>,
    pub accounts: usize,
    pub inactive: usize,
    pub drift: Vec<FeatureDrift>,
    /// The batch's counts on the bundle's drift bins, one per feature
    /// `drift` lists, in that order: what shards add up (see `shard`).
    pub histograms: Vec<Histogram>,
    pub timings: Timings,
    pub has_names: bool,
    pub has_owner: bool,
    /// The feature rows behind the queue (input order, before ranking).
    pub frame: FeatureFrame,
}

/// Scores every account active at `p.as_of`.
pub fn score(tables: &Tables, bundle: &Bundle, p: ScoreParams) -> Result<Scored> {
    let t0 = Instant::now();
    let tl = timelines(tables, bundle.spec.params.grace_days);
    let frame = features_as_of(tables, &tl, &[p.as_of], &bundle.spec)?;
    let features_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let n = frame.n_rows();
    let lookup = Lookup::new(bundle, &frame, p.as_of);
    // An indexed collect writes each row into its place in the one output
    // vector (input order, whatever the threads): no per-batch vectors to
    // copy out of, which at a million rows of some 400 bytes was a second
    // copy of the queue and its page faults.
    // Each worker reads feature rows into one buffer of its own.
    let mut rows: Vec<QueueRow> = (0..n)
        .into_par_iter()
        .with_min_len(p.batch_size)
        .map_init(Vec::new, |row, i| {
            score_row(tables, bundle, &tl, &frame, &lookup, i, p.as_of, row)
        })
        .collect();
    // Ranking moves the rows on one thread; the drift counts read only the
    // feature columns, so they are taken on the other meanwhile (both were
    // serial time between scoring and writing).
    let ((), histograms) = rayon::join(
        || rank(&mut rows),
        || {
            bundle
                .distributions
                .par_iter()
                .filter_map(|d| frame.column(&d.feature).map(|c| d.histogram(c)))
                .collect::<Vec<Histogram>>()
        },
    );
    let drift = drift_of(bundle, &histograms);
    Ok(Scored {
        rows,
        accounts: tables.n_accounts(),
        inactive: tables.n_accounts() - n,
        drift,
        histograms,
        timings: Timings {
            features_s,
            scoring_s: t1.elapsed().as_secs_f64(),
        },
        has_names: tables.accounts.names.iter().any(Option::is_some),
        has_owner: tables.accounts.attribute("owner").is_some(),
        frame,
    })
}

/// Ranks the queue: ARR at risk descending (without a churn model, NaN
/// everywhere, the MRR decides), then MRR descending, then account id; a
/// total order, so the ranks do not depend on the rows' order (one run or
/// merged shards give the same queue). Sets `rank` from 1.
pub fn rank(rows: &mut [QueueRow]) {
    let key = |r: &QueueRow| {
        if r.arr_at_risk.is_nan() {
            f64::NEG_INFINITY
        } else {
            r.arr_at_risk
        }
    };
    // Sort the keys with positions, not the rows: a queue row is some 400
    // bytes, and a merge sort moves each element about log2(n) times (5 GB
    // at 674k rows); the keys sit together, and rows are read only on ties.
    let mut keys: Vec<(f64, f64, u32)> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (key(r), r.mrr, i as u32))
        .collect();
    // Stable as the serial sort was, on a total order (account ids are
    // unique): the same order on any number of threads.
    keys.par_sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| b.1.total_cmp(&a.1))
            .then_with(|| {
                rows[a.2 as usize]
                    .account_id
                    .cmp(&rows[b.2 as usize].account_id)
            })
    });
    permute(rows, keys.into_iter().map(|k| k.2).collect());
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i as u32 + 1;
    }
}

/// PSI per feature from a batch's histograms on the bundle's bins (one
/// run's, or the sum of shards'): the same numbers either way.
pub fn drift_of(bundle: &Bundle, histograms: &[Histogram]) -> Vec<FeatureDrift> {
    histograms
        .iter()
        .filter_map(|h| {
            let d = bundle
                .distributions
                .iter()
                .find(|d| d.feature == h.feature)?;
            Some(FeatureDrift {
                feature: h.feature.clone(),
                psi: d.psi_of(h),
            })
        })
        .collect()
}

/// Reorders `rows` in place so that row `k` is the old row `order[k]`
/// (`order` a permutation), one swap per row.
fn permute<T>(rows: &mut [T], mut order: Vec<u32>) {
    for start in 0..rows.len() {
        let mut cur = start;
        loop {
            let next = order[cur] as usize;
            order[cur] = cur as u32;
            if next == start || next == cur {
                break;
            }
            rows.swap(cur, next);
            cur = next;
        }
    }
}

/// Feature positions by name, found once per run rather than by scanning
/// the names for every account (drivers and RFM look features up by name a
/// dozen times per row), and each model's reason groups.
struct Lookup<'a> {
    index: FeatureIndex<'a>,
    /// The survival curves, prepared once for reading every account.
    survival: crate::models::lifetime::SurvivalReader<'a>,
    /// Each model's outputs grouped into what they say about an account.
    churn_reasons: Option<Reasons>,
    upgrade_reasons: Option<Reasons>,
    /// The as-of date as the queue writes it, formatted once.
    as_of: String,
}

impl<'a> Lookup<'a> {
    fn new(b: &'a Bundle, frame: &'a FeatureFrame, as_of: Day) -> Lookup<'a> {
        let index = frame.index();
        let reasons = |t: &crate::bundle::Target| -> Reasons {
            let silent: Vec<bool> = t
                .model
                .feature_names
                .iter()
                .map(|n| t.suppressors.contains(n))
                .collect();
            Reasons::new(&t.model.feature_names, &silent)
        };
        Lookup {
            index,
            survival: b.survival.reader(),
            churn_reasons: b.churn.as_ref().map(reasons),
            upgrade_reasons: b.upgrade.as_ref().map(reasons),
            as_of: format_day(as_of),
        }
    }
}

/// One queue row from feature row `i`; pure, so batches can run anywhere
/// (`row` is scratch space for the feature values, whatever it held).
#[allow(clippy::too_many_arguments)]
fn score_row(
    tables: &Tables,
    b: &Bundle,
    tl: &[Timeline],
    frame: &FeatureFrame,
    lookup: &Lookup,
    i: usize,
    as_of: Day,
    row: &mut Vec<f64>,
) -> QueueRow {
    let a = frame.account[i] as usize;
    frame.row_into(i, row);
    let row = &row[..];
    let value = |name: &str| lookup.index.value(row, name);
    let view = AccountView::new(tables, tl, a, as_of);
    let attribute = |name: &str| view.attribute(name);
    let say = |s: &Subject, out: &mut String| say(s, &value, &attribute, out);
    // One transform of the row per model gives both the score and the
    // contributions the drivers are read from.
    let (churn, churn_parts) = scored_by(b.churn.as_ref(), row);
    let (upgrade, upgrade_parts) = scored_by(b.upgrade.as_ref(), row);
    let mrr = value("mrr").unwrap_or(0.0);
    let tier = |x: Option<(&crate::bundle::Target, f64)>| x.map_or("", |(t, p)| t.tiers.of(p));
    let (risk_tier, upgrade_tier) = (tier(churn), tier(upgrade));
    let [r, f, m] = rfm_of(&value);
    let rfm = &b.segments.model;
    let stratifier = b.survival.queue_stratifier.as_deref();
    let level = stratifier.map(|q| stratum_level(&b.spec, q, view.attribute(q)));
    let tenure = view.tenure_days();
    let horizon = b.settings.horizon_days as f64;
    let survival = lookup
        .survival
        .predict(level, tenure, churn.map(|(_, p)| (p, horizon)));
    let owner = tables
        .accounts
        .attribute("owner")
        .and_then(|o| o.value(a).map(str::to_string));
    let reasons = |rs: &Option<Reasons>, parts: &Option<Vec<f64>>| match (rs, parts) {
        (Some(rs), Some(parts)) => rs.top(parts, 3, &say),
        _ => String::new(),
    };
    let churn_risk = churn.map_or(f64::NAN, |(_, p)| p);
    QueueRow {
        rank: 0,
        account_id: tables.accounts.ids[a].clone(),
        name: tables.accounts.names[a].clone(),
        owner,
        as_of: lookup.as_of.clone(),
        mrr,
        churn_risk,
        risk_tier: risk_tier.to_string(),
        arr_at_risk: churn_risk * mrr * 12.0,
        upgrade_propensity: upgrade.map_or(f64::NAN, |(_, p)| p),
        upgrade_tier: upgrade_tier.to_string(),
        rfm_code: rfm.code(r, f, m),
        segment: rfm.segment_name(rfm.segment(r, f, m)).to_string(),
        survival_90d: survival.survival_90d,
        expected_days_remaining: survival.expected_days_remaining,
        churn_drivers: reasons(&lookup.churn_reasons, &churn_parts),
        upgrade_drivers: reasons(&lookup.upgrade_reasons, &upgrade_parts),
        suggested_play: suggested_play(risk_tier, upgrade_tier).to_string(),
        model_version: b.bundle_id.clone(),
        tenure_days: tenure,
        survival_level: survival.curve_level.clone(),
        hazard_ratio: survival.hazard_ratio,
        curve_tenure: survival.curve_tenure,
        // Filled in by `movers::apply` when there is a previous run.
        prev_churn_risk: f64::NAN,
        churn_risk_change: f64::NAN,
        prev_risk_tier: String::new(),
        movement: None,
    }
}

/// A model's probability for a feature row and its log-odds contributions
/// by output index, from one transform of the row (`None`s without the
/// model).
#[allow(clippy::type_complexity)]
fn scored_by<'b>(
    target: Option<&'b crate::bundle::Target>,
    row: &[f64],
) -> (Option<(&'b crate::bundle::Target, f64)>, Option<Vec<f64>>) {
    match target {
        Some(t) => {
            let (p, parts) = t.model.predict_proba_and_contributions(row);
            (Some((t, p)), Some(parts))
        }
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_puts_each_row_where_the_order_says() {
        let rows: Vec<char> = "abcdefg".chars().collect();
        for order in [
            vec![0u32, 1, 2, 3, 4, 5, 6],
            vec![6, 5, 4, 3, 2, 1, 0],
            vec![2, 0, 1, 5, 3, 4, 6],
            vec![1, 2, 3, 4, 5, 6, 0],
        ] {
            let want: Vec<char> = order.iter().map(|&i| rows[i as usize]).collect();
            let mut got = rows.clone();
            permute(&mut got, order.clone());
            assert_eq!(got, want, "{order:?}");
        }
    }

    /// One long cycle, a 2-cycle and a fixed point in one order, at a size
    /// where a slip in following the cycles would show.
    #[test]
    fn permute_is_exact_with_long_and_short_cycles() {
        // A stride coprime to 997 walks one cycle through the first 997
        // rows; the last three are a 2-cycle and a fixed point.
        let mut order: Vec<u32> = (0..997).map(|k| (k * 389 + 5) % 997).collect();
        order.extend([998, 997, 999]);
        let rows: Vec<String> = (0..1000).map(|i| format!("row {i}")).collect();
        let want: Vec<String> = order.iter().map(|&i| rows[i as usize].clone()).collect();
        let mut got = rows;
        permute(&mut got, order);
        assert_eq!(got, want);
    }
}
