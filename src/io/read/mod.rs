//! The sources a table is read from, one per file: CSV (`csv`), Parquet in
//! row-group slices (`parquet`), PostgreSQL (`postgres`).
pub mod csv;
pub mod parquet;
pub mod postgres;

pub use postgres::{Session, TableStream};
