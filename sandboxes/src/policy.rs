//! The hardening policy: how a run specification becomes a Docker container configuration.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::models::{
    ContainerCreateBody, HealthConfig, HostConfig, Mount, MountType, ResourcesUlimits,
};

use crate::SandboxError;
use crate::accelerators::{Device, assignment};
use crate::config::SandboxConfig;

/// The label every object of a job carries, so a sweep can find what a crash left behind.
pub const JOB_LABEL: &str = "jiebang.job";

/// How the submission is run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No network; reads /input, writes /output, exits.
    Batch,
    /// An inference server on this port, reachable only from the harness.
    Serve { port: u16 },
}

/// What one run may use.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The container is killed at this deadline.
    pub wall_clock: Duration,
    /// Memory, with swap equal to it (no swap beyond memory).
    pub memory_bytes: i64,
    /// CPU time per second of wall clock, for example 2.0.
    pub cpus: f64,
    /// The CPUs the container may run on (`"1"`, `"2-3"`), disjoint from the harness's.
    pub cpuset: Option<String>,
    pub pids: i64,
    pub open_files: i64,
    /// The size of the writable /tmp.
    pub tmp_bytes: u64,
    /// The size of /output (batch mode).
    pub output_bytes: u64,
    /// Files, folders and other entries read back from /output: the tmpfs caps bytes, not
    /// names, and 200,000 empty files would all be copied to the host.
    pub output_entries: u64,
    /// The size of /dev/shm, a tmpfs of its own: the engine's default is not ours to rely on.
    pub shm_bytes: u64,
    /// Log bytes kept; the rest is cut with a marker.
    pub log_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wall_clock: Duration::from_secs(600),
            memory_bytes: 2 << 30,
            cpus: 1.0,
            cpuset: None,
            pids: 256,
            open_files: 1024,
            tmp_bytes: 256 << 20,
            output_bytes: 256 << 20,
            output_entries: 10_000,
            shm_bytes: 64 << 20,
            log_bytes: 1 << 20,
        }
    }
}

/// Everything needed to start one container of a job.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// Labels every object; also names them.
    pub job_id: String,
    pub image: String,
    /// Overrides the image's command when given.
    pub command: Option<Vec<String>>,
    pub env: Vec<(String, String)>,
    pub mode: Mode,
    pub limits: Limits,
    /// A host folder mounted read-only at /input (batch inputs); never the hidden labels.
    pub input_dir: Option<PathBuf>,
    /// Devices from an accelerator lease.
    pub devices: Vec<Device>,
}

fn check(spec: &RunSpec) -> Result<(), SandboxError> {
    let valid_id = !spec.job_id.is_empty()
        && spec.job_id.len() <= 64
        && spec
            .job_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_id {
        return Err(SandboxError::Spec(format!(
            "job id `{}` must be 1–64 of [A-Za-z0-9_-]",
            spec.job_id
        )));
    }
    let limits = &spec.limits;
    if limits.memory_bytes < 6 << 20 {
        return Err(SandboxError::Spec(
            "memory must be at least 6 MiB (Docker's minimum)".into(),
        ));
    }
    if !(limits.cpus > 0.0 && limits.cpus.is_finite()) {
        return Err(SandboxError::Spec("cpus must be positive".into()));
    }
    if limits.pids < 1 || limits.open_files < 16 {
        return Err(SandboxError::Spec(
            "pids must be ≥ 1 and open files ≥ 16".into(),
        ));
    }
    if let Some(dir) = &spec.input_dir
        && !dir.is_absolute()
    {
        return Err(SandboxError::Spec(format!(
            "the input folder {} must be an absolute path",
            dir.display()
        )));
    }
    Ok(())
}

/// The label naming the worker that created an object, so a sweep removes only its own.
pub const WORKER_LABEL: &str = "jiebang.worker";

pub fn labels(job_id: &str, config: &SandboxConfig) -> HashMap<String, String> {
    let mut labels = HashMap::from([(JOB_LABEL.to_owned(), job_id.to_owned())]);
    if let Some(worker) = &config.worker_label {
        labels.insert(WORKER_LABEL.to_owned(), worker.clone());
    }
    labels
}

