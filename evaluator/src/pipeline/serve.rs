//! Serve mode: the submission is an Open Inference Protocol server; the harness checks its
//! readiness and metadata, warms it up and sends the inputs following the load pattern.

use std::time::Duration;

use bytes::Bytes;
use jiebang_sandboxes::{Mode, RunOutcome, RunSpec, Sandbox, Termination};
use jiebang_scenarios::package::{Load, Manifest, Record};

use crate::EvaluatorError;
use crate::harness::oip::{Tensor, check_metadata, encode_request, infer_path, wait_ready};
use crate::harness::verdict::judge;
use crate::harness::{
    LatencySummary, LoadSpec, Pattern, QueryOutcome, RunResult, null_server, run,
};
use crate::pipeline::scoring::{Answer, prediction_of, split_scores};
use crate::pipeline::{
    Evaluation, Job, data_set, empty_scores, load_seed, new_report, spec, split_scores_all,
};
use crate::protocol::Stage;
use crate::protocol::report::RunReport;

fn bodies(records: &[Record], manifest: &Manifest) -> Result<Vec<Bytes>, EvaluatorError> {
    records
        .iter()
        .map(|record| {
            let inputs: Vec<Tensor> = manifest
                .task
                .inputs
                .iter()
                .map(|spec| {
                    let data = record.inputs.get(&spec.name).cloned().unwrap_or_default();
                    let mut shape = spec.shape.clone();
                    // A variable dimension takes whatever the data holds.
                    if let Some(variable) = shape.iter().position(|d| *d == -1) {
                        let known: i64 = shape.iter().filter(|d| **d > 0).product::<i64>().max(1);
                        shape[variable] = count(&data) as i64 / known;
                    }
                    Tensor {
                        name: spec.name.clone(),
                        shape,
                        datatype: spec.datatype.clone(),
                        data,
                    }
                })
                .collect();
            encode_request(&record.id, &inputs)
        })
        .collect()
}

fn count(value: &serde_json::Value) -> usize {
    value
        .as_array()
        .map_or(1, |items| items.iter().map(count).sum())
}

fn answers(result: &RunResult, records: &[Record]) -> Vec<Answer> {
    result
        .records
        .iter()
        .map(|query| Answer {
            id: records[query.sample].id.clone(),
            prediction: match &query.outcome {
                QueryOutcome::Answered { status: 200, body } => prediction_of(body),
                _ => None,
            },
        })
        .collect()
}

fn died_early(outcome: &RunOutcome) -> Option<String> {
    match outcome.termination {
        Termination::Stopped => None,
        ref other => Some(format!("the server {other} during the run")),
    }
}

struct ServeRun {
    result: Option<RunResult>,
    outcome: RunOutcome,
    failure: Option<String>,
}

/// Starts the service, waits for readiness, checks its metadata, warms it up, runs the
/// load, stops it.
async fn serve_run(
    sandbox: &Sandbox,
    (which, run_spec): (&str, &RunSpec),
    job: &Job<'_>,
    warm_up: &[Bytes],
    bodies: &[Bytes],
    load: &LoadSpec,
) -> Result<ServeRun, EvaluatorError> {
    let manifest = &job.package.manifest;
    let service = sandbox
        .start_service(run_spec)
        .await
        .map_err(EvaluatorError::in_run(which))?;
    let startup = Duration::from_secs(manifest.limits.startup_s);
    if !wait_ready(service.address, startup, || service.is_running()).await {
        let outcome = service.finish().await?;
        let failure = match outcome.termination {
            Termination::Stopped => format!(
                "the server was not ready within the start-up limit of {} s",
                startup.as_secs()
            ),
            ref other => format!("the server {other} before it was ready"),
        };
        return Ok(ServeRun {
            result: None,
            outcome,
            failure: Some(failure),
        });
    }
    if let Err(mismatch) = check_metadata(service.address, &manifest.task).await {
        let outcome = service.finish().await?;
        return Ok(ServeRun {
            result: None,
            outcome,
            failure: Some(mismatch),
        });
    }
    let path = infer_path(&manifest.task.model);
    if !warm_up.is_empty() {
        let warm = LoadSpec {
            pattern: Pattern::SingleStream,
            min_duration: Duration::ZERO,
            min_queries: warm_up.len() as u64,
            timeout: load.timeout,
            seed: load.seed,
        };
        let _ = run(service.address, &path, warm_up, &warm).await;
    }
    let result = run(service.address, &path, bodies, load).await;
    let outcome = service.finish().await?;
    let failure = died_early(&outcome);
    Ok(ServeRun {
        result: result.ok(),
        outcome,
        failure,
    })
}

