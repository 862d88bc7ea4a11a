//! A PostgreSQL connection named by a `postgres://` URL, for every flag that
//! takes one (`--data` reads there, `--sink` publishes there): parsing,
//! the password from the URL, `PGPASSWORD` or the password file
//! (`PGPASSFILE`, else `~/.pgpass`, read as libpq reads it), the one
//! redacted form every log, manifest and error message shows
//! (`postgres://user@host:5432/db`: the same wherever the password came
//! from, so a bundle trained from a database does not depend on it),
//! connecting, and database errors that
//! never hold the password. Knows nothing of what is read or written there
//! (see `io::pg::read` and `publish::sink`).

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::error::{Error, Result};

/// How long a connection attempt may take unless the URL says
/// (`?connect_timeout=SECONDS`): a dead host fails the run, not hangs it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A checked `postgres://USER[:PASSWORD]@HOST[:PORT]/DB` with its password
/// resolved. Its `Display`, `Debug` and [`PgUrl::shown`] never hold the
/// password.
#[derive(Clone)]
pub struct PgUrl {
    user: String,
    host: String,
    port: u16,
    dbname: String,
    config: Config,
    shown: String,
    /// The password to connect with, kept to scrub it from messages that
    /// could echo it.
    password: Option<String>,
    /// Where the password came from (for messages): "the URL",
    /// "PGPASSWORD" or "the password file".
    password_from: Option<&'static str>,
    /// Why a password file was not used (readable by others), for messages.
    notes: Vec<String>,
}

impl fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgUrl({})", self.shown)
    }
}

impl fmt::Display for PgUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl PartialEq for PgUrl {
    fn eq(&self, other: &PgUrl) -> bool {
        (&self.shown, &self.password, &self.host, &self.user)
            == (&other.shown, &other.password, &other.host, &other.user)
    }
}

/// True for text meant as a database URL rather than a path.
pub fn is_postgres_url(text: &str) -> bool {
    let l = text.get(..13).unwrap_or(text).to_ascii_lowercase();
    l.starts_with("postgres://") || l.starts_with("postgresql://")
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
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass")));
        PasswordSources {
            env: std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()),
            file,
        }
    }
}

/// A malformed URL given to `flag` (exit 2); the message never holds the
/// URL itself (it may hold a password).
fn bad(flag: &str, why: &str) -> Error {
    Error::InvalidParam(format!(
        "{flag}: not a valid PostgreSQL URL ({why}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DB"
    ))
}

fn percent_decode(flag: &str, s: &str, what: &str) -> Result<String> {
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
                    return Err(bad(
                        flag,
                        &format!("the {what} has a % not followed by two hex digits"),
                    ))
                }
            }
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad(flag, &format!("the {what} is not UTF-8 once decoded")))
}

impl PgUrl {
    /// Parses `text` given to `flag`, taking a password missing from the
    /// URL from the environment. Errors (exit 2) never echo the URL.
    pub fn parse(flag: &str, text: &str) -> Result<PgUrl> {
        PgUrl::parse_with(flag, text, &PasswordSources::from_env())
    }

