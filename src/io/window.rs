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
    keep_dated(
        keys,
        wanted,
        tagged,
        dropped,
        skipped,
        |i| row(i).day(),
        &row,
    );
}

/// [`keep`] given each row's day on its own (`day(i)` is `row(i).day()`,
/// only cheaper): a row not wanted is only made when it may be its
/// account's latest dropped one. Of each run of one account's dropped
/// rows (rows sorted by account come in such runs) only the last of the
/// latest day can be, as [`Dropped::see`] of every row would find: at a
/// window of 90 days out of two years, that is most rows not made at all.
pub(in crate::io) fn keep_dated<T: Dated + Copy>(
    keys: &[u32],
    wanted: Option<&[bool]>,
    tagged: &mut Vec<(u32, T)>,
    dropped: &mut Dropped<T>,
    skipped: &mut usize,
    day: impl Fn(usize) -> Day,
    row: impl Fn(usize) -> T,
) {
    let known = |a: u32| a != NONE && a != EMPTY;
    let Some(wanted) = wanted else {
        for (i, &a) in keys.iter().enumerate() {
            if known(a) {
                tagged.push((a, row(i)));
            } else {
                *skipped += usize::from(a == NONE);
            }
        }
        return;
    };
    // The current run of one account's dropped rows: its account, and
    // the row and day of its latest (the last of that day).
    let mut run: Option<(u32, usize, Day)> = None;
    let mut first = Day::MAX;
    for (i, &a) in keys.iter().enumerate() {
        if !known(a) {
            *skipped += usize::from(a == NONE);
            continue;
        }
        if wanted[i] {
            tagged.push((a, row(i)));
            continue;
        }
        let d = day(i);
        first = first.min(d);
        match &mut run {
            Some((ra, ri, rd)) if *ra == a => {
                if d >= *rd {
                    (*ri, *rd) = (i, d);
                }
            }
            _ => {
                if let Some((ra, ri, _)) = run {
                    dropped.see(ra, row(ri));
                }
                run = Some((a, i, d));
            }
        }
    }
    if let Some((ra, ri, _)) = run {
        dropped.see(ra, row(ri));
        dropped.first = Some(dropped.first.map_or(first, |f| f.min(first)));
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
        // One zipped pass (no bounds checks): the latest day of a known account.
        let latest = keys.iter().zip(day).fold(Day::MIN, |m, (&k, d)| match d {
            Some(d) if k != NONE && k != EMPTY => m.max(*d),
            _ => m,
        });
        self.seen = self.seen.max(latest);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tables::Survey;

    /// [`keep`] as it was: every row made, every dropped row seen.
    fn keep_each_row(
        keys: &[u32],
        wanted: &[bool],
        tagged: &mut Vec<(u32, Survey)>,
        dropped: &mut Dropped<Survey>,
        skipped: &mut usize,
        row: impl Fn(usize) -> Survey,
    ) {
        for (i, &a) in keys.iter().enumerate() {
            if a == NONE || a == EMPTY {
                *skipped += usize::from(a == NONE);
            } else if wanted[i] {
                tagged.push((a, row(i)));
            } else {
                dropped.see(a, row(i));
            }
        }
    }

    /// Runs of one account's dropped rows (ties on the latest day, days
    /// going back, unknown and empty accounts inside a run, an account
    /// coming back later, a run across slices) keep what seeing every row
    /// keeps: the same latest row per account, earliest day and counts.
    #[test]
    fn only_the_latest_of_a_run_gives_the_rows_of_seeing_each() {
        let mut rng = crate::testutil::Lcg::new(3);
        let mut next = |m: u64| rng.below(m);
        let n = 5_000;
        let mut keys = Vec::with_capacity(n);
        let mut a = 0u32;
        for _ in 0..n {
            match next(20) {
                0 => keys.push(NONE),
                1 => keys.push(EMPTY),
                2..=4 => {
                    a = next(30) as u32;
                    keys.push(a);
                }
                _ => keys.push(a),
            }
        }
        let days: Vec<Day> = (0..n).map(|_| next(12) as Day - 3).collect();
        let wanted: Vec<bool> = days.iter().map(|&d| d >= 6).collect();
        let row = |i: usize| Survey {
            day: days[i],
            score: i as f32,
        };
        let (mut want_t, mut got_t) = (Vec::new(), Vec::new());
        let (mut want_d, mut got_d) = (Dropped::new(30), Dropped::new(30));
        let (mut want_s, mut got_s) = (0, 0);
        // In slices of 77 rows (a run goes on in the next slice).
        for start in (0..n).step_by(77) {
            let end = (start + 77).min(n);
            let k = &keys[start..end];
            let w = &wanted[start..end];
            let r = |i: usize| row(start + i);
            keep_each_row(k, w, &mut want_t, &mut want_d, &mut want_s, r);
            keep_dated(
                k,
                Some(w),
                &mut got_t,
                &mut got_d,
                &mut got_s,
                |i| days[start + i],
                r,
            );
        }
        assert_eq!(format!("{got_t:?}"), format!("{want_t:?}"));
        assert_eq!(got_s, want_s);
        assert!(want_s > 100, "{want_s}");
        assert_eq!(got_d.first, want_d.first);
        assert_eq!(got_d.first, Some(-3));
        let (mut wa, mut wb) = (Window::for_tests(), Window::for_tests());
        let want = want_d.finish(TableKind::Events, &mut wa);
        let got = got_d.finish(TableKind::Events, &mut wb);
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        assert!(want.len() > 20, "{}", want.len());
        assert_eq!(wa.dropped_first, wb.dropped_first);
    }

    impl Window {
        fn for_tests() -> Window {
            Window {
                as_of: None,
                days: 90,
                seen: 0,
                dropped_first: FastMap::default(),
            }
        }
    }
}
