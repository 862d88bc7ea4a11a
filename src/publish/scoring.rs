//! The scoring run's set: the queue in the asked formats, `report.html` and
//! `manifest.json`, published together into the output folder (see
//! `folder`); or, when the drift gate stops the run, the previous set's
//! files unchanged under a new manifest saying why. The manifest lists
//! exactly the files of its set, with their sizes and sha256. With a sink
//! (`--sink`), the run is committed to the database after the files are
//! staged and before they are switched (see [`publish`]).

use std::io::Read;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bundle::{Bundle, SkippedTarget};
use crate::dates::{format_day, Day};
use crate::error::{Error, Result};
use crate::io::load::SourceFile;
use crate::io::write::{write_bytes, write_bytes_hashed, write_frame_hashed, Format, Written};
use crate::movers::{MovementCounts, Movers};
use crate::publish::folder::{Contents, OutputFolder};
use crate::publish::gate::DriftReport;
use crate::publish::sink::{run_id, Sink, SinkRun, TierCounts};
use crate::queue::{to_frame, with_text_dates};
use crate::report::score_page::ScoreReport;
use crate::score::{Scored, Timings};

/// The names a scoring folder may hold.
pub const SCORING_FILES: Contents = Contents {
    what: "scoring outputs (queue.*, report.html, manifest.json)",
    names: &[
        "queue.parquet",
        "queue.csv",
        "queue.json",
        "report.html",
        "manifest.json",
    ],
};

const MANIFEST: &str = "manifest.json";

/// A finished scoring run, ready to publish.
pub struct ScoringRun<'a> {
    pub bundle: &'a Bundle,
    pub scored: &'a Scored,
    pub sources: &'a [SourceFile],
    pub as_of: Day,
    /// Queue formats, each written once (at the same time), listed in the
    /// manifest in this order.
    pub formats: &'a [Format],
    /// The page, unless the run skips it; rendered only if the queue is published.
    pub report: Option<ScoreReport<'a>>,
    pub drift: &'a DriftReport,
    /// The comparison with the previous run, when there is one.
    pub movers: Option<&'a Movers>,
    /// Shared by the manifest and the page.
    pub generated_at: &'a str,
    pub read_s: f64,
    pub started: Instant,
    /// The database the run is also published to (`--sink`).
    pub sink: Option<&'a mut Sink>,
}

/// A written file as the manifest records it: name, checksum, size.
#[derive(Debug, Clone, Serialize)]
pub struct Output {
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

impl Output {
    /// A file this run wrote, as measured while writing it.
    fn written(name: &str, w: Written) -> Output {
        Output {
            file: name.to_string(),
            sha256: w.sha256,
            bytes: w.bytes,
        }
    }

    /// Reads `dir/name` to record it (a file carried over, not written).
    fn of(dir: &Path, name: &str) -> Result<Output> {
        let path = dir.join(name);
        let mut f = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let (mut hash, mut bytes, mut buf) = (Sha256::new(), 0u64, vec![0u8; 1 << 16]);
        loop {
            let n = f.read(&mut buf).map_err(|e| Error::io(&path, e))?;
            if n == 0 {
                break;
            }
            hash.update(&buf[..n]);
            bytes += n as u64;
        }
        Ok(Output {
            file: name.to_string(),
            sha256: format!("{:x}", hash.finalize()),
            bytes,
        })
    }
}

#[derive(Debug, Serialize)]
struct Counts {
    accounts: usize,
    scored: usize,
    skipped_inactive_at_as_of: usize,
    skipped_rows_unknown_account: usize,
}

/// The run this one was compared with, and what moved since.
#[derive(Debug, Serialize)]
struct PreviousRun<'a> {
    as_of: String,
    /// Where it was read from: a queue file's path, or the `--sink`
    /// database (no password) and the run id.
    source: &'a str,
    /// Accounts per movement, and those that left the queue.
    movement: &'a MovementCounts,
}

#[derive(Debug, Serialize)]
struct ManifestTimings {
    read_s: f64,
    #[serde(flatten)]
    score: Timings,
    write_s: f64,
    total_s: f64,
}

