//! Boards kept as results arrive: each team's best entry per scenario, phase, board part,
//! metric direction and package version, so a board page reads only the rows it shows.

use std::collections::HashMap;

use diesel::dsl;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Double, Integer, Text};
use jiebang_scenarios::package::{Direction, OverBudget};

use crate::db::DbConnection;
use crate::db::ids::{PhaseId, ScenarioId, SubmissionId, TeamId};
use crate::db::models::Page;
use crate::db::models::results::EvaluationResult;
use crate::db::plan::plan_of;
use crate::db::schema::{board_entries, results, submissions, teams};

jiebang_scenarios::text_enum! {
    sql;
    /// Which part of the hidden set a board ranks by: the public part during the phase, the
    /// private part for the final board.
    pub enum Board: "board" {
        Public = "public",
        Private = "private",
    }
}

/// One board: a scenario's phase, ranked on one part of the hidden set by results of one
/// package version, in the direction the version's metric is better.
#[derive(Debug, Clone)]
pub struct BoardKey {
    pub scenario_id: ScenarioId,
    pub phase_id: PhaseId,
    pub board: Board,
    pub direction: Direction,
    pub package_version: i32,
}

/// A team's best entry on a board. Both directions are kept for every board, so recording
/// a result never depends on which metric the board will be read with.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = board_entries)]
pub struct BoardEntry {
    pub scenario_id: ScenarioId,
    pub phase_id: PhaseId,
    pub board: Board,
    pub direction: Direction,
    pub package_version: i32,
    pub team_id: TeamId,
    pub submission_id: SubmissionId,
    pub score: f64,
    /// The score in board order, best first: the score when lower is better, its negation
    /// when higher is; never -0, which SQL could not tell from 0 anyway.
    pub score_key: f64,
    /// Runs within budget (or without a verdict) rank above runs over it.
    pub over_budget: bool,
    /// The latency the budget applies to, in milliseconds: 0 for a result without one (as
    /// the ranking reads it), infinite for one that is not a number, so it sorts last.
    pub latency_ms: f64,
    /// When the submission was made (milliseconds since the epoch): the last tie-break
    /// before the ids.
    pub submitted_at: i64,
}

/// Enters a newly recorded result on its phase's boards: on each part it has a finite score
/// for, in each direction, it becomes its team's entry unless the team has a better one.
/// Call it in the transaction that records the result.
pub fn enter(conn: &mut DbConnection, result: &EvaluationResult) -> QueryResult<()> {
    if result.failure.is_some() {
        return Ok(());
    }
    let (scenario_id, phase_id, team_id, submitted_at) = submissions::table
        .find(&result.submission_id)
        .select((
            submissions::scenario_id,
            submissions::phase_id,
            submissions::team_id,
            submissions::created_at,
        ))
        .first::<(ScenarioId, PhaseId, TeamId, i64)>(conn)?;
    let latency_ms = match result.latency_ms {
        None => 0.0,
        Some(latency) if latency.is_nan() => f64::INFINITY,
        Some(latency) => latency,
    };
    let parts = [
        (Board::Public, result.public_score),
        (Board::Private, result.private_score),
    ];
    for (board, score) in parts {
        let Some(score) = score.filter(|score| score.is_finite()) else {
            continue;
        };
        for &direction in Direction::ALL {
            let key = match direction {
                Direction::Higher => -score,
                Direction::Lower => score,
            };
            keep_the_better(
                conn,
                &BoardEntry {
                    scenario_id: scenario_id.clone(),
                    phase_id: phase_id.clone(),
                    board,
                    direction,
                    package_version: result.package_version,
                    team_id: team_id.clone(),
                    submission_id: result.submission_id.clone(),
                    score,
                    score_key: key + 0.0,
                    over_budget: !result.within_budget.unwrap_or(true),
                    latency_ms,
                    submitted_at,
                },
            )?;
        }
    }
    Ok(())
}

