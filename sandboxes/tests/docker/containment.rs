//! Hostile batch jobs, each contained with the right verdict while a well-behaved job runs
//! beside it, and nothing left behind.

use std::time::Duration;

use jiebang_sandboxes::{RunOutcome, RunSpec, Sandbox, Termination};

use crate::common::{
    assert_healthy, assert_nothing_left, eventually_nothing_left, sandbox, slot, spec,
};

/// Runs the hostile job and a well-behaved one side by side.
async fn contained(sandbox: &Sandbox, hostile: RunSpec, neighbour: &str) -> RunOutcome {
    let output = tempfile::tempdir().unwrap();
    let (outcome, ()) = tokio::join!(
        sandbox.run_batch(&hostile, output.path()),
        assert_healthy(sandbox, neighbour)
    );
    assert_nothing_left(&hostile.job_id);
    outcome.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fork_bomb_hits_the_pids_limit() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let outcome = contained(
        &sandbox,
        spec("fork-bomb", &["fork-bomb"]),
        "fork-bomb-neighbour",
    )
    .await;
    // Held at the pids limit, the bomb spins until the deadline; but a refused fork has
    // already copied its parent's address space (the kernel charges the pids limit late in
    // `copy_process`) and its task is freed only after an RCU grace period, all charged to
    // the container's memory, so a fast enough spin can reach the memory limit first (seen
    // once in six runs, 0.3 s in). Either way it is stopped by a limit, never by exiting.
    assert!(
        matches!(
            outcome.termination,
            Termination::WallClock | Termination::OutOfMemory
        ),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_hog_is_killed_for_memory() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let outcome = contained(
        &sandbox,
        spec("memory-hog", &["memory-hog"]),
        "memory-neighbour",
    )
    .await;
    assert_eq!(outcome.termination, Termination::OutOfMemory, "{outcome:?}");
    assert!(
        outcome.peak_memory_bytes <= 64 << 20,
        "peak {} is within the limit",
        outcome.peak_memory_bytes
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_spin_is_killed_at_the_deadline() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let outcome = contained(&sandbox, spec("spin", &["spin"]), "spin-neighbour").await;
    assert_eq!(outcome.termination, Termination::WallClock, "{outcome:?}");
    assert!((4.0..20.0).contains(&outcome.wall_seconds), "{outcome:?}");
    assert!(
        outcome.cpu_seconds <= outcome.wall_seconds,
        "the CPU quota holds: {outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_ignoring_sigterm_is_still_stopped() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let outcome = contained(
        &sandbox,
        spec("ignore-term", &["ignore-term"]),
        "ignore-term-neighbour",
    )
    .await;
    assert_eq!(outcome.termination, Termination::WallClock, "{outcome:?}");
    assert!(outcome.wall_seconds < 20.0, "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_fillers_hit_their_caps() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let tmp = contained(
        &sandbox,
        spec("fill-tmp", &["fill-tmp"]),
        "fill-tmp-neighbour",
    )
    .await;
    assert_eq!(tmp.termination, Termination::Exited { code: 3 }, "{tmp:?}");
    assert!(
        String::from_utf8_lossy(&tmp.logs).contains("No space left"),
        "{}",
        String::from_utf8_lossy(&tmp.logs)
    );
    let output = contained(
        &sandbox,
        spec("fill-output", &["fill-output"]),
        "fill-output-neighbour",
    )
    .await;
    assert_eq!(
        output.termination,
        Termination::Exited { code: 3 },
        "{output:?}"
    );
    assert!(output.output_bytes <= 8 << 20, "{output:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_flood_is_cut_with_a_marker() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let outcome = contained(
        &sandbox,
        spec("log-flood", &["log-flood"]),
        "log-flood-neighbour",
    )
    .await;
    assert_eq!(outcome.termination, Termination::WallClock, "{outcome:?}");
    assert!(outcome.logs_truncated);
    let logs = String::from_utf8_lossy(&outcome.logs);
    assert!(
        logs.ends_with(jiebang_sandboxes::monitor::CUT_MARKER),
        "the cut is marked"
    );
    assert!(outcome.logs.len() <= (64 << 10) + jiebang_sandboxes::monitor::CUT_MARKER.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privileged_operations_fail() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    for attempt in ["write-root", "mount", "raw-socket", "setuid"] {
        let outcome = contained(
            &sandbox,
            spec(attempt, &[attempt]),
            &format!("{attempt}-neighbour"),
        )
        .await;
        assert_eq!(
            outcome.termination,
            Termination::Exited { code: 1 },
            "{attempt} must fail: {outcome:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_job_has_no_network() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let listener = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = format!("172.17.0.1:{port}");
    let outcome = contained(
        &sandbox,
        spec("batch-connect", &["connect", &target]),
        "batch-connect-neighbour",
    )
    .await;
    assert_eq!(
        outcome.termination,
        Termination::Exited { code: 1 },
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_run_removes_its_container() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let hostile = spec("cancelled", &["spin"]);
    let output = tempfile::tempdir().unwrap();
    let cancelled = tokio::time::timeout(
        Duration::from_millis(1500),
        sandbox.run_batch(&hostile, output.path()),
    )
    .await;
    assert!(
        cancelled.is_err(),
        "the run was still going when it was dropped"
    );
    eventually_nothing_left(&hostile.job_id).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_sweep_removes_leftovers() {
    let Some(_any) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    // A worker of its own: a sweep without one removes every job's containers, and the
    // other tests' containers are running beside this one.
    let worker = crate::common::job_id("sweeper");
    let sandbox = Sandbox::connect(jiebang_sandboxes::SandboxConfig {
        worker_label: Some(worker.clone()),
        ..jiebang_sandboxes::SandboxConfig::default()
    })
    .await
    .unwrap();
    let job = crate::common::job_id("crashed");
    let created = std::process::Command::new("docker")
        .args([
            "create",
            "--label",
            &format!("jiebang.job={job}"),
            "--label",
            &format!("jiebang.worker={worker}"),
            crate::common::IMAGE,
            "spin",
        ])
        .output()
        .unwrap();
    assert!(created.status.success());
    assert!(sandbox.sweep().await >= 1);
    assert_nothing_left(&job);
}
