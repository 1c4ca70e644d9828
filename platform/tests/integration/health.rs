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
/// The start-up check for a PostgreSQL whose backends each weigh as much as the platform
/// (docs/guide-operator.md, "PostgreSQL on the same host"), read off the real cluster.
async fn postgresql_placement_is_read_off_this_host(backend: Backend) {
    use jiebang_platform::db::DbConnection;
    use jiebang_platform::db::placement::{self, CpuGrouping};
    let app = TestApp::new(backend).await;
    let (weighs, grouping) = app
        .state
        .db
        .read_blocking(|conn| {
            let grouping = match conn {
                DbConnection::Postgres(pg) => placement::backend_grouping(pg),
                DbConnection::Sqlite(_) => None,
            };
            Ok((placement::backends_weigh_per_session(conn), grouping))
        })
        .unwrap();
    match backend {
        Backend::Sqlite => assert!(!weighs, "SQLite has no backends"),
        Backend::Postgres => {
            // scripts/test starts the cluster on this host, so its backend is found.
            let grouping = grouping.expect("the test cluster's backend is a process here");
            let autogroup = std::fs::read_to_string("/proc/sys/kernel/sched_autogroup_enabled")
                .is_ok_and(|v| v.trim() == "1");
            assert_eq!(weighs, autogroup && grouping == CpuGrouping::Session);
        }
    }
}

on_both_backends!(
    liveness_and_readiness,
    unchanged_boards_and_pages_answer_304,
    postgresql_placement_is_read_off_this_host
);
