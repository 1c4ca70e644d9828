//! Scenario routes: the public opportunity list, and departments posting and editing.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::{Json, Query};
use crate::api::list_page;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::{OrganizationId, PhaseId, ScenarioId, TeamId};
use crate::db::models::phases::{PhaseForm, PhasePatch};
use crate::db::models::scenarios::{ScenarioFilter, ScenarioForm, ScenarioPatch, ScenarioState};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::paging::PageQuery;
use crate::services::scenarios::{
    PhaseView, add_scenario_phase, create_scenario, delete_scenario_phase, detail_view, enrol_team,
    enrolments_of, list_views, publish_scenario, update_scenario, update_scenario_phase, visible,
};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioListQuery {
    pub town: Option<OrganizationId>,
    pub domain: Option<String>,
    pub status: Option<ScenarioState>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

/// `GET /api/v1/scenarios` — public opportunity list.
pub async fn list(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    Query(query): Query<ScenarioListQuery>,
) -> Result<HttpResponse, AppError> {
    let paging = PageQuery {
        page: query.page,
        per_page: query.per_page,
    };
    let filter = ScenarioFilter {
        town: query.town,
        domain: query.domain,
        state: query.status,
        organizations: None,
    };
    let visibility = viewer.visibility();
    list_page(&state, paging, move |conn, page| {
        list_views(conn, &filter, &visibility, page)
    })
    .await
}

/// `GET /api/v1/scenarios/{id}` — public for published scenarios.
pub async fn show(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let visibility = viewer.visibility();
    let view = state
        .db
        .read(move |conn| {
            let scenario = visible(conn, &id, &visibility)?;
            detail_view(conn, scenario)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/scenarios` — a department member, for their own organisation.
pub async fn create(
    state: web::Data<AppState>,
    user: CurrentUser,
    Json(form): Json<ScenarioForm>,
) -> Result<HttpResponse, AppError> {
    let view = state
        .db
        .write(move |conn| {
            let scenario = create_scenario(conn, &user, form)?;
            detail_view(conn, scenario)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `PATCH /api/v1/scenarios/{id}` — its department.
pub async fn update(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(patch): Json<ScenarioPatch>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .write(move |conn| {
            update_scenario(conn, &user, &id, patch)?;
            let scenario = visible(conn, &id, &user.visibility())?;
            detail_view(conn, scenario)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/scenarios/{id}/publish` — its department.
pub async fn publish(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .write(move |conn| {
            publish_scenario(conn, &user, &id)?;
            let scenario = visible(conn, &id, &user.visibility())?;
            detail_view(conn, scenario)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `POST /api/v1/scenarios/{id}/phases` — its department.
pub async fn add_phase(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<PhaseForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let phase = state
        .db
        .write(move |conn| add_scenario_phase(conn, &user, &id, form))
        .await?;
    Ok(HttpResponse::Created().json(PhaseView::new(&phase, now_millis())))
}

/// `PATCH /api/v1/scenarios/{id}/phases/{phase_id}` — its department.
pub async fn update_phase(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(ScenarioId, PhaseId)>,
    Json(patch): Json<PhasePatch>,
) -> Result<HttpResponse, AppError> {
    let (id, phase_id) = path.into_inner();
    let phase = state
        .db
        .write(move |conn| update_scenario_phase(conn, &user, &id, &phase_id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(PhaseView::new(&phase, now_millis())))
}

/// `DELETE /api/v1/scenarios/{id}/phases/{phase_id}` — its department.
pub async fn delete_phase(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(ScenarioId, PhaseId)>,
) -> Result<HttpResponse, AppError> {
    let (id, phase_id) = path.into_inner();
    state
        .db
        .write(move |conn| delete_scenario_phase(conn, &user, &id, &phase_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrolForm {
    pub team_id: TeamId,
}

/// `POST /api/v1/scenarios/{id}/enrolments` — a member of the team, while a phase is open.
pub async fn enrol(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<EnrolForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .write(move |conn| enrol_team(conn, &id, &form.team_id, &user))
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /api/v1/scenarios/{id}/enrolments` — its department, judges and admins.
pub async fn enrolments(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        enrolments_of(conn, &id, &user, page)
    })
    .await
}
