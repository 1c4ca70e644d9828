//! Who is calling: bearer-token or session-cookie authentication and the role checks
//! built on it, one set of rules for the JSON API and the pages.

pub mod session;

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::db::ids::{OrganizationId, TokenId, UserId};
use crate::db::models::scenarios::Visibility;
use crate::db::models::sessions;
use crate::db::models::tokens::{self, TokenKind};
use crate::db::models::users::{self, Role};
use crate::db::now_millis;
use crate::error::AppError;
use crate::state::AppState;

/// A signed-in person with their roles, resolved once per request.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub departments: Vec<OrganizationId>,
}

impl CurrentUser {
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    pub fn is_admin(&self) -> bool {
        self.has_role(Role::Admin)
    }

    /// Judges and admins see every team's work.
    pub fn sees_all_work(&self) -> bool {
        self.is_admin() || self.has_role(Role::Judge)
    }

    pub fn works_for(&self, organization: &OrganizationId) -> bool {
        self.departments.contains(organization)
    }

    /// May act for the organisation as its department (admins may act for any).
    pub fn require_department_of(&self, organization: &OrganizationId) -> Result<(), AppError> {
        if self.is_admin() || self.works_for(organization) {
            Ok(())
        } else {
            Err(AppError::forbidden(
                "department_only",
                format!("only members of the department `{organization}` may do this"),
            )
            .with("organization", organization))
        }
    }

    /// Which consoles the person may use: department, judge, operator.
    pub fn consoles(&self) -> (bool, bool, bool) {
        (
            self.is_admin() || !self.departments.is_empty(),
            self.sees_all_work(),
            self.is_admin() || self.has_role(Role::Operator),
        )
    }

    pub fn visibility(&self) -> Visibility {
        if self.is_admin() {
            Visibility::Everything
        } else {
            Visibility::PublishedAndDraftsOf(self.departments.clone())
        }
    }
}

/// The caller when one is signed in; anonymous visitors get `None`. A token that is
/// present but invalid is still refused, so a typo never silently downgrades a caller.
pub struct MaybeUser(pub Option<CurrentUser>);

impl MaybeUser {
    pub fn visibility(&self) -> Visibility {
        self.0.as_ref().map_or(
            Visibility::PublishedAndDraftsOf(Vec::new()),
            CurrentUser::visibility,
        )
    }
}

/// An administrator.
pub struct Admin(pub CurrentUser);

/// A review expert (the `judge` role); admins are not judges unless granted the role too.
pub struct Judge(pub CurrentUser);

/// Someone who sees every team's work: a judge or an admin.
pub struct JudgeOrAdmin(pub CurrentUser);

/// Compute-centre staff: an operator or an admin.
pub struct OperatorOrAdmin(pub CurrentUser);

/// A member of at least one department, or an admin: who uses the department console.
pub struct DepartmentOrAdmin(pub CurrentUser);

/// A caller holding a worker token, on the internal worker API.
#[derive(Debug, Clone)]
pub struct WorkerCaller {
    pub user_id: UserId,
}

/// What the authentication middleware found out about the caller, kept in the request's
/// extensions so the extractors below answer at once. Resolving the caller before any
/// handler runs also means an unauthenticated request is refused before its body is read.
#[derive(Debug, Clone)]
enum Caller {
    User(CurrentUser),
    Worker(WorkerCaller),
    Refused(String),
}

fn bearer_secret(req: &HttpRequest) -> Result<Option<String>, String> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| "the Authorization header is not text".to_owned())?;
    match value.split_once(' ') {
        Some((scheme, secret))
            if scheme.eq_ignore_ascii_case("bearer") && !secret.trim().is_empty() =>
        {
            Ok(Some(secret.trim().to_owned()))
        }
        _ => Err("the Authorization header must be `Bearer <token>`".to_owned()),
    }
}

