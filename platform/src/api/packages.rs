//! `PUT /api/v1/scenarios/{id}/package`: a department gives a scenario it posted through
//! the API the package (manifest, public data, hidden set, baseline) it is evaluated with.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::CurrentUser;
use crate::db::ids::ScenarioId;
use crate::error::AppError;
use crate::services::packages::install_package;
use crate::state::AppState;

/// `PUT /api/v1/scenarios/{id}/package` — a tar (or tar.gz) of the package folder.
pub async fn upload(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    request: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, AppError> {
    let declared = request
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let installed = install_package(&state, path.into_inner(), user, body, declared).await?;
    Ok(HttpResponse::Ok().json(installed))
}
