//! Diagnostics on stderr: a live status line on a terminal, plain
//! timestamped lines otherwise (schedulers, CI), JSON lines for log
//! collectors, nothing but warnings with `--quiet`. stdout is for data.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::dates::now_rfc3339;

/// How log lines look on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human lines (a live status line on a terminal).
    Text,
    /// One JSON object per line: {"ts", "program", "level", "msg"}.
    Json,
}

pub struct Log {
    program: &'static str,
    quiet: bool,
    tty: bool,
    format: LogFormat,
    start: Instant,
    step: usize,
}

impl Log {
    pub fn new(program: &'static str, quiet: bool) -> Log {
        Log::with_format(program, quiet, LogFormat::Text)
    }

    pub fn with_format(program: &'static str, quiet: bool, format: LogFormat) -> Log {
        let tty = format == LogFormat::Text && std::io::stderr().is_terminal();
        Log {
            program,
            quiet,
            tty,
            format,
            start: Instant::now(),
            step: 0,
        }
    }

    fn line(&self, level: &str, msg: &str) {
        let mut err = std::io::stderr().lock();
        let _ = match self.format {
            LogFormat::Json => writeln!(
                err,
                "{}",
                serde_json::json!({"ts": now_rfc3339(), "program": self.program, "level": level, "msg": msg})
            ),
            LogFormat::Text if level == "info" => {
                writeln!(err, "{} {}: {msg}", now_rfc3339(), self.program)
            }
            LogFormat::Text => writeln!(err, "{} {}: {level}: {msg}", now_rfc3339(), self.program),
        };
    }

    /// One progress step.
    pub fn step(&mut self, msg: &str) {
        if self.quiet {
            return;
        }
        self.step += 1;
        if self.tty {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2K[{:>6.1}s] step {}: {msg}",
                self.start.elapsed().as_secs_f64(),
                self.step
            );
            let _ = err.flush();
        } else {
            self.line("info", msg);
        }
    }

    /// Ends the status line (on a terminal) so later output starts clean.
    pub fn done(&mut self) {
        if !self.quiet && self.tty && self.step > 0 {
            let _ = writeln!(
                std::io::stderr(),
                "\r\x1b[2K[{:>6.1}s] done",
                self.start.elapsed().as_secs_f64()
            );
        }
    }

    /// The one summary line a scheduler keeps.
    pub fn summary(&self, msg: &str) {
        if !self.quiet {
            self.line("info", msg);
        }
    }

    /// A warning: always shown, even with --quiet.
    pub fn warn(&self, msg: &str) {
        if self.tty {
            let _ = writeln!(std::io::stderr(), "\r\x1b[2Kwarning: {msg}");
        } else {
            self.line("warning", msg);
        }
    }
}
