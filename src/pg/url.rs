//! A PostgreSQL connection named by a `postgres://` URL, for any flag that
//! takes one (`--sink`; `--data` can use the same): parsing, the password
//! from the URL, `PGPASSWORD` or the password file (`~/.pgpass`, as libpq
//! reads it), the redacted form every log, manifest and error message
//! shows, and connecting. Knows nothing of what is read or written there.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// How long a connection attempt may take unless the URL says
/// (`?connect_timeout=SECONDS`): a dead host fails the run, not hangs it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A parsed `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` with its password
/// resolved. Its `Display` and [`PgUrl::shown`] never hold the password.
#[derive(Clone)]
pub struct PgUrl {
    config: Config,
    shown: String,
    /// Kept only to scrub it from messages that could echo it.
    password: Option<String>,
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

impl std::fmt::Display for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// True for text that names a database rather than a path.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

/// Where a password not in the URL comes from: `PGPASSWORD`, else the
/// password file (`PGPASSFILE`, else `~/.pgpass`). Passed in so tests need
/// not change the process environment.
#[derive(Debug, Clone, Default)]
pub struct PasswordSources {
    pub env: Option<String>,
    pub file: Option<PathBuf>,
}

impl PasswordSources {
    /// The sources libpq uses, from this process's environment.
    pub fn from_env() -> PasswordSources {
        let file = std::env::var_os("PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
        PasswordSources {
            env: std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
            file,
        }
    }
}

impl PgUrl {
    /// Parses `text` given to `flag`, taking a password missing from the
    /// URL from the environment. Errors (exit 2) never echo the URL.
    pub fn parse(flag: &str, text: &str) -> Result<PgUrl> {
        PgUrl::parse_with(flag, text, &PasswordSources::from_env())
    }

    pub fn parse_with(flag: &str, text: &str, sources: &PasswordSources) -> Result<PgUrl> {
        let usage = |what: &str| {
            Error::InvalidParam(format!(
                "{flag}: {what} (expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB)"
            ))
        };
        if !is_postgres_url(text) {
            return Err(usage("not a postgres:// URL"));
        }
        // tokio-postgres' parser handles percent-encoding and parameters;
        // its messages name the part, never the value.
        let mut config = Config::from_str(text).map_err(|e| usage(&e.to_string()))?;
        let user = config
            .get_user()
            .ok_or_else(|| usage("the URL names no user"))?
            .to_string();
        let host = match config.get_hosts() {
            [Host::Tcp(h)] => h.clone(),
            [Host::Unix(p)] => p.display().to_string(),
            [] => return Err(usage("the URL names no host")),
            _ => return Err(usage("one host only")),
        };
        let port = match config.get_ports() {
            [] => 5432,
            [p] => *p,
            _ => return Err(usage("one port only")),
        };
        let db = config
            .get_dbname()
            .ok_or_else(|| usage("the URL names no database"))?
            .to_string();
        let in_url = config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned());
        let password = match in_url {
            Some(p) => Some(p),
            None => {
                let found = sources.env.clone().or_else(|| {
                    sources
                        .file
                        .as_deref()
                        .and_then(|f| from_password_file(f, &host, port, &db, &user))
                });
                if let Some(p) = &found {
                    config.password(p.as_str());
                }
                found
            }
        };
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("ebbflow");
        let host_port = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(PgUrl {
            config,
            shown: format!("postgres://{user}@{host_port}/{db}"),
            password: password.filter(|p| !p.is_empty()),
        })
    }

    /// The URL without its password, for logs, manifests and messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Connects (no TLS). A failure is an I/O error naming the redacted URL.
    pub fn connect(&self) -> Result<Client> {
        self.config
            .connect(NoTls)
            .map_err(|e| self.error("cannot connect", &e))
    }

    /// `message` with the password, should a server or driver echo it,
    /// replaced by `***`.
    pub fn scrub(&self, message: &str) -> String {
        match &self.password {
            Some(p) => message.replace(p.as_str(), "***"),
            None => message.to_string(),
        }
    }

