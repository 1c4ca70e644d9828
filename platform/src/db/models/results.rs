//! Results: what an evaluation found, by board, with the budget verdict; the report itself
//! and the logs are files in the content-addressed store.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId};
use crate::db::models::submissions::SubmissionStage;
use crate::db::schema::{results, submissions, teams};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = results)]
pub struct EvaluationResult {
    pub submission_id: SubmissionId,
    pub metric: String,
    pub public_score: Option<f64>,
    pub public_low: Option<f64>,
    pub public_high: Option<f64>,
    pub private_score: Option<f64>,
    pub private_low: Option<f64>,
    pub private_high: Option<f64>,
    pub sample_score: Option<f64>,
    pub within_budget: Option<bool>,
    pub latency_ms: Option<f64>,
    pub failure: Option<String>,
    pub report_digest: String,
    pub sample_logs_digest: Option<String>,
    pub hidden_logs_digest: Option<String>,
    pub worker_id: Option<String>,
    pub finished_at: i64,
    /// Accelerators held times seconds held, as the worker metered it.
    pub device_seconds: Option<f64>,
    /// JSON list of the device ids the run held (`None` from workers that predate it).
    pub devices: Option<String>,
    /// The stored per-item pairs of the hidden run (see `services::significance`); never
    /// shown to anyone, so never serialized. `None` for results without them.
    #[serde(skip)]
    pub items_digest: Option<String>,
    /// The budget lies inside the latency percentile's confidence interval: the verdict
    /// could go either way. `None` without a budget, or from workers that predate it.
    pub budget_uncertain: Option<bool>,
}

/// Stores a result; a second result for the same submission replaces nothing (the first,
/// recorded under the job's lease, stands).
pub fn insert(conn: &mut DbConnection, result: &EvaluationResult) -> QueryResult<bool> {
    if find(conn, &result.submission_id)?.is_some() {
        return Ok(false);
    }
    diesel::insert_into(results::table)
        .values(result)
        .execute(conn)?;
    Ok(true)
}

pub fn find(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Option<EvaluationResult>> {
    results::table
        .find(submission)
        .select(EvaluationResult::as_select())
        .first(conn)
        .optional()
}

/// A scored submission of a phase, with its team's name, for the boards.
#[derive(Debug, Clone, Queryable)]
pub struct BoardRow {
    pub submission_id: SubmissionId,
    pub team_id: String,
    pub team_name: String,
    pub created_at: i64,
    pub result: EvaluationResult,
}

pub fn board_rows(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    phase: &PhaseId,
) -> QueryResult<Vec<BoardRow>> {
    results::table
        .inner_join(submissions::table.inner_join(teams::table))
        .filter(submissions::scenario_id.eq(scenario))
        .filter(submissions::phase_id.eq(phase))
        .filter(submissions::status.eq(SubmissionStage::Done))
        .select((
            submissions::id,
            teams::id,
            teams::name,
            submissions::created_at,
            EvaluationResult::as_select(),
        ))
        .load(conn)
}

/// The results finished since `since` (milliseconds), for utilisation over a window.
pub fn finished_since(conn: &mut DbConnection, since: i64) -> QueryResult<Vec<EvaluationResult>> {
    results::table
        .filter(results::finished_at.ge(since))
        .select(EvaluationResult::as_select())
        .load(conn)
}
