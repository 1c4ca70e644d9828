//! Slurm mode against a real slurmctld + slurmd (`slurm_start` in scripts/lib.sh, whose
//! node has one gres `gpu` of a fake device node): two accelerator jobs' one-shot workers
//! run one after the other, each seeing only the device it was granted, and a pending
//! worker whose job went elsewhere is withdrawn.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use diesel::prelude::*;
use jiebang_platform::config::SlurmSettings;
use jiebang_platform::db::models::slurm_submissions;
use jiebang_platform::db::schema::{results, slurm_submissions as table, workers};
use jiebang_platform::slurm::Autoscaler;
use jiebang_sandboxes::testing::{require_docker, skip_or_fail};

use crate::common::{Backend, TestApp};
use crate::evaluation::archive_of;
use crate::slurm::{job_of, load_accelerator_package, register};

/// The private Slurm cluster `slurm_start` made, or `None` after [`skip_or_fail`].
fn slurm_cluster() -> Option<PathBuf> {
    match std::env::var_os("JIEBANG_TEST_SLURM") {
        Some(dir) if Path::new(&dir).join("slurm.conf").exists() => Some(dir.into()),
        _ => {
            skip_or_fail(
                "needs a Slurm cluster: `source scripts/lib.sh && slurm_start` sets JIEBANG_TEST_SLURM and SLURM_CONF",
            );
            None
        }
    }
}

