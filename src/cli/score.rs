//! `ebbflow-score`: arguments -> `score::score` -> `publish::scoring`
//! (queue files, page and manifest switched in as one set) and a readable
//! top of the queue on stdout.

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};

use crate::bundle::Bundle;
use crate::cli::data::DataArg;
use crate::cli::log::{Log, LogFormat};
use crate::cli::merge::MergeArgs;
use crate::config::Config;
use crate::dates::{format_day, now_rfc3339, parse_day, Day};
use crate::error::{Error, Result};
use crate::io::load::{load_source_with, LoadOptions, Need, SourceFile};
use crate::io::write::Format;
use crate::movers::{apply, Previous};
use crate::pg::PgUrl;
use crate::publish::lock::describe_holder;
use crate::publish::scoring::{publish, ScoringRun, SCORING_FILES};
use crate::publish::sink::Sink;
use crate::publish::{Contents, DriftReport, LockWait, OutputFolder, DRIFT_WARN_PSI};
use crate::queue::render_top;
use crate::report::score_page::ScoreReport;
use crate::score::{rank, score, ScoreParams, Scored};
use crate::shard::{keep_shard, write_part, Input, Shard, ShardRun, PART_FILES};

const AFTER_HELP: &str = "\
Examples:
  ebbflow-score                      # demo bundle on the demo data, queue in out/
  ebbflow-score --model models/demo --data datasets/demo --as-of 2025-12-31 --format parquet,csv --top 20
  ebbflow-score --out out --report   # then open out/report.html in a browser (works offline)
  ebbflow-score --as-of 2025-11-30 --out nov && ebbflow-score --previous nov   # what moved since November
  ebbflow-score --as-of 2025-12-31 --shard 0/2 --out parts/0   # and 1/2 into parts/1, anywhere
  ebbflow-score merge --out out parts/0 parts/1                # the queue one run writes
  PGPASSWORD=... ebbflow-score --sink postgres://ebbflow@db.internal/analytics   # also to PostgreSQL

Exit codes (a contract for schedulers):
  0  ok
  1  internal error (a bug: please report it)
  2  usage or config error
  3  bad input data (the message names file, line, account and column)
  4  incompatible or damaged model bundle
  5  drift gate: some feature's PSI exceeded --fail-on-drift, or no account to measure (queue not replaced)
  6  I/O failure (cannot read or write files, or reach the --data or --sink database), or another run
     kept --out locked past --lock-timeout";

/// Score accounts with a model bundle and write the ranked risk queue.
#[derive(Debug, Parser)]
#[command(
    name = "ebbflow-score",
    version,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct ScoreArgs {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Model bundle directory (or its bundle.json).
    #[arg(long, default_value = "models/demo", value_name = "DIR")]
    pub model: PathBuf,
    /// Data directory, same contract as training, or a PostgreSQL database:
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB (password also from PGPASSWORD or ~/.pgpass).
    #[arg(long, default_value = "datasets/demo", value_name = "DIR|URL")]
    pub data: DataArg,
    /// TOML config mapping your column names to ours (snapshot parameters come from the bundle).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Score as of this date (YYYY-MM-DD). Default: the latest date in the data (required with
    /// --shard: every shard must score the same day).
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Score only the accounts of bucket K of N, Spark SQL's pmod(xxhash64(account_id), N)
    /// (K from 0 to N-1), and write a part into --out instead of a queue: its rows and the
    /// aggregates `ebbflow-score merge` adds up into the queue one run would write. Reads every
    /// account of --data and keeps bucket K's (see --partitioned-input). Needs --as-of.
    #[arg(long, value_name = "K/N", requires = "as_of")]
    pub shard: Option<Shard>,
    /// With --shard: --data holds only bucket K's accounts (partitioned by the same expression,
    /// e.g. by contrib/spark); an account of another bucket is refused (exit 3), not dropped.
    #[arg(long, requires = "shard")]
    pub partitioned_input: bool,
    /// Worker threads for every pool: ours (rayon), polars' decoding and writing, and the
    /// reader's prefetch, user-id and file-hashing threads and a writer thread per queue format
    /// (none with 1). Default: one per core.
    /// Results do not depend on it.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Accounts per scoring batch at least, the smallest unit of parallel work when scoring;
    /// results do not depend on it. It does not bound memory: every scored row is held until the
    /// queue is written.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub batch_size: usize,
    #[command(flatten)]
    pub finish: FinishArgs,
}

