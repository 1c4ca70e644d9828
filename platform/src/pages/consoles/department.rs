//! The department console: its scenarios, create, edit, phases, publish.

use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::session::CsrfForm;
use crate::auth::{CurrentUser, DepartmentOrAdmin};
use crate::db::ids::{PhaseId, ScenarioId};
use crate::db::models::phases::{PhaseForm, PhasePatch};
use crate::db::models::scenarios::{ScenarioForm, ScenarioPatch, check_fields};
use crate::db::models::{organizations, vouchers};
use crate::error::AppError;
use crate::pages::scenarios::pick;
use crate::pages::{PageContext, see_other};
use crate::services::awards::yuan;
use crate::services::scenarios::{self as scenario_api, ScenarioView, detail_view, editable};
use crate::validate::{Checks, FieldProblem};

use futures_util::StreamExt;

use crate::auth::session::same_token;
use crate::services::packages::install_package;

use super::{
    Choice, EditQuery, FormProblems, ListQuery, fixable, form_problems, refused, scenario_list,
    status_name,
};

/// `GET /console/department` — the scenarios of the viewer's departments (every one, for
/// admins), a page at a time.
pub async fn department(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let own = (!user.is_admin()).then(|| user.departments.clone());
    let view = scenario_list(&page, user.visibility(), own, &query).await?;
    let title = page.text("console.department_title");
    page.render("console/department", &title, view).await
}

/// The scenario form's fields as typed, so a refused form is shown again as it was sent.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ScenarioFields {
    pub id: String,
    pub organization_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub domain: String,
    pub summary_zh: String,
    pub summary_en: String,
    pub description: String,
    pub bounty_cny: String,
    pub mode: String,
    pub metric: String,
    pub latency_budget_ms: String,
    pub daily_quota: String,
}

impl ScenarioFields {
    fn of(view: &ScenarioView) -> Self {
        Self {
            id: view.id.0.clone(),
            organization_id: view.organization_id.0.clone(),
            title_zh: view.title_zh.clone(),
            title_en: view.title_en.clone(),
            domain: view.domain.clone(),
            summary_zh: view.summary_zh.clone(),
            summary_en: view.summary_en.clone(),
            description: view.description.clone().unwrap_or_default(),
            bounty_cny: view.bounty_cny.to_string(),
            mode: view.mode.to_string(),
            metric: view.metric.to_string(),
            latency_budget_ms: view
                .latency_budget_ms
                .map(|v| v.to_string())
                .unwrap_or_default(),
            daily_quota: view.daily_quota.to_string(),
        }
    }

    /// The values as the API's JSON body would carry them; numbers checked here, the rest
    /// by the API's own types and rules. A number that does not parse is refused together
    /// with every other field the API's rules refuse, so the form shows them all at once.
    fn json(&self) -> Result<Value, AppError> {
        let mut checks = Checks::default();
        let mut body = json!({
            "title_zh": self.title_zh.trim(),
            "title_en": self.title_en.trim(),
            "domain": self.domain.trim(),
            "summary_zh": self.summary_zh.trim(),
            "summary_en": self.summary_en.trim(),
            "description": self.description,
            "mode": self.mode.trim(),
            "metric": self.metric.trim(),
        });
        let bounty = number::<u64>(&mut checks, "bounty_cny", &self.bounty_cny, "whole_number");
        body["bounty_cny"] = json!(bounty.unwrap_or(0));
        let budget = number::<f64>(
            &mut checks,
            "latency_budget_ms",
            &self.latency_budget_ms,
            "number",
        );
        if let Some(budget) = budget {
            body["latency_budget_ms"] = json!(budget);
        }
        let quota = number::<u32>(
            &mut checks,
            "daily_quota",
            &self.daily_quota,
            "whole_number",
        );
        if let Some(quota) = quota {
            body["daily_quota"] = json!(quota);
        }
        if !checks.is_empty() {
            check_fields(
                &mut checks,
                Some(self.title_zh.trim()),
                Some(self.title_en.trim()),
                Some(self.domain.trim()),
                budget,
                quota,
                bounty,
            );
        }
        checks.finish()?;
        Ok(body)
    }

    fn form(&self) -> Result<ScenarioForm, AppError> {
        let id = self.id.trim();
        let mut body = match self.json() {
            Ok(body) => body,
            // The id is the new form's own field: refused with the others.
            Err(AppError::Fields(mut problems)) => {
                if !id.is_empty()
                    && let Err(problem) = crate::validate::slug("id", id)
                {
                    problems.push(problem);
                }
                return Err(AppError::Fields(problems));
            }
            Err(error) => return Err(error),
        };
        body["organization_id"] = json!(self.organization_id.trim());
        if !id.is_empty() {
            body["id"] = json!(id);
        }
        parsed(body)
    }

