//! Organisation routes: the list of towns and departments, and their administration.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::api::input::{Json, Query};
use crate::api::list_page;
use crate::auth::Admin;
use crate::db::ids::OrganizationId;
use crate::db::models::{organizations, users};
use crate::error::AppError;
use crate::services::paging::{PageQuery, Paginated};
use crate::state::AppState;

/// `GET /api/v1/organizations` — public.
pub async fn list(
    state: web::Data<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, |conn, page| {
        let rows = organizations::list_paged(conn, page)?;
        Ok(Paginated::of(rows, page, |organization| organization))
    })
    .await
}

/// `POST /api/v1/organizations` — admin.
pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    Json(form): Json<organizations::OrganizationForm>,
) -> Result<HttpResponse, AppError> {
    let organization = state
        .db
        .write(move |conn| organizations::create(conn, form, Some(&admin.id)))
        .await?;
    Ok(HttpResponse::Created().json(organization))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberForm {
    pub login: String,
}

/// `POST /api/v1/organizations/{id}/members` — admin: makes a user a department member.
pub async fn add_member(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<OrganizationId>,
    Json(form): Json<MemberForm>,
) -> Result<HttpResponse, AppError> {
    let organization = path.into_inner();
    state
        .db
        .write(move |conn| {
            if !organizations::exists(conn, &organization)? {
                return Err(AppError::missing("organisation", &organization));
            }
            let user = users::find_by_login(conn, &form.login)?.ok_or_else(|| {
                AppError::from(
                    crate::validate::FieldProblem::new(
                        "login",
                        "unknown_user",
                        format!("no user with login `{}`", form.login),
                    )
                    .with("login", &form.login),
                )
            })?;
            users::add_to_department(conn, &user.id, &organization, Some(&admin.id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