/// The caller a bearer token names, and the token to mark used (see [`tokens::stale_use`]).
fn lookup(
    conn: &mut crate::db::DbConnection,
    secret: &str,
) -> Result<(Caller, Option<TokenId>), AppError> {
    if let Some(token) = tokens::find_live(conn, secret, TokenKind::Worker)? {
        let stale = tokens::stale_use(&token);
        return Ok((
            Caller::Worker(WorkerCaller {
                user_id: token.user_id,
            }),
            stale,
        ));
    }
    let Some(token) = tokens::find_live(conn, secret, TokenKind::User)? else {
        return Ok((
            Caller::Refused("the token is unknown or revoked".to_owned()),
            None,
        ));
    };
    let caller = match user_by_id(conn, &token.user_id)? {
        Some(user) => Caller::User(user),
        None => Caller::Refused("the token's user no longer exists".to_owned()),
    };
    Ok((caller, tokens::stale_use(&token)))
}

/// Records a token's use, at most once a minute, in a write of its own.
pub async fn mark_used(state: &AppState, stale: Option<TokenId>) -> Result<(), AppError> {
    if let Some(id) = stale {
        state
            .db
            .write(move |conn| Ok(tokens::mark_used(conn, &id)?))
            .await?;
    }
    Ok(())
}

/// The user with their roles, if they still exist.
pub fn user_by_id(
    conn: &mut crate::db::DbConnection,
    id: &UserId,
) -> Result<Option<CurrentUser>, AppError> {
    let Some(user) = users::find(conn, id)? else {
        return Ok(None);
    };
    Ok(Some(CurrentUser {
        roles: users::roles_of(conn, &user.id)?,
        departments: users::departments_of(conn, &user.id)?,
        id: user.id,
        login: user.login,
        display_name: user.display_name,
    }))
}

/// The user a personal access token (`jb_…`) belongs to, checked as the API checks it;
/// `None` for an unknown, revoked or worker token. Used by the sign-in page.
pub fn user_by_token(
    conn: &mut crate::db::DbConnection,
    secret: &str,
) -> Result<Option<(CurrentUser, TokenId)>, AppError> {
    let Some(token) = tokens::find_live(conn, secret, TokenKind::User)? else {
        return Ok(None);
    };
    Ok(user_by_id(conn, &token.user_id)?.map(|user| (user, token.id)))
}

/// The user of a live session, with the CSRF token its forms must carry.
fn session_user(
    conn: &mut crate::db::DbConnection,
    secret: &str,
) -> Result<Option<(CurrentUser, String)>, AppError> {
    let Some(session) = sessions::find_live(conn, secret, now_millis())? else {
        return Ok(None);
    };
    Ok(user_by_id(conn, &session.user_id)?.map(|user| (user, session.csrf_token)))
}

/// A session cookie opens pages and reads of the JSON API (so a page's script can poll),
/// never the API's writes or the worker API: those need a bearer token, which a forged
/// cross-site request cannot carry.
/// The path is judged as the router matches it — percent-decoded, leading slashes
/// collapsed, any case — so `/%61pi/…` or `//api/…` is the API here too.
fn session_applies(request: &ServiceRequest) -> bool {
    let decoded = percent_encoding::percent_decode_str(request.path()).decode_utf8_lossy();
    let path = format!("/{}", decoded.trim_start_matches('/')).to_ascii_lowercase();
    if path.starts_with("/internal") {
        return false;
    }
    if path.starts_with("/api") {
        return matches!(
            *request.method(),
            actix_web::http::Method::GET | actix_web::http::Method::HEAD
        );
    }
    true
}

