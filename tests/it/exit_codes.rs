//! The exit-code contract (README "Exit codes"), one test per code, each
//! running the real binary the way a scheduler would.

use crate::workdir::{demo_data, demo_model, exe, s, Workdir};

/// `ebbflow-score` on `data` (the demo data when None) with the demo bundle.
fn score(wd: &Workdir, data: Option<&std::path::Path>, extra: &[&str]) -> std::process::Output {
    let (model, demo) = (demo_model(), demo_data());
    let mut args = vec![
        "--model",
        s(&model),
        "--data",
        s(data.unwrap_or(&demo)),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    wd.run("ebbflow-score", &args)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn exit_0_when_the_queue_is_written() {
    let wd = Workdir::new();
    let out = score(&wd, None, &["--out", "o", "--top", "3"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(wd.path("o/queue.parquet").is_file());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 4);
}

#[test]
fn exit_1_on_a_panic_asks_for_a_bug_report_with_the_version() {
    let wd = Workdir::new();
    for bin in ["ebbflow-score", "ebbflow-train"] {
        let out = wd.run_env(
            bin,
            &["--data", s(&demo_data())],
            &[("EBBFLOW_TEST_PANIC", "1")],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{bin}: {err}");
        assert!(
            err.contains(&format!("{bin}: internal error (a bug in ebbflow)"))
                && err.contains("Please report it")
                && err.contains(&format!("ebbflow {}", env!("CARGO_PKG_VERSION"))),
            "{bin}: {err}"
        );
        // Rust's own panic text and backtrace hint do not reach the user.
        assert!(!err.contains("RUST_BACKTRACE"), "{bin}: {err}");
    }
}

#[test]
fn exit_2_on_usage_errors() {
    let wd = Workdir::new();
    let out = score(&wd, None, &["--out", "o", "--threads", "0"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--threads must be > 0, got 0"));
    let out = score(&wd, None, &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!wd.path("o").exists());
}

#[test]
fn exit_3_on_bad_data_with_the_line_named() {
    let wd = Workdir::new();
    let dir = wd.copy_dir(&demo_data(), "bad");
    let p = dir.join("tickets.csv");
    let text = std::fs::read_to_string(&p).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let cut = &lines[41][..lines[41].rfind(',').unwrap()];
    lines[41] = cut;
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    let out = score(&wd, Some(&dir), &["--out", "o"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("tickets.csv: line 42 (account ")
            && err.contains("5 fields, but the header has 6"),
        "{err}"
    );
    assert!(!wd.path("o").exists(), "nothing written on bad input");
}

#[test]
fn exit_4_on_a_missing_or_damaged_bundle() {
    let wd = Workdir::new();
    std::fs::create_dir_all(wd.path("empty")).unwrap();
    let out = wd.run(
        "ebbflow-score",
        &[
            "--model",
            "empty",
            "--data",
            s(&demo_data()),
            "--out",
            "o",
            "--quiet",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
}

#[test]
fn exit_5_when_the_drift_gate_fires() {
    let wd = Workdir::new();
    let out = score(&wd, None, &["--out", "o", "--fail-on-drift", "0.000001"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    assert!(err.contains("drift gate"), "{err}");
    assert!(
        !wd.path("o/queue.parquet").exists(),
        "no queue past the gate"
    );
}

#[test]
fn exit_6_when_an_output_cannot_be_written() {
    let wd = Workdir::new();
    // The output directory cannot be created: a file is in the way.
    std::fs::write(wd.path("blocker"), "a file").unwrap();
    let out = score(&wd, None, &["--out", "blocker/out"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    assert!(stderr(&out).contains("blocker"), "{}", stderr(&out));

    // Polars' own write fails (the file-size limit stops the Parquet
    // writer; SIGXFSZ ignored so the write returns EFBIG): still an I/O
    // failure, not bad input.
    if !std::path::Path::new("/bin/sh").exists() {
        return;
    }
    let script = format!(
        "trap '' XFSZ; ulimit -f 8 && exec \"$0\" --model {} --data {} --out q --format parquet --quiet",
        s(&demo_model()),
        s(&demo_data())
    );
    let out = std::process::Command::new("/bin/sh")
        .args(["-c", &script, exe("ebbflow-score")])
        .current_dir(wd.path(""))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("queue.parquet"), "{err}");
}
