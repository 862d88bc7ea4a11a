//! Thin binary: parse, run, map errors to the documented exit codes.
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = ebbflow::cli::train::TrainArgs::parse();
    match ebbflow::cli::train::run(args) {
        Ok(summary) => {
            print!("{summary}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ebbflow-train: error: {err}");
            ExitCode::from(err.exit_code() as u8)
        }
    }
}