/// Start and end (seconds, as Slurm prints them) and the state of a Slurm job.
fn slurm_times(id: &str) -> (String, String, String) {
    let listed = Command::new("squeue")
        .args([
            "--noheader",
            "--states=all",
            "--format=%i|%S|%e|%T",
            "--jobs",
            id,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&listed.stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with(&format!("{id}|")))
        .unwrap_or_else(|| panic!("squeue does not list job {id}: {text}"));
    let fields: Vec<&str> = line.split('|').collect();
    (
        fields[1].to_owned(),
        fields[2].to_owned(),
        fields[3].to_owned(),
    )
}

/// Two submissions to a scenario needing one accelerator, on a Slurm node with one: the
/// autoscaler submits a worker for each, Slurm runs them one after the other, each worker
/// keeps only the device it was granted, and each image is evaluated with Docker on it.
#[actix_web::test]
async fn two_accelerator_jobs_are_evaluated_through_slurm_with_docker() {
    let images = tempfile::tempdir().unwrap();
    let image = archive_of("model-right", &["model", "right"], images.path());
    let Some(through) = through_slurm(image).await else {
        return;
    };
    for done in &through.shown {
        assert_eq!(done["status"], "done", "{done}");
    }
    let used: Vec<Option<String>> = through
        .app
        .read(|conn| results::table.select(results::devices).load(conn));
    assert_eq!(used.len(), 2);
    for devices in used {
        assert_eq!(
            devices.as_deref(),
            Some("[\"0\"]"),
            "each run held device 0"
        );
    }
}

/// The `[sandbox]` of the Slurm node's workers: two Cambricon-style devices whose nodes
/// (harmless character devices made with `mknod`) are under `dev`, of which Slurm grants
/// one (index 0, the node's only gres), so each worker must keep device 0 alone.
fn sandbox_of(dev: &std::path::Path) -> String {
    std::fs::create_dir_all(dev).unwrap();
    for (name, minor) in [
        ("cambricon_dev0", "3"),
        ("cambricon_dev1", "5"),
        ("cambricon_ctl", "3"),
    ] {
        let made = std::process::Command::new("mknod")
            .arg(dev.join(name))
            .args(["c", "1", minor])
            .status()
            .expect("mknod runs");
        assert!(made.success(), "mknod {name} (the Slurm tests run as root)");
    }
    format!(
        "device_root = \"{}\"\naccelerators = [{{ vendor = \"cambricon\", id = \"0\", model = \"FAKE-1\" }}, \
         {{ vendor = \"cambricon\", id = \"1\", model = \"FAKE-1\" }}]",
        dev.display()
    )
}

/// What went through Slurm: the app and the two submissions as shown when finished.
struct Through {
    app: TestApp,
    shown: Vec<serde_json::Value>,
    _work: tempfile::TempDir,
}

/// Runs two submissions of `image` through the autoscaler and the real Slurm cluster and
/// checks the way they went: a worker submitted per job, run one after the other, each
/// named after its Slurm job and holding only the granted device. `None` when Slurm or
/// Docker is missing (outside CI).
async fn through_slurm(image: Vec<u8>) -> Option<Through> {
    slurm_cluster()?;
    require_docker().await?;
    let work = tempfile::tempdir().unwrap();
    let worker_config = work.path().join("worker.toml");
    std::fs::write(
        &worker_config,
        format!(
            "[worker]\ncache_dir = \"{}\"\n[measurement]\njudge = false\n[sandbox]\n{}\n",
            work.path().join("cache").display(),
            sandbox_of(&work.path().join("dev"))
        ),
    )
    .unwrap();
    let output_dir = work.path().join("slurm");
    let settings = SlurmSettings {
        enabled: true,
        jiebang: Some(env!("CARGO_BIN_EXE_jiebang").into()),
        worker_args: vec!["--config".to_owned(), worker_config.display().to_string()],
        output_dir: Some(output_dir.clone()),
        poll_seconds: 1,
        worker_wait_seconds: 90,
        ..SlurmSettings::default()
    };
    let app = TestApp::with_config(Backend::Sqlite, |config| config.slurm = settings).await;
    let _catalog = load_accelerator_package(&app);
    let base = app.serve_http();
    Autoscaler::new(&app.state.config, app.state.db.clone(), base)
        .unwrap()
        .spawn(app.state.stopping.clone());

    let w = &app.world;
    let submitted = [
        (
            app.submit("test-parcel-delay", &w.alice, w.team_a.as_str(), &image)
                .await,
            &w.alice,
        ),
        (
            app.submit("test-parcel-delay", &w.bob, w.team_b.as_str(), &image)
                .await,
            &w.bob,
        ),
    ];
    let mut shown = Vec::new();
    for (id, who) in submitted {
        let mut finished = None;
        for _ in 0..600 {
            let reply = app
                .get(&format!("/api/v1/submissions/{id}"), who.token())
                .await;
            if matches!(reply.body["status"].as_str(), Some("done" | "failed")) {
                finished = Some(reply.body);
                break;
            }
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
        }
        shown.push(finished.unwrap_or_else(|| {
            panic!(
                "submission {id} did not finish in five minutes; Slurm's workers wrote: {}",
                outputs(&output_dir)
            )
        }));
    }

    // The workers that took the jobs were Slurm's, named after their Slurm jobs, each
    // with only the granted device.
    let registered: Vec<(String, String)> = app.read(|conn| {
        workers::table
            .filter(workers::name.like("slurm-%"))
            .order(workers::registered_at.asc())
            .select((workers::name, workers::accelerators))
            .load(conn)
    });
    assert!(
        registered.len() >= 2,
        "{registered:?}\n{}",
        outputs(&output_dir)
    );
    for (name, devices) in &registered {
        let devices: Vec<serde_json::Value> = serde_json::from_str(devices).unwrap();
        let ids: Vec<&str> = devices.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            ["0"],
            "{name} registered only the device Slurm granted"
        );
    }
    let recorded: Vec<String> = app.read(|conn| {
        table::table
            .order(table::submitted_at.asc())
            .select(table::slurm_job_id)
            .load(conn)
    });
    assert!(
        recorded.len() >= 2,
        "a worker was submitted per job: {recorded:?}"
    );

    // One after the other: the node's one gres let Slurm run one worker at a time.
    let mut spans: Vec<(String, String)> = registered
        .iter()
        .map(|(name, _)| {
            let id = name.trim_start_matches("slurm-");
            assert!(recorded.iter().any(|r| r == id), "{id} in {recorded:?}");
            let (start, end, state) = slurm_times(id);
            assert_eq!(
                state,
                "COMPLETED",
                "Slurm job {id}\n{}",
                outputs(&output_dir)
            );
            (start, end)
        })
        .collect();
    spans.sort();
    for pair in spans.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "Slurm ran the workers one after the other: {spans:?}"
        );
    }
    // The platform saw them end (they no longer count), and nothing of ours is left on
    // the cluster.
    let mut outstanding = Vec::new();
    for _ in 0..40 {
        outstanding = app
            .state
            .db
            .read_blocking(|conn| Ok(slurm_submissions::outstanding(conn)?))
            .unwrap();
        if outstanding.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(outstanding.is_empty(), "still outstanding: {outstanding:?}");
    for id in &recorded {
        let _ = Command::new("scancel").arg(id).output();
    }
    Some(Through {
        app,
        shown,
        _work: work,
    })
}

