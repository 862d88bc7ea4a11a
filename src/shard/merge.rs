//! Parts of one scoring run put back together: checks that they belong
//! together (one bundle, one as-of date, one N, every bucket exactly once)
//! and adds them up into the batch one run over every account would have
//! scored. Ranking, the manifest, the gate and the page are the finishing
//! step every run shares (`cli::score`), not this module's.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::bundle::Bundle;
use crate::error::{Error, Result};
use crate::io::load::SourceFile;
use crate::score::{drift_of, Scored, Timings};
use crate::shard::part::Part;

/// The merged batch and what the manifest says of its inputs.
pub struct Merged {
    /// Rows of every part, in bucket order (not yet ranked).
    pub scored: Scored,
    /// The parts' input files, each once.
    pub sources: Vec<SourceFile>,
    pub as_of: String,
    /// Seconds the parts spent reading, summed.
    pub read_s: f64,
}

/// Checks that `parts` make one run with `bundle` and adds them up.
/// Refused (exit 2, naming the parts): different bundles, as-of dates or
/// N, a bucket missing or given twice, a bundle other than `bundle`.
pub fn merge(mut parts: Vec<Part>, bundle: &Bundle) -> Result<Merged> {
    if parts.is_empty() {
        return Err(Error::Merge("no part given".into()));
    }
    same(&parts, "bundles", |p| p.manifest.bundle_id.clone())?;
    same(&parts, "as-of dates", |p| p.manifest.as_of.clone())?;
    same(&parts, "shard counts N", |p| p.manifest.shard.n.to_string())?;
    same(&parts, "ebbflow versions", |p| {
        p.manifest.ebbflow_version.clone()
    })?;
    let first = &parts[0].manifest;
    if first.bundle_id != bundle.bundle_id {
        return Err(Error::Merge(format!(
            "the parts were scored with bundle {}, --model is bundle {}",
            first.bundle_id, bundle.bundle_id
        )));
    }
    let n = first.shard.n;
    let mut by_bucket: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for p in &parts {
        by_bucket
            .entry(p.manifest.shard.k)
            .or_default()
            .push(p.dir.display().to_string());
    }
    let twice: Vec<String> = by_bucket
        .iter()
        .filter(|(_, dirs)| dirs.len() > 1)
        .map(|(k, dirs)| format!("bucket {k} given twice: {}", dirs.join(" and ")))
        .collect();
    if !twice.is_empty() {
        return Err(Error::Merge(twice.join("; ")));
    }
    let missing: Vec<String> = (0..n)
        .filter(|k| !by_bucket.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::Merge(format!(
            "bucket{} {} of 0..{n} missing (got {} of {n} parts)",
            if missing.len() == 1 { "" } else { "s" },
            missing.join(", "),
            parts.len()
        )));
    }
    parts.sort_by_key(|p| p.manifest.shard.k);
    let as_of = parts[0].manifest.as_of.clone();

    let t0 = Instant::now();
    let mut histograms = parts[0].manifest.histograms.clone();
    let (mut accounts, mut inactive, mut read_s) = (0, 0, 0.0);
    let (mut has_names, mut has_owner) = (false, false);
    let mut timings = Timings::default();
    let mut sources: Vec<SourceFile> = Vec::new();
    let mut rows = Vec::with_capacity(parts.iter().map(|p| p.rows.len()).sum());
    for (i, p) in parts.into_iter().enumerate() {
        let m = p.manifest;
        if i > 0 {
            if m.histograms.len() != histograms.len() {
                return Err(Error::Merge(format!(
                    "{}: {} drift histograms, the first part has {}",
                    p.dir.display(),
                    m.histograms.len(),
                    histograms.len()
                )));
            }
            for (h, o) in histograms.iter_mut().zip(&m.histograms) {
                h.add(o)
                    .map_err(|e| Error::Merge(format!("{}: {e}", p.dir.display())))?;
            }
        }
        accounts += m.counts.accounts;
        inactive += m.counts.inactive;
        has_names |= m.has_names;
        has_owner |= m.has_owner;
        read_s += m.timings.read_s;
        timings.features_s += m.timings.score.features_s;
        timings.scoring_s += m.timings.score.scoring_s;
        for s in m.data {
            if !sources.contains(&s) {
                sources.push(s);
            }
        }
        rows.extend(p.rows);
    }
    timings.scoring_s += t0.elapsed().as_secs_f64();
    let drift = drift_of(bundle, &histograms);
    Ok(Merged {
        scored: Scored {
            rows,
            accounts,
            inactive,
            drift,
            histograms,
            timings,
            has_names,
            has_owner,
            frame: Default::default(),
        },
        sources,
        as_of,
        read_s,
    })
}

/// `Err` naming each value of `key` with its parts when they differ.
fn same(parts: &[Part], what: &str, key: impl Fn(&Part) -> String) -> Result<()> {
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in parts {
        groups
            .entry(key(p))
            .or_default()
            .push(p.dir.display().to_string());
    }
    if groups.len() <= 1 {
        return Ok(());
    }
    let said: Vec<String> = groups
        .iter()
        .map(|(v, dirs)| format!("{v} ({})", dirs.join(", ")))
        .collect();
    Err(Error::Merge(format!(
        "the parts come from different {what}: {}",
        said.join(" vs ")
    )))
}
