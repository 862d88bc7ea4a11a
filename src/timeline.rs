//! An account's revenue over time, from its billing lines: MRR on any day,
//! paid periods with short gaps merged, churn dates and upgrades. Knows
//! nothing of features or models; `snapshot` asks it for MRR as of a date
//! and `labels` asks it what happened after one.

use crate::dates::Day;
use crate::io::load::{Line, NONE};

/// MRR below this is zero: summing add-on lines must not leave 1e-13 of
/// revenue keeping an account "active".
const EPS: f64 = 1e-9;

/// A merged paid period `[start, end)`; `end == None` while still open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    pub start: Day,
    pub end: Option<Day>,
}

/// The step function of an account's MRR and its merged paid periods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timeline {
    /// `(day, mrr from that day on)`, ascending, one entry per change.
    steps: Vec<(Day, f64)>,
    /// Paid periods with gaps of at most `grace_days` merged.
    pub periods: Vec<Period>,
}

impl Timeline {
    /// Builds the timeline of one account's lines. MRR on day `d` is the sum
    /// of `mrr` over lines with `start <= d < end`; it is recomputed from the
    /// lines at each change point (not accumulated), so it is exact and the
    /// same whatever the line order.
    pub fn build(lines: &[Line], grace_days: u32) -> Timeline {
        let mut points: Vec<Day> = lines
            .iter()
            .flat_map(|l| std::iter::once(l.start).chain(l.end))
            .collect();
        points.sort_unstable();
        points.dedup();
        let mut steps: Vec<(Day, f64)> = Vec::with_capacity(points.len());
        for &d in &points {
            let m = mrr_of(lines, d);
            if steps.last().is_none_or(|&(_, prev)| prev != m) {
                steps.push((d, m));
            }
        }
        let mut raw: Vec<Period> = Vec::new();
        for (i, &(d, m)) in steps.iter().enumerate() {
            let active = m > EPS;
            let was_active = i > 0 && steps[i - 1].1 > EPS;
            if active && !was_active {
                raw.push(Period {
                    start: d,
                    end: None,
                });
            } else if !active && was_active {
                if let Some(p) = raw.last_mut() {
                    p.end = Some(d);
                }
            }
        }
        let mut periods: Vec<Period> = Vec::with_capacity(raw.len());
        for p in raw {
            match periods.last_mut() {
                Some(last) if last.end.is_some_and(|e| p.start - e <= grace_days as Day) => {
                    last.end = p.end
                }
                _ => periods.push(p),
            }
        }
        Timeline { steps, periods }
    }

    /// MRR on day `d`.
    pub fn mrr_at(&self, d: Day) -> f64 {
        let i = self.steps.partition_point(|&(s, _)| s <= d);
        if i == 0 {
            0.0
        } else {
            self.steps[i - 1].1
        }
    }

    /// Active on `d`: MRR(d) > 0.
    pub fn is_active(&self, d: Day) -> bool {
        self.mrr_at(d) > EPS
    }

    /// The merged period containing `d` (gaps inside a merged period count).
    pub fn period_at(&self, d: Day) -> Option<Period> {
        self.periods
            .iter()
            .copied()
            .find(|p| p.start <= d && p.end.is_none_or(|e| d < e))
    }

    /// Whether MRR rises above `MRR(s)` on some day in `(s, s + h]`.
    pub fn upgrades_within(&self, s: Day, h: u32) -> bool {
        let base = self.mrr_at(s);
        let lo = self.steps.partition_point(|&(d, _)| d <= s);
        self.steps[lo..]
            .iter()
            .take_while(|&&(d, _)| d <= s + h as Day)
            .any(|&(_, m)| m > base + EPS)
    }

    /// The churn date that follows `s`: the end of the merged period that
    /// contains `s` (for accounts that never return, the end of their last
    /// period). `None` while that period is open.
    pub fn churn_after(&self, s: Day) -> Option<Day> {
        self.period_at(s).and_then(|p| p.end)
    }

    /// First day of the first paid period.
    pub fn first_active_day(&self) -> Option<Day> {
        self.periods.first().map(|p| p.start)
    }

    /// The churn date of the account: the end of its last merged period.
    pub fn churn_date(&self) -> Option<Day> {
        self.periods.last().and_then(|p| p.end)
    }
}

fn mrr_of(lines: &[Line], d: Day) -> f64 {
    let mut m = 0.0;
    for l in lines {
        if l.start <= d && l.end.is_none_or(|e| d < e) {
            m += l.mrr;
        }
    }
    if m.abs() < EPS {
        0.0
    } else {
        m
    }
}

