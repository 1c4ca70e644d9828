//! Scenarios as people see them: the opportunity list, a scenario's detail, what its
//! department may change, and enrolment.

use jiebang_scenarios::package::{MetricName, Mode};
use serde::Serialize;

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{OrganizationId, PhaseId, ScenarioId, TeamId};
use crate::db::models::enrolments;
use crate::db::models::organizations::{self, Organization};
use crate::db::models::phases::{self, Phase, PhaseForm, PhasePatch};
use crate::db::models::scenarios::{
    self, Scenario, ScenarioFilter, ScenarioForm, ScenarioPatch, ScenarioSource, ScenarioState,
    Visibility,
};
use crate::db::models::teams;
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::paging::Paginated;
use crate::time::iso_time;

#[derive(Debug, Serialize)]
pub struct PhaseView {
    pub id: PhaseId,
    pub name: String,
    pub opens_at: String,
    pub closes_at: String,
    pub open: bool,
}

impl PhaseView {
    pub fn new(phase: &Phase, now: i64) -> Self {
        Self {
            id: phase.id.clone(),
            name: phase.name.clone(),
            opens_at: iso_time(phase.opens_at),
            closes_at: iso_time(phase.closes_at),
            open: phase.is_open_at(now),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ScenarioView {
    pub id: ScenarioId,
    pub town: Option<Organization>,
    pub organization_id: OrganizationId,
    pub title_zh: String,
    pub title_en: String,
    pub domain: String,
    pub summary_zh: String,
    pub summary_en: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub bounty_cny: i64,
    pub mode: Mode,
    pub metric: MetricName,
    pub latency_budget_ms: Option<f64>,
    pub daily_quota: i32,
    /// The package version in force (0 while it has none): what new submissions are
    /// evaluated on and what the open phase's board ranks.
    pub package_version: i32,
    pub status: ScenarioState,
    pub source: ScenarioSource,
    pub phases: Vec<PhaseView>,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
}

impl ScenarioView {
    pub fn new(
        scenario: Scenario,
        phases: &[Phase],
        town: Option<Organization>,
        detailed: bool,
    ) -> Self {
        let now = now_millis();
        Self {
            status: scenarios::state_of(&scenario, phases, now),
            phases: phases.iter().map(|p| PhaseView::new(p, now)).collect(),
            town,
            id: scenario.id,
            organization_id: scenario.organization_id,
            title_zh: scenario.title_zh,
            title_en: scenario.title_en,
            domain: scenario.domain,
            summary_zh: scenario.summary_zh,
            summary_en: scenario.summary_en,
            description: detailed.then_some(scenario.description),
            bounty_cny: scenario.bounty_cny,
            mode: scenario.mode,
            metric: scenario.metric,
            latency_budget_ms: scenario.latency_budget_ms,
            daily_quota: scenario.daily_quota,
            package_version: scenario.package_version,
            source: scenario.source,
            created_at: iso_time(scenario.created_at),
            updated_at: iso_time(scenario.updated_at),
            published_at: scenario.published_at.map(iso_time),
        }
    }
}

/// A scenario the viewer may see, or 404 (drafts of other departments do not exist to them).
pub fn visible(
    conn: &mut DbConnection,
    id: &ScenarioId,
    visibility: &Visibility,
) -> Result<Scenario, AppError> {
    scenarios::find(conn, id)?
        .filter(|s| visibility.can_see(s))
        .ok_or_else(|| AppError::missing("scenario", id))
}

/// A scenario the caller may change as its department.
pub fn editable(
    conn: &mut DbConnection,
    id: &ScenarioId,
    user: &CurrentUser,
) -> Result<Scenario, AppError> {
    let scenario = visible(conn, id, &user.visibility())?;
    user.require_department_of(&scenario.organization_id)?;
    Ok(scenario)
}

pub fn detail_view(conn: &mut DbConnection, scenario: Scenario) -> Result<ScenarioView, AppError> {
    let phases = phases::phases_of(conn, &scenario.id)?;
    let town = organizations::find(conn, &scenario.organization_id)?;
    Ok(ScenarioView::new(scenario, &phases, town, true))
}

/// One page of the opportunity list as the viewer may see it (the API's and the home page's).
pub fn list_views(
    conn: &mut DbConnection,
    filter: &ScenarioFilter,
    visibility: &Visibility,
    page: crate::db::models::Page,
) -> Result<Paginated<ScenarioView>, AppError> {
    let (rows, total) = scenarios::list(conn, filter, visibility, page)?;
    let towns = organizations::list(conn)?;
    let mut items = Vec::with_capacity(rows.len());
    for scenario in rows {
        let phases = phases::phases_of(conn, &scenario.id)?;
        let town = towns
            .iter()
            .find(|t| t.id == scenario.organization_id)
            .cloned();
        items.push(ScenarioView::new(scenario, &phases, town, false));
    }
    Ok(Paginated::new(items, page, total))
}

/// Creates a scenario for one of the caller's departments (the API's and the console's).
pub fn create_scenario(
    conn: &mut DbConnection,
    user: &CurrentUser,
    form: ScenarioForm,
) -> Result<Scenario, AppError> {
    user.require_department_of(&form.organization_id)?;
    scenarios::create(conn, form, &user.id)
}

/// Changes a scenario as its department.
pub fn update_scenario(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    patch: ScenarioPatch,
) -> Result<(), AppError> {
    let scenario = editable(conn, id, user)?;
    scenarios::update(conn, &scenario, patch, &user.id)?;
    Ok(())
}

/// Publishes a scenario as its department.
pub fn publish_scenario(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
) -> Result<(), AppError> {
    let scenario = editable(conn, id, user)?;
    scenarios::publish(conn, &scenario, &user.id)?;
    Ok(())
}

/// Adds a phase to a scenario as its department.
pub fn add_scenario_phase(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    form: PhaseForm,
) -> Result<Phase, AppError> {
    let scenario = editable(conn, id, user)?;
    phases::add_phase(conn, &scenario, form, &user.id)
}

/// Changes one of a scenario's phases as its department.
pub fn update_scenario_phase(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    phase_id: &PhaseId,
    patch: PhasePatch,
) -> Result<Phase, AppError> {
    let scenario = editable(conn, id, user)?;
    let phase = phase_of(conn, &scenario, phase_id)?;
    phases::update_phase(conn, &scenario, &phase, patch, &user.id)
}

/// Deletes one of a scenario's phases as its department.
pub fn delete_scenario_phase(
    conn: &mut DbConnection,
    user: &CurrentUser,
    id: &ScenarioId,
    phase_id: &PhaseId,
) -> Result<(), AppError> {
    let scenario = editable(conn, id, user)?;
    let phase = phase_of(conn, &scenario, phase_id)?;
    phases::delete_phase(conn, &scenario, &phase, &user.id)?;
    Ok(())
}

/// A phase of the scenario, or 404.
fn phase_of(conn: &mut DbConnection, scenario: &Scenario, id: &PhaseId) -> Result<Phase, AppError> {
    phases::find_phase(conn, &scenario.id, id)?
        .ok_or_else(|| AppError::missing("phase", id).with("scenario", &scenario.id))
}

#[derive(Debug, Serialize)]
pub struct EnrolmentView {
    pub id: String,
    pub scenario_id: ScenarioId,
    pub team_id: TeamId,
    pub team_name: Option<String>,
    pub phase_id: PhaseId,
    pub enrolled_at: String,
}

impl EnrolmentView {
    pub fn new(enrolment: enrolments::Enrolment, team_name: Option<String>) -> Self {
        Self {
            id: enrolment.id.0,
            scenario_id: enrolment.scenario_id,
            team_id: enrolment.team_id,
            team_name,
            phase_id: enrolment.phase_id,
            enrolled_at: iso_time(enrolment.created_at),
        }
    }
}

/// Enrols the team in the scenario: the caller must be its member and a phase open. The
/// one rule for the API and the scenario page's enrol form.
pub fn enrol_team(
    conn: &mut DbConnection,
    id: &ScenarioId,
    team_id: &TeamId,
    user: &CurrentUser,
) -> Result<EnrolmentView, AppError> {
    let scenario = visible(conn, id, &user.visibility())?;
    let team = teams::find(conn, team_id)?.ok_or_else(|| {
        AppError::from(
            crate::validate::FieldProblem::new(
                "team_id",
                "unknown_team",
                format!("no team `{team_id}`"),
            )
            .with("id", team_id),
        )
    })?;
    if teams::role_of(conn, &team.id, &user.id)?.is_none() {
        return Err(AppError::forbidden(
            "team_members_only",
            format!("only members of team `{}` may enrol it", team.id),
        )
        .with("team", &team.id));
    }
    let enrolment = enrolments::enrol(conn, &scenario, &team.id, &user.id)?;
    Ok(EnrolmentView::new(enrolment, Some(team.name)))
}

/// A page of who enrolled in the scenario: its department, judges and admins may see it.
pub fn enrolments_of(
    conn: &mut DbConnection,
    id: &ScenarioId,
    user: &CurrentUser,
    page: crate::db::models::Page,
) -> Result<Paginated<EnrolmentView>, AppError> {
    let scenario = visible(conn, id, &user.visibility())?;
    if !user.sees_all_work() {
        user.require_department_of(&scenario.organization_id)?;
    }
    let rows = enrolments::for_scenario(conn, &scenario.id, page)?;
    Ok(Paginated::of(rows, page, |(enrolment, name)| {
        EnrolmentView::new(enrolment, Some(name))
    }))
}
