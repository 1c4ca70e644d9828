//! Technical report routes: a team attaches its PDF to a final-phase submission; the team,
//! the panel and the department read it — always as a PDF download, never as a page.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::api::input::declared_length;
use crate::auth::CurrentUser;
use crate::db::ids::SubmissionId;
use crate::error::AppError;
use crate::services::technical_reports::{self, check_pdf};
use crate::state::AppState;

/// What a served report may do in the browser: nothing but be shown, and only framed by
/// the platform's own pages (the judge's scoring page).
const REPORT_CSP: &str = "default-src 'none'; frame-ancestors 'self'; base-uri 'none'; \
                          form-action 'none'";

/// The body, at most `max_bytes` whether or not it declared its length: more is 413.
async fn read_capped(mut body: web::Payload, max_bytes: u64) -> Result<Vec<u8>, AppError> {
    let too_large = || {
        AppError::PayloadTooLarge(format!(
            "the technical report is larger than the limit of {max_bytes} bytes"
        ))
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|error| {
            AppError::bad_request(
                "upload_interrupted",
                format!("the upload was cut off: {error}"),
            )
        })?;
        if (bytes.len() + chunk.len()) as u64 > max_bytes {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `PUT /api/v1/submissions/{id}/technical-report` — the body is the PDF itself. A member
/// of the submission's team, while the final phase is open: 201 first report, 200 replaced.
pub async fn attach(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let max_bytes = state.config.max_report_bytes;
    if declared_length(&request).is_some_and(|length| length > max_bytes) {
        return Err(AppError::PayloadTooLarge(format!(
            "the technical report is larger than the limit of {max_bytes} bytes"
        )));
    }
    {
        let (user, id) = (user.clone(), id.clone());
        state
            .db
            .read(move |conn| technical_reports::may_attach(conn, &user, &id))
            .await?;
    }
    let bytes = read_capped(body, max_bytes).await?;
    check_pdf(&bytes)?;
    let blobs = state.blobs.clone();
    let blob = tokio::task::spawn_blocking(move || blobs.put(&bytes)).await??;
    let stored = blob.clone();
    let recorded = state
        .db
        .write(move |conn| technical_reports::attach(conn, &user, &id, &stored))
        .await;
    match recorded {
        Ok((link, true)) => Ok(HttpResponse::Created().json(link)),
        Ok((link, false)) => Ok(HttpResponse::Ok().json(link)),
        Err(error) => {
            // Refused between the first check and now (the phase closed): a file this
            // upload put in the store is nobody's.
            if blob.created {
                state.blobs.remove(&blob.digest);
            }
            Err(error)
        }
    }
}

/// `GET /api/v1/submissions/{id}/technical-report` — the PDF, to the team, the scenario's
/// panel and its department. The file name carries the submission id only, never a team
/// name, so blind review holds.
pub async fn download(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<SubmissionId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let report = {
        let id = id.clone();
        state
            .db
            .read(move |conn| technical_reports::readable(conn, &user, &id))
            .await?
    };
    let blobs = state.blobs.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.read(&report.digest)).await??;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/pdf"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"technical-report-{id}.pdf\""),
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CONTENT_SECURITY_POLICY, REPORT_CSP))
        .insert_header((header::X_FRAME_OPTIONS, "SAMEORIGIN"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(bytes))
}
