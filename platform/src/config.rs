//! Start-up configuration: defaults, then an optional TOML file, then environment, then flags.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::AppError;

/// Everything `jiebang serve` needs to know; every field has a working default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where the SQLite file, uploads and reports live.
    pub data_dir: PathBuf,
    /// The address the HTTP server listens on.
    pub bind: String,
    /// `sqlite://PATH` or `postgres://…`; defaults to `sqlite://<data_dir>/jiebang.db`.
    pub database_url: Option<String>,
    /// The URL people use to reach the platform; defaults to `http://<bind>`.
    pub public_url: Option<String>,
    /// Scenario packages loaded at start-up when the folder exists.
    pub catalog_dir: PathBuf,
    /// Database connections kept in the pool.
    pub pool_size: u32,
    /// `text` or `json` log lines.
    pub log_format: LogFormat,
    /// The largest image archive a team may upload, in bytes.
    pub max_upload_bytes: u64,
    /// The largest scenario package a department may upload, in bytes; it also caps the
    /// package's unpacked size, so a compressed archive cannot expand without bound.
    pub max_package_bytes: u64,
    /// The most files and folders an uploaded package may hold.
    pub max_package_entries: u64,
    /// Run an evaluation worker inside `serve` (needs the Docker engine).
    pub embedded_worker: bool,
    /// CPUs for submissions' containers, disjoint from the harness's (for example `"1"`).
    pub worker_cpuset: Option<String>,
    /// How long a worker holds a job without a heartbeat before it goes back to the queue.
    pub worker_lease_seconds: u64,
    /// CPUs the embedded worker's harness is pinned to (for example `"0"`), disjoint from
    /// `worker_cpuset`.
    pub harness_cpuset: Option<String>,
    /// Read page templates from this folder on every render instead of the copies built
    /// into the binary, so template edits show without a rebuild (for development).
    pub templates_dir: Option<PathBuf>,
    /// The secret that signs session cookies; when unset, one is generated on first start
    /// and kept in `<data_dir>/session.key` (mode 0600), so sessions survive restarts.
    pub session_secret: Option<Secret>,
    /// How long a browser session lasts, in hours.
    pub session_hours: u64,
    /// Sign-in through an OpenID Connect provider; off when absent.
    pub oidc: Option<OidcConfig>,
}

/// The OpenID Connect provider people sign in with (`[oidc]` in the file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL, exactly as its discovery document spells it.
    pub issuer: String,
    /// The client id the provider issued to this platform.
    pub client_id: String,
    /// The client secret, sent with HTTP Basic authentication when redeeming a code.
    pub client_secret: Secret,
    /// The provider's name on the sign-in button ("Sign in with …").
    #[serde(default = "default_oidc_display_name")]
    pub display_name: String,
}

fn default_oidc_display_name() -> String {
    "OpenID Connect".to_owned()
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("data"),
            bind: "127.0.0.1:8080".to_owned(),
            database_url: None,
            public_url: None,
            catalog_dir: PathBuf::from("scenarios/catalog"),
            pool_size: 8,
            log_format: LogFormat::Text,
            max_upload_bytes: 16 << 30,
            max_package_bytes: 4 << 30,
            max_package_entries: 100_000,
            embedded_worker: true,
            worker_cpuset: None,
            worker_lease_seconds: 60,
            harness_cpuset: None,
            templates_dir: None,
            session_secret: None,
            session_hours: 12,
            oidc: None,
        }
    }
}

/// The environment variables read, each overriding the file.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("JIEBANG_DATA", "data_dir"),
    ("JIEBANG_BIND", "bind"),
    ("DATABASE_URL", "database_url"),
    ("JIEBANG_PUBLIC_URL", "public_url"),
    ("JIEBANG_CATALOG", "catalog_dir"),
    ("JIEBANG_POOL_SIZE", "pool_size"),
    ("JIEBANG_LOG_FORMAT", "log_format"),
    ("JIEBANG_MAX_UPLOAD_BYTES", "max_upload_bytes"),
    ("JIEBANG_MAX_PACKAGE_BYTES", "max_package_bytes"),
    ("JIEBANG_MAX_PACKAGE_ENTRIES", "max_package_entries"),
    ("JIEBANG_EMBEDDED_WORKER", "embedded_worker"),
    ("JIEBANG_WORKER_CPUSET", "worker_cpuset"),
    ("JIEBANG_WORKER_LEASE_SECONDS", "worker_lease_seconds"),
    ("JIEBANG_HARNESS_CPUSET", "harness_cpuset"),
    ("JIEBANG_OIDC_ISSUER", "oidc.issuer"),
    ("JIEBANG_OIDC_CLIENT_ID", "oidc.client_id"),
    ("JIEBANG_OIDC_CLIENT_SECRET", "oidc.client_secret"),
    ("JIEBANG_OIDC_DISPLAY_NAME", "oidc.display_name"),
    ("JIEBANG_TEMPLATES_DIR", "templates_dir"),
    ("JIEBANG_SESSION_SECRET", "session_secret"),
    ("JIEBANG_SESSION_HOURS", "session_hours"),
];

