//! `ebbflow-train`: arguments -> `train::train` -> bundle directory.

use std::path::PathBuf;

use clap::Parser;

use crate::bundle::Bundle;
use crate::cli::data::DataArg;
use crate::cli::log::Log;
use crate::config::Config;
use crate::dates::{now_rfc3339, parse_day};
use crate::error::{Error, Result};
use crate::publish::lock::describe_holder;
use crate::publish::{LockWait, OutputFolder};
use crate::train::{train, TrainParams};

/// Train churn and upgrade propensity, RFM segments and survival curves from
/// monthly histories, and write a versioned model bundle.
#[derive(Debug, Parser)]
#[command(
    name = "ebbflow-train",
    version,
    after_help = "Examples (the committed demo data):\n  ebbflow-train --data datasets/demo --out models/demo\n  \
ebbflow-train --data datasets/demo --out models/next --compare models/demo   # report.html says what changed\n\n\
Every bundle directory gets report.html, a self-contained page of the figures and charts (aggregates only).\n\n\
Exit codes: 0 ok, 2 usage or config error, 3 bad input data, 4 --compare bundle unreadable or of another schema version, \
6 I/O failure or --out locked by another run past --lock-timeout, 1 internal error."
)]
pub struct TrainArgs {
    /// Data directory (one CSV or Parquet file per table: accounts, subscriptions, events, tickets,
    /// surveys), or a PostgreSQL database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (password
    /// also from PGPASSWORD or ~/.pgpass; printed redacted).
    #[arg(long, value_name = "DIR|URL")]
    pub data: DataArg,
    /// TOML config mapping your column names to ours and setting snapshot parameters.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Last date used for labels and censoring (YYYY-MM-DD). Default: the latest date in any table.
    #[arg(long, value_name = "DATE")]
    pub as_of_end: Option<String>,
    /// Keep only the last N labeled month ends. Default: all of them.
    #[arg(long, value_name = "N")]
    pub history_months: Option<usize>,
    /// Label horizon H in days: churn/upgrade within (S, S+H]. Default: the config's, else 90.
    #[arg(long, value_name = "DAYS")]
    pub horizon_days: Option<u32>,
    /// Month ends held out for the out-of-time backtest.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub holdout_months: usize,
    /// Seed for k-means (the only random step); same data and seed give the same bundle.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// RFM cluster count. Default: chosen over 3..=8 by silhouette.
    #[arg(long, value_name = "K")]
    pub segments: Option<usize>,
    /// Propensity fits use at most this many account-months (a seeded uniform sample beyond it; validation uses every held-out row).
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub max_fit_rows: usize,
    /// Bundle directory to write, report.html included, replaced as one set: readers (a scoring
    /// run) see the previous bundle's files or this one's, never a mix. It must hold only bundle
    /// files; its parent must be writable (a lock file and the staging folder live beside it).
    #[arg(long, default_value = "models/latest", value_name = "DIR")]
    pub out: PathBuf,
    /// How long to wait while another run writes the same --out folder (runs on one folder go
    /// one at a time) before giving up with exit code 6: 500ms, 60s, 5m; 0 does not wait.
    #[arg(long, default_value = LockWait::DEFAULT, value_name = "DURATION", value_parser = LockWait::parse)]
    pub lock_timeout: LockWait,
    /// An older bundle to compare with in report.html: validation figures, base rates,
    /// coefficients and segment sizes, better or worse. Read before training, so a bundle
    /// that cannot be read (other schema version, damaged) fails at once with exit code 4.
    #[arg(long, value_name = "DIR")]
    pub compare: Option<PathBuf>,
    /// Worker threads for every pool: ours (rayon: features, fits side by side), polars'
    /// decoding, and the reader's prefetch, user-id and file-hashing threads (none with 1).
    /// Default: one per core. The bundle does not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// No progress lines on stderr (warnings and errors still show).
    #[arg(long)]
    pub quiet: bool,
}

/// Runs training; returns the summary printed on stdout.
pub fn run(args: TrainArgs) -> Result<String> {
    crate::cli::threads::with_threads(args.threads, move || run_inner(args))
}

