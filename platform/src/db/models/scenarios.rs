//! Scenarios (opportunity-list entries) and their phases.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use jiebang_scenarios::package::{MetricName as Metric, Mode};

use crate::db::ids::{OrganizationId, PhaseId, ScenarioId, UserId};
use crate::db::models::{Page, audit, conflict_if_duplicate, organizations};
use crate::db::schema::{enrolments, phases, scenarios, submissions};
use crate::db::{DbConnection, MultiBackend, now_millis};
use crate::error::AppError;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = scenarios)]
pub struct Scenario {
    pub id: ScenarioId,
    pub organization_id: OrganizationId,
    pub title_zh: String,
    pub title_en: String,
    pub domain: String,
    pub summary_zh: String,
    pub summary_en: String,
    pub description: String,
    pub bounty_cny: i64,
    pub mode: String,
    pub metric: String,
    pub latency_budget_ms: Option<f64>,
    pub daily_quota: i32,
    pub status: String,
    pub source: String,
    pub spec: String,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

impl Scenario {
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }

    pub fn from_catalog(&self) -> bool {
        self.source == "catalog"
    }
}

/// Where a scenario stands for the people browsing the opportunity list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioState {
    /// Not yet published; only its department and admins see it.
    Draft,
    /// Published; no phase has opened yet.
    Upcoming,
    /// A phase is open: teams may enrol and submit.
    Open,
    /// Every phase has closed.
    Closed,
}

/// The stored name of a mode, as in `scenario.toml`.
pub fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Serve => "serve",
        Mode::Batch => "batch",
    }
}

/// What a department gives to create a scenario.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioForm {
    /// A slug; generated from a random id when left out.
    #[serde(default)]
    pub id: Option<ScenarioId>,
    pub organization_id: OrganizationId,
    pub title_zh: String,
    pub title_en: String,
    pub domain: String,
    #[serde(default)]
    pub summary_zh: String,
    #[serde(default)]
    pub summary_en: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub bounty_cny: u64,
    pub mode: Mode,
    pub metric: Metric,
    #[serde(default)]
    pub latency_budget_ms: Option<f64>,
    #[serde(default = "default_daily_quota")]
    pub daily_quota: u32,
}

fn default_daily_quota() -> u32 {
    5
}

/// A partial update; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioPatch {
    pub title_zh: Option<String>,
    pub title_en: Option<String>,
    pub domain: Option<String>,
    pub summary_zh: Option<String>,
    pub summary_en: Option<String>,
    pub description: Option<String>,
    pub bounty_cny: Option<u64>,
    pub mode: Option<Mode>,
    pub metric: Option<Metric>,
    pub latency_budget_ms: Option<f64>,
    pub daily_quota: Option<u32>,
}

#[derive(AsChangeset)]
#[diesel(table_name = scenarios)]
struct ScenarioChanges {
    title_zh: Option<String>,
    title_en: Option<String>,
    domain: Option<String>,
    summary_zh: Option<String>,
    summary_en: Option<String>,
    description: Option<String>,
    bounty_cny: Option<i64>,
    mode: Option<String>,
    metric: Option<String>,
    latency_budget_ms: Option<f64>,
    daily_quota: Option<i32>,
    updated_at: i64,
}

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

/// What a viewer may see of the opportunity list.
#[derive(Debug, Clone)]
pub enum Visibility {
    /// Admins: drafts of every organisation too.
    Everything,
    /// Everyone else: published scenarios, plus drafts of their own departments.
    PublishedAndDraftsOf(Vec<OrganizationId>),
}

