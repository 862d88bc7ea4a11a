//! The one library error type. Bad-data errors carry where (file, line,
//! account, column) and what was expected; binaries map kinds to exit codes
//! (see [`Error::exit_code`]).

use std::fmt;
use std::path::PathBuf;

/// Where a bad value sits. Lines are 1-based and count the header, as a
/// spreadsheet or `sed -n` shows them; Parquet files report the row instead.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub file: PathBuf,
    /// 1-based line in a CSV (header is line 1) or 1-based row in a Parquet file.
    pub line: Option<usize>,
    /// True when `line` is a Parquet row number rather than a text line.
    pub is_row: bool,
    pub account_id: Option<String>,
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        let mut sep = ": ";
        if let Some(line) = self.line {
            let word = if self.is_row { "row" } else { "line" };
            write!(f, "{sep}{word} {line}")?;
            sep = " ";
        }
        if let Some(acc) = &self.account_id {
            if self.line.is_some() {
                write!(f, " (account {acc})")?;
            } else {
                write!(f, "{sep}account {acc}")?;
            }
            sep = ", ";
        } else if self.line.is_some() {
            sep = ", ";
        }
        if let Some(col) = &self.column {
            write!(f, "{sep}column {col}")?;
        }
        Ok(())
    }
}

/// One problem found in an input table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub location: Location,
    pub kind: ProblemKind,
    /// What was expected and what was found, in words.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// The classes of bad input, so tests and callers can match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    MissingTable,
    MissingColumn,
    EmptyTable,
    UnsupportedFormat,
    Unreadable,
    BadDate,
    BadNumber,
    MissingValue,
    BadValue,
    OutOfRange,
    EndBeforeStart,
    DuplicateKey,
    EmptyKey,
}

/// Problems are collected up to this many per table before failing, so a
/// data team can fix a file in one pass.
pub const MAX_PROBLEMS: usize = 20;

/// A list of problems, capped at [`MAX_PROBLEMS`], with a count of the rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub shown: Vec<Problem>,
    pub more: usize,
}

impl Problems {
    pub fn push(&mut self, p: Problem) {
        if self.shown.len() < MAX_PROBLEMS {
            self.shown.push(p);
        } else {
            self.more += 1;
        }
    }
    pub fn is_empty(&self) -> bool {
        self.shown.is_empty()
    }
    pub fn len(&self) -> usize {
        self.shown.len() + self.more
    }
    pub fn extend(&mut self, other: Problems) {
        for p in other.shown {
            self.push(p);
        }
        self.more += other.more;
    }
    /// `Ok(())` when empty, else the bad-input error carrying them.
    pub fn into_result(self) -> Result<()> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::BadInput(self))
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.len();
        write!(
            f,
            "{n} problem{} in the input data:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.shown {
            write!(f, "\n  {p}")?;
        }
        if self.more > 0 {
            write!(f, "\n  … and {} more like this", thousands(self.more))?;
        }
        Ok(())
    }
}

/// `1204` -> `1,204`, for counts people read.
pub fn thousands(n: usize) -> String {
    let mut out = String::new();
    push_thousands(&mut out, n);
    out
}

