//! The whole evaluation on the real Docker engine: fixture servers that are right, wrong,
//! slow, crash mid-run or never become ready, and a batch program; each ends as it should.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sandboxes/tests/support/fixture.rs"]
#[allow(dead_code, reason = "only the tagged images are used here")]
mod fixture;

use std::path::Path;

use jiebang_evaluator::pipeline::{Evaluation, Job, evaluate};
use jiebang_sandboxes::testing::require_docker;
use jiebang_scenarios::package::validate;
use tokio::sync::Semaphore;

/// A copy of the scenarios crate's test package with short limits, changed by `edit`.
fn package(
    dir: &Path,
    edit: impl FnOnce(String) -> String,
) -> jiebang_scenarios::package::ScenarioPackage {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", source.display()))
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = dir.join("scenario.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("min_duration_s = 5", "min_duration_s = 2")
        .replace(
            "[split]",
            "[limits]\nstartup_s = 5\nsample_run_s = 20\nhidden_run_s = 30\n\n[split]",
        );
    std::fs::write(&manifest, edit(text)).unwrap();
    validate(dir).unwrap_or_else(|report| panic!("{report}"))
}

async fn evaluated(
    name: &str,
    entrypoint: &[&str],
    edit: impl FnOnce(String) -> String,
) -> Option<Evaluation> {
    evaluated_on(name, entrypoint, edit, None)
        .await
        .map(|(evaluation, _)| evaluation)
}

/// The same on a hidden set of `hidden_items` rows where given; with the package.
async fn evaluated_on(
    name: &str,
    entrypoint: &[&str],
    edit: impl FnOnce(String) -> String,
    hidden_items: Option<usize>,
) -> Option<(Evaluation, jiebang_scenarios::package::ScenarioPackage)> {
    static SLOTS: Semaphore = Semaphore::const_new(2);
    let sandbox = require_docker().await?;
    let _slot = SLOTS.acquire().await.unwrap();
    let tag = fixture::fixture_image_with(&format!("jiebang-fixture/{name}:test"), entrypoint);
    // The real path: the archive `docker save` writes, checked and loaded by the sandbox.
    let job_id = format!("eval-{name}-{}", std::process::id());
    let image = fixture::saved_and_imported(&sandbox, &tag, &job_id).await;
    let package_dir = tempfile::tempdir().unwrap();
    let package = package(package_dir.path(), |text| {
        if let Some(items) = hidden_items {
            fixture::write_hidden_set(package_dir.path(), items);
        }
        edit(text)
    });
    let stages = std::sync::Mutex::new(Vec::new());
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
    let evaluation = evaluate(&sandbox, &job, &|stage| stages.lock().unwrap().push(stage))
        .await
        .unwrap();
    sandbox.remove_image(&image).await.unwrap();
    Some((evaluation, package))
}

fn hidden_accuracy(evaluation: &Evaluation) -> f64 {
    evaluation
        .report
        .hidden
        .as_ref()
        .unwrap()
        .scores
        .all
        .as_ref()
        .unwrap()
        .value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_server_scores_full_marks_within_budget() {
    let Some(evaluation) = evaluated("model-right", &["model", "right"], |t| t).await else {
        return;
    };
    let report = &evaluation.report;
    assert_eq!(report.failure, None, "{report:#?}");
    assert_eq!(
        report
            .sample
            .as_ref()
            .unwrap()
            .scores
            .all
            .as_ref()
            .unwrap()
            .value,
        1.0
    );
    assert_eq!(hidden_accuracy(&evaluation), 1.0);
    let hidden = report.hidden.as_ref().unwrap();
    let verdict = hidden.verdict.as_ref().unwrap();
    assert!(verdict.within_budget, "{verdict:?}");
    assert!(verdict.queries >= 50);
    let all = hidden.scores.all.as_ref().unwrap();
    assert_eq!(
        (all.items, all.items_in_set),
        (12, 12),
        "the accuracy pass asked each of the twelve hidden items once"
    );
    assert!(
        hidden.floor.is_some(),
        "the harness floor is measured beside the result"
    );
    assert!(hidden.scores.public.is_some() && hidden.scores.private.is_some());
    assert!(hidden.latency.as_ref().unwrap().p99_ms < 20.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_server_scores_what_it_earns() {
    let Some(evaluation) = evaluated("model-wrong", &["model", "wrong"], |t| t).await else {
        return;
    };
    assert_eq!(evaluation.report.failure, None);
    let accuracy = hidden_accuracy(&evaluation);
    assert!(
        (0.3..0.7).contains(&accuracy),
        "a constant answer is right about half the time: {accuracy}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_is_over_budget() {
    let Some(evaluation) = evaluated("model-slow", &["model", "slow"], |t| t).await else {
        return;
    };
    let hidden = evaluation.report.hidden.as_ref().unwrap();
    assert_eq!(hidden_accuracy(&evaluation), 1.0);
    let verdict = hidden.verdict.as_ref().unwrap();
    assert!(
        !verdict.within_budget,
        "50 ms answers against a 20 ms budget: {verdict:?}"
    );
    assert!(hidden.latency.as_ref().unwrap().p90_ms >= 50.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_crashes_mid_run_fails_with_its_exit() {
    let Some(evaluation) = evaluated("model-crash", &["model", "crash"], |t| t).await else {
        return;
    };
    // Warm-up (4) and the accuracy pass (12) come before the 21st answer: the crash
    // comes in the timed run.
    let failure = evaluation.report.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("hidden run") && failure.contains("139"),
        "{failure}"
    );
    assert_eq!(hidden_accuracy(&evaluation), 1.0, "every item was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_the_accuracy_pass_leaves_the_rest_wrong() {
    // Four warm-up answers, four hidden items, then the exit.
    let Some(evaluation) = evaluated("model-crash-early", &["model", "crash", "8"], |t| t).await
    else {
        return;
    };
    let failure = evaluation.report.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("hidden run") && failure.contains("139"),
        "{failure}"
    );
    let hidden = evaluation.report.hidden.as_ref().unwrap();
    let all = hidden.scores.all.as_ref().unwrap();
    assert_eq!(
        (all.items, all.items_in_set),
        (12, 12),
        "every item is scored"
    );
    assert!(
        all.value <= 4.0 / 12.0 + 1e-9,
        "items after the crash count as wrong: {all:?}"
    );
    assert!(hidden.verdict.is_none(), "no timed run after the crash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_is_scored_on_every_hidden_item() {
    // 300 hidden items; 15 ms an answer, the timed run's 2 s reach fewer than 140 of them.
    let Some((evaluation, package)) =
        evaluated_on("model-slow-15", &["model", "slow", "15"], |t| t, Some(300)).await
    else {
        return;
    };
    let report = &evaluation.report;
    assert_eq!(report.failure, None, "{report:#?}");
    let hidden = report.hidden.as_ref().unwrap();
    let timed = hidden.verdict.as_ref().unwrap().queries;
    assert!(timed < 300, "the timed run sent {timed} queries");
    let scores = &hidden.scores;
    for (part, score, in_part) in [
        ("public", &scores.public, package.public_board_items),
        ("private", &scores.private, package.private_board_items),
        ("all", &scores.all, 300),
    ] {
        let score = score.as_ref().unwrap();
        assert_eq!(
            (score.items, score.items_in_set),
            (in_part, in_part),
            "{part}: every item of the part is scored"
        );
        assert_eq!(score.value, 1.0, "{part}: {score:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_becomes_ready_fails_at_the_start_up_limit() {
    let Some(evaluation) = evaluated("model-never-ready", &["model", "never-ready"], |t| t).await
    else {
        return;
    };
    let failure = evaluation.report.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("sample run") && failure.contains("start-up limit of 5 s"),
        "{failure}"
    );
    assert!(
        evaluation.report.hidden.is_none(),
        "no hidden run after a failed sample run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_answers_cannot_stretch_the_hidden_run_past_its_limit() {
    // Every answer 1.05 s late against a 1 s query time-out: the 50 queries would take
    // over 50 s; the hidden run's limit of 3 s ends it.
    let Some(evaluation) = evaluated("model-late", &["model", "late"], |t| {
        t.replace("hidden_run_s = 30", "hidden_run_s = 3")
    })
    .await
    else {
        return;
    };
    let report = &evaluation.report;
    let failure = report.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("hidden run: the hidden run's time limit of 3 s"),
        "{failure}"
    );
    let hidden = report.hidden.as_ref().unwrap();
    assert_eq!(
        hidden.resources.termination,
        jiebang_evaluator::protocol::report::Termination::Stopped,
        "the harness stopped the server; the container was not killed at a wall clock"
    );
    // Start-up (at most 5 s) and the run's 3 s, plus the time to stop the container.
    assert!(
        hidden.resources.wall_seconds < 5.0 + 3.0 + 3.0,
        "{:?}",
        hidden.resources
    );
    assert!(hidden.verdict.as_ref().is_none_or(|v| !v.within_budget));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_program_is_scored_from_its_output() {
    let Some(evaluation) = evaluated("batch-model", &["batch-model"], |t| {
        t.replace("mode = \"serve\"", "mode = \"batch\"")
    })
    .await
    else {
        return;
    };
    assert_eq!(evaluation.report.failure, None, "{:#?}", evaluation.report);
    assert_eq!(hidden_accuracy(&evaluation), 1.0);
    assert_eq!(
        evaluation
            .report
            .hidden
            .as_ref()
            .unwrap()
            .scores
            .all
            .as_ref()
            .unwrap()
            .items,
        12
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_describes_other_tensors_fails_before_the_run() {
    let Some(evaluation) = evaluated("model-bad-metadata", &["model", "bad-metadata"], |t| t).await
    else {
        return;
    };
    let failure = evaluation.report.failure.clone().unwrap_or_default();
    assert!(
        failure.contains("`features` is FP64; the scenario uses FP32"),
        "{failure}"
    );
    assert!(evaluation.report.hidden.is_none());
}
