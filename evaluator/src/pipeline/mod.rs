//! One evaluation: the public sample run (logs for the team), then the hidden run (logs for
//! judges), each in a fresh sandbox, scored on the public and private boards. The serve
//! and batch modes each have a module; what they share is here.

mod accuracy;
pub mod batch;
mod requests;
pub mod scoring;
pub mod serve;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiebang_sandboxes::accelerators::Device;
use jiebang_sandboxes::{Limits, Mode, RunSpec, Sandbox};
use jiebang_scenarios::package::{
    Manifest, Mode as ScenarioMode, Record, ScenarioPackage, read_labels, read_records,
};

use crate::EvaluatorError;
use crate::harness::quality::MeasurementPolicy;
use crate::protocol::Stage;
use crate::protocol::report::{Environment, Report, SplitScores};
use scoring::{Answer, split_scores};

/// What the evaluation needs to know about the job.
pub struct Job<'a> {
    pub job_id: &'a str,
    /// The loaded image's id.
    pub image: &'a str,
    pub package: &'a ScenarioPackage,
    /// CPUs for the container, disjoint from the harness's.
    pub cpuset: Option<String>,
    /// Accelerators leased to this job (empty on CPU nodes and for CPU scenarios).
    pub devices: Vec<Device>,
    /// When a timed run counts as disturbed, and how it is repeated.
    pub measurement: MeasurementPolicy,
}

/// The report and the logs, which go to different people.
pub struct Evaluation {
    pub report: Report,
    /// The team sees these.
    pub sample_logs: Vec<u8>,
    /// Judges and operators see these; they may carry hidden inputs.
    pub hidden_logs: Vec<u8>,
}

/// An empty report for `manifest`'s scenario and `image`, with the environment filled in.
fn new_report(manifest: &Manifest, image: &str) -> Report {
    Report {
        scenario_id: manifest.id.clone(),
        image: image.to_owned(),
        sample: None,
        hidden: None,
        failure: None,
        notes: Vec::new(),
        environment: environment(manifest),
        device_seconds: 0.0,
        devices: Vec::new(),
        accelerators: Vec::new(),
        utilisation: Vec::new(),
    }
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
        harness_version: env!("CARGO_PKG_VERSION").to_owned(),
        split_seed: manifest.split.seed,
        load_seed: load_seed(manifest),
    }
}

fn load_seed(manifest: &Manifest) -> u64 {
    manifest.split.seed.rotate_left(17) ^ 0x6a09_e667_f3bc_c908
}

/// A set of the package (`public/samples`, `hidden`): its inputs and its labels by id.
fn data_set(
    root: &Path,
    set: &str,
) -> Result<(Vec<Record>, HashMap<String, serde_json::Value>), EvaluatorError> {
    let dir = root.join(set);
    Ok((
        read_records(&dir.join("inputs.jsonl"))?,
        read_labels(&dir.join("labels.jsonl"))?,
    ))
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

/// Evaluates a loaded image against its scenario. `Err` is an infrastructure failure (the
/// job is retried); a failure of the submission is in the report.
pub async fn evaluate(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    match job.package.manifest.mode {
        ScenarioMode::Serve => serve::evaluate_serve(sandbox, job, on_stage).await,
        ScenarioMode::Batch => batch::evaluate_batch(sandbox, job, on_stage).await,
    }
}

fn empty_scores(manifest: &Manifest) -> SplitScores {
    SplitScores {
        metric: manifest.metric.name,
        public: None,
        private: None,
        all: None,
        items: None,
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
        items: None,
        ..whole
    }
}
