//! The evaluation worker: `jiebang worker` on a GPU node, or one embedded in `jiebang serve`.

use std::path::PathBuf;

use jiebang_evaluator::worker::{WorkerConfig, run_worker};
use jiebang_sandboxes::SandboxConfig;

use crate::db::Db;
use crate::db::models::tokens::{self, TokenKind};
use crate::db::models::users::{self, Role, UserForm};
use crate::error::AppError;

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
    db.write_blocking(|conn| {
        let user = match users::find_by_login(conn, EMBEDDED_LOGIN)? {
            Some(user) => user,
            None => users::create(
                conn,
                UserForm {
                    login: EMBEDDED_LOGIN.to_owned(),
                    display_name: "Embedded worker".to_owned(),
                    email: None,
                    roles: vec![Role::Operator],
                    departments: Vec::new(),
                },
                None,
            )?,
        };
        Ok(tokens::issue(conn, &user.id, "embedded worker", TokenKind::Worker, None)?.token)
    })
}

/// Starts a worker on a thread and runtime of its own, so evaluations never compete with
/// the HTTP server's threads for scheduling; `harness_cpus` pins them.
pub fn spawn(config: WorkerConfig, harness_cpus: Option<Vec<usize>>) {
    std::thread::Builder::new()
        .name("jiebang-worker".to_owned())
        .spawn(move || {
            let runtime = match jiebang_evaluator::worker::pinning::worker_runtime(harness_cpus) {
                Ok(runtime) => runtime,
                Err(error) => {
                    tracing::error!(%error, "cannot start the worker's runtime");
                    return;
                }
            };
            if let Err(error) = runtime.block_on(run_worker(config, std::future::pending())) {
                tracing::warn!(%error, "the embedded worker stopped; submissions wait for another worker");
            }
        })
        .map(|_| ())
        .unwrap_or_else(|error| tracing::error!(%error, "cannot start the worker thread"));
}

pub fn config(
    platform: String,
    token: String,
    name: String,
    cache_dir: PathBuf,
    cpuset: Option<String>,
) -> WorkerConfig {
    WorkerConfig {
        platform,
        token,
        sandbox: SandboxConfig {
            worker_label: Some(name.clone()),
            ..SandboxConfig::default()
        },
        name,
        cache_dir,
        cpuset,
        sweep_on_start: true,
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
}
