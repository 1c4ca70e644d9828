//! In a real headless Chromium: the real `jiebang serve` answers, and signing in at the real
//! OpenID Connect provider's login form brings the browser back with a code that `finish` accepts.

use jiebang_platform::db::{DatabaseUrl, Db};
use jiebang_platform::oidc::{self, OidcClient};

use crate::binary::start_server;
use crate::browser::{self, Browser, Size};
use crate::common::{Backend, fresh_database};
use crate::on_both_backends;
use crate::provider::{parse_callback, provider};

async fn sign_in_in_a_real_browser(backend: Backend) {
    if !browser::available("sign_in_in_a_real_browser") {
        return;
    }
    let database = fresh_database(backend);
    let data = database.dir.path();
    let server = start_server(data, &database.url, &data.join("catalog"), false);
    let browser = Browser::start(&format!("sign-in-{backend:?}"), Size::Desktop).await;

    browser.open(&format!("{}/healthz", server.base)).await;
    assert!(browser.text("body").await.contains(r#""status":"ok""#));
    browser
        .open(&format!("{}/api/v1/scenarios", server.base))
        .await;
    let listing: serde_json::Value =
        serde_json::from_str(&browser.text("body").await).expect("the API answers JSON");
    assert!(listing.is_object(), "{listing}");

    // The platform's own database, beside the running server, for begin/finish.
    let db = Db::open(&DatabaseUrl::parse(&database.url).unwrap(), 2).unwrap();
    let callback = format!("{}/auth/oidc/callback", server.base);
    let oidc = OidcClient::discover(&provider().config(), &callback)
        .await
        .unwrap();
    let authorize_url = oidc.begin(&db, "/").await.unwrap();

    browser.resize(Size::Phone).await;
    browser.open(&authorize_url).await;
    browser
        .fill("input[name=username]", provider().var("OIDC_USER2"))
        .await;
    browser
        .fill("input[name=password]", provider().var("OIDC_PASSWORD2"))
        .await;
    browser.screenshot("login-form").await;
    browser.click("button[type=submit]").await;
    // The callback route is not wired yet, so the platform answers 404 there; what
    // matters is that the provider sent the browser to it with a code and the state.
    let landed = browser
        .wait_for_url("the callback", |url| url.as_str().starts_with(&callback))
        .await;
    let back = parse_callback(landed.as_str());
    assert!(!back.code.is_empty() && !back.state.is_empty(), "{landed}");
    browser.close().await;

    let finished = oidc.finish(&db, &back.state, &back.code).await.unwrap();
    assert_eq!(finished.identity.subject, provider().var("OIDC_SUB2"));
    let signed_in = db
        .write(move |conn| oidc::find_or_create_user(conn, &finished.identity))
        .await
        .unwrap();
    assert!(signed_in.created);
    assert_eq!(signed_in.user.login, "bob");
    assert_eq!(signed_in.user.display_name, "Bob Builder");
    drop(server);
}

on_both_backends!(sign_in_in_a_real_browser);
