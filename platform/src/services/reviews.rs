//! Judges' reviews: who may write and read them.

use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{ReviewId, SubmissionId, TeamId, UserId};
use crate::db::models::reviews::Recommendation;
use crate::db::models::reviews::{self, NewReview, Review, ReviewRow};
use crate::db::models::submissions::{self, Submission};
use crate::db::models::{phases, scenarios, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::time::iso_time;

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
    pub fn new(review: Review) -> Self {
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

    pub fn with_context(row: ReviewRow) -> Self {
        Self {
            judge_login: Some(row.judge_login),
            judge_name: Some(row.judge_name),
            team_id: Some(row.team_id),
            team_name: Some(row.team_name),
            ..Self::new(row.review)
        }
    }
}

pub fn submission_of(conn: &mut DbConnection, id: &SubmissionId) -> Result<Submission, AppError> {
    submissions::find(conn, id)?.ok_or_else(|| AppError::missing("submission", id))
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
pub fn may_read_reviews(
    conn: &mut DbConnection,
    submission: &Submission,
    user: &CurrentUser,
) -> Result<(), AppError> {
    if user.sees_all_work() {
        return Ok(());
    }
    let scenario = scenarios::find(conn, &submission.scenario_id)?
        .ok_or_else(|| AppError::missing("submission", &submission.id))?;
    if user.works_for(&scenario.organization_id) {
        let phase = phases::find_phase(conn, &scenario.id, &submission.phase_id)?;
        return match phase {
            Some(phase) if now_millis() < phase.closes_at => Err(AppError::forbidden(
                "reviews_hidden",
                format!(
                    "reviews are shown to the department when the phase closes at {}",
                    iso_time(phase.closes_at)
                ),
            )
            .with("closes_at", iso_time(phase.closes_at))),
            _ => Ok(()),
        };
    }
    if teams::role_of(conn, &submission.team_id, &user.id)?.is_some() {
        return Err(AppError::forbidden(
            "reviews_not_for_team",
            "reviews are for the judges and the department, not for the team",
        ));
    }
    Err(AppError::missing("submission", &submission.id))
}
