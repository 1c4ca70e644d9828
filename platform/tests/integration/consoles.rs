//! The consoles' API: judges' reviews and comparisons, departments' package uploads and the
//! operator's overview — who may call each route, what bad input gets, and the happy paths.

use actix_web::test::TestRequest;
use diesel::prelude::*;

use jiebang_platform::db::models::scenarios::{self, ScenarioStatus};
use jiebang_platform::db::schema::phases;
use serde_json::{Value, json};

use crate::common::{Backend, TestApp, phase_row, scenario_row};
use crate::on_both_backends;

pub(crate) async fn register_worker(app: &TestApp, token: &str) -> String {
    let registered = app
        .post(
            "/internal/v1/workers",
            Some(token),
            json!({"name": "gpu-node-1", "cpus": 2, "memory_mb": 8192,
                   "accelerators": [{"id": "0", "model": "A100"}, {"id": "1", "model": "A100"}]}),
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    registered.body["worker_id"].as_str().unwrap().to_owned()
}

/// A report as a worker writes one (typed, so it is what the platform must read): the
/// hidden run scores `score` on the public part and 0.01 less on the private one, p90 5 ms
/// within budget, on accelerator `0` for `device_seconds`.
pub(crate) fn report(score: f64, device_seconds: f64) -> Value {
    use jiebang_evaluator::protocol::report::{
        BudgetVerdict, Environment, LatencySummary, Report, RunOutcome, RunReport, Score,
        SplitScores, Termination,
    };
    use jiebang_scenarios::package::MetricName;

    let split = |v: f64| {
        Some(Score {
            value: v,
            low: v - 0.05,
            high: v + 0.05,
            items: 500,
            items_in_set: 500,
        })
    };
    let run = |scores: SplitScores, verdict: Option<BudgetVerdict>| RunReport {
        scores,
        latency: Some(LatencySummary {
            queries: 500,
            errors: 0,
            timeouts: 0,
            p50_ms: 3.0,
            p90_ms: 5.0,
            p95_ms: 6.0,
            p99_ms: 9.0,
            p999_ms: 11.0,
            max_ms: 12.0,
            mean_ms: 3.5,
            achieved_qps: 100.0,
            duration_s: 5.0,
            buckets: Vec::new(),
        }),
        verdict,
        floor: None,
        quality: None,
        resources: RunOutcome {
            termination: Termination::Stopped,
            wall_seconds: 6.0,
            cpu_seconds: 4.5,
            peak_memory_bytes: 1_000_000,
            throttled_periods: 0,
            throttled_seconds: 0.0,
            logs: Vec::new(),
            log_bytes: 0,
            logs_truncated: false,
            output_bytes: 0,
        },
    };
    let report = Report {
        scenario_id: "kg-open".into(),
        image: "sha256:image".into(),
        sample: Some(run(
            SplitScores {
                metric: MetricName::Accuracy,
                public: None,
                private: None,
                all: split(score),
                items: None,
            },
            None,
        )),
        hidden: Some(run(
            SplitScores {
                metric: MetricName::Accuracy,
                public: split(score),
                private: split(score - 0.01),
                all: split(score),
                items: None,
            },
            Some(BudgetVerdict {
                budget_ms: 20.0,
                percentile: 90.0,
                queries: 500,
                over_budget: 0,
                allowed_over_budget: Some(37),
                within_budget: true,
                interval: None,
            }),
        )),
        failure: None,
        notes: Vec::new(),
        environment: Environment {
            cpu_model: "test CPU".into(),
            cores: 2,
            kernel: "6.8.0".into(),
            harness_version: "0.1.0".into(),
            split_seed: 1,
            load_seed: 2,
        },
        device_seconds,
        devices: vec!["0".into()],
        accelerators: Vec::new(),
        utilisation: Vec::new(),
    };
    serde_json::to_value(report).unwrap()
}

/// Claims the next job with the worker and reports it finished with `report`.
pub(crate) async fn evaluate_next(
    app: &TestApp,
    token: &str,
    worker: &str,
    report: Value,
) -> Value {
    evaluate_next_with_items(app, token, worker, report, None).await
}

/// [`evaluate_next`], the result also carrying the hidden run's per-item pairs.
pub(crate) async fn evaluate_next_with_items(
    app: &TestApp,
    token: &str,
    worker: &str,
    report: Value,
    board_items: Option<Value>,
) -> Value {
    claim_and_report(app, token, worker, |submission| {
        json!({"outcome": "finished", "report": report, "board_items": board_items,
                   "sample_logs": format!("sample run of {submission}\n"),
                   "hidden_logs": format!("hidden run of {submission}\n")})
    })
    .await
}

/// Claims the next job with the worker and reports the outcome (`{"outcome", …}`, without
/// `worker_id`) that `outcome_for` gives for its submission; returns the claimed job.
pub(crate) async fn claim_and_report(
    app: &TestApp,
    token: &str,
    worker: &str,
    outcome_for: impl FnOnce(&str) -> Value,
) -> Value {
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            Some(token),
            json!({"worker_id": worker, "wait_seconds": 2}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.body);
    let job = claimed.body["job_id"].as_str().unwrap();
    let mut body = outcome_for(claimed.body["submission_id"].as_str().unwrap());
    body["worker_id"] = worker.into();
    let done = app
        .post(
            &format!("/internal/v1/jobs/{job}/result"),
            Some(token),
            body,
        )
        .await;
    assert_eq!(done.status, 204, "{:?}", done.body);
    claimed.body
}

/// Two evaluated submissions of `kg-open`, one per team.
pub(crate) async fn two_evaluated(app: &TestApp) -> (String, String) {
    let w = &app.world;
    let a = app.team_a_submits("image of team A").await;
    let b = app
        .submit("kg-open", &w.bob, w.team_b.as_str(), "image of team B")
        .await;
    let token = app.worker_token();
    let worker = register_worker(app, &token).await;
    evaluate_next(app, &token, &worker, report(0.9, 120.0)).await;
    evaluate_next(app, &token, &worker, report(0.8, 60.0)).await;
    (a, b)
}

pub(crate) fn close_phases(app: &TestApp, scenario: &str) {
    let scenario = scenario.to_owned();
    app.state
        .db
        .write_blocking(move |conn| {
            diesel::update(phases::table.filter(phases::scenario_id.eq(scenario)))
                .set((
                    phases::opens_at.eq(jiebang_platform::db::now_millis() - 10_000),
                    phases::closes_at.eq(jiebang_platform::db::now_millis() - 1000),
                ))
                .execute(conn)?;
            Ok(())
        })
        .unwrap();
}

async fn put_review(
    app: &TestApp,
    who: Option<&str>,
    submission: &str,
    body: Value,
) -> crate::common::Reply {
    let request = TestRequest::put()
        .uri(&format!("/api/v1/submissions/{submission}/review"))
        .set_json(body);
    let request = match who {
        Some(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        None => request,
    };
    app.send(request).await
}

async fn reviews_by_judges_only(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let (a, b) = two_evaluated(&app).await;
    let good = json!({"score": 4, "recommendation": "shortlist", "text": "Solid.\nFast."});

    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.konggang.token(), 403),
        (w.fengdong.token(), 403),
        (w.admin.token(), 403),
    ] {
        let reply = put_review(&app, who, &a, good.clone()).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    assert_eq!(app.count("reviews"), 0);

    for (body, field) in [
        (json!({"score": 0, "recommendation": "none"}), "score"),
        (json!({"score": 6, "recommendation": "none"}), "score"),
        (json!({"score": "4", "recommendation": "none"}), "score"),
        (
            json!({"score": 3, "recommendation": "maybe"}),
            "recommendation",
        ),
        (
            json!({"score": 3, "recommendation": "award", "text": "x".repeat(10_001)}),
            "text",
        ),
        (
            json!({"score": 3, "recommendation": "award", "stars": 5}),
            "stars",
        ),
    ] {
        let reply = put_review(&app, w.judge.token(), &a, body.clone()).await;
        assert_eq!(reply.status, 422, "{body}: {:?}", reply.body);
        assert_eq!(reply.code(), "invalid_field");
        assert!(
            reply.message().contains(field),
            "{body}: {}",
            reply.message()
        );
    }
    let missing = put_review(&app, w.judge.token(), "sub_nope", good.clone()).await;
    assert_eq!(missing.status, 404);
    assert_eq!(app.count("reviews"), 0);

    let created = put_review(&app, w.judge.token(), &a, good.clone()).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["recommendation"], "shortlist");
    let edited = put_review(
        &app,
        w.judge.token(),
        &a,
        json!({"score": 5, "recommendation": "award", "text": "x".repeat(10_000)}),
    )
    .await;
    assert_eq!(edited.status, 200, "{:?}", edited.body);
    assert_eq!(
        edited.body["id"], created.body["id"],
        "one review per judge"
    );
    assert_eq!(app.count("reviews"), 1);
    let on_b = put_review(
        &app,
        w.judge.token(),
        &b,
        json!({"score": 2, "recommendation": "none"}),
    )
    .await;
    assert_eq!(on_b.status, 201);

    // Reading one submission's reviews.
    let path = format!("/api/v1/submissions/{a}/reviews");
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.bob.token(), 404),
        (w.fengdong.token(), 404),
        (w.konggang.token(), 403),
        (w.judge.token(), 200),
        (w.admin.token(), 200),
    ] {
        let reply = app.get(&path, who).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    let shown = app.get(&path, w.judge.token()).await;
    assert_eq!(shown.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(shown.body["items"][0]["score"], 5);
    assert_eq!(shown.body["items"][0]["judge_login"], "judge");
    assert_eq!(shown.body["items"][0]["team_name"], "Team A");

    // The scenario's reviews: judges and admins only.
    let path = "/api/v1/scenarios/kg-open/reviews";
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.konggang.token(), 403),
        (w.fengdong.token(), 403),
        (w.judge.token(), 200),
        (w.admin.token(), 200),
    ] {
        let reply = app.get(path, who).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    let all = app.get(path, w.admin.token()).await;
    let teams: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["team_name"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["Team A", "Team B"]);

    // When the phase closes the department sees them; the team still does not.
    close_phases(&app, "kg-open");
    let department = app
        .get(
            &format!("/api/v1/submissions/{a}/reviews"),
            w.konggang.token(),
        )
        .await;
    assert_eq!(department.status, 200, "{:?}", department.body);
    assert_eq!(department.body["items"].as_array().unwrap().len(), 1);
    let team = app
        .get(&format!("/api/v1/submissions/{a}/reviews"), w.alice.token())
        .await;
    assert_eq!(team.status, 403);

    let audited = app.get("/api/v1/audit?per_page=100", w.admin.token()).await;
    let actions: Vec<&str> = audited.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"review.create") && actions.contains(&"review.update"));
}

