//! An output folder replaced as one set: lock it, stage the new set beside
//! it, switch the folder in one atomic step, clean up after crashed runs.
//! Knows file names, not what the files hold (see `scoring` and
//! `bundle_files` for the two sets ebbflow writes).
//!
//! # The switch
//!
//! A run writes every file of its set into a fresh staging folder beside the
//! target, `<parent>/.<name>.ebbflow-staging-<pid>`, each file synced to
//! disk. The staging folder then takes the target's place in **one
//! `renameat2(RENAME_EXCHANGE)`**, which swaps the two names atomically, and
//! the previous set (now under the staging name) is deleted. The target
//! stays an ordinary folder of ordinary files at the paths people open
//! (`out/queue.parquet`, `models/demo/bundle.json`).
//!
//! - **A reader during a switch.** Opening `out/queue.parquet` resolves the
//!   path once: it gets the previous set's file or the new one, each whole,
//!   never a mix of bytes, never a missing file. A file already open stays
//!   readable to its end after the switch (Unix keeps deleted files alive
//!   while open). Two files opened one after the other can straddle a
//!   switch; a reader that pairs them reads `manifest.json` and checks the
//!   sha256 it lists for each file (reading again on a mismatch).
//! - **A crashed run** (killed, out of disk, power loss) either never
//!   switched, so the folder holds the previous set, or switched, so it
//!   holds the new one. Its staging folder stays beside the target until
//!   the next run on the same folder, which deletes every
//!   `.<name>.ebbflow-staging-*` once it holds the lock (no live run can be
//!   using one then).
//! - **Filesystems without `RENAME_EXCHANGE`** (some network and FUSE
//!   filesystems; non-Linux systems) fall back to two renames: the previous
//!   set moves to `.<name>.ebbflow-old-<pid>`, the staging folder to the
//!   target. Between the two a reader finds no folder at all, never a mixed
//!   one; a run killed in between leaves the previous set under the `old`
//!   name, and the next run puts it back before anything else.
//!
//! # What it costs
//!
//! The parent folder must be writable (the lock file and the staging folder
//! live there, and the folder itself is renamed), and the target must hold
//! only files of its set: a run refuses a folder holding anything else
//! rather than dropping it with the previous set. A symlinked target is
//! resolved first, so the switch happens where the link points.

use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::publish::lock::{sibling, FolderLock, LockWait};

/// The file names a set may hold: a folder holding anything else is not
/// replaced (a run refuses it rather than deleting someone's files).
#[derive(Debug, Clone, Copy)]
pub struct Contents {
    /// What the set is, for messages: "scoring outputs", "a model bundle".
    pub what: &'static str,
    pub names: &'static [&'static str],
}

/// A locked output folder, ready to stage a set. Dropping it releases the lock.
#[derive(Debug)]
pub struct OutputFolder {
    /// Absolute, symlinks resolved: what is switched.
    target: PathBuf,
    /// As the user named it, for messages.
    shown: PathBuf,
    _lock: FolderLock,
}

impl OutputFolder {
    /// Locks `out` for this run (waiting up to `wait` for another run on it;
    /// `waiting` is told if it has to), deletes what crashed runs left
    /// beside it, and checks it holds only names of `contents`. Creates the
    /// parent folder if needed, never `out` itself (that is the switch's job).
    pub fn open(
        out: &Path,
        contents: Contents,
        wait: LockWait,
        holder: &str,
        waiting: &mut dyn FnMut(&str),
    ) -> Result<OutputFolder> {
        let target = resolve(out)?;
        let lock = FolderLock::acquire(&target, out, wait, holder, waiting)?;
        recover(&target)?;
        check_contents(&target, out, contents)?;
        Ok(OutputFolder {
            target,
            shown: out.to_path_buf(),
            _lock: lock,
        })
    }

    /// The folder as the user named it.
    pub fn shown(&self) -> &Path {
        &self.shown
    }

    /// `name` in the currently published set, if it is there.
    pub fn current(&self, name: &str) -> Option<PathBuf> {
        let p = self.target.join(name);
        p.is_file().then_some(p)
    }

