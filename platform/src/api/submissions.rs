//! Submission routes: streaming upload of an image archive, its stages, the team's quota.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::api::input::Query;
use crate::auth::CurrentUser;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId};
use crate::db::models::scenarios;
use crate::db::models::submissions::{self, Submission, SubmissionStage};
use crate::db::models::{jobs, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::submissions::{admission, detail, quota};
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
    let scenario_id = path.into_inner();
    let team = query.team_id;
    let max_bytes = state.config.max_upload_bytes;
    let declared = crate::api::input::declared_length(&request);
    if declared.is_some_and(|length| length > max_bytes) {
        return Err(AppError::PayloadTooLarge(format!(
            "the upload is larger than the limit of {max_bytes} bytes"
        )));
    }
    let remaining = {
        let (scenario_id, team, user) = (scenario_id.clone(), team.clone(), user.clone());
        state
            .db
            .read(move |conn| admission(conn, &scenario_id, &team, &user))
            .await?
            .2
            .remaining
    };
    let _held = state.uploads.reserve(&scenario_id, &team, remaining)?;

    let blob = state.blobs.receive(body, max_bytes).await?;
    state.metrics.uploaded(blob.size);
    if blob.size == 0 {
        // Only an empty file this upload created is removed: an empty log or report may
        // share its digest.
        if blob.created {
            state.blobs.remove(&blob.digest);
        }
        return Err(AppError::invalid(
            "(body)",
            "the upload is empty; send the `docker save` archive",
        ));
    }

    let (digest, created) = (blob.digest.clone(), blob.created);
    let recorded = state
        .db
        .write(move |conn| {
            // Checked again: the phase may have closed or the quota been spent meanwhile.
            let (scenario, phase, _) = admission(conn, &scenario_id, &team, &user)?;
            if let Some(earlier) = submissions::find_same_image(conn, &phase, &team, &blob.digest)?
            {
                return Err(AppError::conflict(
                    "duplicate_image",
                    format!(
                        "this image ({}) was already submitted to this phase as `{}`",
                        blob.digest, earlier.id
                    ),
                ));
            }
            let now = now_millis();
            let submission = Submission {
                id: SubmissionId::generate(),
                scenario_id: scenario.id.clone(),
                phase_id: phase,
                team_id: team.clone(),
                submitted_by: user.id.clone(),
                image_digest: blob.digest.clone(),
                image_size: i64::try_from(blob.size).unwrap_or(i64::MAX),
                status: SubmissionStage::Stored,
                created_at: now,
                updated_at: now,
                counts_toward_quota: true,
                failure: None,
            };
            submissions::insert(conn, &submission)?;
            jobs::enqueue(conn, &submission.id, scenario.package_version)?;
            let quota = quota(conn, &scenario, &team, now)?;
            let view = detail(conn, &submission.id)?;
            Ok((view, quota))
        })
        .await;
    match recorded {
        Ok((view, quota)) => {
            state.queue_signal.notify_waiters();
            Ok(HttpResponse::Created().json(serde_json::json!({
            "submission": view,
            "quota": quota,
            })))
        }
        Err(error) => {
            let blobs = state.blobs.clone();
            let unreferenced = state
                .db
                .read(move |conn| {
                    Ok(submissions::references_to_image(conn, &digest)? == 0)
                        .map(|free| (free, digest))
                })
                .await;
            // A file that was in the store before this upload belongs to someone else.
            if created && let Ok((true, digest)) = unreferenced {
                blobs.remove(&digest);
            }
            Err(error)
        }
    }
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
                .ok_or_else(|| AppError::not_found(format_args!("submission `{id}`")))?;
            if !user.sees_all_work()
                && teams::role_of(conn, &submission.team_id, &user.id)?.is_none()
            {
                // Another team's submission does not exist as far as this caller knows.
                return Err(AppError::not_found(format_args!("submission `{id}`")));
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
                .ok_or_else(|| AppError::not_found(format_args!("scenario `{scenario_id}`")))?;
            if !user.sees_all_work() && teams::role_of(conn, &query.team_id, &user.id)?.is_none() {
                return Err(AppError::forbidden(format!(
                    "only members of team `{}` may see its quota",
                    query.team_id
                )));
            }
            quota(conn, &scenario, &query.team_id, now_millis())
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}
