//! `--data` as given on the command line: a folder or a PostgreSQL URL,
//! kept as typed text until [`DataArg::source`] checks it, so that clap
//! never echoes a URL (and its password) in a usage error or a `Debug`.

use crate::error::Result;
use crate::io::load::DataSource;

/// The raw `--data` value; its `Debug` form hides a URL's password.
#[derive(Clone, PartialEq, Eq)]
pub struct DataArg(String);

impl std::str::FromStr for DataArg {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> std::result::Result<DataArg, Self::Err> {
        Ok(DataArg(s.to_string()))
    }
}

impl std::fmt::Debug for DataArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.source() {
            Ok(s) => write!(f, "DataArg({s})"),
            Err(_) => f.write_str("DataArg(<not a valid URL>)"),
        }
    }
}

impl DataArg {
    /// The checked source: a folder, or a PostgreSQL URL (a malformed URL
    /// is a usage error, exit 2, whose message holds no password).
    pub fn source(&self) -> Result<DataSource> {
        DataSource::parse(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_password() {
        let a: DataArg = "postgres://ana:hunter2@h:5432/db".parse().unwrap();
        assert_eq!(format!("{a:?}"), "DataArg(postgres://ana@h:5432/db)");
        let a: DataArg = "postgres://ana:hunter2@h:notaport/db".parse().unwrap();
        assert!(!format!("{a:?}").contains("hunter2"));
        let a: DataArg = "datasets/demo".parse().unwrap();
        assert_eq!(
            a.source().unwrap(),
            DataSource::Folder("datasets/demo".into())
        );
    }
}
