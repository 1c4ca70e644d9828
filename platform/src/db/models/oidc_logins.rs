//! Pending OpenID Connect sign-ins: begun, not yet finished, single use, short-lived.

use diesel::prelude::*;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::schema::oidc_logins;

/// How long a person has between "Sign in" and the provider's callback.
pub const LIFETIME_MILLIS: i64 = 10 * 60 * 1000;

/// One pending sign-in. The `state` itself is never stored, only its hash, so a copy of the
/// database cannot finish someone else's sign-in.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oidc_logins)]
pub struct PendingLogin {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    /// Where to send the person once signed in (a local path).
    pub return_to: String,
    pub created_at: i64,
}

/// What consuming a `state` found.
#[derive(Debug)]
pub enum Taken {
    Fresh(PendingLogin),
    Expired,
    Unknown,
}

pub fn hash_state(state: &str) -> String {
    hex::encode(Sha256::digest(state.as_bytes()))
}

/// The most sign-ins that may be pending at once. Beginning one costs an anonymous
/// visitor nothing, so without a bound a script could fill the table; a real crowd signing
/// in within ten minutes stays far below it.
pub const MAX_PENDING: i64 = 10_000;

/// Stores a new pending sign-in, and drops those that expired (nobody can use them).
/// `false` (nothing stored) when [`MAX_PENDING`] sign-ins are already under way.
pub fn insert(conn: &mut DbConnection, login: &PendingLogin) -> QueryResult<bool> {
    diesel::delete(oidc_logins::table)
        .filter(oidc_logins::created_at.lt(login.created_at - LIFETIME_MILLIS))
        .execute(conn)?;
    let pending: i64 = oidc_logins::table.count().get_result(conn)?;
    if pending >= MAX_PENDING {
        return Ok(false);
    }
    diesel::insert_into(oidc_logins::table)
        .values(login)
        .execute(conn)?;
    Ok(true)
}

/// Consumes the pending sign-in of `state`: it is deleted whatever its age, and only the
/// caller whose DELETE removed the row gets it, so two callbacks racing with the same
/// `state` cannot both proceed (the second sees `Unknown`).
pub fn take(conn: &mut DbConnection, state: &str, now: i64) -> QueryResult<Taken> {
    let hash = hash_state(state);
    let Some(login) = oidc_logins::table
        .find(&hash)
        .select(PendingLogin::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(Taken::Unknown);
    };
    let deleted = diesel::delete(oidc_logins::table.find(&hash)).execute(conn)?;
    if deleted != 1 {
        return Ok(Taken::Unknown);
    }
    if now - login.created_at > LIFETIME_MILLIS {
        return Ok(Taken::Expired);
    }
    Ok(Taken::Fresh(login))
}
