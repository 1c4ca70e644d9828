//! Friendly HTML error pages: an error on a page route (404, 403, 400, …) is shown as a
//! page in the visitor's language; the JSON API keeps its JSON errors.

use actix_web::ResponseError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use serde::Serialize;

use crate::error::AppError;
use crate::pages::{PageContext, is_page_path};

#[derive(Serialize)]
struct ErrorView {
    status: u16,
    heading: String,
    message: String,
}

/// Middleware: replaces an error answer on a page route by the error page; a page that
/// needs a signed-in user sends an anonymous visitor to the sign-in page instead.
pub async fn html_errors(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // A page's script that asked for JSON (the browser upload) reads the JSON error.
    let wants_json = request
        .headers()
        .get(actix_web::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        == Some("application/json");
    let page = is_page_path(request.path()) && !wants_json;
    let response = next.call(request).await?.map_into_boxed_body();
    let status = response.status();
    // A page that rendered its own answer with an error status (a refused sign-in, a
    // refused enrolment shown on the scenario page) is already what the visitor should see.
    let already_html = response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !page || already_html || !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let Some(context) = PageContext::lenient(response.request()) else {
        return Ok(response);
    };
    let message = match response.response().error() {
        Some(error) if status.is_client_error() => match error.as_error::<AppError>() {
            Some(app) => context.error_text(app),
            None => error.to_string(),
        },
        _ => String::new(),
    };
    let (request, _) = response.into_parts();
    if status == StatusCode::UNAUTHORIZED
        && request.method() == Method::GET
        && context.user.is_none()
    {
        let to = format!(
            "/auth/login?{}",
            serde_urlencoded::to_string([("return_to", &context.here)]).unwrap_or_default()
        );
        return Ok(ServiceResponse::new(request, super::see_other(&to)));
    }
    let key = match status.as_u16() {
        400 | 401 | 403 | 404 | 409 | 413 | 422 => format!("error.title_{}", status.as_u16()),
        _ => "error.title_other".to_owned(),
    };
    let heading = context.text(&key);
    let view = ErrorView {
        status: status.as_u16(),
        message: if message.is_empty() {
            context.text("error.try_later")
        } else {
            message
        },
        heading: heading.clone(),
    };
    let answer = match context.render("errors/error", &heading, view).await {
        Ok(mut answer) => {
            *answer.status_mut() = status;
            answer
        }
        // The error page itself failed: fall back to the plain JSON answer.
        Err(error) => error.error_response(),
    };
    Ok(ServiceResponse::new(request, answer.map_into_boxed_body()))
}
