//! The same image evaluated on a quiet node and beside a CPU burner on the same CPUs, on
//! the real Docker engine, by a worker with default isolation and the default thresholds:
//! each run is either within the budget the image meets, or marked disturbed, repeated and
//! sent back to wait for a quiet node; never a confident over-budget result, never a
//! charge to the team's quota for a disturbed run.

use std::time::Duration;

use jiebang_evaluator::harness::quality::MeasurementPolicy;
use jiebang_evaluator::worker::pinning::{cpuset_of, isolation, process_cpus, worker_runtime};
use jiebang_evaluator::worker::{WorkerConfig, run_worker};
use jiebang_sandboxes::SandboxConfig;
use jiebang_sandboxes::testing::require_docker;
use serde_json::Value;

use crate::common::{Actor, Backend, TestApp, copy_test_package, edit};
use crate::evaluation::{archive_of, fixture};
use crate::on_one_backend;

const SCENARIO: &str = "test-parcel-delay";

async fn shown(app: &TestApp, who: &Actor, id: &str) -> Value {
    app.get(&format!("/api/v1/submissions/{id}"), who.token())
        .await
        .body
}

/// Polls the submission until `done` says so (at most five minutes).
async fn until(app: &TestApp, who: &Actor, id: &str, done: impl Fn(&str) -> bool) -> Value {
    for _ in 0..600 {
        let body = shown(app, who, id).await;
        if done(body["status"].as_str().unwrap_or_default()) {
            return body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("submission {id} did not get there in five minutes");
}

async fn remaining(app: &TestApp, who: &Actor, team: &str) -> i64 {
    app.get(
        &format!("/api/v1/scenarios/{SCENARIO}/quota?team_id={team}"),
        who.token(),
    )
    .await
    .body["remaining"]
        .as_i64()
        .unwrap()
}

/// What a run's end must be: scored within budget (the image answers in well under a
/// millisecond), or failed after waiting for a quiet node, not charged.
async fn never_a_confident_over_budget_result(
    app: &TestApp,
    who: &Actor,
    team: &str,
    id: &str,
    full_quota: i64,
) -> Option<bool> {
    let end = until(app, who, id, |status| matches!(status, "done" | "failed")).await;
    let stages: Vec<&str> = end["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    let report = app
        .get(&format!("/api/v1/submissions/{id}/report"), who.token())
        .await;
    if end["status"] == "done" {
        let hidden = &report.body["report"]["hidden"];
        let quality = &hidden["quality"];
        assert_eq!(quality["disturbances"], serde_json::json!([]), "{quality}");
        assert!(quality["send_lateness"]["p99_us"].is_number(), "{quality}");
        assert!(quality["floor_after"]["p99_ms"].is_number(), "{quality}");
        let within = hidden["verdict"]["within_budget"].as_bool().unwrap();
        assert!(within, "a confident over-budget result: {hidden}");
        assert_eq!(remaining(app, who, team).await, full_quota - 1);
        eprintln!(
            "{id}: done, within budget, {} timed run(s)",
            quality["attempts"]
        );
        return Some(within);
    }
    assert!(stages.contains(&"waiting_for_quiet_node"), "{end}");
    assert_eq!(end["counts_toward_quota"], false, "{end}");
    assert!(
        end["failure"]
            .as_str()
            .unwrap()
            .contains("no node was quiet enough"),
        "{end}"
    );
    assert_eq!(report.status, 409, "a disturbed run leaves no report");
    assert_eq!(
        remaining(app, who, team).await,
        full_quota,
        "quota untouched"
    );
    eprintln!(
        "{id}: disturbed, waited for a quiet node, failed uncharged: {}",
        end["failure"]
    );
    None
}

async fn a_cpu_burner_never_turns_a_verdict(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::with_config(backend, |config| {
        config.measurement.quiet_wait_seconds = 1;
        config.measurement.max_quiet_waits = 1;
    })
    .await;
    let catalog = tempfile::tempdir().unwrap();
    let package = copy_test_package(catalog.path(), "parcel");
    edit(&package.join("scenario.toml"), |text| {
        text.replace("min_duration_s = 5", "min_duration_s = 2")
            .replace(
                "[split]",
                "[limits]\nstartup_s = 5\nsample_run_s = 20\nhidden_run_s = 30\n\n[split]",
            )
    });
    app.load_catalog(catalog.path());

    // The worker as `jiebang worker` sets itself up with no CPUs configured.
    let plan = isolation(process_cpus(), None, None, false);
    let cache = tempfile::tempdir().unwrap();
    let config = WorkerConfig {
        platform: app.serve_http(),
        token: app.worker_token(),
        name: "interference-worker".into(),
        cache_dir: cache.path().to_path_buf(),
        cache_max_bytes: 1 << 30,
        cpuset: plan.containers.as_deref().map(cpuset_of),
        sandbox: SandboxConfig::default(),
        sweep_on_start: false,
        measurement: MeasurementPolicy {
            repeats: 1,
            backoff: Duration::from_secs(1),
            ..MeasurementPolicy::default()
        },
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let harness = plan.harness.clone();
    let worker = std::thread::spawn(move || {
        worker_runtime(harness)
            .unwrap()
            .block_on(run_worker(config, async {
                let _ = stopped.await;
            }))
    });

    let images = tempfile::tempdir().unwrap();
    let image = archive_of("model-right", &["model", "right"], images.path());
    let w = &app.world;
    let (team_a, team_b) = (w.team_a.as_str(), w.team_b.as_str());
    app.enrol(SCENARIO, &w.alice, team_a).await;
    let full_quota = remaining(&app, &w.alice, team_a).await;

    let quiet = app.submit(SCENARIO, &w.alice, team_a, &image).await;
    let quiet_verdict =
        never_a_confident_over_budget_result(&app, &w.alice, team_a, &quiet, full_quota).await;

    // The same image beside a burner with three busy threads on every CPU of the node.
    let cpus = process_cpus();
    let burner = fixture::Burner::start("platform", &cpuset_of(cpus), 3 * cpus.len());
    let noisy = app.submit(SCENARIO, &w.bob, team_b, &image).await;
    let first = until(&app, &w.bob, &noisy, |status| {
        matches!(status, "waiting_for_quiet_node" | "done" | "failed")
    })
    .await;
    if first["status"] == "waiting_for_quiet_node" {
        // The operator sees why; the team sees the stage; nothing is ranked meanwhile.
        let overview = app.get("/api/v1/admin/overview", w.operator.token()).await;
        let waiting = overview.body["queue"]["quiet_waits"].as_array().unwrap();
        let entry = waiting
            .iter()
            .find(|wait| wait["submission_id"] == noisy.as_str());
        if let Some(entry) = entry {
            assert!(
                !entry["disturbances"].as_array().unwrap().is_empty(),
                "{entry}"
            );
        }
        assert_eq!(remaining(&app, &w.bob, team_b).await, full_quota - 1);
        // The neighbour goes; on a quiet node the next try is measured and recorded.
        drop(burner);
    } else {
        drop(burner);
    }
    let noisy_verdict =
        never_a_confident_over_budget_result(&app, &w.bob, team_b, &noisy, full_quota).await;
    if let (Some(quiet), Some(noisy)) = (quiet_verdict, noisy_verdict) {
        assert_eq!(quiet, noisy, "the same image, the same verdict");
    }
    // Whatever was ranked is within budget.
    let board = app
        .get(&format!("/api/v1/scenarios/{SCENARIO}/leaderboard"), None)
        .await;
    for row in board.body["rows"].as_array().unwrap() {
        assert_eq!(row["within_budget"], true, "{row}");
    }

    let _ = stop.send(());
    worker.join().unwrap().unwrap();
}

on_one_backend!(a_cpu_burner_never_turns_a_verdict);