    /// Parses `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?connect_timeout=S]`
    /// (or `postgresql://`); user, password, host and database may be
    /// percent-encoded, a host starting with `/` is a Unix socket folder.
    /// No other query parameter is supported (connections are plain TCP).
    pub fn parse_with(flag: &str, text: &str, sources: &PasswordSources) -> Result<PgUrl> {
        let bad = |why: &str| bad(flag, why);
        let rest = text
            .split_once("://")
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("postgres") || scheme.eq_ignore_ascii_case("postgresql")
            })
            .map(|(_, r)| r)
            .ok_or_else(|| bad("it must start with postgres:// or postgresql://"))?;
        // The user part ends at the last '@' (a password may hold one, encoded or not).
        let (auth, hostpart) = rest
            .rsplit_once('@')
            .ok_or_else(|| bad("it names no user: USER@ is missing"))?;
        if hostpart.contains('#') {
            return Err(bad("a # has no meaning in it"));
        }
        let (hostpart, query) = match hostpart.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (hostpart, None),
        };
        let (user, in_url) = match auth.split_once(':') {
            Some((u, p)) => (u, Some(percent_decode(flag, p, "password")?)),
            None => (auth, None),
        };
        let in_url = in_url.filter(|p| !p.is_empty());
        let user = percent_decode(flag, user, "user")?;
        if user.is_empty() {
            return Err(bad("the user is empty"));
        }
        let (hostport, db) = hostpart
            .split_once('/')
            .ok_or_else(|| bad("it names no database: /DB is missing"))?;
        let dbname = percent_decode(flag, db, "database name")?;
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
                Some((h, p)) => (percent_decode(flag, h, "host")?, Some(p)),
                None => (percent_decode(flag, hostport, "host")?, None),
            }
        };
        if hostport.contains(',') {
            return Err(bad("one host only"));
        }
        let socket = host.starts_with('/');
        if host.is_empty() || (!socket && host.contains(['/', ' ', '@'])) {
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
        let mut timeout = CONNECT_TIMEOUT;
        for param in query.into_iter().flat_map(|q| q.split('&')) {
            match param.split_once('=') {
                Some(("connect_timeout", s)) => {
                    timeout = s
                        .parse::<u64>()
                        .ok()
                        .filter(|&s| s > 0)
                        .map(Duration::from_secs)
                        .ok_or_else(|| bad("connect_timeout is not a number of seconds > 0"))?;
                }
                _ => return Err(bad(
                    "query parameters such as ?sslmode= are not supported (only connect_timeout)",
                )),
            }
        }

        let mut notes = Vec::new();
        let (password, password_from) = match in_url.clone() {
            Some(p) => (Some(p), Some("the URL")),
            None => match sources.env.clone() {
                Some(p) => (Some(p), Some("PGPASSWORD")),
                None => {
                    let found = sources.file.as_deref().and_then(|f| {
                        from_password_file(f, &host, port, &dbname, &user, &mut notes)
                    });
                    let from = found.as_ref().map(|_| "the password file");
                    (found.filter(|p| !p.is_empty()), from)
                }
            },
        };
        let password_from = password.as_ref().and(password_from);

        let mut config = Config::new();
        config
            .user(&user)
            .port(port)
            .dbname(&dbname)
            .application_name("ebbflow")
            .connect_timeout(timeout);
        if socket {
            config.host_path(&host);
        } else {
            config.host(&host);
        }
        if let Some(p) = &password {
            config.password(p.as_bytes());
        }
        let host_shown = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        Ok(PgUrl {
            shown: format!("postgres://{user}@{host_shown}:{port}/{dbname}"),
            user,
            host,
            port,
            dbname,
            config,
            password,
            password_from,
            notes,
        })
    }

    /// The URL without its password, for logs, manifests and messages.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn dbname(&self) -> &str {
        &self.dbname
    }

    /// Why a password file was not used (readable by group or others, as
    /// libpq refuses it): warnings for the run's log.
    pub fn password_notes(&self) -> &[String] {
        &self.notes
    }

    /// Connects (no TLS). A failure (exit 6) names the redacted URL and
    /// where the password came from, or why there was none.
    pub fn connect(&self) -> Result<Client> {
        self.config.connect(NoTls).map_err(|e| {
            let mut doing = "cannot connect".to_string();
            match self.password_from {
                Some(from) => doing.push_str(&format!(" (password from {from})")),
                None => {
                    doing.push_str(
                        " (no password given: put it in the URL, PGPASSWORD or ~/.pgpass",
                    );
                    for n in &self.notes {
                        doing.push_str(&format!("; {n}"));
                    }
                    doing.push(')');
                }
            }
            self.error(&doing, &e)
        })
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
    /// words (the server's message, with its detail and hint when it sent
    /// them), scrubbed of the password.
    pub fn error(&self, doing: &str, e: &postgres::Error) -> Error {
        let words = match e.as_db_error() {
            Some(db) => {
                let mut w = format!("{}: {}", db.severity(), db.message());
                if let Some(d) = db.detail() {
                    w.push_str(&format!(" ({d})"));
                }
                if let Some(h) = db.hint() {
                    w.push_str(&format!(" (hint: {h})"));
                }
                w
            }
            None => e.to_string(),
        };
        self.failure(&format!("{doing}: {words}"))
    }

    /// A database failure (exit 6) that did not come from the driver (a
    /// broken stream, a lost connection thread), scrubbed of the password.
    pub fn failure(&self, message: &str) -> Error {
        Error::Database {
            target: self.shown.clone(),
            message: self.scrub(message),
        }
    }
}

