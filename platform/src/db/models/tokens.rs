//! API tokens: random secrets shown once, stored only as SHA-256 digests.

use diesel::prelude::*;
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::db::DbConnection;
use crate::db::ids::{TokenId, UserId};
use crate::db::models::{Page, audit, paged};
use crate::db::now_millis;
use crate::db::schema::api_tokens;
use crate::error::AppError;

/// The prefix every secret starts with, so a leaked one is easy to recognise and scan for.
pub const SECRET_PREFIX: &str = "jb_";

jiebang_scenarios::text_enum! {
    sql;
    /// Who a token speaks for.
    pub enum TokenKind: "token kind" {
        /// A person, on the JSON API.
        User = "user",
        /// An evaluation worker, on the internal worker API.
        Worker = "worker",
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub kind: TokenKind,
    pub token_hash: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// A freshly issued token: the only moment the secret exists outside the caller's hands.
#[derive(Debug, Serialize)]
pub struct IssuedToken {
    pub id: TokenId,
    pub name: String,
    pub token: String,
}

pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

pub fn issue(
    conn: &mut DbConnection,
    user: &UserId,
    name: &str,
    kind: TokenKind,
    actor: Option<&UserId>,
) -> Result<IssuedToken, AppError> {
    crate::validate::text("name", name, 100)?;
    let secret = new_secret();
    let token = ApiToken {
        id: TokenId::generate(),
        user_id: user.clone(),
        name: name.to_owned(),
        kind,
        token_hash: hash_secret(&secret),
        created_at: now_millis(),
        last_used_at: None,
        revoked_at: None,
    };
    diesel::insert_into(api_tokens::table)
        .values(&token)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "token.issue",
        "user",
        user.as_str(),
        serde_json::json!({"token_id": token.id, "name": name, "kind": kind.as_str()}),
    )?;
    Ok(IssuedToken {
        id: token.id,
        name: token.name,
        token: secret,
    })
}

/// The live token with this secret, if any.
pub fn find_live(
    conn: &mut DbConnection,
    secret: &str,
    kind: TokenKind,
) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .filter(api_tokens::token_hash.eq(hash_secret(secret)))
        .filter(api_tokens::kind.eq(kind))
        .filter(api_tokens::revoked_at.is_null())
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

/// Records use at most once a minute, so reads do not turn into a write each.
/// The token to mark used, if its last use is more than a minute old: found on a read, then
/// marked by [`mark_used`] in a write of its own. An UPDATE inside a read would write past
/// SQLite's writer lock, and a write transaction that had read before it would then fail
/// on its snapshot (a 500 on whatever request it served).
pub fn stale_use(token: &ApiToken) -> Option<TokenId> {
    let now = now_millis();
    token
        .last_used_at
        .is_none_or(|last| now - last > 60_000)
        .then(|| token.id.clone())
}

pub fn mark_used(conn: &mut DbConnection, id: &TokenId) -> QueryResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(now_millis()))
        .execute(conn)?;
    Ok(())
}

/// A page of the user's tokens, oldest first.
pub fn list_for(
    conn: &mut DbConnection,
    user: &UserId,
    page: Page,
) -> QueryResult<(Vec<ApiToken>, i64)> {
    paged!(
        conn,
        page,
        api_tokens::table.filter(api_tokens::user_id.eq(user)),
        order: (api_tokens::created_at.asc(), api_tokens::id.asc()),
        select: ApiToken::as_select(),
    )
}

pub fn find(conn: &mut DbConnection, id: &TokenId) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .find(id)
        .select(ApiToken::as_select())
        .first(conn)
        .optional()
}

pub fn revoke(
    conn: &mut DbConnection,
    token: &ApiToken,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    if token.revoked_at.is_some() {
        return Ok(());
    }
    diesel::update(api_tokens::table.find(&token.id))
        .set(api_tokens::revoked_at.eq(now_millis()))
        .execute(conn)?;
    // A browser signed in with this token is signed out with it.
    crate::db::models::sessions::end_for_token(conn, &token.id)?;
    audit::record(
        conn,
        actor,
        "token.revoke",
        "user",
        token.user_id.as_str(),
        serde_json::json!({"token_id": token.id}),
    )?;
    Ok(())
}