/// Seats and the main plan on day `d`, from the lines active that day.
/// Seats sum over lines (NaN if no active line states seats); the plan is
/// that of the active line with the highest MRR (ties: the earliest line).
pub fn seats_and_plan_at(lines: &[Line], d: Day) -> (f64, u32) {
    let mut seats = f64::NAN;
    let mut best: Option<(f64, u32)> = None;
    for l in lines
        .iter()
        .filter(|l| l.start <= d && l.end.is_none_or(|e| d < e))
    {
        if !l.seats.is_nan() {
            seats = if seats.is_nan() {
                l.seats
            } else {
                seats + l.seats
            };
        }
        if l.plan != NONE && best.is_none_or(|(m, _)| l.mrr > m) {
            best = Some((l.mrr, l.plan));
        }
    }
    (seats, best.map_or(NONE, |(_, p)| p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: Day, end: Option<Day>, mrr: f64) -> Line {
        Line {
            start,
            end,
            mrr,
            plan: NONE,
            seats: f64::NAN,
        }
    }

    #[test]
    fn mrr_sums_add_on_lines_with_exclusive_ends() {
        let t = Timeline::build(&[line(0, Some(100), 50.0), line(30, None, 20.0)], 30);
        assert_eq!(t.mrr_at(-1), 0.0);
        assert_eq!(t.mrr_at(0), 50.0);
        assert_eq!(t.mrr_at(30), 70.0);
        assert_eq!(t.mrr_at(99), 70.0);
        assert_eq!(t.mrr_at(100), 20.0);
        assert_eq!(
            t.periods,
            [Period {
                start: 0,
                end: None
            }]
        );
    }

    #[test]
    fn merges_gaps_up_to_grace_days() {
        // Gap of exactly 30 days (inactive on days 100..=129) is merged.
        let t = Timeline::build(&[line(0, Some(100), 10.0), line(130, Some(200), 10.0)], 30);
        assert_eq!(
            t.periods,
            [Period {
                start: 0,
                end: Some(200)
            }]
        );
        assert_eq!(t.churn_after(50), Some(200));
        assert!(!t.is_active(110));
        // 31 days is a churn and a reactivation.
        let t = Timeline::build(&[line(0, Some(100), 10.0), line(131, Some(200), 10.0)], 30);
        assert_eq!(
            t.periods,
            [
                Period {
                    start: 0,
                    end: Some(100)
                },
                Period {
                    start: 131,
                    end: Some(200)
                }
            ]
        );
        assert_eq!(t.churn_after(50), Some(100));
        assert_eq!(t.churn_after(150), Some(200));
        assert_eq!(t.churn_date(), Some(200));
        assert_eq!(t.first_active_day(), Some(0));
    }

    #[test]
    fn zero_mrr_lines_are_not_active() {
        let t = Timeline::build(&[line(0, Some(10), 0.0)], 30);
        assert!(t.periods.is_empty());
        assert!(!t.is_active(5));
    }

    #[test]
    fn add_on_sums_that_cancel_leave_no_revenue() {
        let t = Timeline::build(
            &[
                line(0, Some(10), 0.1),
                line(0, Some(10), 0.2),
                line(5, None, 0.3),
            ],
            0,
        );
        assert!((t.mrr_at(7) - 0.6).abs() < 1e-12);
        assert_eq!(
            t.periods,
            [Period {
                start: 0,
                end: None
            }]
        );
    }

    #[test]
    fn upgrade_is_a_rise_above_mrr_at_s_within_horizon() {
        let t = Timeline::build(&[line(0, Some(50), 100.0), line(50, None, 150.0)], 30);
        assert!(t.upgrades_within(10, 40));
        assert!(!t.upgrades_within(10, 39));
        assert!(!t.upgrades_within(50, 90));
        // A downgrade then a rise back to the old level is not an upgrade.
        let t = Timeline::build(
            &[
                line(0, Some(20), 100.0),
                line(20, Some(40), 60.0),
                line(40, None, 100.0),
            ],
            30,
        );
        assert!(!t.upgrades_within(0, 90));
        assert!(t.upgrades_within(25, 90));
    }

    #[test]
    fn seats_sum_and_plan_is_biggest_line() {
        let lines = [
            Line {
                start: 0,
                end: None,
                mrr: 100.0,
                plan: 1,
                seats: 10.0,
            },
            Line {
                start: 0,
                end: None,
                mrr: 30.0,
                plan: 2,
                seats: f64::NAN,
            },
            Line {
                start: 0,
                end: None,
                mrr: 50.0,
                plan: 3,
                seats: 5.0,
            },
        ];
        assert_eq!(seats_and_plan_at(&lines, 3), (15.0, 1));
        assert!(seats_and_plan_at(&lines, -1).0.is_nan());
    }
}
