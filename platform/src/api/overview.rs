//! The operator's console: workers and whether they are alive, the queue, and how much of
//! each accelerator evaluations used over the last day; and the queue job by job.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::Query;
use crate::api::list_page;
use crate::auth::OperatorOrAdmin;
use crate::db::models::jobs::JobStatus;
use crate::error::AppError;
use crate::services::overview::{alive_millis, jobs_of, overview_of};
use crate::services::paging::PageQuery;
use crate::state::AppState;

/// `GET /api/v1/admin/overview` — operators and admins; `page`/`per_page` page the workers.
pub async fn overview(
    state: web::Data<AppState>,
    _caller: OperatorOrAdmin,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let alive = alive_millis(&state);
    list_page(&state, query, move |conn, page| {
        overview_of(conn, alive, page)
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobsQuery {
    pub status: Option<JobStatus>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// `GET /api/v1/admin/jobs` — operators and admins: the queue, job by job, in the order
/// workers take them (`status` picks one state; waiting and running ones by default).
pub async fn jobs(
    state: web::Data<AppState>,
    _caller: OperatorOrAdmin,
    Query(query): Query<JobsQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    list_page(&state, paging, move |conn, page| {
        jobs_of(conn, query.status, page)
    })
    .await
}
