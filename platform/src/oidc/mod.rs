//! Sign-in through an OpenID Connect provider: authorization code + PKCE (S256), verified ID token.
//!
//! The flow, for whoever wires the routes:
//! 1. `/auth/oidc/start`: [`OidcClient::begin`] stores a pending sign-in (state hash, nonce,
//!    PKCE verifier, where to return) and gives the provider URL to redirect the browser to.
//! 2. The person signs in at the provider, which redirects to `<public_url>/auth/oidc/callback`
//!    with `code` and `state`.
//! 3. `/auth/oidc/callback`: [`OidcClient::finish`] consumes the pending sign-in (once, within
//!    10 minutes), redeems the code with the stored verifier, verifies the ID token and
//!    returns the [`VerifiedIdentity`]; [`find_or_create_user`] maps it to a user.

mod discovery;
mod error;
pub mod id_token;

use std::sync::RwLock;

use jsonwebtoken::jwk::JwkSet;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    ExtraTokenFields, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::config::OidcConfig;
use crate::db::Db;
pub use crate::db::models::identities::{SignedIn, find_or_create_user};
use crate::db::models::oidc_logins::{self, PendingLogin, Taken};
use crate::db::now_millis;
use crate::error::AppError;
pub use error::OidcError;

/// The configured provider, discovered on first use rather than at start-up: a provider
/// that is down when the platform starts must not keep the platform from starting, and a
/// failed discovery is tried again on the next sign-in.
pub struct Provider {
    config: OidcConfig,
    redirect_url: String,
    client: tokio::sync::OnceCell<OidcClient>,
}

impl Provider {
    pub fn new(config: OidcConfig, redirect_url: String) -> Self {
        Self {
            config,
            redirect_url,
            client: tokio::sync::OnceCell::new(),
        }
    }

    pub async fn client(&self) -> Result<&OidcClient, OidcError> {
        self.client
            .get_or_try_init(|| OidcClient::discover(&self.config, &self.redirect_url))
            .await
    }
}

/// Who the provider says signed in, after every check passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedIdentity {
    pub issuer: String,
    pub subject: String,
    /// As the provider has it; used for contact only, never to match an existing user.
    pub email: Option<String>,
    pub name: Option<String>,
    pub preferred_username: Option<String>,
}

/// A sign-in begun: where to send the browser, and the `state` the callback must bring.
#[derive(Debug, Clone)]
pub struct Begun {
    pub url: String,
    pub state: String,
}

/// A finished sign-in: who, and the local path they asked to return to.
#[derive(Debug, Clone)]
pub struct Finished {
    pub identity: VerifiedIdentity,
    pub return_to: String,
}

/// The token endpoint's answer carries the ID token beside the access token.
#[derive(Debug, Clone, Deserialize, Serialize)]
struct IdTokenField {
    #[serde(default)]
    id_token: Option<String>,
}

impl ExtraTokenFields for IdTokenField {}

type TokenAnswer = StandardTokenResponse<IdTokenField, BasicTokenType>;