    fn patch(&self) -> Result<ScenarioPatch, AppError> {
        parsed(self.json()?)
    }
}

/// A number field as typed: `None` when left empty or when it does not parse (then a
/// problem of `rule` is in `checks`).
fn number<T: std::str::FromStr>(
    checks: &mut Checks,
    field: &str,
    typed: &str,
    rule: &'static str,
) -> Option<T> {
    let typed = typed.trim();
    if typed.is_empty() {
        return None;
    }
    let parsed = typed.parse::<T>().ok();
    if parsed.is_none() {
        let message = match rule {
            "whole_number" => "must be a whole number, 0 or more",
            _ => "must be a number",
        };
        checks.push(FieldProblem::new(field, rule, message));
    }
    parsed
}

fn parsed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppError> {
    serde_json::from_value(body).map_err(|e| AppError::unacceptable("invalid_field", e.to_string()))
}

#[derive(Serialize)]
struct ScenarioFormPage {
    fields: ScenarioFields,
    organizations: Vec<Choice>,
    modes: Vec<CodeChoice>,
    metrics: Vec<CodeChoice>,
    /// Beside each field: what is wrong with it.
    errors: std::collections::BTreeMap<String, String>,
    problem: Option<String>,
}

const MODES: [&str; 2] = ["serve", "batch"];
const METRICS: [&str; 6] = ["accuracy", "macro_f1", "roc_auc", "rmse", "mae", "mape"];

async fn scenario_form_page(
    page: &PageContext,
    user: &CurrentUser,
    fields: ScenarioFields,
    problems: FormProblems,
) -> Result<HttpResponse, AppError> {
    let (admin, departments) = (user.is_admin(), user.departments.clone());
    let towns = page
        .state
        .db
        .read(move |conn| Ok(organizations::list(conn)?))
        .await?;
    let organizations = towns
        .into_iter()
        .filter(|t| admin || departments.contains(&t.id))
        .map(|t| Choice {
            label: pick(page.lang, &t.name_zh, &t.name_en),
            value: t.id.0,
        })
        .collect();
    let title = page.text("console.new_title");
    page.render(
        "console/new_scenario",
        &title,
        ScenarioFormPage {
            fields,
            organizations,
            modes: code_choices(page, "mode", &MODES),
            metrics: code_choices(page, "metric", &METRICS),
            errors: problems.fields,
            problem: problems.problem,
        },
    )
    .await
}

/// `GET /console/scenarios/new`
pub async fn new_scenario(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
) -> Result<HttpResponse, AppError> {
    let fields = ScenarioFields {
        mode: "batch".into(),
        metric: "accuracy".into(),
        daily_quota: "5".into(),
        bounty_cny: "0".into(),
        ..ScenarioFields::default()
    };
    scenario_form_page(&page, &user, fields, FormProblems::default()).await
}

/// `POST /console/scenarios/new` — `POST /api/v1/scenarios`'s rules.
pub async fn create_scenario(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    CsrfForm(fields): CsrfForm<ScenarioFields>,
) -> Result<HttpResponse, AppError> {
    let created = match fields.form() {
        Ok(form) => {
            let user = user.clone();
            page.state
                .db
                .write(move |conn| scenario_api::create_scenario(conn, &user, form))
                .await
        }
        Err(error) => Err(error),
    };
    match created {
        Ok(scenario) => Ok(see_other(&format!(
            "/console/scenarios/{}/edit",
            scenario.id
        ))),
        Err(error) => {
            let problems = form_problems(&page, error)?;
            Ok(refused(
                scenario_form_page(&page, &user, fields, problems).await?,
            ))
        }
    }
}

/// A choice of a closed set: its code, sent back as typed, and its name in the page's
/// language.
#[derive(Serialize)]
struct CodeChoice {
    value: &'static str,
    label: String,
}

