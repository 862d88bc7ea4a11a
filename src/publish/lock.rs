//! The folder lock: one run at a time per output folder. Owns the lock file
//! beside the folder, the bounded wait and the holder's description; knows
//! nothing of what a run writes (see `folder`).
//!
//! The lock is an OS file lock (`flock` on Unix, through `File::try_lock`)
//! on `<parent>/.<name>.ebbflow-lock`. The operating system drops it when
//! its holder exits for any reason, SIGKILL and power loss included, so a
//! killed run never leaves a lock that blocks the next one. The file itself
//! stays (deleting a lock file while others may open it is a race) and
//! holds a line about its last holder, which a waiting run quotes when it
//! gives up.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(50);

/// How long a run waits for another run writing the same folder: a checked
/// duration, parsed from `60s`, `5m`, `500ms`, `1h` or plain seconds (`90`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWait(pub Duration);

impl LockWait {
    /// The default, long enough for another run on the same folder to end
    /// (the demo takes about a second, 50,000 accounts well under a minute).
    pub const DEFAULT: &'static str = "5m";

    /// Parses `60s`, `5m`, `500ms`, `1h` or a number of seconds; `0` does not wait.
    pub fn parse(s: &str) -> std::result::Result<LockWait, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("expected a duration such as 60s, 5m or 500ms, got {s:?}"))?;
        let secs = match unit.trim() {
            "" | "s" => n,
            "ms" => n / 1000.0,
            "m" | "min" => n * 60.0,
            "h" => n * 3600.0,
            other => {
                return Err(format!(
                    "unknown unit {other:?} in {s:?}: use ms, s, m or h (60s, 5m)"
                ))
            }
        };
        if !secs.is_finite() || secs > 7.0 * 86_400.0 {
            return Err(format!("{s:?} is longer than a week"));
        }
        Ok(LockWait(Duration::from_secs_f64(secs)))
    }
}

impl std::fmt::Display for LockWait {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = self.0.as_millis();
        if ms % 1000 != 0 {
            write!(f, "{ms}ms")
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

/// The lock file guarding `target` (an absolute folder path with a name).
pub fn lock_path(target: &Path) -> PathBuf {
    sibling(target, "lock")
}

/// `<parent>/.<name>.ebbflow-<what>`: where the machinery of a folder's
/// switch lives, beside it, since the folder itself is what gets replaced.
pub(crate) fn sibling(target: &Path, what: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.ebbflow-{what}"))
}

/// A held lock on an output folder; dropping it releases the lock.
#[derive(Debug)]
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the lock on `target`, waiting up to `wait` while another run
    /// holds it. `holder` describes this run (written into the lock file for
    /// the next waiter to quote); `waiting` is told once, with the other
    /// holder's description, if this run has to wait. `shown` is the folder
    /// as the user named it, for messages.
    pub fn acquire(
        target: &Path,
        shown: &Path,
        wait: LockWait,
        holder: &str,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<FolderLock> {
        let path = lock_path(target);
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| {
                let hint = format!(
                    "cannot open the lock file beside the output folder ({e}); a run replaces \
                     the folder as a whole, so its parent must be writable"
                );
                Error::io(&path, std::io::Error::new(e.kind(), hint))
            })?;
        let start = Instant::now();
        let mut told = false;
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait.0 {
                        return Err(Error::Locked {
                            folder: shown.to_path_buf(),
                            holder: read_holder(&mut file),
                            waited: wait.to_string(),
                        });
                    }
                    if !told {
                        told = true;
                        let who = read_holder(&mut file)
                            .unwrap_or_else(|| "a run that has not said who it is".into());
                        waiting(&format!(
                            "{} is being written by another run ({who}); waiting up to {wait}",
                            shown.display()
                        ));
                    }
                    std::thread::sleep(POLL.min(wait.0.saturating_sub(start.elapsed())));
                }
                Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
            }
        }
        // Ours now: say who holds it. A failure here does not matter to the
        // lock itself, only to the message a waiter would print.
        let _ = file
            .set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{holder}"))
            .and_then(|_| file.flush());
        Ok(FolderLock { _file: file })
    }
}

/// The description the current holder wrote, if any.
fn read_holder(file: &mut File) -> Option<String> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(1024).read_to_string(&mut text).ok()?;
    let line = text.lines().next()?.trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// How this process describes itself as a holder: program, pid, start time.
pub fn describe_holder(program: &str) -> String {
    format!(
        "{program}, pid {}, started {}",
        std::process::id(),
        crate::dates::now_rfc3339()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wait_durations_in_the_units_people_write() {
        let secs = |s: &str| LockWait::parse(s).unwrap().0.as_secs_f64();
        assert_eq!(secs("60s"), 60.0);
        assert_eq!(secs("5m"), 300.0);
        assert_eq!(secs("500ms"), 0.5);
        assert_eq!(secs("90"), 90.0);
        assert_eq!(secs("1.5s"), 1.5);
        assert_eq!(secs("0"), 0.0);
        assert!(LockWait::parse("5 parsecs")
            .unwrap_err()
            .contains("unknown unit"));
        assert!(LockWait::parse("soon").is_err());
        assert!(LockWait::parse("30d").is_err());
        assert_eq!(LockWait::parse("500ms").unwrap().to_string(), "500ms");
        assert_eq!(LockWait::parse("5m").unwrap().to_string(), "300s");
    }

    #[test]
    fn a_second_run_times_out_naming_the_holder_and_gets_the_lock_once_it_is_free() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out");
        let first = FolderLock::acquire(
            &target,
            Path::new("out"),
            LockWait(Duration::ZERO),
            "ebbflow-score, pid 4242, started 2026-01-01T00:00:00Z",
            &mut |_| panic!("the first run does not wait"),
        )
        .unwrap();
        let mut said = Vec::new();
        let err = FolderLock::acquire(
            &target,
            Path::new("out"),
            LockWait(Duration::from_millis(120)),
            "second",
            &mut |m| said.push(m.to_string()),
        )
        .unwrap_err();
        assert!(
            matches!(&err, Error::Locked { holder: Some(h), .. } if h.contains("pid 4242")),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::error::ExitCode::Io);
        assert_eq!(said.len(), 1, "told once that it waits: {said:?}");
        drop(first);
        FolderLock::acquire(
            &target,
            Path::new("out"),
            LockWait(Duration::ZERO),
            "third",
            &mut |_| panic!("a released lock is free at once"),
        )
        .unwrap();
    }
}
