//! What can go wrong while signing someone in through the OpenID Connect provider.

/// Each way a sign-in fails; the messages are safe to show (no token, code or secret).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// No `[oidc]` section in the configuration.
    #[error("sign-in with an OpenID Connect provider is not configured")]
    NotConfigured,
    /// The provider's discovery document, keys or endpoints could not be read or make no sense.
    #[error("the sign-in provider is not usable: {0}")]
    Provider(String),
    /// The `state` of the callback matches no sign-in begun here: forged, mistyped, or the
    /// sign-in was already finished once (a replayed callback).
    #[error("this sign-in link is unknown or was already used; please sign in again")]
    UnknownState,
    /// The callback came to a browser other than the one that began the sign-in: without
    /// this check an attacker's own callback link would sign a victim in as the attacker.
    #[error(
        "this sign-in was begun in another browser or its cookie was lost; please sign in again"
    )]
    OtherBrowser,
    /// The sign-in was begun too long ago.
    #[error("this sign-in took longer than {minutes} minutes; please sign in again")]
    Expired { minutes: i64 },
    /// The provider refused to redeem the code (already redeemed, wrong PKCE verifier, …).
    #[error("the sign-in provider refused the sign-in code ({error}); please sign in again")]
    CodeRefused { error: String },
    /// The provider answered the callback with an error instead of a code.
    #[error("the sign-in provider reported an error ({error}); please sign in again")]
    Denied { error: String },
    /// The ID token failed a check; `check` names which one.
    #[error("the sign-in provider's ID token is not acceptable: {check}")]
    BadIdToken { check: String },
}

impl OidcError {
    pub(crate) fn bad_token(check: impl Into<String>) -> Self {
        Self::BadIdToken {
            check: check.into(),
        }
    }

    /// The machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotConfigured => "oidc_not_configured",
            Self::Provider(_) => "oidc_provider_unavailable",
            Self::UnknownState => "oidc_unknown_state",
            Self::OtherBrowser => "oidc_other_browser",
            Self::Expired { .. } => "oidc_login_expired",
            Self::CodeRefused { .. } => "oidc_code_refused",
            Self::Denied { .. } => "oidc_denied",
            Self::BadIdToken { .. } => "oidc_bad_id_token",
        }
    }
}
