//! The worker API under `/internal/v1`: register, claim under a lease, heartbeat, fetch the
//! image, report stages and the outcome. Only worker tokens get in.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::api::input::Json;
use crate::auth::WorkerCaller;
use crate::db::DbConnection;
use crate::db::ids::{JobId, SubmissionId, WorkerId};
use crate::db::models::jobs::{self, Job, Outcome};
use crate::db::models::results::{self, EvaluationResult};
use crate::db::models::submissions;
use crate::db::models::workers::{self, Registration, Worker};
use crate::error::AppError;
use crate::state::AppState;

/// The longest a claim request waits for a job before answering 204.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

fn lease_millis(state: &AppState) -> i64 {
    i64::try_from(state.config.worker.lease_seconds.saturating_mul(1000)).unwrap_or(60_000)
}

fn own_worker(
    conn: &mut DbConnection,
    id: &WorkerId,
    caller: &WorkerCaller,
) -> Result<Worker, AppError> {
    let worker = workers::find(conn, id)?
        .filter(|w| w.user_id == caller.user_id)
        .ok_or_else(|| AppError::not_found(format_args!("worker `{id}`")))?;
    workers::seen(conn, id)?;
    Ok(worker)
}

/// `POST /internal/v1/workers` — register a node; answers its worker id.
pub async fn register(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    Json(form): Json<Registration>,
) -> Result<HttpResponse, AppError> {
    let worker = state
        .db
        .write(move |conn| workers::register(conn, &caller.user_id, form))
        .await?;
    Ok(HttpResponse::Created().json(serde_json::json!({"worker_id": worker.id})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimForm {
    pub worker_id: WorkerId,
    /// Seconds to wait for a job (long poll), at most 30.
    #[serde(default)]
    pub wait_seconds: u64,
}

#[derive(Debug, Serialize)]
pub struct ClaimedJob {
    pub job_id: JobId,
    pub attempt: i32,
    pub lease_seconds: u64,
    pub submission_id: SubmissionId,
    pub scenario_id: String,
    pub image_digest: String,
    pub image_size: i64,
    /// The scenario's bundle (manifest, samples, hidden set); `None` when it has none yet.
    pub bundle_digest: Option<String>,
}

/// Whether the worker's node has what the job's scenario asks for: CPUs, memory and
/// accelerators (of the model named, if one is).
fn fits(conn: &mut DbConnection, worker: &Worker, job: &Job) -> diesel::QueryResult<bool> {
    let Some(submission) = submissions::find(conn, &job.submission_id)? else {
        return Ok(false);
    };
    let Some(scenario) = crate::db::models::scenarios::find(conn, &submission.scenario_id)? else {
        return Ok(false);
    };
    let spec: serde_json::Value = serde_json::from_str(&scenario.spec).unwrap_or_default();
    let resources = &spec["manifest"]["resources"];
    let accelerators: Vec<workers::Accelerator> =
        serde_json::from_str(&worker.accelerators).unwrap_or_default();
    let model = resources["gpu_model"].as_str();
    let matching = accelerators
        .iter()
        .filter(|a| model.is_none_or(|m| a.model == m))
        .count() as u64;
    Ok(resources["gpus"].as_u64().unwrap_or(0) <= matching
        && resources["cpus"].as_f64().unwrap_or(0.0) <= f64::from(worker.cpus)
        && resources["memory_mb"].as_i64().unwrap_or(0) <= worker.memory_mb)
}

fn claimed(conn: &mut DbConnection, job: Job, lease_seconds: u64) -> Result<ClaimedJob, AppError> {
    let submission = submissions::find(conn, &job.submission_id)?
        .ok_or_else(|| AppError::Internal(format!("job {} has no submission", job.id)))?;
    let bundle_digest = crate::db::models::scenarios::find(conn, &submission.scenario_id)?
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s.spec).ok())
        .and_then(|spec| spec["bundle_digest"].as_str().map(str::to_owned));
    Ok(ClaimedJob {
        job_id: job.id,
        attempt: job.attempts,
        lease_seconds,
        submission_id: submission.id,
        scenario_id: submission.scenario_id.0,
        image_digest: submission.image_digest,
        image_size: submission.image_size,
        bundle_digest,
    })
}

/// `POST /internal/v1/jobs/claim` — the oldest queued job under a lease, or 204 after the wait.
pub async fn claim(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    Json(form): Json<ClaimForm>,
) -> Result<HttpResponse, AppError> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(form.wait_seconds).min(MAX_WAIT);
    let (lease, lease_seconds) = (lease_millis(&state), state.config.worker.lease_seconds);
    loop {
        // Registered before the attempt, so a job queued in between still wakes us.
        let woken = state.queue_signal.notified();
        let (worker_id, caller) = (form.worker_id.clone(), caller.clone());
        let job = state
            .db
            .write(move |conn| {
                let worker = own_worker(conn, &worker_id, &caller)?;
                jobs::claim_fitting(conn, worker.id.as_str(), lease, |conn, job| {
                    fits(conn, &worker, job)
                })?
                .map(|job| claimed(conn, job, lease_seconds))
                .transpose()
            })
            .await?;
        if let Some(job) = job {
            return Ok(HttpResponse::Ok().json(job));
        }
        // Expired leases are noticed on the next claim, so poll now and then as well.
        let wake_at = deadline.min(tokio::time::Instant::now() + Duration::from_secs(5));
        if tokio::time::Instant::now() >= deadline {
            return Ok(HttpResponse::NoContent().finish());
        }
        tokio::select! {
            () = woken => {}
            () = tokio::time::sleep_until(wake_at) => {}
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerForm {
    pub worker_id: WorkerId,
}

fn lease_lost(job: &JobId) -> AppError {
    AppError::conflict(
        "lease_lost",
        format!("this worker no longer holds job `{job}`; its lease expired and it was re-queued"),
    )
}

/// `POST /internal/v1/jobs/{id}/heartbeat` — extends the lease; 409 `lease_lost` when gone.
pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<WorkerForm>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    let lease = lease_millis(&state);
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &form.worker_id, &caller)?;
            if jobs::heartbeat(conn, &job, worker.id.as_str(), lease)? {
                Ok(())
            } else {
                Err(lease_lost(&job))
            }
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageForm {
    pub worker_id: WorkerId,
    pub stage: RunStage,
}

/// The stages a worker reports while it holds a job.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStage {
    SampleRun,
    HiddenRun,
    Scoring,
}

impl RunStage {
    fn as_str(self) -> &'static str {
        match self {
            Self::SampleRun => "sample_run",
            Self::HiddenRun => "hidden_run",
            Self::Scoring => "scoring",
        }
    }
}

