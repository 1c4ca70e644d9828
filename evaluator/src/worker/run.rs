//! The worker loop: claim a job, keep its lease alive, fetch what it needs, evaluate,
//! report; on every path the image is removed and the lease released.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiebang_sandboxes::accelerators::Allocator;
use jiebang_sandboxes::{ImportedImage, Sandbox, SandboxConfig, SandboxError};
use jiebang_scenarios::package::{ScenarioPackage, validate_bundle};

use crate::EvaluatorError;
use crate::harness::quality::MeasurementPolicy;
use crate::pipeline::{Evaluation, Job, evaluate};
use crate::protocol::{ClaimedJob, Outcome, Registration, Stage};
use crate::worker::pinning::{parse_cpus, process_cpus};
use crate::worker::utilisation::{SAMPLE_EVERY, Sampler};
use crate::worker::{BlobCache, PlatformClient, stop};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub platform: String,
    pub token: String,
    pub name: String,
    /// Downloads by digest: images and scenario bundles.
    pub cache_dir: PathBuf,
    /// The most the cache may hold; files used longest ago go first.
    pub cache_max_bytes: u64,
    /// CPUs for submissions, disjoint from the harness's (for example `1`).
    pub cpuset: Option<String>,
    pub sandbox: SandboxConfig,
    /// Remove what crashed workers left (anything labelled `jiebang.job`) at start-up. Only
    /// right when this is the one worker on its Docker engine.
    pub sweep_on_start: bool,
    /// When a timed run counts as disturbed by other work on the node, and how often it is
    /// repeated before the job goes back to the queue.
    pub measurement: MeasurementPolicy,
}

/// Runs until `shutdown` resolves; a job in progress then is stopped and handed back.
pub async fn run_worker(
    config: WorkerConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), EvaluatorError> {
    run(config, None, shutdown).await.map(drop)
}

/// What a one-shot worker ([`run_once`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Once {
    /// It claimed this job and saw it to its end (whatever the submission's outcome).
    Evaluated { job_id: String },
    /// No job it could take came within the wait.
    NothingClaimed,
    /// `shutdown` resolved first (a job it held went back to the queue).
    Stopped,
}

