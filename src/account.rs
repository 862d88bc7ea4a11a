//! One account as of a date, read the same way everywhere: its CRM
//! attributes as exported, its plan on the date, and the paid period it is
//! in. `score` (queue rows and their reasons) and `models::lifetime`
//! (survival strata and tenures) both ask here, so "the plan on S" and "the
//! tenure at S" mean one thing in the bundle and in the queue. Feature
//! values are `snapshot`'s business; labels are `labels`'.

use crate::dates::Day;
use crate::io::load::{Tables, NONE};
use crate::snapshot::PLAN;
use crate::timeline::{seats_and_plan_at, Timeline};

/// The plan of `account` on `day`: the CRM's `plan` column when the
/// accounts table has one, else the plan of the biggest billing line
/// active that day (`timeline::seats_and_plan_at`). `None` when neither
/// says.
pub fn plan_on(tables: &Tables, account: usize, day: Day) -> Option<&str> {
    match tables.accounts.attribute(PLAN) {
        Some(attr) => attr.value(account),
        None => {
            let (_, p) = seats_and_plan_at(tables.lines.of(account), day);
            (p != NONE).then(|| tables.plans[p as usize].as_str())
        }
    }
}

/// An account at an as-of date.
#[derive(Clone, Copy)]
pub struct AccountView<'a> {
    pub tables: &'a Tables,
    pub timeline: &'a Timeline,
    pub account: usize,
    pub as_of: Day,
}

impl<'a> AccountView<'a> {
    pub fn new(tables: &'a Tables, timelines: &'a [Timeline], account: usize, as_of: Day) -> Self {
        AccountView {
            tables,
            timeline: &timelines[account],
            account,
            as_of,
        }
    }

    pub fn id(&self) -> &'a str {
        &self.tables.accounts.ids[self.account]
    }

    /// The value of a categorical attribute on the as-of date: a CRM column
    /// as exported (CRMs keep no history), or the plan (see [`plan_on`]).
    /// `None` when the account has no value.
    pub fn attribute(&self, name: &str) -> Option<&'a str> {
        match self.tables.accounts.attribute(name) {
            Some(attr) => attr.value(self.account),
            None if name == PLAN => plan_on(self.tables, self.account, self.as_of),
            None => None,
        }
    }

    /// First day of the merged paid period the account is in on the as-of
    /// date; `None` when it is not paying then.
    pub fn paid_since(&self) -> Option<Day> {
        self.timeline.period_at(self.as_of).map(|p| p.start)
    }

    /// Days since [`Self::paid_since`]: where this lifetime is on the
    /// survival curves. 0 when not paying.
    pub fn tenure_days(&self) -> f64 {
        self.paid_since()
            .map_or(0.0, |d| (self.as_of - d).max(0) as f64)
    }
}
