//! Package versions: every package a scenario has been given (v1, v2, …), kept with the spec
//! workers evaluate by, so a result and a re-score each name the version they belong to.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, UserId};
use crate::db::models::scenarios::ScenarioSpec;
use crate::db::models::{Page, paged};
use crate::db::schema::package_versions;
use crate::error::AppError;

/// The version of a scenario that has no package yet: jobs and results of such a
/// scenario carry it, and its boards rank them.
pub const NO_PACKAGE: i32 = 0;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = package_versions)]
pub struct PackageVersion {
    pub scenario_id: ScenarioId,
    /// 1 for the first package, one more for each later one.
    pub version: i32,
    /// The [`ScenarioSpec`] of this version as JSON; read it with [`PackageVersion::spec`].
    pub spec: String,
    /// The uploaded archive's digest; `None` for catalog packages and versions that
    /// predate version history.
    pub archive_digest: Option<String>,
    pub uploaded_by: Option<UserId>,
    pub created_at: i64,
}

impl PackageVersion {
    pub fn spec(&self) -> Result<ScenarioSpec, AppError> {
        serde_json::from_str(&self.spec).map_err(|error| {
            AppError::Internal(format!(
                "the stored spec of version {} of scenario `{}` does not parse: {error}",
                self.version, self.scenario_id
            ))
        })
    }
}

/// What the API and the pages show of a version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionView {
    pub version: i32,
    pub bundle_digest: String,
    pub archive_digest: Option<String>,
    pub hidden_items: usize,
    pub created_at: String,
}

impl VersionView {
    pub fn new(row: &PackageVersion) -> Result<Self, AppError> {
        let spec = row.spec()?;
        Ok(Self {
            version: row.version,
            bundle_digest: spec.bundle_digest,
            archive_digest: row.archive_digest.clone(),
            hidden_items: spec.hidden_items,
            created_at: crate::time::iso_time(row.created_at),
        })
    }
}

pub fn find(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    version: i32,
) -> QueryResult<Option<PackageVersion>> {
    package_versions::table
        .find((scenario, version))
        .select(PackageVersion::as_select())
        .first(conn)
        .optional()
}

/// The spec a job of `version` is evaluated by; `None` for [`NO_PACKAGE`].
pub fn spec_of(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    version: i32,
) -> Result<Option<ScenarioSpec>, AppError> {
    if version == NO_PACKAGE {
        return Ok(None);
    }
    let row = find(conn, scenario, version)?.ok_or_else(|| {
        AppError::Internal(format!(
            "scenario `{scenario}` has no package version {version}"
        ))
    })?;
    row.spec().map(Some)
}

/// A page of a scenario's versions, newest first.
pub fn of_scenario(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    page: Page,
) -> QueryResult<(Vec<PackageVersion>, i64)> {
    paged!(
        conn,
        page,
        package_versions::table.filter(package_versions::scenario_id.eq(scenario)),
        order: package_versions::version.desc(),
        select: PackageVersion::as_select(),
    )
}

/// Every version of every scenario (for the store's list of files still referred to).
pub fn all(conn: &mut DbConnection) -> QueryResult<Vec<PackageVersion>> {
    package_versions::table
        .select(PackageVersion::as_select())
        .load(conn)
}

/// The version a phase's board ranks: the one in force when the phase closed (the newest
/// created before then), or the first when every version is newer than the phase (a
/// catalog loaded after its phase had closed). `current` while the phase is open.
pub fn in_force_at(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    closes_at: i64,
    now: i64,
    current: i32,
) -> QueryResult<i32> {
    if now < closes_at {
        return Ok(current);
    }
    let before: Option<i32> = package_versions::table
        .filter(package_versions::scenario_id.eq(scenario))
        .filter(package_versions::created_at.le(closes_at))
        .select(diesel::dsl::max(package_versions::version))
        .first(conn)?;
    if let Some(version) = before {
        return Ok(version);
    }
    let first: Option<i32> = package_versions::table
        .filter(package_versions::scenario_id.eq(scenario))
        .select(diesel::dsl::min(package_versions::version))
        .first(conn)?;
    Ok(first.unwrap_or(current))
}

/// Keeps `spec` as the scenario's next version and returns its number with `true`; the
/// same bundle as the newest version's (an archive uploaded twice, a catalog reloaded
/// unchanged, a change to public files only) is no new version and returns that
/// version's number with `false`.
pub fn record(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    spec: &ScenarioSpec,
    archive_digest: Option<&str>,
    actor: Option<&UserId>,
    now: i64,
) -> Result<(i32, bool), AppError> {
    let newest: Option<PackageVersion> = package_versions::table
        .filter(package_versions::scenario_id.eq(scenario))
        .order(package_versions::version.desc())
        .select(PackageVersion::as_select())
        .first(conn)
        .optional()?;
    if let Some(newest) = &newest
        && newest.spec()?.bundle_digest == spec.bundle_digest
    {
        // Only what workers never see changed (public files, where the package lies):
        // the same version, now pointing at the latest copy.
        diesel::update(package_versions::table.find((scenario, newest.version)))
            .set(package_versions::spec.eq(spec.to_column()?))
            .execute(conn)?;
        return Ok((newest.version, false));
    }
    let version = newest.map_or(1, |v| v.version + 1);
    diesel::insert_into(package_versions::table)
        .values(PackageVersion {
            scenario_id: scenario.clone(),
            version,
            spec: spec.to_column()?,
            archive_digest: archive_digest.map(str::to_owned),
            uploaded_by: actor.cloned(),
            created_at: now,
        })
        .execute(conn)?;
    Ok((version, true))
}