    /// A fresh, empty staging folder for the next set.
    pub fn stage(&self) -> Result<Staging<'_>> {
        let dir = sibling(&self.target, &format!("staging-{}", std::process::id()));
        if std::fs::symlink_metadata(&dir).is_ok() {
            std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        }
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        // The new folder keeps the old one's permissions (a shared group's
        // folder stays readable to the group).
        if let Ok(meta) = std::fs::metadata(&self.target) {
            let _ = std::fs::set_permissions(&dir, meta.permissions());
        }
        Ok(Staging {
            folder: self,
            dir,
            published: false,
        })
    }
}

/// A set being written. Publish it with [`Staging::publish`]; dropped
/// unpublished (an error on the way), it is deleted and the folder keeps
/// its previous set.
#[derive(Debug)]
pub struct Staging<'a> {
    folder: &'a OutputFolder,
    dir: PathBuf,
    published: bool,
}

impl Staging<'_> {
    /// Runs `write` on the staging folder. An I/O or writer error names the
    /// file where it will be published (`out/queue.parquet`), not its
    /// staging path.
    pub fn write<T>(&self, write: impl FnOnce(&Path) -> Result<T>) -> Result<T> {
        write(&self.dir).map_err(|e| self.retarget(e))
    }

    /// Carries `name` from the current set into this one unchanged (a hard
    /// link; a copy where links are not possible). `Ok(false)` when the
    /// current set has no such file.
    pub fn keep(&self, name: &str) -> Result<bool> {
        let Some(from) = self.folder.current(name) else {
            return Ok(false);
        };
        let to = self.dir.join(name);
        if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(|e| Error::io(&from, e))?;
        }
        Ok(true)
    }

    /// Switches the folder to this set in one atomic step and deletes the
    /// previous set.
    pub fn publish(self) -> Result<()> {
        self.switch(true)
    }

    fn switch(mut self, try_exchange: bool) -> Result<()> {
        let target = self.folder.target.clone();
        sync_dir(&self.dir);
        let previous = if std::fs::symlink_metadata(&target).is_err() {
            std::fs::rename(&self.dir, &target).map_err(|e| Error::io(&target, e))?;
            None
        } else if try_exchange && exchange(&self.dir, &target).map_err(|e| Error::io(&target, e))? {
            // The previous set is now under the staging name.
            Some(self.dir.clone())
        } else {
            let old = sibling(&target, &format!("old-{}", std::process::id()));
            std::fs::rename(&target, &old).map_err(|e| Error::io(&target, e))?;
            if let Err(e) = std::fs::rename(&self.dir, &target) {
                // Put the previous set back; the next run would otherwise.
                let _ = std::fs::rename(&old, &target);
                return Err(Error::io(&target, e));
            }
            Some(old)
        };
        self.published = true;
        if let Some(parent) = target.parent() {
            sync_dir(parent);
        }
        if let Some(old) = previous {
            // Left behind (e.g. a file in it cannot be deleted)? The next
            // run on this folder deletes it.
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    }

    fn retarget(&self, err: Error) -> Error {
        let swap = |path: PathBuf| match path.strip_prefix(&self.dir) {
            Ok(rel) => self.folder.shown.join(rel),
            Err(_) => path,
        };
        match err {
            Error::Io { path, source } => Error::Io {
                path: swap(path),
                source,
            },
            Error::Polars { path, source } => Error::Polars {
                path: swap(path),
                source,
            },
            other => other,
        }
    }
}

