//! Reading the input tables from PostgreSQL (`--data postgres://…`); the
//! URL and its password are `crate::pg`'s.
pub mod read;

pub use read::{Session, TableStream};