fn code_choices(page: &PageContext, kind: &str, codes: &[&'static str]) -> Vec<CodeChoice> {
    codes
        .iter()
        .map(|&value| CodeChoice {
            value,
            label: page.code(kind, value),
        })
        .collect()
}

#[derive(Serialize)]
struct PhaseRow {
    id: String,
    name: String,
    opens_at: String,
    closes_at: String,
    open: bool,
}

#[derive(Serialize)]
struct EditPage {
    id: String,
    title: String,
    status: String,
    draft: bool,
    from_catalog: bool,
    public_url: String,
    fields: ScenarioFields,
    modes: Vec<CodeChoice>,
    metrics: Vec<CodeChoice>,
    phases: Vec<PhaseRow>,
    /// The package version in force; 0 while the scenario has none (and cannot be published).
    package_version: i32,
    /// What the version in force changed against the one before it, from version 2 on.
    package_changes: Option<super::package_changes::ChangesView>,
    /// The department's free allowance per team per day, in CNY; empty when none.
    sponsorship: String,
    /// The refused form's section (`details`, `phases`, `publish`) and why.
    problem_in: String,
    problem: Option<String>,
    /// Beside each field of the details form: what is wrong with it.
    errors: std::collections::BTreeMap<String, String>,
    /// A refused package's problems, each on its own line under `problem`.
    package_problems: Vec<PackageProblemLine>,
    saved: bool,
}

/// One problem of a refused package: where (the file and field, as the package names them)
/// and what, in the page's language where the catalogs have its code.
#[derive(Debug, Serialize)]
struct PackageProblemLine {
    place: String,
    text: String,
    /// `en` on a Chinese page when `text` is the checker's English message.
    lang: Option<&'static str>,
}

/// A refused form of the edit page: its section, what is wrong, and what was typed
/// (shown again exactly as sent).
struct Refusal<'a> {
    section: &'a str,
    problems: FormProblems,
    package_problems: Vec<PackageProblemLine>,
    typed: Typed,
}

/// What a form of the edit page sent, to show again when it is refused.
pub(super) enum Typed {
    /// A button or an upload: nothing typed to keep.
    Nothing,
    Details(Box<ScenarioFields>),
    /// The sponsorship's daily amount, as typed.
    Sponsorship(String),
}

async fn edit_page(
    page: &PageContext,
    user: CurrentUser,
    id: ScenarioId,
    refusal: Option<Refusal<'_>>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let view = page
        .state
        .db
        .read(move |conn| {
            let scenario = editable(conn, &id, &user)?;
            let from_catalog = scenario.from_catalog();
            let changes = crate::services::package_changes::latest(
                conn,
                &scenario.id,
                scenario.package_version,
            )?;
            let sponsorship = vouchers::sponsorship(conn, &id)?;
            Ok((
                detail_view(conn, scenario)?,
                from_catalog,
                sponsorship,
                changes,
            ))
        })
        .await?;
    let (view, from_catalog, sponsorship, changes) = view;
    let (problem_in, mut problems, package_problems, typed) = match refusal {
        Some(refusal) => (
            refusal.section,
            refusal.problems,
            refusal.package_problems,
            refusal.typed,
        ),
        None => ("", FormProblems::default(), Vec::new(), Typed::Nothing),
    };
    let (typed, typed_sponsorship) = match typed {
        Typed::Details(fields) => (Some(*fields), None),
        Typed::Sponsorship(amount) => (None, Some(amount)),
        Typed::Nothing => (None, None),
    };
    // The details and the sponsorship forms show problems beside their fields; the phase
    // rows are too narrow, so theirs are listed above the table, each with its field's name.
    if !["details", "sponsorship"].contains(&problem_in) && !problems.fields.is_empty() {
        let named: Vec<String> = std::mem::take(&mut problems.fields)
            .into_iter()
            .map(|(field, message)| {
                let label = match field.as_str() {
                    "name" => page.text("console.phase_name"),
                    "opens_at" => page.text("console.opens_at"),
                    "closes_at" => page.text("console.closes_at"),
                    "daily_cny_per_team" => page.text("console.sponsorship_daily"),
                    _ => field,
                };
                page.text_with(
                    "console.field_problem",
                    &[("label", &label), ("problem", &message)],
                )
            })
            .collect();
        problems.problem = Some(named.join(" "));
    }
    let data = EditPage {
        id: view.id.0.clone(),
        title: pick(page.lang, &view.title_zh, &view.title_en),
        status: status_name(page, &view),
        draft: view.published_at.is_none(),
        from_catalog,
        public_url: format!("/scenarios/{}", view.id),
        fields: typed.unwrap_or_else(|| ScenarioFields::of(&view)),
        package_version: view.package_version,
        package_changes: changes
            .as_ref()
            .map(|c| super::package_changes::changes_view(page, c)),
        sponsorship: typed_sponsorship.unwrap_or_else(|| sponsorship.map(yuan).unwrap_or_default()),
        modes: code_choices(page, "mode", &MODES),
        metrics: code_choices(page, "metric", &METRICS),
        phases: view
            .phases
            .iter()
            .map(|p| PhaseRow {
                id: p.id.0.clone(),
                name: p.name.clone(),
                opens_at: crate::time::beijing_input(&p.opens_at),
                closes_at: crate::time::beijing_input(&p.closes_at),
                open: p.open,
            })
            .collect(),
        problem_in: problem_in.to_owned(),
        problem: problems.problem,
        errors: problems.fields,
        package_problems,
        saved,
    };
    let title = data.title.clone();
    let response = page.render("console/edit_scenario", &title, data).await?;
    Ok(response)
}