/// Subcommands; without one, `ebbflow-score` scores.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Merge the parts of `--shard 0/N` .. `--shard N-1/N` into the queue, manifest, drift gate
    /// and page one run over every account writes (same bytes apart from timings and
    /// generated_at). Refuses parts of different bundles, as-of dates or N, and a bucket
    /// missing or given twice (exit 2).
    Merge(MergeArgs),
}

/// The finishing step's flags, shared by a run and `merge`: where the queue
/// goes, its formats, the page and the drift gate.
#[derive(Debug, Args)]
pub struct FinishArgs {
    /// Output directory for queue.*, report.html and manifest.json, replaced as one set: readers
    /// see the previous run's files or this run's, never a mix. It must hold only these files;
    /// its parent must be writable (a lock file and the staging folder live beside it). With
    /// --shard: the part's folder (part.json, rows.cbor).
    #[arg(long, default_value = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// How long to wait while another run writes the same --out folder (runs on one folder go
    /// one at a time) before giving up with exit code 6: 500ms, 60s, 5m; 0 does not wait.
    #[arg(long, default_value = LockWait::DEFAULT, value_name = "DURATION", value_parser = LockWait::parse)]
    pub lock_timeout: LockWait,
    /// Queue formats, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "parquet,csv")]
    pub format: Vec<Format>,
    /// Rows of the queue printed on stdout (0 for none).
    #[arg(long, default_value_t = 15, value_name = "N")]
    pub top: usize,
    /// Write report.html beside the queue: one self-contained page (sortable, filterable
    /// queue, account drivers and survival curves, totals, validation and drift) that opens
    /// from disk. On by default; about 0.15 KB per scored account (7 MB for 50,000).
    #[arg(long, overrides_with = "no_report")]
    pub report: bool,
    /// Skip report.html (the folder then holds no page: an earlier one goes with its set).
    #[arg(long, overrides_with = "report")]
    pub no_report: bool,
    /// Accounts shown on report.html: the top N by ARR at risk (0 for all). Every scored
    /// account stays in the queue files; the page says how many it shows.
    #[arg(long, default_value_t = 5000, value_name = "N")]
    pub report_rows: usize,
    /// Exit with code 5, leaving the previous queue in place, if any feature's PSI exceeds this,
    /// or if no account is active at the as-of date (nothing to measure). tenure_days is not
    /// gated: it drifts with the calendar by construction. With --shard it belongs to merge.
    #[arg(long, value_name = "PSI")]
    pub fail_on_drift: Option<f64>,
    /// An earlier run to compare with: its queue file (queue.parquet, queue.csv or queue.json) or
    /// its --out folder. Its as-of date must be before this run's. Fills the queue's
    /// prev_churn_risk, churn_risk_change, prev_risk_tier and movement (new, up, down, same) and
    /// the page's "Moved since" section. Without it those columns are empty. With --shard it
    /// belongs to merge.
    #[arg(long, value_name = "PATH")]
    pub previous: Option<PathBuf>,
    /// Also publish the run to PostgreSQL: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (the
    /// password may instead come from PGPASSWORD or ~/.pgpass; it is never printed). Writes
    /// ebbflow_runs, ebbflow_queue and the view ebbflow_queue_latest in one transaction,
    /// creating the tables when absent; a rerun of a date with the same bundle replaces it.
    /// Without --previous, movers compare with the latest earlier successful run there.
    #[arg(long, value_name = "URL")]
    pub sink: Option<String>,
    /// Schema of the --sink tables (it must exist). Default: the connection's current schema.
    #[arg(long, value_name = "NAME", requires = "sink")]
    pub sink_schema: Option<String>,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// No progress lines on stderr (warnings and errors still show).
    #[arg(long)]
    pub quiet: bool,
}