/// Stores `entry` as its team's, unless the team's entry comes first in board order (the
/// order of `ranking::compare`: over budget, score, latency, submission time, then the
/// submission id, the team being the same). One statement, so that of two results of a
/// team recorded at once on PostgreSQL the better stays whichever commits last. SQLite
/// numbers `$1`…`$12` in order of appearance, as PostgreSQL numbers them.
fn keep_the_better(conn: &mut DbConnection, entry: &BoardEntry) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO board_entries (scenario_id, phase_id, board, direction, \
             package_version, team_id, submission_id, score, score_key, over_budget, \
             latency_ms, submitted_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (scenario_id, phase_id, board, direction, package_version, team_id) \
         DO UPDATE SET submission_id = excluded.submission_id, score = excluded.score, \
             score_key = excluded.score_key, over_budget = excluded.over_budget, \
             latency_ms = excluded.latency_ms, submitted_at = excluded.submitted_at \
         WHERE (excluded.over_budget, excluded.score_key, excluded.latency_ms, \
                excluded.submitted_at, excluded.submission_id) \
             < (board_entries.over_budget, board_entries.score_key, \
                board_entries.latency_ms, board_entries.submitted_at, \
                board_entries.submission_id)",
    )
    .bind::<Text, _>(entry.scenario_id.as_str())
    .bind::<Text, _>(entry.phase_id.as_str())
    .bind::<Text, _>(entry.board.as_str())
    .bind::<Text, _>(entry.direction.as_str())
    .bind::<Integer, _>(entry.package_version)
    .bind::<Text, _>(entry.team_id.as_str())
    .bind::<Text, _>(entry.submission_id.as_str())
    .bind::<Double, _>(entry.score)
    .bind::<Double, _>(entry.score_key)
    .bind::<Bool, _>(entry.over_budget)
    .bind::<Double, _>(entry.latency_ms)
    .bind::<BigInt, _>(entry.submitted_at)
    .execute(conn)?;
    Ok(())
}

/// A row of a board page: its rank, the team's entry, the team's name and the result.
#[derive(Debug, Clone)]
pub struct RankedLine {
    pub rank: usize,
    pub entry: BoardEntry,
    pub team_name: String,
    pub result: EvaluationResult,
}

/// The entries of one board; under [`OverBudget::Disqualify`] only those within budget
/// (`over_budget <= false`), so that both rules read one range of the order index.
type OnBoard = dsl::And<
    dsl::And<
        dsl::And<
            dsl::And<
                dsl::And<
                    dsl::Eq<board_entries::scenario_id, ScenarioId>,
                    dsl::Eq<board_entries::phase_id, PhaseId>,
                >,
                dsl::Eq<board_entries::board, Board>,
            >,
            dsl::Eq<board_entries::direction, Direction>,
        >,
        dsl::Eq<board_entries::package_version, i32>,
    >,
    dsl::LtEq<board_entries::over_budget, bool>,
>;

fn on_board(key: &BoardKey, over_budget: OverBudget) -> OnBoard {
    board_entries::scenario_id
        .eq(key.scenario_id.clone())
        .and(board_entries::phase_id.eq(key.phase_id.clone()))
        .and(board_entries::board.eq(key.board))
        .and(board_entries::direction.eq(key.direction))
        .and(board_entries::package_version.eq(key.package_version))
        .and(board_entries::over_budget.le(over_budget == OverBudget::RankBelow))
}

/// One page of a board's entries in board order. The team names and the results of a page
/// are looked up by key afterwards rather than joined: a join would leave PostgreSQL free
/// to sort the whole board, and the ids here compare byte by byte (`COLLATE "C"`) where
/// the other tables' keys use the database's collation. Macros, so that reading a page and
/// asking for its plans run the very same queries.
macro_rules! entries_page {
    ($key:expr, $over_budget:expr, $rows:expr) => {
        board_entries::table
            .filter(on_board($key, $over_budget))
            .order((
                board_entries::over_budget.asc(),
                board_entries::score_key.asc(),
                board_entries::latency_ms.asc(),
                board_entries::submitted_at.asc(),
                board_entries::team_id.asc(),
                board_entries::submission_id.asc(),
            ))
            .limit($rows.limit)
            .offset($rows.offset)
            .select(BoardEntry::as_select())
    };
}

macro_rules! board_size {
    ($key:expr, $over_budget:expr) => {
        board_entries::table
            .filter(on_board($key, $over_budget))
            .count()
    };
}

macro_rules! team_names {
    ($entries:expr) => {
        teams::table
            .filter(teams::id.eq_any($entries.iter().map(|e| e.team_id.clone())))
            .select((teams::id, teams::name))
    };
}

macro_rules! results_of {
    ($key:expr, $entries:expr) => {
        results::table
            .filter(results::package_version.eq($key.package_version))
            .filter(results::submission_id.eq_any($entries.iter().map(|e| e.submission_id.clone())))
            .select(EvaluationResult::as_select())
    };
}

/// One page of a board in `ranking::rank`'s order, and how many teams the whole board has.
/// Under [`OverBudget::Disqualify`] the board is the entries within budget: a team's best
/// entry is within budget whenever it has one, so dropping the others leaves exactly the
/// teams and entries that ranking would keep. `ranking::compare` orders any two entries
/// strictly (the ids come last), so a rank is the row's place on the board.
pub fn ranked_page(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
    page: Page,
) -> QueryResult<(Vec<RankedLine>, i64)> {
    let rows = Rows {
        offset: page.offset(),
        limit: page.limit(),
    };
    Ok((
        ranked_rows(conn, key, over_budget, rows)?,
        board_size(conn, key, over_budget)?,
    ))
}

