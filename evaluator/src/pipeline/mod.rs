//! One evaluation: the public sample run (logs for the team), then the hidden run (logs for
//! judges), each in a fresh sandbox, scored on the public and private boards.

pub mod scoring;

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use jiebang_sandboxes::{Limits, Mode, RunOutcome, RunSpec, RunningService, Sandbox, Termination};
use jiebang_scenarios::package::{
    Load, Manifest, Mode as ScenarioMode, Record, ScenarioPackage, Task, read_records,
};
use serde::Serialize;

use crate::EvaluatorError;
use crate::harness::connection::{Connection, encode_get};
use crate::harness::oip::{Tensor, encode_request, infer_path};
use crate::harness::verdict::{BudgetVerdict, judge};
use crate::harness::{
    LatencySummary, LoadSpec, Pattern, QueryOutcome, RunResult, null_server, run,
};
use crate::worker::Stage;
use scoring::{Answer, SplitScores, prediction_of, split_scores};

/// What the evaluation needs to know about the job.
pub struct Job<'a> {
    pub job_id: &'a str,
    /// The loaded image's id.
    pub image: &'a str,
    pub package: &'a ScenarioPackage,
    /// CPUs for the container, disjoint from the harness's.
    pub cpuset: Option<String>,
    /// Accelerators leased to this job (empty on CPU nodes and for CPU scenarios).
    pub devices: Vec<jiebang_sandboxes::accelerators::Device>,
}

/// One run (sample or hidden) as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub scores: SplitScores,
    pub latency: Option<LatencySummary>,
    pub verdict: Option<BudgetVerdict>,
    /// The harness against its own null server just before the run: the floor.
    pub floor: Option<LatencySummary>,
    pub resources: RunOutcome,
}

/// Where and how the run happened, so it can be reproduced.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub harness_version: &'static str,
    pub split_seed: u64,
    pub load_seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario_id: String,
    pub image: String,
    pub sample: Option<RunReport>,
    pub hidden: Option<RunReport>,
    /// Set when the submission failed: which limit or error ended it.
    pub failure: Option<String>,
    pub environment: Environment,
    /// Accelerators held times seconds held: what a compute voucher is charged.
    pub device_seconds: f64,
    /// The ids of the accelerators the job held, so utilisation can be shown per device.
    pub devices: Vec<String>,
}

impl Report {
    fn new(manifest: &Manifest, image: &str) -> Self {
        Self {
            scenario_id: manifest.id.clone(),
            image: image.to_owned(),
            sample: None,
            hidden: None,
            failure: None,
            environment: environment(manifest),
            device_seconds: 0.0,
            devices: Vec::new(),
        }
    }
}

/// The report and the logs, which go to different people.
pub struct Evaluation {
    pub report: Report,
    /// The team sees these.
    pub sample_logs: Vec<u8>,
    /// Judges and operators see these; they may carry hidden inputs.
    pub hidden_logs: Vec<u8>,
}

fn environment(manifest: &Manifest) -> Environment {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_default();
    Environment {
        cpu_model,
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_owned(),
        harness_version: env!("CARGO_PKG_VERSION"),
        split_seed: manifest.split.seed,
        load_seed: load_seed(manifest),
    }
}

fn load_seed(manifest: &Manifest) -> u64 {
    manifest.split.seed.rotate_left(17) ^ 0x6a09_e667_f3bc_c908
}

fn labels(path: &Path) -> Result<HashMap<String, serde_json::Value>, EvaluatorError> {
    let text = std::fs::read_to_string(path)?;
    let mut labels = HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let value: serde_json::Value = serde_json::from_str(line)
            .map_err(|e| EvaluatorError::InvalidSpec(format!("{}: {e}", path.display())))?;
        if let Some(id) = value["id"].as_str() {
            labels.insert(id.to_owned(), value["label"].clone());
        }
    }
    Ok(labels)
}

fn records(path: &Path) -> Result<Vec<Record>, EvaluatorError> {
    read_records(path).map_err(|e| EvaluatorError::InvalidSpec(format!("{}: {e}", path.display())))
}

fn spec(
    job: &Job<'_>,
    suffix: &str,
    mode: Mode,
    seconds: u64,
    input_dir: Option<&Path>,
) -> RunSpec {
    let resources = &job.package.manifest.resources;
    RunSpec {
        job_id: format!("{}-{suffix}", job.job_id),
        image: job.image.to_owned(),
        command: None,
        env: vec![(
            "JIEBANG_MODEL".to_owned(),
            job.package.manifest.task.model.clone(),
        )],
        mode,
        limits: Limits {
            wall_clock: Duration::from_secs(seconds),
            memory_bytes: i64::try_from(resources.memory_mb.saturating_mul(1 << 20))
                .unwrap_or(i64::MAX),
            cpus: resources.cpus,
            cpuset: job.cpuset.clone(),
            ..Limits::default()
        },
        input_dir: input_dir.map(Path::to_path_buf),
        devices: job.devices.clone(),
    }
}

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

