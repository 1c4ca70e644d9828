//! Load shedding: past its budget a visitor gets 429 with `Retry-After`; other visitors,
//! health checks and workers are not held back.

use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

fn from(address: &str, path: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .peer_addr(address.parse().expect("a socket address"))
}

async fn a_visitor_past_its_budget_gets_429_and_others_do_not(backend: Backend) {
    let app = TestApp::with_config(backend, |config| {
        config.anonymous_requests_per_minute = 3;
        config.user_requests_per_minute = 5;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.page(from("10.1.1.1:4000", "/")).await.status, 200);
    }
    let refused = app.page(from("10.1.1.1:4001", "/api/v1/scenarios")).await;
    assert_eq!(refused.status, 429, "{}", refused.text);
    let retry: u64 = refused
        .headers
        .get("retry-after")
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        refused.text.contains("too_many_requests"),
        "{}",
        refused.text
    );
    // Health checks and another visitor are not held back.
    assert_eq!(
        app.page(from("10.1.1.1:4002", "/healthz")).await.status,
        200
    );
    assert_eq!(app.page(from("10.2.2.2:4000", "/")).await.status, 200);
    // A signed-in person has a budget of their own, wherever they come from.
    let token = app.world.alice.token.clone();
    let signed_in = |path: &str| {
        from("10.1.1.1:4003", path).insert_header(("Authorization", format!("Bearer {token}")))
    };
    for _ in 0..5 {
        assert_eq!(app.page(signed_in("/api/v1/me")).await.status, 200);
    }
    assert_eq!(app.page(signed_in("/api/v1/me")).await.status, 429);
}

on_both_backends!(a_visitor_past_its_budget_gets_429_and_others_do_not);
