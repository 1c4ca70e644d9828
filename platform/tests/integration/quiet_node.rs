//! A job whose timed run other work on the node disturbed: back in the queue as
//! `waiting_for_quiet_node`, claimable only after the wait, never charged, never on a
//! board, the figures shown to the operator; out of waits, failed without charge.

use actix_web::cookie::Cookie;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::pages::{get, sign_in};

/// What a worker sends for a run that stayed disturbed: a report whose hidden run has a
/// measurement-quality section naming what passed which threshold.
fn disturbed_result(worker_id: &str) -> Value {
    let quality = json!({
        "send_lateness": {"p50_us": 40.0, "p99_us": 6730.0, "max_us": 9100.0, "queries": 300},
        "host_pressure_some": 0.95, "host_pressure_outside": 0.62, "steal": 0.001,
        "floor_before": {"p50_ms": 0.9, "p99_ms": 4.8},
        "floor_after": {"p50_ms": 0.8, "p99_ms": 4.2},
        "attempts": 2,
        "disturbances": [
            {"figure": "send_lateness_p99_us", "value": 6730.0, "threshold": 500.0},
            {"figure": "host_pressure", "value": 0.62, "threshold": 0.2}
        ]
    });
    let report = json!({
        "scenario_id": "kg-open",
        "image": "sha256:0123",
        "sample": null,
        "hidden": {
            "scores": {"metric": "accuracy", "public": null, "private": null, "all": null},
            "latency": null, "verdict": null, "floor": null, "quality": quality,
            "resources": {"termination": {"kind": "stopped"}, "wall_seconds": 7.0,
                          "cpu_seconds": 2.0, "peak_memory_bytes": 1000, "log_bytes": 10,
                          "logs_truncated": false, "output_bytes": 0}
        },
        "failure": null,
        "environment": {"cpu_model": "", "cores": 2, "kernel": "6.8.0",
                        "harness_version": "0.1.0", "split_seed": 1, "load_seed": 2}
    });
    json!({
        "worker_id": worker_id,
        "outcome": "disturbed",
        "reason": "the timed run was disturbed by other work on the node in each of 2 tries",
        "report": report,
    })
}

async fn remaining_quota(app: &TestApp) -> i64 {
    let w = &app.world;
    let quota = app
        .get(
            &format!("/api/v1/scenarios/kg-open/quota?team_id={}", w.team_a),
            w.alice.token(),
        )
        .await;
    quota.body["remaining"].as_i64().unwrap()
}

async fn a_disturbed_job_waits_for_a_quiet_node_and_is_never_charged(backend: Backend) {
    let app = TestApp::with_config(backend, |config| {
        config.measurement.quiet_wait_seconds = 1;
        config.measurement.max_quiet_waits = 1;
    })
    .await;
    let w = &app.world;
    let token = app.worker_token();
    let worker = Some(token.as_str());
    let registered = app
        .post(
            "/internal/v1/workers",
            worker,
            json!({"name": "busy-node", "cpus": 2, "memory_mb": 4096}),
        )
        .await;
    let worker_id = registered.body["worker_id"].as_str().unwrap().to_owned();
    let claim = |wait: u64| {
        app.post(
            "/internal/v1/jobs/claim",
            worker,
            json!({"worker_id": worker_id, "wait_seconds": wait}),
        )
    };

    let before = remaining_quota(&app).await;
    let submission = app.team_a_submits(b"an image disturbed twice").await;
    let charged = remaining_quota(&app).await;
    assert_eq!(charged, before - 1, "a waiting submission holds its place");

    let first = claim(5).await;
    assert_eq!(first.status, 200, "{:?}", first.body);
    let job = first.body["job_id"].as_str().unwrap().to_owned();
    // The worker gives the job back as disturbed; the submission as its team then sees it.
    let send_disturbed = || async {
        let sent = app
            .post(
                &format!("/internal/v1/jobs/{job}/result"),
                worker,
                disturbed_result(&worker_id),
            )
            .await;
        assert_eq!(sent.status, 204, "{:?}", sent.body);
        app.get(
            &format!("/api/v1/submissions/{submission}"),
            w.alice.token(),
        )
        .await
        .body
    };
    let shown = send_disturbed().await;

    // Back in the queue with its stage and why; nothing recorded, nothing charged.
    assert_eq!(shown["status"], "waiting_for_quiet_node", "{shown}");
    assert_eq!(
        app.count("results"),
        0,
        "a disturbed run is nobody's result"
    );
    assert_eq!(remaining_quota(&app).await, charged);
    let board = app.get("/api/v1/scenarios/kg-open/leaderboard", None).await;
    assert_eq!(board.body["rows"], json!([]), "{}", board.body);

    let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
    let queue = &overview.body["queue"];
    assert_eq!(queue["waiting_for_quiet_node"], 1, "{queue}");
    let waiting = &queue["quiet_waits"][0];
    assert_eq!(waiting["submission_id"], submission.as_str());
    assert_eq!(waiting["waits"], 1);
    assert_eq!(waiting["disturbances"][1]["figure"], "host_pressure");
    assert_eq!(waiting["disturbances"][1]["threshold"], 0.2);

    // The operator's console names each figure and both numbers, in both languages.
    let operator = sign_in(&app, &w.operator.token).await.0;
    let zh = app
        .page(get("/console/operator").cookie(operator.clone()))
        .await;
    assert!(zh.text.contains("等待空闲节点"), "{}", zh.text);
    assert!(
        zh.text.contains("容器以外的 CPU 压力：0.620 &gt; 0.200"),
        "{}",
        zh.text
    );
    let en = app
        .page(
            get("/console/operator")
                .cookie(operator)
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert!(en.text.contains("Waiting for a quiet node"));
    assert!(
        en.text
            .contains("harness send lateness p99 (µs): 6730.000 &gt; 500.000")
    );
    // The team sees the stage, in its language, and that it is not charged.
    let alice = sign_in(&app, &w.alice.token).await.0;
    let page = app
        .page(
            get(&format!("/submissions/{submission}"))
                .cookie(alice.clone())
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert!(
        page.text.contains("waiting for a quiet node"),
        "{}",
        page.text
    );
    assert!(page.text.contains("It is not charged"));
    let page = app
        .page(get(&format!("/submissions/{submission}")).cookie(alice))
        .await;
    assert!(page.text.contains("等待空闲节点"));

    // Not claimable before its wait is over; then claimed again, with an attempt of its own.
    assert_eq!(claim(0).await.status, 204, "still waiting");
    actix_web::rt::time::sleep(std::time::Duration::from_millis(1100)).await;
    let second = claim(5).await;
    assert_eq!(second.status, 200, "{:?}", second.body);
    assert_eq!(second.body["job_id"], job.as_str());
    assert_eq!(second.body["attempt"], 2);

    // Disturbed once more than it may be: failed, and the quota given back.
    let shown = send_disturbed().await;
    assert_eq!(shown["status"], "failed", "{shown}");
    assert_eq!(shown["counts_toward_quota"], false);
    assert!(
        shown["failure"]
            .as_str()
            .unwrap()
            .contains("no node was quiet enough"),
        "{}",
        shown
    );
    assert_eq!(remaining_quota(&app).await, before);
    assert_eq!(app.count("results"), 0);
}

on_both_backends!(a_disturbed_job_waits_for_a_quiet_node_and_is_never_charged);
