//! Thin binary: parse, run, map errors to the documented exit codes.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = ebbflow::cli::score::ScoreArgs::parse();
    match ebbflow::cli::score::run(args) {
        Ok(top) => {
            print!("{top}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ebbflow-score: error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
