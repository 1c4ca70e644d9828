//! Liveness and readiness: `/healthz` from memory, `/readyz` from the database.

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

async fn liveness_and_readiness(backend: Backend) {
    let app = TestApp::new(backend).await;
    let alive = app.get("/healthz", None).await;
    assert_eq!(alive.status, 200);
    assert_eq!(alive.body["status"], "ok");
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    assert_eq!(ready.body["status"], "ready");
}

async fn unchanged_boards_and_pages_answer_304(backend: Backend) {
    use actix_web::test::TestRequest;
    let app = TestApp::new(backend).await;
    for path in [
        "/",
        "/scenarios/kg-open",
        "/scenarios/kg-open/leaderboard",
        "/api/v1/scenarios/kg-open/leaderboard",
    ] {
        let first = app.page(TestRequest::get().uri(path)).await;
        assert_eq!(first.status, 200, "{path}: {}", first.text);
        let etag = first
            .headers
            .get("etag")
            .unwrap_or_else(|| panic!("{path} has no ETag"))
            .to_str()
            .unwrap()
            .to_owned();
        let again = app
            .page(
                TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", etag.as_str())),
            )
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.text.is_empty(), "{path}: no body with a 304");
        assert_eq!(again.headers.get("etag").unwrap().to_str().unwrap(), etag);
        let stale = app
            .page(
                TestRequest::get()
                    .uri(path)
                    .insert_header(("If-None-Match", "\"something-else\"")),
            )
            .await;
        assert_eq!(stale.status, 200, "{path}");
    }
}
on_both_backends!(
    liveness_and_readiness,
    unchanged_boards_and_pages_answer_304
);
