//! The evaluation queue: jobs claimed under leases, heartbeats, retries of infrastructure
//! failures, the low-priority re-scores a new package version queues, and jobs waiting
//! for a quiet node after disturbed runs.

use diesel::prelude::*;
use jiebang_evaluator::protocol::Outcome;
use jiebang_evaluator::protocol::report::Disturbance;

use crate::db::ids::{JobId, ScenarioId, SubmissionId};
use crate::db::models::submissions::{self, SubmissionStage};
use crate::db::models::{Page, paged, phases};
use crate::db::schema::{jobs, submissions as submissions_table};
use crate::db::{DbConnection, now_millis};

jiebang_scenarios::text_enum! {
    sql;
    /// Where a job is in the queue.
    pub enum JobStatus: "job status" {
        /// Waiting for a worker that fits.
        Queued = "queued",
        /// Held by a worker under a lease.
        Running = "running",
        /// Finished and recorded.
        Done = "done",
        /// Failed for good (the submission's fault, or out of attempts).
        Failed = "failed",
    }
}

/// How often a job is tried when the platform or a worker, not the submission, fails.
pub const DEFAULT_MAX_ATTEMPTS: i32 = 3;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
pub struct Job {
    pub id: JobId,
    pub submission_id: SubmissionId,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<i64>,
    pub heartbeat_at: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The scenario's package version the job evaluates on (see `package_versions`).
    pub package_version: i32,
    /// A re-run on a newer package version of a submission already evaluated: claimed
    /// after every first evaluation, never charged to quota, and never moves the
    /// submission's own stage (its progress is the job's status).
    pub rescore: bool,
    /// Times the job came back because other work on the node disturbed its timed run.
    pub quiet_waits: i32,
    /// No worker claims the job before this time (ms since the epoch).
    pub not_before: Option<i64>,
    /// The figures that passed their thresholds the last time, as JSON.
    pub disturbance: Option<String>,
}

impl Job {
    fn queued(submission: &SubmissionId, package_version: i32, rescore: bool, now: i64) -> Self {
        Self {
            id: JobId::generate(),
            submission_id: submission.clone(),
            status: JobStatus::Queued,
            attempts: 0,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            lease_owner: None,
            lease_expires_at: None,
            heartbeat_at: None,
            last_error: None,
            created_at: now,
            updated_at: now,
            package_version,
            rescore,
            quiet_waits: 0,
            not_before: None,
            disturbance: None,
        }
    }

    /// The figures past their thresholds when the job last came back disturbed.
    pub fn disturbances(&self) -> Vec<Disturbance> {
        self.disturbance
            .as_deref()
            .and_then(|json| serde_json::from_str(json).ok())
            .unwrap_or_default()
    }
}

/// What becomes of a job whose timed run stayed disturbed (the `[measurement]` settings
/// `serve` reads).
#[derive(Debug, Clone)]
pub struct QuietWait {
    /// How long it waits before a worker may claim it again.
    pub wait_millis: i64,
    /// How many times it may come back; the next time it fails, not charged.
    pub max_waits: i32,
}

impl Default for QuietWait {
    fn default() -> Self {
        Self {
            wait_millis: 300_000,
            max_waits: 6,
        }
    }
}

/// Queues a job on `package_version` for a submission and moves the submission to `queued`.
pub fn enqueue(
    conn: &mut DbConnection,
    submission: &SubmissionId,
    package_version: i32,
) -> QueryResult<Job> {
    let job = Job::queued(submission, package_version, false, now_millis());
    diesel::insert_into(jobs::table)
        .values(&job)
        .execute(conn)?;
    submissions::set_stage(
        conn,
        submission,
        SubmissionStage::Queued,
        serde_json::json!({"job_id": job.id}),
    )?;
    Ok(job)
}

