//! The utilisation series: minutes a worker sends with its result are stored per device
//! with node, scenario and town; a week on they are rolled up per hour, after 90 days they
//! go; the operator's figures (busy % per node and model, queue waits, device-hours) come
//! out of it exactly; the page draws them and the CSV lists them.

use actix_web::cookie::Cookie;
use diesel::prelude::*;
use jiebang_platform::db::models::submissions::SubmissionStage;
use jiebang_platform::db::models::usage_samples::{self, UsageSample};
use jiebang_platform::db::now_millis;
use jiebang_platform::db::schema::submission_events;
use jiebang_platform::services::retention::utilisation_upkeep;
use jiebang_platform::services::utilisation::figures::{Range, figures};
use serde_json::{Value, json};

use crate::common::{Backend, TestApp};
use crate::on_both_backends;
use crate::pages::{get, sign_in};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A failed run's report whose devices were sampled: two minutes of device `0`.
fn result_with_minutes(worker_id: &str, minute: i64) -> Value {
    let report = json!({
        "scenario_id": "kg-open",
        "image": "sha256:0123",
        "sample": null,
        "hidden": null,
        "failure": "exit code 1",
        "environment": {"cpu_model": "", "cores": 2, "kernel": "6.8.0",
                        "harness_version": "0.1.0", "split_seed": 1, "load_seed": 2},
        "device_seconds": 90.0,
        "devices": ["0"],
        "accelerators": [{"id": "0", "model": "MLU370", "leased_seconds": 90.0,
            "busy_mean_percent": 40.0, "busy_max_percent": 70.0,
            "memory_peak_bytes": 1073741824u64, "memory_total_bytes": 25769803776u64,
            "samples": 18}],
        "utilisation": [
            {"device_id": "0", "model": "MLU370", "minute_start_ms": minute,
             "leased_seconds": 60.0, "busy_percent": 30.0, "busy_samples": 12,
             "memory_peak_bytes": 1073741824u64},
            {"device_id": "0", "model": "MLU370", "minute_start_ms": minute + 60_000,
             "leased_seconds": 30.0, "busy_percent": null, "busy_samples": 0,
             "memory_peak_bytes": null}
        ]
    });
    json!({
        "worker_id": worker_id,
        "outcome": "submission_failed",
        "reason": "exit code 1",
        "report": report,
    })
}

async fn a_result_s_minutes_become_the_series(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = app.worker_token();
    let worker = app
        .register_worker(
            &token,
            json!({"name": "mlu-1", "cpus": 2, "memory_mb": 8192,
            "accelerators": [{"id": "0", "model": "MLU370"}]}),
        )
        .await;
    let submission = app.team_a_submits(b"sampled").await;
    let claim = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&token),
            json!({"worker_id": worker}),
        )
        .await;
    assert_eq!(claim.status, 200);
    let job = claim.body["job_id"].as_str().unwrap().to_owned();
    let minute = now_millis().div_euclid(60_000) * 60_000 - 120_000;
    let sent = app
        .post(
            &format!("/internal/v1/jobs/{job}/result"),
            Some(&token),
            result_with_minutes(&worker, minute),
        )
        .await;
    assert_eq!(sent.status, 204, "{:?}", sent.body);

    let rows = app.read(|conn| usage_samples::between(conn, 0, i64::MAX));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0],
        UsageSample {
            worker_id: worker.clone(),
            node: "mlu-1".into(),
            device_id: "0".into(),
            model: "MLU370".into(),
            scenario_id: "kg-open".into(),
            town: "konggang".into(),
            job_id: job.clone(),
            period_start: minute,
            period_seconds: 60,
            leased_seconds: 60.0,
            busy_percent: Some(30.0),
            busy_samples: 12,
            memory_peak_bytes: Some(1 << 30),
        }
    );
    assert_eq!(rows[1].busy_percent, None);
    assert_eq!(rows[1].leased_seconds, 30.0);

    // The team's report card shows each device: leased, busy and memory.
    let alice = sign_in(&app, &app.world.alice.token).await.0;
    let page = app
        .page(
            get(&format!("/submissions/{submission}"))
                .cookie(alice)
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert!(page.text.contains("id=\"accelerators\""), "{}", page.text);
    assert!(page.text.contains("0 (MLU370)"), "{}", page.text);
}

