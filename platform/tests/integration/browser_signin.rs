//! Signing in through OpenID Connect in a real headless Chromium, against the real provider
//! and the real `jiebang serve`: the sign-in button, the provider's login form, back to the
//! platform with a session; and the callback refusing a forged state and a replayed code.

use crate::binary::{free_port, start_server_with};
use crate::browser::{Browser, Size, require_chromium};
use crate::common::{Backend, fresh_database};
use crate::on_one_backend;
use crate::provider::{authorize, browser_client, provider};

async fn sign_in_in_a_real_browser(backend: Backend) {
    if !require_chromium() {
        return;
    }
    let database = fresh_database(backend);
    let data = database.dir.path();
    // The provider sends the browser back to the public URL, so it is known before start.
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let oidc = provider().config();
    let server = start_server_with(
        data,
        &database.url,
        &data.join("catalog"),
        false,
        &format!("127.0.0.1:{port}"),
        &[
            ("JIEBANG_PUBLIC_URL", base.clone()),
            ("JIEBANG_OIDC_ISSUER", oidc.issuer.clone()),
            ("JIEBANG_OIDC_CLIENT_ID", oidc.client_id.clone()),
            (
                "JIEBANG_OIDC_CLIENT_SECRET",
                oidc.client_secret.expose().to_owned(),
            ),
            ("JIEBANG_OIDC_DISPLAY_NAME", "Test ID".to_owned()),
        ],
    );
    assert_eq!(server.base, base);

    let browser = Browser::start(&format!("sign-in-{backend:?}"), Size::Desktop).await;
    browser.open(&format!("{base}/auth/login")).await;
    assert!(
        browser.text("body").await.contains("Test ID"),
        "the sign-in button names the provider"
    );
    browser.click("a[href^='/auth/oidc/start']").await;
    browser
        .wait_for_url("the provider's login form", |url| {
            url.as_str().starts_with(&oidc.issuer)
        })
        .await;
    // The provider's form as most people meet it: on a phone.
    browser.resize(Size::Phone).await;
    browser
        .fill("input[name=username]", provider().var("OIDC_USER2"))
        .await;
    browser
        .fill("input[name=password]", provider().var("OIDC_PASSWORD2"))
        .await;
    browser.screenshot("provider-login-form").await;
    browser.click("button[type=submit]").await;
    browser
        .wait_for_url("back on the platform", |url| {
            url.as_str().starts_with(&base) && !url.path().starts_with("/auth/")
        })
        .await;
    let page = browser.text("body").await;
    if !page.contains("Bob Builder") {
        browser
            .fail(&format!(
                "signed in as Bob Builder, but the page shows: {page}"
            ))
            .await;
    }
    browser.close().await;

    // Outside the browser: a forged state and a replayed code are refused, no session.
    let client = browser_client();
    let forged = client
        .get(format!(
            "{base}/auth/oidc/callback?state=forged&code=whatever"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 400);
    assert!(
        forged
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap().starts_with("jb_session"))
    );
    let started = client
        .get(format!("{base}/auth/oidc/start"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 303);
    let authorize_url = started.headers()["location"].to_str().unwrap().to_owned();
    let callback = format!("{base}/auth/oidc/callback");
    let back = authorize(
        &client,
        &authorize_url,
        &callback,
        Some((provider().var("OIDC_USER"), provider().var("OIDC_PASSWORD"))),
    )
    .await;
    let url = format!(
        "{callback}?code={}&state={}",
        urlencode(&back.code),
        urlencode(&back.state)
    );
    // Login CSRF: the same callback link opened in another browser (a victim the
    // attacker sent it to) signs nobody in and does not spend the sign-in.
    let victim = browser_client();
    let planted = victim.get(&url).send().await.unwrap();
    assert_eq!(planted.status(), 400);
    assert!(
        planted
            .headers()
            .get_all("set-cookie")
            .iter()
            .all(|c| !c.to_str().unwrap().starts_with("jb_session")),
        "no session for the victim"
    );
    assert!(
        planted.text().await.unwrap().contains("another browser"),
        "the refusal says why"
    );
    let first = client.get(&url).send().await.unwrap();
    let status = first.status();
    assert_eq!(
        status,
        303,
        "the first use signs in: {}",
        first.text().await.unwrap_or_default()
    );
    let replayed = browser_client().get(&url).send().await.unwrap();
    assert_eq!(
        replayed.status(),
        400,
        "the same code and state again are refused"
    );
    let body = replayed.text().await.unwrap();
    assert!(
        body.contains("sign in again") || body.contains("重新登录"),
        "{body}"
    );
    drop(server);
}

fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

on_one_backend!(sign_in_in_a_real_browser);
