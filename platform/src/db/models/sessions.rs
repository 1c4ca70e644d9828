//! Browser sessions kept on the server: started at sign-in, ended by signing out, by
//! revoking the token a session was started with, or when they expire.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::{TokenId, UserId};
use crate::db::models::tokens::hash_secret;
use crate::db::schema::sessions;

/// A live session: whose it is and the CSRF token its forms must carry.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
pub struct StoredSession {
    /// The SHA-256 of the cookie's secret; the secret itself is never stored.
    pub id_hash: String,
    pub user_id: UserId,
    pub csrf_token: String,
    /// The API token the person signed in with, when they used one.
    pub token_id: Option<TokenId>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Records a new session, and drops those that expired (nobody can use them).
pub fn insert(conn: &mut DbConnection, session: &StoredSession) -> QueryResult<()> {
    diesel::delete(sessions::table.filter(sessions::expires_at.le(session.created_at)))
        .execute(conn)?;
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)?;
    Ok(())
}

/// The session of a cookie's secret, when it exists and has not expired.
pub fn find_live(
    conn: &mut DbConnection,
    secret: &str,
    now: i64,
) -> QueryResult<Option<StoredSession>> {
    sessions::table
        .find(hash_secret(secret))
        .filter(sessions::expires_at.gt(now))
        .select(StoredSession::as_select())
        .first(conn)
        .optional()
}

/// Ends the session of a cookie's secret (signing out); an unknown one is no error.
pub fn end(conn: &mut DbConnection, secret: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.find(hash_secret(secret))).execute(conn)
}

/// Ends every session started with the token (it was revoked).
pub fn end_for_token(conn: &mut DbConnection, token: &TokenId) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::token_id.eq(token))).execute(conn)
}
