//! The evaluation worker: `jiebang worker` on a GPU node, or one embedded in `jiebang serve`.

use std::net::SocketAddr;

use jiebang_evaluator::worker::pinning::{
    cpuset_of, isolation, parse_cpus, pin_current_thread, process_cpus, worker_runtime,
};
use jiebang_evaluator::worker::{Once, WorkerConfig, run_once, run_worker};
use jiebang_sandboxes::accelerators;
use jiebang_sandboxes::{ImportLimits, SandboxConfig};

use crate::config::Config;
use crate::db::Db;
use crate::db::ids::UserId;
use crate::db::models::tokens::{self, TokenKind};
use crate::db::models::users::{self, Role, UserForm};
use crate::error::AppError;
use crate::shutdown::Stopping;

/// The user embedded workers act as; its tokens live only in the running process.
const EMBEDDED_LOGIN: &str = "embedded-worker";

/// The embedded worker's name, which also labels its containers: one per data directory,
/// so two platforms sharing a Docker engine never sweep each other's containers, and the
/// same after a restart, so a platform still cleans up what it left before a crash.
pub fn embedded_name(data_dir: &std::path::Path) -> String {
    use sha2::{Digest, Sha256};
    let place = std::fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    let digest = Sha256::digest(place.as_os_str().as_encoded_bytes());
    format!("embedded-{}", &hex::encode(digest)[..12])
}

/// Issues a fresh worker token for the embedded worker (kept in memory, never printed).
pub fn embedded_token(db: &Db) -> Result<String, AppError> {
    own_token(db, EMBEDDED_LOGIN, "Embedded worker").map(|(_, token)| token)
}

/// Issues a fresh worker token for workers the platform starts itself (embedded, or
/// submitted to Slurm), acting as operator user `login`, made on first use; the user's id
/// and the token.
pub fn own_token(
    db: &Db,
    login: &'static str,
    display_name: &'static str,
) -> Result<(UserId, String), AppError> {
    db.write_blocking(|conn| {
        let user = match users::find_by_login(conn, login)? {
            Some(user) => user,
            None => users::create(
                conn,
                UserForm {
                    login: login.to_owned(),
                    display_name: display_name.to_owned(),
                    email: None,
                    roles: vec![Role::Operator],
                    departments: Vec::new(),
                },
                None,
            )?,
        };
        let token = tokens::issue(conn, &user.id, display_name, TokenKind::Worker, None)?.token;
        Ok((user.id, token))
    })
}

/// A worker ready to run: what the evaluator's loop needs, the CPUs its harness is pinned
/// to, and those the platform's own threads keep to when the worker runs inside `serve`.
#[derive(Debug)]
pub struct Node {
    pub config: WorkerConfig,
    pub harness_cpus: Option<Vec<usize>>,
    pub platform_cpus: Option<Vec<usize>>,
}

/// Builds a worker from the `[worker]`, `[sandbox]` and `[measurement]` sections: the one
/// place both `jiebang worker` and the worker inside `serve` (`embedded`) get theirs.
/// `name` is the worker's name when the configuration gives none. CPUs the operator left
/// unset are divided by [`isolation`], so the harness never shares one with a submission.
pub fn node(
    config: &Config,
    platform: String,
    token: String,
    name: String,
    embedded: bool,
) -> Result<Node, AppError> {
    let (worker, sandbox) = (&config.worker, &config.sandbox);
    let invalid = |key: &str, problem: String| AppError::Config(format!("{key}: {problem}"));
    let cpus = |key: &str, list: &Option<String>| {
        list.as_deref()
            .map(parse_cpus)
            .transpose()
            .map_err(|e| invalid(key, e.to_string()))
    };
    let containers = cpus("worker.cpuset", &worker.cpuset)?;
    let harness_cpus = cpus("worker.harness_cpuset", &worker.harness_cpuset)?;
    if let (Some(containers), Some(harness)) = (&containers, &harness_cpus)
        && let Some(shared) = containers.iter().find(|cpu| harness.contains(cpu))
    {
        return Err(invalid(
            "worker.harness_cpuset",
            format!("CPU {shared} is also in worker.cpuset; the two must be disjoint"),
        ));
    }
    let uid = sandbox.user.split(':').next().unwrap_or_default();
    if uid == "0" || uid == "root" {
        return Err(invalid(
            "sandbox.user",
            "submissions never run as root".to_owned(),
        ));
    }
    for (index, device) in sandbox.accelerators.iter().enumerate() {
        if sandbox.accelerators[..index]
            .iter()
            .any(|d| d.key() == device.key())
        {
            return Err(invalid(
                "sandbox.accelerators",
                format!("device `{}` is listed twice", device.key()),
            ));
        }
    }
    // The configured list when there is one, else what the node's drivers and device nodes
    // show: registered with the platform and handed out by the allocator.
    let accelerators = accelerators::inventory(&sandbox.accelerators, &sandbox.device_root);
    let name = worker.name.clone().unwrap_or(name);
    let cpus = isolation(process_cpus(), containers, harness_cpus, embedded);
    Ok(Node {
        config: WorkerConfig {
            platform,
            token,
            sandbox: SandboxConfig {
                runtime: sandbox.runtime.clone(),
                user: sandbox.user.clone(),
                import: ImportLimits {
                    max_total_bytes: sandbox.max_image_bytes,
                    max_layer_bytes: sandbox.max_layer_bytes,
                    max_entries: sandbox.max_image_entries,
                },
                accelerators,
                worker_label: Some(name.clone()),
            },
            name,
            cache_dir: worker
                .cache_dir
                .clone()
                .unwrap_or_else(|| config.data_dir.join("worker-cache")),
            cache_max_bytes: worker.cache_max_bytes,
            cpuset: worker
                .cpuset
                .clone()
                .or_else(|| cpus.containers.as_deref().map(cpuset_of)),
            sweep_on_start: true,
            measurement: config.measurement.policy(),
        },
        harness_cpus: cpus.harness,
        platform_cpus: cpus.platform,
    })
}