/// `manifest.json`: what the run did and the files of the folder's set.
#[derive(Debug, Serialize)]
struct Manifest<'a> {
    /// `ok`, or `drift_gate` when the gate kept the previous files.
    status: &'static str,
    /// Why the drift gate stopped the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    gate: Option<&'a str>,
    generated_at: &'a str,
    ebbflow_version: &'static str,
    bundle_id: &'a str,
    bundle_schema_version: u32,
    bundle_created_at: &'a str,
    as_of: String,
    data: &'a [SourceFile],
    counts: Counts,
    /// The previous run the queue's movers columns compare with; null on
    /// a first run (no --previous), the columns then empty.
    previous: Option<PreviousRun<'a>>,
    timings: ManifestTimings,
    /// Exactly the files of this folder's set (the manifest aside).
    outputs: Vec<Output>,
    /// With status `drift_gate`: the run that wrote the files `outputs`
    /// lists (`generated_at`, `as_of`, `bundle_id`), null when the folder
    /// had none. The rest of this manifest describes the gated run.
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs_from: Option<serde_json::Value>,
    drift: &'a DriftReport,
    /// Models the bundle does not have (single-class history), and why:
    /// their queue columns are empty.
    models_skipped: &'a [SkippedTarget],
    /// Where the run was also published (`--sink`): the database without
    /// its password, the schema and the run's id there.
    #[serde(skip_serializing_if = "Option::is_none")]
    sink: Option<SinkInfo>,
}

#[derive(Debug, Serialize)]
struct SinkInfo {
    url: String,
    schema: String,
    run_id: String,
}

/// What publishing did: `gate` says why the drift gate kept the previous
/// files (the caller turns it into exit code 5).
#[derive(Debug)]
pub struct Published {
    pub gate: Option<String>,
}