fn held_job(conn: &mut DbConnection, job: &JobId, worker: &Worker) -> Result<Job, AppError> {
    jobs::find(conn, job)?
        .filter(|j| j.status == "running" && j.lease_owner.as_deref() == Some(worker.id.as_str()))
        .ok_or_else(|| lease_lost(job))
}

/// `POST /internal/v1/jobs/{id}/stage` — the submission moves to the reported stage.
pub async fn stage(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<StageForm>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &form.worker_id, &caller)?;
            let held = held_job(conn, &job, &worker)?;
            submissions::set_stage(
                conn,
                &held.submission_id,
                form.stage.as_str(),
                serde_json::json!({"worker": worker.name, "attempt": held.attempts}),
            )?;
            Ok(())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultForm {
    pub worker_id: WorkerId,
    pub outcome: OutcomeKind,
    /// Which limit or error ended a failed run.
    #[serde(default)]
    pub reason: Option<String>,
    /// The evaluation report (metrics per split, latency, resources, environment).
    #[serde(default)]
    pub report: Option<serde_json::Value>,
    /// Logs of the public sample run: the team sees them.
    #[serde(default)]
    pub sample_logs: Option<String>,
    /// Logs of the hidden run: judges and operators only.
    #[serde(default)]
    pub hidden_logs: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Finished,
    SubmissionFailed,
    InfrastructureFailed,
}

/// Reports with logs are larger than ordinary bodies; logs are capped by the sandbox.
pub const MAX_RESULT_BODY: usize = 8 << 20;

