//! Reading the input tables and writing outputs.
pub mod group;
pub mod load;
pub mod parse;
pub mod read;
pub mod rules;
pub mod schema;
pub mod tables;
pub mod window;
pub mod write;

pub use read::{csv, parquet};
