//! A scenario's public data: the list of files under the package's `public/` and each file's
//! download. Nothing outside `public/` is ever served, and no symbolic link.

use std::path::{Path, PathBuf};

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::api::scenarios::visible;
use crate::auth::MaybeUser;
use crate::db::ids::ScenarioId;
use crate::db::models::scenarios::Scenario;
use crate::error::AppError;
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
fn package_dir(scenario: &Scenario) -> Result<Option<PathBuf>, AppError> {
    Ok(scenario.spec()?.map(|spec| spec.package_dir))
}

/// A downloadable file: its path relative to `public/`, where it is, its size.
struct PublicFile {
    relative: String,
    path: PathBuf,
    size: u64,
}

/// The downloadable files of a package (reads the disk: call off the async threads).
fn listing(package: &Path) -> Vec<PublicFile> {
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

async fn files_of(
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

/// `GET /api/v1/scenarios/{id}/files`
pub async fn list(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let views = file_views(&state, viewer, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "files": views })))
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

/// `GET /api/v1/scenarios/{id}/files/{path}` — only a path the listing names.
pub async fn download(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<(ScenarioId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, wanted) = path.into_inner();
    let (id, files) = files_of(&state, viewer, id).await?;
    let file = files
        .into_iter()
        .find(|file| file.relative == wanted)
        .map(|file| file.path)
        .ok_or_else(|| AppError::not_found(format_args!("public file `{wanted}` of `{id}`")))?;
    let opened = tokio::fs::File::open(&file)
        .await
        .map_err(|_| AppError::not_found(format_args!("public file `{wanted}` of `{id}`")))?;
    let name = wanted.rsplit('/').next().unwrap_or(&wanted).to_owned();
    let content_type = match Path::new(&name).extension().and_then(|e| e.to_str()) {
        Some("md") => "text/markdown; charset=utf-8",
        Some("jsonl") => "application/x-ndjson",
        Some("json") => "application/json",
        Some("csv") => "text/csv; charset=utf-8",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name)],
        })
        .streaming(tokio_util::io::ReaderStream::new(opened)))
}
