//! The web pages as a browser uses them: rendering, language, sign-in and sessions, CSRF
//! on forms, the enrol form, the private board's rule, escaping of descriptions.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use diesel::prelude::*;
use jiebang_platform::db::schema::scenarios as scenario_table;

use crate::common::{Backend, Page, TestApp};
use crate::on_both_backends;

pub(crate) fn get(path: &str) -> TestRequest {
    TestRequest::get().uri(path)
}

pub(crate) fn post_form(path: &str, fields: &[(&str, &str)]) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(serde_urlencoded::to_string(fields).unwrap())
}

/// Signs in on the login page with `token`; returns the session cookie and its CSRF token.
pub(crate) async fn sign_in(app: &TestApp, token: &str) -> (Cookie<'static>, String) {
    let form = app.page(get("/auth/login")).await;
    let pre = form.cookie("jb_csrf").expect("a pre-session CSRF cookie");
    let csrf = form.csrf_token().expect("a CSRF field");
    let signed = app
        .page(
            post_form(
                "/auth/login",
                &[("csrf_token", &csrf), ("token", token), ("return_to", "/")],
            )
            .cookie(pre),
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER, "{}", signed.text);
    let session = signed.cookie("jb_session").expect("a session cookie");
    let home = app.page(get("/").cookie(session.clone())).await;
    let csrf = home.csrf_token().expect("the sign-out form's CSRF field");
    (session, csrf)
}

async fn home_and_language(backend: Backend) {
    let app = TestApp::new(backend).await;
    let home = app.page(get("/")).await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.text.contains("kg-open 标题"), "{}", home.text);
    assert!(home.text.contains("机会清单"));
    assert!(
        home.text.contains("空港新城"),
        "the town filter lists the towns"
    );
    assert!(
        !home.text.contains("kg-draft"),
        "drafts are not listed to visitors"
    );

    let english = app.page(get("/?lang=en")).await;
    assert!(english.text.contains("kg-open title"), "{}", english.text);
    assert!(english.text.contains("Opportunities"));
    let lang = english.cookie("lang").expect("the choice is remembered");
    assert_eq!(lang.value(), "en");
    let again = app.page(get("/scenarios/kg-open").cookie(lang)).await;
    assert!(again.text.contains("Latency budget"), "{}", again.text);

    let switch = app
        .page(get("/lang/en?return_to=%2Fscenarios%2Fkg-open"))
        .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), Some("/scenarios/kg-open"));
    assert_eq!(switch.cookie("lang").unwrap().value(), "en");

    let filtered = app.page(get("/?status=closed")).await;
    assert!(filtered.text.contains("kg-closed 标题"));
    assert!(!filtered.text.contains("kg-open 标题"));

    let css = app.page(get("/static/site.css")).await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers
            .get("cache-control")
            .unwrap()
            .to_str()
            .unwrap()
            .contains("max-age=31536000")
    );
}

async fn sign_in_and_out(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = app.world.alice.token.clone();
    let form = app
        .page(get("/auth/login?return_to=%2Fscenarios%2Fkg-open"))
        .await;
    let pre = form.cookie("jb_csrf").unwrap();
    let csrf = form.csrf_token().unwrap();

    // A wrong token: a clear message, no session.
    let refused = app
        .page(
            post_form(
                "/auth/login",
                &[("csrf_token", &csrf), ("token", "jb_not-a-real-token")],
            )
            .cookie(pre.clone()),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.text.contains("令牌无效"), "{}", refused.text);
    assert!(refused.cookie("jb_session").is_none());

    // Without the form's token: refused, no session.
    let forged = app
        .page(post_form("/auth/login", &[("token", &token)]).cookie(pre.clone()))
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("jb_session").is_none());

    // The right token: a session, and back to where the user was going.
    let signed = app
        .page(
            post_form(
                "/auth/login",
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("return_to", "/scenarios/kg-open"),
                ],
            )
            .cookie(pre.clone()),
        )
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    assert_eq!(signed.location(), Some("/scenarios/kg-open"));
    let session = signed.cookie("jb_session").unwrap();
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.same_site(), Some(SameSite::Lax));
    assert!(
        !session.value().contains(&token),
        "the token is not in the cookie"
    );

    let home = app.page(get("/").cookie(session.clone())).await;
    assert!(home.text.contains("ALICE"), "{}", home.text);
    // The same session reads the JSON API (the submission page's polling)…
    let me = app.page(get("/api/v1/me").cookie(session.clone())).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    // …but never writes to it: those need a bearer token.
    let create = app
        .page(
            TestRequest::post()
                .uri("/api/v1/teams")
                .cookie(session.clone())
                .set_json(serde_json::json!({"name": "X", "kind": "company", "institution": "Y"})),
        )
        .await;
    assert_eq!(create.status, StatusCode::UNAUTHORIZED);

    // An open redirect is refused.
    let evil = app
        .page(
            post_form(
                "/auth/login",
                &[
                    ("csrf_token", &csrf),
                    ("token", &token),
                    ("return_to", "//evil.example/steal"),
                ],
            )
            .cookie(pre),
        )
        .await;
    assert_eq!(evil.location(), Some("/"));

    // Sign-out needs the form's token, then ends the session.
    let csrf = home.csrf_token().unwrap();
    let no_token = app
        .page(post_form("/auth/logout", &[]).cookie(session.clone()))
        .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    assert!(
        no_token.text.contains("无权访问"),
        "a page, not JSON: {}",
        no_token.text
    );
    let out = app
        .page(post_form("/auth/logout", &[("csrf_token", &csrf)]).cookie(session))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let removed = out.cookie("jb_session").unwrap();
    assert_eq!(removed.value(), "");
}

