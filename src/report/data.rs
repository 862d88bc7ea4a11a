//! Data shapes both reports embed: Kaplan–Meier curves thinned to their
//! change points, and validation figures as table rows. Aggregates only;
//! the page assembly lives in `score_page` and `train_page`.

use serde::Serialize;

use crate::bundle::Target;
use crate::metrics::{BinaryReport, CalibrationBin, LiftPoint};
use crate::models::survival::KmCurve;
use crate::report::html::round;

/// Decimals kept for survival and its interval: 0.01 percentage points,
/// far below what a chart or a person can tell apart.
const SURVIVAL_DECIMALS: i32 = 4;

/// A Kaplan–Meier curve as the page draws it: a right-continuous step
/// function, one entry per change of S or of its interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Steps {
    /// Accounts the curve was fitted on.
    pub n: u64,
    /// Churns the curve saw.
    pub churned: u64,
    /// Days since the first paid day.
    pub t: Vec<f64>,
    pub s: Vec<f64>,
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// Keeps the rows of `c` where S or its 95% interval changes, plus the
/// first and the last row (so the line runs to the longest observed
/// lifetime). The bundle keeps a row per censoring time as well, about
/// twice as many; the step function drawn from the kept rows is the same
/// at every time (a unit test checks it at every original row).
pub fn steps(c: &KmCurve) -> Steps {
    let r = |x: f64| round(x, SURVIVAL_DECIMALS);
    let mut out = Steps {
        n: c.n(),
        churned: c.observed.iter().sum(),
        t: vec![],
        s: vec![],
        lo: vec![],
        hi: vec![],
    };
    let last = c.time.len().saturating_sub(1);
    for i in 0..c.time.len() {
        let (s, lo, hi) = (r(c.survival[i]), r(c.ci_lower[i]), r(c.ci_upper[i]));
        let changed =
            out.s.last() != Some(&s) || out.lo.last() != Some(&lo) || out.hi.last() != Some(&hi);
        if i == 0 || changed || i == last {
            out.t.push(c.time[i]);
            out.s.push(s);
            out.lo.push(lo);
            out.hi.push(hi);
        }
    }
    out
}

/// One line of a validation table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureRow {
    /// "model", "baseline" or "in-sample": the page styles them apart and
    /// never lets an in-sample figure pass for a validation one.
    pub kind: &'static str,
    pub label: String,
    pub n: usize,
    pub positives: usize,
    pub base_rate: f64,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub brier: Option<f64>,
    pub top_decile_lift: Option<f64>,
    pub ece: Option<f64>,
}

impl FigureRow {
    fn of(kind: &'static str, label: String, r: &BinaryReport) -> FigureRow {
        FigureRow {
            kind,
            label,
            n: r.n,
            positives: r.positives,
            base_rate: r.base_rate,
            roc_auc: r.roc_auc,
            pr_auc: r.pr_auc,
            brier: r.brier,
            top_decile_lift: r.top_decile_lift,
            ece: r.ece,
        }
    }
}

/// The held-out model, its baselines on the same rows, then the shipped
/// model's in-sample figures (labeled as such).
pub fn figure_rows(t: &Target) -> Vec<FigureRow> {
    let mut rows = vec![FigureRow::of(
        "model",
        "model (held out)".into(),
        &t.holdout,
    )];
    for (name, r) in &t.baselines {
        rows.push(FigureRow::of("baseline", format!("baseline: {name}"), r));
    }
    rows.push(FigureRow::of(
        "in-sample",
        "shipped model, in-sample (not a validation figure)".into(),
        &t.in_sample,
    ));
    rows
}

/// What the train page charts for one target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curves<'a> {
    pub calibration: &'a [CalibrationBin],
    pub lift: &'a [LiftPoint],
    /// Lift curves of the baselines on the same held-out rows.
    pub baseline_lift: Vec<(&'a str, &'a [LiftPoint])>,
}

pub fn curves(t: &Target) -> Curves<'_> {
    Curves {
        calibration: &t.holdout.calibration,
        lift: &t.holdout.lift,
        // A baseline that ranks nothing (every score tied, so ROC AUC is
        // exactly 0.5, as for the base rate) has a "lift curve" that only
        // follows row order: drawing it would suggest a ranking that is not there.
        baseline_lift: t
            .baselines
            .iter()
            .filter(|(_, r)| !r.lift.is_empty() && r.roc_auc != Some(0.5))
            .map(|(n, r)| (n.as_str(), r.lift.as_slice()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::survival::Lifetime;

    /// Step function value of thinned steps at `t` (same rule as
    /// `KmCurve::survival_at`: last row with time <= t).
    fn at(st: &Steps, t: f64) -> (f64, f64, f64) {
        let k = st.t.partition_point(|&x| x <= t);
        if k == 0 {
            (1.0, 1.0, 1.0)
        } else {
            (st.s[k - 1], st.lo[k - 1], st.hi[k - 1])
        }
    }

    #[test]
    fn thinned_curve_is_the_same_step_function_with_fewer_rows() {
        // Many censorings between few churns: most rows change nothing.
        let lts: Vec<Lifetime> = (0..400)
            .map(|i| Lifetime {
                // Some late entrants, as real exports have.
                entry: if i % 5 == 0 { (i % 90) as f64 } else { 0.0 },
                duration: (i * 3 % 731) as f64 + 90.0,
                observed: i % 7 == 0,
            })
            .collect();
        let c = KmCurve::fit(&lts);
        let st = steps(&c);
        assert!(
            st.t.len() * 2 < c.time.len(),
            "{} of {}",
            st.t.len(),
            c.time.len()
        );
        assert_eq!(st.t.first(), c.time.first());
        assert_eq!(st.t.last(), c.time.last(), "runs to the longest lifetime");
        for (i, &t) in c.time.iter().enumerate() {
            let (s, lo, hi) = at(&st, t);
            assert!((s - c.survival[i]).abs() <= 5e-5, "S at {t}");
            assert!((lo - c.ci_lower[i]).abs() <= 5e-5, "lower at {t}");
            assert!((hi - c.ci_upper[i]).abs() <= 5e-5, "upper at {t}");
        }
        assert_eq!((st.n, st.churned), (400, 58));
    }

    #[test]
    fn figure_rows_label_in_sample_figures_apart() {
        let b = crate::bundle::Bundle::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo"),
        )
        .unwrap();
        let churn = b.churn.as_ref().unwrap();
        let rows = figure_rows(churn);
        assert_eq!(rows[0].kind, "model");
        assert_eq!(rows[0].roc_auc, churn.holdout.roc_auc);
        assert!(rows[1..rows.len() - 1].iter().all(|r| r.kind == "baseline"));
        let last = rows.last().unwrap();
        assert_eq!(last.kind, "in-sample");
        assert!(last.label.contains("not a validation figure"));
    }
}
