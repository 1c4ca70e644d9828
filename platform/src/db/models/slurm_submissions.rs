//! One-shot workers submitted to Slurm for queued jobs that need accelerators, until Slurm
//! says they ended.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::JobId;
use crate::db::schema::slurm_submissions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = slurm_submissions)]
pub struct SlurmSubmission {
    /// Slurm's job id (what `sbatch --parsable` printed).
    pub slurm_job_id: String,
    /// The queued job it was submitted for (the worker may take another that fits).
    pub job_id: JobId,
    /// What `--gres` asked for (`gpu:1`).
    pub gres: String,
    /// Slurm's word for its state when last looked at (`PENDING`, `RUNNING`, `COMPLETED`…).
    pub state: String,
    pub submitted_at: i64,
    /// When the platform first saw it running.
    pub started_at: Option<i64>,
    /// When the platform saw it end (or vanish from `squeue`); from then on it no longer
    /// counts as outstanding.
    pub ended_at: Option<i64>,
}

/// Records a worker Slurm accepted, as pending.
pub fn record(
    conn: &mut DbConnection,
    slurm_job_id: &str,
    job: &JobId,
    gres: &str,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(slurm_submissions::table)
        .values(SlurmSubmission {
            slurm_job_id: slurm_job_id.to_owned(),
            job_id: job.clone(),
            gres: gres.to_owned(),
            state: "PENDING".to_owned(),
            submitted_at: now,
            started_at: None,
            ended_at: None,
        })
        .execute(conn)
        .map(drop)
}

/// The submissions that have not ended, oldest first.
pub fn outstanding(conn: &mut DbConnection) -> QueryResult<Vec<SlurmSubmission>> {
    slurm_submissions::table
        .filter(slurm_submissions::ended_at.is_null())
        .order((
            slurm_submissions::submitted_at.asc(),
            slurm_submissions::slurm_job_id.asc(),
        ))
        .select(SlurmSubmission::as_select())
        .load(conn)
}

/// The outstanding submission of each of `jobs` that has one: (job, Slurm job id).
pub fn outstanding_for(
    conn: &mut DbConnection,
    jobs: &[JobId],
) -> QueryResult<Vec<(JobId, String)>> {
    slurm_submissions::table
        .filter(slurm_submissions::ended_at.is_null())
        .filter(slurm_submissions::job_id.eq_any(jobs))
        .select((slurm_submissions::job_id, slurm_submissions::slurm_job_id))
        .load(conn)
}

/// Every submission made for `job`, oldest first (what the operator and the tests read).
pub fn of_job(conn: &mut DbConnection, job: &JobId) -> QueryResult<Vec<SlurmSubmission>> {
    slurm_submissions::table
        .filter(slurm_submissions::job_id.eq(job))
        .order(slurm_submissions::submitted_at.asc())
        .select(SlurmSubmission::as_select())
        .load(conn)
}

/// Stores what Slurm says of a submission now: its state, when it was first seen running,
/// and whether it has ended.
pub fn observe(
    conn: &mut DbConnection,
    slurm_job_id: &str,
    state: &str,
    running: bool,
    ended: bool,
    now: i64,
) -> QueryResult<()> {
    let row = slurm_submissions::table.filter(slurm_submissions::slurm_job_id.eq(slurm_job_id));
    diesel::update(row)
        .set(slurm_submissions::state.eq(state))
        .execute(conn)?;
    if running {
        diesel::update(row.filter(slurm_submissions::started_at.is_null()))
            .set(slurm_submissions::started_at.eq(now))
            .execute(conn)?;
    }
    if ended {
        diesel::update(row.filter(slurm_submissions::ended_at.is_null()))
            .set(slurm_submissions::ended_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}
