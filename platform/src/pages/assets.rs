//! `/static/<name>` and `/favicon.ico`: the embedded CSS, script and icon, cached for a
//! year (URLs carry `?v=`).

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::AppError;
use crate::pages::site::Assets;

/// `/favicon.ico`, where browsers look for the site's icon whatever the page says.
pub async fn favicon() -> Result<HttpResponse, AppError> {
    asset("favicon.ico".to_owned())
}

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    asset(path.into_inner())
}

fn asset(name: String) -> Result<HttpResponse, AppError> {
    let file = Assets::get(&name)
        .ok_or_else(|| AppError::missing("file", format_args!("/static/{name}")))?;
    let content_type = match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        _ => "application/octet-stream",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(file.data.into_owned()))
}
