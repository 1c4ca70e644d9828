//! Bad input: each gets its precise error and changes nothing (checked in the database).

use actix_web::http::Method;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

fn scenario_body() -> serde_json::Value {
    json!({"organization_id": "konggang", "title_zh": "标题", "title_en": "Title",
           "domain": "logistics", "mode": "serve", "metric": "accuracy", "latency_budget_ms": 10})
}

async fn malformed_bodies_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let clerk = app.world.konggang.clone();
    let before = app.count("scenarios");

    let malformed = app
        .raw(
            Method::POST,
            "/api/v1/scenarios",
            clerk.token(),
            Some("application/json"),
            "{\"title_zh\": ",
        )
        .await;
    assert_eq!(
        (malformed.status.as_u16(), malformed.code()),
        (400, "malformed_json")
    );

    let trailing = app
        .raw(
            Method::POST,
            "/api/v1/scenarios",
            clerk.token(),
            Some("application/json"),
            format!("{} x", scenario_body()),
        )
        .await;
    assert_eq!(
        (trailing.status.as_u16(), trailing.code()),
        (400, "malformed_json")
    );

    let mut wrong_type = scenario_body();
    wrong_type["daily_quota"] = json!("five");
    let reply = app
        .post("/api/v1/scenarios", clerk.token(), wrong_type)
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (422, "invalid_field")
    );
    assert!(
        reply.message().starts_with("field `daily_quota`"),
        "{}",
        reply.message()
    );

    let mut unknown = scenario_body();
    unknown["bounty"] = json!(5);
    let reply = app.post("/api/v1/scenarios", clerk.token(), unknown).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.message().contains("unknown field `bounty`"),
        "{}",
        reply.message()
    );

    let mut bad_enum = scenario_body();
    bad_enum["mode"] = json!("stream");
    let reply = app.post("/api/v1/scenarios", clerk.token(), bad_enum).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.message().starts_with("field `mode`"),
        "{}",
        reply.message()
    );

    let mut negative = scenario_body();
    negative["bounty_cny"] = json!(-1);
    let reply = app.post("/api/v1/scenarios", clerk.token(), negative).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.message().contains("bounty_cny"),
        "{}",
        reply.message()
    );

    let mut bad_slug = scenario_body();
    bad_slug["id"] = json!("../../etc");
    let reply = app.post("/api/v1/scenarios", clerk.token(), bad_slug).await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.message().starts_with("field `id`"),
        "{}",
        reply.message()
    );

    let mut no_budget = scenario_body();
    no_budget
        .as_object_mut()
        .unwrap()
        .remove("latency_budget_ms");
    let reply = app
        .post("/api/v1/scenarios", clerk.token(), no_budget)
        .await;
    assert_eq!(reply.status, 422);
    assert!(
        reply.message().contains("latency_budget_ms"),
        "{}",
        reply.message()
    );

    let missing = app
        .post(
            "/api/v1/scenarios",
            clerk.token(),
            json!({"organization_id": "konggang"}),
        )
        .await;
    assert_eq!(missing.status, 422);
    assert!(
        missing.message().contains("missing field `title_zh`"),
        "{}",
        missing.message()
    );

    let oversized = json!({"organization_id": "konggang", "title_zh": "x".repeat(70 * 1024),
        "title_en": "t", "domain": "d", "mode": "batch", "metric": "mae"});
    let reply = app
        .post("/api/v1/scenarios", clerk.token(), oversized)
        .await;
    assert_eq!(
        (reply.status.as_u16(), reply.code()),
        (413, "payload_too_large")
    );

    let not_json = app
        .raw(
            Method::POST,
            "/api/v1/scenarios",
            clerk.token(),
            Some("text/plain"),
            scenario_body().to_string(),
        )
        .await;
    assert_eq!(
        (not_json.status.as_u16(), not_json.code()),
        (400, "unsupported_content_type")
    );

    let bad_time = app
        .post(
            "/api/v1/scenarios/kg-draft/phases",
            clerk.token(),
            json!({"name": "p", "opens_at": "tomorrow", "closes_at": "2030-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(bad_time.status, 422);
    assert!(
        bad_time.message().starts_with("field `opens_at`"),
        "{}",
        bad_time.message()
    );

    assert_eq!(app.count("scenarios"), before, "no scenario was stored");
    assert_eq!(app.count("phases"), 2, "no phase was stored");
}

async fn bad_queries_and_credentials_are_refused(backend: Backend) {
    let app = TestApp::new(backend).await;
    let reply = app.get("/api/v1/scenarios?per_page=1000", None).await;
    assert_eq!((reply.status.as_u16(), reply.code()), (400, "bad_query"));
    assert!(reply.message().contains("per_page"));
    let reply = app.get("/api/v1/scenarios?status=sleeping", None).await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("status"), "{}", reply.message());
    let reply = app.get("/api/v1/scenarios?colour=red", None).await;
    assert_eq!(reply.status, 400);
    assert!(reply.message().contains("colour"), "{}", reply.message());

    let forged = app.get("/api/v1/scenarios", Some("jb_0000")).await;
    assert_eq!(
        (forged.status.as_u16(), forged.code()),
        (401, "unauthenticated")
    );
    let basic = app
        .send(
            actix_web::test::TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Authorization", "Basic YTpi")),
        )
        .await;
    assert_eq!(basic.status, 401);
    let unknown_route = app.get("/api/v1/nowhere", None).await;
    assert_eq!(
        (unknown_route.status.as_u16(), unknown_route.code()),
        (404, "not_found")
    );
}

async fn refused_changes_leave_the_database_untouched(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let team_a = w.team_a.to_string();
    let first = app
        .post(
            "/api/v1/scenarios/kg-open/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(first.status, 201);
    let duplicate = app
        .post(
            "/api/v1/scenarios/kg-open/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!(
        (duplicate.status.as_u16(), duplicate.code()),
        (409, "already_enrolled")
    );
    let late = app
        .post(
            "/api/v1/scenarios/kg-closed/enrolments",
            w.alice.token(),
            json!({"team_id": team_a}),
        )
        .await;
    assert_eq!((late.status.as_u16(), late.code()), (409, "phase_closed"));
    assert!(late.message().contains("closed"), "{}", late.message());
    assert_eq!(app.count("enrolments"), 1);

    let audit_before = app.count("audit_log");
    let foreign = app
        .patch(
            "/api/v1/scenarios/kg-open",
            w.fengdong.token(),
            json!({"title_en": "Hijacked", "bounty_cny": 1}),
        )
        .await;
    assert_eq!(
        (foreign.status.as_u16(), foreign.code()),
        (403, "forbidden")
    );
    let title: String = app.read(|conn| {
        use diesel::prelude::*;
        use jiebang_platform::db::schema::scenarios;
        scenarios::table
            .find("kg-open")
            .select(scenarios::title_en)
            .first(conn)
    });
    assert_eq!(title, "kg-open title");
    assert_eq!(
        app.count("audit_log"),
        audit_before,
        "a refused change leaves no audit entry"
    );

    let forbidden_create = app
        .post("/api/v1/scenarios", w.fengdong.token(), scenario_body())
        .await;
    assert_eq!(forbidden_create.status, 403);
    assert_eq!(app.count("scenarios"), 3);
}

on_both_backends!(
    malformed_bodies_are_refused,
    bad_queries_and_credentials_are_refused,
    refused_changes_leave_the_database_untouched,
);
