//! Watching a running container: its logs (capped) and its resource use.

use std::sync::{Arc, Mutex};

use bollard::Docker;
use bollard::query_parameters::{LogsOptionsBuilder, StatsOptionsBuilder};
use futures_util::StreamExt;

/// The marker put where logs were cut.
pub const CUT_MARKER: &str = "\n[jiebang: log cut here; the limit was reached]\n";

#[derive(Debug, Default, Clone)]
pub struct Logs {
    pub text: Vec<u8>,
    /// Bytes the container wrote, kept or not (up to where reading stopped).
    pub total_bytes: u64,
    pub truncated: bool,
}

/// Follows the container's output, keeping at most `cap` bytes. Reading stops at the cap:
/// the engine's own log file is size-capped too, so a flood fills no disk.
pub fn follow_logs(docker: Docker, container: String, cap: usize) -> tokio::task::JoinHandle<Logs> {
    tokio::spawn(async move {
        let options = LogsOptionsBuilder::default()
            .follow(true)
            .stdout(true)
            .stderr(true)
            .build();
        let mut stream = docker.logs(&container, Some(options));
        let mut logs = Logs::default();
        while let Some(Ok(output)) = stream.next().await {
            let bytes = output.into_bytes();
            logs.total_bytes += bytes.len() as u64;
            let room = cap.saturating_sub(logs.text.len());
            if bytes.len() > room {
                logs.text.extend_from_slice(&bytes[..room]);
                logs.text.extend_from_slice(CUT_MARKER.as_bytes());
                logs.truncated = true;
                break;
            }
            logs.text.extend_from_slice(&bytes);
        }
        logs
    })
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