fn minute_row(worker: &str, node: &str, device: &str, model: &str, at: i64) -> UsageSample {
    UsageSample {
        worker_id: worker.into(),
        node: node.into(),
        device_id: device.into(),
        model: model.into(),
        scenario_id: "kg-open".into(),
        town: "konggang".into(),
        job_id: "job-1".into(),
        period_start: at,
        period_seconds: 60,
        leased_seconds: 60.0,
        busy_percent: None,
        busy_samples: 0,
        memory_peak_bytes: None,
    }
}

fn record(app: &TestApp, job: &str, rows: Vec<UsageSample>) {
    let job = job.to_owned();
    app.read(move |conn| usage_samples::record_job(conn, &job, &rows));
}

async fn the_figures_come_out_of_the_series_exactly(backend: Backend) {
    let app = TestApp::new(backend).await;
    let token = app.worker_token();
    let mlu = app
        .register_worker(
            &token,
            json!({"name": "mlu-1", "cpus": 2, "memory_mb": 8192, "accelerators": [
            {"id": "0", "model": "MLU370"}, {"id": "1", "model": "MLU370"}]}),
        )
        .await;
    let ascend = app
        .register_worker(
            &token,
            json!({"name": "ascend-1", "cpus": 2, "memory_mb": 8192, "accelerators": [
            {"id": "0", "model": "910B"}]}),
        )
        .await;
    let now = now_millis();
    let last = now.div_euclid(HOUR) * HOUR; // the last bucket of the day's 24
    // MLU node, last hour: device 0 busy 50 % for a minute (30 s busy), device 1 leased
    // 30 s with no tool reporting: 60 s of 2 × 3600 s.
    record(
        &app,
        "job-1",
        vec![
            UsageSample {
                busy_percent: Some(50.0),
                busy_samples: 12,
                ..minute_row(&mlu, "mlu-1", "0", "MLU370", last)
            },
            UsageSample {
                leased_seconds: 30.0,
                ..minute_row(&mlu, "mlu-1", "1", "MLU370", last + 60_000)
            },
        ],
    );
    // Ascend node, the hour before: 36 minutes leased, no busy %: 60 % leased share.
    record(
        &app,
        "job-2",
        (0..36)
            .map(|m| UsageSample {
                scenario_id: "fd-triage".into(),
                town: "fengdong".into(),
                job_id: "job-2".into(),
                ..minute_row(&ascend, "ascend-1", "0", "910B", last - HOUR + m * 60_000)
            })
            .collect(),
    );
    // A queue wait of exactly 4 s: the submission's queued event, then its sample run.
    let submission = app.team_a_submits(b"waited").await;
    let queued_at: i64 = app.read(|conn| {
        submission_events::table
            .filter(submission_events::submission_id.eq(&submission))
            .filter(submission_events::stage.eq(SubmissionStage::Queued))
            .select(submission_events::at)
            .first(conn)
    });
    app.read(|conn| {
        diesel::insert_into(submission_events::table)
            .values((
                submission_events::submission_id.eq(&submission),
                submission_events::stage.eq(SubmissionStage::SampleRun),
                submission_events::at.eq(queued_at + 4_000),
                submission_events::detail.eq("{}"),
            ))
            .execute(conn)
    });

    let day = app
        .state
        .db
        .read_blocking(move |conn| figures(conn, Range::Day, now))
        .unwrap();
    assert_eq!(day.buckets.len(), 24);
    assert_eq!(day.buckets[23], last);
    let node = |key: &str| day.by_node.iter().find(|s| s.key == key).unwrap();
    let mlu_node = node("mlu-1");
    assert_eq!(mlu_node.devices, 2);
    assert!(mlu_node.measured);
    assert!((mlu_node.percent[23] - 60.0 / 7200.0 * 100.0).abs() < 1e-9);
    assert_eq!(mlu_node.percent[22], 0.0);
    let ascend_node = node("ascend-1");
    assert!(!ascend_node.measured, "no tool: the leased share");
    assert!((ascend_node.percent[22] - 60.0).abs() < 1e-9);
    assert!((ascend_node.mean_percent - 60.0 / 24.0).abs() < 1e-9);
    let models: Vec<&str> = day.by_model.iter().map(|s| s.key.as_str()).collect();
    assert_eq!(models, ["910B", "MLU370"]);
    assert_eq!(day.wait_p50_seconds, Some(4.0));
    assert_eq!(day.wait_p95_seconds, Some(4.0));
    assert_eq!(day.waits, 1);
    let hours = |rows: &[(String, f64)]| -> Vec<(String, String)> {
        rows.iter()
            .map(|(k, h)| (k.clone(), format!("{h:.4}")))
            .collect()
    };
    assert_eq!(
        hours(&day.device_hours_by_town),
        [
            ("fengdong".to_owned(), "0.6000".to_owned()),
            ("konggang".to_owned(), "0.0250".to_owned())
        ]
    );
    assert_eq!(
        hours(&day.device_hours_by_scenario),
        [
            ("fd-triage".to_owned(), "0.6000".to_owned()),
            ("kg-open".to_owned(), "0.0250".to_owned())
        ]
    );

    // The page draws both charts with the 50 % line, in both languages; the CSV lists
    // every figure; teams are kept out.
    let operator = sign_in(&app, &app.world.operator.token).await.0;
    let en = app
        .page(
            get("/console/operator/utilisation?range=day")
                .cookie(operator.clone())
                .cookie(Cookie::new("lang", "en")),
        )
        .await;
    assert_eq!(en.status, 200, "{}", en.text);
    for needle in [
        "id=\"busy-by-node\"",
        "id=\"busy-by-model\"",
        "class=\"reference\"",
        "50 % (seed)",
        "ascend-1",
        "leased share; no tool reports busy",
        "4.0 s",
        "0.60",
    ] {
        assert!(en.text.contains(needle), "no {needle} in {}", en.text);
    }
    let zh = app
        .page(get("/console/operator/utilisation?range=month").cookie(operator.clone()))
        .await;
    assert!(zh.text.contains("各节点繁忙度"), "{}", zh.text);
    assert!(zh.text.contains("50%（种子参考）"), "{}", zh.text);
    let csv = app
        .page(get("/console/operator/utilisation.csv?range=day").cookie(operator))
        .await;
    assert_eq!(csv.status, 200);
    assert!(csv.text.starts_with("kind,key,period_start,value,unit\n"));
    assert!(
        csv.text.contains("town,fengdong,,0.6000,device_hours\n"),
        "{}",
        csv.text
    );
    assert!(
        csv.text.contains("queue_wait,p95,,4.0000,seconds\n"),
        "{}",
        csv.text
    );
    assert_eq!(
        csv.text.matches(",leased_percent\n").count(),
        48,
        "24 buckets for the Ascend node and for its model: {}",
        csv.text
    );
    let alice = sign_in(&app, &app.world.alice.token).await.0;
    let refused = app
        .page(get("/console/operator/utilisation").cookie(alice))
        .await;
    assert_eq!(refused.status, 403);
}

