//! `POST /scenarios/{id}/submissions`: the scenario page's browser upload of a `docker save`
//! archive, sent by its script with upload progress; the API's upload path and checks, with
//! the session's CSRF token in a header and errors in the visitor's language.

use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde::Deserialize;

use crate::api::input::declared_length;
use crate::auth::CurrentUser;
use crate::auth::session::{ExpectedCsrf, same_token};
use crate::db::ids::{ScenarioId, TeamId};
use crate::error::AppError;
use crate::pages::PageContext;
use crate::services::upload::receive_submission;

/// The header the page's script puts the form's CSRF token in (the body is the archive).
pub const CSRF_HEADER: &str = "x-csrf-token";

#[derive(Debug, Deserialize)]
pub struct UploadQuery {
    pub team_id: String,
}

fn csrf_matches(request: &HttpRequest) -> bool {
    use actix_web::HttpMessage;
    let sent = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok());
    match (request.extensions().get::<ExpectedCsrf>(), sent) {
        (Some(ExpectedCsrf(expected)), Some(sent)) => same_token(expected, sent),
        _ => false,
    }
}

/// Answers 201 with where the new submission's page is, or the error as JSON whose message
/// is in the visitor's language (the script shows it beside the progress bar).
pub async fn upload(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    query: web::Query<UploadQuery>,
    request: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let outcome = if csrf_matches(&request) {
        receive_submission(
            &page.state,
            user,
            path.into_inner(),
            TeamId::from(query.team_id.as_str()),
            declared_length(&request),
            body,
        )
        .await
    } else {
        Err(AppError::forbidden(
            "stale_form",
            "the form's security token is missing or out of date; reload the page and try again",
        ))
    };
    match outcome {
        Ok((view, quota)) => HttpResponse::Created().json(serde_json::json!({
            "submission_url": format!("/submissions/{}", view.submission.id),
            "remaining": quota.remaining,
        })),
        Err(error) => HttpResponse::build(error.status_code()).json(serde_json::json!({
            "error": {"code": error.code(), "message": page.error_text(&error),
                      "params": error.params()},
        })),
    }
}
