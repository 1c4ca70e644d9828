//! Start-up configuration: defaults, then an optional TOML file, then environment, then flags.

mod declare;
mod slurm;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

use jiebang_evaluator::harness::quality::{MeasurementPolicy, Thresholds};
use jiebang_sandboxes::accelerators::{Device, Vendor};
use jiebang_sandboxes::{ImportLimits, SandboxConfig};
use serde::Deserialize;

use crate::error::AppError;
pub use declare::Key;
use declare::{FromText, Section, settings};
pub use slurm::{GresRule, SlurmSettings};

settings! {
    /// Everything `jiebang serve` and `jiebang worker` need to know; every key has a
    /// working default.
    pub struct Config {
        /// Where the SQLite file, uploads and reports live (and a worker's cache).
        #[env = "JIEBANG_DATA"]
        pub data_dir: PathBuf = PathBuf::from("data"),
        /// The address the HTTP server listens on.
        pub bind: String = "127.0.0.1:8080".to_owned(),
        /// `sqlite://PATH` or `postgres://…`; defaults to `sqlite://<data_dir>/jiebang.db`.
        #[env = "DATABASE_URL"]
        pub database_url: Option<String> = None,
        /// The URL people use to reach the platform; defaults to `http://<bind>`.
        pub public_url: Option<String> = None,
        /// Scenario packages loaded at start-up when the folder exists.
        #[env = "JIEBANG_CATALOG"]
        pub catalog_dir: PathBuf = PathBuf::from("scenarios/catalog"),
        /// Database connections kept in the pool.
        pub pool_size: u32 = 8,
        /// Threads that accept connections and answer requests; 0 means four per core
        /// (at most 64): each serves its connections in turn, so fewer connections per
        /// thread keep `/healthz` and workers' calls fast beside many page visitors.
        pub request_threads: u32 = 0,
        /// `text` or `json` log lines.
        pub log_format: LogFormat = LogFormat::Text,
        /// The largest image archive a team may upload, in bytes.
        pub max_upload_bytes: u64 = 16 << 30,
        /// The largest technical report (a PDF) a team may attach to a submission, in bytes.
        pub max_report_bytes: u64 = 20 << 20,
        /// The largest scenario package a department may upload, in bytes; it also caps the
        /// package's unpacked size, so a compressed archive cannot expand without bound.
        pub max_package_bytes: u64 = 4 << 30,
        /// The most files and folders an uploaded package may hold.
        pub max_package_entries: u64 = 100_000,
        /// Read page templates from this folder on every render instead of the copies built
        /// into the binary, so template edits show without a rebuild (for development).
        pub templates_dir: Option<PathBuf> = None,
        /// The secret that signs session cookies; when unset, one is generated on first start
        /// and kept in `<data_dir>/session.key` (mode 0600), so sessions survive restarts.
        pub session_secret: Option<Secret> = None,
        /// How long a browser session lasts, in hours.
        pub session_hours: u64 = 12,
        /// Stored files no record refers to (refused uploads, results recorded twice) are
        /// removed once this many hours old; `serve` prunes every six hours. 0 turns the
        /// automatic pruning off (`jiebang admin prune-files` still works).
        pub prune_after_hours: u64 = 24,
        /// Requests a visitor who is not signed in may make per minute, per IP address
        /// (pages, the API, downloads); past it 429 with `Retry-After`. 0: no limit.
        pub anonymous_requests_per_minute: u32 = 600,
        /// Requests a signed-in person may make per minute (by token or session). 0: no
        /// limit. Workers, `/healthz`, `/readyz` and static assets are never limited.
        pub user_requests_per_minute: u32 = 3000,
        /// Image and package uploads a signed-in person may start per hour. 0: no limit.
        pub uploads_per_hour: u32 = 120,
    }
    sections {
        /// The evaluation workers: the one inside `serve` and `jiebang worker` (`[worker]`).
        pub worker: WorkerSettings,
        /// How a worker's node runs submissions (`[sandbox]`).
        pub sandbox: SandboxSettings,
        /// When a timed run counts as disturbed by other work on its node (`[measurement]`).
        pub measurement: MeasurementSettings,
        /// Sign-in through an OpenID Connect provider; off when absent (`[oidc]`).
        pub oidc: Option<OidcConfig>,
        /// E-mail of notifications through an SMTP server; off when absent (`[smtp]`).
        pub smtp: Option<SmtpConfig>,
        /// One-shot workers submitted to Slurm for jobs that need accelerators (`[slurm]`).
        pub slurm: SlurmSettings,
    }
}