/// A one-shot worker (`jiebang worker --once`, as a Slurm job runs it): registers, waits at
/// most `wait` for one job it can take, evaluates and reports it, and returns.
pub async fn run_once(
    config: WorkerConfig,
    wait: Duration,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Once, EvaluatorError> {
    run(config, Some(wait), shutdown).await
}

/// The worker loop; with `once`, it ends after the first job or when `once` has passed
/// without one.
async fn run(
    config: WorkerConfig,
    once: Option<Duration>,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<Once, EvaluatorError> {
    let sandbox = Sandbox::connect(config.sandbox.clone()).await?;
    if config.sweep_on_start {
        let swept = sandbox.sweep().await;
        if swept > 0 {
            tracing::info!(swept, "removed what an earlier worker left behind");
        }
    }
    let client = Arc::new(PlatformClient::new(&config.platform, &config.token));
    // A submission gets the containers' CPUs, not the node's: that is what a job must fit.
    let cpus = config
        .cpuset
        .as_deref()
        .and_then(|list| parse_cpus(list).ok())
        .map_or_else(|| process_cpus().len().max(1), |cpus| cpus.len());
    let node = Registration {
        name: config.name.clone(),
        cpus: u32::try_from(cpus).unwrap_or(1),
        memory_mb: memory_mb(),
        accelerators: config.sandbox.accelerators.clone(),
    };
    let worker_id = register_with_retry(&client, &node).await?;
    let devices: Vec<String> = node.accelerators.iter().map(|d| d.describe()).collect();
    tracing::info!(%worker_id, platform = %config.platform, accelerators = ?devices, "worker registered");
    let cache = BlobCache::new(&config.cache_dir);
    let allocator = Allocator::new(config.sandbox.accelerators.clone());
    let deadline = once.map(|wait| tokio::time::Instant::now() + wait);
    tokio::pin!(shutdown);
    loop {
        let poll = deadline.map_or(Duration::from_secs(30), |deadline| {
            deadline
                .saturating_duration_since(tokio::time::Instant::now())
                .clamp(Duration::from_secs(1), Duration::from_secs(30))
        });
        let claim = tokio::select! {
            () = &mut shutdown => return Ok(Once::Stopped),
            claim = client.claim(&worker_id, poll) => claim,
        };
        match claim {
            Ok(Some(job)) => {
                let id = job.job_id.clone();
                let work = process(
                    &client, &worker_id, &sandbox, &allocator, &cache, &config, job,
                );
                let clean_up = stop::clean_up(&sandbox);
                let ended =
                    stop::until_stopped(&client, &worker_id, &id, work, clean_up, &mut shutdown);
                if ended.await == stop::Ended::HandedBack {
                    return Ok(Once::Stopped);
                }
                if once.is_some() {
                    return Ok(Once::Evaluated { job_id: id });
                }
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "claim failed; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
        if deadline.is_some_and(|deadline| tokio::time::Instant::now() >= deadline) {
            return Ok(Once::NothingClaimed);
        }
    }
}

async fn register_with_retry(
    client: &PlatformClient,
    node: &Registration,
) -> Result<String, EvaluatorError> {
    let mut delay = Duration::from_millis(200);
    for _ in 0..10 {
        match client.register(node).await {
            Ok(id) => return Ok(id),
            Err(error) => {
                tracing::warn!(%error, "registration failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
    client.register(node).await
}

fn memory_mb() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            })
        })
        .map_or(1024, |kb| kb / 1024)
}

async fn process(
    client: &Arc<PlatformClient>,
    worker: &str,
    sandbox: &Sandbox,
    allocator: &Allocator,
    cache: &BlobCache,
    config: &WorkerConfig,
    job: ClaimedJob,
) {
    tracing::info!(job = %job.job_id, submission = %job.submission_id, attempt = job.attempt, "job claimed");
    // The lease is renewed at a third of its length; a lost lease stops nothing here, but
    // the result will then be refused and the job is someone else's.
    let heartbeat = {
        let (client, worker, id) = (Arc::clone(client), worker.to_owned(), job.job_id.clone());
        let every = Duration::from_secs((job.lease_seconds / 3).max(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                match client.heartbeat(&worker, &id).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(job = %id, "lease lost");
                        break;
                    }
                    Err(error) => tracing::warn!(job = %id, %error, "heartbeat failed"),
                }
            }
        })
    };
    let (stages, mut reported) = tokio::sync::mpsc::unbounded_channel::<Stage>();
    let stage_reporter = {
        let (client, worker, id) = (Arc::clone(client), worker.to_owned(), job.job_id.clone());
        tokio::spawn(async move {
            while let Some(stage) = reported.recv().await {
                if let Err(error) = client.stage(&worker, &id, stage).await {
                    tracing::warn!(job = %id, %error, "could not report a stage");
                }
            }
        })
    };
    let (outcome, evaluation) =
        evaluate_job(client, sandbox, allocator, cache, config, &job, &stages).await;
    drop(stages);
    let _ = stage_reporter.await;
    heartbeat.abort();
    tracing::info!(job = %job.job_id, ?outcome, "job done");
    if let Err(error) = client
        .result(worker, &job.job_id, outcome, evaluation)
        .await
    {
        tracing::warn!(job = %job.job_id, %error, "could not report the result");
    }
}

async fn evaluate_job(
    client: &PlatformClient,
    sandbox: &Sandbox,
    allocator: &Allocator,
    cache: &BlobCache,
    config: &WorkerConfig,
    job: &ClaimedJob,
    stages: &tokio::sync::mpsc::UnboundedSender<Stage>,
) -> (Outcome, Option<Evaluation>) {
    let Some(bundle_digest) = &job.bundle_digest else {
        return infrastructure("the scenario", &"has no hidden set on the platform yet");
    };
    let pruned = cache.prune(config.cache_max_bytes, &[bundle_digest, &job.image_digest]);
    if pruned > 0 {
        tracing::info!(bytes = pruned, "pruned the download cache");
    }
    let bundle = match client.bundle(bundle_digest, cache).await {
        Ok(bundle) => bundle,
        Err(error) => return infrastructure("fetching the scenario bundle", &error),
    };
    let package = match validate_bundle(&bundle) {
        Ok(package) => package,
        Err(report) => return infrastructure("the scenario bundle", &report),
    };
    let archive = match client.image(&job.image_digest, cache).await {
        Ok(archive) => archive,
        Err(error) => return infrastructure("fetching the image", &error),
    };
    // Each attempt names its containers afresh, so leftovers of an earlier attempt (a worker
    // that died) can never collide with this one.
    let attempt_id = format!("{}-{}", job.job_id, job.attempt);
    let trial = Trial {
        sandbox,
        allocator,
        package: &package,
        cpuset: config.cpuset.clone(),
        measurement: config.measurement.clone(),
    };
    trial
        .evaluate(&archive, &attempt_id, &|stage| {
            let _ = stages.send(stage);
        })
        .await
}

/// What an evaluation of an image archive needs besides the archive: the worker's, and
/// `jiebang try`'s on a team's own machine.
pub struct Trial<'a> {
    pub sandbox: &'a Sandbox,
    pub allocator: &'a Allocator,
    pub package: &'a ScenarioPackage,
    /// CPUs for the container, disjoint from the harness's.
    pub cpuset: Option<String>,
    pub measurement: MeasurementPolicy,
}

