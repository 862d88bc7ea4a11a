//! A shard's output, a **part**: its queue rows (`rows.cbor`) and the
//! aggregates that add up across shards (`part.json`: counts, histograms on
//! the bundle's drift bins, tier counts, timings, bundle id, as-of, K and
//! N, the input files). Written into its folder as one set, like a queue;
//! read back and checked by `merge`. Never ranks or publishes a queue.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::drift::Histogram;
use crate::error::{Error, Result};
use crate::io::load::SourceFile;
use crate::io::write::write_bytes;
use crate::publish::folder::{Contents, OutputFolder};
use crate::queue::QueueRow;
use crate::score::{Scored, Timings};
use crate::shard::bucket::{bucket, Shard};
use crate::shard::subset::Input;

/// The names a part folder may hold.
pub const PART_FILES: Contents = Contents {
    what: "a shard's part (part.json, rows.cbor)",
    names: &[PART_MANIFEST, PART_ROWS],
};

pub const PART_MANIFEST: &str = "part.json";
pub const PART_ROWS: &str = "rows.cbor";
/// `format` of this version's parts; `merge` reads only these.
pub const PART_FORMAT: &str = "ebbflow-part/1";

/// Accounts of the shard: in its bucket, scored, inactive at the as-of
/// date; and accounts of other buckets the shard read and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PartCounts {
    pub accounts: usize,
    pub scored: usize,
    pub inactive: usize,
    pub other_buckets_dropped: usize,
}

/// Rows per churn tier, upgrade tier and play (empty tier: no model).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TierCounts {
    pub churn: BTreeMap<String, usize>,
    pub upgrade: BTreeMap<String, usize>,
    pub plays: BTreeMap<String, usize>,
}

impl TierCounts {
    pub fn of(rows: &[QueueRow]) -> TierCounts {
        let mut t = TierCounts::default();
        for r in rows {
            *t.churn.entry(r.risk_tier.clone()).or_default() += 1;
            *t.upgrade.entry(r.upgrade_tier.clone()).or_default() += 1;
            *t.plays.entry(r.suggested_play.clone()).or_default() += 1;
        }
        t
    }
}

/// Where the shard's time went, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartTimings {
    pub read_s: f64,
    #[serde(flatten)]
    pub score: Timings,
    pub total_s: f64,
}

/// The rows file as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowsFile {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    pub rows: usize,
}

/// `part.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartManifest {
    pub format: String,
    pub ebbflow_version: String,
    pub generated_at: String,
    pub bundle_id: String,
    pub as_of: String,
    pub shard: Shard,
    /// `whole` (every bucket read, this one kept) or `partitioned`.
    pub input: String,
    pub counts: PartCounts,
    pub has_names: bool,
    pub has_owner: bool,
    pub tiers: TierCounts,
    /// Counts on the bundle's drift bins, one per feature, bundle order.
    pub histograms: Vec<Histogram>,
    pub timings: PartTimings,
    /// The input files as read (whole files: with whole input every part
    /// lists the same ones, and `merge` counts each once).
    pub data: Vec<SourceFile>,
    pub rows: RowsFile,
}

/// What a shard run hands to [`write_part`].
pub struct ShardRun<'a> {
    pub scored: &'a Scored,
    pub shard: Shard,
    pub input: Input,
    pub other_buckets_dropped: usize,
    pub bundle_id: &'a str,
    pub as_of: &'a str,
    pub sources: &'a [SourceFile],
    pub generated_at: &'a str,
    pub read_s: f64,
    pub started: std::time::Instant,
}

