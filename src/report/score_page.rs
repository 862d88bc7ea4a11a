//! `report.html` beside the queue: the scored queue and what a success
//! manager needs to read it (drivers, the account's survival curve, segment
//! and tier totals, the model's validation figures and drift warnings), as
//! one self-contained file. This module shapes the data; the page script
//! (`assets/score.js`) sorts, filters, pages and draws in the browser.
//! It does not score or decide anything (see `score` and `queue`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{json, Value};

use crate::bundle::Bundle;
use crate::dates::format_day;
use crate::error::Result;
use crate::movers::{Movement, Movers};
use crate::queue::QueueRow;
use crate::report::data::{figure_rows, steps, FigureRow, Steps};
use crate::report::html::{json_for_script, page, round};
use crate::score::FeatureDrift;

pub(crate) const SCORE_JS: &str = include_str!("assets/score.js");

/// Field order of every row in the page's JSON; the script reads columns
/// by these names, so the order is stated once, here. `owner`, `segment`,
/// the tiers and `suggested_play` are indexes into `dicts`; the drivers
/// are lists of indexes into `dicts.phrase` (joined with "; " they give
/// the queue's text back).
pub const FIELDS: [&str; 25] = [
    "rank",
    "account_id",
    "name",
    "owner",
    "mrr",
    "churn_risk",
    "risk_tier",
    "arr_at_risk",
    "upgrade_propensity",
    "upgrade_tier",
    "rfm_code",
    "segment",
    "survival_90d",
    "expected_days_remaining",
    "churn_drivers",
    "upgrade_drivers",
    "suggested_play",
    "tenure_days",
    "curve",
    "hazard_ratio",
    "curve_tenure",
    "prev_churn_risk",
    "churn_risk_change",
    "prev_risk_tier",
    "movement",
];

/// The last fields of [`FIELDS`], sent only with a previous run.
const MOVERS_FIELDS: usize = 4;

/// Accounts listed under each heading of the "Moved since" section; the
/// section gives each list's full count.
pub const MOVERS_LISTED: usize = 10;

/// Everything the queue page shows, borrowed from the scoring run.
#[derive(Debug, Clone)]
pub struct ScoreReport<'a> {
    pub bundle: &'a Bundle,
    /// Ranked queue rows shown on the page: the top of the queue.
    pub rows: &'a [QueueRow],
    /// Every row of the queue: the "Moved since" section picks from all.
    pub queue: &'a [QueueRow],
    /// The comparison with the previous run; `None` on a first run.
    pub movers: Option<&'a Movers>,
    /// Accounts scored (the queue files hold them all; `rows` may be fewer).
    pub scored: usize,
    pub has_names: bool,
    pub has_owner: bool,
    pub as_of: &'a str,
    /// The manifest's `generated_at`: the only part of the page that
    /// changes between two runs on the same inputs.
    pub generated_at: &'a str,
    /// Accounts in the data, and those skipped as inactive at `as_of`.
    pub accounts: usize,
    pub inactive: usize,
    /// PSI per feature, largest first (as in the manifest).
    pub drift: &'a [FeatureDrift],
    pub drift_warn_above: f64,
}

/// Low-cardinality text columns are sent once as a sorted list and rows
/// carry indexes: at 50,000 rows the repeated strings would otherwise be
/// a good part of the file.
#[derive(Debug, Default)]
struct Dict {
    index: BTreeMap<String, usize>,
}

impl Dict {
    fn of<'a>(values: impl Iterator<Item = &'a str>) -> Dict {
        let set: BTreeSet<&str> = values.collect();
        Dict {
            index: set
                .into_iter()
                .enumerate()
                .map(|(i, v)| (v.to_string(), i))
                .collect(),
        }
    }
    fn get(&self, v: &str) -> usize {
        self.index[v]
    }
    fn values(&self) -> Vec<&str> {
        // BTreeMap iterates in key order, which is the index order.
        self.index.keys().map(String::as_str).collect()
    }
}

/// A curve the page may draw, and the label above it.
#[derive(Debug, Serialize)]
struct PageCurve {
    label: String,
    #[serde(flatten)]
    steps: Steps,
}

#[derive(Debug, Serialize)]
struct Segment<'a> {
    name: &'a str,
    training_size: usize,
    training_share: f64,
    training_mean_mrr: Option<f64>,
    training_churn_rate: Option<f64>,
    training_upgrade_rate: Option<f64>,
}

