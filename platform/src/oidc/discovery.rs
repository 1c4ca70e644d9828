//! Reading the provider: its discovery document, its signing keys, and userinfo.

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::OidcError;

/// The fields of `/.well-known/openid-configuration` Jiebang uses.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
}

/// The claims of the userinfo answer that can fill in what the ID token left out.
#[derive(Debug, Clone, Deserialize)]
pub struct UserInfo {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
}

/// The HTTP client for every call to the provider. It follows no redirects: endpoints come
/// from the discovery document, and a redirect to elsewhere would be a provider's mistake
/// or an attempt to point the platform at an internal address.
pub fn http_client() -> Result<reqwest::Client, OidcError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .map_err(|e| OidcError::Provider(format!("cannot build an HTTP client: {e}")))
}

/// Reads the discovery document and checks it names exactly the configured issuer
/// (OpenID Connect Discovery 1.0, section 4.3), so a document served for another issuer
/// cannot redirect the platform's trust.
pub async fn metadata(http: &reqwest::Client, issuer: &str) -> Result<ProviderMetadata, OidcError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let metadata: ProviderMetadata = get_json(http, &url, None).await?;
    if metadata.issuer != issuer {
        return Err(OidcError::Provider(format!(
            "the discovery document at {url} names the issuer `{}`, not the configured `{issuer}`",
            metadata.issuer
        )));
    }
    if let Some(methods) = &metadata.code_challenge_methods_supported
        && !methods.iter().any(|m| m == "S256")
    {
        return Err(OidcError::Provider(
            "the provider does not support PKCE with S256".into(),
        ));
    }
    Ok(metadata)
}

pub async fn keys(http: &reqwest::Client, jwks_uri: &str) -> Result<JwkSet, OidcError> {
    get_json(http, jwks_uri, None).await
}

pub async fn userinfo(
    http: &reqwest::Client,
    endpoint: &str,
    access_token: &str,
) -> Result<UserInfo, OidcError> {
    get_json(http, endpoint, Some(access_token)).await
}

async fn get_json<T: DeserializeOwned>(
    http: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> Result<T, OidcError> {
    let mut request = http.get(url).header("Accept", "application/json");
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| OidcError::Provider(format!("cannot reach {url}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(OidcError::Provider(format!("{url} answered {status}")));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| OidcError::Provider(format!("reading {url}: {e}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| OidcError::Provider(format!("{url} did not answer the expected JSON: {e}")))
}
