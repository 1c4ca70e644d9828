//! Shared test set-up: the fixture image (built once per run), bounded parallelism, and
//! the checks every test makes afterwards.

use std::process::Command;
use std::time::Duration;

use jiebang_sandboxes::testing::require_docker;
use jiebang_sandboxes::{Limits, Mode, RunSpec, Sandbox};
use tokio::sync::{Semaphore, SemaphorePermit};

#[path = "../support/fixture.rs"]
mod fixture;
pub use fixture::{IMAGE, fixture_image, fixture_image_changed, fixture_image_with};

/// At most two containers at a time on this 2-core machine.
pub async fn slot() -> SemaphorePermit<'static> {
    static SLOTS: Semaphore = Semaphore::const_new(2);
    SLOTS.acquire().await.unwrap()
}

/// The engine with the fixture image loaded, or a loud failure under CI; elsewhere a skip
/// with a message.
pub async fn sandbox() -> Option<Sandbox> {
    let sandbox = require_docker().await?;
    fixture_image();
    Some(sandbox)
}

pub fn job_id(name: &str) -> String {
    format!("test-{name}-{}", std::process::id())
}

pub fn spec(job: &str, args: &[&str]) -> RunSpec {
    RunSpec {
        job_id: job_id(job),
        image: IMAGE.to_owned(),
        command: Some(args.iter().map(|s| (*s).to_owned()).collect()),
        env: vec![],
        mode: Mode::Batch,
        limits: Limits {
            wall_clock: Duration::from_secs(4),
            memory_bytes: 64 << 20,
            cpus: 0.5,
            cpuset: None,
            pids: 32,
            open_files: 64,
            tmp_bytes: 8 << 20,
            output_bytes: 8 << 20,
            output_entries: 1_000,
            shm_bytes: 1 << 20,
            log_bytes: 64 << 10,
        },
        input_dir: None,
        devices: vec![],
    }
}

/// The kinds of object labelled with the job that still exist.
pub fn leftovers(job: &str) -> Vec<&'static str> {
    let filter = format!("label=jiebang.job={job}");
    [
        ("container", vec!["ps", "-aq", "--filter", filter.as_str()]),
        (
            "network",
            vec!["network", "ls", "-q", "--filter", filter.as_str()],
        ),
        (
            "volume",
            vec!["volume", "ls", "-q", "--filter", filter.as_str()],
        ),
    ]
    .into_iter()
    .filter(|(_, args)| {
        let listed = Command::new("docker").args(args).output().unwrap();
        !String::from_utf8_lossy(&listed.stdout).trim().is_empty()
    })
    .map(|(kind, _)| kind)
    .collect()
}

/// Asserts that nothing labelled with the job is left: container, network, volume.
pub fn assert_nothing_left(job: &str) {
    let left = leftovers(job);
    assert!(left.is_empty(), "job {job} left behind: {left:?}");
}

/// The same, for clean-up that runs in the background (after a cancellation or a panic).
pub async fn eventually_nothing_left(job: &str) {
    for _ in 0..75 {
        if leftovers(job).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_nothing_left(job);
}

/// The node still works: a well-behaved job runs to a clean exit.
pub async fn assert_healthy(sandbox: &Sandbox, name: &str) {
    let output = tempfile::tempdir().unwrap();
    let outcome = sandbox
        .run_batch(&spec(name, &["ok"]), output.path())
        .await
        .unwrap();
    assert_eq!(
        outcome.termination,
        jiebang_sandboxes::Termination::Exited { code: 0 },
        "{outcome:?}"
    );
    assert_eq!(
        std::fs::read_to_string(output.path().join("result.txt")).unwrap(),
        "0 inputs seen\n"
    );
    assert_nothing_left(&job_id(name));
}
