//! Judging routes: the department sets the rubric and the panel; panel judges declare
//! their affiliations and score finalists; the department follows progress and totals.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api::input::Json;
use crate::api::{read_json, write_json};
use crate::auth::{CurrentUser, Judge, MaybeUser};
use crate::db::ids::{ScenarioId, TeamId, UserId};
use crate::error::AppError;
use crate::services::judging::{self, DeclarationForm, RubricForm, SheetForm, SheetOutcome};
use crate::state::AppState;

/// `GET /api/v1/scenarios/{id}/rubric` — to whoever sees the scenario.
pub async fn rubric(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    read_json(&state, move |conn| {
        judging::rubric_of(conn, &id, &viewer.visibility())
    })
    .await
}

/// `PUT /api/v1/scenarios/{id}/rubric` — the department, before the final phase closes.
pub async fn set_rubric(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    Json(form): Json<RubricForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    write_json(&state, StatusCode::OK, move |conn| {
        judging::set_rubric(conn, &user, &id, &form)
    })
    .await
}

/// `PUT /api/v1/scenarios/{id}/panel/{user_id}` — the department puts a judge on the
/// panel: 201, or 200 when they already were.
pub async fn assign(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(ScenarioId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (id, judge) = path.into_inner();
    let added = state
        .db
        .write(move |conn| judging::assign_judge(conn, &user, &id, &judge))
        .await?;
    Ok(if added {
        HttpResponse::Created().finish()
    } else {
        HttpResponse::Ok().finish()
    })
}

/// `DELETE /api/v1/scenarios/{id}/panel/{user_id}` — the department takes a judge off.
pub async fn unassign(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(ScenarioId, UserId)>,
) -> Result<HttpResponse, AppError> {
    let (id, judge) = path.into_inner();
    state
        .db
        .write(move |conn| judging::remove_judge(conn, &user, &id, &judge))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `PUT /api/v1/scenarios/{id}/declaration` — a panel judge's affiliations.
pub async fn declare(
    state: web::Data<AppState>,
    Judge(judge): Judge,
    path: web::Path<ScenarioId>,
    Json(form): Json<DeclarationForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    write_json(&state, StatusCode::OK, move |conn| {
        let institutions = judging::declare(conn, &judge, &id, &form)?;
        Ok(serde_json::json!({ "institutions": institutions }))
    })
    .await
}

/// `GET /api/v1/scenarios/{id}/finalists` — a panel judge's view of the finalists.
pub async fn finalists(
    state: web::Data<AppState>,
    Judge(judge): Judge,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    read_json(&state, move |conn| judging::judge_view(conn, &judge, &id)).await
}

/// `PUT /api/v1/scenarios/{id}/finalists/{team_id}/scores` — a panel judge's sheet for one
/// finalist: 201 new, 200 replaced, 403 naming the conflict of interest that blocks it.
pub async fn score(
    state: web::Data<AppState>,
    Judge(judge): Judge,
    path: web::Path<(ScenarioId, TeamId)>,
    Json(form): Json<SheetForm>,
) -> Result<HttpResponse, AppError> {
    let (id, team) = path.into_inner();
    let outcome = state
        .db
        .write(move |conn| judging::submit_sheet(conn, &judge, &id, &team, &form))
        .await?;
    match outcome {
        SheetOutcome::Saved {
            sheet,
            created: true,
        } => Ok(HttpResponse::Created().json(sheet)),
        SheetOutcome::Saved {
            sheet,
            created: false,
        } => Ok(HttpResponse::Ok().json(sheet)),
        SheetOutcome::Blocked(conflict) => Err(AppError::forbidden(
            "conflict_of_interest",
            conflict.to_string(),
        )),
    }
}

/// `GET /api/v1/scenarios/{id}/judging` — the department (or an admin): panel,
/// declarations, progress, every sheet and the aggregation.
pub async fn overview(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    read_json(&state, move |conn| judging::judging_view(conn, &user, &id)).await
}

/// `GET /api/v1/scenarios/{id}/judging/record.csv` — the department (or an admin): the
/// whole judging record, one row per fact, as an attachment.
pub async fn record_csv(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let filename = format!("judging-{id}.csv");
    let body = state
        .db
        .read(move |conn| judging::record_csv(conn, &user, &id))
        .await?;
    Ok(crate::api::csv_download(&filename, body))
}
