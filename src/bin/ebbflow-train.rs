//! Thin binary: parse, run, map errors and panics to the documented exit codes.
use clap::Parser;
use ebbflow::cli::{exit, train};
use std::process::ExitCode;

fn main() -> ExitCode {
    exit::run("ebbflow-train", || train::run(train::TrainArgs::parse()))
}
