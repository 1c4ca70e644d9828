//! Scenarios (opportunity-list entries): the row, its states and spec, listing and editing.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use std::path::PathBuf;

use jiebang_scenarios::package::{Load, Manifest, MetricName as Metric, Mode};

use crate::db::ids::{OrganizationId, ScenarioId, UserId};
use crate::db::models::phases::{self, Phase};
use crate::db::models::{
    Page, audit, conflict_if_duplicate, jobs, organizations, package_versions,
};
use crate::db::schema::{phases as phases_table, scenarios};
use crate::db::{DbConnection, MultiBackend, now_millis};
use crate::error::AppError;
use crate::validate::{Checks, FieldProblem};

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
    pub mode: Mode,
    pub metric: Metric,
    pub latency_budget_ms: Option<f64>,
    pub daily_quota: i32,
    pub status: ScenarioStatus,
    pub source: ScenarioSource,
    /// The package's [`ScenarioSpec`] as JSON, `{}` while a scenario posted through the API
    /// has no package; read it with [`Scenario::spec`].
    pub spec: String,
    pub created_by: Option<UserId>,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
    /// The package version in force (v1, v2, …; `package_versions::NO_PACKAGE` while it
    /// has none): what new submissions are evaluated on and what the open phase's board
    /// ranks.
    pub package_version: i32,
}

jiebang_scenarios::text_enum! {
    sql;
    /// Whether teams can see a scenario.
    pub enum ScenarioStatus: "scenario status" {
        /// Only its department and admins see it.
        Draft = "draft",
        Published = "published",
    }
}

jiebang_scenarios::text_enum! {
    sql;
    /// Where a scenario comes from, which decides who may change it.
    pub enum ScenarioSource: "scenario source" {
        /// A package of the catalog folder; changed only by changing the package.
        Catalog = "catalog",
        /// Posted by a department through the API or the console.
        Api = "api",
    }
}

/// What a scenario's package decides, kept as JSON in the `spec` column: the manifest
/// workers evaluate by, where the package lives, its bundle for workers and its set sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    pub manifest: Manifest,
    /// The unpacked package, whose `public/` files teams download.
    pub package_dir: PathBuf,
    /// The digest of the bundle (manifest, samples, hidden set) workers fetch.
    pub bundle_digest: String,
    pub hidden_items: usize,
    pub sample_items: usize,
}

/// The `spec` of a scenario that has no package yet.
pub const NO_SPEC: &str = "{}";

impl ScenarioSpec {
    /// The text stored in the `spec` column.
    pub fn to_column(&self) -> Result<String, AppError> {
        serde_json::to_string(self)
            .map_err(|e| AppError::Internal(format!("encoding a scenario's spec: {e}")))
    }
}

impl Scenario {
    pub fn is_published(&self) -> bool {
        self.status == ScenarioStatus::Published
    }

    pub fn from_catalog(&self) -> bool {
        self.source == ScenarioSource::Catalog
    }

    /// The package's spec, `None` while the scenario has none. A stored spec that does not
    /// parse is an error naming the scenario, never a silent default.
    pub fn spec(&self) -> Result<Option<ScenarioSpec>, AppError> {
        if self.spec.trim() == NO_SPEC {
            return Ok(None);
        }
        serde_json::from_str(&self.spec).map(Some).map_err(|error| {
            AppError::Internal(format!(
                "the stored spec of scenario `{}` does not parse: {error}",
                self.id
            ))
        })
    }
}

