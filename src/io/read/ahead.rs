//! The opening work of the tables read after accounts, started while
//! accounts load: each Parquet table's first slice and each file's sha256,
//! on one thread of their own ([`Ahead::start`]). Accounts and
//! subscriptions are converted on the calling thread with little else
//! running, so the second core would otherwise idle through them. What a
//! table's reader takes from here ([`Opening`]) is exactly what it would
//! have computed itself, errors included, and it is taken where the reader
//! would have computed it: problems are reported in the same order as
//! without it. With one thread (`--threads 1`) nothing starts early.
//! Knows nothing of the contract's columns (see `io::rules`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;

use polars::prelude::DataFrame;

use super::parquet::{parquet_slices, read_parquet};
use super::table_reader::{file_kind, sha256_file, FileKind, Input};
use crate::error::Result;
use crate::io::schema::TableKind;

/// A Parquet file's slices (row ranges), row count and decoded first
/// slice: what [`super::TableReader::open`] reads before anything else.
pub(in crate::io) type FirstSlice = (Vec<(usize, usize)>, usize, DataFrame);

/// One table's work started early, each part to be received once. A part
/// that is absent (or whose thread is gone) is done by the reader itself.
#[derive(Default)]
pub(in crate::io) struct Opening {
    pub(in crate::io) first: Option<Receiver<Result<FirstSlice>>>,
    pub(in crate::io) sha256: Option<Receiver<Result<String>>>,
}

/// The early work of every table but accounts. Dropping it (a load that
/// stops early, e.g. on a bad accounts table) stops the work not yet begun.
#[derive(Default)]
pub(in crate::io) struct Ahead {
    tables: HashMap<TableKind, Opening>,
    stop: Arc<AtomicBool>,
}

/// One piece of early work, sent to the table that waits for it.
enum Job {
    First(std::path::PathBuf, usize, Sender<Result<FirstSlice>>),
    Sha256(std::path::PathBuf, Sender<Result<String>>),
}

impl Ahead {
    /// Starts, on one thread, the first slice (of `slice_rows` rows, see
    /// [`super::TableReader::open`]) and then the sha256 of each Parquet
    /// file among `tables`, in that order: each table's slice before the
    /// next table's, since the reader needs them in that order; a table's
    /// sha256 is needed only once the table has been read. Nothing starts
    /// with one thread, nor for CSV files (read ahead by their own reader)
    /// or database tables.
    pub(in crate::io) fn start(
        inputs: &HashMap<TableKind, Input>,
        tables: &[TableKind],
        slice_rows: usize,
    ) -> Ahead {
        let mut ahead = Ahead::default();
        if rayon::current_num_threads() < 2 {
            return ahead;
        }
        // Subscriptions are read whole right after accounts: their sha256
        // comes right after their slice, not after every table's slice.
        let mut jobs = Vec::new();
        let mut shas = Vec::new();
        for &t in tables {
            let Some(Input::File(p)) = inputs.get(&t) else {
                continue;
            };
            if !matches!(file_kind(p), Ok(FileKind::Parquet)) {
                continue;
            }
            let (first_tx, first) = channel();
            let (sha_tx, sha256) = channel();
            jobs.push(Job::First(p.clone(), slice_rows, first_tx));
            let sha = Job::Sha256(p.clone(), sha_tx);
            if t == TableKind::Subscriptions {
                jobs.push(sha);
            } else {
                shas.push(sha);
            }
            ahead.tables.insert(
                t,
                Opening {
                    first: Some(first),
                    sha256: Some(sha256),
                },
            );
        }
        if jobs.is_empty() {
            return ahead;
        }
        jobs.extend(shas);
        let stop = ahead.stop.clone();
        std::thread::spawn(move || {
            for job in jobs {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                // A send fails only when the table no longer waits for it.
                match job {
                    Job::First(p, rows, tx) => {
                        let _ = tx.send(first_slice(&p, rows));
                    }
                    Job::Sha256(p, tx) => {
                        let _ = tx.send(sha256_file(&p));
                    }
                }
            }
        });
        ahead
    }

