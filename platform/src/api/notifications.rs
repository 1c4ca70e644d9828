//! The notification routes: the caller reads their notifications and marks them read.

use actix_web::{HttpResponse, web};

use crate::api::input::{Json, Query};
use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::services::notifications::{self, ReadForm};
use crate::services::paging::PageQuery;
use crate::state::AppState;

/// `GET /api/v1/notifications` — the caller's, newest first, with the unread count.
pub async fn list(
    state: web::Data<AppState>,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = query.page()?;
    let body = state
        .db
        .read(move |conn| notifications::page_for(conn, &user.id, page))
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/notifications/read` — `{"ids": [...]}` marks those, `{}` marks all.
pub async fn read(
    state: web::Data<AppState>,
    user: CurrentUser,
    Json(form): Json<ReadForm>,
) -> Result<HttpResponse, AppError> {
    let unread = state
        .db
        .write(move |conn| notifications::mark_read(conn, &user.id, &form))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "unread": unread })))
}
