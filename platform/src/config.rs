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
                    | "worker_lease_seconds" => {
                        toml::Value::Integer(value.parse().map_err(|_| {
                            AppError::Config(format!("{variable} must be a whole number"))
                        })?)
                    }
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
                table.insert((*key).to_owned(), value);
            }
        }
        let source = file.map_or_else(|| "environment".to_owned(), |p| p.display().to_string());
        Self::deserialize(table).map_err(|e| AppError::Config(format!("{source}: {e}")))
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
}
