//! The sources a table is read from, one per file: CSV (`csv`), Parquet in
//! row-group slices (`parquet`), PostgreSQL (`postgres`); the slice
//! reader over all three (`table_reader`) and the tables' opening work
//! started early (`ahead`). Nothing here parses a cell.
pub mod ahead;
pub mod csv;
pub mod parquet;
pub mod postgres;
pub mod table_reader;

pub(in crate::io) use ahead::Ahead;
pub use postgres::{Session, TableStream};
pub(in crate::io) use table_reader::{FileKind, Input, TableReader};
