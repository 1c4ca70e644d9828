//! Catalog scenarios kept equal to their packages on every load: the row and its phases.

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::ids::ScenarioId;
use crate::db::models::phases::{Phase, phases_of};
use crate::db::models::scenarios::Scenario;
use crate::db::schema::{enrolments, phases, scenarios, submissions};
use crate::error::AppError;

/// Overwrites a catalog scenario with its package's current content.
pub fn replace_from_catalog(conn: &mut DbConnection, scenario: &Scenario) -> Result<(), AppError> {
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::organization_id.eq(&scenario.organization_id),
            scenarios::title_zh.eq(&scenario.title_zh),
            scenarios::title_en.eq(&scenario.title_en),
            scenarios::domain.eq(&scenario.domain),
            scenarios::summary_zh.eq(&scenario.summary_zh),
            scenarios::summary_en.eq(&scenario.summary_en),
            scenarios::description.eq(&scenario.description),
            scenarios::bounty_cny.eq(scenario.bounty_cny),
            scenarios::mode.eq(&scenario.mode),
            scenarios::metric.eq(&scenario.metric),
            scenarios::latency_budget_ms.eq(scenario.latency_budget_ms),
            scenarios::daily_quota.eq(scenario.daily_quota),
            scenarios::spec.eq(&scenario.spec),
            scenarios::updated_at.eq(scenario.updated_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Makes a catalog scenario's phases those of its package: ids are stable (`<id>-phase-N`),
/// so enrolments and submissions keep pointing at the same phase across reloads.
pub fn sync_catalog_phases(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    wanted: &[Phase],
) -> Result<(), AppError> {
    let existing = phases_of(conn, scenario)?;
    for phase in wanted {
        if existing.iter().any(|p| p.id == phase.id) {
            diesel::update(phases::table.find(&phase.id))
                .set((
                    phases::name.eq(&phase.name),
                    phases::opens_at.eq(phase.opens_at),
                    phases::closes_at.eq(phase.closes_at),
                ))
                .execute(conn)?;
        } else {
            diesel::insert_into(phases::table)
                .values(phase)
                .execute(conn)?;
        }
    }
    for old in existing
        .iter()
        .filter(|p| !wanted.iter().any(|w| w.id == p.id))
    {
        let used: i64 = enrolments::table
            .filter(enrolments::phase_id.eq(&old.id))
            .count()
            .get_result::<i64>(conn)?
            + submissions::table
                .filter(submissions::phase_id.eq(&old.id))
                .count()
                .get_result::<i64>(conn)?;
        if used == 0 {
            diesel::delete(phases::table.find(&old.id)).execute(conn)?;
        }
    }
    Ok(())
}
