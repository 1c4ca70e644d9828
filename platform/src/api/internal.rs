//! The worker API under `/internal/v1`: register, claim under a lease, heartbeat, fetch the
//! image, report stages and the outcome. Only worker tokens get in.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use jiebang_evaluator::protocol::report::BudgetVerdict;
use jiebang_evaluator::protocol::{
    BoardItems, ClaimRequest, ClaimedJob, HandBack, Heartbeat, MAX_RESULT_BODY, Outcome,
    Registered, Registration, Report, ResultBody, StageReport,
};

use crate::api::input::Json;
use crate::auth::WorkerCaller;
use crate::db::DbConnection;
use crate::db::ids::{JobId, SubmissionId, WorkerId};
use crate::db::models::jobs::{self, Job, JobStatus, QuietWait};
use crate::db::models::package_versions;
use crate::db::models::results::{self, EvaluationResult};
use crate::db::models::submissions;
use crate::db::models::workers::{self, Worker};
use crate::error::AppError;
use crate::services::{billing, significance, utilisation};
use crate::state::AppState;

/// The longest a claim request waits for a job before answering 204.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

fn lease_millis(state: &AppState) -> i64 {
    i64::try_from(state.config.worker.lease_seconds.saturating_mul(1000)).unwrap_or(60_000)
}

/// What becomes of a job given back as disturbed (`[measurement]`).
fn quiet_wait(state: &AppState) -> QuietWait {
    let measurement = &state.config.measurement;
    QuietWait {
        wait_millis: i64::try_from(measurement.quiet_wait_seconds.saturating_mul(1000))
            .unwrap_or(i64::MAX),
        max_waits: i32::try_from(measurement.max_quiet_waits).unwrap_or(i32::MAX),
    }
}

fn own_worker(
    conn: &mut DbConnection,
    id: &WorkerId,
    caller: &WorkerCaller,
) -> Result<Worker, AppError> {
    let worker = workers::find(conn, id)?
        .filter(|w| w.user_id == caller.user_id)
        .ok_or_else(|| AppError::missing("worker", id))?;
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
    Ok(HttpResponse::Created().json(Registered {
        worker_id: worker.id.0,
    }))
}

/// Whether the worker's node has what the job's package version asks for: CPUs, memory
/// and accelerators (of the model named, if one is).
/// A scenario without a package asks for nothing (the worker then reports that it has no
/// bundle); a stored spec or inventory that does not parse is an error naming its row.
fn fits(conn: &mut DbConnection, worker: &Worker, job: &Job) -> Result<bool, AppError> {
    let Some(submission) = submissions::find(conn, &job.submission_id)? else {
        return Ok(false);
    };
    let Some(spec) = package_versions::spec_of(conn, &submission.scenario_id, job.package_version)?
    else {
        return Ok(true);
    };
    worker.fits(&spec.manifest.resources)
}

fn claimed(conn: &mut DbConnection, job: Job, lease_seconds: u64) -> Result<ClaimedJob, AppError> {
    let submission = submissions::find(conn, &job.submission_id)?
        .ok_or_else(|| AppError::Internal(format!("job {} has no submission", job.id)))?;
    // The job's own version, not the scenario's current one: a re-score runs on the version
    // it was queued for, and a job queued before a newer upload on the one it names.
    let bundle_digest =
        package_versions::spec_of(conn, &submission.scenario_id, job.package_version)?
            .map(|spec| spec.bundle_digest);
    Ok(ClaimedJob {
        job_id: job.id.0,
        attempt: job.attempts,
        lease_seconds,
        submission_id: submission.id.0,
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
    Json(form): Json<ClaimRequest>,
) -> Result<HttpResponse, AppError> {
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs(form.wait_seconds).min(MAX_WAIT);
    let (lease, lease_seconds) = (lease_millis(&state), state.config.worker.lease_seconds);
    loop {
        // A stopping platform hands out nothing and holds no one: the worker asks again
        // (of the next platform process) instead of holding the stop up for its wait.
        if state.stopping.is_stopping() {
            return Ok(HttpResponse::NoContent().finish());
        }
        // Registered before the attempt, so a job queued in between still wakes us.
        let woken = state.queue_signal.notified();
        let (worker_id, caller) = (WorkerId(form.worker_id.clone()), caller.clone());
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
            state.metrics.job_stage(&job.job_id, "preparing");
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
            () = state.stopping.wait() => {}
        }
    }
}

fn lease_lost(job: &JobId) -> AppError {
    AppError::conflict(
        "lease_lost",
        format!("this worker no longer holds job `{job}`; its lease expired and it was re-queued"),
    )
    .with("job", job)
}

/// Runs `change` (true when it applied) on a job as the calling worker, who must own
/// `worker_id`; 409 `lease_lost` when the worker no longer holds the job.
async fn as_holder(
    state: &AppState,
    caller: WorkerCaller,
    worker_id: String,
    job: JobId,
    change: impl FnOnce(&mut DbConnection, &JobId, &str) -> diesel::QueryResult<bool> + Send + 'static,
) -> Result<(), AppError> {
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &WorkerId(worker_id), &caller)?;
            if change(conn, &job, worker.id.as_str())? {
                Ok(())
            } else {
                Err(lease_lost(&job))
            }
        })
        .await
}