/// Publishes the run's set into `folder` as one switch: the queue files,
/// the page and the manifest; or, past the drift gate, the previous files
/// and a manifest saying why.
///
/// With a sink, the order is: stage the files, commit the run to the
/// database, switch the files. A failed database write leaves both sides
/// as they were (the transaction rolls back, the staged files are
/// deleted). Only a failed switch after the commit leaves them apart: the
/// database holds the new run and the folder the previous set, and the
/// error says so (rerunning replaces the database's copy).
pub fn publish(folder: &OutputFolder, run: ScoringRun<'_>) -> Result<Published> {
    let t_write = Instant::now();
    let gate = run.drift.gate(run.as_of);
    let stage = folder.stage()?;
    let mut outputs: Vec<Output> = Vec::new();
    let mut outputs_from = None;
    let mut queue = None;
    if gate.is_none() {
        let s = run.scored;
        let df = queue.insert(
            to_frame(&s.rows, s.has_names, s.has_owner)
                .map_err(|e| Error::polars(folder.shown(), e))?,
        );
        let mut formats: Vec<Format> = Vec::new();
        for fmt in run.formats {
            if !formats.contains(fmt) {
                formats.push(*fmt);
            }
        }
        // Parquet keeps `as_of` a date; CSV and JSON write it as text.
        let text = if formats.iter().any(|f| *f != Format::Parquet) {
            Some(with_text_dates(df).map_err(|e| Error::polars(folder.shown(), e))?)
        } else {
            None
        };
        let (df, text) = (&*df, text.as_ref());
        // The files are independent: each format and the page are written
        // (and hashed as they are written) at once, each on its own
        // temporary file. A frame clone shares its columns; the writers
        // only need their own handle.
        let write_queue = |fmt: &Format| -> Result<Output> {
            let name = format!("queue.{}", fmt.extension());
            let mut frame = match (fmt, text) {
                (Format::Csv | Format::Json, Some(t)) => t.clone(),
                _ => df.clone(),
            };
            stage.write(|dir| {
                let w = write_frame_hashed(&dir.join(&name), &mut frame, *fmt)?;
                Ok(Output::written(&name, w))
            })
        };
        let write_page = || -> Result<Option<Output>> {
            let Some(page) = &run.report else {
                return Ok(None);
            };
            let html = page.render()?;
            stage
                .write(|dir| {
                    let w = write_bytes_hashed(&dir.join("report.html"), html.as_bytes())?;
                    Ok(Output::written("report.html", w))
                })
                .map(Some)
        };
        // With more than one thread, each queue file is written from an OS
        // thread of its own while this one renders the page. The polars
        // writers do their heavy work on polars' pool and write, hash and
        // sync on the thread that calls them. Called from rayon workers
        // (as they were), a writer waiting on polars' pool ran other rayon
        // jobs meanwhile, the other file's writer among them, and could
        // return only after it: at 1M accounts queue.parquet's last row
        // groups and its fsync waited for the whole of queue.csv.
        let (queue_files, page) = if rayon::current_num_threads() > 1 {
            std::thread::scope(|sc| {
                let writers: Vec<_> = formats
                    .iter()
                    .map(|fmt| {
                        std::thread::Builder::new()
                            .name("ebbflow-write".into())
                            .spawn_scoped(sc, move || write_queue(fmt))
                            .map_err(|e| Error::io(folder.shown(), e))
                    })
                    .collect();
                let page = write_page();
                let files = writers
                    .into_iter()
                    .map(|w| match w?.join() {
                        Ok(file) => file,
                        Err(panic) => std::panic::resume_unwind(panic),
                    })
                    .collect::<Result<Vec<Output>>>();
                (files, page)
            })
        } else {
            let files = formats.iter().map(write_queue).collect();
            (files, write_page())
        };
        // Listed in the order asked, the page last, as when written in turn.
        outputs.extend(queue_files?);
        outputs.extend(page?);
    } else {
        let (names, from) = previous_set(folder);
        for name in names {
            if stage.keep(&name)? {
                outputs.push(stage.write(|dir| Output::of(dir, &name))?);
            }
        }
        outputs_from = Some(from);
    }
    let s = run.scored;
    let manifest = Manifest {
        status: if gate.is_some() { "drift_gate" } else { "ok" },
        gate: gate.as_deref(),
        generated_at: run.generated_at,
        ebbflow_version: env!("CARGO_PKG_VERSION"),
        bundle_id: &run.bundle.bundle_id,
        bundle_schema_version: run.bundle.schema_version,
        bundle_created_at: &run.bundle.created_at,
        as_of: format_day(run.as_of),
        data: run.sources,
        counts: Counts {
            accounts: s.accounts,
            scored: s.rows.len(),
            skipped_inactive_at_as_of: s.inactive,
            skipped_rows_unknown_account: run
                .sources
                .iter()
                .map(|f| f.skipped_unknown_account)
                .sum(),
        },
        previous: run.movers.map(|m| PreviousRun {
            as_of: format_day(m.previous_as_of),
            source: &m.source,
            movement: &m.counts,
        }),
        timings: ManifestTimings {
            read_s: run.read_s,
            score: s.timings.clone(),
            write_s: t_write.elapsed().as_secs_f64(),
            total_s: run.started.elapsed().as_secs_f64(),
        },
        outputs,
        outputs_from,
        drift: run.drift,
        models_skipped: &run.bundle.skipped,
        sink: run.sink.as_deref().map(|k| SinkInfo {
            url: k.shown().to_string(),
            schema: k.schema().to_string(),
            run_id: run_id(run.as_of, &run.bundle.bundle_id, gate.is_some()),
        }),
    };
    let text = serde_json::to_string_pretty(&manifest)?;
    stage.write(|dir| write_bytes(&dir.join(MANIFEST), text.as_bytes()))?;
    let Some(sink) = run.sink else {
        stage.publish()?;
        return Ok(Published { gate });
    };
    let counts = &manifest.counts;
    let id = sink
        .write_run(&SinkRun {
            as_of: run.as_of,
            bundle_id: &run.bundle.bundle_id,
            generated_at: run.generated_at,
            gate: gate.as_deref(),
            accounts: counts.accounts,
            scored: counts.scored,
            skipped_inactive: counts.skipped_inactive_at_as_of,
            skipped_rows_unknown_account: counts.skipped_rows_unknown_account,
            queue: queue.as_ref().map(|df| (df, TierCounts::of(&s.rows))),
            manifest: &text,
        })
        .map_err(|e| {
            let kept = format!(
                "; nothing of this run was written there, and {} keeps its previous set",
                folder.shown().display()
            );
            match e {
                Error::Database { target, message } => Error::Database {
                    target,
                    message: message + &kept,
                },
                Error::DatabaseSchema { target, message } => Error::DatabaseSchema {
                    target,
                    message: message + &kept,
                },
                other => other,
            }
        })?;
    stage.publish().map_err(|e| Error::Database {
        target: sink.shown().to_string(),
        message: format!(
            "run {id} was committed here, but the files could not be switched into {} ({e}); \
             the folder still holds the previous set: rerun to bring both to this run",
            folder.shown().display()
        ),
    })?;
    Ok(Published { gate })
}