/// After `scenario` got package `version`: every submission of its open phases is evaluated
/// on it. Jobs still waiting for a worker take the new version (no run on rules already
/// replaced); every other submission gets a re-score job. Returns how many were queued.
pub fn queue_rescores(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    version: i32,
    now: i64,
) -> QueryResult<usize> {
    let open: Vec<_> = phases::phases_of(conn, scenario)?
        .into_iter()
        .filter(|phase| phase.is_open_at(now))
        .map(|phase| phase.id)
        .collect();
    if open.is_empty() {
        return Ok(0);
    }
    let of_open_phases = || {
        submissions_table::table
            .filter(submissions_table::scenario_id.eq(scenario.clone()))
            .filter(submissions_table::phase_id.eq_any(open.clone()))
            .select(submissions_table::id)
    };
    diesel::update(
        jobs::table
            .filter(jobs::status.eq(JobStatus::Queued))
            .filter(jobs::submission_id.eq_any(of_open_phases())),
    )
    .set((jobs::package_version.eq(version), jobs::updated_at.eq(now)))
    .execute(conn)?;
    let covered: std::collections::HashSet<SubmissionId> = jobs::table
        .filter(jobs::package_version.eq(version))
        .filter(jobs::submission_id.eq_any(of_open_phases()))
        .select(jobs::submission_id)
        .load(conn)?
        .into_iter()
        .collect();
    let submissions: Vec<SubmissionId> = of_open_phases()
        .order((
            submissions_table::created_at.asc(),
            submissions_table::id.asc(),
        ))
        .load(conn)?;
    let rescores: Vec<Job> = submissions
        .iter()
        .filter(|id| !covered.contains(*id))
        .map(|id| Job::queued(id, version, true, now))
        .collect();
    for job in &rescores {
        diesel::insert_into(jobs::table).values(job).execute(conn)?;
    }
    Ok(rescores.len())
}