/// The container configuration: every defence of docs/sandbox.md in one place.
pub fn container_body(
    spec: &RunSpec,
    config: &SandboxConfig,
    network: Option<&str>,
    output_dir: Option<&Path>,
) -> Result<ContainerCreateBody, SandboxError> {
    check(spec)?;
    let limits = &spec.limits;
    let tmpfs = HashMap::from([
        (
            "/tmp".to_owned(),
            format!("rw,noexec,nosuid,nodev,size={}", limits.tmp_bytes),
        ),
        // Mounted explicitly so its cap is ours, whatever the engine's shm default is.
        (
            "/dev/shm".to_owned(),
            format!("rw,noexec,nosuid,nodev,size={}", limits.shm_bytes),
        ),
    ]);
    let bind = |source: &Path, target: &str, read_only: bool| Mount {
        target: Some(target.to_owned()),
        source: Some(source.to_string_lossy().into_owned()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        ..Default::default()
    };
    let mut mounts = Vec::new();
    if let Some(dir) = &spec.input_dir {
        mounts.push(bind(dir, "/input", true));
    }
    // The one writable host folder: a size-capped tmpfs of its own (see run.rs), which
    // outlives the container so its content can be read after the exit.
    if let Some(dir) = output_dir {
        mounts.push(bind(dir, "/output", false));
    }
    let mounts = (!mounts.is_empty()).then_some(mounts);
    // Exactly the leased devices: a device request (NVIDIA) or their nodes (Cambricon,
    // Ascend), and the variables their runtimes read.
    let devices = assignment(&spec.devices);
    let host_config = HostConfig {
        network_mode: Some(network.map_or_else(|| "none".to_owned(), str::to_owned)),
        cap_drop: Some(vec!["ALL".to_owned()]),
        security_opt: Some(vec!["no-new-privileges:true".to_owned()]),
        readonly_rootfs: Some(true),
        privileged: Some(false),
        tmpfs: Some(tmpfs),
        mounts,
        memory: Some(limits.memory_bytes),
        memory_swap: Some(limits.memory_bytes),
        memory_swappiness: Some(0),
        nano_cpus: Some((limits.cpus * 1e9) as i64),
        cpuset_cpus: limits.cpuset.clone(),
        pids_limit: Some(limits.pids),
        ulimits: Some(vec![ResourcesUlimits {
            name: Some("nofile".to_owned()),
            soft: Some(limits.open_files),
            hard: Some(limits.open_files),
        }]),
        ipc_mode: Some("private".to_owned()),
        init: Some(false),
        device_requests: (!devices.device_requests.is_empty()).then_some(devices.device_requests),
        devices: (!devices.devices.is_empty()).then_some(devices.devices),
        runtime: config.runtime.clone(),
        ..Default::default()
    };
    Ok(ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.command.clone(),
        env: Some(
            spec.env
                .iter()
                .chain(&devices.env)
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        user: Some(config.user.clone()),
        labels: Some(labels(&spec.job_id, config)),
        network_disabled: Some(network.is_none()),
        // The image's HEALTHCHECK would run in the engine's own processes, outside the
        // run's CPU quota (`--interval=1ms` burnt a core); the harness checks readiness.
        healthcheck: Some(HealthConfig {
            test: Some(vec!["NONE".to_owned()]),
            ..Default::default()
        }),
        host_config: Some(host_config),
        exposed_ports: match spec.mode {
            Mode::Serve { port } => Some(vec![format!("{port}/tcp")]),
            Mode::Batch => None,
        },
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec() -> RunSpec {
        RunSpec {
            job_id: "job-1".into(),
            image: "sha256:abc".into(),
            command: None,
            env: vec![("MODEL".into(), "m".into())],
            mode: Mode::Batch,
            limits: Limits::default(),
            input_dir: Some(PathBuf::from("/srv/inputs")),
            devices: vec![],
        }
    }

    #[test]
    fn every_defence_is_in_the_configuration() {
        let body = container_body(&spec(), &SandboxConfig::default(), None, None).unwrap();
        let host = body.host_config.unwrap();
        assert_eq!(host.network_mode.as_deref(), Some("none"));
        assert_eq!(host.cap_drop, Some(vec!["ALL".to_owned()]));
        assert_eq!(
            host.security_opt,
            Some(vec!["no-new-privileges:true".to_owned()])
        );
        assert_eq!(host.readonly_rootfs, Some(true));
        assert_eq!(host.privileged, Some(false));
        assert_eq!(host.memory, host.memory_swap, "no swap beyond memory");
        assert_eq!(host.pids_limit, Some(256));
        let tmpfs = host.tmpfs.unwrap();
        assert!(tmpfs["/tmp"].contains("size="));
        assert!(tmpfs["/dev/shm"].contains("size=67108864"), "{tmpfs:?}");
        let mounts = host.mounts.unwrap();
        let with_output = container_body(
            &spec(),
            &SandboxConfig::default(),
            None,
            Some(Path::new("/run/out")),
        )
        .unwrap()
        .host_config
        .unwrap()
        .mounts
        .unwrap();
        assert_eq!(with_output.len(), 2);
        assert_eq!(with_output[1].target.as_deref(), Some("/output"));
        assert_eq!(with_output[1].read_only, Some(false));
        assert_eq!(
            mounts.len(),
            1,
            "only the read-only inputs come from the host"
        );
        assert_eq!(mounts[0].read_only, Some(true));
        assert_eq!(body.user.as_deref(), Some("65534:65534"));
        assert_eq!(body.labels.unwrap()[JOB_LABEL], "job-1");
        assert!(host.device_requests.is_none());
        assert_eq!(
            body.healthcheck.and_then(|h| h.test),
            Some(vec!["NONE".to_owned()]),
            "the image's own health check is off"
        );
    }

    #[test]
    fn a_gpu_job_gets_exactly_its_devices() {
        let mut gpu = spec();
        gpu.devices = vec![Device::new("GPU-7f3", "A100")];
        let host = container_body(&gpu, &SandboxConfig::default(), None, None)
            .unwrap()
            .host_config
            .unwrap();
        let requests = host.device_requests.unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].device_ids, Some(vec!["GPU-7f3".to_owned()]));
    }

    #[test]
    fn an_mlu_job_gets_its_nodes_and_variable_and_no_device_request() {
        let mut mlu = spec();
        mlu.devices = vec![Device {
            vendor: crate::accelerators::Vendor::Cambricon,
            node: Some(PathBuf::from("/nowhere/cambricon_dev1")),
            ..Device::new("1", "MLU270")
        }];
        let body = container_body(&mlu, &SandboxConfig::default(), None, None).unwrap();
        let env = body.env.unwrap();
        assert_eq!(env, ["MODEL=m", "MLU_VISIBLE_DEVICES=1"]);
        let host = body.host_config.unwrap();
        assert!(host.device_requests.is_none());
        let nodes = host.devices.unwrap();
        assert_eq!(
            nodes[0].path_on_host.as_deref(),
            Some("/nowhere/cambricon_dev1")
        );
        assert_eq!(host.privileged, Some(false), "nodes, never privileged");
    }

    #[test]
    fn the_runtime_comes_from_configuration() {
        let config = SandboxConfig {
            runtime: Some("runsc".into()),
            ..SandboxConfig::default()
        };
        let host = container_body(&spec(), &config, None, None)
            .unwrap()
            .host_config
            .unwrap();
        assert_eq!(host.runtime.as_deref(), Some("runsc"));
    }

    #[test]
    fn bad_specifications_are_refused() {
        let mut bad = spec();
        bad.job_id = "../x".into();
        assert!(container_body(&bad, &SandboxConfig::default(), None, None).is_err());
        let mut tiny = spec();
        tiny.limits.memory_bytes = 1024;
        assert!(container_body(&tiny, &SandboxConfig::default(), None, None).is_err());
        let mut relative = spec();
        relative.input_dir = Some(PathBuf::from("inputs"));
        assert!(container_body(&relative, &SandboxConfig::default(), None, None).is_err());
    }
}
