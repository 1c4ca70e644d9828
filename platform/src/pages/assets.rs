//! `/static/<name>`: the embedded CSS and script, cached for a year (URLs carry `?v=`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::AppError;
use crate::pages::site::Assets;

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let name = path.into_inner();
    let file =
        Assets::get(&name).ok_or_else(|| AppError::not_found(format_args!("`/static/{name}`")))?;
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.data.into_owned()))
}
