//! The operator's console: workers and whether they are alive, the queue, and how much of
//! each accelerator evaluations used over the last day.

use actix_web::{HttpResponse, web};

use crate::auth::OperatorOrAdmin;
use crate::error::AppError;
use crate::services::overview::{alive_millis, overview_of};
use crate::state::AppState;

/// `GET /api/v1/admin/overview` — operators and admins.
pub async fn overview(
    state: web::Data<AppState>,
    _caller: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let alive = alive_millis(&state);
    let body = state.db.read(move |conn| overview_of(conn, alive)).await?;
    Ok(HttpResponse::Ok().json(body))
}
