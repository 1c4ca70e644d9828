//! Results: what an evaluation found, by board, with the budget verdict; the report itself
//! and the logs are files in the content-addressed store.

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::prelude::*;
use serde::Serialize;

use crate::db::ids::SubmissionId;
use crate::db::models::board_entries;
use crate::db::schema::results;
use crate::db::{DbConnection, MultiBackend};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = results)]
pub struct EvaluationResult {
    pub submission_id: SubmissionId,
    /// The scenario's package version the evaluation ran on.
    pub package_version: i32,
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
    /// Items of the public board's part scored, and items that part holds: equal for a
    /// finished run (`None` for results recorded before they were kept).
    pub public_items: Option<i64>,
    pub public_items_in_set: Option<i64>,
    /// The same for the private board's part.
    pub private_items: Option<i64>,
    pub private_items_in_set: Option<i64>,
    /// The stored per-item pairs of the hidden run (see `services::significance`); never
    /// shown to anyone, so never serialized. `None` for results without them.
    #[serde(skip)]
    pub items_digest: Option<String>,
    /// The budget lies inside the latency percentile's confidence interval: the verdict
    /// could go either way. `None` without a budget, or from workers that predate it.
    pub budget_uncertain: Option<bool>,
}

/// Stores a result and enters it on its phase's boards, in one transaction; a second
/// result for the same submission and package version replaces nothing (the first,
/// recorded under the job's lease, stands). The one way a result is written: the worker
/// API's results and re-scores both come here.
pub fn insert(conn: &mut DbConnection, result: &EvaluationResult) -> QueryResult<bool> {
    conn.transaction(|conn| {
        let existing = results::table
            .find((&result.submission_id, result.package_version))
            .count()
            .get_result::<i64>(conn)?;
        if existing > 0 {
            return Ok(false);
        }
        diesel::insert_into(results::table)
            .values(result)
            .execute(conn)?;
        board_entries::enter(conn, result)?;
        Ok(true)
    })
}

/// The submission's result on the newest package version it has one for: the current
/// version's once its re-score is in, the earlier one until then.
pub fn find(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Option<EvaluationResult>> {
    newest_first(submission).first(conn).optional()
}

/// Every result of a submission, one per package version, newest version first.
pub fn of_submission(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Vec<EvaluationResult>> {
    newest_first(submission).load(conn)
}

fn newest_first(
    submission: &SubmissionId,
) -> results::BoxedQuery<'static, MultiBackend, SqlTypeOf<AsSelect<EvaluationResult, MultiBackend>>>
{
    results::table
        .filter(results::submission_id.eq(submission.clone()))
        .order(results::package_version.desc())
        .select(EvaluationResult::as_select())
        .into_boxed()
}

/// The results finished since `since` (milliseconds), for utilisation over a window.
pub fn finished_since(conn: &mut DbConnection, since: i64) -> QueryResult<Vec<EvaluationResult>> {
    results::table
        .filter(results::finished_at.ge(since))
        .select(EvaluationResult::as_select())
        .load(conn)
}