async fn week_old_minutes_roll_up_per_hour_and_old_rows_go(backend: Backend) {
    let app = TestApp::new(backend).await;
    let now = now_millis();
    let hour = (now - 8 * DAY).div_euclid(HOUR) * HOUR;
    let at = |minutes: i64| hour + minutes * 60_000;
    // Two jobs in the same hour on the same device, one minute each, and an hour row
    // already there from an earlier roll-up.
    record(
        &app,
        "job-a",
        vec![UsageSample {
            busy_percent: Some(50.0),
            busy_samples: 12,
            memory_peak_bytes: Some(2 << 30),
            job_id: "job-a".into(),
            ..minute_row("w1", "mlu-1", "0", "MLU370", at(5))
        }],
    );
    record(
        &app,
        "job-b",
        vec![UsageSample {
            leased_seconds: 30.0,
            busy_percent: Some(80.0),
            busy_samples: 6,
            memory_peak_bytes: Some(3 << 30),
            job_id: "job-b".into(),
            ..minute_row("w1", "mlu-1", "0", "MLU370", at(40))
        }],
    );
    record(
        &app,
        "",
        vec![UsageSample {
            job_id: String::new(),
            period_seconds: 3600,
            leased_seconds: 120.0,
            busy_percent: Some(20.0),
            busy_samples: 6,
            memory_peak_bytes: Some(1 << 30),
            ..minute_row("w1", "mlu-1", "0", "MLU370", hour)
        }],
    );
    // Past 90 days: goes. A day old: stays a minute.
    record(
        &app,
        "job-old",
        vec![UsageSample {
            job_id: "job-old".into(),
            ..minute_row("w1", "mlu-1", "0", "MLU370", now - 91 * DAY)
        }],
    );
    record(
        &app,
        "job-new",
        vec![UsageSample {
            job_id: "job-new".into(),
            ..minute_row(
                "w1",
                "mlu-1",
                "0",
                "MLU370",
                now.div_euclid(60_000) * 60_000 - DAY,
            )
        }],
    );

    let done = app
        .state
        .db
        .write_blocking(move |conn| utilisation_upkeep(conn, now))
        .unwrap();
    assert_eq!(
        (
            done.minutes_rolled_up,
            done.hours_written,
            done.rows_deleted
        ),
        (3, 2, 1),
        "the 91-day-old minute is rolled up into its own hour, then deleted with it"
    );
    let rows = app.read(|conn| usage_samples::between(conn, 0, i64::MAX));
    assert_eq!(rows.len(), 2, "{rows:?}");
    let rolled = &rows[0];
    assert_eq!(
        (
            rolled.period_start,
            rolled.period_seconds,
            rolled.job_id.as_str()
        ),
        (hour, 3600, "")
    );
    assert_eq!(rolled.leased_seconds, 120.0 + 60.0 + 30.0);
    // Weighted by samples: (20 × 6 + 50 × 12 + 80 × 6) / 24.
    assert_eq!(rolled.busy_percent, Some(50.0));
    assert_eq!(rolled.busy_samples, 24);
    assert_eq!(rolled.memory_peak_bytes, Some(3 << 30));
    assert_eq!(
        (rows[1].period_seconds, rows[1].job_id.as_str()),
        (60, "job-new")
    );

    // Running it again changes nothing.
    let again = app
        .state
        .db
        .write_blocking(move |conn| utilisation_upkeep(conn, now))
        .unwrap();
    assert_eq!((again.minutes_rolled_up, again.rows_deleted), (0, 0));
    // The month's figures still count the rolled-up hour: 210 s of one device.
    let month = app
        .state
        .db
        .read_blocking(move |conn| figures(conn, Range::Month, now))
        .unwrap();
    let hours: f64 = month.device_hours_by_town.iter().map(|(_, h)| h).sum();
    assert!((hours - (210.0 + 60.0) / 3600.0).abs() < 1e-9, "{hours}");
}

on_both_backends!(
    a_result_s_minutes_become_the_series,
    the_figures_come_out_of_the_series_exactly,
    week_old_minutes_roll_up_per_hour_and_old_rows_go,
);
