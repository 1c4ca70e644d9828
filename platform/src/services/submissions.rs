//! Submissions: whether a team may submit now, its quota, and a submission's stages.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId};
use crate::db::models::jobs::{self, JobStatus};
use crate::db::models::phases;
use crate::db::models::scenarios::{self, Scenario};
use crate::db::models::submissions::{self, Submission, SubmissionStage};
use crate::db::models::{enrolments, package_versions, results, teams};
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
/// phase is open, today's quota is not spent, and something can pay for the evaluation
/// (compute vouchers, a sponsorship or credit, when compute is priced). Returns the open
/// phase.
pub fn admission(
    conn: &mut DbConnection,
    scenario_id: &ScenarioId,
    team: &TeamId,
    user: &CurrentUser,
) -> Result<(Scenario, PhaseId, QuotaView), AppError> {
    let scenario = scenarios::find(conn, scenario_id)?
        .filter(|s| user.visibility().can_see(s))
        .ok_or_else(|| AppError::missing("scenario", scenario_id))?;
    if teams::role_of(conn, team, &user.id)?.is_none() {
        return Err(AppError::forbidden(
            "team_members_only",
            format!("only members of team `{team}` may submit for it"),
        )
        .with("team", team));
    }
    if enrolments::find(conn, &scenario.id, team)?.is_none() {
        return Err(AppError::conflict(
            "not_enrolled",
            format!(
                "team `{team}` has not enrolled in `{}`; enrol first",
                scenario.id
            ),
        )
        .with("team", team)
        .with("scenario", &scenario.id));
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
            .with("scenario", &scenario.id)
        })?;
    let quota = quota(conn, &scenario, team, now)?;
    if quota.remaining <= 0 {
        return Err(AppError::conflict(
            "quota_spent",
            format!(
                "team `{team}` has used all {} submissions for today; the quota resets at {}",
                quota.daily_quota, quota.resets_at
            ),
        )
        .with("team", team)
        .with("daily_quota", quota.daily_quota)
        .with("resets_at", &quota.resets_at));
    }
    crate::services::billing::admit(conn, &scenario, team, now)?;
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

/// The submission's evaluation on one package version: its first evaluation, or a
/// re-score after a new version. Public figures only (the private board's scores are the
/// report's, shown by its rules).
#[derive(Debug, Serialize)]
pub struct VersionEvaluation {
    pub package_version: i32,
    /// Whether this version is the one the scenario's boards rank now.
    pub current: bool,
    /// A re-score, queued by a new version: never charged to quota.
    pub rescore: bool,
    /// `queued`, `running`, `done` or `failed`.
    pub status: JobStatus,
    pub public_score: Option<f64>,
    pub within_budget: Option<bool>,
    pub latency_ms: Option<f64>,
    pub failure: Option<String>,
    pub finished_at: Option<String>,
}

/// One row per package version the submission was queued for or scored on, newest first.
pub fn evaluations_of(
    conn: &mut DbConnection,
    submission: &Submission,
) -> Result<Vec<VersionEvaluation>, AppError> {
    let current = scenarios::find(conn, &submission.scenario_id)?
        .map_or(package_versions::NO_PACKAGE, |s| s.package_version);
    let results = results::of_submission(conn, &submission.id)?;
    let latest_jobs = jobs::latest_per_version(conn, &submission.id)?;
    let mut versions: Vec<i32> = results
        .iter()
        .map(|r| r.package_version)
        .chain(latest_jobs.iter().map(|j| j.package_version))
        .collect();
    versions.sort_unstable_by(|a, b| b.cmp(a));
    versions.dedup();
    Ok(versions
        .into_iter()
        .map(|version| {
            let result = results.iter().find(|r| r.package_version == version);
            let job = latest_jobs.iter().find(|j| j.package_version == version);
            let status = match (job, result) {
                (Some(job), _) => job.status,
                (None, Some(result)) if result.failure.is_some() => JobStatus::Failed,
                (None, _) => JobStatus::Done,
            };
            VersionEvaluation {
                package_version: version,
                current: version == current,
                rescore: job.is_some_and(|j| j.rescore),
                status,
                public_score: result.and_then(|r| r.public_score),
                within_budget: result.and_then(|r| r.within_budget),
                latency_ms: result.and_then(|r| r.latency_ms),
                failure: result.and_then(|r| r.failure.clone()).or_else(|| {
                    job.filter(|j| j.status == JobStatus::Failed)
                        .and_then(|j| j.last_error.clone())
                }),
                finished_at: result.map(|r| iso_time(r.finished_at)),
            }
        })
        .collect())
}

