//! Serve mode: the submission is an Open Inference Protocol server; the harness checks its
//! readiness and metadata, warms it up and sends the inputs following the load pattern,
//! each step on the harness's own clock: readiness within the start-up limit, the rest
//! within the run's limit.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_sandboxes::{Mode, RunOutcome, RunSpec, Sandbox, Termination};
use jiebang_scenarios::package::{Load, Manifest, Record};

use crate::EvaluatorError;
use crate::harness::answer::first_output;
use crate::harness::connection::{DEFAULT_MAX_ANSWER_BYTES, DEFAULT_RUN_ANSWER_BYTES};
use crate::harness::measure::timed_run;
use crate::harness::oip::{Tensor, check_metadata, encode_request, infer_path, wait_ready};
use crate::harness::quality::{MeasurementPolicy, MeasurementQuality};
use crate::harness::verdict::judge;
use crate::harness::{
    LatencySummary, LoadSpec, Pattern, QueryOutcome, RunResult, keep_nothing, run,
};
use crate::pipeline::scoring::{Answer, notes, split_scores};
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

/// The answers of a run, one per query. When the deadline cut the run, every item never
/// asked counts as unanswered: a server too slow to be asked everything is not scored on
/// the easy part alone.
fn answers(result: &RunResult, records: &[Record]) -> Vec<Answer> {
    let mut answers: Vec<Answer> = result
        .records
        .iter()
        .map(|query| Answer {
            id: records[query.sample].id.clone(),
            prediction: match &query.outcome {
                QueryOutcome::Answered { status: 200, value } => value.clone(),
                _ => None,
            },
        })
        .collect();
    if result.cut_by_deadline {
        let asked: HashSet<usize> = result.records.iter().map(|q| q.sample).collect();
        answers.extend(
            records
                .iter()
                .enumerate()
                .filter(|(sample, _)| !asked.contains(sample))
                .map(|(_, record)| Answer {
                    id: record.id.clone(),
                    prediction: None,
                }),
        );
    }
    answers
}

/// The largest answer accepted: generous for the declared output tensors (64 bytes of
/// JSON an element), never less than the default, never more than 64 MiB.
fn answer_cap(manifest: &Manifest) -> usize {
    let elements = manifest
        .task
        .outputs
        .iter()
        .try_fold(0usize, |sum, tensor| {
            let count = tensor.shape.iter().try_fold(1usize, |product, dim| {
                usize::try_from(*dim)
                    .ok()
                    .and_then(|d| product.checked_mul(d))
            })?;
            sum.checked_add(count)
        });
    elements
        .and_then(|n| n.checked_mul(64))
        .map_or(DEFAULT_MAX_ANSWER_BYTES, |bytes| {
            bytes
                .saturating_add(64 << 10)
                .clamp(DEFAULT_MAX_ANSWER_BYTES, 64 << 20)
        })
}

/// Why the server's run ended early, if it did. In serve mode only the harness stops the
/// container, so a run past the container's own deadline was still stopped by the harness.
fn died_early(outcome: &mut RunOutcome) -> Option<String> {
    match outcome.termination {
        Termination::Stopped => None,
        Termination::WallClock => {
            outcome.termination = Termination::Stopped;
            None
        }
        ref other => Some(format!("the server {other} during the run")),
    }
}

struct ServeRun {
    result: Option<RunResult>,
    outcome: RunOutcome,
    failure: Option<String>,
    /// The floor before the kept timed run, and how far that run can be trusted (measured
    /// runs only).
    floor: Option<LatencySummary>,
    quality: Option<MeasurementQuality>,
}

/// The time limit of one run, and the words the report uses for it.
pub(super) struct RunLimit {
    pub seconds: u64,
    pub name: &'static str,
}

