//! OpenID Connect sign-in against the real provider: first and second sign-in, and the
//! callbacks that must be refused (forged, replayed, expired, wrong PKCE verifier).

use diesel::prelude::*;
use jiebang_platform::db::models::audit;
use jiebang_platform::db::schema::oidc_logins;
use jiebang_platform::error::AppError;
use jiebang_platform::oidc::{self, OidcClient, OidcError};

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::provider::{CALLBACK, authorize, browser_client, provider};

async fn client() -> OidcClient {
    OidcClient::discover(&provider().config(), CALLBACK)
        .await
        .expect("discover the test provider")
}

fn alice() -> Option<(&'static str, &'static str)> {
    Some((provider().var("OIDC_USER"), provider().var("OIDC_PASSWORD")))
}

fn code_of(error: &AppError) -> &'static str {
    error.code()
}

async fn first_sign_in_creates_the_user_and_the_second_finds_them(backend: Backend) {
    let app = TestApp::new(backend).await;
    let db = &app.state.db;
    let oidc = client().await;
    let users_before = app.count("users");
    let http = browser_client();

    let url = oidc.begin(db, "/scenarios/kg-open").await.unwrap().url;
    assert!(url.contains("code_challenge_method=S256") && url.contains("nonce="));
    assert_eq!(app.count("oidc_logins"), 1);
    let callback = authorize(&http, &url, CALLBACK, alice()).await;
    assert_eq!(callback.query["iss"], provider().var("OIDC_ISSUER"));
    let finished = oidc
        .finish(db, &callback.state, &callback.code)
        .await
        .unwrap();
    assert_eq!(
        app.count("oidc_logins"),
        0,
        "a finished sign-in is consumed"
    );
    assert_eq!(finished.return_to, "/scenarios/kg-open");
    let identity = finished.identity;
    assert_eq!(identity.issuer, provider().var("OIDC_ISSUER"));
    assert_eq!(identity.subject, provider().var("OIDC_SUB"));
    assert_eq!(
        identity.email.as_deref(),
        Some(provider().var("OIDC_EMAIL"))
    );
    assert_eq!(identity.name.as_deref(), Some("Alice Liddell"));

    let first = db
        .write({
            let identity = identity.clone();
            move |conn| oidc::find_or_create_user(conn, &identity)
        })
        .await
        .unwrap();
    assert!(first.created);
    // The provider's username with a tag only the identity decides: nobody registering
    // "alice" at the provider can take the name of the test world's `alice`.
    let tag = first
        .user
        .login
        .strip_prefix("alice-")
        .expect("the username first");
    assert!(
        tag.len() == 6 && tag.bytes().all(|b| b.is_ascii_hexdigit()),
        "{}",
        first.user.login
    );
    assert_eq!(first.user.display_name, "Alice Liddell");
    assert_eq!(app.count("users"), users_before + 1);
    assert_eq!(app.count("identities"), 1);
    let id = first.user.id.to_string();
    let actions: Vec<String> = app
        .read(|conn| audit::for_subject(conn, "user", &id))
        .into_iter()
        .map(|entry| entry.action)
        .collect();
    assert_eq!(actions, ["user.create", "identity.link"]);

    // Signed in at the provider already: no form this time, the same person comes back.
    let url = oidc.begin(db, "/").await.unwrap().url;
    let callback = authorize(&http, &url, CALLBACK, None).await;
    let again = oidc
        .finish(db, &callback.state, &callback.code)
        .await
        .unwrap();
    assert_eq!(again.identity, identity);
    let second = db
        .write(move |conn| oidc::find_or_create_user(conn, &again.identity))
        .await
        .unwrap();
    assert!(!second.created);
    assert_eq!(second.user.id, first.user.id);
    assert_eq!(app.count("users"), users_before + 1);
    assert_eq!(app.count("identities"), 1);
}

async fn a_forged_state_is_refused_and_creates_nothing(backend: Backend) {
    let app = TestApp::new(backend).await;
    let oidc = client().await;
    let users_before = app.count("users");
    let url = oidc.begin(&app.state.db, "/").await.unwrap().url;
    let callback = authorize(&browser_client(), &url, CALLBACK, alice()).await;

    let error = oidc
        .finish(&app.state.db, "forged-state", &callback.code)
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "oidc_unknown_state");
    assert!(
        error.to_string().contains("unknown or was already used"),
        "{error}"
    );
    assert_eq!(app.count("users"), users_before);
    assert_eq!(app.count("identities"), 0);
    assert_eq!(
        app.count("oidc_logins"),
        1,
        "the real pending sign-in is untouched"
    );
}

async fn a_replayed_callback_is_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let oidc = client().await;
    let url = oidc.begin(&app.state.db, "/").await.unwrap().url;
    let callback = authorize(&browser_client(), &url, CALLBACK, alice()).await;
    oidc.finish(&app.state.db, &callback.state, &callback.code)
        .await
        .unwrap();
    let error = oidc
        .finish(&app.state.db, &callback.state, &callback.code)
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "oidc_unknown_state");
}

async fn a_wrong_pkce_verifier_is_refused_by_the_provider(backend: Backend) {
    let app = TestApp::new(backend).await;
    let oidc = client().await;
    let url = oidc.begin(&app.state.db, "/").await.unwrap().url;
    let callback = authorize(&browser_client(), &url, CALLBACK, alice()).await;
    // As if an attacker had swapped the code into their own sign-in: the verifier kept
    // with the state no longer matches the challenge the code was issued for.
    app.read(|conn| {
        diesel::update(oidc_logins::table)
            .set(oidc_logins::pkce_verifier.eq("x".repeat(64)))
            .execute(conn)
    });
    let error = oidc
        .finish(&app.state.db, &callback.state, &callback.code)
        .await
        .unwrap_err();
    assert!(
        matches!(&error, AppError::SignIn(OidcError::CodeRefused { error }) if error == "invalid_grant"),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("refused the sign-in code (invalid_grant)"),
        "{error}"
    );
    assert_eq!(app.count("identities"), 0);
}

async fn an_expired_sign_in_is_refused_and_removed(backend: Backend) {
    let app = TestApp::new(backend).await;
    let oidc = client().await;
    let url = oidc.begin(&app.state.db, "/").await.unwrap().url;
    app.read(|conn| {
        diesel::update(oidc_logins::table)
            .set(oidc_logins::created_at.eq(oidc_logins::created_at - 11 * 60 * 1000))
            .execute(conn)
    });
    let callback = authorize(&browser_client(), &url, CALLBACK, alice()).await;
    let error = oidc
        .finish(&app.state.db, &callback.state, &callback.code)
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "oidc_login_expired");
    assert_eq!(app.count("oidc_logins"), 0);
}

async fn a_discovery_document_for_another_issuer_is_refused(_backend: Backend) {
    let mut config = provider().config();
    config.issuer.push('/');
    let error = OidcClient::discover(&config, CALLBACK).await.unwrap_err();
    assert!(
        matches!(&error, OidcError::Provider(message) if message.contains("names the issuer")),
        "{error:?}"
    );
}

on_both_backends!(
    first_sign_in_creates_the_user_and_the_second_finds_them,
    a_forged_state_is_refused_and_creates_nothing,
    a_replayed_callback_is_refused,
    a_wrong_pkce_verifier_is_refused_by_the_provider,
    an_expired_sign_in_is_refused_and_removed,
    a_discovery_document_for_another_issuer_is_refused,
);
