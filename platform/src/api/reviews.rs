//! Review routes: judges review submissions; judges and admins read every review; the
//! scenario's department reads them once the phase has closed; teams never do.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::api::input::Json;
use crate::api::iso_time;
use crate::auth::{CurrentUser, Judge, JudgeOrAdmin};
use crate::db::DbConnection;
use crate::db::ids::{ReviewId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::reviews::Recommendation;
use crate::db::models::reviews::{self, NewReview, Review, ReviewRow};
use crate::db::models::submissions::{self, Submission};
use crate::db::models::{phases, scenarios, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Debug, Serialize)]
pub struct ReviewView {
    pub id: ReviewId,
    pub submission_id: SubmissionId,
    pub judge_id: UserId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judge_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_name: Option<String>,
    pub score: i32,
    pub recommendation: Recommendation,
    pub text: String,
    pub created_at: String,
    pub updated_at: String,
}

impl ReviewView {
    fn new(review: Review) -> Self {
        Self {
            id: review.id,
            submission_id: review.submission_id,
            judge_id: review.judge_id,
            judge_login: None,
            judge_name: None,
            team_id: None,
            team_name: None,
            score: review.score,
            recommendation: review.recommendation,
            text: review.body,
            created_at: iso_time(review.created_at),
            updated_at: iso_time(review.updated_at),
        }
    }

    fn with_context(row: ReviewRow) -> Self {
        Self {
            judge_login: Some(row.judge_login),
            judge_name: Some(row.judge_name),
            team_id: Some(row.team_id),
            team_name: Some(row.team_name),
            ..Self::new(row.review)
        }
    }
}

fn submission_of(conn: &mut DbConnection, id: &SubmissionId) -> Result<Submission, AppError> {
    submissions::find(conn, id)?
        .ok_or_else(|| AppError::not_found(format_args!("submission `{id}`")))
}

/// `PUT /api/v1/submissions/{id}/review` — the judge's one review of the submission, created
/// (201) or replaced (200).
pub async fn put(
    state: web::Data<AppState>,
    Judge(judge): Judge,
    path: web::Path<SubmissionId>,
    Json(form): Json<NewReview>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    form.check()?;
    let (review, created) = state
        .db
        .write(move |conn| put_review(conn, &judge, &id, &form))
        .await?;
    let view = ReviewView::new(review);
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

/// Writes the judge's one review of an existing submission (the API's and the console's);
/// the flag says whether it was created rather than replaced.
pub fn put_review(
    conn: &mut DbConnection,
    judge: &CurrentUser,
    id: &SubmissionId,
    form: &NewReview,
) -> Result<(Review, bool), AppError> {
    let submission = submission_of(conn, id)?;
    reviews::put(conn, &submission.id, &judge.id, form)
}

/// Judges and admins always; the scenario's department once the submission's phase has
/// closed (so reviews cannot sway a running phase); the team never. Anyone else is told
/// nothing about the submission, as on `GET /submissions/{id}`.
fn may_read_reviews(
    conn: &mut DbConnection,
    submission: &Submission,
    user: &CurrentUser,
) -> Result<(), AppError> {
    if user.sees_all_work() {
        return Ok(());
    }
    let scenario = scenarios::find(conn, &submission.scenario_id)?
        .ok_or_else(|| AppError::not_found(format_args!("submission `{}`", submission.id)))?;
    if user.works_for(&scenario.organization_id) {
        let phase = phases::find_phase(conn, &scenario.id, &submission.phase_id)?;
        return match phase {
            Some(phase) if now_millis() < phase.closes_at => Err(AppError::forbidden(format!(
                "reviews are shown to the department when the phase closes at {}",
                iso_time(phase.closes_at)
            ))),
            _ => Ok(()),
        };
    }
    if teams::role_of(conn, &submission.team_id, &user.id)?.is_some() {
        return Err(AppError::forbidden(
            "reviews are for the judges and the department, not for the team",
        ));
    }
    Err(AppError::not_found(format_args!(
        "submission `{}`",
        submission.id
    )))
}

/// `GET /api/v1/submissions/{id}/reviews` — see [`may_read_reviews`].
pub async fn for_submission(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let items = state
        .db
        .read(move |conn| {
            let submission = submission_of(conn, &id)?;
            may_read_reviews(conn, &submission, &user)?;
            Ok(reviews::for_submission(conn, &submission.id)?
                .into_iter()
                .map(ReviewView::with_context)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

/// `GET /api/v1/scenarios/{id}/reviews` — judges and admins: every review of the scenario.
pub async fn for_scenario(
    state: web::Data<AppState>,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let asked = id.clone();
    let items = state
        .db
        .read(move |conn| {
            let scenario = crate::api::scenarios::visible(conn, &asked, &user.visibility())?;
            Ok(reviews::for_scenario(conn, &scenario.id)?
                .into_iter()
                .map(ReviewView::with_context)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "scenario_id": id, "items": items })))
}
