//! Stopping quickly: SIGTERM or SIGINT ends long-poll claims at once, lets the embedded
//! worker hand its job back, then stops the HTTP server.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::worker::WorkerThread;

/// The longest the embedded worker gets to hand its job back (stop the job's containers,
/// release the lease) before the HTTP server stops regardless; the lease then runs out.
pub const HAND_BACK_WITHIN: Duration = Duration::from_millis(1500);

/// Set once the platform starts stopping; long-poll claims answer at once when it is.
#[derive(Clone, Debug, Default)]
pub struct Stopping(CancellationToken);

impl Stopping {
    pub fn begin(&self) {
        self.0.cancel();
    }

    pub fn is_stopping(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Resolves when the platform starts stopping.
    pub async fn wait(&self) {
        self.0.cancelled().await;
    }

    /// The same, owning what it waits on, for a task or thread of its own.
    pub fn waiter(&self) -> impl Future<Output = ()> + Send + 'static {
        self.0.clone().cancelled_owned()
    }
}

/// Stops the platform in order: long-poll claims answer at once and the embedded worker
/// (if any) stops, handing back the job it holds, within [`HAND_BACK_WITHIN`]; then the
/// HTTP server stops, waiting at most its shutdown time-out for requests in flight.
pub async fn stop_in_order(
    stopping: &Stopping,
    worker: Option<WorkerThread>,
    server: actix_web::dev::ServerHandle,
) {
    tracing::info!("stopping");
    stopping.begin();
    if let Some(worker) = worker
        && !worker.stopped_within(HAND_BACK_WITHIN).await
    {
        tracing::warn!("the embedded worker did not stop in time; its job's lease will run out");
    }
    server.stop(true).await;
}

/// Resolves at the first SIGTERM (what service managers and container engines send) or
/// SIGINT (Ctrl-C).
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = terminate.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
                return;
            }
            Err(error) => tracing::warn!(%error, "cannot listen for SIGTERM; only Ctrl-C stops"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