/// How many teams a board has.
pub fn board_size(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
) -> QueryResult<i64> {
    board_size!(key, over_budget).get_result(conn)
}

/// A stretch of a board: `limit` rows after the first `offset`, in board order.
#[derive(Debug, Clone, Copy)]
pub struct Rows {
    pub offset: i64,
    pub limit: i64,
}

impl Rows {
    /// `page` with the row just above it in front, where there is one: the first row's
    /// tie is with that row, and reading both in one query walks the order index once
    /// instead of twice (deep pages pay for every row they skip).
    pub fn page_and_the_row_above(page: Page) -> Self {
        let above = i64::from(page.offset() > 0);
        Self {
            offset: page.offset() - above,
            limit: page.limit() + above,
        }
    }
}

/// The rows of `rows`' stretch of a board, ranked (a row's rank is its place on the board).
pub fn ranked_rows(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
    rows: Rows,
) -> QueryResult<Vec<RankedLine>> {
    let entries: Vec<BoardEntry> = entries_page!(key, over_budget, rows).load(conn)?;
    let mut names: HashMap<TeamId, String> = team_names!(entries).load(conn)?.into_iter().collect();
    let mut results: HashMap<SubmissionId, EvaluationResult> = results_of!(key, entries)
        .load::<EvaluationResult>(conn)?
        .into_iter()
        .map(|result| (result.submission_id.clone(), result))
        .collect();
    let first_rank = usize::try_from(rows.offset).unwrap_or(usize::MAX);
    let mut lines = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        // A board has one row per team, so each name and result is taken once; both are
        // there by the foreign keys.
        let team_name = names.remove(&entry.team_id).unwrap_or_default();
        let result = results
            .remove(&entry.submission_id)
            .ok_or(diesel::result::Error::NotFound)?;
        lines.push(RankedLine {
            rank: first_rank.saturating_add(index + 1),
            entry,
            team_name,
            result,
        });
    }
    Ok(lines)
}

/// Where `submission` stands on `key`'s board: its rank and the board's size, when it is its
/// team's entry there (a team's other submissions have no rank of their own).
pub fn rank_of(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
    submission: &SubmissionId,
) -> QueryResult<Option<(i64, i64)>> {
    let entry: Option<BoardEntry> = board_entries::table
        .filter(on_board(key, over_budget))
        .filter(board_entries::submission_id.eq(submission.clone()))
        .select(BoardEntry::as_select())
        .first(conn)
        .optional()?;
    let Some(entry) = entry else {
        return Ok(None);
    };
    use board_entries::{
        latency_ms, over_budget as over, score_key, submission_id, submitted_at, team_id,
    };
    // Strictly before `entry` in board order: the order index's columns compared one after
    // the other, as ORDER BY compares them.
    let same_budget = over.eq(entry.over_budget);
    let same_score = same_budget.and(score_key.eq(entry.score_key));
    let same_latency = same_score.and(latency_ms.eq(entry.latency_ms));
    let same_time = same_latency.and(submitted_at.eq(entry.submitted_at));
    let before = over
        .lt(entry.over_budget)
        .or(same_budget.and(score_key.lt(entry.score_key)))
        .or(same_score.and(latency_ms.lt(entry.latency_ms)))
        .or(same_latency.and(submitted_at.lt(entry.submitted_at)))
        .or(same_time.and(team_id.lt(entry.team_id.clone())))
        .or(same_time
            .and(team_id.eq(entry.team_id.clone()))
            .and(submission_id.lt(entry.submission_id.clone())));
    let ahead = board_entries::table
        .filter(on_board(key, over_budget))
        .filter(before)
        .count()
        .get_result::<i64>(conn)?;
    let total = board_size!(key, over_budget).get_result::<i64>(conn)?;
    Ok(Some((ahead + 1, total)))
}

/// The plans of the queries [`ranked_page`] runs, for the test that checks they read
/// indexes rather than whole tables.
pub fn ranked_page_plans(
    conn: &mut DbConnection,
    key: &BoardKey,
    over_budget: OverBudget,
    page: Page,
) -> QueryResult<Vec<String>> {
    let rows = Rows::page_and_the_row_above(page);
    let entries: Vec<BoardEntry> = entries_page!(key, over_budget, rows).load(conn)?;
    let mut lines = plan_of(conn, board_size!(key, over_budget))?;
    lines.extend(plan_of(conn, entries_page!(key, over_budget, rows))?);
    lines.extend(plan_of(conn, team_names!(entries))?);
    lines.extend(plan_of(conn, results_of!(key, entries))?);
    Ok(lines)
}
