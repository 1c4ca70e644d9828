//! Who pays for a failure, on the real Docker engine: what the image gets wrong is the
//! submission's fault (charged, never retried), never an infrastructure failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sandboxes/tests/support/fixture.rs"]
#[allow(dead_code, reason = "only the tagged images are used here")]
mod fixture;

use std::path::Path;
use std::process::{Command, Stdio};

use jiebang_evaluator::EvaluatorError;
use jiebang_evaluator::pipeline::{Evaluation, Job, evaluate};
use jiebang_sandboxes::testing::require_docker;
use jiebang_scenarios::package::validate;

/// The scenarios crate's test package with short limits, in batch mode when asked.
fn package(dir: &Path, batch: bool) -> jiebang_scenarios::package::ScenarioPackage {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
    let copied = Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", source.display()))
        .arg(dir)
        .status()
        .unwrap();
    assert!(copied.success());
    let manifest = dir.join("scenario.toml");
    let mut text = std::fs::read_to_string(&manifest).unwrap().replace(
        "[split]",
        "[limits]\nstartup_s = 5\nsample_run_s = 20\nhidden_run_s = 30\n\n[split]",
    );
    if batch {
        text = text.replace("mode = \"serve\"", "mode = \"batch\"");
    }
    std::fs::write(&manifest, text).unwrap();
    validate(dir).unwrap_or_else(|report| panic!("{report}"))
}

/// Saves `tag` as `docker save` does, loads it through the sandbox's checks and evaluates it.
async fn evaluated(
    name: &str,
    tag: &str,
    batch: bool,
) -> Option<Result<Evaluation, EvaluatorError>> {
    let sandbox = require_docker().await?;
    let job_id = format!("charge-{name}-{}", std::process::id());
    let image = fixture::saved_and_imported(&sandbox, tag, &job_id).await;
    let package_dir = tempfile::tempdir().unwrap();
    let package = package(package_dir.path(), batch);
    let job = Job {
        job_id: &job_id,
        image: &image.id,
        package: &package,
        cpuset: None,
        devices: vec![],
        // A disturbed run is kept as it is: these tests look at what it found.
        measurement: jiebang_evaluator::harness::quality::MeasurementPolicy {
            repeats: 0,
            ..Default::default()
        },
    };
    let result = evaluate(&sandbox, &job, &|_| {}).await;
    let _ = sandbox.remove_image(&image).await;
    Some(result)
}

/// The submission's fault, from the report or from the sandbox; panics on anything else.
fn charged_to_the_submission(result: Result<Evaluation, EvaluatorError>) -> String {
    match result {
        Ok(evaluation) => evaluation.report.failure.expect("a failure in the report"),
        Err(error) => error
            .submission_fault()
            .unwrap_or_else(|| panic!("charged to the platform: {error}"))
            .to_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_without_an_entry_point_is_the_submissions_fault() {
    let staging = tempfile::tempdir().unwrap();
    std::fs::write(staging.path().join("empty"), "").unwrap();
    let tag = "jiebang-fixture/charge-no-entrypoint:test";
    let mut tar = Command::new("tar")
        .args(["-C", &staging.path().to_string_lossy(), "-cf", "-", "empty"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let imported = Command::new("docker")
        .args(["import", "-", tag])
        .stdin(tar.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(tar.wait().unwrap().success() && imported.success());
    let Some(result) = evaluated("no-entrypoint", tag, false).await else {
        return;
    };
    let fault = charged_to_the_submission(result);
    assert!(
        fault.contains("sample run: the image has no entry point"),
        "{fault}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_exits_at_once_is_the_submissions_fault() {
    let tag =
        fixture::fixture_image_with("jiebang-fixture/charge-exit-at-once:test", &["exit", "7"]);
    let Some(result) = evaluated("exit-at-once", &tag, false).await else {
        return;
    };
    let fault = charged_to_the_submission(result);
    assert!(fault.contains("exited with code 7"), "{fault}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_output_files_are_the_submissions_fault() {
    let tag = fixture::fixture_image_with(
        "jiebang-fixture/charge-many-files:test",
        &["many-files", "10001"],
    );
    let Some(result) = evaluated("many-files", &tag, true).await else {
        return;
    };
    let fault = charged_to_the_submission(result);
    assert!(
        fault.contains("sample run: /output refused: it holds more than 10000 entries"),
        "{fault}"
    );
}
