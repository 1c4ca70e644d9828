//! Stopping: SIGTERM stops `jiebang serve` at once, long-poll claims included, and a job a
//! stopping worker holds goes straight back to the queue instead of waiting out its lease.

use std::time::Duration;

use jiebang_evaluator::protocol::Registration;
use jiebang_evaluator::worker::PlatformClient;
use jiebang_evaluator::worker::stop::{Ended, until_stopped};
use jiebang_platform::db::ids::JobId;
use jiebang_platform::db::models::jobs::{self, JobStatus};

use crate::binary::{admin_cli, enrolled_team, get_json, start_server, upload, user_with_token};
use crate::common::{Backend, TestApp, copy_test_package, edit, fresh_database};
use crate::{on_both_backends, on_one_backend};

/// What `until_stopped` is given as a stand-in for an evaluation: one that never ends.
async fn never_ends() {
    std::future::pending::<()>().await;
}

/// The worker's own client and stop path, against the platform over HTTP; the evaluation
/// is a future that never ends, so no Docker is needed.
async fn a_stopping_worker_hands_its_job_back(backend: Backend) {
    let app = TestApp::new(backend).await;
    let submission = app.team_a_submits(b"an image archive").await;
    let client = PlatformClient::new(&app.serve_http(), &app.worker_token());
    let node = Registration {
        name: "gpu-node-1".into(),
        cpus: 4,
        memory_mb: 8192,
        accelerators: Vec::new(),
    };
    let worker = client.register(&node).await.unwrap();
    let other = client.register(&node).await.unwrap();
    let job = client
        .claim(&worker, Duration::from_secs(1))
        .await
        .unwrap()
        .expect("the submission's job");
    assert_eq!(
        (job.submission_id.as_str(), job.attempt),
        (submission.as_str(), 1)
    );

    // Work that ends first is not handed back.
    let ended = until_stopped(
        &client,
        &worker,
        &job.job_id,
        async {},
        async {},
        never_ends(),
    );
    assert_eq!(ended.await, Ended::Finished);
    let held = |app: &TestApp| {
        let id = JobId(job.job_id.clone());
        app.read(move |conn| jobs::find(conn, &id)).unwrap()
    };
    assert_eq!(held(&app).status, JobStatus::Running);

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let cleaned = std::cell::Cell::new(false);
    let stopping = until_stopped(
        &client,
        &worker,
        &job.job_id,
        never_ends(),
        async { cleaned.set(true) },
        async {
            let _ = stopped.await;
        },
    );
    stop.send(()).unwrap();
    assert_eq!(stopping.await, Ended::HandedBack);
    assert!(cleaned.get(), "what the job left running is cleaned up");

    let job_now = held(&app);
    assert_eq!(job_now.status, JobStatus::Queued, "{job_now:?}");
    assert_eq!(job_now.lease_owner, None);
    assert_eq!(job_now.attempts, 0, "a hand-back is not a failed attempt");
    let shown = app
        .get(
            &format!("/api/v1/submissions/{submission}"),
            app.world.alice.token(),
        )
        .await;
    assert_eq!(shown.body["status"], "queued", "{:?}", shown.body);
    let last = shown.body["stages"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert!(
        last["detail"]["reason"]
            .as_str()
            .unwrap()
            .contains("handed the job back"),
        "{last}"
    );

    // Another worker takes it at once, as its first attempt; the old holder is refused.
    let started = std::time::Instant::now();
    let again = client
        .claim(&other, Duration::from_secs(0))
        .await
        .unwrap()
        .expect("the handed-back job is claimable at once");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        (again.job_id.as_str(), again.attempt),
        (job.job_id.as_str(), 1)
    );
    assert!(!client.hand_back(&worker, &job.job_id).await.unwrap());
    assert!(!client.heartbeat(&worker, &job.job_id).await.unwrap());
}

