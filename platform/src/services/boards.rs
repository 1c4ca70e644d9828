//! Leaderboards and reports: who ranks where by the rules of `scenarios::ranking`, which
//! adjacent rows are statistically tied, and what of a report each viewer may see.

use jiebang_evaluator::protocol::Report;
use jiebang_scenarios::package::{MetricName, OverBudget};
use serde::{Deserialize, Serialize};

use crate::auth::CurrentUser;
use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId};
pub use crate::db::models::board_entries::Board;
use crate::db::models::board_entries::{self, BoardKey, Rows};
use crate::db::models::phases::{self, Phase};
use crate::db::models::results::{self, EvaluationResult};
use crate::db::models::scenarios::{self, Scenario};
use crate::db::models::users::Role;
use crate::db::models::{jobs, package_versions};
use crate::db::models::{submissions, teams};
use crate::db::now_millis;
use crate::error::AppError;
use crate::services::paging::page_of;
use crate::services::significance::{self, RankedResult};
use crate::state::AppState;
use crate::time::iso_time;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    pub phase: Option<PhaseId>,
    pub board: Option<Board>,
    /// Boards come a page at a time: 1-based, 50 rows unless `per_page` says (at most 100).
    #[serde(default)]
    pub page: Option<u32>,
    #[serde(default)]
    pub per_page: Option<u32>,
}

/// Rows of a board page when the query does not say.
pub const BOARD_PAGE_ROWS: u32 = 50;

#[derive(Debug, Serialize)]
pub struct BoardRowView {
    pub rank: usize,
    pub team_id: String,
    pub team_name: String,
    pub submission_id: String,
    pub score: f64,
    pub low: Option<f64>,
    pub high: Option<f64>,
    pub within_budget: bool,
    /// The budget lies inside the latency percentile's 95 % confidence interval: the
    /// verdict could go either way on another run. `None` when not known.
    pub verdict_uncertain: Option<bool>,
    pub latency_ms: f64,
    pub submitted_at: String,
    /// The package version the result is from: always the board's.
    pub package_version: i32,
    /// Items of the board's part the score covers, and items that part holds: equal for
    /// every finished run; `null` for results recorded before they were kept.
    pub items: Option<i64>,
    pub items_in_set: Option<i64>,
    /// Statistically tied with the row above: on a paired bootstrap over the same hidden
    /// items, the row above does not score better with 95 % probability. `None` when not
    /// known (the board's first row, or results recorded without per-item data).
    pub tied_with_above: Option<bool>,
    /// The probability that the row above truly scores better; `None` when not known.
    pub above_better_probability: Option<f64>,
}

/// What the package says of over-budget runs; a scenario without a package yet ranks
/// them below, as the package format's default does.
pub fn over_budget_of(scenario: &Scenario) -> Result<OverBudget, AppError> {
    Ok(scenario.spec()?.map_or(OverBudget::RankBelow, |spec| {
        spec.manifest.latency.over_budget
    }))
}

/// The phase asked for, or the open one, or the latest.
pub fn phase_of(
    conn: &mut DbConnection,
    scenario: &Scenario,
    asked: Option<&PhaseId>,
) -> Result<Phase, AppError> {
    let phases = phases::phases_of(conn, &scenario.id)?;
    let now = now_millis();
    let chosen = match asked {
        Some(id) => phases.iter().find(|p| &p.id == id),
        None => phases
            .iter()
            .find(|p| p.is_open_at(now))
            .or_else(|| phases.iter().rev().find(|p| p.opens_at <= now))
            .or(phases.first()),
    };
    chosen
        .cloned()
        .ok_or_else(|| AppError::missing("open_phase", &scenario.id))
}

/// A leaderboard as the viewer may see it.
#[derive(Debug, Serialize)]
pub struct BoardView {
    pub scenario_id: ScenarioId,
    pub phase_id: PhaseId,
    pub phase_closes_at: String,
    pub board: Board,
    pub metric: &'static str,
    #[serde(skip)]
    pub metric_name: MetricName,
    pub direction: jiebang_scenarios::package::Direction,
    pub over_budget: OverBudget,
    /// The package version whose results the board ranks (0 while the scenario has no
    /// package): the current one while the phase is open, the one in force when it closed
    /// after that.
    pub package_version: i32,
    /// Submissions of the phase still waiting for (or in) their evaluation on that
    /// version; each joins the board when its result arrives.
    pub pending: i64,
    pub rows: Vec<BoardRowView>,
    /// Which page of the board `rows` is, and how many teams the whole board has.
    pub page: u32,
    pub per_page: u32,
    pub total: usize,
}

/// The board: public to anyone who sees the scenario; private to judges and admins, and
/// to everyone once the phase has closed; each row marked tied or not with the one above.
/// The one rule for the API and the pages.
pub async fn board_of(
    state: &AppState,
    id: ScenarioId,
    viewer: Option<CurrentUser>,
    query: BoardQuery,
) -> Result<BoardView, AppError> {
    let (view, ()) = board_with(state, id, viewer, query, |_, _, _| Ok(())).await?;
    Ok(view)
}

