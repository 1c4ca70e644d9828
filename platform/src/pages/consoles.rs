//! The consoles as pages: the department's (its scenarios, create, edit, phases, publish),
//! the judge's (every board, side-by-side comparison, reviews) and the operator's (workers,
//! queue, utilisation). Every change goes through the same function as the JSON API; a
//! refused form is shown again with the reason and nothing changed.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::compare::{columns_of, parse_ids};
use crate::api::overview::{alive_millis, overview_of};
use crate::api::reviews::put_review;
use crate::api::scenarios::{
    self as scenario_api, ScenarioView, detail_view, editable, list_views,
};
use crate::api::{iso_time, page_of};
use crate::auth::{CurrentUser, DepartmentOrAdmin, Judge, JudgeOrAdmin, OperatorOrAdmin};
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId};
use crate::db::models::organizations;
use crate::db::models::reviews::{self, NewReview};
use crate::db::models::scenarios::{
    PhaseForm, PhasePatch, ScenarioFilter, ScenarioForm, ScenarioPatch, Visibility,
};
use crate::db::models::{submissions, teams};
use crate::error::AppError;
use crate::pages::scenarios::{pick, when};
use crate::pages::session::CsrfForm;
use crate::pages::{PageContext, see_other};

/// The message to show next to a refused form, for refusals the sender can fix; anything
/// else (not allowed, not found, a fault) stays an error page.
fn fixable(error: AppError) -> Result<String, AppError> {
    match error.status_code().as_u16() {
        400 | 409 | 413 | 422 => Ok(error.public_message()),
        _ => Err(error),
    }
}

fn invalid(field: &str, message: &str) -> AppError {
    AppError::invalid(field, message)
}

fn refused(mut response: HttpResponse) -> HttpResponse {
    *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    response
}

fn status_name(page: &PageContext, view: &ScenarioView) -> String {
    let code = serde_json::to_value(view.status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    page.text(&format!("status.{code}"))
}

// ---------------------------------------------------------------- department console

#[derive(Serialize)]
struct ScenarioRow {
    id: String,
    title: String,
    status: String,
    public_url: String,
    edit_url: String,
    private_url: String,
}

#[derive(Serialize)]
struct ScenarioList {
    scenarios: Vec<ScenarioRow>,
}

fn rows(page: &PageContext, views: Vec<ScenarioView>) -> Vec<ScenarioRow> {
    views
        .into_iter()
        .map(|v| ScenarioRow {
            status: status_name(page, &v),
            title: pick(page.lang, &v.title_zh, &v.title_en),
            public_url: format!("/scenarios/{}", v.id),
            edit_url: format!("/console/scenarios/{}/edit", v.id),
            private_url: format!("/scenarios/{}/leaderboard?board=private", v.id),
            id: v.id.0,
        })
        .collect()
}

/// Every scenario `visibility` shows (at most 100), oldest first as the list orders them.
async fn all_scenarios(
    page: &PageContext,
    visibility: Visibility,
) -> Result<Vec<ScenarioView>, AppError> {
    let listed = page_of(Some(1), Some(100))?;
    let list = page
        .state
        .db
        .read(move |conn| list_views(conn, &ScenarioFilter::default(), &visibility, listed))
        .await?;
    Ok(list.items)
}

/// `GET /console/department` — the scenarios of the viewer's departments.
pub async fn department(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
) -> Result<HttpResponse, AppError> {
    let views = all_scenarios(&page, user.visibility()).await?;
    let mine = views
        .into_iter()
        .filter(|v| user.is_admin() || user.works_for(&v.organization_id))
        .collect();
    let view = ScenarioList {
        scenarios: rows(&page, mine),
    };
    let title = page.text("console.department_title");
    page.render("console/department", &title, view)
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
            mode: view.mode.clone(),
            metric: view.metric.clone(),
            latency_budget_ms: view
                .latency_budget_ms
                .map(|v| v.to_string())
                .unwrap_or_default(),
            daily_quota: view.daily_quota.to_string(),
        }
    }

    /// The values as the API's JSON body would carry them; numbers checked here, the rest
    /// by the API's own types and rules.
    fn json(&self) -> Result<Value, AppError> {
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
        let bounty = self.bounty_cny.trim();
        body["bounty_cny"] = if bounty.is_empty() {
            json!(0)
        } else {
            json!(bounty.parse::<u64>().map_err(|_| {
                invalid("bounty_cny", "must be a whole number of yuan, 0 or more")
            })?)
        };
        let budget = self.latency_budget_ms.trim();
        if !budget.is_empty() {
            body["latency_budget_ms"] = json!(budget.parse::<f64>().map_err(|_| {
                invalid("latency_budget_ms", "must be a number of milliseconds")
            })?);
        }
        let quota = self.daily_quota.trim();
        if !quota.is_empty() {
            body["daily_quota"] =
                json!(quota.parse::<u32>().map_err(|_| {
                    invalid("daily_quota", "must be a whole number, 0 or more")
                })?);
        }
        Ok(body)
    }

    fn form(&self) -> Result<ScenarioForm, AppError> {
        let mut body = self.json()?;
        body["organization_id"] = json!(self.organization_id.trim());
        if !self.id.trim().is_empty() {
            body["id"] = json!(self.id.trim());
        }
        parsed(body)
    }

    fn patch(&self) -> Result<ScenarioPatch, AppError> {
        parsed(self.json()?)
    }
}

