//! Logs as the team and the judges read them: every line kept, the last one too, and a
//! cut always marked, whoever made it.

use jiebang_sandboxes::Termination;

use crate::common::{assert_nothing_left, sandbox, slot, spec};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_line_without_a_newline_is_kept() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    for attempt in 0..5 {
        let output = tempfile::tempdir().unwrap();
        let job = spec(&format!("no-newline-{attempt}"), &["no-newline"]);
        let outcome = sandbox.run_batch(&job, output.path()).await.unwrap();
        assert_eq!(outcome.termination, Termination::Exited { code: 0 });
        assert_eq!(
            String::from_utf8_lossy(&outcome.logs),
            "first line\nlast line without a newline",
            "{outcome:?}"
        );
        assert!(!outcome.logs_truncated);
        assert_nothing_left(&job.job_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_the_engine_rotates_are_kept_whole() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    // 10,000 short lines: 48,890 bytes of output, within the 64 KiB cap, but ~700 KB of
    // JSON in the engine's log file of 128 KiB, which rotates it away several times over.
    let lines = 10_000;
    let expected: String = (0..lines).map(|i| format!("{i}\n")).collect();
    assert!(
        expected.len() < 64 << 10,
        "the output itself is within the cap"
    );
    let output = tempfile::tempdir().unwrap();
    let job = spec("short-lines", &["short-lines", &lines.to_string()]);
    let outcome = sandbox.run_batch(&job, output.path()).await.unwrap();
    assert_eq!(outcome.termination, Termination::Exited { code: 0 });
    let logs = String::from_utf8_lossy(&outcome.logs);
    assert!(
        logs == expected || outcome.logs_truncated,
        "lines were lost ({} of {} bytes kept) and the logs do not say so",
        logs.len(),
        expected.len()
    );
    assert_eq!(logs, expected, "nothing is lost at all");
    assert_eq!(outcome.log_bytes, expected.len() as u64);
    assert_nothing_left(&job.job_id);
}
