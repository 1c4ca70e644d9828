//! The CPU work of requests (rendering pages): a few threads of its own, one per core, at
//! background priority.
//!
//! Why not actix's request threads: a board page costs milliseconds of CPU, and each
//! request thread serves many connections in turn, so `/healthz` and workers' heartbeats
//! queued behind sixteen renders waited 100 ms. Why not tokio's blocking pool: it grows a
//! thread per waiting render, 32 clients made 32 runnable threads that outweighed the
//! request threads in the scheduler however nice they were, and each kept a malloc arena
//! (docs/benchmarks.md, third quiet run). Here at most one render per core runs; the rest
//! wait in arrival order without a thread.

use std::sync::OnceLock;

use crate::error::AppError;

/// Runs `work` on the CPU pool and waits for it without holding the calling thread.
pub async fn run<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    match pool() {
        Some(pool) => pool
            .spawn(async move { work() })
            .await
            .map_err(|e| AppError::Internal(format!("CPU work stopped: {e}"))),
        // No threads could be started: the work runs where it was asked for, as before.
        None => Ok(work()),
    }
}

/// The pool's runtime, started on first use and kept for the life of the process (a
/// runtime may not be dropped from inside another one, as a server's state would be).
fn pool() -> Option<&'static tokio::runtime::Runtime> {
    static POOL: OnceLock<Option<tokio::runtime::Runtime>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, usize::from);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("jiebang-cpu")
            .on_thread_start(crate::db::background_priority)
            .build()
            .inspect_err(|error| tracing::warn!(%error, "no CPU pool: rendering in place"))
            .ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Work runs on the pool's own threads, lowered in priority, and its result comes back.
    #[tokio::test]
    async fn work_runs_on_the_pool_at_background_priority() {
        let caller = rustix::process::getpriority_process(None).unwrap();
        let (name, nice) = run(|| {
            let name = std::thread::current().name().map(str::to_owned);
            (name, rustix::process::getpriority_process(None).unwrap())
        })
        .await
        .unwrap();
        assert_eq!(name.as_deref(), Some("jiebang-cpu"));
        assert!(nice > caller || nice == 19, "{nice} vs {caller}");
    }
}