/// The board, and what `also` reads of its scenario and rows on the same connection in
/// the same trip to the database: a page that shows more than the board asks once, not
/// twice (each trip is a wait for a pooled connection and, on PostgreSQL, round trips).
pub async fn board_with<T, F>(
    state: &AppState,
    id: ScenarioId,
    viewer: Option<CurrentUser>,
    query: BoardQuery,
    also: F,
) -> Result<(BoardView, T), AppError>
where
    T: Send + 'static,
    F: FnOnce(&mut DbConnection, &Scenario, &BoardView) -> Result<T, AppError> + Send + 'static,
{
    let (mut view, ranked, extra) = state
        .db
        .read(move |conn| {
            let (view, ranked, scenario) = ranked_page(conn, &id, viewer.as_ref(), &query)?;
            let extra = also(conn, &scenario, &view)?;
            Ok((view, ranked, extra))
        })
        .await?;
    let (blobs, cache) = (state.blobs.clone(), state.ties.clone());
    let metric = view.metric_name;
    let board = view.board;
    // CPU work (a bootstrap per uncached pair), so on the blocking pool as database work
    // is; once every pair is cached (a board looked at again) the answer is a few look-ups,
    // given without another trip through the pool.
    let ties = if !significance::ties_need_work(&cache, board, &ranked) {
        significance::adjacent_ties(&blobs, &cache, metric, board, &ranked)
    } else {
        tokio::task::spawn_blocking(move || {
            crate::db::background_priority();
            significance::adjacent_ties(&blobs, &cache, metric, board, &ranked)
        })
        .await?
    };
    // A tie per row of `ranked` but its first, which is the row above the page when there
    // is one: matched from the end, the page's first row of the whole board keeps none.
    for (row, tie) in view.rows.iter_mut().rev().zip(ties.iter().rev()) {
        row.tied_with_above = tie.tied;
        row.above_better_probability = tie.probability;
    }
    Ok((view, extra))
}

/// The metric and over-budget rule a board on `package_version` ranks by: a closed phase
/// ranked on an earlier version ranks by that version's rules.
fn rules_of(
    conn: &mut DbConnection,
    scenario: &Scenario,
    package_version: i32,
) -> Result<(MetricName, OverBudget), AppError> {
    if package_version == scenario.package_version {
        return Ok((scenario.metric, over_budget_of(scenario)?));
    }
    match package_versions::spec_of(conn, &scenario.id, package_version)? {
        Some(spec) => Ok((spec.manifest.metric.name, spec.manifest.latency.over_budget)),
        None => Ok((scenario.metric, over_budget_of(scenario)?)),
    }
}

/// A submission's rank on its phase's public board for the package version it was scored
/// on, and how many teams that board has; `None` when it is not its team's entry there.
pub fn public_rank(
    conn: &mut DbConnection,
    scenario: &Scenario,
    phase_id: &PhaseId,
    submission: &SubmissionId,
    package_version: i32,
) -> Result<Option<(i64, i64)>, AppError> {
    let (metric, over_budget) = rules_of(conn, scenario, package_version)?;
    let key = BoardKey {
        scenario_id: scenario.id.clone(),
        phase_id: phase_id.clone(),
        board: Board::Public,
        direction: metric.direction(),
        package_version,
    };
    Ok(board_entries::rank_of(conn, &key, over_budget, submission)?)
}