/// `GET /console/scenarios/{id}/edit` — its department.
pub async fn edit_scenario(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    edit_page(&page, user, path.into_inner(), None, query.saved.is_some()).await
}

/// Runs one edit with the API's function; back to the edit page, or the page again with
/// the reason next to the section's form.
pub(super) async fn edit_with(
    page: PageContext,
    user: CurrentUser,
    id: ScenarioId,
    section: &str,
    typed: Typed,
    work: impl FnOnce(&mut crate::db::DbConnection, &CurrentUser) -> Result<(), AppError>
    + Send
    + 'static,
) -> Result<HttpResponse, AppError> {
    let outcome = {
        let (user, id) = (user.clone(), id.clone());
        page.state
            .db
            .write(move |conn| {
                editable(conn, &id, &user)?;
                work(conn, &user)
            })
            .await
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/console/scenarios/{id}/edit?saved=1"))),
        Err(error) => {
            let refusal = Refusal {
                section,
                problems: form_problems(&page, error)?,
                package_problems: Vec::new(),
                typed,
            };
            Ok(refused(
                edit_page(&page, user, id, Some(refusal), false).await?,
            ))
        }
    }
}

/// `POST /console/scenarios/{id}/edit` — `PATCH /api/v1/scenarios/{id}`'s rules.
pub async fn update_scenario(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<ScenarioFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let patch = fields.patch();
    let target = id.clone();
    edit_with(
        page,
        user,
        id,
        "details",
        Typed::Details(Box::new(fields)),
        move |conn, user| scenario_api::update_scenario(conn, user, &target, patch?),
    )
    .await
}

/// A phase form's fields as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PhaseFields {
    pub name: String,
    pub opens_at: String,
    pub closes_at: String,
}

/// A time as RFC 3339, or as a browser's `datetime-local` value (taken as Beijing time,
/// as the form says and the pages show).
fn time_field(field: &str, value: &str) -> Result<DateTime<Utc>, FieldProblem> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .and_then(|naive| naive.and_local_timezone(crate::time::beijing()).single())
        .map(|time| time.with_timezone(&Utc))
        .ok_or_else(|| {
            FieldProblem::new(
                field,
                "date_time",
                "must be a date and time such as 2025-06-01T08:00 (Beijing time)",
            )
        })
}

impl PhaseFields {
    /// Both times, each refused on its own: the form shows every problem at once.
    fn times(&self, optional: bool) -> Result<[Option<DateTime<Utc>>; 2], AppError> {
        let mut checks = Checks::default();
        let mut time = |field: &str, value: &str| {
            if optional && value.trim().is_empty() {
                return None;
            }
            time_field(field, value)
                .map_err(|problem| checks.push(problem))
                .ok()
        };
        let times = [
            time("opens_at", &self.opens_at),
            time("closes_at", &self.closes_at),
        ];
        checks.finish()?;
        Ok(times)
    }

    fn form(&self) -> Result<PhaseForm, AppError> {
        match self.times(false)? {
            [Some(opens_at), Some(closes_at)] => Ok(PhaseForm {
                name: self.name.trim().to_owned(),
                opens_at,
                closes_at,
            }),
            _ => Err(AppError::Internal("a required time was let through".into())),
        }
    }

    fn patch(&self) -> Result<PhasePatch, AppError> {
        let [opens_at, closes_at] = self.times(true)?;
        Ok(PhasePatch {
            name: (!self.name.trim().is_empty()).then(|| self.name.trim().to_owned()),
            opens_at,
            closes_at,
        })
    }
}

/// `POST /console/scenarios/{id}/phases` — `POST /api/v1/scenarios/{id}/phases`'s rules.
pub async fn add_phase(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(fields): CsrfForm<PhaseFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let form = fields.form();
    let target = id.clone();
    edit_with(
        page,
        user,
        id,
        "phases",
        Typed::Nothing,
        move |conn, user| {
            scenario_api::add_scenario_phase(conn, user, &target, form?)?;
            Ok(())
        },
    )
    .await
}