/// The `oauth2` client with the authorization and token endpoints set.
type ProviderClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// The provider as discovered at start-up; cheap to share behind an `Arc`.
pub struct OidcClient {
    issuer: String,
    client_id: String,
    display_name: String,
    oauth: ProviderClient,
    http: reqwest::Client,
    jwks_uri: String,
    userinfo_endpoint: Option<String>,
    /// Refreshed when a token names a key id it lacks (the provider rotated its keys).
    keys: RwLock<JwkSet>,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl OidcClient {
    /// Reads the provider's discovery document and keys. `redirect_url` is where the
    /// provider sends people back: `Config::oidc_redirect_url()` in the server.
    pub async fn discover(config: &OidcConfig, redirect_url: &str) -> Result<Self, OidcError> {
        let http = discovery::http_client()?;
        let metadata = discovery::metadata(&http, &config.issuer).await?;
        let keys = discovery::keys(&http, &metadata.jwks_uri).await?;
        let bad_url = |what: &str, e: url::ParseError| {
            OidcError::Provider(format!("the {what} is not a URL: {e}"))
        };
        let oauth = oauth2::Client::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.client_secret.expose().to_owned()))
            .set_auth_uri(
                AuthUrl::new(metadata.authorization_endpoint.clone())
                    .map_err(|e| bad_url("authorization endpoint", e))?,
            )
            .set_token_uri(
                TokenUrl::new(metadata.token_endpoint.clone())
                    .map_err(|e| bad_url("token endpoint", e))?,
            )
            .set_redirect_uri(
                RedirectUrl::new(redirect_url.to_owned())
                    .map_err(|e| bad_url("redirect URL", e))?,
            );
        tracing::info!(issuer = %config.issuer, "OpenID Connect provider discovered");
        Ok(Self {
            issuer: metadata.issuer,
            client_id: config.client_id.clone(),
            display_name: config.display_name.clone(),
            oauth,
            http,
            jwks_uri: metadata.jwks_uri,
            userinfo_endpoint: metadata.userinfo_endpoint,
            keys: RwLock::new(keys),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The provider's name for the sign-in button.
    pub fn display_name(&self) -> &str {
        &self.display_name
    }

    /// Begins a sign-in: stores it as pending and returns the provider URL to send the
    /// browser to with the `state` it carries (the browser keeps a copy, so the callback can
    /// be bound to it). `return_to` must be a local path (`/…`); `finish` hands it back.
    pub async fn begin(&self, db: &Db, return_to: &str) -> Result<Begun, AppError> {
        check_local_path(return_to)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let nonce = CsrfToken::new_random_len(32);
        let (url, state) = self
            .oauth
            .authorize_url(|| CsrfToken::new_random_len(32))
            .add_scopes(["openid", "email", "profile"].map(|s| Scope::new(s.to_owned())))
            .add_extra_param("nonce", nonce.secret())
            .set_pkce_challenge(challenge)
            .url();
        let login = PendingLogin {
            state_hash: oidc_logins::hash_state(state.secret()),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            return_to: return_to.to_owned(),
            created_at: now_millis(),
        };
        let stored = db
            .write(move |conn| Ok(oidc_logins::insert(conn, &login)?))
            .await?;
        if !stored {
            return Err(AppError::Unavailable(
                "too many sign-ins are under way; please try again in a few minutes".into(),
            ));
        }
        Ok(Begun {
            url: url.to_string(),
            state: state.secret().clone(),
        })
    }

    /// Finishes a sign-in from the callback's `state` and `code`: consumes the pending
    /// sign-in, redeems the code and verifies the ID token.
    pub async fn finish(&self, db: &Db, state: &str, code: &str) -> Result<Finished, AppError> {
        let login = consume(db, state).await?;
        let answer = self
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| match e {
                RequestTokenError::ServerResponse(refusal) => {
                    let error = refusal.error().to_string();
                    tracing::warn!(%error, "the provider refused a sign-in code");
                    OidcError::CodeRefused { error }
                }
                other => OidcError::Provider(format!("redeeming the sign-in code: {other}")),
            })?;
        let token = answer
            .extra_fields()
            .id_token
            .as_deref()
            .ok_or_else(|| OidcError::bad_token("the token answer has no id_token"))?;
        let claims = self.verify(token, &login.nonce).await?;
        let mut identity = VerifiedIdentity {
            issuer: claims.iss,
            subject: claims.sub,
            email: claims.email,
            name: claims.name,
            preferred_username: claims.preferred_username,
        };
        self.fill_from_userinfo(&mut identity, answer.access_token().secret())
            .await?;
        tracing::info!(issuer = %identity.issuer, subject = %identity.subject, "OpenID Connect sign-in verified");
        Ok(Finished {
            identity,
            return_to: login.return_to,
        })
    }

    /// Spends the pending sign-in of `state` without finishing it (the provider answered
    /// the callback with an error); an unknown or expired state is no error here.
    pub async fn cancel(&self, db: &Db, state: &str) -> Result<(), AppError> {
        let state = state.to_owned();
        db.write(move |conn| Ok(oidc_logins::take(conn, &state, now_millis())?))
            .await?;
        Ok(())
    }

    async fn verify(&self, token: &str, nonce: &str) -> Result<id_token::IdTokenClaims, OidcError> {
        let expected = id_token::Expected {
            issuer: &self.issuer,
            client_id: &self.client_id,
            nonce,
        };
        let unknown = id_token::unknown_key_id(token, &self.read_keys());
        if let Some(kid) = unknown {
            tracing::info!(%kid, "ID token signed with an unknown key; fetching the JWKS again");
            let fresh = discovery::keys(&self.http, &self.jwks_uri).await?;
            *self.keys.write().unwrap_or_else(|p| p.into_inner()) = fresh;
        }
        id_token::verify(token, &self.read_keys(), expected)
    }

    fn read_keys(&self) -> std::sync::RwLockReadGuard<'_, JwkSet> {
        // A poisoned lock only means a writer panicked mid-assignment of a whole JwkSet.
        self.keys.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Some providers put only `sub` in the ID token; userinfo has the rest. Its `sub` must
    /// be the ID token's (OpenID Connect Core 1.0, 5.3.2), or the answer is not about them.
    async fn fill_from_userinfo(
        &self,
        identity: &mut VerifiedIdentity,
        access_token: &str,
    ) -> Result<(), OidcError> {
        let complete = identity.email.is_some() && identity.name.is_some();
        let Some(endpoint) = self.userinfo_endpoint.as_deref().filter(|_| !complete) else {
            return Ok(());
        };
        let info = discovery::userinfo(&self.http, endpoint, access_token).await?;
        if info.sub != identity.subject {
            return Err(OidcError::Provider(
                "userinfo describes another subject than the ID token".into(),
            ));
        }
        identity.email = identity.email.take().or(info.email);
        identity.name = identity.name.take().or(info.name);
        identity.preferred_username = identity
            .preferred_username
            .take()
            .or(info.preferred_username);
        Ok(())
    }
}

/// Takes the pending sign-in of `state` out of the database, in its own transaction, so a
/// failure later (a refused code) cannot put it back: every `state` is good for one try.
async fn consume(db: &Db, state: &str) -> Result<PendingLogin, AppError> {
    let state = state.to_owned();
    let taken = db
        .write(move |conn| Ok(oidc_logins::take(conn, &state, now_millis())?))
        .await?;
    match taken {
        Taken::Fresh(login) => Ok(login),
        Taken::Expired => Err(OidcError::Expired {
            minutes: oidc_logins::LIFETIME_MILLIS / 60_000,
        }
        .into()),
        Taken::Unknown => Err(OidcError::UnknownState.into()),
    }
}

/// Refuses anything but a path on this site, so the sign-in cannot be used to send people
/// to another site afterwards (`//evil.example` and `/\evil.example` are other sites to browsers).
fn check_local_path(return_to: &str) -> Result<(), AppError> {
    let local = return_to.starts_with('/')
        && !return_to.starts_with("//")
        && !return_to.starts_with("/\\")
        && !return_to.chars().any(char::is_control);
    if local {
        Ok(())
    } else {
        Err(crate::validate::FieldProblem::new(
            "return_to",
            "site_path",
            "must be a path on this site, starting with `/`",
        )
        .into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_return_targets() {
        for good in ["/", "/scenarios/kg-open", "/teams?page=2"] {
            assert!(check_local_path(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/a\nb",
        ] {
            assert!(check_local_path(bad).is_err(), "{bad}");
        }
    }
}