/// Starts the service, waits for readiness (within the start-up limit), then checks its
/// metadata, warms it up and runs the load, all within `limit` from readiness; queries
/// still out when it runs out are cancelled. A `measured` run is the timed run: measured
/// for interference and repeated while disturbed (see `harness::measure`). Stops the
/// service.
async fn serve_run(
    sandbox: &Sandbox,
    (which, run_spec): (&str, &RunSpec),
    job: &Job<'_>,
    (warm_up, bodies): (&[Bytes], &[Bytes]),
    load: &LoadSpec,
    limit: &RunLimit,
    measured: Option<&MeasurementPolicy>,
) -> Result<ServeRun, EvaluatorError> {
    let manifest = &job.package.manifest;
    let service = sandbox
        .start_service(run_spec)
        .await
        .map_err(EvaluatorError::in_run(which))?;
    let startup = Duration::from_secs(manifest.limits.startup_s);
    if !wait_ready(service.address, startup, || service.is_running()).await {
        let mut outcome = service.finish().await?;
        let failure = match died_early(&mut outcome) {
            None => format!(
                "the server was not ready within the start-up limit of {} s",
                startup.as_secs()
            ),
            Some(_) => format!("the server {} before it was ready", outcome.termination),
        };
        return Ok(ServeRun {
            result: None,
            outcome,
            failure: Some(failure),
            floor: None,
            quality: None,
        });
    }
    let mut deadline = Instant::now() + Duration::from_secs(limit.seconds);
    let out_of_time = || {
        format!(
            "the {} time limit of {} s (warm-up, accuracy and timed queries) ran out; \
             queries still out were cancelled and the server stopped",
            limit.name, limit.seconds
        )
    };
    let remaining = deadline.saturating_duration_since(Instant::now());
    if let Err(mismatch) = check_metadata(service.address, &manifest.task, remaining).await {
        let mut outcome = service.finish().await?;
        let failure = died_early(&mut outcome).unwrap_or(mismatch);
        return Ok(ServeRun {
            result: None,
            outcome,
            failure: Some(failure),
            floor: None,
            quality: None,
        });
    }
    let path = infer_path(&manifest.task.model);
    let load = LoadSpec {
        deadline: Some(deadline),
        ..load.clone()
    };
    let mut cut = false;
    if !warm_up.is_empty() {
        let warm = LoadSpec {
            pattern: Pattern::SingleStream,
            min_duration: Duration::ZERO,
            min_queries: warm_up.len() as u64,
            keep: keep_nothing,
            ..load.clone()
        };
        cut = run(service.address, &path, warm_up, &warm)
            .await
            .is_ok_and(|r| r.cut_by_deadline);
    }
    let (mut floor, mut quality) = (None, None);
    let result = if cut {
        Err(None)
    } else if let Some(policy) = measured {
        let cgroup = service.cgroup().await;
        let budget = manifest.latency.budget_ms;
        let timed = timed_run(
            policy,
            (&cgroup, budget),
            load.timeout,
            deadline,
            async |deadline| {
                let load = LoadSpec {
                    deadline: Some(deadline),
                    ..load.clone()
                };
                run(service.address, &path, bodies, &load).await
            },
        )
        .await;
        (deadline, floor, quality) = (timed.deadline, timed.floor, timed.quality);
        timed.result.map_err(Some)
    } else {
        run(service.address, &path, bodies, &load)
            .await
            .map_err(Some)
    };
    let mut outcome = service.finish().await?;
    let failure = died_early(&mut outcome).or_else(|| match &result {
        Ok(result) if result.cut_by_deadline => Some(out_of_time()),
        Ok(_) => None,
        Err(None) => Some(out_of_time()),
        Err(Some(error)) if Instant::now() >= deadline => {
            Some(format!("{}: {error}", out_of_time()))
        }
        Err(Some(error)) => Some(format!("the load could not start: {error}")),
    });
    Ok(ServeRun {
        result: result.ok(),
        outcome,
        failure,
        floor,
        quality,
    })
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
        max_answer_bytes: answer_cap(manifest),
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline: None,
    };
    let sample_limit = RunLimit {
        seconds: manifest.limits.sample_run_s,
        name: "sample run's",
    };
    let sample = serve_run(
        sandbox,
        ("sample", &sample_spec),
        job,
        (&[], &sample_bodies),
        &sample_load,
        &sample_limit,
        None,
    )
    .await?;
    let sample_logs = sample.outcome.logs.clone();
    let sample_scores = sample.result.as_ref().map(|r| {
        let answers = answers(r, &sample_records);
        let scores = split_scores_all(manifest, &answers, &sample_labels);
        report
            .notes
            .extend(notes("sample run", manifest, &answers, &scores));
        scores
    });
    report.sample = Some(RunReport {
        scores: sample_scores.unwrap_or_else(|| empty_scores(manifest)),
        latency: sample.result.as_ref().map(LatencySummary::of),
        verdict: None,
        floor: None,
        quality: None,
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
        max_answer_bytes: answer_cap(manifest),
        max_run_answer_bytes: DEFAULT_RUN_ANSWER_BYTES,
        keep: first_output,
        deadline: None,
    };
    let hidden_limit = RunLimit {
        seconds: manifest.limits.hidden_run_s,
        name: "hidden run's",
    };
    let hidden = serve_run(
        sandbox,
        ("hidden", &hidden_spec),
        job,
        (&sample_bodies, &hidden_bodies),
        &hidden_load,
        &hidden_limit,
        Some(&job.measurement),
    )
    .await?;
    on_stage(Stage::Scoring);
    let hidden_logs = hidden.outcome.logs.clone();
    let scores = hidden
        .result
        .as_ref()
        .map(|r| {
            let answers = answers(r, &hidden_records);
            let scores = split_scores(manifest, &answers, &hidden_labels);
            report
                .notes
                .extend(notes("hidden run", manifest, &answers, &scores));
            scores
        })
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
        floor: hidden.floor,
        quality: hidden.quality,
        resources: hidden.outcome,
    });
    Ok(Evaluation {
        report,
        sample_logs,
        hidden_logs,
    })
}
