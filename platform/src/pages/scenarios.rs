//! The opportunity list (`/`) and a scenario's page: its rules, phases, data, the enrol
//! form, each of the viewer's teams' standing and quota, and the how-to-submit panel.

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::{OrganizationId, ScenarioId, TeamId};
use crate::db::models::organizations;
use crate::pages::leaderboard::{BoardTable, table};
use crate::pages::paging::{Pager, page_number};
use crate::services::boards::{Board, BoardQuery, board_of};
use crate::services::downloads::{FileView, file_views};
use crate::services::scenarios::{ScenarioView, enrol_team, list_views, visible};
use jiebang_scenarios::package::Load;

use crate::auth::session::CsrfForm;
use crate::db::models::scenarios::{ScenarioFilter, ScenarioSpec, ScenarioState};
use crate::db::models::teams;
use crate::error::AppError;
use crate::pages::markdown;
use crate::pages::site::Lang;
use crate::pages::{PageContext, see_other};

const PER_PAGE: u32 = 12;

#[derive(Debug, Deserialize)]
pub struct HomeQuery {
    pub town: Option<String>,
    pub domain: Option<String>,
    pub status: Option<String>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

#[derive(Serialize)]
struct Choice {
    value: String,
    label: String,
    selected: bool,
}

#[derive(Serialize)]
pub struct Card {
    id: String,
    title: String,
    summary: String,
    town: String,
    domain: String,
    bounty: String,
    metric: String,
    budget: Option<String>,
    deadline: Option<String>,
    status: String,
}

/// A time on a page: Beijing time with its offset.
pub fn when(iso: &str) -> String {
    crate::time::beijing_time(iso)
}

pub fn pick(lang: Lang, zh: &str, en: &str) -> String {
    match lang {
        Lang::En if !en.is_empty() => en.to_owned(),
        _ => zh.to_owned(),
    }
}

fn status_label(page: &PageContext, status: ScenarioState) -> String {
    page.text(&format!("status.{status}"))
}

fn card(page: &PageContext, view: &ScenarioView) -> Card {
    Card {
        id: view.id.0.clone(),
        title: pick(page.lang, &view.title_zh, &view.title_en),
        summary: pick(page.lang, &view.summary_zh, &view.summary_en),
        town: view
            .town
            .as_ref()
            .map(|t| pick(page.lang, &t.name_zh, &t.name_en))
            .unwrap_or_else(|| view.organization_id.0.clone()),
        domain: page.code("domain", &view.domain),
        bounty: crate::pages::paging::grouped(view.bounty_cny),
        metric: page.code("metric", view.metric.as_str()),
        budget: view.latency_budget_ms.map(|b| format!("{b} ms")),
        deadline: view
            .phases
            .iter()
            .map(|p| p.closes_at.as_str())
            .max()
            .map(when),
        status: status_label(page, view.status),
    }
}

#[derive(Serialize)]
struct HomeView {
    towns: Vec<Choice>,
    statuses: Vec<Choice>,
    domain: String,
    cards: Vec<Card>,
    total: i64,
    pager: Pager,
}

/// `GET /` — the opportunity lists by town, filtered and paged.
pub async fn home(
    page: PageContext,
    query: web::Query<HomeQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let paging = page_number(query.page, query.per_page, PER_PAGE)?;
    let town = query.town.clone().filter(|t| !t.is_empty());
    let domain = query.domain.clone().filter(|d| !d.trim().is_empty());
    let status = match query.status.as_deref() {
        None | Some("") => None,
        Some(s) => Some(
            s.parse::<ScenarioState>()
                .map_err(|error| AppError::bad_request("bad_query", error.to_string()))?,
        ),
    };
    let filter = ScenarioFilter {
        town: town.as_deref().map(OrganizationId::from),
        domain: domain.clone(),
        state: status,
        organizations: None,
    };
    let visibility = MaybeUser(page.user.clone()).visibility();
    let (list, towns) = page
        .state
        .db
        .read(move |conn| {
            Ok((
                list_views(conn, &filter, &visibility, paging)?,
                organizations::list(conn)?,
            ))
        })
        .await?;
    let view = HomeView {
        towns: towns
            .iter()
            .map(|t| Choice {
                label: pick(page.lang, &t.name_zh, &t.name_en),
                selected: town.as_deref() == Some(t.id.0.as_str()),
                value: t.id.0.clone(),
            })
            .collect(),
        statuses: ["open", "upcoming", "closed"]
            .iter()
            .map(|s| Choice {
                value: (*s).to_owned(),
                label: page.text(&format!("status.{s}")),
                selected: query.status.as_deref() == Some(*s),
            })
            .collect(),
        domain: domain.clone().unwrap_or_default(),
        cards: list.items.iter().map(|v| card(&page, v)).collect(),
        total: list.total,
        pager: Pager::new(&page, paging, list.items.len(), list.total, "page"),
    };
    let title = page.text("home.title");
    page.render("pages/home", &title, view).await
}

#[derive(Serialize)]
struct Rules {
    mode: String,
    metric: String,
    direction: String,
    budget_ms: Option<f64>,
    percentile: Option<f64>,
    load: Option<String>,
    resources: Option<String>,
    limits: Option<String>,
    daily_quota: i32,
}

#[derive(Serialize)]
struct PhaseRow {
    name: String,
    opens_at: String,
    closes_at: String,
    open: bool,
}

#[derive(Serialize)]
struct TeamChoice {
    id: String,
    name: String,
}

/// One of the viewer's teams as the scenario page shows it: enrolled or not, and what is
/// left of today's quota while a phase is open.
#[derive(Serialize)]
struct TeamStanding {
    id: String,
    name: String,
    enrolled: bool,
    /// "2 of 5 left today, resets 2026-12-15 00:00 (UTC+8)"; enrolled teams only.
    quota: Option<String>,
    spent: bool,
}

/// The "how to submit" panel: the command to copy and the browser upload's settings.
#[derive(Serialize)]
struct HowToSubmit {
    command: String,
    /// Enrolled teams with submissions left: the upload form's choices.
    teams: Vec<TeamChoice>,
    phase_open: bool,
}

#[derive(Serialize)]
struct ScenarioPage {
    card: Card,
    description_html: String,
    rules: Rules,
    phases: Vec<PhaseRow>,
    files: Vec<FileView>,
    /// The viewer's teams that may enrol (empty for visitors not signed in).
    teams: Vec<TeamChoice>,
    /// Every team of the viewer, enrolled or not.
    standing: Vec<TeamStanding>,
    /// Shown once one of the viewer's teams is enrolled.
    how_to_submit: Option<HowToSubmit>,
    signed_in: bool,
    notice: Option<String>,
    error: Option<String>,
    board: BoardTable,
    /// The announced award (公示), once there is one.
    result: Option<ResultLine>,
}

#[derive(Serialize)]
struct ResultLine {
    url: String,
    state: String,
    is_final: bool,
    winners: String,
}

fn rules_of(page: &PageContext, view: &ScenarioView, spec: Option<&ScenarioSpec>) -> Rules {
    let manifest = spec.map(|spec| &spec.manifest);
    Rules {
        mode: page.code("mode", view.mode.as_str()),
        metric: page.code("metric", view.metric.as_str()),
        direction: page.code(
            "direction",
            crate::services::boards::direction_of(view.metric),
        ),
        budget_ms: view.latency_budget_ms,
        percentile: manifest.map(|m| m.latency.percentile()),
        load: manifest.map(|m| match m.latency.load {
            Load::SingleStream => page.code("load", "single-stream"),
            Load::Server { rate_qps } => {
                format!("{}, {rate_qps} q/s", page.code("load", "server"))
            }
            Load::Offline { concurrency } => {
                format!("{}, {concurrency}", page.code("load", "offline"))
            }
        }),
        resources: manifest.map(|m| {
            let resources = &m.resources;
            let mut text = format!("{} CPU, {} MB", resources.cpus, resources.memory_mb);
            if resources.accelerators > 0 {
                let hardware = match resources.accelerator_model.as_deref() {
                    Some(model) => page
                        .text("scenario.accelerators_model")
                        .replace("{model}", model),
                    None => page.text("scenario.accelerators_any"),
                };
                text.push_str(" · ");
                text.push_str(&hardware.replace("{count}", &resources.accelerators.to_string()));
            } else {
                text.push_str(" · ");
                text.push_str(&page.text("scenario.accelerators_none"));
            }
            text
        }),
        limits: manifest.map(|m| {
            let mut text = format!(
                "start-up {} s · sample {} s · hidden {} s",
                m.limits.startup_s, m.limits.sample_run_s, m.limits.hidden_run_s
            );
            if m.mode == jiebang_scenarios::package::Mode::Serve {
                text.push_str(&format!(" · per item {} s", m.item_timeout().as_secs_f64()));
            }
            text
        }),
        daily_quota: view.daily_quota,
    }
}

async fn scenario_page(
    page: &PageContext,
    id: ScenarioId,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, AppError> {
    let visibility = MaybeUser(page.user.clone()).visibility();
    let user = page.user.clone();
    let (view, spec, teams, award) = {
        let id = id.clone();
        page.state
            .db
            .read(move |conn| {
                let award = match crate::services::awards::announcement(conn, &visibility, &id) {
                    Ok(award) => Some(award),
                    Err(AppError::NotFound { .. }) => None,
                    Err(other) => return Err(other),
                };
                let scenario = visible(conn, &id, &visibility)?;
                let spec = scenario.spec()?;
                let mut teams = Vec::new();
                if let Some(user) = &user {
                    let now = crate::db::now_millis();
                    for team in teams::for_user(conn, &user.id)? {
                        let enrolled =
                            crate::db::models::enrolments::find(conn, &scenario.id, &team.id)?
                                .is_some();
                        let quota = if enrolled {
                            Some(crate::services::submissions::quota(
                                conn, &scenario, &team.id, now,
                            )?)
                        } else {
                            None
                        };
                        teams.push((team, quota));
                    }
                }
                let view = crate::services::scenarios::detail_view(conn, scenario)?;
                Ok((view, spec, teams, award))
            })
            .await?
    };
    let query = BoardQuery {
        phase: None,
        board: Some(Board::Public),
        page: None,
        per_page: None,
    };
    // A scenario without phases has no board yet; that is not an error here.
    let board = board_of(&page.state, id.clone(), page.user.clone(), query)
        .await
        .ok();
    let files = file_views(&page.state, MaybeUser(page.user.clone()), id).await?;
    let description = view.description.clone().unwrap_or_default();
    let data = ScenarioPage {
        card: card(page, &view),
        description_html: markdown::to_html(&description),
        rules: rules_of(page, &view, spec.as_ref()),
        phases: view
            .phases
            .iter()
            .map(|p| PhaseRow {
                name: p.name.clone(),
                opens_at: when(&p.opens_at),
                closes_at: when(&p.closes_at),
                open: p.open,
            })
            .collect(),
        files,
        teams: teams
            .iter()
            .filter(|(_, quota)| quota.is_none())
            .map(|(t, _)| TeamChoice {
                id: t.id.0.clone(),
                name: t.name.clone(),
            })
            .collect(),
        standing: teams
            .iter()
            .map(|(t, quota)| TeamStanding {
                id: t.id.0.clone(),
                name: t.name.clone(),
                enrolled: quota.is_some(),
                quota: quota.as_ref().map(|q| {
                    page.text("scenario.quota_left")
                        .replace("{remaining}", &q.remaining.to_string())
                        .replace("{daily}", &q.daily_quota.to_string())
                        .replace("{resets}", &when(&q.resets_at))
                }),
                spent: quota.as_ref().is_some_and(|q| q.remaining <= 0),
            })
            .collect(),
        how_to_submit: how_to_submit(page, &view.id, &teams, view.phases.iter().any(|p| p.open)),
        signed_in: page.user.is_some(),
        notice,
        error,
        board: table(page, board.as_ref()),
        result: award.map(|a| ResultLine {
            url: format!("/scenarios/{}/announcement", a.scenario_id),
            state: page.text(&format!("judging.award_state_{}", a.state)),
            is_final: a.state == crate::services::awards::AwardState::Final,
            winners: a
                .winners
                .iter()
                .map(|w| {
                    format!(
                        "{} (¥{})",
                        w.team_name,
                        crate::pages::paging::grouped_yuan(w.amount_fen)
                    )
                })
                .collect::<Vec<_>>()
                .join("、"),
        }),
    };
    page.render("pages/scenario", &data.card.title.clone(), data)
        .await
}

type TeamQuota = (
    crate::db::models::teams::Team,
    Option<crate::services::submissions::QuotaView>,
);

/// The panel for a viewer with an enrolled team: the `jiebang submit` line, ready to copy,
/// and the teams the browser upload may submit for.
fn how_to_submit(
    page: &PageContext,
    scenario: &ScenarioId,
    teams: &[TeamQuota],
    phase_open: bool,
) -> Option<HowToSubmit> {
    let enrolled: Vec<&TeamQuota> = teams.iter().filter(|(_, q)| q.is_some()).collect();
    let first = enrolled.first()?;
    let team = if teams.len() > 1 {
        format!(" --team {}", first.0.id)
    } else {
        String::new()
    };
    Some(HowToSubmit {
        command: format!(
            "jiebang submit --platform {} --scenario {scenario}{team} IMAGE:TAG",
            page.state.config.public_url().trim_end_matches('/')
        ),
        teams: enrolled
            .iter()
            .filter(|(_, q)| q.as_ref().is_some_and(|q| q.remaining > 0))
            .map(|(t, _)| TeamChoice {
                id: t.id.0.clone(),
                name: t.name.clone(),
            })
            .collect(),
        phase_open,
    })
}

#[derive(Debug, Deserialize)]
pub struct ShowQuery {
    pub enrolled: Option<String>,
}

/// `GET /scenarios/{id}`
pub async fn show(
    page: PageContext,
    path: web::Path<ScenarioId>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    let notice = query
        .enrolled
        .is_some()
        .then(|| page.text("scenario.enrolled"));
    scenario_page(&page, path.into_inner(), notice, None).await
}

#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    pub team_id: String,
}

/// `POST /scenarios/{id}/enrol` — the API's enrolment rules; a refusal is shown on the page.
pub async fn enrol(
    page: PageContext,
    user: CurrentUser,
    path: web::Path<ScenarioId>,
    CsrfForm(form): CsrfForm<EnrolForm>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let team = TeamId::from(form.team_id.as_str());
    let outcome = {
        let id = id.clone();
        page.state
            .db
            .write(move |conn| enrol_team(conn, &id, &team, &user))
            .await
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/scenarios/{id}?enrolled=1"))),
        Err(
            error @ (AppError::Invalid { .. }
            | AppError::Fields(_)
            | AppError::Conflict { .. }
            | AppError::Forbidden { .. }),
        ) => {
            let status = actix_web::ResponseError::status_code(&error);
            let message = format!(
                "{} {}",
                page.text("scenario.enrol_failed"),
                page.error_text(&error)
            );
            let mut response = scenario_page(&page, id, None, Some(message)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}
