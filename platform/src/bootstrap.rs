//! First start: make sure an administrator exists and hand out their token once.

use crate::db::Db;
use crate::db::models::tokens::{self, IssuedToken, TokenKind};
use crate::db::models::users::{self, Role, UserForm};
use crate::error::AppError;

/// Creates the `admin` user and a token when no administrator exists yet; the token is
/// returned for printing and never stored in the clear.
pub fn ensure_first_admin(db: &Db) -> Result<Option<IssuedToken>, AppError> {
    db.write_blocking(|conn| {
        if users::anyone_has_role(conn, Role::Admin)? {
            return Ok(None);
        }
        let user = match users::find_by_login(conn, "admin")? {
            Some(user) => user,
            None => users::create(
                conn,
                UserForm {
                    login: "admin".to_owned(),
                    display_name: "Administrator".to_owned(),
                    email: None,
                    roles: Vec::new(),
                    departments: Vec::new(),
                },
                None,
            )?,
        };
        users::grant_role(conn, &user.id, Role::Admin, None)?;
        tokens::issue(conn, &user.id, "first start", TokenKind::User, None).map(Some)
    })
}