fn parsed<T: serde::de::DeserializeOwned>(body: Value) -> Result<T, AppError> {
    serde_json::from_value(body).map_err(|e| AppError::Invalid {
        code: "invalid_field",
        message: e.to_string(),
    })
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
}

#[derive(Serialize)]
struct ScenarioFormPage {
    fields: ScenarioFields,
    organizations: Vec<Choice>,
    modes: Vec<&'static str>,
    metrics: Vec<&'static str>,
    problem: Option<String>,
}

const MODES: [&str; 2] = ["serve", "batch"];
const METRICS: [&str; 6] = ["accuracy", "macro_f1", "roc_auc", "rmse", "mae", "mape"];

async fn scenario_form_page(
    page: &PageContext,
    user: &CurrentUser,
    fields: ScenarioFields,
    problem: Option<String>,
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
            modes: MODES.to_vec(),
            metrics: METRICS.to_vec(),
            problem,
        },
    )
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
    scenario_form_page(&page, &user, fields, None).await
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
            let problem = fixable(error)?;
            Ok(refused(
                scenario_form_page(&page, &user, fields, Some(problem)).await?,
            ))
        }
    }
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
    modes: Vec<&'static str>,
    metrics: Vec<&'static str>,
    phases: Vec<PhaseRow>,
    /// The refused form's section (`details`, `phases`, `publish`) and why.
    problem_in: String,
    problem: Option<String>,
    saved: bool,
}

#[derive(Debug, Deserialize)]
pub struct EditQuery {
    pub saved: Option<String>,
}