settings! {
    /// The `[worker]` section: what the worker inside `serve` and `jiebang worker` use
    /// (`platform` and `token` are for `jiebang worker` only).
    pub struct WorkerSettings {
        /// Run an evaluation worker inside `serve` (needs the Docker engine).
        #[env = "JIEBANG_EMBEDDED_WORKER"]
        pub embedded: bool = true,
        /// How many seconds the platform holds a claimed job without a heartbeat before it
        /// goes back to the queue (read by `serve`).
        pub lease_seconds: u64 = 60,
        /// The platform's URL, for `jiebang worker` (the embedded worker reaches `serve`
        /// on the address it listens on).
        #[env = "JIEBANG_PLATFORM"]
        pub platform: Option<String> = None,
        /// The worker token (`jiebang admin create-token --worker`), for `jiebang worker`
        /// (the embedded worker issues its own).
        pub token: Option<Secret> = None,
        /// A file holding the worker token, readable by its owner alone (mode 0600); read
        /// by `jiebang worker` when `token` is unset.
        pub token_file: Option<PathBuf> = None,
        /// The name the operator page shows, which also labels the worker's containers;
        /// `worker` for `jiebang worker`, derived from the data directory when embedded.
        pub name: Option<String> = None,
        /// Where downloaded images and scenario bundles are cached; defaults to
        /// `<data_dir>/worker-cache`.
        pub cache_dir: Option<PathBuf> = None,
        /// The most the download cache may hold, in bytes; the files used longest ago are
        /// removed before a job when it is over (the job's own are kept).
        pub cache_max_bytes: u64 = 64 << 30,
        /// CPUs for submissions' containers (a cpuset such as `2-7`), disjoint from
        /// `harness_cpuset`.
        pub cpuset: Option<String> = None,
        /// CPUs the harness is pinned to (for example `0-1`), disjoint from `cpuset`.
        #[env = "JIEBANG_HARNESS_CPUSET"]
        pub harness_cpuset: Option<String> = None,
    }
}

settings! {
    /// The `[sandbox]` section: how a worker's node runs submissions.
    pub struct SandboxSettings {
        /// The OCI runtime submissions run under, for example `runsc` (gVisor) where
        /// installed; Docker's default when unset.
        pub runtime: Option<String> = None,
        /// The user (`UID:GID`) every submission runs as; never root.
        pub user: String = SandboxConfig::default().user,
        /// The node's accelerators, `[VENDOR:]ID=MODEL` each (`0=H100`,
        /// `cambricon:0=MLU270`; in the file a list of `{ id, model, vendor }`), `id` as the
        /// driver knows the device (a GPU UUID or index; the N of `/dev/cambricon_devN` or
        /// `/dev/davinciN`), `vendor` one of `nvidia` (the default), `cambricon`, `ascend`.
        /// When set, it replaces discovery; when empty, the worker discovers its devices
        /// (`jiebang worker --list-devices` shows what it finds).
        pub accelerators: Vec<Device> = Vec::new(),
        /// Where device nodes are looked for (`cambricon_dev*`, `davinci*` and their control
        /// nodes); another folder only for tests and unusual hosts.
        pub device_root: PathBuf = PathBuf::from("/dev"),
        /// The largest image archive a worker imports, in bytes.
        pub max_image_bytes: u64 = ImportLimits::default().max_total_bytes,
        /// The largest layer of an image, in bytes.
        pub max_layer_bytes: u64 = ImportLimits::default().max_layer_bytes,
        /// The most entries an image archive may hold (a tar bomb of tiny files is refused).
        pub max_image_entries: u64 = ImportLimits::default().max_entries,
    }
}

