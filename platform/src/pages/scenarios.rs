//! The opportunity list (`/`), a scenario's page with its enrol form, and its leaderboard
//! page with the accuracy-against-latency chart.

use actix_web::{HttpResponse, http::StatusCode, web};
use serde::{Deserialize, Serialize};

use crate::auth::{CurrentUser, MaybeUser};
use crate::db::ids::{OrganizationId, ScenarioId, TeamId};
use crate::db::models::organizations;
use crate::pages::paging::{Pager, page_number};
use crate::services::boards::{Board, BoardQuery, BoardView, board_of};
use crate::services::downloads::{FileView, file_views};
use crate::services::scenarios::{ScenarioView, enrol_team, list_views, visible};
use jiebang_scenarios::package::Load;

use crate::auth::session::CsrfForm;
use crate::db::models::scenarios::{ScenarioFilter, ScenarioSpec, ScenarioState};
use crate::db::models::teams;
use crate::error::AppError;
use crate::pages::chart::{self, Point};
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

/// `123456` → `123,456`.
pub fn money(cny: i64) -> String {
    let digits = cny.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if cny < 0 { format!("-{out}") } else { out }
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
        bounty: money(view.bounty_cny),
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
                .map_err(|error| AppError::BadRequest {
                    code: "bad_query",
                    message: error.to_string(),
                })?,
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
    page.render("pages/home", &title, view)
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

#[derive(Serialize)]
struct ScenarioPage {
    card: Card,
    description_html: String,
    rules: Rules,
    phases: Vec<PhaseRow>,
    files: Vec<FileView>,
    /// The viewer's teams that may enrol (empty for visitors not signed in).
    teams: Vec<TeamChoice>,
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
            if resources.gpus > 0 {
                text.push_str(&format!(
                    ", {} GPU {}",
                    resources.gpus,
                    resources.gpu_model.as_deref().unwrap_or("")
                ));
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
                    Err(AppError::NotFound(_)) => None,
                    Err(other) => return Err(other),
                };
                let scenario = visible(conn, &id, &visibility)?;
                let spec = scenario.spec()?;
                let view = crate::services::scenarios::detail_view(conn, scenario)?;
                let teams = match &user {
                    Some(user) => teams::for_user(conn, &user.id)?,
                    None => Vec::new(),
                };
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
            .into_iter()
            .map(|t| TeamChoice {
                id: t.id.0,
                name: t.name,
            })
            .collect(),
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
                .map(|w| format!("{} (¥{})", w.team_name, w.amount_cny))
                .collect::<Vec<_>>()
                .join("、"),
        }),
    };
    page.render("pages/scenario", &data.card.title.clone(), data)
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
            error @ (AppError::Invalid { .. } | AppError::Conflict { .. } | AppError::Forbidden(_)),
        ) => {
            let status = actix_web::ResponseError::status_code(&error);
            let message = format!(
                "{} {}",
                page.text("scenario.enrol_failed"),
                error.public_message()
            );
            let mut response = scenario_page(&page, id, None, Some(message)).await?;
            *response.status_mut() = status;
            Ok(response)
        }
        Err(other) => Err(other),
    }
}

#[derive(Serialize)]
struct BoardRowCells {
    submission_id: String,
    rank: usize,
    team: String,
    score: String,
    interval: Option<String>,
    latency: String,
    within_budget: bool,
    package_version: i32,
    /// "300 of 300": items of the board's part scored, of the items it holds.
    items: Option<String>,
    verdict_uncertain: bool,
    /// "≈" beside the rank: statistically tied with the row above; the title says why.
    tied: bool,
    /// No per-item data to tell (not the board's first row).
    tie_unknown: bool,
    tie_title: String,
}

#[derive(Serialize, Default)]
struct BoardTable {
    rows: Vec<BoardRowCells>,
    /// Some row is marked tied or uncertain: the legend explains the marks.
    any_tied: bool,
    any_uncertain: bool,
    metric: String,
    private: bool,
    closes_at: String,
    /// Judges on a private board pick submissions to compare.
    pick: bool,
    scenario_id: String,
    /// The package version the board ranks (0: the scenario has no package, no note).
    package_version: i32,
    /// Submissions still being evaluated on it.
    pending: i64,
}

