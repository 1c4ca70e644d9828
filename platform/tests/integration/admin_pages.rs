//! The API-token page every signed-in person has and the admin console (users, tokens,
//! organisations, audit log): forms refuse every wrong field at once and change nothing,
//! a secret is shown once and works, a revoked token stops working.

use actix_web::http::StatusCode;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::pages::{get, post_form, sign_in};

/// The secret a page shows once: the text of `<code id="secret">`.
fn secret_on(text: &str) -> String {
    let start = text
        .find("<code id=\"secret\">")
        .expect("a secret on the page")
        + 18;
    let end = start + text[start..].find('<').expect("the code element ends");
    text[start..end].to_owned()
}

async fn a_person_makes_and_revokes_a_token(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (alice, csrf) = sign_in(&app, &app.world.alice.token.clone()).await;
    let page = app.page(get("/tokens").cookie(alice.clone())).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.contains("<h1>API 令牌</h1>"), "{}", page.text);
    let tokens_before = app.count("api_tokens");

    let unnamed = app
        .page(post_form("/tokens", &[("csrf_token", &csrf), ("name", " ")]).cookie(alice.clone()))
        .await;
    assert_eq!(unnamed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unnamed
            .text
            .contains("<p class=\"field-error\" id=\"token-name-error\">必填。"),
        "{}",
        unnamed.text
    );
    assert_eq!(app.count("api_tokens"), tokens_before, "nothing stored");

    let made = app
        .page(
            post_form(
                "/tokens",
                &[("csrf_token", &csrf), ("name", "实验室服务器")],
            )
            .cookie(alice.clone()),
        )
        .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    assert_eq!(
        made.headers
            .get("cache-control")
            .map(|v| v.to_str().unwrap()),
        Some("no-store")
    );
    let secret = secret_on(&made.text);
    assert!(secret.starts_with("jb_"), "{secret}");
    let me = app.get("/api/v1/me", Some(&secret)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["user"]["id"], app.world.alice.id.0.as_str());
    let listed = app.page(get("/tokens").cookie(alice.clone())).await;
    assert!(listed.text.contains("实验室服务器"), "{}", listed.text);
    assert!(
        !listed.text.contains(&secret),
        "the secret is shown once only"
    );

    let id = me_token_id(&app, &secret).await;
    let path = format!("/tokens/{id}/revoke");
    let unconfirmed = app
        .page(post_form(&path, &[("csrf_token", &csrf)]).cookie(alice.clone()))
        .await;
    assert_eq!(unconfirmed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unconfirmed.text.contains("请先勾选"),
        "{}",
        unconfirmed.text
    );
    assert_eq!(app.get("/api/v1/me", Some(&secret)).await.status, 200);
    let revoked = app
        .page(post_form(&path, &[("csrf_token", &csrf), ("confirm", "yes")]).cookie(alice.clone()))
        .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.text);
    assert_eq!(app.get("/api/v1/me", Some(&secret)).await.status, 401);

    // Another person's token cannot be revoked from this page.
    let (bob, bob_csrf) = sign_in(&app, &app.world.bob.token.clone()).await;
    let alices = me_token_id(&app, &app.world.alice.token.clone()).await;
    let foreign = app
        .page(
            post_form(
                &format!("/tokens/{alices}/revoke"),
                &[("csrf_token", &bob_csrf), ("confirm", "yes")],
            )
            .cookie(bob),
        )
        .await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get("/api/v1/me", app.world.alice.token()).await.status,
        200
    );
}

/// The id of the token `secret` (its owner's list, matched by last use just now).
async fn me_token_id(app: &TestApp, secret: &str) -> String {
    let tokens = app.get("/api/v1/tokens?per_page=100", Some(secret)).await;
    let items = tokens.body["items"].as_array().expect("a list of tokens");
    let used = items
        .iter()
        .filter(|t| t["revoked_at"].is_null())
        .max_by_key(|t| t["last_used_at"].as_str().unwrap_or("").to_owned())
        .expect("the token just used");
    used["id"].as_str().expect("an id").to_owned()
}