/// The password for `host:port:db:user` in a libpq password file. As libpq
/// does, a file group or others can read is ignored, with a note saying so.
fn from_password_file(
    file: &Path,
    host: &str,
    port: u16,
    db: &str,
    user: &str,
    notes: &mut Vec<String>,
) -> Option<String> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            notes.push(format!(
                "password file {} is readable by group or others; ignored (chmod 0600 it), as libpq does",
                file.display()
            ));
            return None;
        }
    }
    #[cfg(not(unix))]
    let _ = notes;
    let text = std::fs::read_to_string(file).ok()?;
    pgpass_lookup(&text, host, port, db, user)
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

    fn none() -> PasswordSources {
        PasswordSources::default()
    }

    fn parse(text: &str) -> Result<PgUrl> {
        PgUrl::parse_with("--data", text, &none())
    }

    #[test]
    fn parses_and_redacts() {
        let u = parse("postgres://ana:s3cr%40t@db.example.com:6543/sales").unwrap();
        assert_eq!(u.user(), "ana");
        assert_eq!(u.password.as_deref(), Some("s3cr@t"));
        assert_eq!(u.host(), "db.example.com");
        assert_eq!(u.port(), 6543);
        assert_eq!(u.dbname(), "sales");
        assert_eq!(u.to_string(), "postgres://ana@db.example.com:6543/sales");
        assert_eq!(u.shown(), u.to_string());
        assert_eq!(format!("{u} {u:?}").matches("s3cr").count(), 0);
        assert_eq!(u.scrub("auth failed for s3cr@t"), "auth failed for ***");
        let u = parse("postgresql://ana@localhost/sales").unwrap();
        assert_eq!(u.to_string(), "postgres://ana@localhost:5432/sales");
        let u = parse("postgres://ana:p@ss@[::1]:5433/x").unwrap();
        assert_eq!((u.host(), u.port()), ("::1", 5433));
        assert_eq!(u.password.as_deref(), Some("p@ss"));
        assert_eq!(u.shown(), "postgres://ana@[::1]:5433/x");
        let u = parse("postgres://ana@h/x?connect_timeout=3").unwrap();
        assert_eq!(
            u.config.get_connect_timeout(),
            Some(&Duration::from_secs(3))
        );
        assert_eq!(u.shown(), "postgres://ana@h:5432/x");
    }

    #[test]
    fn malformed_urls_are_usage_errors_without_the_password() {
        for bad in [
            "/tmp/out",
            "mysql://ana:topsecret@host/db",
            "postgres://host/db",
            "postgres://db.example/crm",
            "postgres://ana:topsecret@host:99999/db",
            "postgres://ana:topsecret@host:notaport/crm",
            "postgres://ana:topsecret@host:5432",
            "postgres://ana:topsecret@host",
            "postgres://ana:topsecret@host/db?sslmode=require",
            "postgres://ana:topsecret@host/db?connect_timeout=soon",
            "postgres://ana:topsecret@h1,h2/db",
            "postgres://:topsecret@host/db",
            "postgres://ana:top%zzsecret@host/db",
        ] {
            let err = PgUrl::parse_with("--sink", bad, &none()).unwrap_err();
            assert!(matches!(err, Error::InvalidParam(_)), "{bad}: {err}");
            assert_eq!(err.exit_code(), crate::error::ExitCode::Usage, "{bad}");
            let text = err.to_string();
            assert!(
                text.starts_with("invalid parameter: --sink: not a valid PostgreSQL URL ("),
                "{text}"
            );
            assert!(!text.contains("topsecret"), "{text}");
        }
        assert!(is_postgres_url("PostgreSQL://x@y/z"));
        assert!(is_postgres_url("postgres://x@y/z"));
        assert!(!is_postgres_url("datasets/demo"));
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
        let url = |url: &str, s: &PasswordSources| PgUrl::parse_with("--sink", url, s).unwrap();
        let pw = |u: &str, s: &PasswordSources| {
            let u = url(u, s);
            u.password.clone().map(|p| (p, u.password_from.unwrap()))
        };
        let got = |p: &str, from: &'static str| Some((p.to_string(), from));
        assert_eq!(
            pw("postgres://ann:in-url@db/crm", &both),
            got("in-url", "the URL")
        );
        assert_eq!(
            pw("postgres://ann@db/crm", &both),
            got("from-env", "PGPASSWORD")
        );
        assert_eq!(
            pw("postgres://ann@db/crm", &file_only),
            got("from:file", "the password file")
        );
        assert_eq!(
            pw("postgres://bob@x:1/y", &file_only),
            got("fallback", "the password file")
        );
        assert_eq!(pw("postgres://ann@db/crm", &none()), None);
        // Only a password the URL held is marked in the shown form.
        assert_eq!(
            url("postgres://ann@db/crm", &both).shown(),
            "postgres://ann@db:5432/crm"
        );
        // The password is scrubbed wherever it came from.
        let u = url("postgres://ann@db/crm", &both);
        assert_eq!(u.scrub("no from-env here"), "no *** here");
        #[cfg(unix)]
        {
            // libpq ignores a password file others can read; so do we, and say so.
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert_eq!(pw("postgres://ann@db/crm", &file_only), None);
            let u = url("postgres://ann@db/crm", &file_only);
            assert_eq!(u.password_notes().len(), 1);
            assert!(u.password_notes()[0].contains("readable by group or others; ignored"));
        }
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
