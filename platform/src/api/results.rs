//! Result routes: leaderboards (public during the phase, private after it), reports and logs.

use actix_web::{HttpResponse, web};

use crate::api::input::Query;
use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::users::Role;
use crate::error::AppError;
use crate::services::billing::statements;
use crate::services::boards::{BoardQuery, board_of, report_of, visible_result};
use crate::state::AppState;

/// `GET /api/v1/scenarios/{id}/leaderboard?phase=…&board=public|private`
pub async fn leaderboard(
    state: web::Data<AppState>,
    viewer: MaybeUser,
    path: web::Path<ScenarioId>,
    Query(query): Query<BoardQuery>,
) -> Result<HttpResponse, AppError> {
    let body = board_of(&state, path.into_inner(), viewer.0, query).await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/submissions/{id}/report` — the team (private scores hidden while the phase
/// is open), judges, operators and admins; with what each evaluation was charged.
pub async fn report(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let blobs = state.blobs.clone();
    let body = state
        .db
        .read(move |conn| {
            let (_, report) = report_of(conn, &blobs, &id, &user)?;
            let (digest, report) = report.ok_or_else(|| {
                AppError::conflict(
                    "no_report_yet",
                    format!("submission `{id}` has not been evaluated yet"),
                )
                .with("submission", &id)
            })?;
            // What it cost, at the price in force when each evaluation finished.
            let charges = statements::of_submission(conn, &id)?;
            Ok(
                serde_json::json!({"submission_id": id, "report_digest": digest, "report": report,
                                  "charges": charges}),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `GET /api/v1/submissions/{id}/logs/{run}` — `sample` for the team, judges, operators and
/// admins; `hidden` for judges, operators and admins only (hidden inputs may be in them).
pub async fn logs(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(SubmissionId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, run) = path.into_inner();
    let blobs = state.blobs.clone();
    let text = state
        .db
        .read(move |conn| {
            let (_, result, _) = visible_result(conn, &id, &user)?;
            let result = result.ok_or_else(|| AppError::conflict("no_report_yet", format!("submission `{id}` has not been evaluated yet")).with("submission", &id))?;
            let digest = match run.as_str() {
                "sample" => result.sample_logs_digest,
                "hidden" if user.sees_all_work() || user.has_role(Role::Operator) => result.hidden_logs_digest,
                "hidden" => {
                    return Err(AppError::forbidden(
                        "hidden_logs",
                        "logs of the hidden run are for judges and operators; the sample run's logs are yours",
                    ));
                }
                other => return Err(AppError::missing("run", other)),
            };
            match digest {
                Some(digest) => blobs.read(&digest),
                None => Ok(Vec::new()),
            }
        })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(text))
}
