//! ID-token verification: RS256 signature against the provider's JWKS, then iss, aud, exp, nonce.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde::Deserialize;

use super::OidcError;

/// Clock skew tolerated on `exp`, `iat` and `nbf`, in seconds.
const LEEWAY_SECONDS: u64 = 60;

/// What a token must say to be accepted.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The nonce stored with the pending sign-in; the token must carry the same.
    pub nonce: &'a str,
}

/// The claims Jiebang uses from a verified ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    /// A string or a list (OpenID Connect Core 1.0, section 2); `jsonwebtoken` checked it
    /// contains the client id, only the list case needs `azp` below.
    aud: serde_json::Value,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
}

/// The `kid` of the token's header, when the JWKS has no key by that id: the provider may
/// have rotated its keys, so the caller fetches the JWKS again once before giving up.
pub fn unknown_key_id(token: &str, keys: &JwkSet) -> Option<String> {
    let kid = decode_header(token).ok()?.kid?;
    keys.find(&kid).is_none().then_some(kid)
}

/// Verifies the token and returns its claims, or says which check failed.
pub fn verify(
    token: &str,
    keys: &JwkSet,
    expected: Expected<'_>,
) -> Result<IdTokenClaims, OidcError> {
    let header =
        decode_header(token).map_err(|e| OidcError::bad_token(format!("malformed header: {e}")))?;
    // Only RS256: it is the algorithm every provider must support, and accepting the
    // header's choice freely is how "alg: none" and HMAC-with-the-public-key attacks work.
    if header.alg != Algorithm::RS256 {
        return Err(OidcError::bad_token(format!(
            "signed with {:?}, only RS256 is accepted",
            header.alg
        )));
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid).ok_or_else(|| {
            OidcError::bad_token(format!("no key `{kid}` in the provider's JWKS"))
        })?,
        // Without a kid the key is unambiguous only when the provider publishes one key.
        None => match keys.keys.as_slice() {
            [only] => only,
            _ => {
                return Err(OidcError::bad_token(
                    "no `kid` and the JWKS has several keys",
                ));
            }
        },
    };
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|e| OidcError::bad_token(format!("the provider's key is unusable: {e}")))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.leeway = LEEWAY_SECONDS;
    let claims = decode::<IdTokenClaims>(token, &key, &validation)
        .map_err(|e| OidcError::bad_token(describe(&e)))?
        .claims;
    if let Some(audiences) = claims.aud.as_array() {
        // Several audiences: `azp` must name us (OpenID Connect Core 1.0, 3.1.3.7 step 4–5).
        if audiences.len() > 1 && claims.azp.as_deref() != Some(expected.client_id) {
            return Err(OidcError::bad_token(
                "several audiences and `azp` is not this client",
            ));
        }
    }
    match &claims.nonce {
        Some(nonce) if nonce == expected.nonce => Ok(claims),
        Some(_) => Err(OidcError::bad_token(
            "the nonce does not match the one sent with this sign-in",
        )),
        None => Err(OidcError::bad_token("the token carries no nonce")),
    }
}

fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::InvalidSignature => "the signature does not match the provider's key".into(),
        ErrorKind::InvalidIssuer => "`iss` is not the configured issuer".into(),
        ErrorKind::InvalidAudience => "`aud` does not contain this client id".into(),
        ErrorKind::ExpiredSignature => "the token has expired (`exp`)".into(),
        ErrorKind::ImmatureSignature => "the token is not valid yet (`nbf`)".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the claim `{claim}` is missing"),
        ErrorKind::InvalidAlgorithm => "the key's algorithm is not RS256".into(),
        other => format!("malformed token ({other:?})"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    //! Tokens signed here with a throw-away test key (testdata/test-key.pem, whose public
    //! half is testdata/test-jwks.json) and a second key the JWKS does not hold.

    use super::*;
    use jsonwebtoken::{EncodingKey, Header, encode};

    const ISSUER: &str = "https://id.example";
    const CLIENT: &str = "jiebang";
    const NONCE: &str = "n-0S6_WzA2Mj";

    fn keys() -> JwkSet {
        serde_json::from_str(include_str!("testdata/test-jwks.json")).unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn claims() -> serde_json::Value {
        serde_json::json!({
            "iss": ISSUER, "sub": "248289761001", "aud": CLIENT, "nonce": NONCE,
            "exp": now() + 600, "iat": now(), "email": "a@example.test", "name": "A",
        })
    }

    fn sign_with(pem: &str, kid: Option<&str>, claims: &serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        encode(
            &header,
            claims,
            &EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        )
        .unwrap()
    }

    fn sign(claims: &serde_json::Value) -> String {
        sign_with(
            include_str!("testdata/test-key.pem"),
            Some("test-key"),
            claims,
        )
    }

    fn expected() -> Expected<'static> {
        Expected {
            issuer: ISSUER,
            client_id: CLIENT,
            nonce: NONCE,
        }
    }

    fn refusal(token: &str) -> String {
        match verify(token, &keys(), expected()) {
            Err(OidcError::BadIdToken { check }) => check,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    fn with(field: &str, value: serde_json::Value) -> serde_json::Value {
        let mut claims = claims();
        claims[field] = value;
        claims
    }

    #[test]
    fn a_good_token_is_accepted() {
        let claims = verify(&sign(&claims()), &keys(), expected()).unwrap();
        assert_eq!(claims.sub, "248289761001");
        assert_eq!(claims.email.as_deref(), Some("a@example.test"));
    }

    #[test]
    fn a_token_signed_by_another_key_is_refused() {
        let forged = sign_with(
            include_str!("testdata/other-key.pem"),
            Some("test-key"),
            &claims(),
        );
        assert!(refusal(&forged).contains("signature"));
    }

    #[test]
    fn a_changed_payload_breaks_the_signature() {
        let token = sign(&claims());
        let parts: Vec<&str> = token.split('.').collect();
        let other = sign(&with("sub", "someone-else".into()));
        let spliced = format!(
            "{}.{}.{}",
            parts[0],
            other.split('.').nth(1).unwrap(),
            parts[2]
        );
        assert!(refusal(&spliced).contains("signature"));
    }

    #[test]
    fn each_claim_check_names_itself() {
        assert!(refusal(&sign(&with("nonce", "replayed".into()))).contains("nonce"));
        assert!(refusal(&sign(&with("aud", "someone-else".into()))).contains("aud"));
        assert!(refusal(&sign(&with("iss", "https://evil.example".into()))).contains("iss"));
        assert!(refusal(&sign(&with("exp", (now() - 3600).into()))).contains("expired"));
        let mut no_nonce = claims();
        no_nonce.as_object_mut().unwrap().remove("nonce");
        assert!(refusal(&sign(&no_nonce)).contains("no nonce"));
    }

    #[test]
    fn several_audiences_need_azp() {
        let aud = serde_json::json!([CLIENT, "another-client"]);
        assert!(refusal(&sign(&with("aud", aud.clone()))).contains("azp"));
        let mut claims = with("aud", aud);
        claims["azp"] = CLIENT.into();
        assert!(verify(&sign(&claims), &keys(), expected()).is_ok());
    }

    #[test]
    fn other_algorithms_and_unknown_keys_are_refused() {
        let hmac = encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(b"public-key-as-secret"),
        )
        .unwrap();
        assert!(refusal(&hmac).contains("only RS256"));
        let rotated = sign_with(
            include_str!("testdata/test-key.pem"),
            Some("new"),
            &claims(),
        );
        assert_eq!(unknown_key_id(&rotated, &keys()).as_deref(), Some("new"));
        assert!(refusal(&rotated).contains("no key `new`"));
    }
}