impl Visibility {
    pub fn can_see(&self, scenario: &Scenario) -> bool {
        match self {
            Self::Everything => true,
            Self::PublishedAndDraftsOf(own) => {
                scenario.is_published() || own.contains(&scenario.organization_id)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ScenarioFilter {
    pub town: Option<OrganizationId>,
    pub domain: Option<String>,
    pub state: Option<ScenarioState>,
}

type BoxedScenarios = scenarios::BoxedQuery<'static, MultiBackend>;

fn filtered(filter: &ScenarioFilter, visibility: &Visibility, now: i64) -> BoxedScenarios {
    let mut query = scenarios::table.into_boxed();
    if let Visibility::PublishedAndDraftsOf(own) = visibility {
        query = query.filter(
            scenarios::status
                .eq("published")
                .or(scenarios::organization_id.eq_any(own.clone())),
        );
    }
    if let Some(town) = &filter.town {
        query = query.filter(scenarios::organization_id.eq(town.clone()));
    }
    if let Some(domain) = &filter.domain {
        query = query.filter(scenarios::domain.eq(domain.clone()));
    }
    let open_phase = phases::table
        .filter(phases::scenario_id.eq(scenarios::id))
        .filter(phases::opens_at.le(now))
        .filter(phases::closes_at.gt(now));
    let future_phase = phases::table
        .filter(phases::scenario_id.eq(scenarios::id))
        .filter(phases::opens_at.gt(now));
    match filter.state {
        None => query,
        Some(ScenarioState::Draft) => query.filter(scenarios::status.eq("draft")),
        Some(ScenarioState::Open) => query
            .filter(scenarios::status.eq("published"))
            .filter(diesel::dsl::exists(open_phase)),
        Some(ScenarioState::Upcoming) => query
            .filter(scenarios::status.eq("published"))
            .filter(diesel::dsl::not(diesel::dsl::exists(open_phase)))
            .filter(diesel::dsl::exists(future_phase)),
        Some(ScenarioState::Closed) => query
            .filter(scenarios::status.eq("published"))
            .filter(diesel::dsl::not(diesel::dsl::exists(open_phase)))
            .filter(diesel::dsl::not(diesel::dsl::exists(future_phase))),
    }
}

/// One page of the opportunity list and the total count, newest first.
pub fn list(
    conn: &mut DbConnection,
    filter: &ScenarioFilter,
    visibility: &Visibility,
    page: Page,
) -> QueryResult<(Vec<Scenario>, i64)> {
    let now = now_millis();
    let total = filtered(filter, visibility, now).count().get_result(conn)?;
    let rows = filtered(filter, visibility, now)
        .order(scenarios::created_at.desc())
        .then_order_by(scenarios::id.asc())
        .limit(page.limit())
        .offset(page.offset())
        .select(Scenario::as_select())
        .load(conn)?;
    Ok((rows, total))
}

pub fn find(conn: &mut DbConnection, id: &ScenarioId) -> QueryResult<Option<Scenario>> {
    scenarios::table
        .find(id)
        .select(Scenario::as_select())
        .first(conn)
        .optional()
}

pub fn phases_of(conn: &mut DbConnection, scenario: &ScenarioId) -> QueryResult<Vec<Phase>> {
    phases::table
        .filter(phases::scenario_id.eq(scenario))
        .order(phases::opens_at.asc())
        .select(Phase::as_select())
        .load(conn)
}

pub fn state_of(scenario: &Scenario, phases: &[Phase], now: i64) -> ScenarioState {
    if !scenario.is_published() {
        ScenarioState::Draft
    } else if phases.iter().any(|p| p.is_open_at(now)) {
        ScenarioState::Open
    } else if phases.iter().any(|p| p.opens_at > now) {
        ScenarioState::Upcoming
    } else {
        ScenarioState::Closed
    }
}

fn validate_common(
    title_zh: Option<&str>,
    title_en: Option<&str>,
    domain: Option<&str>,
    latency_budget_ms: Option<f64>,
    daily_quota: Option<u32>,
    bounty_cny: Option<u64>,
) -> Result<(), AppError> {
    if let Some(title) = title_zh {
        crate::validate::text("title_zh", title, 200)?;
    }
    if let Some(title) = title_en {
        crate::validate::text("title_en", title, 200)?;
    }
    if let Some(domain) = domain {
        crate::validate::slug("domain", domain)?;
    }
    if let Some(budget) = latency_budget_ms
        && !(budget.is_finite() && budget > 0.0 && budget <= 3_600_000.0)
    {
        return Err(AppError::invalid(
            "latency_budget_ms",
            "must be a positive number of milliseconds, at most one hour",
        ));
    }
    if let Some(quota) = daily_quota
        && !(1..=1000).contains(&quota)
    {
        return Err(AppError::invalid(
            "daily_quota",
            "must be between 1 and 1000",
        ));
    }
    if let Some(bounty) = bounty_cny
        && i64::try_from(bounty).is_err()
    {
        return Err(AppError::invalid("bounty_cny", "is too large"));
    }
    Ok(())
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub fn create(
    conn: &mut DbConnection,
    form: ScenarioForm,
    actor: &UserId,
) -> Result<Scenario, AppError> {
    validate_common(
        Some(&form.title_zh),
        Some(&form.title_en),
        Some(&form.domain),
        form.latency_budget_ms,
        Some(form.daily_quota),
        Some(form.bounty_cny),
    )?;
    if form.mode == Mode::Serve && form.latency_budget_ms.is_none() {
        return Err(AppError::invalid(
            "latency_budget_ms",
            "a serve-mode scenario needs a latency budget",
        ));
    }
    let id = match form.id {
        Some(id) => {
            crate::validate::slug("id", id.as_str())?;
            id
        }
        None => ScenarioId::generate(),
    };
    if !organizations::exists(conn, &form.organization_id)? {
        return Err(AppError::invalid(
            "organization_id",
            format!("no organisation `{}`", form.organization_id),
        ));
    }
    let now = now_millis();
    let scenario = Scenario {
        id,
        organization_id: form.organization_id,
        title_zh: form.title_zh.trim().to_owned(),
        title_en: form.title_en.trim().to_owned(),
        domain: form.domain,
        summary_zh: form.summary_zh,
        summary_en: form.summary_en,
        description: form.description,
        bounty_cny: to_i64(form.bounty_cny),
        mode: mode_name(form.mode).to_owned(),
        metric: form.metric.as_str().to_owned(),
        latency_budget_ms: form.latency_budget_ms,
        daily_quota: i32::try_from(form.daily_quota).unwrap_or(i32::MAX),
        status: "draft".to_owned(),
        source: "api".to_owned(),
        spec: "{}".to_owned(),
        created_by: Some(actor.clone()),
        created_at: now,
        updated_at: now,
        published_at: None,
    };
    insert(conn, &scenario, Some(actor))?;
    Ok(scenario)
}

/// Inserts a fully formed scenario row (from the API or from the catalog).
pub fn insert(
    conn: &mut DbConnection,
    scenario: &Scenario,
    actor: Option<&UserId>,
) -> Result<(), AppError> {
    diesel::insert_into(scenarios::table)
        .values(scenario)
        .execute(conn)
        .map_err(conflict_if_duplicate(|| {
            AppError::conflict(
                "scenario_exists",
                format!("scenario `{}` already exists", scenario.id),
            )
        }))?;
    audit::record(
        conn,
        actor,
        "scenario.create",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({"organization_id": scenario.organization_id, "source": scenario.source}),
    )?;
    Ok(())
}

fn ensure_editable(scenario: &Scenario) -> Result<(), AppError> {
    if scenario.from_catalog() {
        return Err(AppError::conflict(
            "managed_by_catalog",
            format!(
                "scenario `{}` comes from a catalog package; change the package instead",
                scenario.id
            ),
        ));
    }
    Ok(())
}

pub fn update(
    conn: &mut DbConnection,
    scenario: &Scenario,
    patch: ScenarioPatch,
    actor: &UserId,
) -> Result<(), AppError> {
    ensure_editable(scenario)?;
    validate_common(
        patch.title_zh.as_deref(),
        patch.title_en.as_deref(),
        patch.domain.as_deref(),
        patch.latency_budget_ms,
        patch.daily_quota,
        patch.bounty_cny,
    )?;
    let mode = patch.mode.map(mode_name);
    let serve_without_budget = mode.unwrap_or(&scenario.mode) == "serve"
        && patch
            .latency_budget_ms
            .or(scenario.latency_budget_ms)
            .is_none();
    if serve_without_budget {
        return Err(AppError::invalid(
            "latency_budget_ms",
            "a serve-mode scenario needs a latency budget",
        ));
    }
    let detail = serde_json::json!({
        "fields": patch_field_names(&patch),
    });
    diesel::update(scenarios::table.find(&scenario.id))
        .set(ScenarioChanges {
            title_zh: patch.title_zh.map(|t| t.trim().to_owned()),
            title_en: patch.title_en.map(|t| t.trim().to_owned()),
            domain: patch.domain,
            summary_zh: patch.summary_zh,
            summary_en: patch.summary_en,
            description: patch.description,
            bounty_cny: patch.bounty_cny.map(to_i64),
            mode: mode.map(str::to_owned),
            metric: patch.metric.map(|m| m.as_str().to_owned()),
            latency_budget_ms: patch.latency_budget_ms,
            daily_quota: patch
                .daily_quota
                .map(|q| i32::try_from(q).unwrap_or(i32::MAX)),
            updated_at: now_millis(),
        })
        .execute(conn)?;
    audit::record(
        conn,
        Some(actor),
        "scenario.update",
        "scenario",
        scenario.id.as_str(),
        detail,
    )?;
    Ok(())
}

fn patch_field_names(patch: &ScenarioPatch) -> Vec<&'static str> {
    [
        ("title_zh", patch.title_zh.is_some()),
        ("title_en", patch.title_en.is_some()),
        ("domain", patch.domain.is_some()),
        ("summary_zh", patch.summary_zh.is_some()),
        ("summary_en", patch.summary_en.is_some()),
        ("description", patch.description.is_some()),
        ("bounty_cny", patch.bounty_cny.is_some()),
        ("mode", patch.mode.is_some()),
        ("metric", patch.metric.is_some()),
        ("latency_budget_ms", patch.latency_budget_ms.is_some()),
        ("daily_quota", patch.daily_quota.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect()
}

pub fn publish(
    conn: &mut DbConnection,
    scenario: &Scenario,
    actor: &UserId,
) -> Result<(), AppError> {
    ensure_editable(scenario)?;
    if scenario.is_published() {
        return Err(AppError::conflict(
            "already_published",
            format!("scenario `{}` is already published", scenario.id),
        ));
    }
    if phases_of(conn, &scenario.id)?.is_empty() {
        return Err(AppError::conflict(
            "no_phases",
            "add at least one phase with opening and closing times before publishing",
        ));
    }
    let now = now_millis();
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::status.eq("published"),
            scenarios::published_at.eq(now),
            scenarios::updated_at.eq(now),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Some(actor),
        "scenario.publish",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({}),
    )?;
    Ok(())
}

fn check_phase_window(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    replacing: Option<&PhaseId>,
    opens_at: i64,
    closes_at: i64,
) -> Result<(), AppError> {
    if closes_at <= opens_at {
        return Err(AppError::invalid(
            "closes_at",
            "must be later than opens_at",
        ));
    }
    let clash = phases_of(conn, scenario)?
        .into_iter()
        .filter(|p| Some(&p.id) != replacing)
        .find(|p| opens_at < p.closes_at && p.opens_at < closes_at);
    if let Some(other) = clash {
        return Err(AppError::conflict(
            "phase_overlap",
            format!("the phase overlaps phase `{}` ({})", other.name, other.id),
        ));
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

/// Gives a scenario posted through the API the package a department uploaded: the spec
/// workers evaluate by, and the evaluation settings the boards read (mode, metric,
/// latency budget), which the package decides. Titles, phases and bounty stay the
/// department's API edits.
pub fn set_package(
    conn: &mut DbConnection,
    scenario: &Scenario,
    manifest: &jiebang_scenarios::package::Manifest,
    spec: &str,
    actor: &UserId,
    detail: serde_json::Value,
) -> Result<(), AppError> {
    ensure_editable(scenario)?;
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::mode.eq(mode_name(manifest.mode)),
            scenarios::metric.eq(manifest.metric.name.as_str()),
            scenarios::latency_budget_ms.eq(manifest.latency.budget_ms),
            scenarios::spec.eq(spec),
            scenarios::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    audit::record(
        conn,
        Some(actor),
        "scenario.package_upload",
        "scenario",
        scenario.id.as_str(),
        detail,
    )?;
    Ok(())
}

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