/// Refuses worker settings a node could not run with; `serve` calls it before it writes
/// anything, so a typo in `[worker]` or `[sandbox]` stops it at once.
pub fn check(config: &Config) -> Result<(), AppError> {
    node(config, String::new(), String::new(), String::new(), true).map(drop)
}

/// Keeps the calling thread, and every thread it starts from now on, off the CPUs the
/// embedded worker gives submissions: `serve` calls it first, before its runtime exists.
/// Nothing happens without an embedded worker or where the node has a single CPU.
pub fn keep_platform_off_containers(config: &Config) -> Result<(), AppError> {
    if !config.worker.embedded {
        return Ok(());
    }
    let node = node(config, String::new(), String::new(), String::new(), true)?;
    if let Some(cpus) = &node.platform_cpus {
        pin_current_thread(cpus).map_err(|e| AppError::Internal(e.to_string()))?;
        tracing::info!(
            platform = %cpuset_of(cpus),
            harness = %node.harness_cpus.as_deref().map(cpuset_of).unwrap_or_default(),
            containers = node.config.cpuset.as_deref().unwrap_or_default(),
            "CPUs divided between the platform, the harness and submissions"
        );
    }
    Ok(())
}

/// What `jiebang worker --list-devices` prints: what discovery finds per vendor and why,
/// then the configured list where there is one (it replaces discovery).
pub fn list_devices(config: &Config) -> String {
    let sandbox = &config.sandbox;
    let mut text = accelerators::discover(&sandbox.device_root).report();
    if !sandbox.accelerators.is_empty() {
        let configured = accelerators::inventory(&sandbox.accelerators, &sandbox.device_root);
        text.push_str(&format!(
            "[sandbox] accelerators lists {} device(s); the worker uses these, not what was \
             found:\n",
            configured.len()
        ));
        for device in &configured {
            text.push_str(&format!("  - {}\n", device.describe()));
        }
    }
    text
}

/// `jiebang worker`: a worker for the platform and with the token the configuration names.
pub fn standalone(config: &Config) -> Result<Node, AppError> {
    let missing = |what: &str, flag: &str, key: &str| {
        let variable = Config::keys()
            .into_iter()
            .find(|k| k.path == key)
            .map(|k| k.variable)
            .unwrap_or_default();
        AppError::Config(format!(
            "no {what}: pass {flag}, set {variable}, or set `{key}` in the configuration file"
        ))
    };
    let platform = config
        .worker
        .platform
        .clone()
        .ok_or_else(|| missing("platform URL", "--platform", "worker.platform"))?;
    let token = match (&config.worker.token, &config.worker.token_file) {
        (Some(token), _) => token.expose().to_owned(),
        (None, Some(file)) => read_token_file(file)?,
        (None, None) => {
            return Err(missing(
                "worker token",
                "--token (or --token-file)",
                "worker.token",
            ));
        }
    };
    let mut node = node(config, platform, token, "worker".to_owned(), false)?;
    // Started by Slurm, the worker uses only the devices its allocation holds.
    let inventory = std::mem::take(&mut node.config.sandbox.accelerators);
    let kept = crate::slurm::granted::restrict(inventory, |name| std::env::var(name).ok())?;
    if let Ok(job) = std::env::var("SLURM_JOB_ID") {
        let ids: Vec<&str> = kept.iter().map(|d| d.id.as_str()).collect();
        tracing::info!(slurm_job = %job, devices = ?ids, "inside a Slurm job: using the devices it was granted");
    }
    node.config.sandbox.accelerators = kept;
    Ok(node)
}