/// The figures the boards sort by, read from a report.
fn result_row(
    submission: SubmissionId,
    report: &serde_json::Value,
    report_digest: String,
    sample_logs_digest: Option<String>,
    hidden_logs_digest: Option<String>,
    worker: &WorkerId,
) -> EvaluationResult {
    let hidden = &report["hidden"];
    let part = |name: &str, key: &str| hidden["scores"][name][key].as_f64();
    let percentile = hidden["verdict"]["percentile"].as_f64().unwrap_or(90.0);
    let latency_key = if percentile >= 99.0 {
        "p99_ms"
    } else {
        "p90_ms"
    };
    EvaluationResult {
        submission_id: submission,
        metric: hidden["scores"]["metric"]
            .as_str()
            .or_else(|| report["sample"]["scores"]["metric"].as_str())
            .unwrap_or("")
            .to_owned(),
        public_score: part("public", "value"),
        public_low: part("public", "low"),
        public_high: part("public", "high"),
        private_score: part("private", "value"),
        private_low: part("private", "low"),
        private_high: part("private", "high"),
        sample_score: report["sample"]["scores"]["all"]["value"].as_f64(),
        within_budget: hidden["verdict"]["within_budget"].as_bool(),
        latency_ms: hidden["latency"][latency_key].as_f64(),
        failure: report["failure"].as_str().map(str::to_owned),
        report_digest,
        sample_logs_digest,
        hidden_logs_digest,
        worker_id: Some(worker.0.clone()),
        finished_at: crate::db::now_millis(),
        device_seconds: report["device_seconds"].as_f64(),
        devices: report
            .get("devices")
            .filter(|devices| devices.is_array())
            .map(serde_json::Value::to_string),
    }
}

/// `POST /internal/v1/jobs/{id}/result` — recorded once; 409 `lease_lost` for a late worker.
pub async fn result(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<ResultForm, MAX_RESULT_BODY>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    let reason = form
        .reason
        .clone()
        .unwrap_or_else(|| "no reason given".to_owned());
    let outcome = match form.outcome {
        OutcomeKind::Finished => Outcome::Finished,
        OutcomeKind::SubmissionFailed => Outcome::SubmissionFailed(reason),
        OutcomeKind::InfrastructureFailed => Outcome::InfrastructureFailed(reason),
    };
    let requeued = matches!(outcome, Outcome::InfrastructureFailed(_));
    // Files first (content-addressed, so a retry stores nothing twice), then the records.
    let stored = match (&form.report, requeued) {
        (Some(report), false) => {
            let blobs = &state.blobs;
            let report_digest = blobs.put(report.to_string().as_bytes())?.digest;
            let sample = form
                .sample_logs
                .as_ref()
                .map(|logs| blobs.put(logs.as_bytes()))
                .transpose()?;
            let hidden = form
                .hidden_logs
                .as_ref()
                .map(|logs| blobs.put(logs.as_bytes()))
                .transpose()?;
            Some((
                report.clone(),
                report_digest,
                sample.map(|b| b.digest),
                hidden.map(|b| b.digest),
            ))
        }
        _ => None,
    };
    let worker_id = form.worker_id.clone();
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &worker_id, &caller)?;
            let held = held_job(conn, &job, &worker)?;
            if !jobs::complete(conn, &job, worker.id.as_str(), &outcome)? {
                return Err(lease_lost(&job));
            }
            if let Some((report, report_digest, sample, hidden)) = stored {
                let row = result_row(
                    held.submission_id,
                    &report,
                    report_digest,
                    sample,
                    hidden,
                    &worker.id,
                );
                results::insert(conn, &row)?;
            }
            Ok(())
        })
        .await?;
    if requeued {
        state.queue_signal.notify_waiters();
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /internal/v1/blobs/{digest}` (and `/images/{digest}`) — a stored file (an image
/// archive, a scenario bundle), streamed, for the worker to verify against the digest.
pub async fn blob(
    state: web::Data<AppState>,
    _caller: WorkerCaller,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let digest = path.into_inner();
    let path = state
        .blobs
        .path_of(&digest)
        .filter(|p| p.is_file())
        .ok_or_else(|| AppError::not_found(format_args!("image `{digest}`")))?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| AppError::Internal(format!("cannot open image {digest}: {e}")))?;
    let length = file
        .metadata()
        .await
        .map_err(|e| AppError::Internal(format!("cannot read image {digest}: {e}")))?
        .len();
    Ok(HttpResponse::Ok()
        .content_type("application/x-tar")
        .no_chunking(length)
        .streaming(tokio_util::io::ReaderStream::with_capacity(file, 1 << 20)))
}
