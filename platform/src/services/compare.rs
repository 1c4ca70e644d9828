//! Judges compare two to four submissions side by side.

use jiebang_evaluator::protocol::report::{BudgetVerdict, LatencySummary, RunOutcome, SplitScores};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{ScenarioId, SubmissionId, TeamId};
use crate::db::models::submissions::SubmissionStage;
use crate::db::models::{results, submissions, teams};
use crate::error::AppError;
use crate::services::boards::stored_report;
use crate::storage::BlobStore;
use crate::time::iso_time;

/// How many submissions one comparison takes: fewer is no comparison, more does not fit
/// side by side.
pub const COMPARE_MIN: usize = 2;

pub const COMPARE_MAX: usize = 4;

#[derive(Debug, Serialize)]
pub struct Column {
    pub submission_id: SubmissionId,
    pub team_id: TeamId,
    pub team_name: String,
    pub status: SubmissionStage,
    pub submitted_at: String,
    pub failure: Option<String>,
    pub report_digest: Option<String>,
    /// The hidden run's scores: `public`, `private` and `all`, each `{value, low, high}`.
    pub scores: Option<SplitScores>,
    /// The public sample run's scores.
    pub sample_scores: Option<SplitScores>,
    /// p50 … max and mean of the hidden run, with the achieved rate and errors.
    pub latency: Option<LatencySummary>,
    /// Whether the run stayed within the latency budget, and at which percentile.
    pub verdict: Option<BudgetVerdict>,
    /// CPU, memory, throttling and the like of the hidden run.
    pub resources: Option<RunOutcome>,
    pub device_seconds: Option<f64>,
}

pub fn bad_query(message: String) -> AppError {
    AppError::BadRequest {
        code: "bad_query",
        message: format!("query parameter `submissions`: {message}"),
    }
}

/// One column per submission asked for, in order; every one must be of the scenario (the
/// API's and the judge console's).
pub fn columns_of(
    conn: &mut DbConnection,
    blobs: &BlobStore,
    user: &CurrentUser,
    scenario: &ScenarioId,
    ids: &[SubmissionId],
) -> Result<Vec<Column>, AppError> {
    let scenario = crate::services::scenarios::visible(conn, scenario, &user.visibility())?;
    let mut columns = Vec::with_capacity(ids.len());
    for id in ids {
        let submission = submissions::find(conn, id)?
            .filter(|s| s.scenario_id == scenario.id)
            .ok_or_else(|| {
                bad_query(format!(
                    "`{id}` is not a submission of scenario `{}`",
                    scenario.id
                ))
            })?;
        let team_name = teams::find(conn, &submission.team_id)?
            .map(|t| t.name)
            .unwrap_or_default();
        let result = results::find(conn, id)?;
        let report = result
            .as_ref()
            .map(|r| stored_report(blobs, r))
            .transpose()?;
        let (sample, hidden) = report.map_or((None, None), |r| (r.sample, r.hidden));
        let (scores, latency, verdict, resources) = match hidden {
            Some(run) => (
                Some(run.scores),
                run.latency,
                run.verdict,
                Some(run.resources),
            ),
            None => (None, None, None, None),
        };
        columns.push(Column {
            submission_id: submission.id,
            team_id: submission.team_id,
            team_name,
            status: submission.status,
            submitted_at: iso_time(submission.created_at),
            failure: submission.failure,
            report_digest: result.as_ref().map(|r| r.report_digest.clone()),
            scores,
            sample_scores: sample.map(|run| run.scores),
            latency,
            verdict,
            resources,
            device_seconds: result.and_then(|r| r.device_seconds),
        });
    }
    Ok(columns)
}

/// The distinct ids asked for, in the order given, within the bounds.
pub fn parse_ids(list: &str) -> Result<Vec<SubmissionId>, AppError> {
    let mut ids: Vec<SubmissionId> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let id = SubmissionId::from(part);
        if ids.contains(&id) {
            return Err(bad_query(format!("`{part}` is named twice")));
        }
        ids.push(id);
    }
    if !(COMPARE_MIN..=COMPARE_MAX).contains(&ids.len()) {
        return Err(bad_query(format!(
            "name {COMPARE_MIN} to {COMPARE_MAX} submissions separated by commas, not {}",
            ids.len()
        )));
    }
    Ok(ids)
}
