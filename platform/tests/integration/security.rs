//! Hostile visitors: a session cookie never reaches an API write however the path is
//! spelt, every answer carries the browser's security headers, and the request log
//! never holds a query string (where OpenID Connect codes and states travel).

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::pages::{get, post_form, sign_in};
use crate::uploads::{enrol_team_a, upload};

async fn a_session_never_writes_to_the_api_whatever_the_spelling(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (session, _) = sign_in(&app, &app.world.alice.token.clone()).await;
    for path in [
        "/api/v1/tokens",
        "/%61pi/v1/tokens",
        "/%61%70%69/v1/tokens",
        "/api/%761/tokens",
        "//api/v1/tokens",
        "/API/v1/tokens",
    ] {
        let minted = app
            .page(
                TestRequest::post()
                    .uri(path)
                    .cookie(session.clone())
                    .set_json(serde_json::json!({"name": "stolen"})),
            )
            .await;
        assert!(
            minted.status == StatusCode::UNAUTHORIZED || minted.status == StatusCode::NOT_FOUND,
            "POST {path} with a session cookie answered {}: {}",
            minted.status,
            minted.text
        );
        assert!(
            !minted.text.contains("jb_"),
            "no token minted through {path}"
        );
    }
    // Reads still work with the cookie, so the submission page can poll.
    let me = app.page(get("/%61pi/v1/me").cookie(session)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
}

async fn every_answer_carries_security_headers(backend: Backend) {
    let app = TestApp::new(backend).await;
    for path in [
        "/",
        "/scenarios/kg-open",
        "/api/v1/scenarios",
        "/no/such/page",
        "/static/site.css",
    ] {
        let answer = app.page(get(path)).await;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_else(|| panic!("{path} has no {name} header"))
        };
        let policy = header("content-security-policy");
        assert!(policy.contains("default-src 'self'"), "{path}: {policy}");
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(header("referrer-policy"), "same-origin");
        assert_eq!(header("x-frame-options"), "DENY");
    }
}

async fn a_refused_upload_never_removes_a_file_it_did_not_store(backend: Backend) {
    let app = TestApp::new(backend).await;
    // An empty log stored earlier has the digest an empty upload would have.
    let log = app.state.blobs.put(b"").unwrap();
    enrol_team_a(&app).await;
    let empty = upload(&app, app.world.alice.token(), "kg-open", b"").await;
    assert_eq!(empty.status, 422);
    assert!(
        app.state.blobs.contains(&log.digest),
        "the earlier empty log is still there"
    );
}

async fn signing_out_or_revoking_the_token_ends_the_session_on_the_server(backend: Backend) {
    let app = TestApp::new(backend).await;
    // Signing out: a copy of the cookie kept by the browser (or a thief) opens nothing.
    let (session, csrf) = sign_in(&app, &app.world.bob.token.clone()).await;
    let out = app
        .page(post_form("/auth/logout", &[("csrf_token", &csrf)]).cookie(session.clone()))
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let replayed = app.page(get("/api/v1/me").cookie(session)).await;
    assert_eq!(
        replayed.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        replayed.text
    );

    // Revoking the token a browser signed in with signs that browser out.
    let token = app
        .post(
            "/api/v1/tokens",
            app.world.alice.token(),
            serde_json::json!({"name": "laptop"}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{:?}", token.body);
    let secret = token.body["token"].as_str().unwrap().to_owned();
    let id = token.body["id"].as_str().unwrap().to_owned();
    let (session, _) = sign_in(&app, &secret).await;
    let me = app.page(get("/api/v1/me").cookie(session.clone())).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    let revoked = app
        .delete(&format!("/api/v1/tokens/{id}"), app.world.alice.token())
        .await;
    assert!(revoked.status.is_success(), "{:?}", revoked.body);
    let after = app.page(get("/api/v1/me").cookie(session)).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED, "{}", after.text);
    // Sessions started with her other token are untouched.
    let (other, _) = sign_in(&app, &app.world.alice.token.clone()).await;
    assert_eq!(
        app.page(get("/api/v1/me").cookie(other)).await.status,
        StatusCode::OK
    );
}

async fn pending_sign_ins_are_bounded(backend: Backend) {
    use jiebang_platform::db::models::oidc_logins::{self, MAX_PENDING, PendingLogin};
    let app = TestApp::new(backend).await;
    let login = |n: i64, created_at: i64| PendingLogin {
        state_hash: format!("{n:064x}"),
        nonce: "n".into(),
        pkce_verifier: "v".into(),
        return_to: "/".into(),
        created_at,
    };
    let now = jiebang_platform::db::now_millis();
    let (filled, extra, after_expiry) = app
        .state
        .db
        .write_blocking(move |conn| {
            for n in 0..MAX_PENDING {
                assert!(oidc_logins::insert(conn, &login(n, now))?);
            }
            let filled: i64 = {
                use diesel::prelude::*;
                jiebang_platform::db::schema::oidc_logins::table
                    .count()
                    .get_result(conn)?
            };
            let extra = oidc_logins::insert(conn, &login(MAX_PENDING, now))?;
            // Ten minutes later the old ones have expired and make room.
            let later = now + oidc_logins::LIFETIME_MILLIS + 1;
            let after = oidc_logins::insert(conn, &login(MAX_PENDING + 1, later))?;
            Ok((filled, extra, after))
        })
        .unwrap();
    assert_eq!(filled, MAX_PENDING);
    assert!(!extra, "no row past the bound");
    assert!(after_expiry, "expired sign-ins make room");
}

async fn unreferenced_files_are_pruned_and_referenced_ones_kept(backend: Backend) {
    use jiebang_platform::services::retention;
    let app = TestApp::new(backend).await;
    let submission_image = b"an image a submission refers to";
    app.submit(
        "kg-open",
        &app.world.alice,
        app.world.team_a.as_str(),
        &submission_image[..],
    )
    .await;
    let orphan = app.state.blobs.put(b"a report nobody recorded").unwrap();
    let kept = app.state.blobs.put(submission_image).unwrap();
    let (db, blobs) = (app.state.db.clone(), app.state.blobs.clone());
    // Young orphans stay: an upload may be between its file and its record.
    let young = retention::prune(&db, &blobs, std::time::Duration::from_secs(3600), false).unwrap();
    assert_eq!((young.removed, young.too_young), (0, 1), "{young:?}");
    assert!(app.state.blobs.contains(&orphan.digest));
    let dry = retention::prune(&db, &blobs, std::time::Duration::ZERO, true).unwrap();
    assert_eq!(dry.removed, 1);
    assert!(
        app.state.blobs.contains(&orphan.digest),
        "a dry run removes nothing"
    );
    let pruned = retention::prune(&db, &blobs, std::time::Duration::ZERO, false).unwrap();
    assert_eq!(pruned.removed, 1, "{pruned:?}");
    assert!(!app.state.blobs.contains(&orphan.digest));
    assert!(
        app.state.blobs.contains(&kept.digest),
        "the submission's image stays"
    );
}

on_both_backends!(
    unreferenced_files_are_pruned_and_referenced_ones_kept,
    pending_sign_ins_are_bounded,
    signing_out_or_revoking_the_token_ends_the_session_on_the_server,
    a_session_never_writes_to_the_api_whatever_the_spelling,
    every_answer_carries_security_headers,
    a_refused_upload_never_removes_a_file_it_did_not_store,
);
