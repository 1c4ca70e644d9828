//! `/metrics`: every series the operator's guide names is there, with values that follow
//! what happened, and only operators and admins may read it.

use actix_web::test::TestRequest;
use serde_json::json;

use crate::common::{Backend, TestApp};
use crate::on_both_backends;

/// The value of the sample `series` (its name and labels exactly as written), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
}

async fn metrics_show_every_named_series_to_operators_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let scrape = |token: Option<&str>| {
        let mut request = TestRequest::get().uri("/metrics");
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        app.page(request)
    };
    let anonymous = scrape(None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    assert!(!anonymous.text.contains("jiebang_"), "{}", anonymous.text);
    assert_eq!(scrape(app.world.alice.token()).await.status, 403);
    assert_eq!(scrape(app.world.judge.token()).await.status, 403);

    // What the series should show: two uploads, one job run through its stages by a worker
    // (through the worker API) to a failure, the other still waiting.
    let (first, second) = (b"first image archive".as_slice(), b"second".as_slice());
    app.team_a_submits(first).await;
    assert_eq!(app.get("/api/v1/scenarios/kg-open", None).await.status, 200);
    let token = app.worker_token();
    let worker = Some(token.as_str());
    let registered = app
        .post(
            "/internal/v1/workers",
            worker,
            json!({"name": "node", "cpus": 4, "memory_mb": 8192}),
        )
        .await;
    let worker_id = registered.body["worker_id"].as_str().unwrap().to_owned();
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            worker,
            json!({"worker_id": worker_id}),
        )
        .await;
    let job = claimed.body["job_id"].as_str().unwrap().to_owned();
    for stage in ["sample_run", "hidden_run"] {
        let reported = app
            .post(
                &format!("/internal/v1/jobs/{job}/stage"),
                worker,
                json!({"worker_id": worker_id, "stage": stage}),
            )
            .await;
        assert_eq!(reported.status, 204, "{:?}", reported.body);
    }
    let finished = app
        .post(
            &format!("/internal/v1/jobs/{job}/result"),
            worker,
            json!({"worker_id": worker_id, "outcome": "submission_failed", "reason": "exit code 1"}),
        )
        .await;
    assert_eq!(finished.status, 204, "{:?}", finished.body);
    app.team_a_submits(second).await;

    for who in [app.world.operator.token(), app.world.admin.token()] {
        let page = scrape(who).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let content_type = page.headers.get("content-type").unwrap().to_str().unwrap();
        assert!(content_type.starts_with("application/openmetrics-text"));
        let text = &page.text;
        let value = |series: &str| {
            sample(text, series).unwrap_or_else(|| panic!("no `{series}` in\n{text}"))
        };
        // Request latency per route pattern, never per concrete path.
        assert!(
            value(
                "jiebang_http_request_duration_seconds_count{method=\"GET\",route=\"/api/v1/scenarios/{id}\",status=\"200\"}"
            ) >= 1.0
        );
        assert!(!text.contains("route=\"/api/v1/scenarios/kg-open\""));
        // Queue depth, jobs by state, workers alive.
        assert_eq!(value("jiebang_queue_depth{kind=\"first\"}"), 1.0);
        assert_eq!(value("jiebang_queue_depth{kind=\"rescore\"}"), 0.0);
        assert_eq!(value("jiebang_jobs{status=\"queued\"}"), 1.0);
        assert_eq!(value("jiebang_jobs{status=\"running\"}"), 0.0);
        assert_eq!(value("jiebang_jobs{status=\"failed\"}"), 1.0);
        assert_eq!(value("jiebang_jobs{status=\"done\"}"), 0.0);
        assert_eq!(value("jiebang_workers_alive"), 1.0);
        // Evaluation time per stage: each stage the job went through, once.
        for stage in ["preparing", "sample_run", "hidden_run"] {
            let series =
                format!("jiebang_evaluation_stage_duration_seconds_count{{stage=\"{stage}\"}}");
            assert_eq!(value(&series), 1.0, "{series}");
        }
        // Upload bytes, the pool and the waits for it.
        assert_eq!(
            value("jiebang_upload_bytes_total"),
            (first.len() + second.len()) as f64
        );
        assert!(value("jiebang_db_pool_connections") >= 1.0);
        assert!(text.contains("jiebang_db_pool_idle_connections "));
        assert!(value("jiebang_db_wait_seconds_count{wait=\"connection\"}") >= 1.0);
        assert_eq!(value("jiebang_db_pool_timeouts_total"), 0.0);
        if backend == Backend::Sqlite {
            assert!(value("jiebang_db_wait_seconds_count{wait=\"sqlite_writer\"}") >= 1.0);
        }
    }
}

on_both_backends!(metrics_show_every_named_series_to_operators_only);
