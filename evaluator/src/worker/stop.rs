//! A worker stopping with a job in hand gives it back rather than leaving it to its lease.

use std::time::Duration;

use jiebang_sandboxes::Sandbox;

use crate::worker::PlatformClient;

/// How a claimed job's work ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The work ran to its end (and reported its outcome).
    Finished,
    /// The worker was told to stop first: the work was dropped and the job handed back.
    HandedBack,
}

/// Runs `work` (the evaluation of job `job`, reported when it ends) unless `shutdown`
/// resolves first. Then the work is dropped where it stands, `clean_up` removes what it
/// left running, and the platform puts the job back in the queue — both together — so
/// another worker starts it at once rather than when the lease runs out.
pub async fn until_stopped(
    client: &PlatformClient,
    worker: &str,
    job: &str,
    work: impl Future<Output = ()>,
    clean_up: impl Future<Output = ()>,
    shutdown: impl Future<Output = ()>,
) -> Ended {
    tokio::select! {
        () = work => return Ended::Finished,
        () = shutdown => {}
    }
    let give_back = async {
        match tokio::time::timeout(Duration::from_secs(5), client.hand_back(worker, job)).await {
            Ok(Ok(true)) => tracing::info!(%job, "stopping: the job went back to the queue"),
            Ok(Ok(false)) => tracing::info!(%job, "stopping: the job was no longer ours"),
            Ok(Err(error)) => {
                tracing::warn!(%job, %error, "stopping: could not hand the job back; its lease will run out");
            }
            Err(_) => tracing::warn!(%job, "stopping: the platform did not answer the hand-back"),
        }
    };
    tokio::join!(clean_up, give_back);
    Ended::HandedBack
}

/// What a dropped evaluation may have left running: this worker's containers, removed now
/// rather than at the run's time limit. A container the evaluation was starting as it was
/// dropped may still be starting (its removal, by the sweep or by the evaluation's own
/// guard, then waits for the engine), so the sweep repeats until nothing of the worker's
/// is left, for at most [`CLEAN_UP_WITHIN`]. Only a worker with a label of its own sweeps
/// (the sweep would otherwise take every worker's objects on a shared engine); without one
/// the evaluation's guard removes what it created as it is dropped.
pub async fn clean_up(sandbox: &Sandbox) {
    if sandbox.config().worker_label.is_none() {
        return;
    }
    let deadline = tokio::time::Instant::now() + CLEAN_UP_WITHIN;
    while sandbox.sweep().await > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The longest [`clean_up`] keeps at it.
pub const CLEAN_UP_WITHIN: Duration = Duration::from_secs(5);
