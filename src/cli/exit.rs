//! The binaries' last step: runs a binary's body, prints its stdout text,
//! maps an error to its documented exit code, and turns a panic (a bug)
//! into exit code 1 with a request for a bug report naming the version.
//! Decides no exit code of its own beyond that: [`Error::exit_code`] does.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::Mutex;

use crate::error::{Error, ExitCode as Code, Result};

/// **Test-only.** When this environment variable is `1`, a binary panics on
/// purpose before reading anything, so the tests can check what a bug
/// looks like to a scheduler (exit code 1 and the bug-report message).
/// Never set it in production.
pub const TEST_PANIC_VAR: &str = "EBBFLOW_TEST_PANIC";

/// Where the last panic happened (`file:line:col`) and its message; the
/// panic hook fills it instead of printing Rust's own panic text.
static LAST_PANIC: Mutex<Option<(String, String)>> = Mutex::new(None);

/// Runs `body` as binary `bin`: its `Ok` text goes to stdout (a closed pipe,
/// as in `| head`, is not an error), an `Err` is printed and mapped to its
/// exit code, a panic exits 1 asking for a bug report.
pub fn run(bin: &str, body: impl FnOnce() -> Result<String>) -> ExitCode {
    crate::alloc::configure();
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        if let Ok(mut last) = LAST_PANIC.lock() {
            *last = Some((panic_text(info.payload()), location));
        }
    }));
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if std::env::var_os(TEST_PANIC_VAR).is_some_and(|v| v == "1") {
            panic!("{TEST_PANIC_VAR}=1 is set (a test-only trigger)");
        }
        body()
    }));
    match outcome {
        Ok(Ok(stdout)) => match std::io::stdout().lock().write_all(stdout.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(e) => fail(bin, &Error::io("<stdout>", e)),
        },
        Ok(Err(err)) => fail(bin, &err),
        Err(payload) => {
            let what = panic_text(payload.as_ref());
            let at = LAST_PANIC
                .lock()
                .ok()
                .and_then(|last| last.clone())
                .filter(|(m, _)| *m == what)
                .map(|(_, at)| format!(" at {at}"))
                .unwrap_or_default();
            eprintln!(
                "{bin}: internal error (a bug in ebbflow): {what}{at}\n\
                 Please report it to the ebbflow maintainers with this message, the command \
                 you ran and the version: ebbflow {}.",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::from(Code::Internal as u8)
        }
    }
}

fn fail(bin: &str, err: &Error) -> ExitCode {
    eprintln!("{bin}: error: {err}");
    ExitCode::from(err.exit_code() as u8)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}
