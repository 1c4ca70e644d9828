//! Submissions: metadata of the images teams submit (the upload itself lives in storage).

use diesel::prelude::*;

use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId, UserId};
use crate::db::models::notifications::{self, Notice, NotificationKind};
use crate::db::models::{Page, audit};
use crate::db::schema::{scenarios, submission_events, submissions};
use crate::db::{DbConnection, now_millis};

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
    pub status: SubmissionStage,
    pub created_at: i64,
    pub updated_at: i64,
    /// False when the platform, not the team, caused the failure.
    pub counts_toward_quota: bool,
    /// What ended a failed submission: which limit or error.
    pub failure: Option<String>,
}

/// A step in a submission's life, with when it happened.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = submission_events)]
pub struct SubmissionEvent {
    pub id: i64,
    pub submission_id: SubmissionId,
    pub stage: SubmissionStage,
    pub at: i64,
    pub detail: String,
}

jiebang_scenarios::text_enum! {
    sql;
    /// The stages a submission passes through, in order; the last two are final.
    pub enum SubmissionStage: "submission stage" {
        /// The image is stored whole and its digest verified.
        Stored = "stored",
        /// Waiting for a worker.
        Queued = "queued",
        /// Back in the queue: other work on the node disturbed the timed run, so it waits
        /// for a quiet node (never charged for the disturbed runs).
        WaitingForQuietNode = "waiting_for_quiet_node",
        /// Running on the public samples (logs for the team).
        SampleRun = "sample_run",
        /// Running on the hidden set.
        HiddenRun = "hidden_run",
        /// Answers being scored.
        Scoring = "scoring",
        /// Scored and on the boards.
        Done = "done",
        /// Ended by a failure.
        Failed = "failed",
    }
}

impl From<jiebang_evaluator::protocol::Stage> for SubmissionStage {
    fn from(stage: jiebang_evaluator::protocol::Stage) -> Self {
        use jiebang_evaluator::protocol::Stage;
        match stage {
            Stage::SampleRun => Self::SampleRun,
            Stage::HiddenRun => Self::HiddenRun,
            Stage::Scoring => Self::Scoring,
        }
    }
}