async fn enrol_form(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (session, csrf) = sign_in(&app, &app.world.alice.token.clone()).await;
    let team = app.world.team_a.0.clone();
    let path = "/scenarios/kg-open/enrol";

    let page = app
        .page(get("/scenarios/kg-open").cookie(session.clone()))
        .await;
    assert!(
        page.text.contains("Team A"),
        "the enrol form offers the team"
    );

    let missing = app
        .page(post_form(path, &[("team_id", &team)]).cookie(session.clone()))
        .await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);
    let wrong = app
        .page(
            post_form(path, &[("team_id", &team), ("csrf_token", "0000")]).cookie(session.clone()),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("enrolments"),
        0,
        "nothing stored without the token"
    );

    let invalid = app
        .page(
            post_form(path, &[("team_id", "no-such-team"), ("csrf_token", &csrf)])
                .cookie(session.clone()),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.text.contains("报名未成功"), "{}", invalid.text);
    assert!(invalid.text.contains("no-such-team"));
    assert_eq!(app.count("enrolments"), 0);

    let other = app.world.team_b.0.clone();
    let not_member = app
        .page(
            post_form(path, &[("team_id", &other), ("csrf_token", &csrf)]).cookie(session.clone()),
        )
        .await;
    assert_eq!(not_member.status, StatusCode::FORBIDDEN);
    assert_eq!(app.count("enrolments"), 0);

    let done = app
        .page(post_form(path, &[("team_id", &team), ("csrf_token", &csrf)]).cookie(session.clone()))
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text);
    assert_eq!(app.count("enrolments"), 1);
    let shown = app
        .page(get(done.location().unwrap()).cookie(session.clone()))
        .await;
    assert!(shown.text.contains("报名成功"));

    let twice = app
        .page(post_form(path, &[("team_id", &team), ("csrf_token", &csrf)]).cookie(session))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert_eq!(app.count("enrolments"), 1);
}

async fn boards_and_errors(backend: Backend) {
    let app = TestApp::new(backend).await;
    let public = app.page(get("/scenarios/kg-open/leaderboard")).await;
    assert_eq!(public.status, StatusCode::OK);
    assert!(public.text.contains("排行榜"));

    let private = app
        .page(get("/scenarios/kg-open/leaderboard?board=private"))
        .await;
    assert_eq!(private.status, StatusCode::FORBIDDEN);
    assert!(private.text.contains("<html"), "a page: {}", private.text);
    assert!(
        private.text.contains("私有榜在阶段结束"),
        "{}",
        private.text
    );

    let (judge, _) = sign_in(&app, &app.world.judge.token.clone()).await;
    let seen = app
        .page(get("/scenarios/kg-open/leaderboard?board=private").cookie(judge))
        .await;
    assert_eq!(seen.status, StatusCode::OK);
    // Once the phase has closed, everyone sees it.
    let closed = app
        .page(get("/scenarios/kg-closed/leaderboard?board=private"))
        .await;
    assert_eq!(closed.status, StatusCode::OK);

    let missing = app
        .page(get("/scenarios/no-such").cookie(Cookie::new("lang", "en")))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text.contains("Page not found"), "{}", missing.text);
    let draft = app.page(get("/scenarios/kg-draft")).await;
    assert_eq!(draft.status, StatusCode::NOT_FOUND);
    let api = app.get("/api/v1/no-such", None).await;
    assert_eq!(api.code(), "not_found", "the API keeps JSON errors");

    let team = app.page(get(&format!("/teams/{}", app.world.team_a))).await;
    assert_eq!(
        team.status,
        StatusCode::SEE_OTHER,
        "anonymous visitors are sent to sign in"
    );
    assert!(
        team.location()
            .unwrap()
            .starts_with("/auth/login?return_to=")
    );
}

async fn markdown_is_escaped(backend: Backend) {
    let app = TestApp::new(backend).await;
    app.read(|conn| {
        diesel::update(scenario_table::table.filter(scenario_table::id.eq("kg-open")))
            .set(scenario_table::description.eq("**Bold** <script>alert('x')</script>"))
            .execute(conn)
    });
    let page: Page = app.page(get("/scenarios/kg-open")).await;
    assert!(page.text.contains("<strong>Bold</strong>"), "{}", page.text);
    assert!(!page.text.contains("<script>alert"), "{}", page.text);
    assert!(page.text.contains("&lt;script&gt;"));
}

async fn tampered_session_is_ignored(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (session, _) = sign_in(&app, &app.world.carol.token.clone()).await;
    let forged = Cookie::new("jb_session", format!("{}x", session.value()));
    let page = app.page(get("/").cookie(forged)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.text.contains("CAROL"),
        "a tampered cookie is no session"
    );
    let invitations = app.page(get("/invitations").cookie(session)).await;
    assert_eq!(invitations.status, StatusCode::OK);
}

on_both_backends!(
    home_and_language,
    sign_in_and_out,
    enrol_form,
    boards_and_errors,
    markdown_is_escaped,
    tampered_session_is_ignored,
);
