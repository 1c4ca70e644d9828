//! Watching a running container: its logs (capped) and its resource use.

use std::sync::{Arc, Mutex};

use bollard::Docker;
use bollard::query_parameters::{AttachContainerOptionsBuilder, StatsOptionsBuilder};
use futures_util::StreamExt;

/// The marker put where logs were cut.
pub const CUT_MARKER: &str = "\n[jiebang: log cut here; the limit was reached]\n";

/// The marker put where reading the logs stopped before their end.
pub const BROKEN_MARKER: &str = "\n[jiebang: log incomplete; reading it stopped here]\n";

#[derive(Debug, Default, Clone)]
pub struct Logs {
    pub text: Vec<u8>,
    /// Bytes the container wrote, kept or not.
    pub total_bytes: u64,
    /// Some of them are not in `text`: cut at the cap, or the stream broke off.
    pub truncated: bool,
}

/// Attaches to the container's output before it starts and keeps at most `cap` bytes,
/// reading (and counting) the rest to the end so the container is never held up by a full
/// pipe. Its stdout and stderr come straight from the container, not from the engine's log
/// file: nothing is lost to that file's rotation, and a last line without a newline arrives
/// with the end of the stream (a follow of the file drops it on Docker 20.10).
pub async fn attach_logs(
    docker: &Docker,
    container: &str,
    cap: usize,
) -> Result<(Arc<Mutex<Logs>>, tokio::task::JoinHandle<()>), bollard::errors::Error> {
    let options = AttachContainerOptionsBuilder::default()
        .stream(true)
        .stdout(true)
        .stderr(true)
        .logs(false)
        .build();
    let attached = docker.attach_container(container, Some(options)).await?;
    let mut stream = attached.output;
    let logs = Arc::new(Mutex::new(Logs::default()));
    let shared = Arc::clone(&logs);
    let task = tokio::spawn(async move {
        // Held so the engine keeps the attachment whole; nothing is ever written to it.
        let _input = attached.input;
        while let Some(item) = stream.next().await {
            let Ok(mut logs) = shared.lock() else {
                return;
            };
            let Ok(output) = item else {
                // The stream broke off: what came after is unknown.
                logs.mark_incomplete();
                return;
            };
            let bytes = output.into_bytes();
            logs.total_bytes += bytes.len() as u64;
            if logs.truncated {
                continue;
            }
            let room = cap.saturating_sub(logs.text.len());
            if bytes.len() > room {
                logs.text.extend_from_slice(&bytes[..room]);
                logs.text.extend_from_slice(CUT_MARKER.as_bytes());
                logs.truncated = true;
            } else {
                logs.text.extend_from_slice(&bytes);
            }
        }
    });
    Ok((logs, task))
}

impl Logs {
    /// Marks logs whose reading stopped before their end (once; a cut is marked already).
    pub fn mark_incomplete(&mut self) {
        if !self.truncated {
            self.text.extend_from_slice(BROKEN_MARKER.as_bytes());
            self.truncated = true;
        }
    }
}

/// Peak memory and CPU time, sampled from the engine's stats while the container runs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Usage {
    pub peak_memory_bytes: u64,
    pub cpu_nanoseconds: u64,
    /// CFS periods in which the container was throttled, and for how long: a throttled
    /// server shows it in its tail latency.
    pub throttled_periods: u64,
    pub throttled_nanoseconds: u64,
}

pub fn watch_usage(
    docker: Docker,
    container: String,
) -> (Arc<Mutex<Usage>>, tokio::task::JoinHandle<()>) {
    let usage = Arc::new(Mutex::new(Usage::default()));
    let shared = Arc::clone(&usage);
    let task = tokio::spawn(async move {
        let options = StatsOptionsBuilder::default().stream(true).build();
        let mut stream = docker.stats(&container, Some(options));
        while let Some(Ok(stats)) = stream.next().await {
            let memory = stats
                .memory_stats
                .as_ref()
                .map_or(0, |m| m.max_usage.or(m.usage).unwrap_or(0));
            let cpu = stats
                .cpu_stats
                .as_ref()
                .and_then(|c| c.cpu_usage.as_ref())
                .and_then(|u| u.total_usage)
                .unwrap_or(0);
            let throttling = stats
                .cpu_stats
                .as_ref()
                .and_then(|c| c.throttling_data.as_ref());
            if let Ok(mut usage) = shared.lock() {
                usage.peak_memory_bytes = usage.peak_memory_bytes.max(memory);
                usage.cpu_nanoseconds = usage.cpu_nanoseconds.max(cpu);
                if let Some(throttling) = throttling {
                    usage.throttled_periods = usage
                        .throttled_periods
                        .max(throttling.throttled_periods.unwrap_or(0));
                    usage.throttled_nanoseconds = usage
                        .throttled_nanoseconds
                        .max(throttling.throttled_time.unwrap_or(0));
                }
            }
        }
    });
    (usage, task)
}