impl ScoreReport<'_> {
    /// The complete page.
    pub fn render(&self) -> Result<String> {
        let data = json_for_script(&self.data())?;
        Ok(page(
            &format!("ebbflow risk queue, as of {}", self.as_of),
            &data,
            SCORE_JS,
        ))
    }

    /// The page's data as one JSON value (what `render` embeds).
    pub fn data(&self) -> Value {
        let b = self.bundle;
        let owners = Dict::of(self.rows.iter().filter_map(|r| r.owner.as_deref()));
        let segments = Dict::of(self.rows.iter().map(|r| r.segment.as_str()));
        let plays = Dict::of(self.rows.iter().map(|r| r.suggested_play.as_str()));
        // Driver phrases repeat across accounts ("no NPS answer yet"):
        // sent once, rows list them by index. About a third of the page.
        let split = |s: &str| -> Vec<String> {
            s.split("; ")
                .filter(|p| !p.is_empty())
                .map(String::from)
                .collect()
        };
        let all_phrases: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| {
                split(&r.churn_drivers)
                    .into_iter()
                    .chain(split(&r.upgrade_drivers))
            })
            .collect();
        let phrases = Dict::of(all_phrases.iter().map(String::as_str));
        let phrase_ids =
            |s: &str| -> Vec<usize> { split(s).iter().map(|p| phrases.get(p)).collect() };
        let tiers = ["high", "medium", "low"];
        let tier = |t: &str| tiers.iter().position(|x| *x == t);
        let movements = Movement::ALL.map(Movement::as_str);
        let movement = |m: Option<Movement>| m.map(|m| Movement::ALL.iter().position(|x| *x == m));

        // The curve each row's survival was read from: the stratum of its
        // level, or the overall curve (`SurvivalModel::stratum_index`).
        let stratum_of = |level: Option<&str>| b.survival.stratum_index(level);
        let used: BTreeSet<Option<usize>> = self
            .rows
            .iter()
            .map(|r| stratum_of(r.survival_level.as_deref()))
            .collect();
        // Overall first, then strata in bundle order.
        let used: Vec<Option<usize>> = used.into_iter().collect();
        let curves: Vec<PageCurve> = used
            .iter()
            .map(|u| match u {
                None => PageCurve {
                    label: "all accounts".to_string(),
                    steps: steps(&b.survival.overall),
                },
                Some(i) => {
                    let s = &b.survival.strata[*i];
                    PageCurve {
                        label: format!("{} {}", s.stratifier, s.level),
                        steps: steps(&s.curve),
                    }
                }
            })
            .collect();
        let curve_index = |r: &QueueRow| {
            let u = stratum_of(r.survival_level.as_deref());
            used.iter().position(|x| *x == u).expect("collected above")
        };

        // Without a previous run the rows end before the movers fields.
        let n_fields = match self.movers {
            Some(_) => FIELDS.len(),
            None => FIELDS.len() - MOVERS_FIELDS,
        };
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|r| {
                let mut row = json!([
                    r.rank,
                    r.account_id,
                    r.name,
                    r.owner.as_deref().map(|o| owners.get(o)),
                    round(r.mrr, 2),
                    round(r.churn_risk, 4),
                    tier(&r.risk_tier),
                    // null without a churn model (NaN would cast to 0).
                    Some(r.arr_at_risk)
                        .filter(|v| v.is_finite())
                        .map(|v| round(v, 0) as i64),
                    round(r.upgrade_propensity, 4),
                    tier(&r.upgrade_tier),
                    r.rfm_code,
                    segments.get(&r.segment),
                    round(r.survival_90d, 4),
                    round(r.expected_days_remaining, 1),
                    phrase_ids(&r.churn_drivers),
                    phrase_ids(&r.upgrade_drivers),
                    plays.get(&r.suggested_play),
                    round(r.tenure_days, 0) as i64,
                    curve_index(r),
                    round(r.hazard_ratio, 4),
                    round(r.curve_tenure, 0),
                    round(r.prev_churn_risk, 4),
                    round(r.churn_risk_change, 4),
                    tier(&r.prev_risk_tier),
                    movement(r.movement),
                ]);
                if self.movers.is_none() {
                    // A first run's movers fields are all null: not sent.
                    row.as_array_mut().expect("an array").truncate(n_fields);
                }
                row
            })
            .collect();

        let profiles: Vec<Segment> = b
            .segments
            .profiles
            .iter()
            .map(|p| Segment {
                name: &p.name,
                training_size: p.size,
                training_share: p.share,
                training_mean_mrr: p.mean_mrr,
                training_churn_rate: p.churn_rate,
                training_upgrade_rate: p.upgrade_rate,
            })
            .collect();
        let validation: Vec<(&str, Vec<FigureRow>)> = b
            .targets()
            .map(|t| (t.model.target.as_str(), figure_rows(t)))
            .collect();
        json!({
            "as_of": self.as_of,
            "generated_at": self.generated_at,
            "ebbflow_version": env!("CARGO_PKG_VERSION"),
            "bundle": {
                "id": b.bundle_id,
                "created_at": b.created_at,
                "data_end": b.data.end,
                "horizon_days": b.settings.horizon_days,
                "tiers": {
                    "churn": b.churn.as_ref().map(|t| t.tiers),
                    "upgrade": b.upgrade.as_ref().map(|t| t.tiers),
                },
                "skipped": b.skipped,
                "survival_stratifier": b.survival.queue_stratifier,
            },
            "counts": {
                "accounts": self.accounts,
                "scored": self.scored,
                "shown": self.rows.len(),
                "inactive": self.inactive,
            },
            "has_names": self.has_names,
            "has_owner": self.has_owner,
            "fields": &FIELDS[..n_fields],
            "dicts": {
                "owner": owners.values(),
                "segment": segments.values(),
                "tier": tiers,
                "play": plays.values(),
                "phrase": phrases.values(),
                "movement": movements,
            },
            "movers": self.movers.map(|m| self.movers_data(m)),
            "rows": rows,
            "curves": curves,
            "segments": profiles,
            "validation": validation,
            "drift": {
                "warn_above": self.drift_warn_above,
                "features": self.drift.iter().map(|d| json!([d.feature, round(d.psi, 4)])).collect::<Vec<_>>(),
            },
        })
    }
}