impl Trial<'_> {
    /// Checks and loads the `docker save` archive at `archive` under the worker's own
    /// reference for `load_id`, evaluates it and removes that reference, whatever happened:
    /// any other tag of the same image (a team's own, on a shared engine) stays, and so
    /// does the image.
    pub async fn evaluate(
        &self,
        archive: &Path,
        load_id: &str,
        on_stage: &(dyn Fn(Stage) + Sync),
    ) -> (Outcome, Option<Evaluation>) {
        let image = match self.sandbox.import_archive(archive, load_id).await {
            Ok(image) => image,
            Err(SandboxError::Archive(reason)) => {
                return (
                    Outcome::SubmissionFailed(format!("the image was refused: {reason}")),
                    None,
                );
            }
            Err(error) => return infrastructure("loading the image", &error),
        };
        let resources = &self.package.manifest.resources;
        // Held for the whole evaluation and returned on drop, whatever happens.
        let lease = match self.allocator.acquire(
            resources.accelerators as usize,
            resources.accelerator_model.as_deref(),
        ) {
            Ok(lease) => lease,
            Err(error) => {
                self.remove(&image).await;
                return infrastructure("accelerators", &error);
            }
        };
        let pipeline_job = Job {
            job_id: load_id,
            image: &image.id,
            package: self.package,
            cpuset: self.cpuset.clone(),
            devices: lease.devices().to_vec(),
            measurement: self.measurement.clone(),
        };
        // Busy % and memory where the vendor's tool tells, leased time always.
        let sampler = Sampler::start(lease.devices().to_vec(), SAMPLE_EVERY);
        let result = evaluate(self.sandbox, &pipeline_job, on_stage).await;
        self.remove(&image).await;
        let (accelerators, utilisation) = sampler.finish().await;
        let device_seconds = lease.device_seconds();
        let devices: Vec<String> = lease.devices().iter().map(|d| d.id.clone()).collect();
        drop(lease);
        outcome_of(result.map(|mut evaluation| {
            evaluation.report.held_devices(devices, device_seconds);
            evaluation.report.accelerators = accelerators;
            evaluation.report.utilisation = utilisation;
            evaluation
        }))
    }

    async fn remove(&self, image: &ImportedImage) {
        if let Err(error) = self.sandbox.remove_image(image).await {
            tracing::debug!(%error, "image already removed");
        }
    }
}

fn infrastructure(what: &str, error: &dyn std::fmt::Display) -> (Outcome, Option<Evaluation>) {
    (
        Outcome::InfrastructureFailed(format!("{what}: {error}")),
        None,
    )
}

/// Who is charged for an evaluation: a failure of the submission (in its report, or found
/// by the sandbox) counts against its quota; only a failure of the platform is retried. A
/// timed run that stayed disturbed is nobody's result, whatever it found: the job waits for
/// a quiet node.
fn outcome_of(result: Result<Evaluation, EvaluatorError>) -> (Outcome, Option<Evaluation>) {
    match result {
        Ok(evaluation) => {
            let outcome = match (&evaluation.report.failure, evaluation.report.disturbed()) {
                (_, Some(quality)) => {
                    let reasons: Vec<String> =
                        quality.disturbances.iter().map(|d| d.to_string()).collect();
                    Outcome::Disturbed(format!(
                        "the timed run was disturbed by other work on the node in each of \
                         {} tries: {}",
                        quality.attempts,
                        reasons.join("; ")
                    ))
                }
                (Some(failure), None) => Outcome::SubmissionFailed(failure.clone()),
                (None, None) => Outcome::Finished,
            };
            (outcome, Some(evaluation))
        }
        Err(error) => match error.submission_fault() {
            Some(fault) => (Outcome::SubmissionFailed(fault.to_owned()), None),
            None => (
                Outcome::InfrastructureFailed(format!("evaluation: {error}")),
                None,
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_submissions_faults_are_charged_to_it_and_only_the_platforms_retried() {
        let fault = EvaluatorError::in_run("sample")(SandboxError::Submission(
            "the image has no entry point and no command to run".into(),
        ));
        assert_eq!(
            outcome_of(Err(fault)).0,
            Outcome::SubmissionFailed(
                "sample run: the image has no entry point and no command to run".into()
            )
        );
        let engine = EvaluatorError::in_run("hidden")(SandboxError::Unreachable("gone".into()));
        assert!(matches!(
            outcome_of(Err(engine)).0,
            Outcome::InfrastructureFailed(reason) if reason.contains("gone")
        ));
    }
}