jiebang_scenarios::text_enum! {
    /// Where a scenario stands for the people browsing the opportunity list.
    pub enum ScenarioState: "scenario state" {
        /// Not yet published; only its department and admins see it.
        Draft = "draft",
        /// Published; no phase has opened yet.
        Upcoming = "upcoming",
        /// A phase is open: teams may enrol and submit.
        Open = "open",
        /// Every phase has closed.
        Closed = "closed",
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
    /// Never stored from here: the package's `latency.load` decides it. Accepted only to
    /// refuse a change with a reason rather than as an unknown field.
    pub load: Option<Load>,
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
    mode: Option<Mode>,
    metric: Option<Metric>,
    latency_budget_ms: Option<f64>,
    daily_quota: Option<i32>,
    updated_at: i64,
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
    /// Only these organisations' scenarios (a department console's own).
    pub organizations: Option<Vec<OrganizationId>>,
}

type BoxedScenarios = scenarios::BoxedQuery<'static, MultiBackend>;

fn filtered(filter: &ScenarioFilter, visibility: &Visibility, now: i64) -> BoxedScenarios {
    let mut query = scenarios::table.into_boxed();
    if let Visibility::PublishedAndDraftsOf(own) = visibility {
        query = query.filter(
            scenarios::status
                .eq(ScenarioStatus::Published)
                .or(scenarios::organization_id.eq_any(own.clone())),
        );
    }
    if let Some(town) = &filter.town {
        query = query.filter(scenarios::organization_id.eq(town.clone()));
    }
    if let Some(own) = &filter.organizations {
        query = query.filter(scenarios::organization_id.eq_any(own.clone()));
    }
    if let Some(domain) = &filter.domain {
        query = query.filter(scenarios::domain.eq(domain.clone()));
    }
    let open_phase = phases_table::table
        .filter(phases_table::scenario_id.eq(scenarios::id))
        .filter(phases_table::opens_at.le(now))
        .filter(phases_table::closes_at.gt(now));
    let future_phase = phases_table::table
        .filter(phases_table::scenario_id.eq(scenarios::id))
        .filter(phases_table::opens_at.gt(now));
    match filter.state {
        None => query,
        Some(ScenarioState::Draft) => query.filter(scenarios::status.eq(ScenarioStatus::Draft)),
        Some(ScenarioState::Open) => query
            .filter(scenarios::status.eq(ScenarioStatus::Published))
            .filter(diesel::dsl::exists(open_phase)),
        Some(ScenarioState::Upcoming) => query
            .filter(scenarios::status.eq(ScenarioStatus::Published))
            .filter(diesel::dsl::not(diesel::dsl::exists(open_phase)))
            .filter(diesel::dsl::exists(future_phase)),
        Some(ScenarioState::Closed) => query
            .filter(scenarios::status.eq(ScenarioStatus::Published))
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

/// The rules every scenario's fields follow, all checked, each broken one in `checks`.
pub(crate) fn check_fields(
    checks: &mut Checks,
    title_zh: Option<&str>,
    title_en: Option<&str>,
    domain: Option<&str>,
    latency_budget_ms: Option<f64>,
    daily_quota: Option<u32>,
    bounty_cny: Option<u64>,
) {
    if let Some(title) = title_zh {
        checks.check(crate::validate::text("title_zh", title, 200));
    }
    if let Some(title) = title_en {
        checks.check(crate::validate::text("title_en", title, 200));
    }
    if let Some(domain) = domain {
        checks.check(crate::validate::slug("domain", domain));
    }
    if let Some(budget) = latency_budget_ms
        && !(budget.is_finite() && budget > 0.0 && budget <= 3_600_000.0)
    {
        checks.push(FieldProblem::new(
            "latency_budget_ms",
            "latency_budget",
            "must be a positive number of milliseconds, at most one hour",
        ));
    }
    if let Some(quota) = daily_quota {
        checks.check(crate::validate::within("daily_quota", quota, 1, 1000));
    }
    if let Some(bounty) = bounty_cny
        && i64::try_from(bounty).is_err()
    {
        checks.push(FieldProblem::new("bounty_cny", "too_large", "is too large"));
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

pub fn create(
    conn: &mut DbConnection,
    form: ScenarioForm,
    actor: &UserId,
) -> Result<Scenario, AppError> {
    let mut checks = Checks::default();
    check_fields(
        &mut checks,
        Some(&form.title_zh),
        Some(&form.title_en),
        Some(&form.domain),
        form.latency_budget_ms,
        Some(form.daily_quota),
        Some(form.bounty_cny),
    );
    if form.mode == Mode::Serve && form.latency_budget_ms.is_none() {
        checks.push(FieldProblem::new(
            "latency_budget_ms",
            "budget_for_serve",
            "a serve-mode scenario needs a latency budget",
        ));
    }
    if let Some(id) = &form.id {
        checks.check(crate::validate::slug("id", id.as_str()));
    }
    if !organizations::exists(conn, &form.organization_id)? {
        checks.push(
            FieldProblem::new(
                "organization_id",
                "unknown_organization",
                format!("no organisation `{}`", form.organization_id),
            )
            .with("id", &form.organization_id),
        );
    }
    checks.finish()?;
    let id = form.id.unwrap_or_else(ScenarioId::generate);
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
        mode: form.mode,
        metric: form.metric,
        latency_budget_ms: form.latency_budget_ms,
        daily_quota: i32::try_from(form.daily_quota).unwrap_or(i32::MAX),
        status: ScenarioStatus::Draft,
        source: ScenarioSource::Api,
        spec: NO_SPEC.to_owned(),
        created_by: Some(actor.clone()),
        created_at: now,
        updated_at: now,
        published_at: None,
        package_version: package_versions::NO_PACKAGE,
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
            .with("scenario", &scenario.id)
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

/// Refuses changes to a catalog scenario: its package decides it.
pub(crate) fn ensure_editable(scenario: &Scenario) -> Result<(), AppError> {
    if scenario.from_catalog() {
        return Err(AppError::conflict(
            "managed_by_catalog",
            format!(
                "scenario `{}` comes from a catalog package; change the package instead",
                scenario.id
            ),
        )
        .with("scenario", &scenario.id));
    }
    Ok(())
}

/// Once published, the rules teams compete under (mode, metric, latency budget, load
/// pattern, quota) are fixed: a change would make results on one board incomparable; a
/// new package version changes them and re-scores the open phase. Sending the value a
/// field already has is no change (a console form sends every field). The load pattern
/// is never the API's to change: only a package sets it.
fn ensure_rules_unchanged(scenario: &Scenario, patch: &ScenarioPatch) -> Result<(), AppError> {
    let current_load = scenario.spec()?.map(|spec| spec.manifest.latency.load);
    let load_changed = patch.load.is_some_and(|load| Some(load) != current_load);
    if !scenario.is_published() {
        if load_changed {
            return Err(AppError::conflict(
                "set_by_package",
                format!(
                    "`load` of scenario `{}` is set by its package (`latency.load` in \
                     scenario.toml): upload a package to change it",
                    scenario.id
                ),
            )
            .with("scenario", &scenario.id)
            .with("field", "load"));
        }
        return Ok(());
    }
    let changed = [
        ("load", load_changed),
        ("mode", patch.mode.is_some_and(|m| m != scenario.mode)),
        ("metric", patch.metric.is_some_and(|m| m != scenario.metric)),
        (
            "latency_budget_ms",
            patch
                .latency_budget_ms
                .is_some_and(|b| Some(b) != scenario.latency_budget_ms),
        ),
        (
            "daily_quota",
            patch
                .daily_quota
                .is_some_and(|q| i64::from(q) != i64::from(scenario.daily_quota)),
        ),
    ];
    match changed.into_iter().find(|(_, changed)| *changed) {
        Some((field, _)) => Err(AppError::conflict(
            "rules_fixed",
            format!(
                "`{field}` of published scenario `{}` is fixed: teams are competing under it; \
                 upload a new package version to change the rules",
                scenario.id
            ),
        )
        .with("scenario", &scenario.id)
        .with("field", field)),
        None => Ok(()),
    }
}

pub fn update(
    conn: &mut DbConnection,
    scenario: &Scenario,
    patch: ScenarioPatch,
    actor: &UserId,
) -> Result<(), AppError> {
    ensure_editable(scenario)?;
    ensure_rules_unchanged(scenario, &patch)?;
    let mut checks = Checks::default();
    check_fields(
        &mut checks,
        patch.title_zh.as_deref(),
        patch.title_en.as_deref(),
        patch.domain.as_deref(),
        patch.latency_budget_ms,
        patch.daily_quota,
        patch.bounty_cny,
    );
    let serve_without_budget = patch.mode.unwrap_or(scenario.mode) == Mode::Serve
        && patch
            .latency_budget_ms
            .or(scenario.latency_budget_ms)
            .is_none();
    if serve_without_budget {
        checks.push(FieldProblem::new(
            "latency_budget_ms",
            "budget_for_serve",
            "a serve-mode scenario needs a latency budget",
        ));
    }
    checks.finish()?;
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
            mode: patch.mode,
            metric: patch.metric,
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
        )
        .with("scenario", &scenario.id));
    }
    if scenario.spec()?.is_none() {
        return Err(AppError::conflict(
            "no_package",
            format!(
                "scenario `{}` has no package yet: upload one (scenario.toml with the task, \
                 metric and latency budget, the hidden test set with labels, and public \
                 samples) with PUT /api/v1/scenarios/{}/package or the console's package \
                 form before publishing",
                scenario.id, scenario.id
            ),
        )
        .with("scenario", &scenario.id));
    }
    if phases::phases_of(conn, &scenario.id)?.is_empty() {
        return Err(AppError::conflict(
            "no_phases",
            "add at least one phase with opening and closing times before publishing",
        ));
    }
    let now = now_millis();
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::status.eq(ScenarioStatus::Published),
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

/// What taking a package did: the version in force, whether it is new, and how many
/// submissions were queued to be re-scored on it.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Adopted {
    pub package_version: i32,
    pub new_version: bool,
    pub rescores_queued: usize,
}

/// Makes `spec` the scenario's package: kept as its next version (unless its bundle is the
/// current one's), put in force, and, when a published scenario gets a new version, every
/// submission of its open phase queued to be re-scored on it. The one path of uploads and
/// catalog loads.
pub fn adopt_package(
    conn: &mut DbConnection,
    scenario: &Scenario,
    spec: &ScenarioSpec,
    archive_digest: Option<&str>,
    actor: Option<&UserId>,
) -> Result<Adopted, AppError> {
    let now = now_millis();
    let (version, new_version) =
        package_versions::record(conn, &scenario.id, spec, archive_digest, actor, now)?;
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::spec.eq(spec.to_column()?),
            scenarios::package_version.eq(version),
        ))
        .execute(conn)?;
    let rescores_queued = if new_version && scenario.is_published() {
        jobs::queue_rescores(conn, &scenario.id, version, now)?
    } else {
        0
    };
    Ok(Adopted {
        package_version: version,
        new_version,
        rescores_queued,
    })
}

/// Gives a scenario posted through the API the package a department uploaded: the spec
/// workers evaluate by, and the rules the boards and the queue read (mode, metric,
/// latency budget, daily quota), which the package decides. Titles, phases and bounty
/// stay the department's API edits.
pub fn set_package(
    conn: &mut DbConnection,
    scenario: &Scenario,
    spec: &ScenarioSpec,
    archive_digest: &str,
    actor: &UserId,
) -> Result<Adopted, AppError> {
    ensure_editable(scenario)?;
    let manifest = &spec.manifest;
    diesel::update(scenarios::table.find(&scenario.id))
        .set((
            scenarios::mode.eq(manifest.mode),
            scenarios::metric.eq(manifest.metric.name),
            scenarios::latency_budget_ms.eq(manifest.latency.budget_ms),
            scenarios::daily_quota
                .eq(i32::try_from(manifest.quota.submissions_per_day).unwrap_or(i32::MAX)),
            scenarios::updated_at.eq(now_millis()),
        ))
        .execute(conn)?;
    let adopted = adopt_package(conn, scenario, spec, Some(archive_digest), Some(actor))?;
    audit::record(
        conn,
        Some(actor),
        "scenario.package_upload",
        "scenario",
        scenario.id.as_str(),
        serde_json::json!({
            "archive_digest": archive_digest,
            "bundle_digest": spec.bundle_digest,
            "hidden_items": spec.hidden_items,
            "adopted": adopted,
        }),
    )?;
    Ok(adopted)
}
