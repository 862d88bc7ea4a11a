//! A PostgreSQL connection URL (`postgres://USER[:PASSWORD]@HOST[:PORT]/DB`),
//! checked once into [`PgUrl`], and where its password comes from: the URL,
//! else `PGPASSWORD`, else the password file (`PGPASSFILE` or `~/.pgpass`,
//! libpq's format). The password is held apart and never printed: the
//! `Display` and `Debug` forms are redacted (`postgres://user:***@host:5432/db`).
//! Knows nothing of tables (see `io::pg::read`).

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A checked connection URL. The password is never shown by `Display` or `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    pub user: String,
    password: Option<String>,
    pub host: String,
    pub port: u16,
    pub dbname: String,
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({self})")
    }
}

/// Redacted: `postgres://user:***@host:5432/db` (`postgres://user@host:5432/db`
/// when the URL held no password).
impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secret = if self.password.is_some() { ":***" } else { "" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(
            f,
            "postgres://{}{secret}@{host}:{}/{}",
            self.user, self.port, self.dbname
        )
    }
}

/// True when `s` is meant as a database URL rather than a folder.
pub fn is_pg_url(s: &str) -> bool {
    let l = s.get(..13).unwrap_or(s).to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
}

fn percent_decode(s: &str, what: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(v) => out.push(v),
                None => {
                    return Err(bad(&format!(
                        "the {what} has a % not followed by two hex digits"
                    )))
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(&format!("the {what} is not UTF-8 once decoded")))
}

/// A malformed URL; the message never holds the URL itself (it may hold a password).
fn bad(why: &str) -> Error {
    Error::InvalidParam(format!(
        "--data: not a valid PostgreSQL URL ({why}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB"
    ))
}

impl PgUrl {
    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` (or `postgresql://`);
    /// user, password and database may be percent-encoded. Query parameters
    /// are refused (none is supported; connections are plain TCP).
    pub fn parse(s: &str) -> Result<PgUrl> {
        let rest = s
            .split_once("://")
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
            })
            .map(|(_, r)| r)
            .ok_or_else(|| bad("it must start with postgres:// or postgresql://"))?;
        if rest.contains('?') || rest.contains('#') {
            return Err(bad("query parameters such as ?sslmode= are not supported"));
        }
        // The user part ends at the last '@' (a password may hold one, encoded or not).
        let (auth, hostpart) = rest
            .rsplit_once('@')
            .ok_or_else(|| bad("it names no user: USER@ is missing"))?;
        let (user, password) = match auth.split_once(':') {
            Some((u, p)) => (u, Some(percent_decode(p, "password")?)),
            None => (auth, None),
        };
        let user = percent_decode(user, "user")?;
        if user.is_empty() {
            return Err(bad("the user is empty"));
        }
        let (hostport, db) = hostpart
            .split_once('/')
            .ok_or_else(|| bad("it names no database: /DB is missing"))?;
        let dbname = percent_decode(db, "database name")?;
        if dbname.is_empty() || dbname.contains('/') {
            return Err(bad("the database name is empty or holds a /"));
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("an IPv6 host is missing its ]"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() || host.contains(['/', ' ', '@']) {
            return Err(bad("the host is empty or malformed"));
        }
        let port = match port {
            None => 5432,
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| bad("the port is not a number in 1..65535"))?,
        };
        Ok(PgUrl {
            user,
            password: password.filter(|p| !p.is_empty()),
            host,
            port,
            dbname,
        })
    }

    /// Whether the URL itself held a password.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }

    /// The password to connect with, and where it came from (for messages;
    /// never the password itself): the URL, else `PGPASSWORD`, else the
    /// password file. `warnings` gets a note when a password file is
    /// ignored (readable by others, as libpq does).
    pub fn resolve_password(&self, warnings: &mut Vec<String>) -> Option<(String, &'static str)> {
        if let Some(p) = &self.password {
            return Some((p.clone(), "the URL"));
        }
        if let Some(p) = std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()) {
            return Some((p, "PGPASSWORD"));
        }
        let file = pgpass_path()?;
        let text = std::fs::read_to_string(&file).ok()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if let Ok(md) = std::fs::metadata(&file) {
                if md.permissions().mode() & 0o077 != 0 {
                    warnings.push(format!(
                        "password file {} is readable by group or others; ignored (chmod 0600 it), as libpq does",
                        file.display()
                    ));
                    return None;
                }
            }
        }
        #[cfg(not(unix))]
        let _ = warnings;
        pgpass_lookup(&text, &self.host, self.port, &self.dbname, &self.user)
            .map(|p| (p, "the password file"))
    }

    /// Replaces every occurrence of the URL's password in `text` with `***`
    /// (a last guard on messages that come from the server or the client).
    pub fn scrub(&self, text: &str, password: Option<&str>) -> String {
        let mut out = text.to_string();
        for p in [self.password.as_deref(), password].into_iter().flatten() {
            if !p.is_empty() {
                out = out.replace(p, "***");
            }
        }
        out
    }
}