    /// A database failure (exit 6): what was being done and the driver's
    /// words (with the server's detail and hint when it sent them).
    pub fn error(&self, doing: &str, e: &postgres::Error) -> Error {
        let mut words = e.to_string();
        if let Some(db) = e.as_db_error() {
            if let Some(d) = db.detail() {
                words.push_str(&format!(" ({d})"));
            }
        }
        Error::Database {
            target: self.shown.clone(),
            message: self.scrub(&format!("{doing}: {words}")),
        }
    }
}

/// The password for `host:port:db:user` in a libpq password file: the
/// first line whose fields match (`*` matches anything; `\:` and `\\` are
/// escapes). As libpq does, a file others can read is ignored.
fn from_password_file(file: &Path, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(file).ok()?;
    let port = port.to_string();
    let wanted = [host, port.as_str(), db, user];
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let fields = split_pgpass(line);
            if fields.len() != 5 {
                return None;
            }
            let matches = fields[..4]
                .iter()
                .zip(wanted)
                .all(|(f, w)| f == "*" || f == w);
            matches.then(|| fields[4].clone())
        })
}

/// A password-file line's fields, with `\:` and `\\` unescaped.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().unwrap().push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none() -> PasswordSources {
        PasswordSources::default()
    }

    #[test]
    fn shows_the_url_without_its_password() {
        let u = PgUrl::parse_with(
            "--sink",
            "postgres://ann:s3cret@db.example:6543/crm",
            &none(),
        )
        .unwrap();
        assert_eq!(u.shown(), "postgres://ann@db.example:6543/crm");
        assert_eq!(format!("{u} {u:?}").matches("s3cret").count(), 0);
        assert_eq!(u.scrub("auth failed for s3cret"), "auth failed for ***");
        let u = PgUrl::parse_with("--sink", "postgresql://ann@db/crm", &none()).unwrap();
        assert_eq!(u.shown(), "postgres://ann@db:5432/crm");
    }

    #[test]
    fn rejects_urls_it_cannot_use_without_echoing_them() {
        for bad in [
            "/tmp/out",
            "postgres://db.example/crm",
            "postgres://ann:pw-xyz@db.example:notaport/crm",
            "postgres://ann:pw-xyz@db.example",
        ] {
            let err = PgUrl::parse_with("--sink", bad, &none()).unwrap_err();
            assert!(matches!(err, Error::InvalidParam(_)), "{bad}: {err}");
            let text = err.to_string();
            assert!(text.starts_with("invalid parameter: --sink: "), "{text}");
            assert!(!text.contains("pw-xyz"), "{text}");
        }
    }

    #[test]
    fn a_password_comes_from_the_url_then_pgpassword_then_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:5432:crm:ann:nope\ndb:5432:crm:ann:from\\:file\n*:*:*:*:fallback\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let both = PasswordSources {
            env: Some("from-env".into()),
            file: Some(file.clone()),
        };
        let file_only = PasswordSources {
            env: None,
            file: Some(file.clone()),
        };
        let pw = |url: &str, s: &PasswordSources| {
            PgUrl::parse_with("--sink", url, s)
                .unwrap()
                .password
                .clone()
        };
        assert_eq!(pw("postgres://ann:in-url@db/crm", &both).unwrap(), "in-url");
        assert_eq!(pw("postgres://ann@db/crm", &both).unwrap(), "from-env");
        assert_eq!(
            pw("postgres://ann@db/crm", &file_only).unwrap(),
            "from:file"
        );
        assert_eq!(pw("postgres://bob@x:1/y", &file_only).unwrap(), "fallback");
        assert_eq!(pw("postgres://ann@db/crm", &none()), None);
        #[cfg(unix)]
        {
            // libpq ignores a password file others can read; so do we.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(pw("postgres://ann@db/crm", &file_only), None);
        }
    }
}
