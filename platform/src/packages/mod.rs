//! Scenario packages uploaded by departments: received to a temporary file, unpacked
//! safely, validated, then kept under `data_dir/packages/<scenario>/<digest>/` and bundled
//! for workers the way catalog packages are. Nothing is moved into place before the
//! package has passed every check, and earlier versions are never removed.

pub mod extract;

use std::path::{Path, PathBuf};

use actix_web::web::Bytes;
use futures_util::Stream;
use jiebang_scenarios::package::{self, ProblemCode, ScenarioPackage};

use crate::catalog::{self, PreparedPackage};
use crate::db::models::scenarios::Scenario;
use crate::error::{AppError, Problem};
use crate::storage::{BlobStore, Received, receive_to_temporary};

/// A package that passed and is in place.
pub struct Installed {
    pub package: ScenarioPackage,
    pub prepared: PreparedPackage,
    pub archive_digest: String,
}

fn packages_root(data_dir: &Path) -> PathBuf {
    data_dir.join("packages")
}

fn io_error(what: &Path, error: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("packages at {}: {error}", what.display()))
}

/// Streams the body to a temporary file while hashing it, refusing it past `max_bytes`.
pub async fn receive<S, E>(data_dir: &Path, body: S, max_bytes: u64) -> Result<Received, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    receive_to_temporary(body, max_bytes, packages_root(data_dir).join("incoming")).await
}

fn refused(problems: Vec<Problem>) -> AppError {
    AppError::Problems {
        code: "invalid_package",
        message: format!(
            "the package has {} problem(s); nothing was changed",
            problems.len()
        ),
        problems,
    }
}

/// The package folder inside the unpacked archive: its top, or its one top-level folder.
fn package_root(unpacked: &Path) -> Option<PathBuf> {
    if unpacked.join("scenario.toml").is_file() {
        return Some(unpacked.to_path_buf());
    }
    let entries: Vec<PathBuf> = std::fs::read_dir(unpacked)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .collect();
    match entries.as_slice() {
        [only] if only.join("scenario.toml").is_file() => Some(only.clone()),
        _ => None,
    }
}

/// Unpacks, validates and installs an uploaded package for `scenario`; blocking. A refusal
/// leaves nothing behind: the unpacked files live in a temporary folder until they pass.
pub fn install(
    data_dir: &Path,
    blobs: &BlobStore,
    received: &Received,
    scenario: &Scenario,
    limits: extract::Limits,
) -> Result<Installed, AppError> {
    let root = packages_root(data_dir);
    let incoming = root.join("incoming");
    std::fs::create_dir_all(&incoming).map_err(|e| io_error(&incoming, e))?;
    let scratch = tempfile::TempDir::new_in(&incoming).map_err(|e| io_error(&incoming, e))?;
    extract::unpack(received.file.path(), scratch.path(), limits).map_err(|e| match e {
        extract::ExtractError::Refused(message) => AppError::bad_request(
            "bad_archive",
            format!("the package archive was refused: {message}"),
        ),
        extract::ExtractError::TooLarge(message) => AppError::PayloadTooLarge(message),
        extract::ExtractError::Io(error) => io_error(scratch.path(), error),
    })?;
    let unpacked = package_root(scratch.path()).ok_or_else(|| {
        refused(vec![Problem::new(
            ProblemCode::ArchiveWithoutManifest,
            "scenario.toml",
            None,
            "missing: the archive must hold scenario.toml at its top or in its one top-level folder",
        )])
    })?;
    let mut package = package::validate(&unpacked).map_err(|report| refused(report.problems))?;
    let mut mismatches = Vec::new();
    if package.manifest.id != scenario.id.as_str() {
        mismatches.push(
            Problem::new(
                ProblemCode::IdMismatch,
                "scenario.toml",
                Some("id"),
                format!(
                    "is `{}` but the package is uploaded for scenario `{}`",
                    package.manifest.id, scenario.id
                ),
            )
            .with("id", &package.manifest.id)
            .with("scenario", &scenario.id),
        );
    }
    if package.manifest.town != scenario.organization_id.as_str() {
        mismatches.push(
            Problem::new(
                ProblemCode::TownMismatch,
                "scenario.toml",
                Some("town"),
                format!(
                    "is `{}` but scenario `{}` belongs to `{}`",
                    package.manifest.town, scenario.id, scenario.organization_id
                ),
            )
            .with("town", &package.manifest.town)
            .with("scenario", &scenario.id)
            .with("organization", &scenario.organization_id),
        );
    }
    if !mismatches.is_empty() {
        return Err(refused(mismatches));
    }
    let hex = received
        .digest
        .strip_prefix("sha256:")
        .unwrap_or(&received.digest);
    let scenario_dir = root.join(scenario.id.as_str());
    let target = scenario_dir.join(hex);
    std::fs::create_dir_all(&scenario_dir).map_err(|e| io_error(&scenario_dir, e))?;
    // The same archive uploaded twice is already in place, byte for byte.
    if !target.is_dir()
        && let Err(error) = std::fs::rename(&unpacked, &target)
        && !target.is_dir()
    {
        return Err(io_error(&target, error));
    }
    package.root = target;
    let prepared = catalog::prepare(&package, blobs)?;
    Ok(Installed {
        package,
        prepared,
        archive_digest: received.digest.clone(),
    })
}
