//! Interning and grouping: strings to dense ids (once per distinct string
//! view of a chunk, see [`ViewCache`]), and rows to per-account, day-sorted
//! slices ([`Grouped`]). Knows nothing of files, columns or the contract
//! (see `io::parse` and `io::rules`).

use std::collections::HashMap;

use polars::prelude::*;
use rayon::prelude::*;

use crate::dates::Day;

/// Sentinel for "no value" in interned u32 columns.
pub const NONE: u32 = u32::MAX;
/// Sentinel for an empty account id while loading (a reported problem).
pub(crate) const EMPTY: u32 = u32::MAX - 1;

/// Rows of one table grouped by account: the rows of account `a` are
/// `rows[offsets[a]..offsets[a + 1]]`, sorted by day (ties keep file order).
#[derive(Debug, Clone, Default)]
pub struct Grouped<T> {
    pub offsets: Vec<usize>,
    pub rows: Vec<T>,
}

impl<T: Dated + Copy + Default + Send> Grouped<T> {
    /// Groups rows tagged with account indices `0..n_accounts`; stable, O(n).
    pub(crate) fn build(n_accounts: usize, tagged: Vec<(u32, T)>) -> Grouped<T> {
        let mut offsets = vec![0usize; n_accounts + 1];
        for (a, _) in &tagged {
            offsets[*a as usize + 1] += 1;
        }
        for i in 0..n_accounts {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut rows: Vec<T> = vec![T::default(); tagged.len()];
        for (a, row) in tagged {
            let a = a as usize;
            rows[next[a]] = row;
            next[a] += 1;
        }
        let mut rest = rows.as_mut_slice();
        let mut slices = Vec::with_capacity(n_accounts);
        for a in 0..n_accounts {
            let (head, tail) = rest.split_at_mut(offsets[a + 1] - offsets[a]);
            slices.push(head);
            rest = tail;
        }
        slices
            .into_par_iter()
            .for_each(|s| s.sort_by_key(|r| r.day()));
        Grouped { offsets, rows }
    }
}

impl<T: Dated> Grouped<T> {
    pub fn of(&self, account: usize) -> &[T] {
        &self.rows[self.offsets[account]..self.offsets[account + 1]]
    }

