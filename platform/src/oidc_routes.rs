//! The two sign-in routes of OpenID Connect, `/auth/oidc/start` and `/auth/oidc/callback`:
//! the provider's verified identity becomes a user and a session.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::session;
use crate::db::ids::UserId;
use crate::error::AppError;
use crate::oidc::{OidcClient, OidcError, find_or_create_user};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct StartQuery {
    /// A local path to come back to after signing in; `/` when absent.
    #[serde(default)]
    pub return_to: Option<String>,
}

/// `GET /auth/oidc/start`: remembers the sign-in and sends the browser to the provider.
pub async fn start(
    state: web::Data<AppState>,
    query: web::Query<StartQuery>,
) -> Result<HttpResponse, AppError> {
    let provider = state.oidc.as_ref().ok_or(OidcError::NotConfigured)?;
    let return_to = session::return_to(query.return_to.as_deref());
    let begun = provider
        .client()
        .await?
        .begin(&state.db, &return_to)
        .await?;
    // The browser keeps a signed copy of the state, so the callback can be bound to it.
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, begun.url))
        .cookie(session::oidc_binding_cookie(&state, &begun.state))
        .finish())
}

/// What the provider's redirect carries: a code, or an error (RFC 6749, 4.1.2 and 4.1.2.1).
#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    pub state: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
}

/// Who signed in and where they go next: what the session code needs.
#[derive(Debug, Clone)]
pub struct SignInOutcome {
    pub user_id: UserId,
    pub return_to: String,
    pub created: bool,
}

/// Finishes the sign-in of a callback and maps it to a user (created on first sign-in).
pub async fn complete_sign_in(
    state: &AppState,
    oidc: &OidcClient,
    query: CallbackQuery,
) -> Result<SignInOutcome, AppError> {
    let Some(code) = query.code else {
        // The provider said no (the person cancelled, …): spend the state all the same.
        oidc.cancel(&state.db, &query.state).await?;
        return Err(OidcError::Denied {
            error: query.error.unwrap_or_else(|| "no code".to_owned()),
        }
        .into());
    };
    let finished = oidc.finish(&state.db, &query.state, &code).await?;
    let identity = finished.identity;
    let signed_in = state
        .db
        .write(move |conn| find_or_create_user(conn, &identity))
        .await?;
    Ok(SignInOutcome {
        user_id: signed_in.user.id,
        return_to: finished.return_to,
        created: signed_in.created,
    })
}

/// `GET /auth/oidc/callback`: the provider sends the browser back here; a verified
/// identity starts a session and goes back where the person was.
pub async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<CallbackQuery>,
) -> Result<HttpResponse, AppError> {
    let provider = state.oidc.as_ref().ok_or(OidcError::NotConfigured)?;
    // Checked before the pending sign-in is spent, so a link planted by someone else
    // neither signs this browser in nor spoils the sign-in of the one who began it.
    if !session::began_oidc_sign_in(&state, &request, &query.state) {
        return Err(OidcError::OtherBrowser.into());
    }
    let client = provider.client().await?;
    let outcome = complete_sign_in(&state, client, query.into_inner()).await?;
    tracing::info!(user = %outcome.user_id, created = outcome.created, "signed in through OpenID Connect");
    let cookie = session::start_session(&state, &outcome.user_id, None).await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            header::LOCATION,
            session::return_to(Some(&outcome.return_to)),
        ))
        .cookie(cookie)
        .cookie(session::end_oidc_binding(&state))
        .finish())
}
