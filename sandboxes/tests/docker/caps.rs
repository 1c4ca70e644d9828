//! Every byte a job can write is capped, and what a submission got wrong is charged to it:
//! /dev/shm, /output's entries and paths, an image the engine cannot start.

use std::process::{Command, Stdio};

use jiebang_sandboxes::{SandboxError, Termination};

use crate::common::{assert_nothing_left, sandbox, slot, spec};

/// The run's error, which must be the submission's fault and name `names`.
fn submission_fault<T: std::fmt::Debug>(result: Result<T, SandboxError>, names: &str) {
    match result {
        Err(SandboxError::Submission(reason)) => assert!(reason.contains(names), "{reason}"),
        other => panic!("expected the submission's fault naming `{names}`, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_shm_is_a_capped_tmpfs() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let output = tempfile::tempdir().unwrap();
    let hostile = spec("fill-shm", &["fill-shm"]);
    let outcome = sandbox.run_batch(&hostile, output.path()).await.unwrap();
    let logs = String::from_utf8_lossy(&outcome.logs).into_owned();
    assert_eq!(
        outcome.termination,
        Termination::Exited { code: 3 },
        "{logs}"
    );
    assert!(logs.contains("No space left"), "{logs}");
    // The test's cap is 1 MiB, written in 1 MiB pieces.
    assert!(logs.contains("stopped after 1 MiB"), "{logs}");
    assert_nothing_left(&hostile.job_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_output_entries_are_the_submissions_fault() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let output = tempfile::tempdir().unwrap();
    let hostile = spec("many-files", &["many-files", "1500"]);
    submission_fault(
        sandbox.run_batch(&hostile, output.path()).await,
        "more than 1000 entries",
    );
    let copied = std::fs::read_dir(output.path()).unwrap().count();
    assert!(copied <= 1000, "{copied} files reached the host");
    assert_nothing_left(&hostile.job_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_path_past_path_max_is_the_submissions_fault() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let output = tempfile::tempdir().unwrap();
    let hostile = spec("deep-path", &["deep-path"]);
    submission_fault(sandbox.run_batch(&hostile, output.path()).await, "/output");
    assert_nothing_left(&hostile.job_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sparse_terabyte_is_the_submissions_fault() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let output = tempfile::tempdir().unwrap();
    let hostile = spec("sparse", &["sparse"]);
    submission_fault(
        sandbox.run_batch(&hostile, output.path()).await,
        "larger than 8388608 bytes",
    );
    assert_nothing_left(&hostile.job_id);
}

/// An image of one empty file with this entry point (none when `entrypoint` is empty).
fn image_without_program(tag: &str, entrypoint: &str) -> String {
    let staging = tempfile::tempdir().unwrap();
    std::fs::write(staging.path().join("empty"), "").unwrap();
    let mut tar = Command::new("tar")
        .args(["-C", &staging.path().to_string_lossy(), "-cf", "-", "empty"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut import = Command::new("docker");
    import.arg("import");
    if !entrypoint.is_empty() {
        import.args(["--change", &format!("ENTRYPOINT {entrypoint}")]);
    }
    let imported = import
        .args(["-", tag])
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(tar.wait().unwrap().success());
    assert!(
        imported.status.success(),
        "{}",
        String::from_utf8_lossy(&imported.stderr)
    );
    tag.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_cannot_start_is_the_submissions_fault() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    for (name, entrypoint, names) in [
        ("no-entrypoint", "", "no entry point"),
        (
            "missing-shell",
            r#"["/bin/sh", "-c", "echo hi"]"#,
            "entry point cannot be started",
        ),
    ] {
        let mut hostile = spec(name, &[]);
        hostile.command = None;
        hostile.image = image_without_program(&format!("jiebang-fixture/{name}:test"), entrypoint);
        let output = tempfile::tempdir().unwrap();
        submission_fault(sandbox.run_batch(&hostile, output.path()).await, names);
        let mut serve = hostile.clone();
        serve.job_id = format!("{}-serve", hostile.job_id);
        serve.mode = jiebang_sandboxes::Mode::Serve { port: 8080 };
        submission_fault(sandbox.start_service(&serve).await.map(|_| ()), names);
        assert_nothing_left(&hostile.job_id);
        assert_nothing_left(&serve.job_id);
    }
}
