//! A department's scenario package: who may upload one, and installing it for workers.

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::ScenarioId;
use crate::db::models::Page;
use crate::db::models::package_versions::{self, VersionView};
use crate::db::models::scenarios::{self, Scenario, Visibility};
use crate::error::AppError;
use crate::packages::{self, extract};
use crate::state::AppState;

pub fn managed_by_catalog(scenario: &Scenario) -> AppError {
    AppError::conflict(
        "managed_by_catalog",
        format!(
            "scenario `{}` comes from a catalog package; change the package in the catalog",
            scenario.id
        ),
    )
    .with("scenario", &scenario.id)
}

/// The scenario, if the caller may upload its package: its department (or an admin), and
/// only for scenarios posted through the API.
pub async fn uploadable(
    state: &AppState,
    id: ScenarioId,
    user: CurrentUser,
) -> Result<Scenario, AppError> {
    state
        .db
        .read(move |conn| {
            let scenario = crate::services::scenarios::visible(conn, &id, &user.visibility())?;
            user.require_department_of(&scenario.organization_id)?;
            if scenario.from_catalog() {
                return Err(managed_by_catalog(&scenario));
            }
            Ok(scenario)
        })
        .await
}

/// Receives, checks and installs a package for a scenario posted through the API: what the
/// API route and the department console's upload form both do. Refused with every problem
/// listed, and then nothing changed.
pub async fn install_package<S, E>(
    state: &AppState,
    id: ScenarioId,
    user: CurrentUser,
    body: S,
    declared: Option<u64>,
) -> Result<serde_json::Value, AppError>
where
    S: futures_util::Stream<Item = Result<actix_web::web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let scenario = uploadable(state, id.clone(), user.clone()).await?;
    let max_bytes = state.config.max_package_bytes;
    if declared.is_some_and(|length| length > max_bytes) {
        return Err(AppError::PayloadTooLarge(format!(
            "the package is larger than the limit of {max_bytes} bytes"
        )));
    }
    let received = packages::receive(&state.config.data_dir, body, max_bytes).await?;
    let limits = extract::Limits {
        max_entries: state.config.max_package_entries,
        max_bytes,
    };
    let (data_dir, blobs) = (state.config.data_dir.clone(), state.blobs.clone());
    let installed = tokio::task::spawn_blocking(move || {
        packages::install(&data_dir, &blobs, &received, &scenario, limits)
    })
    .await??;
    let package = &installed.package;
    let mut body = serde_json::json!({
        "scenario_id": id,
        "archive_digest": installed.archive_digest,
        "bundle_digest": installed.prepared.bundle_digest,
        "hidden_items": package.hidden_items,
        "public_board_items": package.public_board_items,
        "private_board_items": package.private_board_items,
        "sample_items": package.sample_items,
    });
    let (spec, archive) = (installed.prepared.spec.clone(), installed.archive_digest);
    let changed = id.clone();
    let adopted = state
        .db
        .write(move |conn| {
            // Checked again inside the transaction: the scenario may have changed meanwhile.
            let scenario =
                scenarios::find(conn, &id)?.ok_or_else(|| AppError::missing("scenario", &id))?;
            if scenario.from_catalog() {
                return Err(managed_by_catalog(&scenario));
            }
            scenarios::set_package(conn, &scenario, &spec, &archive, &user.id)
        })
        .await?;
    if adopted.rescores_queued > 0 {
        state.queue_signal.notify_waiters();
    }
    body["package_version"] = adopted.package_version.into();
    body["new_version"] = adopted.new_version.into();
    body["rescores_queued"] = adopted.rescores_queued.into();
    if adopted.new_version {
        let version = adopted.package_version;
        let changes = state
            .db
            .read(move |conn| crate::services::package_changes::latest(conn, &changed, version))
            .await?;
        if let Some(changes) = changes {
            body["changes"] = serde_json::to_value(changes)
                .map_err(|e| AppError::Internal(format!("package changes: {e}")))?;
        }
    }
    Ok(body)
}

/// A scenario's package versions as its viewers may list them: the one in force and a
/// page of the versions, newest first.
#[derive(Debug, serde::Serialize)]
pub struct VersionsView {
    pub scenario_id: ScenarioId,
    pub current: i32,
    pub versions: Vec<VersionView>,
    pub page: u32,
    pub per_page: u32,
    pub total: i64,
}

pub fn versions_of(
    conn: &mut DbConnection,
    id: &ScenarioId,
    visibility: &Visibility,
    page: Page,
) -> Result<VersionsView, AppError> {
    let scenario = crate::services::scenarios::visible(conn, id, visibility)?;
    let (rows, total) = package_versions::of_scenario(conn, &scenario.id, page)?;
    let versions = rows
        .iter()
        .map(VersionView::new)
        .collect::<Result<_, _>>()?;
    Ok(VersionsView {
        current: scenario.package_version,
        scenario_id: scenario.id,
        versions,
        page: page.number,
        per_page: page.size,
        total,
    })
}
