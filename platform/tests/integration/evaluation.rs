//! From upload to leaderboard: the platform, a worker on the real Docker engine, and the
//! test package from the catalog; a right, a wrong and a slow server ranked as they should,
//! and a slow server scored on every hidden item however few the timed run reaches.

use std::path::Path;
use std::time::Duration;

use jiebang_evaluator::harness::quality::MeasurementPolicy;
use jiebang_evaluator::worker::{WorkerConfig, run_worker};
use jiebang_sandboxes::SandboxConfig;
use jiebang_sandboxes::testing::require_docker;

use crate::common::{Actor, Backend, TestApp, copy_test_package, edit};
use crate::on_one_backend;

#[path = "../../../sandboxes/tests/support/fixture.rs"]
#[allow(dead_code, reason = "only the tagged images and the burner are used")]
pub(crate) mod fixture;

/// The fixture binary as the archive `docker save` writes of an image tagged for `name`.
pub(crate) fn archive_of(name: &str, args: &[&str], dir: &Path) -> Vec<u8> {
    let tag = fixture::fixture_image_with(&format!("jiebang-fixture/{name}:test"), args);
    let path = dir.join(format!("{name}.tar"));
    assert!(
        std::process::Command::new("docker")
            .args(["save", "-o"])
            .arg(&path)
            .arg(&tag)
            .status()
            .unwrap()
            .success()
    );
    std::fs::read(path).unwrap()
}

