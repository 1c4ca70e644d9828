//! Receiving a team's image archive — the one path both the API's upload and the scenario
//! page's browser upload take, so both apply the same checks in the same order.

use actix_web::web::Bytes;
use futures_util::Stream;

use crate::auth::CurrentUser;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId};
use crate::db::models::jobs;
use crate::db::models::submissions::{self, Submission, SubmissionStage};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::submissions::{QuotaView, SubmissionDetail, admission, detail, quota};
use crate::state::AppState;

/// Checks admission before a byte is stored, streams `body` into the blob store, checks
/// again and records the submission with its job; stored whole or not at all.
/// `declared` is the request's Content-Length, refused early when over the limit.
pub async fn receive_submission<S, E>(
    state: &AppState,
    user: CurrentUser,
    scenario_id: ScenarioId,
    team: TeamId,
    declared: Option<u64>,
    body: S,
) -> Result<(SubmissionDetail, QuotaView), AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let max_bytes = state.config.max_upload_bytes;
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
        return Err(crate::validate::FieldProblem::new(
            "(body)",
            "empty_upload",
            "the upload is empty; send the `docker save` archive",
        )
        .into());
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
                )
                .with("digest", &blob.digest)
                .with("submission", &earlier.id));
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
        Ok(recorded) => {
            state.queue_signal.notify_waiters();
            Ok(recorded)
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
