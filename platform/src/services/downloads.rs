//! A scenario's public files: only the plain files its package has under `public/`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::auth::MaybeUser;
use crate::db::ids::ScenarioId;
use crate::db::models::scenarios::Scenario;
use crate::error::AppError;
use crate::services::scenarios::visible;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct FileView {
    /// Relative to `public/`, with `/` between folders.
    pub path: String,
    pub size: u64,
    pub url: String,
}

/// The package folder of a scenario; one posted through the API has none until its
/// department uploads a package.
pub fn package_dir(scenario: &Scenario) -> Result<Option<PathBuf>, AppError> {
    Ok(scenario.spec()?.map(|spec| spec.package_dir))
}

/// A downloadable file: its path relative to `public/`, where it is, its size.
pub struct PublicFile {
    pub relative: String,
    pub path: PathBuf,
    pub size: u64,
}

/// The downloadable files of a package (reads the disk: call off the async threads).
pub fn listing(package: &Path) -> Vec<PublicFile> {
    let public = package.join("public");
    jiebang_scenarios::package::public_files(package)
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&public).ok()?;
            let parts: Vec<&str> = relative.iter().filter_map(|p| p.to_str()).collect();
            Some(PublicFile {
                relative: parts.join("/"),
                size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                path,
            })
        })
        .collect()
}

pub async fn files_of(
    state: &AppState,
    viewer: MaybeUser,
    id: ScenarioId,
) -> Result<(ScenarioId, Vec<PublicFile>), AppError> {
    let visibility = viewer.visibility();
    let scenario = state
        .db
        .read(move |conn| visible(conn, &id, &visibility))
        .await?;
    let files = match package_dir(&scenario)? {
        Some(dir) => tokio::task::spawn_blocking(move || listing(&dir)).await?,
        None => Vec::new(),
    };
    Ok((scenario.id, files))
}

/// The rules a submission is evaluated by: the manifest of the package in force, as
/// `jiebang try` needs it to evaluate an image on the public samples. The seed that splits
/// the hidden set into the boards' parts is left out (0): which hidden item scores on
/// which board is the platform's business.
#[derive(Debug, Serialize)]
pub struct ManifestView {
    pub scenario_id: ScenarioId,
    pub package_version: i32,
    pub manifest: jiebang_scenarios::package::Manifest,
}

/// The manifest of a scenario the viewer may see; 404 while it has no package.
pub async fn manifest_of(
    state: &AppState,
    viewer: MaybeUser,
    id: ScenarioId,
) -> Result<ManifestView, AppError> {
    let visibility = viewer.visibility();
    let scenario = state
        .db
        .read(move |conn| visible(conn, &id, &visibility))
        .await?;
    let mut manifest = scenario
        .spec()?
        .map(|spec| spec.manifest)
        .ok_or_else(|| AppError::missing("package", &scenario.id))?;
    manifest.split.seed = 0;
    Ok(ManifestView {
        scenario_id: scenario.id,
        package_version: scenario.package_version,
        manifest,
    })
}

/// The downloadable files of a scenario the viewer may see (the API's and the page's list).
pub async fn file_views(
    state: &AppState,
    viewer: MaybeUser,
    id: ScenarioId,
) -> Result<Vec<FileView>, AppError> {
    let (id, files) = files_of(state, viewer, id).await?;
    Ok(files
        .into_iter()
        .map(|file| FileView {
            url: format!("/api/v1/scenarios/{id}/files/{}", file.relative),
            path: file.relative,
            size: file.size,
        })
        .collect())
}