/// `POST /console/scenarios/{id}/phases/{phase}` — `PATCH …/phases/{phase}`'s rules.
pub async fn update_phase(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<(ScenarioId, PhaseId)>,
    CsrfForm(fields): CsrfForm<PhaseFields>,
) -> Result<HttpResponse, AppError> {
    let (id, phase) = path.into_inner();
    let patch = fields.patch();
    let target = id.clone();
    edit_with(
        page,
        user,
        id,
        "phases",
        Typed::Nothing,
        move |conn, user| {
            scenario_api::update_scenario_phase(conn, user, &target, &phase, patch?)?;
            Ok(())
        },
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /console/scenarios/{id}/phases/{phase}/delete` — `DELETE …/phases/{phase}`'s rules.
pub async fn delete_phase(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<(ScenarioId, PhaseId)>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Result<HttpResponse, AppError> {
    let (id, phase) = path.into_inner();
    let target = id.clone();
    let unconfirmed = page.text("console.delete_unconfirmed");
    let confirmed = form.confirm.as_deref() == Some("yes");
    edit_with(
        page,
        user,
        id,
        "phases",
        Typed::Nothing,
        move |conn, user| {
            if !confirmed {
                // One click must not delete a phase (and with it a running competition's
                // deadline): the form's confirmation box must be ticked.
                return Err(AppError::bad_request("confirmation_needed", unconfirmed));
            }
            scenario_api::delete_scenario_phase(conn, user, &target, &phase)
        },
    )
    .await
}

/// A destructive action's form: its confirmation box.
#[derive(Debug, Deserialize)]
pub struct ConfirmForm {
    pub confirm: Option<String>,
}

/// `POST /console/scenarios/{id}/publish` — `POST /api/v1/scenarios/{id}/publish`'s rules.
pub async fn publish(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let target = id.clone();
    edit_with(
        page,
        user,
        id,
        "publish",
        Typed::Nothing,
        move |conn, user| scenario_api::publish_scenario(conn, user, &target),
    )
    .await
}

/// What a refused package upload shows: the refusal's message and, for a package with
/// problems, every problem on its own line in the reader's language.
fn package_problems(
    page: &PageContext,
    error: AppError,
) -> Result<(String, Vec<PackageProblemLine>), AppError> {
    let AppError::Problems { problems, .. } = &error else {
        return Ok((fixable(page, error)?, Vec::new()));
    };
    let lines = problems
        .iter()
        .map(|p| {
            // File and field names are the package's own, shown as they are.
            let place = match &p.field {
                Some(field) => format!("{} [{field}]", p.file),
                None => p.file.clone(),
            };
            let (text, lang) = page.package_problem(p);
            PackageProblemLine { place, text, lang }
        })
        .collect();
    Ok((page.error_text(&error), lines))
}

/// Reads a short text field of a multipart form (the CSRF token), refusing a long one.
async fn short_field(field: &mut actix_multipart::Field) -> Option<String> {
    let mut text = Vec::new();
    while let Some(chunk) = field.next().await {
        text.extend_from_slice(&chunk.ok()?);
        if text.len() > 256 {
            return None;
        }
    }
    String::from_utf8(text).ok()
}

/// `POST /console/scenarios/{id}/package` — `PUT /api/v1/scenarios/{id}/package`'s rules,
/// from a multipart form. The CSRF token must come first, so nothing of the file is read,
/// let alone stored, before the form is known to be the person's own.
pub async fn upload_package(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<ScenarioId>,
    mut form: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let forged = || {
        AppError::forbidden(
            "stale_form",
            "the form's security token is missing or out of date; reload the page and try again",
        )
    };
    let token = match form.next().await {
        Some(Ok(mut field)) if field.name() == Some("csrf_token") => short_field(&mut field).await,
        _ => None,
    };
    match (page.csrf_token.as_deref(), token) {
        (Some(expected), Some(sent)) if same_token(expected, &sent) => {}
        _ => return Err(forged()),
    }
    let outcome = match form.next().await {
        Some(Ok(file)) if file.name() == Some("package") => {
            install_package(&page.state, id.clone(), user.clone(), file, None).await
        }
        _ => Err(FieldProblem::new(
            "package",
            "package_missing",
            "choose the package archive to upload",
        )
        .into()),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/console/scenarios/{id}/edit?saved=1"))),
        Err(error) => {
            let (heading, lines) = package_problems(&page, error)?;
            let refusal = Refusal {
                section: "package",
                problems: FormProblems {
                    problem: Some(heading),
                    ..FormProblems::default()
                },
                package_problems: lines,
                typed: Typed::Nothing,
            };
            Ok(refused(
                edit_page(&page, user, id, Some(refusal), false).await?,
            ))
        }
    }
}
