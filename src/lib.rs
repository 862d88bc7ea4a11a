//! ebbflow: churn and expansion modeling for SaaS accounts.
//!
//! The flow, one module per step:
//! tables (`io::load`, checked against `io::schema`) -> per-account
//! revenue `timeline` -> point-in-time features (`snapshot`, the one feature
//! path for training and scoring) and horizon `labels` -> models
//! (`models::rfm`, `models::propensity`, `models::survival`) validated out of
//! time (`metrics`) -> a versioned `bundle` -> parallel `score` -> the risk
//! `queue`, compared with the previous run's by `movers`. `report` turns a
//! bundle and a queue into self-contained HTML pages for people; `publish`
//! switches a run's outputs into their folder as one set, under a lock, and
//! can also commit the run to PostgreSQL (`publish::sink`; connection URLs
//! in `pg`). `alloc` sets the process's allocator (mimalloc, why there).

pub mod account;
pub mod alloc;
pub mod bundle;
pub mod bundle_files;
pub mod cli;
pub mod config;
pub mod dates;
pub mod drift;
pub mod error;
pub mod io;
pub mod labels;
pub mod metrics;
pub mod models;
pub mod movers;
pub mod pg;
pub mod publish;
pub mod queue;
pub mod report;
pub mod score;
pub mod shard;
pub mod snapshot;
pub mod synth;
pub mod timeline;
pub mod train;

#[cfg(test)]
mod testutil;

pub use error::{Error, Result};