impl Config {
    /// Reads the file (if given) and then the environment, through `lookup` so tests
    /// need not touch the process environment.
    pub fn load(
        file: Option<&Path>,
        lookup: impl Fn(&str) -> Option<String>,
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
        for (variable, key) in ENVIRONMENT {
            if let Some(value) = lookup(variable).filter(|v| !v.is_empty()) {
                let value = match *key {
                    "pool_size"
                    | "max_upload_bytes"
                    | "max_package_bytes"
                    | "max_package_entries"
                    | "worker_lease_seconds"
                    | "session_hours" => toml::Value::Integer(value.parse().map_err(|_| {
                        AppError::Config(format!("{variable} must be a whole number"))
                    })?),
                    "embedded_worker" => toml::Value::Boolean(match value.as_str() {
                        "1" | "true" | "yes" | "on" => true,
                        "0" | "false" | "no" | "off" => false,
                        _ => {
                            return Err(AppError::Config(format!(
                                "{variable} must be true or false"
                            )));
                        }
                    }),
                    _ => toml::Value::String(value),
                };
                insert_dotted(&mut table, variable, key, value)?;
            }
        }
        let source = file.map_or_else(|| "environment".to_owned(), |p| p.display().to_string());
        Self::deserialize(table).map_err(|e| AppError::Config(format!("{source}: {e}")))
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

/// Sets `key` in `table`; a dotted key (`oidc.issuer`) goes into the sub-table it names,
/// so one variable can fill in a section the file left partly or wholly out.
fn insert_dotted(
    table: &mut toml::Table,
    variable: &str,
    key: &str,
    value: toml::Value,
) -> Result<(), AppError> {
    match key.split_once('.') {
        None => {
            table.insert(key.to_owned(), value);
        }
        Some((section, field)) => {
            let entry = table
                .entry(section.to_owned())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let toml::Value::Table(inner) = entry else {
                return Err(AppError::Config(format!(
                    "{variable} sets `{key}` but `{section}` in the file is not a table"
                )));
            };
            inner.insert(field.to_owned(), value);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn defaults_need_nothing() {
        let config = Config::load(None, |_| None).unwrap();
        assert_eq!(config.bind, "127.0.0.1:8080");
        assert_eq!(config.database_url(), "sqlite://data/jiebang.db");
    }

    #[test]
    fn environment_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(&file, "bind = \"0.0.0.0:9000\"\npool_size = 3\n").unwrap();
        let config = Config::load(Some(&file), |name| {
            (name == "JIEBANG_BIND").then(|| "127.0.0.1:7000".to_owned())
        })
        .unwrap();
        assert_eq!(config.bind, "127.0.0.1:7000");
        assert_eq!(config.pool_size, 3);
    }

    #[test]
    fn a_typo_in_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(&file, "bnd = \"0.0.0.0:9000\"\n").unwrap();
        let error = Config::load(Some(&file), |_| None).unwrap_err();
        assert!(error.to_string().contains("bnd"), "{error}");
    }

    #[test]
    fn oidc_from_file_and_environment_keeps_the_secret_out_of_debug() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(
            &file,
            "[oidc]\nissuer = \"https://id.example\"\nclient_id = \"jiebang\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), |name| {
            (name == "JIEBANG_OIDC_CLIENT_SECRET").then(|| "s3cret-value".to_owned())
        })
        .unwrap();
        let oidc = config.oidc.as_ref().unwrap();
        assert_eq!(oidc.issuer, "https://id.example");
        assert_eq!(oidc.client_secret.expose(), "s3cret-value");
        assert_eq!(oidc.display_name, "OpenID Connect");
        assert!(!format!("{config:?}").contains("s3cret-value"));
        assert_eq!(
            config.oidc_redirect_url(),
            "http://127.0.0.1:8080/auth/oidc/callback"
        );
    }

    #[test]
    fn oidc_needs_every_field_and_no_others() {
        let error = Config::load(None, |name| {
            (name == "JIEBANG_OIDC_ISSUER").then(|| "https://id.example".to_owned())
        })
        .unwrap_err();
        assert!(error.to_string().contains("client_id"), "{error}");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(
            &file,
            "[oidc]\nissuer = \"i\"\nclient_id = \"c\"\nclient_secret = \"s\"\nscope = \"x\"\n",
        )
        .unwrap();
        let error = Config::load(Some(&file), |_| None).unwrap_err();
        assert!(error.to_string().contains("scope"), "{error}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("jiebang.toml");
        std::fs::write(
            &file,
            "session_secret = \"s3cret-session\"\n[oidc]\nissuer = \"https://id.example\"\n\
             client_id = \"jb\"\nclient_secret = \"s3cret-client\"\ndisplay_name = \"ID\"\n",
        )
        .unwrap();
        let config = Config::load(Some(&file), |_| None).unwrap();
        assert_eq!(config.oidc.as_ref().unwrap().display_name, "ID");
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }
}