/// The newest job of a submission on each package version it was queued for, newest
/// version first: how far each evaluation has got.
pub fn latest_per_version(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Vec<Job>> {
    let all: Vec<Job> = jobs::table
        .filter(jobs::submission_id.eq(submission))
        .order((jobs::package_version.desc(), jobs::created_at.desc()))
        .select(Job::as_select())
        .load(conn)?;
    let mut latest: Vec<Job> = Vec::new();
    for job in all {
        if latest
            .last()
            .is_none_or(|l| l.package_version != job.package_version)
        {
            latest.push(job);
        }
    }
    Ok(latest)
}

/// How many submissions of `phase` still wait for (or are in) an evaluation on `version`.
pub fn pending_on(
    conn: &mut DbConnection,
    phase: &crate::db::ids::PhaseId,
    version: i32,
) -> QueryResult<i64> {
    jobs::table
        .inner_join(submissions_table::table)
        .filter(submissions_table::phase_id.eq(phase))
        .filter(jobs::package_version.eq(version))
        .filter(jobs::status.eq_any([JobStatus::Queued, JobStatus::Running]))
        .select(diesel::dsl::count(jobs::submission_id).aggregate_distinct())
        .first(conn)
}

pub fn find(conn: &mut DbConnection, id: &JobId) -> QueryResult<Option<Job>> {
    jobs::table
        .find(id)
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Returns jobs whose lease ran out to the queue, or fails them when no attempt is left.
/// Their submissions' failures do not count toward the team's quota.
pub fn recover_expired(conn: &mut DbConnection, now: i64) -> QueryResult<usize> {
    let expired: Vec<Job> = jobs::table
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::lease_expires_at.lt(now))
        .select(Job::as_select())
        .load(conn)?;
    for job in &expired {
        let owner = job.lease_owner.clone().unwrap_or_default();
        release(
            conn,
            job,
            &format!("the lease of worker {owner} expired"),
            now,
        )?;
    }
    Ok(expired.len())
}

fn release(conn: &mut DbConnection, job: &Job, reason: &str, now: i64) -> QueryResult<()> {
    if job.attempts < job.max_attempts {
        diesel::update(jobs::table.find(&job.id))
            .set((
                jobs::status.eq(JobStatus::Queued),
                jobs::lease_owner.eq(None::<String>),
                jobs::lease_expires_at.eq(None::<i64>),
                jobs::last_error.eq(reason),
                jobs::not_before.eq(None::<i64>),
                jobs::updated_at.eq(now),
            ))
            .execute(conn)?;
        if job.rescore {
            return Ok(());
        }
        submissions::set_stage(
            conn,
            &job.submission_id,
            SubmissionStage::Queued,
            serde_json::json!({"retry": job.attempts + 1, "reason": reason}),
        )
    } else {
        fail(conn, job, reason, false, now)
    }
}

fn fail(
    conn: &mut DbConnection,
    job: &Job,
    reason: &str,
    counts: bool,
    now: i64,
) -> QueryResult<()> {
    diesel::update(jobs::table.find(&job.id))
        .set((
            jobs::status.eq(JobStatus::Failed),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::last_error.eq(reason),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    if job.rescore {
        // The submission was charged (or not) when it was first evaluated; its failure on
        // a newer version is the job's and its result's, shown per version.
        return Ok(());
    }
    diesel::update(submissions_table::table.find(&job.submission_id))
        .set((
            submissions_table::counts_toward_quota.eq(counts),
            submissions_table::failure.eq(reason),
        ))
        .execute(conn)?;
    submissions::set_stage(
        conn,
        &job.submission_id,
        SubmissionStage::Failed,
        serde_json::json!({"reason": reason, "counts_toward_quota": counts}),
    )
}

/// Gives the oldest queued job to `worker` under a lease of `lease_millis`, or `None`;
/// re-scores only when no first evaluation waits.
/// Two workers never hold the same job: the claim is a conditional update that only one
/// of them can win, and PostgreSQL skips rows another transaction is claiming.
pub fn claim(conn: &mut DbConnection, worker: &str, lease_millis: i64) -> QueryResult<Option<Job>> {
    claim_fitting(conn, worker, lease_millis, |_, _| {
        Ok::<_, diesel::result::Error>(true)
    })
}

/// Like [`claim`], but only a job `fits` accepts (one whose scenario's resources the
/// worker's node has); the others stay queued for another worker.
pub fn claim_fitting<E: From<diesel::result::Error>>(
    conn: &mut DbConnection,
    worker: &str,
    lease_millis: i64,
    fits: impl Fn(&mut DbConnection, &Job) -> Result<bool, E>,
) -> Result<Option<Job>, E> {
    let now = now_millis();
    recover_expired(conn, now)?;
    let claimable = jobs::status
        .eq(JobStatus::Queued)
        .and(jobs::not_before.is_null().or(jobs::not_before.le(now)));
    let candidates: Vec<Job> = match conn {
        DbConnection::Postgres(pg) => jobs::table
            .filter(claimable)
            .order((jobs::rescore.asc(), jobs::created_at.asc(), jobs::id.asc()))
            .limit(64)
            .for_update()
            .skip_locked()
            .select(Job::as_select())
            .load(pg)?,
        DbConnection::Sqlite(_) => jobs::table
            .filter(claimable)
            .order((jobs::rescore.asc(), jobs::created_at.asc(), jobs::id.asc()))
            .limit(64)
            .select(Job::as_select())
            .load(conn)?,
    };
    for candidate in candidates {
        if !fits(conn, &candidate)? {
            continue;
        }
        let won = diesel::update(
            jobs::table
                .filter(jobs::id.eq(&candidate.id))
                .filter(jobs::status.eq(JobStatus::Queued)),
        )
        .set((
            jobs::status.eq(JobStatus::Running),
            jobs::attempts.eq(candidate.attempts + 1),
            jobs::lease_owner.eq(worker),
            jobs::lease_expires_at.eq(now + lease_millis),
            jobs::heartbeat_at.eq(now),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
        if won == 1 {
            return Ok(find(conn, &candidate.id)?);
        }
    }
    Ok(None)
}

/// Extends the lease of a job the worker still holds; false when it no longer does
/// (the lease expired and the job went to another worker).
pub fn heartbeat(
    conn: &mut DbConnection,
    job: &JobId,
    worker: &str,
    lease_millis: i64,
) -> QueryResult<bool> {
    let now = now_millis();
    let extended = diesel::update(
        jobs::table
            .filter(jobs::id.eq(job))
            .filter(jobs::status.eq(JobStatus::Running))
            .filter(jobs::lease_owner.eq(worker)),
    )
    .set((
        jobs::lease_expires_at.eq(now + lease_millis),
        jobs::heartbeat_at.eq(now),
        jobs::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(extended == 1)
}

/// The job, if `worker` holds it now (running under its lease).
fn held_by(conn: &mut DbConnection, job: &JobId, worker: &str) -> QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::id.eq(job))
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::lease_owner.eq(worker))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// Records how a held job ended; false when the worker no longer holds it, in which case
/// nothing changes (so a result is recorded exactly once). A disturbed job goes back to
/// wait for a quiet node as `quiet` says, with the figures that passed (`disturbances`).
pub fn complete(
    conn: &mut DbConnection,
    job: &JobId,
    worker: &str,
    outcome: &Outcome,
    (quiet, disturbances): (&QuietWait, &[Disturbance]),
) -> QueryResult<bool> {
    let now = now_millis();
    let Some(held) = held_by(conn, job, worker)? else {
        return Ok(false);
    };
    match outcome {
        Outcome::Finished => {
            diesel::update(jobs::table.find(&held.id))
                .set((
                    jobs::status.eq(JobStatus::Done),
                    jobs::lease_owner.eq(None::<String>),
                    jobs::lease_expires_at.eq(None::<i64>),
                    jobs::updated_at.eq(now),
                ))
                .execute(conn)?;
            if !held.rescore {
                submissions::set_stage(
                    conn,
                    &held.submission_id,
                    SubmissionStage::Done,
                    serde_json::json!({}),
                )?;
            }
        }
        Outcome::SubmissionFailed(reason) => fail(conn, &held, reason, true, now)?,
        Outcome::InfrastructureFailed(reason) => release(conn, &held, reason, now)?,
        Outcome::Disturbed(reason) => {
            wait_for_quiet_node(conn, &held, reason, quiet, disturbances, now)?;
        }
    }
    Ok(true)
}

/// Puts a disturbed job back in the queue, claimable after `quiet.wait_millis`; the attempt
/// it used is added back to its allowance (the node failed to measure, nothing failed to
/// run), and the next keeps a number of its own so its containers' names are new. Past
/// `quiet.max_waits` it fails instead, never charged to the team's quota.
fn wait_for_quiet_node(
    conn: &mut DbConnection,
    job: &Job,
    reason: &str,
    quiet: &QuietWait,
    disturbances: &[Disturbance],
    now: i64,
) -> QueryResult<()> {
    let waits = job.quiet_waits + 1;
    if waits > quiet.max_waits {
        let reason = format!(
            "no node was quiet enough to measure it after {waits} tries ({reason}); \
             not charged to the quota"
        );
        return fail(conn, job, &reason, false, now);
    }
    let not_before = now + quiet.wait_millis;
    let figures = serde_json::to_string(disturbances).unwrap_or_else(|_| "[]".to_owned());
    diesel::update(jobs::table.find(&job.id))
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::max_attempts.eq(job.max_attempts + 1),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::last_error.eq(reason),
            jobs::quiet_waits.eq(waits),
            jobs::not_before.eq(not_before),
            jobs::disturbance.eq(&figures),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    submissions::set_stage(
        conn,
        &job.submission_id,
        SubmissionStage::WaitingForQuietNode,
        serde_json::json!({
            "reason": reason,
            "disturbances": disturbances,
            "waits": waits,
            "not_before": crate::time::iso_time(not_before),
        }),
    )
}

/// A stopping worker gives back a job it holds: queued again at once, in its old place in
/// the queue, and the attempt not counted (nothing failed). False when the worker no longer
/// holds the job.
pub fn hand_back(conn: &mut DbConnection, job: &JobId, worker: &str) -> QueryResult<bool> {
    let now = now_millis();
    let Some(held) = held_by(conn, job, worker)? else {
        return Ok(false);
    };
    diesel::update(jobs::table.find(&held.id))
        .set((
            jobs::status.eq(JobStatus::Queued),
            jobs::attempts.eq((held.attempts - 1).max(0)),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_expires_at.eq(None::<i64>),
            jobs::updated_at.eq(now),
        ))
        .execute(conn)?;
    if !held.rescore {
        submissions::set_stage(
            conn,
            &held.submission_id,
            SubmissionStage::Queued,
            serde_json::json!({"reason": format!("worker {worker} stopped and handed the job back")}),
        )?;
    }
    Ok(true)
}

/// How many jobs are in each state; states without a job are left out.
pub fn count_by_status(conn: &mut DbConnection) -> QueryResult<Vec<(JobStatus, i64)>> {
    jobs::table
        .group_by(jobs::status)
        .select((jobs::status, diesel::dsl::count_star()))
        .load(conn)
}

/// How many queued jobs wait, as (re-score?, count): first evaluations and re-scores.
pub fn queued_by_kind(conn: &mut DbConnection) -> QueryResult<Vec<(bool, i64)>> {
    jobs::table
        .filter(jobs::status.eq(JobStatus::Queued))
        .group_by(jobs::rescore)
        .select((jobs::rescore, diesel::dsl::count_star()))
        .load(conn)
}

/// The queue at a glance.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueCounts {
    /// Waiting for their first attempt.
    pub queued: i64,
    /// Waiting again after an infrastructure failure or an expired lease.
    pub retrying: i64,
    /// Of the waiting ones, re-scores on a new package version.
    pub rescores_waiting: i64,
    /// Held by a worker under a lease.
    pub running: i64,
    /// Sent back by a disturbed timed run, waiting for a quiet node (not counted above).
    pub waiting_for_quiet_node: i64,
    /// When the longest-waiting job was queued (milliseconds).
    pub oldest_queued_at: Option<i64>,
}

/// Counted by the database, however long the queue.
pub fn queue_counts(conn: &mut DbConnection) -> QueryResult<QueueCounts> {
    let waiting = || {
        jobs::table
            .filter(jobs::status.eq(JobStatus::Queued))
            .filter(jobs::not_before.is_null())
    };
    Ok(QueueCounts {
        queued: waiting()
            .filter(jobs::attempts.eq(0))
            .count()
            .get_result(conn)?,
        retrying: waiting()
            .filter(jobs::attempts.gt(0))
            .count()
            .get_result(conn)?,
        rescores_waiting: waiting()
            .filter(jobs::rescore.eq(true))
            .count()
            .get_result(conn)?,
        running: jobs::table
            .filter(jobs::status.eq(JobStatus::Running))
            .count()
            .get_result(conn)?,
        waiting_for_quiet_node: jobs::table
            .filter(jobs::status.eq(JobStatus::Queued))
            .filter(jobs::not_before.is_not_null())
            .count()
            .get_result(conn)?,
        oldest_queued_at: waiting()
            .select(diesel::dsl::min(jobs::created_at))
            .first(conn)?,
    })
}

/// The jobs waiting for a quiet node, those to be claimable soonest first, at most `limit`.
pub fn waiting_for_quiet_node(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::status.eq(JobStatus::Queued))
        .filter(jobs::not_before.is_not_null())
        .order((jobs::not_before.asc(), jobs::id.asc()))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)
}

/// The `limit` oldest jobs a worker could claim now (not waiting for a quiet node).
pub fn claimable_oldest(conn: &mut DbConnection, limit: i64) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::status.eq(JobStatus::Queued))
        .filter(jobs::not_before.is_null())
        .order((jobs::created_at.asc(), jobs::id.asc()))
        .limit(limit)
        .select(Job::as_select())
        .load(conn)
}

