//! The scoring window ([`crate::io::load::Need::Window`]) while tables are
//! read: which rows of a slice to keep ([`Window`]), each account's latest
//! row among those dropped ([`Dropped`]), and [`keep`], which sorts a
//! slice's rows into kept, dropped and unknown-account. Reads no files and
//! checks no values.

use crate::dates::Day;
use crate::io::group::{Dated, FastMap, EMPTY, NONE};
use crate::io::schema::TableKind;

/// Appends `row(i)`, tagged with its account, for every row of the current
/// slice whose account is known and that is `wanted` (all when `None`;
/// the others go to `dropped`); rows of unknown accounts are counted in
/// `skipped`, rows with an empty id were already reported as problems.
pub(in crate::io) fn keep<T: Dated + Copy>(
    keys: &[u32],
    wanted: Option<&[bool]>,
    tagged: &mut Vec<(u32, T)>,
    dropped: &mut Dropped<T>,
    skipped: &mut usize,
    row: impl Fn(usize) -> T,
) {
    for (i, &a) in keys.iter().enumerate() {
        if a == NONE || a == EMPTY {
            *skipped += usize::from(a == NONE);
            continue;
        }
        match wanted {
            Some(w) if !w[i] => dropped.see(a, row(i)),
            _ => tagged.push((a, row(i))),
        }
    }
}

/// While a [`Need::Window`] load runs: where the window starts so far and
/// what was dropped before it.
#[derive(Debug, Clone)]
pub(in crate::io) struct Window {
    pub(in crate::io) as_of: Option<Day>,
    pub(in crate::io) days: u32,
    /// Latest day seen so far in any table, on rows of known accounts: a
    /// lower bound of the data's last day, so the window's start only ever
    /// errs early (keeping more rows), never late.
    pub(in crate::io) seen: Day,
    /// Earliest day of the rows dropped, per dated table (for the bounds).
    pub(in crate::io) dropped_first: FastMap<TableKind, Day>,
}

impl Window {
    /// Rows dated before this day may be dropped.
    pub(in crate::io) fn start(&self) -> Day {
        let s = self.as_of.unwrap_or(self.seen);
        s.saturating_sub(self.days.saturating_sub(1) as Day)
    }

    /// Which rows of a slice to keep, into `out` (cleared first, its
    /// memory reused); extends `seen` first.
    pub(in crate::io) fn wanted_into(
        &mut self,
        keys: &[u32],
        day: &[Option<Day>],
        out: &mut Vec<bool>,
    ) {
        let known = |i: usize| keys[i] != NONE && keys[i] != EMPTY;
        if let Some(m) = (0..day.len())
            .filter(|&i| known(i))
            .filter_map(|i| day[i])
            .max()
        {
            self.seen = self.seen.max(m);
        }
        let start = self.start();
        out.clear();
        out.extend(day.iter().map(|d| d.is_none_or(|d| d >= start)));
    }
}

/// Each account's latest row among those dropped, and the earliest day
/// dropped, while a table is read with a [`Window`].
pub(in crate::io) struct Dropped<T> {
    latest: Vec<Option<T>>,
    first: Option<Day>,
}

impl<T: Dated + Copy> Dropped<T> {
    pub(in crate::io) fn new(n_accounts: usize) -> Dropped<T> {
        Dropped {
            latest: vec![None; n_accounts],
            first: None,
        }
    }

    pub(in crate::io) fn see(&mut self, account: u32, row: T) {
        let d = row.day();
        self.first = Some(self.first.map_or(d, |f| f.min(d)));
        let slot = &mut self.latest[account as usize];
        if slot.is_none_or(|r| d >= r.day()) {
            *slot = Some(row);
        }
    }

    /// Each account's latest dropped row, in account order (to be kept
    /// after the rows kept, see [`crate::io::group::Grouped::build_parts`]);
    /// records the earliest dropped day for the bounds.
    pub(in crate::io) fn finish(self, table: TableKind, w: &mut Window) -> Vec<(u32, T)> {
        if let Some(f) = self.first {
            w.dropped_first.insert(table, f);
        }
        self.latest
            .into_iter()
            .enumerate()
            .filter_map(|(a, r)| r.map(|r| (a as u32, r)))
            .collect()
    }
}
