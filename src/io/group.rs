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
        Grouped::build_parts(n_accounts, tagged, Vec::new())
    }

    /// Groups the rows of `main` then `extra` (as if `extra` were appended
    /// to `main`, then [`Self::build`]). When each part is in account
    /// order, as a table sorted by account gives them (with a scoring
    /// window's dropped rows as `extra`), the rows are grouped in `main`'s
    /// own memory, in place: no second buffer of every row, which at 100M
    /// events was a quarter of a gigabyte of fresh pages and a scatter.
    pub(crate) fn build_parts(
        n_accounts: usize,
        main: Vec<(u32, T)>,
        extra: Vec<(u32, T)>,
    ) -> Grouped<T> {
        let in_order = |rows: &[(u32, T)]| rows.windows(2).all(|w| w[0].0 <= w[1].0);
        if !in_order(&main) || !in_order(&extra) {
            let mut tagged = main;
            tagged.extend(extra);
            return Grouped::scatter(n_accounts, tagged);
        }
        // Where each account's rows of `main` end, then of both parts.
        let mut main_end = vec![0usize; n_accounts + 1];
        for (a, _) in &main {
            main_end[*a as usize + 1] += 1;
        }
        let mut offsets = main_end.clone();
        for (a, _) in &extra {
            offsets[*a as usize + 1] += 1;
        }
        for i in 0..n_accounts {
            main_end[i + 1] += main_end[i];
            offsets[i + 1] += offsets[i];
        }
        let n_main = main.len();
        // Drops the tags in place (the allocation is reused).
        let mut rows: Vec<T> = main.into_iter().map(|(_, row)| row).collect();
        rows.resize(n_main + extra.len(), T::default());
        // From the end: each extra row goes after its account's rows of
        // `main`, which moves the rows of later accounts up by one more.
        let (mut src_end, mut dst_end) = (n_main, rows.len());
        for (a, row) in extra.into_iter().rev() {
            let from = main_end[a as usize + 1];
            let len = src_end - from;
            rows.copy_within(from..src_end, dst_end - len);
            dst_end -= len + 1;
            rows[dst_end] = row;
            src_end = from;
        }
        debug_assert_eq!(src_end, dst_end);
        sort_each_by_day(&offsets, &mut rows);
        Grouped { offsets, rows }
    }

    /// [`Self::build`] of rows in any order: counts, then places each row.
    fn scatter(n_accounts: usize, tagged: Vec<(u32, T)>) -> Grouped<T> {
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
        sort_each_by_day(&offsets, &mut rows);
        Grouped { offsets, rows }
    }
}

