//! A scenario's public data: the list of files under the package's `public/` and each file's
//! download, and the manifest's rules. Nothing else of the package is ever served, and no
//! symbolic link.

use std::path::Path;

use actix_web::http::header::{self, ContentDisposition, DispositionParam, DispositionType};
use actix_web::{HttpResponse, web};

use crate::auth::MaybeUser;
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::services::downloads::{file_views, files_of, manifest_of};
use crate::state::AppState;

/// `GET /api/v1/scenarios/{id}/files`
pub async fn list(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let views = file_views(&state, viewer, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "files": views })))
}

/// `GET /api/v1/scenarios/{id}/manifest` — the rules of the package in force.
pub async fn manifest(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(manifest_of(&state, viewer, path.into_inner()).await?))
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
        .ok_or_else(|| AppError::missing("public_file", &wanted).with("scenario", &id))?;
    let opened = tokio::fs::File::open(&file)
        .await
        .map_err(|_| AppError::missing("public_file", &wanted).with("scenario", &id))?;
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
