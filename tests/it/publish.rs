//! Outputs switch together (README "Publishing"): runs killed at random
//! moments, two runs on one folder and the drift gate each leave the
//! output folder holding one whole set, as its manifest lists it.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::workdir::{demo_data, demo_model, exe, s, Workdir};

/// `ebbflow-score` on the demo into `out`, started and not waited for.
fn spawn(wd: &Workdir, out: &str, extra: &[&str]) -> Child {
    Command::new(exe("ebbflow-score"))
        .args([
            "--model",
            s(&demo_model()),
            "--data",
            s(&demo_data()),
            "--out",
            out,
            "--quiet",
            "--top",
            "0",
        ])
        .args(extra)
        .current_dir(wd.path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ebbflow-score starts")
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The set in `dir`, checked: the manifest is there, every file it lists
/// has its recorded size and sha256, and the folder holds nothing else.
/// `Ok(None)` when there is no folder (yet).
fn whole_set(dir: &Path) -> Result<Option<serde_json::Value>, String> {
    if !dir.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(dir.join("manifest.json")).map_err(|e| {
        format!(
            "{}: no manifest ({e}); holds {:?}",
            dir.display(),
            names(dir)
        )
    })?;
    let m: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| format!("manifest.json is not whole: {e}"))?;
    let mut listed = vec!["manifest.json".to_string()];
    for o in m["outputs"].as_array().ok_or("manifest without outputs")? {
        let file = o["file"].as_str().ok_or("output without a name")?;
        let data = std::fs::read(dir.join(file))
            .map_err(|e| format!("{file} is listed but cannot be read: {e}"))?;
        if data.len() as u64 != o["bytes"].as_u64().unwrap_or(u64::MAX) {
            return Err(format!(
                "{file}: {} bytes, the manifest says {}",
                data.len(),
                o["bytes"]
            ));
        }
        if format!("{:x}", Sha256::digest(&data)) != o["sha256"].as_str().unwrap_or("") {
            return Err(format!("{file}: sha256 differs from the manifest's"));
        }
        listed.push(file.to_string());
    }
    listed.sort();
    let present = names(dir);
    if present != listed {
        return Err(format!(
            "the folder holds {present:?}, the manifest lists {listed:?}"
        ));
    }
    Ok(Some(m))
}

/// Holds `out`'s lock as a run would, saying `holder` about itself.
fn hold_lock(wd: &Workdir, out: &str, holder: &str) -> File {
    let mut f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(wd.path(&format!(".{out}.ebbflow-lock")))
        .unwrap();
    f.lock().unwrap();
    writeln!(f, "{holder}").unwrap();
    f
}

/// splitmix64: seeded, so a failing kill schedule can be replayed.
fn next(state: &mut u64) -> f64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn runs_killed_at_random_moments_leave_the_previous_set_or_the_new_one_whole() {
    let wd = Workdir::new();
    // How long a whole run takes here (in another folder; the first run
    // warms the page cache), so the kills spread over one: reading,
    // scoring, writing and the switch.
    let mut took = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let warm = spawn(&wd, "warmup", &[]).wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&warm.stderr);
        assert!(warm.status.success(), "{err}");
        took.push(t.elapsed());
    }
    let mut full = (took[1] + took[2]) / 2;
    let out = wd.path("o");
    // Sets of different shapes, so a file of the previous set that the new
    // one lacks would show. `--lock-timeout 0`: a lock left by a killed run
    // would fail the next run at once (exit 6).
    let shapes: [&[&str]; 3] = [
        &["--format", "parquet,csv"],
        &["--format", "csv,json", "--no-report"],
        &["--format", "parquet,json,csv"],
    ];
    let mut rng = 0x00eb_bf10_u64;
    let (mut before, mut published, mut finished, mut staging) = (0, 0, 0, 0);
    let mut last: Option<Vec<u8>> = None;
    for i in 0..30 {
        let delay = full.mul_f64(1.2 * next(&mut rng));
        let mut args = shapes[i % 3].to_vec();
        args.extend(["--lock-timeout", "0"]);
        let mut child = spawn(&wd, "o", &args);
        // Kill at `delay`, unless the run ends first. The load on the
        // machine varies, so the estimate of a run's length follows what
        // runs take: a run that ended took that long, a killed one at least
        // its delay.
        let t = Instant::now();
        while t.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        let ended = child.try_wait().unwrap().is_some();
        if ended || delay > full {
            full = full.mul_f64(0.7) + t.elapsed().mul_f64(0.3);
        }
        let _ = child.kill();
        let done = child.wait_with_output().unwrap();
        if let Some(code) = done.status.code() {
            assert_eq!(
                code,
                0,
                "run {i}: {}",
                String::from_utf8_lossy(&done.stderr)
            );
            finished += 1;
        }
        staging += names(&wd.path(""))
            .iter()
            .any(|n| n.starts_with(".o.ebbflow-staging-")) as usize;
        let set =
            whole_set(&out).unwrap_or_else(|e| panic!("after run {i}, killed at {delay:?}: {e}"));
        let now = set.map(|_| std::fs::read(out.join("manifest.json")).unwrap());
        match (&last, &now) {
            (Some(_), None) => panic!("after run {i}: the previous set vanished"),
            (a, b) if a == b => before += 1,
            _ => published += 1,
        }
        last = now;
    }
    assert!(before > 0, "no kill landed before a switch");
    // The next run deletes what the killed ones left beside the folder.
    let done = spawn(&wd, "o", &["--lock-timeout", "0"])
        .wait_with_output()
        .unwrap();
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    whole_set(&out).unwrap().expect("a set");
    assert_eq!(
        names(&wd.path("")),
        [".o.ebbflow-lock", ".warmup.ebbflow-lock", "o", "warmup"]
    );
    eprintln!(
        "30 runs of about {full:?}: {before} killed before their switch \
         ({staging} of them while staging), {published} published ({finished} finished)"
    );
}

