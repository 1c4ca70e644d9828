//! Submissions: whether a team may submit now, its quota, and a submission's stages.
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId};
use crate::db::models::phases;
use crate::db::models::scenarios::{self, Scenario};
use crate::db::models::submissions::{self, SubmissionStage};
use crate::db::models::{enrolments, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::teams::SubmissionView;
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct QuotaView {
    pub daily_quota: i32,
    pub used_today: i64,
    pub remaining: i64,
    pub resets_at: String,
}

/// What must hold for a team to submit now: it is the caller's team, it is enrolled, a
/// phase is open and today's quota is not spent. Returns the open phase.
pub fn admission(
    conn: &mut DbConnection,
    scenario_id: &ScenarioId,
    team: &TeamId,
    user: &CurrentUser,
) -> Result<(Scenario, PhaseId, QuotaView), AppError> {
    let scenario = scenarios::find(conn, scenario_id)?
        .filter(|s| user.visibility().can_see(s))
        .ok_or_else(|| AppError::not_found(format_args!("scenario `{scenario_id}`")))?;
    if teams::role_of(conn, team, &user.id)?.is_none() {
        return Err(AppError::forbidden(format!(
            "only members of team `{team}` may submit for it"
        )));
    }
    if enrolments::find(conn, &scenario.id, team)?.is_none() {
        return Err(AppError::conflict(
            "not_enrolled",
            format!(
                "team `{team}` has not enrolled in `{}`; enrol first",
                scenario.id
            ),
        ));
    }
    let now = now_millis();
    let phase = phases::phases_of(conn, &scenario.id)?
        .into_iter()
        .find(|p| p.is_open_at(now))
        .ok_or_else(|| {
            AppError::conflict(
                "phase_closed",
                format!("no phase of `{}` is open now", scenario.id),
            )
        })?;
    let quota = quota(conn, &scenario, team, now)?;
    if quota.remaining <= 0 {
        return Err(AppError::conflict(
            "quota_spent",
            format!(
                "team `{team}` has used all {} submissions for today; the quota resets at {}",
                quota.daily_quota, quota.resets_at
            ),
        ));
    }
    Ok((scenario, phase.id, quota))
}

pub fn quota(
    conn: &mut DbConnection,
    scenario: &Scenario,
    team: &TeamId,
    now: i64,
) -> Result<QuotaView, AppError> {
    let used = submissions::used_today(conn, &scenario.id, team, now)?;
    Ok(QuotaView {
        daily_quota: scenario.daily_quota,
        used_today: used,
        remaining: (i64::from(scenario.daily_quota) - used).max(0),
        resets_at: iso_time(submissions::quota_day_start(now) + 24 * 3600 * 1000),
    })
}

#[derive(Debug, Serialize)]
pub struct StageView {
    pub stage: SubmissionStage,
    pub at: String,
    pub detail: serde_json::Value,
}

#[derive(Debug, Serialize)]
pub struct SubmissionDetail {
    #[serde(flatten)]
    pub submission: SubmissionView,
    pub phase_id: PhaseId,
    pub counts_toward_quota: bool,
    pub failure: Option<String>,
    pub stages: Vec<StageView>,
}

pub fn detail(conn: &mut DbConnection, id: &SubmissionId) -> Result<SubmissionDetail, AppError> {
    let submission = submissions::find(conn, id)?
        .ok_or_else(|| AppError::not_found(format_args!("submission `{id}`")))?;
    let stages = submissions::events_of(conn, id)?
        .into_iter()
        .map(|event| StageView {
            stage: event.stage,
            at: iso_time(event.at),
            detail: serde_json::from_str(&event.detail).unwrap_or(serde_json::Value::Null),
        })
        .collect();
    Ok(SubmissionDetail {
        phase_id: submission.phase_id.clone(),
        counts_toward_quota: submission.counts_toward_quota,
        failure: submission.failure.clone(),
        submission: SubmissionView::from(submission),
        stages,
    })
}