/// The files of the folder's current set and the run that wrote them.
/// Trusts the current manifest when it lists its set (this version's
/// manifests do); else (no manifest, or an older version's) every known
/// output present is kept, from an unknown run.
fn previous_set(folder: &OutputFolder) -> (Vec<String>, serde_json::Value) {
    let known = || -> Vec<String> {
        SCORING_FILES
            .names
            .iter()
            .filter(|n| **n != MANIFEST && folder.current(n).is_some())
            .map(|n| n.to_string())
            .collect()
    };
    let prev: Option<serde_json::Value> = folder
        .current(MANIFEST)
        .and_then(|p| std::fs::read(p).ok())
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(prev) = prev else {
        return (known(), serde_json::Value::Null);
    };
    let lists_its_set = match prev["status"].as_str() {
        Some("ok") => true,
        Some("drift_gate") => prev.get("outputs_from").is_some(),
        _ => false,
    };
    let Some(listed) = prev["outputs"].as_array().filter(|_| lists_its_set) else {
        return (known(), serde_json::Value::Null);
    };
    let names = listed
        .iter()
        .filter_map(|o| o["file"].as_str())
        .filter(|n| *n != MANIFEST && SCORING_FILES.names.contains(n))
        .map(String::from)
        .collect();
    let from = if prev["status"] == "drift_gate" {
        prev["outputs_from"].clone()
    } else {
        serde_json::json!({
            "generated_at": prev["generated_at"],
            "as_of": prev["as_of"],
            "bundle_id": prev["bundle_id"],
        })
    };
    (names, from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::LockWait;
    use std::time::Duration;

    fn folder_with(files: &[(&str, &str)]) -> (tempfile::TempDir, OutputFolder) {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir(&out).unwrap();
        for (name, text) in files {
            std::fs::write(out.join(name), text).unwrap();
        }
        let folder = OutputFolder::open(
            &out,
            SCORING_FILES,
            LockWait(Duration::ZERO),
            "test",
            &mut |_| {},
        )
        .unwrap();
        (tmp, folder)
    }

    #[test]
    fn a_gate_keeps_what_the_current_manifest_lists_and_names_its_run() {
        let manifest = r#"{"status": "ok", "generated_at": "2026-01-02T03:04:05Z", "as_of": "2025-12-31",
            "bundle_id": "b1", "outputs": [{"file": "queue.csv", "sha256": "x", "bytes": 1}]}"#;
        // report.html is not in the set (an older version's --no-report left it).
        let (_tmp, folder) = folder_with(&[
            ("manifest.json", manifest),
            ("queue.csv", "q"),
            ("report.html", "stale"),
        ]);
        let (names, from) = previous_set(&folder);
        assert_eq!(names, ["queue.csv"]);
        assert_eq!(from["generated_at"], "2026-01-02T03:04:05Z");
        assert_eq!(from["bundle_id"], "b1");
    }

    #[test]
    fn a_gate_after_an_older_versions_gate_keeps_every_queue_file_there() {
        // Older versions wrote a gate manifest listing nothing, the queue
        // files of an earlier run beside it.
        let manifest = r#"{"status": "drift_gate", "outputs": []}"#;
        let (_tmp, folder) = folder_with(&[
            ("manifest.json", manifest),
            ("queue.csv", "q"),
            ("queue.parquet", "p"),
        ]);
        let (names, from) = previous_set(&folder);
        assert_eq!(names, ["queue.parquet", "queue.csv"]);
        assert!(from.is_null(), "unknown run");
        let (_tmp, folder) = folder_with(&[("queue.json", "j")]);
        assert_eq!(
            previous_set(&folder).0,
            ["queue.json"],
            "no manifest at all"
        );
    }
}