#[derive(Debug, Serialize)]
pub struct SubmissionDetail {
    #[serde(flatten)]
    pub submission: SubmissionView,
    pub phase_id: PhaseId,
    pub counts_toward_quota: bool,
    pub failure: Option<String>,
    pub stages: Vec<StageView>,
    /// Its evaluation on each package version, newest first.
    pub evaluations: Vec<VersionEvaluation>,
}

pub fn detail(conn: &mut DbConnection, id: &SubmissionId) -> Result<SubmissionDetail, AppError> {
    let submission =
        submissions::find(conn, id)?.ok_or_else(|| AppError::missing("submission", id))?;
    let evaluations = evaluations_of(conn, &submission)?;
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
        evaluations,
    })
}

/// Uploads under way, per scenario and team. An upload holds one of the team's remaining
/// submissions from its first byte, so parallel uploads cannot write more archives to
/// disk than the quota has room for.
#[derive(Debug, Clone, Default)]
pub struct UploadReservations {
    in_flight: Arc<Mutex<HashMap<(ScenarioId, TeamId), i64>>>,
}

/// One upload's hold on the quota; released when dropped, whatever the upload's fate.
#[derive(Debug)]
pub struct Reservation {
    key: (ScenarioId, TeamId),
    in_flight: Arc<Mutex<HashMap<(ScenarioId, TeamId), i64>>>,
}

impl UploadReservations {
    /// Holds one of `remaining` submissions for the team, or refuses when the uploads
    /// already under way hold them all.
    pub fn reserve(
        &self,
        scenario: &ScenarioId,
        team: &TeamId,
        remaining: i64,
    ) -> Result<Reservation, AppError> {
        let key = (scenario.clone(), team.clone());
        let mut in_flight = self
            .in_flight
            .lock()
            .map_err(|_| AppError::Internal("the upload reservations were poisoned".into()))?;
        let held = in_flight.entry(key.clone()).or_insert(0);
        if *held >= remaining {
            return Err(AppError::conflict(
                "quota_spent",
                format!(
                    "team `{team}` already has {held} upload(s) under way that use the rest of \
                     today's quota; wait for them to finish"
                ),
            )
            .with("team", team)
            .with("held", held)
            .with("rule", "uploads_under_way"));
        }
        *held += 1;
        Ok(Reservation {
            key,
            in_flight: Arc::clone(&self.in_flight),
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if let Ok(mut in_flight) = self.in_flight.lock()
            && let Some(held) = in_flight.get_mut(&self.key)
        {
            *held -= 1;
            if *held <= 0 {
                in_flight.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn uploads_under_way_hold_the_quota_until_they_end() {
        let reservations = UploadReservations::default();
        let (scenario, team) = (ScenarioId::from("kg"), TeamId::from("team_a"));
        let first = reservations.reserve(&scenario, &team, 2).unwrap();
        let second = reservations.reserve(&scenario, &team, 2).unwrap();
        let refused = reservations.reserve(&scenario, &team, 2).unwrap_err();
        assert!(refused.to_string().contains("under way"), "{refused}");
        // Another team is not held back.
        reservations
            .reserve(&scenario, &TeamId::from("team_b"), 1)
            .unwrap();
        drop(first);
        let third = reservations.reserve(&scenario, &team, 2).unwrap();
        drop((second, third));
        assert!(reservations.in_flight.lock().unwrap().is_empty());
    }
}
