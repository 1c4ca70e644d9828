//! Running a container under the policy: batch runs to completion, services for the
//! harness; limits enforced and what ended the run reported plainly.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{HostConfigLogConfig, NetworkCreateRequest};
use bollard::query_parameters::{CreateContainerOptionsBuilder, KillContainerOptionsBuilder};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::SandboxError;
use crate::cgroup::ContainerCgroup;
use crate::cleanup::Guard;
use crate::config::SandboxConfig;
use crate::engine::{EngineFacts, NO_DNS};
use crate::firewall::fence;
use crate::monitor::{Logs, Usage, attach_logs, watch_usage};
use crate::output::{OutputCaps, copy_output};
use crate::policy::{Mode, RunSpec, container_body, labels};

/// What ended a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Termination {
    /// The process exited by itself with this code.
    Exited { code: i64 },
    /// Killed at the wall-clock limit.
    WallClock,
    /// Killed by the kernel for going over the memory limit.
    OutOfMemory,
    /// Stopped by the harness when it was done with the service.
    Stopped,
}

impl std::fmt::Display for Termination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exited with code {code}"),
            Self::WallClock => f.write_str("killed at the wall-clock limit"),
            Self::OutOfMemory => f.write_str("killed for exceeding the memory limit"),
            Self::Stopped => f.write_str("stopped after the evaluation"),
        }
    }
}

/// Everything measured about one run; part of the evaluation report, so it reads back too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    pub termination: Termination,
    pub wall_seconds: f64,
    pub cpu_seconds: f64,
    pub peak_memory_bytes: u64,
    /// CFS periods in which the CPU quota throttled the container, and the time lost.
    /// Reports written before they were measured have none.
    #[serde(default)]
    pub throttled_periods: u64,
    #[serde(default)]
    pub throttled_seconds: f64,
    /// The kept part of stdout and stderr, with a marker where it was cut.
    #[serde(skip)]
    pub logs: Vec<u8>,
    pub log_bytes: u64,
    pub logs_truncated: bool,
    /// Bytes the run left in /output (batch).
    pub output_bytes: u64,
}

/// A connection to the engine with the node's settings.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) docker: Docker,
    pub(crate) config: SandboxConfig,
    /// What the engine lacks, asked once at connection.
    pub(crate) engine: EngineFacts,
}

/// A service container the harness talks to; it is removed when finished or dropped.
pub struct RunningService {
    /// The container's address on its job network, reachable from this host only.
    pub address: SocketAddr,
    container: Container,
}

struct Container {
    sandbox: Sandbox,
    id: String,
    guard: Guard,
    started: Instant,
    deadline: Instant,
    logs: std::sync::Arc<std::sync::Mutex<Logs>>,
    logs_task: tokio::task::JoinHandle<()>,
    usage: std::sync::Arc<std::sync::Mutex<Usage>>,
    usage_task: tokio::task::JoinHandle<()>,
}

/// A bridge interface name for the job's network (Linux allows 15 characters).
fn bridge_name(job_id: &str) -> String {
    use sha2::Digest;
    let digest = hex::encode(sha2::Sha256::digest(job_id.as_bytes()));
    format!("jb{}", &digest[..12])
}

