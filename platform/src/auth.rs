//! Who is calling: bearer-token authentication and the role checks built on it.

use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::db::ids::{OrganizationId, UserId};
use crate::db::models::scenarios::Visibility;
use crate::db::models::tokens::{self, TokenKind};
use crate::db::models::users::{self, Role};
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
            Err(AppError::forbidden(format!(
                "only members of the department `{organization}` may do this"
            )))
        }
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

fn lookup(conn: &mut crate::db::DbConnection, secret: &str) -> Result<Caller, AppError> {
    if let Some(token) = tokens::find_live(conn, secret, TokenKind::Worker)? {
        tokens::touch(conn, &token)?;
        return Ok(Caller::Worker(WorkerCaller {
            user_id: token.user_id,
        }));
    }
    let Some(token) = tokens::find_live(conn, secret, TokenKind::User)? else {
        return Ok(Caller::Refused(
            "the token is unknown or revoked".to_owned(),
        ));
    };
    tokens::touch(conn, &token)?;
    let Some(user) = users::find(conn, &token.user_id)? else {
        return Ok(Caller::Refused(
            "the token's user no longer exists".to_owned(),
        ));
    };
    Ok(Caller::User(CurrentUser {
        roles: users::roles_of(conn, &user.id)?,
        departments: users::departments_of(conn, &user.id)?,
        id: user.id,
        login: user.login,
        display_name: user.display_name,
    }))
}

/// Middleware: resolves the bearer token, if any, once per request.
pub async fn authenticate(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let caller = match bearer_secret(request.request()) {
        Ok(None) => None,
        Err(message) => Some(Caller::Refused(message)),
        Ok(Some(secret)) => {
            let state = request
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| AppError::Internal("application state missing".into()))?;
            Some(state.db.read(move |conn| lookup(conn, &secret)).await?)
        }
    };
    if let Some(caller) = caller {
        request.extensions_mut().insert(caller);
    }
    next.call(request).await
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
                "sign in: send `Authorization: Bearer <token>`".into(),
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
                        Err(AppError::forbidden("only administrators may do this"))
                    }
                }),
        )
    }
}

/// Builds an extractor that admits signed-in users passing `allowed`, 403 for the rest.
macro_rules! role_extractor {
    ($name:ident, $allowed:expr, $refusal:literal) => {
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
                                Err(AppError::forbidden($refusal))
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
    "only judges may do this"
);
role_extractor!(
    JudgeOrAdmin,
    CurrentUser::sees_all_work,
    "only judges and administrators may see this"
);
role_extractor!(
    OperatorOrAdmin,
    |user| user.is_admin() || user.has_role(Role::Operator),
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