/// Sorts each account's rows `rows[offsets[a]..offsets[a + 1]]` by day,
/// stably (ties keep their order), accounts in parallel.
fn sort_each_by_day<T: Dated + Send>(offsets: &[usize], rows: &mut [T]) {
    let mut rest = rows;
    let mut slices = Vec::with_capacity(offsets.len().saturating_sub(1));
    for w in offsets.windows(2) {
        let (head, tail) = rest.split_at_mut(w[1] - w[0]);
        // Already in order (a file sorted by account and time): no sort.
        if !head.is_sorted_by_key(|r| r.day()) {
            slices.push(head);
        }
        rest = tail;
    }
    slices
        .into_par_iter()
        .for_each(|s| s.sort_by_key(|r| r.day()));
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
/// In front of the map, the last view seen in each of a few slots (picked
/// by a multiply of the view): a column of a few dozen distinct values
/// (event types) then mostly costs a compare per row, not a hash lookup.
/// In front of those, unless made [`ViewCache::scattered`], the row
/// before's view: rows sorted by account come in runs of one id.
pub(crate) struct ViewCache {
    map: FastMap<u128, u32>,
    recent: [(u128, u32); RECENT],
    runs: bool,
}

const RECENT: usize = 64;
/// No view is this: its length would be 4 GiB.
const NO_VIEW: u128 = u128::MAX;

impl Default for ViewCache {
    fn default() -> ViewCache {
        ViewCache {
            map: FastMap::default(),
            recent: [(NO_VIEW, 0); RECENT],
            runs: true,
        }
    }
}

impl ViewCache {
    /// For a column whose values do not come in runs (event types, in
    /// any order within an account): no compare with the row before's
    /// view, which would mostly miss, and a miss is a mispredicted branch
    /// per row (at 100M events, a third of the interning's time).
    pub(crate) fn scattered() -> ViewCache {
        ViewCache {
            runs: false,
            ..ViewCache::default()
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.recent = [(NO_VIEW, 0); RECENT];
    }

    /// The value of `view`, from `value()` the first time it is seen.
    #[inline]
    fn get_or(&mut self, view: u128, value: impl FnOnce() -> u32) -> u32 {
        let mixed = (view as u64 ^ (view >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let slot = (mixed >> (64 - RECENT.trailing_zeros())) as usize;
        let (k, v) = self.recent[slot];
        if k == view {
            return v;
        }
        let v = *self.map.entry(view).or_insert_with(value);
        self.recent[slot] = (view, v);
        v
    }
}

/// Whether row `i` of a chunk holds a value (is not null).
fn present<A: polars::datatypes::StaticArray>(arr: &A) -> impl Fn(usize) -> bool + '_ {
    let validity = arr.validity();
    move |i| validity.is_none_or(|b| b.get_bit(i))
}

/// Whether a chunk has a null.
fn has_nulls<A: polars::datatypes::StaticArray>(arr: &A) -> bool {
    arr.validity().is_some_and(|b| b.unset_bits() > 0)
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
        cache.clear();
        if !has_nulls(arr) {
            // Without nulls (the common case), one loop without a validity
            // test or a capacity check per row.
            if cache.runs {
                views_without_nulls::<true>(arr, cache, out, &mut value);
            } else {
                views_without_nulls::<false>(arr, cache, out, &mut value);
            }
            continue;
        }
        let present = present(arr);
        let mut last: Option<(u128, u32)> = None;
        // Views, not strings: a string is only read (from the chunk's
        // buffers, for one over 12 bytes) the first time its view is seen.
        for (i, view) in arr.views().iter().enumerate() {
            if !present(i) {
                out.push(value(None));
                continue;
            }
            let key = view.as_u128();
            let v = match last {
                Some((k, v)) if k == key => v,
                _ => cache.get_or(key, || value(Some(arr.value(i)))),
            };
            last = Some((key, v));
            out.push(v);
        }
    }
}

/// [`for_each_view`] of a chunk without nulls, comparing each view with
/// the row before's first when `RUNS` (a loop of its own for each, so
/// neither tests which it is per row).
fn views_without_nulls<const RUNS: bool>(
    arr: &<StringType as PolarsDataType>::Array,
    cache: &mut ViewCache,
    out: &mut Vec<u32>,
    value: &mut impl FnMut(Option<&str>) -> u32,
) {
    let mut last: Option<(u128, u32)> = None;
    out.extend(arr.views().iter().enumerate().map(|(i, view)| {
        let key = view.as_u128();
        if !RUNS {
            return cache.get_or(key, || value(Some(arr.value(i))));
        }
        let v = match last {
            Some((k, v)) if k == key => v,
            _ => cache.get_or(key, || value(Some(arr.value(i)))),
        };
        last = Some((key, v));
        v
    }));
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
        cache.clear();
        let present = present(arr);
        for (i, view) in arr.views().iter().enumerate() {
            let wanted = wanted[row];
            row += 1;
            if !wanted {
                out.push(NONE);
            } else if !present(i) {
                out.push(value(None));
            } else {
                out.push(cache.get_or(view.as_u128(), || value(Some(arr.value(i)))));
            }
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

/// Account ids to account indices, for the rows of the other tables: ids
/// of up to 15 bytes as one 16-byte key (no `String` of their own; see
/// [`ShortIds`]), longer ones as strings.
pub(crate) struct AccountIndex {
    short: ShortIds,
    long: FastMap<Box<str>, u32>,
    /// Each account's short key by index (`NOT_SHORT` for a long id).
    by_index: Vec<u128>,
}

/// No [`short_key`] is this: its last byte, the length, would be 255.
const NOT_SHORT: u128 = u128::MAX;

/// The short keys of an [`AccountIndex`] as an open-addressing table
/// (linear probing, at most half full) of account indices, each beside 32
/// bits of its key's hash; the keys themselves are read from `by_index`
/// only on a hash match. At 1M accounts that is 16 MB of slots (a map of
/// `(u128, u32)` pairs took 64 MB, every insert a TLB and cache miss:
/// building it took 0.3 s of the accounts load). Rows sorted by account
/// mostly skip it ([`AccountIndex::get_near`]).
struct ShortIds {
    /// `hash >> 32 << 32 | account`, or [`FREE`].
    slots: Vec<u64>,
    len: usize,
}

/// A free slot: its account would be [`NONE`], which no account is.
const FREE: u64 = u64::MAX;

impl ShortIds {
    fn with_capacity(n: usize) -> ShortIds {
        ShortIds {
            slots: vec![FREE; (2 * n).next_power_of_two().max(16)],
            len: 0,
        }
    }

    fn hash(key: u128) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::default().hash_one(key)
    }

    /// The first slot to probe for a key of hash `h`: its high bits (the
    /// multiply that ends the hash mixes them best).
    fn home(&self, h: u64) -> usize {
        (h >> (64 - self.slots.len().trailing_zeros())) as usize
    }

    /// The account whose key is `key`, or else the free slot where it
    /// would go.
    fn find(&self, key: u128, by_index: &[u128]) -> std::result::Result<u32, usize> {
        let h = Self::hash(key);
        let tag = h >> 32 << 32;
        let mask = self.slots.len() - 1;
        let mut i = self.home(h);
        loop {
            match self.slots[i] {
                FREE => return Err(i),
                s if s >> 32 << 32 == tag && by_index[s as u32 as usize] == key => {
                    return Ok(s as u32)
                }
                _ => i = (i + 1) & mask,
            }
        }
    }

    /// Adds account `a`, whose key `by_index[a]` is not in the table yet,
    /// at `free` (from [`Self::find`]).
    fn insert_new(&mut self, free: usize, a: u32, by_index: &[u128]) {
        self.slots[free] = Self::hash(by_index[a as usize]) >> 32 << 32 | u64::from(a);
        self.len += 1;
        if 2 * self.len > self.slots.len() {
            let mut bigger = ShortIds::with_capacity(self.slots.len());
            for &s in self.slots.iter().filter(|&&s| s != FREE) {
                let a = s as u32;
                let Err(free) = bigger.find(by_index[a as usize], by_index) else {
                    unreachable!("keys in the table are distinct");
                };
                bigger.insert_new(free, a, by_index);
            }
            *self = bigger;
        }
    }

    /// Starts loading the slot where a probe for `key` begins, so that a
    /// later [`Self::find`] does not wait for memory: building the table
    /// of 1M accounts is otherwise a cache miss per account, one at a time.
    fn prefetch(&self, key: u128) {
        let slot = &self.slots[self.home(Self::hash(key))];
        // SAFETY: a prefetch reads nothing and cannot fault (it is a hint;
        // `slot` is a valid reference anyway), and SSE, which it needs, is
        // part of every x86_64 CPU. Elsewhere (and as the reference the
        // tests compare) it is not made: the table is the same either way.
        #[cfg(target_arch = "x86_64")]
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                (slot as *const u64).cast(),
            );
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = slot;
    }
}

impl AccountIndex {
    /// An empty index with room for `n` accounts.
    pub(crate) fn with_capacity(n: usize) -> AccountIndex {
        AccountIndex {
            short: ShortIds::with_capacity(n),
            long: FastMap::default(),
            by_index: Vec::with_capacity(n),
        }
    }

    /// Adds `id` as the next account (index [`Self::len`]), unless it is
    /// there already: then `Err` with its index, and nothing changes.
    /// Built in the accounts table's order, so `by_index` is written in
    /// order and no map of owned ids is needed to check uniqueness.
    pub(crate) fn push(&mut self, id: &str) -> std::result::Result<u32, u32> {
        let next = self.by_index.len() as u32;
        match short_key(id) {
            Some(k) => {
                let free = match self.short.find(k, &self.by_index) {
                    Ok(a) => return Err(a),
                    Err(free) => free,
                };
                self.by_index.push(k);
                self.short.insert_new(free, next, &self.by_index);
            }
            None => {
                if let Some(&i) = self.long.get(id) {
                    return Err(i);
                }
                self.long.insert(id.into(), next);
                self.by_index.push(NOT_SHORT);
            }
        }
        Ok(next)
    }

    /// Starts loading what [`Self::push`] of `id` will read first (see
    /// [`ShortIds::prefetch`]): call it some accounts ahead of the push.
    pub(crate) fn prefetch(&self, id: &str) {
        if let Some(k) = short_key(id) {
            self.short.prefetch(k);
        }
    }

    /// Accounts indexed.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_index.len()
    }

    /// [`Self::get`], trying account `near` first (one compare, in
    /// memory read in order while rows sorted by account meet the
    /// accounts in their table's order) before the map.
    pub(crate) fn get_near(&self, id: &str, near: u32) -> Option<u32> {
        match short_key(id) {
            Some(k) if self.by_index.get(near as usize) == Some(&k) => Some(near),
            Some(k) => self.short.find(k, &self.by_index).ok(),
            None => self.long.get(id).copied(),
        }
    }

    #[cfg(test)]
    fn get(&self, id: &str) -> Option<u32> {
        match short_key(id) {
            Some(k) => self.short.find(k, &self.by_index).ok(),
            None => self.long.get(id).copied(),
        }
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

/// [`intern_column_into`] a new vector.
#[cfg(test)]
pub(crate) fn intern_column(
    ca: &StringChunked,
    wanted: Option<&[bool]>,
    interner: &mut Interner,
) -> Vec<u32> {
    let mut ids = Vec::new();
    intern_column_into(ca, wanted, interner, &mut ids);
    ids
}

/// Interns a text column's cells (trimmed; empty and null cells are
/// [`NONE`]) to dense ids in first-seen order, appended to `ids`; rows
/// where `wanted` is false get [`NONE`] and are never interned. Each
/// distinct string view of a chunk is hashed once.
pub(crate) fn intern_column_into(
    ca: &StringChunked,
    wanted: Option<&[bool]>,
    interner: &mut Interner,
    ids: &mut Vec<u32>,
) {
    ids.reserve(ca.len());
    let mut cache = ViewCache::scattered();
    let id = |v: Option<&str>| match v.map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => interner.id(v),
        None => NONE,
    };
    match wanted {
        None => for_each_view(ca, &mut cache, ids, id),
        Some(wanted) => for_each_view_where(ca, wanted, &mut cache, ids, id),
    }
}

/// User ids that only mean something within their account: features read
/// users only as distinct counts per account (`active_users_30d`), so
/// two rows of one account get the same id exactly when their user
/// strings are equal, and ids of different accounts are unrelated. The
/// id is the user's position among its account's users in first-seen
/// (file) order, so slices read in file order give the ids a whole-file
/// pass would. No map of every user of every account: a user id of up to
/// 15 bytes (`U-000123-04`) is compared as one 16-byte key in a short
/// per-account run of keys, which stays in cache while an account's rows
/// come together; longer ones are interned once (first) into such a key.
#[derive(Default)]
pub(crate) struct AccountUsers {
    /// Per account index: where its users' keys are in `keys`.
    spans: Vec<Span>,
    /// Every account's users' keys, each account's in one run (its span)
    /// in first-seen order: the position in the run is the id. One vector,
    /// so memory is freed at once (not a heap of small lists), and rows of
    /// one account coming together append to the end in place.
    keys: Vec<u128>,
    /// Accounts of more than [`FEW_USERS`] users: key to id.
    many: FastMap<u32, FastMap<u128, u32>>,
    /// User strings longer than 15 bytes, to dense ids (their key).
    long: Interner,
    /// Per chunk, the long strings' ids by view.
    cache: ViewCache,
}

/// Accounts with up to this many distinct users keep them in a run of
/// keys scanned per row; beyond it, in a map of their own.
const FEW_USERS: usize = 32;

/// An account's run of keys: `keys[start..start + len]`, with room up to
/// `cap`; `cap == MANY` once its users are in [`AccountUsers::many`].
#[derive(Clone, Copy, Default)]
struct Span {
    start: usize,
    len: u16,
    cap: u16,
}

const MANY: u16 = u16::MAX;

/// The key of a string interned as long: its id, with a last byte no
/// [`short_key`] has (their last byte is a length <= 15).
fn long_key(id: u32) -> u128 {
    u128::from(id) | (0xFF << 120)
}

impl AccountUsers {
    /// The id of `key` among the users of `account`.
    fn id(&mut self, account: u32, key: u128) -> u32 {
        let a = account as usize;
        if a >= self.spans.len() {
            self.spans.resize(a + 1, Span::default());
        }
        let mut span = self.spans[a];
        if span.cap == MANY {
            let map = self
                .many
                .get_mut(&account)
                .expect("an account of many users");
            let n = map.len() as u32;
            return *map.entry(key).or_insert(n);
        }
        let (start, len) = (span.start, usize::from(span.len));
        let run = &self.keys[start..start + len];
        if let Some(i) = run.iter().position(|&k| k == key) {
            return i as u32;
        }
        let id = len as u32;
        if len == FEW_USERS {
            let mut map: FastMap<u128, u32> = run
                .iter()
                .enumerate()
                .map(|(i, &k)| (k, i as u32))
                .collect();
            map.insert(key, id);
            self.many.insert(account, map);
            self.spans[a].cap = MANY;
            return id;
        }
        if span.cap == 0 {
            span.start = self.keys.len();
        }
        if len < usize::from(span.cap) {
            self.keys[span.start + len] = key;
        } else if span.start + usize::from(span.cap) == self.keys.len() {
            // The run ends the vector: it grows in place.
            self.keys.push(key);
            span.cap += 1;
        } else {
            // Moved to the end with room to grow (the old run is left).
            let cap = (2 * len).clamp(4, FEW_USERS);
            let to = self.keys.len();
            self.keys.extend_from_within(start..start + len);
            self.keys.push(key);
            self.keys.resize(to + cap, 0);
            span.start = to;
            span.cap = cap as u16;
        }
        span.len += 1;
        self.spans[a] = span;
        id
    }

    /// [`Self::ids_into`] a new vector.
    #[cfg(test)]
    pub(crate) fn ids(
        &mut self,
        ca: &StringChunked,
        accounts: &[u32],
        wanted: Option<&[bool]>,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        self.ids_into(ca, accounts, wanted, &mut out);
        out
    }

    /// Per row of `ca` (a slice's user column), into `out` (cleared
    /// first, its memory reused): the user's id within the row's account
    /// `accounts[i]`, or [`NONE`] when the cell is null or blank (trimmed),
    /// the account is unknown or empty ([`NONE`], [`EMPTY`]), or the row
    /// is not `wanted`.
    pub(crate) fn ids_into(
        &mut self,
        ca: &StringChunked,
        accounts: &[u32],
        wanted: Option<&[bool]>,
        out: &mut Vec<u32>,
    ) {
        out.clear();
        // Rows not wanted (most of them, in a scoring window) are only
        // passed over: their id is this none.
        out.resize(ca.len(), NONE);
        let mut start = 0;
        for arr in ca.downcast_iter() {
            self.cache.clear();
            let present = present(arr);
            let views = arr.views();
            let kept = wanted.map(|w| &w[start..start + views.len()]);
            let mut next = 0;
            while next < views.len() {
                let i = next;
                next += 1;
                let (row, view) = (start + i, &views[i]);
                // The small `wanted` first: rows not kept read nothing
                // else, and eight not kept after one not kept are passed
                // over at once (most rows, in a scoring window).
                if let Some(kept) = kept {
                    if !kept[i] {
                        if let Some(eight) = kept.get(next..next + 8) {
                            if none_of_eight(eight) {
                                next += 8;
                            }
                        }
                        continue;
                    }
                }
                let a = accounts[row];
                if a == NONE || a == EMPTY || !present(i) {
                    continue;
                }
                let key = match inline_key(view.as_u128()) {
                    Some(k) => k,
                    None => {
                        let s = arr.value(i).trim();
                        if s.is_empty() {
                            continue;
                        }
                        match short_key(s) {
                            Some(k) => k,
                            None => {
                                let long = &mut self.long;
                                long_key(self.cache.get_or(view.as_u128(), || long.id(s)))
                            }
                        }
                    }
                };
                out[row] = self.id(a, key);
            }
            start += views.len();
        }
    }
}

/// Whether none of eight flags is set, as one 8-byte load and compare
/// (LLVM merges the bytes) rather than eight tests and branches.
#[inline]
fn none_of_eight(flags: &[bool]) -> bool {
    let bytes: [u8; 8] = std::array::from_fn(|k| u8::from(flags[k]));
    u64::from_ne_bytes(bytes) == 0
}

/// The [`short_key`] of an inline string view's string (up to 12 bytes)
/// when trimming leaves it as it is (its first and last bytes are ASCII
/// and not spaces), read off the view itself: no copy of its bytes, no
/// trim. A polars view is its length (the low 4 bytes) then, inline, the
/// string's bytes. None for other views: they take the slow way.
#[inline]
fn inline_key(view: u128) -> Option<u128> {
    let len = (view as u32) as usize;
    if len == 0 || len > 12 {
        return None;
    }
    let bytes = view >> 32;
    let graphic = |b: u128| (0x21..=0x7E).contains(&(b as u8));
    if !graphic(bytes & 0xFF) || !graphic((bytes >> (8 * (len - 1))) & 0xFF) {
        return None;
    }
    Some((bytes & ((1u128 << (8 * len)) - 1)) | ((len as u128) << 120))
}

/// A slice's user column, its rows' account indices and (in a scoring
/// window) which rows are kept, sent to a [`UserWorker`]; it comes back
/// with `ids` filled and the column let go. Its vectors travel with it
/// rather than being copied, and the reader reuses them for a later slice
/// (a fresh vector per slice is fresh pages for the kernel to fault in).
#[derive(Default)]
pub(crate) struct UserJob {
    pub(crate) users: Option<StringChunked>,
    pub(crate) accounts: Vec<u32>,
    pub(crate) wanted: Option<Vec<bool>>,
    /// Per row, the user's id within its account ([`AccountUsers::ids_into`]).
    pub(crate) ids: Vec<u32>,
}

/// [`AccountUsers::ids_into`] for the slices of the user column, in the order
/// they are sent, on a thread of its own (`threaded`) or inline: the ids
/// are the same either way, since one [`AccountUsers`] sees the slices in
/// file order. The reader converts the next slice while this one's users
/// are looked up.
pub(crate) struct UserWorker {
    /// Inline: the users and the jobs done, not yet taken.
    inline: Option<(UserIds, std::collections::VecDeque<UserJob>)>,
    jobs: Option<std::sync::mpsc::Sender<UserJob>>,
    ids: Option<std::sync::mpsc::Receiver<UserJob>>,
    thread: Option<std::thread::JoinHandle<UserIds>>,
}

/// What assigns user ids: [`AccountUsers`], or in tests (with
/// [`GLOBAL_USERS`] set) the one interner of every user string that the
/// loader used before, as the reference.
#[derive(Default)]
pub(crate) struct UserIds {
    per_account: AccountUsers,
    #[cfg(test)]
    global: Option<Interner>,
}

impl UserIds {
    fn new() -> UserIds {
        UserIds {
            per_account: AccountUsers::default(),
            #[cfg(test)]
            global: GLOBAL_USERS.with(|g| g.get()).then(Interner::default),
        }
    }

    /// Fills `job.ids` (empty without a user column) and lets go of the column.
    fn ids(&mut self, mut job: UserJob) -> UserJob {
        job.ids.clear();
        let Some(ca) = job.users.take() else {
            return job;
        };
        #[cfg(test)]
        if let Some(global) = &mut self.global {
            intern_column_into(&ca, job.wanted.as_deref(), global, &mut job.ids);
            return job;
        }
        let wanted = job.wanted.as_deref();
        self.per_account
            .ids_into(&ca, &job.accounts, wanted, &mut job.ids);
        job
    }
}

#[cfg(test)]
thread_local! {
    /// Tests only: user ids from one interner of every user string in
    /// first-seen order, as the loader assigned them before
    /// [`AccountUsers`] (the reference its features must equal).
    pub(crate) static GLOBAL_USERS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl UserWorker {
    pub(crate) fn new(threaded: bool) -> UserWorker {
        if !threaded {
            return UserWorker {
                inline: Some((UserIds::new(), Default::default())),
                jobs: None,
                ids: None,
                thread: None,
            };
        }
        let (jobs, job_rx) = std::sync::mpsc::channel::<UserJob>();
        let (ids_tx, ids) = std::sync::mpsc::channel();
        let mut users = UserIds::new();
        #[cfg(test)]
        let by_text = BY_TEXT.with(|b| b.get());
        let thread = std::thread::spawn(move || {
            #[cfg(test)]
            BY_TEXT.with(|b| b.set(by_text));
            for job in job_rx {
                if ids_tx.send(users.ids(job)).is_err() {
                    break;
                }
            }
            users
        });
        UserWorker {
            inline: None,
            jobs: Some(jobs),
            ids: Some(ids),
            thread: Some(thread),
        }
    }

    /// Queues a slice's user column with its rows' account indices.
    pub(crate) fn send(&mut self, job: UserJob) {
        match (&mut self.inline, &self.jobs) {
            (Some((users, done)), _) => done.push_back(users.ids(job)),
            (None, Some(jobs)) => {
                // A send fails only when the thread has died; its panic
                // surfaces in `recv`.
                let _ = jobs.send(job);
            }
            (None, None) => unreachable!("inline or threaded"),
        }
    }

    /// The oldest job sent and not yet taken, with its ids.
    pub(crate) fn recv(&mut self) -> UserJob {
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

    /// Waits for the thread, once every column sent has been taken.
    pub(crate) fn finish(mut self) {
        if self.inline.take().is_some() {
            return;
        }
        self.jobs = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(_)) => {}
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => unreachable!("threaded"),
        }
    }
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

    /// Rows in account order grouped in place, with extra rows after each
    /// account's (ties on the day among them, accounts with only extra
    /// rows, with none, an extra for the last account), give the grouping
    /// of placing every row; and so do parts out of order.
    #[test]
    fn grouping_in_place_gives_the_grouping_of_placing_each_row() {
        let survey = |day: i32, score: f32| Survey { day, score };
        // A fixed pseudo-random walk over 40 accounts, days 0..9.
        let mut rng = crate::testutil::Lcg::new(7);
        let mut next = |m: u64| rng.below(m);
        let mut main: Vec<(u32, Survey)> = (0..400)
            .map(|i| (next(40) as u32, survey(next(10) as i32, i as f32)))
            .collect();
        main.sort_by_key(|(a, _)| *a);
        let extra: Vec<(u32, Survey)> = (0..40u32)
            .filter(|a| a % 3 != 1)
            .map(|a| (a, survey(next(10) as i32, 1000.0 + a as f32)))
            .chain([(39, survey(0, 2000.0)), (39, survey(9, 2001.0))])
            .collect();
        let n = 41;
        let both = || main.iter().chain(&extra).copied().collect::<Vec<_>>();
        let want = Grouped::scatter(n, both());
        let got = Grouped::build_parts(n, main.clone(), extra.clone());
        assert_eq!(got.offsets, want.offsets);
        assert_eq!(format!("{:?}", got.rows), format!("{:?}", want.rows));
        assert!(got.of(40).is_empty());
        assert!(got.of(1).iter().all(|s| s.score < 1000.0));
        assert_eq!(got.of(39).last().map(|s| s.score), Some(2001.0));
        // Out of order: placed one by one, the same again.
        let mut shuffled = main.clone();
        shuffled.reverse();
        let got = Grouped::build_parts(n, shuffled.clone(), extra.clone());
        let want = Grouped::scatter(n, shuffled.iter().chain(&extra).copied().collect());
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        let got = Grouped::build(n, both());
        assert_eq!(
            format!("{:?}", got.rows),
            format!("{:?}", Grouped::scatter(n, both()).rows)
        );
    }

    fn column(cells: &[Option<&str>]) -> StringChunked {
        cells.iter().copied().collect()
    }

    /// Many distinct views (more than the cache's slots, short and long
    /// strings) in a scrambled order, nulls among them: ids of a lookup
    /// per view are those of a lookup per row's text.
    #[test]
    fn a_lookup_per_view_gives_the_ids_of_a_lookup_per_text() {
        let texts: Vec<Option<String>> = (0..5_000u64)
            .map(|i| {
                let k = (i * 7919) % 300;
                match k % 3 {
                    _ if i % 17 == 0 => None,
                    0 => Some(format!("e{k}")),
                    _ => Some(format!("event-type-with-a-long-name-{k}")),
                }
            })
            .collect();
        let cells: Vec<Option<&str>> = texts.iter().map(|t| t.as_deref()).collect();
        let mut by_text = Interner::default();
        let want: Vec<u32> = cells
            .iter()
            .map(|c| c.map_or(NONE, |c| by_text.id(c)))
            .collect();
        let mut interner = Interner::default();
        let got = intern_column(&column(&cells), None, &mut interner);
        assert_eq!(got, want);
        assert_eq!(interner.into_names(), by_text.into_names());
        let wanted: Vec<bool> = (0..cells.len()).map(|i| i % 5 != 1).collect();
        let got = intern_column(&column(&cells), Some(&wanted), &mut Interner::default());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(*g == NONE, *w == NONE || !wanted[i], "row {i}");
        }
    }

    #[test]
    fn the_account_index_finds_exactly_the_accounts_ids() {
        let ids = [
            "A-1",
            "A-1\0",
            "",
            "fifteen-bytes-x",
            "sixteen-bytes-xx",
            "an-account-id-of-many-bytes",
        ];
        let mut index = AccountIndex::with_capacity(2);
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.push(id), Ok(i as u32), "{id:?}");
        }
        assert_eq!(index.len(), ids.len());
        // A second push of an id (short or long) names the first.
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.push(id), Err(i as u32), "{id:?}");
        }
        assert_eq!(index.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(i as u32), "{id:?}");
            for near in 0..8 {
                assert_eq!(
                    index.get_near(id, near),
                    Some(i as u32),
                    "{id:?} near {near}"
                );
            }
        }
        for other in [
            "A-2",
            "A-1 ",
            "a-1",
            "sixteen-bytes-xy",
            "an-account-id-of-many",
        ] {
            assert_eq!(index.get(other), None, "{other:?}");
            for near in 0..8 {
                assert_eq!(index.get_near(other, near), None, "{other:?} near {near}");
            }
        }
    }

    /// The table of short keys grows as accounts are pushed past the room
    /// asked for, and still finds each account and only those.
    #[test]
    fn the_account_index_grows_and_keeps_every_account() {
        let id = |i: usize| format!("A-{i:06}");
        let mut index = AccountIndex::with_capacity(3);
        for i in 0..20_000 {
            assert_eq!(index.push(&id(i)), Ok(i as u32));
        }
        for i in (0..20_000).step_by(7) {
            assert_eq!(index.push(&id(i)), Err(i as u32));
            assert_eq!(index.get(&id(i)), Some(i as u32));
            assert_eq!(index.get_near(&id(i), 0), Some(i as u32));
        }
        assert_eq!(index.len(), 20_000);
        assert_eq!(index.short.len, 20_000);
        assert!(index.short.slots.len() >= 40_000);
        // A prefetch changes nothing.
        index.prefetch(&id(3));
        index.prefetch("an-account-id-of-many-bytes");
        assert_eq!(index.push(&id(3)), Err(3));
        for i in 20_000..21_000 {
            assert_eq!(index.get(&id(i)), None);
        }
    }

    /// A key read off a view is the key of the trimmed string, and there
    /// is none where trimming would change the string or it is not inline.
    #[test]
    fn a_key_read_off_a_view_is_the_key_of_its_trimmed_string() {
        let cells = [
            "U-000123-04",
            "a",
            "twelve-bytes",
            "thirteen-byte",
            " u1",
            "u1 ",
            "u1\t",
            "\u{a0}u1",
            "u1\u{3000}",
            "caf\u{e9}",
            "~!",
            "a b",
            "",
        ];
        let ca: StringChunked = cells.iter().map(|c| Some(*c)).collect();
        let mut read = 0;
        for arr in ca.downcast_iter() {
            for (i, view) in arr.views().iter().enumerate() {
                let s = arr.value(i);
                match inline_key(view.as_u128()) {
                    Some(k) => {
                        read += 1;
                        assert_eq!(s.trim(), s, "{s:?}");
                        assert_eq!(Some(k), short_key(s), "{s:?}");
                    }
                    None => assert!(
                        s.len() > 12
                            || s.trim() != s
                            || !s.ends_with(|c: char| c.is_ascii())
                            || s.is_empty(),
                        "{s:?}"
                    ),
                }
            }
        }
        assert_eq!(read, 5);
    }

    #[test]
    fn user_ids_count_first_seen_users_within_each_account() {
        let long = "a-user-id-longer-than-fifteen-bytes";
        let cells = [
            Some("u1"),
            Some("u2"),
            Some(" u1 "), // trimmed: u1 again
            Some("u1"),   // another account: its own first user
            None,
            Some("  "),
            Some(long),
            Some("u2"),
            Some("u9"), // unknown account
            Some("u9"), // empty account id
            Some("u1\0"),
            Some(long),
        ];
        let accounts = [0, 0, 0, 1, 0, 0, 1, 0, NONE, EMPTY, 0, 0];
        let ids = AccountUsers::default().ids(&column(&cells), &accounts, None);
        assert_eq!(ids, [0, 1, 0, 0, NONE, NONE, 1, 1, NONE, NONE, 2, 3]);
        // Rows not wanted get none and do not take an id.
        let wanted = [
            false, true, true, true, true, true, true, true, true, true, true, true,
        ];
        let ids = AccountUsers::default().ids(&column(&cells), &accounts, Some(&wanted));
        assert_eq!(ids[..4], [NONE, 0, 1, 0]);
    }

    /// Runs of rows not wanted of every length around the eight passed
    /// over at once (at a chunk's start and end too, over several
    /// chunks): each row gets the id it gets when the rows not wanted are
    /// null instead, the row-by-row reference.
    #[test]
    fn user_ids_pass_over_rows_not_wanted_as_if_they_were_null() {
        let mut rng = crate::testutil::Lcg::new(7);
        let mut next = |m: u64| rng.below(m);
        let n = 3_000;
        let users: Vec<String> = (0..n).map(|_| format!("U-{}", next(40))).collect();
        let accounts: Vec<u32> = (0..n).map(|i| (i / 50) as u32 % 7).collect();
        let mut wanted = Vec::with_capacity(n);
        while wanted.len() < n {
            let (run, keep) = (next(20) as usize, next(3) == 0);
            wanted.extend(std::iter::repeat_n(keep, run));
        }
        wanted.truncate(n);
        assert!(wanted.iter().filter(|&&w| w).count() > 300);
        let cells: Vec<Option<&str>> = users.iter().map(|u| Some(u.as_str())).collect();
        let masked: Vec<Option<&str>> = cells
            .iter()
            .zip(&wanted)
            .map(|(c, &w)| c.filter(|_| w))
            .collect();
        // Chunks of 101 rows: runs cross them.
        let chunked = |cells: &[Option<&str>]| {
            let mut ca = column(&cells[..101]);
            for c in cells[101..].chunks(101) {
                ca.append(&column(c)).expect("same type");
            }
            ca
        };
        let got = AccountUsers::default().ids(&chunked(&cells), &accounts, Some(&wanted));
        let want = AccountUsers::default().ids(&chunked(&masked), &accounts, None);
        assert_eq!(got, want);
        assert!(got.iter().filter(|&&g| g != NONE).count() > 300);
    }

    /// A cache that compares with the row before's view and one that does
    /// not give the same values, called in the same order.
    #[test]
    fn a_scattered_view_cache_gives_the_values_of_one_for_runs() {
        let cells: Vec<Option<&str>> = (0..2_000u64)
            .map(|i| match (i / 3 * 7919) % 90 {
                k if k < 30 => Some(["a", "b", "c"][k as usize % 3]),
                k if k < 60 => {
                    Some(["login", "view_dashboard", "notification_open"][k as usize % 3])
                }
                k => Some(["x-long-event-type-name-1", "x-long-event-type-name-2"][k as usize % 2]),
            })
            .collect();
        let run = |mut cache: ViewCache| {
            let (mut out, mut calls) = (Vec::new(), Vec::new());
            for_each_view(&column(&cells), &mut cache, &mut out, |v| {
                calls.push(v.map(str::to_owned));
                calls.len() as u32
            });
            (out, calls)
        };
        let (runs, scattered) = (run(ViewCache::default()), run(ViewCache::scattered()));
        assert_eq!(runs, scattered);
        assert_eq!(runs.0.len(), cells.len());
        // Short strings are inline views: one call each. Long ones built
        // row by row are views of their own (each misses).
        let short = runs
            .1
            .iter()
            .filter(|c| c.as_ref().is_some_and(|c| c.len() <= 12));
        let mut distinct: Vec<&str> = cells
            .iter()
            .flatten()
            .copied()
            .filter(|c| c.len() <= 12)
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        assert!(distinct.len() >= 3, "{distinct:?}");
        assert_eq!(short.count(), distinct.len());
    }

    #[test]
    fn user_ids_do_not_depend_on_slices_or_on_many_users() {
        // 3 accounts, interleaved, one with far more than FEW_USERS users
        // and another that comes back after a long gap.
        let rows: Vec<(u32, String)> = (0..2_000)
            .map(|i| match i % 5 {
                0..=2 => (0, format!("U-{}", (i * 7) % 101)),
                3 => (1, format!("U-{}", i % 3)),
                _ => (2, format!("a-very-long-user-id-{}", (i / 5) % 40)),
            })
            .collect();
        let cells: Vec<Option<&str>> = rows.iter().map(|(_, u)| Some(u.as_str())).collect();
        let accounts: Vec<u32> = rows.iter().map(|(a, _)| *a).collect();
        let mut one = AccountUsers::default();
        let whole = one.ids(&column(&cells), &accounts, None);
        // Runs moved to the end of the keys as they grow, with room to
        // double: per account at most 1 + 4 + 8 + 16 + 32 keys' room.
        assert!(
            one.keys.len() <= 3 * (1 + 4 + 8 + 16 + 32),
            "{}",
            one.keys.len()
        );
        assert_eq!(one.many.len(), 2);
        let mut users = AccountUsers::default();
        let mut sliced = Vec::new();
        for (c, a) in cells.chunks(37).zip(accounts.chunks(37)) {
            sliced.extend(users.ids(&column(c), a, None));
        }
        assert_eq!(sliced, whole);
        // Equal ids within an account exactly when the strings are equal,
        // dense from 0 in first-seen order.
        for account in 0..3 {
            let mut first: Vec<&str> = Vec::new();
            for (i, (a, u)) in rows.iter().enumerate() {
                if *a != account {
                    continue;
                }
                let want = match first.iter().position(|f| f == u) {
                    Some(p) => p,
                    None => {
                        first.push(u);
                        first.len() - 1
                    }
                };
                assert_eq!(whole[i] as usize, want, "row {i}: account {a}, user {u}");
            }
            assert!(account != 0 || first.len() > FEW_USERS, "{}", first.len());
        }
    }
}
