//! The operator's overview: workers, the queue and accelerator utilisation.

use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::consoles::report;
use crate::on_both_backends;

async fn operators_see_workers_queue_and_utilisation(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.konggang.token(), 403),
        (w.judge.token(), 403),
        (w.operator.token(), 200),
        (w.admin.token(), 200),
    ] {
        let reply = app.get("/api/v1/admin/overview", who).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }

    let token = app.worker_token();
    let worker = app
        .post(
            "/internal/v1/workers",
            Some(&token),
            json!({"name": "gpu-node-1", "cpus": 2, "memory_mb": 8192,
                   "accelerators": [{"id": "0", "model": "A100"}, {"id": "1", "model": "A100"}]}),
        )
        .await
        .body["worker_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.team_a_submits("first image").await;
    app.team_a_submits("second image").await;
    app.team_a_submits("third image").await;

    // One job finished on device 0 (60 device-seconds), one running, one waiting.
    for report in [Some(report(0.9, 60.0)), None] {
        let claimed = app
            .post(
                "/internal/v1/jobs/claim",
                Some(&token),
                json!({"worker_id": worker}),
            )
            .await;
        assert_eq!(claimed.status, 200, "{:?}", claimed.body);
        if let Some(report) = report {
            let job = claimed.body["job_id"].as_str().unwrap();
            let done = app
                .post(
                    &format!("/internal/v1/jobs/{job}/result"),
                    Some(&token),
                    json!({"worker_id": worker, "outcome": "finished", "report": report}),
                )
                .await;
            assert_eq!(done.status, 204, "{:?}", done.body);
        }
    }

    let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
    let body = &overview.body;
    assert_eq!(body["queue"]["queued"], 1, "{body}");
    assert_eq!(body["queue"]["running"], 1);
    assert_eq!(body["queue"]["retrying"], 0);
    assert!(body["queue"]["oldest_queued_age_seconds"].as_f64().unwrap() >= 0.0);
    let node = &body["workers"][0];
    assert_eq!(node["name"], "gpu-node-1");
    assert_eq!(node["alive"], true);
    assert!(node["current_job"]["job_id"].is_string());
    let devices = node["accelerators"].as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert_eq!(devices[0]["id"], "0");
    assert_eq!(devices[0]["device_seconds"], 60.0);
    assert_eq!(devices[1]["device_seconds"], 0.0);
    let used = devices[0]["utilisation"].as_f64().unwrap();
    assert!(used > 0.0 && used <= 1.0, "{used}");
}

on_both_backends!(operators_see_workers_queue_and_utilisation);