#[test]
fn a_run_on_a_locked_folder_waits_then_publishes_whole_after_the_holder() {
    let wd = Workdir::new();
    let lock = hold_lock(
        &wd,
        "o",
        "ebbflow-score, pid 4242, started 2026-01-01T00:00:00Z",
    );
    let mut child = spawn(&wd, "o", &["--lock-timeout", "60s"]);
    std::thread::sleep(Duration::from_millis(800));
    assert!(
        child.try_wait().unwrap().is_none(),
        "waits while the lock is held"
    );
    assert!(!wd.path("o").exists(), "and writes nothing meanwhile");
    drop(lock);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("o is being written by another run (ebbflow-score, pid 4242, started 2026-01-01T00:00:00Z); waiting up to 60s"),
        "{err}"
    );
    whole_set(&wd.path("o")).unwrap().expect("a set");

    // Two real runs at once: one waits for the other, both succeed, the
    // folder holds one whole set.
    let a = spawn(&wd, "o", &["--format", "csv", "--lock-timeout", "60s"]);
    let b = spawn(
        &wd,
        "o",
        &["--format", "parquet,json", "--lock-timeout", "60s"],
    );
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let waited = [&a, &b]
        .iter()
        .filter(|o| String::from_utf8_lossy(&o.stderr).contains("being written by another run"))
        .count();
    for o in [&a, &b] {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(waited, 1, "one run waits for the other");
    let m = whole_set(&wd.path("o")).unwrap().expect("a set");
    let files: Vec<&str> = m["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["file"].as_str().unwrap())
        .collect();
    assert!(
        files == ["queue.csv", "report.html"]
            || files == ["queue.parquet", "queue.json", "report.html"],
        "{files:?}"
    );
}

#[test]
fn a_run_that_cannot_get_the_lock_in_time_exits_6_naming_folder_and_holder() {
    let wd = Workdir::new();
    let holder = "ebbflow-score, pid 4242, started 2026-01-01T00:00:00Z";
    let _lock = hold_lock(&wd, "o", holder);
    let out = spawn(&wd, "o", &["--lock-timeout", "300ms"])
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains(&format!(
            "error: o: another run is writing this folder ({holder}); gave up after waiting 300ms (--lock-timeout)"
        )),
        "{err}"
    );
    assert!(!wd.path("o").exists());
    // Training waits for its bundle folder the same way, before it trains.
    let _lock = hold_lock(&wd, "m", holder);
    let out = wd.run(
        "ebbflow-train",
        &[
            "--data",
            s(&demo_data()),
            "--out",
            "m",
            "--lock-timeout",
            "0",
            "--quiet",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("m: another run is writing this folder"),
        "{err}"
    );
}

#[test]
fn a_folder_holding_other_files_is_refused_not_emptied() {
    let wd = Workdir::new();
    std::fs::create_dir_all(wd.path("o")).unwrap();
    std::fs::write(wd.path("o/notes.txt"), "mine").unwrap();
    let out = spawn(&wd, "o", &[]).wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("o holds notes.txt, which ebbflow does not write there"),
        "{err}"
    );
    assert_eq!(names(&wd.path("o")), ["notes.txt"]);
    // A bundle folder likewise, before training.
    let m = wd.copy_dir(&demo_model(), "m");
    std::fs::write(m.join("notes.txt"), "mine").unwrap();
    let out = wd.run(
        "ebbflow-train",
        &["--data", s(&demo_data()), "--out", "m", "--quiet"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_drift_gate_keeps_the_previous_set_whole_under_a_manifest_saying_why() {
    let wd = Workdir::new();
    let dir = wd.path("o");
    let run = |extra: &[&str]| spawn(&wd, "o", extra).wait_with_output().unwrap();
    assert!(run(&["--format", "parquet,csv,json"]).status.success());
    let first = whole_set(&dir).unwrap().unwrap();
    // The demo's recency_days drifts by 0.43 (year-end quiet): a gate at
    // 0.3 fires. This run asks for another shape: it must not matter.
    let out = run(&["--format", "csv", "--no-report", "--fail-on-drift", "0.3"]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gated = whole_set(&dir).unwrap().unwrap();
    assert_eq!(gated["status"], "drift_gate");
    assert_eq!(gated["gate"], "feature recency_days has PSI 0.433 > 0.3");
    assert_eq!(
        gated["outputs"], first["outputs"],
        "the same files, unchanged"
    );
    let from = &gated["outputs_from"];
    assert_eq!(from["generated_at"], first["generated_at"]);
    assert_eq!(from["as_of"], first["as_of"]);
    assert_eq!(from["bundle_id"], first["bundle_id"]);
    // Gated again: the files still come from the first run.
    assert_eq!(run(&["--fail-on-drift", "0.3"]).status.code(), Some(5));
    let again = whole_set(&dir).unwrap().unwrap();
    assert_eq!(again["outputs"], first["outputs"]);
    assert_eq!(again["outputs_from"], gated["outputs_from"]);
    // Past the gate, the new set replaces the old one, files it lacks included.
    assert!(run(&["--format", "csv", "--no-report"]).status.success());
    let next = whole_set(&dir).unwrap().unwrap();
    assert_eq!(next["status"], "ok");
    assert!(next.get("outputs_from").is_none() && next.get("gate").is_none());
    assert_eq!(names(&dir), ["manifest.json", "queue.csv"]);
}