impl SubmissionStage {
    /// Whether nothing more happens to a submission in this stage.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

const DAY_MILLIS: i64 = 24 * 3600 * 1000;
/// Quotas reset at midnight China Standard Time (UTC+8), where the towns are.
const CST_OFFSET_MILLIS: i64 = 8 * 3600 * 1000;

/// The start of the quota day that contains `now`, in milliseconds since the epoch.
pub fn quota_day_start(now: i64) -> i64 {
    (now + CST_OFFSET_MILLIS).div_euclid(DAY_MILLIS) * DAY_MILLIS - CST_OFFSET_MILLIS
}

/// Submissions of the team to the scenario that count toward today's quota.
pub fn used_today(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    team: &TeamId,
    now: i64,
) -> QueryResult<i64> {
    submissions::table
        .filter(submissions::scenario_id.eq(scenario))
        .filter(submissions::team_id.eq(team))
        .filter(submissions::counts_toward_quota.eq(true))
        .filter(submissions::created_at.ge(quota_day_start(now)))
        .count()
        .get_result(conn)
}

/// How many submissions each of `teams` made to the phase, and when the last one came
/// (milliseconds since the epoch): the board's "entries" and "last submission" columns.
pub fn entries_of_teams(
    conn: &mut DbConnection,
    phase: &PhaseId,
    teams: &[TeamId],
) -> QueryResult<Vec<(TeamId, i64, Option<i64>)>> {
    submissions::table
        .filter(submissions::phase_id.eq(phase))
        .filter(submissions::team_id.eq_any(teams))
        .group_by(submissions::team_id)
        .select((
            submissions::team_id,
            diesel::dsl::count_star(),
            diesel::dsl::max(submissions::created_at),
        ))
        .load(conn)
}

/// The team's earlier submission of the same image to the same phase, if any.
pub fn find_same_image(
    conn: &mut DbConnection,
    phase: &PhaseId,
    team: &TeamId,
    digest: &str,
) -> QueryResult<Option<Submission>> {
    submissions::table
        .filter(submissions::phase_id.eq(phase))
        .filter(submissions::team_id.eq(team))
        .filter(submissions::image_digest.eq(digest))
        .select(Submission::as_select())
        .first(conn)
        .optional()
}

/// How many submissions refer to a stored image (to know when its file may go).
pub fn references_to_image(conn: &mut DbConnection, digest: &str) -> QueryResult<i64> {
    submissions::table
        .filter(submissions::image_digest.eq(digest))
        .count()
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, id: &SubmissionId) -> QueryResult<Option<Submission>> {
    submissions::table
        .find(id)
        .select(Submission::as_select())
        .first(conn)
        .optional()
}

pub fn events_of(conn: &mut DbConnection, id: &SubmissionId) -> QueryResult<Vec<SubmissionEvent>> {
    submission_events::table
        .filter(submission_events::submission_id.eq(id))
        .order(submission_events::id.asc())
        .select(SubmissionEvent::as_select())
        .load(conn)
}

/// Moves a submission to a stage and records when, in one step.
pub fn set_stage(
    conn: &mut DbConnection,
    id: &SubmissionId,
    stage: SubmissionStage,
    detail: serde_json::Value,
) -> QueryResult<()> {
    let now = now_millis();
    diesel::update(submissions::table.find(id))
        .set((
            submissions::status.eq(stage),
            submissions::updated_at.eq(now),
        ))
        .execute(conn)?;
    record_event(conn, id, stage, now, detail)?;
    let kind = match stage {
        SubmissionStage::Done => NotificationKind::EvaluationFinished,
        SubmissionStage::Failed => NotificationKind::EvaluationFailed,
        _ => return Ok(()),
    };
    // Every path to an end (a result, a failure, attempts or quiet waits run out) passes
    // here, inside the transaction that records it: the team hears of each end once.
    let (team, scenario, title_zh, title_en): (TeamId, ScenarioId, String, String) =
        submissions::table
            .inner_join(scenarios::table.on(scenarios::id.eq(submissions::scenario_id)))
            .filter(submissions::id.eq(id))
            .select((
                submissions::team_id,
                submissions::scenario_id,
                scenarios::title_zh,
                scenarios::title_en,
            ))
            .first(conn)?;
    notifications::notify_team(
        conn,
        &team,
        &Notice {
            kind,
            params: serde_json::json!({
                "submission_id": id,
                "scenario_id": scenario,
                "scenario_zh": title_zh,
                "scenario_en": title_en,
            }),
            link: format!("/submissions/{id}"),
        },
    )
}

fn record_event(
    conn: &mut DbConnection,
    id: &SubmissionId,
    stage: SubmissionStage,
    at: i64,
    detail: serde_json::Value,
) -> QueryResult<()> {
    diesel::insert_into(submission_events::table)
        .values((
            submission_events::submission_id.eq(id),
            submission_events::stage.eq(stage),
            submission_events::at.eq(at),
            submission_events::detail.eq(detail.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a stored submission, its `stored` stage and the audit entry.
pub fn insert(conn: &mut DbConnection, submission: &Submission) -> QueryResult<()> {
    diesel::insert_into(submissions::table)
        .values(submission)
        .execute(conn)?;
    record_event(
        conn,
        &submission.id,
        SubmissionStage::Stored,
        submission.created_at,
        serde_json::json!({"image_digest": submission.image_digest, "image_size": submission.image_size}),
    )?;
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

/// How long each evaluation that started since `since` (ms) waited for a worker: from the
/// submission's last `queued` event to its `sample_run` event, in milliseconds.
pub fn queue_waits_since(conn: &mut DbConnection, since: i64) -> QueryResult<Vec<i64>> {
    let started: Vec<(SubmissionId, i64)> = submission_events::table
        .filter(submission_events::stage.eq(SubmissionStage::SampleRun))
        .filter(submission_events::at.ge(since))
        .select((submission_events::submission_id, submission_events::at))
        .load(conn)?;
    let mut waits = Vec::with_capacity(started.len());
    // In slices, so a busy month stays within every backend's bound on parameters.
    for chunk in started.chunks(500) {
        let ids: Vec<&SubmissionId> = chunk.iter().map(|(id, _)| id).collect();
        let queued: Vec<(SubmissionId, i64)> = submission_events::table
            .filter(submission_events::stage.eq(SubmissionStage::Queued))
            .filter(submission_events::submission_id.eq_any(ids))
            .select((submission_events::submission_id, submission_events::at))
            .load(conn)?;
        for (id, at) in chunk {
            let last_queued = queued
                .iter()
                .filter(|(q, queued_at)| q == id && queued_at <= at)
                .map(|(_, queued_at)| *queued_at)
                .max();
            waits.extend(last_queued.map(|queued_at| at - queued_at));
        }
    }
    Ok(waits)
}

/// The scenario of each of `ids` that exists, in one query.
pub fn scenarios_of(
    conn: &mut DbConnection,
    ids: &[SubmissionId],
) -> QueryResult<std::collections::HashMap<SubmissionId, ScenarioId>> {
    Ok(submissions::table
        .filter(submissions::id.eq_any(ids))
        .select((submissions::id, submissions::scenario_id))
        .load::<(SubmissionId, ScenarioId)>(conn)?
        .into_iter()
        .collect())
}
