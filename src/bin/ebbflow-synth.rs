//! `ebbflow-synth`: writes a seeded synthetic data directory in the v1 input
//! contract (see `ebbflow::synth` for the ground truth it plants).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use ebbflow::dates::{parse_day, Day};
use ebbflow::synth::{generate_to_dir, SynthFormat, SynthParams};

/// Write synthetic accounts, subscriptions, events, tickets and surveys with a known churn and upgrade truth.
#[derive(Parser)]
#[command(
    name = "ebbflow-synth",
    version,
    after_help = "Example (how datasets/demo was made):\n  ebbflow-synth --out datasets/demo --accounts 2000 --months 24 --seed 42\n\n\
                  Exit codes: 0 ok, 2 bad arguments, 3 or 6 the files could not be written."
)]
struct Args {
    /// Directory to write the five tables into; created if missing, old tables replaced atomically
    /// (a table left there in another format is removed).
    #[arg(long)]
    out: PathBuf,
    /// Number of accounts (60% exist when the window opens, 40% arrive during it).
    #[arg(long, default_value_t = SynthParams::default().accounts)]
    accounts: usize,
    /// Length of the window in calendar months, ending with the month of --end (1..=120).
    #[arg(long, default_value_t = SynthParams::default().months)]
    months: u32,
    /// Seed; the same arguments and seed give byte-identical files.
    #[arg(long, default_value_t = SynthParams::default().seed)]
    seed: u64,
    /// Last day of the data, YYYY-MM-DD [default: 2025-12-31].
    #[arg(long, value_parser = parse_end)]
    end: Option<Day>,
    /// File formats: mixed = events as Parquet, the other tables as CSV.
    #[arg(long, value_enum, default_value_t = SynthFormat::Mixed)]
    format: SynthFormat,
    /// Mean event rows per account-day with a subscription; the events table scales with it.
    #[arg(long, default_value_t = SynthParams::default().events_per_account_day)]
    events_per_account_day: f64,
    /// Accounts simulated and written per batch: bounds memory (about 0.5 GB at the default
    /// 5,000 and event volume); the files do not depend on it.
    #[arg(long, default_value_t = SynthParams::default().chunk_accounts)]
    chunk_accounts: usize,
}

fn parse_end(s: &str) -> Result<Day, String> {
    parse_day(s)
        .filter(|_| s.len() == 10)
        .ok_or_else(|| format!("expected YYYY-MM-DD, found {s:?}"))
}

fn main() -> ExitCode {
    ebbflow::cli::exit::run("ebbflow-synth", || {
        let args = Args::parse();
        let params = SynthParams {
            accounts: args.accounts,
            months: args.months,
            end: args.end.unwrap_or(SynthParams::default().end),
            seed: args.seed,
            events_per_account_day: args.events_per_account_day,
            chunk_accounts: args.chunk_accounts,
        };
        let summary = params
            .check()
            .and_then(|p| generate_to_dir(&p, &args.out, args.format))?;
        // The summary is a diagnostic: stderr, as before.
        eprintln!("{summary}");
        Ok(String::new())
    })
}