async fn compare_side_by_side(backend: Backend) {
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let (a, b) = two_evaluated(&app).await;
    let path = format!("/api/v1/scenarios/kg-open/compare?submissions={a},{b}");
    for (who, status) in [
        (None, 401),
        (w.alice.token(), 403),
        (w.konggang.token(), 403),
        (w.fengdong.token(), 403),
        (w.operator.token(), 403),
        (w.judge.token(), 200),
        (w.admin.token(), 200),
    ] {
        let reply = app.get(&path, who).await;
        assert_eq!(reply.status, status, "{who:?}: {:?}", reply.body);
    }
    let shown = app.get(&path, w.judge.token()).await;
    let columns = shown.body["submissions"].as_array().unwrap();
    assert_eq!(columns.len(), 2);
    assert_eq!(columns[0]["submission_id"], a.as_str());
    assert_eq!(columns[0]["team_name"], "Team A");
    assert_eq!(columns[1]["team_name"], "Team B");
    assert_eq!(columns[0]["status"], "done");
    assert_eq!(columns[0]["scores"]["private"]["value"], 0.89);
    assert_eq!(columns[1]["scores"]["public"]["low"], 0.75);
    assert_eq!(columns[0]["latency"]["p99_ms"], 9.0);
    assert_eq!(columns[0]["verdict"]["within_budget"], true);
    assert_eq!(columns[0]["resources"]["cpu_seconds"], 4.5);
    assert_eq!(columns[0]["device_seconds"], 120.0);

    // Another scenario's submission, too few, too many, named twice, unknown.
    app.state
        .db
        .write_blocking(|conn| {
            scenarios::insert(
                conn,
                &scenario_row("kg-second", "konggang", ScenarioStatus::Published),
                None,
            )?;
            jiebang_platform::db::models::phases::insert_phase(
                conn,
                &phase_row("kg-second", -1, 30),
                None,
            )
        })
        .unwrap();
    let other = app
        .submit("kg-second", &w.alice, w.team_a.as_str(), "another")
        .await;
    for list in [
        a.clone(),
        format!("{a},{b},x,y,z"),
        format!("{a},{other}"),
        format!("{a},{a}"),
        format!("{a},sub_nope"),
    ] {
        let reply = app
            .get(
                &format!("/api/v1/scenarios/kg-open/compare?submissions={list}"),
                w.judge.token(),
            )
            .await;
        assert_eq!(
            (reply.status.as_u16(), reply.code()),
            (400, "bad_query"),
            "{list}"
        );
        assert!(
            reply.message().contains("submissions"),
            "{}",
            reply.message()
        );
    }
    let no_query = app
        .get("/api/v1/scenarios/kg-open/compare", w.judge.token())
        .await;
    assert_eq!(no_query.status, 400);
}

on_both_backends!(reviews_by_judges_only, compare_side_by_side);