impl FinishArgs {
    /// Reads the earlier run `--previous` names, if any: a damaged or
    /// missing one fails before the data is read.
    pub(crate) fn read_previous(&self, log: &mut Log) -> Result<Option<Previous>> {
        match &self.previous {
            Some(p) => {
                log.step(&format!("reading the previous run {}", p.display()));
                Ok(Some(Previous::read(p)?))
            }
            None => Ok(None),
        }
    }

    /// Opens `--out` for `contents`, waiting up to `--lock-timeout` while
    /// another run (`who` names this one to it) holds the folder.
    pub(crate) fn lock_out(
        &self,
        contents: Contents,
        who: &str,
        log: &mut Log,
    ) -> Result<OutputFolder> {
        OutputFolder::open(
            &self.out,
            contents,
            self.lock_timeout,
            &describe_holder(who),
            &mut |m| log.warn(m),
        )
    }

    /// Connects to the `--sink` database, if any, and checks its tables: a
    /// database the run cannot publish to fails it before the work.
    pub(crate) fn open_sink(&self, log: &mut Log) -> Result<Option<Sink>> {
        match &self.sink {
            Some(url) => {
                let url = PgUrl::parse("--sink", url)?;
                log.step(&format!("checking sink {url}"));
                Ok(Some(Sink::open(url, self.sink_schema.as_deref())?))
            }
            None => Ok(None),
        }
    }

    /// Checks the flags before any work.
    pub fn check(&self) -> Result<()> {
        if self.format.is_empty() {
            return Err(Error::InvalidParam(
                "--format needs at least one of parquet, csv, json".into(),
            ));
        }
        if let Some(t) = self.fail_on_drift {
            if t.is_nan() || t <= 0.0 {
                return Err(Error::InvalidParam(format!(
                    "--fail-on-drift must be > 0, got {t}"
                )));
            }
        }
        Ok(())
    }
}

/// Runs scoring (or `merge`). `Ok(stdout text)` or an error whose kind gives the exit code.
pub fn run(args: ScoreArgs) -> Result<String> {
    let threads = match &args.command {
        Some(Command::Merge(m)) => m.threads,
        None => args.threads,
    };
    let body = move || match args.command {
        Some(Command::Merge(m)) => crate::cli::merge::run(m),
        None => run_inner(args),
    };
    crate::cli::threads::with_threads(threads, body)
}