fn run_inner(args: TrainArgs) -> Result<String> {
    let mut log = Log::new("ebbflow-train", args.quiet);
    let cfg = Config::load(args.config.as_deref())?;
    let source = args.data.source()?;
    let mut raw = cfg.snapshot.clone();
    if let Some(h) = args.horizon_days {
        raw.horizon_days = h as i64;
    }
    let mut params = TrainParams::new(raw.check()?);
    params.as_of_end = match &args.as_of_end {
        Some(s) => Some(parse_day(s).ok_or_else(|| {
            Error::InvalidParam(format!("--as-of-end expects YYYY-MM-DD, got {s:?}"))
        })?),
        None => None,
    };
    params.history_months = args.history_months;
    params.holdout_months = args.holdout_months;
    params.seed = args.seed;
    params.rfm_k = args.segments;
    params.max_fit_rows = args.max_fit_rows;
    let params = params.check()?;
    let folder = OutputFolder::open(
        &args.out,
        crate::bundle_files::BUNDLE_FILES,
        args.lock_timeout,
        &describe_holder("ebbflow-train"),
        &mut |m| log.warn(m),
    )?;
    let previous = match &args.compare {
        Some(dir) => {
            log.step(&format!("loading {} to compare with", dir.display()));
            Some(Bundle::load(dir).map_err(|e| match e {
                Error::Bundle { path, message } => Error::Bundle {
                    path,
                    message: format!("{message} (given with --compare)"),
                },
                other => other,
            })?)
        }
        None => None,
    };
    log.step(&format!("loading {source}"));
    let tables = crate::io::load::load_source_with(&source, &cfg, &Default::default())?;
    for w in &tables.warnings {
        log.warn(w);
    }
    // Training reports from the threads its steps run on.
    let shared = std::sync::Mutex::new(&mut log);
    let progress = |m: &str| shared.lock().expect("a progress line panicked").step(m);
    let mut bundle = train(&tables, &params, &progress)?;
    bundle.created_at = now_rfc3339();
    let page = crate::report::train_page::render(&bundle, previous.as_ref())?;
    log.step(&format!("publishing {}", args.out.display()));
    crate::bundle_files::publish(&bundle, &page, &folder)?;
    log.done();
    for skip in &bundle.skipped {
        log.warn(&skip.reason);
    }
    for t in bundle.targets() {
        for w in &t.warnings {
            log.warn(w);
        }
    }
    Ok(summary(&bundle, &args.out))
}

fn summary(b: &crate::bundle::Bundle, out: &std::path::Path) -> String {
    use crate::bundle_files::figures_row;
    let mut s = format!(
        "ebbflow-train: bundle {} written to {} (open report.html there for the charts)\n\n\
         rows      {} account-months over {} month ends ({} to {}), horizon {} days\n\
         base rate churn {:.3}, upgrade {:.3}\n\
         backtest  {} training rows, {} held-out rows in {}\n\n\
         | model | ROC AUC | PR AUC | Brier | top-decile lift | ECE |\n|---|---|---|---|---|---|\n",
        b.bundle_id,
        out.display(),
        b.rows,
        b.settings.snapshot_dates.len(),
        b.settings.snapshot_dates.first().map_or("", String::as_str),
        b.settings.snapshot_dates.last().map_or("", String::as_str),
        b.settings.horizon_days,
        b.churn_base_rate,
        b.upgrade_base_rate,
        b.backtest.train_rows,
        b.backtest.holdout_rows,
        b.backtest.holdout_months.join(", "),
    );
    for skip in &b.skipped {
        s.push_str(&format!(
            "| {} | not modelled: {} |\n",
            skip.target, skip.reason
        ));
    }
    for t in b.targets() {
        s.push_str(&figures_row(
            &format!("{} (held out)", t.model.target),
            &t.holdout,
        ));
        s.push('\n');
        for (name, r) in &t.baselines {
            s.push_str(&figures_row(
                &format!("{} baseline: {name}", t.model.target),
                r,
            ));
            s.push('\n');
        }
    }
    s.push_str(&format!(
        "\nsegments  {}\n",
        b.segments
            .profiles
            .iter()
            .map(|p| format!("{} ({})", p.name, p.size))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    s
}