async fn an_admin_runs_the_platform_in_the_browser(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (alice, _) = sign_in(&app, &app.world.alice.token.clone()).await;
    let not_admin = app.page(get("/console/admin").cookie(alice)).await;
    assert_eq!(not_admin.status, StatusCode::FORBIDDEN);

    let (admin, csrf) = sign_in(&app, &app.world.admin.token.clone()).await;
    let console = app.page(get("/console/admin").cookie(admin.clone())).await;
    assert_eq!(console.status, StatusCode::OK);
    for wanted in ["平台管理", "alice", "管理员", "href=\"/console/admin\""] {
        assert!(console.text.contains(wanted), "{wanted}: {}", console.text);
    }

    // Three fields wrong: three messages beside them, typed values kept, nothing stored.
    let users_before = app.count("users");
    let bad = app
        .page(
            post_form(
                "/console/admin/users",
                &[
                    ("csrf_token", &csrf),
                    ("login", "Li Wei"),
                    ("display_name", ""),
                    ("email", "nobody"),
                    ("role_judge", "yes"),
                ],
            )
            .cookie(admin.clone()),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad.text.matches("class=\"field-error\"").count(),
        3,
        "{}",
        bad.text
    );
    for wanted in [
        "value=\"Li Wei\"",
        "不是有效的电子邮件地址",
        "name=\"role_judge\" value=\"yes\" checked",
    ] {
        assert!(bad.text.contains(wanted), "{wanted}: {}", bad.text);
    }
    assert_eq!(app.count("users"), users_before);

    let made = app
        .page(
            post_form(
                "/console/admin/users",
                &[
                    ("csrf_token", &csrf),
                    ("login", "li.wei"),
                    ("display_name", "李伟"),
                    ("email", "li@example.org"),
                    ("role_judge", "yes"),
                    ("department", "konggang"),
                ],
            )
            .cookie(admin.clone()),
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.text);
    let users = app
        .get("/api/v1/users?per_page=100", app.world.admin.token())
        .await;
    let li = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["login"] == "li.wei")
        .expect("the new user")
        .clone();
    assert_eq!(li["roles"], serde_json::json!(["judge"]));
    assert_eq!(li["departments"], serde_json::json!(["konggang"]));

    // A token for them, shown once, works as them.
    let issued = app
        .page(
            post_form(
                &format!("/console/admin/users/{}/tokens", li["id"].as_str().unwrap()),
                &[("csrf_token", &csrf), ("name", "")],
            )
            .cookie(admin.clone()),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text);
    let secret = secret_on(&issued.text);
    let me = app.get("/api/v1/me", Some(&secret)).await;
    assert_eq!(me.body["user"]["login"], "li.wei", "{:?}", me.body);

    // An organisation: refused with both problems, then made.
    let bad_org = app
        .page(
            post_form(
                "/console/admin/organizations",
                &[
                    ("csrf_token", &csrf),
                    ("id", "Qin Han"),
                    ("name_zh", ""),
                    ("name_en", "Qinhan"),
                ],
            )
            .cookie(admin.clone()),
        )
        .await;
    assert_eq!(bad_org.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        bad_org.text.matches("class=\"field-error\"").count(),
        2,
        "{}",
        bad_org.text
    );
    let org = app
        .page(
            post_form(
                "/console/admin/organizations",
                &[
                    ("csrf_token", &csrf),
                    ("id", "qinhan-culture"),
                    ("name_zh", "秦汉文旅局"),
                    ("name_en", "Qinhan Culture Bureau"),
                ],
            )
            .cookie(admin.clone()),
        )
        .await;
    assert_eq!(org.status, StatusCode::SEE_OTHER, "{}", org.text);
    assert_eq!(
        org.headers.get("location").map(|v| v.to_str().unwrap()),
        Some("/organizations/qinhan-culture")
    );

    // The audit log says it all in words, no raw JSON.
    let audit = app.page(get("/console/admin/audit").cookie(admin)).await;
    assert_eq!(audit.status, StatusCode::OK);
    for wanted in ["创建用户", "签发令牌", "创建机构", "login: li.wei", "admin"] {
        assert!(audit.text.contains(wanted), "{wanted}: {}", audit.text);
    }
    assert!(!audit.text.contains("{&quot;"), "{}", audit.text);
    // Recorded values and ids in Latin letters are marked English on the Chinese page.
    for marked in [
        "<code translate=\"no\" lang=\"en\">login: li.wei</code>",
        "<span lang=\"en\">qinhan-culture</span>",
    ] {
        assert!(audit.text.contains(marked), "{marked}: {}", audit.text);
    }
}

on_both_backends!(
    a_person_makes_and_revokes_a_token,
    an_admin_runs_the_platform_in_the_browser
);
