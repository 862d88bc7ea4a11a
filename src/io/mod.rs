//! Reading the input tables and writing outputs.
pub mod group;
pub mod load;
pub mod read;
pub mod schema;
pub mod write;

pub use read::{csv, parquet};