/// `PGPASSFILE`, else `~/.pgpass` (HOME).
fn pgpass_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

/// Splits a `.pgpass` line into its fields at unescaped `:`; `\:` and `\\`
/// are a colon and a backslash.
fn pgpass_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("non-empty").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("non-empty").push(c),
        }
    }
    fields
}

/// The password of the first line of a `.pgpass` file that matches
/// (`hostname:port:database:username:password`, `*` matching anything in
/// the first four fields; `#` starts a comment line), as libpq reads it.
pub fn pgpass_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let f = pgpass_fields(line);
        if f.len() != 5 {
            continue;
        }
        let ok = |pat: &str, val: &str| pat == "*" || pat == val;
        if ok(&f[0], host) && ok(&f[1], &port) && ok(&f[2], db) && ok(&f[3], user) {
            return Some(f[4].clone());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_redacts() {
        let u = PgUrl::parse("postgres://ana:s3cr%40t@db.example.com:6543/sales").unwrap();
        assert_eq!(u.user, "ana");
        assert_eq!(u.password.as_deref(), Some("s3cr@t"));
        assert_eq!(u.host, "db.example.com");
        assert_eq!(u.port, 6543);
        assert_eq!(u.dbname, "sales");
        assert_eq!(
            u.to_string(),
            "postgres://ana:***@db.example.com:6543/sales"
        );
        assert!(!format!("{u:?}").contains("s3cr"));
        let u = PgUrl::parse("postgresql://ana@localhost/sales").unwrap();
        assert_eq!(u.to_string(), "postgres://ana@localhost:5432/sales");
        let u = PgUrl::parse("postgres://ana:p@ss@[::1]:5433/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 5433));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
    }

    #[test]
    fn malformed_urls_are_usage_errors_without_the_password() {
        for bad in [
            "postgres://host/db",
            "postgres://ana:topsecret@host:99999/db",
            "postgres://ana:topsecret@host:5432",
            "postgres://ana:topsecret@host/db?sslmode=require",
            "postgres://:topsecret@host/db",
            "postgres://ana:top%zzsecret@host/db",
            "mysql://ana:topsecret@host/db",
        ] {
            let e = PgUrl::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), crate::error::ExitCode::Usage, "{bad}");
            assert!(!e.to_string().contains("topsecret"), "{e}");
        }
        assert!(is_pg_url("PostgreSQL://x@y/z"));
        assert!(!is_pg_url("datasets/demo"));
    }

    #[test]
    fn pgpass_matches_like_libpq() {
        // Format from the PostgreSQL manual, "The Password File":
        // hostname:port:database:username:password, * wildcards, \ escapes.
        let text = "# comment\n\
                    other:5432:*:ana:nope\n\
                    db\\:1:*:sales:ana:first\\:part\\\\x\n\
                    *:5432:*:ana:fallback\n";
        assert_eq!(
            pgpass_lookup(text, "db:1", 5432, "sales", "ana").as_deref(),
            Some("first:part\\x")
        );
        assert_eq!(
            pgpass_lookup(text, "h", 5432, "sales", "ana").as_deref(),
            Some("fallback")
        );
        assert_eq!(pgpass_lookup(text, "h", 5433, "sales", "ana"), None);
        assert_eq!(pgpass_lookup(text, "h", 5432, "sales", "bob"), None);
    }
}
