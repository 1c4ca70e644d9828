-- Sign-ins begun with the OpenID Connect provider and not yet finished. The row is keyed by
-- a hash of the `state` sent to the provider, so the database never holds a usable state;
-- it is deleted when the callback consumes it (single use) and refused after 10 minutes.
CREATE TABLE oidc_logins (
    state_hash TEXT PRIMARY KEY NOT NULL,
    nonce TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    return_to TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX oidc_logins_created_at ON oidc_logins (created_at);