pub(crate) async fn finished(app: &TestApp, who: &Actor, id: &str) -> serde_json::Value {
    for _ in 0..240 {
        let shown = app
            .get(&format!("/api/v1/submissions/{id}"), who.token())
            .await;
        if matches!(shown.body["status"].as_str(), Some("done" | "failed")) {
            return shown.body;
        }
        actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("submission {id} did not finish in two minutes");
}

/// Loads the scenarios crate's test package, with short limits, into the app's catalog.
pub(crate) fn load_test_package(app: &TestApp) -> tempfile::TempDir {
    load_test_package_with(app, None)
}

/// The same with a hidden set of `hidden_items` rows where given, each labelled as the
/// fixture's `right` server answers (the first feature modulo 2).
fn load_test_package_with(app: &TestApp, hidden_items: Option<usize>) -> tempfile::TempDir {
    let catalog_dir = tempfile::tempdir().unwrap();
    let package = short_test_package(catalog_dir.path());
    if let Some(items) = hidden_items {
        fixture::write_hidden_set(&package, items);
    }
    app.load_catalog(catalog_dir.path());
    catalog_dir
}

/// The scenarios crate's test package copied to `dir/parcel`, with short limits.
pub(crate) fn short_test_package(dir: &Path) -> std::path::PathBuf {
    let package = copy_test_package(dir, "parcel");
    edit(&package.join("scenario.toml"), |text| {
        text.replace("min_duration_s = 5", "min_duration_s = 1")
            .replace(
                "[split]",
                "[limits]\nstartup_s = 5\nsample_run_s = 20\nhidden_run_s = 30\n\n[split]",
            )
    });
    package
}

/// A worker in this process, on its own runtime, until `stop` is sent.
pub(crate) struct InProcessWorker {
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<Result<(), jiebang_evaluator::EvaluatorError>>,
    _cache: tempfile::TempDir,
}

impl InProcessWorker {
    pub(crate) fn start(app: &TestApp) -> Self {
        let cache = tempfile::tempdir().unwrap();
        let config = WorkerConfig {
            platform: app.serve_http(),
            token: app.worker_token(),
            name: "test-worker".into(),
            cache_dir: cache.path().to_path_buf(),
            cache_max_bytes: 1 << 30,
            cpuset: None,
            sandbox: SandboxConfig::default(),
            sweep_on_start: false,
            // Other tests share the machine: runs are measured, not judged.
            measurement: MeasurementPolicy::record_only(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(run_worker(config, async {
                let _ = stopped.await;
            }))
        });
        Self {
            stop,
            thread,
            _cache: cache,
        }
    }

    pub(crate) fn stop(self) {
        let _ = self.stop.send(());
        self.thread.join().unwrap().unwrap();
    }
}

async fn upload_to_leaderboard(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::new(backend).await;
    let _catalog = load_test_package(&app);
    let worker = InProcessWorker::start(&app);

    let images = tempfile::tempdir().unwrap();
    let w = &app.world;
    let carol_team = app.carol_founds("Team C").await;
    let right = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            archive_of("model-right", &["model", "right"], images.path()),
        )
        .await;
    let wrong = app
        .submit(
            "test-parcel-delay",
            &w.bob,
            w.team_b.as_str(),
            archive_of("model-wrong", &["model", "wrong"], images.path()),
        )
        .await;
    let slow = app
        .submit(
            "test-parcel-delay",
            &w.carol,
            &carol_team,
            archive_of("model-slow", &["model", "slow"], images.path()),
        )
        .await;

    let right_done = finished(&app, &w.alice, &right).await;
    assert_eq!(right_done["status"], "done", "{right_done}");
    let stages: Vec<&str> = right_done["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        [
            "stored",
            "queued",
            "sample_run",
            "hidden_run",
            "scoring",
            "done"
        ]
    );
    assert_eq!(finished(&app, &w.bob, &wrong).await["status"], "done");
    assert_eq!(finished(&app, &w.carol, &slow).await["status"], "done");

    let board = app
        .get("/api/v1/scenarios/test-parcel-delay/leaderboard", None)
        .await;
    assert_eq!(board.status, 200, "{:?}", board.body);
    let rows = board.body["rows"].as_array().unwrap();
    let teams: Vec<&str> = rows
        .iter()
        .map(|r| r["team_name"].as_str().unwrap())
        .collect();
    assert_eq!(teams, ["Team A", "Team B", "Team C"], "{}", board.body);
    assert_eq!(rows[0]["score"], 1.0);
    assert_eq!(rows[0]["within_budget"], true);
    assert_eq!(
        rows[2]["within_budget"], false,
        "the slow server is over budget and ranks below"
    );
    assert!(rows[2]["score"].as_f64().unwrap() > rows[1]["score"].as_f64().unwrap());
    // The worker sent each run's answers item by item, so the board can say which rows
    // are statistically tied. The public part has only a handful of items: too few to show
    // that 1.0 truly beats 0.67. The slow server is below by its verdict, which is certain.
    assert_eq!(rows[1]["tied_with_above"], true, "{}", board.body);
    let p = rows[1]["above_better_probability"].as_f64().unwrap();
    assert!((0.5..0.95).contains(&p), "{p}");
    assert_eq!(rows[2]["verdict_uncertain"], false);
    assert_eq!(rows[2]["tied_with_above"], false);

    let private_early = app
        .get(
            "/api/v1/scenarios/test-parcel-delay/leaderboard?board=private",
            None,
        )
        .await;
    assert_eq!(
        private_early.status, 403,
        "the private board waits for the phase to close"
    );
    let private_for_judge = app
        .get(
            "/api/v1/scenarios/test-parcel-delay/leaderboard?board=private",
            w.judge.token(),
        )
        .await;
    assert_eq!(private_for_judge.status, 200);

    let report = app
        .get(
            &format!("/api/v1/submissions/{right}/report"),
            w.alice.token(),
        )
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    assert!(report.body["report"]["hidden"]["scores"]["public"]["value"].is_number());
    assert!(
        report.body["report"]["hidden"]["scores"]["private"].is_null(),
        "private scores stay hidden from teams"
    );
    assert!(report.body["report"]["hidden"]["latency"]["p99_ms"].is_number());
    // Every timed run says how far it can be trusted: send lateness, the floor before and
    // after, in the API and on the report card in both languages.
    let quality = &report.body["report"]["hidden"]["quality"];
    assert!(quality["send_lateness"]["p99_us"].is_number(), "{quality}");
    assert!(quality["floor_before"]["p99_ms"].is_number(), "{quality}");
    assert!(quality["floor_after"]["p99_ms"].is_number(), "{quality}");
    let alice = crate::pages::sign_in(&app, &w.alice.token).await.0;
    for (lang, words) in [
        ("zh", ["测量质量", "评测工具发送延迟", "运行前 → 运行后"]),
        (
            "en",
            [
                "Measurement quality",
                "Harness send lateness",
                "before → after",
            ],
        ),
    ] {
        let card = app
            .page(
                actix_web::test::TestRequest::get()
                    .uri(&format!("/submissions/{right}"))
                    .cookie(alice.clone())
                    .cookie(actix_web::cookie::Cookie::new("lang", lang)),
            )
            .await;
        for word in words {
            assert!(card.text.contains(word), "{lang}: {word} in {}", card.text);
        }
    }
    assert!(report.body["report"]["environment"]["cores"].is_number());
    let judge_report = app
        .get(
            &format!("/api/v1/submissions/{right}/report"),
            w.judge.token(),
        )
        .await;
    assert!(judge_report.body["report"]["hidden"]["scores"]["private"]["value"].is_number());
    assert_eq!(
        app.get(
            &format!("/api/v1/submissions/{right}/report"),
            w.bob.token()
        )
        .await
        .status,
        404
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/submissions/{right}/logs/sample"),
            w.alice.token()
        )
        .await
        .status,
        200
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/submissions/{right}/logs/hidden"),
            w.alice.token()
        )
        .await
        .status,
        403
    );
    let hidden_logs = app
        .send(
            actix_web::test::TestRequest::get()
                .uri(&format!("/api/v1/submissions/{right}/logs/hidden"))
                .insert_header(("Authorization", format!("Bearer {}", w.judge.token))),
        )
        .await;
    assert_eq!(hidden_logs.status, 200);

    worker.stop();
}

