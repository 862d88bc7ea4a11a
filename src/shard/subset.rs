//! The tables of one shard: the accounts of bucket K and their rows, cut
//! out of tables loaded whole. Scoring an account reads only its own rows
//! and the bundle, so the shard's queue rows are the single run's rows for
//! those accounts. Bounds, sources and warnings stay those of the files.

use crate::error::{Error, Result};
use crate::io::group::Grouped;
use crate::io::load::Tables;
use crate::shard::bucket::Shard;

/// How the input is laid out for a shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// Every account of every bucket: keep this shard's, drop the rest.
    Whole,
    /// Already partitioned by bucket (e.g. by Spark): every account must be
    /// this shard's; one that is not means the partitioning disagrees with
    /// ours and is refused (exit 3), never silently dropped.
    Partitioned,
}

/// `tables` (read from `path`) with only the accounts of `shard` (in their order) and their
/// rows. Returns the tables and how many accounts of other buckets were
/// dropped.
pub fn keep_shard(
    mut t: Tables,
    shard: Shard,
    input: Input,
    path: &std::path::Path,
) -> Result<(Tables, usize)> {
    let keep: Vec<usize> = (0..t.n_accounts())
        .filter(|&a| shard.holds(&t.accounts.ids[a]))
        .collect();
    let dropped = t.n_accounts() - keep.len();
    if dropped > 0 && input == Input::Partitioned {
        let strays: Vec<String> = (0..t.n_accounts())
            .filter(|a| keep.binary_search(a).is_err())
            .take(5)
            .map(|a| {
                let id = &t.accounts.ids[a];
                format!("{id} (bucket {})", crate::shard::bucket(id, shard.n))
            })
            .collect();
        return Err(Error::Shard {
            path: path.to_path_buf(),
            message: format!(
                "the input of shard {shard} holds {dropped} account(s) of other buckets, e.g. {}: \
             it is not partitioned by pmod(xxhash64(account_id), {}) (drop --partitioned-input \
             to read whole tables and keep this shard's accounts)",
                strays.join(", "),
                shard.n
            ),
        });
    }
    if dropped == 0 {
        return Ok((t, 0));
    }
    let a = &mut t.accounts;
    a.ids = pick(&a.ids, &keep);
    a.names = pick(&a.names, &keep);
    a.created = pick(&a.created, &keep);
    for attr in &mut a.attributes {
        attr.codes = pick(&attr.codes, &keep);
    }
    t.lines = rows_of(&t.lines, &keep);
    if let Some(e) = &mut t.events {
        e.rows = rows_of(&e.rows, &keep);
    }
    if let Some(g) = &mut t.tickets {
        *g = rows_of(g, &keep);
    }
    if let Some(g) = &mut t.surveys {
        *g = rows_of(g, &keep);
    }
    Ok((t, dropped))
}

fn pick<T: Clone>(v: &[T], keep: &[usize]) -> Vec<T> {
    keep.iter().map(|&i| v[i].clone()).collect()
}

/// The rows of the kept accounts, regrouped (each account's rows keep
/// their day order).
fn rows_of<T: crate::io::group::Dated + Copy>(g: &Grouped<T>, keep: &[usize]) -> Grouped<T> {
    let mut offsets = Vec::with_capacity(keep.len() + 1);
    offsets.push(0);
    let mut rows = Vec::new();
    for &a in keep {
        rows.extend_from_slice(g.of(a));
        offsets.push(rows.len());
    }
    Grouped { offsets, rows }
}
