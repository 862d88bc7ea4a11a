//! End-to-end tests: the real binaries on the committed demo data and
//! bundle, each test in its own directory. One test binary (polars links once).

mod workdir;

mod drift_gate;
mod exit_codes;
mod fuzz;
mod histories;
mod pg;
mod pg_read;
mod pg_sink;
mod publish;
mod report;
mod score;
mod shard;
mod train;
mod truth;
