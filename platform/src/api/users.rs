//! User and token routes: who am I, admins creating users, everyone managing their tokens.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::input::{Json, Query};
use crate::api::list_page;
use crate::auth::{Admin, CurrentUser};
use crate::db::ids::{OrganizationId, TokenId, UserId};
use crate::db::models::teams;
use crate::db::models::tokens::{self, ApiToken, TokenKind};
use crate::db::models::users::{self, Role, User, UserForm};
use crate::error::AppError;
use crate::services::paging::{PageQuery, Paginated};
use crate::state::AppState;
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct UserView {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub email: Option<String>,
    pub roles: Vec<Role>,
    pub departments: Vec<OrganizationId>,
    pub created_at: String,
}

fn user_view(conn: &mut crate::db::DbConnection, user: User) -> Result<UserView, AppError> {
    Ok(UserView {
        roles: users::roles_of(conn, &user.id)?,
        departments: users::departments_of(conn, &user.id)?,
        id: user.id,
        login: user.login,
        display_name: user.display_name,
        email: user.email,
        created_at: iso_time(user.created_at),
    })
}

#[derive(Debug, Serialize)]
pub struct TokenView {
    pub id: TokenId,
    pub name: String,
    pub kind: TokenKind,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

impl From<ApiToken> for TokenView {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            kind: token.kind,
            created_at: iso_time(token.created_at),
            last_used_at: token.last_used_at.map(iso_time),
            revoked_at: token.revoked_at.map(iso_time),
        }
    }
}

/// `GET /api/v1/me` — the caller, their roles, departments and teams.
pub async fn me(state: web::Data<AppState>, user: CurrentUser) -> Result<HttpResponse, AppError> {
    let body = state
        .db
        .read(move |conn| {
            let record = users::find(conn, &user.id)?
                .ok_or_else(|| AppError::Unauthenticated("the user no longer exists".into()))?;
            let view = user_view(conn, record)?;
            let teams: Vec<_> = teams::for_user(conn, &user.id)?
                .into_iter()
                .map(|t| serde_json::json!({"id": t.id, "name": t.name}))
                .collect();
            Ok(serde_json::json!({"user": view, "teams": teams}))
        })
        .await?;
    Ok(HttpResponse::Ok().json(body))
}

/// `POST /api/v1/users` — admin.
pub async fn create(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    Json(form): Json<UserForm>,
) -> Result<HttpResponse, AppError> {
    let view = state
        .db
        .write(move |conn| {
            let user = users::create(conn, form, Some(&admin.id))?;
            user_view(conn, user)
        })
        .await?;
    Ok(HttpResponse::Created().json(view))
}

/// `GET /api/v1/users` — admin.
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, |conn, page| {
        let (rows, total) = users::list_paged(conn, page)?;
        let items = rows
            .into_iter()
            .map(|user| user_view(conn, user))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Paginated::new(items, page, total))
    })
    .await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenForm {
    pub name: String,
}

/// `POST /api/v1/users/{id}/tokens` — admin: a token for another user, shown once.
pub async fn issue_for(
    state: web::Data<AppState>,
    Admin(admin): Admin,
    path: web::Path<UserId>,
    Json(form): Json<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let issued = state
        .db
        .write(move |conn| {
            users::find(conn, &id)?.ok_or_else(|| AppError::missing("user", &id))?;
            tokens::issue(conn, &id, &form.name, TokenKind::User, Some(&admin.id))
        })
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// `POST /api/v1/tokens` — a new token for the caller, shown once.
pub async fn issue_own(
    state: web::Data<AppState>,
    user: CurrentUser,
    Json(form): Json<TokenForm>,
) -> Result<HttpResponse, AppError> {
    let issued = state
        .db
        .write(move |conn| {
            tokens::issue(conn, &user.id, &form.name, TokenKind::User, Some(&user.id))
        })
        .await?;
    Ok(HttpResponse::Created().json(issued))
}

/// `GET /api/v1/tokens` — the caller's tokens, never their secrets.
pub async fn list_own(
    state: web::Data<AppState>,
    user: CurrentUser,
    Query(query): Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    list_page(&state, query, move |conn, page| {
        let rows = tokens::list_for(conn, &user.id, page)?;
        Ok(Paginated::of(rows, page, TokenView::from))
    })
    .await
}

/// `DELETE /api/v1/tokens/{id}` — the token's owner or an admin.
pub async fn revoke(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<TokenId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    state
        .db
        .write(move |conn| {
            let token = tokens::find(conn, &id)?
                .filter(|t| t.user_id == user.id || user.is_admin())
                .ok_or_else(|| AppError::missing("token", &id))?;
            tokens::revoke(conn, &token, Some(&user.id))
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