/// Middleware: resolves the bearer token or else the session cookie, once per request.
/// A bad or expired session cookie, or one whose user was removed, counts as no session.
pub async fn authenticate(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let caller = match bearer_secret(request.request()) {
        Err(message) => Some(Caller::Refused(message)),
        Ok(Some(secret)) => {
            let (caller, stale) = state.db.read(move |conn| lookup(conn, &secret)).await?;
            mark_used(&state, stale).await?;
            Some(caller)
        }
        Ok(None) if session_applies(&request) => {
            match session::session_secret(&state, request.request()) {
                Some(secret) => {
                    let found = state
                        .db
                        .read(move |conn| session_user(conn, &secret))
                        .await?;
                    found.map(|(user, csrf_token)| {
                        request
                            .extensions_mut()
                            .insert(session::ExpectedCsrf(csrf_token));
                        Caller::User(user)
                    })
                }
                None => None,
            }
        }
        Ok(None) => None,
    };
    if !request.extensions().contains::<session::ExpectedCsrf>()
        && let Some(token) = session::read_pre_session(&state, request.request())
    {
        request
            .extensions_mut()
            .insert(session::ExpectedCsrf(token));
    }
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    next.call(request).await
}

/// The signed-in person of a request the authentication middleware has seen, if any.
pub fn signed_in(req: &HttpRequest) -> Option<UserId> {
    match caller_of(req)? {
        Caller::User(user) => Some(user.id),
        Caller::Worker(_) | Caller::Refused(_) => None,
    }
}

fn caller_of(req: &HttpRequest) -> Option<Caller> {
    req.extensions().get::<Caller>().cloned()
}

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match caller_of(req) {
            None => Ok(MaybeUser(None)),
            Some(Caller::User(user)) => Ok(MaybeUser(Some(user))),
            Some(Caller::Worker(_)) => Err(worker_token_here()),
            Some(Caller::Refused(message)) => Err(AppError::Unauthenticated(message)),
        })
    }
}

fn worker_token_here() -> AppError {
    AppError::Unauthenticated("a worker token only opens the worker API under /internal".into())
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(match MaybeUser::from_request(req, payload).into_inner() {
            Ok(MaybeUser(Some(user))) => Ok(user),
            Ok(MaybeUser(None)) => Err(AppError::Unauthenticated(
                "sign in: send `Authorization: Bearer <token>` or sign in on the site".into(),
            )),
            Err(error) => Err(error),
        })
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        ready(
            CurrentUser::from_request(req, payload)
                .into_inner()
                .and_then(|user| {
                    if user.is_admin() {
                        Ok(Admin(user))
                    } else {
                        Err(AppError::forbidden(
                            "admin_only",
                            "only administrators may do this",
                        ))
                    }
                }),
        )
    }
}

/// Builds an extractor that admits signed-in users passing `allowed`, 403 for the rest.
macro_rules! role_extractor {
    ($name:ident, $allowed:expr, $code:literal, $refusal:literal) => {
        impl FromRequest for $name {
            type Error = AppError;
            type Future = Ready<Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let allowed: fn(&CurrentUser) -> bool = $allowed;
                ready(
                    CurrentUser::from_request(req, payload)
                        .into_inner()
                        .and_then(|user| {
                            if allowed(&user) {
                                Ok($name(user))
                            } else {
                                Err(AppError::forbidden($code, $refusal))
                            }
                        }),
                )
            }
        }
    };
}

role_extractor!(
    Judge,
    |user| user.has_role(Role::Judge),
    "judge_only",
    "only judges may do this"
);
role_extractor!(
    JudgeOrAdmin,
    CurrentUser::sees_all_work,
    "judge_or_admin_only",
    "only judges and administrators may see this"
);
role_extractor!(
    DepartmentOrAdmin,
    |user| user.is_admin() || !user.departments.is_empty(),
    "department_or_admin_only",
    "only department members and administrators may see this"
);
role_extractor!(
    OperatorOrAdmin,
    |user| user.is_admin() || user.has_role(Role::Operator),
    "operator_or_admin_only",
    "only operators and administrators may see this"
);

impl FromRequest for WorkerCaller {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        ready(match caller_of(req) {
            Some(Caller::Worker(worker)) => Ok(worker),
            Some(Caller::Refused(message)) => Err(AppError::Unauthenticated(message)),
            Some(Caller::User(_)) | None => Err(AppError::Unauthenticated(
                "send a worker token as `Authorization: Bearer <token>`".into(),
            )),
        })
    }
}