/// The real binary with its embedded worker (idle, or not running where there is no
/// Docker) and a remote worker waiting in a 30 s long-poll claim: SIGTERM stops it well
/// within two seconds, and the waiting claim is answered rather than cut off.
async fn sigterm_stops_the_platform_at_once(backend: Backend) {
    let database = fresh_database(backend);
    let data = database.dir.path();
    let mut server = start_server(data, &database.url, &data.join("catalog"), true);
    let token = user_with_token(data, &database.url, "pool", Some("operator"), true);
    let client = PlatformClient::new(&server.base, &token);
    let worker = client
        .register(&Registration {
            name: "remote".into(),
            cpus: 2,
            memory_mb: 4096,
            accelerators: Vec::new(),
        })
        .await
        .unwrap();
    let waiting = actix_web::rt::spawn(async move {
        let asked = std::time::Instant::now();
        let answer = client.claim(&worker, Duration::from_secs(30)).await;
        (answer.map(|job| job.is_none()), asked.elapsed())
    });
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;

    let took = actix_web::rt::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    println!("jiebang serve stopped {took:?} after SIGTERM");
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?} to stop the platform"
    );
    let (answer, waited) = waiting.await.unwrap();
    assert!(
        matches!(answer, Ok(true)),
        "the long-poll claim is answered 204, not cut off: {answer:?}"
    );
    assert!(waited < Duration::from_secs(5), "{waited:?}");
}

/// The whole path on the Docker engine: the embedded worker runs a submission that never
/// becomes ready; SIGTERM stops the platform in time, the container is gone, and after a
/// restart the job waits at the head of the queue with no attempt counted.
async fn a_running_job_is_handed_back_when_the_platform_stops(backend: Backend) {
    if jiebang_sandboxes::testing::require_docker().await.is_none() {
        return;
    }
    let database = fresh_database(backend);
    let data = database.dir.path();
    let catalog = data.join("catalog");
    std::fs::create_dir_all(&catalog).unwrap();
    let package = copy_test_package(&catalog, "parcel");
    edit(&package.join("scenario.toml"), |text| {
        text.replace(
            "[split]",
            "[limits]\nstartup_s = 300\nsample_run_s = 600\nhidden_run_s = 600\n\n[split]",
        )
    });
    let images = tempfile::tempdir().unwrap();
    let archive = crate::evaluation::archive_of("spin", &["spin"], images.path());

    let mut server = start_server(data, &database.url, &catalog, true);
    let lead = user_with_token(data, &database.url, "lead", None, false);
    let team = enrolled_team(&server.base, &lead).await;
    let submission = upload(&server.base, &lead, &team, archive).await;
    let shown = format!("/api/v1/submissions/{submission}");
    let label = format!(
        "label=jiebang.worker={}",
        jiebang_platform::worker::embedded_name(data)
    );
    let containers = || {
        let listed = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &label])
            .output()
            .unwrap();
        String::from_utf8_lossy(&listed.stdout).lines().count()
    };
    let mut running = false;
    for _ in 0..240 {
        if get_json(&server.base, &shown, &lead).await["status"] == "sample_run" && containers() > 0
        {
            running = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(running, "the submission's container never started");

    let took = actix_web::rt::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    println!("jiebang serve stopped {took:?} after SIGTERM, with a job running");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    assert_eq!(containers(), 0, "the job's container was removed");

    let restarted = start_server(data, &database.url, &catalog, false);
    let now = get_json(&restarted.base, &shown, &lead).await;
    assert_eq!(now["status"], "queued", "{now}");
    let admin = admin_cli(data, &database.url, &["create-token", "--login", "admin"]);
    let overview = get_json(&restarted.base, "/api/v1/admin/overview", &admin).await;
    assert_eq!(
        (
            overview["queue"]["queued"].as_u64(),
            overview["queue"]["running"].as_u64(),
            overview["queue"]["retrying"].as_u64()
        ),
        (Some(1), Some(0), Some(0)),
        "waiting as a first attempt, not a retry: {overview}"
    );
}

on_both_backends!(a_stopping_worker_hands_its_job_back);

/// The real binary and Docker: one backend is enough (their subject is not the data).
mod end_to_end {
    use super::*;
    on_one_backend!(
        sigterm_stops_the_platform_at_once,
        a_running_job_is_handed_back_when_the_platform_stops
    );
}
