//! Browser sessions and CSRF: the signed session cookie, its key, safe `return_to` paths
//! and the `CsrfForm` extractor every state-changing page form goes through.
//!
//! For sign-in routes (local token sign-in here, OpenID Connect elsewhere):
//! - [`start_session`] gives the `Set-Cookie` for a fresh session of a user whose identity
//!   the caller has verified (a new CSRF token with it);
//! - [`end_session`] gives the cookie that removes it;
//! - [`return_to`] turns an untrusted `return_to` value into a same-site relative path.
//!
//! The cookie holds a random secret, signed with HMAC-SHA256 (the `cookie` crate's signed
//! jar) so a tampered one is refused before the database is asked. The session itself lives
//! on the server (`db::models::sessions`, keyed by the secret's hash): signing out, revoking
//! the token it was started with, or its expiry ends it at once, whatever the browser keeps.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;

use actix_web::cookie::{Cookie, CookieJar, Key, SameSite, time::Duration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use futures_util::StreamExt;
use rand::RngCore;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha512};

use crate::config::Config;
use crate::db::ids::{TokenId, UserId};
use crate::db::models::sessions::{self, StoredSession};
use crate::db::now_millis;
use crate::error::AppError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "jb_session";
/// The cookie holding a CSRF token for visitors not signed in yet (the sign-in form).
pub const PRE_SESSION_COOKIE: &str = "jb_csrf";
/// The pending OpenID Connect sign-in this browser began (its `state`).
pub const OIDC_BINDING_COOKIE: &str = "jb_oidc";
/// The file in the data directory that keeps a generated signing key.
const KEY_FILE: &str = "session.key";

/// The CSRF token a form on this request must carry: the session's, or the pre-session
/// cookie's for a visitor who is not signed in. Kept in the request's extensions.
#[derive(Debug, Clone)]
pub struct ExpectedCsrf(pub String);

/// The signing key: from `session_secret`, else from `<data_dir>/session.key`, which is
/// created (mode 0600) with 64 random bytes on first start.
pub fn load_key(config: &Config) -> Result<Key, AppError> {
    let material = match &config.session_secret {
        Some(secret) if secret.expose().len() < 32 => {
            return Err(AppError::Config(
                "session_secret must be at least 32 characters".into(),
            ));
        }
        Some(secret) => secret.expose().as_bytes().to_vec(),
        None => key_file(&config.data_dir)?,
    };
    // Stretched to the 64 bytes the signed jar wants, whatever the secret's length.
    Ok(Key::from(&Sha512::digest(&material)))
}

fn key_file(data_dir: &Path) -> Result<Vec<u8>, AppError> {
    let path = data_dir.join(KEY_FILE);
    let io = |e: std::io::Error| AppError::Config(format!("{}: {e}", path.display()));
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => {
            return Err(AppError::Config(format!(
                "{} is too short to be a session key; delete it to make a new one",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let mut bytes = vec![0u8; 64];
    rand::rng().fill_bytes(&mut bytes);
    let text = hex::encode(&bytes).into_bytes();
    write_private(&path, &text).map_err(io)?;
    Ok(text)
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    // create_new: two processes starting at once must not overwrite each other's key.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// A fresh random token (CSRF), 32 bytes as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn secure(state: &AppState) -> bool {
    state.config.public_url().starts_with("https://")
}

fn signed_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: Duration,
) -> Cookie<'static> {
    let mut cookie = Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure(state))
        .max_age(max_age)
        .finish();
    let mut jar = CookieJar::new();
    jar.signed_mut(&state.session_key).add(cookie.clone());
    if let Some(signed) = jar.get(name) {
        cookie.set_value(signed.value().to_owned());
    }
    cookie
}

fn verified(state: &AppState, cookie: Cookie<'static>) -> Option<String> {
    let name = cookie.name().to_owned();
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    jar.signed(&state.session_key)
        .get(&name)
        .map(|c| c.value().to_owned())
}

/// Starts a session of `user`, whose identity the caller has verified (`via_token` when
/// they signed in with an API token, so revoking it ends the session); returns its
/// `Set-Cookie`. A new CSRF token comes with it, so a token seen before sign-in is
/// worthless after.
pub async fn start_session(
    state: &AppState,
    user: &UserId,
    via_token: Option<TokenId>,
) -> Result<Cookie<'static>, AppError> {
    let hours = i64::try_from(state.config.session_hours.max(1)).unwrap_or(12);
    let secret = random_token();
    let now = now_millis();
    let stored = StoredSession {
        id_hash: crate::db::models::tokens::hash_secret(&secret),
        user_id: user.clone(),
        csrf_token: random_token(),
        token_id: via_token,
        created_at: now,
        expires_at: now + hours * 3_600_000,
    };
    state
        .db
        .write(move |conn| Ok(sessions::insert(conn, &stored)?))
        .await?;
    Ok(signed_cookie(
        state,
        SESSION_COOKIE,
        secret,
        Duration::hours(hours),
    ))
}

/// Ends the request's session on the server and gives the `Set-Cookie` that removes its
/// cookie.
pub async fn end_session(state: &AppState, req: &HttpRequest) -> Result<Cookie<'static>, AppError> {
    if let Some(secret) = session_secret(state, req) {
        state
            .db
            .write(move |conn| Ok(sessions::end(conn, &secret)?))
            .await?;
    }
    let mut cookie = signed_cookie(state, SESSION_COOKIE, String::new(), Duration::ZERO);
    cookie.make_removal();
    Ok(cookie)
}

