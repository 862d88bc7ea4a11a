//! The risk queue a success manager reads: one row per active account,
//! its scores, tiers, segment, survival, the reasons behind each score in
//! plain words, and a suggested play. Builds rows; `score` decides which.

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::thousands;

/// One account in the queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRow {
    pub rank: u32,
    pub account_id: String,
    pub name: Option<String>,
    pub owner: Option<String>,
    pub as_of: String,
    pub mrr: f64,
    pub churn_risk: f64,
    pub risk_tier: String,
    /// churn_risk x mrr x 12.
    pub arr_at_risk: f64,
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
    /// Days since the first paid day: the t at which `survival_90d` and
    /// `expected_days_remaining` read the survival curve. Not a queue column;
    /// the HTML report marks it on the account's curve.
    pub tenure_days: f64,
    /// Level of the bundle's queue stratifier (the plan) whose curve gave
    /// `survival_90d`; `None` or a level without a curve means the overall
    /// curve (`SurvivalModel::curve_for`). Not a queue column, as above.
    pub survival_level: Option<String>,
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
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{}", thousands(x.abs().round() as usize))
}

fn plural(n: f64, one: &str, many: &str) -> String {
    let n = n.round();
    format!("{} {}", n as i64, if n == 1.0 { one } else { many })
}

/// A feature in words with the account's own values; `value(name)` reads
/// another feature of the same row. `None` for features with no phrase.
pub fn describe(feature: &str, value: &dyn Fn(&str) -> Option<f64>) -> Option<String> {
    if let Some(base) = feature.strip_suffix("_missing") {
        return Some(match base {
            "last_nps" => "no NPS answer yet".to_string(),
            "mean_csat_90d" => "no rated tickets in 90 days".to_string(),
            "mean_sentiment_90d" => "no ticket sentiment in 90 days".to_string(),
            "days_since_last_ticket" => "never opened a ticket".to_string(),
            "seats" | "seat_utilization" => "seat count unknown".to_string(),
            other => format!("{other} unknown"),
        });
    }
    if let Some((attr, level)) = feature.split_once('=') {
        return Some(if level == "other" {
            format!("{attr} outside the common ones")
        } else {
            format!("{attr} is {level}")
        });
    }
    let v = value(feature)?;
    if v.is_nan() {
        return None;
    }
    let s = match feature {
        "events_30d" | "events_prev_30d" | "events_trend" => {
            let (now, prev) = (value("events_30d")?, value("events_prev_30d")?);
            if prev == 0.0 && now == 0.0 {
                "no events in 60 days".to_string()
            } else if prev == 0.0 {
                format!("{} events in 30 days, none in the 30 before", money(now))
            } else {
                let pct = (now - prev) / prev * 100.0;
                let dir = if pct < 0.0 { "down" } else { "up" };
                format!(
                    "events {dir} {:.0}% vs prior 30 days ({} vs {})",
                    pct.abs(),
                    money(now),
                    money(prev)
                )
            }
        }
        "recency_days" => {
            if v == 0.0 {
                "active today".to_string()
            } else {
                format!("no activity for {}", plural(v, "day", "days"))
            }
        }
        "active_days_30d" => format!("active on {} of the last 30 days", v as i64),
        "active_days_90d" => format!("active on {} of the last 90 days", v as i64),
        "active_users_30d" => format!("{} in 30 days", plural(v, "active user", "active users")),
        "seat_utilization" => match value("seats") {
            Some(s) if s > 0.0 => {
                format!("{:.0}% of {} in use", v * 100.0, plural(s, "seat", "seats"))
            }
            _ => format!("seat utilization {:.0}%", v * 100.0),
        },
        "seats" => plural(v, "seat", "seats"),
        "distinct_event_types_30d" => {
            format!("{} used in 30 days", plural(v, "event type", "event types"))
        }
        "tickets_90d" => format!("{} in 90 days", plural(v, "ticket", "tickets")),
        "high_priority_tickets_90d" => format!(
            "{} in 90 days",
            plural(v, "high/urgent ticket", "high/urgent tickets")
        ),
        "mean_csat_90d" => format!("mean CSAT {v:.1} over 90 days"),
        "mean_sentiment_90d" => format!("ticket sentiment {v:+.2} over 90 days"),
        "days_since_last_ticket" => format!("last ticket {} ago", plural(v, "day", "days")),
        "last_nps" => format!("last NPS {}", v as i64),
        "mrr" => format!("MRR {}", money(v)),
        "mrr_change_90d" => {
            if v == 0.0 {
                "MRR flat over 90 days".to_string()
            } else {
                format!(
                    "MRR {} {} over 90 days",
                    if v < 0.0 { "down" } else { "up" },
                    money(v.abs())
                )
            }
        }
        "tenure_days" => format!("customer for {}", plural(v, "day", "days")),
        f => match f
            .strip_prefix("event_")
            .and_then(|x| x.strip_suffix("_30d"))
        {
            Some(t) => format!("{} {t} events in 30 days", money(v)),
            None => return None,
        },
    };
    Some(s)
}