settings! {
    /// The `[measurement]` section: past which figures a timed run is disturbed by other
    /// work on the node (read by each worker), and what happens to a job whose runs stay
    /// disturbed (read by `serve`). docs/benchmarks.md shows the measurements behind the
    /// defaults; a threshold of 0 turns its check off.
    pub struct MeasurementSettings {
        /// Judge timed runs against the thresholds below. Off, every figure is still
        /// measured and reported but no run is ever disturbed: for a development machine
        /// whose other work is known and accepted.
        pub judge: bool = true,
        /// The harness's send lateness at p99, in microseconds: how late it started queries
        /// against their schedule.
        pub max_send_lateness_p99_us: f64 = Thresholds::default().max_send_lateness_p99_us,
        /// The share of the run in which something outside the submission's container
        /// waited for a CPU (the host's CPU pressure less the container's own).
        pub max_host_pressure: f64 = Thresholds::default().max_host_pressure,
        /// The share of the host's CPU time the hypervisor stole for other guests.
        pub max_steal: f64 = Thresholds::default().max_steal,
        /// The harness floor's p99 after the run against before it, the larger over the
        /// smaller.
        pub max_floor_drift: f64 = Thresholds::default().max_floor_drift,
        /// The larger floor p99 as a share of the scenario's latency budget (0.05: the
        /// budget must be at least 20 times what the harness alone takes).
        pub max_floor_share: f64 = Thresholds::default().max_floor_share,
        /// How many times a worker repeats a disturbed timed run before it gives the job back.
        pub repeats: u32 = MeasurementPolicy::default().repeats,
        /// Seconds a worker waits before repeating a disturbed run, doubled before each
        /// further repeat.
        pub backoff_seconds: u64 = MeasurementPolicy::default().backoff.as_secs(),
        /// Seconds a job given back as disturbed waits in the queue (stage
        /// `waiting_for_quiet_node`) before a worker may claim it again.
        pub quiet_wait_seconds: u64 = 300,
        /// How many times a job may be given back as disturbed; after that it fails without
        /// counting toward the team's quota, and the team may submit again.
        pub max_quiet_waits: u32 = 6,
    }
}

impl MeasurementSettings {
    /// What a worker judges and repeats by.
    pub fn policy(&self) -> MeasurementPolicy {
        if !self.judge {
            return MeasurementPolicy::record_only();
        }
        MeasurementPolicy {
            thresholds: Thresholds {
                max_send_lateness_p99_us: self.max_send_lateness_p99_us,
                max_host_pressure: self.max_host_pressure,
                max_steal: self.max_steal,
                max_floor_drift: self.max_floor_drift,
                max_floor_share: self.max_floor_share,
            },
            repeats: self.repeats,
            backoff: std::time::Duration::from_secs(self.backoff_seconds),
        }
    }
}

settings! {
    /// The OpenID Connect provider people sign in with (`[oidc]` in the file).
    pub struct OidcConfig {
        /// The provider's issuer URL, exactly as its discovery document spells it.
        pub issuer: String,
        /// The client id the provider issued to this platform.
        pub client_id: String,
        /// The client secret, sent with HTTP Basic authentication when redeeming a code.
        pub client_secret: Secret,
        /// The provider's name on the sign-in button ("Sign in with …").
        pub display_name: String = "OpenID Connect".to_owned(),
    }
}

settings! {
    /// The SMTP server notifications are e-mailed through (`[smtp]` in the file): plain SMTP,
    /// as to the node's own relay (postfix, for example), which then delivers with TLS.
    pub struct SmtpConfig {
        /// The server's host name or address.
        pub host: String,
        /// The server's port.
        pub port: u32 = 25,
        /// The sender address of every message.
        pub from: String,
        /// The user name, when the server asks for one.
        pub username: Option<String> = None,
        /// The password for `username`; give it through the environment, never in a file
        /// that is checked in.
        pub password: Option<Secret> = None,
    }
}

/// Top-level keys of earlier versions that now live in a section: (old key, section, key).
const MOVED: &[(&str, &str, &str)] = &[
    ("embedded_worker", "worker", "embedded"),
    ("worker_cpuset", "worker", "cpuset"),
    ("harness_cpuset", "worker", "harness_cpuset"),
    ("worker_lease_seconds", "worker", "lease_seconds"),
];

/// A value given on the command line for a key, beating the file and the environment.
#[derive(Debug, Clone)]
pub struct Flag {
    /// The key it sets (`sandbox.runtime`).
    pub key: &'static str,
    /// The flag as typed, for error messages (`--runtime`).
    pub flag: &'static str,
    /// Its text, read as the key's environment variable would be.
    pub value: String,
}

/// A value that must never reach a log: `Debug` prints `***`, only `expose` reveals it.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromText for Secret {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        String::from_text(text)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl FromText for LogFormat {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        String::from_text(text)
    }
}

