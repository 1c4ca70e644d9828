//! Review routes: judges review submissions; judges and admins read every review; the
//! scenario's department reads them once the phase has closed; teams never do.

use actix_web::{HttpResponse, web};

use crate::api::input::Json;
use crate::auth::{CurrentUser, Judge, JudgeOrAdmin};
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::reviews::{self, NewReview};
use crate::error::AppError;
use crate::services::reviews::{ReviewView, may_read_reviews, put_review, submission_of};
use crate::state::AppState;

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
            let scenario = crate::services::scenarios::visible(conn, &asked, &user.visibility())?;
            Ok(reviews::for_scenario(conn, &scenario.id)?
                .into_iter()
                .map(ReviewView::with_context)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "scenario_id": id, "items": items })))
}
