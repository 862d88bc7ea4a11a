//! Atomic output: every file is written to a temporary file in its target
//! directory and renamed into place, so a failed or killed run leaves the
//! previous file intact and readers never see half a file.

use std::io::Write;
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

/// Output table formats.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Parquet,
    Csv,
    Json,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Json => "json",
        }
    }
}

/// Writes `path` atomically: `fill` writes into a temporary file beside it,
/// which is flushed, synced and renamed over `path` only if `fill` succeeds.
pub fn atomic_write<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut std::fs::File) -> Result<()>,
{
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".ebbflow-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    // Temporary files are created private (0600); outputs are ordinary
    // files others may read (0644, less the umask on creation of others).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io(tmp.path(), e))?;
    }
    fill(tmp.as_file_mut())?;
    tmp.as_file_mut().flush().map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Writes bytes atomically.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}

/// What a file holds, measured as it was written: its sha256 (lowercase
/// hex) and its size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub sha256: String,
    pub bytes: u64,
}

/// A writer that hashes and counts exactly the bytes its inner writer
/// accepts (a short write hashes only what was written).
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Hashing<W> {
        Hashing {
            inner,
            hash: Sha256::new(),
            bytes: 0,
        }
    }

    fn written(self) -> Written {
        Written {
            sha256: format!("{:x}", self.hash.finalize()),
            bytes: self.bytes,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// [`atomic_write`], hashing the file on its way out: what a manifest
/// records of an output, without reading some 300 MB of queue files back
/// (that re-read was the last half second of a million-account run, on one
/// core).
pub fn atomic_write_hashed<F>(path: &Path, fill: F) -> Result<Written>
where
    F: FnOnce(&mut dyn Write) -> Result<()>,
{
    let mut written = None;
    atomic_write(path, |f| {
        let mut h = Hashing::new(f);
        fill(&mut h)?;
        written = Some(h.written());
        Ok(())
    })?;
    // `atomic_write` returns Ok only after calling `fill`, which set it.
    written.ok_or_else(|| Error::InvalidParam(format!("{}: not written", path.display())))
}

/// [`write_bytes`], returning what the file holds.
pub fn write_bytes_hashed(path: &Path, bytes: &[u8]) -> Result<Written> {
    atomic_write_hashed(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}

/// Writes a table atomically in `format`. Parquet is compressed with
/// Snappy, a fast codec every Parquet reader has (pyarrow, polars, Spark's
/// default), and has no statistics that depend on wall-clock time, so reruns
/// give identical bytes. (zstd, polars' default, made the file about a fifth
/// smaller at 1M rows and took most of the Parquet writing time.)
pub fn write_frame(path: &Path, df: &mut DataFrame, format: Format) -> Result<()> {
    atomic_write(path, |f| frame_into(f, path, df, format))
}

/// [`write_frame`], returning what the file holds.
pub fn write_frame_hashed(path: &Path, df: &mut DataFrame, format: Format) -> Result<Written> {
    atomic_write_hashed(path, |f| frame_into(f, path, df, format))
}

/// `df` in `format` into `f` (`path` names it in errors).
fn frame_into<W: Write>(f: W, path: &Path, df: &mut DataFrame, format: Format) -> Result<()> {
    let res = match format {
        Format::Parquet => ParquetWriter::new(f)
            .with_compression(ParquetCompression::Snappy)
            .finish(df)
            .map(|_| ()),
        Format::Csv => CsvWriter::new(f).include_header(true).finish(df),
        Format::Json => JsonWriter::new(f)
            .with_json_format(JsonFormat::Json)
            .finish(df),
    };
    res.map_err(|e| Error::polars(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.csv");
        write_bytes(&path, b"yesterday").unwrap();
        let err = atomic_write(&path, |f| {
            f.write_all(b"half a fi").unwrap();
            Err(Error::InvalidParam("killed".into()))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"yesterday");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary file must be cleaned up");
    }

    fn sha256_of(path: &Path) -> Written {
        let bytes = std::fs::read(path).unwrap();
        Written {
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            bytes: bytes.len() as u64,
        }
    }

    #[test]
    fn hashed_writes_measure_the_file_as_written() {
        let dir = tempfile::tempdir().unwrap();
        // Enough rows for the writers' several buffers and CSV's batches.
        let n = 300_000;
        let mut df = df!(
            "a" => (0..n).map(|i| format!("account {i}")).collect::<Vec<_>>(),
            "b" => (0..n).map(|i| i as f64 / 7.0).collect::<Vec<_>>()
        )
        .unwrap();
        for fmt in [Format::Parquet, Format::Csv, Format::Json] {
            let p = dir.path().join(format!("t.{}", fmt.extension()));
            let got = write_frame_hashed(&p, &mut df, fmt).unwrap();
            assert_eq!(got, sha256_of(&p), "{fmt:?}");
            assert!(got.bytes > 1_000_000, "{fmt:?}: {}", got.bytes);
        }
        let p = dir.path().join("page.html");
        let got = write_bytes_hashed(&p, b"<p>hi</p>").unwrap();
        assert_eq!(got, sha256_of(&p));
        assert_eq!(
            got.sha256,
            // From `printf '<p>hi</p>' | sha256sum`.
            "0a4735281db700223af63abc387c351f64ea6961a1ef955631df08d96169e772"
        );
    }

    #[test]
    fn a_hashed_write_that_fails_leaves_previous_file_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("queue.csv");
        write_bytes(&path, b"yesterday").unwrap();
        let err = atomic_write_hashed(&path, |f| {
            f.write_all(b"half a fi").unwrap();
            Err(Error::InvalidParam("killed".into()))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"yesterday");
    }

    #[test]
    fn frames_round_trip_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let mut df = df!("a" => ["x", "y"], "b" => [1.5f64, 2.0]).unwrap();
        for fmt in [Format::Parquet, Format::Csv, Format::Json] {
            let p = dir.path().join(format!("t.{}", fmt.extension()));
            write_frame(&p, &mut df, fmt).unwrap();
            assert!(std::fs::metadata(&p).unwrap().len() > 0);
        }
    }
}
