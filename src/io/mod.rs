//! Reading the input tables and writing outputs.
pub mod csv;
pub mod group;
pub mod load;
pub mod parquet;
pub mod pg;
pub mod schema;
pub mod write;