async fn edit_page(
    page: &PageContext,
    user: CurrentUser,
    id: ScenarioId,
    problem: Option<(&str, String)>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let view = page
        .state
        .db
        .read(move |conn| {
            let scenario = editable(conn, &id, &user)?;
            let from_catalog = scenario.from_catalog();
            Ok((detail_view(conn, scenario)?, from_catalog))
        })
        .await?;
    let (view, from_catalog) = view;
    let data = EditPage {
        id: view.id.0.clone(),
        title: pick(page.lang, &view.title_zh, &view.title_en),
        status: status_name(page, &view),
        draft: view.published_at.is_none(),
        from_catalog,
        public_url: format!("/scenarios/{}", view.id),
        fields: ScenarioFields::of(&view),
        modes: MODES.to_vec(),
        metrics: METRICS.to_vec(),
        phases: view
            .phases
            .iter()
            .map(|p| PhaseRow {
                id: p.id.0.clone(),
                name: p.name.clone(),
                opens_at: p.opens_at.clone(),
                closes_at: p.closes_at.clone(),
                open: p.open,
            })
            .collect(),
        problem_in: problem.as_ref().map(|p| p.0.to_owned()).unwrap_or_default(),
        problem: problem.map(|p| p.1),
        saved,
    };
    let title = data.title.clone();
    let response = page.render("console/edit_scenario", &title, data)?;
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
async fn edit_with(
    page: PageContext,
    user: CurrentUser,
    id: ScenarioId,
    section: &str,
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
            let problem = fixable(error)?;
            Ok(refused(
                edit_page(&page, user, id, Some((section, problem)), false).await?,
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
    edit_with(page, user, id, "details", move |conn, user| {
        scenario_api::update_scenario(conn, user, &target, patch?)
    })
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

/// A time as RFC 3339, or as a browser's `datetime-local` value (taken as UTC).
fn time_field(field: &str, value: &str) -> Result<DateTime<Utc>, AppError> {
    let value = value.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(value) {
        return Ok(time.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|naive| naive.and_utc())
        .ok_or_else(|| {
            invalid(
                field,
                "must be a date and time such as 2025-06-01T08:00 (UTC)",
            )
        })
}

impl PhaseFields {
    fn form(&self) -> Result<PhaseForm, AppError> {
        Ok(PhaseForm {
            name: self.name.trim().to_owned(),
            opens_at: time_field("opens_at", &self.opens_at)?,
            closes_at: time_field("closes_at", &self.closes_at)?,
        })
    }

    fn patch(&self) -> Result<PhasePatch, AppError> {
        let optional = |field: &str, value: &str| {
            (!value.trim().is_empty())
                .then(|| time_field(field, value))
                .transpose()
        };
        Ok(PhasePatch {
            name: (!self.name.trim().is_empty()).then(|| self.name.trim().to_owned()),
            opens_at: optional("opens_at", &self.opens_at)?,
            closes_at: optional("closes_at", &self.closes_at)?,
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
    edit_with(page, user, id, "phases", move |conn, user| {
        scenario_api::add_scenario_phase(conn, user, &target, form?)?;
        Ok(())
    })
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
    edit_with(page, user, id, "phases", move |conn, user| {
        scenario_api::update_scenario_phase(conn, user, &target, &phase, patch?)?;
        Ok(())
    })
    .await
}

#[derive(Debug, Deserialize)]
pub struct Empty {}

/// `POST /console/scenarios/{id}/phases/{phase}/delete` — `DELETE …/phases/{phase}`'s rules.
pub async fn delete_phase(
    page: PageContext,
    DepartmentOrAdmin(user): DepartmentOrAdmin,
    path: web::Path<(ScenarioId, PhaseId)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<HttpResponse, AppError> {
    let (id, phase) = path.into_inner();
    let target = id.clone();
    edit_with(page, user, id, "phases", move |conn, user| {
        scenario_api::delete_scenario_phase(conn, user, &target, &phase)
    })
    .await
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
    edit_with(page, user, id, "publish", move |conn, user| {
        scenario_api::publish_scenario(conn, user, &target)
    })
    .await
}

// ---------------------------------------------------------------- judge console

/// `GET /console/judge` — every scenario with its boards.
pub async fn judge(
    page: PageContext,
    JudgeOrAdmin(user): JudgeOrAdmin,
) -> Result<HttpResponse, AppError> {
    let views = all_scenarios(&page, user.visibility()).await?;
    let view = ScenarioList {
        scenarios: rows(&page, views),
    };
    let title = page.text("console.judge_title");
    page.render("console/judge", &title, view)
}

#[derive(Serialize)]
struct CompareColumn {
    submission_id: String,
    team: String,
    review_url: String,
}

#[derive(Serialize)]
struct CompareRow {
    label: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct ComparePage {
    scenario_id: String,
    columns: Vec<CompareColumn>,
    rows: Vec<CompareRow>,
}

fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(n) => format!("{n:.4}"),
        None => "—".to_owned(),
    }
}

fn score(value: &Value) -> String {
    match (
        value["value"].as_f64(),
        value["low"].as_f64(),
        value["high"].as_f64(),
    ) {
        (Some(v), Some(l), Some(h)) => format!("{v:.4} ({l:.4} – {h:.4})"),
        (Some(v), _, _) => format!("{v:.4}"),
        _ => "—".to_owned(),
    }
}

/// `GET /console/scenarios/{id}/compare?submissions=a,b` (or one `submissions` per
/// checkbox) — the comparison of `GET /api/v1/scenarios/{id}/compare`.
pub async fn compare(
    page: PageContext,
    JudgeOrAdmin(user): JudgeOrAdmin,
    path: web::Path<ScenarioId>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let asked: Vec<String> = form_urlencoded::parse(req.query_string().as_bytes())
        .filter(|(k, _)| k == "submissions")
        .map(|(_, v)| v.into_owned())
        .collect();
    let ids = parse_ids(&asked.join(","))?;
    let blobs = page.state.blobs.clone();
    let scenario = id.clone();
    let columns = page
        .state
        .db
        .read(move |conn| columns_of(conn, &blobs, &user, &scenario, &ids))
        .await?;
    let row = |label: &str, cell: &dyn Fn(&crate::api::compare::Column) -> String| CompareRow {
        label: page.text(label),
        cells: columns.iter().map(cell).collect(),
    };
    let rows = vec![
        row("console.status", &|c| c.status.clone()),
        row("console.submitted", &|c| when(&c.submitted_at)),
        row("console.score_all", &|c| score(&c.scores["all"])),
        row("console.score_public", &|c| score(&c.scores["public"])),
        row("console.score_private", &|c| score(&c.scores["private"])),
        row("console.score_sample", &|c| score(&c.sample_scores["all"])),
        row("console.p50", &|c| number(&c.latency["p50_ms"])),
        row("console.p99", &|c| number(&c.latency["p99_ms"])),
        row(
            "console.within_budget",
            &|c| match c.verdict["within_budget"].as_bool() {
                Some(true) => page.text("board.within"),
                Some(false) => page.text("board.over"),
                None => "—".to_owned(),
            },
        ),
        row("console.device_seconds", &|c| {
            c.device_seconds
                .map_or_else(|| "—".to_owned(), |s| format!("{s:.1}"))
        }),
        row("console.failure", &|c| {
            c.failure.clone().unwrap_or_default()
        }),
    ];
    let view = ComparePage {
        scenario_id: id.0.clone(),
        columns: columns
            .iter()
            .map(|c| CompareColumn {
                submission_id: c.submission_id.0.clone(),
                team: c.team_name.clone(),
                review_url: format!("/console/submissions/{}/review", c.submission_id),
            })
            .collect(),
        rows,
    };
    let title = page.text("console.compare_title");
    page.render("console/compare", &title, view)
}

/// The review form's fields as typed.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ReviewFields {
    pub score: String,
    pub recommendation: String,
    pub text: String,
}

impl ReviewFields {
    fn review(&self) -> Result<NewReview, AppError> {
        let score = self
            .score
            .trim()
            .parse::<i64>()
            .map_err(|_| invalid("score", "must be a whole number from 1 to 5"))?;
        let recommendation = serde_json::from_value(json!(self.recommendation.trim()))
            .map_err(|_| invalid("recommendation", "must be none, shortlist or award"))?;
        let review = NewReview {
            score,
            recommendation,
            text: self.text.clone(),
        };
        review.check()?;
        Ok(review)
    }
}

#[derive(Serialize)]
struct ReviewPage {
    submission_id: String,
    scenario_id: String,
    team: String,
    status: String,
    submission_url: String,
    fields: ReviewFields,
    saved_at: Option<String>,
    saved: bool,
    problem: Option<String>,
    scores: Vec<Choice>,
    recommendations: Vec<Choice>,
}

async fn review_view(
    page: &PageContext,
    judge: CurrentUser,
    id: SubmissionId,
    sent: Option<(ReviewFields, String)>,
    saved: bool,
) -> Result<HttpResponse, AppError> {
    let (submission, team, review) = page
        .state
        .db
        .read(move |conn| {
            let submission = submissions::find(conn, &id)?
                .ok_or_else(|| AppError::not_found(format_args!("submission `{id}`")))?;
            let team = teams::find(conn, &submission.team_id)?
                .map(|t| t.name)
                .unwrap_or_default();
            let review = reviews::find(conn, &submission.id, &judge.id)?;
            Ok((submission, team, review))
        })
        .await?;
    let saved_at = review.as_ref().map(|r| when(&iso_time(r.updated_at)));
    let (fields, problem) = match (sent, review) {
        (Some((fields, problem)), _) => (fields, Some(problem)),
        (None, Some(review)) => (
            ReviewFields {
                score: review.score.to_string(),
                recommendation: review.recommendation,
                text: review.body,
            },
            None,
        ),
        (None, None) => (
            ReviewFields {
                score: "3".into(),
                recommendation: "none".into(),
                text: String::new(),
            },
            None,
        ),
    };
    let view = ReviewPage {
        submission_url: format!("/submissions/{}", submission.id),
        submission_id: submission.id.0,
        scenario_id: submission.scenario_id.0,
        team,
        status: submission.status,
        fields,
        saved_at,
        saved,
        problem,
        scores: (1..=5)
            .map(|n| Choice {
                value: n.to_string(),
                label: n.to_string(),
            })
            .collect(),
        recommendations: ["none", "shortlist", "award"]
            .iter()
            .map(|r| Choice {
                value: (*r).to_owned(),
                label: page.text(&format!("console.recommend_{r}")),
            })
            .collect(),
    };
    let title = page.text("console.review_title");
    page.render("console/review", &title, view)
}

/// `GET /console/submissions/{id}/review` — the judge's review form and saved review.
pub async fn review_page(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<SubmissionId>,
    query: web::Query<EditQuery>,
) -> Result<HttpResponse, AppError> {
    review_view(&page, judge, path.into_inner(), None, query.saved.is_some()).await
}

/// `POST /console/submissions/{id}/review` — `PUT /api/v1/submissions/{id}/review`'s rules.
pub async fn review(
    page: PageContext,
    Judge(judge): Judge,
    path: web::Path<SubmissionId>,
    CsrfForm(fields): CsrfForm<ReviewFields>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let outcome = match fields.review() {
        Ok(review) => {
            let (judge, id) = (judge.clone(), id.clone());
            page.state
                .db
                .write(move |conn| put_review(conn, &judge, &id, &review))
                .await
        }
        Err(error) => Err(error),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/console/submissions/{id}/review?saved=1"
        ))),
        Err(error) => {
            let problem = fixable(error)?;
            Ok(refused(
                review_view(&page, judge, id, Some((fields, problem)), false).await?,
            ))
        }
    }
}

// ---------------------------------------------------------------- operator console

#[derive(Serialize)]
struct WorkerRow {
    name: String,
    alive: bool,
    last_seen: String,
    job: String,
    capabilities: String,
}

#[derive(Serialize)]
struct AcceleratorRow {
    worker: String,
    device: String,
    percent: String,
    /// The bar's width out of 100.
    width: u32,
}

#[derive(Serialize)]
struct OperatorPage {
    at: String,
    window_hours: i64,
    workers: Vec<WorkerRow>,
    accelerators: Vec<AcceleratorRow>,
    queued: usize,
    running: usize,
    retrying: usize,
    oldest: String,
}

/// `GET /console/operator` — `GET /api/v1/admin/overview` as a page.
pub async fn operator(
    page: PageContext,
    _caller: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let alive = alive_millis(&page.state);
    let overview = page
        .state
        .db
        .read(move |conn| overview_of(conn, alive))
        .await?;
    let mut accelerators = Vec::new();
    let workers = overview
        .workers
        .iter()
        .map(|w| {
            for a in &w.accelerators {
                let share = a.utilisation.clamp(0.0, 1.0);
                accelerators.push(AcceleratorRow {
                    worker: w.name.clone(),
                    device: format!("{} ({})", a.id, a.model),
                    percent: format!("{:.1} %", share * 100.0),
                    // Bounded to 0–100 above, so the cast cannot overflow.
                    width: (share * 100.0).round() as u32,
                });
            }
            let models: Vec<String> = w.accelerators.iter().map(|a| a.model.clone()).collect();
            WorkerRow {
                name: w.name.clone(),
                alive: w.alive,
                last_seen: when(&w.last_seen_at),
                job: w.current_job.as_ref().map_or_else(String::new, |j| {
                    format!("{} ({})", j.submission_id, j.job_id)
                }),
                capabilities: format!(
                    "{} CPU · {} MB{}",
                    w.cpus,
                    w.memory_mb,
                    if models.is_empty() {
                        String::new()
                    } else {
                        format!(" · {}", models.join(", "))
                    }
                ),
            }
        })
        .collect();
    let view = OperatorPage {
        at: when(&overview.at),
        window_hours: overview.window_seconds / 3600,
        workers,
        accelerators,
        queued: overview.queue.queued,
        running: overview.queue.running,
        retrying: overview.queue.retrying,
        oldest: overview
            .queue
            .oldest_queued_at
            .as_deref()
            .map(when)
            .unwrap_or_default(),
    };
    let title = page.text("console.operator_title");
    page.render("console/operator", &title, view)
}