/// The page of the board asked for, what the ties of its rows depend on (its rows and the
/// row just above the page, best first), and the scenario. Database work.
fn ranked_page(
    conn: &mut DbConnection,
    id: &ScenarioId,
    viewer: Option<&CurrentUser>,
    query: &BoardQuery,
) -> Result<(BoardView, Vec<RankedResult>, Scenario), AppError> {
    let sees_all = viewer.is_some_and(CurrentUser::sees_all_work);
    let visibility = viewer.map_or(
        crate::db::models::scenarios::Visibility::PublishedAndDraftsOf(Vec::new()),
        CurrentUser::visibility,
    );
    let board = query.board.unwrap_or(Board::Public);
    let scenario = scenarios::find(conn, id)?
        .filter(|s| visibility.can_see(s))
        .ok_or_else(|| AppError::missing("scenario", id))?;
    let phase = phase_of(conn, &scenario, query.phase.as_ref())?;
    let closed = now_millis() >= phase.closes_at;
    if board == Board::Private && !closed && !sees_all {
        return Err(AppError::forbidden(
            "private_board_hidden",
            format!(
                "the private board is revealed when the phase closes at {}",
                iso_time(phase.closes_at)
            ),
        )
        .with("closes_at", iso_time(phase.closes_at)));
    }
    let package_version = package_versions::in_force_at(
        conn,
        &scenario.id,
        phase.closes_at,
        now_millis(),
        scenario.package_version,
    )?;
    let (metric, over_budget) = rules_of(conn, &scenario, package_version)?;
    let pending = jobs::pending_on(conn, &phase.id, package_version)?;
    let paging = page_of(query.page, Some(query.per_page.unwrap_or(BOARD_PAGE_ROWS)))?;
    let key = BoardKey {
        scenario_id: scenario.id.clone(),
        phase_id: phase.id.clone(),
        board,
        direction: metric.direction(),
        package_version,
    };
    let total = board_entries::board_size(conn, &key, over_budget)?;
    let mut lines = board_entries::ranked_rows(
        conn,
        &key,
        over_budget,
        Rows::page_and_the_row_above(paging),
    )?;
    // The row just above the page, read with it: the first row's tie is with it.
    let above = match paging.offset() {
        0 => Vec::new(),
        _ if lines.is_empty() => Vec::new(),
        _ => vec![lines.remove(0)],
    };
    let tie_rows: Vec<RankedResult> = above
        .iter()
        .chain(&lines)
        .map(|line| RankedResult {
            submission_id: line.entry.submission_id.0.clone(),
            items_digest: line.result.items_digest.clone(),
            within_budget: !line.entry.over_budget,
            verdict_uncertain: line.result.budget_uncertain,
        })
        .collect();
    let views: Vec<BoardRowView> = lines
        .into_iter()
        .map(|line| {
            let result = &line.result;
            let (low, high, items, items_in_set) = match board {
                Board::Public => (
                    result.public_low,
                    result.public_high,
                    result.public_items,
                    result.public_items_in_set,
                ),
                Board::Private => (
                    result.private_low,
                    result.private_high,
                    result.private_items,
                    result.private_items_in_set,
                ),
            };
            BoardRowView {
                rank: line.rank,
                team_id: line.entry.team_id.0,
                team_name: line.team_name,
                submission_id: line.entry.submission_id.0,
                score: line.entry.score,
                low,
                high,
                within_budget: !line.entry.over_budget,
                verdict_uncertain: result.budget_uncertain,
                latency_ms: line.entry.latency_ms,
                submitted_at: iso_time(line.entry.submitted_at),
                package_version: result.package_version,
                items,
                items_in_set,
                tied_with_above: None,
                above_better_probability: None,
            }
        })
        .collect();
    let view = BoardView {
        over_budget,
        scenario_id: scenario.id.clone(),
        phase_id: phase.id,
        phase_closes_at: iso_time(phase.closes_at),
        board,
        metric: metric.as_str(),
        metric_name: metric,
        direction: metric.direction(),
        package_version,
        pending,
        rows: views,
        page: paging.number,
        per_page: paging.size,
        total: usize::try_from(total).unwrap_or(usize::MAX),
    };
    Ok((view, tie_rows, scenario))
}

/// The submission with its result, if the caller may see it; the flag says whether the
/// caller is on the team (rather than a judge, operator or admin).
pub fn visible_result(
    conn: &mut DbConnection,
    id: &SubmissionId,
    user: &CurrentUser,
) -> Result<(submissions::Submission, Option<EvaluationResult>, bool), AppError> {
    let submission =
        submissions::find(conn, id)?.ok_or_else(|| AppError::missing("submission", id))?;
    let on_team = teams::role_of(conn, &submission.team_id, &user.id)?.is_some();
    if !on_team && !user.sees_all_work() && !user.has_role(Role::Operator) {
        return Err(AppError::missing("submission", id));
    }
    let result = results::find(conn, id)?;
    Ok((submission, result, on_team))
}

/// The full report of an evaluation, read back from the content-addressed store; one that
/// no longer parses is an error naming the submission and the field, never a default.
pub fn stored_report(
    blobs: &crate::storage::BlobStore,
    result: &EvaluationResult,
) -> Result<Report, AppError> {
    let bytes = blobs.read(&result.report_digest)?;
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| AppError::StoredData {
        record: format!("the report of submission `{}`", result.submission_id),
        detail: format!(
            "digest {}, field `{}`: {}",
            result.report_digest,
            e.path(),
            e.inner()
        ),
    })
}

/// The submission and, once evaluated, its report (digest and report) as the caller may
/// see it: while the phase is open the team sees neither private scores nor the hidden
/// run's exact resource figures (a covert channel for the hidden set). The one rule for
/// the API and the submission page.
pub fn report_of(
    conn: &mut DbConnection,
    blobs: &crate::storage::BlobStore,
    id: &SubmissionId,
    user: &CurrentUser,
) -> Result<(submissions::Submission, Option<(String, Report)>), AppError> {
    let (submission, result, on_team) = visible_result(conn, id, user)?;
    let Some(result) = result else {
        return Ok((submission, None));
    };
    let mut report = stored_report(blobs, &result)?;
    let phase = phases::find_phase(conn, &submission.scenario_id, &submission.phase_id)?;
    let open = phase.is_some_and(|p| now_millis() < p.closes_at);
    if on_team && open && !user.sees_all_work() {
        report.hide_private_scores();
        report.coarsen_hidden_resources();
    }
    Ok((submission, Some((result.report_digest, report))))
}

/// `higher` or `lower`: which way the metric is better.
pub fn direction_of(metric: MetricName) -> &'static str {
    metric.direction().as_str()
}
