//! Thin binary: parse, run, map errors and panics to the documented exit codes.
use clap::Parser;
use ebbflow::cli::{exit, score};
use std::process::ExitCode;

fn main() -> ExitCode {
    exit::run("ebbflow-score", || score::run(score::ScoreArgs::parse()))
}