/// The case: a server answering in 15 ms, on a hidden set of 300 items of which
/// the timed run (single-stream, at least 50 queries and 1 s) reaches fewer than 100, is
/// scored on all 300 — on both boards' parts, in the report, on the board and the page.
async fn a_slow_server_is_scored_on_every_hidden_item(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::new(backend).await;
    let catalog = load_test_package_with(&app, Some(300));
    let package = jiebang_scenarios::package::validate(&catalog.path().join("parcel")).unwrap();
    let parts = [
        ("public", package.public_board_items),
        ("private", package.private_board_items),
    ];
    let worker = InProcessWorker::start(&app);
    let images = tempfile::tempdir().unwrap();
    let w = &app.world;
    let slow = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            archive_of("model-slow-15", &["model", "slow", "15"], images.path()),
        )
        .await;
    let done = finished(&app, &w.alice, &slow).await;
    worker.stop();
    assert_eq!(done["status"], "done", "{done}");

    let report = app
        .get(
            &format!("/api/v1/submissions/{slow}/report"),
            w.judge.token(),
        )
        .await;
    assert_eq!(report.status, 200, "{:?}", report.body);
    let hidden = &report.body["report"]["hidden"];
    let timed = hidden["verdict"]["queries"].as_u64().unwrap();
    assert!(timed < 300, "the timed run sent {timed} queries");
    for (part, in_part) in parts {
        let score = &hidden["scores"][part];
        assert_eq!(score["items"], in_part, "{part}: {score}");
        assert_eq!(score["items_in_set"], in_part, "{part}: {score}");
        assert_eq!(score["value"], 1.0, "{part}: {score}");
    }
    assert_eq!(hidden["scores"]["all"]["items"], 300);

    let board = app
        .get("/api/v1/scenarios/test-parcel-delay/leaderboard", None)
        .await;
    let row = &board.body["rows"][0];
    assert_eq!(row["items"], parts[0].1, "{row}");
    assert_eq!(row["items_in_set"], parts[0].1, "{row}");

    let page = app
        .page(
            actix_web::test::TestRequest::get()
                .uri(&format!("/submissions/{slow}?lang=en"))
                .insert_header(("Authorization", format!("Bearer {}", w.alice.token))),
        )
        .await;
    let scored = format!("scored {0} of {0} items", parts[0].1);
    assert!(page.text.contains(&scored), "{scored}: {}", page.text);
}