fn run_inner(args: ScoreArgs) -> Result<String> {
    let mut log = Log::with_format("ebbflow-score", args.finish.quiet, args.finish.log_format);
    args.finish.check()?;
    if args.shard.is_some() {
        for (flag, given) in [
            ("--fail-on-drift", args.finish.fail_on_drift.is_some()),
            ("--previous", args.finish.previous.is_some()),
            ("--sink", args.finish.sink.is_some()),
        ] {
            if given {
                return Err(Error::InvalidParam(format!(
                    "{flag} is applied once over all accounts: give it to `ebbflow-score merge`, not to --shard"
                )));
            }
        }
    }
    let source = args.data.source()?;
    // Runs on one folder go one at a time, so the lock is taken before the
    // work: a second run waits here, not after scoring.
    let contents = if args.shard.is_some() {
        PART_FILES
    } else {
        SCORING_FILES
    };
    let folder = args.finish.lock_out(contents, "ebbflow-score", &mut log)?;
    let sink = args.finish.open_sink(&mut log)?;
    // Timings count the work, not a wait for another run.
    let start = Instant::now();
    let bundle = load_bundle(&args.model, &mut log)?;
    // A damaged or missing previous queue fails before the data is read.
    let previous = args.finish.read_previous(&mut log)?;
    let cfg = Config::load(args.config.as_deref())?;
    log.step(&format!("loading data {source}"));
    // Events and tickets: only the rows features as of the date can read.
    let as_of_arg = match &args.as_of {
        Some(s) => Some(parse_day(s).ok_or_else(|| {
            Error::InvalidParam(format!("--as-of expects YYYY-MM-DD, got {s:?}"))
        })?),
        None => None,
    };
    let need = Need::Window {
        as_of: as_of_arg,
        days: crate::snapshot::LONGEST_WINDOW_DAYS,
    };
    let tables = load_source_with(
        &source,
        &cfg,
        &LoadOptions {
            need,
            ..LoadOptions::default()
        },
    )?;
    for w in &tables.warnings {
        log.warn(w);
    }
    let input = if args.partitioned_input {
        Input::Partitioned
    } else {
        Input::Whole
    };
    let (tables, dropped) = match args.shard {
        // Named as the log names it: a database URL without its password.
        Some(shard) => keep_shard(tables, shard, input, &PathBuf::from(source.to_string()))?,
        None => (tables, 0),
    };
    let read_s = start.elapsed().as_secs_f64();
    let as_of = as_of_arg.unwrap_or(tables.last_day);
    if let Some(p) = &previous {
        p.check_before(as_of)?;
    }
    let params = ScoreParams::new(as_of, args.batch_size)?;
    log.step(&format!(
        "scoring {} accounts as of {}{}",
        tables.n_accounts(),
        format_day(as_of),
        args.shard
            .map(|s| format!(" (bucket {} of {})", s.k, s.n))
            .unwrap_or_default()
    ));
    let mut scored = score(&tables, &bundle, params)?;
    // From here on only the queue and the tables' sources are read: free
    // the rows and the feature frame before the outputs are built.
    let mut tables = tables;
    let sources = std::mem::take(&mut tables.sources);
    drop(tables);
    let tables = SourcesOnly { sources };
    scored.frame = Default::default();

    if let Some(shard) = args.shard {
        log.step(&format!("writing part {}", args.finish.out.display()));
        let as_of_day = format_day(as_of);
        write_part(
            &folder,
            ShardRun {
                scored: &scored,
                shard,
                input,
                other_buckets_dropped: dropped,
                bundle_id: &bundle.bundle_id,
                as_of: &as_of_day,
                sources: &tables.sources,
                generated_at: &now_rfc3339(),
                read_s,
                started: start,
            },
        )?;
        log.done();
        log.summary(&format!(
            "shard {shard}: scored {} of {} accounts of bucket {} as of {} with bundle {} in {:.2}s; part in {}",
            scored.rows.len(),
            scored.accounts,
            shard.k,
            as_of_day,
            bundle.bundle_id,
            start.elapsed().as_secs_f64(),
            args.finish.out.display()
        ));
        return Ok(String::new());
    }
    finish(
        &args.finish,
        &folder,
        Finishing {
            bundle: &bundle,
            scored,
            sources: &tables.sources,
            as_of,
            previous,
            sink,
            read_s,
            started: start,
        },
        &mut log,
    )
}

/// Loads the bundle, warning about a model it does not have.
pub(crate) fn load_bundle(path: &std::path::Path, log: &mut Log) -> Result<Bundle> {
    log.step(&format!("loading bundle {}", path.display()));
    let bundle = Bundle::load(path)?;
    for skip in &bundle.skipped {
        log.warn(&format!(
            "the bundle has no {} model ({}); its queue columns stay empty",
            skip.target, skip.reason
        ));
    }
    Ok(bundle)
}

/// A scored batch ready for the finishing step: one run's, or the sum of
/// shards' parts (`merge`).
pub(crate) struct Finishing<'a> {
    pub bundle: &'a Bundle,
    pub scored: Scored,
    pub sources: &'a [SourceFile],
    pub as_of: Day,
    /// The earlier run `--previous` names, read before the work.
    pub previous: Option<Previous>,
    /// The `--sink` database, opened and checked before the work.
    pub sink: Option<Sink>,
    pub read_s: f64,
    pub started: Instant,
}