fn table(page: &PageContext, board: Option<&BoardView>) -> BoardTable {
    let Some(board) = board else {
        return BoardTable::default();
    };
    let rows: Vec<BoardRowCells> = board
        .rows
        .iter()
        .map(|r| {
            let probability = r.above_better_probability.map(|p| {
                page.text("board.probability")
                    .replace("{p}", &format!("{p:.3}"))
            });
            let tie_title = match r.tied_with_above {
                Some(true) => page.text("board.tied_title"),
                Some(false) => String::new(),
                None => page.text("board.tie_unknown_title"),
            };
            BoardRowCells {
                submission_id: r.submission_id.clone(),
                rank: r.rank,
                team: r.team_name.clone(),
                score: format!("{:.4}", r.score),
                interval: r.low.zip(r.high).map(|(l, h)| format!("{l:.4} – {h:.4}")),
                latency: format!("{:.2} ms", r.latency_ms),
                within_budget: r.within_budget,
                package_version: r.package_version,
                items: r.items.zip(r.items_in_set).map(|(scored, in_set)| {
                    page.text("board.items_of")
                        .replace("{scored}", &scored.to_string())
                        .replace("{in_set}", &in_set.to_string())
                }),
                verdict_uncertain: r.verdict_uncertain == Some(true),
                tied: r.tied_with_above == Some(true),
                tie_unknown: r.tied_with_above.is_none() && r.rank > 1,
                tie_title: probability.map_or(tie_title.clone(), |p| format!("{tie_title} ({p})")),
            }
        })
        .collect();
    BoardTable {
        any_tied: rows.iter().any(|r| r.tied),
        any_uncertain: rows.iter().any(|r| r.verdict_uncertain),
        rows,
        metric: page.code("metric", board.metric),
        private: board.board == Board::Private,
        closes_at: when(&board.phase_closes_at),
        pick: false,
        scenario_id: String::new(),
        package_version: board.package_version,
        pending: board.pending,
    }
}

#[derive(Debug, Deserialize)]
pub struct LeaderboardQuery {
    pub board: Option<String>,
    pub page: Option<u32>,
}

#[derive(Serialize)]
struct LeaderboardPage {
    id: String,
    title: String,
    board: BoardTable,
    /// "Showing 1–50 of 2,000" and the links to the neighbouring pages.
    showing: Option<String>,
    previous_url: Option<String>,
    next_url: Option<String>,
    chart_svg: Option<String>,
    public_url: String,
    private_url: String,
}

/// `GET /scenarios/{id}/leaderboard?board=public|private` — the API's rules on who sees
/// the private board.
pub async fn leaderboard(
    page: PageContext,
    path: web::Path<ScenarioId>,
    query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let board = match query.board.as_deref() {
        None | Some("") | Some("public") => Board::Public,
        Some("private") => Board::Private,
        Some(other) => {
            return Err(AppError::BadRequest {
                code: "bad_query",
                message: format!("unknown board `{other}`: public or private"),
            });
        }
    };
    let page_number = query.page;
    let user = page.user.clone();
    let visibility = MaybeUser(page.user.clone()).visibility();
    let (title, budget) = {
        let id = id.clone();
        page.state
            .db
            .read(move |conn| {
                let scenario = visible(conn, &id, &visibility)?;
                Ok((
                    (scenario.title_zh, scenario.title_en),
                    scenario.latency_budget_ms,
                ))
            })
            .await?
    };
    let query = BoardQuery {
        phase: None,
        board: Some(board),
        page: page_number,
        per_page: None,
    };
    let view = board_of(&page.state, id.clone(), user, query).await?;
    let points: Vec<Point> = view
        .rows
        .iter()
        .map(|r| Point {
            label: r.team_name.clone(),
            latency_ms: r.latency_ms,
            score: r.score,
        })
        .collect();
    let first = (view.page as usize - 1) * view.per_page as usize;
    let showing = (view.total > 0).then(|| {
        page.text("board.showing")
            .replace("{from}", &(first + 1).to_string())
            .replace("{to}", &(first + view.rows.len()).to_string())
            .replace("{total}", &view.total.to_string())
    });
    let board_url = |number: u32| {
        let name = if board == Board::Private {
            "private"
        } else {
            "public"
        };
        format!("/scenarios/{id}/leaderboard?board={name}&page={number}")
    };
    let previous_url = (view.page > 1).then(|| board_url(view.page - 1));
    let next_url = (first + view.rows.len() < view.total).then(|| board_url(view.page + 1));
    let data = LeaderboardPage {
        showing,
        previous_url,
        next_url,
        id: id.0.clone(),
        title: pick(page.lang, &title.0, &title.1),
        chart_svg: chart::scatter(
            &points,
            budget,
            &page.text("board.latency_axis"),
            view.metric,
        ),
        board: BoardTable {
            pick: board == Board::Private
                && page.user.as_ref().is_some_and(CurrentUser::sees_all_work),
            scenario_id: id.0.clone(),
            ..table(&page, Some(&view))
        },
        public_url: format!("/scenarios/{id}/leaderboard"),
        private_url: format!("/scenarios/{id}/leaderboard?board=private"),
    };
    let heading = format!("{} · {}", data.title, page.text("board.title"));
    let mut response = page.render("pages/leaderboard", &heading, data)?;
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}
