//! Slurm mode without a cluster: which queued jobs get a worker submitted (both backends),
//! the queue saying so, and `jiebang worker --once` with nothing to take. slurm_cluster.rs
//! has the tests against a real slurmctld + slurmd.

use std::time::Duration;

use diesel::prelude::*;
use jiebang_platform::config::SlurmSettings;
use jiebang_platform::db::ids::JobId;
use jiebang_platform::db::models::slurm_submissions;
use jiebang_platform::db::schema::jobs;
use jiebang_sandboxes::testing::require_docker;

use crate::common::{Backend, TestApp, edit};
use crate::evaluation::short_test_package;
use crate::on_both_backends;

/// The model the fake devices and the test package's `gpu_model` name.
pub(crate) const MODEL: &str = "FAKE-1";

/// The test package, needing one accelerator of [`MODEL`], loaded into the app's catalog.
pub(crate) fn load_accelerator_package(app: &TestApp) -> tempfile::TempDir {
    let catalog = tempfile::tempdir().unwrap();
    let package = short_test_package(catalog.path());
    edit(&package.join("scenario.toml"), |text| {
        format!("{text}\n[resources]\ngpus = 1\ngpu_model = \"{MODEL}\"\n")
    });
    app.load_catalog(catalog.path());
    catalog
}

pub(crate) fn job_of(app: &TestApp, submission: &str) -> JobId {
    let submission = submission.to_owned();
    app.read(move |conn| {
        jobs::table
            .filter(jobs::submission_id.eq(submission))
            .select(jobs::id)
            .first(conn)
    })
}

/// A worker registered over the worker API with `devices` of [`MODEL`]; its id.
pub(crate) async fn register(app: &TestApp, token: &str, devices: usize) -> String {
    let accelerators: Vec<_> = (0..devices)
        .map(|i| serde_json::json!({"id": i.to_string(), "model": MODEL}))
        .collect();
    let registered = app
        .post(
            "/internal/v1/workers",
            Some(token),
            serde_json::json!({"name": "gpu-node", "cpus": 4, "memory_mb": 8192, "accelerators": accelerators}),
        )
        .await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    registered.body["worker_id"].as_str().unwrap().to_owned()
}

/// What the autoscaler would submit now, as (job, gres).
fn wanted(app: &TestApp, settings: &SlurmSettings) -> Vec<(JobId, String)> {
    let (token_user, _) = jiebang_platform::worker::own_token(
        &app.state.db,
        jiebang_platform::slurm::SLURM_LOGIN,
        "Slurm workers",
    )
    .unwrap();
    let settings = settings.clone();
    app.state
        .db
        .read_blocking(move |conn| {
            jiebang_platform::slurm::autoscaler::wanted(conn, &settings, &token_user, 60_000, 10)
        })
        .unwrap()
        .into_iter()
        .map(|w| (w.job, w.gres))
        .collect()
}

/// A job that needs an accelerator gets a worker submitted unless an idle live worker can
/// take it or one is already outstanding; the queue names the Slurm job meanwhile.
async fn jobs_needing_accelerators_get_one_worker_each(backend: Backend) {
    let app = TestApp::new(backend).await;
    let _catalog = load_accelerator_package(&app);
    let w = &app.world;
    let first = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            b"first image",
        )
        .await;
    let second = app
        .submit(
            "test-parcel-delay",
            &w.bob,
            w.team_b.as_str(),
            b"second image",
        )
        .await;
    let (first, second) = (job_of(&app, &first), job_of(&app, &second));
    let settings = SlurmSettings {
        gres_by_model: vec![jiebang_platform::config::GresRule {
            model: MODEL.to_owned(),
            name: "gpu".to_owned(),
            kind: Some("fake".to_owned()),
        }],
        ..SlurmSettings::default()
    };
    assert_eq!(
        wanted(&app, &settings),
        [
            (first.clone(), "gpu:fake:1".to_owned()),
            (second.clone(), "gpu:fake:1".to_owned())
        ]
    );

    // An idle worker with a device of the model takes one job; a worker without enough
    // devices of it takes none.
    let token = app.worker_token();
    register(&app, &token, 0).await;
    register(&app, &token, 1).await;
    assert_eq!(
        wanted(&app, &settings),
        [(second.clone(), "gpu:fake:1".to_owned())]
    );

    // Once a worker is outstanding for it, the job is not submitted again, and the queue
    // (API and console) says where it went.
    let job = second.clone();
    app.state
        .db
        .write_blocking(move |conn| {
            Ok(slurm_submissions::record(
                conn,
                "4711",
                &job,
                "gpu:fake:1",
                1,
            )?)
        })
        .unwrap();
    assert_eq!(wanted(&app, &settings), []);
    let operator = w.operator.token();
    let listed = app.get("/api/v1/admin/jobs", operator).await;
    let rows = listed.body["items"].as_array().unwrap();
    let slurm: Vec<_> = rows.iter().map(|r| r["slurm_job_id"].clone()).collect();
    assert_eq!(
        slurm,
        [serde_json::Value::Null, "4711".into()],
        "{}",
        listed.body
    );
    for (lang, said) in [
        ("en", "submitted to Slurm as job 4711"),
        ("zh", "已提交 Slurm，作业号 4711"),
    ] {
        let page = app
            .page(
                actix_web::test::TestRequest::get()
                    .uri(&format!("/console/operator?lang={lang}"))
                    .insert_header(("Authorization", format!("Bearer {}", w.operator.token))),
            )
            .await;
        assert!(page.text.contains(said), "{lang}: {}", page.text);
    }

    // Ended, it no longer counts: the job is wanted again.
    app.state
        .db
        .write_blocking(|conn| {
            Ok(slurm_submissions::observe(
                conn, "4711", "FAILED", false, true, 2,
            )?)
        })
        .unwrap();
    assert_eq!(wanted(&app, &settings), [(second, "gpu:fake:1".to_owned())]);
}

on_both_backends!(jobs_needing_accelerators_get_one_worker_each);

/// `jiebang worker --once` with nothing to take exits non-zero and says why.
#[actix_web::test]
async fn a_one_shot_worker_with_nothing_to_take_says_so_and_fails() {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::new(Backend::Sqlite).await;
    let base = app.serve_http();
    let token = app.worker_token();
    let cache = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args([
            "worker",
            "--once",
            "--wait",
            "2",
            "--platform",
            &base,
            "--cache-dir",
        ])
        .arg(cache.path())
        .env("JIEBANG_WORKER_TOKEN", &token)
        .env("JIEBANG_DATA", cache.path())
        .env_remove("JIEBANG_CONFIG")
        .output()
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("no job this worker can take came within 2 s; nothing was evaluated"),
        "{said}"
    );
    assert!(!said.contains(&token), "the token stays out of the output");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}
