//! Submissions: metadata of the images teams submit (the upload itself lives in storage).

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::{Page, audit};
use crate::db::schema::submissions;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = submissions)]
pub struct Submission {
    pub id: SubmissionId,
    pub scenario_id: ScenarioId,
    pub phase_id: PhaseId,
    pub team_id: TeamId,
    pub submitted_by: UserId,
    pub image_digest: String,
    pub image_size: i64,
    pub status: String,
    pub created_at: i64,
    pub updated_at: i64,
}

pub fn insert(conn: &mut DbConnection, submission: &Submission) -> QueryResult<()> {
    diesel::insert_into(submissions::table)
        .values(submission)
        .execute(conn)?;
    audit::record(
        conn,
        Some(&submission.submitted_by),
        "submission.create",
        "submission",
        submission.id.as_str(),
        serde_json::json!({
            "team_id": submission.team_id,
            "scenario_id": submission.scenario_id,
            "image_digest": submission.image_digest,
        }),
    )
}

/// A team's submissions, newest first.
pub fn for_team(
    conn: &mut DbConnection,
    team: &TeamId,
    page: Page,
) -> QueryResult<(Vec<Submission>, i64)> {
    let total = submissions::table
        .filter(submissions::team_id.eq(team))
        .count()
        .get_result(conn)?;
    let rows = submissions::table
        .filter(submissions::team_id.eq(team))
        .order(submissions::created_at.desc())
        .then_order_by(submissions::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Submission::as_select())
        .load(conn)?;
    Ok((rows, total))
}
