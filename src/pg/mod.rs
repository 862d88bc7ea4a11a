//! PostgreSQL as a place ebbflow reads from or publishes to: connection
//! URLs, passwords and their redaction (`url`), shared by the reader
//! (`io::pg::read`) and the sink (`publish::sink`), which own what is read
//! or written there.
pub mod url;

pub use url::{is_postgres_url, pgpass_lookup, PasswordSources, PgUrl};