/// [`thousands`] appended to `out`: the queue's driver texts write a few
/// figures per account into one buffer, with no `String` per figure.
pub fn push_thousands(out: &mut String, n: usize) {
    // usize::MAX has 20 digits.
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let len = digits.len() - at;
    out.reserve(len + len / 3);
    for (i, &d) in digits[at..].iter().enumerate() {
        if i > 0 && (len - i) % 3 == 0 {
            out.push(',');
        }
        out.push(char::from(d));
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input tables break the contract; every problem says where.
    #[error("{0}")]
    BadInput(Problems),
    /// A parameter or config value is out of its valid range.
    #[error("invalid parameter: {0}")]
    InvalidParam(String),
    /// The config file could not be read or parsed.
    #[error("config {path}: {message}")]
    Config { path: PathBuf, message: String },
    /// The model bundle is missing, damaged or of another version.
    #[error("model bundle {path}: {message}")]
    Bundle { path: PathBuf, message: String },
    /// Fitting a model failed or produced something unusable.
    #[error("model fit: {0}")]
    Model(String),
    /// The data hold nothing to learn: every target has a single class in
    /// the training rows (no churn and no upgrade ever). A fact about the
    /// input, not a bug, so it exits like bad input.
    #[error("nothing to learn: {0}")]
    NoSignal(String),
    /// Feature drift beyond the gate the caller set.
    #[error("drift gate: {0}")]
    Drift(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Polars failed on an output (writing a queue, a bundle's side file).
    /// Inputs never produce it: `io::load` words read failures as problems.
    #[error("{path}: cannot be written: {source}")]
    Polars {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    /// Another run kept the output folder locked past the wait allowed.
    #[error(
        "{folder}: another run is writing this folder ({}); gave up after waiting {waited} (--lock-timeout)",
        holder.as_deref().unwrap_or("its holder did not say who it is")
    )]
    Locked {
        folder: PathBuf,
        /// What the holder wrote about itself: program, pid, start time.
        holder: Option<String>,
        waited: String,
    },
    /// A database could not be reached, read or written (`target` is the
    /// URL without its password; the message never holds it either).
    #[error("{target}: {message}")]
    Database { target: String, message: String },
    /// A database holds ebbflow tables this binary cannot use (a later
    /// schema version, or tables it did not make): a setup problem.
    #[error("{target}: {message}")]
    DatabaseSchema { target: String, message: String },
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Shard parts that do not make one queue together: from different
    /// bundles, as-of dates or shard counts, or a bucket missing or given
    /// twice. A usage error: the command named the wrong parts.
    #[error("merge: {0}")]
    Merge(String),
    /// A shard's input or part that does not hold what it says: input not
    /// partitioned as stated, a part damaged or edited.
    #[error("{path}: {message}")]
    Shard { path: PathBuf, message: String },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes: a documented contract for schedulers (README, `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    /// Unexpected failure (a bug); also clap's usage errors use 2.
    Internal = 1,
    Usage = 2,
    BadInput = 3,
    IncompatibleBundle = 4,
    DriftGate = 5,
    Io = 6,
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn polars(path: impl Into<PathBuf>, source: polars::error::PolarsError) -> Self {
        Error::Polars {
            path: path.into(),
            source,
        }
    }
    /// The problems behind a bad-input error, for tests and reports.
    pub fn problems(&self) -> Option<&Problems> {
        match self {
            Error::BadInput(p) => Some(p),
            _ => None,
        }
    }
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::BadInput(_) | Error::NoSignal(_) => ExitCode::BadInput,
            Error::InvalidParam(_)
            | Error::Config { .. }
            | Error::DatabaseSchema { .. }
            | Error::Merge(_) => ExitCode::Usage,
            Error::Shard { .. } => ExitCode::BadInput,
            Error::Bundle { .. } => ExitCode::IncompatibleBundle,
            Error::Drift(_) => ExitCode::DriftGate,
            Error::Io { .. }
            | Error::Polars { .. }
            | Error::Json(_)
            | Error::Locked { .. }
            | Error::Database { .. } => ExitCode::Io,
            Error::Model(_) => ExitCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digit loop against the text form it replaced (`to_string`, then
    /// a comma before every third digit from the right), at the edges.
    #[test]
    fn thousands_groups_digits_in_threes() {
        let reference = |n: usize| {
            let s = n.to_string();
            let mut out = String::new();
            for (i, c) in s.chars().enumerate() {
                if i > 0 && (s.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1204), "1,204");
        assert_eq!(thousands(1_000_000), "1,000,000");
        for n in [
            1,
            9,
            10,
            99,
            100,
            1000,
            12_345,
            123_456,
            9_999_999,
            usize::MAX,
        ] {
            assert_eq!(thousands(n), reference(n), "{n}");
        }
        let mut out = String::from("MRR ");
        push_thousands(&mut out, 43_210);
        assert_eq!(out, "MRR 43,210");
    }

    #[test]
    fn location_reads_like_csv_errors() {
        let loc = Location {
            file: "datasets/demo/subscriptions.csv".into(),
            line: Some(1042),
            is_row: false,
            account_id: Some("A-0193".into()),
            column: Some("mrr".into()),
        };
        assert_eq!(
            loc.to_string(),
            "datasets/demo/subscriptions.csv: line 1042 (account A-0193), column mrr"
        );
    }

    #[test]
    fn polars_errors_are_output_failures_not_bad_input() {
        let err = Error::polars(
            "out/queue.parquet",
            polars::error::PolarsError::ComputeError("disk full".into()),
        );
        assert_eq!(err.exit_code(), ExitCode::Io);
        assert_eq!(
            Error::BadInput(Problems::default()).exit_code(),
            ExitCode::BadInput
        );
    }

    #[test]
    fn problems_cap_and_count_the_rest() {
        let mut ps = Problems::default();
        for i in 0..1224 {
            ps.push(Problem {
                location: Location {
                    file: "x.csv".into(),
                    line: Some(i + 2),
                    ..Default::default()
                },
                kind: ProblemKind::BadNumber,
                message: "bad".into(),
            });
        }
        assert_eq!(ps.shown.len(), MAX_PROBLEMS);
        assert!(ps.to_string().ends_with("… and 1,204 more like this"));
    }
}