/// The finishing step every scoring run shares, a single run's and
/// `merge`'s: the global rank, the drift report from the batch's
/// histograms, the page, the queue and manifest published as one set, the
/// drift gate (exit 5), the summary and the top of the queue. Whatever is
/// added to finishing (movers against `--previous`, a `--sink`) goes here,
/// so merged shards get it too.
pub(crate) fn finish(
    args: &FinishArgs,
    folder: &OutputFolder,
    run: Finishing<'_>,
    log: &mut Log,
) -> Result<String> {
    let Finishing {
        bundle,
        mut scored,
        sources,
        as_of,
        previous,
        mut sink,
        read_s,
        started: start,
    } = run;
    rank(&mut scored.rows);
    // With a sink and no --previous, the previous run is the database's
    // latest earlier successful run.
    let previous = match (previous, sink.as_mut()) {
        (None, Some(k)) => match k.previous_run(as_of)? {
            Some(run) => {
                log.step(&format!(
                    "comparing with run {} in {}",
                    run.run_id,
                    k.shown()
                ));
                let source = format!("{} run {}", k.shown(), run.run_id);
                Some(Previous::from_rows(run.as_of, source, run.accounts)?)
            }
            None => None,
        },
        (p, _) => p,
    };
    let movers = match &previous {
        Some(p) => Some(apply(p, as_of, &mut scored.rows)?),
        None => None,
    };
    let measured = !scored.rows.is_empty();
    if !measured {
        log.warn(&format!(
            "no account is active as of {}: the queue is empty and drift cannot be measured",
            format_day(as_of)
        ));
    }
    let drift = DriftReport::of(&scored.drift, measured, args.fail_on_drift);
    for d in &drift.warnings {
        log.warn(&format!(
            "feature {} drifted: PSI {:.3} against training",
            d.feature, d.psi
        ));
    }

    let generated_at = now_rfc3339();
    let as_of_day = format_day(as_of);
    // The page shows the top `--report-rows` by ARR at risk; the queue
    // files hold every account.
    let shown = match args.report_rows {
        0 => scored.rows.len(),
        n => n.min(scored.rows.len()),
    };
    let report = (!args.no_report).then(|| ScoreReport {
        bundle,
        rows: &scored.rows[..shown],
        queue: &scored.rows,
        movers: movers.as_ref(),
        scored: scored.rows.len(),
        has_names: scored.has_names,
        has_owner: scored.has_owner,
        as_of: &as_of_day,
        generated_at: &generated_at,
        accounts: scored.accounts,
        inactive: scored.inactive,
        drift: &drift.features,
        drift_warn_above: DRIFT_WARN_PSI,
    });
    log.step(&format!("publishing {}", args.out.display()));
    let published = publish(
        folder,
        ScoringRun {
            bundle,
            scored: &scored,
            sources,
            as_of,
            formats: &args.format,
            report,
            drift: &drift,
            movers: movers.as_ref(),
            sink: sink.as_mut(),
            generated_at: &generated_at,
            read_s,
            started: start,
        },
    )?;
    let gate = published.gate;
    log.done();
    if let Some(why) = gate {
        return Err(Error::Drift(format!(
            "{why}; the previous queue in {} was left in place (see manifest.json)",
            args.out.display()
        )));
    }
    let moved = movers.as_ref().map_or(String::new(), |m| {
        let c = &m.counts;
        format!(
            "; since {}: {} up, {} down, {} new, {} left the queue",
            format_day(m.previous_as_of),
            c.up,
            c.down,
            c.new,
            c.left
        )
    });
    let sunk = sink
        .as_ref()
        .map(|k| format!(" and {} (schema {})", k.shown(), k.schema()))
        .unwrap_or_default();
    log.summary(&format!(
        "scored {} of {} accounts as of {} with bundle {} in {:.2}s; queue in {}{sunk}{moved}",
        scored.rows.len(),
        scored.accounts,
        format_day(as_of),
        bundle.bundle_id,
        start.elapsed().as_secs_f64(),
        args.out.display()
    ));
    let top = if args.top > 0 {
        render_top(&scored.rows, args.top)
    } else {
        String::new()
    };
    // The process ends once this returns: a million queue rows hold a
    // dozen million strings, and freeing them one by one took some 0.7 s
    // of CPU at exit (perf). The OS takes the memory back at once.
    std::mem::forget(scored);
    Ok(top)
}

/// What the manifest reads of the tables once scoring is done.
struct SourcesOnly {
    sources: Vec<SourceFile>,
}