/// `POST /internal/v1/jobs/{id}/heartbeat` — extends the lease; 409 `lease_lost` when gone.
pub async fn heartbeat(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<Heartbeat>,
) -> Result<HttpResponse, AppError> {
    let lease = lease_millis(&state);
    as_holder(
        &state,
        caller,
        form.worker_id,
        path.into_inner(),
        move |conn, job, worker| jobs::heartbeat(conn, job, worker, lease),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /internal/v1/jobs/{id}/hand-back` — a stopping worker gives the job back, which
/// waiting workers may claim at once; 409 `lease_lost` when it no longer held it.
pub async fn hand_back(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<HandBack>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    as_holder(&state, caller, form.worker_id, job.clone(), jobs::hand_back).await?;
    state.metrics.job_ended(job.as_str(), false);
    state.queue_signal.notify_waiters();
    Ok(HttpResponse::NoContent().finish())
}

fn held_job(conn: &mut DbConnection, job: &JobId, worker: &Worker) -> Result<Job, AppError> {
    jobs::find(conn, job)?
        .filter(|j| {
            j.status == JobStatus::Running && j.lease_owner.as_deref() == Some(worker.id.as_str())
        })
        .ok_or_else(|| lease_lost(job))
}

/// `POST /internal/v1/jobs/{id}/stage` — the submission moves to the reported stage.
pub async fn stage(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<StageReport>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    let (timed, stage) = (job.clone(), form.stage);
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &WorkerId(form.worker_id), &caller)?;
            let held = held_job(conn, &job, &worker)?;
            // A re-score's progress is its job's; the submission keeps its own stage.
            if !held.rescore {
                submissions::set_stage(
                    conn,
                    &held.submission_id,
                    form.stage.into(),
                    serde_json::json!({"worker": worker.name, "attempt": held.attempts}),
                )?;
            }
            Ok(())
        })
        .await?;
    state.metrics.job_stage(timed.as_str(), stage.as_str());
    Ok(HttpResponse::NoContent().finish())
}

/// The figures the boards sort by, read from a report.
fn result_row(
    submission: SubmissionId,
    package_version: i32,
    report: &Report,
    report_digest: String,
    [sample_logs_digest, hidden_logs_digest, items_digest]: [Option<String>; 3],
    worker: &WorkerId,
) -> EvaluationResult {
    let hidden = report.hidden_scores();
    let public = hidden.and_then(|s| s.public.as_ref());
    let private = hidden.and_then(|s| s.private.as_ref());
    let sample = report.sample.as_ref().map(|run| &run.scores);
    EvaluationResult {
        submission_id: submission,
        package_version,
        metric: hidden
            .or(sample)
            .map_or("", |scores| scores.metric.as_str())
            .to_owned(),
        public_score: public.map(|s| s.value),
        public_low: public.map(|s| s.low),
        public_high: public.map(|s| s.high),
        private_score: private.map(|s| s.value),
        private_low: private.map(|s| s.low),
        private_high: private.map(|s| s.high),
        sample_score: sample.and_then(|s| s.all.as_ref()).map(|s| s.value),
        within_budget: report
            .hidden
            .as_ref()
            .and_then(|run| run.verdict.as_ref())
            .map(|verdict| verdict.within_budget),
        latency_ms: report.budget_latency_ms(),
        failure: report.failure.clone(),
        report_digest,
        sample_logs_digest,
        hidden_logs_digest,
        worker_id: Some(worker.0.clone()),
        finished_at: crate::db::now_millis(),
        device_seconds: Some(report.device_seconds),
        devices: serde_json::to_string(&report.devices).ok(),
        public_items: count(public.map(|s| s.items)),
        public_items_in_set: count(public.map(|s| s.items_in_set)),
        private_items: count(private.map(|s| s.items)),
        private_items_in_set: count(private.map(|s| s.items_in_set)),
        items_digest,
        budget_uncertain: report
            .hidden
            .as_ref()
            .and_then(|run| run.verdict.as_ref())
            .and_then(BudgetVerdict::close_to_budget),
    }
}

/// An item count as the database keeps it; 0 (a report from before it was recorded)
/// is no count.
fn count(items: Option<usize>) -> Option<i64> {
    items.filter(|n| *n > 0).and_then(|n| i64::try_from(n).ok())
}

/// `POST /internal/v1/jobs/{id}/result` — recorded once; 409 `lease_lost` for a late worker.
pub async fn result(
    state: web::Data<AppState>,
    caller: WorkerCaller,
    path: web::Path<JobId>,
    Json(form): Json<ResultBody, MAX_RESULT_BODY>,
) -> Result<HttpResponse, AppError> {
    let job = path.into_inner();
    let ResultBody {
        worker_id,
        outcome,
        report,
        sample_logs,
        hidden_logs,
        board_items,
    } = form;
    // A disturbed run is nobody's result: nothing of it is stored or ranked; only the
    // figures that passed their thresholds are kept, for the operator.
    let requeued = matches!(
        outcome,
        Outcome::InfrastructureFailed(_) | Outcome::Disturbed(_)
    );
    let disturbances = report
        .as_ref()
        .and_then(|report| report.disturbed())
        .map(|quality| quality.disturbances.clone())
        .unwrap_or_default();
    let quiet = quiet_wait(&state);
    // The devices were held whatever the outcome: their minutes go into the series even
    // for a run that is nobody's result.
    let minutes = report
        .as_ref()
        .map(|report| report.utilisation.clone())
        .unwrap_or_default();
    // Files first (content-addressed, so a retry stores nothing twice), then the records.
    let stored = match report {
        Some(report) if !requeued => {
            let blobs = state.blobs.clone();
            let logs = [sample_logs, hidden_logs];
            // Encoding, gzip and file writes: blocking work, off the server's request threads.
            Some(
                tokio::task::spawn_blocking(move || {
                    crate::db::background_priority();
                    store_files(&blobs, report, logs, board_items)
                })
                .await??,
            )
        }
        _ => None,
    };
    let (worker_id, timed) = (WorkerId(worker_id), job.clone());
    state
        .db
        .write(move |conn| {
            let worker = own_worker(conn, &worker_id, &caller)?;
            let held = held_job(conn, &job, &worker)?;
            let quiet = (&quiet, disturbances.as_slice());
            if !jobs::complete(conn, &job, worker.id.as_str(), &outcome, quiet)? {
                return Err(lease_lost(&job));
            }
            utilisation::record(conn, &worker, &job, &held.submission_id, &minutes)?;
            if let Some((report, report_digest, digests)) = stored {
                let mut row = result_row(
                    held.submission_id.clone(),
                    held.package_version,
                    &report,
                    report_digest,
                    digests,
                    &worker.id,
                );
                // Boards rank results without a failure: a failed outcome is one, whatever
                // its report says.
                if let Outcome::SubmissionFailed(reason) = &outcome
                    && row.failure.is_none()
                {
                    row.failure = Some(reason.clone());
                }
                // Charged in this transaction, once per result; re-scores are the
                // platform's doing, never the team's to pay.
                if results::insert(conn, &row)? && !held.rescore {
                    billing::charge_report(
                        conn,
                        &held,
                        &worker.accelerators,
                        &report,
                        row.finished_at,
                    )?;
                }
            }
            Ok(())
        })
        .await?;
    state.metrics.job_ended(timed.as_str(), true);
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
        .ok_or_else(|| AppError::missing("image", &digest))?;
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

/// A result's files in the blob store: the report, the sample and hidden runs' logs, and the
/// per-item pairs (judges' and the platform's only: no route serves that file).
fn store_files(
    blobs: &crate::storage::BlobStore,
    report: Report,
    [sample_logs, hidden_logs]: [Option<String>; 2],
    board_items: Option<BoardItems>,
) -> Result<(Report, String, [Option<String>; 3]), AppError> {
    let encoded = serde_json::to_vec(&report)
        .map_err(|e| AppError::Internal(format!("encoding a report: {e}")))?;
    let report_digest = blobs.put(&encoded)?.digest;
    let put_text = |text: Option<String>| {
        text.map(|text| blobs.put(text.as_bytes()).map(|b| b.digest))
            .transpose()
    };
    let sample = put_text(sample_logs)?;
    let hidden = put_text(hidden_logs)?;
    let items = board_items
        .map(|items| {
            blobs
                .put(&significance::encode_items(&items)?)
                .map(|b| b.digest)
        })
        .transpose()?;
    Ok((report, report_digest, [sample, hidden, items]))
}