    /// What was started for `table` (nothing, if nothing was).
    pub(in crate::io) fn take(&mut self, table: TableKind) -> Opening {
        self.tables.remove(&table).unwrap_or_default()
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A Parquet file's slices, row count and first slice.
pub(in crate::io) fn first_slice(path: &Path, slice_rows: usize) -> Result<FirstSlice> {
    let (slices, total) = parquet_slices(path, slice_rows)?;
    let first = *slices.first().expect("at least one slice");
    let df = read_parquet(path, first)?;
    Ok((slices, total, df))
}

#[cfg(test)]
mod tests {
    //! Work started early changes nothing: the tables (sources' sha256s
    //! included) and the problems, in their order, are those of a load in
    //! one thread, where nothing starts early; a reader whose early work is
    //! gone does it itself.
    use super::*;
    use crate::config::Config;
    use crate::io::load::*;
    use crate::io::read::parquet::rewrite_with_column;
    use crate::io::read::TableReader;
    use crate::synth::SynthFormat;
    use polars::prelude::*;
    use std::fs::File;

    /// Generated Parquet data in row groups of 41 rows (many slices).
    fn parquet_data() -> tempfile::TempDir {
        let dir = crate::testutil::synth_dir(90, 6, 23, SynthFormat::Parquet);
        crate::io::read::parquet::rewrite_in_row_groups(dir.path(), 41);
        dir
    }

    fn in_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
            .install(f)
    }

    /// The load's result as text (tables, or the error's message).
    fn load_text(dir: &Path, threads: usize) -> String {
        in_threads(threads, || {
            match load_dir_sliced(dir, &Config::default(), 100) {
                Ok(t) => format!("{t:?}"),
                Err(e) => format!("error: {e}"),
            }
        })
    }

    #[test]
    fn tables_started_early_equal_tables_read_in_one_thread() {
        let dir = parquet_data();
        let one = load_text(dir.path(), 1);
        assert!(!one.starts_with("error"), "{one}");
        assert!(one.contains("sha256"), "the sources are compared too");
        for _ in 0..3 {
            assert_eq!(load_text(dir.path(), 2), one);
        }
    }

    #[test]
    fn problems_started_early_are_reported_as_in_one_thread() {
        // A damaged events file and a bad value in subscriptions and in
        // surveys: every table's problems, in table order, as in one thread.
        let dir = parquet_data();
        std::fs::write(dir.path().join("events.parquet"), "PAR1 cut short").unwrap();
        let path = dir.path().join("surveys.parquet");
        let mut df = ParquetReader::new(File::open(&path).unwrap())
            .finish()
            .unwrap();
        let score = crate::testutil::floats_with(&df, "score", 7, 99.0);
        rewrite_with_column(&path, &mut df, "score", score.into_series(), 41);
        let one = load_text(dir.path(), 1);
        assert!(one.starts_with("error: 2 problems"), "{one}");
        let events = one.find("events.parquet: cut short").expect(&one);
        let surveys = one.find("surveys.parquet: row 8").expect(&one);
        assert!(events < surveys, "{one}");
        assert_eq!(load_text(dir.path(), 2), one);
        // A bad accounts table stops the load (and the early work) at once.
        std::fs::write(dir.path().join("accounts.parquet"), "not parquet").unwrap();
        let msg = load_text(dir.path(), 2);
        assert!(msg.starts_with("error: 1 problem"), "{msg}");
        assert!(
            msg.contains("accounts.parquet: not a Parquet file"),
            "{msg}"
        );
    }

    #[test]
    fn a_reader_whose_early_work_is_gone_does_it_itself() {
        let dir = parquet_data();
        let input = Input::File(dir.path().join("events.parquet"));
        let cfg = Config::default();
        let gone = || {
            let (_, first) = channel();
            let (_, sha256) = channel();
            Opening {
                first: Some(first),
                sha256: Some(sha256),
            }
        };
        let mut own = TableReader::open(TableKind::Events, &input, &cfg, 100).unwrap();
        let mut left =
            TableReader::open_with(TableKind::Events, &input, &cfg, 100, gone()).unwrap();
        assert!(own.rest.len() > 3, "{}", own.rest.len());
        assert_eq!(left.rest, own.rest);
        assert_eq!(left.total, own.total);
        assert!(left.df.equals_missing(&own.df));
        let path = dir.path().join("events.parquet");
        let sha = own.file_sha256(&path).unwrap();
        assert_eq!(left.file_sha256(&path).unwrap(), sha);
        assert_eq!(sha.len(), 64);
        // And work that did start gives the same.
        let inputs = HashMap::from([(TableKind::Events, input.clone())]);
        let mut early = in_threads(2, || {
            let mut ahead = Ahead::start(&inputs, &[TableKind::Events], 100);
            let started = ahead.take(TableKind::Events);
            assert!(started.first.is_some() && started.sha256.is_some());
            TableReader::open_with(TableKind::Events, &input, &cfg, 100, started)
        })
        .unwrap();
        assert_eq!(early.rest, own.rest);
        assert!(early.df.equals_missing(&own.df));
        assert_eq!(early.file_sha256(&path).unwrap(), sha);
    }
}
