//! Award routes: the department records and announces the award; anyone who sees the
//! scenario reads the announcement (公示); anyone signed in objects; the department answers.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api::input::Json;
use crate::api::{read_json, write_json};
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::{ObjectionId, ScenarioId};
use crate::error::AppError;
use crate::services::awards::{self, AwardForm, TextForm};
use crate::state::AppState;

/// `GET /api/v1/scenarios/{id}/award` — the department (or an admin), announced or not.
pub async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    read_json(&state, move |conn| awards::for_department(conn, &user, &id)).await
}

/// `PUT /api/v1/scenarios/{id}/award` — the department records (or replaces) the award.
pub async fn decide(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<AwardForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    write_json(&state, StatusCode::OK, move |conn| {
        awards::decide(conn, &user, &id, &form)
    })
    .await
}

/// `POST /api/v1/scenarios/{id}/award/announce` — publishes the announcement.
pub async fn announce(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    write_json(&state, StatusCode::OK, move |conn| {
        awards::announce(conn, &user, &id)
    })
    .await
}

/// `GET /api/v1/scenarios/{id}/announcement` — the public announcement, once published.
pub async fn announcement(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    read_json(&state, move |conn| {
        awards::announcement(conn, &viewer.visibility(), &id)
    })
    .await
}

/// `POST /api/v1/scenarios/{id}/objections` — anyone signed in, during the period.
pub async fn object(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<TextForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    write_json(&state, StatusCode::CREATED, move |conn| {
        awards::object(conn, &user, &id, &form)
    })
    .await
}

/// `POST /api/v1/scenarios/{id}/objections/{objection_id}/answer` — the department, once.
pub async fn answer(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(ScenarioId, ObjectionId)>,
    Json(form): Json<TextForm>,
) -> Result<HttpResponse, AppError> {
    let (id, objection) = path.into_inner();
    write_json(&state, StatusCode::OK, move |conn| {
        awards::answer(conn, &user, &id, &objection, &form)
    })
    .await
}
