//! The operator's overview: workers, the queue, and how busy each accelerator was; and the
//! queue itself, job by job.

use std::collections::HashMap;

use jiebang_evaluator::protocol::Device;
use jiebang_evaluator::protocol::report::Disturbance;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::models::Page;
use crate::db::models::jobs::{self, Job, JobStatus, QueueCounts};
use crate::db::models::results::{self, EvaluationResult};
use crate::db::models::slurm_submissions;
use crate::db::models::workers::{self, Worker};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::accelerator_waits::{self, AcceleratorWait};
use crate::services::paging::Paginated;
use crate::state::AppState;
use crate::time::iso_time;

/// The window utilisation is measured over.
pub const UTILISATION_WINDOW_MILLIS: i64 = 24 * 3600 * 1000;

#[derive(Debug, Serialize)]
pub struct CurrentJob {
    pub job_id: String,
    pub submission_id: String,
    pub attempt: i32,
    pub lease_expires_at: Option<String>,
    /// The package version it evaluates on, and whether it re-scores an earlier submission.
    pub package_version: i32,
    pub rescore: bool,
}

#[derive(Debug, Serialize)]
pub struct AcceleratorUse {
    pub id: String,
    pub model: String,
    /// Device-seconds of evaluations that finished in the window.
    pub device_seconds: f64,
    /// The window's length, shortened to the time since the worker registered.
    pub wall_seconds: f64,
    /// `device_seconds / wall_seconds`, at most 1.
    pub utilisation: f64,
}

#[derive(Debug, Serialize)]
pub struct WorkerView {
    pub id: String,
    pub name: String,
    pub cpus: i32,
    pub memory_mb: i64,
    pub accelerators: Vec<AcceleratorUse>,
    pub registered_at: String,
    pub last_seen_at: String,
    pub alive: bool,
    pub current_job: Option<CurrentJob>,
    /// Device-seconds of runs in the window whose devices are not known (older workers).
    pub unattributed_device_seconds: f64,
}

/// A job given back because other work on its node disturbed the timed run, and why.
#[derive(Debug, Serialize)]
pub struct QuietWaitView {
    pub job_id: String,
    pub submission_id: String,
    /// Times it came back disturbed.
    pub waits: i32,
    /// When a worker may claim it again.
    pub not_before: Option<String>,
    /// The worker's words for the last time.
    pub reason: Option<String>,
    /// Each figure that passed its threshold the last time.
    pub disturbances: Vec<Disturbance>,
}

#[derive(Debug, Default, Serialize)]
pub struct QueueView {
    /// Waiting for their first attempt.
    pub queued: i64,
    /// Held by a worker under a lease.
    pub running: i64,
    /// Waiting again after an infrastructure failure or an expired lease.
    pub retrying: i64,
    /// Of the waiting ones, re-scores on a new package version: claimed only when no
    /// first evaluation waits.
    pub rescores_waiting: i64,
    /// Waiting for a quiet node after disturbed timed runs (stage `waiting_for_quiet_node`).
    pub waiting_for_quiet_node: i64,
    pub oldest_queued_at: Option<String>,
    pub oldest_queued_age_seconds: Option<f64>,
    /// The jobs waiting for a quiet node, with the figures that sent them back.
    pub quiet_waits: Vec<QuietWaitView>,
    /// Queued jobs no node can take for want of accelerators, and why.
    pub accelerator_waits: Vec<AcceleratorWait>,
}

/// The most jobs waiting for a quiet node the overview lists (all are counted).
const QUIET_WAITS_LISTED: i64 = 100;

/// How many of the oldest claimable jobs the overview checks for an accelerator shortage.
const ACCELERATOR_WAITS_SCANNED: i64 = 200;

