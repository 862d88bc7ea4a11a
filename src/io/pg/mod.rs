//! Reading the input tables from PostgreSQL (`--data postgres://…`).
pub mod read;
pub mod url;

pub use read::{Session, TableStream};
pub use url::{is_pg_url, PgUrl};
