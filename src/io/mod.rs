//! Reading the input tables and writing outputs.
pub mod csv;
pub mod load;
pub mod schema;
pub mod write;
