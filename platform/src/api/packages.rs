//! `PUT /api/v1/scenarios/{id}/package`: a department gives a scenario it posted through
//! the API the package (manifest, public data, hidden set, baseline) it is evaluated with;
//! each accepted package is a version, listed by `GET …/package/versions`.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::api::input::Query;
use crate::api::list_page;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::services::packages::{install_package, versions_of};
use crate::services::paging::PageQuery;
use crate::state::AppState;

/// `PUT /api/v1/scenarios/{id}/package` — a tar (or tar.gz) of the package folder.
pub async fn upload(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let declared = crate::api::input::declared_length(&request);
    let installed = install_package(&state, path.into_inner(), user, body, declared).await?;
    Ok(HttpResponse::Ok().json(installed))
}

/// `GET /api/v1/scenarios/{id}/package/versions` — every package version, newest first, to
/// whoever sees the scenario.
pub async fn versions(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        versions_of(conn, &id, &viewer.visibility(), page)
    })
    .await
}
