//! A directory per test and a way to run the real binaries in it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Workdir {
    dir: tempfile::TempDir,
}

/// The repository root (where `datasets/` and `models/` are).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn demo_data() -> PathBuf {
    root().join("datasets/demo")
}

pub fn demo_model() -> PathBuf {
    root().join("models/demo")
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Runs a binary with `args` in this directory.
    pub fn run(&self, bin: &str, args: &[&str]) -> Output {
        self.run_env(bin, args, &[])
    }

    /// Runs a binary with `args` and extra environment variables.
    pub fn run_env(&self, bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(exe(bin))
            .args(args)
            .envs(env.iter().copied())
            .current_dir(self.dir.path())
            .output()
            .expect("binary runs")
    }

    /// Runs and requires success, returning stdout.
    pub fn ok(&self, bin: &str, args: &[&str]) -> String {
        let out = self.run(bin, args);
        assert!(
            out.status.success(),
            "{bin} {args:?} failed with {:?}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Copies a directory's files (one level) into `rel`.
    pub fn copy_dir(&self, from: &Path, rel: &str) -> PathBuf {
        let to = self.path(rel);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.path().is_file() {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
        to
    }
}

/// The path of a built binary.
pub fn exe(bin: &str) -> &'static str {
    match bin {
        "ebbflow-train" => env!("CARGO_BIN_EXE_ebbflow-train"),
        "ebbflow-score" => env!("CARGO_BIN_EXE_ebbflow-score"),
        "ebbflow-synth" => env!("CARGO_BIN_EXE_ebbflow-synth"),
        other => panic!("unknown binary {other}"),
    }
}

pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
