//! PostgreSQL as a place ebbflow reads from or publishes to: connection
//! URLs, passwords and their redaction (`url`). What is read or written
//! there belongs to the callers (`publish::sink`).
pub mod url;

pub use url::{is_postgres_url, PasswordSources, PgUrl};