/// The worker token in `path`, which only its owner may read (a token others can read is
/// refused, as ssh refuses such a key).
fn read_token_file(path: &std::path::Path) -> Result<String, AppError> {
    use std::os::unix::fs::PermissionsExt;
    let problem =
        |e: std::io::Error| AppError::Config(format!("worker.token_file {}: {e}", path.display()));
    let mode = std::fs::metadata(path)
        .map_err(problem)?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(AppError::Config(format!(
            "worker.token_file {} may be read by others (mode {:o}); make it 0600",
            path.display(),
            mode & 0o777
        )));
    }
    let token = std::fs::read_to_string(path).map_err(problem)?;
    let token = token.trim();
    if token.is_empty() {
        return Err(AppError::Config(format!(
            "worker.token_file {} is empty",
            path.display()
        )));
    }
    Ok(token.to_owned())
}

/// The worker inside `serve`: it reaches the platform on `address` (an unspecified one,
/// 0.0.0.0, through loopback) with a token issued for it alone.
pub fn embedded(config: &Config, db: &Db, mut address: SocketAddr) -> Result<Node, AppError> {
    if address.ip().is_unspecified() {
        address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let token = embedded_token(db)?;
    node(
        config,
        format!("http://{address}"),
        token,
        embedded_name(&config.data_dir),
        true,
    )
}

impl Node {
    /// Runs the worker on the calling thread until `shutdown` resolves.
    pub fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), AppError> {
        worker_runtime(self.harness_cpus)
            .map_err(|e| AppError::Internal(e.to_string()))?
            .block_on(run_worker(self.config, shutdown))
            .map_err(|e| AppError::Unavailable(e.to_string()))
    }

    /// Runs one job (`jiebang worker --once`): waits at most `wait` for one it can take,
    /// evaluates and reports it. An error when none came, so the exit status says so.
    pub fn run_once(
        self,
        wait: std::time::Duration,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), AppError> {
        let once = worker_runtime(self.harness_cpus)
            .map_err(|e| AppError::Internal(e.to_string()))?
            .block_on(run_once(self.config, wait, shutdown))
            .map_err(|e| AppError::Unavailable(e.to_string()))?;
        match once {
            Once::Evaluated { job_id } => {
                tracing::info!(job = %job_id, "evaluated one job; exiting");
                Ok(())
            }
            Once::NothingClaimed => Err(AppError::Unavailable(format!(
                "no job this worker can take came within {} s; nothing was evaluated",
                wait.as_secs()
            ))),
            Once::Stopped => Err(AppError::Unavailable(
                "stopped before a job was evaluated; a job held went back to the queue".to_owned(),
            )),
        }
    }

    /// Runs the worker on a thread and runtime of its own, so evaluations never compete
    /// with the HTTP server's threads for scheduling, until `stopping` is set; a job it
    /// holds then goes back to the queue.
    pub fn spawn(self, stopping: &Stopping) -> WorkerThread {
        let (finished, stopped) = tokio::sync::oneshot::channel();
        let until = stopping.waiter();
        let spawned = std::thread::Builder::new()
            .name("jiebang-worker".to_owned())
            .spawn(move || {
                if let Err(error) = self.run(until) {
                    tracing::warn!(%error, "the embedded worker stopped; submissions wait for another worker");
                }
                let _ = finished.send(());
            });
        if let Err(error) = spawned {
            tracing::error!(%error, "cannot start the worker thread");
        }
        WorkerThread { stopped }
    }
}

/// The embedded worker's thread, as `serve` waits for it when stopping.
pub struct WorkerThread {
    stopped: tokio::sync::oneshot::Receiver<()>,
}

impl WorkerThread {
    /// Waits at most `limit` for the worker to finish; false when it had not.
    pub async fn stopped_within(self, limit: std::time::Duration) -> bool {
        tokio::time::timeout(limit, self.stopped).await.is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn embedded_workers_of_two_platforms_have_their_own_names() {
        let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        assert_eq!(embedded_name(first.path()), embedded_name(first.path()));
        assert_ne!(embedded_name(first.path()), embedded_name(second.path()));
        assert!(embedded_name(first.path()).starts_with("embedded-"));
    }

    fn config(file: &str) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jiebang.toml");
        std::fs::write(&path, file).unwrap();
        Config::load(Some(&path), |_| None).unwrap()
    }