/// The `Set-Cookie` for a visitor's pre-session CSRF token (the sign-in form's).
pub fn pre_session_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    signed_cookie(
        state,
        PRE_SESSION_COOKIE,
        token.to_owned(),
        Duration::hours(2),
    )
}

/// The `Set-Cookie` that binds a pending OpenID Connect sign-in to the browser that began
/// it: the callback must come with the same `state`.
pub fn oidc_binding_cookie(state: &AppState, oidc_state: &str) -> Cookie<'static> {
    signed_cookie(
        state,
        OIDC_BINDING_COOKIE,
        oidc_state.to_owned(),
        Duration::minutes(10),
    )
}

/// The `Set-Cookie` that removes the binding once the callback has used it.
pub fn end_oidc_binding(state: &AppState) -> Cookie<'static> {
    let mut cookie = signed_cookie(state, OIDC_BINDING_COOKIE, String::new(), Duration::ZERO);
    cookie.make_removal();
    cookie
}

/// Whether the request's browser began the sign-in of `oidc_state`.
pub fn began_oidc_sign_in(state: &AppState, req: &HttpRequest, oidc_state: &str) -> bool {
    req.cookie(OIDC_BINDING_COOKIE)
        .and_then(|cookie| verified(state, cookie))
        .is_some_and(|bound| same_token(&bound, oidc_state))
}

/// The secret of the request's session cookie, when the cookie is genuine; whether the
/// session still lives is the database's to say ([`sessions::find_live`]).
pub fn session_secret(state: &AppState, req: &HttpRequest) -> Option<String> {
    verified(state, req.cookie(SESSION_COOKIE)?).filter(|secret| secret.len() == 64)
}

/// The pre-session CSRF token a request carries, when genuine.
pub fn read_pre_session(state: &AppState, req: &HttpRequest) -> Option<String> {
    verified(state, req.cookie(PRE_SESSION_COOKIE)?).filter(|t| t.len() == 64)
}

/// A safe place to send someone after sign-in: `raw` when it is a relative path on this
/// site (`/…`, not `//host` or `/\host`, no scheme, no control characters), else `/`.
pub fn return_to(raw: Option<&str>) -> String {
    match raw {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && !path.chars().any(|c| c.is_control() || c == '\\')
                && !path.starts_with("/auth/") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Equal in time independent of where the strings differ, so a guess learns nothing.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A URL-encoded form whose `csrf_token` field matched the session's token; refused with
/// 403 (before the handler runs, so nothing changes) when it is missing or wrong.
pub struct CsrfForm<T>(pub T);

#[derive(Deserialize)]
struct TokenOnly {
    csrf_token: Option<String>,
}

/// Forms are small; anything bigger is not one of ours.
const FORM_LIMIT: usize = 64 * 1024;

/// The whole body of a form, at most [`FORM_LIMIT`] bytes whether or not it declared its
/// length (a chunked body has none): more is 413, a cut connection 400.
async fn read_form(mut payload: Payload) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|error| {
            AppError::bad_request(
                "upload_interrupted",
                format!("the form was cut off: {error}"),
            )
        })?;
        if bytes.len() + chunk.len() > FORM_LIMIT {
            return Err(AppError::PayloadTooLarge("the form is too large".into()));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let expected = req.extensions().get::<ExpectedCsrf>().cloned();
        let body = read_form(payload.take());
        let too_big = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > FORM_LIMIT);
        Box::pin(async move {
            if too_big {
                return Err(AppError::PayloadTooLarge("the form is too large".into()));
            }
            let bytes = body.await?;
            let refused = || {
                AppError::forbidden(
                    "stale_form",
                    "the form's security token is missing or out of date; reload the page and try again",
                )
            };
            let sent: TokenOnly = serde_urlencoded::from_bytes(&bytes).map_err(|_| refused())?;
            match (expected, sent.csrf_token) {
                (Some(ExpectedCsrf(expected)), Some(sent)) if same_token(&expected, &sent) => {}
                _ => return Err(refused()),
            }
            serde_urlencoded::from_bytes::<T>(&bytes)
                .map(CsrfForm)
                .map_err(|e| {
                    AppError::bad_request(
                        "bad_form",
                        format!("the form is not filled in correctly: {e}"),
                    )
                })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn return_to_keeps_only_local_paths() {
        assert_eq!(
            return_to(Some("/scenarios/x?board=private")),
            "/scenarios/x?board=private"
        );
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "evil",
            "",
            "/auth/logout",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(return_to(Some(bad)), "/", "{bad}");
        }
        assert_eq!(return_to(None), "/");
    }

    #[actix_web::test]
    async fn a_form_past_the_limit_is_too_large_even_without_a_length() {
        fn chunked(chunks: Vec<Vec<u8>>) -> Payload {
            let stream = futures_util::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<_, actix_web::error::PayloadError>(c.into())),
            );
            Payload::Stream {
                payload: Box::pin(stream),
            }
        }
        let refused = read_form(chunked(vec![vec![b'a'; 40_000]; 8]))
            .await
            .unwrap_err();
        assert!(
            matches!(refused, AppError::PayloadTooLarge(_)),
            "{refused:?}"
        );
        let small = chunked(vec![b"csrf_token=".to_vec(), b"x".to_vec()]);
        assert_eq!(read_form(small).await.unwrap(), b"csrf_token=x");
    }

    #[test]
    fn token_comparison() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
    }

    #[test]
    fn generated_key_is_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let first = load_key(&config).unwrap();
        let second = load_key(&config).unwrap();
        assert_eq!(first.master(), second.master());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
