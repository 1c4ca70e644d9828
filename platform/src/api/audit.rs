//! The audit-log route: admins read who changed what.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::api::input::Query;
use crate::api::list_page;
use crate::auth::Admin;
use crate::db::models::audit::{self, AuditEntry};
use crate::error::AppError;
use crate::services::paging::{PageQuery, Paginated};
use crate::state::AppState;
use crate::time::iso_time;

#[derive(Serialize)]
struct AuditView {
    id: i64,
    at: String,
    actor_id: Option<String>,
    action: String,
    subject_kind: String,
    subject_id: String,
    detail: serde_json::Value,
}

impl From<AuditEntry> for AuditView {
    fn from(entry: AuditEntry) -> Self {
        Self {
            id: entry.id,
            at: iso_time(entry.at),
            actor_id: entry.actor_id,
            action: entry.action,
            subject_kind: entry.subject_kind,
            subject_id: entry.subject_id,
            detail: serde_json::from_str(&entry.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// `GET /api/v1/audit` — admin, newest first.
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, |conn, page| {
        Ok(Paginated::of(
            audit::list(conn, page)?,
            page,
            AuditView::from,
        ))
    })
    .await
}
