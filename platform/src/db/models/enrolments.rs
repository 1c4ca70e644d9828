//! Enrolments: a team taking up a scenario's challenge (揭榜), once, while a phase is open.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::{EnrolmentId, PhaseId, ScenarioId, TeamId, UserId};
use crate::db::models::phases;
use crate::db::models::scenarios::Scenario;
use crate::db::models::{Page, audit, conflict_if_duplicate, paged};
use crate::db::now_millis;
use crate::db::schema::{enrolments, teams};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize)]
#[diesel(table_name = enrolments)]
pub struct Enrolment {
    pub id: EnrolmentId,
    pub scenario_id: ScenarioId,
    pub team_id: TeamId,
    pub phase_id: PhaseId,
    pub enrolled_by: UserId,
    pub created_at: i64,
}

pub fn enrol(
    conn: &mut DbConnection,
    scenario: &Scenario,
    team: &TeamId,
    user: &UserId,
) -> Result<Enrolment, AppError> {
    let now = now_millis();
    if !scenario.is_published() {
        return Err(AppError::conflict(
            "not_published",
            format!("scenario `{}` is not published yet", scenario.id),
        )
        .with("scenario", &scenario.id));
    }
    let phases = phases::phases_of(conn, &scenario.id)?;
    let Some(open) = phases.iter().find(|p| p.is_open_at(now)) else {
        let refusal = match phases.iter().find(|p| p.opens_at > now) {
            Some(next) => {
                let opens_at = crate::time::iso_time(next.opens_at);
                AppError::conflict(
                    "phase_closed",
                    format!(
                        "no phase of `{}` is open now; the next opens at {opens_at}",
                        scenario.id
                    ),
                )
                .with("rule", "next_phase")
                .with("opens_at", opens_at)
            }
            None => AppError::conflict(
                "phase_closed",
                format!("every phase of `{}` has closed", scenario.id),
            )
            .with("rule", "all_closed"),
        };
        return Err(refusal.with("scenario", &scenario.id));
    };
    if find(conn, &scenario.id, team)?.is_some() {
        return Err(already_enrolled(team, &scenario.id));
    }
    let enrolment = Enrolment {
        id: EnrolmentId::generate(),
        scenario_id: scenario.id.clone(),
        team_id: team.clone(),
        phase_id: open.id.clone(),
        enrolled_by: user.clone(),
        created_at: now,
    };
    diesel::insert_into(enrolments::table)
        .values(&enrolment)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            already_enrolled(team, &scenario.id)
        }))?;
    audit::record(
        conn,
        Some(user),
        "scenario.enrol",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({"team_id": team, "phase_id": open.id}),
    )?;
    Ok(enrolment)
}

fn already_enrolled(team: &TeamId, scenario: &ScenarioId) -> AppError {
    AppError::conflict(
        "already_enrolled",
        format!("team `{team}` is already enrolled in `{scenario}`"),
    )
    .with("team", team)
    .with("scenario", scenario)
}

pub fn find(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    team: &TeamId,
) -> QueryResult<Option<Enrolment>> {
    enrolments::table
        .filter(enrolments::scenario_id.eq(scenario))
        .filter(enrolments::team_id.eq(team))
        .select(Enrolment::as_select())
        .first(conn)
        .optional()
}

/// A page of a scenario's enrolments, oldest first, with each team's name.
pub fn for_scenario(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    page: Page,
) -> QueryResult<(Vec<(Enrolment, String)>, i64)> {
    paged!(
        conn,
        page,
        enrolments::table
            .inner_join(teams::table)
            .filter(enrolments::scenario_id.eq(scenario)),
        order: (enrolments::created_at.asc(), enrolments::id.asc()),
        select: (Enrolment::as_select(), teams::name),
    )
}

/// A page of a team's enrolments, oldest first.
pub fn for_team(
    conn: &mut DbConnection,
    team: &TeamId,
    page: Page,
) -> QueryResult<(Vec<Enrolment>, i64)> {
    paged!(
        conn,
        page,
        enrolments::table.filter(enrolments::team_id.eq(team)),
        order: (enrolments::created_at.asc(), enrolments::id.asc()),
        select: Enrolment::as_select(),
    )
}