impl QueueView {
    /// The view of `counts`, listing `quiet` (jobs waiting for a quiet node).
    pub fn new(counts: QueueCounts, quiet: &[Job], now: i64) -> Self {
        Self {
            queued: counts.queued,
            running: counts.running,
            retrying: counts.retrying,
            rescores_waiting: counts.rescores_waiting,
            waiting_for_quiet_node: counts.waiting_for_quiet_node,
            oldest_queued_at: counts.oldest_queued_at.map(iso_time),
            oldest_queued_age_seconds: counts
                .oldest_queued_at
                .map(|at| (now - at).max(0) as f64 / 1000.0),
            quiet_waits: quiet
                .iter()
                .map(|job| QuietWaitView {
                    job_id: job.id.0.clone(),
                    submission_id: job.submission_id.0.clone(),
                    waits: job.quiet_waits,
                    not_before: job.not_before.map(iso_time),
                    reason: job.last_error.clone(),
                    disturbances: job.disturbances(),
                })
                .collect(),
            accelerator_waits: Vec::new(),
        }
    }
}

/// Device-seconds in the window: per (worker id, device id), and per worker for runs whose
/// devices are not known.
#[derive(Debug, Default)]
pub struct Usage {
    per_device: HashMap<(String, String), f64>,
    unattributed: HashMap<String, f64>,
}

/// A run's seconds are shared equally among the devices it held.
pub fn usage_of(finished: &[EvaluationResult]) -> Usage {
    let Usage {
        mut per_device,
        mut unattributed,
    } = Usage::default();
    for result in finished {
        let (Some(worker), Some(seconds)) = (&result.worker_id, result.device_seconds) else {
            continue;
        };
        if seconds <= 0.0 {
            continue;
        }
        let devices: Vec<String> = result
            .devices
            .as_deref()
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or_default();
        if devices.is_empty() {
            *unattributed.entry(worker.clone()).or_insert(0.0) += seconds;
            continue;
        }
        let share = seconds / devices.len() as f64;
        for device in devices {
            *per_device.entry((worker.clone(), device)).or_insert(0.0) += share;
        }
    }
    Usage {
        per_device,
        unattributed,
    }
}

pub fn worker_view(
    worker: Worker,
    running: &[Job],
    usage: &Usage,
    now: i64,
    alive_millis: i64,
) -> WorkerView {
    let wall_seconds =
        (now - worker.registered_at.max(now - UTILISATION_WINDOW_MILLIS)).max(1) as f64 / 1000.0;
    let accelerators: Vec<Device> = serde_json::from_str(&worker.accelerators).unwrap_or_default();
    let accelerators = accelerators
        .into_iter()
        .map(|a| {
            let used = usage
                .per_device
                .get(&(worker.id.0.clone(), a.id.clone()))
                .copied()
                .unwrap_or(0.0);
            AcceleratorUse {
                utilisation: (used / wall_seconds).min(1.0),
                device_seconds: used,
                wall_seconds,
                id: a.id,
                model: a.model,
            }
        })
        .collect();
    let current_job = running
        .iter()
        .find(|j| {
            j.status == JobStatus::Running && j.lease_owner.as_deref() == Some(worker.id.as_str())
        })
        .map(|j| CurrentJob {
            job_id: j.id.0.clone(),
            submission_id: j.submission_id.0.clone(),
            attempt: j.attempts,
            lease_expires_at: j.lease_expires_at.map(iso_time),
            package_version: j.package_version,
            rescore: j.rescore,
        });
    WorkerView {
        unattributed_device_seconds: usage
            .unattributed
            .get(worker.id.as_str())
            .copied()
            .unwrap_or(0.0),
        alive: now - worker.last_seen_at <= alive_millis,
        registered_at: iso_time(worker.registered_at),
        last_seen_at: iso_time(worker.last_seen_at),
        id: worker.id.0,
        name: worker.name,
        cpus: worker.cpus,
        memory_mb: worker.memory_mb,
        accelerators,
        current_job,
    }
}

