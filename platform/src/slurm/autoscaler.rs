//! The autoscaler inside `serve`: every `poll_seconds` it asks Slurm which of its workers
//! still run, withdraws pending ones whose job no longer waits, and submits a one-shot
//! worker for each queued job that needs accelerators, that no idle live worker can take
//! and that has none submitted yet.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::{Config, SlurmSettings};
use crate::db::ids::{JobId, UserId};
use crate::db::models::jobs::{self, JobStatus};
use crate::db::models::slurm_submissions::{self, SlurmSubmission};
use crate::db::models::workers::{self, Worker};
use crate::db::models::{Page, package_versions, submissions};
use crate::db::{Db, DbConnection, now_millis};
use crate::error::AppError;
use crate::shutdown::Stopping;
use crate::slurm::commands::{self, WorkerCommand};

/// The user every worker submitted to Slurm acts as; its workers are one-shot, so they
/// never count as live workers that could take a job.
pub const SLURM_LOGIN: &str = "slurm-workers";

/// The most queued jobs looked at in one round (oldest first).
const JOBS_LOOKED_AT: u32 = 500;

/// A job to submit a worker for, and the gres it needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Wanted {
    pub job: JobId,
    pub gres: String,
}

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Round {
    /// Slurm job ids submitted, with the job each was for.
    pub submitted: Vec<(String, JobId)>,
    /// Workers Slurm reported ended (or forgot) since the last round.
    pub ended: Vec<String>,
    /// Pending workers withdrawn because their job no longer waited.
    pub cancelled: Vec<String>,
}

pub struct Autoscaler {
    db: Db,
    settings: SlurmSettings,
    worker: WorkerCommand,
    output_dir: PathBuf,
    /// The token travels in the job's environment when there is no token file.
    token: Option<String>,
    slurm_user: UserId,
    alive_millis: i64,
}

impl Autoscaler {
    /// Issues the workers' token (written to `token_file` when one is configured, mode
    /// 0600) and makes the output folder. `platform` is the URL workers reach the platform
    /// on when `[slurm] platform` does not say.
    pub fn new(config: &Config, db: Db, platform: String) -> Result<Self, AppError> {
        let settings = config.slurm.clone();
        let (slurm_user, token) = crate::worker::own_token(&db, SLURM_LOGIN, "Slurm workers")?;
        if let Some(file) = &settings.token_file {
            write_secret(file, &token)?;
        }
        let output_dir = settings
            .output_dir
            .clone()
            .unwrap_or_else(|| config.data_dir.join("slurm"));
        std::fs::create_dir_all(&output_dir).map_err(|e| {
            AppError::Config(format!("slurm.output_dir {}: {e}", output_dir.display()))
        })?;
        let jiebang = match &settings.jiebang {
            Some(path) => path.clone(),
            None => std::env::current_exe().map_err(|e| {
                AppError::Config(format!(
                    "slurm.jiebang is unset and this binary's path is unknown: {e}"
                ))
            })?,
        };
        Ok(Self {
            worker: WorkerCommand {
                jiebang,
                platform: settings.platform.clone().unwrap_or(platform),
                token_file: settings.token_file.clone(),
                args: settings.worker_args.clone(),
                wait_seconds: settings.worker_wait_seconds,
            },
            token: settings.token_file.is_none().then_some(token),
            output_dir,
            slurm_user,
            alive_millis: i64::try_from(config.worker.lease_seconds.saturating_mul(2000))
                .unwrap_or(i64::MAX),
            settings,
            db,
        })
    }

    /// One round: look at Slurm, withdraw, submit. Blocking (database and programs).
    pub fn round(&self) -> Result<Round, AppError> {
        let mut round = Round::default();
        let outstanding = self
            .db
            .read_blocking(|conn| Ok(slurm_submissions::outstanding(conn)?))?;
        let mut still = outstanding.len();
        if !outstanding.is_empty() {
            let listed = commands::squeue(&self.settings)?;
            for submission in &outstanding {
                let id = submission.slurm_job_id.clone();
                let (state, ended) = match listed.get(&id) {
                    // Slurm forgets a job some minutes after it ends (MinJobAge).
                    None => ("ENDED".to_owned(), true),
                    Some(state) if commands::has_ended(state) => (state.clone(), true),
                    Some(state) if state == "PENDING" && !self.still_waits(submission)? => {
                        commands::scancel(&self.settings, &id)?;
                        round.cancelled.push(id.clone());
                        ("CANCELLED".to_owned(), true)
                    }
                    Some(state) => (state.clone(), false),
                };
                if ended {
                    still -= 1;
                    if round.cancelled.last() != Some(&id) {
                        round.ended.push(id.clone());
                    }
                }
                let running = state == "RUNNING";
                self.db.write_blocking(move |conn| {
                    Ok(slurm_submissions::observe(
                        conn,
                        &id,
                        &state,
                        running,
                        ended,
                        now_millis(),
                    )?)
                })?;
            }
        }
        let room = usize::try_from(self.settings.max_outstanding)
            .unwrap_or(usize::MAX)
            .saturating_sub(still);
        if room == 0 {
            return Ok(round);
        }
        let (settings, user, alive) = (
            self.settings.clone(),
            self.slurm_user.clone(),
            self.alive_millis,
        );
        let wanted = self
            .db
            .read_blocking(move |conn| wanted(conn, &settings, &user, alive, room))?;
        for want in wanted {
            let args = commands::sbatch_args(
                &self.settings,
                &self.worker,
                &self.output_dir,
                want.job.as_str(),
                &want.gres,
            );
            let id = commands::sbatch(&self.settings, &args, self.token.as_deref())?;
            let (slurm_id, job, gres) = (id.clone(), want.job.clone(), want.gres.clone());
            let recorded = self.db.write_blocking(move |conn| {
                Ok(slurm_submissions::record(
                    conn,
                    &slurm_id,
                    &job,
                    &gres,
                    now_millis(),
                )?)
            });
            if let Err(error) = recorded {
                // Unrecorded, it would never be counted or withdrawn: take it back.
                let _ = commands::scancel(&self.settings, &id);
                return Err(error);
            }
            tracing::info!(slurm_job = %id, job = %want.job, gres = %want.gres, "submitted a worker to Slurm");
            round.submitted.push((id, want.job));
        }
        Ok(round)
    }

