//! Local sign-in with a personal access token, sign-out, and the language switch.

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use serde::{Deserialize, Serialize};

use crate::auth::session::{self, CsrfForm};
use crate::auth::user_by_token;
use crate::error::AppError;
use crate::pages::site::Lang;
use crate::pages::{PageContext, lang_cookie, see_other};

#[derive(Debug, Deserialize)]
pub struct ReturnQuery {
    pub return_to: Option<String>,
}

#[derive(Serialize)]
struct LoginView {
    return_to: String,
    error: Option<String>,
    /// "Sign in with …" when an OpenID Connect provider is configured.
    oidc_name: Option<String>,
    oidc_url: String,
}

fn login_view(page: &PageContext, return_to: String, error: Option<String>) -> LoginView {
    LoginView {
        oidc_url: format!(
            "/auth/oidc/start?{}",
            serde_urlencoded::to_string([("return_to", &return_to)]).unwrap_or_default()
        ),
        return_to,
        error,
        oidc_name: page
            .state
            .config
            .oidc
            .as_ref()
            .map(|o| o.display_name.clone()),
    }
}

/// Renders the form; a visitor without a session gets a pre-session CSRF token cookie.
async fn login_form(
    mut page: PageContext,
    return_to: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let fresh = page.csrf_token.is_none().then(session::random_token);
    if let Some(token) = &fresh {
        page.csrf_token = Some(token.clone());
    }
    let title = page.text("login.title");
    let view = login_view(&page, return_to, error);
    let mut response = page.render("auth/login", &title, view).await?;
    *response.status_mut() = status;
    if let Some(token) = fresh {
        response
            .add_cookie(&session::pre_session_cookie(&page.state, &token))
            .map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
    }
    Ok(response)
}

/// `GET /auth/login?return_to=/path`
pub async fn login_page(
    page: PageContext,
    query: web::Query<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let return_to = session::return_to(query.return_to.as_deref());
    login_form(page, return_to, None, StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub token: String,
    pub return_to: Option<String>,
}

/// `POST /auth/login` — a valid personal access token starts a session.
pub async fn login(
    page: PageContext,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let return_to = session::return_to(form.return_to.as_deref());
    let secret = form.token.trim().to_owned();
    let user = if secret.is_empty() {
        None
    } else {
        page.state
            .db
            .read(move |conn| user_by_token(conn, &secret))
            .await?
    };
    match user {
        Some((user, token)) => {
            crate::auth::mark_used(&page.state, Some(token.clone())).await?;
            let cookie = session::start_session(&page.state, &user.id, Some(token)).await?;
            tracing::info!(user = %user.id, "signed in with a token");
            Ok(HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, return_to))
                .cookie(cookie)
                .finish())
        }
        None => {
            let message = page.text("login.bad_token");
            login_form(page, return_to, Some(message), StatusCode::UNAUTHORIZED).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /auth/logout` — ends the session.
pub async fn logout(
    page: PageContext,
    request: HttpRequest,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let cookie = session::end_session(&page.state, &request).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/"))
        .cookie(cookie)
        .finish())
}

/// `GET /lang/{zh|en}?return_to=/path` — remembers the language, goes back.
pub async fn switch_language(
    path: web::Path<String>,
    query: web::Query<ReturnQuery>,
) -> Result<HttpResponse, AppError> {
    let lang = Lang::parse(&path.into_inner()).ok_or_else(|| AppError::missing("language", ""))?;
    let mut response = see_other(&session::return_to(query.return_to.as_deref()));
    response
        .add_cookie(&lang_cookie(lang))
        .map_err(|e| AppError::Internal(format!("cookie: {e}")))?;
    Ok(response)
}
