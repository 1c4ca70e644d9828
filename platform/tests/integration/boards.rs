//! Boards come a page at a time, with the whole board's size, on the API and the page; each
//! row says how many of its part's items were scored.

use actix_web::test::TestRequest;

use crate::common::{Backend, TestApp};
use crate::consoles::two_evaluated;
use crate::on_both_backends;

async fn boards_are_paginated_with_a_total(backend: Backend) {
    let app = TestApp::new(backend).await;
    two_evaluated(&app).await;
    let base = "/api/v1/scenarios/kg-open/leaderboard";
    let whole = app.get(base, None).await;
    assert_eq!(whole.status, 200, "{:?}", whole.body);
    assert_eq!(whole.body["total"], 2);
    assert_eq!(whole.body["per_page"], 50);
    assert_eq!(whole.body["rows"].as_array().unwrap().len(), 2);
    for row in whole.body["rows"].as_array().unwrap() {
        assert_eq!(
            (&row["items"], &row["items_in_set"]),
            (&500.into(), &500.into()),
            "each row says how many of its part's items were scored: {row}"
        );
    }
    let first = app.get(&format!("{base}?per_page=1"), None).await;
    let second = app.get(&format!("{base}?per_page=1&page=2"), None).await;
    assert_eq!(first.body["rows"][0]["rank"], 1);
    assert_eq!(second.body["rows"][0]["rank"], 2);
    assert_eq!(second.body["total"], 2);
    assert_ne!(
        first.body["rows"][0]["team_id"],
        second.body["rows"][0]["team_id"]
    );
    let past = app.get(&format!("{base}?per_page=1&page=3"), None).await;
    assert_eq!(past.body["rows"].as_array().unwrap().len(), 0);
    let bad = app.get(&format!("{base}?per_page=1000"), None).await;
    assert_eq!(bad.status, 400);

    let page = app
        .page(TestRequest::get().uri("/scenarios/kg-open/leaderboard?lang=en"))
        .await;
    assert!(
        page.text.contains("Showing 1–2 of 2 teams"),
        "{}",
        page.text
    );
    assert!(
        page.text.contains("Items scored") && page.text.contains("500 of 500"),
        "{}",
        page.text
    );
}

on_both_backends!(boards_are_paginated_with_a_total);