/// The `n` strongest positive contributions in words, joined by "; ".
/// Contributions are (model output index, log-odds); names are the model's
/// output names; `silent[i]` marks outputs never given as a reason (the
/// bundle's suppressors); phrases that repeat (events_30d and events_trend
/// say the same thing) are kept once.
pub fn drivers(
    contributions: &[(usize, f64)],
    names: &[String],
    silent: &[bool],
    value: &dyn Fn(&str) -> Option<f64>,
    n: usize,
) -> String {
    let mut c: Vec<(usize, f64)> = contributions
        .iter()
        .copied()
        .filter(|&(i, v)| v > 0.0 && !silent.get(i).copied().unwrap_or(false))
        .collect();
    c.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out: Vec<String> = Vec::new();
    for (i, _) in c {
        if out.len() == n {
            break;
        }
        if let Some(p) = describe(&names[i], value) {
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out.join("; ")
}

/// The queue as a table, columns in the documented order; `name` and
/// `owner` only when the data has them.
pub fn to_frame(rows: &[QueueRow], with_name: bool, with_owner: bool) -> PolarsResult<DataFrame> {
    let s = |f: fn(&QueueRow) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let x = |f: fn(&QueueRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    let mut cols: Vec<Column> = vec![
        Column::new(
            "rank".into(),
            rows.iter().map(|r| r.rank).collect::<Vec<_>>(),
        ),
        Column::new("account_id".into(), s(|r| r.account_id.clone())),
    ];
    if with_name {
        cols.push(Column::new(
            "name".into(),
            rows.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        ));
    }
    if with_owner {
        cols.push(Column::new(
            "owner".into(),
            rows.iter().map(|r| r.owner.clone()).collect::<Vec<_>>(),
        ));
    }
    cols.extend([
        Column::new("as_of".into(), s(|r| r.as_of.clone())),
        Column::new("mrr".into(), x(|r| r.mrr)),
        Column::new("churn_risk".into(), x(|r| r.churn_risk)),
        Column::new("risk_tier".into(), s(|r| r.risk_tier.clone())),
        Column::new("arr_at_risk".into(), x(|r| r.arr_at_risk)),
        Column::new("upgrade_propensity".into(), x(|r| r.upgrade_propensity)),
        Column::new("upgrade_tier".into(), s(|r| r.upgrade_tier.clone())),
        Column::new("rfm_code".into(), s(|r| r.rfm_code.clone())),
        Column::new("segment".into(), s(|r| r.segment.clone())),
        Column::new("survival_90d".into(), x(|r| r.survival_90d)),
        Column::new(
            "expected_days_remaining".into(),
            x(|r| r.expected_days_remaining),
        ),
        Column::new("churn_drivers".into(), s(|r| r.churn_drivers.clone())),
        Column::new("upgrade_drivers".into(), s(|r| r.upgrade_drivers.clone())),
        Column::new("suggested_play".into(), s(|r| r.suggested_play.clone())),
        Column::new("model_version".into(), s(|r| r.model_version.clone())),
    ]);
    DataFrame::new_infer_height(cols)
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
    for r in rows.iter().take(n) {
        let name: String = r.name.as_deref().unwrap_or("").chars().take(22).collect();
        let driver = r.churn_drivers.split("; ").next().unwrap_or("");
        s.push_str(&format!(
            "{:>4}  {:<12} {:<22} {:>9} {:>6.3} {:<6} {:>11} {:>7.3} {:<16} {:<9} {}\n",
            r.rank,
            r.account_id,
            name,
            money(r.mrr),
            r.churn_risk,
            r.risk_tier,
            money(r.arr_at_risk),
            r.upgrade_propensity,
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

    fn values<'a>(pairs: &'a [(&'a str, f64)]) -> impl Fn(&str) -> Option<f64> + 'a {
        move |n: &str| pairs.iter().find(|(k, _)| *k == n).map(|(_, v)| *v)
    }

    #[test]
    fn events_trend_reads_as_a_percentage_of_the_prior_window() {
        let v = values(&[
            ("events_30d", 36.0),
            ("events_prev_30d", 100.0),
            ("events_trend", -1.0),
        ]);
        assert_eq!(
            describe("events_trend", &v).unwrap(),
            "events down 64% vs prior 30 days (36 vs 100)"
        );
    }

    #[test]
    fn tickets_and_flags_read_in_words() {
        let v = values(&[
            ("high_priority_tickets_90d", 3.0),
            ("seats", 10.0),
            ("seat_utilization", 0.9),
        ]);
        assert_eq!(
            describe("high_priority_tickets_90d", &v).unwrap(),
            "3 high/urgent tickets in 90 days"
        );
        assert_eq!(
            describe("seat_utilization", &v).unwrap(),
            "90% of 10 seats in use"
        );
        assert_eq!(
            describe("last_nps_missing", &v).unwrap(),
            "no NPS answer yet"
        );
        assert_eq!(describe("plan=Starter", &v).unwrap(), "plan is Starter");
    }

    #[test]
    fn drivers_keep_the_strongest_positive_distinct_phrases() {
        let names: Vec<String> = [
            "events_30d",
            "events_trend",
            "recency_days",
            "mrr",
            "tickets_90d",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let v = values(&[
            ("events_30d", 1.0),
            ("events_prev_30d", 4.0),
            ("events_trend", -0.9),
            ("recency_days", 12.0),
            ("mrr", 99.0),
            ("tickets_90d", 2.0),
        ]);
        let c = [(0, 0.5), (1, 0.9), (2, 0.3), (3, -2.0), (4, 0.1)];
        assert_eq!(
            drivers(&c, &names, &[], &v, 3),
            "events down 75% vs prior 30 days (1 vs 4); no activity for 12 days; 2 tickets in 90 days"
        );
        // Suppressors still count in the score but are never named.
        let silent = [true, true, false, false, false];
        assert_eq!(
            drivers(&c, &names, &silent, &v, 3),
            "no activity for 12 days; 2 tickets in 90 days"
        );
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
