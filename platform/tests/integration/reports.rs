//! Reports through the protocol's types: a result whose report does not parse is refused
//! naming the field, a good one is served as the worker wrote it, and a stored report that
//! no longer parses is an error naming the submission.

use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::consoles::{register_worker, report};
use crate::on_both_backends;

async fn reports_are_read_through_the_protocol_types(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let submission = app
        .submit("kg-open", &w.alice, w.team_a.as_str(), "an image")
        .await;
    let token = app.worker_token();
    let worker = register_worker(&app, &token).await;
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&token),
            json!({"worker_id": worker, "wait_seconds": 2}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.body);
    let result_path = format!(
        "/internal/v1/jobs/{}/result",
        claimed.body["job_id"].as_str().unwrap()
    );

    let mut broken = report(0.9, 1.0);
    broken["environment"]
        .as_object_mut()
        .unwrap()
        .remove("cores");
    let refused = app
        .post(
            &result_path,
            Some(&token),
            json!({"worker_id": worker, "outcome": "finished", "report": broken}),
        )
        .await;
    assert_eq!(refused.status, 422, "{:?}", refused.body);
    assert!(
        refused.message().contains("report.environment") && refused.message().contains("cores"),
        "{}",
        refused.message()
    );
    let no_reason = app
        .post(
            &result_path,
            Some(&token),
            json!({"worker_id": worker, "outcome": "submission_failed"}),
        )
        .await;
    assert_eq!(
        no_reason.status, 422,
        "a failure says why: {:?}",
        no_reason.body
    );

    let sent = report(0.9, 1.0);
    let done = app
        .post(
            &result_path,
            Some(&token),
            json!({"worker_id": worker, "outcome": "finished", "report": sent}),
        )
        .await;
    assert_eq!(
        done.status, 204,
        "the refused bodies left the job held: {:?}",
        done.body
    );
    let path = format!("/api/v1/submissions/{submission}/report");
    let judge = app.get(&path, w.judge.token()).await;
    assert_eq!(judge.status, 200, "{:?}", judge.body);
    assert_eq!(judge.body["report"], sent, "served as the worker wrote it");
    let page = app
        .page(
            actix_web::test::TestRequest::get()
                .uri(&format!("/submissions/{submission}?lang=en"))
                .insert_header(("Authorization", format!("Bearer {}", w.alice.token))),
        )
        .await;
    assert!(
        page.text.contains("scored 500 of 500 items"),
        "the report card says how many of the part's items were scored: {}",
        page.text
    );

    // The store is content-addressed; break the stored file behind the digest.
    let digest = judge.body["report_digest"].as_str().unwrap();
    let file = app.state.blobs.path_of(digest).unwrap();
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, br#"{"scenario_id": "kg-open", "image": 7}"#).unwrap();
    let unreadable = app.get(&path, w.judge.token()).await;
    assert_eq!(unreadable.status, 500, "{:?}", unreadable.body);
    assert_eq!(unreadable.code(), "stored_data_unreadable");
    assert!(
        unreadable.message().contains(&submission),
        "{}",
        unreadable.message()
    );
}

on_both_backends!(reports_are_read_through_the_protocol_types);