impl ScoreReport<'_> {
    /// The "Moved since" section: accounts newly in the high tier (risen
    /// into it, or new to the queue in it), the largest rises in churn
    /// risk, and the accounts that left the queue; at most
    /// [`MOVERS_LISTED`] of each, with each list's full count. Every
    /// figure is the account's own queue value, now or in the previous run.
    fn movers_data(&self, m: &Movers) -> Value {
        let now = |r: &QueueRow| {
            json!({
                "rank": r.rank,
                "account_id": r.account_id,
                "name": r.name,
                "movement": r.movement.map(Movement::as_str),
                "risk_tier": Some(r.risk_tier.as_str()).filter(|t| !t.is_empty()),
                "prev_risk_tier": Some(r.prev_risk_tier.as_str()).filter(|t| !t.is_empty()),
                "churn_risk": round(r.churn_risk, 4),
                "prev_churn_risk": round(r.prev_churn_risk, 4),
                "churn_risk_change": round(r.churn_risk_change, 4),
                "arr_at_risk": round(r.arr_at_risk, 0),
            })
        };
        let newly_high: Vec<&QueueRow> = self
            .queue
            .iter()
            .filter(|r| {
                r.risk_tier == "high" && matches!(r.movement, Some(Movement::Up | Movement::New))
            })
            .collect();
        let mut risers: Vec<&QueueRow> = self
            .queue
            .iter()
            .filter(|r| r.churn_risk_change > 0.0)
            .collect();
        risers.sort_by(|a, b| {
            b.churn_risk_change
                .total_cmp(&a.churn_risk_change)
                .then(a.rank.cmp(&b.rank))
        });
        let list = |v: &[&QueueRow]| {
            json!({
                "total": v.len(),
                "rows": v.iter().take(MOVERS_LISTED).map(|r| now(r)).collect::<Vec<_>>(),
            })
        };
        json!({
            "previous_as_of": format_day(m.previous_as_of),
            "counts": m.counts,
            "newly_high": list(&newly_high),
            "risers": list(&risers),
            "left": {
                "total": m.left.len(),
                "rows": m.left.iter().take(MOVERS_LISTED).map(|a| json!({
                    "account_id": a.account_id,
                    "name": a.name,
                    "prev_risk_tier": a.risk_tier,
                    "prev_churn_risk": a.churn_risk.map(|x| round(x, 4)),
                    "prev_arr_at_risk": a.arr_at_risk.map(|x| round(x, 0)),
                })).collect::<Vec<_>>(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo")).unwrap()
    }

    fn row(
        rank: u32,
        id: &str,
        name: &str,
        owner: &str,
        tier: &str,
        level: Option<&str>,
    ) -> QueueRow {
        QueueRow {
            rank,
            account_id: id.into(),
            name: Some(name.into()),
            owner: Some(owner.into()),
            as_of: "2025-12-31".into(),
            mrr: 1234.5678,
            churn_risk: 0.123456,
            risk_tier: tier.into(),
            arr_at_risk: 1828.9,
            upgrade_propensity: 0.05,
            upgrade_tier: "low".into(),
            rfm_code: "545".into(),
            segment: "Champions".into(),
            survival_90d: 0.97,
            expected_days_remaining: 600.04,
            churn_drivers: "no activity for 12 days; 2 tickets in 90 days".into(),
            upgrade_drivers: String::new(),
            suggested_play: if tier == "high" { "save" } else { "monitor" }.into(),
            model_version: "x".into(),
            tenure_days: 412.0,
            survival_level: level.map(String::from),
            hazard_ratio: 1.0,
            curve_tenure: 412.0,
            ..QueueRow::default()
        }
    }

    fn report<'a>(
        b: &'a Bundle,
        rows: &'a [QueueRow],
        drift: &'a [FeatureDrift],
    ) -> ScoreReport<'a> {
        ScoreReport {
            bundle: b,
            rows,
            queue: rows,
            movers: None,
            scored: rows.len(),
            has_names: true,
            has_owner: true,
            as_of: "2025-12-31",
            generated_at: "2026-01-01T06:00:00Z",
            accounts: 3,
            inactive: 0,
            drift,
            drift_warn_above: 0.2,
        }
    }

    #[test]
    fn an_account_name_cannot_break_out_of_the_page() {
        let b = bundle();
        let evil = "</script><script>document.title='pwned'</script>";
        let rows = [row(1, "A-1", evil, "Ann <b>", "high", Some("Growth"))];
        let html = report(&b, &rows, &[]).render().unwrap();
        // Our three script elements open and close; nothing else does.
        assert_eq!(
            html.matches("<script").count(),
            3,
            "data, common.js, score.js"
        );
        assert_eq!(html.matches("</script>").count(), 3);
        assert!(!html.contains("pwned'</script>"));
        assert!(html.contains("\\u003c/script\\u003e"));
    }

    #[test]
    fn rows_reference_their_own_curve_and_dictionaries() {
        let b = bundle();
        let rows = [
            row(1, "A-1", "One", "Zoe", "high", Some("Growth")),
            row(2, "A-2", "Two", "Ann", "medium", Some("Starter")),
            row(3, "A-3", "Three", "Ann", "low", None),
        ];
        let d = report(&b, &rows, &[]).data();
        assert_eq!(d["dicts"]["owner"], json!(["Ann", "Zoe"]));
        let r: Vec<&Value> = d["rows"].as_array().unwrap().iter().collect();
        let field = |name: &str| FIELDS.iter().position(|f| *f == name).unwrap();
        assert_eq!(r[0][field("owner")], 1);
        assert_eq!(r[1][field("owner")], 0);
        assert_eq!(r[0][field("risk_tier")], 0);
        assert_eq!(r[2][field("risk_tier")], 2);
        assert_eq!(r[0][field("mrr")], 1234.57);
        assert_eq!(r[0][field("churn_risk")], 0.1235);
        assert_eq!(r[0][field("tenure_days")], 412);
        assert_eq!(r[0][field("arr_at_risk")], 1829);
        // Drivers come back word for word from the phrase dictionary.
        let phrase = |i: &Value| {
            d["dicts"]["phrase"][i.as_u64().unwrap() as usize]
                .as_str()
                .unwrap()
                .to_string()
        };
        let churn: Vec<String> = r[0][field("churn_drivers")]
            .as_array()
            .unwrap()
            .iter()
            .map(phrase)
            .collect();
        assert_eq!(churn.join("; "), rows[0].churn_drivers);
        assert_eq!(r[0][field("upgrade_drivers")], json!([]));
        // Overall curve first (row 3 has no level), then Growth, Starter in bundle order.
        let labels: Vec<&str> = d["curves"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["all accounts", "plan Growth", "plan Starter"]);
        assert_eq!(r[0][field("curve")], 1);
        assert_eq!(r[1][field("curve")], 2);
        assert_eq!(r[2][field("curve")], 0);
        let growth = b
            .survival
            .strata
            .iter()
            .find(|s| s.level == "Growth")
            .unwrap();
        assert_eq!(d["curves"][1]["n"], growth.curve.n());
    }

    #[test]
    fn same_inputs_give_the_same_page() {
        let b = bundle();
        let rows = [
            row(1, "A-1", "One", "Zoe", "high", Some("Growth")),
            row(2, "A-2", "Two", "Ann", "medium", Some("Pro")),
        ];
        let drift = [FeatureDrift {
            feature: "mrr".into(),
            psi: 0.31,
        }];
        let a = report(&b, &rows, &drift).render().unwrap();
        assert_eq!(a, report(&b, &rows, &drift).render().unwrap());
        let mut later = report(&b, &rows, &drift);
        later.generated_at = "2026-01-02T06:00:00Z";
        let c = later.render().unwrap();
        assert_eq!(
            a.replace("2026-01-01T06:00:00Z", "T"),
            c.replace("2026-01-02T06:00:00Z", "T")
        );
    }
}