impl Sandbox {
    async fn create(&self, spec: &RunSpec) -> Result<Container, SandboxError> {
        let mut guard = Guard::new(self.docker.clone());
        let network = match spec.mode {
            Mode::Batch => None,
            Mode::Serve { .. } => {
                let name = format!("jiebang-{}", spec.job_id);
                let bridge = bridge_name(&spec.job_id);
                self.docker
                    .create_network(NetworkCreateRequest {
                        name: name.clone(),
                        driver: Some("bridge".to_owned()),
                        internal: Some(true),
                        labels: Some(labels(&spec.job_id, &self.config)),
                        options: Some(std::collections::HashMap::from([
                            ("com.docker.network.bridge.name".to_owned(), bridge.clone()),
                            (
                                "com.docker.network.bridge.enable_icc".to_owned(),
                                "false".to_owned(),
                            ),
                        ])),
                        ..Default::default()
                    })
                    .await?;
                guard.objects_mut().network = Some(name.clone());
                if !fence(true, &bridge).await {
                    return Err(SandboxError::Spec(
                        "cannot fence the job network off the host (iptables or ip6tables failed); refusing to run a service".into(),
                    ));
                }
                guard.objects_mut().bridge = Some(bridge);
                Some(name)
            }
        };
        let output_mount = match spec.mode {
            Mode::Batch => {
                let dir = std::env::temp_dir().join(format!("jiebang-output-{}", spec.job_id));
                crate::cleanup::mount_output(
                    &dir,
                    spec.limits.output_bytes,
                    spec.limits.output_entries,
                    &self.config.user,
                )
                .await?;
                guard.objects_mut().output_mount = Some(dir.clone());
                Some(dir)
            }
            Mode::Serve { .. } => None,
        };
        let mut body = container_body(
            spec,
            &self.config,
            network.as_deref(),
            output_mount.as_deref(),
        )?;
        if let Some(host) = body.host_config.as_mut() {
            if network.is_some() && !self.engine.internal_dns_fixed {
                host.dns = Some(vec![NO_DNS.to_owned()]);
            }
            // The engine's own copy of the logs is capped too, so a flood fills no disk.
            host.log_config = Some(HostConfigLogConfig {
                typ: Some("json-file".to_owned()),
                config: Some(std::collections::HashMap::from([
                    (
                        "max-size".to_owned(),
                        format!("{}", spec.limits.log_bytes.max(4096) * 2),
                    ),
                    ("max-file".to_owned(), "1".to_owned()),
                ])),
            });
        }
        let name = format!("jiebang-{}", spec.job_id);
        let options = CreateContainerOptionsBuilder::default().name(&name).build();
        let created = self
            .docker
            .create_container(Some(options), body)
            .await
            .map_err(SandboxError::charge_start)?;
        guard.objects_mut().containers.push(created.id.clone());
        // Attached before the start, so not a byte is missed.
        let (logs, logs_task) =
            attach_logs(&self.docker, &created.id, spec.limits.log_bytes).await?;
        self.docker
            .start_container(&created.id, None)
            .await
            .map_err(SandboxError::charge_start)?;
        let started = Instant::now();
        let (usage, usage_task) = watch_usage(self.docker.clone(), created.id.clone());
        Ok(Container {
            sandbox: self.clone(),
            id: created.id,
            guard,
            started,
            deadline: started + spec.limits.wall_clock,
            logs,
            logs_task,
            usage,
            usage_task,
        })
    }

    /// Runs a batch job to its end (or its limit): /input read-only, /output copied to
    /// `output_dir` afterwards.
    pub async fn run_batch(
        &self,
        spec: &RunSpec,
        output_dir: &Path,
    ) -> Result<RunOutcome, SandboxError> {
        if spec.mode != Mode::Batch {
            return Err(SandboxError::Spec(
                "run_batch needs a batch-mode specification".into(),
            ));
        }
        let container = self.create(spec).await?;
        let timed_out = !container.wait_until_deadline().await;
        let mount = container.guard.objects().output_mount.clone();
        let copied = match mount {
            Some(mount) => {
                let target = output_dir.to_path_buf();
                let caps = OutputCaps {
                    bytes: spec.limits.output_bytes,
                    entries: spec.limits.output_entries,
                };
                tokio::task::spawn_blocking(move || copy_output(&mount, &target, caps))
                    .await
                    .map_err(|e| SandboxError::Io(std::io::Error::other(e)))?
            }
            None => Ok(0),
        };
        // Finished (and cleaned up) whatever the copy found, before its verdict is passed on.
        let outcome = container.finish(timed_out).await?;
        Ok(RunOutcome {
            output_bytes: copied?,
            ..outcome
        })
    }

    /// Starts a service and returns its address once the container runs; the harness
    /// checks readiness itself.
    pub async fn start_service(&self, spec: &RunSpec) -> Result<RunningService, SandboxError> {
        let Mode::Serve { port } = spec.mode else {
            return Err(SandboxError::Spec(
                "start_service needs a serve-mode specification".into(),
            ));
        };
        let container = self.create(spec).await?;
        let inspected = self.docker.inspect_container(&container.id, None).await?;
        let running = inspected.state.as_ref().and_then(|s| s.running) == Some(true);
        if !running {
            // A server gone before it got an address failed by itself: the engine had done
            // its part. Its last words are all the team has to go on (nothing hidden has
            // been sent to it yet).
            let outcome = container.finish(false).await?;
            let tail = &outcome.logs[outcome.logs.len().saturating_sub(1024)..];
            return Err(SandboxError::Submission(format!(
                "the server {} as soon as it started; its last output: {}",
                outcome.termination,
                String::from_utf8_lossy(tail).trim()
            )));
        }
        let ip = inspected
            .network_settings
            .and_then(|settings| settings.networks)
            .and_then(|networks| {
                networks
                    .into_values()
                    .find_map(|n| n.ip_address.filter(|ip| !ip.is_empty()))
            })
            .and_then(|ip| ip.parse::<IpAddr>().ok())
            .ok_or_else(|| SandboxError::Spec("the service container got no address".into()))?;
        Ok(RunningService {
            address: SocketAddr::new(ip, port),
            container,
        })
    }
}

