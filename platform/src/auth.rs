//! Who is calling: bearer-token authentication and the role checks built on it.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

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

fn bearer_secret(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(header) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = header
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is not text".into()))?;
    match value.split_once(' ') {
        Some((scheme, secret))
            if scheme.eq_ignore_ascii_case("bearer") && !secret.trim().is_empty() =>
        {
            Ok(Some(secret.trim().to_owned()))
        }
        _ => Err(AppError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`".into(),
        )),
    }
}

async fn resolve(req: HttpRequest) -> Result<Option<CurrentUser>, AppError> {
    let Some(secret) = bearer_secret(&req)? else {
        return Ok(None);
    };
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?
        .clone();
    let user = state
        .db
        .read(move |conn| {
            let Some(token) = tokens::find_live(conn, &secret, TokenKind::User)? else {
                return Ok(None);
            };
            tokens::touch(conn, &token)?;
            let Some(user) = users::find(conn, &token.user_id)? else {
                return Ok(None);
            };
            Ok(Some(CurrentUser {
                roles: users::roles_of(conn, &user.id)?,
                departments: users::departments_of(conn, &user.id)?,
                id: user.id,
                login: user.login,
                display_name: user.display_name,
            }))
        })
        .await?;
    user.map(Some)
        .ok_or_else(|| AppError::Unauthenticated("the token is unknown or revoked".into()))
}

impl FromRequest for MaybeUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { resolve(req).await.map(MaybeUser) })
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            resolve(req).await?.ok_or_else(|| {
                AppError::Unauthenticated("sign in: send `Authorization: Bearer <token>`".into())
            })
        })
    }
}

impl FromRequest for Admin {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.is_admin() {
                Ok(Admin(user))
            } else {
                Err(AppError::forbidden("only administrators may do this"))
            }
        })
    }
}