/// What the operator's console shows (the API's and the page's): the queue and a page of
/// the workers.
#[derive(Debug, Serialize)]
pub struct Overview {
    pub at: String,
    pub window_seconds: i64,
    pub workers: Vec<WorkerView>,
    pub page: u32,
    pub per_page: u32,
    /// Workers in all.
    pub total: i64,
    pub queue: QueueView,
}

/// Workers (one page of them), queue and utilisation now; a worker silent for
/// `alive_millis` counts as gone.
pub fn overview_of(
    conn: &mut DbConnection,
    alive_millis: i64,
    page: Page,
) -> Result<Overview, AppError> {
    let now = now_millis();
    let (listed, total) = workers::list(conn, page)?;
    let ids: Vec<String> = listed.iter().map(|w| w.id.0.clone()).collect();
    let running = jobs::running_on(conn, &ids)?;
    let finished = results::finished_since(conn, now - UTILISATION_WINDOW_MILLIS)?;
    let usage = usage_of(&finished);
    let workers: Vec<WorkerView> = listed
        .into_iter()
        .map(|w| worker_view(w, &running, &usage, now, alive_millis))
        .collect();
    Ok(Overview {
        at: iso_time(now),
        window_seconds: UTILISATION_WINDOW_MILLIS / 1000,
        workers,
        page: page.number,
        per_page: page.size,
        total,
        queue: QueueView {
            accelerator_waits: accelerator_waits::waits(
                conn,
                alive_millis,
                ACCELERATOR_WAITS_SCANNED,
            )?,
            ..QueueView::new(
                jobs::queue_counts(conn)?,
                &jobs::waiting_for_quiet_node(conn, QUIET_WAITS_LISTED)?,
                now,
            )
        },
    })
}

/// A job as the operator's queue lists it.
#[derive(Debug, Serialize)]
pub struct JobView {
    pub job_id: String,
    pub submission_id: String,
    pub status: JobStatus,
    /// Attempts so far (the running one included) of `max_attempts`.
    pub attempts: i32,
    pub max_attempts: i32,
    /// The worker holding it, while it runs.
    pub worker_id: Option<String>,
    pub lease_expires_at: Option<String>,
    pub package_version: i32,
    pub rescore: bool,
    pub last_error: Option<String>,
    pub queued_at: String,
    pub updated_at: String,
    /// The Slurm job of the one-shot worker submitted for it and not yet ended (Slurm mode).
    pub slurm_job_id: Option<String>,
}

impl From<Job> for JobView {
    fn from(job: Job) -> Self {
        Self {
            job_id: job.id.0,
            submission_id: job.submission_id.0,
            status: job.status,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            worker_id: job.lease_owner,
            lease_expires_at: job.lease_expires_at.map(iso_time),
            package_version: job.package_version,
            rescore: job.rescore,
            last_error: job.last_error,
            queued_at: iso_time(job.created_at),
            updated_at: iso_time(job.updated_at),
            slurm_job_id: None,
        }
    }
}

/// A page of the jobs in `status` (waiting and running ones when `None`), in the order
/// workers take them.
pub fn jobs_of(
    conn: &mut DbConnection,
    status: Option<JobStatus>,
    page: Page,
) -> Result<Paginated<JobView>, AppError> {
    let (listed, total) = jobs::list(conn, status, page)?;
    let ids: Vec<_> = listed.iter().map(|j| j.id.clone()).collect();
    let submitted = slurm_submissions::outstanding_for(conn, &ids)?;
    Ok(Paginated::of((listed, total), page, |job| {
        let slurm_job_id = submitted
            .iter()
            .find(|(id, _)| *id == job.id)
            .map(|(_, slurm)| slurm.clone());
        JobView {
            slurm_job_id,
            ..JobView::from(job)
        }
    }))
}

/// How long a worker may be silent and still count as alive: two leases (a live worker
/// calls at least once per lease, or per long poll of at most 30 s).
pub fn alive_millis(state: &AppState) -> i64 {
    i64::try_from(state.config.worker.lease_seconds.saturating_mul(2000)).unwrap_or(i64::MAX)
}
