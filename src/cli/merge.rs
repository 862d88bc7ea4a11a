//! `ebbflow-score merge`: parts written by `ebbflow-score --shard K/N` ->
//! `shard::merge` -> the finishing step a single run uses (`cli::score`),
//! so the queue, manifest, gate and page are those one run would write.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;

use crate::cli::log::Log;
use crate::cli::score::{finish, load_bundle, FinishArgs, Finishing};
use crate::dates::parse_day;
use crate::error::{Error, Result};
use crate::publish::scoring::SCORING_FILES;
use crate::shard::{merge, read_part};

/// `ebbflow-score merge [OPTIONS] PART...`
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Part folders written by `ebbflow-score --shard K/N --out PART`, one per bucket 0..N-1.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    /// The model bundle the parts were scored with (its id is checked); the page and manifest
    /// read its validation figures, segments and curves.
    #[arg(long, default_value = "models/demo", value_name = "DIR")]
    pub model: PathBuf,
    /// Worker threads (ranking, writing). Default: one per core. Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub finish: FinishArgs,
}

/// Merges the parts and finishes as a single run does.
pub fn run(args: MergeArgs) -> Result<String> {
    let mut log = Log::with_format(
        "ebbflow-score merge",
        args.finish.quiet,
        args.finish.log_format,
    );
    args.finish.check()?;
    let folder = args
        .finish
        .lock_out(SCORING_FILES, "ebbflow-score merge", &mut log)?;
    let sink = args.finish.open_sink(&mut log)?;
    let start = Instant::now();
    let bundle = load_bundle(&args.model, &mut log)?;
    let previous = args.finish.read_previous(&mut log)?;
    log.step(&format!("reading {} parts", args.parts.len()));
    let parts = args
        .parts
        .iter()
        .map(|p| read_part(p))
        .collect::<Result<Vec<_>>>()?;
    let merged = merge(parts, &bundle)?;
    let as_of = parse_day(&merged.as_of).ok_or_else(|| {
        Error::Merge(format!(
            "the parts' as-of date {:?} is not a date",
            merged.as_of
        ))
    })?;
    finish(
        &args.finish,
        &folder,
        Finishing {
            bundle: &bundle,
            scored: merged.scored,
            sources: &merged.sources,
            as_of,
            previous,
            sink,
            read_s: merged.read_s,
            started: start,
        },
        &mut log,
    )
}
