//! A real PostgreSQL for the end-to-end tests, never a mock: the cluster
//! named by `EBBFLOW_TEST_PG` (a `postgres://` URL with a superuser), or
//! else the throwaway one `bash .ci/pg.sh start` starts (and reuses) on a
//! free loopback port. Each test makes its own database ([`TempDb`]) and
//! drops it when done; `.ci/run` stops the cluster at the end.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use postgres::{Client, NoTls};

/// The cluster's URL (it holds the superuser's password: never print it).
pub fn server_url() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        if let Ok(url) = std::env::var("EBBFLOW_TEST_PG") {
            return url;
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/pg.sh");
        let out = Command::new("bash")
            .args([script, "start"])
            .output()
            .expect("run bash .ci/pg.sh start");
        assert!(
            out.status.success(),
            "the PostgreSQL tests need a server: set EBBFLOW_TEST_PG=postgres://USER:PASSWORD@HOST:PORT/DB, \
             or install Debian's postgresql (bash .ci/pg.sh install). .ci/pg.sh start said:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("URL is UTF-8")
            .trim()
            .to_string()
    })
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, rest) = url.rsplit_once('/').expect("URL has a database part");
    let query = rest.find('?').map(|i| &rest[i..]).unwrap_or("");
    format!("{base}/{db}{query}")
}

/// `url` without its password (`postgres://user@host:port/db`), for
/// passing the password another way (PGPASSWORD, ~/.pgpass).
pub fn without_password(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("URL has a scheme");
    let (auth, host) = rest.split_once('@').expect("URL has a user");
    let (user, password) = auth.split_once(':').unwrap_or((auth, ""));
    (format!("{scheme}://{user}@{host}"), password.to_string())
}

/// A database of one test's own, dropped at the end of the test.
pub struct TempDb {
    pub name: String,
    /// URL of this database, password included.
    pub url: String,
}

impl TempDb {
    /// Creates an empty database named after `tag` (letters, digits, `_`).
    pub fn new(tag: &str) -> TempDb {
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "ebbflow_{}_{}_{}",
            tag,
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut admin = Client::connect(server_url(), NoTls).expect("connect to the test cluster");
        admin
            .batch_execute(&format!("CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
            .expect("create the test database");
        TempDb {
            url: with_database(server_url(), &name),
            name,
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.url, NoTls).expect("connect to the test database")
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = Client::connect(server_url(), NoTls) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ));
        }
    }
}

#[test]
fn the_test_cluster_is_a_real_postgres_with_passwords() {
    let db = TempDb::new("smoke");
    let mut c = db.client();
    let v: String = c.query_one("SELECT version()", &[]).unwrap().get(0);
    assert!(v.starts_with("PostgreSQL "), "{v}");
    let name: String = c
        .query_one("SELECT current_database()", &[])
        .unwrap()
        .get(0);
    assert_eq!(name, db.name);
    // Password authentication is on: a wrong password is refused, so tests
    // of PGPASSWORD and ~/.pgpass prove something.
    let (bare, _) = without_password(&db.url);
    let wrong = bare.replacen('@', ":not-the-password@", 1);
    assert!(Client::connect(&wrong, NoTls).is_err());
}
