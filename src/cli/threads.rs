//! `--threads`: one number that sizes every pool a run uses (ours, polars',
//! the reader's helper threads), for `ebbflow-train`, `ebbflow-score` and
//! `merge` alike. It does not parse arguments (see `cli::score`,
//! `cli::train`).

use crate::error::{Error, Result};

/// Runs `body` with every pool sized to `threads` (default: one per core).
/// Outputs do not depend on it; tests compare bytes at 1 and 2 threads.
pub(crate) fn with_threads(
    threads: Option<usize>,
    body: impl FnOnce() -> Result<String> + Send,
) -> Result<String> {
    if let Some(n) = threads {
        if n == 0 {
            return Err(Error::InvalidParam("--threads must be > 0, got 0".into()));
        }
        // polars sizes its own pool from this variable when first used,
        // which is after this point (nothing before reads a table).
        std::env::set_var("POLARS_MAX_THREADS", n.to_string());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| Error::InvalidParam(format!("cannot start {n} threads: {e}")))?;
        return pool.install(body);
    }
    body()
}