/// Writes the part into `folder` as one set.
pub fn write_part(folder: &OutputFolder, run: ShardRun<'_>) -> Result<PartManifest> {
    let s = run.scored;
    let mut bytes = Vec::new();
    ciborium::into_writer(&s.rows, &mut bytes).map_err(|e| Error::Shard {
        path: folder.shown().join(PART_ROWS),
        message: format!("cannot encode the rows: {e}"),
    })?;
    let stage = folder.stage()?;
    stage.write(|dir| write_bytes(&dir.join(PART_ROWS), &bytes))?;
    let manifest = PartManifest {
        format: PART_FORMAT.into(),
        ebbflow_version: env!("CARGO_PKG_VERSION").into(),
        generated_at: run.generated_at.into(),
        bundle_id: run.bundle_id.into(),
        as_of: run.as_of.into(),
        shard: run.shard,
        input: match run.input {
            Input::Whole => "whole",
            Input::Partitioned => "partitioned",
        }
        .into(),
        counts: PartCounts {
            accounts: s.accounts,
            scored: s.rows.len(),
            inactive: s.inactive,
            other_buckets_dropped: run.other_buckets_dropped,
        },
        has_names: s.has_names,
        has_owner: s.has_owner,
        tiers: TierCounts::of(&s.rows),
        histograms: s.histograms.clone(),
        timings: PartTimings {
            read_s: run.read_s,
            score: s.timings.clone(),
            total_s: run.started.elapsed().as_secs_f64(),
        },
        data: run.sources.to_vec(),
        rows: RowsFile {
            file: PART_ROWS.into(),
            sha256: sha256(&bytes),
            bytes: bytes.len() as u64,
            rows: s.rows.len(),
        },
    };
    let text = serde_json::to_string_pretty(&manifest)?;
    stage.write(|dir| write_bytes(&dir.join(PART_MANIFEST), text.as_bytes()))?;
    stage.publish()?;
    Ok(manifest)
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A part read back: its folder, manifest and rows.
#[derive(Debug, Clone)]
pub struct Part {
    pub dir: PathBuf,
    pub manifest: PartManifest,
    pub rows: Vec<QueueRow>,
}

/// Reads and checks the part in `dir`: its format, that the rows are the
/// ones the manifest hashed and counted, and that every row is of the
/// part's bucket. A part that fails is damaged or edited (exit 3).
pub fn read_part(dir: &Path) -> Result<Part> {
    let bad = |path: PathBuf, message: String| Error::Shard { path, message };
    let mpath = dir.join(PART_MANIFEST);
    let text = std::fs::read(&mpath).map_err(|e| Error::io(&mpath, e))?;
    let manifest: PartManifest = serde_json::from_slice(&text).map_err(|e| {
        bad(
            mpath.clone(),
            format!("not a part manifest of this version ({PART_FORMAT}): {e}"),
        )
    })?;
    if manifest.format != PART_FORMAT {
        return Err(bad(
            mpath,
            format!(
                "part format {:?}, this version reads {PART_FORMAT:?}",
                manifest.format
            ),
        ));
    }
    let rpath = dir.join(&manifest.rows.file);
    let mut bytes = Vec::new();
    std::fs::File::open(&rpath)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(|e| Error::io(&rpath, e))?;
    if sha256(&bytes) != manifest.rows.sha256 {
        return Err(bad(
            rpath,
            "its sha256 differs from part.json's: the part is damaged or was edited".into(),
        ));
    }
    let rows: Vec<QueueRow> = ciborium::from_reader(bytes.as_slice()).map_err(|e| {
        bad(
            rpath.clone(),
            format!(
                "cannot decode the rows ({e}): a part is read by the ebbflow build that wrote it \
                 (this one: ebbflow {}; the part: ebbflow {})",
                env!("CARGO_PKG_VERSION"),
                manifest.ebbflow_version
            ),
        )
    })?;
    if rows.len() != manifest.rows.rows || rows.len() != manifest.counts.scored {
        return Err(bad(
            rpath,
            format!("{} rows, part.json says {}", rows.len(), manifest.rows.rows),
        ));
    }
    let shard = manifest.shard;
    Shard::new(shard.k, shard.n).map_err(|m| bad(mpath.clone(), m))?;
    if let Some(r) = rows.iter().find(|r| !shard.holds(&r.account_id)) {
        return Err(bad(
            rpath,
            format!(
                "account {} is of bucket {}, not of this part's bucket {}",
                r.account_id,
                bucket(&r.account_id, shard.n),
                shard.k
            ),
        ));
    }
    Ok(Part {
        dir: dir.to_path_buf(),
        manifest,
        rows,
    })
}
