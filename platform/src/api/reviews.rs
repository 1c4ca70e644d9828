//! Review routes: judges review submissions; judges and admins read every review; the
//! scenario's department reads them once the phase has closed; teams never do.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::api::input::{Json, Query};
use crate::api::list_page;
use crate::auth::{CurrentUser, Judge, JudgeOrAdmin};
use crate::db::ids::{ScenarioId, SubmissionId};
use crate::db::models::reviews::{self, NewReview};
use crate::error::AppError;
use crate::services::paging::{PageQuery, Paginated};
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
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        let submission = submission_of(conn, &id)?;
        may_read_reviews(conn, &submission, &user)?;
        let rows = reviews::for_submission(conn, &submission.id, page)?;
        Ok(Paginated::of(rows, page, ReviewView::with_context))
    })
    .await
}

#[derive(Serialize)]
struct ScenarioReviews {
    scenario_id: ScenarioId,
    #[serde(flatten)]
    reviews: Paginated<ReviewView>,
}

/// `GET /api/v1/scenarios/{id}/reviews` — judges and admins: every review of the scenario.
pub async fn for_scenario(
    state: web::Data<AppState>,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    list_page(&state, query, move |conn, page| {
        let scenario = crate::services::scenarios::visible(conn, &id, &user.visibility())?;
        let rows = reviews::for_scenario(conn, &scenario.id, page)?;
        Ok(ScenarioReviews {
            scenario_id: scenario.id,
            reviews: Paginated::of(rows, page, ReviewView::with_context),
        })
    })
    .await
}
