//! Loading scenario packages from the catalog folder into the opportunity list.
//!
//! Valid packages are upserted as published scenarios (`source = catalog`); a package with
//! problems is refused with every problem listed, and the others load regardless. A
//! refused package that loaded before keeps its last good version.

use std::path::{Path, PathBuf};

use jiebang_scenarios::package::{self, ScenarioPackage, ValidationReport};

use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, PhaseId, ScenarioId};
use crate::db::models::catalog_sync;
use crate::db::models::phases::Phase;
use crate::db::models::scenarios::{self, Scenario, ScenarioSource, ScenarioSpec, ScenarioStatus};
use crate::db::models::{audit, organizations};
use crate::db::{Db, now_millis};
use crate::error::AppError;
use crate::storage::BlobStore;

/// What a load did.
#[derive(Debug, Default)]
pub struct CatalogReport {
    pub loaded: Vec<ScenarioId>,
    pub refused: Vec<ValidationReport>,
}

/// The package folders under `dir` (those holding a `scenario.toml`), sorted.
pub fn package_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.join("scenario.toml").is_file())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

/// The files a worker needs to evaluate (manifest, public samples, hidden set) as one tar,
/// stored by digest so workers fetch and verify it once per version. Its headers carry no
/// times or owners, so the same files make the same digest: a catalog copied or checked
/// out anew is no new package version.
fn bundle(package: &ScenarioPackage, blobs: &BlobStore) -> Result<String, AppError> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    let root = &package.root;
    let add = |builder: &mut tar::Builder<Vec<u8>>, relative: &str| -> std::io::Result<()> {
        let path = root.join(relative);
        if path.is_dir() {
            builder.append_dir_all(relative, &path)
        } else {
            builder.append_path_with_name(&path, relative)
        }
    };
    for part in ["scenario.toml", "public/samples", "hidden"] {
        add(&mut builder, part)
            .map_err(|e| AppError::Internal(format!("bundling {}: {e}", root.display())))?;
    }
    let bytes = builder
        .into_inner()
        .map_err(|e| AppError::Internal(format!("bundling {}: {e}", root.display())))?;
    Ok(blobs.put(&bytes)?.digest)
}

/// What a valid package makes of a scenario: its bundle stored for workers and the spec
/// (manifest, where the package lives, the bundle's digest) the platform evaluates by.
/// Shared by catalog loads and departments' uploads, so both are evaluated the same way.
pub fn prepare(package: &ScenarioPackage, blobs: &BlobStore) -> Result<PreparedPackage, AppError> {
    let bundle_digest = bundle(package, blobs)?;
    let spec = ScenarioSpec {
        manifest: package.manifest.clone(),
        package_dir: package.root.clone(),
        bundle_digest: bundle_digest.clone(),
        hidden_items: package.hidden_items,
        sample_items: package.sample_items,
    };
    Ok(PreparedPackage {
        bundle_digest,
        spec,
    })
}

/// A package ready to become a scenario's: see [`prepare`].
#[derive(Debug, Clone)]
pub struct PreparedPackage {
    pub bundle_digest: String,
    /// What the scenario's `spec` column keeps.
    pub spec: ScenarioSpec,
}

/// Validates and loads every package under `dir`; a missing folder loads nothing.
pub fn load(db: &Db, blobs: &BlobStore, dir: &Path) -> Result<CatalogReport, AppError> {
    let mut report = CatalogReport::default();
    for package_dir in package_dirs(dir) {
        let package = match package::validate(&package_dir) {
            Ok(package) => package,
            Err(problems) => {
                tracing::warn!("scenario package refused:\n{problems}");
                report.refused.push(problems);
                continue;
            }
        };
        let prepared = prepare(&package, blobs)?;
        match db.write_blocking(|conn| upsert(conn, &package, &prepared)) {
            Ok(id) => report.loaded.push(id),
            Err(
                error
                @ (AppError::Invalid { .. } | AppError::Fields(_) | AppError::Conflict { .. }),
            ) => {
                let message = error.to_string();
                let problems = ValidationReport {
                    package: package_dir.clone(),
                    problems: vec![
                        package::Problem::new(
                            package::ProblemCode::RefusedByPlatform,
                            "scenario.toml",
                            None,
                            &message,
                        )
                        .with("reason", &message),
                    ],
                };
                tracing::warn!("scenario package refused:\n{problems}");
                report.refused.push(problems);
            }
            Err(other) => return Err(other),
        }
    }
    Ok(report)
}

fn upsert(
    conn: &mut DbConnection,
    package: &ScenarioPackage,
    prepared: &PreparedPackage,
) -> Result<ScenarioId, AppError> {
    let manifest = &package.manifest;
    let id = ScenarioId(manifest.id.clone());
    let town = OrganizationId(manifest.town.clone());
    if !organizations::exists(conn, &town)? {
        return Err(crate::validate::FieldProblem::new(
            "town",
            "unknown_organization",
            format!("`{town}` is not an organisation on this platform"),
        )
        .with("id", town)
        .into());
    }
    let now = now_millis();
    let row = Scenario {
        id: id.clone(),
        organization_id: town,
        title_zh: manifest.title.zh.clone(),
        title_en: manifest.title.en.clone(),
        domain: manifest.domain.clone(),
        summary_zh: manifest.summary.zh.clone(),
        summary_en: manifest.summary.en.clone(),
        description: manifest
            .description
            .as_ref()
            .map(|d| format!("{}\n\n{}", d.zh, d.en))
            .unwrap_or_default(),
        bounty_cny: i64::try_from(manifest.bounty.amount_cny).unwrap_or(i64::MAX),
        mode: manifest.mode,
        metric: manifest.metric.name,
        latency_budget_ms: manifest.latency.budget_ms,
        daily_quota: i32::try_from(manifest.quota.submissions_per_day).unwrap_or(i32::MAX),
        status: ScenarioStatus::Published,
        source: ScenarioSource::Catalog,
        spec: prepared.spec.to_column()?,
        created_by: None,
        created_at: now,
        updated_at: now,
        published_at: Some(now),
        package_version: crate::db::models::package_versions::NO_PACKAGE,
    };
    let row = match scenarios::find(conn, &id)? {
        Some(existing) if !existing.from_catalog() => {
            return Err(AppError::conflict(
                "scenario_exists",
                format!("id `{id}` belongs to a scenario posted through the API"),
            )
            .with("scenario", id));
        }
        Some(existing) => {
            let row = Scenario {
                created_at: existing.created_at,
                published_at: existing.published_at,
                package_version: existing.package_version,
                ..row
            };
            catalog_sync::replace_from_catalog(conn, &row)?;
            row
        }
        None => {
            scenarios::insert(conn, &row, None)?;
            row
        }
    };
    let phases: Vec<Phase> = manifest
        .phases
        .iter()
        .enumerate()
        .map(|(index, phase)| Phase {
            id: PhaseId(format!("{id}-phase-{}", index + 1)),
            scenario_id: id.clone(),
            name: phase.name.clone(),
            opens_at: phase.opens_at.timestamp_millis(),
            closes_at: phase.closes_at.timestamp_millis(),
            created_at: now,
        })
        .collect();
    catalog_sync::sync_catalog_phases(conn, &id, &phases)?;
    let adopted = scenarios::adopt_package(conn, &row, &prepared.spec, None, None)?;
    audit::record(
        conn,
        None,
        "scenario.catalog_load",
        "scenario",
        id.as_str(),
        serde_json::json!({
            "package": package.root,
            "hidden_items": package.hidden_items,
            "adopted": adopted,
        }),
    )?;
    Ok(id)
}