fn start_worker(base: &str, token: &str, name: &str, cache: &Path) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_jiebang"))
        .args([
            "worker",
            "--platform",
            base,
            "--token",
            token,
            "--name",
            name,
            "--cache",
        ])
        .arg(cache)
        // Other tests share the machine: runs are measured, not judged.
        .env("JIEBANG_MEASUREMENT_JUDGE", "false")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start jiebang worker")
}

fn leftovers_of(worker: &str) -> String {
    let listed = std::process::Command::new("docker")
        .args([
            "ps",
            "-aq",
            "--filter",
            &format!("label=jiebang.worker={worker}"),
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&listed.stdout).trim().to_owned()
}

/// A worker killed with SIGKILL mid-job: its lease runs out, a new worker (same name, so it
/// sweeps the dead one's containers) takes the job over, and the result is recorded once.
async fn a_killed_worker_is_replaced(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let app = TestApp::with_config(backend, |config| config.worker.lease_seconds = 2).await;
    let _catalog = load_test_package(&app);
    let base = app.serve_http();
    let token = app.worker_token();
    let images = tempfile::tempdir().unwrap();
    let w = &app.world;
    let id = app
        .submit(
            "test-parcel-delay",
            &w.alice,
            w.team_a.as_str(),
            archive_of("model-right", &["model", "right"], images.path()),
        )
        .await;

    let name = format!("killable-{}-{backend:?}", std::process::id()).to_lowercase();
    let cache = tempfile::tempdir().unwrap();
    let mut doomed = start_worker(&base, &token, &name, cache.path());
    let mut running = false;
    for _ in 0..120 {
        let shown = app
            .get(&format!("/api/v1/submissions/{id}"), w.alice.token())
            .await;
        if matches!(
            shown.body["status"].as_str(),
            Some("sample_run" | "hidden_run")
        ) {
            running = true;
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(running, "the first worker started the job");
    doomed.kill().unwrap();
    doomed.wait().unwrap();

    let mut successor = start_worker(&base, &token, &name, cache.path());
    let done = finished(&app, &w.alice, &id).await;
    successor.kill().unwrap();
    successor.wait().unwrap();
    assert_eq!(done["status"], "done", "{done}");
    let requeued = done["stages"].as_array().unwrap().iter().any(|s| {
        s["stage"] == "queued"
            && s["detail"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("lease"))
    });
    assert!(
        requeued,
        "the job went back to the queue when the lease ran out: {done}"
    );
    assert_eq!(
        app.count("results"),
        1,
        "the result is recorded exactly once"
    );
    let attempts: i32 = app.read(|conn| {
        use diesel::prelude::*;
        use jiebang_platform::db::schema::jobs;
        jobs::table.select(jobs::attempts).first(conn)
    });
    assert_eq!(attempts, 2);
    for _ in 0..50 {
        if leftovers_of(&name).is_empty() {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    }
    // The killed worker's containers went with the successor's start-up sweep; the
    // successor, killed too, may leave its own, which its next start would sweep.
    let left = leftovers_of(&name);
    if !left.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f"])
            .args(left.split_whitespace())
            .output();
    }
}

on_one_backend!(
    upload_to_leaderboard,
    a_killed_worker_is_replaced,
    a_slow_server_is_scored_on_every_hidden_item
);
