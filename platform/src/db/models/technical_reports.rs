//! Technical reports: the PDF a team attaches to a submission of the final phase, named by
//! its digest in the content-addressed store.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::schema::{submissions, technical_reports};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = technical_reports)]
pub struct TechnicalReport {
    pub submission_id: SubmissionId,
    pub scenario_id: ScenarioId,
    pub team_id: TeamId,
    /// `sha256:` and 64 hex digits: the file in the blob store.
    pub digest: String,
    pub size: i64,
    pub uploaded_by: Option<UserId>,
    pub uploaded_at: i64,
}

pub fn find(
    conn: &mut DbConnection,
    submission: &SubmissionId,
) -> QueryResult<Option<TechnicalReport>> {
    technical_reports::table
        .find(submission)
        .select(TechnicalReport::as_select())
        .first(conn)
        .optional()
}

/// Attaches the report to its submission, replacing an earlier one; true when new.
pub fn put(conn: &mut DbConnection, report: &TechnicalReport) -> QueryResult<bool> {
    let replaced =
        diesel::delete(technical_reports::table.find(&report.submission_id)).execute(conn)?;
    diesel::insert_into(technical_reports::table)
        .values(report)
        .execute(conn)?;
    Ok(replaced == 0)
}

/// Each team's latest report among its submissions to `phase`, by team: what judges read.
pub fn latest_in_phase(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    phase: &PhaseId,
) -> QueryResult<Vec<TechnicalReport>> {
    let rows: Vec<TechnicalReport> = technical_reports::table
        .inner_join(submissions::table)
        .filter(technical_reports::scenario_id.eq(scenario))
        .filter(submissions::phase_id.eq(phase))
        .order((
            technical_reports::team_id.asc(),
            technical_reports::uploaded_at.desc(),
        ))
        .select(TechnicalReport::as_select())
        .load(conn)?;
    let mut latest: Vec<TechnicalReport> = Vec::new();
    for row in rows {
        if latest.last().is_none_or(|last| last.team_id != row.team_id) {
            latest.push(row);
        }
    }
    Ok(latest)
}

/// Every stored report's digest, so pruning keeps their files.
pub fn digests(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    technical_reports::table
        .select(technical_reports::digest)
        .load(conn)
}
