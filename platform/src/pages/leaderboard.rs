//! A scenario's leaderboard page — the ranking rule in words, the final board's tab (closed
//! until the phase ends), each team's entries and last submission, and the accuracy against
//! latency chart — and the board table the scenario page shows too.

use actix_web::{HttpResponse, http::StatusCode, web};
use jiebang_scenarios::package::OverBudget;
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::ids::{ScenarioId, TeamId};
use crate::db::models::submissions;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::chart::{self, Point};
use crate::pages::scenarios::{pick, when};
use crate::services::boards::{Board, BoardQuery, BoardView, board_with, direction_of};

#[derive(Serialize)]
pub struct BoardRowCells {
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
    /// The team's submissions to the phase and when the last came (leaderboard page).
    entries: Option<i64>,
    last_submitted: Option<String>,
}

#[derive(Serialize, Default)]
pub struct BoardTable {
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
    /// The entries and last-submission columns are filled (the full leaderboard page).
    show_entries: bool,
}

pub fn table(page: &PageContext, board: Option<&BoardView>) -> BoardTable {
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
                entries: None,
                last_submitted: None,
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
        show_entries: false,
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
    /// The final board is not open to this viewer yet: its tab is shown disabled.
    private_locked: bool,
    /// How this board ranks, in words: the metric and its direction, the budget and its
    /// percentile, what happens to over-budget runs, the tie-breaks.
    rule: String,
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
            return Err(AppError::bad_request(
                "bad_query",
                format!("unknown board `{other}`: public or private"),
            ));
        }
    };
    let page_number = query.page;
    let user = page.user.clone();
    let query = BoardQuery {
        phase: None,
        board: Some(board),
        page: page_number,
        per_page: None,
    };
    let private_locked =
        !page.user.as_ref().is_some_and(CurrentUser::sees_all_work) && board == Board::Public;
    // What the board does not carry — the title, the budget and its percentile, and the
    // page's teams' entries — read in the same trip as the board.
    let (view, (title, budget, percentile, entries)) = board_with(
        &page.state,
        id.clone(),
        user,
        query,
        |conn, scenario, view| {
            let percentile = scenario
                .spec()?
                .map(|spec| spec.manifest.latency.percentile());
            let teams: Vec<TeamId> = view
                .rows
                .iter()
                .map(|r| TeamId::from(r.team_id.as_str()))
                .collect();
            let entries = submissions::entries_of_teams(conn, &view.phase_id, &teams)?;
            Ok((
                (scenario.title_zh.clone(), scenario.title_en.clone()),
                scenario.latency_budget_ms,
                percentile,
                entries,
            ))
        },
    )
    .await?;
    let private_locked = private_locked && !phase_closed(&view.phase_closes_at);
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
            &page.code("metric", view.metric),
            &page.text("board.budget"),
        ),
        rule: rule_text(&page, &view, budget, percentile),
        board: with_entries(
            BoardTable {
                pick: board == Board::Private
                    && page.user.as_ref().is_some_and(CurrentUser::sees_all_work),
                scenario_id: id.0.clone(),
                ..table(&page, Some(&view))
            },
            &view,
            &entries,
        ),
        public_url: format!("/scenarios/{id}/leaderboard"),
        private_url: format!("/scenarios/{id}/leaderboard?board=private"),
        private_locked,
    };
    let heading = format!("{} · {}", data.title, page.text("board.title"));
    let mut response = page.render("pages/leaderboard", &heading, data).await?;
    *response.status_mut() = StatusCode::OK;
    Ok(response)
}

/// Whether the phase closing at `closes_at` (RFC 3339) has closed.
fn phase_closed(closes_at: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(closes_at).is_ok_and(|closes| closes <= chrono::Utc::now())
}

/// The board's ranking rule as a sentence in the page's language.
fn rule_text(
    page: &PageContext,
    view: &BoardView,
    budget: Option<f64>,
    percentile: Option<f64>,
) -> String {
    let mut text = page
        .text("board.rule_metric")
        .replace("{metric}", &page.code("metric", view.metric))
        .replace(
            "{direction}",
            &page.code("direction", direction_of(view.metric_name)),
        );
    if let Some(budget) = budget {
        let key = match view.over_budget {
            OverBudget::RankBelow => "board.rule_below",
            OverBudget::Disqualify => "board.rule_disqualify",
        };
        text.push_str(
            &page
                .text(key)
                .replace("{budget}", &format!("{budget} ms"))
                .replace("{percentile}", &format!("{}", percentile.unwrap_or(90.0))),
        );
    }
    text.push_str(&page.text("board.rule_ties"));
    text
}

/// The table with each row's submissions to the phase and the last one's time.
fn with_entries(
    mut table: BoardTable,
    view: &BoardView,
    entries: &[(TeamId, i64, Option<i64>)],
) -> BoardTable {
    for (cells, row) in table.rows.iter_mut().zip(&view.rows) {
        if let Some((_, count, last)) = entries.iter().find(|(team, _, _)| team.0 == row.team_id) {
            cells.entries = Some(*count);
            cells.last_submitted = last.map(|ms| when(&crate::time::iso_time(ms)));
        }
    }
    table.show_entries = true;
    table
}