    /// The account's rows dated on or before `as_of`: the only rows a
    /// feature as of that date may read.
    pub fn of_as_of(&self, account: usize, as_of: Day) -> &[T] {
        let rows = self.of(account);
        &rows[..rows.partition_point(|r| r.day() <= as_of)]
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Rows that carry the day they happened on.
pub trait Dated {
    fn day(&self) -> Day;
}

/// A fast, unseeded hasher for our own lookups: ids and event names come
/// from the customer's files, but a map only ever answers "seen before?",
/// and nothing depends on its iteration order.
pub type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// Per chunk of a string column, the value already worked out for each
/// distinct string *view*. polars holds every string as a 16-byte view:
/// up to 12 bytes the view is the string itself (length and bytes), longer
/// ones point into the chunk's buffers, so within one chunk equal views are
/// equal strings (a dictionary page decodes to repeated views). Equal
/// strings with different views only miss the cache. Cleared per chunk.
#[derive(Default)]
pub(crate) struct ViewCache {
    map: FastMap<u128, u32>,
}

/// Appends `value(cell)` for every row of `ca` (nulls as `None`), calling
/// `value` once per distinct view of each chunk and in row order of first
/// appearance, so interning inside `value` assigns first-seen ids.
pub(crate) fn for_each_view(
    ca: &StringChunked,
    cache: &mut ViewCache,
    out: &mut Vec<u32>,
    mut value: impl FnMut(Option<&str>) -> u32,
) {
    #[cfg(test)]
    if BY_TEXT.with(|b| b.get()) {
        out.extend(ca.iter().map(value));
        return;
    }
    for arr in ca.downcast_iter() {
        cache.map.clear();
        let mut last: Option<(u128, u32)> = None;
        for (cell, view) in arr.iter().zip(arr.views().iter()) {
            if cell.is_none() {
                out.push(value(None));
                continue;
            }
            let key = view.as_u128();
            let v = match last {
                Some((k, v)) if k == key => v,
                _ => *cache.map.entry(key).or_insert_with(|| value(cell)),
            };
            last = Some((key, v));
            out.push(v);
        }
    }
}

#[cfg(test)]
thread_local! {
    /// Tests only: look every row up by its text, as the loader did before
    /// [`ViewCache`] (the reference the cached path must equal).
    pub(crate) static BY_TEXT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// [`for_each_view`] for the rows where `wanted` holds; the others get
/// [`NONE`] without calling `value`.
pub(crate) fn for_each_view_where(
    ca: &StringChunked,
    wanted: &[bool],
    cache: &mut ViewCache,
    out: &mut Vec<u32>,
    mut value: impl FnMut(Option<&str>) -> u32,
) {
    let mut row = 0;
    for arr in ca.downcast_iter() {
        cache.map.clear();
        for (cell, view) in arr.iter().zip(arr.views().iter()) {
            let i = row;
            row += 1;
            if !wanted[i] {
                out.push(NONE);
                continue;
            }
            if cell.is_none() {
                out.push(value(None));
                continue;
            }
            let v = *cache
                .map
                .entry(view.as_u128())
                .or_insert_with(|| value(cell));
            out.push(v);
        }
    }
}

/// Interns strings to dense u32 ids in first-seen order. Strings of up to
/// 15 bytes (user ids like `U-000123-04`, which run into the millions at 1M
/// accounts) are kept as one 16-byte key, without an allocation or a
/// string hash each; longer ones as boxed strings.
#[derive(Default)]
pub(crate) struct Interner {
    short: FastMap<u128, u32>,
    pub(crate) map: FastMap<Box<str>, u32>,
}

impl Interner {
    pub(crate) fn id(&mut self, s: &str) -> u32 {
        let next = self.len() as u32;
        match short_key(s) {
            Some(k) => *self.short.entry(k).or_insert(next),
            None => {
                if let Some(&i) = self.map.get(s) {
                    return i;
                }
                self.map.insert(s.into(), next);
                next
            }
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.short.len() + self.map.len()
    }

    pub(crate) fn reserve(&mut self, more: usize) {
        self.short.reserve(more);
    }

    /// The strings, indexed by id.
    pub(crate) fn into_names(self) -> Vec<String> {
        let mut names = vec![String::new(); self.len()];
        for (k, i) in self.short {
            let b = k.to_le_bytes();
            let n = b[15] as usize;
            names[i as usize] = String::from_utf8(b[..n].to_vec()).expect("keys hold UTF-8");
        }
        for (s, i) in self.map {
            names[i as usize] = s.into();
        }
        names
    }
}

/// A string of up to 15 bytes as one number: its bytes, then its length
/// in the last byte (so "a" and "a\0" differ).
fn short_key(s: &str) -> Option<u128> {
    let b = s.as_bytes();
    (b.len() <= 15).then(|| {
        let mut k = [0u8; 16];
        k[..b.len()].copy_from_slice(b);
        k[15] = b.len() as u8;
        u128::from_le_bytes(k)
    })
}

/// Interns a text column's cells (trimmed; empty and null cells are
/// [`NONE`]) to dense ids in first-seen order; rows where `wanted` is false
/// get [`NONE`] and are never interned. Each distinct string view of a
/// chunk is hashed once.
pub(crate) fn intern_column(
    ca: &StringChunked,
    wanted: Option<&[bool]>,
    interner: &mut Interner,
) -> Vec<u32> {
    let mut ids = Vec::with_capacity(ca.len());
    let mut cache = ViewCache::default();
    let id = |v: Option<&str>| match v.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => interner.id(v),
        None => NONE,
    };
    match wanted {
        None => for_each_view(ca, &mut cache, &mut ids, id),
        Some(wanted) => for_each_view_where(ca, wanted, &mut cache, &mut ids, id),
    }
    ids
}

/// A column to intern, and the file's rows when it is the file's first
/// slice (to size the interner for the whole file at the rate of new
/// strings per row seen in it).
type InternJob = (StringChunked, Option<Vec<bool>>, Option<usize>);

/// [`intern_column`] for the slices of one column, in the order they are
/// sent, on a thread of its own (`threaded`) or inline: the ids are the
/// same either way, since one interner sees the slices in file order. The
/// reader converts the next slice while this one is interned (hashing
/// millions of user ids is the largest single cost of the event table).
pub(crate) struct InternWorker {
    /// Inline: the interner and the ids not yet taken.
    inline: Option<(Interner, std::collections::VecDeque<Vec<u32>>)>,
    jobs: Option<std::sync::mpsc::Sender<InternJob>>,
    ids: Option<std::sync::mpsc::Receiver<Vec<u32>>>,
    thread: Option<std::thread::JoinHandle<Interner>>,
}

impl InternWorker {
    pub(crate) fn new(threaded: bool) -> InternWorker {
        if !threaded {
            return InternWorker {
                inline: Some(Default::default()),
                jobs: None,
                ids: None,
                thread: None,
            };
        }
        let (jobs, job_rx) = std::sync::mpsc::channel::<InternJob>();
        let (ids_tx, ids) = std::sync::mpsc::channel();
        #[cfg(test)]
        let by_text = BY_TEXT.with(|b| b.get());
        let thread = std::thread::spawn(move || {
            #[cfg(test)]
            BY_TEXT.with(|b| b.set(by_text));
            let mut interner = Interner::default();
            for (ca, wanted, total) in job_rx {
                let ids = intern_with_hint(&ca, wanted.as_deref(), total, &mut interner);
                if ids_tx.send(ids).is_err() {
                    break;
                }
            }
            interner
        });
        InternWorker {
            inline: None,
            jobs: Some(jobs),
            ids: Some(ids),
            thread: Some(thread),
        }
    }

    /// Queues a slice's column; `total` only with the file's first slice.
    pub(crate) fn send(
        &mut self,
        ca: StringChunked,
        wanted: Option<Vec<bool>>,
        total: Option<usize>,
    ) {
        match (&mut self.inline, &self.jobs) {
            (Some((interner, done)), _) => {
                done.push_back(intern_with_hint(&ca, wanted.as_deref(), total, interner))
            }
            (None, Some(jobs)) => {
                // A send fails only when the thread has died; its panic
                // surfaces in `recv`.
                let _ = jobs.send((ca, wanted, total));
            }
            (None, None) => unreachable!("inline or threaded"),
        }
    }

    /// The ids of the oldest column sent and not yet taken.
    pub(crate) fn recv(&mut self) -> Vec<u32> {
        if let Some((_, done)) = &mut self.inline {
            return done.pop_front().expect("a column was sent");
        }
        match self.ids.as_ref().map(|r| r.recv()) {
            Some(Ok(ids)) => ids,
            _ => {
                self.jobs = None;
                match self.thread.take().map(|t| t.join()) {
                    Some(Err(panic)) => std::panic::resume_unwind(panic),
                    _ => unreachable!("the interning thread stops only when told to"),
                }
            }
        }
    }

    /// The interner, once every column sent has been taken.
    pub(crate) fn finish(mut self) -> Interner {
        if let Some((interner, _)) = self.inline.take() {
            return interner;
        }
        self.jobs = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(interner)) => interner,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("threaded"),
        }
    }
}

/// [`intern_column`], then (on a file's first slice, all rows wanted) the
/// interner sized for the whole file at the same rate of new strings per
/// row, instead of letting it double (and rehash every key) a dozen times.
fn intern_with_hint(
    ca: &StringChunked,
    wanted: Option<&[bool]>,
    total: Option<usize>,
    interner: &mut Interner,
) -> Vec<u32> {
    let ids = intern_column(ca, wanted, interner);
    if let Some(total) = total {
        if total > ids.len() && !ids.is_empty() && wanted.is_none() {
            let per_row = interner.len() as f64 / ids.len() as f64;
            let expected = (per_row * total as f64) as usize;
            interner.reserve(expected.saturating_sub(interner.len()));
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::tables::Survey;

    #[test]
    fn grouping_is_stable_and_sorted_by_day() {
        let tagged = vec![
            (1, Survey { day: 5, score: 1.0 }),
            (0, Survey { day: 9, score: 2.0 }),
            (1, Survey { day: 3, score: 3.0 }),
            (1, Survey { day: 5, score: 4.0 }),
        ];
        let g = Grouped::build(3, tagged);
        assert_eq!(g.of(0).iter().map(|s| s.score).collect::<Vec<_>>(), [2.0]);
        assert_eq!(
            g.of(1).iter().map(|s| s.score).collect::<Vec<_>>(),
            [3.0, 1.0, 4.0]
        );
        assert!(g.of(2).is_empty());
        assert_eq!(g.of_as_of(1, 4).len(), 1);
        assert_eq!(g.of_as_of(1, 5).len(), 3);
    }
}
