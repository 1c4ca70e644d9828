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
    let body = state.db.read(move |conn| list(conn, page)).await?;
    Ok(HttpResponse::Ok().json(body))
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
