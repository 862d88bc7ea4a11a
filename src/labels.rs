//! Labels over the horizon: did the account churn, did it upgrade, within
//! (S, S+H]. Labels read the future by design; scoring never calls this
//! module, and features never read from it (see `snapshot`).

use crate::dates::Day;
use crate::snapshot::FeatureFrame;
use crate::timeline::Timeline;

/// Churn and upgrade labels, aligned with a [`FeatureFrame`]'s rows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Labels {
    /// `churned_within_h`: the churn date after S (end of the merged paid
    /// period containing S) falls in (S, S+H].
    pub churned: Vec<bool>,
    /// `upgraded_within_h`: MRR rises above MRR(S) on some day in (S, S+H].
    pub upgraded: Vec<bool>,
}

/// Whether the account churns within (s, s + h].
pub fn churned_within(tl: &Timeline, s: Day, h: u32) -> bool {
    tl.churn_after(s)
        .is_some_and(|c| c > s && c <= s + h as Day)
}

/// Labels for every row of `frame`. The caller guarantees S + H + grace
/// days <= the data's end for every row (see `snapshot::history_dates`), so
/// each label is fully observed.
pub fn labels_for(frame: &FeatureFrame, timelines: &[Timeline], horizon_days: u32) -> Labels {
    let rows = frame.account.iter().zip(&frame.as_of);
    let churned = rows
        .clone()
        .map(|(&a, &s)| churned_within(&timelines[a as usize], s, horizon_days))
        .collect();
    let upgraded = rows
        .map(|(&a, &s)| timelines[a as usize].upgrades_within(s, horizon_days))
        .collect();
    Labels { churned, upgraded }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::load::{Line, NONE};

    fn tl(lines: &[(Day, Option<Day>, f64)]) -> Timeline {
        let lines: Vec<Line> = lines
            .iter()
            .map(|&(start, end, mrr)| Line {
                start,
                end,
                mrr,
                plan: NONE,
                seats: f64::NAN,
            })
            .collect();
        Timeline::build(&lines, 30)
    }

    #[test]
    fn churn_counts_only_inside_the_horizon() {
        let t = tl(&[(0, Some(100), 10.0)]);
        assert!(churned_within(&t, 10, 90)); // 100 in (10, 100]
        assert!(!churned_within(&t, 9, 90)); // 100 not in (9, 99]
        assert!(!churned_within(&tl(&[(0, None, 10.0)]), 10, 90));
    }

    #[test]
    fn merged_gap_is_not_churn_but_reactivation_after_churn_is() {
        let merged = tl(&[(0, Some(100), 10.0), (120, None, 10.0)]);
        assert!(!churned_within(&merged, 50, 90));
        let reactivated = tl(&[(0, Some(100), 10.0), (200, Some(250), 10.0)]);
        assert!(churned_within(&reactivated, 50, 90));
        assert!(
            !churned_within(&reactivated, 150, 90),
            "inactive at S: no period, no label"
        );
        assert!(churned_within(&reactivated, 210, 90));
    }

    #[test]
    fn a_renewal_within_grace_after_the_horizon_is_not_churn() {
        // S = 0, H = 90: paid until 85, renewed on 110 (25 days later,
        // within 30 grace days, after S + H). The label needs the data to
        // reach 85 + 30 = 115 to know; with it, this is no churn.
        let renewed = tl(&[(0, Some(85), 10.0), (110, None, 10.0)]);
        assert!(!churned_within(&renewed, 0, 90));
        // Seen only up to S + H = 90, the same account looks churned: why
        // history dates need S + H + grace <= the data's end
        // (`snapshot::history_dates`).
        let cut = tl(&[(0, Some(85), 10.0)]);
        assert!(churned_within(&cut, 0, 90));
    }
}
