//! The JSON API under `/api/v1`: one module of thin handlers per domain; the rules they
//! apply live in [`crate::services`].

pub mod audit;
pub mod awards;
pub mod billing;
pub mod compare;
pub mod downloads;
pub mod input;
pub mod internal;
pub mod judging;
pub mod notifications;
pub mod organizations;
pub mod overview;
pub mod packages;
pub mod results;
pub mod reviews;
pub mod scenarios;
pub mod submissions;
pub mod teams;
pub mod technical_reports;
pub mod users;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::models::Page;
use crate::error::AppError;
use crate::services::paging::PageQuery;
use crate::state::AppState;

/// Answers a list route: `list` reads the page `query` asks for (checked first) on a pooled
/// connection, off the request threads, and its answer is the JSON body.
pub(crate) async fn list_page<T: Serialize + Send + 'static>(
    state: &AppState,
    query: PageQuery,
    list: impl FnOnce(&mut DbConnection, Page) -> Result<T, AppError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    let page = query.page()?;
    read_json(state, move |conn| list(conn, page)).await
}

/// Answers 200 with what `read` returns as JSON, read on a pooled connection off the
/// request threads: the whole of most handlers that show something.
pub(crate) async fn read_json<T: Serialize + Send + 'static>(
    state: &AppState,
    read: impl FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    let body = state.db.read(read).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// Answers `status` with what `write` returns as JSON, written in one transaction off the
/// request threads: the whole of most handlers that change something.
pub(crate) async fn write_json<T: Serialize + Send + 'static>(
    state: &AppState,
    status: StatusCode,
    write: impl FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    let body = state.db.write(write).await?;
    Ok(HttpResponse::build(status).json(body))
}

/// A CSV attachment named `filename` (a statement, a judging record).
pub(crate) fn csv_download(filename: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ))
        .body(body)
}