/// The submission's own queued job a worker could claim now, if any (not a re-score).
pub fn claimable_of(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Option<Job>> {
    jobs::table
        .filter(jobs::submission_id.eq(submission))
        .filter(jobs::status.eq(JobStatus::Queued))
        .filter(jobs::not_before.is_null())
        .filter(jobs::rescore.eq(false))
        .select(Job::as_select())
        .first(conn)
        .optional()
}

/// The jobs the given workers hold now.
pub fn running_on(conn: &mut DbConnection, workers: &[String]) -> QueryResult<Vec<Job>> {
    jobs::table
        .filter(jobs::status.eq(JobStatus::Running))
        .filter(jobs::lease_owner.eq_any(workers))
        .select(Job::as_select())
        .load(conn)
}

/// A page of the jobs in `status` (waiting and running ones when `None`), in the order
/// workers claim them: first evaluations before re-scores, oldest first.
pub fn list(
    conn: &mut DbConnection,
    status: Option<JobStatus>,
    page: Page,
) -> QueryResult<(Vec<Job>, i64)> {
    let states = status.map_or_else(|| vec![JobStatus::Queued, JobStatus::Running], |s| vec![s]);
    paged!(
        conn,
        page,
        jobs::table.filter(jobs::status.eq_any(states.clone())),
        order: (jobs::rescore.asc(), jobs::created_at.asc(), jobs::id.asc()),
        select: Job::as_select(),
    )
}