/// A Slurm job cancelled when dropped, so a failing test leaves nothing on the cluster.
struct SlurmJob(String);

impl Drop for SlurmJob {
    fn drop(&mut self) {
        let _ = Command::new("scancel").arg(&self.0).output();
    }
}

/// A worker still pending in Slurm whose job another worker took meanwhile is withdrawn
/// with `scancel` and no longer counts; nothing new is submitted for a running job.
#[actix_web::test]
async fn a_pending_worker_whose_job_went_elsewhere_is_withdrawn() {
    if slurm_cluster().is_none() {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let settings = SlurmSettings {
        enabled: true,
        jiebang: Some(env!("CARGO_BIN_EXE_jiebang").into()),
        output_dir: Some(work.path().join("slurm")),
        worker_wait_seconds: 5,
        ..SlurmSettings::default()
    };
    let app = TestApp::with_config(Backend::Sqlite, |config| config.slurm = settings).await;
    let _catalog = load_accelerator_package(&app);
    // The node's one gres is taken, so the worker submitted below stays pending.
    let blocker = Command::new("sbatch")
        .args([
            "--parsable",
            "--gres=gpu:1",
            "--job-name=jiebang-test-blocker",
        ])
        .arg(format!(
            "--output={}",
            work.path().join("blocker.out").display()
        ))
        .args(["--wrap", "sleep 120"])
        .output()
        .unwrap();
    assert!(blocker.status.success(), "{blocker:?}");
    let _blocker = SlurmJob(String::from_utf8_lossy(&blocker.stdout).trim().to_owned());
    let w = &app.world;
    let id = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            b"an image",
        )
        .await;
    let job = job_of(&app, &id);
    // Workers of this test never reach a platform: they must not run at all.
    let autoscaler = Autoscaler::new(
        &app.state.config,
        app.state.db.clone(),
        "http://127.0.0.1:9".into(),
    )
    .unwrap();
    let first = autoscaler.round().unwrap();
    assert_eq!(first.submitted.len(), 1, "{first:?}");
    let (worker, submitted_for) = first.submitted[0].clone();
    let _worker = SlurmJob(worker.clone());
    assert_eq!(submitted_for, job);
    assert_eq!(slurm_times(&worker).2, "PENDING");

    let token = app.worker_token();
    let taker = register(&app, &token, 1).await;
    let claimed = app
        .post(
            "/internal/v1/jobs/claim",
            Some(&token),
            serde_json::json!({"worker_id": taker}),
        )
        .await;
    assert_eq!(claimed.status, 200, "{:?}", claimed.body);

    let second = autoscaler.round().unwrap();
    assert_eq!(
        second.cancelled,
        std::slice::from_ref(&worker),
        "{second:?}"
    );
    assert!(second.submitted.is_empty(), "{second:?}");
    assert_eq!(slurm_times(&worker).2, "CANCELLED");
    let rows = app
        .state
        .db
        .read_blocking(move |conn| Ok(slurm_submissions::of_job(conn, &job)?))
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].state, "CANCELLED");
    assert!(rows[0].ended_at.is_some() && rows[0].started_at.is_none());
}

/// What Slurm's workers printed, for a failure message.
fn outputs(dir: &Path) -> String {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    format!(
                        "--- {}\n{}",
                        e.path().display(),
                        std::fs::read_to_string(e.path()).unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}
