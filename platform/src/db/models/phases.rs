//! A scenario's phases: each opens and closes its own boards, in order, never overlapping.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, UserId};
use crate::db::models::audit;
use crate::db::models::scenarios::{Scenario, ensure_editable};
use crate::db::now_millis;
use crate::db::schema::{enrolments, phases, submissions};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = phases)]
pub struct Phase {
    pub id: PhaseId,
    pub scenario_id: ScenarioId,
    pub name: String,
    pub opens_at: i64,
    pub closes_at: i64,
    pub created_at: i64,
}

impl Phase {
    pub fn is_open_at(&self, now: i64) -> bool {
        self.opens_at <= now && now < self.closes_at
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseForm {
    pub name: String,
    pub opens_at: DateTime<Utc>,
    pub closes_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhasePatch {
    pub name: Option<String>,
    pub opens_at: Option<DateTime<Utc>>,
    pub closes_at: Option<DateTime<Utc>>,
}

pub fn phases_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<Phase>> {
    phases::table
        .filter(phases::scenario_id.eq(scenario))
        .order(phases::opens_at.asc())
        .select(Phase::as_select())
        .load(conn)
}

fn check_phase_window(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    replacing: Option<&PhaseId>,
    opens_at: i64,
    closes_at: i64,
) -> Result<(), AppError> {
    if closes_at <= opens_at {
        return Err(crate::validate::later_than("closes_at", "opens_at").into());
    }
    let clash = phases_of(conn, scenario)?
        .into_iter()
        .filter(|p| Some(&p.id) != replacing)
        .find(|p| opens_at < p.closes_at && p.opens_at < closes_at);
    if let Some(other) = clash {
        return Err(AppError::conflict(
            "phase_overlap",
            format!("the phase overlaps phase `{}` ({})", other.name, other.id),
        )
        .with("phase", &other.name));
    }
    Ok(())
}

pub fn add_phase(
    conn: &mut DbConnection,
    scenario: &Scenario,
    form: PhaseForm,
    actor: &UserId,
) -> Result<Phase, AppError> {
    ensure_editable(scenario)?;
    crate::validate::text("name", &form.name, 100)?;
    let (opens_at, closes_at) = (
        form.opens_at.timestamp_millis(),
        form.closes_at.timestamp_millis(),
    );
    check_phase_window(conn, &scenario.id, None, opens_at, closes_at)?;
    let phase = Phase {
        id: PhaseId::generate(),
        scenario_id: scenario.id.clone(),
        name: form.name.trim().to_owned(),
        opens_at,
        closes_at,
        created_at: now_millis(),
    };
    insert_phase(conn, &phase, Some(actor))?;
    Ok(phase)
}

pub fn insert_phase(
    conn: &mut DbConnection,
    phase: &Phase,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    diesel::insert_into(phases::table)
        .values(phase)
        .execute(conn)?;
    audit::record(
        conn,
        actor,
        "phase.create",
        "scenario",
        phase.scenario_id.as_str(),
        serde_json::json!({"phase_id": phase.id, "opens_at": phase.opens_at, "closes_at": phase.closes_at}),
    )?;
    Ok(())
}

pub fn find_phase(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    id: &PhaseId,
) -> QueryResult<Option<Phase>> {
    phases::table
        .filter(phases::scenario_id.eq(scenario))
        .filter(phases::id.eq(id))
        .select(Phase::as_select())
        .first(conn)
        .optional()
}

pub fn update_phase(
    conn: &mut DbConnection,
    scenario: &Scenario,
    phase: &Phase,
    patch: PhasePatch,
    actor: &UserId,
) -> Result<Phase, AppError> {
    ensure_editable(scenario)?;
    if let Some(name) = &patch.name {
        crate::validate::text("name", name, 100)?;
    }
    let updated = Phase {
        name: patch
            .name
            .map(|n| n.trim().to_owned())
            .unwrap_or_else(|| phase.name.clone()),
        opens_at: patch
            .opens_at
            .map_or(phase.opens_at, |t| t.timestamp_millis()),
        closes_at: patch
            .closes_at
            .map_or(phase.closes_at, |t| t.timestamp_millis()),
        ..phase.clone()
    };
    check_phase_window(
        conn,
        &scenario.id,
        Some(&phase.id),
        updated.opens_at,
        updated.closes_at,
    )?;
    diesel::update(phases::table.find(&phase.id))
        .set((
            phases::name.eq(&updated.name),
            phases::opens_at.eq(updated.opens_at),
            phases::closes_at.eq(updated.closes_at),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Some(actor),
        "phase.update",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({"phase_id": phase.id, "opens_at": updated.opens_at, "closes_at": updated.closes_at}),
    )?;
    Ok(updated)
}

pub fn delete_phase(
    conn: &mut DbConnection,
    scenario: &Scenario,
    phase: &Phase,
    actor: &UserId,
) -> Result<(), AppError> {
    ensure_editable(scenario)?;
    let enrolled: i64 = enrolments::table
        .filter(enrolments::phase_id.eq(&phase.id))
        .count()
        .get_result(conn)?;
    let submitted: i64 = submissions::table
        .filter(submissions::phase_id.eq(&phase.id))
        .count()
        .get_result(conn)?;
    if scenario.is_published() && phases_of(conn, &scenario.id)?.len() == 1 {
        return Err(AppError::conflict(
            "last_phase",
            "a published scenario keeps at least one phase",
        ));
    }
    if enrolled + submitted > 0 {
        return Err(AppError::conflict(
            "phase_in_use",
            "teams have enrolled or submitted in this phase; change its times instead",
        ));
    }
    diesel::delete(phases::table.find(&phase.id)).execute(conn)?;
    audit::record(
        conn,
        Some(actor),
        "phase.delete",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({"phase_id": phase.id}),
    )?;
    Ok(())
}
