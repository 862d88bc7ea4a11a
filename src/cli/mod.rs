//! Argument parsing for the binaries: clap `Args` turned into library
//! parameters, plus the stderr logger. Binaries stay a screenful.
pub mod data;
pub mod exit;
pub mod log;
pub mod merge;
pub mod score;
pub mod threads;
pub mod train;
