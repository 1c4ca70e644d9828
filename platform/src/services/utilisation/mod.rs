//! Utilisation as the compute centre sees it: the minutes each worker reports with a
//! result go into the series, and the operator's figures are read back from it.

pub mod figures;

use jiebang_evaluator::protocol::report::UsageMinute;

use crate::db::DbConnection;
use crate::db::ids::{JobId, SubmissionId};
use crate::db::models::usage_samples::{self, MINUTE_SECONDS, UsageSample};
use crate::db::models::workers::Worker;
use crate::db::models::{scenarios, submissions};
use crate::error::AppError;

/// Stores the minutes of one evaluation on `worker`, each with its node, scenario and
/// town; sent again, they replace the first copy.
pub fn record(
    conn: &mut DbConnection,
    worker: &Worker,
    job: &JobId,
    submission: &SubmissionId,
    minutes: &[UsageMinute],
) -> Result<usize, AppError> {
    if minutes.is_empty() {
        return Ok(0);
    }
    let Some(submission) = submissions::find(conn, submission)? else {
        return Ok(0);
    };
    let town = scenarios::find(conn, &submission.scenario_id)?
        .map(|s| s.organization_id.0)
        .unwrap_or_default();
    let rows: Vec<UsageSample> = minutes
        .iter()
        .map(|minute| UsageSample {
            worker_id: worker.id.0.clone(),
            node: worker.name.clone(),
            device_id: minute.device_id.clone(),
            model: minute.model.clone(),
            scenario_id: submission.scenario_id.0.clone(),
            town: town.clone(),
            job_id: job.0.clone(),
            period_start: minute.minute_start_ms,
            period_seconds: MINUTE_SECONDS,
            leased_seconds: minute.leased_seconds.clamp(0.0, 60.0),
            busy_percent: minute.busy_percent.map(|b| b.clamp(0.0, 100.0)),
            busy_samples: i32::try_from(minute.busy_samples).unwrap_or(i32::MAX),
            memory_peak_bytes: minute.memory_peak_bytes.and_then(|m| i64::try_from(m).ok()),
        })
        .collect();
    Ok(usage_samples::record_job(conn, job.as_str(), &rows)?)
}
