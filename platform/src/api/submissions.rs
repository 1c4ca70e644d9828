//! Submission routes: streaming upload of an image archive, its stages, the team's quota.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::api::input::Query;
use crate::api::input::declared_length;
use crate::auth::CurrentUser;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId};
use crate::db::models::scenarios;
use crate::db::models::submissions;
use crate::db::models::teams;
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::submissions::{detail, quota};
use crate::services::upload::receive_submission;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    pub team_id: TeamId,
}

/// `POST /api/v1/scenarios/{id}/submissions?team_id=…` — the body is the `docker save`
/// archive, streamed. Checked before a byte is stored, stored whole or not at all.
pub async fn upload(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Query(query): Query<TeamQuery>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let declared = declared_length(&request);
    let (view, quota) = receive_submission(
        &state,
        user,
        path.into_inner(),
        query.team_id,
        declared,
        body,
    )
    .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({
        "submission": view,
        "quota": quota,
    })))
}

/// `GET /api/v1/submissions/{id}` — the team's members, judges and admins.
pub async fn show(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let submission = submissions::find(conn, &id)?
                .ok_or_else(|| AppError::missing("submission", &id))?;
            if !user.sees_all_work()
                && teams::role_of(conn, &submission.team_id, &user.id)?.is_none()
            {
                // Another team's submission does not exist as far as this caller knows.
                return Err(AppError::missing("submission", &id));
            }
            detail(conn, &id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// `GET /api/v1/scenarios/{id}/quota?team_id=…` — the team's members.
pub async fn show_quota(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Query(query): Query<TeamQuery>,
) -> Result<HttpResponse, AppError> {
    let scenario_id = path.into_inner();
    let view = state
        .db
        .read(move |conn| {
            let scenario = scenarios::find(conn, &scenario_id)?
                .filter(|s| user.visibility().can_see(s))
                .ok_or_else(|| AppError::missing("scenario", &scenario_id))?;
            if !user.sees_all_work() && teams::role_of(conn, &query.team_id, &user.id)?.is_none() {
                return Err(AppError::forbidden(
                    "team_members_only",
                    format!("only members of team `{}` may see its quota", query.team_id),
                )
                .with("team", &query.team_id));
            }
            quota(conn, &scenario, &query.team_id, now_millis())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