impl Drop for Staging<'_> {
    fn drop(&mut self) {
        if !self.published {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The absolute folder to switch: `out` itself when it exists (through a
/// symlink, its target), else its parent (created) joined with its name.
fn resolve(out: &Path) -> Result<PathBuf> {
    let named = |p: &Path| -> Result<()> {
        match p.file_name() {
            Some(_) => Ok(()),
            None => Err(Error::InvalidParam(format!(
                "the output folder {} must have a name of its own (a run replaces it as a whole)",
                out.display()
            ))),
        }
    };
    if out.exists() {
        let abs = std::fs::canonicalize(out).map_err(|e| Error::io(out, e))?;
        named(&abs)?;
        return Ok(abs);
    }
    if std::fs::symlink_metadata(out).is_ok() {
        return Err(Error::io(
            out,
            io::Error::new(io::ErrorKind::NotFound, "is a symlink to nothing"),
        ));
    }
    named(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    let parent = std::fs::canonicalize(parent).map_err(|e| Error::io(parent, e))?;
    Ok(parent.join(out.file_name().expect("checked above")))
}

/// Deletes what crashed runs left beside `target`: staging folders, and a
/// previous set moved aside by the two-rename fallback, which goes back in
/// place first if the target is missing. Only called under the lock.
fn recover(target: &Path) -> Result<()> {
    let parent = target.parent().expect("resolved targets have a parent");
    let name = target.file_name().expect("resolved targets have a name");
    let prefix = format!(".{}.ebbflow-", name.to_string_lossy());
    let mut staging = Vec::new();
    let mut moved = Vec::new();
    for entry in std::fs::read_dir(parent).map_err(|e| Error::io(parent, e))? {
        let entry = entry.map_err(|e| Error::io(parent, e))?;
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file.strip_prefix(&prefix) else {
            continue;
        };
        if rest.starts_with("staging-") {
            staging.push(entry.path());
        } else if rest.starts_with("old-") {
            let when = entry.metadata().and_then(|m| m.modified()).ok();
            moved.push((when, entry.path()));
        }
    }
    moved.sort();
    if std::fs::symlink_metadata(target).is_err() {
        if let Some((_, newest)) = moved.pop() {
            std::fs::rename(&newest, target).map_err(|e| Error::io(target, e))?;
        }
    }
    for dir in staging.into_iter().chain(moved.into_iter().map(|(_, p)| p)) {
        std::fs::remove_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    }
    Ok(())
}

/// Refuses a target that is not a folder, or holds names outside `contents`
/// (someone's files would go with the previous set). Temporary files of
/// older ebbflow versions (`.ebbflow-*.tmp`) are ours and go.
fn check_contents(target: &Path, shown: &Path, contents: Contents) -> Result<()> {
    let meta = match std::fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        return Err(Error::io(
            shown,
            io::Error::new(io::ErrorKind::NotADirectory, "is a file, not a folder"),
        ));
    }
    let mut foreign: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(target).map_err(|e| Error::io(shown, e))? {
        let entry = entry.map_err(|e| Error::io(shown, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let ours =
            contents.names.contains(&name.as_str()) && entry.file_type().is_ok_and(|t| t.is_file());
        let old_tmp = name.starts_with(".ebbflow-") && name.ends_with(".tmp");
        if !ours && !old_tmp {
            foreign.push(name);
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let n = foreign.len();
    let mut list = foreign.into_iter().take(5).collect::<Vec<_>>().join(", ");
    if n > 5 {
        list.push_str(&format!(" and {} more", n - 5));
    }
    Err(Error::InvalidParam(format!(
        "{} holds {list}, which ebbflow does not write there: a run replaces the whole folder \
         with its {}, so give --out a folder of its own (or move those out)",
        shown.display(),
        contents.what
    )))
}

/// Swaps two paths atomically. `Ok(false)` where the system or filesystem
/// cannot (the caller falls back to two renames).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn exchange(a: &Path, b: &Path) -> io::Result<bool> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE) {
        Ok(()) => Ok(true),
        Err(e) if e == Errno::INVAL || e == Errno::NOSYS || e == Errno::OPNOTSUPP => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn exchange(_a: &Path, _b: &Path) -> io::Result<bool> {
    Ok(false)
}

/// Flushes a folder's entries to disk, so a switch survives a power loss.
/// Best effort: some filesystems refuse to sync a folder.
fn sync_dir(dir: &Path) {
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const SET: Contents = Contents {
        what: "test set",
        names: &["a.txt", "b.txt", "c.txt"],
    };

    fn open(out: &Path) -> Result<OutputFolder> {
        OutputFolder::open(out, SET, LockWait(Duration::ZERO), "test", &mut |_| {})
    }

    fn write(stage: &Staging<'_>, name: &str, text: &str) {
        stage
            .write(|dir| crate::io::write::write_bytes(&dir.join(name), text.as_bytes()))
            .unwrap();
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_published_set_replaces_the_previous_one_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        // The exchange, then the two-rename fallback, on the same folder.
        for (switch_by_exchange, sets) in [
            (true, [["a.txt", "b.txt"], ["b.txt", "c.txt"]]),
            (false, [["a.txt", "c.txt"], ["b.txt", "a.txt"]]),
        ] {
            for set in sets {
                let folder = open(&out).unwrap();
                let stage = folder.stage().unwrap();
                for n in set {
                    write(&stage, n, &format!("{n} of {set:?}"));
                }
                stage.switch(switch_by_exchange).unwrap();
                let mut want: Vec<String> = set.iter().map(|s| s.to_string()).collect();
                want.sort();
                assert_eq!(names(&out), want, "exchange: {switch_by_exchange}");
                for n in set {
                    assert_eq!(
                        std::fs::read_to_string(out.join(n)).unwrap(),
                        format!("{n} of {set:?}")
                    );
                }
                drop(folder);
                // Beside the folder: only its lock file.
                assert_eq!(names(tmp.path()), [".out.ebbflow-lock", "out"]);
            }
        }
    }

    #[test]
    fn a_set_dropped_before_publishing_leaves_the_previous_one_and_no_staging() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let folder = open(&out).unwrap();
        let stage = folder.stage().unwrap();
        write(&stage, "a.txt", "yesterday");
        stage.publish().unwrap();
        let stage = folder.stage().unwrap();
        write(&stage, "a.txt", "today, half done");
        drop(stage);
        assert_eq!(
            std::fs::read_to_string(out.join("a.txt")).unwrap(),
            "yesterday"
        );
        assert_eq!(names(tmp.path()), [".out.ebbflow-lock", "out"]);
    }

    #[test]
    fn the_next_run_deletes_what_a_killed_run_left_and_restores_a_set_moved_aside() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        // A run killed before its switch, another killed after the switch
        // (the previous set under its staging name).
        for pid in ["111", "222"] {
            let d = tmp.path().join(format!(".out.ebbflow-staging-{pid}"));
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("a.txt"), "partial").unwrap();
        }
        // A run killed between the fallback's two renames: no folder, the
        // previous set moved aside.
        let old = tmp.path().join(".out.ebbflow-old-333");
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("a.txt"), "yesterday").unwrap();
        let _folder = open(&out).unwrap();
        assert_eq!(names(tmp.path()), [".out.ebbflow-lock", "out"]);
        assert_eq!(
            std::fs::read_to_string(out.join("a.txt")).unwrap(),
            "yesterday"
        );
    }

    #[test]
    fn kept_files_are_carried_unchanged_into_the_next_set() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let folder = open(&out).unwrap();
        let stage = folder.stage().unwrap();
        write(&stage, "a.txt", "yesterday's a");
        write(&stage, "b.txt", "yesterday's b");
        stage.publish().unwrap();
        let stage = folder.stage().unwrap();
        assert!(stage.keep("a.txt").unwrap());
        assert!(!stage.keep("c.txt").unwrap(), "nothing to keep");
        write(&stage, "b.txt", "today's b");
        stage.publish().unwrap();
        assert_eq!(names(&out), ["a.txt", "b.txt"]);
        assert_eq!(
            std::fs::read_to_string(out.join("a.txt")).unwrap(),
            "yesterday's a"
        );
        assert_eq!(
            std::fs::read_to_string(out.join("b.txt")).unwrap(),
            "today's b"
        );
    }

    #[test]
    fn refuses_a_folder_holding_files_of_someone_else() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        std::fs::create_dir_all(out.join("notes")).unwrap();
        std::fs::write(out.join("a.txt"), "ours").unwrap();
        std::fs::write(out.join("todo.md"), "theirs").unwrap();
        std::fs::write(out.join(".ebbflow-x1.tmp"), "an older version's leftover").unwrap();
        let err = open(&out).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::InvalidParam(_)), "{msg}");
        assert!(
            msg.contains("holds notes, todo.md, which ebbflow does not write"),
            "{msg}"
        );
        // A file where the folder should be is an I/O failure naming it.
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = open(&file).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }

    #[test]
    fn write_errors_name_the_published_path_not_the_staging_one() {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let folder =
            OutputFolder::open(&out, SET, LockWait(Duration::ZERO), "test", &mut |_| {}).unwrap();
        let stage = folder.stage().unwrap();
        let err = stage
            .write::<()>(|dir| {
                let p = dir.join("a.txt");
                Err(Error::io(&p, io::Error::other("disk full")))
            })
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{}: disk full", out.join("a.txt").display())
        );
    }
}
