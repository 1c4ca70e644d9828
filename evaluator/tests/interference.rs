//! Interference, measured on the real Docker engine: every timed run's report carries its
//! measurement quality, and a CPU burner beside the submission shows in it. The ignored
//! test prints the figures behind the default thresholds (docs/benchmarks.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sandboxes/tests/support/fixture.rs"]
#[allow(dead_code, reason = "only the tagged images are used here")]
mod fixture;

use std::path::Path;
use std::process::Command;

use jiebang_evaluator::harness::quality::MeasurementPolicy;
use jiebang_evaluator::pipeline::{Evaluation, Job, evaluate};
use jiebang_evaluator::protocol::report::RunReport;
use jiebang_evaluator::worker::pinning::{cpuset_of, isolation, process_cpus, worker_runtime};
use jiebang_sandboxes::testing::require_docker;
use jiebang_scenarios::package::validate;

/// The test package (20 ms budget) with short limits and `load` as its load pattern.
fn package(dir: &Path, load: &str) -> jiebang_scenarios::package::ScenarioPackage {
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
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("load = { pattern = \"single-stream\" }", load)
        .replace("min_duration_s = 5", "min_duration_s = 3")
        .replace("min_queries = 50", "min_queries = 500")
        .replace(
            "[split]",
            "[limits]\nstartup_s = 5\nsample_run_s = 20\nhidden_run_s = 60\n\n[split]",
        );
    std::fs::write(&manifest, text).unwrap();
    validate(dir).unwrap_or_else(|report| panic!("{report}"))
}

/// Evaluates the right fixture server as a worker with default isolation would: the
/// harness on its own CPU, the container on the others, each timed run kept as measured.
fn evaluated(name: &str, load: &str) -> Option<Evaluation> {
    let plan = isolation(process_cpus(), None, None, false);
    let runtime = worker_runtime(plan.harness.clone()).unwrap();
    runtime.block_on(async {
        let sandbox = require_docker().await?;
        let tag =
            fixture::fixture_image_with("jiebang-fixture/model-right:test", &["model", "right"]);
        let job_id = format!("interference-{name}-{}", std::process::id());
        let image = fixture::saved_and_imported(&sandbox, &tag, &job_id).await;
        let package_dir = tempfile::tempdir().unwrap();
        let package = package(package_dir.path(), load);
        let job = Job {
            job_id: &job_id,
            image: &image.id,
            package: &package,
            cpuset: plan.containers.as_deref().map(cpuset_of),
            devices: vec![],
            measurement: MeasurementPolicy {
                repeats: 0,
                ..MeasurementPolicy::default()
            },
        };
        let evaluation = evaluate(&sandbox, &job, &|_| {}).await;
        let _ = sandbox.remove_image(&image).await;
        Some(evaluation.unwrap())
    })
}

fn hidden(evaluation: &Evaluation) -> &RunReport {
    assert_eq!(evaluation.report.failure, None, "{:?}", evaluation.report);
    evaluation.report.hidden.as_ref().unwrap()
}

#[test]
fn every_timed_run_reports_its_send_lateness_and_the_floor_before_and_after() {
    let Some(evaluation) = evaluated("quality", "load = { pattern = \"single-stream\" }") else {
        return;
    };
    let hidden = hidden(&evaluation);
    let quality = hidden
        .quality
        .as_ref()
        .expect("a measurement-quality section");
    let lateness = quality.send_lateness.as_ref().unwrap();
    assert_eq!(lateness.queries, hidden.latency.as_ref().unwrap().queries);
    assert!(lateness.p50_us <= lateness.p99_us && lateness.p99_us <= lateness.max_us);
    let (before, after) = (
        quality.floor_before.as_ref().unwrap(),
        quality.floor_after.as_ref().unwrap(),
    );
    assert!(before.p50_ms > 0.0 && after.p50_ms > 0.0);
    assert_eq!(hidden.floor.as_ref().unwrap().p99_ms, before.p99_ms);
    assert_eq!(quality.attempts, 1);
    if Path::new("/proc/pressure/cpu").exists() {
        assert!(quality.host_pressure_some.is_some() && quality.host_pressure_outside.is_some());
    }
    assert!(quality.steal.is_some());
    // The container's figures: its pressure (cgroup v2) or its threads' waits.
    assert!(
        quality.container_pressure_some.is_some() || quality.container_wait.is_some(),
        "{quality:?}"
    );
    assert!(evaluation.report.sample.as_ref().unwrap().quality.is_none());
}

/// One line of the table in docs/benchmarks.md.
fn row(load: &str, neighbour: &str, evaluation: &Evaluation) -> String {
    let hidden = hidden(evaluation);
    let latency = hidden.latency.as_ref().unwrap();
    let verdict = hidden.verdict.as_ref().unwrap();
    let quality = hidden.quality.as_ref().unwrap();
    let share = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{:.1} %", v * 100.0));
    format!(
        "| {load} | {neighbour} | {} | {:.2} | {:.2} | {:.0} | {} | {} | {} | {:.3} → {:.3} | {} |",
        if verdict.within_budget {
            "within"
        } else {
            "OVER"
        },
        latency.p90_ms,
        latency.p99_ms,
        quality.send_lateness.as_ref().map_or(0.0, |l| l.p99_us),
        share(quality.host_pressure_outside),
        share(quality.container_wait.or(quality.container_pressure_some)),
        share(quality.steal),
        quality.floor_before.as_ref().map_or(0.0, |f| f.p99_ms),
        quality.floor_after.as_ref().map_or(0.0, |f| f.p99_ms),
        quality
            .disturbances
            .iter()
            .map(|d| d.figure.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// `cargo test -p jiebang-evaluator --test interference -- --ignored --nocapture`: quiet
/// and noisy runs of both load patterns (`JIEBANG_INTERFERENCE_RUNS` each, 3 by default),
/// one table row per run.
#[test]
#[ignore = "a measurement: prints the figures behind the default thresholds"]
fn measure_quiet_and_noisy_runs() {
    let runs: usize = std::env::var("JIEBANG_INTERFERENCE_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3);
    let mut rows = Vec::new();
    for (name, load) in [
        ("single-stream", "load = { pattern = \"single-stream\" }"),
        (
            "server 100/s",
            "load = { pattern = \"server\", rate_qps = 100 }",
        ),
    ] {
        for run in 0..runs {
            let Some(quiet) = evaluated(&format!("quiet-{run}"), load) else {
                return;
            };
            rows.push(row(name, "none", &quiet));
            let cpus = process_cpus();
            let burner =
                fixture::Burner::start(&format!("{run}"), &cpuset_of(cpus), 3 * cpus.len());
            let noisy = evaluated(&format!("noisy-{run}"), load);
            drop(burner);
            rows.push(row(name, "burner", &noisy.unwrap()));
            println!("{}\n{}", rows[rows.len() - 2], rows[rows.len() - 1]);
        }
    }
    println!(
        "| load | neighbour | verdict | p90 ms | p99 ms | send lateness p99 µs | pressure outside | container wait | steal | floor p99 before → after ms | disturbed by |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