/// The harness against its own null server: the floor reported beside the result.
async fn floor(load_timeout: Duration) -> Option<LatencySummary> {
    let server = null_server::null().await.ok()?;
    let body = encode_request("floor", &[]).ok()?;
    let spec = LoadSpec {
        pattern: Pattern::SingleStream,
        min_duration: Duration::ZERO,
        min_queries: 200,
        timeout: load_timeout,
        seed: 0,
    };
    run(server.address, &infer_path("null"), &[body], &spec)
        .await
        .ok()
        .map(|r| LatencySummary::of(&r))
}

fn pattern_of(load: Load) -> Pattern {
    match load {
        Load::SingleStream => Pattern::SingleStream,
        Load::Server { rate_qps } => Pattern::Server { rate_qps },
        Load::Offline { concurrency } => Pattern::Offline {
            concurrency: concurrency as usize,
        },
    }
}

pub(super) async fn evaluate_serve(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    let manifest = &job.package.manifest;
    let root = &job.package.root;
    let (sample_records, sample_labels) = data_set(root, "public/samples")?;
    let (hidden_records, hidden_labels) = data_set(root, "hidden")?;
    let sample_bodies = bodies(&sample_records, manifest)?;
    let hidden_bodies = bodies(&hidden_records, manifest)?;
    let budget_ms = manifest.latency.budget_ms.unwrap_or(1000.0);
    let timeout = Duration::from_secs_f64((budget_ms * 10.0 / 1000.0).max(1.0));
    let mut report = new_report(manifest, job.image);

    on_stage(Stage::SampleRun);
    let sample_spec = spec(
        job,
        "sample",
        Mode::Serve { port: 8080 },
        manifest.limits.startup_s + manifest.limits.sample_run_s,
        None,
    );
    let sample_load = LoadSpec {
        pattern: Pattern::SingleStream,
        min_duration: Duration::ZERO,
        min_queries: sample_bodies.len() as u64,
        timeout,
        seed: load_seed(manifest),
    };
    let sample = serve_run(
        sandbox,
        ("sample", &sample_spec),
        job,
        &[],
        &sample_bodies,
        &sample_load,
    )
    .await?;
    let sample_logs = sample.outcome.logs.clone();
    let sample_scores = sample
        .result
        .as_ref()
        .map(|r| split_scores_all(manifest, &answers(r, &sample_records), &sample_labels));
    report.sample = Some(RunReport {
        scores: sample_scores.unwrap_or_else(|| empty_scores(manifest)),
        latency: sample.result.as_ref().map(LatencySummary::of),
        verdict: None,
        floor: None,
        resources: sample.outcome,
    });
    if let Some(failure) = sample.failure {
        report.failure = Some(format!("sample run: {failure}"));
        return Ok(Evaluation {
            report,
            sample_logs,
            hidden_logs: Vec::new(),
        });
    }

    on_stage(Stage::HiddenRun);
    let floor = floor(timeout).await;
    let hidden_spec = spec(
        job,
        "hidden",
        Mode::Serve { port: 8080 },
        manifest.limits.startup_s + manifest.limits.hidden_run_s,
        None,
    );
    let hidden_load = LoadSpec {
        pattern: pattern_of(manifest.latency.load),
        min_duration: Duration::from_secs(manifest.latency.min_duration_s),
        min_queries: manifest.latency.min_queries,
        timeout,
        seed: load_seed(manifest),
    };
    let hidden = serve_run(
        sandbox,
        ("hidden", &hidden_spec),
        job,
        &sample_bodies,
        &hidden_bodies,
        &hidden_load,
    )
    .await?;
    on_stage(Stage::Scoring);
    let hidden_logs = hidden.outcome.logs.clone();
    let scores = hidden
        .result
        .as_ref()
        .map(|r| split_scores(manifest, &answers(r, &hidden_records), &hidden_labels))
        .unwrap_or_else(|| empty_scores(manifest));
    let verdict = match (&hidden.result, manifest.latency.budget_ms) {
        (Some(result), Some(budget)) => Some(judge(result, budget, manifest.latency.percentile())),
        _ => None,
    };
    report.failure = hidden.failure.map(|f| format!("hidden run: {f}"));
    report.hidden = Some(RunReport {
        scores,
        latency: hidden.result.as_ref().map(LatencySummary::of),
        verdict,
        floor,
        resources: hidden.outcome,
    });
    Ok(Evaluation {
        report,
        sample_logs,
        hidden_logs,
    })
}
