//! Identities at a sign-in provider (issuer + subject) and the users they map to.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::UserId;
use crate::db::models::users::{self, User, UserForm};
use crate::db::models::{audit, conflict_if_duplicate};
use crate::db::now_millis;
use crate::db::schema::identities;
use crate::error::AppError;
use crate::oidc::VerifiedIdentity;

/// The user behind a sign-in, and whether this sign-in created them.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub created: bool,
}

/// The user the identity (issuer, subject) maps to; on the first sign-in a new user is
/// created and the identity recorded, in one transaction with their audit entries.
///
/// Only issuer + subject identify a person: an e-mail address is never used to attach a
/// sign-in to an existing user, because providers let people choose and change it.
pub fn find_or_create_user(
    conn: &mut DbConnection,
    identity: &VerifiedIdentity,
) -> Result<SignedIn, AppError> {
    // A savepoint when the caller already holds a transaction, a transaction otherwise.
    conn.transaction(|conn| {
        if let Some(user_id) = user_of(conn, &identity.issuer, &identity.subject)? {
            let user = users::find(conn, &user_id)?
                .ok_or_else(|| AppError::Internal(format!("identity of missing user {user_id}")))?;
            return Ok(SignedIn {
                user,
                created: false,
            });
        }
        let login = free_login(conn, &login_base(identity))?;
        let user = users::create(
            conn,
            UserForm {
                display_name: display_name(identity),
                login,
                email: identity
                    .email
                    .clone()
                    .filter(|email| crate::validate::email("email", email).is_ok()),
                roles: Vec::new(),
                departments: Vec::new(),
            },
            None,
        )?;
        diesel::insert_into(identities::table)
            .values((
                identities::provider.eq(&identity.issuer),
                identities::subject.eq(&identity.subject),
                identities::user_id.eq(&user.id),
                identities::created_at.eq(now_millis()),
            ))
            .execute(conn)
            .map_err(conflict_if_duplicate(|| {
                // Two first sign-ins of one person at once; the other one won.
                AppError::conflict(
                    "identity_taken",
                    "this sign-in is being set up already; sign in again",
                )
            }))?;
        audit::record(
            conn,
            Some(&user.id),
            "identity.link",
            "user",
            user.id.as_str(),
            serde_json::json!({"provider": identity.issuer, "subject": identity.subject}),
        )?;
        Ok(SignedIn {
            user,
            created: true,
        })
    })
}

pub fn user_of(
    conn: &mut DbConnection,
    provider: &str,
    subject: &str,
) -> QueryResult<Option<UserId>> {
    identities::table
        .find((provider, subject))
        .select(identities::user_id)
        .first(conn)
        .optional()
}

/// The login of a person first signing in through the provider: their username (else the
/// e-mail's local part, else "user"), then a tag of six hex digits derived from the issuer
/// and the subject — `zhang.wei-3fa2c1`. Logins are what invitations and roles are granted
/// to; a provider's username is chosen (and often changeable) by whoever registers first,
/// so without the tag an account named after someone else would receive what was meant for
/// them. The tag is the same at every sign-in and cannot be chosen.
fn login_base(identity: &VerifiedIdentity) -> String {
    use sha2::{Digest, Sha256};
    let subject = Sha256::digest(format!("{}\n{}", identity.issuer, identity.subject));
    format!("{}-{}", username_part(identity), &hex::encode(subject)[..6])
}

/// A well-formed login from the provider's username, else the e-mail's local part, else
/// "user": lowercased, other characters as `-`, at most 30 characters.
fn username_part(identity: &VerifiedIdentity) -> String {
    let source = identity
        .preferred_username
        .as_deref()
        .or_else(|| identity.email.as_deref().and_then(|e| e.split('@').next()))
        .unwrap_or("");
    let mut login: String = source
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(30)
        .collect();
    login = login
        .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if login.len() < 2 {
        login = "user".to_owned();
    }
    login
}

/// `base`, or `base-2`, `base-3`, … the first that no user has.
fn free_login(conn: &mut DbConnection, base: &str) -> Result<String, AppError> {
    for n in 1..1000 {
        let candidate = if n == 1 {
            base.to_owned()
        } else {
            format!("{base}-{n}")
        };
        if users::find_by_login(conn, &candidate)?.is_none() {
            return Ok(candidate);
        }
    }
    // Nobody has a thousand namesakes; a random suffix ends the search either way.
    let short: String = base.chars().take(20).collect();
    Ok(format!("{short}-{}", crate::db::ids::random_id("u")))
}

fn display_name(identity: &VerifiedIdentity) -> String {
    let name = [
        identity.name.as_deref(),
        identity.preferred_username.as_deref(),
        identity.email.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
    .find(|n| !n.trim().is_empty())
    .unwrap_or_else(|| format!("user {}", identity.subject));
    name.trim().chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(subject: &str, username: &str) -> VerifiedIdentity {
        VerifiedIdentity {
            issuer: "https://id.example".into(),
            subject: subject.into(),
            email: None,
            name: None,
            preferred_username: Some(username.into()),
        }
    }

    #[test]
    fn a_login_carries_a_tag_only_the_identity_decides() {
        let real = login_base(&identity("sub-1", "Zhang.Wei"));
        let squatter = login_base(&identity("sub-2", "zhang.wei"));
        assert!(real.starts_with("zhang.wei-"), "{real}");
        assert_eq!(real.len(), "zhang.wei-".len() + 6);
        assert_ne!(
            real, squatter,
            "another account with the same name gets another login"
        );
        assert_eq!(real, login_base(&identity("sub-1", "Zhang.Wei")), "stable");
        assert!(crate::validate::login("login", &real).is_ok());
        let long = login_base(&identity("sub-3", &"x".repeat(80)));
        assert!(crate::validate::login("login", &long).is_ok(), "{long}");
    }
}
