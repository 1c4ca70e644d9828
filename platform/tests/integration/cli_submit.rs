//! `jiebang submit`, `status` and `logs` against a running platform (submit with a real Docker image).

use std::process::{Command, Stdio};
use std::sync::OnceLock;

use jiebang_sandboxes::testing::require_docker;

use crate::common::{Backend, TestApp};
use crate::on_one_backend;

const IMAGE: &str = "jiebang-test/cli-submit:1";

/// Imports a one-file image once per test run; Docker must be reachable.
fn test_image() -> &'static str {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("model.txt"), "a tiny model").unwrap();
        let mut tar = Command::new("tar")
            .args(["-C", &dir.path().to_string_lossy(), "-cf", "-", "model.txt"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let imported = Command::new("docker")
            .args(["import", "--change", "LABEL jiebang.test=cli", "-", IMAGE])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .unwrap();
        assert!(tar.wait().unwrap().success());
        assert!(
            imported.status.success(),
            "docker import: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
    });
    IMAGE
}

pub(crate) async fn jiebang(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_jiebang"))
            .args(args)
            .env_remove("JIEBANG_TOKEN")
            .env_remove("JIEBANG_PLATFORM")
            .env("JIEBANG_CLIENT_CONFIG", "/nonexistent")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn submit_and_status(backend: Backend) {
    if require_docker().await.is_none() {
        return;
    }
    let image = test_image();
    let app = TestApp::new(backend).await;
    let w = &app.world;
    let enrolled = app.enrol("kg-open", &w.alice, w.team_a.as_str()).await;
    assert_eq!(enrolled.status, 201);
    let base = app.serve_http();
    let connection = |mut args: Vec<String>| {
        args.extend([
            "--platform".into(),
            base.clone(),
            "--token".into(),
            w.alice.token.clone(),
        ]);
        args
    };

    let submitted = jiebang(connection(vec![
        "submit".into(),
        "--scenario".into(),
        "kg-open".into(),
        image.into(),
    ]))
    .await;
    let stdout = String::from_utf8_lossy(&submitted.stdout).into_owned();
    assert!(
        submitted.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&submitted.stderr)
    );
    let id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("submission "))
        .expect("the submission id is printed")
        .to_owned();
    assert!(stdout.contains("quota: 4 of 5 left today"), "{stdout}");

    let shown = app
        .get(&format!("/api/v1/submissions/{id}"), w.alice.token())
        .await;
    assert_eq!(shown.body["status"], "queued");
    let size = shown.body["image_size"].as_u64().unwrap();
    assert!(size > 1024, "a docker save archive arrived ({size} bytes)");

    let status = jiebang(connection(vec!["status".into(), id.clone()])).await;
    let printed = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success());
    assert!(
        printed.contains("stored") && printed.contains("queued"),
        "{printed}"
    );
    let listing = jiebang(connection(vec!["status".into()])).await;
    assert!(String::from_utf8_lossy(&listing.stdout).contains(&id));

    let again = jiebang(connection(vec![
        "submit".into(),
        "--scenario".into(),
        "kg-open".into(),
        image.into(),
    ]))
    .await;
    assert!(!again.status.success(), "the same image twice is refused");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains(&id),
        "the refusal names the earlier submission"
    );

    let missing = jiebang(connection(vec![
        "submit".into(),
        "--scenario".into(),
        "kg-open".into(),
        "jiebang-test/absent:0".into(),
    ]))
    .await;
    assert!(!missing.status.success());
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("docker save"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    assert_eq!(
        app.count("submissions"),
        1,
        "a failed docker save stores nothing"
    );
}

async fn logs_of_a_run(backend: Backend) {
    let app = TestApp::new(backend).await;
    let (a, _) = crate::consoles::two_evaluated(&app).await;
    let base = app.serve_http();
    let as_user = |token: &str, extra: &[&str]| {
        let mut args: Vec<String> = vec!["logs".into(), a.clone()];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args.extend([
            "--platform".into(),
            base.clone(),
            "--token".into(),
            token.into(),
        ]);
        args
    };
    let w = &app.world;
    let sample = jiebang(as_user(&w.alice.token, &[])).await;
    assert!(sample.status.success(), "{sample:?}");
    assert_eq!(
        String::from_utf8_lossy(&sample.stdout),
        format!("sample run of {a}\n")
    );
    let refused = jiebang(as_user(&w.alice.token, &["--run", "hidden"])).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("judges and operators"),
        "{refused:?}"
    );
    let hidden = jiebang(as_user(&w.judge.token, &["--run", "hidden"])).await;
    assert_eq!(
        String::from_utf8_lossy(&hidden.stdout),
        format!("hidden run of {a}\n")
    );
}

on_one_backend!(logs_of_a_run, submit_and_status);