/// Polls readiness until 200, the container stops, or the start-up limit passes.
async fn wait_ready(service: &RunningService, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    let request = encode_get(&service.address.to_string(), "/v2/health/ready");
    while Instant::now() < deadline {
        if let Ok(mut connection) = Connection::open(service.address).await
            && let Ok(Ok((200, _))) =
                tokio::time::timeout(Duration::from_secs(2), connection.send(&request)).await
        {
            return true;
        }
        if !service.is_running().await {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
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

/// Starts the service, waits for readiness, warms it up, runs the load, stops it.
async fn serve_run(
    sandbox: &Sandbox,
    run_spec: &RunSpec,
    job: &Job<'_>,
    warm_up: &[Bytes],
    bodies: &[Bytes],
    load: &LoadSpec,
) -> Result<ServeRun, EvaluatorError> {
    let manifest = &job.package.manifest;
    let service = sandbox
        .start_service(run_spec)
        .await
        .map_err(|e| EvaluatorError::Platform(format!("sandbox: {e}")))?;
    let startup = Duration::from_secs(manifest.limits.startup_s);
    if !wait_ready(&service, startup).await {
        let outcome = service
            .finish()
            .await
            .map_err(|e| EvaluatorError::Platform(format!("sandbox: {e}")))?;
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
        let outcome = service
            .finish()
            .await
            .map_err(|e| EvaluatorError::Platform(format!("sandbox: {e}")))?;
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
    let outcome = service
        .finish()
        .await
        .map_err(|e| EvaluatorError::Platform(format!("sandbox: {e}")))?;
    let failure = died_early(&outcome);
    Ok(ServeRun {
        result: result.ok(),
        outcome,
        failure,
    })
}

/// Compares `GET /v2/models/{model}` with the scenario's tensors, so a mismatch is reported
/// as one rather than as a run of wrong answers.
async fn check_metadata(address: std::net::SocketAddr, task: &Task) -> Result<(), String> {
    let path = format!("/v2/models/{}", task.model);
    let request = encode_get(&address.to_string(), &path);
    let answer = match Connection::open(address).await {
        Ok(mut connection) => {
            tokio::time::timeout(Duration::from_secs(5), connection.send(&request)).await
        }
        Err(error) => return Err(format!("GET {path}: {error}")),
    };
    let body = match answer {
        Ok(Ok((200, body))) => body,
        Ok(Ok((status, _))) => {
            return Err(format!(
                "GET {path} answered {status}; the server must describe its model"
            ));
        }
        Ok(Err(error)) => return Err(format!("GET {path}: {error}")),
        Err(_) => return Err(format!("GET {path} did not answer within 5 s")),
    };
    let metadata: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| format!("GET {path} is not JSON: {e}"))?;
    for (side, expected) in [("inputs", &task.inputs), ("outputs", &task.outputs)] {
        let declared = metadata[side]
            .as_array()
            .ok_or_else(|| format!("GET {path} lists no {side}"))?;
        for tensor in expected {
            let found = declared
                .iter()
                .find(|d| d["name"] == tensor.name.as_str())
                .ok_or_else(|| format!("the model has no {side} tensor `{}`", tensor.name))?;
            let datatype = found["datatype"].as_str().unwrap_or("");
            if datatype != tensor.datatype {
                return Err(format!(
                    "{side} tensor `{}` is {datatype}; the scenario uses {}",
                    tensor.name, tensor.datatype
                ));
            }
            let shape: Vec<i64> = found["shape"]
                .as_array()
                .map(|d| d.iter().filter_map(serde_json::Value::as_i64).collect())
                .unwrap_or_default();
            let compatible = shape.len() == tensor.shape.len()
                && shape
                    .iter()
                    .zip(&tensor.shape)
                    .all(|(a, b)| a == b || *a == -1 || *b == -1);
            if !compatible {
                return Err(format!(
                    "{side} tensor `{}` has shape {shape:?}; the scenario uses {:?}",
                    tensor.name, tensor.shape
                ));
            }
        }
    }
    Ok(())
}

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

/// Evaluates a loaded image against its scenario. `Err` is an infrastructure failure (the
/// job is retried); a failure of the submission is in the report.
pub async fn evaluate(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    let manifest = &job.package.manifest;
    let root = &job.package.root;
    match manifest.mode {
        ScenarioMode::Serve => evaluate_serve(sandbox, job, on_stage).await,
        ScenarioMode::Batch => {
            crate::pipeline::batch::evaluate_batch(sandbox, job, root, on_stage).await
        }
    }
}

async fn evaluate_serve(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    let manifest = &job.package.manifest;
    let root = &job.package.root;
    let sample_records = records(&root.join("public/samples/inputs.jsonl"))?;
    let sample_labels = labels(&root.join("public/samples/labels.jsonl"))?;
    let hidden_records = records(&root.join("hidden/inputs.jsonl"))?;
    let hidden_labels = labels(&root.join("hidden/labels.jsonl"))?;
    let sample_bodies = bodies(&sample_records, manifest)?;
    let hidden_bodies = bodies(&hidden_records, manifest)?;
    let budget_ms = manifest.latency.budget_ms.unwrap_or(1000.0);
    let timeout = Duration::from_secs_f64((budget_ms * 10.0 / 1000.0).max(1.0));
    let mut report = Report::new(manifest, job.image);

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
        &sample_spec,
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
        &hidden_spec,
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

fn empty_scores(manifest: &Manifest) -> SplitScores {
    SplitScores {
        metric: manifest.metric.name.as_str(),
        public: None,
        private: None,
        all: None,
    }
}

/// Samples are scored as a whole; they belong to neither board.
fn split_scores_all(
    manifest: &Manifest,
    answers: &[Answer],
    labels: &HashMap<String, serde_json::Value>,
) -> SplitScores {
    let whole = split_scores(manifest, answers, labels);
    SplitScores {
        public: None,
        private: None,
        ..whole
    }
}

pub mod batch;