    /// Whether the job a pending worker was submitted for still waits in the queue.
    fn still_waits(&self, submission: &SlurmSubmission) -> Result<bool, AppError> {
        let job = submission.job_id.clone();
        self.db.read_blocking(move |conn| {
            Ok(jobs::find(conn, &job)?.is_some_and(|j| j.status == JobStatus::Queued))
        })
    }

    /// Runs a round every `poll_seconds` on a blocking thread until `stopping` is set;
    /// a failed round is logged and the next one tries again.
    pub fn spawn(self, stopping: Stopping) {
        let every = Duration::from_secs(self.settings.poll_seconds.max(1));
        let autoscaler = std::sync::Arc::new(self);
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    () = stopping.wait() => return,
                }
                let this = std::sync::Arc::clone(&autoscaler);
                match tokio::task::spawn_blocking(move || this.round()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "the Slurm autoscaler's round failed"),
                    Err(error) => tracing::warn!(%error, "the Slurm autoscaler's round stopped"),
                }
            }
        });
    }
}

/// The queued jobs (claimable now, oldest first) that need accelerators, have no worker
/// submitted for them and that no idle live worker other than Slurm's can take; at most
/// `room`. Each idle worker that fits is counted against one job only.
pub fn wanted(
    conn: &mut DbConnection,
    settings: &SlurmSettings,
    slurm_user: &UserId,
    alive_millis: i64,
    room: usize,
) -> Result<Vec<Wanted>, AppError> {
    let now = now_millis();
    let live = workers::seen_since(conn, now - alive_millis, Some(slurm_user))?;
    let ids: Vec<String> = live.iter().map(|w| w.id.0.clone()).collect();
    let busy: Vec<String> = jobs::running_on(conn, &ids)?
        .into_iter()
        .filter_map(|j| j.lease_owner)
        .collect();
    let mut idle: Vec<Worker> = live
        .into_iter()
        .filter(|w| !busy.contains(&w.id.0))
        .collect();
    let page = Page {
        number: 1,
        size: JOBS_LOOKED_AT,
    };
    let (queued, _) = jobs::list(conn, Some(JobStatus::Queued), page)?;
    let queued: Vec<_> = queued
        .into_iter()
        .filter(|j| j.not_before.is_none_or(|at| at <= now))
        .collect();
    let ids: Vec<JobId> = queued.iter().map(|j| j.id.clone()).collect();
    let submitted = slurm_submissions::outstanding_for(conn, &ids)?;
    let mut wanted = Vec::new();
    for job in queued {
        if wanted.len() >= room {
            break;
        }
        if submitted.iter().any(|(id, _)| *id == job.id) {
            continue;
        }
        let Some(submission) = submissions::find(conn, &job.submission_id)? else {
            continue;
        };
        let Some(spec) =
            package_versions::spec_of(conn, &submission.scenario_id, job.package_version)?
        else {
            continue;
        };
        let resources = &spec.manifest.resources;
        if resources.accelerators == 0 {
            continue;
        }
        let mut taker = None;
        for (index, worker) in idle.iter().enumerate() {
            if worker.fits(resources)? {
                taker = Some(index);
                break;
            }
        }
        if let Some(index) = taker {
            idle.remove(index);
            continue;
        }
        wanted.push(Wanted {
            gres: settings.gres_for(
                resources.accelerator_model.as_deref(),
                resources.accelerators,
            ),
            job: job.id,
        });
    }
    Ok(wanted)
}

/// Writes `secret` to `path` readable by its owner alone (0600, also when it existed).
fn write_secret(path: &std::path::Path, secret: &str) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt;
    let problem =
        |e: std::io::Error| AppError::Config(format!("slurm.token_file {}: {e}", path.display()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(problem)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(problem)?;
    file.write_all(secret.as_bytes()).map_err(problem)
}