    #[test]
    fn the_node_gets_every_worker_and_sandbox_setting() {
        let config = config(
            "data_dir = \"/srv/jiebang\"\n[worker]\ncpuset = \"2-7\"\nharness_cpuset = \"0-1\"\n\
             [sandbox]\nruntime = \"runsc\"\nuser = \"1000:1000\"\nmax_layer_bytes = 5\n\
             accelerators = [{ id = \"0\", model = \"H100\" }, { id = \"1\", model = \"H100\" }]\n",
        );
        let node = node(&config, "http://p".into(), "t".into(), "gpu-1".into(), true).unwrap();
        assert_eq!(node.harness_cpus, Some(vec![0, 1]));
        let platform = node.platform_cpus.clone().unwrap_or_default();
        assert!(
            platform.iter().all(|cpu| !(2..=7).contains(cpu)),
            "off the containers' CPUs: {platform:?}"
        );
        let worker = &node.config;
        assert_eq!(
            (worker.platform.as_str(), worker.name.as_str()),
            ("http://p", "gpu-1")
        );
        assert_eq!(worker.cpuset.as_deref(), Some("2-7"));
        assert_eq!(
            worker.cache_dir,
            std::path::Path::new("/srv/jiebang/worker-cache")
        );
        let sandbox = &worker.sandbox;
        assert_eq!(sandbox.runtime.as_deref(), Some("runsc"));
        assert_eq!(sandbox.user, "1000:1000");
        assert_eq!(sandbox.import.max_layer_bytes, 5);
        assert_eq!(sandbox.worker_label.as_deref(), Some("gpu-1"));
        let devices: Vec<_> = sandbox.accelerators.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(devices, ["0", "1"]);
    }

    #[test]
    fn with_no_cpus_set_the_harness_and_the_containers_still_get_their_own() {
        let node = node(&config(""), String::new(), String::new(), "w".into(), true).unwrap();
        let available = process_cpus();
        if available.len() < 2 {
            assert_eq!(node.harness_cpus, None, "one CPU cannot be divided");
            return;
        }
        let harness = node.harness_cpus.unwrap();
        let containers = parse_cpus(node.config.cpuset.as_deref().unwrap()).unwrap();
        assert!(harness.iter().all(|cpu| !containers.contains(cpu)));
        let platform = node.platform_cpus.unwrap();
        assert!(platform.iter().all(|cpu| !containers.contains(cpu)));
        if available.len() == 2 {
            assert_eq!((harness.len(), containers.len()), (1, 1));
        }
    }

    #[test]
    fn a_node_that_could_not_run_safely_is_refused_by_key() {
        for (file, key) in [
            (
                "[worker]\ncpuset = \"0-3\"\nharness_cpuset = \"3\"\n",
                "worker.harness_cpuset",
            ),
            ("[worker]\ncpuset = \"two\"\n", "worker.cpuset"),
            ("[sandbox]\nuser = \"0:0\"\n", "sandbox.user"),
            (
                "[sandbox]\naccelerators = [{ id = \"0\", model = \"A\" }, { id = \"0\", model = \"B\" }]\n",
                "sandbox.accelerators",
            ),
        ] {
            let error = node(
                &config(file),
                String::new(),
                String::new(),
                "w".into(),
                false,
            )
            .unwrap_err();
            assert!(error.to_string().contains(key), "{file}: {error}");
        }
    }

    #[test]
    fn a_token_file_is_read_only_when_others_cannot_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "jb_from_file\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let text = format!(
            "[worker]\nplatform = \"http://p\"\ntoken_file = \"{}\"\n",
            file.display()
        );
        let error = standalone(&config(&text)).unwrap_err().to_string();
        assert!(error.contains("0600") && error.contains("644"), "{error}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let node = standalone(&config(&text)).unwrap();
        assert_eq!(node.config.token, "jb_from_file");
    }

    #[test]
    fn a_standalone_worker_needs_a_platform_and_a_token() {
        let error = standalone(&config("")).unwrap_err().to_string();
        assert!(
            error.contains("--platform") && error.contains("JIEBANG_PLATFORM"),
            "{error}"
        );
        let error = standalone(&config("[worker]\nplatform = \"http://p\"\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("JIEBANG_WORKER_TOKEN"), "{error}");
        let node = standalone(&config(
            "[worker]\nplatform = \"http://p\"\ntoken = \"jb_x\"\n",
        ))
        .unwrap();
        assert_eq!(
            (node.config.token.as_str(), node.config.name.as_str()),
            ("jb_x", "worker")
        );
    }
}