impl RunningService {
    /// The container's state as the engine reports it now, if it can.
    async fn state(&self) -> Option<bollard::models::ContainerState> {
        self.container
            .sandbox
            .docker
            .inspect_container(&self.container.id, None)
            .await
            .ok()
            .and_then(|i| i.state)
    }

    /// True while the container runs; false once it crashed or exited.
    pub async fn is_running(&self) -> bool {
        self.state().await.and_then(|s| s.running).unwrap_or(false)
    }

    /// The container's control groups, found from its main process, for reading its CPU
    /// pressure and throttling directly; empty where the engine or the host hides them.
    pub async fn cgroup(&self) -> ContainerCgroup {
        let pid = self
            .state()
            .await
            .and_then(|s| s.pid)
            .filter(|pid| *pid > 0);
        pid.map_or_else(ContainerCgroup::default, |pid| {
            ContainerCgroup::of_process(pid, Path::new("/sys/fs/cgroup"))
        })
    }

    /// Stops the service (at once; the evaluation is over) and reports the run.
    pub async fn finish(self) -> Result<RunOutcome, SandboxError> {
        let container = self.container;
        let over_time = Instant::now() >= container.deadline;
        let still_running = container
            .sandbox
            .docker
            .inspect_container(&container.id, None)
            .await
            .ok()
            .and_then(|i| i.state)
            .and_then(|s| s.running)
            .unwrap_or(false);
        if still_running {
            container.kill().await;
        }
        let mut outcome = container.finish(over_time).await?;
        if still_running && !over_time && outcome.termination != Termination::OutOfMemory {
            outcome.termination = Termination::Stopped;
        }
        Ok(outcome)
    }
}

impl Container {
    /// Waits for the exit; false when the deadline came first (the container is then killed).
    async fn wait_until_deadline(&self) -> bool {
        let docker = &self.sandbox.docker;
        let mut waiting = docker.wait_container(&self.id, None);
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(remaining, waiting.next()).await {
            Ok(_) => true,
            Err(_) => {
                self.kill().await;
                false
            }
        }
    }

    /// SIGKILL: a process that ignores SIGTERM gets no say.
    async fn kill(&self) {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        let _ = self
            .sandbox
            .docker
            .kill_container(&self.id, Some(options))
            .await;
        let mut waiting = self.sandbox.docker.wait_container(&self.id, None);
        let _ = tokio::time::timeout(Duration::from_secs(10), waiting.next()).await;
    }

    async fn finish(self, timed_out: bool) -> Result<RunOutcome, SandboxError> {
        let docker = &self.sandbox.docker;
        let state = docker
            .inspect_container(&self.id, None)
            .await?
            .state
            .unwrap_or_default();
        let wall_seconds = self.started.elapsed().as_secs_f64();
        self.usage_task.abort();
        let usage = self.usage.lock().map(|u| *u).unwrap_or_default();
        // The stream ends with the container; one still open after this wait is cut, and
        // its logs say so.
        let mut reader = self.logs_task;
        let ended = tokio::time::timeout(Duration::from_secs(5), &mut reader)
            .await
            .is_ok_and(|joined| joined.is_ok());
        reader.abort();
        let logs = {
            let mut logs = self
                .logs
                .lock()
                .map(|mut l| std::mem::take(&mut *l))
                .unwrap_or_default();
            if !ended {
                logs.mark_incomplete();
            }
            logs
        };
        let termination = if state.oom_killed == Some(true) {
            Termination::OutOfMemory
        } else if timed_out {
            Termination::WallClock
        } else {
            Termination::Exited {
                code: state.exit_code.unwrap_or(-1),
            }
        };
        self.guard.clean().await;
        Ok(RunOutcome {
            termination,
            wall_seconds,
            cpu_seconds: usage.cpu_nanoseconds as f64 / 1e9,
            peak_memory_bytes: usage.peak_memory_bytes,
            throttled_periods: usage.throttled_periods,
            throttled_seconds: usage.throttled_nanoseconds as f64 / 1e9,
            logs: logs.text,
            log_bytes: logs.total_bytes,
            logs_truncated: logs.truncated,
            output_bytes: 0,
        })
    }
}