/// An accelerator inventory as text: `[VENDOR:]ID=MODEL`, several separated by commas.
impl FromText for Vec<Device> {
    fn from_text(text: &str) -> Result<toml::Value, String> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('=') {
                Some((id, model)) if !id.trim().is_empty() && !model.trim().is_empty() => {
                    let mut device = toml::Table::new();
                    let id = match id.split_once(':') {
                        Some((vendor, id)) => {
                            let vendor = Vendor::parse(vendor).ok_or_else(|| {
                                format!(
                                    "`{item}`: `{vendor}` is not a vendor (nvidia, cambricon, \
                                     ascend)"
                                )
                            })?;
                            device.insert("vendor".to_owned(), vendor.name().into());
                            id
                        }
                        None => id,
                    };
                    device.insert("id".to_owned(), id.trim().into());
                    device.insert("model".to_owned(), model.trim().into());
                    Ok(toml::Value::Table(device))
                }
                _ => Err(format!(
                    "`{item}` is not [VENDOR:]ID=MODEL (for example 0=H100 or \
                     cambricon:0=MLU270)"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(toml::Value::Array)
    }
}

impl Config {
    /// Reads the file (if given) and then the environment, through `lookup` so tests
    /// need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, AppError> {
        Self::load_with_flags(file, lookup, &[])
    }

    /// [`Config::load`], then the command line's `flags` over both.
    pub fn load_with_flags(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
        flags: &[Flag],
    ) -> Result<Self, AppError> {
        let mut table = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    AppError::Config(format!("cannot read {}: {e}", path.display()))
                })?;
                text.parse::<toml::Table>()
                    .map_err(|e| AppError::Config(format!("{}: {e}", path.display())))?
            }
            None => toml::Table::new(),
        };
        if let Some((old, section, key)) = MOVED.iter().find(|(old, ..)| table.contains_key(*old)) {
            let source = file.map_or_else(String::new, |p| format!("{}: ", p.display()));
            return Err(AppError::Config(format!(
                "{source}`{old}` has moved: write `{key}` in the `[{section}]` section"
            )));
        }
        let keys = Self::keys();
        for key in &keys {
            if let Some(text) = lookup(&key.variable).filter(|v| !v.is_empty()) {
                let value = (key.parse)(&text)
                    .map_err(|e| AppError::Config(format!("{}: {e}", key.variable)))?;
                insert_at(&mut table, &key.variable, &key.path, value)?;
            }
        }
        for flag in flags {
            let key = keys.iter().find(|k| k.path == flag.key).ok_or_else(|| {
                AppError::Internal(format!("{} sets an unknown key `{}`", flag.flag, flag.key))
            })?;
            let value = (key.parse)(&flag.value)
                .map_err(|e| AppError::Config(format!("{}: {e}", flag.flag)))?;
            insert_at(&mut table, flag.flag, &key.path, value)?;
        }
        Self::deserialize(table).map_err(|e| {
            let problem = e.to_string().trim().replace('\n', " ");
            AppError::Config(match file {
                Some(path) => format!("{}: {problem}", path.display()),
                None => problem,
            })
        })
    }

    /// Every key: its place in the file, its environment variable and its doc.
    pub fn keys() -> Vec<Key> {
        let mut keys = Vec::new();
        <Self as Section>::keys("", &mut keys);
        keys
    }

    /// Where the provider sends people back after signing in.
    pub fn oidc_redirect_url(&self) -> String {
        format!(
            "{}/auth/oidc/callback",
            self.public_url().trim_end_matches('/')
        )
    }

    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("jiebang.db").display()))
    }

    pub fn public_url(&self) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
    }
}

/// A flag's help: the key's doc and where else it can be set.
pub fn help(path: &str) -> String {
    help_noted(path, "")
}

/// [`help`] with a note on the flag itself after the key's doc.
pub fn help_noted(path: &str, note: &str) -> String {
    Config::keys()
        .into_iter()
        .find(|key| key.path == path)
        .map_or_else(String::new, |key| {
            let summary = [key.summary(), note.to_owned()].join(" ");
            format!(
                "{} [config: {}, env: {}]",
                summary.trim_end(),
                key.path,
                key.variable
            )
        })
}

/// Sets the value at `path` (`worker.cpuset`) in `table`, making the tables on the way, so
/// one variable or flag can fill in a section the file left partly or wholly out.
fn insert_at(
    table: &mut toml::Table,
    source: &str,
    path: &str,
    value: toml::Value,
) -> Result<(), AppError> {
    let mut table = table;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            table.insert(part.to_owned(), value);
            return Ok(());
        }
        let entry = table
            .entry(part.to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        let toml::Value::Table(inner) = entry else {
            return Err(AppError::Config(format!(
                "{source} sets `{path}` but `{part}` in the file is not a table"
            )));
        };
        table = inner;
    }
    Ok(())
}
